/* End-to-end engine tests: ufo_session_run on the deterministic random weights with the planted
 * plans of the golden fixtures (docs/reference.md) must reproduce the PyTorch reference's final
 * results: decoded ids exactly, labels exactly, boxes and scores within 1e-4 relative, masks and
 * semantic maps up to pixels whose logit sits at the threshold. Plus the bad-input errors. */
#include "ufo/ufo.h"
#include "backend_by_name.h"
#include "fixture.h"
#include "synthetic_image.h"
#include "same_result.h"
#include "model/config.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "nn/vit.h"
#include "backend/mask_math.h"
#include "backend/preprocess.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static UfoModel *tiny_model;

static UfoModel *model_for(const char *config)
{
  if (g_strcmp0(config, "tiny") == 0)
    return ufo_model_ref(tiny_model);
  GError *error = NULL;
  UfoModel *m = ufo_model_new_random(config, 0, &error);
  g_assert_no_error(error);
  return m;
}

/* The synthetic image of docs/reference.md at w x h, RGB. */
static uint8_t *synthetic(int w, int h)
{
  return ufo_test_synthetic_rgb(w, h);
}

/* pycocotools compressed RLE string → column-major binary mask (h, w). */
static uint8_t *rle_decode(const char *s, int h, int w)
{
  GArray *cnts = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (size_t p = 0; s[p];) {
    gint64 x = 0;
    int k = 0, more = 1;
    while (more) {
      gint64 c = (gint64)s[p] - 48;
      x |= (c & 0x1f) << (5 * k);
      more = c & 0x20;
      p++;
      k++;
      if (!more && (c & 0x10))
        x |= (gint64)(~(guint64)0 << (5 * k));
    }
    if (cnts->len > 2)
      x += g_array_index(cnts, gint64, cnts->len - 2);
    g_array_append_val(cnts, x);
  }
  uint8_t *m = g_malloc0((size_t)h * w);
  size_t pos = 0;
  for (guint i = 0; i < cnts->len; i++) {
    gint64 n = g_array_index(cnts, gint64, i);
    for (gint64 j = 0; j < n && pos < (size_t)h * w; j++, pos++)
      if (i % 2) /* column-major index pos = x * h + y */
        m[(pos % h) * w + pos / h] = 1;
  }
  g_array_unref(cnts);
  return m;
}

static void assert_close(double got, double want, double rel, double abs_tol, const char *what)
{
  if (fabs(got - want) > abs_tol + rel * fabs(want))
    g_error("%s: got %.9g, reference %.9g", what, got, want);
}

typedef struct {
  const char *fixture;
  const char *config; /* a built-in name, or NULL: the fixture's config_json */
  UfoTask task;
  /* beam fixtures (make_fixtures.py BEAM_CASES): beam size, and the temperature / length
   * penalty the request asks for (0 = the task's value in the config) */
  int beam;
  float temperature, length_penalty;
} Case;

static UfoMaskFormat case_mask_format = UFO_MASK_FLOAT; /* the requests of run_case */

static UfoResult *run_case(const Case *c, UfoFixture *fx, UfoModel *model)
{
  GError *error = NULL;
  int S = model->cfg.tasks[c->task].input_size;
  g_autofree uint8_t *px = synthetic(S, S);
  UfoImage img = {UFO_PIXEL_RGB, S, S, (size_t)S * 3, px};
  int ndim;
  int64_t shape[8];
  g_assert_true(ufo_fixture_shape(fx, "plan.tokens", &ndim, shape, &error));
  g_autofree int32_t *plan_tokens = ufo_fixture_i32(fx, "plan.tokens", NULL, &error);
  g_autofree float *plan_margin = ufo_fixture_f32(fx, "plan.margin", NULL, &error);
  /* the beam fixtures' per-step margins (docs/reference.md "Planted plan") */
  size_t n_step = 0;
  g_autofree float *step_margin =
      c->beam > 1 ? ufo_fixture_f32(fx, "plan.step_margin", &n_step, &error) : NULL;
  g_assert_no_error(error);
  if (step_margin)
    g_assert_cmpuint(n_step, ==, (size_t)(shape[0] * shape[1]));
  UfoPlantedPlan plan = {plan_tokens, plan_margin, (int)shape[0], (int)shape[1], step_margin};
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = c->task;
  req.plan = &plan;
  req.beam_size = c->beam;
  req.temperature = c->temperature;
  req.length_penalty = c->length_penalty;
  req.mask_format = case_mask_format;
  const char *text = ufo_fixture_meta(fx, "grounding_text");
  req.prompt = c->task == UFO_TASK_GROUNDING ? text : NULL;
  UfoSessionOptions opts = {UFO_DEVICE_CPU, 0, 0};
  g_autoptr(UfoSession) s = ufo_session_new(model, &opts, &error);
  g_assert_no_error(error);
  UfoResult *res = NULL;
  g_assert_true(ufo_session_run(s, &img, &req, &res, &error));
  g_assert_no_error(error);
  return res;
}

static JsonObject *results_of(UfoFixture *fx, JsonNode **keep)
{
  GError *error = NULL;
  *keep = ufo_fixture_meta_json(fx, "results", &error);
  g_assert_no_error(error);
  return json_node_get_object(*keep);
}

static void check_detection(UfoFixture *fx, const UfoResult *res)
{
  GError *error = NULL;
  size_t n = 0;
  g_autofree int32_t *labels = ufo_fixture_i32(fx, "result.labels", &n, &error);
  g_autofree float *scores = ufo_fixture_f32(fx, "result.scores", NULL, &error);
  g_autofree float *boxes = ufo_fixture_f32(fx, "result.boxes", NULL, &error);
  g_assert_no_error(error);
  g_assert_cmpint(res->n_objects, ==, (int)n);
  g_autofree gboolean *used = g_new0(gboolean, n);
  int permuted = 0;
  for (size_t i = 0; i < n; i++) {
    const UfoObject *o = &res->objects[i];
    const float got[4] = {o->x1, o->y1, o->x2, o->y2};
    /* the reference's entry i, or one whose score ties with it within float noise (scores at
     * 1 - 1e-7 after a sharp beam temperature: their order is the rounding's, docs/reference.md) */
    size_t j = i;
    for (size_t c = 0; c < n && (used[j] || o->label_id != labels[j]); c++)
      if (!used[c] && labels[c] == o->label_id && fabsf(scores[c] - scores[i]) <= 1e-6f)
        j = c;
    g_assert_false(used[j]);
    g_assert_cmpint(o->label_id, ==, labels[j]);
    assert_close(o->score, scores[j], 1e-4, 1e-6, "detection score");
    for (int k = 0; k < 4; k++)
      assert_close(got[k], boxes[j * 4 + k], 1e-4, 1e-3, "detection box");
    if (i > 0)
      g_assert_cmpfloat(o->score, <=, res->objects[i - 1].score); /* still sorted */
    used[j] = TRUE;
    permuted += j != i;
  }
  g_test_message("%zu detections identical to the reference (%d swapped within score ties)", n,
                 permuted);
}

static void check_instance(UfoFixture *fx, const UfoResult *res, int W, int H)
{
  GError *error = NULL;
  size_t n = 0;
  g_autofree int32_t *labels = ufo_fixture_i32(fx, "result.labels", &n, &error);
  g_autofree float *scores = ufo_fixture_f32(fx, "result.scores", NULL, &error);
  g_assert_no_error(error);
  JsonNode *node;
  JsonObject *r = results_of(fx, &node);
  JsonArray *masks = json_object_get_array_member(r, "masks");
  g_assert_cmpint(res->n_objects, ==, (int)n);
  for (size_t i = 0; i < n; i++) {
    const UfoObject *o = &res->objects[i];
    g_assert_cmpint(o->label_id, ==, labels[i]);
    assert_close(o->score, scores[i], 1e-4, 1e-6, "instance score");
    g_assert_nonnull(o->mask);
    JsonObject *rle = json_array_get_object_element(masks, i);
    g_autofree uint8_t *want = rle_decode(json_object_get_string_member(rle, "counts"), H, W);
    size_t diff = 0, fg = 0;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++) {
        int mx = x - o->mask->x, my = y - o->mask->y;
        int got = mx >= 0 && my >= 0 && mx < o->mask->width && my < o->mask->height &&
                  o->mask->prob[(size_t)my * o->mask->width + mx] > 0.5f;
        diff += got != want[(size_t)y * W + x];
        fg += want[(size_t)y * W + x];
      }
    /* only pixels whose probability sits at 0.5 within float noise may flip */
    if (diff > 2 + fg / 1000)
      g_error("instance %zu: %zu of %zu mask pixels differ", i, diff, fg);
  }
  json_node_unref(node);
  g_test_message("%zu instances identical to the reference", n);
}

static void check_semantic(UfoFixture *fx, const UfoResult *res)
{
  JsonNode *node;
  JsonObject *r = results_of(fx, &node);
  JsonObject *counts = json_object_get_object_member(r, "class_counts");
  g_assert_nonnull(res->semantic);
  const UfoSemanticMap *m = res->semantic;
  g_autofree gint64 *got = g_new0(gint64, m->n_classes);
  for (size_t i = 0; i < (size_t)m->width * m->height; i++)
    got[m->labels[i]]++;
  gint64 total = (gint64)m->width * m->height, diff = 0;
  for (int c = 0; c < m->n_classes; c++) {
    g_autofree char *key = g_strdup_printf("%d", c);
    gint64 want = json_object_has_member(counts, key) ? json_object_get_int_member(counts, key) : 0;
    diff += ABS(got[c] - want);
  }
  if (diff > total / 500)
    g_error("semantic map: per-class pixel counts differ by %" G_GINT64_FORMAT
            " of %" G_GINT64_FORMAT,
            diff, total);
  json_node_unref(node);
}

static void test_planted(gconstpointer data)
{
  const Case *c = data;
  GError *error = NULL;
  g_autoptr(UfoFixture) fx = ufo_fixture_open(c->fixture, &error);
  g_assert_no_error(error);
  g_autoptr(UfoModel) model =
      model_for(c->config ? c->config : ufo_fixture_meta(fx, "config_json"));
  if (c->beam > 1) { /* the fixture was made with the settings this request gives */
    const UfoTaskConfig *tc = &model->cfg.tasks[c->task];
    g_assert_cmpint(atoi(ufo_fixture_meta(fx, "beam_size")), ==, c->beam);
    g_assert_cmpfloat((float)g_ascii_strtod(ufo_fixture_meta(fx, "temperature"), NULL), ==,
                      c->temperature > 0 ? c->temperature : tc->temperature);
    g_assert_cmpfloat((float)g_ascii_strtod(ufo_fixture_meta(fx, "length_penalty"), NULL), ==,
                      c->length_penalty != 0 ? c->length_penalty : tc->alpha);
  }
  UfoResult *res = run_case(c, fx, model);
  int S = model->cfg.tasks[c->task].input_size;
  JsonNode *node;
  JsonObject *r = results_of(fx, &node);
  switch (c->task) {
  case UFO_TASK_DETECTION:
    check_detection(fx, res);
    break;
  case UFO_TASK_INSTANCE:
    check_instance(fx, res, S, S);
    break;
  case UFO_TASK_SEMANTIC:
    check_semantic(fx, res);
    break;
  case UFO_TASK_CAPTION:
    g_assert_cmpstr(res->caption, ==, json_object_get_string_member(r, "caption"));
    break;
  case UFO_TASK_GROUNDING: {
    g_autofree float *box = ufo_fixture_f32(fx, "result.box", NULL, &error);
    g_assert_no_error(error);
    g_assert_cmpint(res->n_objects, ==, 1);
    const UfoObject *o = &res->objects[0];
    const float got[4] = {o->x1, o->y1, o->x2, o->y2};
    for (int k = 0; k < 4; k++)
      assert_close(got[k], box[k], 1e-4, 1e-3, "grounding box");
    break;
  }
  default:
    g_assert_not_reached();
  }
  json_node_unref(node);
  ufo_result_free(res);
}

/* ---- bad input: each a clear GError, no crash ---- */

static void expect_run_error(UfoRequest *req, const UfoImage *img, int code, const char *needle)
{
  GError *error = NULL;
  g_autoptr(UfoSession) s = ufo_session_new(tiny_model, NULL, &error);
  g_assert_no_error(error);
  UfoResult *res = NULL;
  g_assert_false(ufo_session_run(s, img, req, &res, &error));
  g_assert_null(res);
  g_assert_error(error, UFO_ERROR, code);
  if (!strstr(error->message, needle))
    g_error("error '%s' does not mention '%s'", error->message, needle);
  g_test_message("error: %s", error->message);
  g_error_free(error);
}

static void test_bad_inputs(void)
{
  g_autofree uint8_t *px = synthetic(64, 48);
  UfoImage img = {UFO_PIXEL_RGB, 64, 48, 64 * 3, px};
  UfoRequest req = UFO_REQUEST_INIT;

  UfoImage empty = img;
  empty.width = 0;
  expect_run_error(&req, &empty, UFO_ERROR_INVALID, "size");

  req.task = UFO_TASK_GROUNDING;
  req.prompt = NULL;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "prompt");
  req.prompt = "";
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "prompt");
  req.prompt = "?!,.";
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "prompt");

  GString *longp = g_string_new(NULL);
  for (int i = 0; i < 600; i++)
    g_string_append(longp, "word ");
  req.prompt = longp->str;
  expect_run_error(&req, &img, UFO_ERROR_UNSUPPORTED, "512");
  g_string_free(longp, TRUE);

  req.task = (UfoTask)42;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "task");

  /* beam settings outside their ranges (0 = the task's value) */
  req.task = UFO_TASK_CAPTION;
  req.temperature = -1.f;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "temperature -1");
  req.temperature = 1e-9f;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "temperature 1e-09");
  req.temperature = 101.f;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "temperature 101");
  req.temperature = NAN;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "temperature");
  req.temperature = 0.f;
  req.length_penalty = 101.f;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "length penalty 101");
  req.length_penalty = NAN;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "length penalty");
  req.length_penalty = 0.f;

  GError *error = NULL;
  UfoTask t;
  g_assert_false(ufo_task_from_name("panoptic", &t, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_nonnull(strstr(error->message, "panoptic"));
  g_clear_error(&error);

  /* a model whose config lacks the caption task */
  UfoConfig conf;
  g_assert_true(ufo_config_builtin("tiny", &conf, &error));
  conf.tasks[UFO_TASK_CAPTION].enabled = FALSE;
  g_autofree char *json = ufo_config_to_json(&conf);
  g_autoptr(UfoModel) m = ufo_model_new_random(json, 0, &error);
  g_assert_no_error(error);
  g_assert_false(ufo_model_supports_task(m, UFO_TASK_CAPTION));
  g_autoptr(UfoSession) s = ufo_session_new(m, NULL, &error);
  g_assert_no_error(error);
  UfoRequest cap = UFO_REQUEST_INIT;
  cap.task = UFO_TASK_CAPTION;
  UfoResult *res = NULL;
  g_assert_false(ufo_session_run(s, &img, &cap, &res, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  g_assert_nonnull(strstr(error->message, "caption"));
  g_clear_error(&error);

  /* device cuda: an UNSUPPORTED error naming CUDA where the build has no CUDA backend or no
   * GPU is usable; a session where one is */
  UfoSessionOptions cuda = {UFO_DEVICE_CUDA, 0, 0};
  UfoSession *gpu = ufo_session_new(tiny_model, &cuda, &error);
  if (gpu) {
    g_assert_cmpstr(ufo_session_get_backend_name(gpu), ==, "cuda");
    ufo_session_free(gpu);
  } else {
    g_assert_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
    g_assert_nonnull(strcasestr(error->message, "cuda"));
    g_clear_error(&error);
  }
  /* a GPU that does not exist, or a negative id: refused either way */
  UfoSessionOptions bad_gpu = {UFO_DEVICE_CUDA, 63, 0};
  g_assert_null(ufo_session_new(tiny_model, &bad_gpu, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  g_clear_error(&error);
  UfoSessionOptions neg_gpu = {UFO_DEVICE_CUDA, -1, 0};
  g_assert_null(ufo_session_new(tiny_model, &neg_gpu, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&error);
}

/* A prompt longer than the model's text context is refused up front by
 * ufo_model_check_prompt and by ufo_session_run, both naming its token count and the limit. */
static void test_prompt_too_long(void)
{
  GError *error = NULL;
  int n = -1, max = -1;
  g_assert_true(
      ufo_model_check_prompt(tiny_model, UFO_TASK_GROUNDING, "the red circle", &n, &max, &error));
  g_assert_no_error(error);
  g_assert_cmpint(n, >, 3);
  g_assert_cmpint(max, ==, 512);
  g_assert_true(ufo_model_check_prompt(tiny_model, UFO_TASK_CAPTION, NULL, NULL, NULL, &error));
  g_assert_false(ufo_model_check_prompt(tiny_model, UFO_TASK_GROUNDING, "?!", NULL, NULL, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&error);

  GString *longp = g_string_new(NULL);
  for (int i = 0; i < 2000; i++)
    g_string_append(longp, "the red circle ");
  g_assert_false(
      ufo_model_check_prompt(tiny_model, UFO_TASK_GROUNDING, longp->str, &n, &max, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  g_assert_cmpint(max, ==, 512);
  g_assert_cmpint(n, >, 6000); /* 3 words each, plus the task prefix */
  g_autofree char *count = g_strdup_printf("%d tokens", n);
  if (!strstr(error->message, "too long") || !strstr(error->message, count) ||
      !strstr(error->message, "at most 512"))
    g_error("unexpected message: %s", error->message);
  g_clear_error(&error);

  /* ufo_session_run: the same refusal, not a failure deep in the text pass */
  g_autofree uint8_t *px = synthetic(64, 48);
  UfoImage img = {UFO_PIXEL_RGB, 64, 48, 64 * 3, px};
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = UFO_TASK_GROUNDING;
  req.prompt = longp->str;
  g_autoptr(UfoSession) s = ufo_session_new(tiny_model, NULL, &error);
  g_assert_no_error(error);
  UfoResult *res = NULL;
  g_assert_false(ufo_session_run(s, &img, &req, &res, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  if (!strstr(error->message, count) || !strstr(error->message, "at most 512"))
    g_error("unexpected message: %s", error->message);
  g_clear_error(&error);

  /* a model with fewer text positions: the limit is its own */
  UfoConfig conf;
  g_assert_true(ufo_config_builtin("tiny", &conf, &error));
  conf.max_position = 128;
  g_autofree char *json = ufo_config_to_json(&conf);
  g_autoptr(UfoModel) m = ufo_model_new_random(json, 0, &error);
  g_assert_no_error(error);
  g_string_truncate(longp, 15 * 50); /* 150 words */
  g_assert_false(ufo_model_check_prompt(m, UFO_TASK_GROUNDING, longp->str, &n, &max, &error));
  g_assert_cmpint(max, ==, 128);
  g_assert_nonnull(strstr(error->message, "at most 128"));
  g_clear_error(&error);
  g_autoptr(UfoSession) s2 = ufo_session_new(m, NULL, &error);
  g_assert_no_error(error);
  g_assert_false(ufo_session_run(s2, &img, &req, &res, &error) && (ufo_result_free(res), TRUE));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  g_assert_nonnull(strstr(error->message, "at most 128"));
  g_clear_error(&error);
  g_string_free(longp, TRUE);
}

/* The text pass is cached per prompt: alternating prompts in one session gives the results of
 * fresh sessions, and repeated frames give identical results. */
static void test_prompt_cache(void)
{
  g_autofree uint8_t *px = synthetic(200, 150);
  UfoImage img = {UFO_PIXEL_RGB, 200, 150, 200 * 3, px};
  const char *prompts[] = {"the red car", "a small dog on the left", "the red car"};
  GError *error = NULL;
  g_autoptr(UfoSession) shared = ufo_session_new(tiny_model, NULL, &error);
  g_assert_no_error(error);
  for (int i = 0; i < 3; i++) {
    UfoRequest req = UFO_REQUEST_INIT;
    req.task = UFO_TASK_GROUNDING;
    req.prompt = prompts[i];
    g_autoptr(UfoSession) fresh = ufo_session_new(tiny_model, NULL, &error);
    UfoResult *a = NULL, *b = NULL;
    g_assert_true(ufo_session_run(shared, &img, &req, &a, &error));
    g_assert_true(ufo_session_run(fresh, &img, &req, &b, &error));
    g_assert_no_error(error);
    g_assert_cmpint(a->n_objects, ==, b->n_objects);
    g_assert_cmpfloat(a->objects[0].score, ==, b->objects[0].score);
    g_assert_cmpfloat(a->objects[0].x1, ==, b->objects[0].x1);
    ufo_result_free(a);
    ufo_result_free(b);
  }
}

/* ---- ufo_session_prepare: frames of a prepared task allocate nothing ---- */

/* frame k: a different image of the task's input size each frame */
static uint8_t *prepare_image(int S, int k)
{
  uint8_t *px = g_malloc((size_t)S * S * 3);
  guint32 x = 2463534242u + 977u * (guint32)k;
  for (size_t i = 0; i < (size_t)S * S * 3; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    px[i] = (uint8_t)(k % 2 ? x >> 24 : (i / 3 % S) * 255 / S + k * 40);
  }
  return px;
}

/* --device=cuda-emu / cuda: the prepare tests' sessions (backend_by_name.h) */
static UfoSessionOptions prepare_opts;

static void test_prepare(gconstpointer data)
{
  const UfoTask task = (UfoTask)GPOINTER_TO_INT(data);
  GError *error = NULL;
  g_autoptr(UfoSession) s = ufo_session_new(tiny_model, &prepare_opts, &error);
  g_assert_no_error(error);
  const UfoConfig *cfg = &tiny_model->cfg;
  const UfoTaskConfig *tc = &cfg->tasks[task];
  const int S = tc->input_size, T = tc->max_length;
  const int gside = tc->grid_per_window * ((S / cfg->patch_size) / cfg->window_size);
  const int Q = MAX(gside * gside, 1);
  g_assert_true(ufo_session_prepare(s, task, &error));
  g_assert_no_error(error);
  const uint64_t allocs = ufo_session_get_allocations(s);
  g_assert_cmpuint(allocs, >, 0);
  for (int k = 0; k < 4; k++) {
    g_autofree uint8_t *px = prepare_image(S, k);
    UfoImage img = {UFO_PIXEL_RGB, S, S, (size_t)S * 3, px};
    UfoRequest req = UFO_REQUEST_INIT;
    req.task = task;
    /* detection: sequences end at various steps (compaction of every size), frame 0 free */
    g_autofree int32_t *tokens = g_new(int32_t, (size_t)Q * T);
    g_autofree float *margin = g_new(float, Q);
    UfoPlantedPlan plan = {tokens, margin, Q, T};
    if (task == UFO_TASK_DETECTION && k > 0) {
      for (int q = 0; q < Q; q++) {
        margin[q] = 50.f;
        for (int t = 0; t < T; t++)
          tokens[(size_t)q * T + t] = t == (q * k + k) % T ? UFO_TOKEN_SEP : -1;
      }
      req.plan = &plan;
    }
    UfoResult *res = NULL;
    g_assert_true(ufo_session_run(s, &img, &req, &res, &error));
    g_assert_no_error(error);
    /* the CPU backend has no device clock: no device times (ufo.h device_ms_*); CUDA has */
    const gboolean on_cpu = g_strcmp0(ufo_session_get_backend_name(s), "cpu") == 0;
    const double none = on_cpu ? -1 : 0;
    g_assert_cmpfloat(res->device_ms_text, >=, none);
    g_assert_cmpfloat(res->device_ms_preprocess, >=, none);
    g_assert_cmpfloat(res->device_ms_image, >=, none);
    g_assert_cmpfloat(res->device_ms_grid, >=, none);
    g_assert_cmpfloat(res->device_ms_decode, >=, none);
    if (on_cpu)
      g_assert_cmpfloat(res->device_ms_image, ==, -1);
    ufo_result_free(res);
    g_assert_cmpuint(ufo_session_get_allocations(s), ==, allocs);
  }
}

/* ---- graphs (backend/graph.h): replayed passes give the op-by-op results ---- */

#define N_GRAPH_FRAMES 4

/* Detection: every 8th grid decodes a box text `label,x,y,w,h` [SEP] (bench_plan.c's object),
 * the others end at once ([SEP] first, so that the emulated decode stays short); grounding: the
 * one sequence decodes a box `x1,y1,x2,y2` [SEP]. Margins of 0.5: the planted token wins each
 * step, but its probability, hence the object's score, depends on the logits, i.e. on the
 * frame's features. */
static void plant_boxes(const UfoModel *m, UfoTask task, int Q, int T, int32_t *tokens,
                        float *margin)
{
  const UfoTaskConfig *tc = &m->cfg.tasks[task];
  const UfoLabelSet *labels = tc->label_set[0] ? ufo_model_label_set(m, tc->label_set) : NULL;
  g_assert_true(task == UFO_TASK_GROUNDING || labels != NULL);
  const int nb = tc->num_bins;
  for (int q = 0; q < Q; q++) {
    if (task == UFO_TASK_DETECTION && q % 8 != 0) {
      for (int t = 0; t < T; t++)
        tokens[(size_t)q * T + t] = t == 0 ? UFO_TOKEN_SEP : -1;
      margin[q] = 50.f;
      continue;
    }
    g_autofree char *text =
        task == UFO_TASK_DETECTION
            ? g_strdup_printf("%s,%d,%d,%d,%d", labels->names[q % labels->n], nb / 2, nb / 2,
                              nb / 10, nb / 8)
            : g_strdup_printf("%d,%d,%d,%d", nb / 3, nb / 4, 2 * nb / 3, 3 * nb / 4);
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    GError *error = NULL;
    g_assert_true(ufo_tokenizer_encode(m->tokenizer, text, 512, ids, &error));
    g_assert_no_error(error);
    g_assert_cmpuint(ids->len, <=, (guint)T + 1); /* [CLS] ... [SEP] */
    for (int t = 0; t < T; t++)                   /* without [CLS]; the text's [SEP] ends it */
      tokens[(size_t)q * T + t] = t + 1 < (int)ids->len ? g_array_index(ids, int32_t, t + 1) : -1;
    margin[q] = 0.5f;
  }
}

/* The tiny model with detection at 224² (one window, 25 grids): a quarter of its 448² cost in
 * the emulation, the same ops. */
static UfoModel *graph_tiny; /* freed by main */

static UfoModel *graph_model(void)
{
  UfoModel *m = graph_tiny;
  if (!m) {
    UfoConfig cfg;
    GError *error = NULL;
    g_assert_true(ufo_config_builtin("tiny", &cfg, &error));
    cfg.tasks[UFO_TASK_DETECTION].input_size = 224;
    g_autofree char *json = ufo_config_to_json(&cfg);
    m = graph_tiny = ufo_model_new_random(json, 0, &error);
    g_assert_no_error(error);
  }
  return m;
}

/* N_GRAPH_FRAMES frames of task on a new session (graphs FALSE: UFO_GRAPHS=0 when it is made);
 * frame k is prepare_image(S, k); detection decodes planted boxes (plant_boxes) */
static UfoPrecision graph_precision; /* the sessions' precision (test_graphs' data) */

static void graph_frames(UfoTask task, gboolean graphs, UfoResult **res, unsigned *recorded,
                         unsigned *launched, unsigned *step_recorded, unsigned *step_launched)
{
  GError *error = NULL;
  if (!graphs)
    g_setenv("UFO_GRAPHS", "0", TRUE);
  UfoModel *model = graph_model();
  UfoSessionOptions opts = prepare_opts;
  opts.precision = graph_precision;
  g_autoptr(UfoSession) s = ufo_session_new(model, &opts, &error);
  g_unsetenv("UFO_GRAPHS");
  g_assert_no_error(error);
  const UfoConfig *cfg = &model->cfg;
  const UfoTaskConfig *tc = &cfg->tasks[task];
  const int S = tc->input_size, T = tc->max_length;
  const int gside = tc->grid_per_window * ((S / cfg->patch_size) / cfg->window_size);
  const int Q = MAX(gside * gside, 1);
  for (int k = 0; k < N_GRAPH_FRAMES; k++) {
    g_autofree uint8_t *px = prepare_image(S, k);
    UfoImage img = {UFO_PIXEL_RGB, S, S, (size_t)S * 3, px};
    UfoRequest req = UFO_REQUEST_INIT;
    req.task = task;
    g_autofree int32_t *tokens = g_new(int32_t, (size_t)Q * T);
    g_autofree float *margin = g_new(float, Q);
    UfoPlantedPlan plan = {tokens, margin, Q, T};
    req.prompt = task == UFO_TASK_GROUNDING ? "the red circle" : NULL;
    if (task == UFO_TASK_CAPTION) { /* beam search: rows permuted between steps (reorder) */
      req.beam_size = 3;
    } else {
      plant_boxes(model, task, Q, T, tokens, margin);
      req.plan = &plan;
    }
    const gboolean ran = ufo_session_run(s, &img, &req, &res[k], &error);
    g_assert_no_error(error);
    g_assert_true(ran);
  }
  ufo_session_get_graph_counts(s, recorded, launched);
  ufo_session_get_decode_graph_counts(s, step_recorded, step_launched);
}

/* data: the task, | GRAPHS_BF16 for precision bf16 (CUDA: the fused linears of few rows,
 * cuda/linear.cu, inside the step graphs; a CPU without native bf16 runs fp32) */
#define GRAPHS_BF16 0x100

static void test_graphs(gconstpointer data)
{
  const UfoTask task = (UfoTask)(GPOINTER_TO_INT(data) & 0xff);
  graph_precision = GPOINTER_TO_INT(data) & GRAPHS_BF16 ? UFO_PRECISION_BF16 : UFO_PRECISION_FP32;
  UfoResult *on[N_GRAPH_FRAMES], *off[N_GRAPH_FRAMES];
  unsigned rec_on, launch_on, rec_off, launch_off, srec_on, slaunch_on, srec_off, slaunch_off;
  graph_frames(task, TRUE, on, &rec_on, &launch_on, &srec_on, &slaunch_on);
  graph_frames(task, FALSE, off, &rec_off, &launch_off, &srec_off, &slaunch_off);
  for (int k = 0; k < N_GRAPH_FRAMES; k++)
    ufo_test_assert_same_result(on[k], off[k]);
  g_autoptr(UfoSession) probe = ufo_session_new(tiny_model, &prepare_opts, NULL);
  const gboolean has_graphs = g_strcmp0(ufo_session_get_backend_name(probe), "cpu") != 0;
  g_print("# step graphs: %u recorded, %u launches\n", srec_on, slaunch_on);
  if (task == UFO_TASK_CAPTION) {
    /* beam search's steps (rows permuted by reorder between them) were replayed too; the
     * frames' captions differ (stale inputs would have shown) */
    g_assert_cmpstr(on[0]->caption, !=, on[N_GRAPH_FRAMES - 1]->caption);
    g_assert_cmpuint(srec_off + slaunch_off + rec_off + launch_off, ==, 0);
    g_assert_cmpuint(rec_on, ==, has_graphs ? 1 : 0);
    g_assert_true(has_graphs ? srec_on > 0 && slaunch_on > srec_on : slaunch_on == 0);
    for (int k = 0; k < N_GRAPH_FRAMES; k++) {
      ufo_result_free(on[k]);
      ufo_result_free(off[k]);
    }
    return;
  }
  /* frames differ, so a graph replaying stale inputs would have been caught above */
  const UfoResult *a = on[N_GRAPH_FRAMES - 2], *b = on[N_GRAPH_FRAMES - 1];
  g_assert_cmpint(a->n_objects, >, 0);
  g_assert_cmpint(a->n_objects, ==, b->n_objects);
  g_assert_true(a->objects[0].score != b->objects[0].score);
  g_assert_cmpuint(rec_off, ==, 0);
  g_assert_cmpuint(launch_off, ==, 0);
  g_assert_cmpuint(srec_off, ==, 0);
  g_assert_cmpuint(slaunch_off, ==, 0);
  /* the passes: image (+ grid for the grid tasks). Frame 0 runs them op by op and sizes the
   * state; its decoding allocates after them, so frame 1 runs them op by op again; frame 2
   * records them and launches the recordings, frames 3.. launch them; no graphs on the CPU */
  const unsigned passes = task == UFO_TASK_GROUNDING ? 1 : 2;
  g_assert_cmpuint(rec_on, ==, has_graphs ? passes : 0);
  g_assert_cmpuint(launch_on, ==, has_graphs ? passes * (N_GRAPH_FRAMES - 2) : 0);
  /* the decode steps: one graph per step index and row count. The planted plan gives every
   * frame the same steps: detection 25 rows at t = 0, then its 4 objects' rows for 11 steps;
   * grounding 1 row for 8 steps. Frame 0's first greedy selection allocates its scratch after
   * step 0, so step 0 keeps the passes' schedule (recorded at frame 2) while the later steps,
   * first seen after it, are recorded at frame 1 and launched from then on. */
  const unsigned steps = task == UFO_TASK_GROUNDING ? 8 : 12;
  g_assert_cmpuint(srec_on, ==, has_graphs ? steps : 0);
  g_assert_cmpuint(slaunch_on, ==,
                   has_graphs ? (steps - 1) * (N_GRAPH_FRAMES - 1) + (N_GRAPH_FRAMES - 2) : 0);
  for (int k = 0; k < N_GRAPH_FRAMES; k++) {
    ufo_result_free(on[k]);
    ufo_result_free(off[k]);
  }
}

/* ---- one weight copy per model and device (nn/vit.h ufo_vit_acquire) ---- */

#define N_SHARED_FRAMES 4

/* frame k of the shared-weights test: the four decoding paths (grid greedy, beam caption,
 * grounding, instance masks) */
static void shared_frame(int k, UfoRequest *req)
{
  static const UfoTask tasks[N_SHARED_FRAMES] = {UFO_TASK_DETECTION, UFO_TASK_CAPTION,
                                                 UFO_TASK_GROUNDING, UFO_TASK_INSTANCE};
  *req = (UfoRequest)UFO_REQUEST_INIT;
  req->task = tasks[k];
  req->prompt = tasks[k] == UFO_TASK_GROUNDING ? "the red car" : NULL;
  req->beam_size = tasks[k] == UFO_TASK_CAPTION ? 3 : 0;
}

static UfoImage shared_image(void)
{
  static uint8_t *px;
  if (px == NULL)
    px = synthetic(200, 150); /* kept for the process */
  return (UfoImage){UFO_PIXEL_RGB, 200, 150, 200 * 3, px};
}

/* Planar frames (I420, NV12; odd sizes, padded planes) give the results of the packed RGB frame
 * of their converted pixels (backend/preprocess.h ufo_image_to_rgb), bit for bit: the session
 * hands the frame to the backend as it arrives. */
static void test_planar_frames(void)
{
  const int w = 201, h = 151, cw = (w + 1) / 2, ch = (h + 1) / 2;
  g_autofree uint8_t *rgb_src = synthetic(w, h);
  g_autofree uint8_t *yp = g_new(uint8_t, (size_t)(w + 3) * h);
  g_autofree uint8_t *up = g_new(uint8_t, (size_t)(cw + 1) * ch);
  g_autofree uint8_t *vp = g_new(uint8_t, (size_t)(cw + 1) * ch);
  g_autofree uint8_t *uv = g_new(uint8_t, (size_t)(2 * cw + 2) * ch);
  /* any plane contents will do: the synthetic image's channels as Y, U and V */
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w + 3; x++)
      yp[y * (w + 3) + x] = rgb_src[((size_t)y * w + MIN(x, w - 1)) * 3];
  for (int y = 0; y < ch; y++)
    for (int x = 0; x < cw + 1; x++) {
      const size_t src = ((size_t)MIN(2 * y, h - 1) * w + MIN(2 * x, w - 1)) * 3;
      up[y * (cw + 1) + x] = rgb_src[src + 1];
      vp[y * (cw + 1) + x] = rgb_src[src + 2];
      if (x < cw) {
        uv[y * (2 * cw + 2) + 2 * x] = rgb_src[src + 1];
        uv[y * (2 * cw + 2) + 2 * x + 1] = rgb_src[src + 2];
      }
    }
  const size_t cs = (size_t)cw + 1;
  UfoImage i420 = {
      UFO_PIXEL_I420,         w, h, (size_t)w + 3, yp, {up, vp}, {cs, cs}, UFO_COLOR_MATRIX_BT709,
      UFO_COLOR_RANGE_LIMITED};
  UfoImage nv12 = {UFO_PIXEL_NV12,
                   w,
                   h,
                   (size_t)w + 3,
                   yp,
                   {uv, NULL},
                   {(size_t)2 * cw + 2, 0},
                   UFO_COLOR_MATRIX_BT709,
                   UFO_COLOR_RANGE_LIMITED};
  g_autofree uint8_t *rgb = g_new(uint8_t, (size_t)w * h * 3);
  ufo_image_to_rgb(&i420, rgb);
  UfoImage packed = {UFO_PIXEL_RGB, w, h, (size_t)w * 3, rgb};
  GError *error = NULL;
  g_autoptr(UfoSession) s = ufo_session_new(tiny_model, NULL, &error);
  g_assert_no_error(error);
  const UfoTask tasks[] = {UFO_TASK_DETECTION, UFO_TASK_CAPTION, UFO_TASK_INSTANCE};
  for (guint t = 0; t < G_N_ELEMENTS(tasks); t++) {
    UfoRequest req = UFO_REQUEST_INIT;
    req.task = tasks[t];
    UfoResult *want = NULL, *a = NULL, *b = NULL;
    g_assert_true(ufo_session_run(s, &packed, &req, &want, &error));
    g_assert_true(ufo_session_run(s, &i420, &req, &a, &error));
    g_assert_true(ufo_session_run(s, &nv12, &req, &b, &error));
    g_assert_no_error(error);
    ufo_test_assert_same_result(a, want);
    ufo_test_assert_same_result(b, want);
    ufo_result_free(want);
    ufo_result_free(a);
    ufo_result_free(b);
  }
}

typedef struct {
  UfoSession *s;
  UfoResult *res[N_SHARED_FRAMES];
  GError *error;
} SharedRun;

static gpointer shared_thread(gpointer data)
{
  SharedRun *r = data;
  UfoImage img = shared_image();
  for (int k = 0; k < N_SHARED_FRAMES && !r->error; k++) {
    UfoRequest req;
    shared_frame(k, &req);
    ufo_session_run(r->s, &img, &req, &r->res[k], &r->error);
  }
  return NULL;
}

static void shared_run_clear(SharedRun *r)
{
  for (int k = 0; k < N_SHARED_FRAMES; k++)
    g_clear_pointer(&r->res[k], ufo_result_free);
  g_clear_error(&r->error);
}

static int registry_copies(size_t *bytes)
{
  int n;
  ufo_vit_shared_stats(&n, bytes);
  return n;
}

/* Two sessions of one model on the CPU hold one copy of its weights, run at the same time on two
 * threads with the results of a session alone (bit for bit), at fp32 and (with AVX512-BF16)
 * bf16, where the weight packs are made by whichever session gets there first; the copy goes
 * with the last session, freed in either order, and outlives the caller's model reference. */
static void test_shared_weights(void)
{
  GError *error = NULL;
  size_t bytes0;
  int copies0 = registry_copies(&bytes0);
  for (int prec = UFO_PRECISION_FP32; prec <= UFO_PRECISION_BF16; prec++) {
    UfoModel *model = ufo_model_new_random("tiny", 0, &error);
    g_assert_no_error(error);
    UfoSessionOptions opts = {UFO_DEVICE_CPU, 0, 1, prec};
    /* the reference: one session alone */
    SharedRun alone = {ufo_session_new(model, &opts, &error)};
    if (alone.s == NULL && prec == UFO_PRECISION_BF16 &&
        g_error_matches(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED)) {
      g_test_message("bf16 skipped: %s", error->message);
      g_clear_error(&error);
      ufo_model_unref(model);
      break;
    }
    g_assert_no_error(error);
    size_t w_alone, st_alone, bytes;
    ufo_session_get_memory(alone.s, &w_alone, &st_alone);
    g_assert_cmpint(registry_copies(&bytes), ==, copies0 + 1);
    g_assert_cmpuint(bytes, ==, bytes0 + w_alone);
    g_assert_cmpuint(st_alone, ==, 0); /* nothing sized before the first frame */
    shared_thread(&alone);
    g_assert_no_error(alone.error);
    ufo_session_get_memory(alone.s, NULL, &st_alone);
    g_assert_cmpuint(st_alone, >, 0);
    ufo_session_free(alone.s);
    g_assert_cmpint(registry_copies(NULL), ==, copies0); /* the last user took it along */

    for (int order = 0; order < 2; order++) {
      SharedRun run[2] = {{ufo_session_new(model, &opts, &error)}};
      g_assert_no_error(error);
      run[1].s = ufo_session_new(model, &opts, &error);
      g_assert_no_error(error);
      size_t w[2], st[2];
      ufo_session_get_memory(run[0].s, &w[0], &st[0]);
      ufo_session_get_memory(run[1].s, &w[1], &st[1]);
      g_assert_cmpuint(w[0], ==, w_alone);
      g_assert_cmpuint(w[1], ==, w_alone);
      g_assert_cmpint(registry_copies(&bytes), ==, copies0 + 1); /* one copy for both */
      g_assert_cmpuint(bytes, ==, bytes0 + w_alone);
      GThread *th[2];
      for (int i = 0; i < 2; i++)
        th[i] = g_thread_new("session", shared_thread, &run[i]);
      for (int i = 0; i < 2; i++) {
        g_thread_join(th[i]);
        g_assert_no_error(run[i].error);
        for (int k = 0; k < N_SHARED_FRAMES; k++)
          ufo_test_assert_same_result(run[i].res[k], alone.res[k]);
        ufo_session_get_memory(run[i].s, NULL, &st[i]);
        g_assert_cmpuint(st[i], ==, st_alone);
      }
      if (order == 1) { /* the sessions keep the model (and so their weights) alive */
        ufo_model_unref(model);
        model = NULL;
      }
      UfoSession *first = run[order].s, *second = run[1 - order].s;
      ufo_session_free(first);
      g_assert_cmpint(registry_copies(NULL), ==, copies0 + 1);
      ufo_session_free(second);
      g_assert_cmpint(registry_copies(NULL), ==, copies0);
      shared_run_clear(&run[0]);
      shared_run_clear(&run[1]);
    }
    shared_run_clear(&alone);
  }
}

static const Case cases[] = {
    {"tiny-detection-planted", "tiny", UFO_TASK_DETECTION},
    /* beam search over the grids at the detection head's defaults (τ 0.3, α 10.0 from the
     * model config) and at the published recipe (τ 1.5, α 10.0 asked for) */
    {"tiny-detection-beam-head", "tiny", UFO_TASK_DETECTION, 3, 0.f, 0.f},
    {"tiny-detection-beam-recipe", "tiny", UFO_TASK_DETECTION, 3, 1.5f, 10.f},
    /* a global layer among the mean layers (inference §6.1) */
    {"tiny-mean-global-detection-planted", NULL, UFO_TASK_DETECTION},
    {"tiny-mean-global-instance-planted", NULL, UFO_TASK_INSTANCE},
    {"tiny-grounding-planted", "tiny", UFO_TASK_GROUNDING},
    {"tiny-caption-planted", "tiny", UFO_TASK_CAPTION},
    {"tiny-instance-planted", "tiny", UFO_TASK_INSTANCE},
    {"tiny-semantic-planted", "tiny", UFO_TASK_SEMANTIC},
    {"vit-b-grounding-planted", "vit-b", UFO_TASK_GROUNDING},
    {"vit-b-caption-planted", "vit-b", UFO_TASK_CAPTION},
    {"vit-b-semantic-planted", "vit-b", UFO_TASK_SEMANTIC},
    {"vit-b-instance-planted", "vit-b", UFO_TASK_INSTANCE},
    {"vit-b-detection-planted", "vit-b", UFO_TASK_DETECTION},
};

/* Instance masks as bytes (UFO_MASK_GRAY8): the objects of the float request, each mask's bytes
 * its probabilities quantised (mask_math.h ufo_mask_gray8, checked against lrintf by
 * nn-mask-vec), no floats; an unknown format refused. */
static void test_mask_gray8(void)
{
  const Case *c = NULL;
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++)
    if (strcmp(cases[i].fixture, "tiny-instance-planted") == 0)
      c = &cases[i];
  GError *error = NULL;
  g_autoptr(UfoFixture) fx = ufo_fixture_open(c->fixture, &error);
  g_assert_no_error(error);
  g_autoptr(UfoModel) model = model_for(c->config);
  case_mask_format = UFO_MASK_FLOAT;
  UfoResult *f = run_case(c, fx, model);
  case_mask_format = UFO_MASK_GRAY8;
  UfoResult *g = run_case(c, fx, model);
  case_mask_format = UFO_MASK_FLOAT;
  g_assert_cmpint(f->n_objects, >, 0);
  g_assert_cmpint(g->n_objects, ==, f->n_objects);
  long mid = 0; /* bytes strictly between 0 and 255: the rounding is exercised */
  for (int i = 0; i < f->n_objects; i++) {
    const UfoObject *a = &f->objects[i], *b = &g->objects[i];
    g_assert_cmpint(a->label_id, ==, b->label_id);
    g_assert_cmpmem(&a->score, 5 * sizeof(float), &b->score, 5 * sizeof(float));
    g_assert_cmpmem(a->mask, 4 * sizeof(int), b->mask, 4 * sizeof(int));
    g_assert_nonnull(a->mask->prob);
    g_assert_null(a->mask->gray);
    g_assert_null(b->mask->prob);
    g_assert_nonnull(b->mask->gray);
    for (size_t k = 0; k < (size_t)a->mask->width * a->mask->height; k++) {
      g_assert_cmpuint(b->mask->gray[k], ==, ufo_mask_gray8(a->mask->prob[k]));
      mid += b->mask->gray[k] > 0 && b->mask->gray[k] < 255;
    }
  }
  g_assert_cmpint(mid, >, 0);
  ufo_result_free(f);
  ufo_result_free(g);

  g_autofree uint8_t *px = synthetic(64, 48);
  UfoImage img = {UFO_PIXEL_RGB, 64, 48, 64 * 3, px};
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = UFO_TASK_INSTANCE;
  req.mask_format = (UfoMaskFormat)7;
  expect_run_error(&req, &img, UFO_ERROR_INVALID, "mask format 7");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--device=") &&
        !ufo_test_session_device(argv[i] + strlen("--device="), &prepare_opts.device))
      return 2;
  GError *error = NULL;
  tiny_model = ufo_model_new_random("tiny", 0, &error);
  g_assert_no_error(error);
  gboolean slow = g_getenv("UFO_SLOW_TESTS") != NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    /* vit-b detection/instance/semantic decode hundreds of grids: UFO_SLOW_TESTS=1 */
    gboolean heavy = cases[i].config && g_strcmp0(cases[i].config, "vit-b") == 0 &&
                     (cases[i].task == UFO_TASK_DETECTION || cases[i].task == UFO_TASK_INSTANCE ||
                      cases[i].task == UFO_TASK_SEMANTIC);
    if (heavy && !slow)
      continue;
    g_autofree char *path = g_strdup_printf("/session/planted/%s", cases[i].fixture);
    g_test_add_data_func(path, &cases[i], test_planted);
  }
  const UfoTask prepared[] = {UFO_TASK_DETECTION, UFO_TASK_CAPTION, UFO_TASK_INSTANCE,
                              UFO_TASK_SEMANTIC};
  for (guint i = 0; i < G_N_ELEMENTS(prepared); i++) {
    g_autofree char *path = g_strdup_printf("/session/prepare/%s", ufo_task_name(prepared[i]));
    g_test_add_data_func(path, GINT_TO_POINTER(prepared[i]), test_prepare);
  }
  const UfoTask graphed[] = {UFO_TASK_DETECTION, UFO_TASK_GROUNDING, UFO_TASK_CAPTION};
  for (guint i = 0; i < G_N_ELEMENTS(graphed); i++) {
    g_autofree char *path = g_strdup_printf("/session/graphs/%s", ufo_task_name(graphed[i]));
    g_test_add_data_func(path, GINT_TO_POINTER(graphed[i]), test_graphs);
  }
  g_test_add_data_func("/session/graphs-bf16/detection",
                       GINT_TO_POINTER(UFO_TASK_DETECTION | GRAPHS_BF16), test_graphs);
  g_test_add_func("/session/bad-inputs", test_bad_inputs);
  g_test_add_func("/session/prompt-cache", test_prompt_cache);
  g_test_add_func("/session/prompt-too-long", test_prompt_too_long);
  g_test_add_func("/session/planar-frames", test_planar_frames);
  g_test_add_func("/session/mask-gray8", test_mask_gray8);
  g_test_add_func("/session/shared-weights", test_shared_weights);
  int rc = g_test_run();
  ufo_model_unref(tiny_model);
  g_clear_pointer(&graph_tiny, ufo_model_unref);
  return rc;
}
