/* precision=bf16 of the CPU backend (oneDNN matmul, engine/backend/cpu/gemm_dnnl.c):
 *  - round: the scalar fp32 -> bf16 rounding (nearest even, denormals to zero, NaN, overflow);
 *  - convert: the vector conversion of A equals the scalar rounding, bit for bit (oneDNN's weight
 *    reorder is held to it by gemm-ref);
 *  - gemm-ref: the oneDNN bf16 GEMM against the double-precision loop on the same bf16-rounded
 *    inputs (cpu-ref backend at bf16): |C - ref| <= 1e-5 * (|alpha| sum|a b| + |beta c| + |bias|)
 *    per element, over ragged M and N, odd K, K across blocks, alpha/beta/bias variants, 1-3
 *    threads, strided views with sentinels, sub-views of one weight and new weight contents;
 *  - gemm-fp32: bf16 against fp32 on the same GEMM within the bf16 input rounding (2^-8 per
 *    input), |C16 - C32| <= (2^-7 + 2^-16 + 1e-5) * |alpha| sum|a b|, and fp32 unchanged by
 *    the weight flag, bit for bit;
 *  - linear-fused: the bf16 linear as one job (LN into A's conversion, GELU on each block of C)
 *    equals the composed layer_norm, gemm and gelu ops bit for bit, in every block split;
 *  - softmax-row-max, softmax-row-exp: the oneDNN attention's softmax rows (attention_dnnl.c)
 *    against the scalar maximum and exp in double;
 *  - model: the tiny model's text, image and grid passes and decode logits at bf16 stay within
 *    relative L2 2e-2 of fp32 (and differ from it: bf16 did run); a bf16 session runs;
 *  - fallback: a CPU without native bf16 (faked by the test hook) runs precision=bf16 sessions
 *    and backends in fp32, bit for bit the fp32 GEMM.
 * On a CPU without native bf16 the kernel tests skip and the program exits 77 (meson: skip). */
#include "backend/backend.h"
#include "backend/cpu/cpu.h"
#include "model/model.h"
#include "nn/vit.h"

#include <math.h>
#include <string.h>

#define SENTINEL 1234.5f
#define PAD 5   /* extra columns per row */
#define TAIL 19 /* extra elements after the last row */
#define SKIP_MSG "oneDNN has no native bf16 here (AVX512-BF16, AMX): bf16 runs in fp32"

static gboolean have_bf16;

static gboolean need_bf16(void)
{
  if (!have_bf16)
    g_test_skip(SKIP_MSG);
  return have_bf16;
}

static UfoBackend *backend(int threads, gboolean reference, UfoPrecision precision)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = reference ? ufo_backend_cpu_ref_new(&err) : ufo_backend_cpu_new(threads, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_backend_set_precision(be, precision, &err));
  g_assert_no_error(err);
  return be;
}

/* A (rows x cols) view with leading dimension cols + PAD inside a sentinel-filled tensor,
 * holding host (packed rows); weight marks it as model weights. */
static UfoView upload(UfoBackend *be, int64_t rows, int64_t cols, const float *host,
                      gboolean weight)
{
  int64_t ld = cols + PAD;
  size_t n = (size_t)(rows * ld + TAIL);
  g_autofree float *h = g_new(float, n);
  for (size_t i = 0; i < n; i++)
    h[i] = SENTINEL;
  for (int64_t r = 0; r < rows; r++)
    memcpy(h + r * ld, host + r * cols, (size_t)cols * sizeof(float));
  g_autoptr(GError) err = NULL;
  int64_t ne[1] = {(int64_t)n};
  UfoTensor *t = ufo_tensor_new(be, 1, ne, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload(t, 0, h, n, &err));
  t->weight = weight;
  return ufo_view_at(t, 0, rows, cols, ld);
}

/* The view's elements, packed; the sentinels around it must have survived. */
static float *fetch(UfoView v)
{
  g_autofree float *all = g_new(float, v.t->n);
  g_assert_true(ufo_tensor_download(v.t, 0, all, v.t->n, NULL));
  float *out = g_new(float, (size_t)(v.rows * v.cols));
  for (size_t i = 0; i < v.t->n; i++) {
    int64_t r = (int64_t)(i - v.off) / v.ld, c = (int64_t)(i - v.off) % v.ld;
    if (i >= v.off && r < v.rows && c < v.cols)
      out[r * v.cols + c] = all[i];
    else if (all[i] != SENTINEL)
      g_error("sentinel at element %zu overwritten (%g)", i, all[i]);
  }
  return out;
}

static float *randoms(GRand *rng, size_t n, double a)
{
  float *v = g_new(float, n);
  for (size_t i = 0; i < n; i++)
    v[i] = (float)g_rand_double_range(rng, -a, a);
  return v;
}

static double rel_l2(const float *got, const float *want, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    g_assert_true(isfinite(got[i]) && isfinite(want[i]));
    num += ((double)got[i] - want[i]) * ((double)got[i] - want[i]);
    den += (double)want[i] * want[i];
  }
  return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* ---- rounding ---- */

static float from_bits(uint32_t u)
{
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static uint32_t bits(float f)
{
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static void test_round(void)
{
  /* (input bits, expected bf16 bits << 16) */
  static const uint32_t cases[][2] = {
      {0x3f800000u, 0x3f800000u}, /* 1 */
      {0x3f808000u, 0x3f800000u}, /* 1 + 2^-8: tie, to even (down) */
      {0x3f818000u, 0x3f820000u}, /* 1 + 3 * 2^-8: tie, to even (up) */
      {0x3f808001u, 0x3f810000u}, /* just above the tie: up */
      {0x3f807fffu, 0x3f800000u}, /* just below: down */
      {0xbf818000u, 0xbf820000u}, /* negative tie: magnitude to even */
      {0x00000001u, 0x00000000u}, /* smallest denormal: flushed */
      {0x807fffffu, 0x80000000u}, /* negative denormal: -0 */
      {0x00800000u, 0x00800000u}, /* smallest normal stays */
      {0x7f7fffffu, 0x7f800000u}, /* FLT_MAX rounds to inf */
      {0x7f800000u, 0x7f800000u}, /* inf */
      {0xff800000u, 0xff800000u}, /* -inf */
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    uint32_t got = bits(ufo_cpu_bf16_round(from_bits(cases[i][0])));
    if (got != cases[i][1])
      g_error("bf16(0x%08x) = 0x%08x, want 0x%08x", cases[i][0], got, cases[i][1]);
  }
  g_assert_true(isnan(ufo_cpu_bf16_round(NAN)));
}

/* C (M x 32) = A (M x 2) · W^T with A's second column and W's second column 0 and W's first
 * column 1: every C element is bf16(a_i) exactly, so the vector conversion of A (vcvtneps2bf16)
 * must agree with the scalar rounding bit for bit. K = 2, even as in every model GEMM: with an
 * odd K oneDNN's pair tail multiplies the last element by a zero pad, turning ±inf into NaN. */
static void test_convert(void)
{
  if (!need_bf16())
    return;
  enum { M = 1200, N = 32 };
  static const uint32_t special[] = {0x3f808000u, 0x3f818000u, 0x3f808001u, 0x3f807fffu,
                                     0xbf818000u, 0x00000001u, 0x807fffffu, 0x00800000u,
                                     0x7f7fffffu, 0x7f800000u, 0xff800000u, 0x80000000u,
                                     0x4b7fffffu, 0x33800000u, 0x7f7f8000u, 0x7f7f7fffu};
  g_autoptr(GRand) rng = g_rand_new_with_seed(11);
  g_autofree float *a = randoms(rng, M, 1e3);
  for (size_t i = 0; i < G_N_ELEMENTS(special); i++)
    a[i * 37] = from_bits(special[i]);
  for (int i = 1000; i < M; i++) /* random bit patterns (finite, non-NaN) */
    a[i] = from_bits(g_rand_int(rng) & 0xfeffffffu);
  float ones[2 * N];
  for (int j = 0; j < N; j++) {
    ones[2 * j] = 1.f;
    ones[2 * j + 1] = 0.f;
  }
  g_autofree float *a2 = g_new0(float, 2 * M);
  for (int i = 0; i < M; i++)
    a2[2 * i] = a[i];
  UfoBackend *be = backend(2, FALSE, UFO_PRECISION_BF16);
  UfoView va = upload(be, M, 2, a2, FALSE), vb = upload(be, N, 2, ones, TRUE);
  g_autofree float *zero = g_new0(float, M *N);
  UfoView vc = upload(be, M, N, zero, FALSE);
  UfoGemm g = {.a = va, .b = vb, .c = vc, .trans_b = TRUE, .alpha = 1.f, .batch = 1};
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_op_gemm(be, &g, &err));
  g_assert_no_error(err);
  g_autofree float *c = fetch(vc);
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float want = ufo_cpu_bf16_round(a[i]); /* zeros of either sign sum to +0 */
      if (want == 0.f ? c[i * N + j] != 0.f : bits(c[i * N + j]) != bits(want))
        g_error("row %d: kernel gives 0x%08x for 0x%08x, scalar rounding 0x%08x", i,
                bits(c[i * N + j]), bits(a[i]), bits(want));
    }
  ufo_tensor_free(va.t);
  ufo_tensor_free(vb.t);
  ufo_tensor_free(vc.t);
  ufo_backend_free(be);
}

/* ---- GEMM cases ---- */

typedef struct {
  int m, n, k;
  float alpha, beta;
  gboolean bias;
} GemmCase;

static const GemmCase cases[] = {
    {1, 700, 64, 1.f, 0.f, TRUE},     /* one row (decode of one sequence) */
    {5, 33, 77, 0.75f, 1.f, TRUE},    /* below the blocking everywhere, ragged N */
    {13, 45, 257, 1.f, -0.5f, FALSE}, /* odd K just past one K block */
    {37, 100, 511, 0.75f, 0.f, TRUE}, /* odd K, two K blocks */
    {250, 70, 300, 1.f, 1.f, TRUE},   /* M past one row block (240), split along M */
    {300, 64, 3, 1.f, 0.f, FALSE},    /* tiny odd K */
    {241, 97, 1, -1.f, 0.f, TRUE},    /* K = 1 */
    {24, 64, 512, 1.f, 0.f, FALSE},   /* exact multiples of every block */
    {61, 290, 769, 0.5f, 1.f, TRUE},  /* N past one column slice (256), odd K */
    {600, 40, 770, 1.f, 0.f, TRUE},   /* many rows, few columns */
    {3, 5, 4, 1.f, 0.5f, TRUE},       /* below the BLAS threshold: the plain loop */
    {130, 1100, 96, 1.f, 0.f, TRUE},  /* split along N into several panels per part */
    {100, 700, 800, 1.f, 0.f, TRUE},  /* few rows, past the caller-only size: A converted by
                                         the pool, then split along N */
};

typedef struct {
  float *a, *w, *c0, *bias; /* host inputs: A (m, k), W (n, k), C before (m, n), bias (n) */
} GemmData;

static GemmData gemm_data(const GemmCase *gc, guint32 seed)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed(seed);
  GemmData d = {randoms(rng, (size_t)gc->m * gc->k, 1.0), randoms(rng, (size_t)gc->n * gc->k, 0.5),
                randoms(rng, (size_t)gc->m * gc->n, 2.0), randoms(rng, (size_t)gc->n, 1.0)};
  if (gc->beta == 0.f) /* beta == 0 must not read C: garbage there */
    for (size_t i = 0; i < (size_t)gc->m * gc->n; i++)
      d.c0[i] = NAN;
  return d;
}

static void gemm_data_clear(GemmData *d)
{
  g_free(d->a);
  g_free(d->w);
  g_free(d->c0);
  g_free(d->bias);
}

/* Runs the case on be; weight: flag W as model weights. Returns C (packed rows). */
static float *run_gemm(UfoBackend *be, const GemmCase *gc, const GemmData *d, gboolean weight)
{
  UfoView va = upload(be, gc->m, gc->k, d->a, FALSE), vw = upload(be, gc->n, gc->k, d->w, weight);
  UfoView vc = upload(be, gc->m, gc->n, d->c0, FALSE);
  UfoView vbias = gc->bias ? upload(be, 1, gc->n, d->bias, TRUE) : UFO_VIEW_NONE;
  UfoGemm g = {.a = va,
               .b = vw,
               .c = vc,
               .trans_b = TRUE,
               .alpha = gc->alpha,
               .beta = gc->beta,
               .bias = vbias,
               .batch = 1};
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_op_gemm(be, &g, &err));
  g_assert_no_error(err);
  float *c = fetch(vc);
  ufo_tensor_free(va.t);
  ufo_tensor_free(vw.t);
  ufo_tensor_free(vc.t);
  if (vbias.t)
    ufo_tensor_free(vbias.t);
  return c;
}

/* Per-element scale of the rounding error: |alpha| sum_l |a_l b_l| + |beta c| + |bias|, with
 * the inputs rounded (rounded) or not. */
static double scale(const GemmCase *gc, const GemmData *d, int i, int j, gboolean rounded)
{
  double s = 0;
  for (int l = 0; l < gc->k; l++) {
    float a = d->a[(size_t)i * gc->k + l], b = d->w[(size_t)j * gc->k + l];
    s +=
        rounded ? fabs((double)ufo_cpu_bf16_round(a) * ufo_cpu_bf16_round(b)) : fabs((double)a * b);
  }
  s *= fabs(gc->alpha);
  if (gc->beta != 0.f)
    s += fabs(gc->beta * d->c0[(size_t)i * gc->n + j]);
  return s + (gc->bias ? fabs(d->bias[j]) : 0.0);
}

static void test_gemm_ref(void)
{
  if (!need_bf16())
    return;
  UfoBackend *ref = backend(1, TRUE, UFO_PRECISION_BF16);
  for (int threads = 1; threads <= 3; threads++) {
    UfoBackend *be = backend(threads, FALSE, UFO_PRECISION_BF16);
    double worst = 0;
    for (size_t ci = 0; ci < G_N_ELEMENTS(cases); ci++) {
      const GemmCase *gc = &cases[ci];
      GemmData d = gemm_data(gc, 100 + (guint32)ci);
      g_autofree float *got = run_gemm(be, gc, &d, TRUE);
      g_autofree float *want = run_gemm(ref, gc, &d, TRUE);
      for (int i = 0; i < gc->m; i++)
        for (int j = 0; j < gc->n; j++) {
          double e = fabs((double)got[i * gc->n + j] - want[i * gc->n + j]);
          double s = scale(gc, &d, i, j, TRUE);
          if (!(e <= 1e-5 * s + 1e-30))
            g_error("%dx%dx%d, %d threads, C[%d][%d] = %.9g, reference %.9g (scale %.3g)", gc->m,
                    gc->n, gc->k, threads, i, j, got[i * gc->n + j], want[i * gc->n + j], s);
          worst = MAX(worst, e / s);
        }
      gemm_data_clear(&d);
    }
    g_test_message("%d threads: worst |C - ref| / scale = %.3g", threads, worst);
    ufo_backend_free(be);
  }
  ufo_backend_free(ref);
}

static void test_gemm_fp32(void)
{
  if (!need_bf16())
    return;
  UfoBackend *b16 = backend(2, FALSE, UFO_PRECISION_BF16);
  UfoBackend *b32 = backend(2, FALSE, UFO_PRECISION_FP32);
  /* each input rounded to 8 significant bits: relative error <= u = 2^-8 per input, so
   * |bf16(a) bf16(b) - a b| <= (2u + u^2) |a b|; 1e-5 for the float32 sums */
  const double bound = 2.0 / 256 + 1.0 / 65536 + 1e-5;
  for (size_t ci = 0; ci < G_N_ELEMENTS(cases); ci++) {
    const GemmCase *gc = &cases[ci];
    GemmData d = gemm_data(gc, 200 + (guint32)ci);
    g_autofree float *c16 = run_gemm(b16, gc, &d, TRUE);
    g_autofree float *c32 = run_gemm(b32, gc, &d, TRUE);
    g_autofree float *c32_plain = run_gemm(b32, gc, &d, FALSE);
    /* fp32: the weight flag changes nothing, bit for bit */
    g_assert_cmpmem(c32, sizeof(float) * gc->m * gc->n, c32_plain, sizeof(float) * gc->m * gc->n);
    double worst = 0;
    for (int i = 0; i < gc->m; i++)
      for (int j = 0; j < gc->n; j++) {
        double e = fabs((double)c16[i * gc->n + j] - c32[i * gc->n + j]);
        double s = scale(gc, &d, i, j, FALSE);
        if (!(e <= bound * s + 1e-30))
          g_error("%dx%dx%d: C[%d][%d] bf16 %.9g, fp32 %.9g: beyond the bf16 rounding bound", gc->m,
                  gc->n, gc->k, i, j, c16[i * gc->n + j], c32[i * gc->n + j]);
        worst = MAX(worst, e / s);
      }
    /* and the bf16 path did run: random inputs lose about 2^-9 relative */
    double r = rel_l2(c16, c32, (size_t)gc->m * gc->n);
    if (gc->k >= 64 && !(r > 1e-4))
      g_error("%dx%dx%d: bf16 equals fp32 (relative L2 %.3g): bf16 path not taken?", gc->m, gc->n,
              gc->k, r);
    g_test_message("%dx%dx%d: bf16 vs fp32 relative L2 %.3g, worst |d| / scale %.3g", gc->m, gc->n,
                   gc->k, r, worst);
    gemm_data_clear(&d);
  }
  ufo_backend_free(b16);
  ufo_backend_free(b32);
}

/* Two sub-views of one weight (the q and [k|v] row blocks of qkv_w) each get their own pack;
 * new contents uploaded into the weight drop the packs. */
static void test_gemm_views(void)
{
  if (!need_bf16())
    return;
  enum { M = 40, C = 96, R = 3 * C };
  g_autoptr(GRand) rng = g_rand_new_with_seed(5);
  g_autofree float *a = randoms(rng, M * C, 1.0), *w = randoms(rng, R * C, 0.5);
  g_autofree float *w2 = randoms(rng, R * C, 0.5);
  UfoBackend *be = backend(2, FALSE, UFO_PRECISION_BF16),
             *ref = backend(1, TRUE, UFO_PRECISION_BF16);
  UfoBackend *bes[2] = {be, ref};
  float *out[2][3];
  for (int b = 0; b < 2; b++) {
    UfoView va = upload(bes[b], M, C, a, FALSE), vw = upload(bes[b], R, C, w, TRUE);
    g_autofree float *z = g_new0(float, M * 2 * C);
    UfoView vq = upload(bes[b], M, C, z, FALSE), vkv = upload(bes[b], M, 2 * C, z, FALSE);
    g_autoptr(GError) err = NULL;
    UfoGemm gq = {.a = va,
                  .b = ufo_view_sub(vw, 0, 0, C, C),
                  .c = vq,
                  .trans_b = TRUE,
                  .alpha = 1.f,
                  .batch = 1};
    UfoGemm gkv = gq;
    gkv.b = ufo_view_sub(vw, C, 0, 2 * C, C);
    gkv.c = vkv;
    g_assert_true(ufo_op_gemm(bes[b], &gq, &err) && ufo_op_gemm(bes[b], &gkv, &err));
    out[b][0] = fetch(vq);
    out[b][1] = fetch(vkv);
    /* new weight contents (same tensor, same views): the packs must follow */
    for (int r = 0; r < R; r++)
      g_assert_true(ufo_tensor_upload(vw.t, vw.off + r * vw.ld, w2 + r * C, C, &err));
    g_assert_true(ufo_op_gemm(bes[b], &gkv, &err));
    g_assert_no_error(err);
    out[b][2] = fetch(vkv);
    ufo_tensor_free(va.t);
    ufo_tensor_free(vw.t);
    ufo_tensor_free(vq.t);
    ufo_tensor_free(vkv.t);
  }
  size_t n[3] = {M * C, M * 2 * C, M * 2 * C};
  for (int i = 0; i < 3; i++) {
    double r = rel_l2(out[0][i], out[1][i], n[i]);
    if (!(r <= 1e-6))
      g_error("view case %d: relative L2 %.3g to the reference loop", i, r);
    g_free(out[0][i]);
    g_free(out[1][i]);
  }
  ufo_backend_free(be);
  ufo_backend_free(ref);
}

/* ---- the softmax rows of the oneDNN attention (attention_dnnl.c) ---- */

static float bf16_value(uint16_t b)
{
  uint32_t u = (uint32_t)b << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Row lengths around the loops' 16- and 64-lane steps and the attention's rows (70: a 70x70
 * region's key row; 980: a chunk of 14 of them; 1,031: a ragged tail). */
static const int64_t softmax_ns[] = {1,  5,  15,  16,  17,  63,  64,  65,
                                     70, 79, 127, 128, 129, 980, 1031};

/* ufo_cpu_attn_row_max equals the scalar maximum with the maximum at every kind of position
 * (first, in each 16-lane accumulator, in the tail, last), and keeps m when m is larger. */
static void test_softmax_row_max(void)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed(17);
  for (size_t c = 0; c < G_N_ELEMENTS(softmax_ns); c++) {
    const int64_t n = softmax_ns[c];
    g_autofree float *x = randoms(rng, n, 50.0);
    float want = -INFINITY;
    for (int64_t k = 0; k < n; k++)
      want = MAX(want, x[k]);
    g_assert_cmpfloat(ufo_cpu_attn_row_max(x, n, -INFINITY), ==, want);
    g_assert_cmpfloat(ufo_cpu_attn_row_max(x, n, 60.f), ==, 60.f);
    for (int64_t pos = 0; pos < n; pos += pos < 20 ? 1 : 13) {
      const float keep = x[pos];
      x[pos] = 1000.f + (float)pos;
      g_assert_cmpfloat(ufo_cpu_attn_row_max(x, n, -INFINITY), ==, 1000.f + (float)pos);
      x[pos] = keep;
    }
    const float last = x[n - 1];
    x[n - 1] = 999.f;
    g_assert_cmpfloat(ufo_cpu_attn_row_max(x, n, -INFINITY), ==, 999.f);
    x[n - 1] = last;
  }
}

/* A row of n scores below the maximum m: a tenth masked (-inf), a tenth more than 88 below m
 * (their weights underflow to 0), the rest within 30 of it; the middle key is m itself. */
static void softmax_scores(GRand *rng, float *x, int64_t n, float m)
{
  for (int64_t k = 0; k < n; k++) {
    const int kind = g_rand_int_range(rng, 0, 10);
    x[k] = kind == 0   ? -INFINITY                                        /* masked */
           : kind == 1 ? m - (float)g_rand_double_range(rng, 88.0, 200.0) /* underflow */
                       : m - (float)g_rand_double_range(rng, 0.0, 30.0);
  }
  x[n / 2] = m;
}

/* ufo_cpu_attn_row_exp_bf16 against exp in double: each weight within 2^-8 of exp(x - m)
 * relative (round to nearest bf16 is 2^-9; the polynomial 2.4e-7), the key at the maximum
 * exactly 1, masked keys (-inf) and keys 88 below the maximum exactly 0, Σ within 1e-5 of the
 * double sum (float32 lanes of up to 65 terms, the rounded m·log2 e: ~3e-6 here). A wrong
 * polynomial coefficient, exponent or tail mask fails it; so does a row of all masked keys that
 * is not 0 with Σ 0 (the attention's 0/0, as the reference). */
static void test_softmax_row_exp(void)
{
  if (!need_bf16())
    return;
  g_autoptr(GRand) rng = g_rand_new_with_seed(23);
  const float ms[] = {0.f, 3.7f, -12.5f, 25.3f};
  for (size_t c = 0; c < G_N_ELEMENTS(softmax_ns); c++) {
    const int64_t n = softmax_ns[c];
    g_autofree float *x = g_new(float, n);
    g_autofree uint16_t *w = g_new(uint16_t, n + 1);
    for (size_t mi = 0; mi < G_N_ELEMENTS(ms); mi++) {
      const float m = ms[mi];
      softmax_scores(rng, x, n, m);
      w[n] = 0xbeef; /* past the row: never written */
      const float sum = ufo_cpu_attn_row_exp_bf16(x, n, m, w);
      g_assert_cmphex(w[n], ==, 0xbeef);
      double want = 0;
      for (int64_t k = 0; k < n; k++) {
        const double e = exp((double)x[k] - (double)m);
        if ((double)x[k] - m < -88.0) {
          if (w[k] != 0)
            g_error("n %" G_GINT64_FORMAT " m %g: x - m = %g gives weight %g, not 0", n, m,
                    (double)x[k] - m, bf16_value(w[k]));
          continue;
        }
        want += e;
        if (fabs(bf16_value(w[k]) - e) > e * 0x1p-8)
          g_error("n %" G_GINT64_FORMAT " m %g, key %" G_GINT64_FORMAT ": weight %.8g, exp %.8g", n,
                  m, k, bf16_value(w[k]), e);
      }
      g_assert_cmphex(w[n / 2], ==, 0x3f80); /* exp(0) = 1 */
      if (fabs(sum - want) > 1e-5 * want)
        g_error("n %" G_GINT64_FORMAT " m %g: sum %.9g, want %.9g", n, m, sum, want);
    }
    /* a row with every key masked: weights 0, Σ 0 */
    for (int64_t k = 0; k < n; k++)
      x[k] = -INFINITY;
    g_assert_cmpfloat(ufo_cpu_attn_row_max(x, n, -INFINITY), ==, -INFINITY);
    g_assert_cmpfloat(ufo_cpu_attn_row_exp_bf16(x, n, -INFINITY, w), ==, 0.f);
    for (int64_t k = 0; k < n; k++)
      g_assert_cmphex(w[k], ==, 0);
  }
}

/* ufo_cpu_attn_row_exp_f32 (the fp32 weights, in place; AVX-512, AVX2 or plain C as the CPU and
 * ONEDNN_MAX_CPU_ISA allow) against exp in double: each weight within 2e-7 relative (2 ulp; the
 * AVX2 loop's worst here is 1.1e-7), the key at the maximum exactly 1, masked keys (-inf)
 * and keys 88 below the maximum exactly 0, Σ within 1e-6 of the double sum, nothing written past
 * the row; a row of masked keys gives weights 0 and Σ 0. A dropped lane of the sum, a wrong tail
 * mask or a wrong coefficient fails it. */
static void test_softmax_row_exp_f32(void)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed(29);
  const float ms[] = {0.f, 3.7f, -12.5f, 25.3f};
  for (size_t c = 0; c < G_N_ELEMENTS(softmax_ns); c++) {
    const int64_t n = softmax_ns[c];
    g_autofree float *x = g_new(float, n + 1);
    g_autofree float *x0 = g_new(float, n);
    for (size_t mi = 0; mi < G_N_ELEMENTS(ms); mi++) {
      const float m = ms[mi];
      softmax_scores(rng, x0, n, m);
      memcpy(x, x0, (size_t)n * sizeof *x);
      x[n] = 12345.f; /* past the row: never written */
      const float sum = ufo_cpu_attn_row_exp_f32(x, n, m);
      g_assert_cmpfloat(x[n], ==, 12345.f);
      double want = 0;
      for (int64_t k = 0; k < n; k++) {
        const double d = (double)(x0[k] - m), e = exp(d);
        if (d < -88.0) {
          if (x[k] != 0.f)
            g_error("n %" G_GINT64_FORMAT " m %g: x - m = %g gives weight %g, not 0", n, m, d,
                    (double)x[k]);
          continue;
        }
        want += e;
        if (fabs((double)x[k] - e) > e * 2e-7)
          g_error("n %" G_GINT64_FORMAT " m %g, key %" G_GINT64_FORMAT ": weight %.9g, exp %.9g", n,
                  m, k, (double)x[k], e);
      }
      g_assert_cmpfloat(x[n / 2], ==, 1.f); /* exp(0) */
      if (fabs(sum - want) > 1e-6 * want)
        g_error("n %" G_GINT64_FORMAT " m %g: sum %.9g, want %.9g", n, m, sum, want);
    }
    for (int64_t k = 0; k < n; k++)
      x[k] = -INFINITY;
    g_assert_cmpfloat(ufo_cpu_attn_row_exp_f32(x, n, -INFINITY), ==, 0.f);
    for (int64_t k = 0; k < n; k++)
      g_assert_cmpfloat(x[k], ==, 0.f);
  }
}

/* ---- the fused linear (ufo_cpu_linear_bf16) ---- */

typedef struct {
  int threads;
  int64_t m, k, n, n2; /* n2 > 0: a second destination (q and the K/V slot) */
  gboolean ln, gelu, bias, residual;
} LinearCase;

/* One linear on be: fused (ufo_op_linear) or as the composed ops; out[0..1] the destinations */
static void run_linear(UfoBackend *be, const LinearCase *c, gboolean fused, GRand *seeded,
                       float *out[2])
{
  const int64_t n = c->n + c->n2;
  /* the same inputs for both runs: a generator seeded alike */
  g_autoptr(GRand) rng = g_rand_copy(seeded);
  g_autofree float *x = randoms(rng, (size_t)(c->m * c->k), 2.0);
  g_autofree float *w = randoms(rng, (size_t)(n * c->k), 0.3);
  g_autofree float *b = randoms(rng, (size_t)n, 0.5);
  g_autofree float *lw = randoms(rng, (size_t)c->k, 1.5);
  g_autofree float *lb = randoms(rng, (size_t)c->k, 0.5);
  g_autofree float *y0 = randoms(rng, (size_t)(c->m * n), 1.0);
  UfoLinear p = {.x = upload(be, c->m, c->k, x, FALSE),
                 .w = upload(be, n, c->k, w, TRUE),
                 .y = upload(be, c->m, c->n, y0, FALSE),
                 .beta = c->residual ? 1.f : 0.f,
                 .gelu = c->gelu};
  if (c->n2)
    p.y2 = upload(be, c->m, c->n2, y0 + c->m * c->n, FALSE);
  if (c->bias)
    p.bias = upload(be, 1, n, b, FALSE);
  if (c->ln) {
    p.ln_w = upload(be, 1, c->k, lw, FALSE);
    p.ln_b = upload(be, 1, c->k, lb, FALSE);
    p.ln_eps = 1e-6f;
    p.ln_out = upload(be, c->m, c->k, x, FALSE);
  }
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_cpu_linear_bf16_fuses(&p)); /* so ufo_op_linear runs the fused job */
  g_assert_true(fused ? ufo_op_linear(be, &p, &err) : ufo_linear_composed(be, &p, &err));
  g_assert_no_error(err);
  out[0] = fetch(p.y);
  out[1] = c->n2 ? fetch(p.y2) : NULL;
  const UfoView all[] = {p.x, p.w, p.y, p.y2, p.bias, p.ln_w, p.ln_b, p.ln_out};
  for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
    if (all[i].t) {
      if (i != 7 || !fused) /* the fused linear leaves ln_out alone: not its sentinels' check */
        g_free(fetch(all[i]));
      ufo_tensor_free(all[i].t);
    }
}

/* The fused linear is bit for bit the composed layer_norm, gemm(s) and gelu on one backend, in
 * every way the products split (one block on the caller, blocks of columns, blocks of rows with
 * each worker converting its own rows), with and without LN, GELU, bias, residual and a second
 * destination, strided views whose sentinels must survive; and it is not the identity of the
 * composition by accident: GELU and LN change the result. */
static void test_linear_fused(void)
{
  if (!need_bf16())
    return;
  static const LinearCase cases[] = {
      {1, 6, 48, 64, 0, TRUE, TRUE, TRUE, FALSE},      /* one block on the caller */
      {2, 7, 200, 192, 384, TRUE, FALSE, TRUE, FALSE}, /* decode-step qkv: blocks of columns */
      {2, 70, 96, 130, 0, TRUE, TRUE, TRUE, FALSE},    /* rows < 2 x 64: columns */
      {2, 200, 96, 130, 0, TRUE, TRUE, TRUE, FALSE},   /* blocks of rows */
      {3, 301, 72, 96, 192, TRUE, FALSE, TRUE, FALSE}, /* rows, two destinations, ragged */
      {2, 300, 130, 72, 0, FALSE, FALSE, TRUE, TRUE},  /* fc2: residual, no LN */
      {2, 257, 64, 256, 0, FALSE, TRUE, FALSE, FALSE}, /* GELU without LN or bias */
      {3, 9, 1030, 130, 65, TRUE, FALSE, FALSE, TRUE}, /* K across blocks, residual, columns */
      {2, 129, 40, 200, 0, TRUE, TRUE, TRUE, FALSE},   /* rows vs columns at the 2 x 64 edge */
  };
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    const LinearCase *c = &cases[i];
    UfoBackend *be = backend(c->threads, FALSE, UFO_PRECISION_BF16);
    g_autoptr(GRand) seed = g_rand_new_with_seed(40 + (guint32)i);
    float *fused[2], *composed[2];
    run_linear(be, c, TRUE, seed, fused);
    run_linear(be, c, FALSE, seed, composed);
    for (int d = 0; d < (c->n2 ? 2 : 1); d++) {
      const size_t cnt = (size_t)(c->m * (d ? c->n2 : c->n));
      if (memcmp(fused[d], composed[d], cnt * sizeof(float)) != 0)
        g_error("linear case %zu destination %d: fused differs from the composed ops (rel. L2 "
                "%.3g)",
                i, d, rel_l2(fused[d], composed[d], cnt));
    }
    if (c->gelu || c->ln) { /* the same case without them gives other numbers */
      LinearCase plain = *c;
      plain.gelu = plain.ln = FALSE;
      float *other[2];
      run_linear(be, &plain, TRUE, seed, other);
      g_assert_true(rel_l2(other[0], fused[0], (size_t)(c->m * c->n)) > 1e-2);
      g_free(other[0]);
      g_free(other[1]);
    }
    for (int d = 0; d < 2; d++) {
      g_free(fused[d]);
      g_free(composed[d]);
    }
    ufo_backend_free(be);
  }
}

/* ---- the model ---- */

typedef struct {
  float *text, *mean, *grid, *logits; /* text.layer0.out, image.mean, last grid layer, step 1 */
  size_t n_text, n_mean, n_grid, n_logits;
} TinyRun;

static TinyRun tiny_run(UfoModel *model, gboolean reference, UfoPrecision precision)
{
  g_autoptr(GError) err = NULL;
  const UfoConfig *cfg = &model->cfg;
  UfoBackend *be = backend(2, reference, precision);
  UfoVit *vit = ufo_vit_new(model, be, &err);
  UfoVitState *st = ufo_vit_state_new(vit, &err);
  g_assert_no_error(err);
  ufo_vit_state_keep_intermediates(st, TRUE);
  int S = 448, gw = 2 * (S / cfg->patch_size / cfg->window_size), Q = gw * gw, V = cfg->vocab_size;
  g_autofree float *img = g_new(float, 3 * S * S);
  for (int i = 0; i < 3 * S * S; i++)
    img[i] = sinf((float)i * 0.01f);
  g_autofree float *ref = g_new(float, 2 * Q);
  for (int q = 0; q < Q; q++) {
    ref[2 * q] = ((float)(q % gw) + 0.5f) / (float)gw;
    ref[2 * q + 1] = ((float)(q / gw) + 0.5f) / (float)gw;
  }
  int32_t ids[12] = {101, 2000, 2001, 2002, 1010, 2003, 2004, 2005, 1025, 2006, 102, 0};
  uint8_t masked[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
  g_assert_true(ufo_vit_text_pass(st, ids, masked, 12, &err));
  g_assert_true(ufo_vit_image_pass(st, img, S, S, ref, Q, gw, gw, FALSE, &err));
  g_assert_true(ufo_vit_grid_pass(st, &err));
  g_assert_true(ufo_vit_decode_begin(st, TRUE, Q, 2, &err));
  g_assert_no_error(err);
  UfoDecoder d = ufo_vit_decoder(st);
  TinyRun r = {.n_logits = (size_t)Q * V};
  r.logits = g_new(float, r.n_logits);
  g_autofree int32_t *tok = g_new(int32_t, Q);
  for (int t = 0; t < 2; t++) {
    for (int q = 0; q < Q; q++)
      tok[q] = t == 0 ? 101 : 1000 + (q * 7) % 900;
    g_assert_true(d.step(d.ctx, tok, Q, t, r.logits, NULL, &err));
    g_assert_no_error(err);
  }
  int last = -1;
  for (int l = 0; l < cfg->num_layers; l++)
    if (!cfg->is_global[l])
      last = l;
  g_autofree char *gname = g_strdup_printf("grid.layer%d.out", last);
  g_assert_true(ufo_vit_get_intermediate(st, "text.layer0.out", &r.text, &r.n_text, &err));
  g_assert_true(ufo_vit_get_intermediate(st, "image.mean", &r.mean, &r.n_mean, &err));
  g_assert_true(ufo_vit_get_intermediate(st, gname, &r.grid, &r.n_grid, &err));
  g_assert_no_error(err);
  ufo_vit_state_free(st);
  ufo_vit_free(vit);
  ufo_backend_free(be);
  return r;
}

static void tiny_clear(TinyRun *r)
{
  g_free(r->text);
  g_free(r->mean);
  g_free(r->grid);
  g_free(r->logits);
}

/* worst relative L2 of the four tensors of a against b */
static double tiny_compare(const TinyRun *a, const TinyRun *b, const char *what)
{
  const char *names[4] = {"text.layer0.out", "image.mean", "grid (last window layer)",
                          "decode logits (step 1)"};
  const float *x[4] = {a->text, a->mean, a->grid, a->logits},
              *y[4] = {b->text, b->mean, b->grid, b->logits};
  size_t n[4] = {a->n_text, a->n_mean, a->n_grid, a->n_logits};
  double worst = 0;
  for (int i = 0; i < 4; i++) {
    double r = rel_l2(x[i], y[i], n[i]);
    g_test_message("%s: %s relative L2 %.3g", what, names[i], r);
    worst = MAX(worst, r);
  }
  return worst;
}

static void test_model(void)
{
  if (!need_bf16())
    return;
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) model = ufo_model_new_random("tiny", 3, &err);
  g_assert_no_error(err);
  TinyRun f32 = tiny_run(model, FALSE, UFO_PRECISION_FP32);
  TinyRun b16 = tiny_run(model, FALSE, UFO_PRECISION_BF16);
  double vs32 = tiny_compare(&b16, &f32, "bf16 vs fp32");
  /* bf16 rounding of every weight GEMM's inputs: ~3e-3 per GEMM, through 4 layers. (The fast
   * kernel against the reference loop is checked per GEMM above, not here: rounding to bf16 is
   * discontinuous, so float32-level differences upstream flip roundings and grow to the bf16
   * noise level over the layers.) */
  if (!(vs32 <= 2e-2) || !(vs32 > 1e-4))
    g_error("bf16 vs fp32: worst relative L2 %.3g outside (1e-4, 2e-2]", vs32);
  tiny_clear(&f32);
  tiny_clear(&b16);

  /* a whole session at bf16 */
  UfoSessionOptions opts = {
      .device = UFO_DEVICE_CPU, .threads = 2, .precision = UFO_PRECISION_BF16};
  g_autoptr(UfoSession) s = ufo_session_new(model, &opts, &err);
  g_assert_no_error(err);
  enum { W = 160, H = 120 };
  g_autofree uint8_t *px = g_new(uint8_t, W * H * 3);
  for (int i = 0; i < W * H * 3; i++)
    px[i] = (uint8_t)(i * 7 % 251);
  UfoImage image = {UFO_PIXEL_RGB, W, H, W * 3, px};
  UfoTask tasks[] = {UFO_TASK_DETECTION, UFO_TASK_CAPTION};
  for (size_t i = 0; i < G_N_ELEMENTS(tasks); i++) {
    UfoRequest req = UFO_REQUEST_INIT;
    req.task = tasks[i];
    UfoResult *res = NULL;
    g_assert_true(ufo_session_run(s, &image, &req, &res, &err));
    g_assert_no_error(err);
    g_assert_cmpint(res->n_decode_steps, >, 0);
    ufo_result_free(res);
  }
}

/* ---- fallback ---- */

static void test_fallback(void)
{
  g_autoptr(UfoModel) model = ufo_model_new_random("tiny", 3, NULL);
  g_assert_nonnull(model);
  enum { M = 64, N = 96, K = 80 };
  g_autoptr(GRand) rng = g_rand_new_with_seed(5);
  g_autofree float *a = randoms(rng, M * K, 1.0), *w = randoms(rng, N * K, 1.0);
  g_autofree float *zero = g_new0(float, M *N);
  ufo_cpu_bf16_test_pretend_unsupported(TRUE);
  g_assert_false(ufo_cpu_bf16_supported());

  /* a session at bf16 is made (and runs fp32) */
  GError *err = NULL;
  UfoSessionOptions opts = {
      .device = UFO_DEVICE_CPU, .threads = 1, .precision = UFO_PRECISION_BF16};
  UfoSession *s = ufo_session_new(model, &opts, &err);
  g_assert_no_error(err);
  ufo_session_free(s);

  /* a backend at bf16 computes the fp32 GEMM, bit for bit */
  float *c[2];
  for (int prec = UFO_PRECISION_FP32; prec <= UFO_PRECISION_BF16; prec++) {
    UfoBackend *be = backend(2, FALSE, (UfoPrecision)prec);
    UfoView va = upload(be, M, K, a, FALSE), vw = upload(be, N, K, w, TRUE);
    UfoView vc = upload(be, M, N, zero, FALSE);
    UfoGemm g = {.a = va, .b = vw, .c = vc, .trans_b = TRUE, .alpha = 1.f, .batch = 1};
    g_assert_true(ufo_op_gemm(be, &g, &err));
    g_assert_no_error(err);
    c[prec] = fetch(vc);
    ufo_tensor_free(va.t);
    ufo_tensor_free(vw.t);
    ufo_tensor_free(vc.t);
    ufo_backend_free(be);
  }
  g_assert_cmpmem(c[0], M * N * sizeof(float), c[1], M * N * sizeof(float));
  g_free(c[0]);
  g_free(c[1]);

  /* the reference loops round in C: bf16 on any CPU */
  UfoBackend *ref = ufo_backend_cpu_ref_new(&err);
  g_assert_true(ufo_backend_set_precision(ref, UFO_PRECISION_BF16, &err));
  g_assert_no_error(err);
  ufo_backend_free(ref);
  ufo_cpu_bf16_test_pretend_unsupported(FALSE);

  /* an unknown precision id is a bad argument */
  opts.precision = (UfoPrecision)7;
  g_assert_null(ufo_session_new(model, &opts, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
}

static void test_names(void)
{
  UfoPrecision p = UFO_PRECISION_FP32;
  GError *err = NULL;
  g_assert_true(ufo_precision_from_name("bf16", &p, &err));
  g_assert_cmpint(p, ==, UFO_PRECISION_BF16);
  g_assert_true(ufo_precision_from_name("fp32", &p, &err));
  g_assert_cmpint(p, ==, UFO_PRECISION_FP32);
  g_assert_cmpstr(ufo_precision_name(UFO_PRECISION_BF16), ==, "bf16");
  g_assert_true(ufo_precision_from_name("auto", &p, &err));
  g_assert_cmpint(p, ==, UFO_PRECISION_AUTO);
  g_assert_cmpstr(ufo_precision_name(UFO_PRECISION_AUTO), ==, "auto");
  g_assert_false(ufo_precision_from_name("fp16", &p, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  /* zero-initialised options mean fp32 */
  UfoSessionOptions opts = {0};
  g_assert_cmpint(opts.precision, ==, UFO_PRECISION_FP32);
}

/* ---- precision=auto ---- */

static UfoPrecision auto_on(UfoBackend *be)
{
  GError *err = NULL;
  g_assert_true(ufo_backend_set_precision(be, UFO_PRECISION_AUTO, &err));
  g_assert_no_error(err);
  UfoPrecision p = be->precision;
  ufo_backend_free(be);
  return p;
}

/* auto is bf16 exactly where oneDNN runs it natively, fp32 on the reference loops and without
 * native bf16 (the AVX2-capped run of this test covers a real such CPU); sessions report it */
static void test_auto(void)
{
  GError *err = NULL;
  UfoPrecision native = have_bf16 ? UFO_PRECISION_BF16 : UFO_PRECISION_FP32;
  g_assert_cmpint(auto_on(ufo_backend_cpu_new(2, &err)), ==, native);
  g_assert_cmpint(auto_on(ufo_backend_cpu_ref_new(&err)), ==, UFO_PRECISION_FP32);
  g_assert_no_error(err);

  g_autoptr(UfoModel) model = ufo_model_new_random("tiny", 3, NULL);
  g_assert_nonnull(model);
  const UfoPrecision asked[] = {UFO_PRECISION_FP32, UFO_PRECISION_BF16, UFO_PRECISION_AUTO};
  for (int pretend = 0; pretend <= 1; pretend++) {
    ufo_cpu_bf16_test_pretend_unsupported(pretend);
    for (size_t i = 0; i < G_N_ELEMENTS(asked); i++) {
      UfoSessionOptions opts = {.device = UFO_DEVICE_CPU, .threads = 1, .precision = asked[i]};
      g_autoptr(UfoSession) s = ufo_session_new(model, &opts, &err);
      g_assert_no_error(err);
      UfoPrecision want = asked[i] == UFO_PRECISION_FP32 || pretend ? UFO_PRECISION_FP32 : native;
      g_assert_cmpint(ufo_session_get_precision(s), ==, want);
    }
  }
  ufo_cpu_bf16_test_pretend_unsupported(FALSE);
  /* zero-initialised options stay fp32 (exact) */
  g_autoptr(UfoSession) s = ufo_session_new(model, NULL, &err);
  g_assert_no_error(err);
  g_assert_cmpint(ufo_session_get_precision(s), ==, UFO_PRECISION_FP32);
}

/* ---- the draft-pass budget (performance.md sections 10 and 16) ---- */

static int64_t budget_at(UfoBackend *be, UfoPrecision precision)
{
  GError *err = NULL;
  g_assert_true(ufo_backend_set_precision(be, precision, &err));
  g_assert_no_error(err);
  return ufo_backend_decode_pass_rows(be);
}

/* 4,096 rows × positions where a step's GEMMs run below the rate of thousands of rows (oneDNN's
 * native bf16, the row-stable kernel's AVX-512 blocks), 512 with AVX2 blocks at fp32 */
static void test_pass_budget(void)
{
  GError *err = NULL;
#if defined(__AVX512F__)
  const int64_t fp32 = 4096;
#else
  const int64_t fp32 = 512;
#endif
  UfoBackend *be = ufo_backend_cpu_new(2, &err);
  g_assert_no_error(err);
  g_assert_cmpint(budget_at(be, UFO_PRECISION_FP32), ==, fp32);
  g_assert_cmpint(budget_at(be, UFO_PRECISION_BF16), ==, have_bf16 ? 4096 : fp32);
  ufo_cpu_bf16_test_pretend_unsupported(TRUE); /* bf16 lowered to fp32, and its budget */
  g_assert_cmpint(budget_at(be, UFO_PRECISION_BF16), ==, fp32);
  ufo_cpu_bf16_test_pretend_unsupported(FALSE);
  ufo_backend_free(be);
  be = ufo_backend_cpu_ref_new(&err); /* the reference loops: the default */
  g_assert_no_error(err);
  g_assert_cmpint(budget_at(be, UFO_PRECISION_FP32), ==, 4096);
  ufo_backend_free(be);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  have_bf16 = ufo_cpu_bf16_supported();
  /* --expect-no-bf16 (ONEDNN_MAX_CPU_ISA=AVX2): the fallback is the outcome asked for, so the
   * kernel tests' skips are not a skip of the program */
  gboolean expect_no_bf16 = argc > 1 && strcmp(argv[1], "--expect-no-bf16") == 0;
  if (expect_no_bf16 && have_bf16)
    g_error("--expect-no-bf16: oneDNN still reports native bf16");
  g_test_add_func("/nn/bf16/round", test_round);
  g_test_add_func("/nn/bf16/names", test_names);
  g_test_add_func("/nn/bf16/convert", test_convert);
  g_test_add_func("/nn/bf16/gemm-ref", test_gemm_ref);
  g_test_add_func("/nn/bf16/gemm-fp32", test_gemm_fp32);
  g_test_add_func("/nn/bf16/gemm-views", test_gemm_views);
  g_test_add_func("/nn/bf16/linear-fused", test_linear_fused);
  g_test_add_func("/nn/bf16/softmax-row-max", test_softmax_row_max);
  g_test_add_func("/nn/bf16/softmax-row-exp", test_softmax_row_exp);
  g_test_add_func("/nn/bf16/softmax-row-exp-f32", test_softmax_row_exp_f32);
  g_test_add_func("/nn/bf16/model", test_model);
  g_test_add_func("/nn/bf16/fallback", test_fallback);
  g_test_add_func("/nn/bf16/auto", test_auto);
  g_test_add_func("/nn/bf16/pass-budget", test_pass_budget);
  int rc = g_test_run();
  if (rc == 0 && !have_bf16 && !expect_no_bf16) {
    g_printerr("SKIP: %s (the CPU-independent parts passed)\n", SKIP_MSG);
    return 77;
  }
  return rc;
}
