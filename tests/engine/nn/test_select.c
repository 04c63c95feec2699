/* The decode-selection op (backend.h argmax_rows) on a named backend against plain loops:
 * ids exact (first index among ties), probabilities against a double reference (1e-6 relative;
 * bit-identical to the host decoder's arithmetic on the CPU backends), the planted forcing with
 * margin 0 (a tie: the lower index wins) and > 0, strided rows, a 30,525-wide vocabulary, many
 * rows, and bad operands refused by the wrapper.
 * Usage: test-nn-select [--backend=cpu|cpu-ref|cuda-emu|cuda] */
#include "backend/backend.h"
#include "backend_by_name.h"

#include <math.h>
#include <string.h>

static const char *backend_name = "cpu";

/* the host decoder's arithmetic (engine/decode/greedy.c) on a row with the forcing applied */
static int32_t host_select(const float *row, int V, int tok, float margin, float *prob)
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
  for (int v = 0; v < V; v++) {
    const float d = l[v] - l[best];
    if (d > -87.0f)
      sum += expf(d);
  }
  *prob = (float)(1.0 / sum);
  g_free(l);
  return best;
}

static void check_case(UfoBackend *be, int n, int V, int ld, gboolean ties, gboolean plan,
                       guint32 seed)
{
  GRand *rng = g_rand_new_with_seed(seed);
  float *h = g_new(float, (size_t)n * ld);
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
    float want_p;
    int32_t want = host_select(h + (size_t)i * ld, V, plan ? force[i] : -1,
                               plan ? margin[i] : 0.f, &want_p);
    if (ids[i] != want)
      g_error("%s: row %d of %d (V %d): id %d, want %d", backend_name, i, n, V, ids[i], want);
    double rel = fabs((double)prob[i] - want_p) / want_p;
    if (exact ? prob[i] != want_p : rel > 1e-6)
      g_error("%s: row %d: prob %.9g, want %.9g (rel %.3g)", backend_name, i, prob[i], want_p,
              rel);
  }
  g_free(h);
  g_free(force);
  g_free(margin);
  g_free(ids);
  g_free(prob);
  g_rand_free(rng);
}

static void test_cases(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  check_case(be, 1, 1, 1, FALSE, FALSE, 1);         /* one logit: prob 1 */
  check_case(be, 7, 33, 40, TRUE, FALSE, 2);        /* strided rows, ties */
  check_case(be, 5, 300, 300, FALSE, TRUE, 3);      /* planted forcing, margins 0 and 2.5 */
  check_case(be, 3, 30525, 30528, TRUE, TRUE, 4);   /* the UFO vocabulary */
  check_case(be, 650, 257, 257, TRUE, TRUE, 5);     /* many rows (625 grids + some) */
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
  return g_test_run();
}
