/* Greedy decode selection (backend.h argmax_rows, inference §6.2; semantics of cpu/select.c):
 * per row of logits, the first index of the maximum and its softmax probability
 * 1 / Σ_v exp(x_v − max) (terms with x_v − max <= −87 skipped), with the planted forcing (ufo.h):
 * x[force] reads as max(row) + margin. One block per row; only ids and probabilities (8 bytes a
 * row) come back to the host. The sum is in double, as on the CPU, but in the block's order, so
 * the probability may differ from the CPU's in the last float bit. */
#include "cuda_priv.h"

#include <math.h>

namespace UFO_CUDA_NS
{

#define THREADS 256

/* logit v of the row with the forcing applied */
__device__ __forceinline__ float forced_val(const float *l, int64_t v, int64_t tok, float forced)
{
  return v == tok ? forced : l[v];
}

__global__ void __launch_bounds__(THREADS)
    argmax_kernel(const float *__restrict__ x, int64_t ldx, int64_t rows, int64_t cols,
                  const int32_t *__restrict__ force, const float *__restrict__ margin,
                  int32_t *__restrict__ ids, float *__restrict__ prob)
{
  __shared__ float s_val[THREADS];
  __shared__ int64_t s_idx[THREADS];
  __shared__ double s_sum[THREADS];
  const int tid = threadIdx.x;
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    const float *l = x + i * ldx;
    int64_t tok = force ? force[i] : -1;
    float forced = 0.f;
    if (tok >= 0) { /* ufo.h planted plan: logit[tok] = max(logits) + margin */
      float mx = -INFINITY;
      for (int64_t v = tid; v < cols; v += THREADS)
        mx = fmaxf(mx, l[v]);
      s_val[tid] = mx;
      __syncthreads();
      for (int s = THREADS / 2; s > 0; s >>= 1) {
        if (tid < s)
          s_val[tid] = fmaxf(s_val[tid], s_val[tid + s]);
        __syncthreads();
      }
      forced = s_val[0] + (margin ? margin[i] : 0.f);
      __syncthreads(); /* s_val is reused below */
    }
    /* the first maximum: per thread over its columns in order, then the lower index on ties */
    float best = -INFINITY;
    int64_t bi = cols; /* none yet */
    for (int64_t v = tid; v < cols; v += THREADS) {
      float val = forced_val(l, v, tok, forced);
      if (bi == cols || val > best) {
        best = val;
        bi = v;
      }
    }
    s_val[tid] = best;
    s_idx[tid] = bi;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
      if (tid < s) {
        float ov = s_val[tid + s];
        int64_t oi = s_idx[tid + s];
        if (oi < cols &&
            (s_idx[tid] == cols || ov > s_val[tid] || (ov == s_val[tid] && oi < s_idx[tid]))) {
          s_val[tid] = ov;
          s_idx[tid] = oi;
        }
      }
      __syncthreads();
    }
    const float mx = s_val[0];
    const int64_t arg = s_idx[0];
    double sum = 0.0;
    for (int64_t v = tid; v < cols; v += THREADS) {
      const float d = forced_val(l, v, tok, forced) - mx; /* below e^-87: cannot change >= 1 */
      if (d > -87.0f)
        sum += expf(d);
    }
    s_sum[tid] = sum;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
      if (tid < s)
        s_sum[tid] += s_sum[tid + s];
      __syncthreads();
    }
    if (tid == 0) {
      ids[i] = (int32_t)arg;
      prob[i] = (float)(1.0 / s_sum[0]);
    }
    __syncthreads(); /* the shared arrays are reused by the next row */
  }
}

gboolean ufo_cuda_argmax_rows(UfoCuda *cu, UfoView x, const int32_t *force, const float *margin,
                              int32_t *ids, float *prob, GError **error)
{
  /* one buffer: force, margin (inputs), ids, prob (outputs), n each */
  size_t n = (size_t)x.rows;
  char *buf = (char *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_SELECT, 16 * n, error);
  if (buf == NULL)
    return FALSE;
  int32_t *d_force = force ? (int32_t *)buf : NULL, *d_ids = (int32_t *)(buf + 8 * n);
  float *d_margin = margin ? (float *)(buf + 4 * n) : NULL, *d_prob = (float *)(buf + 12 * n);
  if ((force && !ufo_cuda_upload_bytes(cu, d_force, force, 4 * n, "argmax_rows: force", error)) ||
      (margin && !ufo_cuda_upload_bytes(cu, d_margin, margin, 4 * n, "argmax_rows: margin", error)))
    return FALSE;
  unsigned grid = (unsigned)MIN(x.rows, (int64_t)8 * cu->grid_cap);
  UFO_LAUNCH(argmax_kernel, grid, THREADS, 0, cu->stream, ufo_cuda_ptr(x), x.ld, x.rows, x.cols,
             d_force, d_margin, d_ids, d_prob);
  if (!ufo_cuda_launched("argmax_rows: argmax_kernel", error))
    return FALSE;
  return ufo_cuda_ok(cudaMemcpyAsync(ids, d_ids, 4 * n, cudaMemcpyDeviceToHost, cu->stream),
                     "argmax_rows: ids", error) &&
         ufo_cuda_ok(cudaMemcpyAsync(prob, d_prob, 4 * n, cudaMemcpyDeviceToHost, cu->stream),
                     "argmax_rows: prob", error) &&
         ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "argmax_rows", error);
}

} /* namespace UFO_CUDA_NS */
