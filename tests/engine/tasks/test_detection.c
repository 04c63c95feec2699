/* Text parsing, detection / grounding boxes and soft-NMS (inference spec §7.1, §7.2, §0). */
#include "post_fixture.h"
#include "tasks/tasks.h"

#include <math.h>
#include <string.h>

static char *coco_small[] = {"person", "bicycle", "car", "traffic light", NULL};
static const UfoLabelSet labels = {"coco", 4, coco_small};

static void test_parse_int(void)
{
  struct {
    const char *s;
    gboolean ok;
    int64_t v;
  } cases[] = {
      {"12", TRUE, 12},
      {" 12 3", TRUE, 123},
      {"+5", TRUE, 5},
      {"-7", TRUE, -7},
      {"007", TRUE, 7},
      {"1_000", TRUE, 1000},
      {" 4\t", TRUE, 4},
      {"", FALSE, 0},
      {"  ", FALSE, 0},
      {"_1", FALSE, 0},
      {"1__0", FALSE, 0},
      {"1_", FALSE, 0},
      {"d;e", FALSE, 0},
      {"12a", FALSE, 0},
      {"1.5", FALSE, 0},
      {"- 3", TRUE, -3},
      {"+", FALSE, 0},
      {"<MASK>", FALSE, 0},
      {"99999999999999999999", FALSE, 0},
  };
  for (guint i = 0; i < G_N_ELEMENTS(cases); i++) {
    int64_t v = -999;
    const gboolean ok = ufo_parse_int(cases[i].s, &v);
    if (ok != cases[i].ok || (ok && v != cases[i].v))
      g_error("parse_int(\"%s\"): got %d/%" G_GINT64_FORMAT ", expected %d/%" G_GINT64_FORMAT,
              cases[i].s, ok, v, cases[i].ok, cases[i].v);
  }
}

static void test_parse_detection(void)
{
  int label;
  int64_t v[4];
  g_assert_true(ufo_parse_detection("car,10,20,30,40", &labels, &label, v));
  g_assert_cmpint(label, ==, 2);
  g_assert_cmpint(v[0], ==, 10);
  g_assert_cmpint(v[3], ==, 40);
  /* multi-piece number tokens "2 24" and a class with a space */
  g_assert_true(ufo_parse_detection("traffic light,1 12,2 24,3,4,extra", &labels, &label, v));
  g_assert_cmpint(label, ==, 3);
  g_assert_cmpint(v[0], ==, 112);
  g_assert_cmpint(v[1], ==, 224);
  const char *bad[] = {"car ,1,2,3,4",
                       "background,1,2,3,4",
                       "cat,1,2,3,4",
                       "car,1,2,3",
                       "car,1,2,3,d;e",
                       "Car,1,2,3,4",
                       "",
                       "car,1,,3,4",
                       " car,1,2,3,4",
                       "car1,2,3,4,5"};
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++)
    if (ufo_parse_detection(bad[i], &labels, &label, v))
      g_error("\"%s\" should be rejected", bad[i]);
  g_assert_false(ufo_parse_detection(NULL, &labels, &label, v));
  g_assert_true(ufo_parse_grounding("1,2,3,4", v));
  g_assert_true(ufo_parse_grounding("1,2,3,4;5,6,7,8", v) == FALSE); /* "4;5" */
  g_assert_false(ufo_parse_grounding("1,2,3", v));
  g_assert_true(ufo_parse_grounding("1,2,3,4,zz", v));
  for (int sem = 0; sem <= 1; sem++) {
    g_assert_cmpint(ufo_parse_seg_label("car, <MASK> <MASK>", &labels, sem), ==, 2);
    g_assert_cmpint(ufo_parse_seg_label("car,<MASK>", &labels, sem), ==, 2);
    g_assert_cmpint(ufo_parse_seg_label("car, 1", &labels, sem), ==, -1);
    g_assert_cmpint(ufo_parse_seg_label("<MASK> car, <MASK>", &labels, sem), ==, -1);
    /* not a COCO label: dropped by both tasks (the instance task whatever the set) */
    g_assert_cmpint(ufo_parse_seg_label("background, <MASK>", &labels, sem), ==, -1);
  }
}

static UfoTaskConfig det_config(void)
{
  UfoTaskConfig tc = {0};
  tc.enabled = TRUE;
  tc.input_size = 1120;
  tc.num_bins = 2240;
  tc.nms = UFO_NMS_SOFT;
  tc.nms_iou = 0.5f;
  tc.nms_min_score = 1e-3f;
  tc.max_per_img = 100;
  return tc;
}

static void test_detection_boxes(void)
{
  UfoTaskConfig tc = det_config();
  char *texts[] = {"car,1120,1120,224,448", "background,1,2,3,4", "person,0,0,4480,4480",
                   "bicycle,100,2 00,10,20", "dog,1,2,3,4"};
  const float prob[] = {0.5f, 0.99f, 0.7f, 0.6f, 0.95f};
  const float ref[] = {0.5f, 0.5f, 0.1f, 0.1f, 0.3f, 0.7f, 0.9f, 0.9f, 0.5f, 0.5f};
  UfoResult res = {0};
  GError *err = NULL;
  /* original image 640x480 resized to 1120x1120: scale (1.75, 2.3333333) */
  g_assert_true(ufo_task_detection_from_texts(&tc, &labels, texts, prob, 5, ref, 1120, 1120, 640,
                                              480, 0, 0.f, &res, &err));
  g_assert_no_error(err);
  g_assert_cmpint(res.n_objects, ==, 3);
  /* selection order = descending score (no overlaps between classes here) */
  UfoObject *o = res.objects;
  g_assert_cmpint(o[0].label_id, ==, 0); /* person 0.7 */
  g_assert_cmpstr(o[0].label, ==, "person");
  /* person, ref (0.3, 0.7): cx = 0/2240 − 0.5 + 0.3 = −0.2, w = 2: x1 = −1.2·1120 → clamp 0,
   * x2 = 0.8·1120 = 896 ÷ 1.75 = 512; cy = 0.2: y2 = 1.2·1120 → clamp 1120 ÷ (1120/480) = 480 */
  g_assert_cmpfloat(o[0].x1, ==, 0.f);
  g_assert_cmpfloat_with_epsilon(o[0].x2, 512.f, 1e-3);
  g_assert_cmpfloat(o[0].y1, ==, 0.f);
  g_assert_cmpfloat_with_epsilon(o[0].y2, 480.f, 1e-3);
  g_assert_cmpfloat(o[0].score, ==, 0.7f);
  /* bicycle ("2 00" → 200): cx = 100/2240 − 0.5 + 0.9, w = 10/2240 */
  g_assert_cmpint(o[1].label_id, ==, 1);
  const float cx = (100.f / 2240.f - 0.5f) + 0.9f, w = 10.f / 2240.f;
  g_assert_cmpfloat(o[1].x1, ==, ((cx - 0.5f * w) * 1120.f) / (float)(1120.0 / 640));
  /* car: centre 0.5 + 0.5 − 0.5 = 0.5, w = 0.1 → x 504..616 px ÷ 1.75 = 288..352 */
  g_assert_cmpint(o[2].label_id, ==, 2);
  g_assert_cmpfloat_with_epsilon(o[2].x1, 288.f, 1e-3);
  g_assert_cmpfloat_with_epsilon(o[2].x2, 352.f, 1e-3);
  g_assert_cmpfloat_with_epsilon(o[2].y1, (0.4f * 1120.f) / (float)(1120.0 / 480), 1e-3);
  g_free(res.objects);

  /* max_per_img counts parsed detections before NMS: only the best parsed one survives */
  tc.max_per_img = 1;
  UfoResult r2 = {0};
  g_assert_true(ufo_task_detection_from_texts(&tc, &labels, texts, prob, 5, ref, 1120, 1120, 640,
                                              480, 0, 0.f, &r2, &err));
  g_assert_cmpint(r2.n_objects, ==, 1);
  g_assert_cmpint(r2.objects[0].label_id, ==, 0);
  g_free(r2.objects);
  /* the request cap applies after NMS */
  tc.max_per_img = 100;
  UfoResult r3 = {0};
  g_assert_true(ufo_task_detection_from_texts(&tc, &labels, texts, prob, 5, ref, 1120, 1120, 640,
                                              480, 2, 0.f, &r3, &err));
  g_assert_cmpint(r3.n_objects, ==, 2);
  g_free(r3.objects);
  g_assert_false(ufo_task_detection_from_texts(&tc, &labels, texts, prob, 5, ref, 0, 1120, 640, 480,
                                               2, 0.f, &r3, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
}

/* Two same-class boxes with IoU exactly 0.5 (iou >= thr decays) and a third class far away. */
static void test_soft_nms_hand(void)
{
  const float boxes[] = {0, 0, 30, 10, 10, 0, 40, 10, 0, 0, 30, 10};
  const float scores[] = {0.9f, 0.8f, 0.85f};
  const int lab[] = {0, 0, 1};
  int keep[3];
  float sc[3];
  /* box 0 ∩ box 1 = 20x10 = 200, union 400: IoU 0.5 → 0.8·0.5 = 0.4; box 2 is another class
   * (offset by 41) so it keeps 0.85 although it equals box 0 */
  int n = ufo_batched_soft_nms(boxes, scores, lab, 3, 0.5f, 1e-3f, keep, sc);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpint(keep[0], ==, 0);
  g_assert_cmpint(keep[1], ==, 2);
  g_assert_cmpint(keep[2], ==, 1);
  g_assert_cmpfloat(sc[1], ==, 0.85f);
  g_assert_cmpfloat(sc[2], ==, 0.4f);
  /* ties: the earliest current slot wins */
  const float tie[] = {0.5f, 0.5f, 0.5f};
  const int lab3[] = {0, 1, 2};
  n = ufo_batched_soft_nms(boxes, tie, lab3, 3, 0.5f, 1e-3f, keep, sc);
  g_assert_cmpint(keep[0], ==, 0);
  g_assert_cmpint(keep[1], ==, 1);
  g_assert_cmpint(keep[2], ==, 2);
  /* the first selected box is output even below min_score; later ones are dropped */
  const float low[] = {0.0005f, 0.0004f, 0.0003f};
  n = ufo_batched_soft_nms(boxes, low, lab3, 3, 0.5f, 1e-3f, keep, sc);
  g_assert_cmpint(n, ==, 1);
  g_assert_cmpint(keep[0], ==, 0);
  /* zero-area boxes (a degenerate instance box): IoU 0/0 is NaN, NaN >= thr is false, so
   * nothing decays, exactly as the reference (and mmcv's C++) */
  const float flat[] = {5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 20};
  const float fs[] = {0.9f, 0.8f, 0.7f};
  n = ufo_batched_soft_nms(flat, fs, lab, 3, 0.5f, 1e-3f, keep, sc);
  g_assert_cmpint(n, ==, 3);
  g_assert_cmpint(keep[1], ==, 1);
  g_assert_cmpint(keep[2], ==, 2);
  g_assert_cmpfloat(sc[0], ==, 0.9f);
  g_assert_cmpfloat(sc[1], ==, 0.8f);
  g_assert_cmpfloat(sc[2], ==, 0.7f);
}

static void test_soft_nms_fixture(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("nms.json", &root);
  JsonArray *cases = json_object_get_array_member(root, "soft");
  for (guint c = 0; c < json_array_get_length(cases); c++) {
    JsonObject *o = json_array_get_object_element(cases, c);
    guint nb, n, nl, nk, nd;
    g_autofree float *boxes = post_json_floats(json_object_get_array_member(o, "boxes"), &nb);
    g_autofree float *scores = post_json_floats(json_object_get_array_member(o, "scores"), &n);
    g_autofree int32_t *lab = post_json_ints(json_object_get_array_member(o, "labels"), &nl);
    g_autofree int32_t *want = post_json_ints(json_object_get_array_member(o, "keep"), &nk);
    g_autofree float *dec = post_json_floats(json_object_get_array_member(o, "decayed"), &nd);
    g_autofree int *keep = g_new(int, n);
    g_autofree float *sc = g_new(float, n);
    const int got = ufo_batched_soft_nms(boxes, scores, lab, (int)n, 0.5f, 1e-3f, keep, sc);
    g_assert_cmpint(got, ==, (int)nk);
    for (guint i = 0; i < nk; i++) {
      g_assert_cmpint(keep[i], ==, want[i]);
      g_assert_cmpfloat(sc[i], ==, dec[i]); /* bit-exact float32 decay */
    }
  }
}

static void test_grounding(void)
{
  UfoTaskConfig tc = {0};
  tc.num_bins = 448;
  UfoResult res = {0};
  GError *err = NULL;
  /* centre (224/448 − 0.5) + 0.5 = 0.5, size 1 → the whole 224 input → the whole original */
  g_assert_true(
      ufo_task_grounding_from_text(&tc, "224,224,448,448", 0.8f, 224, 224, 448, 100, &res, &err));
  g_assert_cmpint(res.n_objects, ==, 1);
  g_assert_cmpfloat(res.objects[0].x1, ==, 0.f);
  g_assert_cmpfloat_with_epsilon(res.objects[0].x2, 448.f, 1e-3);
  g_assert_cmpfloat_with_epsilon(res.objects[0].y2, 100.f, 1e-3);
  g_assert_cmpint(res.objects[0].label_id, ==, -1);
  /* v = 112, 56, 448, 100 → cx = 0.25, w = 1: x1 clamps at 0; cy = 0.125, h = 100/448 */
  g_assert_true(
      ufo_task_grounding_from_text(&tc, "112,56,44 8,100", 0.8f, 224, 224, 224, 224, &res, &err));
  UfoObject *o = &res.objects[1];
  g_assert_cmpfloat(o->x1, ==, 0.f); /* (0.25 − 0.5)·224 < 0 */
  g_assert_cmpfloat_with_epsilon(o->x2, 0.75f * 224.f, 1e-4);
  const float cy = (56.f / 448.f - 0.5f) + 0.5f, h = 100.f / 448.f;
  g_assert_cmpfloat(o->y1, ==, ((cy - 0.5f * h) * 224.f) / 1.f);
  g_assert_cmpfloat_with_epsilon(o->y1, 3.f, 1e-5);
  g_assert_cmpfloat(o->y2, ==, ((cy + 0.5f * h) * 224.f) / 1.f);
  /* multi-box answers fail to parse: the zero box */
  g_assert_true(
      ufo_task_grounding_from_text(&tc, "1,2,3,4;5,6,7,8", 0.8f, 224, 224, 640, 480, &res, &err));
  o = &res.objects[2];
  g_assert_cmpfloat(o->x1, ==, 0.f);
  g_assert_cmpfloat(o->x2, ==, 0.f);
  g_assert_cmpfloat(o->y2, ==, 0.f);
  g_free(res.objects);
}

/* Random grids through the whole detection post-processing, against ufo_post.detection. */
static void test_detection_fixture(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("detection.json", &root);
  JsonArray *lab = json_object_get_array_member(root, "labels");
  UfoLabelSet ls = {"test", (int)json_array_get_length(lab), g_new0(char *, 8)};
  for (int i = 0; i < ls.n; i++)
    ls.names[i] = g_strdup(json_array_get_string_element(lab, i));
  JsonArray *cases = json_object_get_array_member(root, "cases");
  for (guint c = 0; c < json_array_get_length(cases); c++) {
    JsonObject *o = json_array_get_object_element(cases, c);
    JsonArray *tx = json_object_get_array_member(o, "texts");
    const int n = (int)json_array_get_length(tx);
    g_auto(GStrv) texts = g_new0(char *, n + 1);
    for (int i = 0; i < n; i++)
      texts[i] = g_strdup(json_array_get_string_element(tx, i));
    guint m, nb, nl, ns;
    g_autofree float *prob = post_json_floats(json_object_get_array_member(o, "prob"), &m);
    g_autofree float *refs = post_json_floats(json_object_get_array_member(o, "refs"), &m);
    g_autofree float *boxes = post_json_floats(json_object_get_array_member(o, "boxes"), &nb);
    g_autofree int32_t *labels = post_json_ints(json_object_get_array_member(o, "labels"), &nl);
    g_autofree float *scores = post_json_floats(json_object_get_array_member(o, "scores"), &ns);
    UfoTaskConfig tc = det_config();
    tc.max_per_img = (int)json_object_get_int_member(o, "max_per_img");
    g_autoptr(UfoResult) res = g_new0(UfoResult, 1);
    GError *err = NULL;
    g_assert_true(ufo_task_detection_from_texts(
        &tc, &ls, texts, prob, n, refs, 1120, 1120, (int)json_object_get_int_member(o, "ow"),
        (int)json_object_get_int_member(o, "oh"), 0, 0.f, res, &err));
    g_assert_cmpint(res->n_objects, ==, (int)nl);
    for (int i = 0; i < res->n_objects; i++) {
      const UfoObject *ob = &res->objects[i];
      g_assert_cmpint(ob->label_id, ==, labels[i]);
      g_assert_cmpfloat(ob->score, ==, scores[i]); /* bit-exact float32 */
      g_assert_cmpfloat(ob->x1, ==, boxes[4 * i + 0]);
      g_assert_cmpfloat(ob->y1, ==, boxes[4 * i + 1]);
      g_assert_cmpfloat(ob->x2, ==, boxes[4 * i + 2]);
      g_assert_cmpfloat(ob->y2, ==, boxes[4 * i + 3]);
    }
  }
  g_strfreev(ls.names);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tasks/parse/int", test_parse_int);
  g_test_add_func("/tasks/parse/detection", test_parse_detection);
  g_test_add_func("/tasks/detection/boxes", test_detection_boxes);
  g_test_add_func("/tasks/detection/soft-nms-hand", test_soft_nms_hand);
  g_test_add_func("/tasks/detection/soft-nms-fixture", test_soft_nms_fixture);
  g_test_add_func("/tasks/detection/reference", test_detection_fixture);
  g_test_add_func("/tasks/grounding/boxes", test_grounding);
  return g_test_run();
}
