/* Segmentation's <MASK> runs decoded in draft passes (decode.h UfoDecodeDraft, nn/decode_pass.c
 * step_ahead) give the results of step-by-step decoding (UFO_DECODE_AHEAD=0), bit for bit: the
 * same objects, scores, boxes and mask probabilities (instance), the same class map (semantic),
 * the same number of decode steps, in fewer calls. The tiny planted fixtures' plans (label pieces,
 * comma, 16 × <MASK>, [SEP] on the planted grids; [SEP] at once on the others). --device=cuda-emu
 * runs the same on the emulated CUDA backend (fp32: its decode products are row-stable there too).
 */
#include "ufo/ufo.h"
#include "backend_by_name.h"
#include "fixture.h"
#include "same_result.h"
#include "synthetic_image.h"

#include <math.h>
#include <string.h>

#define UFO_TOKEN_SEP_ID 102 /* [SEP] of the tiny config's BERT vocabulary */

static UfoDevice device = UFO_DEVICE_CPU;

static UfoResult *run_once(UfoSession *s, const UfoImage *img, UfoTask task,
                           const UfoPlantedPlan *plan, gboolean ahead)
{
  GError *error = NULL;
  g_setenv("UFO_DECODE_AHEAD", ahead ? "1" : "0", TRUE);
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = task;
  req.plan = plan;
  UfoResult *res = NULL;
  g_assert_true(ufo_session_run(s, img, &req, &res, &error));
  g_assert_no_error(error);
  g_unsetenv("UFO_DECODE_AHEAD");
  return res;
}

/* tol 0: bit for bit; else scores and mask probabilities within tol, boxes within 1 px */
static void same_results(const UfoResult *a, const UfoResult *b, double tol)
{
  if (tol == 0) {
    ufo_test_assert_same_result(a, b);
    return;
  }
  g_assert_cmpint(a->n_objects, ==, b->n_objects);
  double worst = 0;
  for (int i = 0; i < a->n_objects; i++) {
    const UfoObject *x = &a->objects[i], *y = &b->objects[i];
    g_assert_cmpint(x->label_id, ==, y->label_id);
    const float bx[4] = {x->x1, x->y1, x->x2, x->y2}, by[4] = {y->x1, y->y1, y->x2, y->y2};
    g_assert_cmpfloat_with_epsilon(x->score, y->score, tol);
    for (int k = 0; k < 4; k++)
      g_assert_cmpfloat_with_epsilon(bx[k], by[k], 1.0);
    g_assert_true((x->mask == NULL) == (y->mask == NULL));
    if (!x->mask)
      continue;
    /* the same rectangle (a probability that crossed the threshold would move it) */
    g_assert_cmpmem(x->mask, 4 * sizeof(int), y->mask, 4 * sizeof(int));
    const int n = x->mask->width * x->mask->height;
    for (int p = 0; p < n; p++)
      worst = MAX(worst, fabs((double)x->mask->prob[p] - y->mask->prob[p]));
  }
  g_test_message("largest mask probability difference %.3g", worst);
  g_assert_cmpfloat(worst, <=, tol);
  g_assert_true((a->semantic == NULL) == (b->semantic == NULL));
  if (a->semantic) {
    const size_t n = (size_t)a->semantic->width * a->semantic->height;
    g_assert_cmpint(a->semantic->width, ==, b->semantic->width);
    g_assert_cmpint(a->semantic->height, ==, b->semantic->height);
    g_assert_cmpmem(a->semantic->labels, n * sizeof(uint16_t), b->semantic->labels,
                    n * sizeof(uint16_t));
  }
}

static void check(gconstpointer data)
{
  const char *fixture = data;
  const UfoTask task = strstr(fixture, "semantic") ? UFO_TASK_SEMANTIC : UFO_TASK_INSTANCE;
  GError *error = NULL;
  g_autoptr(UfoModel) model = ufo_model_new_random("tiny", 0, &error);
  g_autoptr(UfoFixture) fx = ufo_fixture_open(fixture, &error);
  g_assert_no_error(error);
  int ndim;
  int64_t shape[8];
  g_assert_true(ufo_fixture_shape(fx, "plan.tokens", &ndim, shape, &error));
  g_autofree int32_t *tokens = ufo_fixture_i32(fx, "plan.tokens", NULL, &error);
  g_autofree float *margin = ufo_fixture_f32(fx, "plan.margin", NULL, &error);
  g_assert_no_error(error);
  /* the grids the fixture leaves free (random weights: they never end) end at once, as a
   * trained model's grids without an object do: passes need every live row in a <MASK> run */
  const int n_seq = (int)shape[0], T = (int)shape[1];
  for (int q = 0; q < n_seq; q++) {
    gboolean free_row = TRUE;
    for (int t = 0; t < T; t++)
      free_row = free_row && tokens[(size_t)q * T + t] < 0;
    if (free_row) {
      tokens[(size_t)q * T] = UFO_TOKEN_SEP_ID;
      margin[q] = 20.f;
    }
  }
  UfoPlantedPlan plan = {tokens, margin, n_seq, T};
  UfoSessionOptions opts = {device, 0, 0};
  g_autoptr(UfoSession) s = ufo_session_new(model, &opts, &error);
  g_assert_no_error(error);
  const int W = 301, H = 197;
  g_autofree uint8_t *px = ufo_test_synthetic_rgb(W, H);
  UfoImage img = {UFO_PIXEL_RGB, W, H, (size_t)W * 3, px};
  /* twice each, interleaved: the second frame of each runs on grown buffers (and graphs) */
  for (int k = 0; k < 2; k++) {
    UfoResult *steps = run_once(s, &img, task, &plan, FALSE);
    UfoResult *passes = run_once(s, &img, task, &plan, TRUE);
    g_assert_cmpint(steps->n_decode_passes, ==, steps->n_decode_steps);
    g_assert_cmpint(passes->n_decode_steps, ==, steps->n_decode_steps);
    /* the 16 <MASK> and [SEP] of the planted grids: in one or two passes */
    g_assert_cmpint(passes->n_decode_passes, <, steps->n_decode_steps / 2);
    g_assert_cmpint(steps->n_objects + (steps->semantic != NULL), >, 0);
    /* the CPU's decode products are row-stable (docs/performance.md section 9); the emulated
     * cuBLASLt's sums depend on the row count, as the GPU's: within rounding there */
    same_results(steps, passes, device == UFO_DEVICE_CPU ? 0 : 1e-5);
    g_test_message("%s: %d objects, %d decode steps in %d calls (step by step: %d)", fixture,
                   passes->n_objects, passes->n_decode_steps, passes->n_decode_passes,
                   steps->n_decode_passes);
    ufo_result_free(steps);
    ufo_result_free(passes);
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  const char *dev = "cpu";
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--device=")) {
      dev = argv[i] + strlen("--device=");
      if (!ufo_test_session_device(dev, &device))
        return 2;
    }
  g_autofree char *a = g_strdup_printf("/session/decode-ahead/%s/instance", dev);
  g_autofree char *b = g_strdup_printf("/session/decode-ahead/%s/semantic", dev);
  g_test_add_data_func(a, "tiny-instance-planted", check);
  g_test_add_data_func(b, "tiny-semantic-planted", check);
  return g_test_run();
}
