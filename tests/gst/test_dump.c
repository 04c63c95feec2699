/* tools/ufo-dump: one JSON line per frame in the gvametaconvert layout. */
#include <gst/check/gstcheck.h>
#include <gst/ufo/ufometa.h>

#include <string.h>
#include <sys/wait.h>

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
  tcase_add_test(tc, test_cli_not_a_pipeline);
  return s;
}

GST_CHECK_MAIN(dump);
