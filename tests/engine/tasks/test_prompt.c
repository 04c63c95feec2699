/* Prompts, text ids / mask and the tokenizer-decoding entry points, against the reference's
 * prompt builders and the HF tokenizer (tests/data/post/prompts.json). */
#include "engine_data.h"
#include "post_fixture.h"
#include "tasks/prompt.h"
#include "tasks/tasks.h"

#include <string.h>

static UfoTask task_of(const char *name)
{
  UfoTask t;
  g_assert_true(ufo_task_from_name(name, &t, NULL));
  return t;
}

static void test_prompt_fixture(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("prompts.json", &root);
  g_autoptr(UfoTokenizer) tok = engine_data_tokenizer();
  JsonArray *cases = json_object_get_array_member(root, "cases");
  for (guint i = 0; i < json_array_get_length(cases); i++) {
    JsonObject *c = json_array_get_object_element(cases, i);
    const UfoTask task = task_of(json_object_get_string_member(c, "task"));
    const char *set = json_object_get_string_member(c, "labels");
    int n_labels = 0;
    g_auto(GStrv) labels = NULL;
    if (*set) {
      g_autofree char *file = g_strdup_printf("%s.txt", set);
      labels = engine_data_labels(file, &n_labels);
    }
    const char *text =
        json_object_has_member(c, "text") ? json_object_get_string_member(c, "text") : NULL;
    GError *err = NULL;
    g_autofree char *prompt =
        ufo_prompt_build(task, (const char *const *)labels, n_labels,
                         (int)json_object_get_int_member(c, "num_bins"), text, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(prompt, ==, json_object_get_string_member(c, "prompt"));
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_autoptr(GArray) mask = g_array_new(FALSE, FALSE, sizeof(uint8_t));
    g_assert_true(ufo_prompt_encode(tok, task, prompt, UFO_PROMPT_MAX_TOKENS, ids, mask, &err));
    g_assert_no_error(err);
    guint n;
    g_autofree int32_t *want = post_json_ints(json_object_get_array_member(c, "ids"), &n);
    g_assert_cmpuint(ids->len, ==, n);
    g_assert_cmpmem(ids->data, n * sizeof(int32_t), want, n * sizeof(int32_t));
    for (guint k = 0; k < n; k++)
      g_assert_cmpint(g_array_index(mask, uint8_t, k), ==, want[k] == UFO_TOKEN_SEP);
  }
}

static void test_prompt_errors(void)
{
  GError *err = NULL;
  g_assert_null(ufo_prompt_build(UFO_TASK_GROUNDING, NULL, 0, 0, NULL, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_null(ufo_prompt_build(UFO_TASK_GROUNDING, NULL, 0, 0, " ?!. ", &err));
  g_assert_nonnull(strstr(err->message, "empty"));
  g_clear_error(&err);
  g_assert_null(ufo_prompt_build(UFO_TASK_DETECTION, NULL, 0, 2240, NULL, &err));
  g_assert_nonnull(strstr(err->message, "label"));
  g_clear_error(&err);
  g_assert_null(ufo_prompt_build((UfoTask)17, NULL, 0, 0, NULL, &err));
  g_assert_nonnull(strstr(err->message, "unknown task"));
  g_clear_error(&err);
  /* a 600-word expression: 609 tokens with HF ("grounding" is two pieces), reported */
  g_autoptr(UfoTokenizer) tok = engine_data_tokenizer();
  GString *s = g_string_new("Task: grounding; Description:");
  for (int i = 0; i < 600; i++)
    g_string_append(s, " dog");
  g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_autoptr(GArray) mask = g_array_new(FALSE, FALSE, sizeof(uint8_t));
  g_assert_false(
      ufo_prompt_encode(tok, UFO_TASK_GROUNDING, s->str, UFO_PROMPT_MAX_TOKENS, ids, mask, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  if (!strstr(err->message, "grounding prompt is too long: it has 609 tokens") ||
      !strstr(err->message, "at most 512"))
    g_error("unexpected message: %s", err->message);
  g_clear_error(&err);
  g_string_free(s, TRUE);
  /* CleanCaption corner cases (Python: strip, delete punctuation, \s{2,} → ' ', lower) */
  g_autofree char *c1 = ufo_clean_caption("  A\tB  ,C  ");
  g_assert_cmpstr(c1, ==, "a\tb c");
}

static void test_decode_entry_points(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("prompts.json", &root);
  g_autoptr(UfoTokenizer) tok = engine_data_tokenizer();
  JsonArray *dec = json_object_get_array_member(root, "decode");
  for (guint i = 0; i < json_array_get_length(dec); i++) {
    JsonObject *c = json_array_get_object_element(dec, i);
    guint n;
    g_autofree int32_t *ids = post_json_ints(json_object_get_array_member(c, "ids"), &n);
    g_auto(GStrv) texts = ufo_task_decode_texts(tok, ids, 1, (int)n);
    g_assert_cmpstr(texts[0], ==, json_object_get_string_member(c, "text"));
    if (i == 0) { /* "car, 112, 2240, 10, 20" through the full detection entry point */
      int n_labels;
      g_auto(GStrv) names = engine_data_labels("coco.txt", &n_labels);
      UfoLabelSet coco = {"coco", n_labels, names};
      UfoTaskConfig tc = {0};
      tc.num_bins = 2240;
      tc.nms = UFO_NMS_SOFT;
      tc.nms_iou = 0.5f;
      tc.nms_min_score = 1e-3f;
      tc.max_per_img = 100;
      const float prob = 0.6f, ref[2] = {0.5f, 0.5f};
      g_autoptr(UfoResult) res = g_new0(UfoResult, 1);
      GError *err = NULL;
      g_assert_true(ufo_task_postprocess_detection(&tc, tok, &coco, ids, &prob, 1, (int)n, ref,
                                                   1120, 1120, 1120, 1120, 0, 0.f, res, &err));
      g_assert_cmpint(res->n_objects, ==, 1);
      g_assert_cmpstr(res->objects[0].label, ==, "car");
      /* cx = 112/2240 − 0.5 + 0.5 = 0.05, w = 10/2240: x1 = 56 − 5/2 = 53.5 px */
      g_assert_cmpfloat_with_epsilon(res->objects[0].x1, 53.5f, 1e-3);
    }
    if (i == 3) {
      g_autoptr(UfoResult) res = g_new0(UfoResult, 1);
      g_assert_true(ufo_task_postprocess_caption(tok, ids, (int)n, res, NULL));
      g_assert_cmpstr(res->caption, ==, "a man riding a horse.");
      g_assert_cmpint(res->task, ==, UFO_TASK_CAPTION);
    }
  }
}

/* The decode draft's lead (answers.c): the pieces of whole answers, a name that begins a longer
 * one is not whole, `background` is none (its grid ends instead: left out of passes). */
static void test_answers_whole(void)
{
  g_autoptr(UfoTokenizer) tok = engine_data_tokenizer();
  char *names[] = {"person", "traffic light", "traffic", "hair drier", NULL};
  UfoLabelSet set = {"test", 4, names};
  UfoAnswerPieces *a = ufo_answer_pieces_new(&set, tok);
  GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  struct {
    const char *text;
    gboolean whole;
  } cases[] = {{"person", TRUE},     {"traffic light", TRUE}, {"traffic", FALSE},
               {"hair drier", TRUE}, {"hair", FALSE},         {"background", FALSE},
               {"light", FALSE},     {"person person", FALSE}};
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_array_set_size(ids, 0);
    g_assert_true(ufo_tokenizer_encode(tok, cases[i].text, 64, ids, NULL));
    const int32_t *p = &g_array_index(ids, int32_t, 1); /* without [CLS] and [SEP] */
    if (ufo_answer_pieces_whole(a, p, (int)ids->len - 2) != cases[i].whole)
      g_error("'%s': whole %d, want %d", cases[i].text, !cases[i].whole, cases[i].whole);
  }
  g_assert_false(ufo_answer_pieces_whole(a, NULL, 0));
  ufo_answer_pieces_free(a);
  /* every COCO and ADE20K class name: whole, but those whose pieces begin another name's
   * (3 of ADE20K's, as "counter", the first piece of "countertop") */
  const char *files[] = {"coco.txt", "ade20k.txt"};
  const int want_whole[] = {80, 147};
  for (int f = 0; f < 2; f++) {
    int n;
    g_auto(GStrv) names_f = engine_data_labels(files[f], &n);
    UfoLabelSet fs = {"file", n, names_f};
    a = ufo_answer_pieces_new(&fs, tok);
    GArray **enc = g_new(GArray *, n);
    for (int i = 0; i < n; i++) {
      enc[i] = g_array_new(FALSE, FALSE, sizeof(int32_t));
      g_assert_true(ufo_tokenizer_encode(tok, names_f[i], 64, enc[i], NULL));
    }
    int whole = 0;
    for (int i = 0; i < n; i++) {
      const guint len = enc[i]->len - 2; /* pieces: without [CLS] and [SEP] */
      gboolean begins = FALSE;
      for (int k = 0; k < n; k++)
        begins |= enc[k]->len - 2 > len &&
                  memcmp(&g_array_index(enc[k], int32_t, 1), &g_array_index(enc[i], int32_t, 1),
                         sizeof(int32_t) * len) == 0;
      const gboolean w = ufo_answer_pieces_whole(a, &g_array_index(enc[i], int32_t, 1), (int)len);
      if (w == begins)
        g_error("%s '%s': whole %d", files[f], names_f[i], w);
      whole += w;
    }
    g_test_message("%s: %d of %d names whole", files[f], whole, n);
    g_assert_cmpint(whole, ==, want_whole[f]);
    for (int i = 0; i < n; i++)
      g_array_unref(enc[i]);
    g_free(enc);
    ufo_answer_pieces_free(a);
  }
  g_array_unref(ids);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tasks/answers/whole", test_answers_whole);
  g_test_add_func("/tasks/prompt/fixture", test_prompt_fixture);
  g_test_add_func("/tasks/prompt/errors", test_prompt_errors);
  g_test_add_func("/tasks/text/decode-entry-points", test_decode_entry_points);
  return g_test_run();
}
