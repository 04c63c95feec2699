/* The host reference of the mask ops (backend.h mask_*; segmentation spec §2.6–§2.8,
 * §6.1–§6.5) on host arrays: mask logits by retrieval, pixel shuffle, bilinear upsampling of
 * logits and the reference sigmoid, with the ops' arithmetic (backend/mask_math.h). The task
 * code runs the ops (instance.c, semantic.c); the fixture and op tests use these as their
 * yardstick. Plus the gathering of mask-token features. */
#include "tasks.h"

#include "backend/host_blas.h"
#include "backend/mask_math.h"

#include <math.h>
#include <string.h>

void ufo_mask_logits(const float *E, int n, const float *F, int Hp, int Wp, int C, float *U)
{
  const int HW = Hp * Wp, G = UFO_MASK_LOGITS_GROUP;
  float *S = g_new(float, (size_t)16 * MIN(n, G) * HW);
  /* seg §6.3: divide by sqrt(embed_dim) (a float32 scalar, as PyTorch), not sqrt(head_dim) */
  const float scale = (float)sqrt((double)C);
  const int UW = 4 * Wp;
  for (int m0 = 0; m0 < n; m0 += G) {
    const int k = MIN(G, n - m0);
    /* S (16k, HW) = E (16k, C) · Fᵀ (C, HW): one product per group (mask_math.h) */
    ufo_host_gemm_nt(16 * k, HW, C, E + (size_t)16 * m0 * C, F, S);
    for (int m = 0; m < k; m++) {
      float *Um = U + (size_t)(m0 + m) * 16 * HW;
      for (int j = 0; j < 16; j++) {
        const int a = j / 4, b = j % 4; /* seg §2.7: token j → sub-row j/4, sub-col j%4 */
        const float *s = S + ((size_t)16 * m + j) * HW;
        for (int h = 0; h < Hp; h++)
          for (int w = 0; w < Wp; w++)
            Um[(size_t)(4 * h + a) * UW + 4 * w + b] = s[h * Wp + w] / scale;
      }
    }
  }
  g_free(S);
}

void ufo_resize_bilinear_torch_rows(const float *in, int iw, int ih, float *out, int ow, int oh,
                                    int y0, int y1)
{
  /* seg §2.8: the taps and the blend of the mask ops (backend/mask_math.h) */
  UfoBilinearTap *tx = g_new(UfoBilinearTap, ow);
  for (int x = 0; x < ow; x++)
    tx[x] = ufo_bilinear_tap(iw, ow, x);
  for (int y = y0; y < y1; y++) {
    const UfoBilinearTap ty = ufo_bilinear_tap(ih, oh, y);
    float *o = out + (size_t)(y - y0) * ow;
    for (int x = 0; x < ow; x++)
      o[x] = ufo_bilinear_at(in, iw, ty, tx[x]);
  }
  g_free(tx);
}

void ufo_resize_bilinear_torch(const float *in, int iw, int ih, float *out, int ow, int oh)
{
  ufo_resize_bilinear_torch_rows(in, iw, ih, out, ow, oh, 0, oh);
}

float ufo_sigmoid_ref(float x)
{
  return ufo_mask_sigmoid(x); /* seg §0 item 2: exactly 0 below ≈ −88.7, like the reference */
}

void ufo_mask_probs(const float *E, const float *F, int Hp, int Wp, int C, int ow, int oh, float *U,
                    float *P)
{
  ufo_mask_logits(E, 1, F, Hp, Wp, C, U);
  ufo_mask_probs_of_logits(U, Hp, Wp, ow, oh, P);
}

void ufo_mask_probs_of_logits(const float *U, int Hp, int Wp, int ow, int oh, float *P)
{
  /* seg §6.5: upsample the logits straight to the original size, then the sigmoid */
  ufo_resize_bilinear_torch(U, 4 * Wp, 4 * Hp, P, ow, oh);
  const size_t n = (size_t)ow * oh;
  for (size_t i = 0; i < n; i++)
    P[i] = ufo_sigmoid_ref(P[i]);
}

int ufo_mask_gather(const int32_t *ids, const float *feat, int T, int C, int want,
                    int32_t mask_token, float *E)
{
  int n = 0;
  for (int t = 0; t < T; t++) {
    if (ids[t] != mask_token)
      continue;
    /* seg §6.1: feat[t] is the state that predicted ids[t] */
    if (n < want && E)
      memcpy(E + (size_t)n * C, feat + (size_t)t * C, sizeof(float) * C);
    n++;
  }
  return n;
}

gboolean ufo_mask_host_map(const float *image_feat, int Hp, int Wp, int C, int32_t mask_token,
                           UfoFeatureMap *fm, GError **error)
{
  memset(fm, 0, sizeof *fm);
  UfoBackend *be = ufo_backend_cpu_new(1, error);
  if (be == NULL)
    return FALSE;
  const int64_t ne[2] = {(int64_t)Hp * Wp, C};
  UfoTensor *t = ufo_tensor_from_host(be, 2, ne, image_feat, error); /* CPU: used in place */
  fm->mask_token = mask_token;
  if (t == NULL) {
    ufo_backend_free(be);
    return FALSE;
  }
  fm->map = ufo_view(t);
  fm->hp = Hp;
  fm->wp = Wp;
  return TRUE;
}

void ufo_mask_host_map_free(UfoFeatureMap *fm)
{
  if (fm->map.t == NULL)
    return;
  UfoBackend *be = fm->map.t->be;
  ufo_tensor_free(fm->map.t);
  ufo_backend_free(be);
  fm->map.t = NULL;
}

/* *t as (at least rows, exactly cols): kept when large enough, else replaced */
static gboolean keep_tensor(UfoBackend *be, UfoTensor **t, int64_t rows, int64_t cols,
                            GError **error)
{
  if (*t && (*t)->ndim == 2 && (*t)->ne[0] >= rows && (*t)->ne[1] == cols)
    return TRUE;
  g_clear_pointer(t, ufo_tensor_free);
  *t = ufo_tensor_new_2d(be, rows, cols, error);
  return *t != NULL;
}

gboolean ufo_mask_batch_init(UfoMaskBatch *b, const UfoFeatureMap *fm, int cap, GError **error)
{
  memset(b, 0, sizeof *b);
  b->fm = fm;
  b->be = fm->map.t->be;
  b->cap = MAX(cap, 1);
  const int64_t C = fm->map.cols;
  const gboolean hist = fm->hist.t != NULL;
  if (hist)
    b->host_idx = g_try_new(int32_t, (size_t)b->cap * 16);
  else
    b->host_e = g_try_new(float, (size_t)b->cap * 16 * C);
  if (hist ? b->host_idx == NULL : b->host_e == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory for %d mask embeddings",
                b->cap);
    return FALSE;
  }
  /* seg §2.6-§2.7: 16 features (16, C) and one (4hp, 4wp) logit map per object */
  const int64_t e_rows = (int64_t)b->cap * 16, u_rows = (int64_t)b->cap * 4 * fm->hp,
                u_cols = 4 * (int64_t)fm->wp;
  if (hist) { /* the history rows' index tensor: the caller's (grown) or the batch's own */
    if (fm->keep_idx) {
      b->kept_idx = TRUE;
      if (!(*fm->keep_idx && (*fm->keep_idx)->dtype == UFO_DTYPE_I32 &&
            (*fm->keep_idx)->ndim == 1 && (*fm->keep_idx)->ne[0] >= e_rows)) {
        g_clear_pointer(fm->keep_idx, ufo_tensor_free);
        *fm->keep_idx = ufo_tensor_new_typed(b->be, UFO_DTYPE_I32, 1, &e_rows, error);
      }
      b->idx = *fm->keep_idx;
    } else {
      b->idx = ufo_tensor_new_typed(b->be, UFO_DTYPE_I32, 1, &e_rows, error);
    }
    if (b->idx == NULL) {
      ufo_mask_batch_clear(b);
      return FALSE;
    }
  }
  if (fm->keep_e && fm->keep_u) { /* the caller's tensors, grown when too small */
    b->kept = TRUE;
    if (!keep_tensor(b->be, fm->keep_e, e_rows, C, error) ||
        !keep_tensor(b->be, fm->keep_u, u_rows, u_cols, error)) {
      ufo_mask_batch_clear(b);
      return FALSE;
    }
    b->e = *fm->keep_e;
    b->u = *fm->keep_u;
    return TRUE;
  }
  b->e = ufo_tensor_new_2d(b->be, e_rows, C, error);
  b->u = b->e ? ufo_tensor_new_2d(b->be, u_rows, u_cols, error) : NULL;
  if (b->u == NULL) {
    ufo_mask_batch_clear(b);
    return FALSE;
  }
  return TRUE;
}

gboolean ufo_mask_batch_logits(UfoMaskBatch *b, int n, UfoView *u, GError **error)
{
  const int64_t C = b->fm->map.cols, hp = b->fm->hp, wp = b->fm->wp;
  UfoView e = ufo_view_sub(ufo_view(b->e), 0, 0, (int64_t)n * 16, C);
  *u = ufo_view_sub(ufo_view(b->u), 0, 0, (int64_t)n * 4 * hp, 4 * wp);
  if (b->host_idx) { /* seg §2.6: the features stay on the backend, gathered by row */
    UfoView idx = ufo_view_sub(ufo_view(b->idx), 0, 0, (int64_t)n * 16, 1);
    if (!ufo_tensor_upload_i32(b->idx, 0, b->host_idx, (size_t)n * 16, error) ||
        !ufo_op_gather_rows(b->be, e, b->fm->hist, idx, error))
      return FALSE;
  } else if (!ufo_tensor_upload(b->e, 0, b->host_e, (size_t)n * 16 * C, error)) {
    return FALSE;
  }
  return ufo_op_mask_logits(b->be, *u, e, b->fm->map, (int)hp, (int)wp, error);
}

void ufo_mask_batch_set(UfoMaskBatch *b, int i, const int32_t *ids, const float *feat, int q, int T)
{
  const int64_t C = b->fm->map.cols;
  const int32_t *row = ids + (size_t)q * T;
  if (b->host_idx == NULL) {
    ufo_mask_gather(row, feat + (size_t)q * T * C, T, (int)C, 16, b->fm->mask_token,
                    b->host_e + (size_t)i * 16 * C);
    return;
  }
  /* seg §6.1: feat[t] is the state that predicted ids[t], kept in history row hist_row[q][t] */
  const int32_t *hr = b->fm->hist_row + (size_t)q * T;
  int32_t *dst = b->host_idx + (size_t)i * 16;
  for (int t = 0, n = 0; t < T && n < 16; t++)
    if (row[t] == b->fm->mask_token)
      dst[n++] = hr[t];
}

void ufo_mask_batch_clear(UfoMaskBatch *b)
{
  if (!b->kept) {
    ufo_tensor_free(b->e);
    ufo_tensor_free(b->u);
  }
  if (!b->kept_idx)
    ufo_tensor_free(b->idx);
  g_free(b->host_e);
  g_free(b->host_idx);
  memset(b, 0, sizeof *b);
}
