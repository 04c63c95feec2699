/* Config tests: built-in values (inference §1, the Python tools/reference/ufo_config.py), JSON
 * round trip, and a clear error naming the key for every kind of bad value. */
#include "model/config.h"

#include <string.h>

static void test_builtin_values(void)
{
  UfoConfig c;
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_config_builtin("vit-b", &c, &err));
  g_assert_no_error(err);
  g_assert_cmpint(c.embed_dim, ==, 768);
  g_assert_cmpint(c.num_heads, ==, 12);
  g_assert_cmpint(c.head_dim, ==, 64);
  g_assert_cmpint(c.ffn_dim, ==, 3072);
  g_assert_cmpint(c.num_layers, ==, 18);
  for (int i = 0; i < 18; i++)
    g_assert_cmpint(c.is_global[i], ==, i == 2 || i == 5 || i == 8 || i == 11);
  g_assert_cmpint(c.n_mean, ==, 6);
  g_assert_cmpint(c.mean_layers[0], ==, 12);
  g_assert_cmpint(c.mean_layers[5], ==, 17);
  g_assert_cmpint(c.img_size, ==, 1120);
  g_assert_cmpint(c.vocab_size, ==, 30525);
  g_assert_cmpfloat(c.ln_eps, ==, 1e-6f);
  g_assert_cmpfloat(c.text_ln_eps, ==, 1e-12f);
  g_assert_cmpfloat(c.pixel_mean[0], ==, 123.675f);
  g_assert_cmpfloat(c.pixel_std[2], ==, 57.375f);
  const UfoTaskConfig *det = &c.tasks[UFO_TASK_DETECTION];
  g_assert_true(det->enabled);
  g_assert_cmpint(det->input_size, ==, 1120);
  g_assert_cmpint(det->num_bins, ==, 2240);
  g_assert_cmpint(det->grid_per_window, ==, 5);
  g_assert_cmpint(det->nms, ==, UFO_NMS_SOFT);
  g_assert_cmpfloat(det->nms_iou, ==, 0.5f);
  g_assert_cmpfloat(det->nms_min_score, ==, 0.001f);
  g_assert_cmpstr(det->label_set, ==, "coco");
  /* beam settings of the original's heads (inference §1.2) */
  g_assert_cmpfloat(det->temperature, ==, 0.3f);
  g_assert_cmpfloat(det->alpha, ==, 10.0f);
  g_assert_cmpfloat(c.tasks[UFO_TASK_INSTANCE].temperature, ==, 1.0f);
  g_assert_cmpfloat(c.tasks[UFO_TASK_INSTANCE].alpha, ==, 1.0f);
  g_assert_cmpfloat(c.tasks[UFO_TASK_GROUNDING].temperature, ==, 1.0f);
  const UfoTaskConfig *cap = &c.tasks[UFO_TASK_CAPTION];
  g_assert_cmpfloat(cap->temperature, ==, 1.0f);
  g_assert_cmpint(cap->beam_size, ==, 2);
  g_assert_cmpfloat(cap->alpha, ==, 0.7f);
  g_assert_cmpint(cap->resize, ==, UFO_RESIZE_BICUBIC);
  g_assert_cmpint(c.tasks[UFO_TASK_GROUNDING].num_bins, ==, 448);
  g_assert_true(c.tasks[UFO_TASK_INSTANCE].resize_float);
  g_assert_cmpint(c.tasks[UFO_TASK_INSTANCE].nms, ==, UFO_NMS_MATRIX);
  g_assert_cmpfloat(c.tasks[UFO_TASK_INSTANCE].nms_sigma, ==, 2.0f);
  g_assert_cmpint(c.tasks[UFO_TASK_SEMANTIC].input_size, ==, 672);
  g_assert_cmpstr(c.tasks[UFO_TASK_SEMANTIC].label_set, ==, "ade20k");

  g_assert_true(ufo_config_builtin("vit-h", &c, NULL));
  g_assert_cmpint(c.head_dim, ==, 80);
  g_assert_cmpint(c.num_layers, ==, 38);
  g_assert_true(c.is_global[31] && !c.is_global[32]);
  g_assert_cmpint(c.mean_layers[0], ==, 32);

  g_assert_true(ufo_config_builtin("tiny", &c, NULL));
  g_assert_cmpint(c.embed_dim, ==, 64);
  g_assert_cmpint(c.head_dim, ==, 32);
  g_assert_cmpint(c.img_size, ==, 448);
  g_assert_true(c.is_global[1] && c.is_global[3] && !c.is_global[2]);
  g_assert_cmpint(c.n_mean, ==, 2);
  g_assert_cmpint(c.mean_layers[0], ==, 4);
  g_assert_cmpint(c.mean_layers[1], ==, 5);
  g_assert_cmpint(c.tasks[UFO_TASK_DETECTION].num_bins, ==, 896);
  g_assert_cmpint(c.tasks[UFO_TASK_SEMANTIC].input_size, ==, 224);
}

static void test_builtin_unknown(void)
{
  UfoConfig c;
  g_autoptr(GError) err = NULL;
  g_assert_false(ufo_config_builtin("vit-x", &c, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_nonnull(strstr(err->message, "vit-x"));
}

static void test_round_trip(void)
{
  const char *names[] = {"tiny", "vit-b", "vit-l", "vit-h"};
  for (int i = 0; i < 4; i++) {
    UfoConfig a, b;
    g_assert_true(ufo_config_builtin(names[i], &a, NULL));
    g_autofree char *json = ufo_config_to_json(&a);
    g_autoptr(GError) err = NULL;
    memset(&b, 0x55, sizeof b);
    g_assert_true(ufo_config_parse(json, &b, &err));
    g_assert_no_error(err);
    g_assert_cmpmem(&a, sizeof a, &b, sizeof b);
    g_assert_nonnull(strstr(json, "\"ln_eps\": 1e-06, "));
  }
}

/* The JSON written by tools/reference/ufo_config.py (json.dumps(asdict(builtin("tiny")))). */
static const char *python_tiny =
    "{\"name\": \"tiny\", \"embed_dim\": 64, \"num_heads\": 2, \"head_dim\": 32, \"ffn_dim\": 256, "
    "\"num_lay"
    "ers\": 6, \"global_layers\": [1, 3], \"mean_layers\": [4, 5], \"window_size\": 14, "
    "\"patch_size\": "
    "16, \"img_size\": 448, \"vocab_size\": 30525, \"max_position\": 512, \"ln_eps\": 1e-06, "
    "\"text_ln_e"
    "ps\": 1e-12, \"pixel_mean\": [123.675, 116.28, 103.53], \"pixel_std\": [58.395, 57.12, "
    "57.375],"
    " \"tasks\": {\"detection\": {\"input_size\": 448, \"resize\": \"bilinear\", \"resize_float\": "
    "false, \""
    "grid_per_window\": 5, \"num_bins\": 896, \"max_length\": 30, \"beam_size\": 1, "
    "\"temperature\": 0.3"
    ", \"alpha\": 10.0, \"nms\": \"soft\", \"nms_iou\": 0.5, \"nms_min_score\": 0.001, "
    "\"nms_sigma\": 2.0, \""
    "nms_filter\": 0.05, \"max_per_img\": 100, \"label_set\": \"coco\"}, \"grounding\": "
    "{\"input_size\": 2"
    "24, \"resize\": \"bicubic\", \"resize_float\": false, \"grid_per_window\": 0, \"num_bins\": "
    "448, \"ma"
    "x_length\": 20, \"beam_size\": 1, \"temperature\": 1.0, \"alpha\": 1.0, \"nms\": \"none\", "
    "\"nms_iou\":"
    " 0.5, \"nms_min_score\": 0.001, \"nms_sigma\": 2.0, \"nms_filter\": 0.05, \"max_per_img\": "
    "100, \"l"
    "abel_set\": \"\"}, \"caption\": {\"input_size\": 224, \"resize\": \"bicubic\", "
    "\"resize_float\": false,"
    " \"grid_per_window\": 0, \"num_bins\": 0, \"max_length\": 20, \"beam_size\": 2, "
    "\"temperature\": 1.0"
    ", \"alpha\": 0.7, \"nms\": \"none\", \"nms_iou\": 0.5, \"nms_min_score\": 0.001, "
    "\"nms_sigma\": 2.0, \""
    "nms_filter\": 0.05, \"max_per_img\": 100, \"label_set\": \"\"}, \"instance\": "
    "{\"input_size\": 448, \""
    "resize\": \"bilinear\", \"resize_float\": true, \"grid_per_window\": 5, \"num_bins\": 0, "
    "\"max_lengt"
    "h\": 30, \"beam_size\": 1, \"temperature\": 1.0, \"alpha\": 1.0, \"nms\": \"matrix\", "
    "\"nms_iou\": 0.5,"
    " \"nms_min_score\": 0.001, \"nms_sigma\": 2.0, \"nms_filter\": 0.05, \"max_per_img\": 100, "
    "\"label_"
    "set\": \"coco\"}, \"semantic\": {\"input_size\": 224, \"resize\": \"bilinear\", "
    "\"resize_float\": false"
    ", \"grid_per_window\": 5, \"num_bins\": 0, \"max_length\": 30, \"beam_size\": 1, "
    "\"temperature\": 1."
    "0, \"alpha\": 1.0, \"nms\": \"none\", \"nms_iou\": 0.5, \"nms_min_score\": 0.001, "
    "\"nms_sigma\": 2.0, "
    "\"nms_filter\": 0.05, \"max_per_img\": 100, \"label_set\": \"ade20k\"}}}";

static void test_python_json(void)
{
  UfoConfig a, b;
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_config_builtin("tiny", &a, NULL));
  g_assert_true(ufo_config_parse(python_tiny, &b, &err));
  g_assert_no_error(err);
  g_assert_cmpmem(&a, sizeof a, &b, sizeof b);
}

/* Replaces the first occurrence of `from` in the tiny JSON by `to`; expects a parse error whose
 * message holds `want`. */
static void expect_bad(const char *from, const char *to, const char *want)
{
  UfoConfig c;
  g_assert_true(ufo_config_builtin("tiny", &c, NULL));
  g_autofree char *json = ufo_config_to_json(&c);
  const char *at = strstr(json, from);
  if (!at)
    g_error("'%s' not in %s", from, json);
  g_autofree char *bad = g_strdup_printf("%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
  g_autoptr(GError) err = NULL;
  if (ufo_config_parse(bad, &c, &err))
    g_error("config with %s accepted", to);
  g_assert_error(err, UFO_ERROR, UFO_ERROR_FORMAT);
  if (!strstr(err->message, want))
    g_error("message '%s' lacks '%s'", err->message, want);
}

static void test_bad_values(void)
{
  expect_bad("\"embed_dim\": 64", "\"embed_dim\": 0", "'embed_dim': out of range");
  expect_bad("\"embed_dim\": 64", "\"embed_dim\": -64", "'embed_dim'");
  expect_bad("\"num_heads\": 2", "\"num_heads\": 3", "'num_heads': must divide embed_dim");
  expect_bad("\"head_dim\": 32", "\"head_dim\": 16", "'head_dim': must equal");
  expect_bad("\"num_layers\": 6", "\"num_layers\": 65", "'num_layers': out of range");
  expect_bad("\"global_layers\": [1, 3]", "\"global_layers\": [1, 6]",
             "'global_layers': layer index out of range");
  expect_bad("\"global_layers\": [1, 3]", "\"global_layers\": [3, 1]", "strictly ascending");
  expect_bad("\"mean_layers\": [4, 5]", "\"mean_layers\": []", "'mean_layers': must name");
  expect_bad("\"mean_layers\": [4, 5]", "\"mean_layers\": [4, 4]", "'mean_layers'");
  expect_bad("\"img_size\": 448", "\"img_size\": 450",
             "'img_size': must be a multiple of patch_size");
  expect_bad("\"vocab_size\": 30525", "\"vocab_size\": 3", "'vocab_size': out of range");
  expect_bad("\"ln_eps\": 1e-06", "\"ln_eps\": 0", "'ln_eps': out of range");
  expect_bad("\"ln_eps\": 1e-06", "\"ln_eps\": \"small\"", "'ln_eps': expected a number");
  expect_bad("\"pixel_std\": [", "\"pixel_std\": [0, ", "'pixel_std'");
  expect_bad("\"embed_dim\": 64", "\"embed_dim\": 64.5", "'embed_dim': expected an integer");
  expect_bad("\"embed_dim\": 64", "\"embed_dim\": 64, \"colour\": 1", "'colour': unknown key");
  expect_bad("\"window_size\": 14, ", "", "'window_size': missing");
  expect_bad("\"input_size\": 448", "\"input_size\": 400",
             "'tasks.detection.input_size': must be a multiple of 224");
  expect_bad("\"resize\": \"bilinear\"", "\"resize\": \"nearest\"", "'tasks.detection.resize'");
  expect_bad("\"nms\": \"soft\"", "\"nms\": \"hard\"", "'tasks.detection.nms'");
  expect_bad("\"num_bins\": 896", "\"num_bins\": 0",
             "'tasks.detection.num_bins': must be positive");
  expect_bad("\"label_set\": \"coco\"", "\"label_set\": \"\"",
             "'tasks.detection.label_set': required");
  expect_bad("\"label_set\": \"coco\"", "\"label_set\": \"../x\"", "'tasks.detection.label_set'");
  expect_bad("\"beam_size\": 1", "\"beam_size\": 0", "'tasks.detection.beam_size': out of range");
  expect_bad("\"nms_iou\": 0.5", "\"nms_iou\": 1.5", "'tasks.detection.nms_iou': out of range");
  expect_bad("\"max_length\": 30", "\"max_length\": 513", "'tasks.detection.max_length'");
  expect_bad("\"grid_per_window\": 5", "\"grid_per_window\": 15",
             "'tasks.detection.grid_per_window'");
  expect_bad("\"tasks\": {", "\"tasks\": {\"pose\": {}, ", "'tasks.pose': unknown key");
  expect_bad("\"name\": \"tiny\"", "\"name\": \"a-name-that-is-far-too-long-for-us\"", "'name'");
  /* grid tasks skip global layers in decoding: their mean needs a window layer (§6.1) */
  expect_bad("\"mean_layers\": [4, 5]", "\"mean_layers\": [1, 3]",
             "'mean_layers': lists only global layers");
}

/* A config JSON without beam settings gets the original heads' values per task (§1.2); a global
 * layer among the mean layers is accepted while a window layer is there too (§6.1). */
static void test_beam_defaults(void)
{
  UfoConfig c;
  g_assert_true(ufo_config_builtin("tiny", &c, NULL));
  g_autofree char *json = ufo_config_to_json(&c);
  GRegex *re = g_regex_new(", \"temperature\": [0-9.]+, \"alpha\": [0-9.]+", 0, 0, NULL);
  g_autofree char *bare = g_regex_replace_literal(re, json, -1, 0, "", 0, NULL);
  g_regex_unref(re);
  g_assert_null(strstr(bare, "temperature")); /* every task's pair went */
  g_assert_nonnull(strstr(json, "\"temperature\": 0.3, \"alpha\": 10.0")); /* plain numbers */
  g_autofree char *mixed = g_strdup(bare);
  char *at = strstr(mixed, "\"mean_layers\": [4, 5]");
  g_assert_nonnull(at);
  memcpy(at, "\"mean_layers\": [3, 5]", strlen("\"mean_layers\": [3, 5]"));
  UfoConfig p;
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_config_parse(mixed, &p, &err));
  g_assert_no_error(err);
  g_assert_cmpfloat(p.tasks[UFO_TASK_DETECTION].temperature, ==, 0.3f);
  g_assert_cmpfloat(p.tasks[UFO_TASK_DETECTION].alpha, ==, 10.0f);
  g_assert_cmpfloat(p.tasks[UFO_TASK_INSTANCE].temperature, ==, 1.0f);
  g_assert_cmpfloat(p.tasks[UFO_TASK_CAPTION].alpha, ==, 1.0f); /* caption's 0.7 is its config's */
  g_assert_true(p.is_global[3]);
  g_assert_cmpint(p.mean_layers[0], ==, 3);
}

static void test_bad_json(void)
{
  UfoConfig c;
  g_autoptr(GError) err = NULL;
  g_assert_false(ufo_config_parse("{\"embed_dim\": 64,", &c, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_FORMAT);
  g_assert_nonnull(strstr(err->message, "not valid JSON"));
  g_clear_error(&err);
  g_assert_false(ufo_config_parse("[1, 2]", &c, &err));
  g_assert_nonnull(strstr(err->message, "must be an object"));
  g_clear_error(&err);
  /* no task at all */
  UfoConfig t;
  g_assert_true(ufo_config_builtin("tiny", &t, NULL));
  for (int i = 0; i < UFO_N_TASKS; i++)
    t.tasks[i].enabled = FALSE;
  g_autofree char *json = ufo_config_to_json(&t);
  g_assert_false(ufo_config_parse(json, &c, &err));
  g_assert_nonnull(strstr(err->message, "'tasks': must enable at least one task"));
}

/* A model may carry its own, smaller vocabulary: the config takes any size from 4 ([PAD] [UNK]
 * [CLS] [SEP]); whether <MASK> is there for the segmentation tasks is the vocabulary's check
 * (ufo_model_set_vocab, tests/engine/nn/test_own_vocab.c). */
static void test_own_vocabulary_size(void)
{
  UfoConfig c;
  g_assert_true(ufo_config_builtin("tiny", &c, NULL));
  c.vocab_size = 400;
  g_autofree char *json = ufo_config_to_json(&c);
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_config_parse(json, &c, &err));
  g_assert_no_error(err);
  g_assert_cmpint(c.vocab_size, ==, 400);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/model/config/builtin", test_builtin_values);
  g_test_add_func("/model/config/builtin-unknown", test_builtin_unknown);
  g_test_add_func("/model/config/round-trip", test_round_trip);
  g_test_add_func("/model/config/python-json", test_python_json);
  g_test_add_func("/model/config/bad-values", test_bad_values);
  g_test_add_func("/model/config/bad-json", test_bad_json);
  g_test_add_func("/model/config/beam-defaults", test_beam_defaults);
  g_test_add_func("/model/config/own-vocabulary-size", test_own_vocabulary_size);
  return g_test_run();
}
