/* OpenCV cv2.resize(INTER_LINEAR) emulation, uint8 and float32 (inference spec §3.1, §8 item 9;
 * segmentation spec §0 item 7, §6.14). Separable: a horizontal pass into an int32/float row
 * buffer, then a vertical blend of two buffered rows, with precomputed tables. */
#include "preprocess.h"

#include <math.h>
#include <string.h>

#define CV_COEF_SCALE 2048 /* OpenCV INTER_RESIZE_COEF_SCALE: 11-bit fixed point */

void ufo_lin_table_free(UfoLinTable *t)
{
  g_free(t->i0);
  g_free(t->i1);
  g_free(t->w0);
  g_free(t->w1);
  g_free(t->f);
  memset(t, 0, sizeof *t);
}

/* OpenCV's fixed-point table. clamp_frac: the x axis zeroes the fraction outside the image; the y
 * axis keeps it and only clamps the row indices (OpenCV resizeGeneric_ builds them that way). */
void ufo_lin_table_u8(UfoLinTable *t, int src, int dst, gboolean clamp_frac)
{
  t->n = dst;
  t->i0 = g_new(int32_t, dst);
  t->i1 = g_new(int32_t, dst);
  t->w0 = g_new(int16_t, dst);
  t->w1 = g_new(int16_t, dst);
  t->f = NULL;
  /* OpenCV: scale = 1 / (dst / src) in double, fx = (float)((d + 0.5) * scale - 0.5) */
  double scale = 1.0 / ((double)dst / (double)src);
  for (int d = 0; d < dst; d++) {
    float fx = (float)((d + 0.5) * scale - 0.5);
    int sx = (int)floorf(fx);
    fx -= (float)sx;
    if (clamp_frac) {
      if (sx < 0) {
        fx = 0.f;
        sx = 0;
      }
      if (sx >= src - 1) {
        fx = 0.f;
        sx = src - 1;
      }
    }
    float c0 = 1.f - fx;
    /* saturate_cast<short>(c * 2048): round half to even (lrintf) */
    t->w0[d] = (int16_t)lrintf(c0 * (float)CV_COEF_SCALE);
    t->w1[d] = (int16_t)lrintf(fx * (float)CV_COEF_SCALE);
    t->i0[d] = CLAMP(sx, 0, src - 1);
    t->i1[d] = CLAMP(sx + 1, 0, src - 1);
  }
}

static void hresize_u8_row(const uint8_t *s, const UfoLinTable *tx, int dw, int cn, int32_t *r)
{
  if (cn == 3) { /* the common case, unrolled */
    for (int dx = 0; dx < dw; dx++) {
      const uint8_t *p0 = s + (size_t)tx->i0[dx] * 3, *p1 = s + (size_t)tx->i1[dx] * 3;
      const int a0 = tx->w0[dx], a1 = tx->w1[dx];
      r[dx * 3 + 0] = p0[0] * a0 + p1[0] * a1;
      r[dx * 3 + 1] = p0[1] * a0 + p1[1] * a1;
      r[dx * 3 + 2] = p0[2] * a0 + p1[2] * a1;
    }
    return;
  }
  for (int dx = 0; dx < dw; dx++) {
    const uint8_t *p0 = s + (size_t)tx->i0[dx] * cn, *p1 = s + (size_t)tx->i1[dx] * cn;
    const int a0 = tx->w0[dx], a1 = tx->w1[dx];
    for (int c = 0; c < cn; c++)
      r[dx * cn + c] = p0[c] * a0 + p1[c] * a1; /* exact int32, 11-bit weights */
  }
}

void ufo_resize_linear_u8_rows(const uint8_t *src, int row0, int sw, int sh, size_t sstride, int cn,
                               uint8_t *dst, int dw, int dh, int y0, int y1)
{
  UfoLinTable tx, ty;
  ufo_lin_table_u8(&tx, sw, dw, TRUE);
  ufo_lin_table_u8(&ty, sh, dh, FALSE);
  const int rw = dw * cn;
  /* horizontal results of two source rows; rows advance monotonically with dy */
  int32_t *ra = g_new(int32_t, rw), *rb = g_new(int32_t, rw);
  int have_a = -1, have_b = -1;
  for (int dy = y0; dy < y1; dy++) {
    const int a = ty.i0[dy], b = ty.i1[dy];
    if (have_a != a) {
      if (have_b == a) {
        int32_t *t = ra;
        ra = rb;
        rb = t;
        have_b = have_a;
        have_a = a;
      } else {
        hresize_u8_row(src + (size_t)(a - row0) * sstride, &tx, dw, cn, ra);
        have_a = a;
      }
    }
    const int32_t *r0 = ra, *r1 = ra;
    if (b != a) {
      if (have_b != b) {
        hresize_u8_row(src + (size_t)(b - row0) * sstride, &tx, dw, cn, rb);
        have_b = b;
      }
      r1 = rb;
    }
    const int b0 = ty.w0[dy], b1 = ty.w1[dy];
    uint8_t *d = dst + (size_t)(dy - y0) * rw;
    for (int x = 0; x < rw; x++) {
      /* OpenCV's SIMD vertical pass: int16 mulhi of (S >> 4) by each 11-bit beta, then
       * (sum + 2) >> 2 (not the exact (S0*b0 + S1*b1 + 2^21) >> 22) */
      int v = (((r0[x] >> 4) * b0) >> 16) + (((r1[x] >> 4) * b1) >> 16);
      v = (v + 2) >> 2;
      d[x] = (uint8_t)CLAMP(v, 0, 255);
    }
  }
  g_free(ra);
  g_free(rb);
  ufo_lin_table_free(&tx);
  ufo_lin_table_free(&ty);
}

void ufo_resize_linear_u8(const uint8_t *src, int sw, int sh, size_t sstride, int cn, uint8_t *dst,
                          int dw, int dh)
{
  ufo_resize_linear_u8_rows(src, 0, sw, sh, sstride, cn, dst, dw, dh, 0, dh);
}

/* Float table of the IPP path: double-precision source coordinate, fraction zeroed outside the
 * image on both axes, the weight a float32. */
void ufo_lin_table_f32(UfoLinTable *t, int src, int dst)
{
  t->n = dst;
  t->i0 = g_new(int32_t, dst);
  t->i1 = g_new(int32_t, dst);
  t->w0 = t->w1 = NULL;
  t->f = g_new(float, dst);
  double scale = (double)src / (double)dst;
  for (int d = 0; d < dst; d++) {
    double fx = (d + 0.5) * scale - 0.5;
    int sx = (int)floor(fx);
    fx -= sx;
    if (sx < 0) {
      fx = 0.0;
      sx = 0;
    }
    if (sx >= src - 1) {
      fx = 0.0;
      sx = src - 1;
    }
    t->i0[d] = sx;
    t->i1[d] = MIN(sx + 1, src - 1);
    t->f[d] = (float)fx;
  }
}

void ufo_resize_linear_f32_rows(const float *src, int row0, int sw, int sh, int cn, float *dst,
                                int dw, int dh, int y0, int y1)
{
  UfoLinTable tx, ty;
  ufo_lin_table_f32(&tx, sw, dw);
  ufo_lin_table_f32(&ty, sh, dh);
  const int rw = dw * cn;
  /* the source rows the output rows blend */
  int r0 = sh, r1 = 0;
  for (int y = y0; y < y1; y++)
    r0 = MIN(r0, MIN(ty.i0[y], ty.i1[y])), r1 = MAX(r1, MAX(ty.i0[y], ty.i1[y]) + 1);
  float *tmp = g_new(float, (size_t)(r1 - r0) * rw);
  /* horizontal: p0·(1 − f) + p1·f evaluated in double, rounded to float */
  for (int y = r0; y < r1; y++) {
    const float *s = src + (size_t)(y - row0) * sw * cn;
    float *r = tmp + (size_t)(y - r0) * rw;
    for (int dx = 0; dx < dw; dx++) {
      const float *p0 = s + (size_t)tx.i0[dx] * cn, *p1 = s + (size_t)tx.i1[dx] * cn;
      const double f = (double)tx.f[dx];
      for (int c = 0; c < cn; c++)
        r[dx * cn + c] = (float)((double)p0[c] * (1.0 - f) + (double)p1[c] * f);
    }
  }
  /* vertical: p0 + f·(p1 − p0), the difference in float, the rest in double */
  for (int dy = y0; dy < y1; dy++) {
    const float *a = tmp + (size_t)(ty.i0[dy] - r0) * rw, *b = tmp + (size_t)(ty.i1[dy] - r0) * rw;
    const double f = (double)ty.f[dy];
    float *d = dst + (size_t)(dy - y0) * rw;
    for (int x = 0; x < rw; x++) {
      float diff = b[x] - a[x];
      d[x] = (float)((double)a[x] + f * (double)diff);
    }
  }
  g_free(tmp);
  ufo_lin_table_free(&tx);
  ufo_lin_table_free(&ty);
}

void ufo_resize_linear_f32(const float *src, int sw, int sh, int cn, float *dst, int dw, int dh)
{
  ufo_resize_linear_f32_rows(src, 0, sw, sh, cn, dst, dw, dh, 0, dh);
}

/* The source rows [*r0, *r1) that output rows [y0, y1) of a resize of sh rows to dh read. */
void ufo_resize_source_rows(UfoPrepResize resize, int sh, int dh, int y0, int y1, int *r0, int *r1)
{
  if (resize == UFO_PREP_BICUBIC_PIL) {
    UfoPilTable ty;
    ufo_pil_table(&ty, sh, dh);
    *r0 = ty.xmin[y0];
    *r1 = ty.xmin[y1 - 1] + ty.xcount[y1 - 1];
    for (int y = y0; y < y1; y++) /* (monotonic; taken over all, to be safe) */
      *r0 = MIN(*r0, ty.xmin[y]), *r1 = MAX(*r1, ty.xmin[y] + ty.xcount[y]);
    ufo_pil_table_free(&ty);
    return;
  }
  UfoLinTable ty;
  if (resize == UFO_PREP_LINEAR_F32)
    ufo_lin_table_f32(&ty, sh, dh);
  else
    ufo_lin_table_u8(&ty, sh, dh, FALSE);
  *r0 = sh, *r1 = 0;
  for (int y = y0; y < y1; y++)
    *r0 = MIN(*r0, MIN(ty.i0[y], ty.i1[y])), *r1 = MAX(*r1, MAX(ty.i0[y], ty.i1[y]) + 1);
  ufo_lin_table_free(&ty);
}
