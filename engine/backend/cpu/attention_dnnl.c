/* Attention on oneDNN matmul primitives (backend.h UfoAttention, inference §5.1), both
 * precisions. precision=bf16: per (group, head) out = softmax(bf16(q)·bf16(K)^T * scale + mask +
 * relpos) with the weights rounded to bf16, times bf16(V); products accumulate in float32
 * (brgemm, AVX512-BF16 / AMX). precision=fp32: the same steps with every operand float32 (f32
 * matmuls, the exact mode; OpenBLAS's sgemm on these thin products, K = 64 or M = 128 x N = 64,
 * ran 4x slower than this path on the whole global layer).
 *
 * Steps: (1) q and every segment's k and v are converted once per call to dense head-major
 * copies [head][row][d], bf16 or float32 (a segment shared by all groups, group_stride 0, once);
 * (2) the pool runs tasks (group, head, block of qb queries), each on its worker alone: per segment
 * one single-threaded matmul S_s (nb, n_s) = scale * Q·K_s^T (K_s as "ba" weights: no copy), the
 * rel-pos terms q·R in float32 (OpenBLAS, the unscaled fp32 q as the fp32 path), the mask and
 * the softmax row by row in float32 (the own key's score an fp32 dot), the weights converted
 * to bf16 (fp32: kept in place), then O (nb, d) = Σ_s P_s·V_s (one matmul per segment, a sum
 * post-op after the first), O scaled by 1/Σ and the own value added in float32. qb: whole groups up
 * to QB_MAX queries (windows), else blocks of QB_MIN and more; they depend on the shapes only,
 * never on the thread count. Long rows at bf16 (global layers at 1120²: a block's scores would
 * leave the core's cache) take blocks of QB_MIN_LONG and their keys in chunks of about
 * ATTN_CHUNK with the softmax online (run_block_long). The matmuls come from the backend's cache
 * (dnnl_mm.c: per shape, memory objects per worker, one oneDNN thread per worker); bf16 rounding as
 * in gemm_dnnl.c. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize(                                                                              \
    "O3", "fp-contract=fast") /* vectorise the softmax loops in debugoptimized builds too */
#endif
#include "cpu.h"
#include "log.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdlib.h>

/* a block's float32 scores, at most (about), unless that leaves fewer than QB_MIN queries */
#define ATTN_SCORE_BYTES (192 * 1024)
/* queries per block, at least: brgemm re-lays K^T out per call, amortised over the rows (a
 * 4900-key global layer on a Zen 4, CPU time per call: 336 ms at 32 rows, 297 ms at 128, 305
 * at 256) */
#define QB_MIN 128
/* ... but, at bf16, QB_MIN_LONG where QB_MIN rows of scores and bf16 weights (6 bytes a key)
 * would pass ATTN_LONG_BYTES: there the block streams from beyond the core's L2. A 2-vCPU Xeon (2
 * MiB of L2 a core), ViT-B at 1120² (4,916 keys), wall ms per global layer with 2 threads: 211 at
 * 128 rows, 194 at 96, 187 at 80, 179 at 64, 201 at 48, 208 at 32; at 672² (1,780 keys) 30.2 at
 * 128, 29.2 at 64; the demo model's image pass (800 keys) 12 % slower at 64; fp32 (no bf16 weights)
 * 4 % slower at 64 on the 4,916 keys (docs/performance.md section 21) */
#define QB_MIN_LONG 64
#define ATTN_LONG_BYTES (1 << 20)
#define ATTN_CHUNK 1024 /* keys per chunk of a long row (run_block_long) */
#define QB_MAX 256      /* ... at most: a 14x14 window (196) is one block */

gboolean ufo_cpu_attention_dnnl_applies(const UfoAttention *p)
{
  if (p->group_q < UFO_CPU_ATTN_DNNL_MIN_Q || p->n_segs < 1 || ufo_cpu_dnnl_engine() == NULL)
    return FALSE;
  for (int s = 0; s < p->n_segs; s++)
    if (p->seg[s].n < 1 || p->seg[s].causal) /* no empty matmuls; causal: query by query */
      return FALSE;
  return TRUE;
}

/* ---- state: the products run on the backend's oneDNN matmul cache (dnnl_mm.c) ---- */

/* the implementation of the first matmul made per source type: [0] bf16, [1] f32 */
static char impl_name[2][128];
static GMutex impl_lock;

const char *ufo_backend_cpu_attention_impl(UfoPrecision precision)
{
  int f32 = precision != UFO_PRECISION_BF16;
  g_mutex_lock(&impl_lock);
  const char *s = impl_name[f32][0] ? impl_name[f32] : NULL;
  g_mutex_unlock(&impl_lock);
  return s;
}

static void note_impl(const UfoDnnlMmPrim *g, int f32)
{
  const char *impl = ufo_cpu_mm_impl(g);
  if (impl == NULL)
    return;
  g_mutex_lock(&impl_lock);
  if (!impl_name[f32][0]) {
    g_strlcpy(impl_name[f32], impl, sizeof impl_name[f32]);
    ufo_log(UFO_LOG_INFO, "precision=%s: attention products on oneDNN matmul %s",
            f32 ? "fp32" : "bf16", impl);
  }
  g_mutex_unlock(&impl_lock);
}

struct _UfoCpuAttn {
  void *buf; /* the head-major copies of q, k, v (bf16 or float32) */
  size_t buf_bytes;
};

void ufo_cpu_attn_free(UfoCpuAttn *a)
{
  if (a == NULL)
    return;
  free(a->buf);
  g_free(a);
}

/* QK: S (m, n) f32 = alpha * Q (m, k) · K^T, K rows (n, k) dense (B = K^T: strides (1, k)).
 * PV: O (m, n) f32 (+)= P (m, k) · V, V (k, n) dense. Sources of type dt, dense. */
static UfoDnnlMmKey qk_key(int dt, int64_t m, int64_t n, int64_t k, float alpha)
{
  return (UfoDnnlMmKey){dt, m, n, k, {k, 1}, {1, k}, n, alpha, 0.f};
}

static UfoDnnlMmKey pv_key(int dt, int64_t m, int64_t n, int64_t k, float beta)
{
  return (UfoDnnlMmKey){dt, m, n, k, {k, 1}, {n, 1}, n, 1.f, beta};
}

/* ---- step 1: bf16 or float32 copies [head][row][d] ---- */

#define N_OPS (1 + 2 * UFO_ATTN_MAX_SEGS) /* q, then k and v of each segment */

typedef struct {
  int n_ops, n_heads, d;
  gboolean f32; /* float32 copies, else bf16 */
  const float *src[N_OPS];
  int64_t ld[N_OPS], rows[N_OPS], first[N_OPS]; /* first: global row index of the op's row 0 */
  void *dst[N_OPS];
} ConvJob;

static void conv_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  const ConvJob *j = ctx;
  for (int64_t r = begin; r < end; r++) {
    int o = 0;
    while (o + 1 < j->n_ops && r >= j->first[o + 1])
      o++;
    int64_t i = r - j->first[o];
    for (int h = 0; h < j->n_heads; h++) {
      int64_t at = ((int64_t)h * j->rows[o] + i) * j->d;
      const float *src = j->src[o] + i * j->ld[o] + (int64_t)h * j->d;
      if (j->f32)
        memcpy((float *)j->dst[o] + at, src, (size_t)j->d * sizeof(float));
      else
        ufo_cpu_bf16_convert((uint16_t *)j->dst[o] + at, src, j->d);
    }
  }
}

/* ---- step 2: the blocks ---- */

typedef struct {
  const UfoAttention *p;
  UfoDnnlMm *mm;
  int64_t nks; /* keys of all segments (without the own key) */
  int64_t qb, n_qblocks;
  gboolean f32; /* float32 operands and weights, else bf16 */
  size_t es;    /* bytes per element of the copies: 4 or 2 */
  const char *qh, *kh[UFO_ATTN_MAX_SEGS], *vh[UFO_ATTN_MAX_SEGS]; /* the copies */
  int64_t seg_rows[UFO_ATTN_MAX_SEGS];
  /* [0]: blocks of qb queries, [1]: the group's last block when shorter */
  const UfoDnnlMmPrim *qk[2][UFO_ATTN_MAX_SEGS], *pv[2][UFO_ATTN_MAX_SEGS];
  /* long rows (run_block_long): keys in chunks of chunk[s] (the last one shorter: [..][1]) */
  gboolean chunked;
  int64_t chunk[UFO_ATTN_MAX_SEGS], max_chunk;
  const UfoDnnlMmPrim *qkc[2][UFO_ATTN_MAX_SEGS][2], *pvc[2][UFO_ATTN_MAX_SEGS][2];
  /* the rel-pos tables transposed for rel_terms16, (d, ROUND16(lh)) and (d, ROUND16(lw)), made
   * once per call; NULL: the products on OpenBLAS */
  const float *rth, *rtw;
  float **scratch; /* per worker (cpu->scratch) */
  gint failed;     /* a oneDNN call failed */
} AttnJob;

/* per worker: scores (qb, nks) f32 | weights (qb, nks) bf16 (fp32: none, the weights replace
 * the scores) | q·Rh (qb, lh) | q·Rw (qb, lw) | O (qb, d) | Rw reversed (rel_w) | Σ (qb) | own
 * key's weight or running maximum (qb); floats */
#define ROUND16(x) (((x) + 15) / 16 * 16)

static int64_t weight_floats(gboolean f32, int64_t qb, int64_t nks)
{
  return f32 ? 0 : (qb * nks + 1) / 2;
}

static size_t scratch_floats(const UfoAttention *p, gboolean f32, int64_t qb, int64_t nks)
{
  int64_t lh = MAX(2 * p->rel_h - 1, 1), lw = MAX(2 * p->rel_w - 1, 1);
  return (size_t)(qb * nks + weight_floats(f32, qb, nks) + qb * (lh + lw + p->head_dim) + p->rel_w +
                  1 + 2 * qb);
}

/* ---- the row loops of the softmax: AVX-512 where the CPU has it (always with native bf16),
 * plain C elsewhere (fp32 on AVX2 CPUs) ---- */

static float row_max_c(const float *x, int64_t n, float m)
{
  for (int64_t k = 0; k < n; k++)
    m = x[k] > m ? x[k] : m;
  return m;
}

/* x = exp(x - m) in place; returns Σ */
static float row_exp_f32_c(float *x, int64_t n, float m)
{
  float sum = 0.f;
  for (int64_t k = 0; k < n; k++) {
    x[k] = ufo_cpu_exp_neg(x[k] - m);
    sum += x[k];
  }
  return sum;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define F32_TARGET __attribute__((target("avx512f")))
#define ROW_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512bf16")))

/* AVX-512 on this CPU and within ONEDNN_MAX_CPU_ISA (a cap at AVX2 tests the plain loops) */
static gboolean have_avx512(void)
{
  static gsize v;
  if (g_once_init_enter(&v)) {
    unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    gboolean yes = __builtin_cpu_supports("avx512f") &&
                   (isa & dnnl_cpu_isa_avx512_core) == dnnl_cpu_isa_avx512_core;
    g_once_init_leave(&v, yes ? 2 : 1);
  }
  return v == 2;
}

/* max(m, x[0..n)); four running maxima, so that no chain of dependent max instructions (4
 * cycles each) sets the pace */
F32_TARGET UFO_HOT_LOOP static float row_max16(const float *x, int64_t n, float m)
{
  __m512 v0 = _mm512_set1_ps(m), v1 = v0, v2 = v0, v3 = v0;
  int64_t k = 0;
  for (; k + 64 <= n; k += 64) {
    v0 = _mm512_max_ps(v0, _mm512_loadu_ps(x + k));
    v1 = _mm512_max_ps(v1, _mm512_loadu_ps(x + k + 16));
    v2 = _mm512_max_ps(v2, _mm512_loadu_ps(x + k + 32));
    v3 = _mm512_max_ps(v3, _mm512_loadu_ps(x + k + 48));
  }
  for (; k + 16 <= n; k += 16)
    v0 = _mm512_max_ps(v0, _mm512_loadu_ps(x + k));
  if (k < n) {
    __mmask16 mk = (__mmask16)((1u << (n - k)) - 1);
    v1 = _mm512_mask_max_ps(v1, mk, v1, _mm512_maskz_loadu_ps(mk, x + k));
  }
  return _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(v0, v1), _mm512_max_ps(v2, v3)));
}

/* select_math.h ufo_exp_neg on 16 lanes: 2^n P(r), exp(x < -87) = 0 */
F32_TARGET static inline __m512 exp_neg16(__m512 x)
{
  __m512 xc = _mm512_max_ps(x, _mm512_set1_ps(-87.f));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), xc);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(2.12194440e-4f), r); /* ln2 in two parts */
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.f)));
  __m512i e =
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  __mmask16 live = _mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.f), _CMP_GE_OQ);
  return _mm512_maskz_mul_ps(live, p, _mm512_castsi512_ps(e));
}

/* x = exp(x - m) in place for x[0..n); returns Σ (float32 lanes) */
F32_TARGET UFO_HOT_LOOP static float row_exp_f32_16(float *x, int64_t n, float m)
{
  __m512 mv = _mm512_set1_ps(m), sum = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; k += 16) {
    __mmask16 mk = n - k >= 16 ? 0xffff : (__mmask16)((1u << (n - k)) - 1);
    __m512 w =
        _mm512_maskz_mov_ps(mk, exp_neg16(_mm512_sub_ps(_mm512_maskz_loadu_ps(mk, x + k), mv)));
    sum = _mm512_add_ps(sum, w);
    _mm512_mask_storeu_ps(x + k, mk, w);
  }
  return _mm512_reduce_add_ps(sum);
}

/* exp(x − m) for the bf16 weights, 16 lanes: 2^t with t = (x − m)·log2 e = x·log2 e − m·log2 e
 * (one fused multiply-subtract; mlog2e = m·log2 e rounded, so t is off by ≤ |m·log2 e|·2^-24),
 * t = n + f with n = round(t), 2^f on f ∈ [−1/2, 1/2] by a degree-5 polynomial fitted to the
 * relative error (≤ 2.4e-7 evaluated in float32, against exp_neg16's ≤ ~1.2e-7), then 2^n · 2^f
 * by scalef. Weights are rounded to bf16 (2^-9) right after, so the differences from exp_neg16
 * never reach the products and move Σ by ~1e-7. As exp_neg16: 0 below t = −126 (x − m < −87.3),
 * where the weight would be denormal, and for −inf and NaN. 10 vector operations where
 * exp_neg16 and the subtraction take 19. */
ROW_TARGET static inline __m512 exp2_bf16w16(__m512 x, __m512 log2e, __m512 mlog2e)
{
  __m512 t = _mm512_fmsub_ps(x, log2e, mlog2e);
  __m512 n = _mm512_roundscale_ps(t, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_sub_ps(t, n);
  __m512 p = _mm512_set1_ps(1.3276379322633147e-3f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.675510227680206e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550713092088699e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022120237350464e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469440460205e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0000001192092896f));
  __mmask16 live = _mm512_cmp_ps_mask(t, _mm512_set1_ps(-126.f), _CMP_GT_OQ);
  return _mm512_maskz_scalef_ps(live, p, n);
}

/* w = exp(x - m) for x[0..n), w to bf16 into dst; returns Σ w (float32 lanes) */
ROW_TARGET UFO_HOT_LOOP static float row_exp_bf16(const float *x, int64_t n, float m, uint16_t *dst)
{
  const __m512 log2e = _mm512_set1_ps(1.44269504088896341f);
  const __m512 mlog2e = _mm512_set1_ps(m * 1.44269504088896341f);
  __m512 sum = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    __m512 w = exp2_bf16w16(_mm512_loadu_ps(x + k), log2e, mlog2e);
    sum = _mm512_add_ps(sum, w);
    _mm256_storeu_si256((__m256i *)(dst + k), (__m256i)_mm512_cvtneps_pbh(w));
  }
  if (k < n) {
    __mmask16 mk = (__mmask16)((1u << (n - k)) - 1);
    __m512 w = exp2_bf16w16(_mm512_maskz_loadu_ps(mk, x + k), log2e, mlog2e);
    sum = _mm512_mask_add_ps(sum, mk, sum, w);
    _mm256_mask_storeu_epi16(dst + k, mk, (__m256i)_mm512_cvtneps_pbh(w));
  }
  return _mm512_reduce_add_ps(sum);
}

/* ---- the same two loops on AVX2 (CPUs without AVX-512: fp32 only) ---- */
#define AVX2_TARGET __attribute__((target("avx2,fma")))

static gboolean have_avx2(void)
{
  static gsize v;
  if (g_once_init_enter(&v))
    g_once_init_leave(&v, __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? 2 : 1);
  return v == 2;
}

/* lanes k < r of a tail of r < 8 elements */
AVX2_TARGET static inline __m256i tail_mask8(int64_t r)
{
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)r), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

AVX2_TARGET static inline float hmax8(__m256 v)
{
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}

AVX2_TARGET static inline float hsum8(__m256 v)
{
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  return _mm_cvtss_f32(_mm_add_ss(h, _mm_movehdup_ps(h)));
}

/* row_max16 on 8 lanes: four running maxima */
AVX2_TARGET UFO_HOT_LOOP static float row_max8(const float *x, int64_t n, float m)
{
  __m256 v0 = _mm256_set1_ps(m), v1 = v0, v2 = v0, v3 = v0;
  int64_t k = 0;
  for (; k + 32 <= n; k += 32) {
    v0 = _mm256_max_ps(v0, _mm256_loadu_ps(x + k));
    v1 = _mm256_max_ps(v1, _mm256_loadu_ps(x + k + 8));
    v2 = _mm256_max_ps(v2, _mm256_loadu_ps(x + k + 16));
    v3 = _mm256_max_ps(v3, _mm256_loadu_ps(x + k + 24));
  }
  for (; k + 8 <= n; k += 8)
    v0 = _mm256_max_ps(v0, _mm256_loadu_ps(x + k));
  if (k < n) /* masked-off lanes load 0: blended back to the running maximum */
    v1 = _mm256_blendv_ps(v1, _mm256_max_ps(v1, _mm256_maskload_ps(x + k, tail_mask8(n - k))),
                          _mm256_castsi256_ps(tail_mask8(n - k)));
  return hmax8(_mm256_max_ps(_mm256_max_ps(v0, v1), _mm256_max_ps(v2, v3)));
}

/* exp_neg16 on 8 lanes (select_math.h ufo_exp_neg: 2^n P(r), exp(x < -87) = 0) */
AVX2_TARGET static inline __m256 exp_neg8(__m256 x)
{
  __m256 xc = _mm256_max_ps(x, _mm256_set1_ps(-87.f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(xc, _mm256_set1_ps(1.44269504088896341f)),
                             _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), xc);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(2.12194440e-4f), r); /* ln2 in two parts */
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.f)));
  __m256i e =
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  __m256 live = _mm256_cmp_ps(x, _mm256_set1_ps(-87.f), _CMP_GE_OQ); /* NaN, -inf: 0 */
  return _mm256_and_ps(live, _mm256_mul_ps(p, _mm256_castsi256_ps(e)));
}

/* x = exp(x - m) in place for x[0..n); returns Σ (float32 lanes) */
AVX2_TARGET UFO_HOT_LOOP static float row_exp_f32_8(float *x, int64_t n, float m)
{
  __m256 mv = _mm256_set1_ps(m), s0 = _mm256_setzero_ps(), s1 = s0;
  int64_t k = 0;
  for (; k + 16 <= n; k += 16) {
    __m256 w0 = exp_neg8(_mm256_sub_ps(_mm256_loadu_ps(x + k), mv));
    __m256 w1 = exp_neg8(_mm256_sub_ps(_mm256_loadu_ps(x + k + 8), mv));
    s0 = _mm256_add_ps(s0, w0);
    s1 = _mm256_add_ps(s1, w1);
    _mm256_storeu_ps(x + k, w0);
    _mm256_storeu_ps(x + k + 8, w1);
  }
  for (; k < n; k += 8) {
    __m256i mk = tail_mask8(n - k);
    __m256 w = _mm256_and_ps(_mm256_castsi256_ps(mk),
                             exp_neg8(_mm256_sub_ps(_mm256_maskload_ps(x + k, mk), mv)));
    s0 = _mm256_add_ps(s0, w);
    _mm256_maskstore_ps(x + k, mk, w);
  }
  return hsum8(_mm256_add_ps(s0, s1));
}

static float row_max(const float *x, int64_t n, float m)
{
  return have_avx512() ? row_max16(x, n, m) : have_avx2() ? row_max8(x, n, m) : row_max_c(x, n, m);
}

static float row_exp_f32(float *x, int64_t n, float m)
{
  return have_avx512() ? row_exp_f32_16(x, n, m)
         : have_avx2() ? row_exp_f32_8(x, n, m)
                       : row_exp_f32_c(x, n, m);
}
#else
static float row_max(const float *x, int64_t n, float m)
{
  return row_max_c(x, n, m);
}

static float row_exp_f32(float *x, int64_t n, float m)
{
  return row_exp_f32_c(x, n, m);
}

static float row_exp_bf16(const float *x, int64_t n, float m, uint16_t *dst)
{
  float sum = 0.f;
  for (int64_t k = 0; k < n; k++) {
    float w = ufo_cpu_exp_neg(x[k] - m);
    sum += w;
    ufo_cpu_bf16_convert(dst + k, &w, 1);
  }
  return sum;
}
#endif

float ufo_cpu_attn_row_max(const float *x, int64_t n, float m)
{
  return row_max(x, n, m);
}

float ufo_cpu_attn_row_exp_f32(float *x, int64_t n, float m)
{
  return row_exp_f32(x, n, m);
}

float ufo_cpu_attn_row_exp_bf16(const float *x, int64_t n, float m, uint16_t *dst)
{
  return row_exp_bf16(x, n, m, dst);
}

/* Row i of a block: bias (mask, rel-pos) added to the scores in place, max, exp, Σ; weights
 * to bf16 into p16 (fp32: in place of the scores, p16 unused). Returns Σ; *self_w: the own key's
 * weight (0 without one). */
static float softmax_row(const AttnJob *j, int64_t i, int64_t nb, int64_t qidx, float *st,
                         uint16_t *p16, const float *rbh, const float *rbw, float *rwr,
                         float self_s, float *self_w)
{
  const UfoAttention *p = j->p;
  int lh = 2 * p->rel_h - 1, lw = 2 * p->rel_w - 1;
  float m = p->self_key ? self_s : -INFINITY, sum = 0.f;
  int64_t col = 0;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    float *row = st + nb * col + i * sg->n; /* segment s: a dense (nb, n_s) block */
    if (sg->mask.t) {
      const float *mk = ufo_cpu_ptr(sg->mask);
      for (int64_t k = 0; k < sg->n; k++)
        row[k] += mk[k]; /* inference §5.1: additive mask (-inf = masked) */
    }
    if (sg->rel_pos) {
      int64_t qi = qidx / p->rel_w, qj = qidx % p->rel_w;
      /* inference §5.1: bias(k = (ky, kx)) = q·Rh[qi - ky + rel_h - 1] + q·Rw[qj - kx + rel_w - 1]
       * (unscaled q); the Rw terms of this row reversed first so the inner loop runs forward */
      for (int kx = 0; kx < p->rel_w; kx++)
        rwr[kx] = rbw[i * lw + qj - kx + p->rel_w - 1];
      for (int ky = 0; ky < p->rel_h; ky++) {
        float b = rbh[i * lh + qi - ky + p->rel_h - 1];
        float *r = row + (int64_t)ky * p->rel_w;
        for (int kx = 0; kx < p->rel_w; kx++)
          r[kx] += b + rwr[kx];
      }
    }
    m = row_max(row, sg->n, m); /* inference §5.1 softmax: the row maximum */
    col += sg->n;
  }
  col = 0;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    float *row = st + nb * col + i * sg->n;
    /* inference §5.1 softmax: w = exp(s - max), Σ w (÷ Σ after P·V) */
    if (j->f32)
      sum += row_exp_f32(row, sg->n, m);
    else
      sum += row_exp_bf16(row, sg->n, m, p16 + nb * col + i * sg->n);
    col += sg->n;
  }
  *self_w = p->self_key ? ufo_cpu_exp_neg(self_s - m) : 0.f;
  return sum + *self_w;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
/* out (nb, l) dense = q (nb rows, ld ldq; d columns) · R^T, R (l, d) given transposed as rt
 * (d, ROUND16(l), zero columns past l: rel_tables_transpose), on 16 lanes: 4 query rows x 32
 * columns of out at a time (8 accumulators, so no chain of dependent multiply-adds sets the pace;
 * every element one multiply-add chain over d in order). For the tables of small regions (windows:
 * 27 rows), where OpenBLAS's packing and edge cases cost 20 % of a window layer's attention. */
F32_TARGET UFO_HOT_LOOP static void rel_terms16(const float *q, int64_t ldq, int64_t nb,
                                                const float *rt, int l, int d, float *out)
{
  const int lp = ROUND16(l);
  for (int64_t i0 = 0; i0 < nb; i0 += 4) {
    const int nr = (int)MIN(4, nb - i0);
    const float *qr[4];
    for (int r = 0; r < 4; r++) /* rows past nb repeat the last one; never stored */
      qr[r] = q + (i0 + MIN(r, nr - 1)) * ldq;
    for (int c0 = 0; c0 < lp; c0 += 32) {
      const int two = c0 + 16 < lp;
      __m512 a[4][2];
      for (int r = 0; r < 4; r++)
        a[r][0] = a[r][1] = _mm512_setzero_ps();
      for (int k = 0; k < d; k++) {
        const __m512 t0 = _mm512_loadu_ps(rt + k * lp + c0);
        const __m512 t1 = two ? _mm512_loadu_ps(rt + k * lp + c0 + 16) : _mm512_setzero_ps();
        for (int r = 0; r < 4; r++) {
          const __m512 qv = _mm512_set1_ps(qr[r][k]);
          a[r][0] = _mm512_fmadd_ps(qv, t0, a[r][0]);
          a[r][1] = _mm512_fmadd_ps(qv, t1, a[r][1]);
        }
      }
      for (int h = 0; h < 1 + two; h++) {
        const int c = c0 + 16 * h, n = MIN(16, l - c);
        const __mmask16 mk = (__mmask16)((1u << n) - 1);
        for (int r = 0; r < nr; r++)
          _mm512_mask_storeu_ps(out + (i0 + r) * l + c, mk, a[r][h]);
      }
    }
  }
}
#endif

/* The tables that rel_terms16 takes (at most REL16_MAX rows each, AVX-512): their floats, 0
 * where they are left to OpenBLAS (its blocked sgemm is faster on the 139-row tables of 70 x 70
 * regions) */
#define REL16_MAX 32
static size_t rel16_floats(const UfoAttention *p)
{
  const int lh = 2 * p->rel_h - 1, lw = 2 * p->rel_w - 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (p->rel_h > 0 && lh <= REL16_MAX && lw <= REL16_MAX && have_avx512())
    return (size_t)p->head_dim * (size_t)(ROUND16(lh) + ROUND16(lw));
#endif
  (void)lh, (void)lw;
  return 0;
}

/* rt (d, ROUND16(l)) = R^T for the first l rows of R (ld ldr), zero columns past l */
static void rel_table_transpose(float *rt, UfoView r, int l, int d)
{
  const int lp = ROUND16(l);
  const float *R = ufo_cpu_ptr(r);
  for (int k = 0; k < d; k++)
    for (int c = 0; c < lp; c++)
      rt[k * lp + c] = c < l ? R[c * r.ld + k] : 0.f;
}

/* inference §5.1: q·R[r] for every table row r of the nb queries from qf, unscaled fp32 q (as
 * attention.c): rbh (nb, 2 rel_h − 1), rbw (nb, 2 rel_w − 1); nothing without rel-pos. On
 * rel_terms16 where the call transposed the tables (rel16_floats), else OpenBLAS. */
static void rel_terms_block(const AttnJob *j, const float *qf, int64_t nb, float *rbh, float *rbw)
{
  const UfoAttention *p = j->p;
  if (p->rel_h <= 0)
    return;
  const int d = p->head_dim, lh = 2 * p->rel_h - 1, lw = 2 * p->rel_w - 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  if (j->rth) {
    rel_terms16(qf, p->q.ld, nb, j->rth, lh, d, rbh);
    rel_terms16(qf, p->q.ld, nb, j->rtw, lw, d, rbw);
    return;
  }
#endif
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)nb, lh, d, 1.f, qf,
              (blasint)p->q.ld, ufo_cpu_ptr(p->rel_h_table), (blasint)p->rel_h_table.ld, 0.f, rbh,
              lh);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)nb, lw, d, 1.f, qf,
              (blasint)p->q.ld, ufo_cpu_ptr(p->rel_w_table), (blasint)p->rel_w_table.ld, 0.f, rbw,
              lw);
}

static gboolean run_block(const AttnJob *j, int64_t g, int h, int64_t i0, int worker)
{
  const UfoAttention *p = j->p;
  int d = p->head_dim;
  int64_t nb = MIN(j->qb, p->group_q - i0), nks = j->nks;
  int tail = nb != j->qb;
  int lh = 2 * p->rel_h - 1, lw = 2 * p->rel_w - 1;
  float *st = j->scratch[worker];
  uint16_t *p16 = (uint16_t *)(st + j->qb * nks); /* bf16 only */
  float *rbh = st + j->qb * nks + weight_floats(j->f32, j->qb, nks);
  float *rbw = rbh + j->qb * MAX(lh, 1);
  float *ob = rbw + j->qb * MAX(lw, 1);
  float *rwr = ob + j->qb * d;
  float *sum = rwr + p->rel_w + 1;
  float *self_w = sum + j->qb;
  int64_t row0 = g * p->group_q + i0;
  const float *qf = ufo_cpu_ptr(p->q) + row0 * p->q.ld + (int64_t)h * d;
  const char *qh = j->qh + ((int64_t)h * p->n_groups * p->group_q + row0) * d * j->es;
  gboolean ok = TRUE;
  int64_t col = 0;
  for (int sg_i = 0; sg_i < p->n_segs && ok; sg_i++) {
    const UfoAttnKeys *sg = &p->seg[sg_i];
    const char *kh =
        j->kh[sg_i] + ((int64_t)h * j->seg_rows[sg_i] + g * sg->group_stride) * d * j->es;
    /* inference §5.1: S = scale * q·K^T (the scale as the matmul's output scale) */
    ok = ufo_cpu_mm_run(j->mm, j->qk[tail][sg_i], worker, qh, kh, st + nb * col);
    col += sg->n;
  }
  if (!ok)
    return FALSE;
  rel_terms_block(j, qf, nb, rbh, rbw);
  for (int64_t i = 0; i < nb; i++) {
    float self_s = 0.f;
    if (p->self_key) /* inference §5.1, own key: scale * q·k in fp32 */
      self_s = ufo_cpu_dot(qf + i * p->q.ld,
                           ufo_cpu_ptr(p->self_k) + (row0 + i) * p->self_k.ld + (int64_t)h * d, d) *
               p->scale;
    sum[i] = softmax_row(j, i, nb, i0 + i, st, p16, rbh, rbw, rwr, self_s, &self_w[i]);
  }
  col = 0;
  for (int sg_i = 0; sg_i < p->n_segs && ok; sg_i++) {
    const UfoAttnKeys *sg = &p->seg[sg_i];
    const char *vh =
        j->vh[sg_i] + ((int64_t)h * j->seg_rows[sg_i] + g * sg->group_stride) * d * j->es;
    const void *w = j->f32 ? (const void *)(st + nb * col) : (const void *)(p16 + nb * col);
    /* inference §5.1: O = Σ_s P_s · V_s (a sum post-op after the first segment) */
    ok = ufo_cpu_mm_run(j->mm, j->pv[tail][sg_i], worker, w, vh, ob);
    col += sg->n;
  }
  if (!ok)
    return FALSE;
  float *out = ufo_cpu_ptr(p->out) + row0 * p->out.ld + (int64_t)h * d;
  for (int64_t i = 0; i < nb; i++) {
    float *o = out + i * p->out.ld, inv = 1.f / sum[i];
    const float *a = ob + i * d;
    if (p->self_key) {
      const float *v = ufo_cpu_ptr(p->self_v) + (row0 + i) * p->self_v.ld + (int64_t)h * d;
      for (int l = 0; l < d; l++)
        o[l] = (a[l] + self_w[i] * v[l]) * inv; /* §5.1: + w_own v_own, then / Σ */
    } else {
      for (int l = 0; l < d; l++)
        o[l] = a[l] * inv; /* §5.1: softmax's division */
    }
  }
  return TRUE;
}

/* Long rows at bf16 (a block's scores over every key would not stay in the core's cache):
 * the keys in chunks, with the softmax online (inference §5.1's softmax, rescaled as a running
 * maximum grows): per chunk S = scale · Q·K_c^T, mask and rel-pos, the rows' new maximum m',
 * Σ ← Σ·exp(m − m') + Σ_c exp(S − m'), O ← O·exp(m − m') + bf16(exp(S − m'))·V_c. Chunks of a
 * rel-pos segment are whole rows of its region. No own key (run_block keeps those). */
static gboolean run_block_long(const AttnJob *j, int64_t g, int h, int64_t i0, int worker)
{
  const UfoAttention *p = j->p;
  const int d = p->head_dim;
  const int64_t nb = MIN(j->qb, p->group_q - i0), mc = j->max_chunk;
  const int tail = nb != j->qb;
  const int lh = 2 * p->rel_h - 1, lw = 2 * p->rel_w - 1;
  float *st = j->scratch[worker];
  uint16_t *p16 = (uint16_t *)(st + j->qb * mc);
  float *rbh = st + j->qb * mc + weight_floats(FALSE, j->qb, mc);
  float *rbw = rbh + j->qb * MAX(lh, 1);
  float *ob = rbw + j->qb * MAX(lw, 1);
  float *rwr = ob + j->qb * d;
  float *sum = rwr + p->rel_w + 1;
  float *mx = sum + j->qb;
  const int64_t row0 = g * p->group_q + i0;
  const float *qf = ufo_cpu_ptr(p->q) + row0 * p->q.ld + (int64_t)h * d;
  const char *qh = j->qh + ((int64_t)h * p->n_groups * p->group_q + row0) * d * j->es;
  rel_terms_block(j, qf, nb, rbh, rbw);
  memset(ob, 0, sizeof(float) * (size_t)nb * d);
  for (int64_t i = 0; i < nb; i++)
    sum[i] = 0.f, mx[i] = -INFINITY;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    const int64_t base = ((int64_t)h * j->seg_rows[s] + g * sg->group_stride) * d;
    for (int64_t k0 = 0; k0 < sg->n; k0 += j->chunk[s]) {
      const int64_t n = MIN(j->chunk[s], sg->n - k0);
      const int last = n != j->chunk[s];
      /* inference §5.1: S = scale * q·K^T (the scale as the matmul's output scale) */
      if (!ufo_cpu_mm_run(j->mm, j->qkc[tail][s][last], worker, qh,
                          j->kh[s] + (base + k0 * d) * j->es, st))
        return FALSE;
      for (int64_t i = 0; i < nb; i++) {
        float *row = st + i * n;
        if (sg->mask.t) {
          const float *mk = ufo_cpu_ptr(sg->mask) + k0;
          for (int64_t k = 0; k < n; k++)
            row[k] += mk[k]; /* inference §5.1: additive mask (-inf = masked) */
        }
        if (sg->rel_pos) { /* inference §5.1: bias = q·Rh[qi - ky + rel_h - 1] + q·Rw[...] */
          const int64_t qidx = i0 + i, qi = qidx / p->rel_w, qj = qidx % p->rel_w;
          for (int kx = 0; kx < p->rel_w; kx++)
            rwr[kx] = rbw[i * lw + qj - kx + p->rel_w - 1];
          for (int64_t ky = k0 / p->rel_w; ky < (k0 + n) / p->rel_w; ky++) {
            const float b = rbh[i * lh + qi - ky + p->rel_h - 1];
            float *r = row + (ky * p->rel_w - k0);
            for (int kx = 0; kx < p->rel_w; kx++)
              r[kx] += b + rwr[kx];
          }
        }
        /* inference §5.1 softmax, online: the running maximum, the rescale of Σ and O */
        const float m = row_max(row, n, mx[i]);
        uint16_t *w = p16 + i * n;
        if (m == -INFINITY) { /* every key so far masked: weights 0, nothing to rescale */
          memset(w, 0, sizeof(uint16_t) * (size_t)n);
          continue;
        }
        const float corr = mx[i] == -INFINITY ? 0.f : ufo_cpu_exp_neg(mx[i] - m);
        sum[i] = sum[i] * corr + row_exp_bf16(row, n, m, w);
        if (corr != 1.f)
          for (int l = 0; l < d; l++)
            ob[i * d + l] *= corr;
        mx[i] = m;
      }
      /* inference §5.1: O += P_c · V_c (a sum post-op) */
      if (!ufo_cpu_mm_run(j->mm, j->pvc[tail][s][last], worker, p16,
                          j->vh[s] + (base + k0 * d) * j->es, ob))
        return FALSE;
    }
  }
  float *out = ufo_cpu_ptr(p->out) + row0 * p->out.ld + (int64_t)h * d;
  for (int64_t i = 0; i < nb; i++) {
    const float inv = 1.f / sum[i]; /* §5.1: softmax's division (all masked: 0/0 as the ref) */
    for (int l = 0; l < d; l++)
      out[i * p->out.ld + l] = ob[i * d + l] * inv;
  }
  return TRUE;
}

static void block_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  AttnJob *j = ctx;
  const UfoAttention *p = j->p;
  for (int64_t t = begin; t < end; t++) {
    if (g_atomic_int_get(&j->failed))
      return;
    int64_t qb = t % j->n_qblocks, gh = t / j->n_qblocks;
    if (!(j->chunked ? run_block_long : run_block)(j, gh / p->n_heads, (int)(gh % p->n_heads),
                                                   qb * j->qb, worker))
      g_atomic_int_set(&j->failed, 1);
  }
}

/* Grows a buffer (counted as an allocation of the backend), FALSE when out of memory. */
static gboolean grow(UfoCpu *cpu, void **buf, size_t *have, size_t bytes, GError **error)
{
  if (*have >= bytes)
    return TRUE;
  void *b = ufo_cpu_alloc_bytes(bytes);
  if (b == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
                "out of memory for an attention buffer (%zu bytes)", bytes);
    return FALSE;
  }
  free(*buf);
  *buf = b;
  *have = bytes;
  (*cpu->allocs)++;
  return TRUE;
}

gboolean ufo_cpu_attention_dnnl(UfoCpu *cpu, const UfoAttention *p, GError **error)
{
  UfoDnnlMm *mm = ufo_cpu_mm_cache(cpu, error);
  if (mm == NULL)
    return FALSE;
  if (cpu->attn == NULL)
    cpu->attn = g_new0(UfoCpuAttn, 1);
  UfoCpuAttn *a = cpu->attn;
  int d = p->head_dim, nh = p->n_heads;
  gboolean f32 = cpu->precision != UFO_PRECISION_BF16;
  int dt = f32 ? dnnl_f32 : dnnl_bf16;
  AttnJob j = {.p = p, .mm = mm, .f32 = f32, .es = f32 ? 4 : 2};
  for (int s = 0; s < p->n_segs; s++)
    j.nks += p->seg[s].n;
  /* queries per block: the block's scores within ATTN_SCORE_BYTES, equal blocks */
  const gboolean long_rows = !f32 && (int64_t)QB_MIN * 6 * j.nks > ATTN_LONG_BYTES;
  const int64_t qb_min = long_rows ? QB_MIN_LONG : QB_MIN;
  int64_t qb = CLAMP(ATTN_SCORE_BYTES / (int64_t)(4 * MAX(j.nks, 1)), qb_min, QB_MAX);
  j.n_qblocks = (p->group_q + qb - 1) / qb;
  j.qb = (p->group_q + j.n_qblocks - 1) / j.n_qblocks;
  int64_t tail_nb = p->group_q - (j.n_qblocks - 1) * j.qb;
  /* long rows at bf16 (run_block_long): the keys in chunks of about ATTN_CHUNK, whole rows of a
   * rel-pos region; else whole segments (run_block). The primitives, before the parallel
   * region. */
  j.chunked = long_rows && !p->self_key;
  for (int t = 0; !j.chunked && t < 2; t++) {
    int64_t nb = t ? tail_nb : j.qb;
    for (int s = 0; s < p->n_segs; s++) {
      UfoDnnlMmKey qk = qk_key(dt, nb, p->seg[s].n, d, p->scale);
      UfoDnnlMmKey pv = pv_key(dt, nb, d, p->seg[s].n, s ? 1.f : 0.f);
      if ((j.qk[t][s] = ufo_cpu_mm_get(mm, &qk, error)) == NULL ||
          (j.pv[t][s] = ufo_cpu_mm_get(mm, &pv, error)) == NULL)
        return FALSE;
    }
  }
  for (int s = 0; j.chunked && s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    const int64_t c = sg->rel_pos ? p->rel_w * MAX(1, ATTN_CHUNK / p->rel_w) : ATTN_CHUNK;
    j.chunk[s] = MIN(c, sg->n);
    j.max_chunk = MAX(j.max_chunk, j.chunk[s]);
    const int64_t last = sg->n - (sg->n - 1) / j.chunk[s] * j.chunk[s];
    for (int t = 0; t < 2; t++)
      for (int l = 0; l < 2; l++) {
        const int64_t nb = t ? tail_nb : j.qb, n = l ? last : j.chunk[s];
        UfoDnnlMmKey qk = qk_key(dt, nb, n, d, p->scale), pv = pv_key(dt, nb, d, n, 1.f);
        if ((j.qkc[t][s][l] = ufo_cpu_mm_get(mm, &qk, error)) == NULL ||
            (j.pvc[t][s][l] = ufo_cpu_mm_get(mm, &pv, error)) == NULL)
          return FALSE;
      }
  }
  note_impl(j.chunked ? j.qkc[0][0][0] : j.qk[0][0], f32);
  if (!ufo_cpu_mm_reserve(cpu, mm, error))
    return FALSE;
  ufo_cpu_scratch_reserve(cpu, j.chunked ? scratch_floats(p, FALSE, j.qb, j.max_chunk)
                                         : scratch_floats(p, f32, j.qb, j.nks));
  j.scratch = cpu->scratch;
  /* step 1: bf16 or float32 copies of q and of each segment's k and v */
  ConvJob cj = {.n_ops = 1 + 2 * p->n_segs, .n_heads = nh, .d = d, .f32 = f32};
  cj.src[0] = ufo_cpu_ptr(p->q);
  cj.ld[0] = p->q.ld;
  cj.rows[0] = (int64_t)p->n_groups * p->group_q;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    j.seg_rows[s] = (int64_t)(p->n_groups - 1) * sg->group_stride + sg->n;
    cj.src[1 + 2 * s] = ufo_cpu_ptr(sg->k);
    cj.ld[1 + 2 * s] = sg->k.ld;
    cj.src[2 + 2 * s] = ufo_cpu_ptr(sg->v);
    cj.ld[2 + 2 * s] = sg->v.ld;
    cj.rows[1 + 2 * s] = cj.rows[2 + 2 * s] = j.seg_rows[s];
  }
  int64_t total = 0;
  for (int o = 0; o < cj.n_ops; o++) {
    cj.first[o] = total;
    total += cj.rows[o];
  }
  /* the head-major copies, then (64-byte aligned) the transposed rel-pos tables */
  const size_t copies = ((size_t)total * nh * d * j.es + 63) / 64 * 64, rel16 = rel16_floats(p);
  if (!grow(cpu, &a->buf, &a->buf_bytes, copies + rel16 * sizeof(float), error))
    return FALSE;
  if (rel16) {
    const int lh = 2 * p->rel_h - 1, lw = 2 * p->rel_w - 1;
    float *rt = (float *)((char *)a->buf + copies);
    rel_table_transpose(rt, p->rel_h_table, lh, d);
    rel_table_transpose(rt + (size_t)d * ROUND16(lh), p->rel_w_table, lw, d);
    j.rth = rt;
    j.rtw = rt + (size_t)d * ROUND16(lh);
  }
  for (int o = 0; o < cj.n_ops; o++)
    cj.dst[o] = (char *)a->buf + (size_t)cj.first[o] * nh * d * j.es;
  j.qh = cj.dst[0];
  for (int s = 0; s < p->n_segs; s++) {
    j.kh[s] = cj.dst[1 + 2 * s];
    j.vh[s] = cj.dst[2 + 2 * s];
  }
  ufo_pool_run(cpu->pool, total, UFO_CPU_ROWS_PER_TASK, conv_task, &cj);
  /* step 2: (group, head, query block) tasks, consecutive ones sharing a group and head */
  ufo_pool_run(cpu->pool, (int64_t)p->n_groups * nh * j.n_qblocks, 1, block_task, &j);
  if (g_atomic_int_get(&j.failed)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "attention: a oneDNN matmul failed");
    return FALSE;
  }
  return TRUE;
}
