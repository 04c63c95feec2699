/* Backend-independent tensor helpers of the ops API (backend.h). */
#include "backend.h"

void ufo_backend_free(UfoBackend *be)
{
  if (be == NULL)
    return;
  if (be->ops->destroy)
    be->ops->destroy(be);
  g_free(be);
}

static gboolean tensor_shape(UfoTensor *t, UfoBackend *be, int ndim, const int64_t *ne,
                             GError **error)
{
  if (ndim < 1 || ndim > UFO_TENSOR_MAX_DIMS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tensor rank %d outside 1..%d", ndim,
                UFO_TENSOR_MAX_DIMS);
    return FALSE;
  }
  t->be = be;
  t->ndim = ndim;
  t->n = 1;
  for (int i = 0; i < UFO_TENSOR_MAX_DIMS; i++) {
    t->ne[i] = i < ndim ? ne[i] : 1;
    if (t->ne[i] <= 0 || (size_t)t->ne[i] > SIZE_MAX / sizeof(float) / t->n) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tensor dimension %d has bad size %lld", i,
                  (long long)t->ne[i]);
      return FALSE;
    }
    t->n *= (size_t)t->ne[i];
  }
  return TRUE;
}

UfoTensor *ufo_tensor_new(UfoBackend *be, int ndim, const int64_t *ne, GError **error)
{
  UfoTensor *t = g_new0(UfoTensor, 1);
  if (!tensor_shape(t, be, ndim, ne, error) || !be->ops->alloc(be, t, error)) {
    g_free(t);
    return NULL;
  }
  return t;
}

UfoTensor *ufo_tensor_new_2d(UfoBackend *be, int64_t rows, int64_t cols, GError **error)
{
  int64_t ne[2] = {rows, cols};
  return ufo_tensor_new(be, 2, ne, error);
}

UfoTensor *ufo_tensor_from_host(UfoBackend *be, int ndim, const int64_t *ne, const float *host,
                                GError **error)
{
  if (be->ops->wrap_host) {
    UfoTensor *t = g_new0(UfoTensor, 1);
    if (!tensor_shape(t, be, ndim, ne, error) || !be->ops->wrap_host(be, t, host, error)) {
      g_free(t);
      return NULL;
    }
    return t;
  }
  UfoTensor *t = ufo_tensor_new(be, ndim, ne, error);
  if (t && !be->ops->upload(be, t, 0, host, t->n, error)) {
    ufo_tensor_free(t);
    return NULL;
  }
  return t;
}

void ufo_tensor_free(UfoTensor *t)
{
  if (t == NULL)
    return;
  t->be->ops->release(t->be, t);
  g_free(t);
}

UfoView ufo_view(UfoTensor *t)
{
  int64_t cols = (int64_t)(t->n / (size_t)t->ne[0]);
  return (UfoView){t, 0, t->ne[0], cols, cols};
}

UfoView ufo_view_sub(UfoView v, int64_t row, int64_t col, int64_t rows, int64_t cols)
{
  return (UfoView){v.t, v.off + (size_t)(row * v.ld + col), rows, cols, v.ld};
}

UfoView ufo_view_at(UfoTensor *t, size_t off, int64_t rows, int64_t cols, int64_t ld)
{
  return (UfoView){t, off, rows, cols, ld};
}

gboolean ufo_view_check(UfoView v, const char *what, GError **error)
{
  if (v.t == NULL)
    return TRUE;
  if (v.rows <= 0 || v.cols <= 0 || v.ld < v.cols ||
      v.off + (size_t)((v.rows - 1) * v.ld + v.cols) > v.t->n) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: view %lldx%lld (ld %lld, offset %zu) outside its tensor of %zu elements", what,
                (long long)v.rows, (long long)v.cols, (long long)v.ld, v.off, v.t->n);
    return FALSE;
  }
  return TRUE;
}
