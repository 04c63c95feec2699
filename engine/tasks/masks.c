/* Mask logits by retrieval, pixel shuffle, bilinear upsampling of logits and the reference
 * sigmoid (segmentation spec §2.6–§2.8, §6.1–§6.5). */
#include "tasks.h"

#include "backend/host_blas.h"

#include <math.h>
#include <string.h>

void ufo_mask_logits(const float *E, const float *F, int Hp, int Wp, int C, float *U)
{
  const int HW = Hp * Wp;
  float *S = g_new(float, (size_t)16 * HW);
  /* S (16, HW) = E (16, C) · Fᵀ (C, HW) */
  ufo_host_gemm_nt(16, HW, C, E, F, S);
  /* seg §6.3: divide by sqrt(embed_dim) (a float32 scalar, as PyTorch), not sqrt(head_dim) */
  const float scale = (float)sqrt((double)C);
  const int UW = 4 * Wp;
  for (int j = 0; j < 16; j++) {
    const int a = j / 4, b = j % 4; /* seg §2.7: token j → sub-row j/4, sub-col j%4 */
    const float *s = S + (size_t)j * HW;
    for (int h = 0; h < Hp; h++)
      for (int w = 0; w < Wp; w++)
        U[(size_t)(4 * h + a) * UW + 4 * w + b] = s[h * Wp + w] / scale;
  }
  g_free(S);
}

typedef struct {
  int *i0, *i1;
  float *l0, *l1;
} BiTable;

/* PyTorch area_pixel_compute_source_index (align_corners=False): src = max(scale·(d + 0.5) − 0.5,
 * 0) with scale = in / out in float; i1 = i0 + 1 unless at the last row. */
static void bi_table(BiTable *t, int in, int out)
{
  t->i0 = g_new(int, out);
  t->i1 = g_new(int, out);
  t->l0 = g_new(float, out);
  t->l1 = g_new(float, out);
  const float scale = (float)in / (float)out;
  for (int d = 0; d < out; d++) {
    float src = scale * ((float)d + 0.5f) - 0.5f;
    if (src < 0.f)
      src = 0.f;
    const int i0 = (int)src;
    const float l1 = CLAMP(src - (float)i0, 0.f, 1.f);
    t->i0[d] = i0;
    t->i1[d] = i0 + (i0 < in - 1 ? 1 : 0);
    t->l1[d] = l1;
    t->l0[d] = 1.f - l1;
  }
}

static void bi_table_free(BiTable *t)
{
  g_free(t->i0);
  g_free(t->i1);
  g_free(t->l0);
  g_free(t->l1);
}

void ufo_resize_bilinear_torch_rows(const float *in, int iw, int ih, float *out, int ow, int oh,
                                    int y0, int y1)
{
  BiTable tx, ty;
  bi_table(&tx, iw, ow);
  bi_table(&ty, ih, oh);
  for (int y = y0; y < y1; y++) {
    const float *r0 = in + (size_t)ty.i0[y] * iw, *r1 = in + (size_t)ty.i1[y] * iw;
    const float h0 = ty.l0[y], h1 = ty.l1[y];
    float *o = out + (size_t)(y - y0) * ow;
    for (int x = 0; x < ow; x++) {
      const int a = tx.i0[x], b = tx.i1[x];
      const float w0 = tx.l0[x], w1 = tx.l1[x];
      /* PyTorch's separable order: rows blended along x first, then along y */
      const float t0 = r0[a] * w0 + r0[b] * w1;
      const float t1 = r1[a] * w0 + r1[b] * w1;
      o[x] = t0 * h0 + t1 * h1;
    }
  }
  bi_table_free(&tx);
  bi_table_free(&ty);
}

void ufo_resize_bilinear_torch(const float *in, int iw, int ih, float *out, int ow, int oh)
{
  ufo_resize_bilinear_torch_rows(in, iw, ih, out, ow, oh, 0, oh);
}

float ufo_sigmoid_ref(float x)
{
  /* seg §0 item 2: the plain form underflows to exactly 0 below ≈ −88.7, like the reference */
  return 1.f / (1.f + expf(-x));
}

void ufo_mask_probs(const float *E, const float *F, int Hp, int Wp, int C, int ow, int oh, float *U,
                    float *P)
{
  ufo_mask_logits(E, F, Hp, Wp, C, U);
  /* seg §6.5: upsample the logits straight to the original size, then the sigmoid */
  ufo_resize_bilinear_torch(U, 4 * Wp, 4 * Hp, P, ow, oh);
  const size_t n = (size_t)ow * oh;
  for (size_t i = 0; i < n; i++)
    P[i] = ufo_sigmoid_ref(P[i]);
}

int ufo_mask_gather(const int32_t *ids, const float *feat, int T, int C, int want, float *E)
{
  int n = 0;
  for (int t = 0; t < T; t++) {
    if (ids[t] != UFO_TOKEN_MASK)
      continue;
    /* seg §6.1: feat[t] is the state that predicted ids[t] */
    if (n < want && E)
      memcpy(E + (size_t)n * C, feat + (size_t)t * C, sizeof(float) * C);
    n++;
  }
  return n;
}
