/* ufo_session_run_batch (ufo.h): frames run together give each frame the results of
 * ufo_session_run on it alone, bit for bit on the CPU backend, for every task, with greedy and
 * beam decoding, frames of different sizes and formats; a prepared batch allocates nothing; a
 * bad frame fails the batch naming it. The shipped demo model (trained: sequences end at
 * different steps, so the batch compacts rows of several frames) and the tiny random model. */
#include "ufo/ufo.h"
#include "model/config.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "same_result.h"

#include <string.h>

static UfoModel *demo, *tiny;

/* frame k: shapes in bright colours on a dark gradient (the demo model's kind of scene) at w x h,
 * 3 or 4 bytes per pixel */
static uint8_t *scene(int k, int w, int h, int bpp)
{
  uint8_t *px = g_malloc((size_t)w * h * bpp);
  const int cx[3] = {w / 4 + 13 * k, w / 2 + 7 * k, 3 * w / 4 - 11 * k};
  const int cy[3] = {h / 3 + 9 * k, 2 * h / 3 - 5 * k, h / 4 + 3 * k};
  const int r = MAX(w, h) / (8 + k);
  static const uint8_t col[4][3] = {{230, 40, 40}, {40, 220, 60}, {50, 80, 240}, {240, 220, 40}};
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      uint8_t *p = px + ((size_t)y * w + x) * bpp;
      p[0] = (uint8_t)(20 + (x * 40) / w);
      p[1] = (uint8_t)(25 + (y * 30) / h);
      p[2] = (uint8_t)(30 + k * 5);
      if (bpp == 4)
        p[3] = 255;
      for (int i = 0; i < 3; i++) {
        const int dx = x - cx[i], dy = y - cy[i];
        /* a disc, a square and a diamond */
        const gboolean in = i == 0   ? dx * dx + dy * dy < r * r
                            : i == 1 ? ABS(dx) < r && ABS(dy) < r
                                     : ABS(dx) + ABS(dy) < r;
        if (in)
          memcpy(p, col[(i + k) % 4], 3);
      }
    }
  return px;
}

#define N_FRAMES 3

typedef struct {
  uint8_t *px[N_FRAMES];
  UfoImage img[N_FRAMES];
} Frames;

static void frames_init(Frames *f)
{
  /* different sizes and pixel formats in one batch */
  const int w[N_FRAMES] = {480, 333, 400}, h[N_FRAMES] = {480, 251, 360};
  const UfoPixelFormat fmt[N_FRAMES] = {UFO_PIXEL_RGB, UFO_PIXEL_BGRA, UFO_PIXEL_RGBX};
  for (int k = 0; k < N_FRAMES; k++) {
    const int bpp = fmt[k] == UFO_PIXEL_RGB ? 3 : 4;
    f->px[k] = scene(k, w[k], h[k], bpp);
    f->img[k] = (UfoImage){fmt[k], w[k], h[k], (size_t)w[k] * bpp, f->px[k]};
  }
}

static void frames_clear(Frames *f)
{
  for (int k = 0; k < N_FRAMES; k++)
    g_free(f->px[k]);
}

typedef struct {
  const char *name;
  gboolean demo;
  UfoTask task;
  int beam;
} Case;

/* objects the frames of a case must show, so that the comparison compares something */
static int n_found(UfoResult **r)
{
  int n = 0;
  for (int k = 0; k < N_FRAMES; k++)
    n += r[k]->n_objects + (r[k]->caption != NULL) + (r[k]->semantic != NULL);
  return n;
}

static void test_same_as_alone(gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  Frames f;
  frames_init(&f);
  UfoSessionOptions opt = {.device = UFO_DEVICE_CPU, .threads = 2};
  g_autoptr(UfoSession) s = ufo_session_new(c->demo ? demo : tiny, &opt, &error);
  g_assert_no_error(error);
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = c->task;
  req.beam_size = c->beam;
  req.prompt = c->task == UFO_TASK_GROUNDING ? "the red circle" : NULL;
  UfoResult *alone[N_FRAMES] = {0}, *batch[N_FRAMES] = {0};
  for (int k = 0; k < N_FRAMES; k++) {
    g_assert_true(ufo_session_run(s, &f.img[k], &req, &alone[k], &error));
    g_assert_no_error(error);
    g_assert_cmpint(alone[k]->batch_size, ==, 1);
  }
  g_assert_cmpint(n_found(alone), >, 0);
  /* detection twice: the second batch reuses the first one's caches */
  for (int round = 0; round < (c->task == UFO_TASK_DETECTION && c->beam == 0 ? 2 : 1); round++) {
    g_assert_true(ufo_session_run_batch(s, f.img, N_FRAMES, &req, batch, &error));
    g_assert_no_error(error);
    for (int k = 0; k < N_FRAMES; k++) {
      ufo_test_assert_same_result(batch[k], alone[k]);
      const gboolean together = c->task != UFO_TASK_CAPTION && c->task != UFO_TASK_GROUNDING;
      g_assert_cmpint(batch[k]->batch_size, ==, together ? N_FRAMES : 1);
      g_clear_pointer(&batch[k], ufo_result_free);
    }
  }
  /* a batch of one is ufo_session_run */
  g_assert_true(ufo_session_run_batch(s, &f.img[1], 1, &req, batch, &error));
  g_assert_no_error(error);
  ufo_test_assert_same_result(batch[0], alone[1]);
  ufo_result_free(batch[0]);
  for (int k = 0; k < N_FRAMES; k++)
    ufo_result_free(alone[k]);
  frames_clear(&f);
}

/* decode.h end_first (engine/tasks/dead_heads.c): grids whose first token no kept answer begins
 * with end there; the results are those of decoding them to their [SEP] (UFO_END_FIRST=0), frame
 * by frame and in a batch. The demo model answers `background` for most of its grids. */
static void test_end_first(gconstpointer data)
{
  const UfoTask task = (UfoTask)GPOINTER_TO_INT(data);
  GError *error = NULL;
  Frames f;
  frames_init(&f);
  UfoSessionOptions opt = {.device = UFO_DEVICE_CPU, .threads = 2};
  g_autoptr(UfoSession) s = ufo_session_new(demo, &opt, &error);
  g_assert_no_error(error);
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = task;
  UfoResult *ended[N_FRAMES] = {0}, *full[N_FRAMES] = {0}, *batch[N_FRAMES] = {0};
  for (int k = 0; k < N_FRAMES; k++) {
    g_assert_true(ufo_session_run(s, &f.img[k], &req, &ended[k], &error));
    g_assert_no_error(error);
  }
  g_assert_true(ufo_session_run_batch(s, f.img, N_FRAMES, &req, batch, &error));
  g_assert_no_error(error);
  g_setenv("UFO_END_FIRST", "0", TRUE);
  for (int k = 0; k < N_FRAMES; k++) {
    g_assert_true(ufo_session_run(s, &f.img[k], &req, &full[k], &error));
    g_assert_no_error(error);
  }
  g_unsetenv("UFO_END_FIRST");
  g_assert_cmpint(n_found(full), >, 0);
  for (int k = 0; k < N_FRAMES; k++) {
    ufo_test_assert_same_result(ended[k], full[k]);
    ufo_test_assert_same_result(batch[k], full[k]);
    ufo_result_free(ended[k]);
    ufo_result_free(full[k]);
    ufo_result_free(batch[k]);
  }
  frames_clear(&f);
}

/* planted plans: the rows of each frame end at different steps (compaction across frames) */
static void test_planted_compaction(void)
{
  GError *error = NULL;
  Frames f;
  frames_init(&f);
  g_autoptr(UfoSession) s = ufo_session_new(tiny, NULL, &error);
  g_assert_no_error(error);
  const UfoConfig *cfg = &tiny->cfg;
  const UfoTaskConfig *tc = &cfg->tasks[UFO_TASK_DETECTION];
  const int S = tc->input_size, T = tc->max_length;
  const int gside = tc->grid_per_window * ((S / cfg->patch_size) / cfg->window_size);
  const int Q = gside * gside;
  g_assert_cmpint(Q, >, 1);
  g_assert_cmpint(T, >, 8);
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = UFO_TASK_DETECTION;
  /* grid q ends ([SEP]) at step 1, 4 or 7; the margin is all in the per-step margins, so the
   * batch's copy of the plan must carry them (margin 0 alone would not end a grid there) */
  g_autofree int32_t *tokens = g_new(int32_t, (size_t)Q * T);
  g_autofree float *margin = g_new(float, Q);
  g_autofree float *step_margin = g_new0(float, (size_t)Q *T);
  for (int q = 0; q < Q; q++) {
    margin[q] = 0.f;
    for (int t = 0; t < T; t++) {
      const gboolean end = t == (q * 3 + 1) % 9;
      tokens[(size_t)q * T + t] = end ? UFO_TOKEN_SEP : -1;
      step_margin[(size_t)q * T + t] = end ? 50.f : 0.f;
    }
  }
  UfoPlantedPlan plan = {tokens, margin, Q, T, step_margin};
  req.plan = &plan;
  UfoResult *alone[N_FRAMES] = {0}, *batch[N_FRAMES] = {0};
  for (int k = 0; k < N_FRAMES; k++) {
    g_assert_true(ufo_session_run(s, &f.img[k], &req, &alone[k], &error));
    g_assert_no_error(error);
  }
  g_assert_true(ufo_session_run_batch(s, f.img, N_FRAMES, &req, batch, &error));
  g_assert_no_error(error);
  for (int k = 0; k < N_FRAMES; k++) {
    g_assert_cmpint(batch[k]->n_decode_steps, ==, alone[k]->n_decode_steps);
    g_assert_cmpint(batch[k]->n_decode_steps, <=, 8);
    ufo_test_assert_same_result(batch[k], alone[k]);
    ufo_result_free(alone[k]);
    ufo_result_free(batch[k]);
  }
  frames_clear(&f);
}

/* ufo_session_prepare_batch: batches up to the prepared size allocate nothing */
static void test_prepare_batch(gconstpointer data)
{
  const UfoTask task = (UfoTask)GPOINTER_TO_INT(data);
  GError *error = NULL;
  Frames f;
  frames_init(&f);
  g_autoptr(UfoSession) s = ufo_session_new(demo, NULL, &error);
  g_assert_no_error(error);
  g_assert_true(ufo_session_prepare_batch(s, task, N_FRAMES, &error));
  g_assert_no_error(error);
  const uint64_t allocs = ufo_session_get_allocations(s);
  for (int n = N_FRAMES; n >= 1; n--) {
    UfoRequest req = UFO_REQUEST_INIT;
    req.task = task;
    UfoResult *r[N_FRAMES] = {0};
    g_assert_true(ufo_session_run_batch(s, f.img, n, &req, r, &error));
    g_assert_no_error(error);
    for (int k = 0; k < n; k++)
      ufo_result_free(r[k]);
    g_assert_cmpuint(ufo_session_get_allocations(s), ==, allocs);
  }
  frames_clear(&f);
}

static void test_bad_batches(void)
{
  GError *error = NULL;
  Frames f;
  frames_init(&f);
  g_autoptr(UfoSession) s = ufo_session_new(tiny, NULL, &error);
  g_assert_no_error(error);
  UfoRequest req = UFO_REQUEST_INIT;
  UfoResult *r[N_FRAMES] = {0};
  g_assert_false(ufo_session_run_batch(s, f.img, 0, &req, r, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "at least one image"));
  g_clear_error(&error);
  /* a zero-size frame: the batch fails, naming the frame; no result is left */
  for (int task = 0; task < UFO_N_TASKS; task++) {
    req.task = (UfoTask)task;
    req.prompt = task == UFO_TASK_GROUNDING ? "a square" : NULL;
    f.img[2].width = 0;
    g_assert_false(ufo_session_run_batch(s, f.img, N_FRAMES, &req, r, &error));
    g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "frame 2 of the batch"));
    g_clear_error(&error);
    for (int k = 0; k < N_FRAMES; k++)
      g_assert_null(r[k]);
    f.img[2].width = 400;
  }
  g_assert_false(ufo_session_prepare_batch(s, UFO_TASK_DETECTION, 0, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&error);
  frames_clear(&f);
}

static const Case cases[] = {
    {"demo/detection", TRUE, UFO_TASK_DETECTION, 0},
    {"demo/detection-beam", TRUE, UFO_TASK_DETECTION, 2},
    {"demo/instance", TRUE, UFO_TASK_INSTANCE, 0},
    {"demo/semantic", TRUE, UFO_TASK_SEMANTIC, 0},
    {"demo/caption", TRUE, UFO_TASK_CAPTION, 0},
    {"demo/grounding", TRUE, UFO_TASK_GROUNDING, 0},
    {"demo/instance-beam", TRUE, UFO_TASK_INSTANCE, 2},
};

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  GError *error = NULL;
  demo = ufo_model_load(UFO_DEMO_MODEL, &error);
  g_assert_no_error(error);
  tiny = ufo_model_new_random("tiny", 0, &error);
  g_assert_no_error(error);
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *path = g_strdup_printf("/batch/same-as-alone/%s", cases[i].name);
    g_test_add_data_func(path, &cases[i], test_same_as_alone);
  }
  g_test_add_func("/batch/planted-compaction", test_planted_compaction);
  g_test_add_data_func("/batch/end-first/detection", GINT_TO_POINTER(UFO_TASK_DETECTION),
                       test_end_first);
  g_test_add_data_func("/batch/end-first/instance", GINT_TO_POINTER(UFO_TASK_INSTANCE),
                       test_end_first);
  g_test_add_data_func("/batch/end-first/semantic", GINT_TO_POINTER(UFO_TASK_SEMANTIC),
                       test_end_first);
  const UfoTask prepared[] = {UFO_TASK_DETECTION, UFO_TASK_INSTANCE};
  for (guint i = 0; i < G_N_ELEMENTS(prepared); i++) {
    g_autofree char *path = g_strdup_printf("/batch/prepare/%s", ufo_task_name(prepared[i]));
    g_test_add_data_func(path, GINT_TO_POINTER(prepared[i]), test_prepare_batch);
  }
  g_test_add_func("/batch/bad", test_bad_batches);
  int rc = g_test_run();
  ufo_model_unref(demo);
  ufo_model_unref(tiny);
  return rc;
}
