/* The json-glib implementation of ufo_dump_frame_json that gst/ufojson.c had until the direct
 * string writer replaced it (JsonBuilder tree, then json_to_string): the oracle that the
 * writer's output is compared with, byte for byte (tests/gst/test_dump.c). Not built into the
 * plugin. */
#include "json_reference.h"

#include <gst/ufo/ufoanalyticsmeta.h>
#include <gst/ufo/ufometa.h>
#include <gst/video/video.h>

static void ref_add_object(JsonBuilder *b, const gchar *label, gint label_id, gdouble score,
                           gdouble x, gdouble y, gdouble w, gdouble h, gint fw, gint fh, gint id,
                           gint64 producer, guint64 track_id, gboolean predicted)
{
  /* boxes clipped to the frame; bounding_box normalised to 0..1 as gvametaconvert does */
  gdouble x0 = CLAMP(x, 0, fw), y0 = CLAMP(y, 0, fh);
  gdouble x1 = CLAMP(x + w, 0, fw), y1 = CLAMP(y + h, 0, fh);
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "detection");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "bounding_box");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "x_min");
  json_builder_add_double_value(b, x0 / fw);
  json_builder_set_member_name(b, "y_min");
  json_builder_add_double_value(b, y0 / fh);
  json_builder_set_member_name(b, "x_max");
  json_builder_add_double_value(b, x1 / fw);
  json_builder_set_member_name(b, "y_max");
  json_builder_add_double_value(b, y1 / fh);
  json_builder_end_object(b);
  if (score >= 0) {
    json_builder_set_member_name(b, "confidence");
    json_builder_add_double_value(b, score);
  }
  json_builder_set_member_name(b, "label");
  json_builder_add_string_value(b, label);
  json_builder_set_member_name(b, "label_id");
  json_builder_add_int_value(b, label_id);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "roi_type");
  json_builder_add_string_value(b, label);
  json_builder_set_member_name(b, "x");
  json_builder_add_int_value(b, (gint64)(x0 + 0.5));
  json_builder_set_member_name(b, "y");
  json_builder_add_int_value(b, (gint64)(y0 + 0.5));
  json_builder_set_member_name(b, "w");
  json_builder_add_int_value(b, (gint64)(x1 - x0 + 0.5));
  json_builder_set_member_name(b, "h");
  json_builder_add_int_value(b, (gint64)(y1 - y0 + 0.5));
  if (id >= 0) {
    json_builder_set_member_name(b, "id");
    json_builder_add_int_value(b, id);
  }
  if (producer >= 0) {
    json_builder_set_member_name(b, "producer_id");
    json_builder_add_int_value(b, producer);
  }
  if (track_id) {
    json_builder_set_member_name(b, "object_id");
    json_builder_add_int_value(b, (gint64)track_id);
  }
  if (predicted) {
    json_builder_set_member_name(b, "predicted");
    json_builder_add_boolean_value(b, TRUE);
  }
  json_builder_end_object(b);
}

/* "analytics":[{"version":1,"width","height","rules":[{"name","type":"line"|"zone","points":[[x,y]…],
 * line: "in","out","frame_in","frame_out"; zone: "occupancy","entered","left","frame_entered",
 * "frame_left"}],"events":[{"type","rule","object_id","direction" (lines),"label","label_id"}]}] */
static void ref_add_analytics(JsonBuilder *b, GstBuffer *buffer)
{
  gpointer state = NULL;
  GstMeta *meta;
  gboolean open = FALSE;
  while (
      (meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_ANALYTICS_META_API_TYPE))) {
    const GstUfoAnalyticsMeta *m = (const GstUfoAnalyticsMeta *)meta;
    if (!open) {
      json_builder_set_member_name(b, "analytics");
      json_builder_begin_array(b);
      open = TRUE;
    }
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "version");
    json_builder_add_int_value(b, 1);
    json_builder_set_member_name(b, "width");
    json_builder_add_int_value(b, m->width);
    json_builder_set_member_name(b, "height");
    json_builder_add_int_value(b, m->height);
    json_builder_set_member_name(b, "rules");
    json_builder_begin_array(b);
    GstUfoAnalyticsRule r;
    for (guint i = 0; gst_ufo_analytics_meta_get_rule(m, i, &r); i++) {
      const gboolean line = r.kind == GST_UFO_ANALYTICS_RULE_LINE;
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "name");
      json_builder_add_string_value(b, r.name);
      json_builder_set_member_name(b, "type");
      json_builder_add_string_value(b, line ? "line" : "zone");
      json_builder_set_member_name(b, "points");
      json_builder_begin_array(b);
      for (guint k = 0; k < r.n_points; k++) {
        json_builder_begin_array(b);
        json_builder_add_double_value(b, r.points[2 * k]);
        json_builder_add_double_value(b, r.points[2 * k + 1]);
        json_builder_end_array(b);
      }
      json_builder_end_array(b);
      if (!line) {
        json_builder_set_member_name(b, "occupancy");
        json_builder_add_int_value(b, r.occupancy);
      }
      json_builder_set_member_name(b, line ? "in" : "entered");
      json_builder_add_int_value(b, (gint64)r.total_in);
      json_builder_set_member_name(b, line ? "out" : "left");
      json_builder_add_int_value(b, (gint64)r.total_out);
      json_builder_set_member_name(b, line ? "frame_in" : "frame_entered");
      json_builder_add_int_value(b, r.frame_in);
      json_builder_set_member_name(b, line ? "frame_out" : "frame_left");
      json_builder_add_int_value(b, r.frame_out);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "events");
    json_builder_begin_array(b);
    GstUfoAnalyticsEvent e;
    for (guint i = 0; gst_ufo_analytics_meta_get_event(m, i, &e); i++) {
      gst_ufo_analytics_meta_get_rule(m, e.rule, &r);
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "type");
      json_builder_add_string_value(b, gst_ufo_analytics_event_type_get_name(e.type));
      json_builder_set_member_name(b, "rule");
      json_builder_add_string_value(b, r.name);
      json_builder_set_member_name(b, "object_id");
      json_builder_add_int_value(b, (gint64)e.track_id);
      if (e.direction) {
        json_builder_set_member_name(b, "direction");
        json_builder_add_string_value(b, e.direction > 0 ? "in" : "out");
      }
      if (e.label) {
        json_builder_set_member_name(b, "label");
        json_builder_add_string_value(b, e.label);
      }
      json_builder_set_member_name(b, "label_id");
      json_builder_add_int_value(b, e.label_id);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  if (open)
    json_builder_end_array(b);
}

gchar *ufo_dump_frame_json_reference(GstBuffer *buffer, gint width, gint height,
                                     const gchar *source, JsonNode *tags)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "objects");
  json_builder_begin_array(b);
  gpointer state = NULL;
  GstMeta *meta;
  gboolean have_ufo = FALSE;
  while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_META_API_TYPE))) {
    GstUfoMeta *m = (GstUfoMeta *)meta;
    have_ufo = TRUE;
    /* the meta's own frame size: it is kept right through videoscale */
    const gint fw = m->width > 0 ? m->width : width, fh = m->height > 0 ? m->height : height;
    for (guint i = 0; i < gst_ufo_meta_get_n_objects(m); i++) {
      GstUfoObject o;
      gst_ufo_meta_get_object(m, i, &o);
      ref_add_object(b, o.label, o.label_id, o.score, o.x, o.y, o.w, o.h, fw, fh, o.roi_id,
                     m->producer_id, o.track_id,
                     (gst_ufo_meta_get_object_flags(m, i) & GST_UFO_OBJECT_FLAG_PREDICTED) != 0);
    }
  }
  if (!have_ufo) {
    state = NULL;
    while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state,
                                                    GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
      const GstStructure *det = gst_video_region_of_interest_meta_get_param(roi, "detection");
      gdouble score = -1;
      gint label_id = -1;
      guint producer = 0;
      gboolean has_producer = FALSE, predicted = FALSE;
      if (det) {
        gst_structure_get_double(det, "confidence", &score);
        gst_structure_get_int(det, "label_id", &label_id);
        has_producer = gst_structure_get_uint(det, "producer_id", &producer);
        gst_structure_get_boolean(det, "predicted", &predicted);
      }
      /* gvatrack's layout: an "object_id" structure with the track id in "id" */
      const GstStructure *oid = gst_video_region_of_interest_meta_get_param(roi, "object_id");
      gint track_id = 0;
      if (oid)
        gst_structure_get_int(oid, "id", &track_id);
      ref_add_object(b, g_quark_to_string(roi->roi_type), label_id, score, roi->x, roi->y, roi->w,
                     roi->h, width, height, roi->id, has_producer ? (gint64)producer : -1,
                     track_id > 0 ? (guint64)track_id : 0, predicted);
    }
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "resolution");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "width");
  json_builder_add_int_value(b, width);
  json_builder_set_member_name(b, "height");
  json_builder_add_int_value(b, height);
  json_builder_end_object(b);
  if (GST_BUFFER_PTS_IS_VALID(buffer)) {
    json_builder_set_member_name(b, "timestamp");
    json_builder_add_int_value(b, (gint64)GST_BUFFER_PTS(buffer));
  }
  if (source) {
    json_builder_set_member_name(b, "source");
    json_builder_add_string_value(b, source);
  }
  if (tags) {
    json_builder_set_member_name(b, "tags");
    json_builder_add_value(b, json_node_copy(tags));
  }
  if (have_ufo) {
    json_builder_set_member_name(b, "ufo");
    json_builder_begin_array(b);
    state = NULL;
    while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_META_API_TYPE))) {
      GstUfoMeta *m = (GstUfoMeta *)meta;
      json_builder_begin_object(b);
      json_builder_set_member_name(b, "producer_id");
      json_builder_add_int_value(b, m->producer_id);
      json_builder_set_member_name(b, "task");
      json_builder_add_string_value(b, g_quark_to_string(m->task));
      json_builder_set_member_name(b, "inferred");
      json_builder_add_boolean_value(b, m->inferred);
      if (GST_CLOCK_TIME_IS_VALID(m->result_pts)) {
        json_builder_set_member_name(b, "result_timestamp");
        json_builder_add_int_value(b, (gint64)m->result_pts);
      }
      const gchar *caption = gst_ufo_meta_get_caption(m);
      if (caption) {
        json_builder_set_member_name(b, "caption");
        json_builder_add_string_value(b, caption);
      }
      const gchar *prompt = gst_ufo_meta_get_prompt(m);
      if (prompt) {
        json_builder_set_member_name(b, "prompt");
        json_builder_add_string_value(b, prompt);
      }
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
  }
  ref_add_analytics(b, buffer);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  return json_to_string(root, FALSE);
}
