/* The decode-selection ops on a named backend against plain loops.
 * argmax_rows (greedy): ids exact (first index among ties), probabilities against a double
 * reference (libm exp, 1e-6 relative) and, on the CPU backends, bit-identical to the host
 * decoder's arithmetic (backend/select_math.h),
 * the planted forcing with margin 0 (a tie: the lower index wins) and > 0, strided rows, a
 * 30,525-wide vocabulary, many rows, and bad operands refused by the wrapper.
 * argmax_rows_to (the same with its operands on the backend, decode passes): the same ids and
 * probabilities as argmax_rows bit for bit, its outputs at an offset inside larger columns (the
 * elements around them untouched), and bad operands refused.
 * log_softmax_topk (beam search): against beam.c's arithmetic followed by a full sort (score
 * descending, lower token on ties): tokens exact everywhere, scores bit-identical on the CPU
 * backends and within 1e-6 absolute (+ 2 float ulps of the score when a beam score is added) on
 * CUDA; ties, forcing, τ != 1, beam scores that round distinct log-probabilities together
 * (-1e9: the whole row ties), k = 1..16 and 40, V = 30,525, many rows, bytes counted, and bad
 * operands refused.
 * Usage: test-nn-select [--backend=cpu|cpu-ref|cuda-emu|cuda] */
#include "backend/backend.h"
#include "backend_by_name.h"
#include "backend/select_math.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *backend_name = "cpu";

/* a row with the forcing applied: the first maximum (plain loop), the probability in double
 * (libm exp) and the host decoder's float bits (engine/decode/greedy.c: backend/select_math.h) */
static int32_t host_select(const float *row, int V, int tok, float margin, double *ref_prob,
                           float *host_prob)
{
  float *l = g_memdup2(row, sizeof(float) * V);
  if (tok >= 0) {
    float mx = l[0];
    for (int v = 1; v < V; v++)
      mx = MAX(mx, l[v]);
    l[tok] = mx + margin;
  }
  int32_t best = 0;
  for (int v = 1; v < V; v++)
    if (l[v] > l[best])
      best = v;
  double sum = 0.0;
  for (int v = 0; v < V; v++)
    sum += exp((double)l[v] - (double)l[best]);
  *ref_prob = 1.0 / sum;
  g_assert_cmpint(ufo_select_argmax_prob(l, V, host_prob), ==, best);
  g_free(l);
  return best;
}

/* argmax_rows_to over x with the same forcing: equal to argmax_rows' ids and prob, bit for bit;
 * its columns start 3 elements into tensors of n + 5, whose other elements must keep their
 * sentinels */
static void check_to(UfoBackend *be, UfoView x, const int32_t *force, const float *margin,
                     const int32_t *ids, const float *prob)
{
  const int n = (int)x.rows, pad = 3, len = n + 5;
  g_autoptr(GError) err = NULL;
  int64_t ne[1] = {len};
  g_autoptr(UfoTensor) ti = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, ne, &err);
  g_autoptr(UfoTensor) tp = ufo_tensor_new(be, 1, ne, &err);
  g_autoptr(UfoTensor) tf = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, ne, &err);
  g_autoptr(UfoTensor) tm = ufo_tensor_new(be, 1, ne, &err);
  g_assert_no_error(err);
  int32_t *hi = g_new(int32_t, len);
  float *hp = g_new(float, len);
  for (int i = 0; i < len; i++) {
    hi[i] = -7;
    hp[i] = -7.5f;
  }
  g_assert_true(ufo_tensor_upload_i32(ti, 0, hi, len, &err));
  g_assert_true(ufo_tensor_upload(tp, 0, hp, len, &err));
  UfoView vf = UFO_VIEW_NONE, vm = UFO_VIEW_NONE;
  if (force) {
    g_assert_true(ufo_tensor_upload_i32(tf, pad, force, n, &err));
    g_assert_true(ufo_tensor_upload(tm, pad, margin, n, &err));
    vf = ufo_view_at(tf, pad, n, 1, 1);
    vm = ufo_view_at(tm, pad, n, 1, 1);
  }
  g_assert_true(ufo_op_argmax_rows_to(be, x, vf, vm, ufo_view_at(ti, pad, n, 1, 1),
                                      ufo_view_at(tp, pad, n, 1, 1), &err));
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_download_i32(ti, 0, hi, len, &err));
  g_assert_true(ufo_tensor_download(tp, 0, hp, len, &err));
  g_assert_no_error(err);
  for (int i = 0; i < len; i++) {
    const gboolean in = i >= pad && i < pad + n;
    if (in && (hi[i] != ids[i - pad] || memcmp(&hp[i], &prob[i - pad], sizeof(float)) != 0))
      g_error("%s: argmax_rows_to row %d: %d %.9g, argmax_rows %d %.9g", backend_name, i - pad,
              hi[i], hp[i], ids[i - pad], prob[i - pad]);
    if (!in && (hi[i] != -7 || hp[i] != -7.5f))
      g_error("%s: argmax_rows_to wrote element %d outside its columns", backend_name, i);
  }
  g_free(hi);
  g_free(hp);
}

static void check_case(UfoBackend *be, int n, int V, int ld, gboolean ties, gboolean plan,
                       guint32 seed)
{
  GRand *rng = g_rand_new_with_seed(seed);
  float *h = g_new(float, (size_t)n *ld);
  for (size_t i = 0; i < (size_t)n * ld; i++)
    h[i] = (float)g_rand_double_range(rng, -8, 8);
  int32_t *force = plan ? g_new(int32_t, n) : NULL;
  float *margin = plan ? g_new(float, n) : NULL;
  for (int i = 0; i < n; i++) {
    float *row = h + (size_t)i * ld;
    if (ties) { /* the maximum twice: the lower index must win */
      int a = g_rand_int_range(rng, 0, V), b = g_rand_int_range(rng, 0, V);
      row[a] = row[b] = 9.5f;
    }
    if (plan) {
      force[i] = i % 3 == 0 ? -1 : g_rand_int_range(rng, 0, V);
      margin[i] = i % 3 == 1 ? 0.f : 2.5f; /* margin 0: ties with the row's maximum */
    }
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoTensor) t = ufo_tensor_new_2d(be, n, ld, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload(t, 0, h, (size_t)n * ld, &err));
  int32_t *ids = g_new(int32_t, n);
  float *prob = g_new(float, n);
  UfoView x = ufo_view_sub(ufo_view(t), 0, 0, n, V);
  g_assert_true(ufo_op_argmax_rows(be, x, force, margin, ids, prob, &err));
  g_assert_no_error(err);
  gboolean exact = g_str_has_prefix(be->ops->name, "cpu");
  for (int i = 0; i < n; i++) {
    double want_p;
    float host_p;
    int32_t want = host_select(h + (size_t)i * ld, V, plan ? force[i] : -1, plan ? margin[i] : 0.f,
                               &want_p, &host_p);
    if (ids[i] != want)
      g_error("%s: row %d of %d (V %d): id %d, want %d", backend_name, i, n, V, ids[i], want);
    double rel = fabs((double)prob[i] - want_p) / want_p;
    if (rel > 1e-6 || (exact && prob[i] != host_p))
      g_error("%s: row %d: prob %.9g, want %.9g (rel %.3g), host decoder %.9g", backend_name, i,
              prob[i], want_p, rel, host_p);
  }
  check_to(be, x, force, margin, ids, prob);
  g_free(h);
  g_free(force);
  g_free(margin);
  g_free(ids);
  g_free(prob);
  g_rand_free(rng);
}

/* beam.c's log_softmax_t + beam score on a row with the forcing applied (apply_plan), then the
 * k best by a full sort: score descending, lower token first */
typedef struct {
  float c;
  int32_t v;
} Cand;

static int cand_cmp(const void *a, const void *b)
{
  const Cand *x = a, *y = b;
  if (x->c != y->c)
    return x->c > y->c ? -1 : 1;
  return x->v < y->v ? -1 : x->v > y->v;
}

static void host_topk(const float *row, int V, float tau, int tok, float margin, gboolean has_bias,
                      float bias, int k, float *val, int32_t *idx, double *ref_lp)
{
  float *l = g_memdup2(row, sizeof(float) * V);
  if (tok >= 0) {
    float mx = l[0];
    for (int v = 1; v < V; v++)
      mx = MAX(mx, l[v]);
    l[tok] = mx + margin;
  }
  if (tau != 1.f)
    for (int v = 0; v < V; v++)
      l[v] = l[v] / tau;
  float mx;
  const float lse = ufo_select_log_sum_exp(l, V, &mx);
  /* the independent reference: log_softmax in double, libm's exp, a plain loop */
  double dmx = l[0], dsum = 0.0;
  for (int v = 1; v < V; v++)
    dmx = MAX(dmx, (double)l[v]);
  for (int v = 0; v < V; v++)
    dsum += exp((double)l[v] - dmx);
  for (int v = 0; v < V; v++)
    ref_lp[v] = ((double)l[v] - dmx) - log(dsum);
  Cand *c = g_new(Cand, V);
  for (int v = 0; v < V; v++) {
    c[v].c = (l[v] - mx) - lse;
    if (has_bias)
      c[v].c += bias;
    c[v].v = v;
  }
  qsort(c, V, sizeof(Cand), cand_cmp);
  for (int j = 0; j < k; j++) {
    val[j] = c[j].c;
    idx[j] = c[j].v;
  }
  g_free(c);
  g_free(l);
}

typedef enum { BIAS_NONE, BIAS_BEAM, BIAS_HUGE } BiasKind;

static void check_topk(UfoBackend *be, int n, int V, int ld, int k, float tau, gboolean ties,
                       gboolean plan, BiasKind bk, guint32 seed)
{
  GRand *rng = g_rand_new_with_seed(seed);
  float *h = g_new(float, (size_t)n *ld);
  for (size_t i = 0; i < (size_t)n * ld; i++)
    h[i] = (float)g_rand_double_range(rng, -8, 8);
  int32_t *force = plan ? g_new(int32_t, n) : NULL;
  float *margin = plan ? g_new(float, n) : NULL;
  float *bias = bk != BIAS_NONE ? g_new(float, n) : NULL;
  for (int i = 0; i < n; i++) {
    float *row = h + (size_t)i * ld;
    if (ties) { /* the maximum three times, and equal values further down */
      for (int r = 0; r < 3; r++)
        row[g_rand_int_range(rng, 0, V)] = 9.5f;
      for (int r = 0; r < 6; r++)
        row[g_rand_int_range(rng, 0, V)] = 7.25f;
    }
    if (plan) {
      force[i] = i % 3 == 0 ? -1 : g_rand_int_range(rng, 0, V);
      margin[i] = i % 3 == 1 ? 0.f : 2.5f; /* margin 0: ties with the row's maximum */
    }
    if (bias) /* beam scores; -1e9: the original's unused beams, a whole row of ties */
      bias[i] = bk == BIAS_HUGE && i % 2 ? -1e9f : -(float)g_rand_double_range(rng, 0, 40);
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoTensor) t = ufo_tensor_new_2d(be, n, ld, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload(t, 0, h, (size_t)n * ld, &err));
  float *val = g_new(float, (size_t)n *k), *want_v = g_new(float, k);
  int32_t *idx = g_new(int32_t, (size_t)n * k), *want_i = g_new(int32_t, k);
  double *ref_lp = g_new(double, V);
  UfoView x = ufo_view_sub(ufo_view(t), 0, 0, n, V);
  const uint64_t down0 = be->bytes_down;
  g_assert_true(ufo_op_log_softmax_topk(be, x, tau, force, margin, bias, k, val, idx, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(be->bytes_down - down0, ==, (uint64_t)n * k * 8); /* O(rows·k), not rows·V */
  gboolean exact = g_str_has_prefix(be->ops->name, "cpu");
  for (int i = 0; i < n; i++) {
    host_topk(h + (size_t)i * ld, V, tau, plan ? force[i] : -1, plan ? margin[i] : 0.f,
              bias != NULL, bias ? bias[i] : 0.f, k, want_v, want_i, ref_lp);
    for (int j = 0; j < k; j++) {
      const float got = val[(size_t)i * k + j];
      const int32_t gi = idx[(size_t)i * k + j];
      const double tol = 1e-6 + (bias ? 2.0 * fabsf(want_v[j]) * FLT_EPSILON : 0.0);
      if (gi != want_i[j] || (exact ? got != want_v[j] : fabs((double)got - want_v[j]) > tol))
        g_error("%s: row %d of %d (V %d, k %d, tau %g): #%d = (%.9g, %d), want (%.9g, %d)",
                backend_name, i, n, V, k, tau, j, got, gi, want_v[j], want_i[j]);
      /* against the double reference: the float lse and exp (about 1 ulp) and the roundings of
       * lp and lp + bias; a wrong log-sum-exp (a term lost, a wrong exp) is far outside */
      const double ref = ref_lp[gi] + (bias ? (double)bias[i] : 0.0);
      const double tol_ref =
          1e-6 + (2.0 * fabs(ref_lp[gi]) + fabs(ref)) * FLT_EPSILON + (exact ? 0.0 : tol);
      if (fabs((double)got - ref) > tol_ref)
        g_error("%s: row %d of %d (V %d, k %d, tau %g): #%d (token %d) = %.9g, double "
                "reference %.9g",
                backend_name, i, n, V, k, tau, j, gi, got, ref);
    }
  }
  g_free(h);
  g_free(force);
  g_free(margin);
  g_free(bias);
  g_free(val);
  g_free(idx);
  g_free(want_v);
  g_free(want_i);
  g_free(ref_lp);
  g_rand_free(rng);
}

static void test_topk(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  check_topk(be, 1, 1, 1, 1, 1.f, FALSE, FALSE, BIAS_NONE, 11);     /* one logit: lp 0 */
  check_topk(be, 7, 33, 40, 8, 1.f, TRUE, FALSE, BIAS_NONE, 12);    /* strided rows, ties */
  check_topk(be, 4, 20, 20, 20, 0.7f, TRUE, FALSE, BIAS_BEAM, 13);  /* k = V, τ < 1 */
  check_topk(be, 5, 300, 300, 6, 1.3f, FALSE, TRUE, BIAS_BEAM, 14); /* forcing, τ > 1 */
  check_topk(be, 6, 300, 300, 16, 1.f, TRUE, TRUE, BIAS_HUGE, 15);  /* -1e9: a row of ties */
  for (int k = 1; k <= 16; k++) /* the UFO vocabulary, beams of 1..8 (k = 2·beam) and odd k */
    check_topk(be, 3, 30525, 30528, k, k % 3 ? 1.f : 0.9f, TRUE, k % 2,
               k % 4 ? BIAS_BEAM : BIAS_NONE, 100 + k);
  check_topk(be, 2, 30525, 30525, 40, 1.f, TRUE, TRUE, BIAS_HUGE, 16); /* k > 16: chunks */
  check_topk(be, 650, 257, 257, 16, 1.f, TRUE, TRUE, BIAS_BEAM, 17);   /* many rows */
  ufo_backend_free(be);
}

static void test_topk_errors(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoTensor *t = ufo_tensor_new_2d(be, 2, 8, &err);
  g_assert_no_error(err);
  int32_t idx[32], bad[2] = {0, 8};
  float val[32];
  const uint64_t down0 = be->bytes_down;
  g_assert_false(ufo_op_log_softmax_topk(be, ufo_view(t), 1.f, bad, NULL, NULL, 2, val, idx, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* forced token outside the row */
  g_clear_error(&err);
  g_assert_false(ufo_op_log_softmax_topk(be, ufo_view_at(t, 4, 2, 8, 8), 1.f, NULL, NULL, NULL, 2,
                                         val, idx, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* view outside the tensor */
  g_clear_error(&err);
  g_assert_false(
      ufo_op_log_softmax_topk(be, ufo_view(t), 1.f, NULL, NULL, NULL, 2, NULL, idx, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* no host output */
  g_clear_error(&err);
  g_assert_false(
      ufo_op_log_softmax_topk(be, ufo_view(t), 1.f, NULL, NULL, NULL, 0, val, idx, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* k = 0 */
  g_clear_error(&err);
  g_assert_false(
      ufo_op_log_softmax_topk(be, ufo_view(t), 1.f, NULL, NULL, NULL, 9, val, idx, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* k > V */
  g_clear_error(&err);
  g_assert_false(
      ufo_op_log_softmax_topk(be, ufo_view(t), 0.f, NULL, NULL, NULL, 2, val, idx, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* τ = 0 */
  g_clear_error(&err);
  g_assert_false(
      ufo_op_log_softmax_topk(be, ufo_view(t), NAN, NULL, NULL, NULL, 2, val, idx, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* τ NaN */
  g_clear_error(&err);
  g_assert_cmpuint(be->bytes_down, ==, down0); /* nothing counted for refused calls */
  ufo_tensor_free(t);
  ufo_backend_free(be);
}

static void test_cases(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  check_case(be, 1, 1, 1, FALSE, FALSE, 1);       /* one logit: prob 1 */
  check_case(be, 7, 33, 40, TRUE, FALSE, 2);      /* strided rows, ties */
  check_case(be, 5, 300, 300, FALSE, TRUE, 3);    /* planted forcing, margins 0 and 2.5 */
  check_case(be, 3, 30525, 30528, TRUE, TRUE, 4); /* the UFO vocabulary */
  check_case(be, 650, 257, 257, TRUE, TRUE, 5);   /* many rows (625 grids + some) */
  ufo_backend_free(be);
}

static void test_errors(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoTensor *t = ufo_tensor_new_2d(be, 2, 8, &err);
  g_assert_no_error(err);
  int32_t ids[2], bad[2] = {0, 8};
  float prob[2];
  g_assert_false(ufo_op_argmax_rows(be, ufo_view(t), bad, NULL, ids, prob, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* forced token outside the row */
  g_clear_error(&err);
  g_assert_false(ufo_op_argmax_rows(be, ufo_view_at(t, 4, 2, 8, 8), NULL, NULL, ids, prob, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* view outside the tensor */
  g_clear_error(&err);
  g_assert_false(ufo_op_argmax_rows(be, ufo_view(t), NULL, NULL, NULL, prob, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* no host output */
  g_clear_error(&err);
  /* argmax_rows_to */
  int64_t ne[1] = {4};
  UfoTensor *i32 = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, ne, &err);
  UfoTensor *f32 = ufo_tensor_new(be, 1, ne, &err);
  g_assert_no_error(err);
  UfoView ids_v = ufo_view_at(i32, 0, 2, 1, 1), prob_v = ufo_view_at(f32, 0, 2, 1, 1);
  UfoView force_v = ufo_view_at(i32, 2, 2, 1, 1), margin_v = ufo_view_at(f32, 2, 2, 1, 1);
  const float zeros[2] = {0.f, 0.f};
  g_assert_true(ufo_tensor_upload(f32, 2, zeros, 2, &err));
  g_assert_true(ufo_tensor_upload_i32(i32, 2, bad, 2, &err));
  g_assert_false(ufo_op_argmax_rows_to(be, ufo_view(t), force_v, margin_v, ids_v, prob_v, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* forced token outside the row */
  g_clear_error(&err);
  const int32_t below[2] = {-2, 0};
  g_assert_true(ufo_tensor_upload_i32(i32, 2, below, 2, &err));
  g_assert_false(ufo_op_argmax_rows_to(be, ufo_view(t), force_v, margin_v, ids_v, prob_v, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* forcing below -1 */
  g_clear_error(&err);
  g_assert_false(ufo_op_argmax_rows_to(be, ufo_view(t), ufo_view_at(i32, 0, 2, 1, 1), margin_v,
                                       ufo_view_at(i32, 2, 2, 1, 1), prob_v, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* forcing not from the last upload */
  g_clear_error(&err);
  g_assert_false(
      ufo_op_argmax_rows_to(be, ufo_view(t), UFO_VIEW_NONE, UFO_VIEW_NONE, prob_v, prob_v, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* ids not i32 */
  g_clear_error(&err);
  g_assert_false(ufo_op_argmax_rows_to(be, ufo_view(t), UFO_VIEW_NONE, UFO_VIEW_NONE,
                                       ufo_view_at(i32, 0, 3, 1, 1), prob_v, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* ids of another row count */
  g_clear_error(&err);
  g_assert_false(ufo_op_argmax_rows_to(be, ufo_view(t), UFO_VIEW_NONE, UFO_VIEW_NONE, ids_v,
                                       ufo_view_at(t, 0, 2, 1, 8), &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* prob a strided column of the logits */
  g_clear_error(&err);
  g_assert_false(ufo_op_argmax_rows_to(be, ufo_view(t), UFO_VIEW_NONE, UFO_VIEW_NONE, ids_v,
                                       ufo_view_at(t, 0, 2, 1, 1), &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID); /* prob overlaps the logits */
  g_clear_error(&err);
  ufo_tensor_free(i32);
  ufo_tensor_free(f32);
  ufo_tensor_free(t);
  ufo_backend_free(be);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
  g_test_add_func("/nn/select/argmax-rows", test_cases);
  g_test_add_func("/nn/select/errors", test_errors);
  g_test_add_func("/nn/select/log-softmax-topk", test_topk);
  g_test_add_func("/nn/select/log-softmax-topk-errors", test_topk_errors);
  return g_test_run();
}
