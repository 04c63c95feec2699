/* Weight GEMMs by rows: C (M, N) = alpha · A (M, K) · W (N, K)^T + beta C + bias, where every
 * element of C is one multiply-add chain over k = 0 .. K-1 in order, started from zero: its
 * value depends on row i of A and row j of W only, whatever M, the tiling and the threads
 * (backend.h UfoGemm.row_stable: decode steps, whose rows from several frames share a step in
 * ufo_session_run_batch). Also the kernel of GEMMs of a few rows.
 * A is transposed once per call into panels of 16 rows, each (K, 16) and contiguous (zero rows
 * past M), so that a block reads its rows' A^T as one stream whatever M; the rows go through in
 * groups whose panels fit the L2 cache, each group against every column block of a worker's
 * part, so that W streams once per group and A^T from the cache (draft passes of thousands of
 * rows: the whole A^T per column block made a 3,825-row GEMM 5x slower a flop than a 225-row one).
 * With AVX-512 a block of 16 rows x 12 columns of C keeps 12 vector accumulators (lanes = rows)
 * fed by one vector of A^T and 12 broadcast elements of W per k; with AVX2, blocks of 16 rows x 6
 * columns (two vectors of A^T, 6 broadcasts) while more than 8 rows are left, else 8 rows x 12.
 * Columns split over the workers. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "fp-contract=fast") /* the multiply-adds fuse, as in gemm.c */
#endif
#include "cpu.h"

#if defined(__AVX2__)
#include <immintrin.h>
#endif

#define COLS 12                  /* columns of C per block */
#define PANEL 16                 /* rows of A^T per panel: the largest block */
#define GROUP_BYTES (256 * 1024) /* A^T panels of one row group: half a Zen 3 / Xeon L2 */
/* rows of C per block: one vector. 16 rows keep 12 accumulators of 16 floats: 12 of the 32
 * AVX-512 registers, but 24 of the 16 AVX2 ones, whose spills made the blocks ~10x slower (decode
 * steps of the demo model on a Zen 3 CPU); without AVX-512 the blocks are of 8 rows. The chain
 * of each element is the same either way. */
#if defined(__AVX512F__)
#define LANES 16

/* 16 floats, GCC/Clang vector extension: lane-wise arithmetic, scalars broadcast */
typedef float V16 __attribute__((vector_size(64)));

/* unaligned, aliasing floats: a plain vector load (memcpy stays a call under ASan, in the loop) */
typedef float V16u __attribute__((vector_size(64), aligned(4), may_alias));

UFO_HOT_INLINE static inline V16 load16(const float *p)
{
  return *(const V16u *)p;
}
#else
#define LANES 8
#endif

/* 8 floats: the last rows of C when no more than 8 are left (the same chain per element) */
typedef float V8 __attribute__((vector_size(32)));

/* unaligned, aliasing floats: a plain vector load (a memcpy stays an interceptor call per load
 * under ASan, a fifth of a sanitized decode step) */
typedef float V8u __attribute__((vector_size(32), aligned(4), may_alias));

/* through a pointer, not returned: a vector return value changes the ABI in builds without AVX
 * (-Wpsabi), where these blocks still compile as generic vector code */
UFO_HOT_INLINE static inline void load8(V8 *v, const float *p)
{
  *v = *(const V8u *)p;
}

/* block() for 8 rows: out[c][r] for r < 8 */
UFO_HOT_LOOP static void block8(const float *at, int64_t ldt, const float *w, int64_t ldw,
                                int64_t k, float out[COLS][LANES])
{
  V8 acc[COLS];
  memset(acc, 0, sizeof acc);
  for (int64_t l = 0; l < k; l++) {
    V8 a;
    load8(&a, at + l * ldt);
    for (int c = 0; c < COLS; c++)
      acc[c] += a * w[c * ldw + l];
  }
  for (int c = 0; c < COLS; c++)
    memcpy(out[c], &acc[c], sizeof acc[c]);
}

#if LANES == 8
/* Without AVX-512, 16 rows: two row vectors x 6 columns, twice (12 accumulators, named so that
 * they stay in registers): per k 2 loads of A and 6 of W feed 12 multiply-adds, where block8
 * needs 1 + 12 loads for 12; each W element is read once per 16 rows. out[c][r] for r < 16; the
 * same chain per element as block8. */
UFO_HOT_LOOP static void block16x6(const float *at, int64_t ldt, const float *w, int64_t ldw,
                                   int64_t k, float *out0, float *out1, float *out2, float *out3,
                                   float *out4, float *out5)
{
  V8 p0 = {0}, p1 = {0}, p2 = {0}, p3 = {0}, p4 = {0}, p5 = {0};
  V8 q0 = {0}, q1 = {0}, q2 = {0}, q3 = {0}, q4 = {0}, q5 = {0};
  const float *w0 = w, *w1 = w + ldw, *w2 = w + 2 * ldw, *w3 = w + 3 * ldw, *w4 = w + 4 * ldw,
              *w5 = w + 5 * ldw;
  for (int64_t l = 0; l < k; l++) {
    V8 a, b;
    load8(&a, at + l * ldt);
    load8(&b, at + l * ldt + 8);
    const float c0 = w0[l], c1 = w1[l], c2 = w2[l], c3 = w3[l], c4 = w4[l], c5 = w5[l];
    p0 += a * c0;
    q0 += b * c0;
    p1 += a * c1;
    q1 += b * c1;
    p2 += a * c2;
    q2 += b * c2;
    p3 += a * c3;
    q3 += b * c3;
    p4 += a * c4;
    q4 += b * c4;
    p5 += a * c5;
    q5 += b * c5;
  }
  const V8 *pv[6] = {&p0, &p1, &p2, &p3, &p4, &p5}, *qv[6] = {&q0, &q1, &q2, &q3, &q4, &q5};
  float *o[6] = {out0, out1, out2, out3, out4, out5};
  for (int c = 0; c < 6; c++) {
    memcpy(o[c], pv[c], sizeof(V8));
    memcpy(o[c] + 8, qv[c], sizeof(V8));
  }
}
#endif

#if LANES == 16
/* out[c][r] = sum over l of at[l·ldt + r] · w[c·ldw + l], each lane one chain in l order */
UFO_HOT_LOOP static void block(const float *at, int64_t ldt, const float *w, int64_t ldw, int64_t k,
                               float out[COLS][LANES])
{
  V16 acc[COLS];
  memset(acc, 0, sizeof acc);
  for (int64_t l = 0; l < k; l++) {
    const V16 a = load16(at + l * ldt);
    for (int c = 0; c < COLS; c++)
      acc[c] += a * w[c * ldw + l];
  }
  memcpy(out, acc, sizeof acc);
}
#endif

typedef struct {
  const UfoGemm *p;
  const float *at;  /* (batch, mpad / pw, K, pw) A^T in panels of pw rows */
  int64_t pw;       /* rows per panel: PANEL, or 8 when M <= 8 (no zero rows read for nothing) */
  int64_t mpad;     /* rows of at per batch entry, M rounded up to pw */
  int64_t group;    /* rows per group, a multiple of pw */
  int64_t part_len; /* columns per part, a multiple of COLS */
  int parts;
} RowsJob;

/* C block (ni rows, nj columns at c) = alpha · out + beta · C + bias, out[col][row] with columns
 * ldo floats apart; beta == 0 never reads C. The scalars are locals: stores to C cannot change
 * them, so they stay in registers. */
UFO_HOT_LOOP static void store_block(float *c, int64_t ldc, int64_t ni, int64_t nj,
                                     const float *out, int64_t ldo, float alpha, float beta,
                                     const float *bias)
{
  for (int64_t r = 0; r < ni; r++) {
    float *crow = c + r * ldc;
    for (int64_t c0 = 0; c0 < nj; c0++) {
      float v = alpha * out[c0 * ldo + r];
      if (beta != 0.f)
        v += beta * crow[c0];
      crow[c0] = bias ? v + bias[c0] : v;
    }
  }
}

/* rows i0 .. i0 + ni − 1 (ni <= pw, i0 a panel's first row) x one column block into C */
static void row_block(const RowsJob *j, const float *at, const float *wb, int64_t ld, int64_t i0,
                      int64_t ni, float *c, int64_t nj, const float *bias)
{
  const UfoGemm *p = j->p;
  const int64_t k = p->a.cols, ldc = p->c.ld;
  const int64_t pw = j->pw;
  const float *panel = at + (size_t)(i0 / pw) * k * pw;
#if LANES == 16
  float out[COLS][LANES];
  if (ni <= 8) /* no zero rows computed for nothing */
    block8(panel, pw, wb, ld, k, out);
  else
    block(panel, pw, wb, ld, k, out);
#else
  /* 16 rows while more than 8 are left (the panel has zero rows past M) */
  float out[COLS][2 * LANES];
  if (ni > LANES) {
    for (int c0 = 0; c0 < COLS; c0 += 6)
      block16x6(panel, pw, wb + c0 * ld, ld, k, out[c0], out[c0 + 1], out[c0 + 2], out[c0 + 3],
                out[c0 + 4], out[c0 + 5]);
  } else {
    float o8[COLS][LANES];
    block8(panel, pw, wb, ld, k, o8);
    for (int c0 = 0; c0 < COLS; c0++)
      memcpy(out[c0], o8[c0], sizeof o8[c0]);
  }
#endif
  store_block(c + i0 * ldc, ldc, ni, nj, out[0], (int64_t)(sizeof out[0] / sizeof(float)), p->alpha,
              p->beta, bias);
}

/* t (mpad / pw panels, each (k, pw)) = rows a[0 .. m) (ld lda) transposed into panels of pw
 * rows (8 or 16), zero rows past m up to mpad. The caller waits for it before the blocks start,
 * so with AVX2 eight rows at a time go through 8x8 transposes in registers, the rows past m as
 * zero vectors (element by element, the scattered stores took about 15 µs for 22 x 768 and
 * 400 µs for 625 x 768: performance.md section 25). Left to the sanitizers (not a UFO_HOT_LOOP):
 * every read is inside rows [0, m) and columns [0, k), every write inside the panels. */
static void transpose_panels(float *t, const float *a, int64_t lda, int64_t m, int64_t k,
                             int64_t pw)
{
  int64_t l0 = 0;
#if defined(__AVX2__)
  for (int64_t i0 = 0; i0 < m; i0 += 8) { /* 8 rows: half a panel of 16, or a panel of 8 */
    float *panel = t + (size_t)(i0 / pw) * k * pw + i0 % pw;
    const float *r[8];
    for (int64_t j = 0; j < 8; j++)
      r[j] = i0 + j < m ? a + (i0 + j) * lda : NULL;
    for (int64_t l = 0; l + 8 <= k; l += 8) {
      __m256 v[8];
      for (int j = 0; j < 8; j++)
        v[j] = r[j] ? _mm256_loadu_ps(r[j] + l) : _mm256_setzero_ps();
      __m256 t0 = _mm256_unpacklo_ps(v[0], v[1]), t1 = _mm256_unpackhi_ps(v[0], v[1]),
             t2 = _mm256_unpacklo_ps(v[2], v[3]), t3 = _mm256_unpackhi_ps(v[2], v[3]),
             t4 = _mm256_unpacklo_ps(v[4], v[5]), t5 = _mm256_unpackhi_ps(v[4], v[5]),
             t6 = _mm256_unpacklo_ps(v[6], v[7]), t7 = _mm256_unpackhi_ps(v[6], v[7]);
      __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE),
             s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE),
             s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE),
             s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
      float *d = panel + l * pw; /* column l + j of the 8 rows: 8 floats at d + j * pw */
      _mm256_storeu_ps(d, _mm256_permute2f128_ps(s0, s4, 0x20));
      _mm256_storeu_ps(d + pw, _mm256_permute2f128_ps(s1, s5, 0x20));
      _mm256_storeu_ps(d + 2 * pw, _mm256_permute2f128_ps(s2, s6, 0x20));
      _mm256_storeu_ps(d + 3 * pw, _mm256_permute2f128_ps(s3, s7, 0x20));
      _mm256_storeu_ps(d + 4 * pw, _mm256_permute2f128_ps(s0, s4, 0x31));
      _mm256_storeu_ps(d + 5 * pw, _mm256_permute2f128_ps(s1, s5, 0x31));
      _mm256_storeu_ps(d + 6 * pw, _mm256_permute2f128_ps(s2, s6, 0x31));
      _mm256_storeu_ps(d + 7 * pw, _mm256_permute2f128_ps(s3, s7, 0x31));
    }
  }
  l0 = k / 8 * 8; /* the last k % 8 columns: element by element below */
#endif
  for (int64_t i = 0; i < m; i++) {
    float *panel = t + (size_t)(i / pw) * k * pw + i % pw;
    for (int64_t l = l0; l < k; l++)
      panel[l * pw] = a[i * lda + l];
  }
}

static void rows_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  (void)worker;
  RowsJob *j = ctx;
  const UfoGemm *p = j->p;
  const int64_t m = p->c.rows, n = p->c.cols, k = p->a.cols;
  const int64_t ldw = p->b.ld;
  float *wpad = g_new0(float, (size_t)COLS *k); /* the last columns, zero rows beside them */
  for (int64_t u = begin; u < end; u++) {
    const int b = (int)(u / j->parts);
    const float *at = j->at + (size_t)b * k * j->mpad;
    const float *w = ufo_cpu_ptr(p->b) + (size_t)b * p->stride_b;
    float *c = ufo_cpu_ptr(p->c) + (size_t)b * p->stride_c;
    const float *bias = p->bias.t ? ufo_cpu_ptr(p->bias) : NULL;
    const int64_t lo = (u % j->parts) * j->part_len, hi = MIN(n, lo + j->part_len);
    /* a last block of fewer columns: columns are independent, so zero columns beside them
     * change nothing */
    const int64_t tail = lo + (hi - lo) / COLS * COLS;
    if (tail < hi) {
      memset(wpad, 0, sizeof(float) * COLS * k);
      for (int64_t c0 = 0; c0 < hi - tail; c0++)
        memcpy(wpad + c0 * k, w + (tail + c0) * ldw, sizeof(float) * k);
    }
    for (int64_t g0 = 0; g0 < m; g0 += j->group) {
      const int64_t g1 = MIN(m, g0 + j->group);
      for (int64_t j0 = lo; j0 < hi; j0 += COLS) {
        const int64_t nj = MIN(COLS, hi - j0);
        const float *wb = nj < COLS ? wpad : w + j0 * ldw;
        const int64_t ld = nj < COLS ? k : ldw;
        for (int64_t i0 = g0; i0 < g1; i0 += j->pw)
          row_block(j, at, wb, ld, i0, MIN(j->pw, g1 - i0), c + j0, nj, bias ? bias + j0 : NULL);
      }
    }
  }
  g_free(wpad);
}

gboolean ufo_cpu_gemm_rows_applies(const UfoGemm *p)
{
  return !p->trans_a && p->trans_b;
}

void ufo_cpu_gemm_rows(UfoCpu *cpu, const UfoGemm *p)
{
  const int64_t m = p->c.rows, n = p->c.cols, k = p->a.cols;
  /* rows padded to whole panels: a block never reads past its panel */
  const int64_t pw = m <= 8 ? 8 : PANEL;
  const int64_t mpad = (m + pw - 1) / pw * pw;
  /* A^T in panels, zero rows past M: rows are independent, so the padding changes nothing */
  float *at = g_new0(float, (size_t)p->batch *k *mpad);
  for (int b = 0; b < p->batch; b++)
    transpose_panels(at + (size_t)b * k * mpad, ufo_cpu_ptr(p->a) + (size_t)b * p->stride_a,
                     p->a.ld, m, k, pw);
  /* parts along the columns, whole blocks, at least 4 blocks each */
  const int64_t blocks = (n + COLS - 1) / COLS;
  int64_t parts = MIN(2 * (int64_t)ufo_pool_threads(cpu->pool), (blocks + 3) / 4);
  parts = MAX(parts, 1);
  RowsJob j = {.p = p, .at = at, .pw = pw, .mpad = mpad};
  /* row groups of as many panels as GROUP_BYTES hold (at least one) */
  j.group = MAX(1, GROUP_BYTES / ((int64_t)sizeof(float) * pw * MAX(k, 1))) * pw;
  j.part_len = (blocks + parts - 1) / parts * COLS;
  j.parts = (int)((n + j.part_len - 1) / j.part_len);
  ufo_pool_run(cpu->pool, (int64_t)j.parts * p->batch, 1, rows_task, &j);
  g_free(at);
}
