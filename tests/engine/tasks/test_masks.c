/* Mask pipeline (segmentation spec §2.6–§2.11, §3.4–§3.6) against torch outputs
 * (tests/data/post/masks.json, nms.json). */
#include "post_fixture.h"
#include "tasks/tasks.h"

#include <math.h>
#include <string.h>

static void assert_close(const float *got, const float *want, guint n, float rtol, float atol,
                         const char *what)
{
  for (guint i = 0; i < n; i++)
    if (!(fabsf(got[i] - want[i]) <= atol + rtol * fabsf(want[i])))
      g_error("%s[%u]: got %.9g, expected %.9g", what, i, got[i], want[i]);
}

static void test_bilinear(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("masks.json", &root);
  JsonArray *cases = json_object_get_array_member(root, "bilinear");
  for (guint c = 0; c < json_array_get_length(cases); c++) {
    JsonObject *o = json_array_get_object_element(cases, c);
    const int ih = json_object_get_int_member(o, "ih"), iw = json_object_get_int_member(o, "iw");
    const int oh = json_object_get_int_member(o, "oh"), ow = json_object_get_int_member(o, "ow");
    guint nx, ny;
    g_autofree float *x = post_json_floats(json_object_get_array_member(o, "x"), &nx);
    g_autofree float *y = post_json_floats(json_object_get_array_member(o, "y"), &ny);
    g_autofree float *out = g_new(float, ny);
    ufo_resize_bilinear_torch(x, iw, ih, out, ow, oh);
    assert_close(out, y, ny, 1e-6f, 1e-5f, "bilinear");
  }
}

static void test_shuffle_and_sigmoid(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("masks.json", &root);
  JsonObject *s = json_object_get_object_member(root, "shuffle");
  const int Hp = json_object_get_int_member(s, "Hp"), Wp = json_object_get_int_member(s, "Wp");
  const int C = json_object_get_int_member(s, "C");
  guint ne, nf, nu;
  g_autofree float *E = post_json_floats(json_object_get_array_member(s, "E"), &ne);
  g_autofree float *F = post_json_floats(json_object_get_array_member(s, "F"), &nf);
  g_autofree float *U = post_json_floats(json_object_get_array_member(s, "U"), &nu);
  g_autofree float *got = g_new(float, nu);
  ufo_mask_logits(E, 1, F, Hp, Wp, C, got);
  assert_close(got, U, nu, 1e-5f, 1e-5f, "pixel-shuffled logits");
  /* hand check of the order: U[4h + a][4w + b] = S_{4a+b}[h][w]; token 6 = (a 1, b 2) at (h 2, w 1)
   */
  float dot = 0.f;
  for (int k = 0; k < C; k++)
    dot += E[6 * C + k] * F[(2 * Wp + 1) * C + k];
  g_assert_cmpfloat_with_epsilon(got[(4 * 2 + 1) * (4 * Wp) + 4 * 1 + 2], dot / sqrtf((float)C),
                                 1e-5);
  JsonArray *sig = json_object_get_array_member(root, "sigmoid");
  for (guint i = 0; i < json_array_get_length(sig); i++) {
    JsonArray *pair = json_array_get_array_element(sig, i);
    const float x = json_array_get_double_element(pair, 0),
                y = json_array_get_double_element(pair, 1);
    const float g = ufo_sigmoid_ref(x);
    if (y == 0.f)
      g_assert_cmpfloat(g, ==, 0.f); /* exact underflow like the reference (seg §0 item 2) */
    else
      g_assert_cmpfloat(fabsf(g - y), <=, 2e-7f * y + 1e-45f);
  }
}

static void test_matrix_nms(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("nms.json", &root);
  JsonArray *cases = json_object_get_array_member(root, "matrix");
  for (guint c = 0; c < json_array_get_length(cases); c++) {
    JsonObject *o = json_array_get_object_element(cases, c);
    JsonArray *masks = json_object_get_array_member(o, "masks");
    guint n, nl, nk, ns;
    g_autofree float *scores0 = post_json_floats(json_object_get_array_member(o, "scores"), &n);
    g_autofree int32_t *lab0 = post_json_ints(json_object_get_array_member(o, "labels"), &nl);
    g_autofree int32_t *want = post_json_ints(json_object_get_array_member(o, "keep"), &nk);
    g_autofree float *want_s =
        post_json_floats(json_object_get_array_member(o, "kept_scores"), &ns);
    /* sort by descending score (stable), then areas and intersections */
    g_autofree int *order = ufo_order_by_score(scores0, (int)n);
    g_autofree float *area = g_new0(float, n), *inter = g_new0(float, n *n), *sc = g_new(float, n);
    g_autofree int *lab = g_new(int, n), *keep = g_new(int, n);
    for (guint i = 0; i < n; i++) {
      sc[i] = scores0[order[i]];
      lab[i] = lab0[order[i]];
      guint m;
      g_autofree int32_t *mi = post_json_ints(json_array_get_array_element(masks, order[i]), &m);
      for (guint j = 0; j < n; j++) {
        g_autofree int32_t *mj = post_json_ints(json_array_get_array_element(masks, order[j]), &m);
        int cnt = 0;
        for (guint k = 0; k < m; k++)
          cnt += mi[k] && mj[k];
        inter[i * n + j] = (float)cnt;
        if (i == j)
          area[i] = (float)cnt;
      }
    }
    const int got = ufo_matrix_nms(area, inter, lab, sc, (int)n, 2.f, 0.05f, keep);
    g_assert_cmpint(got, ==, (int)nk);
    for (guint i = 0; i < nk; i++) {
      g_assert_cmpint(order[keep[i]], ==, want[i]);
      g_assert_cmpfloat_with_epsilon(sc[keep[i]], want_s[i], 1e-6);
    }
  }
}

typedef struct {
  JsonParser *parser;
  int Hp, Wp, C, T, n;
  UfoLabelSet labels;
  char **texts;
  int32_t *ids;
  float *prob, *feat, *F;
  JsonArray *outputs;
} SegFixture;

static void seg_load(SegFixture *f)
{
  JsonObject *root;
  f->parser = post_fixture_load("masks.json", &root);
  JsonObject *s = json_object_get_object_member(root, "seg");
  f->Hp = json_object_get_int_member(s, "Hp"), f->Wp = json_object_get_int_member(s, "Wp");
  f->C = json_object_get_int_member(s, "C"), f->T = json_object_get_int_member(s, "T");
  JsonArray *lab = json_object_get_array_member(s, "labels");
  f->labels.n = json_array_get_length(lab);
  f->labels.names = g_new0(char *, f->labels.n + 1);
  for (int i = 0; i < f->labels.n; i++)
    f->labels.names[i] = g_strdup(json_array_get_string_element(lab, i));
  JsonArray *tx = json_object_get_array_member(s, "texts");
  f->n = json_array_get_length(tx);
  f->texts = g_new0(char *, f->n + 1);
  for (int i = 0; i < f->n; i++)
    f->texts[i] = g_strdup(json_array_get_string_element(tx, i));
  guint m;
  f->ids = post_json_ints(json_object_get_array_member(s, "ids"), &m);
  f->prob = post_json_floats(json_object_get_array_member(s, "first_prob"), &m);
  f->feat = post_json_floats(json_object_get_array_member(s, "feat"), &m);
  f->F = post_json_floats(json_object_get_array_member(s, "F"), &m);
  f->outputs = json_object_get_array_member(s, "outputs");
}

static void seg_clear(SegFixture *f)
{
  g_strfreev(f->labels.names);
  g_strfreev(f->texts);
  g_free(f->ids);
  g_free(f->prob);
  g_free(f->feat);
  g_free(f->F);
  g_object_unref(f->parser);
}

static void test_instance(void)
{
  SegFixture f;
  seg_load(&f);
  UfoTaskConfig tc = {0};
  tc.nms = UFO_NMS_MATRIX;
  tc.nms_sigma = 2.f;
  tc.nms_filter = 0.05f;
  for (guint c = 0; c < json_array_get_length(f.outputs); c++) {
    JsonObject *o = json_array_get_object_element(f.outputs, c);
    const int oh = json_object_get_int_member(o, "oh"), ow = json_object_get_int_member(o, "ow");
    JsonArray *objs =
        json_object_get_array_member(json_object_get_object_member(o, "instance"), "objects");
    g_autoptr(UfoResult) res = g_new0(UfoResult, 1);
    GError *err = NULL;
    g_assert_true(ufo_task_instance_from_texts(&tc, &f.labels, f.texts, f.ids, f.prob, f.feat, f.n,
                                               f.T, UFO_TOKEN_MASK, f.F, f.Hp, f.Wp, f.C, ow, oh,
                                               0.f, 0, UFO_INSTANCE_BOXES_MASK, res, &err));
    g_assert_no_error(err);
    g_assert_cmpint(res->n_objects, ==, (int)json_array_get_length(objs));
    for (int i = 0; i < res->n_objects; i++) {
      JsonObject *w = json_array_get_object_element(objs, i);
      const UfoObject *ob = &res->objects[i];
      g_assert_cmpint(ob->label_id, ==, json_object_get_int_member(w, "label"));
      g_assert_cmpstr(ob->label, ==, f.labels.names[ob->label_id]);
      g_assert_cmpfloat_with_epsilon(ob->score, json_object_get_double_member(w, "score"), 2e-6);
      JsonArray *box = json_object_get_array_member(w, "box");
      g_assert_cmpfloat(ob->x1, ==, json_array_get_int_element(box, 0));
      g_assert_cmpfloat(ob->y1, ==, json_array_get_int_element(box, 1));
      g_assert_cmpfloat(ob->x2, ==, json_array_get_int_element(box, 2));
      g_assert_cmpfloat(ob->y2, ==, json_array_get_int_element(box, 3));
      const UfoMask *mk = ob->mask;
      g_assert_nonnull(mk);
      g_assert_cmpint(mk->x, ==, (int)ob->x1);
      g_assert_cmpint(mk->width, ==, (int)(ob->x2 - ob->x1));
      g_assert_cmpint(mk->height, ==, (int)(ob->y2 - ob->y1));
      double sum = 0;
      for (int k = 0; k < mk->width * mk->height; k++)
        sum += mk->prob[k];
      const double want = json_object_get_double_member(w, "prob_sum");
      g_assert_cmpfloat(fabs(sum - want), <=, 1e-5 * want + 1e-4);
      g_assert_cmpfloat_with_epsilon(mk->prob[0], json_object_get_double_member(w, "prob_first"),
                                     1e-5);
    }
    /* a cap after NMS keeps the best ones */
    g_autoptr(UfoResult) r2 = g_new0(UfoResult, 1);
    g_assert_true(ufo_task_instance_from_texts(&tc, &f.labels, f.texts, f.ids, f.prob, f.feat, f.n,
                                               f.T, UFO_TOKEN_MASK, f.F, f.Hp, f.Wp, f.C, ow, oh,
                                               0.f, 2, UFO_INSTANCE_BOXES_MASK, r2, &err));
    g_assert_cmpint(r2->n_objects, ==, MIN(2, res->n_objects));
    /* a threshold so high that no pixel passes: nothing survives */
    g_autoptr(UfoResult) r3 = g_new0(UfoResult, 1);
    g_assert_true(ufo_task_instance_from_texts(&tc, &f.labels, f.texts, f.ids, f.prob, f.feat, f.n,
                                               f.T, UFO_TOKEN_MASK, f.F, f.Hp, f.Wp, f.C, ow, oh,
                                               1.f, 0, UFO_INSTANCE_BOXES_REGION, r3, &err));
    g_assert_cmpint(r3->n_objects, ==, 0);
  }
  seg_clear(&f);
}

static void test_semantic(void)
{
  SegFixture f;
  seg_load(&f);
  UfoTaskConfig tc = {0};
  for (guint c = 0; c < json_array_get_length(f.outputs); c++) {
    JsonObject *o = json_array_get_object_element(f.outputs, c);
    const int oh = json_object_get_int_member(o, "oh"), ow = json_object_get_int_member(o, "ow");
    guint n;
    g_autofree int32_t *want = post_json_ints(
        json_object_get_array_member(json_object_get_object_member(o, "semantic"), "labels"), &n);
    g_autoptr(UfoResult) res = g_new0(UfoResult, 1);
    GError *err = NULL;
    g_assert_true(ufo_task_semantic_from_texts(&tc, &f.labels, f.texts, f.ids, f.prob, f.feat, f.n,
                                               f.T, UFO_TOKEN_MASK, f.F, f.Hp, f.Wp, f.C, ow, oh,
                                               res, &err));
    g_assert_no_error(err);
    g_assert_nonnull(res->semantic);
    g_assert_cmpint(res->semantic->width, ==, ow);
    g_assert_cmpint(res->semantic->n_classes, ==, f.labels.n);
    int off = 0;
    for (guint i = 0; i < n; i++)
      off += res->semantic->labels[i] != want[i];
    g_assert_cmpint(off, ==, 0);
  }
  /* no valid grid: empty result (documented; the original crashes) */
  char *bg[] = {"background", "cat, <MASK>", NULL};
  g_autoptr(UfoResult) r2 = g_new0(UfoResult, 1);
  GError *err = NULL;
  g_assert_true(ufo_task_semantic_from_texts(&tc, &f.labels, bg, f.ids, f.prob, f.feat, 2, f.T,
                                             UFO_TOKEN_MASK, f.F, f.Hp, f.Wp, f.C, 8, 8, r2, &err));
  g_assert_null(r2->semantic);
  /* all-zero probabilities everywhere: ties go to class 0 even if only class 2 is predicted */
  const int T = 16, C = 2;
  int32_t ids[16];
  float feat[16 * 2], F1[2] = {1.f, 0.f};
  for (int t = 0; t < T; t++) {
    ids[t] = UFO_TOKEN_MASK;
    feat[t * C] = -1000.f; /* logit −1000/sqrt(2): sigmoid underflows to exactly 0 */
    feat[t * C + 1] = 0.f;
  }
  char *one[] = {"traffic light, <MASK>", NULL};
  const float prob = 0.9f;
  g_autoptr(UfoResult) r3 = g_new0(UfoResult, 1);
  g_assert_true(ufo_task_semantic_from_texts(&tc, &f.labels, one, ids, &prob, feat, 1, T,
                                             UFO_TOKEN_MASK, F1, 1, 1, C, 3, 2, r3, &err));
  for (int i = 0; i < 6; i++)
    g_assert_cmpint(r3->semantic->labels[i], ==, 0);
  feat[0] = 1000.f; /* token 0 (top-left sub-pixel) is now certain; a 4x4 output is the
                     * identity resize, so only pixel (0, 0) becomes class 2 */
  g_autoptr(UfoResult) r4 = g_new0(UfoResult, 1);
  g_assert_true(ufo_task_semantic_from_texts(&tc, &f.labels, one, ids, &prob, feat, 1, T,
                                             UFO_TOKEN_MASK, F1, 1, 1, C, 4, 4, r4, &err));
  g_assert_cmpint(r4->semantic->labels[0], ==, 2);
  for (int i = 1; i < 16; i++)
    g_assert_cmpint(r4->semantic->labels[i], ==, 0);
  seg_clear(&f);
}

/* A label set with "background" as a class (the demo's shapes-semantic): semantic grids that
 * answer "background" are kept like any class, instance grids that answer it are dropped. */
static void test_semantic_background_class(void)
{
  char *names[] = {"background", "circle", NULL};
  const UfoLabelSet labels = {"shapes-semantic", 2, names};
  const int T = 16, C = 2;
  int32_t ids[2 * 16];
  float feat[2 * 16 * 2], F1[2] = {1.f, 0.f};
  for (int t = 0; t < T; t++) {
    ids[t] = ids[T + t] = UFO_TOKEN_MASK;
    feat[t * C] = 1000.f;     /* grid 0, background: P = 1 everywhere */
    feat[(T + t) * C] = -1.f; /* grid 1, circle: P = sigmoid(-1/sqrt(2)) = 0.33 */
    feat[t * C + 1] = feat[(T + t) * C + 1] = 0.f;
  }
  feat[T * C] = 1000.f; /* circle certain at sub-pixel 0: pixel (0, 0) of the 4x4 map */
  char *texts[] = {"background, <MASK>", "circle, <MASK>", NULL};
  const float prob[2] = {0.6f, 0.9f};
  UfoTaskConfig tc = {0};
  g_autoptr(UfoResult) res = g_new0(UfoResult, 1);
  GError *err = NULL;
  g_assert_true(ufo_task_semantic_from_texts(&tc, &labels, texts, ids, prob, feat, 2, T,
                                             UFO_TOKEN_MASK, F1, 1, 1, C, 4, 4, res, &err));
  g_assert_no_error(err);
  g_assert_nonnull(res->semantic);
  g_assert_cmpint(res->semantic->labels[0], ==, 1); /* 0.9 * 1 > 0.6 * 1 */
  for (int i = 1; i < 16; i++)
    g_assert_cmpint(res->semantic->labels[i], ==, 0); /* 0.6 > 0.9 * 0.33 */
  g_assert_cmpint(ufo_parse_seg_label("background, <MASK>", &labels, TRUE), ==, 0);
  g_assert_cmpint(ufo_parse_seg_label("background, <MASK>", &labels, FALSE), ==, -1);
}

/* A wide image splits the label map into several row bands: compare with a straightforward
 * full-image accumulation over the same grids. */
static void test_semantic_bands(void)
{
  SegFixture f;
  seg_load(&f);
  UfoTaskConfig tc = {0};
  const int ow = 3000, oh = 700;
  g_autoptr(UfoResult) res = g_new0(UfoResult, 1);
  GError *err = NULL;
  g_assert_true(ufo_task_semantic_from_texts(&tc, &f.labels, f.texts, f.ids, f.prob, f.feat, f.n,
                                             f.T, UFO_TOKEN_MASK, f.F, f.Hp, f.Wp, f.C, ow, oh, res,
                                             &err));
  const size_t npix = (size_t)ow * oh;
  float *L = g_new0(float, npix *f.labels.n), *P = g_new(float, npix);
  float *E = g_new(float, 16 * f.C), *U = g_new(float, 16 * f.Hp * f.Wp);
  g_autofree int *order = ufo_order_by_score(f.prob, f.n);
  for (int r = 0; r < f.n; r++) {
    const int q = order[r];
    const int label = ufo_parse_seg_label(f.texts[q], &f.labels, TRUE);
    if (label < 0 || ufo_mask_gather(f.ids + q * f.T, f.feat + (size_t)q * f.T * f.C, f.T, f.C, 16,
                                     UFO_TOKEN_MASK, E) < 16)
      continue;
    ufo_mask_probs(E, f.F, f.Hp, f.Wp, f.C, ow, oh, U, P);
    for (size_t i = 0; i < npix; i++)
      L[label * npix + i] += f.prob[q] * P[i];
  }
  size_t off = 0;
  for (size_t i = 0; i < npix; i++) {
    int best = 0;
    for (int c = 1; c < f.labels.n; c++)
      if (L[c * npix + i] > L[best * npix + i])
        best = c;
    off += res->semantic->labels[i] != best;
  }
  g_assert_cmpuint(off, ==, 0);
  g_free(L);
  g_free(P);
  g_free(E);
  g_free(U);
  seg_clear(&f);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tasks/masks/bilinear", test_bilinear);
  g_test_add_func("/tasks/masks/shuffle-sigmoid", test_shuffle_and_sigmoid);
  g_test_add_func("/tasks/masks/matrix-nms", test_matrix_nms);
  g_test_add_func("/tasks/instance/fixture", test_instance);
  g_test_add_func("/tasks/semantic/fixture", test_semantic);
  g_test_add_func("/tasks/semantic/bands", test_semantic_bands);
  g_test_add_func("/tasks/semantic/background-class", test_semantic_background_class);
  return g_test_run();
}
