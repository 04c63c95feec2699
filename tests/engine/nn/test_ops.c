/* Op tests of a backend (test-backend-ops style, style §4.13), named by --backend=NAME (cpu by
 * default; cuda-emu, cuda: tests/common/backend_by_name.h):
 *  - parity: every op on random tensors through the named backend and the plain reference loops
 *    ("cpu-ref"), compared by normalised MSE with a per-op bound (float32 paths: 1e-10, a
 *    relative L2 error of 1e-5); views are strided and surrounded by sentinel values that must
 *    survive; sizes include odd ones, partial warps and tiles and several blocks;
 *  - hand-checked cases against PyTorch numbers (op_cases.h, make_op_cases.py): decomposed
 *    rel-pos attention, grid_sample, bicubic and linear resize; window partition order; the
 *    70->14 bicubic case equals pos_embed[2::5, 2::5] (inference §5.2). */
#include "backend/backend.h"
#include "backend_by_name.h"
#include "op_cases.h"

#include <math.h>
#include <string.h>

static const char *backend_name = "cpu";

#define SENTINEL 1234.5f
#define PAD 3   /* extra columns per row */
#define TAIL 17 /* extra elements after the last row */

typedef struct {
  UfoBackend *be;
  GPtrArray *tensors;
  GRand *rng;
} Env;

static Env env_new(UfoBackend *be, guint32 seed)
{
  return (Env){be, g_ptr_array_new_with_free_func((GDestroyNotify)ufo_tensor_free),
               g_rand_new_with_seed(seed)};
}

static void env_free(Env *e)
{
  g_ptr_array_unref(e->tensors);
  g_rand_free(e->rng);
}

/* A strided (rows x cols) view inside a sentinel-filled tensor; random values in [-a, a]
 * when a > 0 (the same stream on every backend for the same seed). */
static UfoView mat(Env *e, int64_t rows, int64_t cols, float a)
{
  int64_t ld = cols + PAD;
  size_t n = (size_t)(rows * ld + TAIL);
  float *h = g_new(float, n);
  for (size_t i = 0; i < n; i++)
    h[i] = SENTINEL;
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      h[r * ld + c] = a > 0 ? (float)g_rand_double_range(e->rng, -a, a) : 0.f;
  g_autoptr(GError) err = NULL;
  int64_t ne[1] = {(int64_t)n};
  UfoTensor *t = ufo_tensor_new(e->be, 1, ne, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload(t, 0, h, n, &err));
  g_free(h);
  g_ptr_array_add(e->tensors, t);
  return ufo_view_at(t, 0, rows, cols, ld);
}

static UfoView mat_from(Env *e, int64_t rows, int64_t cols, const float *src)
{
  UfoView v = mat(e, rows, cols, 0.f);
  for (int64_t r = 0; r < rows; r++)
    g_assert_true(ufo_tensor_upload(v.t, v.off + r * v.ld, src + r * cols, cols, NULL));
  return v;
}

/* An i32 index column (n, 1) at element offset 2 of its tensor (elements 0, 1 hold 0): the
 * index operand of embed and gather_rows, uploaded once. */
static UfoView idx_col(Env *e, const int32_t *idx, int n)
{
  int32_t *h = g_new0(int32_t, n + 2);
  memcpy(h + 2, idx, (size_t)n * sizeof(int32_t));
  g_autoptr(GError) err = NULL;
  int64_t ne[1] = {n + 2};
  UfoTensor *t = ufo_tensor_new_typed(e->be, UFO_DTYPE_I32, 1, ne, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload_i32(t, 0, h, (size_t)n + 2, &err));
  g_free(h);
  g_ptr_array_add(e->tensors, t);
  return ufo_view_at(t, 2, n, 1, 1);
}

/* Downloads the view's elements (row-major, packed) and checks the sentinels around it. */
static float *fetch(UfoView v)
{
  float *all = g_new(float, v.t->n);
  g_assert_true(ufo_tensor_download(v.t, 0, all, v.t->n, NULL));
  float *out = g_new(float, v.rows *v.cols);
  for (size_t i = 0; i < v.t->n; i++) {
    gboolean inside =
        i >= v.off && (int64_t)(i - v.off) / v.ld < v.rows && (int64_t)(i - v.off) % v.ld < v.cols;
    if (inside)
      out[((int64_t)(i - v.off) / v.ld) * v.cols + (int64_t)(i - v.off) % v.ld] = all[i];
    else if (all[i] != SENTINEL)
      g_error("sentinel at element %zu overwritten (%g)", i, all[i]);
  }
  g_free(all);
  return out;
}

static double nmse(const float *a, const float *b, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    g_assert_true(isfinite(a[i]) && isfinite(b[i]));
    num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return den > 0 ? num / den : num;
}

static void expect_close(const float *got, const float *want, size_t n, double tol)
{
  for (size_t i = 0; i < n; i++)
    if (fabs((double)got[i] - want[i]) > tol * (1.0 + fabs(want[i])))
      g_error("element %zu: got %.8g, want %.8g", i, got[i], want[i]);
}

/* ---- parity harness: the same builder on both backends ---- */

typedef UfoView (*Builder)(Env *e, const void *params);

static int cpu_threads; /* > 0: the cpu backend gets this many threads (test_gemm_tiles) */

static UfoBackend *named_backend(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = cpu_threads > 0 && strcmp(backend_name, "cpu") == 0
                       ? ufo_backend_cpu_new(cpu_threads, &err)
                       : ufo_test_backend_new(backend_name, &err);
  if (be == NULL)
    g_error("backend %s: %s", backend_name, err->message);
  return be;
}

/* precision = bf16 on both backends first (0: float32) */
static void parity_at(Builder build, const void *params, double bound, const char *what,
                      UfoPrecision precision)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *fast = named_backend(), *ref = ufo_backend_cpu_ref_new(&err);
  g_assert_no_error(err);
  g_assert_true(ufo_backend_set_precision(fast, precision, &err));
  g_assert_true(ufo_backend_set_precision(ref, precision, &err));
  g_assert_no_error(err);
  Env ef = env_new(fast, 7), er = env_new(ref, 7);
  UfoView of = build(&ef, params), orf = build(&er, params);
  float *a = fetch(of), *b = fetch(orf);
  double e = nmse(a, b, (size_t)(of.rows * of.cols));
  if (e > bound)
    g_error("%s: nmse %.3g above %.3g", what, e, bound);
  g_free(a);
  g_free(b);
  env_free(&ef);
  env_free(&er);
  ufo_backend_free(fast);
  ufo_backend_free(ref);
}

static void parity(Builder build, const void *params, double bound, const char *what)
{
  parity_at(build, params, bound, what, UFO_PRECISION_FP32);
}

/* gemm */
typedef struct {
  int m, n, k, ta, tb, bias, beta, batch;
} GemmCase;

/* every element of view v = value (NaN: an output that must never be read) */
static void fill(UfoView v, float value)
{
  float *row = g_new(float, v.cols);
  for (int64_t c = 0; c < v.cols; c++)
    row[c] = value;
  for (int64_t r = 0; r < v.rows; r++)
    g_assert_true(ufo_tensor_upload(v.t, v.off + r * v.ld, row, v.cols, NULL));
  g_free(row);
}

static UfoView build_gemm(Env *e, const void *p)
{
  const GemmCase *c = p;
  int64_t ar = c->ta ? c->k : c->m, ac = c->ta ? c->m : c->k;
  int64_t br = c->tb ? c->n : c->k, bc = c->tb ? c->k : c->n;
  UfoView a = mat(e, ar * c->batch, ac, 1.f), b = mat(e, br * c->batch, bc, 1.f);
  UfoView cc = mat(e, (int64_t)c->m * c->batch, c->n, c->beta ? 1.f : 0.f);
  UfoGemm g = {.a = ufo_view_sub(a, 0, 0, ar, ac),
               .b = ufo_view_sub(b, 0, 0, br, bc),
               .c = ufo_view_sub(cc, 0, 0, c->m, c->n),
               .trans_a = c->ta,
               .trans_b = c->tb,
               .alpha = 0.75f,
               .beta = c->beta ? 1.f : 0.f,
               .batch = c->batch,
               .stride_a = (size_t)(ar * a.ld),
               .stride_b = (size_t)(br * b.ld),
               .stride_c = (size_t)(c->m * cc.ld)};
  if (c->bias)
    g.bias = mat(e, 1, c->n, 1.f);
  if (!c->beta) /* beta == 0 never reads C */
    for (int b = 0; b < c->batch; b++)
      fill(ufo_view_sub(cc, b * c->m, 0, c->m, c->n), NAN);
  g_autoptr(GError) err = NULL;
  g_assert_true(e->be->ops->gemm(e->be, &g, &err));
  return cc;
}

/* precision=bf16: a linear layer (B a weight, (N, K), transposed) twice, with new weight contents
 * in between (a backend's cached bf16 copy must follow them); rows [0, m) and [m, 2m) of C */
static UfoView build_gemm_bf16(Env *e, const void *p)
{
  const GemmCase *c = p;
  UfoView a = mat(e, c->m, c->k, 2.f), b = mat(e, c->n, c->k, 1.f);
  UfoView cc = mat(e, 2 * (int64_t)c->m, c->n, c->beta ? 1.f : 0.f);
  b.t->weight = TRUE;
  UfoGemm g = {
      .a = a, .b = b, .trans_b = TRUE, .alpha = 0.75f, .beta = c->beta ? 1.f : 0.f, .batch = 1};
  if (c->bias)
    g.bias = mat(e, 1, c->n, 1.f);
  g_autoptr(GError) err = NULL;
  for (int pass = 0; pass < 2; pass++) {
    g.c = ufo_view_sub(cc, pass * c->m, 0, c->m, c->n);
    if (!c->beta)
      fill(g.c, NAN);
    g_assert_true(e->be->ops->gemm(e->be, &g, &err));
    g_assert_no_error(err);
    float *nb = g_new(float, c->k);
    for (int64_t r = 0; r < c->n; r++) { /* new weights: row r scaled by (r % 5 - 2) / 2 */
      g_assert_true(ufo_tensor_download(b.t, b.off + r * b.ld, nb, c->k, NULL));
      for (int j = 0; j < c->k; j++)
        nb[j] *= (float)(r % 5 - 2) * 0.5f + (j % 3 == 0 ? 0.3f : 0.f);
      g_assert_true(ufo_tensor_upload(b.t, b.off + r * b.ld, nb, c->k, NULL));
    }
    g_free(nb);
  }
  return cc;
}

static void test_gemm(void)
{
  const GemmCase cases[] = {
      {3, 5, 4, 0, 0, 0, 0, 1},
      {3, 5, 4, 0, 1, 1, 1, 1},
      {7, 6, 5, 1, 0, 1, 0, 2},
      {70, 65, 33, 0, 1, 1, 0, 1},
      {70, 65, 33, 1, 1, 0, 1, 1},
      {40, 96, 64, 0, 1, 1, 1, 3},
      /* few rows against a weight matrix: the weight-streaming kernel */
      {1, 700, 64, 0, 1, 1, 0, 1},
      {2, 300, 100, 0, 1, 0, 1, 2},
      {8, 130, 77, 0, 1, 1, 1, 1},
      {5, 200, 90, 0, 0, 1, 0, 1},
      /* larger, odd: several tiles of a GPU kernel in every dimension, both transpositions */
      {129, 67, 257, 1, 0, 1, 0, 1},
      {33, 257, 129, 1, 1, 1, 1, 2},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    parity(build_gemm, &cases[i], 1e-10, "gemm");
}

static void test_gemm_bf16(void)
{
  /* the same bf16 rounding of A and B on both sides: only the order of the float32 (products
   * of two bf16 are exact) or double sums differs, so the float32 bound holds */
  g_autoptr(GError) err = NULL;
  UfoBackend *be = named_backend();
  gboolean ok = ufo_backend_set_precision(be, UFO_PRECISION_BF16, &err);
  ufo_backend_free(be);
  if (!ok) {
    g_test_skip(err->message);
    return;
  }
  if (strcmp(backend_name, "cpu") == 0 && !ufo_backend_cpu_bf16_native()) {
    g_test_skip("the CPU backend's bf16 runs in fp32 here (no native bf16)");
    return;
  }
  const GemmCase cases[] = {
      {37, 50, 70, 0, 1, 1, 0, 1},
      {1, 300, 64, 0, 1, 0, 1, 1},
      {130, 96, 33, 0, 1, 1, 1, 1},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    parity_at(build_gemm_bf16, &cases[i], 1e-10, "gemm bf16", UFO_PRECISION_BF16);
}

/* linear (backend.h UfoLinear): y = act(LN(x)·W^T + bias) + beta·y, W's rows split between y
 * and y2 (column blocks of one matrix here, returned whole) */
typedef struct {
  int m, n0, n1, k, ln, gelu, residual, bias;
} LinearCase;

static gboolean linear_composed; /* build_linear: ufo_linear_composed instead of ufo_op_linear */

static UfoView build_linear(Env *e, const void *p)
{
  const LinearCase *c = p;
  const int n = c->n0 + c->n1;
  UfoView x = mat(e, c->m, c->k, 2.f), w = mat(e, n, c->k, 1.f);
  UfoView y = mat(e, c->m, n, c->residual ? 1.f : 0.f);
  w.t->weight = TRUE;
  UfoLinear l = {.x = x,
                 .w = w,
                 .y = ufo_view_sub(y, 0, 0, c->m, c->n0),
                 .beta = c->residual ? 1.f : 0.f,
                 .gelu = c->gelu};
  if (c->n1)
    l.y2 = ufo_view_sub(y, 0, c->n0, c->m, c->n1);
  if (c->bias)
    l.bias = mat(e, 1, n, 1.f);
  if (c->ln) {
    l.ln_w = mat(e, 1, c->k, 1.5f);
    l.ln_b = mat(e, 1, c->k, 0.5f);
    l.ln_out = mat(e, c->m, c->k, 0.f);
    l.ln_eps = 1e-6f;
  }
  if (!c->residual) /* beta == 0 never reads y */
    fill(y, NAN);
  g_autoptr(GError) err = NULL;
  g_assert_true(linear_composed ? ufo_linear_composed(e->be, &l, &err)
                                : ufo_op_linear(e->be, &l, &err));
  g_assert_no_error(err);
  return y;
}

static const LinearCase linear_cases[] = {
    {1, 40, 0, 64, 1, 0, 0, 1},    /* one row, LN first */
    {3, 24, 48, 72, 1, 0, 0, 1},   /* two destinations (q and the K/V slot) */
    {7, 50, 0, 100, 1, 1, 0, 1},   /* LN and GELU; K % 8 = 4; a partial block of columns */
    {16, 33, 0, 259, 0, 0, 1, 1},  /* the most rows fused, a residual, K past two lane strides */
    {5, 70, 0, 31, 0, 0, 0, 0},    /* no bias; K under one lane stride */
    {2, 150, 60, 40, 1, 0, 0, 1},  /* 14 column tiles: more than a capped grid has blocks */
    {17, 20, 12, 40, 1, 1, 0, 1},  /* more rows than any fused kernel: composed */
    {150, 130, 0, 96, 1, 1, 0, 1}, /* the CPU's blocks of rows (2 threads or more), LN, GELU */
    {140, 72, 96, 64, 1, 0, 0, 1}, /* ... with two destinations */
};

/* fp32: the composed ops everywhere (the fused kernels are bf16 only) */
static void test_linear_layer(void)
{
  for (size_t i = 0; i < G_N_ELEMENTS(linear_cases); i++)
    parity(build_linear, &linear_cases[i], 1e-10, "linear");
}

/* bf16: a backend that fuses gives what its own composed ops give (the same LN values and
 * bf16 rounding: only the order of the float32 sums differs, so the float32 bound holds) and,
 * against the reference loops, what the rounding of LN(x) allows (an LN value an ulp apart may
 * round to the neighbouring bf16: 2^-8 relative on that element). The CUDA backends fuse up to
 * 16 rows at bf16, the CPU wherever no product is under UFO_CPU_BLAS_MIN_FLOPS, bit for bit its
 * composed ops (asserted: the paths are exercised). */
static void test_linear_bf16(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = named_backend();
  gboolean ok = ufo_backend_set_precision(be, UFO_PRECISION_BF16, &err);
  if (!ok || (strcmp(backend_name, "cpu") == 0 && !ufo_backend_cpu_bf16_native())) {
    ufo_backend_free(be);
    g_test_skip(ok ? "the CPU backend's bf16 runs in fp32 here (no native bf16)" : err->message);
    return;
  }
  const gboolean cuda = g_str_has_prefix(backend_name, "cuda");
  for (size_t i = 0; i < G_N_ELEMENTS(linear_cases); i++) {
    const LinearCase *c = &linear_cases[i];
    Env ea = env_new(be, 7);
    UfoView probe_x = mat(&ea, c->m, c->k, 1.f), probe_w = mat(&ea, c->n0 + c->n1, c->k, 1.f);
    probe_w.t->weight = TRUE;
    UfoLinear probe = {.x = probe_x, .w = probe_w, .y = mat(&ea, c->m, c->n0, 0.f)};
    if (c->n1)
      probe.y2 = mat(&ea, c->m, c->n1, 0.f);
    const gboolean fuses = be->ops->linear_fuses && be->ops->linear_fuses(be, &probe);
    /* the CPU fuses wherever none of its products is small enough for the plain loop */
    const gboolean cpu_fuses = strcmp(backend_name, "cpu") == 0 &&
                               2.0 * c->m * c->k * MIN(c->n0, c->n1 ? c->n1 : c->n0) >= 32768.0;
    g_assert_true(fuses == ((cuda && c->m <= 16) || cpu_fuses));
    env_free(&ea);
    Env ef = env_new(be, 7), ec = env_new(be, 7);
    UfoView yf = build_linear(&ef, c);
    linear_composed = TRUE;
    UfoView yc = build_linear(&ec, c);
    linear_composed = FALSE;
    float *a = fetch(yf), *b = fetch(yc);
    double d = nmse(a, b, (size_t)(yf.rows * yf.cols));
    if (fuses && !cuda && d != 0) /* the CPU's fused job runs the composed ops' own code */
      g_error("linear bf16 case %zu: the CPU's fused linear is not bit for bit its ops (nmse %.3g)",
              i, d);
    if (d > 1e-10)
      g_error("linear bf16 case %zu: fused against composed nmse %.3g", i, d);
    g_free(a);
    g_free(b);
    env_free(&ef);
    env_free(&ec);
    parity_at(build_linear, c, c->ln ? 1e-6 : 1e-10, "linear bf16", UFO_PRECISION_BF16);
  }
  ufo_backend_free(be);
}

/* The CPU's fp32 GEMM tiles (gemm.c: 2 per thread, lengths rounded up to 16, one oneDNN matmul
 * per tile length): 3 threads cut 385 rows (or columns) into tiles of 80 with the sixth empty and
 * a last one of 65, the case a wrong "last tile" shape would get wrong; 8 threads, 1,025. */
static void test_gemm_tiles(void)
{
  const GemmCase cases[] = {
      {385, 40, 33, 0, 1, 1, 0, 1},
      {20, 385, 33, 0, 1, 1, 1, 1},
      {385, 24, 17, 1, 0, 0, 1, 2},
      {1025, 30, 16, 0, 1, 1, 0, 1},
  };
  for (int t = 0; t < 2; t++) {
    cpu_threads = t ? 8 : 3;
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
      parity(build_gemm, &cases[i], 1e-10, "gemm tiles");
  }
  cpu_threads = 0;
}

/* row-stable GEMMs (backend.h UfoGemm.row_stable: decode steps and draft passes): A (M, K) ·
 * W (N, K)^T · 0.75 + bias, every M from 1 to thousands of rows (the CPU's gemm_rows.c: panels
 * of 8 or 16 rows, row groups sized to the cache, a partial last column block) */
typedef struct {
  int m, n, k;
} RowsGemmCase;

static UfoGemm rows_gemm(UfoView a, UfoView w, UfoView bias, UfoView c)
{
  return (UfoGemm){.a = a,
                   .b = w,
                   .c = c,
                   .bias = bias,
                   .trans_b = TRUE,
                   .alpha = 0.75f,
                   .batch = 1,
                   .row_stable = TRUE};
}

static UfoView build_gemm_row_stable(Env *e, const void *p)
{
  const RowsGemmCase *c = p;
  UfoView a = mat(e, c->m, c->k, 1.f), w = mat(e, c->n, c->k, 1.f), bias = mat(e, 1, c->n, 1.f);
  UfoView cc = mat(e, c->m, c->n, 0.f);
  UfoGemm g = rows_gemm(a, w, bias, cc);
  g_autoptr(GError) err = NULL;
  g_assert_true(e->be->ops->gemm(e->be, &g, &err));
  return cc;
}

static void test_gemm_row_stable(void)
{
  /* K not a multiple of 8 too: the CPU transposes A in 8x8 blocks and the last K % 8 columns
   * element by element (gemm_rows.c transpose_panels) */
  const RowsGemmCase cases[] = {{1, 29, 200},     {9, 29, 200}, {700, 29, 200},
                                {2000, 40, 1000}, {5, 29, 203}, {22, 40, 77}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    parity(build_gemm_row_stable, &cases[i], 1e-10, "row-stable gemm");
  /* the same rows alone give the same bits (the CPU), or within rounding (other backends) */
  UfoBackend *be = named_backend();
  Env e = env_new(be, 11);
  const int M = 700, N = 29, K = 200, sub[][2] = {{333, 12}, {0, 1}, {690, 10}, {100, 300}};
  UfoView a = mat(&e, M, K, 1.f), w = mat(&e, N, K, 1.f), bias = mat(&e, 1, N, 1.f);
  UfoView all = mat(&e, M, N, 0.f);
  g_autoptr(GError) err = NULL;
  UfoGemm g = rows_gemm(a, w, bias, all);
  g_assert_true(be->ops->gemm(be, &g, &err));
  float *want = fetch(all);
  const gboolean cpu = strcmp(backend_name, "cpu") == 0;
  for (size_t s = 0; s < G_N_ELEMENTS(sub); s++) {
    const int r0 = sub[s][0], n = sub[s][1];
    UfoView part = mat(&e, n, N, 0.f);
    g = rows_gemm(ufo_view_sub(a, r0, 0, n, K), w, bias, part);
    g_assert_true(be->ops->gemm(be, &g, &err));
    g_assert_no_error(err);
    float *got = fetch(part);
    if (cpu)
      g_assert_cmpmem(got, sizeof(float) * n * N, want + (size_t)r0 * N, sizeof(float) * n * N);
    else
      expect_close(got, want + (size_t)r0 * N, (size_t)n * N, 1e-5);
    g_free(got);
  }
  g_free(want);
  env_free(&e);
  ufo_backend_free(be);
}

/* row-wise ops */
typedef struct {
  int op, rows, cols;
} RowCase;

static UfoView build_rows(Env *e, const void *p)
{
  const RowCase *c = p;
  UfoView x = mat(e, c->rows, c->cols, 3.f), y = mat(e, c->rows, c->cols, 0.f);
  g_autoptr(GError) err = NULL;
  gboolean ok = FALSE;
  switch (c->op) {
  case 0:
    ok = e->be->ops->layer_norm(e->be, y, x, mat(e, 1, c->cols, 1.f), mat(e, 1, c->cols, 1.f),
                                1e-6f, &err);
    break;
  case 1:
    ok = e->be->ops->gelu(e->be, y, x, &err);
    break;
  case 2:
    ok = e->be->ops->add(e->be, y, x, mat(e, 1, c->cols, 1.f), &err); /* broadcast row */
    break;
  case 3:
    ok = e->be->ops->add(e->be, y, x, mat(e, c->rows, c->cols, 1.f), &err);
    break;
  case 4:
    ok = e->be->ops->copy(e->be, y, x, &err);
    break;
  case 5:
    for (int k = 0; k < 3; k++) /* mean of 3 layers */
      ok = e->be->ops->mean_acc(e->be, y, mat(e, c->rows, c->cols, 1.f), k, 3, &err);
    break;
  case 6:
    ok = e->be->ops->layer_norm(e->be, x, x, mat(e, 1, c->cols, 1.f), mat(e, 1, c->cols, 1.f),
                                1e-12f, &err); /* in place */
    y = x;
    break;
  }
  g_assert_no_error(err);
  g_assert_true(ok);
  return y;
}

static void test_rows(void)
{
  /* 48 and 200 columns: partial warps and several columns per thread of a row's warp */
  for (int op = 0; op <= 6; op++)
    for (int r = 1; r <= 70; r += 23)
      for (int cols = 48; cols <= 200; cols += 152) {
        RowCase c = {op, r, cols};
        parity(build_rows, &c, op == 1 ? 1e-12 : 1e-11, "row op");
      }
}

/* attention */
typedef struct {
  int groups, gq, nh, d, rel_h, rel_w, self, masked;
  int nseg;
  int n[2], gstride[2];
  int causal; /* bit s: segment s is causal */
} AttnCase;

/* The attention of case c over tensors made in e (q, out and the keys random; out zero). */
static UfoAttention make_attn(Env *e, const AttnCase *c)
{
  int C = c->nh * c->d;
  int64_t nq = (int64_t)c->groups * c->gq;
  UfoView q = mat(e, nq, C, 1.5f), out = mat(e, nq, C, 0.f);
  UfoAttention at = {.q = q,
                     .out = out,
                     .n_groups = c->groups,
                     .group_q = c->gq,
                     .n_heads = c->nh,
                     .head_dim = c->d,
                     .scale = 1.f / sqrtf((float)c->d),
                     .n_segs = c->nseg,
                     .rel_h = c->rel_h,
                     .rel_w = c->rel_w};
  for (int s = 0; s < c->nseg; s++) {
    int64_t rows = (int64_t)(c->groups - 1) * c->gstride[s] + c->n[s];
    UfoView kv = mat(e, rows, 2 * C, 1.5f);
    at.seg[s] = (UfoAttnKeys){.k = ufo_view_sub(kv, 0, 0, rows, C),
                              .v = ufo_view_sub(kv, 0, C, rows, C),
                              .n = c->n[s],
                              .group_stride = c->gstride[s]};
    if (s == 0 && c->masked) {
      float *m = g_new0(float, c->n[s]);
      for (int j = 1; j < c->n[s]; j += 3)
        m[j] = -INFINITY;
      at.seg[s].mask = mat_from(e, 1, c->n[s], m);
      g_free(m);
    }
    if (s == c->nseg - 1 && c->rel_h)
      at.seg[s].rel_pos = TRUE;
    at.seg[s].causal = (c->causal >> s) & 1;
  }
  if (c->rel_h) {
    at.rel_h_table = mat(e, 2 * c->rel_h - 1, c->d, 1.f);
    at.rel_w_table = mat(e, 2 * c->rel_w - 1, c->d, 1.f);
  }
  if (c->self) {
    UfoView kv = mat(e, nq, 2 * C, 1.5f);
    at.self_key = TRUE;
    at.self_k = ufo_view_sub(kv, 0, 0, nq, C);
    at.self_v = ufo_view_sub(kv, 0, C, nq, C);
  }
  return at;
}

static UfoView build_attn(Env *e, const void *p)
{
  UfoAttention at = make_attn(e, p);
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_op_attention(e->be, &at, &err));
  g_assert_no_error(err);
  return at.out;
}

static void test_attention(void)
{
  const AttnCase cases[] = {
      /* text: one group, masked keys */
      {1, 9, 2, 8, 0, 0, 0, 1, 1, {9, 0}, {0, 0}},
      /* image windows: shared text + per-window tokens with rel-pos (region 5x7, 40 > QB) */
      {3, 35, 2, 16, 5, 7, 0, 1, 2, {6, 35}, {0, 35}},
      /* 130 queries: a full block and a 2-query remainder (query-by-query path), rel-pos 10x13 */
      {2, 130, 2, 16, 10, 13, 0, 1, 2, {5, 130}, {0, 130}},
      /* grid: per-window image keys + own key */
      {4, 5, 3, 8, 0, 0, 1, 0, 1, {12, 0}, {12, 0}},
      /* decode: per-row prefix of 1 + own tokens (stride = max_len) */
      {6, 1, 2, 8, 0, 0, 0, 0, 2, {1, 3}, {1, 5}},
      /* decode from image: shared prefix */
      {3, 1, 2, 40, 0, 0, 0, 0, 2, {20, 2}, {0, 4}},
      /* GPU kernel shapes (cuda attention.cu): a 14x14 window, odd head_dim, partial tiles */
      {2, 196, 1, 12, 14, 14, 0, 1, 2, {7, 196}, {0, 196}},
      /* 200 decode rows: shared masked keys (>= one key tile: split path) + own KV + own key */
      {200, 1, 2, 20, 0, 0, 1, 1, 2, {70, 5}, {0, 7}},
      /* 3 queries per group, all keys shared, own key; head_dim above 64 */
      {30, 3, 2, 100, 0, 0, 1, 1, 2, {65, 9}, {0, 0}},
      /* grid-like: 70 queries (a full and a partial query tile) + own key, head_dim 33 */
      {3, 70, 2, 33, 0, 0, 1, 0, 1, {150, 0}, {150, 0}},
      /* rel-pos 9x9 over head_dim 100, 1 head */
      {1, 81, 1, 100, 9, 9, 0, 0, 1, {81, 0}, {0, 0}},
      /* decode passes (causal own keys): grid prefix of 1 + 17 positions over 4 + 17 slots */
      {6, 17, 2, 8, 0, 0, 0, 0, 2, {1, 21}, {1, 24}, 2},
      /* shared masked image keys (split path) + causal own keys + own key, head_dim 40 */
      {40, 3, 2, 40, 0, 0, 1, 1, 2, {70, 5}, {0, 7}, 2},
      /* a causal segment first, n == group_q, then a per-group one; head_dim 100 */
      {5, 4, 2, 100, 0, 0, 0, 0, 2, {4, 3}, {6, 3}, 1},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++)
    parity(build_attn, &cases[i], 1e-10, "attention");
}

/* Causal segments (backend.h UfoAttnKeys.causal): each query's result is that of a call of one
 * query over the keys it sees: bit for bit on the CPU (decode passes keep step-by-step decoding's
 * results there: nn/decode_pass.c), within 1e-6 on CUDA, where 120 rows over shared keys take
 * the split path and one row the row kernel (other sums, the same math). */
static void test_attention_causal(void)
{
  const gboolean exact = g_str_has_prefix(backend_name, "cpu");
  const AttnCase cases[] = {
      {6, 17, 2, 8, 0, 0, 0, 0, 2, {1, 21}, {1, 24}, 2},
      {40, 3, 2, 40, 0, 0, 1, 1, 2, {70, 5}, {0, 7}, 2},
      {5, 4, 2, 100, 0, 0, 0, 0, 2, {4, 3}, {6, 3}, 1},
  };
  for (size_t ci = 0; ci < G_N_ELEMENTS(cases); ci++) {
    const AttnCase *c = &cases[ci];
    g_autoptr(GError) err = NULL;
    UfoBackend *be = named_backend();
    Env e = env_new(be, 11);
    UfoAttention at = make_attn(&e, c);
    /* the rows between a causal segment's groups are NaN: nothing reads past a group's keys */
    for (int s = 0; s < c->nseg; s++)
      if (at.seg[s].causal)
        for (int g = 0; g + 1 < c->groups; g++)
          for (int64_t r = c->n[s]; r < c->gstride[s]; r++)
            fill(ufo_view_sub(at.seg[s].k, (int64_t)g * c->gstride[s] + r, 0, 1, at.seg[s].k.cols),
                 NAN);
    g_assert_true(ufo_op_attention(be, &at, &err));
    g_assert_no_error(err);
    float *all = fetch(at.out);
    const int64_t C = at.q.cols;
    UfoView one_out = mat(&e, 1, C, 0.f);
    for (int g = 0; g < c->groups; g++)
      for (int i = 0; i < c->gq; i++) {
        const int64_t row = (int64_t)g * c->gq + i;
        UfoAttention one = at;
        one.n_groups = 1;
        one.group_q = 1;
        one.q = ufo_view_sub(at.q, row, 0, 1, C);
        one.out = one_out;
        if (at.self_key) {
          one.self_k = ufo_view_sub(at.self_k, row, 0, 1, C);
          one.self_v = ufo_view_sub(at.self_v, row, 0, 1, C);
        }
        for (int s = 0; s < c->nseg; s++) {
          UfoAttnKeys *sg = &one.seg[s];
          int64_t k0 = (int64_t)g * sg->group_stride;
          int64_t n = sg->causal ? sg->n - (c->gq - 1 - i) : sg->n;
          sg->k = ufo_view_sub(sg->k, k0, 0, n, C);
          sg->v = ufo_view_sub(sg->v, k0, 0, n, C);
          sg->n = n;
          sg->group_stride = 0;
          sg->causal = FALSE;
          if (sg->mask.t)
            sg->mask = ufo_view_sub(sg->mask, 0, 0, 1, n);
        }
        g_assert_true(ufo_op_attention(be, &one, &err));
        g_assert_no_error(err);
        float *got = fetch(one_out);
        for (int64_t l = 0; l < C; l++)
          if (exact ? memcmp(&got[l], &all[row * C + l], sizeof(float)) != 0
                    : fabsf(got[l] - all[row * C + l]) > 1e-6f * (1.f + fabsf(got[l])))
            g_error("case %zu, group %d, query %d, column %lld: %.9g in the causal call, %.9g "
                    "alone",
                    ci, g, i, (long long)l, all[row * C + l], got[l]);
        g_free(got);
      }
    g_free(all);
    /* validation: a causal segment shorter than the group, or with rel-pos */
    UfoAttention bad = at;
    bad.seg[c->nseg - 1].n = c->gq - 1;
    bad.seg[c->nseg - 1].causal = TRUE;
    g_assert_false(ufo_op_attention(be, &bad, &err));
    g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
    env_free(&e);
    ufo_backend_free(be);
  }
}

/* layout and resampling */
typedef struct {
  int op;
} MiscCase;

static const float grid_ref[] = {0.5f,  0.5f,  0.f,   0.f,  1.f,   1.f,
                                 0.03f, 0.97f, 0.71f, 0.2f, -0.1f, 0.4f};

static UfoView build_misc(Env *e, const void *p)
{
  const MiscCase *c = p;
  g_autoptr(GError) err = NULL;
  gboolean ok = FALSE;
  UfoView y = UFO_VIEW_NONE;
  static const int32_t idx[] = {4, 0, 4, 2, 1};
  switch (c->op) {
  case 0: {
    UfoView x = mat(e, 6 * 9, 5, 1.f);
    y = mat(e, 6 * 9, 5, 0.f);
    ok = e->be->ops->window_partition(e->be, y, x, 6, 9, 3, &err);
    break;
  }
  case 1: {
    UfoView x = mat(e, 6 * 9, 5, 1.f);
    y = mat(e, 6 * 9, 5, 0.f);
    ok = e->be->ops->window_unpartition(e->be, y, x, 6, 9, 3, &err);
    break;
  }
  case 2: {
    UfoView x = mat(e, 5, 7, 1.f);
    y = mat(e, 5, 7, 0.f);
    ok = e->be->ops->gather_rows(e->be, y, x, idx_col(e, idx, 5), &err);
    break;
  }
  case 3: {
    UfoView x = mat(e, 5, 7, 1.f);
    y = mat(e, 5, 7, 0.f);
    ok = e->be->ops->embed(e->be, y, x, idx_col(e, idx, 5), &err);
    break;
  }
  case 4: {
    UfoView x = mat(e, 3 * 8, 12, 1.f);
    y = mat(e, 2 * 3, 3 * 4 * 4, 0.f);
    ok = e->be->ops->patchify(e->be, y, x, 8, 12, 4, &err);
    break;
  }
  case 5: {
    UfoView x = mat(e, 5 * 4, 6, 1.f);
    y = mat(e, 6, 6, 0.f);
    ok = e->be->ops->grid_sample(e->be, y, x, 5, 4, mat_from(e, 6, 2, grid_ref), &err);
    break;
  }
  case 6: {
    UfoView x = mat(e, 7 * 9, 4, 1.f);
    y = mat(e, 4 * 5, 4, 0.f);
    ok = e->be->ops->resize_bicubic(e->be, y, x, 7, 9, 4, 5, &err);
    break;
  }
  case 7: {
    UfoView x = mat(e, 11, 4, 1.f);
    y = mat(e, 5, 4, 0.f);
    ok = e->be->ops->resize_linear(e->be, y, x, &err);
    break;
  }
  /* larger shapes: several blocks of a GPU kernel, odd channel counts */
  case 8: {
    UfoView x = mat(e, 28 * 21, 9, 1.f);
    y = mat(e, 28 * 21, 9, 0.f);
    ok = e->be->ops->window_unpartition(e->be, y, x, 28, 21, 7, &err) &&
         e->be->ops->window_partition(e->be, x, y, 28, 21, 7, &err);
    y = x;
    break;
  }
  case 9: { /* in-place compaction: y is the first rows of x, idx[i] >= i */
    static const int32_t up[] = {0, 2, 3, 3, 5, 8, 8};
    y = mat(e, 9, 37, 1.f);
    ok = e->be->ops->gather_rows(e->be, ufo_view_sub(y, 0, 0, 7, 37), y, idx_col(e, up, 7), &err);
    break;
  }
  case 10: { /* many points, inside and outside the map */
    enum { Q = 301 };
    float pts[2 * Q];
    for (int i = 0; i < 2 * Q; i++)
      pts[i] = -0.15f + 1.3f * (float)((i * 7919) % 1000) / 1000.f;
    UfoView x = mat(e, 13 * 11, 33, 1.f);
    y = mat(e, Q, 33, 0.f);
    ok = e->be->ops->grid_sample(e->be, y, x, 13, 11, mat_from(e, Q, 2, pts), &err);
    break;
  }
  case 11: {
    UfoView x = mat(e, 14 * 14, 5, 1.f);
    y = mat(e, 23 * 17, 5, 0.f);
    ok = e->be->ops->resize_bicubic(e->be, y, x, 14, 14, 23, 17, &err);
    break;
  }
  case 12: {
    UfoView x = mat(e, 3 * 24, 40, 1.f);
    y = mat(e, 3 * 5, 3 * 8 * 8, 0.f);
    ok = e->be->ops->patchify(e->be, y, x, 24, 40, 8, &err);
    break;
  }
  case 13: {
    UfoView x = mat(e, 27, 65, 1.f);
    y = mat(e, 45, 65, 0.f);
    ok = e->be->ops->resize_linear(e->be, y, x, &err);
    break;
  }
  case 14: { /* embedding rows of a larger table */
    int32_t ids[300];
    for (int i = 0; i < 300; i++)
      ids[i] = (i * 37) % 211;
    UfoView x = mat(e, 211, 19, 1.f);
    y = mat(e, 300, 19, 0.f);
    ok = e->be->ops->embed(e->be, y, x, idx_col(e, ids, 300), &err);
    break;
  }
  }
  g_assert_no_error(err);
  g_assert_true(ok);
  return y;
}

static void test_misc(void)
{
  for (int op = 0; op <= 14; op++) {
    MiscCase c = {op};
    parity(build_misc, &c, 1e-12, "layout/resample");
  }
}

/* ---- hand-checked cases ---- */

static UfoBackend *fast_backend(void)
{
  return named_backend();
}

static void test_window_order(void)
{
  /* 4x4 map, windows 2x2: windows row-major, tokens row-major inside (inference §5.1) */
  UfoBackend *be = fast_backend();
  Env e = env_new(be, 1);
  float in[16];
  for (int i = 0; i < 16; i++)
    in[i] = (float)i;
  UfoView x = mat_from(&e, 16, 1, in), y = mat(&e, 16, 1, 0.f), z = mat(&e, 16, 1, 0.f);
  g_assert_true(be->ops->window_partition(be, y, x, 4, 4, 2, NULL));
  g_assert_true(be->ops->window_unpartition(be, z, y, 4, 4, 2, NULL));
  static const float want[16] = {0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 12, 13, 10, 11, 14, 15};
  float *got = fetch(y), *back = fetch(z);
  expect_close(got, want, 16, 0);
  expect_close(back, in, 16, 0);
  g_free(got);
  g_free(back);
  env_free(&e);
  ufo_backend_free(be);
}

static void check_relpos(UfoBackend *be)
{
  Env e = env_new(be, 1);
  int h = 3, w = 2, d = 4, C = 8;
  UfoView q = mat_from(&e, 6, C, relpos_q), k = mat_from(&e, 6, C, relpos_k),
          v = mat_from(&e, 6, C, relpos_v), out = mat(&e, 6, C, 0.f);
  UfoAttention at = {.q = q,
                     .out = out,
                     .n_groups = 1,
                     .group_q = 6,
                     .n_heads = 2,
                     .head_dim = d,
                     .scale = 0.5f,
                     .n_segs = 1,
                     .seg[0] = {.k = k, .v = v, .n = 6, .rel_pos = TRUE},
                     .rel_h_table = mat_from(&e, 2 * h - 1, d, relpos_rh),
                     .rel_w_table = mat_from(&e, 2 * w - 1, d, relpos_rw),
                     .rel_h = h,
                     .rel_w = w};
  g_autoptr(GError) err = NULL;
  g_assert_true(be->ops->attention(be, &at, &err));
  float *got = fetch(out);
  expect_close(got, relpos_out, 48, 1e-5);
  g_free(got);
  env_free(&e);
}

static void test_relpos(void)
{
  UfoBackend *be = fast_backend();
  check_relpos(be);
  ufo_backend_free(be);
  be = ufo_backend_cpu_ref_new(NULL);
  check_relpos(be);
  ufo_backend_free(be);
}

static void test_grid_sample(void)
{
  UfoBackend *be = fast_backend();
  Env e = env_new(be, 1);
  UfoView x = mat_from(&e, 20, 3, gs_map), y = mat(&e, 7, 3, 0.f);
  g_assert_true(be->ops->grid_sample(be, y, x, 5, 4, mat_from(&e, 7, 2, gs_ref), NULL));
  float *got = fetch(y);
  expect_close(got, gs_out, 21, 1e-6);
  g_free(got);
  env_free(&e);
  ufo_backend_free(be);
}

static void test_bicubic(void)
{
  UfoBackend *be = fast_backend();
  Env e = env_new(be, 1);
  UfoView x = mat_from(&e, 42, 2, bc_down_in), y = mat(&e, 12, 2, 0.f);
  g_assert_true(be->ops->resize_bicubic(be, y, x, 7, 6, 3, 4, NULL));
  float *got = fetch(y);
  expect_close(got, bc_down_out, 24, 1e-5);
  g_free(got);
  x = mat_from(&e, 20, 2, bc_up_in);
  y = mat(&e, 63, 2, 0.f);
  g_assert_true(be->ops->resize_bicubic(be, y, x, 4, 5, 9, 7, NULL));
  got = fetch(y);
  expect_close(got, bc_up_out, 126, 1e-5);
  g_free(got);
  /* inference §5.2: 70 -> 14 samples exactly pos_embed[2::5, 2::5] */
  UfoView t = mat(&e, 70 * 70, 3, 1.f), s = mat(&e, 14 * 14, 3, 0.f);
  g_assert_true(be->ops->resize_bicubic(be, s, t, 70, 70, 14, 14, NULL));
  float *tab = fetch(t), *sub = fetch(s);
  for (int oy = 0; oy < 14; oy++)
    for (int ox = 0; ox < 14; ox++)
      for (int c = 0; c < 3; c++)
        g_assert_cmpfloat(sub[(oy * 14 + ox) * 3 + c], ==,
                          tab[((5 * oy + 2) * 70 + 5 * ox + 2) * 3 + c]);
  g_free(tab);
  g_free(sub);
  env_free(&e);
  ufo_backend_free(be);
}

static void test_linear(void)
{
  UfoBackend *be = fast_backend();
  Env e = env_new(be, 1);
  UfoView x = mat_from(&e, 11, 3, lin_down_in), y = mat(&e, 5, 3, 0.f);
  g_assert_true(be->ops->resize_linear(be, y, x, NULL));
  float *got = fetch(y);
  expect_close(got, lin_down_out, 15, 1e-6);
  g_free(got);
  x = mat_from(&e, 5, 3, lin_up_in);
  y = mat(&e, 9, 3, 0.f);
  g_assert_true(be->ops->resize_linear(be, y, x, NULL));
  got = fetch(y);
  expect_close(got, lin_up_out, 27, 1e-6);
  g_free(got);
  env_free(&e);
  ufo_backend_free(be);
}

static void test_errors(void)
{
  UfoBackend *be = fast_backend();
  Env e = env_new(be, 1);
  g_autoptr(GError) err = NULL;
  UfoView a = mat(&e, 4, 5, 1.f), b = mat(&e, 6, 5, 1.f), c = mat(&e, 4, 7, 0.f);
  UfoGemm g = {.a = a, .b = b, .c = c, .trans_b = TRUE, .alpha = 1.f, .batch = 1};
  g_assert_false(ufo_op_gemm(be, &g, &err)); /* N mismatch: 6 vs 7 */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  UfoView big = ufo_view_at(a.t, 0, 100, 5, 8); /* beyond the tensor */
  g_assert_false(ufo_op_copy(be, big, big, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  static const int32_t bad[] = {0, 9};
  g_assert_false(ufo_op_embed(be, ufo_view_sub(c, 0, 0, 2, 5), a, idx_col(&e, bad, 2), &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  /* typed transfers: floats into an i32 tensor and back are refused, i32 round-trips */
  UfoView ix = idx_col(&e, bad, 2);
  float f2[2] = {0.f, 1.f};
  g_assert_false(ufo_tensor_upload(ix.t, 0, f2, 2, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_false(ufo_tensor_download(ix.t, 0, f2, 2, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  int32_t back[4];
  g_assert_true(ufo_tensor_download_i32(ix.t, 0, back, 4, &err));
  g_assert_no_error(err);
  g_assert_cmpint(back[0], ==, 0);
  g_assert_cmpint(back[2], ==, 0);
  g_assert_cmpint(back[3], ==, 9);
  env_free(&e);
  ufo_backend_free(be);
}

/* CUDA backends: out of device memory is an error that says how much was asked and is free */
static void test_device_memory(void)
{
  if (!g_str_has_prefix(backend_name, "cuda")) {
    g_test_skip("CUDA backends only");
    return;
  }
  UfoBackend *be = named_backend();
  g_autoptr(GError) err = NULL;
  UfoTensor *t = ufo_tensor_new_2d(be, (int64_t)1 << 20, (int64_t)1 << 20, &err); /* 4 TiB */
  g_assert_null(t);
  g_assert_error(err, UFO_ERROR, UFO_ERROR_BACKEND);
  if (!strstr(err->message, "out of GPU memory allocating 4194304.0 MiB") ||
      !strstr(err->message, "MiB free of"))
    g_error("unexpected message: %s", err->message);
  g_clear_error(&err);
  t = ufo_tensor_new_2d(be, 3, 5, &err); /* the backend still works */
  g_assert_no_error(err);
  float in[15], out[15];
  for (int i = 0; i < 15; i++)
    in[i] = (float)i;
  g_assert_true(ufo_tensor_upload(t, 0, in, 15, &err));
  g_assert_true(ufo_tensor_download(t, 0, out, 15, &err));
  g_assert_no_error(err);
  g_assert_cmpmem(in, sizeof in, out, sizeof out);
  ufo_tensor_free(t);
  ufo_backend_free(be);
}

/* Device timestamps (backend.h stamp): CUDA backends record events around work and give their
 * elapsed time (0 in the emulation, which makes no timing claims; > 0 on a GPU for a 512 x 512 x
 * 512 GEMM); the CPU backend has none: no stamp, no error, and elapsed time is refused. */
static void test_stamps(void)
{
  UfoBackend *be = named_backend();
  g_autoptr(GError) err = NULL;
  void *a = NULL, *b = NULL;
  double ms = -1;
  if (!g_str_has_prefix(backend_name, "cuda")) {
    g_assert_false(ufo_backend_has_stamps(be));
    g_assert_false(ufo_backend_stamp(be, &a, &err));
    g_assert_no_error(err);
    g_assert_null(a);
    g_assert_false(ufo_backend_stamp_elapsed(be, a, a, &ms, &err));
    g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
    ufo_backend_free(be);
    return;
  }
  g_assert_true(ufo_backend_has_stamps(be));
  UfoTensor *x = ufo_tensor_new_2d(be, 512, 512, &err), *y = ufo_tensor_new_2d(be, 512, 512, &err);
  g_assert_no_error(err);
  UfoGemm g = {.a = ufo_view(x), .b = ufo_view(x), .c = ufo_view(y), .alpha = 1.f, .batch = 1};
  for (int round = 0; round < 2; round++) { /* the second round reuses the stamps */
    g_assert_true(ufo_backend_stamp(be, &a, &err) && ufo_op_gemm(be, &g, &err) &&
                  ufo_backend_stamp(be, &b, &err));
    g_assert_no_error(err);
    g_assert_nonnull(a);
    g_assert_true(ufo_backend_stamp_elapsed(be, a, b, &ms, &err));
    g_assert_no_error(err);
    g_assert_true(isfinite(ms));
    if (strcmp(backend_name, "cuda") == 0)
      g_assert_cmpfloat(ms, >, 0.0);
    else
      g_assert_cmpfloat(ms, ==, 0.0);
  }
  g_assert_false(ufo_backend_stamp_elapsed(be, a, NULL, &ms, &err)); /* never recorded */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  ufo_backend_stamp_free(be, a);
  ufo_backend_stamp_free(be, b);
  ufo_tensor_free(x);
  ufo_tensor_free(y);
  ufo_backend_free(be);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
  g_test_add_func("/nn/ops/parity/gemm", test_gemm);
  g_test_add_func("/nn/ops/parity/gemm-bf16", test_gemm_bf16);
  g_test_add_func("/nn/ops/parity/gemm-row-stable", test_gemm_row_stable);
  g_test_add_func("/nn/ops/parity/linear", test_linear_layer);
  g_test_add_func("/nn/ops/parity/linear-bf16", test_linear_bf16);
  g_test_add_func("/nn/ops/parity/rows", test_rows);
  g_test_add_func("/nn/ops/parity/attention", test_attention);
  g_test_add_func("/nn/ops/attention-causal", test_attention_causal);
  g_test_add_func("/nn/ops/parity/gemm-tiles", test_gemm_tiles);
  g_test_add_func("/nn/ops/parity/layout-resample", test_misc);
  g_test_add_func("/nn/ops/window-order", test_window_order);
  g_test_add_func("/nn/ops/relpos", test_relpos);
  g_test_add_func("/nn/ops/grid-sample", test_grid_sample);
  g_test_add_func("/nn/ops/bicubic", test_bicubic);
  g_test_add_func("/nn/ops/linear", test_linear);
  g_test_add_func("/nn/ops/errors", test_errors);
  g_test_add_func("/nn/ops/device-memory", test_device_memory);
  g_test_add_func("/nn/ops/stamps", test_stamps);
  return g_test_run();
}
