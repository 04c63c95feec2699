/* tools/ufo-dump: one JSON line per frame in the gvametaconvert layout. */
#include <gst/check/gstcheck.h>
#include <gst/ufo/ufometa.h>

#include <string.h>
#include <sys/wait.h>

#include <gst/ufo/ufoanalyticsmeta.h>
#include <math.h>

#include "json_reference.h"
#include "ufojson.h"

GST_START_TEST(test_frame_json)
{
  GstBuffer *buf = gst_buffer_new();
  GST_BUFFER_PTS(buf) = 40 * GST_MSECOND;
  GstUfoResults *r = gst_ufo_results_new(200, 100);
  gst_ufo_results_add_object(r, 2, "car", 0.75f, 20, 10, 60, 40);
  gst_ufo_results_add_object(r, 0, "person", 0.5f, 180, -10, 40, 30); /* clipped */
  gst_ufo_results_add_roi_metas(r, buf, 9, "m");
  gst_ufo_results_set_caption(r, "two things");
  gst_buffer_add_ufo_meta(buf, r, 9, "detection", FALSE, 0);
  gst_ufo_results_unref(r);
  JsonNode *tags = json_from_string("{\"camera\":\"gate\"}", NULL);
  gchar *line = ufo_dump_frame_json(buf, 200, 100, "rtsp://cam", tags);
  fail_unless(strchr(line, '\n') == NULL);
  JsonNode *root = json_from_string(line, NULL);
  fail_unless(root != NULL, "not JSON: %s", line);
  JsonObject *o = json_node_get_object(root);
  JsonArray *objs = json_object_get_array_member(o, "objects");
  fail_unless_equals_int(json_array_get_length(objs), 2);
  JsonObject *o0 = json_array_get_object_element(objs, 0);
  JsonObject *det = json_object_get_object_member(o0, "detection");
  JsonObject *bb = json_object_get_object_member(det, "bounding_box");
  /* 20,10 60x40 in 200x100: x 0.1..0.4, y 0.1..0.5 */
  fail_unless_equals_float(json_object_get_double_member(bb, "x_min"), 0.1);
  fail_unless_equals_float(json_object_get_double_member(bb, "x_max"), 0.4);
  fail_unless_equals_float(json_object_get_double_member(bb, "y_min"), 0.1);
  fail_unless_equals_float(json_object_get_double_member(bb, "y_max"), 0.5);
  fail_unless_equals_float(json_object_get_double_member(det, "confidence"), 0.75);
  fail_unless_equals_string(json_object_get_string_member(det, "label"), "car");
  fail_unless_equals_int(json_object_get_int_member(det, "label_id"), 2);
  fail_unless_equals_string(json_object_get_string_member(o0, "roi_type"), "car");
  fail_unless_equals_int(json_object_get_int_member(o0, "x"), 20);
  fail_unless_equals_int(json_object_get_int_member(o0, "w"), 60);
  fail_unless_equals_int(json_object_get_int_member(o0, "id"), 1);
  fail_unless_equals_int(json_object_get_int_member(o0, "producer_id"), 9);
  /* second box 180,-10 40x30 clipped to 180,0 20x20 */
  JsonObject *o1 = json_array_get_object_element(objs, 1);
  fail_unless_equals_int(json_object_get_int_member(o1, "y"), 0);
  fail_unless_equals_int(json_object_get_int_member(o1, "w"), 20);
  fail_unless_equals_int(json_object_get_int_member(o1, "h"), 20);
  bb =
      json_object_get_object_member(json_object_get_object_member(o1, "detection"), "bounding_box");
  fail_unless_equals_float(json_object_get_double_member(bb, "x_max"), 1.0);
  JsonObject *res = json_object_get_object_member(o, "resolution");
  fail_unless_equals_int(json_object_get_int_member(res, "width"), 200);
  fail_unless_equals_int(json_object_get_int_member(o, "timestamp"), 40000000);
  fail_unless_equals_string(json_object_get_string_member(o, "source"), "rtsp://cam");
  fail_unless_equals_string(
      json_object_get_string_member(json_object_get_object_member(o, "tags"), "camera"), "gate");
  JsonObject *u = json_array_get_object_element(json_object_get_array_member(o, "ufo"), 0);
  fail_unless_equals_string(json_object_get_string_member(u, "task"), "detection");
  fail_if(json_object_get_boolean_member(u, "inferred"));
  fail_unless_equals_string(json_object_get_string_member(u, "caption"), "two things");
  json_node_unref(root);
  json_node_unref(tags);
  g_free(line);
  gst_buffer_unref(buf);
}
GST_END_TEST;

GST_START_TEST(test_roi_only_json)
{
  GstBuffer *buf = gst_buffer_new();
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta(buf, "face", 4, 5, 6, 7);
  roi->id = 3;
  gchar *line = ufo_dump_frame_json(buf, 100, 50, NULL, NULL);
  JsonNode *root = json_from_string(line, NULL);
  JsonObject *o = json_node_get_object(root);
  JsonObject *o0 = json_array_get_object_element(json_object_get_array_member(o, "objects"), 0);
  fail_unless_equals_string(json_object_get_string_member(o0, "roi_type"), "face");
  fail_unless_equals_int(json_object_get_int_member(o0, "h"), 7);
  fail_unless_equals_int(json_object_get_int_member(o0, "id"), 3);
  fail_if(json_object_has_member(o, "ufo"));
  fail_if(json_object_has_member(o, "timestamp"));
  json_node_unref(root);
  g_free(line);
  gst_buffer_unref(buf);
}
GST_END_TEST;

GST_START_TEST(test_tracked_json)
{
  /* track ids as "object_id", predicted boxes flagged, from GstUfoMeta and from ROI metas */
  for (gint from_roi = 0; from_roi < 2; from_roi++) {
    GstBuffer *buf = gst_buffer_new();
    GstUfoResults *r = gst_ufo_results_new(100, 50);
    gst_ufo_results_add_object(r, 0, "car", 0.9f, 10, 10, 20, 10);
    gst_ufo_results_add_object(r, 0, "car", 0.9f, 50, 10, 20, 10);
    gst_ufo_results_add_object(r, 0, "car", 0.3f, 70, 30, 20, 10);
    gst_ufo_results_set_track_id(r, 0, 4);
    gst_ufo_results_set_track_id(r, 1, 6);
    gst_ufo_results_set_object_flags(r, 1, GST_UFO_OBJECT_FLAG_PREDICTED);
    gst_ufo_results_add_roi_metas(r, buf, 1, NULL);
    if (!from_roi)
      gst_buffer_add_ufo_meta(buf, r, 1, "detection", TRUE, 0);
    gst_ufo_results_unref(r);
    gchar *line = ufo_dump_frame_json(buf, 100, 50, NULL, NULL);
    JsonNode *root = json_from_string(line, NULL);
    JsonArray *objs = json_object_get_array_member(json_node_get_object(root), "objects");
    fail_unless_equals_int(json_array_get_length(objs), 3);
    const gint64 want_id[3] = {4, 6, 0};
    for (guint i = 0; i < 3; i++) {
      JsonObject *oi = json_array_get_object_element(objs, i);
      /* ROI metas may come in any order: find the object by its x */
      const gint64 x = json_object_get_int_member(oi, "x");
      const guint k = x == 10 ? 0 : (x == 50 ? 1 : 2);
      if (want_id[k]) {
        fail_unless_equals_int(json_object_get_int_member(oi, "object_id"), want_id[k]);
      } else {
        fail_if(json_object_has_member(oi, "object_id"));
      }
      fail_unless_equals_int(json_object_has_member(oi, "predicted"), k == 1);
    }
    json_node_unref(root);
    g_free(line);
    gst_buffer_unref(buf);
  }
}
GST_END_TEST;

/* ufo_json_append_double against json-glib's way: g_ascii_dtostr ("%.17g", C locale) and ".0"
 * when that has no '.' (below 1e17, where %.17g has no exponent without a '.') */
static void check_double(gdouble v)
{
  gchar want[G_ASCII_DTOSTR_BUF_SIZE + 2];
  g_ascii_dtostr(want, G_ASCII_DTOSTR_BUF_SIZE, v);
  if (!strchr(want, '.') && !strchr(want, 'e'))
    g_strlcat(want, ".0", sizeof want);
  GString *s = g_string_new(NULL);
  ufo_json_append_double(s, v);
  fail_unless(strcmp(s->str, want) == 0, "%.17g: wrote %s, json-glib %s", v, s->str, want);
  g_string_free(s, TRUE);
}

GST_START_TEST(test_double_format)
{
  /* the values documents hold: box edges / frame size, float scores, rule points */
  const gint sizes[] = {1, 3, 7, 50, 100, 240, 360, 480, 640, 720, 1080, 1920, 3840};
  for (guint k = 0; k < G_N_ELEMENTS(sizes); k++)
    for (gint x = 0; x <= sizes[k]; x++)
      check_double((gdouble)x / sizes[k]);
  for (gint i = 0; i <= 1000; i++) {
    check_double((gdouble)(i / 1000.0f)); /* float scores */
    check_double(i * 0.5);
    check_double(-i * 0.25);
  }
  /* decimal exponents -7 .. 17 and their edges (the fast path ends at 1e-5 and 1e16), ties */
  for (gint e = -8; e <= 18; e++) {
    const gdouble p = pow(10, e);
    check_double(p);
    check_double(nextafter(p, 0));
    check_double(nextafter(p, INFINITY));
    check_double(-p);
    check_double(9.9999999999999995 * p);
    check_double(0.5 * p);
  }
  check_double(0.30000000000000004);
  check_double(1.0 / 3);
  check_double(2.0 / 3);
  check_double(G_MAXINT64);
  check_double(4503599627370497.0); /* 2^52 + 1 */
  check_double(DBL_MIN);
  check_double(DBL_MAX);
  check_double(5e-324);
  /* random bit patterns and random values in 0..1 and 0..4000 */
  GRand *rand = g_rand_new_with_seed(19);
  for (gint i = 0; i < 25000; i++) {
    guint64 bits = ((guint64)g_rand_int(rand) << 32) | g_rand_int(rand);
    gdouble v;
    memcpy(&v, &bits, sizeof v);
    if (isfinite(v))
      check_double(v);
    check_double(g_rand_double(rand));
    check_double(g_rand_double_range(rand, 0, 4000));
    check_double((gfloat)g_rand_double(rand));
  }
  g_rand_free(rand);
  /* where json-glib 1.6 wrote no JSON ("1e+17.0", "nan.0") the writer writes JSON */
  GString *s = g_string_new(NULL);
  ufo_json_append_double(s, 1e17);
  g_string_append_c(s, ' ');
  ufo_json_append_double(s, NAN);
  g_string_append_c(s, ' ');
  ufo_json_append_double(s, -INFINITY);
  g_string_append_c(s, ' ');
  ufo_json_append_double(s, -0.0);
  g_string_append_c(s, ' ');
  ufo_json_append_int(s, G_MININT64);
  g_string_append_c(s, ' ');
  ufo_json_append_int(s, 0);
  fail_unless_equals_string(s->str, "1e+17 null null -0.0 -9223372036854775808 0");
  g_string_free(s, TRUE);
}
GST_END_TEST;

/* json-glib's escaping: every byte 1..255 in a string, as a value and as a label */
GST_START_TEST(test_string_escape)
{
  gchar all[256];
  for (gint c = 1; c < 256; c++)
    all[c - 1] = (gchar)c;
  all[255] = '\0';
  const gchar *strs[] = {"",
                         "plain",
                         "a\"b\\c",
                         "tab\there\nnl\r\b\f/",
                         "caf\xc3\xa9 \xe2\x82\xac",
                         "\xff\xfe not UTF-8",
                         all};
  for (guint i = 0; i < G_N_ELEMENTS(strs); i++) {
    JsonNode *n = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(n, strs[i]);
    gchar *want = json_to_string(n, FALSE);
    json_node_unref(n);
    if (i == G_N_ELEMENTS(strs) - 1) { /* json-glib 1.6 leaves 0x1f raw, which is not JSON */
      gchar *raw = strchr(want, 0x1f);
      fail_unless(raw != NULL);
      gchar *fixed = g_strdup_printf("%.*s\\u001f%s", (int)(raw - want), want, raw + 1);
      g_free(want);
      want = fixed;
    }
    GString *s = g_string_new(NULL);
    ufo_json_append_string(s, strs[i]);
    fail_unless_equals_string(s->str, want);
    g_string_free(s, TRUE);
    g_free(want);
  }
}
GST_END_TEST;

static void add_rule(GstUfoAnalyticsMeta *am, const gchar *name, GstUfoAnalyticsRuleKind kind,
                     const gfloat *pts, guint n, guint64 in, guint64 out, guint fin, guint fout,
                     guint occ)
{
  GstUfoAnalyticsRule r = {.name = g_intern_string(name),
                           .kind = kind,
                           .n_points = n,
                           .points = pts,
                           .total_in = in,
                           .total_out = out,
                           .frame_in = fin,
                           .frame_out = fout,
                           .occupancy = occ};
  gst_ufo_analytics_meta_add_rule(am, &r);
}

/* a frame with everything a document can hold: two producers (detection with masks, track ids
 * and a predicted box; caption with a prompt), boxes outside the frame, labels to escape, and
 * an analytics meta with a line, a zone and events; random boxes for the rest */
static GstBuffer *rich_frame(GRand *rand, gint k)
{
  GstBuffer *buf = gst_buffer_new();
  if (k % 5 != 4)
    GST_BUFFER_PTS(buf) = (GstClockTime)k * 33366667;
  const gint w = 640, h = 360;
  GstUfoResults *r = gst_ufo_results_new(w, h);
  const gchar *labels[] = {"person", "car", "a \"quoted\"\tlabel\\", "caf\xc3\xa9", ""};
  const gint n = k % 25;
  guint8 mask[16 * 12];
  for (guint i = 0; i < sizeof mask; i++)
    mask[i] = (guint8)g_rand_int_range(rand, 0, 256);
  GBytes *mbytes = g_bytes_new(mask, sizeof mask);
  for (gint i = 0; i < n; i++) {
    const gfloat x = (gfloat)g_rand_double_range(rand, -50, w + 20),
                 y = (gfloat)g_rand_double_range(rand, -50, h + 20);
    const guint idx = gst_ufo_results_add_object(
        r, i % 7 - 1, labels[i % G_N_ELEMENTS(labels)], (gfloat)g_rand_double(rand), x, y,
        (gfloat)g_rand_double_range(rand, 0, 200), (gfloat)g_rand_double_range(rand, 0, 200));
    if (i % 3)
      gst_ufo_results_set_track_id(r, idx, (guint64)g_rand_int_range(rand, 1, 100000));
    if (i % 4 == 1)
      gst_ufo_results_set_object_flags(r, idx, GST_UFO_OBJECT_FLAG_PREDICTED);
    if (i % 2) {
      const GstUfoRect rect = {x, y, 16, 12};
      gst_ufo_results_set_mask(r, idx, mbytes, 16, 12, 16, &rect);
    }
  }
  g_bytes_unref(mbytes);
  gst_ufo_results_add_roi_metas(r, buf, 1, "demo");
  gst_buffer_add_ufo_meta(buf, r, 1, k % 2 ? "instance" : "detection", k % 3 != 0,
                          k % 2 ? GST_BUFFER_PTS(buf) : GST_CLOCK_TIME_NONE);
  gst_ufo_results_unref(r);
  if (k % 4 == 0) { /* a second producer: a caption and its prompt */
    GstUfoResults *c = gst_ufo_results_new(w, h);
    gst_ufo_results_set_caption(c, k % 8 ? "a red \"square\"\nand a circle" : "");
    gst_ufo_results_set_prompt(c, "describe\tit");
    gst_buffer_add_ufo_meta(buf, c, 2, "caption", TRUE, 0);
    gst_ufo_results_unref(c);
  }
  if (k % 3 != 2) {
    GstUfoAnalyticsMeta *am = gst_buffer_add_ufo_analytics_meta(buf, w, h);
    static const gfloat line[] = {100.5f, 200, 300, 200.25f},
                        zone[] = {0, 200, 200, 200, 200, 359, 0.1f, 359};
    add_rule(am, "door", GST_UFO_ANALYTICS_RULE_LINE, line, 2, k, k / 2, k % 2, 0, 0);
    add_rule(am, "lot \"A\"", GST_UFO_ANALYTICS_RULE_ZONE, zone, 4, k * 3, k, 1, k % 2, k % 4);
    for (gint e = 0; e < k % 4; e++) {
      GstUfoAnalyticsEvent ev = {.type = (GstUfoAnalyticsEventType)(e % 3),
                                 .rule = e % 3 ? 1 : 0,
                                 .direction = e % 3 ? 0 : (e % 2 ? -1 : 1),
                                 .track_id = (guint64)(e + 1) * 7,
                                 .label_id = e - 1,
                                 .label = e == 2 ? NULL : g_intern_string("person")};
      gst_ufo_analytics_meta_add_event(am, &ev);
    }
  }
  return buf;
}

GST_START_TEST(test_json_matches_json_glib)
{
  GRand *rand = g_rand_new_with_seed(7);
  JsonNode *tags = json_from_string("{\"camera\":\"gate\",\"n\":[1,2.5,{\"x\":null}]}", NULL);
  for (gint k = 0; k < 200; k++) {
    GstBuffer *buf = rich_frame(rand, k);
    const gchar *source = k % 3 ? "rtsp://cam/\"1\"" : NULL;
    JsonNode *t = k % 2 ? tags : NULL;
    gchar *want = ufo_dump_frame_json_reference(buf, 640, 360, source, t);
    gchar *got = ufo_dump_frame_json(buf, 640, 360, source, t);
    fail_unless(strcmp(got, want) == 0, "frame %d:\nwriter    %s\njson-glib %s", k, got, want);
    g_free(got);
    g_free(want);
    /* the same objects as ROI metas only (other producers' layout) */
    GstBuffer *roi = gst_buffer_new();
    gst_buffer_copy_into(roi, buf, GST_BUFFER_COPY_METADATA, 0, -1);
    gst_buffer_remove_meta(roi, (GstMeta *)gst_buffer_get_ufo_meta_for_producer(roi, 1));
    GstUfoMeta *cap = gst_buffer_get_ufo_meta_for_producer(roi, 2);
    if (cap)
      gst_buffer_remove_meta(roi, (GstMeta *)cap);
    want = ufo_dump_frame_json_reference(roi, 640, 360, source, t);
    got = ufo_dump_frame_json(roi, 640, 360, source, t);
    fail_unless(strcmp(got, want) == 0, "ROI frame %d:\nwriter    %s\njson-glib %s", k, got, want);
    g_free(got);
    g_free(want);
    gst_buffer_unref(roi);
    gst_buffer_unref(buf);
  }
  json_node_unref(tags);
  g_rand_free(rand);
}
GST_END_TEST;

/* Runs the ufo-dump program of this build; returns its exit status, stderr in *err_out. */
static gint run_ufo_dump(const gchar *arg, gchar **err_out)
{
  gchar *prog = g_build_filename(BUILD_ROOT, "tools", "ufo-dump", "ufo-dump", NULL);
  gchar *argv[] = {prog, (gchar *)arg, NULL};
  gint status = -1;
  GError *err = NULL;
  fail_unless(g_spawn_sync(NULL, argv, NULL, G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL, err_out,
                           &status, &err),
              "%s", err ? err->message : "");
  g_free(prog);
  fail_unless(WIFEXITED(status), "ufo-dump did not exit normally: %s", *err_out);
  return WEXITSTATUS(status);
}

/* A model path (or anything that is not a pipeline) instead of a pipeline description: a
 * one-sentence usage error, exit status 2, and no GStreamer assertion. */
GST_START_TEST(test_cli_not_a_pipeline)
{
  const gchar *args[] = {DEMO_MODEL, "/nonexistent/model.safetensors", "nosuchelement0 ! identity"};
  for (gsize i = 0; i < G_N_ELEMENTS(args); i++) {
    gchar *err = NULL;
    gint rc = run_ufo_dump(args[i], &err);
    fail_unless(rc == 2, "'%s': exit status %d, not 2: %s", args[i], rc, err);
    fail_if(strstr(err, "CRITICAL") || strstr(err, "WARNING") || strstr(err, "runtime error"),
            "'%s': %s", args[i], err);
    fail_unless(g_str_has_prefix(err, "ufo-dump: ") && strstr(err, "pipeline"), "'%s': %s", args[i],
                err);
    g_free(err);
  }
}
GST_END_TEST;

static Suite *dump_suite(void)
{
  Suite *s = suite_create("ufodump");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_frame_json);
  tcase_add_test(tc, test_roi_only_json);
  tcase_add_test(tc, test_tracked_json);
  tcase_add_test(tc, test_double_format);
  tcase_add_test(tc, test_string_escape);
  tcase_add_test(tc, test_json_matches_json_glib);
  tcase_add_test(tc, test_cli_not_a_pipeline);
  return s;
}

GST_CHECK_MAIN(dump);
