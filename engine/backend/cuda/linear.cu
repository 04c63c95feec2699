/* The linear layer of few rows, fused (backend.h UfoLinear; nn/layer.c; inference §5.1):
 *   y = act(LN(x) · W^T + bias) + beta · y
 * in ONE kernel for decode steps (≤ LIN_ROWS rows) at precision bf16, where a step's GEMMs are
 * a weight stream: each weight element is read once and used by every row, the rows' LN and
 * bf16 rounding happen on the way in, bias, GELU and the residual on the way out. Composed, the
 * same linear is up to six launches (layer_norm, to_bf16 and a cuBLASLt call per destination,
 * gelu); one launch per op costs more than streaming the weights at these row counts
 * (docs/performance.md §6). Every other linear (more rows, fp32) is composed by backend.c.
 *
 * Semantics are those of the composed ops at bf16 (gemm.cu, gemm_bf16.c): LN in float32 (the
 * two sums of layer_norm_kernel, in its order: its mean and 1/sqrt, hence the same LN values),
 * LN(x) rounded to bf16 (round to nearest even), the weight's bf16 copy (gemm.cu, shared with
 * the composed path), products accumulated in float32 (the order of the sums differs from
 * cuBLASLt's), then bias, GELU (gelu_kernel's formula), beta · y.
 *
 * Mapping: a block of LIN_WARPS warps computes tiles of LIN_BLOCK_COLS output columns (grid-stride
 * over the tiles, the grid capped at cu->grid_cap), LIN_COLS per warp; a warp's lanes split K in
 * 8-element chunks, so a warp reads LIN_COLS weight rows as contiguous 16-byte loads (coalesced)
 * and the rows' x from L1 (every warp of the block reads the same x). The lanes' partial sums meet
 * in shared memory and are added in lane order (deterministic; no shuffle per output). Not yet
 * timed on a GPU. */
#include "cuda_priv.h"

#include <math.h>
#include <string.h>

namespace UFO_CUDA_NS
{

#define LIN_ROWS 16 /* most rows fused (decode steps: live rows after the first steps) */
#define LIN_WARPS 4
#define LIN_COLS 4 /* output columns per warp */
#define LIN_BLOCK_COLS (LIN_WARPS * LIN_COLS)
#define LIN_CHUNK 8 /* K elements per lane and step: one 16-byte load of bf16 */

typedef struct {
  const float *x;
  int64_t ldx;
  const float *ln_w, *ln_b; /* NULL: no LN */
  float eps;
  const __nv_bfloat16 *w0, *w1; /* bf16 copies of the weight rows of y and of y2 */
  int64_t ldw0, ldw1;
  const float *bias; /* (n) or NULL */
  float *y0, *y1;
  int64_t ldy0, ldy1;
  int64_t m, n0, n, k; /* rows; columns of y (n0) and in all (n); K */
  float beta;
  int gelu;
} LinearArgs;

#ifdef UFO_CUDA_EMU
/* The pointer fields, for the emulation's launch check (emu_runtime.h). */
template <class F> static inline void ufo_emu_pointers(const LinearArgs &a, F &&field)
{
  field(a.x, "x", -1);
  field(a.ln_w, "ln_w", -1);
  field(a.ln_b, "ln_b", -1);
  field(a.w0, "w0", -1);
  field(a.w1, "w1", -1);
  field(a.bias, "bias", -1);
  field(a.y0, "y0", -1);
  field(a.y1, "y1", -1);
}
#endif

__device__ __forceinline__ float lin_warp_sum(float v)
{
  for (int o = 16; o > 0; o >>= 1)
    v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

/* Weights of column n at k0.. (kn of them, the rest 0): one 16-byte load for a whole chunk. */
__device__ __forceinline__ void load_weights(float *wv, const __nv_bfloat16 *row, int64_t k0,
                                             int kn)
{
  if (row == NULL) {
    for (int i = 0; i < LIN_CHUNK; i++)
      wv[i] = 0.f;
  } else if (kn == LIN_CHUNK) { /* rows of ufo_cuda_bf16_ld(K): 16-byte aligned chunks */
    uint4 u = *(const uint4 *)(row + k0);
    const __nv_bfloat162 *h = (const __nv_bfloat162 *)&u;
    for (int i = 0; i < LIN_CHUNK / 2; i++) {
      wv[2 * i] = __low2float(h[i]);
      wv[2 * i + 1] = __high2float(h[i]);
    }
  } else { /* the last chunk of a K that is not a multiple of 8: never the padding */
    for (int i = 0; i < LIN_CHUNK; i++)
      wv[i] = i < kn ? __bfloat162float(row[k0 + i]) : 0.f;
  }
}

__global__ void __launch_bounds__(LIN_WARPS * 32) linear_rows_kernel(LinearArgs a)
{
  UFO_SHARED(float, mean_s, [LIN_ROWS]);
  UFO_SHARED(float, inv_s, [LIN_ROWS]);
  UFO_SHARED(float, part, [LIN_WARPS][LIN_ROWS][LIN_COLS][32]);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  /* §5.1 LN statistics of each row, as layer_norm_kernel computes them (same sums, same order) */
  if (a.ln_w) {
    for (int64_t r = warp; r < a.m; r += LIN_WARPS) {
      const float *xr = a.x + r * a.ldx;
      float s = 0.f;
      for (int64_t c = lane; c < a.k; c += 32)
        s += xr[c];
      float mean = lin_warp_sum(s) / (float)a.k;
      float v = 0.f;
      for (int64_t c = lane; c < a.k; c += 32) {
        float d = xr[c] - mean;
        v += d * d;
      }
      float inv = 1.f / sqrtf(lin_warp_sum(v) / (float)a.k + a.eps); /* eps inside the sqrt */
      if (lane == 0) {
        mean_s[r] = mean;
        inv_s[r] = inv;
      }
    }
  }
  __syncthreads();

  /* registers on the GPU; declared once here, not per loop iteration (the emulation's
   * sanitizer re-poisons block-scope arrays at every iteration) */
  const __nv_bfloat16 *wrow[LIN_COLS];
  float acc[LIN_ROWS][LIN_COLS], wv[LIN_COLS][LIN_CHUNK], lw[LIN_CHUNK], lb[LIN_CHUNK];
  /* column tiles of LIN_BLOCK_COLS, grid-stride (the grid is capped: cu->grid_cap) */
  const int64_t tiles = (a.n + LIN_BLOCK_COLS - 1) / LIN_BLOCK_COLS;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t col0 = tile * LIN_BLOCK_COLS + warp * LIN_COLS;
    for (int j = 0; j < LIN_COLS; j++) {
      const int64_t n = col0 + j;
      wrow[j] = n < a.n0 ? a.w0 + n * a.ldw0 : n < a.n ? a.w1 + (n - a.n0) * a.ldw1 : NULL;
    }
    for (int r = 0; r < LIN_ROWS; r++)
      for (int j = 0; j < LIN_COLS; j++)
        acc[r][j] = 0.f;
    for (int64_t k0 = (int64_t)lane * LIN_CHUNK; k0 < a.k; k0 += 32 * LIN_CHUNK) {
      const int kn = (int)(a.k - k0 < LIN_CHUNK ? a.k - k0 : LIN_CHUNK);
      for (int j = 0; j < LIN_COLS; j++)
        load_weights(wv[j], wrow[j], k0, kn);
      if (a.ln_w) {
        UFO_UNROLL
        for (int i = 0; i < LIN_CHUNK; i++) {
          lw[i] = i < kn ? a.ln_w[k0 + i] : 0.f;
          lb[i] = i < kn ? a.ln_b[k0 + i] : 0.f;
        }
      }
      UFO_UNROLL
      for (int r = 0; r < LIN_ROWS; r++) {
        if (r < a.m) {
          const float *xr = a.x + r * a.ldx + k0;
          UFO_UNROLL
          for (int i = 0; i < LIN_CHUNK; i++) {
            /* past K: x 0 against weights 0 (the sums unchanged) */
            float v = i < kn ? xr[i] : 0.f;
            if (a.ln_w) /* layer_norm_kernel's formula (lw, lb 0 past K) */
              v = (v - mean_s[r]) * inv_s[r] * lw[i] + lb[i];
            v = __bfloat162float(__float2bfloat16_rn(v)); /* A rounded as gemm.cu's to_bf16 */
            UFO_UNROLL
            for (int j = 0; j < LIN_COLS; j++)
              acc[r][j] = fmaf(v, wv[j][i], acc[r][j]);
          }
        }
      }
    }
    for (int r = 0; r < LIN_ROWS; r++)
      if (r < a.m)
        for (int j = 0; j < LIN_COLS; j++)
          part[warp][r][j][lane] = acc[r][j];
    __syncthreads();

    /* each (row, column) of the tile: its lanes' sums in lane order, then the epilogue */
    for (int i = threadIdx.x; i < LIN_ROWS * LIN_BLOCK_COLS; i += LIN_WARPS * 32) {
      const int r = i / LIN_BLOCK_COLS, c = i % LIN_BLOCK_COLS, w = c / LIN_COLS, j = c % LIN_COLS;
      const int64_t n = tile * LIN_BLOCK_COLS + c;
      if (r >= a.m || n >= a.n)
        continue;
      float s = 0.f;
      for (int l = 0; l < 32; l++)
        s += part[w][r][j][l];
      if (a.bias)
        s += a.bias[n];
      if (a.gelu) /* §5.1: exact erf GELU, gelu_kernel's formula */
        s = s * 0.5f * (1.f + erff(s * 0.70710678118654752f));
      float *out = n < a.n0 ? a.y0 + r * a.ldy0 + n : a.y1 + r * a.ldy1 + (n - a.n0);
      *out = a.beta != 0.f ? s + *out : s; /* beta 0 never reads y */
    }
    __syncthreads(); /* part is rewritten by the next tile */
  }
}

/* What the kernel fuses: precision bf16 (the rounding it applies), few rows; x, the weight and
 * the outputs in any strides. */
gboolean ufo_cuda_linear_fuses(const UfoCuda *cu, const UfoLinear *p)
{
  return cu->precision == UFO_PRECISION_BF16 && p->w.t->weight && p->x.rows <= LIN_ROWS &&
         p->x.rows >= 1;
}

gboolean ufo_cuda_linear(UfoCuda *cu, const UfoLinear *p, GError **error)
{
  const int64_t n0 = p->y.cols, n = p->w.rows, k = p->x.cols;
  /* the weight rows of each destination: the same bf16 copies as the composed GEMMs' */
  const __nv_bfloat16 *w0 = ufo_cuda_weight_bf16(cu, ufo_view_sub(p->w, 0, 0, n0, k), error);
  const __nv_bfloat16 *w1 =
      w0 && p->y2.t ? ufo_cuda_weight_bf16(cu, ufo_view_sub(p->w, n0, 0, n - n0, k), error) : NULL;
  if (w0 == NULL || (p->y2.t && w1 == NULL))
    return FALSE;
  LinearArgs a;
  memset(&a, 0, sizeof a);
  a.x = ufo_cuda_ptr(p->x);
  a.ldx = p->x.ld;
  if (p->ln_w.t) {
    a.ln_w = ufo_cuda_ptr(p->ln_w);
    a.ln_b = ufo_cuda_ptr(p->ln_b);
  }
  a.eps = p->ln_eps;
  a.w0 = w0;
  a.w1 = w1;
  a.ldw0 = a.ldw1 = ufo_cuda_bf16_ld(k);
  a.bias = p->bias.t ? ufo_cuda_ptr(p->bias) : NULL;
  a.y0 = ufo_cuda_ptr(p->y);
  a.ldy0 = p->y.ld;
  if (p->y2.t) {
    a.y1 = ufo_cuda_ptr(p->y2);
    a.ldy1 = p->y2.ld;
  }
  a.m = p->x.rows;
  a.n0 = n0;
  a.n = n;
  a.k = k;
  a.beta = p->beta;
  a.gelu = p->gelu;
  const int64_t tiles = (n + LIN_BLOCK_COLS - 1) / LIN_BLOCK_COLS;
  const unsigned blocks = (unsigned)MIN(tiles, (int64_t)cu->grid_cap);
  UFO_LAUNCH(linear_rows_kernel, blocks, LIN_WARPS * 32, 0, cu->stream, a);
  return ufo_cuda_launched("linear: linear_rows_kernel", error);
}

} /* namespace UFO_CUDA_NS */
