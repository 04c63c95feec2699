/* ufometaconvert: JSON documents (gst/ufojson.c, shared with ufo-dump) to a file and the bus,
 * track ids included; empty frames; start errors for bad tags and unwritable files. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/ufo/ufometa.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "gstufotest.h"

#define CAPS "video/x-raw,format=RGB,width=100,height=50,framerate=30/1"

static GstBuffer *tracked_frame(gint k, gboolean with_objects)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 100 * 50 * 3, NULL);
  GST_BUFFER_PTS(buf) = k * GST_MSECOND;
  GstUfoResults *r = gst_ufo_results_new(100, 50);
  if (with_objects) {
    gst_ufo_results_add_object(r, 1, "car", 0.8f, 10, 10, 20, 10);
    gst_ufo_results_set_track_id(r, 0, 3);
  }
  gst_ufo_results_add_roi_metas(r, buf, 1, NULL);
  gst_buffer_add_ufo_meta(buf, r, 1, "detection", TRUE, GST_BUFFER_PTS(buf));
  gst_ufo_results_unref(r);
  return buf;
}

static void check_doc(const gchar *json, gint64 ts)
{
  JsonNode *root = json_from_string(json, NULL);
  fail_unless(root != NULL, "not JSON: %s", json);
  JsonObject *o = json_node_get_object(root);
  JsonObject *o0 = json_array_get_object_element(json_object_get_array_member(o, "objects"), 0);
  fail_unless_equals_int(json_object_get_int_member(o0, "object_id"), 3);
  fail_unless_equals_string(json_object_get_string_member(o0, "roi_type"), "car");
  fail_unless_equals_int(json_object_get_int_member(o, "timestamp"), ts);
  fail_unless_equals_string(json_object_get_string_member(o, "source"), "cam1");
  fail_unless_equals_string(
      json_object_get_string_member(json_object_get_object_member(o, "tags"), "site"), "gate");
  JsonObject *res = json_object_get_object_member(o, "resolution");
  fail_unless_equals_int(json_object_get_int_member(res, "width"), 100);
  json_node_unref(root);
}

GST_START_TEST(test_file_and_messages)
{
  gchar *dir = g_dir_make_tmp("ufometaconvert-XXXXXX", NULL);
  gchar *path = g_build_filename(dir, "out.jsonl", NULL);
  gchar *desc = g_strdup_printf(
      "ufometaconvert location=%s source=cam1 tags=\"{\\\"site\\\":\\\"gate\\\"}\"", path);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, CAPS);
  /* frames 0 and 2 have a tracked object; frame 1 has nothing and is skipped */
  for (gint k = 0; k < 3; k++) {
    GstBuffer *in = tracked_frame(k, k != 1);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    fail_unless(out == in); /* passthrough */
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
  gchar *text = NULL;
  fail_unless(g_file_get_contents(path, &text, NULL, NULL));
  gchar **lines = g_strsplit(g_strchomp(text), "\n", -1);
  fail_unless_equals_int(g_strv_length(lines), 2);
  check_doc(lines[0], 0);
  check_doc(lines[1], 2 * GST_MSECOND);
  /* the same documents on the bus */
  for (gint k = 0; k < 2; k++) {
    GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
    fail_unless(msg != NULL);
    const GstStructure *s = gst_message_get_structure(msg);
    fail_unless(gst_structure_has_name(s, "ufometaconvert"));
    fail_unless_equals_string(gst_structure_get_string(s, "json"), lines[k]);
    gst_message_unref(msg);
  }
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT) == NULL);
  gst_object_unref(bus);
  g_strfreev(lines);
  g_free(text);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
}
GST_END_TEST;

GST_START_TEST(test_empty_results)
{
  GstHarness *h = gst_harness_new_parse("ufometaconvert add-empty-results=true");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, CAPS);
  gst_buffer_unref(gst_harness_push_and_pull(h, tracked_frame(0, FALSE)));
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  fail_unless(msg != NULL);
  JsonNode *root =
      json_from_string(gst_structure_get_string(gst_message_get_structure(msg), "json"), NULL);
  fail_unless_equals_int(
      json_array_get_length(json_object_get_array_member(json_node_get_object(root), "objects")),
      0);
  json_node_unref(root);
  gst_message_unref(msg);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

/* add-masks: the instance mask as "mask_rle" (COCO RLE of the 100x50 frame; the strings are
 * pycocotools' mask.encode of the same masks), its threshold changed while playing */
static gchar *masked_doc(GstHarness *h, GstBus *bus)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 100 * 50 * 3, NULL);
  GstUfoResults *r = gst_ufo_results_new(100, 50);
  gst_ufo_results_add_object(r, 1, "car", 0.8f, 10, 10, 4, 3);
  guint8 px[12];
  memset(px, 255, sizeof px);
  px[1 * 4 + 2] = 254; /* inside from threshold 0.5, outside at 1.0 */
  const GstUfoRect rect = {10, 10, 4, 3};
  GBytes *bytes = g_bytes_new(px, sizeof px);
  fail_unless(gst_ufo_results_set_mask(r, 0, bytes, 4, 3, 4, &rect));
  g_bytes_unref(bytes);
  gst_buffer_add_ufo_meta(buf, r, 1, "instance", TRUE, 0);
  gst_ufo_results_unref(r);
  gst_buffer_unref(gst_harness_push_and_pull(h, buf));
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  fail_unless(msg != NULL);
  gchar *json = g_strdup(gst_structure_get_string(gst_message_get_structure(msg), "json"));
  gst_message_unref(msg);
  return json;
}

static const gchar *mask_counts(JsonNode *root)
{
  JsonObject *o0 = json_array_get_object_element(
      json_object_get_array_member(json_node_get_object(root), "objects"), 0);
  if (!json_object_has_member(o0, "mask_rle"))
    return NULL;
  JsonObject *rle = json_object_get_object_member(o0, "mask_rle");
  JsonArray *size = json_object_get_array_member(rle, "size");
  fail_unless_equals_int(json_array_get_int_element(size, 0), 50);
  fail_unless_equals_int(json_array_get_int_element(size, 1), 100);
  return json_object_get_string_member(rle, "counts");
}

GST_START_TEST(test_masks)
{
  GstHarness *h = gst_harness_new("ufometaconvert");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, CAPS);
  const gchar *want[] = {NULL, "n?3_100000RV4", "n?3_100NbN0^12RV4"};
  for (gint step = 0; step < 3; step++) {
    if (step == 1)
      g_object_set(h->element, "add-masks", TRUE, NULL); /* threshold 0.5 by default */
    if (step == 2)
      g_object_set(h->element, "mask-threshold", 1.0, NULL);
    gchar *json = masked_doc(h, bus);
    JsonNode *root = json_from_string(json, NULL);
    fail_unless(root != NULL, "not JSON: %s", json);
    const gchar *counts = mask_counts(root);
    if (want[step]) {
      fail_unless(counts != NULL, "%s", json);
      fail_unless_equals_string(counts, want[step]);
    } else {
      fail_unless(counts == NULL, "%s", json);
    }
    json_node_unref(root);
    g_free(json);
  }
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

static void check_start_error(const gchar *desc, GQuark domain, gint code)
{
  GstElement *pipeline = gst_parse_launch(desc, NULL);
  fail_unless(pipeline != NULL);
  GstStateChangeReturn ret;
  GstMessage *msg = gst_ufo_test_state_error(pipeline, GST_STATE_PAUSED, &ret);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
  fail_unless(msg != NULL);
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(g_error_matches(err, domain, code), "%s", err->message);
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

GST_START_TEST(test_start_errors)
{
  check_start_error("videotestsrc ! ufometaconvert tags=\"[1,2]\" ! fakesink", GST_RESOURCE_ERROR,
                    GST_RESOURCE_ERROR_SETTINGS);
  check_start_error("videotestsrc ! ufometaconvert location=/nonexistent-dir/x.jsonl ! fakesink",
                    GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE);
}
GST_END_TEST;

static Suite *metaconvert_suite(void)
{
  Suite *s = suite_create("ufometaconvert");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_file_and_messages);
  tcase_add_test(tc, test_empty_results);
  tcase_add_test(tc, test_start_errors);
  tcase_add_test(tc, test_masks);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(metaconvert_suite(), "ufometaconvert", __FILE__);
}
