/* GEMM: C = alpha * op(A) · op(B) + beta * C + bias, batched (backend.h UfoGemm).
 * Fast path: OpenBLAS cblas_sgemm; GEMMs below UFO_CPU_BLAS_MIN_FLOPS use the plain loop. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize(                                                                              \
    "O3", "fp-contract=fast") /* vectorise the hot loops in debugoptimized builds too */
#endif
#include "cpu.h"

#include <cblas.h>

static inline float elem(const float *m, int64_t ld, gboolean trans, int64_t r, int64_t c)
{
  return trans ? m[c * ld + r] : m[r * ld + c];
}

static void gemm_one_ref(const UfoGemm *p, int b)
{
  const float *a = ufo_cpu_ptr(p->a) + (size_t)b * p->stride_a;
  const float *bm = ufo_cpu_ptr(p->b) + (size_t)b * p->stride_b;
  float *c = ufo_cpu_ptr(p->c) + (size_t)b * p->stride_c;
  const float *bias = p->bias.t ? ufo_cpu_ptr(p->bias) : NULL;
  int64_t m = p->c.rows, n = p->c.cols, k = p->trans_a ? p->a.rows : p->a.cols;
  for (int64_t i = 0; i < m; i++) {
    for (int64_t j = 0; j < n; j++) {
      double s = 0.0;
      for (int64_t l = 0; l < k; l++)
        s += (double)elem(a, p->a.ld, p->trans_a, i, l) * elem(bm, p->b.ld, p->trans_b, l, j);
      double v = p->alpha * s + (bias ? bias[j] : 0.0);
      if (p->beta != 0.f) /* beta == 0 never reads C (it may hold garbage) */
        v += (double)p->beta * c[i * p->c.ld + j];
      c[i * p->c.ld + j] = (float)v;
    }
  }
}

void ufo_cpu_gemm_ref(const UfoGemm *p)
{
  for (int b = 0; b < p->batch; b++)
    gemm_one_ref(p, b);
}

/* Tile [m0, m1) x [n0, n1) of batch b: C = alpha A·B + beta C + bias on that tile. */
static void gemm_tile(const UfoGemm *p, int b, int64_t m0, int64_t m1, int64_t n0, int64_t n1)
{
  int64_t m = m1 - m0, n = n1 - n0, k = p->trans_a ? p->a.rows : p->a.cols;
  const float *a = ufo_cpu_ptr(p->a) + (size_t)b * p->stride_a;
  const float *bm = ufo_cpu_ptr(p->b) + (size_t)b * p->stride_b;
  float *c = ufo_cpu_ptr(p->c) + (size_t)b * p->stride_c + m0 * p->c.ld + n0;
  const float *bias = p->bias.t ? ufo_cpu_ptr(p->bias) + n0 : NULL;
  a += p->trans_a ? m0 : m0 * p->a.ld;  /* rows m0.. of op(A) */
  bm += p->trans_b ? n0 * p->b.ld : n0; /* columns n0.. of op(B) */
  float beta = p->beta;
  if (bias) {
    /* fold the bias into C first, then accumulate the product onto it */
    for (int64_t i = 0; i < m; i++) {
      float *row = c + i * p->c.ld;
      if (beta == 0.f)
        for (int64_t j = 0; j < n; j++)
          row[j] = bias[j];
      else
        for (int64_t j = 0; j < n; j++)
          row[j] = beta * row[j] + bias[j];
    }
    beta = 1.f;
  }
  if ((m <= UFO_CPU_SMALL_M || p->row_stable) && !p->trans_a && p->trans_b) {
    /* a few rows (decode steps): stream each weight row once for all rows, no packing; row
     * stable: every element is the one dot product of its row and column, whatever M */
    for (int64_t j = 0; j < n; j++) {
      const float *w = bm + j * p->b.ld;
      for (int64_t i = 0; i < m; i++) {
        float *cij = c + i * p->c.ld + j;
        float v = p->alpha * ufo_cpu_dot(a + i * p->a.ld, w, k);
        *cij = beta == 0.f ? v : v + beta * *cij;
      }
    }
    return;
  }
  cblas_sgemm(CblasRowMajor, p->trans_a ? CblasTrans : CblasNoTrans,
              p->trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, p->alpha,
              a, (blasint)p->a.ld, bm, (blasint)p->b.ld, beta, c, (blasint)p->c.ld);
}

typedef struct {
  const UfoGemm *p;
  gboolean split_n; /* parts along the columns of C (else along its rows) */
  int parts;
  int64_t part_len;
} GemmJob;

static void gemm_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  GemmJob *j = ctx;
  const UfoGemm *p = j->p;
  for (int64_t u = begin; u < end; u++) {
    int b = (int)(u / j->parts);
    int64_t len = j->split_n ? p->c.cols : p->c.rows;
    int64_t lo = (u % j->parts) * j->part_len, hi = MIN(len, lo + j->part_len);
    if (lo >= hi)
      continue;
    if (j->split_n)
      gemm_tile(p, b, 0, p->c.rows, lo, hi);
    else
      gemm_tile(p, b, lo, hi, 0, p->c.cols);
  }
}

void ufo_cpu_gemm(UfoCpu *cpu, const UfoGemm *p)
{
  int64_t m = p->c.rows, n = p->c.cols, k = p->trans_a ? p->a.rows : p->a.cols;
  const gboolean stable = p->row_stable && !p->trans_a && p->trans_b; /* the dot kernel */
  if (!stable && 2.0 * (double)m * (double)n * (double)k < UFO_CPU_BLAS_MIN_FLOPS) {
    ufo_cpu_gemm_ref(p);
    return;
  }
  /* OpenBLAS runs single-threaded inside the pool's workers (no BLAS threads spinning beside
   * the pool's). Each part repacks the operand that is not split, so split the dimension whose
   * other operand is the smaller one: the columns (weight rows) when M < N, else the rows. */
  GemmJob j = {.p = p, .split_n = m < n || m <= UFO_CPU_SMALL_M || stable};
  int64_t len = j.split_n ? n : m;
  int64_t parts = MIN(2 * (int64_t)ufo_pool_threads(cpu->pool),
                      (len + UFO_CPU_GEMM_MIN_PART - 1) / UFO_CPU_GEMM_MIN_PART);
  j.parts = (int)MAX(parts, 1);
  j.part_len = (len + j.parts - 1) / j.parts;
  j.part_len = (j.part_len + 15) / 16 * 16; /* whole SIMD column groups */
  ufo_pool_run(cpu->pool, (int64_t)j.parts * p->batch, 1, gemm_task, &j);
}
