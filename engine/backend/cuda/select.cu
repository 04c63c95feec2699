/* Decode selection where the logits live (semantics of cpu/select.c).
 * Greedy (backend.h argmax_rows, inference §6.2):
 * per row of logits, the first index of the maximum and its softmax probability
 * 1 / Σ_v exp(x_v − max) (terms with x_v − max <= −87 skipped), with the planted forcing (ufo.h):
 * x[force] reads as max(row) + margin. One block per row; only ids and probabilities (8 bytes a
 * row) come back to the host. The sum is in double, as on the CPU, but in the block's order, so
 * the probability may differ from the CPU's in the last float bit.
 * Beam search (backend.h log_softmax_topk, §6.3): per row the k best log_softmax(x / τ) + bias
 * with their tokens; one block per row, the top-k in chunks of TOPK_CHUNK (a sorted list per
 * thread, merged pairwise in shared memory), so a step returns 8·k bytes a row. */
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
  UFO_SHARED(float, s_val, [THREADS]);
  UFO_SHARED(int64_t, s_idx, [THREADS]);
  UFO_SHARED(double, s_sum, [THREADS]);
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

/* argmax_rows_to: the kernel over the backend's own columns, nothing copied or waited for */
gboolean ufo_cuda_argmax_rows_to(UfoCuda *cu, UfoView x, UfoView force, UfoView margin, UfoView ids,
                                 UfoView prob, GError **error)
{
  unsigned grid = (unsigned)MIN(x.rows, (int64_t)8 * cu->grid_cap);
  UFO_LAUNCH(argmax_kernel, grid, THREADS, 0, cu->stream, ufo_cuda_ptr(x), x.ld, x.rows, x.cols,
             force.t ? ufo_cuda_iptr(force) : NULL, margin.t ? ufo_cuda_ptr(margin) : NULL,
             (int32_t *)ufo_cuda_iptr(ids), ufo_cuda_ptr(prob));
  return ufo_cuda_launched("argmax_rows_to: argmax_kernel", error);
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

#define TOPK_CHUNK 16
#define TOPK_NONE 0x7fffffff /* index of an empty list slot: after every real candidate */

/* the candidate order of the top-k: score descending, then the lower index (beam.c) */
__device__ __forceinline__ bool topk_before(float va, int32_t ia, float vb, int32_t ib)
{
  return va > vb || (va == vb && ia < ib);
}

/* max over the block of one float per thread (s: THREADS floats); all threads get it */
__device__ __forceinline__ float block_max(float *s, float v)
{
  const int tid = threadIdx.x;
  s[tid] = v;
  __syncthreads();
  for (int h = THREADS / 2; h > 0; h >>= 1) {
    if (tid < h)
      s[tid] = fmaxf(s[tid], s[tid + h]);
    __syncthreads();
  }
  const float r = s[0];
  __syncthreads(); /* s is reused next */
  return r;
}

/* Row i of x: with the forcing, y_v = x_v / τ (none at τ == 1), mx = max y, lse = (float)log of
 * the double sum of exp(y_v − mx), c_v = (y_v − mx) − lse (+ bias); the k best (c, v) leave in
 * chunks of TOPK_CHUNK: chunk q takes the best candidates after the last one of chunk q − 1 in
 * the order topk_before (a total order on distinct indices, so nothing is taken twice). */
__global__ void __launch_bounds__(THREADS)
    topk_kernel(const float *__restrict__ x, int64_t ldx, int64_t rows, int64_t cols, float tau,
                const int32_t *__restrict__ force, const float *__restrict__ margin,
                const float *__restrict__ bias, int k, float *__restrict__ val,
                int32_t *__restrict__ idx)
{
  UFO_SHARED(float, s_red, [THREADS]);
  UFO_SHARED(double, s_sum, [THREADS]);
  UFO_SHARED(float, s_lv, [THREADS * TOPK_CHUNK]);
  UFO_SHARED(int32_t, s_li, [THREADS * TOPK_CHUNK]);
  const int tid = threadIdx.x;
  float *lv = s_lv + tid * TOPK_CHUNK;
  int32_t *li = s_li + tid * TOPK_CHUNK;
  for (int64_t i = blockIdx.x; i < rows; i += gridDim.x) {
    const float *l = x + i * ldx;
    const int64_t tok = force ? force[i] : -1;
    float forced = 0.f;
    if (tok >= 0) { /* ufo.h planted plan: logit[tok] = max(logits) + margin */
      float m = -INFINITY;
      for (int64_t v = tid; v < cols; v += THREADS)
        m = fmaxf(m, l[v]);
      forced = block_max(s_red, m) + (margin ? margin[i] : 0.f);
    }
#define Y(v) (tau != 1.f ? forced_val(l, v, tok, forced) / tau : forced_val(l, v, tok, forced))
    float m = -INFINITY;
    for (int64_t v = tid; v < cols; v += THREADS)
      m = fmaxf(m, Y(v));
    const float mx = block_max(s_red, m);
    double sum = 0.0; /* in double, as the host; per thread, then a tree */
    for (int64_t v = tid; v < cols; v += THREADS)
      sum += (double)expf(Y(v) - mx);
    s_sum[tid] = sum;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h >>= 1) {
      if (tid < h)
        s_sum[tid] += s_sum[tid + h];
      __syncthreads();
    }
    const float lse = (float)log(s_sum[0]);
    const bool has_bias = bias != NULL;
    const float b = has_bias ? bias[i] : 0.f;
    float after_v = INFINITY; /* the last candidate taken so far: none */
    int32_t after_i = -1;
    for (int q0 = 0; q0 < k; q0 += TOPK_CHUNK) {
      const int kc = min(TOPK_CHUNK, k - q0);
      /* this thread's best kc after (after_v, after_i), over its columns in order */
      int m_n = 0;
      for (int64_t v = tid; v < cols; v += THREADS) {
        float c = (Y(v) - mx) - lse; /* lp_v, f32 */
        if (has_bias)
          c += b; /* cand = lp + beam score (f32) */
        const int32_t vi = (int32_t)v;
        if (q0 > 0 && !topk_before(after_v, after_i, c, vi))
          continue; /* taken by an earlier chunk */
        if (m_n == kc && !topk_before(c, vi, lv[kc - 1], li[kc - 1]))
          continue;
        int p = m_n < kc ? m_n++ : kc - 1;
        while (p > 0 && topk_before(c, vi, lv[p - 1], li[p - 1])) {
          lv[p] = lv[p - 1];
          li[p] = li[p - 1];
          p--;
        }
        lv[p] = c;
        li[p] = vi;
      }
      for (int p = m_n; p < kc; p++) {
        lv[p] = -INFINITY;
        li[p] = TOPK_NONE;
      }
      __syncthreads();
      /* pairwise merges of the sorted lists: thread tid keeps the best kc of tid and tid + h */
      for (int h = THREADS / 2; h > 0; h >>= 1) {
        if (tid < h) {
          const float *ov = s_lv + (tid + h) * TOPK_CHUNK;
          const int32_t *oi = s_li + (tid + h) * TOPK_CHUNK;
          float mv[TOPK_CHUNK];
          int32_t mi[TOPK_CHUNK];
          int a = 0, o = 0;
          for (int p = 0; p < kc; p++) {
            if (topk_before(lv[a], li[a], ov[o], oi[o])) {
              mv[p] = lv[a];
              mi[p] = li[a++];
            } else {
              mv[p] = ov[o];
              mi[p] = oi[o++];
            }
          }
          for (int p = 0; p < kc; p++) {
            lv[p] = mv[p];
            li[p] = mi[p];
          }
        }
        __syncthreads();
      }
      if (tid == 0)
        for (int p = 0; p < kc; p++) {
          val[i * k + q0 + p] = s_lv[p];
          idx[i * k + q0 + p] = s_li[p];
        }
      after_v = s_lv[kc - 1];
      after_i = s_li[kc - 1];
      __syncthreads(); /* the lists are rebuilt by the next chunk */
    }
#undef Y
  }
}

gboolean ufo_cuda_log_softmax_topk(UfoCuda *cu, UfoView x, float temperature, const int32_t *force,
                                   const float *margin, const float *bias, int k, float *val,
                                   int32_t *idx, GError **error)
{
  /* one buffer: force, margin, bias (inputs, n each), val, idx (outputs, n·k each) */
  size_t n = (size_t)x.rows, nk = n * (size_t)k;
  char *buf = (char *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_SELECT, 12 * n + 8 * nk, error);
  if (buf == NULL)
    return FALSE;
  int32_t *d_force = force ? (int32_t *)buf : NULL;
  float *d_margin = margin ? (float *)(buf + 4 * n) : NULL;
  float *d_bias = bias ? (float *)(buf + 8 * n) : NULL;
  float *d_val = (float *)(buf + 12 * n);
  int32_t *d_idx = (int32_t *)(buf + 12 * n + 4 * nk);
  if ((force &&
       !ufo_cuda_upload_bytes(cu, d_force, force, 4 * n, "log_softmax_topk: force", error)) ||
      (margin &&
       !ufo_cuda_upload_bytes(cu, d_margin, margin, 4 * n, "log_softmax_topk: margin", error)) ||
      (bias && !ufo_cuda_upload_bytes(cu, d_bias, bias, 4 * n, "log_softmax_topk: bias", error)))
    return FALSE;
  unsigned grid = (unsigned)MIN(x.rows, (int64_t)8 * cu->grid_cap);
  UFO_LAUNCH(topk_kernel, grid, THREADS, 0, cu->stream, ufo_cuda_ptr(x), x.ld, x.rows, x.cols,
             temperature, d_force, d_margin, d_bias, k, d_val, d_idx);
  if (!ufo_cuda_launched("log_softmax_topk: topk_kernel", error))
    return FALSE;
  return ufo_cuda_ok(cudaMemcpyAsync(val, d_val, 4 * nk, cudaMemcpyDeviceToHost, cu->stream),
                     "log_softmax_topk: val", error) &&
         ufo_cuda_ok(cudaMemcpyAsync(idx, d_idx, 4 * nk, cudaMemcpyDeviceToHost, cu->stream),
                     "log_softmax_topk: idx", error) &&
         ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "log_softmax_topk", error);
}

} /* namespace UFO_CUDA_NS */
