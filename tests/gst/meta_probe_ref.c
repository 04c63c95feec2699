/* meta-probe-ref: the C side of the python-meta test. Runs a pipeline description (with a fakesink
 * appended, as ufo-dump does) and prints one JSON line per frame with every GstUfoMeta field, read
 * with the C API (struct fields, gst_ufo_meta_get_object(), the raw-pointer
 * gst_ufo_meta_get_mask()), in the layout that `pipelines/ufo-meta-probe.py --json` writes from
 * Python through the GstUfo-1.0 typelib. tests/gst/check_meta_probe.py compares the two.
 *
 *   meta-probe-ref 'PIPELINE' > frames.jsonl
 *
 * Layout, one object per frame:
 *   {"frame":N,"pts":NS|null,"metas":[{"producer_id","task","inferred","result_pts","width",
 *    "height","caption","prompt","objects":[{"label","label_id","score","x","y","w","h",
 *    "track_id","roi_id","predicted","mask":null|{"width","height","stride","x","y","w","h",
 *    "area","sha1"}}]}],"analytics":[{"width","height","rules":[{"name","kind","points",
 *    "total_in","total_out","frame_in","frame_out","occupancy"}],"events":[{"type","rule",
 *    "direction","track_id","label_id","label"}]}]}
 * mask "area" counts pixels >= 128 (probability >= 0.5); "sha1" is that of the mask rows packed
 * without stride padding. */
#include <gst/gst.h>
#include <gst/ufo/ufoanalyticsmeta.h>
#include <gst/ufo/ufometa.h>
#include <json-glib/json-glib.h>
#include <stdio.h>

static void add_float(JsonBuilder *b, const gchar *name, gfloat v)
{
  json_builder_set_member_name(b, name);
  json_builder_add_double_value(b, v);
}

static void add_int(JsonBuilder *b, const gchar *name, gint64 v)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, v);
}

static void add_string(JsonBuilder *b, const gchar *name, const gchar *v)
{
  json_builder_set_member_name(b, name);
  if (v)
    json_builder_add_string_value(b, v);
  else
    json_builder_add_null_value(b);
}

static void add_mask(JsonBuilder *b, const GstUfoMeta *m, guint i)
{
  gint w, h, stride;
  const guint8 *data;
  GstUfoRect r;
  json_builder_set_member_name(b, "mask");
  if (!gst_ufo_meta_get_mask(m, i, &w, &h, &stride, &data, &r)) {
    json_builder_add_null_value(b);
    return;
  }
  GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA1);
  gint64 area = 0;
  for (gint y = 0; y < h; y++) {
    const guint8 *row = data + (gsize)y * stride;
    g_checksum_update(sum, row, w);
    for (gint x = 0; x < w; x++)
      area += row[x] >= 128;
  }
  json_builder_begin_object(b);
  add_int(b, "width", w);
  add_int(b, "height", h);
  add_int(b, "stride", stride);
  add_float(b, "x", r.x);
  add_float(b, "y", r.y);
  add_float(b, "w", r.w);
  add_float(b, "h", r.h);
  add_int(b, "area", area);
  add_string(b, "sha1", g_checksum_get_string(sum));
  json_builder_end_object(b);
  g_checksum_free(sum);
}

static void add_ufo_meta(JsonBuilder *b, const GstUfoMeta *m)
{
  json_builder_begin_object(b);
  add_int(b, "producer_id", m->producer_id);
  add_string(b, "task", g_quark_to_string(m->task));
  json_builder_set_member_name(b, "inferred");
  json_builder_add_boolean_value(b, m->inferred);
  json_builder_set_member_name(b, "result_pts");
  if (GST_CLOCK_TIME_IS_VALID(m->result_pts))
    json_builder_add_int_value(b, (gint64)m->result_pts);
  else
    json_builder_add_null_value(b);
  add_int(b, "width", m->width);
  add_int(b, "height", m->height);
  add_string(b, "caption", gst_ufo_meta_get_caption(m));
  add_string(b, "prompt", gst_ufo_meta_get_prompt(m));
  json_builder_set_member_name(b, "objects");
  json_builder_begin_array(b);
  for (guint i = 0; i < gst_ufo_meta_get_n_objects(m); i++) {
    GstUfoObject o;
    gst_ufo_meta_get_object(m, i, &o);
    json_builder_begin_object(b);
    add_string(b, "label", o.label);
    add_int(b, "label_id", o.label_id);
    add_float(b, "score", o.score);
    add_float(b, "x", o.x);
    add_float(b, "y", o.y);
    add_float(b, "w", o.w);
    add_float(b, "h", o.h);
    add_int(b, "track_id", (gint64)o.track_id);
    add_int(b, "roi_id", o.roi_id);
    json_builder_set_member_name(b, "predicted");
    json_builder_add_boolean_value(
        b, (gst_ufo_meta_get_object_flags(m, i) & GST_UFO_OBJECT_FLAG_PREDICTED) != 0);
    add_mask(b, m, i);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
}

static void add_analytics_meta(JsonBuilder *b, const GstUfoAnalyticsMeta *a)
{
  json_builder_begin_object(b);
  add_int(b, "width", a->width);
  add_int(b, "height", a->height);
  json_builder_set_member_name(b, "rules");
  json_builder_begin_array(b);
  for (guint i = 0; i < gst_ufo_analytics_meta_get_n_rules(a); i++) {
    GstUfoAnalyticsRule r;
    gst_ufo_analytics_meta_get_rule(a, i, &r);
    json_builder_begin_object(b);
    add_string(b, "name", r.name);
    add_string(b, "kind", r.kind == GST_UFO_ANALYTICS_RULE_LINE ? "line" : "zone");
    json_builder_set_member_name(b, "points");
    json_builder_begin_array(b);
    for (guint k = 0; k < 2 * r.n_points; k++)
      json_builder_add_double_value(b, r.points[k]);
    json_builder_end_array(b);
    add_int(b, "total_in", (gint64)r.total_in);
    add_int(b, "total_out", (gint64)r.total_out);
    add_int(b, "frame_in", r.frame_in);
    add_int(b, "frame_out", r.frame_out);
    add_int(b, "occupancy", r.occupancy);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "events");
  json_builder_begin_array(b);
  for (guint i = 0; i < gst_ufo_analytics_meta_get_n_events(a); i++) {
    GstUfoAnalyticsEvent e;
    gst_ufo_analytics_meta_get_event(a, i, &e);
    json_builder_begin_object(b);
    add_string(b, "type", gst_ufo_analytics_event_type_get_name(e.type));
    add_int(b, "rule", e.rule);
    add_int(b, "direction", e.direction);
    add_int(b, "track_id", (gint64)e.track_id);
    add_int(b, "label_id", e.label_id);
    add_string(b, "label", e.label);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
}

static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  guint64 *frame = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_int(b, "frame", (gint64)(*frame)++);
  json_builder_set_member_name(b, "pts");
  if (GST_BUFFER_PTS_IS_VALID(buf))
    json_builder_add_int_value(b, (gint64)GST_BUFFER_PTS(buf));
  else
    json_builder_add_null_value(b);
  json_builder_set_member_name(b, "metas");
  json_builder_begin_array(b);
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_UFO_META_API_TYPE)))
    add_ufo_meta(b, (const GstUfoMeta *)meta);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "analytics");
  json_builder_begin_array(b);
  state = NULL;
  while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_UFO_ANALYTICS_META_API_TYPE)))
    add_analytics_meta(b, (const GstUfoAnalyticsMeta *)meta);
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree gchar *line = json_to_string(root, FALSE);
  printf("%s\n", line);
  fflush(stdout);
  return GST_PAD_PROBE_OK;
}

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  if (argc != 2) {
    fprintf(stderr, "usage: meta-probe-ref 'PIPELINE'\n");
    return 2;
  }
  g_autofree gchar *desc = g_strdup_printf("%s ! fakesink name=refsink sync=false", argv[1]);
  GError *err = NULL;
  GstElement *pipeline = gst_parse_launch_full(desc, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  if (!pipeline || err) {
    fprintf(stderr, "meta-probe-ref: bad pipeline: %s\n", err ? err->message : "?");
    g_clear_error(&err);
    g_clear_object(&pipeline);
    return 2;
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(pipeline), "refsink");
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  guint64 frame = 0;
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &frame, NULL);
  gst_object_unref(pad);
  gst_object_unref(sink);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  int rc = 0;
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *e = NULL;
    gst_message_parse_error(msg, &e, NULL);
    fprintf(stderr, "meta-probe-ref: error from %s: %s\n", GST_OBJECT_NAME(msg->src), e->message);
    g_error_free(e);
    rc = 1;
  }
  gst_clear_message(&msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return rc;
}
