/* GEMM: C = alpha * op(A) · op(B) + beta * C + bias, batched (backend.h UfoGemm), float32.
 * Fast path: the pool cuts C into tiles, each one single-threaded oneDNN f32 matmul on the
 * operands as they lie (dnnl_mm.c: strides, no weight copy; brgemm with AVX-512 ran 240-250
 * GFLOP/s per thread on ViT-B's weight GEMMs, as OpenBLAS 0.3.21's AVX-512 kernels, twice its AVX2
 * ones, whatever OpenBLAS detects or OPENBLAS_CORETYPE says), or
 * OpenBLAS cblas_sgemm where oneDNN is unavailable or fails; GEMMs below UFO_CPU_BLAS_MIN_FLOPS
 * use the plain loop. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize(                                                                              \
    "O3", "fp-contract=fast") /* vectorise the hot loops in debugoptimized builds too */
#endif
#include "cpu.h"
#include "log.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

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

/* Tile [m0, m1) x [n0, n1) of batch b: C = alpha A·B + beta C + bias on that tile; the product
 * on prim (oneDNN, pool worker `worker`) when given, else OpenBLAS. */
static void gemm_tile(const UfoGemm *p, int b, int64_t m0, int64_t m1, int64_t n0, int64_t n1,
                      UfoDnnlMm *mm, const UfoDnnlMmPrim *prim, int worker)
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
  if (prim && ufo_cpu_mm_run(mm, prim, worker, a, bm, c))
    return;
  cblas_sgemm(CblasRowMajor, p->trans_a ? CblasTrans : CblasNoTrans,
              p->trans_b ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, (blasint)k, p->alpha,
              a, (blasint)p->a.ld, bm, (blasint)p->b.ld, beta, c, (blasint)p->c.ld);
}

typedef struct {
  const UfoGemm *p;
  gboolean split_n; /* parts along the columns of C (else along its rows) */
  int parts;
  int64_t part_len;
  UfoDnnlMm *mm;
  const UfoDnnlMmPrim *prim[2]; /* oneDNN: [0] parts of part_len, [1] the shorter last one */
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
    const UfoDnnlMmPrim *prim = j->prim[hi - lo != j->part_len];
    if (j->split_n)
      gemm_tile(p, b, 0, p->c.rows, lo, hi, j->mm, prim, worker);
    else
      gemm_tile(p, b, lo, hi, 0, p->c.cols, j->mm, prim, worker);
  }
}

/* The oneDNN matmuls of the job's tiles (made before the parallel region); none (OpenBLAS)
 * where oneDNN fails. */
static void prims_get(UfoCpu *cpu, const UfoGemm *p, GemmJob *j)
{
  g_autoptr(GError) err = NULL;
  UfoDnnlMm *mm = ufo_cpu_mm_cache(cpu, &err);
  if (mm == NULL)
    return;
  int64_t k = p->trans_a ? p->a.rows : p->a.cols;
  int64_t len = j->split_n ? p->c.cols : p->c.rows;
  /* the last non-empty tile (part_len is rounded up: trailing parts may be empty) */
  int64_t last = len - ((len - 1) / j->part_len) * j->part_len;
  const UfoDnnlMmPrim *prim[2] = {NULL, NULL};
  for (int t = 0; t < 2; t++) {
    int64_t part = t ? last : MIN(j->part_len, len);
    if (part <= 0 || (t && part == j->part_len))
      continue;
    /* op(A) (m, k), op(B) (k, n) as strides over the stored matrices */
    UfoDnnlMmKey key = {.dt = dnnl_f32,
                        .m = j->split_n ? p->c.rows : part,
                        .n = j->split_n ? part : p->c.cols,
                        .k = k,
                        .sa = {p->trans_a ? 1 : p->a.ld, p->trans_a ? p->a.ld : 1},
                        .sb = {p->trans_b ? 1 : p->b.ld, p->trans_b ? p->b.ld : 1},
                        .ldc = p->c.ld,
                        .alpha = p->alpha,
                        .beta = p->bias.t ? 1.f : p->beta}; /* the bias folded into C first */
    if ((prim[t] = ufo_cpu_mm_get(mm, &key, &err)) == NULL)
      break;
  }
  if (err || !ufo_cpu_mm_reserve(cpu, mm, &err)) {
    static gsize logged;
    if (g_once_init_enter(&logged)) {
      ufo_log(UFO_LOG_WARNING, "fp32 GEMMs on OpenBLAS: %s", err ? err->message : "?");
      g_once_init_leave(&logged, 1);
    }
    return;
  }
  j->mm = mm;
  j->prim[0] = prim[0];
  j->prim[1] = prim[1] ? prim[1] : prim[0];
}

void ufo_cpu_gemm(UfoCpu *cpu, const UfoGemm *p)
{
  int64_t m = p->c.rows, n = p->c.cols, k = p->trans_a ? p->a.rows : p->a.cols;
  if (ufo_cpu_gemm_rows_applies(p) && (p->row_stable || m <= UFO_CPU_SMALL_M)) {
    /* rows that must not depend on one another, or a few rows (decode steps): gemm_rows.c */
    ufo_cpu_gemm_rows(cpu, p);
    return;
  }
  if (2.0 * (double)m * (double)n * (double)k < UFO_CPU_BLAS_MIN_FLOPS) {
    ufo_cpu_gemm_ref(p);
    return;
  }
  /* OpenBLAS runs single-threaded inside the pool's workers (no BLAS threads spinning beside
   * the pool's). Each part repacks the operand that is not split, so split the dimension whose
   * other operand is the smaller one: the columns (weight rows) when M < N, else the rows. */
  GemmJob j = {.p = p, .split_n = m < n};
  int64_t len = j.split_n ? n : m;
  int64_t parts = MIN(2 * (int64_t)ufo_pool_threads(cpu->pool),
                      (len + UFO_CPU_GEMM_MIN_PART - 1) / UFO_CPU_GEMM_MIN_PART);
  j.parts = (int)MAX(parts, 1);
  j.part_len = (len + j.parts - 1) / j.parts;
  j.part_len = (j.part_len + 15) / 16 * 16; /* whole SIMD column groups */
  prims_get(cpu, p, &j);
  ufo_pool_run(cpu->pool, (int64_t)j.parts * p->batch, 1, gemm_task, &j);
}
