/* tools/ufo-dump: one JSON line per frame in the gvametaconvert layout. */
#include <gst/check/gstcheck.h>
#include <gst/ufo/ufometa.h>

#include <string.h>
#include <sys/wait.h>

#include <gst/ufo/ufoanalyticsmeta.h>
#include <math.h>

#include "json_reference.h"
#include "ufojson.h"
#include "ufomaskrle.h"

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

/* ---- mask_rle: instance masks as COCO run-length encodings (gst/ufomaskrle.c) ---- */

typedef struct {
  gint mw, mh, stride;
  GstUfoRect rect;
  gint fw, fh;
  const gchar *coco; /* pycocotools.mask.encode of the same mask, rasterised independently */
  gint area;
} RleCase;

/* the three masks of the golden cases (tests' own rules; stride padding holds 255, which must
 * never be read) */
static guint8 *golden_mask(gint which, const RleCase *c)
{
  guint8 *d = g_malloc((gsize)c->stride * c->mh);
  memset(d, 255, (gsize)c->stride * c->mh);
  for (gint y = 0; y < c->mh; y++)
    for (gint x = 0; x < c->mw; x++) {
      gint v;
      if (which == 0)
        v = (37 * x + 71 * y + 11) % 256;
      else if (which == 1)
        v = (x + y + 1) % 3 ? 200 : 90;
      else
        v = (x - 20) * (x - 20) + (y - 15) * (y - 15) < 144 ? 255 : (x * 7 + y * 3) % 128;
      d[y * c->stride + x] = (guint8)v;
    }
  return d;
}

/* The expected strings come from pycocotools 2.0 (mask.encode of a numpy rasterisation with the
 * rule of ufomaskrle.h: nearest mask byte at each pixel centre, inside from 128). */
static const RleCase rle_golden[] = {
    /* 5x4 bytes stretched over a fractional rectangle of a 13x9 frame */
    {5, 4, 8, {2.5f, 1.25f, 7.5f, 6.0f}, 13, 9, "f03600O01000N0200j0", 21},
    /* covering the frame and beyond: the first pixel is inside (a first run of no 0s) */
    {6, 5, 6, {-1.0f, -1.0f, 20.0f, 12.0f}, 13, 9, "04230M1200000ON03000OOO3000M11", 80},
    /* a disc at 1:1 in 64x48: multi-character counts and negative deltas */
    {40,
     30,
     41,
     {10.0f, 5.0f, 40.0f, 30.0f},
     64,
     48,
     "Pm09U14M2N2N2N2O0O2O0000000000000001N101N2N2N2N3LbP1",
     437},
};

GST_START_TEST(test_mask_rle_golden)
{
  for (guint i = 0; i < G_N_ELEMENTS(rle_golden); i++) {
    const RleCase *c = &rle_golden[i];
    guint8 *d = golden_mask((gint)i, c);
    GArray *counts = ufo_mask_rle_counts(d, c->mw, c->mh, c->stride, &c->rect, c->fw, c->fh, 128);
    GString *str = g_string_new(NULL);
    ufo_mask_rle_append_string(str, counts);
    fail_unless_equals_string(str->str, c->coco);
    /* the runs cover the frame; the odd ones (1s) are the area */
    guint64 total = 0, area = 0;
    for (guint k = 0; k < counts->len; k++) {
      total += g_array_index(counts, guint32, k);
      area += k % 2 ? g_array_index(counts, guint32, k) : 0;
    }
    fail_unless_equals_int(total, c->fw * c->fh);
    fail_unless_equals_int(area, c->area);
    /* and in a document: the object's mask in its frame */
    GstBuffer *buf = gst_buffer_new();
    GstUfoResults *r = gst_ufo_results_new(c->fw, c->fh);
    gst_ufo_results_add_object(r, 1, "blob", 0.9f, c->rect.x, c->rect.y, c->rect.w, c->rect.h);
    gst_ufo_results_add_object(r, 2, "box", 0.8f, 1, 1, 2, 2); /* no mask */
    GBytes *bytes = g_bytes_new_take(d, (gsize)c->stride * c->mh);
    fail_unless(gst_ufo_results_set_mask(r, 0, bytes, c->mw, c->mh, c->stride, &c->rect));
    g_bytes_unref(bytes);
    gst_buffer_add_ufo_meta(buf, r, 1, "instance", TRUE, 0);
    gst_ufo_results_unref(r);
    const UfoJsonOptions opts = {.masks = TRUE, .mask_threshold = 0.5};
    gchar *line = ufo_dump_frame_json_with(buf, c->fw, c->fh, NULL, NULL, &opts);
    JsonNode *root = json_from_string(line, NULL);
    fail_unless(root != NULL, "not JSON: %s", line);
    JsonArray *objs = json_object_get_array_member(json_node_get_object(root), "objects");
    JsonObject *rle =
        json_object_get_object_member(json_array_get_object_element(objs, 0), "mask_rle");
    fail_unless(rle != NULL, "%s", line);
    JsonArray *size = json_object_get_array_member(rle, "size");
    fail_unless_equals_int(json_array_get_int_element(size, 0), c->fh);
    fail_unless_equals_int(json_array_get_int_element(size, 1), c->fw);
    fail_unless_equals_string(json_object_get_string_member(rle, "counts"), c->coco);
    fail_if(json_object_has_member(json_array_get_object_element(objs, 1), "mask_rle"));
    json_node_unref(root);
    g_free(line);
    /* without the option, no mask (the document of ufo_dump_frame_json) */
    line = ufo_dump_frame_json_with(buf, c->fw, c->fh, NULL, NULL, NULL);
    fail_if(strstr(line, "mask_rle"), "%s", line);
    gchar *plain = ufo_dump_frame_json(buf, c->fw, c->fh, NULL, NULL);
    fail_unless_equals_string(line, plain);
    g_free(plain);
    g_free(line);
    g_string_free(str, TRUE);
    g_array_unref(counts);
    gst_buffer_unref(buf);
  }
}
GST_END_TEST;

/* frames of more pixels than 32-bit runs can count get no mask_rle (and no walk over their
 * pixels) */
GST_START_TEST(test_mask_rle_frame_limits)
{
  const gint sizes[][2] = {{70000, 70000}, {65536, 65537}};
  for (guint i = 0; i < G_N_ELEMENTS(sizes); i++) {
    GstBuffer *buf = gst_buffer_new();
    GstUfoResults *r = gst_ufo_results_new(sizes[i][0], sizes[i][1]);
    gst_ufo_results_add_object(r, 1, "blob", 0.9f, 1, 1, 2, 2);
    const guint8 px[4] = {255, 255, 255, 255};
    const GstUfoRect rect = {1, 1, 2, 2};
    GBytes *bytes = g_bytes_new(px, sizeof px);
    fail_unless(gst_ufo_results_set_mask(r, 0, bytes, 2, 2, 2, &rect));
    g_bytes_unref(bytes);
    gst_buffer_add_ufo_meta(buf, r, 1, "instance", TRUE, 0);
    gst_ufo_results_unref(r);
    const UfoJsonOptions opts = {.masks = TRUE, .mask_threshold = 0.5};
    gchar *line = ufo_dump_frame_json_with(buf, sizes[i][0], sizes[i][1], NULL, NULL, &opts);
    JsonNode *root = json_from_string(line, NULL);
    fail_unless(root != NULL, "not JSON: %s", line);
    json_node_unref(root);
    fail_if(strstr(line, "mask_rle"), "%s", line);
    g_free(line);
    gst_buffer_unref(buf);
  }
}
GST_END_TEST;

/* pycocotools' rleFrString, written again: the counts of a compressed string */
static GArray *rle_decode(const gchar *str)
{
  GArray *counts = g_array_new(FALSE, FALSE, sizeof(gint64));
  for (const gchar *p = str; *p;) {
    gint64 x = 0;
    gint k = 0, more = 1;
    while (more) {
      const gint c = *p++ - 48;
      x |= (gint64)(c & 0x1f) << (5 * k);
      more = c & 0x20;
      k++;
      if (!more && (c & 0x10))
        x |= -((gint64)1 << (5 * k)); /* sign-extend */
    }
    if (counts->len > 2)
      x += g_array_index(counts, gint64, counts->len - 2);
    g_array_append_val(counts, x);
  }
  return counts;
}

/* The binary mask of a compressed string for an fw x fh frame, column-major (pixel (x, y) at
 * x * fh + y); the runs must cover the frame exactly. */
static guint8 *rle_pixels(const GString *str, gint fw, gint fh)
{
  GArray *runs = rle_decode(str->str);
  guint8 *px = g_new0(guint8, (gsize)fw * fh);
  gint64 at = 0;
  for (guint k = 0; k < runs->len; k++) {
    const gint64 n = g_array_index(runs, gint64, k);
    fail_unless(n >= 0 && at + n <= (gint64)fw * fh, "runs past the frame");
    if (k % 2)
      memset(px + at, 1, (gsize)n);
    at += n;
  }
  fail_unless(at == (gint64)fw * fh, "runs end before the frame does");
  g_array_unref(runs);
  return px;
}

/* random masks, rectangles (scaled, off the frame, empty) and thresholds: the decoded string
 * gives, pixel by pixel in column-major order, the nearest-byte rule computed directly */
GST_START_TEST(test_mask_rle_random)
{
  GRand *rand = g_rand_new_with_seed(7);
  for (gint it = 0; it < 300; it++) {
    const gint mw = g_rand_int_range(rand, 1, 12), mh = g_rand_int_range(rand, 1, 12);
    const gint stride = mw + g_rand_int_range(rand, 0, 4);
    const gint fw = g_rand_int_range(rand, 1, 24), fh = g_rand_int_range(rand, 1, 24);
    GstUfoRect rect = {
        (gfloat)g_rand_double_range(rand, -8, fw), (gfloat)g_rand_double_range(rand, -8, fh),
        (gfloat)g_rand_double_range(rand, 0, 30), (gfloat)g_rand_double_range(rand, 0, 30)};
    if (it % 10 == 0) /* whole pixels at 1:1, as the elements attach them */
      rect = (GstUfoRect){(gfloat)g_rand_int_range(rand, -3, fw),
                          (gfloat)g_rand_int_range(rand, -3, fh), (gfloat)mw, (gfloat)mh};
    if (it % 37 == 0)
      rect.w = 0; /* an empty rectangle: nothing inside */
    guint8 *d = g_malloc((gsize)stride * mh);
    const gboolean sparse = it % 3 == 0; /* long runs */
    for (gint k = 0; k < stride * mh; k++)
      d[k] = (guint8)(sparse ? (g_rand_int_range(rand, 0, 8) ? 0 : 255)
                             : g_rand_int_range(rand, 0, 256));
    const guint from = (guint)g_rand_int_range(rand, 0, 257); /* 256: nothing is inside */
    GArray *counts = ufo_mask_rle_counts(d, mw, mh, stride, &rect, fw, fh, from);
    GString *str = g_string_new(NULL);
    ufo_mask_rle_append_string(str, counts);
    guint8 *px = rle_pixels(str, fw, fh);
    for (gint x = 0; x < fw; x++)
      for (gint y = 0; y < fh; y++) {
        const gdouble tx = (x + 0.5 - rect.x) * mw / rect.w, ty = (y + 0.5 - rect.y) * mh / rect.h;
        const gboolean on = rect.w > 0 && rect.h > 0 && tx >= 0 && tx < mw && ty >= 0 && ty < mh &&
                            d[(gint)ty * stride + (gint)tx] >= from;
        fail_unless(px[x * fh + y] == on, "case %d: pixel %d,%d", it, x, y);
      }
    g_free(px);
    g_string_free(str, TRUE);
    g_array_unref(counts);
    g_free(d);
  }
  g_rand_free(rand);
  /* the threshold's byte, as ufooverlay: ceil(t · 255) */
  fail_unless_equals_int(ufo_mask_rle_inside_from(0.5), 128);
  fail_unless_equals_int(ufo_mask_rle_inside_from(0.0), 0);
  fail_unless_equals_int(ufo_mask_rle_inside_from(1.0), 255);
  fail_unless_equals_int(ufo_mask_rle_inside_from(0.2), 51);
}
GST_END_TEST;

/* class maps (GRAY8, GRAY16_LE): every class's runs decoded again give, pixel by pixel, the
 * pixels whose nearest map id is that class; together they cover the map's pixels once */
GST_START_TEST(test_class_rle_random)
{
  GRand *rand = g_rand_new_with_seed(11);
  for (gint it = 0; it < 200; it++) {
    const gboolean gray16 = it % 2;
    const gint bpp = gray16 ? 2 : 1;
    const gint mw = g_rand_int_range(rand, 1, 10), mh = g_rand_int_range(rand, 1, 10);
    const gint stride = mw * bpp + g_rand_int_range(rand, 0, 3);
    const gint fw = g_rand_int_range(rand, 1, 20), fh = g_rand_int_range(rand, 1, 20);
    GstUfoRect rect = {(gfloat)g_rand_double_range(rand, -5, fw / 2.0),
                       (gfloat)g_rand_double_range(rand, -5, fh / 2.0),
                       (gfloat)g_rand_double_range(rand, 1, 30),
                       (gfloat)g_rand_double_range(rand, 1, 30)};
    const guint n_ids = it % 3 == 0 ? 2 : 5; /* ids below 5, or 300 + below 2 in GRAY16 */
    guint8 *d = g_malloc((gsize)stride * mh);
    for (gint k = 0; k < stride * mh; k++)
      d[k] = 0xee; /* padding */
    for (gint y = 0; y < mh; y++)
      for (gint x = 0; x < mw; x++) {
        const guint id = g_rand_int_range(rand, 0, n_ids) + (gray16 ? 300 : 0);
        guint8 *p = d + y * stride + x * bpp;
        p[0] = (guint8)(id & 0xff);
        if (gray16)
          p[1] = (guint8)(id >> 8);
      }
    GArray *classes = ufo_class_rle(d, gray16, mw, mh, stride, &rect, fw, fh);
    gint *covered = g_new0(gint, fw * fh);
    guint prev_id = 0;
    for (guint c = 0; c < classes->len; c++) {
      const UfoClassRle *cr = &g_array_index(classes, UfoClassRle, c);
      fail_unless(c == 0 || cr->class_id > prev_id, "ids not increasing");
      prev_id = cr->class_id;
      GString *str = g_string_new(NULL);
      ufo_mask_rle_append_string(str, cr->counts);
      guint8 *px = rle_pixels(str, fw, fh);
      guint64 area = 0;
      for (gint x = 0; x < fw; x++)
        for (gint y = 0; y < fh; y++) {
          const gdouble tx = (x + 0.5 - rect.x) * mw / rect.w,
                        ty = (y + 0.5 - rect.y) * mh / rect.h;
          gint id = -1;
          if (tx >= 0 && tx < mw && ty >= 0 && ty < mh) {
            const guint8 *p = d + (gint)ty * stride + (gint)tx * bpp;
            id = gray16 ? p[0] | p[1] << 8 : p[0];
          }
          const guint8 value = px[x * fh + y];
          fail_unless(value == (id == (gint)cr->class_id), "case %d class %u: pixel %d,%d", it,
                      cr->class_id, x, y);
          covered[x * fh + y] += value;
          area += value;
        }
      fail_unless_equals_int(area, cr->area);
      g_free(px);
      g_string_free(str, TRUE);
    }
    /* every pixel on the map is in one class, every pixel off it in none */
    for (gint x = 0; x < fw; x++)
      for (gint y = 0; y < fh; y++) {
        const gdouble tx = (x + 0.5 - rect.x) * mw / rect.w, ty = (y + 0.5 - rect.y) * mh / rect.h;
        const gboolean on = tx >= 0 && tx < mw && ty >= 0 && ty < mh;
        fail_unless_equals_int(covered[x * fh + y], on ? 1 : 0);
      }
    g_free(covered);
    ufo_class_rle_free(classes);
    g_free(d);
  }
  g_rand_free(rand);
}
GST_END_TEST;

/* a semantic map's classes in the producer's entry: "semantic":[{label_id, label, area,
 * mask_rle}] by id, names from the meta; only with the option */
GST_START_TEST(test_semantic_json)
{
  GstBuffer *buf = gst_buffer_new();
  GstUfoResults *r = gst_ufo_results_new(4, 2);
  const guint8 map[8] = {0, 0, 2, 2, 0, 2, 2, 7}; /* 4x2; id 7 has no name */
  const gchar *names[] = {"sky", "road", "car", NULL};
  const GstUfoRect rect = {0, 0, 4, 2};
  GBytes *bytes = g_bytes_new(map, sizeof map);
  fail_unless(
      gst_ufo_results_set_semantic_map(r, GST_VIDEO_FORMAT_GRAY8, bytes, 4, 2, 4, &rect, names));
  g_bytes_unref(bytes);
  gst_buffer_add_ufo_meta(buf, r, 3, "semantic", TRUE, 0);
  gst_ufo_results_unref(r);
  const UfoJsonOptions opts = {.masks = TRUE, .mask_threshold = 0.5};
  gchar *line = ufo_dump_frame_json_with(buf, 4, 2, NULL, NULL, &opts);
  JsonNode *root = json_from_string(line, NULL);
  fail_unless(root != NULL, "not JSON: %s", line);
  JsonObject *u = json_array_get_object_element(
      json_object_get_array_member(json_node_get_object(root), "ufo"), 0);
  JsonArray *sem = json_object_get_array_member(u, "semantic");
  fail_unless_equals_int(json_array_get_length(sem), 3);
  /* column-major: sky (0) at pixels 0,1,2 then off; car (2) at 3,4,5,6; 7 at the last */
  const gint64 want_id[3] = {0, 2, 7}, want_area[3] = {3, 4, 1};
  const gchar *want_label[3] = {"sky", "car", NULL};
  const gchar *want_counts[3] = {"035", "341", "71"}; /* pycocotools.mask.encode */
  for (guint k = 0; k < 3; k++) {
    JsonObject *c = json_array_get_object_element(sem, k);
    fail_unless_equals_int(json_object_get_int_member(c, "label_id"), want_id[k]);
    fail_unless_equals_int(json_object_get_int_member(c, "area"), want_area[k]);
    if (want_label[k]) {
      fail_unless_equals_string(json_object_get_string_member(c, "label"), want_label[k]);
    } else {
      fail_unless(json_object_get_null_member(c, "label"));
    }
    JsonObject *rle = json_object_get_object_member(c, "mask_rle");
    fail_unless_equals_string(json_object_get_string_member(rle, "counts"), want_counts[k]);
  }
  json_node_unref(root);
  g_free(line);
  line = ufo_dump_frame_json(buf, 4, 2, NULL, NULL);
  fail_if(strstr(line, "\"semantic\":["), "%s", line);
  g_free(line);
  gst_buffer_unref(buf);
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
  tcase_add_test(tc, test_mask_rle_golden);
  tcase_add_test(tc, test_mask_rle_random);
  tcase_add_test(tc, test_class_rle_random);
  tcase_add_test(tc, test_semantic_json);
  tcase_add_test(tc, test_mask_rle_frame_limits);
  return s;
}

GST_CHECK_MAIN(dump);
