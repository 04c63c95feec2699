/* ufoanalytics: properties, GstUfoAnalyticsMeta and bus messages on hand-made tracked results,
 * reset on flush / stream start (and reset-on-flush=false), config files and their errors, the
 * meta through copy and scale, ufometaconvert's JSON of it, ufooverlay drawing it; and
 * ufodetect ! ufotrack ! ufoanalytics with the demo model when it is in the tree. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/ufo/ufoanalyticsmeta.h>
#include <gst/ufo/ufometa.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "gstufotest.h"

#define W 320
#define H 240
#define CAPS "video/x-raw,format=RGB,width=320,height=240,framerate=30/1"

typedef struct {
  gfloat cx, bottom; /* anchor (bottom centre) of a 20×20 box */
  guint64 track_id;
} Obj;

/* A frame whose detection results (producer 1) are the given tracked objects. */
static GstBuffer *frame_with(gint index, const Obj *objs, guint n)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, W * H * 3, NULL);
  gst_buffer_memset(buf, 0, 0, W * H * 3);
  GST_BUFFER_PTS(buf) = index * (GST_SECOND / 30);
  GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
  GstUfoResults *r = gst_ufo_results_new(W, H);
  for (guint i = 0; i < n; i++) {
    guint k = gst_ufo_results_add_object(r, i % 2, i % 2 ? "car" : "person", 0.9f, objs[i].cx - 10,
                                         objs[i].bottom - 20, 20, 20);
    gst_ufo_results_set_track_id(r, k, objs[i].track_id);
  }
  gst_buffer_add_ufo_meta(buf, r, 1, "detection", TRUE, GST_BUFFER_PTS(buf));
  gst_ufo_results_unref(r);
  return buf;
}

static GstHarness *analytics_harness(const gchar *props, GstBus **bus)
{
  gchar *desc = g_strdup_printf("ufoanalytics %s", props ? props : "");
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  *bus = gst_bus_new();
  gst_element_set_bus(h->element, *bus);
  gst_harness_set_src_caps_str(h, CAPS);
  return h;
}

/* Rule @name of the meta on @buf. */
static GstUfoAnalyticsRule rule_of(GstBuffer *buf, const gchar *name)
{
  GstUfoAnalyticsMeta *m = gst_buffer_get_ufo_analytics_meta(buf);
  fail_unless(m != NULL);
  GstUfoAnalyticsRule r;
  for (guint i = 0; gst_ufo_analytics_meta_get_rule(m, i, &r); i++)
    if (!strcmp(r.name, name))
      return r;
  fail("no rule %s", name);
  return r;
}

/* The next ufoanalytics message, or NULL. */
static GstMessage *next_message(GstBus *bus)
{
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  if (msg)
    fail_unless(gst_message_has_name(msg, "ufoanalytics"));
  return msg;
}

GST_START_TEST(test_properties)
{
  GstElement *e = gst_element_factory_make("ufoanalytics", NULL);
  fail_unless(e != NULL);
  const gchar *names[] = {"lines",       "zones",         "config",         "anchor",
                          "post-counts", "post-messages", "reset-on-flush", "unique-id"};
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), names[i]);
    fail_unless(ps != NULL, "no property %s", names[i]);
    fail_unless(ps->flags & G_PARAM_STATIC_STRINGS);
    fail_unless(strlen(g_param_spec_get_blurb(ps)) > 10);
  }
  gchar *lines, *zones, *config;
  gint anchor, uid;
  gboolean counts, messages, reset;
  g_object_get(e, "lines", &lines, "zones", &zones, "config", &config, "anchor", &anchor,
               "post-counts", &counts, "post-messages", &messages, "reset-on-flush", &reset,
               "unique-id", &uid, NULL);
  fail_unless(lines == NULL && zones == NULL && config == NULL);
  fail_unless_equals_int(anchor, 0);
  fail_unless(!counts && messages && reset);
  fail_unless_equals_int(uid, -1);
  /* every anchor value by its nick */
  const gchar *nicks[] = {"bottom-center", "center"};
  for (guint i = 0; i < G_N_ELEMENTS(nicks); i++) {
    gst_util_set_object_arg(G_OBJECT(e), "anchor", nicks[i]);
    g_object_get(e, "anchor", &anchor, NULL);
    fail_unless_equals_int(anchor, (gint)i);
  }
  gst_object_unref(e);
}
GST_END_TEST;

/* Track 1 walks down across "door" (in) and into "lot"; track 2 walks up across it (out);
 * an untracked object stands in "lot" all along. */
static void push_scene(GstHarness *h, gint first_index, GstBus *bus, gboolean expect_first)
{
  const Obj f0[] = {{150, 180, 1}, {250, 220, 2}, {60, 230, 0}};
  const Obj f1[] = {{150, 220, 1}, {250, 180, 2}, {60, 230, 0}};
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with(first_index, f0, 3));
  GstUfoAnalyticsRule door = rule_of(out, "door"), lot = rule_of(out, "lot");
  fail_unless_equals_int(door.kind, GST_UFO_ANALYTICS_RULE_LINE);
  fail_unless_equals_int(door.n_points, 2);
  fail_unless_equals_float(door.points[2], 300);
  fail_unless_equals_uint64(door.total_in + door.total_out, 0);
  fail_unless_equals_int(lot.kind, GST_UFO_ANALYTICS_RULE_ZONE);
  fail_unless_equals_int(lot.occupancy, 1);
  fail_unless_equals_int(
      gst_ufo_analytics_meta_get_n_events(gst_buffer_get_ufo_analytics_meta(out)), 0);
  gst_buffer_unref(out);
  GstMessage *msg = next_message(bus);
  fail_unless(expect_first == (msg != NULL));
  if (msg)
    gst_message_unref(msg);

  out = gst_harness_push_and_pull(h, frame_with(first_index + 1, f1, 3));
  door = rule_of(out, "door");
  lot = rule_of(out, "lot");
  fail_unless_equals_uint64(door.total_in, 1);
  fail_unless_equals_uint64(door.total_out, 1);
  fail_unless_equals_int(door.frame_in, 1);
  fail_unless_equals_int(lot.occupancy, 2);
  fail_unless_equals_uint64(lot.total_in, 1);
  GstUfoAnalyticsMeta *m = gst_buffer_get_ufo_analytics_meta(out);
  fail_unless_equals_int(gst_ufo_analytics_meta_get_n_events(m), 3);
  GstUfoAnalyticsEvent e;
  fail_unless(gst_ufo_analytics_meta_get_event(m, 0, &e));
  fail_unless_equals_int(e.type, GST_UFO_ANALYTICS_EVENT_LINE_CROSSED);
  fail_unless_equals_uint64(e.track_id, 1);
  fail_unless_equals_int(e.direction, 1);
  fail_unless_equals_string(e.label, "person");
  fail_unless(gst_ufo_analytics_meta_get_event(m, 1, &e));
  fail_unless_equals_int(e.type, GST_UFO_ANALYTICS_EVENT_ZONE_ENTERED);
  fail_unless_equals_uint64(e.track_id, 1);
  fail_unless(gst_ufo_analytics_meta_get_event(m, 2, &e));
  fail_unless_equals_int(e.type, GST_UFO_ANALYTICS_EVENT_LINE_CROSSED);
  fail_unless_equals_uint64(e.track_id, 2);
  fail_unless_equals_int(e.direction, -1);
  fail_unless_equals_string(e.label, "car");
  gst_buffer_unref(out);

  msg = next_message(bus);
  fail_unless(msg != NULL);
  const GstStructure *s = gst_message_get_structure(msg);
  guint64 ts;
  fail_unless(gst_structure_get_uint64(s, "timestamp", &ts));
  fail_unless_equals_uint64(ts, (first_index + 1) * (GST_SECOND / 30));
  const GValue *events = gst_structure_get_value(s, "events");
  fail_unless(events && GST_VALUE_HOLDS_ARRAY(events));
  fail_unless_equals_int(gst_value_array_get_size(events), 3);
  const GstStructure *ev = gst_value_get_structure(gst_value_array_get_value(events, 0));
  fail_unless(gst_structure_has_name(ev, "line-crossed"));
  fail_unless_equals_string(gst_structure_get_string(ev, "rule"), "door");
  fail_unless_equals_string(gst_structure_get_string(ev, "direction"), "in");
  fail_unless_equals_string(gst_structure_get_string(ev, "label"), "person");
  guint64 tid, pts;
  fail_unless(gst_structure_get_uint64(ev, "track_id", &tid) && tid == 1);
  fail_unless(gst_structure_get_uint64(ev, "pts", &pts) && pts == ts);
  ev = gst_value_get_structure(gst_value_array_get_value(events, 1));
  fail_unless(gst_structure_has_name(ev, "zone-entered"));
  fail_unless_equals_string(gst_structure_get_string(ev, "rule"), "lot");
  fail_unless(!gst_structure_has_field(ev, "direction"));
  ev = gst_value_get_structure(gst_value_array_get_value(events, 2));
  fail_unless_equals_string(gst_structure_get_string(ev, "direction"), "out");
  const GValue *counts = gst_structure_get_value(s, "counts");
  if (expect_first) { /* post-counts */
    fail_unless(counts && gst_value_array_get_size(counts) == 2);
    const GstStructure *c = gst_value_get_structure(gst_value_array_get_value(counts, 0));
    guint64 in, outn;
    fail_unless(gst_structure_has_name(c, "line"));
    fail_unless(gst_structure_get_uint64(c, "in", &in) && in == 1);
    fail_unless(gst_structure_get_uint64(c, "out", &outn) && outn == 1);
    c = gst_value_get_structure(gst_value_array_get_value(counts, 1));
    guint occ;
    fail_unless(gst_structure_has_name(c, "zone"));
    fail_unless(gst_structure_get_uint(c, "occupancy", &occ) && occ == 2);
  } else {
    fail_unless(counts == NULL);
  }
  gst_message_unref(msg);
}

#define RULES "lines=\"door:100,200,300,200\" zones=\"lot:0,200,200,200,200,239,0,239\""

GST_START_TEST(test_meta_and_messages)
{
  GstBus *bus;
  GstHarness *h = analytics_harness(RULES, &bus);
  push_scene(h, 0, bus, FALSE);
  fail_unless(next_message(bus) == NULL);
  gst_harness_teardown(h);
  gst_object_unref(bus);

  h = analytics_harness(RULES " post-counts=true", &bus);
  push_scene(h, 0, bus, TRUE);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

static void flush(GstHarness *h)
{
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
}

GST_START_TEST(test_reset)
{
  GstBus *bus;
  GstHarness *h = analytics_harness(RULES, &bus);
  push_scene(h, 0, bus, FALSE);
  /* after a flush the counts start again and the tracks are new (no crossing on frame 0) */
  flush(h);
  push_scene(h, 10, bus, FALSE);
  gst_harness_push_event(h, gst_event_new_stream_start("second"));
  push_scene(h, 20, bus, FALSE);
  gst_harness_teardown(h);
  gst_object_unref(bus);

  /* reset-on-flush=false: the counts go on */
  h = analytics_harness(RULES " reset-on-flush=false", &bus);
  push_scene(h, 0, bus, FALSE);
  flush(h);
  const Obj f1[] = {{150, 220, 1}, {250, 180, 2}, {60, 230, 0}};
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with(5, f1, 3));
  fail_unless_equals_uint64(rule_of(out, "door").total_in, 1);
  fail_unless_equals_uint64(rule_of(out, "lot").total_in, 1);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

GST_START_TEST(test_classes)
{
  GstBus *bus;
  GstHarness *h = analytics_harness(
      "lines=\"cars:100,200,300,200:car\" zones=\"all:0,0,319,0,319,239,0,239:1\"", &bus);
  /* a buffer without results still gets the rules, with zero occupancy */
  GstBuffer *out = gst_harness_push_and_pull(h, gst_buffer_new_allocate(NULL, W * H * 3, NULL));
  fail_unless_equals_int(rule_of(out, "all").occupancy, 0);
  gst_buffer_unref(out);
  const Obj f0[] = {{150, 180, 1}, {250, 220, 2}, {60, 230, 0}};
  const Obj f1[] = {{150, 220, 1}, {250, 180, 2}, {60, 230, 0}};
  gst_buffer_unref(gst_harness_push_and_pull(h, frame_with(0, f0, 3)));
  out = gst_harness_push_and_pull(h, frame_with(1, f1, 3));
  /* only track 2 (car) counts on "cars"; only label id 1 (car) is in "all" */
  fail_unless_equals_uint64(rule_of(out, "cars").total_in, 0);
  fail_unless_equals_uint64(rule_of(out, "cars").total_out, 1);
  fail_unless_equals_int(rule_of(out, "all").occupancy, 1);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

static GstMessage *start_error(const gchar *props)
{
  gchar *desc = g_strdup_printf("fakesrc num-buffers=1 ! ufoanalytics %s ! fakesink", props);
  GstElement *p = gst_parse_launch(desc, NULL);
  g_free(desc);
  fail_unless(p != NULL);
  GstStateChangeReturn ret;
  GstMessage *msg = gst_ufo_test_state_error(p, GST_STATE_PAUSED, &ret);
  fail_unless(msg != NULL, "no error for %s", props);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return msg;
}

static void expect_start_error(const gchar *props, GQuark domain, gint code, const gchar *needle)
{
  GstMessage *msg = start_error(props);
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(err->domain == domain && err->code == code, "%s: %s", props, err->message);
  fail_unless(strstr(err->message, needle), "%s: %s / %s", props, err->message, dbg);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
}

GST_START_TEST(test_errors_and_config)
{
  expect_start_error("lines=\"door:1,2,3\"", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                     "lines entry 1 \"door:1,2,3\"");
  expect_start_error("zones=\"z:0,0,1,0\"", GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS,
                     "3 or more");
  expect_start_error("config=/nonexistent/ufoanalytics.json", GST_RESOURCE_ERROR,
                     GST_RESOURCE_ERROR_NOT_FOUND, "/nonexistent/ufoanalytics.json");
  gchar *path = NULL;
  gint fd = g_file_open_tmp("ufoanalytics-XXXXXX.json", &path, NULL);
  fail_unless(fd >= 0);
  close(fd);
  fail_unless(
      g_file_set_contents(path, "{\"lines\":[{\"name\":\"d\",\"points\":[1,2]}]}", -1, NULL));
  gchar *props = g_strdup_printf("config=%s", path);
  expect_start_error(props, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "lines[0]");
  g_free(props);

  /* a valid JSON config gives the same results as the properties */
  fail_unless(g_file_set_contents(
      path,
      "{\"lines\":[{\"name\":\"door\",\"points\":[[100,200],[300,200]]}],"
      "\"zones\":[{\"name\":\"lot\",\"points\":[0,200,200,200,200,239,0,239]}]}",
      -1, NULL));
  props = g_strdup_printf("config=%s post-counts=true", path);
  GstBus *bus;
  GstHarness *h = analytics_harness(props, &bus);
  push_scene(h, 0, bus, TRUE);
  gst_harness_teardown(h);
  gst_object_unref(bus);
  g_free(props);
  g_unlink(path);
  g_free(path);
}
GST_END_TEST;

GST_START_TEST(test_meta_copy_scale_and_json)
{
  GstBus *bus;
  GstHarness *h = analytics_harness(RULES, &bus);
  const Obj f0[] = {{150, 180, 1}, {250, 220, 2}, {60, 230, 0}};
  const Obj f1[] = {{150, 220, 1}, {250, 180, 2}, {60, 230, 0}};
  gst_buffer_unref(gst_harness_push_and_pull(h, frame_with(0, f0, 3)));
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with(1, f1, 3));
  gst_harness_teardown(h);
  gst_object_unref(bus);

  GstBuffer *copy = gst_buffer_copy(out);
  GstUfoAnalyticsMeta *m = gst_buffer_get_ufo_analytics_meta(copy);
  fail_unless(m && gst_ufo_analytics_meta_get_n_rules(m) == 2 &&
              gst_ufo_analytics_meta_get_n_events(m) == 3);
  gst_buffer_unref(copy);

  /* scale 320x240 → 160x120 */
  GstVideoInfo in_info, out_info;
  gst_video_info_set_format(&in_info, GST_VIDEO_FORMAT_RGB, W, H);
  gst_video_info_set_format(&out_info, GST_VIDEO_FORMAT_RGB, W / 2, H / 2);
  GstVideoMetaTransform t = {&in_info, &out_info};
  GstBuffer *scaled = gst_buffer_new();
  GstMeta *src = (GstMeta *)gst_buffer_get_ufo_analytics_meta(out);
  fail_unless(
      src->info->transform_func(scaled, src, out, gst_video_meta_transform_scale_get_quark(), &t));
  m = gst_buffer_get_ufo_analytics_meta(scaled);
  fail_unless(m && m->width == W / 2 && m->height == H / 2);
  GstUfoAnalyticsRule r;
  fail_unless(gst_ufo_analytics_meta_get_rule(m, 0, &r));
  fail_unless_equals_float(r.points[0], 50);
  fail_unless_equals_float(r.points[1], 100);
  fail_unless_equals_uint64(r.total_in, 1);
  gst_buffer_unref(scaled);

  /* ufometaconvert: "analytics" with rules, counts and events */
  h = gst_harness_new("ufometaconvert");
  bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, CAPS);
  gst_buffer_unref(gst_harness_push_and_pull(h, out));
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT);
  fail_unless(msg != NULL);
  const gchar *json = gst_structure_get_string(gst_message_get_structure(msg), "json");
  JsonParser *parser = json_parser_new();
  fail_unless(json_parser_load_from_data(parser, json, -1, NULL));
  JsonObject *root = json_node_get_object(json_parser_get_root(parser));
  JsonArray *an = json_object_get_array_member(root, "analytics");
  fail_unless(an && json_array_get_length(an) == 1, "%s", json);
  JsonObject *a0 = json_array_get_object_element(an, 0);
  fail_unless_equals_int(json_object_get_int_member(a0, "version"), 1);
  JsonArray *rules = json_object_get_array_member(a0, "rules");
  fail_unless_equals_int(json_array_get_length(rules), 2);
  JsonObject *door = json_array_get_object_element(rules, 0);
  fail_unless_equals_string(json_object_get_string_member(door, "type"), "line");
  fail_unless_equals_int(json_object_get_int_member(door, "in"), 1);
  fail_unless_equals_int(json_object_get_int_member(door, "out"), 1);
  JsonObject *lot = json_array_get_object_element(rules, 1);
  fail_unless_equals_int(json_object_get_int_member(lot, "occupancy"), 2);
  fail_unless_equals_int(json_object_get_int_member(lot, "entered"), 1);
  JsonArray *events = json_object_get_array_member(a0, "events");
  fail_unless_equals_int(json_array_get_length(events), 3);
  JsonObject *e0 = json_array_get_object_element(events, 0);
  fail_unless_equals_string(json_object_get_string_member(e0, "type"), "line-crossed");
  fail_unless_equals_string(json_object_get_string_member(e0, "rule"), "door");
  fail_unless_equals_string(json_object_get_string_member(e0, "direction"), "in");
  fail_unless_equals_int(json_object_get_int_member(e0, "object_id"), 1);
  g_object_unref(parser);
  gst_message_unref(msg);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}
GST_END_TEST;

/* The RGB pixel at (x, y) of a frame. */
static guint32 rgb_at(GstBuffer *buf, gint x, gint y)
{
  GstMapInfo map;
  fail_unless(gst_buffer_map(buf, &map, GST_MAP_READ));
  const guint8 *p = map.data + (gsize)y * W * 3 + (gsize)x * 3;
  const guint32 v = ((guint32)p[0] << 16) | ((guint32)p[1] << 8) | p[2];
  gst_buffer_unmap(buf, &map);
  return v;
}

/* ufooverlay draws the line of the analytics meta (and nothing with draw-analytics=false). */
GST_START_TEST(test_overlay)
{
  for (gint draw = 0; draw < 2; draw++) {
    gchar *desc = g_strdup_printf("ufoanalytics lines=\"door:100,200,300,200\" ! ufooverlay "
                                  "draw-boxes=false draw-labels=false draw-analytics=%s",
                                  draw ? "true" : "false");
    GstHarness *h = gst_harness_new_parse(desc);
    g_free(desc);
    gst_harness_set_src_caps_str(h, CAPS);
    const Obj far[] = {{20, 40, 1}};
    GstBuffer *out = gst_harness_push_and_pull(h, frame_with(0, far, 1));
    /* on the line, away from its start (the count tag) and its midpoint (the arrow) */
    fail_unless(draw ? rgb_at(out, 260, 200) != 0 : rgb_at(out, 260, 200) == 0);
    fail_unless(draw ? rgb_at(out, 160, 200) != 0 : rgb_at(out, 160, 200) == 0);
    /* away from the line */
    fail_unless_equals_int(rgb_at(out, 260, 150), 0);
    fail_unless_equals_int(rgb_at(out, 260, 230), 0);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* anchor=center moves the tested point to the box centre: a box whose bottom stays below the
 * line crosses it with its centre only. A key-file config gives the line. */
GST_START_TEST(test_anchor_and_keyfile)
{
  gchar *path = NULL;
  gint fd = g_file_open_tmp("ufoanalytics-XXXXXX.ini", &path, NULL);
  fail_unless(fd >= 0);
  close(fd);
  fail_unless(g_file_set_contents(path, "[line door]\npoints=100,200,300,200\nclasses=person;\n",
                                  -1, NULL));
  const Obj f0[] = {{150, 205, 1}}, f1[] = {{150, 215, 1}}; /* centres y 195 → 205 */
  for (gint center = 0; center < 2; center++) {
    gchar *props =
        g_strdup_printf("config=%s anchor=%s", path, center ? "center" : "bottom-center");
    GstBus *bus;
    GstHarness *h = analytics_harness(props, &bus);
    g_free(props);
    gst_buffer_unref(gst_harness_push_and_pull(h, frame_with(0, f0, 1)));
    GstBuffer *out = gst_harness_push_and_pull(h, frame_with(1, f1, 1));
    fail_unless_equals_uint64(rule_of(out, "door").total_in, center ? 1 : 0);
    gst_buffer_unref(out);
    GstMessage *msg = next_message(bus);
    fail_unless(center ? msg != NULL : msg == NULL);
    if (msg)
      gst_message_unref(msg);
    gst_harness_teardown(h);
    gst_object_unref(bus);
  }
  g_unlink(path);
  g_free(path);
}
GST_END_TEST;

/* A frame of the demo model's world (as in the ufotrack test): a red square on grey, its centre
 * at x = 62 + 4k. */
static GstBuffer *shape_frame(gint k)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 224 * 224 * 3, NULL);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  for (gint y = 0; y < 224; y++)
    for (gint x = 0; x < 224; x++) {
      guint8 *p = map.data + (y * 224 + x) * 3;
      const gboolean in = x >= 40 + 4 * k && x < 84 + 4 * k && y >= 75 && y < 119;
      p[0] = in ? 220 : 128;
      p[1] = in ? 35 : 128;
      p[2] = in ? 35 : 128;
    }
  gst_buffer_unmap(buf, &map);
  GST_BUFFER_PTS(buf) = k * (GST_SECOND / 15);
  GST_BUFFER_DURATION(buf) = GST_SECOND / 15;
  return buf;
}

/* End to end: ufodetect ! ufotrack ! ufoanalytics with the demo model; the square moves right
 * across the upward line "gate" (its normal points right: "in") exactly once. */
GST_START_TEST(test_detect_pipeline)
{
  if (!g_file_test(UFO_DEMO_MODEL, G_FILE_TEST_EXISTS)) {
    GST_INFO("no demo model at %s: ufodetect ! ufoanalytics not checked", UFO_DEMO_MODEL);
    return;
  }
  gchar *desc = g_strdup_printf("ufodetect model=%s task=detection threshold=0.3 ! ufotrack ! "
                                "ufoanalytics lines=\"gate:70,223,70,0\" "
                                "zones=\"all:0,0,223,0,223,223,0,223\"",
                                UFO_DEMO_MODEL);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=224,height=224,framerate=15/1");
  GstUfoAnalyticsRule gate = {0}, all = {0};
  for (gint k = 0; k < 8; k++) {
    GstBuffer *out = gst_harness_push_and_pull(h, shape_frame(k));
    gate = rule_of(out, "gate");
    all = rule_of(out, "all");
    fail_unless(all.occupancy >= 1, "frame %d: nothing in the frame-wide zone", k);
    gst_buffer_unref(out);
  }
  fail_unless_equals_uint64(gate.total_in, 1);
  fail_unless_equals_uint64(gate.total_out, 0);
  gst_harness_teardown(h);
}
GST_END_TEST;

static Suite *ufoanalytics_suite(void)
{
  Suite *s = suite_create("ufoanalytics");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_properties);
  tcase_add_test(tc, test_meta_and_messages);
  tcase_add_test(tc, test_reset);
  tcase_add_test(tc, test_classes);
  tcase_add_test(tc, test_errors_and_config);
  tcase_add_test(tc, test_meta_copy_scale_and_json);
  tcase_add_test(tc, test_overlay);
  tcase_add_test(tc, test_anchor_and_keyfile);
  tcase_add_test(tc, test_detect_pipeline);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(ufoanalytics_suite(), "ufoanalytics", __FILE__);
}
