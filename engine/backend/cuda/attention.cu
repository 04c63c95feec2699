/* Multi-head softmax attention on the GPU (backend.h UfoAttention, inference §5.1), fp32:
 *   out = softmax(q·K^T * scale + mask + relpos) · V   per (group, head),
 * keys = the segments in order, then (self_key) the query row's own key/value.
 *
 * Two flash-style kernels (and a split of the work between them) with an online softmax in
 * fp32, never an N×N score or bias matrix in memory (4,900 tokens at 1120²):
 *  - attn_tile_kernel: one block = 64 queries of one (group, head), 128 threads; 64-key tiles of
 *    K^T and V staged in shared memory and shared by the block's queries; each thread owns a
 *    4x8 block of the score tile and 4 rows x d/8 columns of the output accumulator; the
 *    rel-pos terms q·Rh[·] and q·Rw[·] of the block's queries (unscaled q) are computed once
 *    into shared memory and added to the scaled scores.
 *  - attn_row_kernel: one block = one query row of one head (decode: group_q 1, hundreds of
 *    groups); 16 teams of 8 lanes split the keys, each lane holds d/8 columns of q and of its
 *    partial accumulator; the teams' partial (max, sum, acc) are merged at the end.
 *  - split (decode with keys shared by every group, e.g. the image keys): the shared segments go
 *    through the tile kernel with all groups' rows as one group, then the row kernel adds the
 *    per-group segments and the own key starting from that partial softmax.
 * Masked scores (-inf) contribute exp = 0 as in ufo_cpu_attention_ref; a row whose every key
 * is masked gives 0/0 = NaN like the reference. expf (not __expf) keeps the f32 results within
 * rel. L2 1e-5 of the double-precision reference. */
#include "cuda_priv.h"

/* Unrolled loops keep the per-thread tiles in registers (nvcc); the host build ignores them. */
#ifdef UFO_CUDA_EMU
#define ATT_UNROLL
#define ATT_UNROLL4
#else
#define ATT_UNROLL _Pragma("unroll")
#define ATT_UNROLL4 _Pragma("unroll 4")
#endif

namespace UFO_CUDA_NS
{

#include "attention_args.cuh"

#define ATT_MAX_HEAD_DIM 128
#define ATT_ROW_MAX_Q 8 /* groups of at most this many queries go row by row */

/* tile kernel geometry */
#define TQ 64        /* queries per block */
#define TK 64        /* keys per tile */
#define TPAD 68      /* row stride of the transposed Q, K and P tiles (16-byte aligned) */
#define TTHREADS 128 /* 16 row groups (4 rows each) x 8 column lanes */

/* row kernel geometry */
#define RTHREADS 128
#define RTEAMS (RTHREADS / 8) /* teams of 8 lanes, one key at a time each */

/* AttSeg, AttArgs: attention_args.cuh */

/* Online softmax step (inference §5.1 softmax, streamed): folds a block maximum into the
 * running maximum; returns the factor that rescales the old sum and accumulator. */
static __device__ __forceinline__ float att_rescale(float *m, float block_max)
{
  float m_new = fmaxf(*m, block_max);
  /* nothing unmasked yet (m_new -inf): sum and accumulator are 0, keep them */
  float corr = m_new == -INFINITY ? 1.f : expf(*m - m_new);
  *m = m_new;
  return corr;
}

/* exp(s - m) with a masked score (-inf) giving 0, as the reference */
static __device__ __forceinline__ float att_weight(float s, float m)
{
  return s == -INFINITY ? 0.f : expf(s - m);
}

/* ---- tile kernel: blocks of 64 queries of one (group, head) ---- */

template <int DMAX> static __global__ __launch_bounds__(TTHREADS) void attn_tile_kernel(AttArgs a)
{
  UFO_DYN_SMEM(float, sm);
  float *qs = sm;                       /* [DMAX][TPAD]: Q^T of the block's queries (zero padded) */
  float *ks = qs + DMAX * TPAD;         /* [DMAX][TPAD]: K^T of the key tile */
  float *vs = ks + DMAX * TPAD;         /* [TK][DMAX]: V of the key tile */
  float *ps = vs + TK * DMAX;           /* [TK][TPAD]: P^T, softmax weights of the tile */
  float *bias = ps + TK * TPAD;         /* [TK]: mask (0 if none; -inf past the segment's end) */
  int *kyx = (int *)(bias + TK);        /* [TK][2]: (key row, key column) in the rel-pos region */
  float *rht = (float *)(kyx + 2 * TK); /* [TQ][rel_h]: q·Rh[qi - ky + rel_h - 1] */
  float *rwt = rht + TQ * a.rel_h;      /* [TQ][rel_w]: q·Rw[qj - kx + rel_w - 1] */

  const int tid = threadIdx.x, tx = tid & 7, ty = tid >> 3;
  const int d = a.d, h = blockIdx.y;
  const int ntiles = (a.group_q + TQ - 1) / TQ;
  const int g = blockIdx.x / ntiles;
  const int q0 = (blockIdx.x % ntiles) * TQ;            /* first query of the block in the group */
  const int nq = min(TQ, a.group_q - q0);               /* queries of the block */
  const long long row0 = (long long)g * a.group_q + q0; /* its first row of q/out */
  const int hd = h * d;                                 /* the head's first column */

  /* Q^T, zero beyond the block's queries and beyond d */
  for (int e = tid; e < TQ * DMAX; e += TTHREADS) {
    int i = e / DMAX, l = e % DMAX;
    qs[l * TPAD + i] = i < nq && l < d ? a.q[(row0 + i) * a.ldq + hd + l] : 0.f;
  }
  __syncthreads();

  /* inference §5.1 decomposed rel-pos: per query (qi, qj) of the region and every key row ky /
   * key column kx, q·Rh[qi - ky + rel_h - 1] and q·Rw[qj - kx + rel_w - 1] with the UNSCALED q */
  if (a.has_rel) {
    for (int e = tid; e < TQ * (a.rel_h + a.rel_w); e += TTHREADS) {
      int i = e / (a.rel_h + a.rel_w), k = e % (a.rel_h + a.rel_w);
      int qidx = q0 + i;
      float s = 0.f;
      if (i < nq) {
        const float *r =
            k < a.rel_h ? a.rh + (long long)(qidx / a.rel_w - k + a.rel_h - 1) * a.ldrh
                        : a.rw + (long long)(qidx % a.rel_w - (k - a.rel_h) + a.rel_w - 1) * a.ldrw;
        for (int l = 0; l < d; l++)
          s = fmaf(qs[l * TPAD + i], __ldg(r + l), s);
      }
      if (k < a.rel_h)
        rht[i * a.rel_h + k] = s;
      else
        rwt[i * a.rel_w + k - a.rel_h] = s;
    }
  }

  /* running max / sum of the thread's 4 rows, accumulator 4 rows x (DMAX/32 chunks of 4) */
  const int NC = DMAX / 32;
  float m[4], lsum[4], acc[4][NC][4];
  ATT_UNROLL
  for (int r = 0; r < 4; r++) {
    m[r] = -INFINITY;
    lsum[r] = 0.f;
    ATT_UNROLL
    for (int c = 0; c < NC; c++)
      ATT_UNROLL
    for (int e = 0; e < 4; e++)
      acc[r][c][e] = 0.f;
  }
  const int d4 = (d + 3) & ~3; /* Q and K are zero padded to DMAX */

  for (int si = 0; si < a.n_segs; si++) {
    const AttSeg sg = a.seg[si];
    if (sg.self)
      continue; /* the own key is folded in after the shared tiles */
    const float *kb = sg.k + (long long)g * sg.gstride * sg.ldk + hd;
    const float *vb = sg.v + (long long)g * sg.gstride * sg.ldv + hd;
    for (long long k0 = 0; k0 < sg.n; k0 += TK) {
      const int nk = (int)min((long long)TK, sg.n - k0);
      __syncthreads(); /* the previous tile's K, V, P are consumed */
      for (int e = tid; e < TK * DMAX; e += TTHREADS) {
        int j = e / DMAX, l = e % DMAX;
        gboolean in = j < nk && l < d;
        ks[l * TPAD + j] = in ? kb[(k0 + j) * sg.ldk + l] : 0.f;
        vs[j * DMAX + l] = in ? vb[(k0 + j) * sg.ldv + l] : 0.f;
      }
      if (tid < TK) {
        long long kk = k0 + tid;
        bias[tid] = tid >= nk ? -INFINITY : sg.mask ? sg.mask[kk] : 0.f;
        kyx[2 * tid] = sg.rel ? (int)(kk / a.rel_w) : 0; /* key (ky, kx), row-major region */
        kyx[2 * tid + 1] = sg.rel ? (int)(kk % a.rel_w) : 0;
      }
      __syncthreads();

      /* scores of rows ty*4+r, keys tx*4+c and 32+tx*4+c: q·k */
      float s[4][8];
      ATT_UNROLL
      for (int r = 0; r < 4; r++)
        ATT_UNROLL
      for (int c = 0; c < 8; c++)
        s[r][c] = 0.f;
      ATT_UNROLL4
      for (int l = 0; l < d4; l++) {
        float4 qv = *(const float4 *)&qs[l * TPAD + ty * 4];
        float4 k0v = *(const float4 *)&ks[l * TPAD + tx * 4];
        float4 k1v = *(const float4 *)&ks[l * TPAD + 32 + tx * 4];
        float qr[4] = {qv.x, qv.y, qv.z, qv.w};
        float kc[8] = {k0v.x, k0v.y, k0v.z, k0v.w, k1v.x, k1v.y, k1v.z, k1v.w};
        ATT_UNROLL
        for (int r = 0; r < 4; r++)
          ATT_UNROLL
        for (int c = 0; c < 8; c++)
          s[r][c] = fmaf(qr[r], kc[c], s[r][c]);
      }

      /* s = q·k * scale + mask + rel-pos (inference §5.1), then the online softmax per row */
      ATT_UNROLL
      for (int r = 0; r < 4; r++) {
        int i = ty * 4 + r;
        float mx = -INFINITY;
        ATT_UNROLL
        for (int c = 0; c < 8; c++) {
          int j = (c < 4 ? 0 : 32) + tx * 4 + (c & 3);
          float v = s[r][c] * a.scale + bias[j];
          if (sg.rel)
            v += rht[i * a.rel_h + kyx[2 * j]] + rwt[i * a.rel_w + kyx[2 * j + 1]];
          s[r][c] = v;
          mx = fmaxf(mx, v);
        }
        /* the row's 8 lanes are consecutive lanes of one warp */
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
        mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 4));
        float corr = att_rescale(&m[r], mx);
        float ts = 0.f;
        ATT_UNROLL
        for (int c = 0; c < 8; c++) {
          int j = (c < 4 ? 0 : 32) + tx * 4 + (c & 3);
          float p = att_weight(s[r][c], m[r]);
          ps[j * TPAD + i] = p;
          ts += p;
        }
        ts += __shfl_xor_sync(0xffffffffu, ts, 1);
        ts += __shfl_xor_sync(0xffffffffu, ts, 2);
        ts += __shfl_xor_sync(0xffffffffu, ts, 4);
        lsum[r] = lsum[r] * corr + ts;
        ATT_UNROLL
        for (int c = 0; c < NC; c++)
          ATT_UNROLL
        for (int e = 0; e < 4; e++)
          acc[r][c][e] *= corr;
      }
      /* the P rows a thread reads were written by its own warp */
      __syncwarp(0xffffffffu);

      /* acc += P · V over the tile's keys; columns c*32 + tx*4 + e */
      for (int j = 0; j < nk; j++) {
        float4 pv = *(const float4 *)&ps[j * TPAD + ty * 4];
        float pr[4] = {pv.x, pv.y, pv.z, pv.w};
        ATT_UNROLL
        for (int c = 0; c < NC; c++) {
          float4 vv = *(const float4 *)&vs[j * DMAX + c * 32 + tx * 4];
          float vc[4] = {vv.x, vv.y, vv.z, vv.w};
          ATT_UNROLL
          for (int r = 0; r < 4; r++)
            ATT_UNROLL
          for (int e = 0; e < 4; e++)
            acc[r][c][e] = fmaf(pr[r], vc[e], acc[r][c][e]);
        }
      }
    }
  }

  /* the own key of each query row (self_key): q·k_self * scale, no mask, no rel-pos */
  const gboolean has_self = a.n_segs > 0 && a.seg[a.n_segs - 1].self;
  const AttSeg self = a.seg[has_self ? a.n_segs - 1 : 0];
  ATT_UNROLL
  for (int r = 0; r < 4; r++) {
    int i = ty * 4 + r;
    gboolean live = i < nq;
    long long row = row0 + i;
    if (has_self) {
      float s = 0.f;
      for (int l = tx; l < d; l += 8)
        s = fmaf(qs[l * TPAD + i], live ? self.k[row * self.ldk + hd + l] : 0.f, s);
      s += __shfl_xor_sync(0xffffffffu, s, 1);
      s += __shfl_xor_sync(0xffffffffu, s, 2);
      s += __shfl_xor_sync(0xffffffffu, s, 4);
      s *= a.scale;
      float corr = att_rescale(&m[r], s);
      float p = att_weight(s, m[r]);
      lsum[r] = lsum[r] * corr + p;
      ATT_UNROLL
      for (int c = 0; c < NC; c++)
        ATT_UNROLL
      for (int e = 0; e < 4; e++) {
        int l = c * 32 + tx * 4 + e;
        float v = live && l < d ? self.v[row * self.ldv + hd + l] : 0.f;
        acc[r][c][e] = fmaf(p, v, acc[r][c][e] * corr);
      }
    }
    if (live && a.ml_mode == 1) { /* partial: the shared keys' state, normalised */
      if (tx == 0) {
        a.ml[(row * a.n_heads + h) * 2] = m[r];
        a.ml[(row * a.n_heads + h) * 2 + 1] = lsum[r];
      }
      float inv = lsum[r] == 0.f ? 0.f : 1.f / lsum[r];
      ATT_UNROLL
      for (int c = 0; c < NC; c++)
        ATT_UNROLL
      for (int e = 0; e < 4; e++) {
        int l = c * 32 + tx * 4 + e;
        if (l < d)
          a.out[row * a.ldo + hd + l] = acc[r][c][e] * inv;
      }
    } else if (live) {
      float inv = 1.f / lsum[r];
      ATT_UNROLL
      for (int c = 0; c < NC; c++)
        ATT_UNROLL
      for (int e = 0; e < 4; e++) {
        int l = c * 32 + tx * 4 + e;
        if (l < d)
          a.out[row * a.ldo + hd + l] = lsum[r] == 0.f ? NAN : acc[r][c][e] * inv; /* ref 0/0 */
      }
    }
  }
}

/* ---- row kernel: one query row of one head per block (decode) ---- */

template <int DPL> static __global__ __launch_bounds__(RTHREADS) void attn_row_kernel(AttArgs a)
{
  UFO_DYN_SMEM(float, rel); /* [rel_h + rel_w]: q·Rh[qi - ky + rel_h - 1], q·Rw[...] */
  UFO_SHARED(float, mrg, [RTEAMS][DPL * 8 + 2]); /* per team: acc, max, sum */

  const int tid = threadIdx.x, t = tid & 7, team = tid >> 3, warp = tid >> 5, lane = tid & 31;
  const int d = a.d, hd = blockIdx.y * d;
  const long long row = blockIdx.x; /* = g * group_q + qi */
  const int g = (int)(row / a.group_q), qi = (int)(row % a.group_q);
  const float *qrow = a.q + row * a.ldq + hd;

  /* lane t of a team holds columns t + 8c */
  float qv[DPL], acc[DPL];
  ATT_UNROLL
  for (int c = 0; c < DPL; c++) {
    int l = t + 8 * c;
    qv[c] = l < d ? qrow[l] : 0.f;
    acc[c] = 0.f;
  }

  /* inference §5.1 rel-pos terms of this query, unscaled q; one warp per table row */
  if (a.has_rel) {
    for (int k = warp; k < a.rel_h + a.rel_w; k += RTHREADS / 32) {
      const float *r =
          k < a.rel_h ? a.rh + (long long)(qi / a.rel_w - k + a.rel_h - 1) * a.ldrh
                      : a.rw + (long long)(qi % a.rel_w - (k - a.rel_h) + a.rel_w - 1) * a.ldrw;
      float s = 0.f;
      for (int l = lane; l < d; l += 32)
        s = fmaf(qrow[l], __ldg(r + l), s);
      ATT_UNROLL
      for (int o = 16; o > 0; o >>= 1)
        s += __shfl_xor_sync(0xffffffffu, s, o);
      if (lane == 0)
        rel[k] = s;
    }
    __syncthreads();
  }

  float m = -INFINITY, lsum = 0.f;
  if (a.ml_mode == 2 && team == 0) { /* resume from the shared keys' partial softmax */
    m = a.ml[(row * a.n_heads + blockIdx.y) * 2];
    lsum = a.ml[(row * a.n_heads + blockIdx.y) * 2 + 1];
    ATT_UNROLL
    for (int c = 0; c < DPL; c++) {
      int l = t + 8 * c;
      acc[c] = l < d ? a.out[row * a.ldo + hd + l] * lsum : 0.f;
    }
  }
  for (int si = 0; si < a.n_segs; si++) {
    const AttSeg sg = a.seg[si];
    long long krow = sg.self ? row : (long long)g * sg.gstride; /* the group's first key row */
    const float *kb = sg.k + krow * sg.ldk + hd, *vb = sg.v + krow * sg.ldv + hd;
    /* this query's keys (backend.h UfoAttnKeys.causal): the same for the whole block */
    const long long n = sg.causal ? sg.n - (a.group_q - 1 - qi) : sg.n;
    long long rounds = (n + RTEAMS - 1) / RTEAMS; /* same trip count for every lane */
    for (long long rd = 0; rd < rounds; rd++) {
      long long kk = rd * RTEAMS + team;
      gboolean valid = kk < n;
      const float *kr = kb + (valid ? kk : 0) * sg.ldk;
      float s = 0.f;
      ATT_UNROLL
      for (int c = 0; c < DPL; c++) {
        int l = t + 8 * c;
        if (l < d)
          s = fmaf(qv[c], kr[l], s);
      }
      s += __shfl_xor_sync(0xffffffffu, s, 1);
      s += __shfl_xor_sync(0xffffffffu, s, 2);
      s += __shfl_xor_sync(0xffffffffu, s, 4);
      if (!valid)
        continue;
      /* s = q·k * scale + mask + rel-pos (inference §5.1) */
      s *= a.scale;
      if (sg.mask)
        s += sg.mask[kk];
      if (sg.rel)
        s += rel[kk / a.rel_w] + rel[a.rel_h + kk % a.rel_w];
      if (s == -INFINITY)
        continue; /* weight 0 */
      float corr = att_rescale(&m, s);
      float p = expf(s - m);
      lsum = lsum * corr + p;
      const float *vr = vb + kk * sg.ldv;
      ATT_UNROLL
      for (int c = 0; c < DPL; c++) {
        int l = t + 8 * c;
        acc[c] = fmaf(p, l < d ? vr[l] : 0.f, acc[c] * corr);
      }
    }
  }

  /* merge the teams' partial softmaxes: weights exp(m_team - M) */
  ATT_UNROLL
  for (int c = 0; c < DPL; c++)
    mrg[team][t + 8 * c] = acc[c];
  if (t == 0) {
    mrg[team][DPL * 8] = m;
    mrg[team][DPL * 8 + 1] = lsum;
  }
  __syncthreads();
  float mx = -INFINITY;
  for (int k = 0; k < RTEAMS; k++)
    mx = fmaxf(mx, mrg[k][DPL * 8]);
  for (int l = tid; l < d; l += RTHREADS) {
    float num = 0.f, den = 0.f;
    for (int k = 0; k < RTEAMS; k++) {
      float w = att_weight(mrg[k][DPL * 8], mx); /* a team with no unmasked key: 0 */
      num = fmaf(w, mrg[k][l], num);
      den = fmaf(w, mrg[k][DPL * 8 + 1], den);
    }
    a.out[row * a.ldo + hd + l] = den == 0.f ? NAN : num / den; /* all masked: ref's 0/0 */
  }
}

/* ---- host side ---- */

/* Raises the kernel's dynamic shared memory limit above the 48 KiB default when needed; an
 * amount over the device's opt-in maximum is an UNSUPPORTED error naming both. The limit is the
 * device's maximum, never just this launch's amount: it is one attribute per kernel, shared by
 * every session's thread and read again when a graph replays an earlier launch, so a later
 * call with less must not lower it under an earlier one (occupancy follows the launch's own
 * amount, not this limit). */
template <typename K>
static gboolean att_smem(UfoCuda *cu, K kernel, size_t bytes, const char *name, const AttArgs *a,
                         GError **error)
{
  if (bytes <= 48 * 1024)
    return TRUE;
  if (bytes > cu->smem_optin) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "%s: needs %zu bytes of shared memory, the device allows %zu (head_dim %d, "
                "rel-pos region %dx%d)",
                name, bytes, cu->smem_optin, a->d, a->rel_h, a->rel_w);
    return FALSE;
  }
  return ufo_cuda_ok(cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                          (int)cu->smem_optin),
                     name, error);
}

template <int DMAX> static gboolean att_launch_tile(UfoCuda *cu, const AttArgs *a, GError **error)
{
  size_t floats = 2 * (size_t)DMAX * TPAD + (size_t)TK * DMAX + (size_t)TK * TPAD + 3 * TK;
  if (a->has_rel)
    floats += (size_t)TQ * (a->rel_h + a->rel_w);
  size_t bytes = floats * sizeof(float);
  if (!att_smem(cu, attn_tile_kernel<DMAX>, bytes, "attn_tile_kernel", a, error))
    return FALSE;
  int ntiles = (a->group_q + TQ - 1) / TQ;
  dim3 grid((unsigned)((long long)ntiles * a->n_groups), (unsigned)a->n_heads);
  UFO_LAUNCH((attn_tile_kernel<DMAX>), grid, dim3(TTHREADS), bytes, cu->stream, *a);
  return ufo_cuda_launched("attn_tile_kernel", error);
}

template <int DPL> static gboolean att_launch_row(UfoCuda *cu, const AttArgs *a, GError **error)
{
  size_t bytes = a->has_rel ? (size_t)(a->rel_h + a->rel_w) * sizeof(float) : 0;
  if (!att_smem(cu, attn_row_kernel<DPL>, bytes, "attn_row_kernel", a, error))
    return FALSE;
  dim3 grid((unsigned)((long long)a->n_groups * a->group_q), (unsigned)a->n_heads);
  UFO_LAUNCH((attn_row_kernel<DPL>), grid, dim3(RTHREADS), bytes, cu->stream, *a);
  return ufo_cuda_launched("attn_row_kernel", error);
}

/* The kernels' view of the operands: the own key (self_key) as a last segment. */
static AttArgs att_args(const UfoAttention *p)
{
  AttArgs a = att_operands(p);
  if (a.self_k) {
    AttSeg sg = {a.self_k, a.self_v, NULL, a.ldsk, a.ldsv, 1, 0, 0, 1, 0};
    a.seg[a.n_segs++] = sg;
  }
  return a;
}

static gboolean att_tile(UfoCuda *cu, const AttArgs *a, GError **error)
{
  return a->d <= 32   ? att_launch_tile<32>(cu, a, error)
         : a->d <= 64 ? att_launch_tile<64>(cu, a, error)
                      : att_launch_tile<128>(cu, a, error);
}

static gboolean att_row(UfoCuda *cu, const AttArgs *a, GError **error)
{
  return a->d <= 32   ? att_launch_row<4>(cu, a, error)
         : a->d <= 64 ? att_launch_row<8>(cu, a, error)
                      : att_launch_row<16>(cu, a, error);
}

/* Few queries per group with keys shared by every group (decode over the image or text keys):
 * the shared segments go through the tile kernel with all groups' rows as one group (each key
 * tile read once per 64 rows instead of once per row), the per-group segments and the own key
 * through the row kernel, which resumes from the partial softmax (max, sum in scratch, the
 * normalised partial output in out). Softmax is order-free, so regrouping the keys is exact up
 * to rounding. */
static gboolean att_split(UfoCuda *cu, const AttArgs *a, GError **error)
{
  AttArgs sh = *a, rest = *a;
  sh.n_segs = rest.n_segs = 0;
  for (int s = 0; s < a->n_segs; s++) {
    const AttSeg *sg = &a->seg[s];
    if (sg->gstride == 0 && !sg->rel && !sg->self && !sg->causal)
      sh.seg[sh.n_segs++] = *sg;
    else
      rest.seg[rest.n_segs++] = *sg;
  }
  long long rows = (long long)a->n_groups * a->group_q;
  sh.group_q = (int)rows;
  sh.n_groups = 1;
  sh.has_causal = 0;
  if (rest.n_segs == 0) /* nothing per group: one pass */
    return att_tile(cu, &sh, error);
  float *ml = (float *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_TEMP,
                                        (size_t)rows * a->n_heads * 2 * sizeof(float), error);
  if (!ml)
    return FALSE;
  sh.ml = rest.ml = ml;
  sh.ml_mode = 1;
  rest.ml_mode = 2;
  return att_tile(cu, &sh, error) && att_row(cu, &rest, error);
}

/* Shared keys worth a tile pass: at least this many rows read them. */
#define ATT_SPLIT_MIN_ROWS 16

/* path: 0 = by shape, 1 = tile kernel, 2 = row kernel, 3 = split (tests cover each path) */
static gboolean att_run(UfoCuda *cu, const UfoAttention *p, int path, GError **error)
{
  if (p->head_dim < 1 || p->head_dim > ATT_MAX_HEAD_DIM) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "attention: head_dim %d not in 1..%d",
                p->head_dim, ATT_MAX_HEAD_DIM);
    return FALSE;
  }
  long long rows = (long long)p->n_groups * p->group_q;
  if (rows == 0 || p->n_heads == 0)
    return TRUE;
  AttArgs a = att_args(p);
  if (path == 0) {
    gboolean shared = FALSE;
    for (int s = 0; s < a.n_segs; s++)
      shared |= a.seg[s].gstride == 0 && !a.seg[s].rel && !a.seg[s].self && !a.seg[s].causal &&
                a.seg[s].n >= TK;
    /* causal segments (decode passes: few queries per group, few keys) go row by row */
    path = p->group_q > ATT_ROW_MAX_Q && !a.has_causal                ? 1
           : shared && rows >= ATT_SPLIT_MIN_ROWS && rows <= G_MAXINT ? 3
                                                                      : 2;
  }
  if (a.has_causal && path == 1) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "attention: the tile kernel has no causal segments (row or split path)");
    return FALSE;
  }
  return path == 1   ? att_tile(cu, &a, error)
         : path == 2 ? att_row(cu, &a, error)
                     : att_split(cu, &a, error);
}

gboolean ufo_cuda_attention(UfoCuda *cu, const UfoAttention *p, GError **error)
{
  /* precision bf16, many queries per group: tensor cores (attention_mma.cu) */
  if (ufo_cuda_attention_mma_fits(cu, p))
    return ufo_cuda_attention_mma(cu, p, error);
  return att_run(cu, p, 0, error);
}

} /* namespace UFO_CUDA_NS */
