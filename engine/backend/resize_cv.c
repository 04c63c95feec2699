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

void ufo_resize_linear_u8(const uint8_t *src, int sw, int sh, size_t sstride, int cn, uint8_t *dst,
                          int dw, int dh)
{
  UfoLinTable tx, ty;
  ufo_lin_table_u8(&tx, sw, dw, TRUE);
  ufo_lin_table_u8(&ty, sh, dh, FALSE);
  const int rw = dw * cn;
  /* horizontal results of two source rows; rows advance monotonically with dy */
  int32_t *ra = g_new(int32_t, rw), *rb = g_new(int32_t, rw);
  int have_a = -1, have_b = -1;
  for (int dy = 0; dy < dh; dy++) {
    const int a = ty.i0[dy], b = ty.i1[dy];
    if (have_a != a) {
      if (have_b == a) {
        int32_t *t = ra;
        ra = rb;
        rb = t;
        have_b = have_a;
        have_a = a;
      } else {
        hresize_u8_row(src + (size_t)a * sstride, &tx, dw, cn, ra);
        have_a = a;
      }
    }
    const int32_t *r0 = ra, *r1 = ra;
    if (b != a) {
      if (have_b != b) {
        hresize_u8_row(src + (size_t)b * sstride, &tx, dw, cn, rb);
        have_b = b;
      }
      r1 = rb;
    }
    const int b0 = ty.w0[dy], b1 = ty.w1[dy];
    uint8_t *d = dst + (size_t)dy * rw;
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

void ufo_resize_linear_f32(const float *src, int sw, int sh, int cn, float *dst, int dw, int dh)
{
  UfoLinTable tx, ty;
  ufo_lin_table_f32(&tx, sw, dw);
  ufo_lin_table_f32(&ty, sh, dh);
  const int rw = dw * cn;
  float *tmp = g_new(float, (size_t)sh *rw);
  /* horizontal: p0·(1 − f) + p1·f evaluated in double, rounded to float */
  for (int y = 0; y < sh; y++) {
    const float *s = src + (size_t)y * sw * cn;
    float *r = tmp + (size_t)y * rw;
    for (int dx = 0; dx < dw; dx++) {
      const float *p0 = s + (size_t)tx.i0[dx] * cn, *p1 = s + (size_t)tx.i1[dx] * cn;
      const double f = (double)tx.f[dx];
      for (int c = 0; c < cn; c++)
        r[dx * cn + c] = (float)((double)p0[c] * (1.0 - f) + (double)p1[c] * f);
    }
  }
  /* vertical: p0 + f·(p1 − p0), the difference in float, the rest in double */
  for (int dy = 0; dy < dh; dy++) {
    const float *r0 = tmp + (size_t)ty.i0[dy] * rw, *r1 = tmp + (size_t)ty.i1[dy] * rw;
    const double f = (double)ty.f[dy];
    float *d = dst + (size_t)dy * rw;
    for (int x = 0; x < rw; x++) {
      float diff = r1[x] - r0[x];
      d[x] = (float)((double)r0[x] + f * (double)diff);
    }
  }
  g_free(tmp);
  ufo_lin_table_free(&tx);
  ufo_lin_table_free(&ty);
}
