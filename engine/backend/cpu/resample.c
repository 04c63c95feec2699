/* Resampling: grid_sample (bilinear, zeros, align_corners False; inference §5.4), bicubic
 * position-table resize (A = -0.75, align_corners False; §5.2, §8.6) and linear rel-pos table
 * resize (align_corners False; §5.1, §8.7). Maps are (h*w, C) row-major, channels last. */
#include "cpu.h"

#include <math.h>

/* ---- grid_sample ---- */

static void sample_one(float *dst, UfoView x, int h, int w, float rx, float ry)
{
  /* §5.4: pixel coordinate ref * size - 0.5 (align_corners False) */
  float fx = rx * (float)w - 0.5f, fy = ry * (float)h - 0.5f;
  int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
  float ax = fx - (float)x0, ay = fy - (float)y0;
  float wt[4] = {(1.f - ax) * (1.f - ay), ax * (1.f - ay), (1.f - ax) * ay, ax * ay};
  int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
  for (int64_t c = 0; c < x.cols; c++)
    dst[c] = 0.f;
  for (int t = 0; t < 4; t++) {
    if (xs[t] < 0 || xs[t] >= w || ys[t] < 0 || ys[t] >= h)
      continue; /* zero padding */
    const float *src = ufo_cpu_ptr(x) + ((int64_t)ys[t] * w + xs[t]) * x.ld;
    for (int64_t c = 0; c < x.cols; c++)
      dst[c] += wt[t] * src[c];
  }
}

/* point i of the (q, 2) points view ref: (x, y) */
static inline void point(UfoView ref, int64_t i, float *rx, float *ry)
{
  const float *p = ufo_cpu_ptr(ref) + i * ref.ld;
  *rx = p[0];
  *ry = p[1];
}

void ufo_cpu_grid_sample_ref(UfoView y, UfoView x, int h, int w, UfoView ref)
{
  for (int64_t i = 0; i < y.rows; i++) {
    float rx, ry;
    point(ref, i, &rx, &ry);
    sample_one(ufo_cpu_ptr(y) + i * y.ld, x, h, w, rx, ry);
  }
}

typedef struct {
  UfoView y, x;
  int h, w;
  UfoView ref;
} SampleJob;

static void sample_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  SampleJob *j = ctx;
  for (int64_t i = begin; i < end; i++) {
    float rx, ry;
    point(j->ref, i, &rx, &ry);
    sample_one(ufo_cpu_ptr(j->y) + i * j->y.ld, j->x, j->h, j->w, rx, ry);
  }
}

void ufo_cpu_grid_sample(UfoCpu *cpu, UfoView y, UfoView x, int h, int w, UfoView ref)
{
  SampleJob j = {y, x, h, w, ref};
  ufo_pool_run(cpu->pool, y.rows, 8, sample_task, &j);
}

/* ---- bicubic (PyTorch upsample_bicubic2d, A = -0.75) ---- */

static void cubic_weights(float t, float wt[4])
{
  const float a = -0.75f;
  float x1 = t + 1.f, x2 = t, x3 = 1.f - t, x4 = 2.f - t;
  /* |x| in [1, 2): ((A|x| - 5A)|x| + 8A)|x| - 4A; |x| < 1: ((A+2)|x| - (A+3))|x|^2 + 1 */
  wt[0] = ((a * x1 - 5.f * a) * x1 + 8.f * a) * x1 - 4.f * a;
  wt[1] = ((a + 2.f) * x2 - (a + 3.f)) * x2 * x2 + 1.f;
  wt[2] = ((a + 2.f) * x3 - (a + 3.f)) * x3 * x3 + 1.f;
  wt[3] = ((a * x4 - 5.f * a) * x4 + 8.f * a) * x4 - 4.f * a;
}

/* §5.2: source coordinate (in/out)(o + 0.5) - 0.5, not clamped; taps clamped to [0, in-1] */
static void cubic_taps(int o, int in, int out, int idx[4], float wt[4])
{
  float scale = (float)in / (float)out;
  float s = scale * ((float)o + 0.5f) - 0.5f;
  float f = floorf(s);
  cubic_weights(s - f, wt);
  for (int k = 0; k < 4; k++)
    idx[k] = CLAMP((int)f - 1 + k, 0, in - 1);
}

static void bicubic_row(UfoView y, UfoView x, int ih, int iw, int oh, int ow, int64_t r)
{
  int oy = (int)(r / ow), ox = (int)(r % ow);
  int yi[4], xi[4];
  float wy[4], wx[4];
  cubic_taps(oy, ih, oh, yi, wy);
  cubic_taps(ox, iw, ow, xi, wx);
  float *dst = ufo_cpu_ptr(y) + r * y.ld;
  for (int64_t c = 0; c < x.cols; c++) {
    /* separable: along x first for each of the 4 rows, then along y */
    float acc = 0.f;
    for (int a = 0; a < 4; a++) {
      const float *row = ufo_cpu_ptr(x) + (int64_t)yi[a] * iw * x.ld;
      float v = 0.f;
      for (int b = 0; b < 4; b++)
        v += wx[b] * row[(int64_t)xi[b] * x.ld + c];
      acc += wy[a] * v;
    }
    dst[c] = acc;
  }
}

void ufo_cpu_resize_bicubic_ref(UfoView y, UfoView x, int ih, int iw, int oh, int ow)
{
  for (int64_t r = 0; r < (int64_t)oh * ow; r++)
    bicubic_row(y, x, ih, iw, oh, ow, r);
}

typedef struct {
  UfoView y, x;
  int ih, iw, oh, ow;
} CubicJob;

static void cubic_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  CubicJob *j = ctx;
  for (int64_t r = begin; r < end; r++)
    bicubic_row(j->y, j->x, j->ih, j->iw, j->oh, j->ow, r);
}

void ufo_cpu_resize_bicubic(UfoCpu *cpu, UfoView y, UfoView x, int ih, int iw, int oh, int ow)
{
  CubicJob j = {y, x, ih, iw, oh, ow};
  ufo_pool_run(cpu->pool, (int64_t)oh * ow, 16, cubic_task, &j);
}

/* ---- linear table resize along rows (F.interpolate mode='linear') ---- */

void ufo_cpu_resize_linear_ref(UfoView y, UfoView x)
{
  int64_t li = x.rows, lo = y.rows;
  float scale = (float)li / (float)lo;
  for (int64_t o = 0; o < lo; o++) {
    /* §5.1: x = (Li/Lo)(o + 0.5) - 0.5 clamped below at 0 */
    float s = MAX(scale * ((float)o + 0.5f) - 0.5f, 0.f);
    int64_t i0 = (int64_t)s, i1 = MIN(i0 + 1, li - 1);
    float lam = s - (float)i0;
    const float *a = ufo_cpu_ptr(x) + i0 * x.ld, *b = ufo_cpu_ptr(x) + i1 * x.ld;
    float *dst = ufo_cpu_ptr(y) + o * y.ld;
    for (int64_t c = 0; c < x.cols; c++)
      dst[c] = (1.f - lam) * a[c] + lam * b[c];
  }
}
