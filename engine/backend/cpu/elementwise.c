/* Row-wise and element-wise ops: layer norm, GELU (erf), add, copy, mean over layers.
 * Fast versions split rows over the thread pool; *_ref are the plain loops. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize(                                                                              \
    "O3", "fp-contract=fast") /* vectorise the row loops in debugoptimized builds too */
#endif
#include "cpu.h"

#include <math.h>
#include <string.h>

/* ---- layer norm: y = (x - mean) / sqrt(var + eps) * w + b, biased variance ---- */

static void ln_row_ref(float *y, const float *x, const float *w, const float *b, int64_t n,
                       float eps)
{
  double mean = 0.0, var = 0.0;
  for (int64_t j = 0; j < n; j++)
    mean += x[j];
  mean /= (double)n;
  for (int64_t j = 0; j < n; j++)
    var += (x[j] - mean) * (x[j] - mean);
  var /= (double)n;
  double inv = 1.0 / sqrt(var + eps);
  for (int64_t j = 0; j < n; j++)
    y[j] = (float)((x[j] - mean) * inv * w[j] + b[j]);
}

void ufo_cpu_layer_norm_ref(UfoView y, UfoView x, UfoView w, UfoView b, float eps)
{
  for (int64_t i = 0; i < x.rows; i++)
    ln_row_ref(ufo_cpu_ptr(y) + i * y.ld, ufo_cpu_ptr(x) + i * x.ld, ufo_cpu_ptr(w), ufo_cpu_ptr(b),
               x.cols, eps);
}

/* Sums of a row in UFO_LN_LANES independent partial sums, added up in a fixed order at the end:
 * the compiler keeps the partial sums in vector registers (one float reduction chain would wait
 * on every add), and they round no worse than one running sum. */
#define UFO_LN_LANES 16

static float row_sum(const float *restrict x, int64_t n)
{
  float acc[UFO_LN_LANES] = {0};
  int64_t j = 0;
  for (; j + UFO_LN_LANES <= n; j += UFO_LN_LANES)
    for (int k = 0; k < UFO_LN_LANES; k++)
      acc[k] += x[j + k];
  for (int k = 0; j < n; j++, k++)
    acc[k] += x[j];
  float s = 0.f;
  for (int k = 0; k < UFO_LN_LANES; k++)
    s += acc[k];
  return s;
}

/* sum of (x - mean)^2 in partial sums as row_sum */
static float row_sq_dev(const float *restrict x, int64_t n, float mean)
{
  float acc[UFO_LN_LANES] = {0};
  int64_t j = 0;
  for (; j + UFO_LN_LANES <= n; j += UFO_LN_LANES)
    for (int k = 0; k < UFO_LN_LANES; k++) {
      const float d = x[j + k] - mean;
      acc[k] += d * d;
    }
  for (int k = 0; j < n; j++, k++) {
    const float d = x[j] - mean;
    acc[k] += d * d;
  }
  float s = 0.f;
  for (int k = 0; k < UFO_LN_LANES; k++)
    s += acc[k];
  return s;
}

static void ln_row(float *restrict y, const float *restrict x, const float *restrict w,
                   const float *restrict b, int64_t n, float eps)
{
  const float mean = row_sum(x, n) / (float)n;
  const float inv = 1.f / sqrtf(row_sq_dev(x, n, mean) / (float)n + eps);
  for (int64_t j = 0; j < n; j++)
    y[j] = (x[j] - mean) * inv * w[j] + b[j];
}

typedef struct {
  UfoView y, x, w, b, acc;
  float eps;
  int k, n;
} RowJob;

/* One compiled copy of the row, called by the op and by the fused linear (gemm_dnnl.c), so both
 * give the same bits whatever the compiler would contract or vectorise in either caller. */
__attribute__((noinline)) void ufo_cpu_layer_norm_row(float *y, const float *x, const float *w,
                                                      const float *b, int64_t n, float eps)
{
  if (y == x) {
    /* in place: restrict forbids aliasing, go through the reference row */
    ln_row_ref(y, x, w, b, n, eps);
    return;
  }
  ln_row(y, x, w, b, n, eps);
}

static void ln_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  RowJob *j = ctx;
  for (int64_t i = begin; i < end; i++)
    ufo_cpu_layer_norm_row(ufo_cpu_ptr(j->y) + i * j->y.ld, ufo_cpu_ptr(j->x) + i * j->x.ld,
                           ufo_cpu_ptr(j->w), ufo_cpu_ptr(j->b), j->x.cols, j->eps);
}

void ufo_cpu_layer_norm(UfoCpu *cpu, UfoView y, UfoView x, UfoView w, UfoView b, float eps)
{
  RowJob j = {.y = y, .x = x, .w = w, .b = b, .eps = eps};
  ufo_pool_run(cpu->pool, x.rows, ufo_cpu_grain(x.cols, UFO_CPU_ROWS_PER_TASK), ln_task, &j);
}

/* ---- GELU, exact: x * 0.5 * (1 + erf(x / sqrt 2)) ---- */

void ufo_cpu_gelu_ref(UfoView y, UfoView x)
{
  for (int64_t i = 0; i < x.rows; i++)
    for (int64_t j = 0; j < x.cols; j++) {
      double v = ufo_cpu_ptr(x)[i * x.ld + j];
      ufo_cpu_ptr(y)[i * y.ld + j] = (float)(v * 0.5 * (1.0 + erf(v * M_SQRT1_2)));
    }
}

/* erf by Abramowitz & Stegun 7.1.26 (|error| <= 1.5e-7, the formula of PyTorch's vectorised
 * CPU erf), branch-free so the GELU loop vectorises */
static inline float erf_fast(float x)
{
  float ax = fabsf(x);
  float t = 1.f / (1.f + 0.3275911f * ax);
  float p = ((((1.061405429f * t - 1.453152027f) * t + 1.421413741f) * t - 0.284496736f) * t +
             0.254829592f) *
            t;
  return copysignf(1.f - p * ufo_cpu_exp_neg(-ax * ax), x);
}

/* One compiled copy, as ufo_cpu_layer_norm_row (the fused linear's epilogue calls it too) */
__attribute__((noinline)) void ufo_cpu_gelu_row(float *y, const float *x, int64_t n)
{
  for (int64_t c = 0; c < n; c++)
    y[c] = x[c] * 0.5f * (1.f + erf_fast(x[c] * (float)M_SQRT1_2));
}

static void gelu_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  RowJob *j = ctx;
  for (int64_t i = begin; i < end; i++)
    ufo_cpu_gelu_row(ufo_cpu_ptr(j->y) + i * j->y.ld, ufo_cpu_ptr(j->x) + i * j->x.ld, j->x.cols);
}

void ufo_cpu_gelu(UfoCpu *cpu, UfoView y, UfoView x)
{
  RowJob j = {.y = y, .x = x};
  ufo_pool_run(cpu->pool, x.rows, ufo_cpu_grain(x.cols, UFO_CPU_ROWS_PER_TASK), gelu_task, &j);
}

/* ---- add with row broadcast of b ---- */

void ufo_cpu_add_ref(UfoView y, UfoView a, UfoView b)
{
  for (int64_t i = 0; i < a.rows; i++)
    for (int64_t j = 0; j < a.cols; j++)
      ufo_cpu_ptr(y)[i * y.ld + j] =
          ufo_cpu_ptr(a)[i * a.ld + j] + ufo_cpu_ptr(b)[(b.rows == 1 ? 0 : i) * b.ld + j];
}

static void add_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  RowJob *j = ctx;
  for (int64_t i = begin; i < end; i++) {
    float *y = ufo_cpu_ptr(j->y) + i * j->y.ld;
    const float *a = ufo_cpu_ptr(j->x) + i * j->x.ld;
    const float *b = ufo_cpu_ptr(j->w) + (j->w.rows == 1 ? 0 : i) * j->w.ld;
    for (int64_t c = 0; c < j->x.cols; c++)
      y[c] = a[c] + b[c];
  }
}

void ufo_cpu_add(UfoCpu *cpu, UfoView y, UfoView a, UfoView b)
{
  RowJob j = {.y = y, .x = a, .w = b};
  ufo_pool_run(cpu->pool, a.rows, ufo_cpu_grain(a.cols, UFO_CPU_ROWS_PER_TASK), add_task, &j);
}

/* ---- copy ---- */

void ufo_cpu_copy_ref(UfoView y, UfoView x)
{
  for (int64_t i = 0; i < x.rows; i++)
    for (int64_t j = 0; j < x.cols; j++)
      ufo_cpu_ptr(y)[i * y.ld + j] = ufo_cpu_ptr(x)[i * x.ld + j];
}

static void copy_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  RowJob *j = ctx;
  for (int64_t i = begin; i < end; i++)
    memmove(ufo_cpu_ptr(j->y) + i * j->y.ld, ufo_cpu_ptr(j->x) + i * j->x.ld,
            (size_t)j->x.cols * sizeof(float));
}

void ufo_cpu_copy(UfoCpu *cpu, UfoView y, UfoView x)
{
  RowJob j = {.y = y, .x = x};
  ufo_pool_run(cpu->pool, x.rows, ufo_cpu_grain(x.cols, 4 * UFO_CPU_ROWS_PER_TASK), copy_task, &j);
}

/* ---- mean over layers, accumulated (inference §0.8: a sum times 1/n) ---- */

static void mean_row(float *acc, const float *x, int64_t n, int k, int nl)
{
  float inv = 1.f / (float)nl;
  for (int64_t c = 0; c < n; c++) {
    float v = k == 0 ? x[c] : acc[c] + x[c];
    acc[c] = k == nl - 1 ? v * inv : v;
  }
}

void ufo_cpu_mean_acc_ref(UfoView acc, UfoView x, int k, int n)
{
  for (int64_t i = 0; i < x.rows; i++)
    mean_row(ufo_cpu_ptr(acc) + i * acc.ld, ufo_cpu_ptr(x) + i * x.ld, x.cols, k, n);
}

static void mean_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  RowJob *j = ctx;
  for (int64_t i = begin; i < end; i++)
    mean_row(ufo_cpu_ptr(j->acc) + i * j->acc.ld, ufo_cpu_ptr(j->x) + i * j->x.ld, j->x.cols, j->k,
             j->n);
}

void ufo_cpu_mean_acc(UfoCpu *cpu, UfoView acc, UfoView x, int k, int n)
{
  RowJob j = {.acc = acc, .x = x, .k = k, .n = n};
  ufo_pool_run(cpu->pool, x.rows, ufo_cpu_grain(x.cols, UFO_CPU_ROWS_PER_TASK), mean_task, &j);
}
