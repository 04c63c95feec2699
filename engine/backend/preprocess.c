/* The preprocessing op's validating wrapper and its per-session state (preprocess.h). */
#include "preprocess.h"
#include "profile.h"

struct _UfoPreprocessor {
  UfoBackend *be;
  void *state; /* the backend's (prep_new); NULL when it keeps none */
};

UfoPreprocessor *ufo_preprocessor_new(UfoBackend *be, GError **error)
{
  if (!be || !be->ops || !be->ops->preprocess) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "preprocess: backend %s lacks the op",
                be && be->ops ? be->ops->name : "(none)");
    return NULL;
  }
  UfoPreprocessor *pp = g_new0(UfoPreprocessor, 1);
  pp->be = be;
  if (be->ops->prep_new && !(pp->state = be->ops->prep_new(be, error))) {
    g_free(pp);
    return NULL;
  }
  return pp;
}

void ufo_preprocessor_free(UfoPreprocessor *pp)
{
  if (!pp)
    return;
  if (pp->state && pp->be->ops->prep_free)
    pp->be->ops->prep_free(pp->be, pp->state);
  g_free(pp);
}

gboolean ufo_op_preprocess(UfoPreprocessor *pp, UfoView y, const UfoImage *image,
                           const UfoPrepParams *p, GError **error)
{
  if (!pp || !p) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "preprocess: no preprocessor or parameters");
    return FALSE;
  }
  UfoBackend *be = pp->be;
  const int S = p->size;
  if (S <= 0 || S > 65535 || (unsigned)p->resize >= UFO_PREP_N_RESIZES) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "preprocess: input size %d outside 1..65535 or resize %d unknown", S,
                (int)p->resize);
    return FALSE;
  }
  if (!ufo_image_check(image, error))
    return FALSE;
  const gboolean on_device = image->memory == UFO_MEMORY_CUDA;
  if (on_device && !be->ops->cuda_context) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "preprocess: the image is in CUDA device memory but the session runs on the %s "
                "backend (give it a frame in host memory, or run the session on device=cuda)",
                be->ops->name);
    return FALSE;
  }
  if (on_device && !ufo_backend_cuda_context(be)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "preprocess: the image is in CUDA device memory but the CUDA driver did not give "
                "the session's context (give it a frame in host memory)");
    return FALSE;
  }
  if (y.t == NULL || !ufo_backend_shares_memory(be, y.t->be)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "preprocess: the output is not a tensor of the preprocessor's backend");
    return FALSE;
  }
  if (!ufo_view_check(y, "preprocess", error))
    return FALSE;
  if (y.rows != 3 || y.cols != (int64_t)S * S) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "preprocess: output %lldx%lld is not 3 x %d*%d", (long long)y.rows,
                (long long)y.cols, S, S);
    return FALSE;
  }
  if (!on_device)
    be->bytes_up += ufo_image_bytes(image); /* device images are read in place */
  return UFO_PROFILED(be, "preprocess", be->ops->preprocess(be, pp->state, y, image, p, error),
                      error);
}
