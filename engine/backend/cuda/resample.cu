/* Resampling (backend.h; semantics and order of operations of cpu/resample.c): grid_sample
 * (bilinear, zero padding, align_corners False; inference §5.4), bicubic position-table resize
 * (A = -0.75, align_corners False, taps clamped; §5.2, §8.6) and linear rel-pos table resize
 * (align_corners False; §5.1, §8.7). Maps are (h*w, C) row-major, channels last; one thread per
 * output element (grid-stride, int64). */
#include "cuda_priv.h"

#include <math.h>

namespace UFO_CUDA_NS
{

#define THREADS 256

/* ---- grid_sample ---- */

__global__ void __launch_bounds__(THREADS)
    grid_sample_kernel(float *__restrict__ y, int64_t ldy, const float *__restrict__ x, int64_t ldx,
                       const float *__restrict__ ref, int64_t ldr, int64_t q, int64_t cols, int h,
                       int w)
{
  UFO_CUDA_FOR_ITEMS(q, cols)
  {
    /* §5.4: pixel coordinate ref * size - 0.5 (align_corners False) */
    float fx = ref[r * ldr] * (float)w - 0.5f, fy = ref[r * ldr + 1] * (float)h - 0.5f;
    int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
    float ax = fx - (float)x0, ay = fy - (float)y0;
    float wt[4] = {(1.f - ax) * (1.f - ay), ax * (1.f - ay), (1.f - ax) * ay, ax * ay};
    int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
    float acc = 0.f;
    for (int t = 0; t < 4; t++) {
      if (xs[t] < 0 || xs[t] >= w || ys[t] < 0 || ys[t] >= h)
        continue; /* zero padding */
      acc += wt[t] * x[((int64_t)ys[t] * w + xs[t]) * ldx + c];
    }
    y[r * ldy + c] = acc;
  }
}

gboolean ufo_cuda_grid_sample(UfoCuda *cu, UfoView y, UfoView x, int h, int w, UfoView ref,
                              GError **error)
{
  /* the points are an f32 (q, 2) tensor view, uploaded once per frame by the caller */
  UFO_LAUNCH(grid_sample_kernel, ufo_cuda_blocks(cu, y.rows * x.cols, THREADS), THREADS, 0,
             cu->stream, ufo_cuda_ptr(y), y.ld, ufo_cuda_ptr(x), x.ld, ufo_cuda_ptr(ref), ref.ld,
             y.rows, x.cols, h, w);
  return ufo_cuda_launched("grid_sample: grid_sample_kernel", error);
}

/* ---- bicubic (PyTorch upsample_bicubic2d, A = -0.75) ---- */

__device__ __forceinline__ void cubic_weights(float t, float wt[4])
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
__device__ __forceinline__ void cubic_taps(int o, int in, int out, int idx[4], float wt[4])
{
  float scale = (float)in / (float)out;
  float s = scale * ((float)o + 0.5f) - 0.5f;
  float f = floorf(s);
  cubic_weights(s - f, wt);
  for (int k = 0; k < 4; k++)
    idx[k] = min(max((int)f - 1 + k, 0), in - 1);
}

__global__ void __launch_bounds__(THREADS)
    bicubic_kernel(float *__restrict__ y, int64_t ldy, const float *__restrict__ x, int64_t ldx,
                   int64_t cols, int ih, int iw, int oh, int ow)
{
  UFO_CUDA_FOR_ITEMS((int64_t)oh * ow, cols)
  {
    int oy = (int)(r / ow), ox = (int)(r % ow);
    int yi[4], xi[4];
    float wy[4], wx[4];
    cubic_taps(oy, ih, oh, yi, wy);
    cubic_taps(ox, iw, ow, xi, wx);
    /* separable: along x first for each of the 4 rows, then along y */
    float acc = 0.f;
    for (int a = 0; a < 4; a++) {
      const float *row = x + (int64_t)yi[a] * iw * ldx;
      float v = 0.f;
      for (int b = 0; b < 4; b++)
        v += wx[b] * row[(int64_t)xi[b] * ldx + c];
      acc += wy[a] * v;
    }
    y[r * ldy + c] = acc;
  }
}

gboolean ufo_cuda_resize_bicubic(UfoCuda *cu, UfoView y, UfoView x, int ih, int iw, int oh, int ow,
                                 GError **error)
{
  UFO_LAUNCH(bicubic_kernel, ufo_cuda_blocks(cu, (int64_t)oh * ow * x.cols, THREADS), THREADS, 0,
             cu->stream, ufo_cuda_ptr(y), y.ld, ufo_cuda_ptr(x), x.ld, x.cols, ih, iw, oh, ow);
  return ufo_cuda_launched("resize_bicubic: bicubic_kernel", error);
}

/* ---- linear table resize along rows (F.interpolate mode='linear') ---- */

__global__ void __launch_bounds__(THREADS)
    linear_kernel(float *__restrict__ y, int64_t ldy, const float *__restrict__ x, int64_t ldx,
                  int64_t li, int64_t lo, int64_t cols)
{
  float scale = (float)li / (float)lo;
  UFO_CUDA_FOR_ITEMS(lo, cols)
  {
    /* §5.1: x = (Li/Lo)(o + 0.5) - 0.5 clamped below at 0 */
    float s = fmaxf(scale * ((float)r + 0.5f) - 0.5f, 0.f);
    int64_t i0 = (int64_t)s, i1 = min(i0 + 1, li - 1);
    float lam = s - (float)i0;
    y[r * ldy + c] = (1.f - lam) * x[i0 * ldx + c] + lam * x[i1 * ldx + c];
  }
}

gboolean ufo_cuda_resize_linear(UfoCuda *cu, UfoView y, UfoView x, GError **error)
{
  UFO_LAUNCH(linear_kernel, ufo_cuda_blocks(cu, y.rows * x.cols, THREADS), THREADS, 0, cu->stream,
             ufo_cuda_ptr(y), y.ld, ufo_cuda_ptr(x), x.ld, x.rows, y.rows, x.cols);
  return ufo_cuda_launched("resize_linear: linear_kernel", error);
}

} /* namespace UFO_CUDA_NS */
