/* Row-wise and element-wise ops (backend.h; the CPU's loops in cpu/elementwise.c are the
 * semantics): layer norm, exact GELU, add with row broadcast, copy, mean over layers, and the
 * GEMM wrapper's bias fold. Views are strided (element (r, c) at ptr[r * ld + c]); the
 * element-wise kernels are grid-stride loops over rows * cols items in int64. */
#include "cuda_priv.h"

#include <math.h>

namespace UFO_CUDA_NS
{

#define EW_THREADS 256
#define LN_WARPS 4 /* rows per layer-norm block, one warp each */

/* ---- layer norm: y = (x - mean) / sqrt(var + eps) * w + b, biased variance ---- */

__device__ __forceinline__ float warp_sum(float v)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/* One warp per row, two passes in float32 (mean, then the sum of squared deviations: no
 * cancellation). y may be x: each lane reads and writes only its own columns. */
__global__ void __launch_bounds__(LN_WARPS * 32)
    layer_norm_kernel(float *y, int64_t ldy, const float *x, int64_t ldx,
                      const float *__restrict__ w, const float *__restrict__ b, int64_t rows,
                      int64_t cols, float eps)
{
  int lane = threadIdx.x & 31;
  for (int64_t r = (int64_t)blockIdx.x * LN_WARPS + threadIdx.x / 32; r < rows;
       r += (int64_t)gridDim.x * LN_WARPS) {
    const float *xr = x + r * ldx;
    float *yr = y + r * ldy;
    float s = 0.f;
    for (int64_t c = lane; c < cols; c += 32)
      s += xr[c];
    float mean = warp_sum(s) / (float)cols;
    float v = 0.f;
    for (int64_t c = lane; c < cols; c += 32) {
      float d = xr[c] - mean;
      v += d * d;
    }
    float inv = 1.f / sqrtf(warp_sum(v) / (float)cols + eps); /* eps inside the sqrt */
    for (int64_t c = lane; c < cols; c += 32)
      yr[c] = (xr[c] - mean) * inv * w[c] + b[c];
  }
}

gboolean ufo_cuda_layer_norm(UfoCuda *cu, UfoView y, UfoView x, UfoView w, UfoView b, float eps,
                             GError **error)
{
  int64_t blocks = (x.rows + LN_WARPS - 1) / LN_WARPS;
  unsigned grid = (unsigned)MIN(blocks, (int64_t)cu->grid_cap);
  UFO_LAUNCH(layer_norm_kernel, grid, LN_WARPS * 32, 0, cu->stream, ufo_cuda_ptr(y), y.ld,
             ufo_cuda_ptr(x), x.ld, ufo_cuda_ptr(w), ufo_cuda_ptr(b), x.rows, x.cols, eps);
  return ufo_cuda_launched("layer_norm: layer_norm_kernel", error);
}

/* ---- GELU, exact: x * 0.5 * (1 + erf(x / sqrt 2)) ---- */

__global__ void __launch_bounds__(EW_THREADS)
    gelu_kernel(float *y, int64_t ldy, const float *x, int64_t ldx, int64_t rows, int64_t cols)
{
  UFO_CUDA_FOR_ITEMS(rows, cols)
  {
    float v = x[r * ldx + c];
    y[r * ldy + c] = v * 0.5f * (1.f + erff(v * 0.70710678118654752f));
  }
}

gboolean ufo_cuda_gelu(UfoCuda *cu, UfoView y, UfoView x, GError **error)
{
  UFO_LAUNCH(gelu_kernel, ufo_cuda_blocks(cu, x.rows * x.cols, EW_THREADS), EW_THREADS, 0,
             cu->stream, ufo_cuda_ptr(y), y.ld, ufo_cuda_ptr(x), x.ld, x.rows, x.cols);
  return ufo_cuda_launched("gelu: gelu_kernel", error);
}

/* ---- add with row broadcast of b (b_rows 1); y may be a ---- */

__global__ void __launch_bounds__(EW_THREADS)
    add_kernel(float *y, int64_t ldy, const float *a, int64_t lda, const float *b, int64_t ldb,
               int64_t b_rows, int64_t rows, int64_t cols)
{
  UFO_CUDA_FOR_ITEMS(rows, cols)
  y[r * ldy + c] = a[r * lda + c] + b[(b_rows == 1 ? 0 : r) * ldb + c];
}

gboolean ufo_cuda_add(UfoCuda *cu, UfoView y, UfoView a, UfoView b, GError **error)
{
  UFO_LAUNCH(add_kernel, ufo_cuda_blocks(cu, a.rows * a.cols, EW_THREADS), EW_THREADS, 0,
             cu->stream, ufo_cuda_ptr(y), y.ld, ufo_cuda_ptr(a), a.ld, ufo_cuda_ptr(b), b.ld,
             b.rows, a.rows, a.cols);
  return ufo_cuda_launched("add: add_kernel", error);
}

/* ---- copy: one strided 2-D copy ---- */

gboolean ufo_cuda_copy(UfoCuda *cu, UfoView y, UfoView x, GError **error)
{
  float *dst = ufo_cuda_ptr(y);
  const float *src = ufo_cuda_ptr(x);
  if (dst == src && y.ld == x.ld)
    return TRUE;
  return ufo_cuda_ok(cudaMemcpy2DAsync(dst, (size_t)y.ld * sizeof(float), src,
                                       (size_t)x.ld * sizeof(float), (size_t)x.cols * sizeof(float),
                                       (size_t)x.rows, cudaMemcpyDeviceToDevice, cu->stream),
                     "copy: cudaMemcpy2DAsync", error);
}

/* ---- mean over layers, accumulated (inference §0.8: a sum times 1/n) ---- */

__global__ void __launch_bounds__(EW_THREADS)
    mean_acc_kernel(float *acc, int64_t ldacc, const float *x, int64_t ldx, int64_t rows,
                    int64_t cols, int k, int nl)
{
  float inv = 1.f / (float)nl;
  UFO_CUDA_FOR_ITEMS(rows, cols)
  {
    float v = k == 0 ? x[r * ldx + c] : acc[r * ldacc + c] + x[r * ldx + c];
    acc[r * ldacc + c] = k == nl - 1 ? v * inv : v;
  }
}

gboolean ufo_cuda_mean_acc(UfoCuda *cu, UfoView acc, UfoView x, int k, int n, GError **error)
{
  UFO_LAUNCH(mean_acc_kernel, ufo_cuda_blocks(cu, x.rows * x.cols, EW_THREADS), EW_THREADS, 0,
             cu->stream, ufo_cuda_ptr(acc), acc.ld, ufo_cuda_ptr(x), x.ld, x.rows, x.cols, k, n);
  return ufo_cuda_launched("mean_acc: mean_acc_kernel", error);
}

/* ---- the GEMM's bias outside cuBLASLt: C = beta C + bias, the product added after ---- */

__global__ void __launch_bounds__(EW_THREADS)
    bias_fold_kernel(float *c_, int64_t ldc, int64_t rows, int64_t cols, float beta,
                     const float *__restrict__ bias)
{
  UFO_CUDA_FOR_ITEMS(rows, cols)
  {
    float *p = c_ + r * ldc + c;
    *p = beta == 0.f ? bias[c] : beta * *p + bias[c]; /* beta == 0 never reads C */
  }
}

gboolean ufo_cuda_bias_fold(UfoCuda *cu, float *c, int64_t ldc, size_t stride_c, int batch,
                            int64_t m, int64_t n, float beta, const float *bias, GError **error)
{
  for (int i = 0; i < batch; i++) { /* one launch per batch: batches are few (heads, windows) */
    UFO_LAUNCH(bias_fold_kernel, ufo_cuda_blocks(cu, m * n, EW_THREADS), EW_THREADS, 0, cu->stream,
               c + (size_t)i * stride_c, ldc, m, n, beta, bias);
    if (!ufo_cuda_launched("gemm: bias_fold_kernel", error))
      return FALSE;
  }
  return TRUE;
}

} /* namespace UFO_CUDA_NS */
