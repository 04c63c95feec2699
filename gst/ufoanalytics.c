/* ufoanalytics: line crossings and zone occupancy of tracked objects.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-ufoanalytics
 * @title: ufoanalytics
 *
 * Counts the objects of an upstream ufodetect/ufoseg (with track ids from ufotrack) that cross
 * directed lines and that are inside polygon zones, the way nvdsanalytics does for DeepStream.
 * Rules come from the `lines` and `zones` properties and/or a `config` file (JSON or key file);
 * the syntax and the exact semantics (direction, boundary rule, anchor point) are in
 * docs/elements.md and gst/analytics/lines_zones.h.
 *
 * Every buffer gets a #GstUfoAnalyticsMeta with the rules, their counts (on this frame and
 * cumulative) and this frame's events. An element message named `ufoanalytics` is posted on
 * frames with events (line-crossed, zone-entered, zone-left), and on every frame with the
 * counts when `post-counts` is set. Counts and track history are reset on flush and on a new
 * stream (`reset-on-flush`).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! \
 *     ufodetect model=ufo-demo.safetensors ! ufotrack ! \
 *     ufoanalytics lines="door:100,200,300,200" zones="lot:10,10,200,10,200,150,10,150" ! \
 *     ufooverlay ! videoconvert ! autovideosink
 * ]|
 *
 * Since: 0.1
 */
#include "ufoanalytics.h"

#include "analytics/lines_zones.h"
#include "uforesults.h"

#include <gst/ufo/ufoanalyticsmeta.h>
#include <gst/ufo/ufometa.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(ufoanalytics_debug);
#define GST_CAT_DEFAULT ufoanalytics_debug

enum {
  PROP_0,
  PROP_LINES,
  PROP_ZONES,
  PROP_CONFIG,
  PROP_ANCHOR,
  PROP_POST_COUNTS,
  PROP_POST_MESSAGES,
  PROP_RESET_ON_FLUSH,
  PROP_UNIQUE_ID,
};

#define DEFAULT_LINES NULL
#define DEFAULT_ZONES NULL
#define DEFAULT_CONFIG NULL
#define DEFAULT_ANCHOR GST_UFO_ANALYTICS_ANCHOR_BOTTOM_CENTER
#define DEFAULT_POST_COUNTS FALSE
#define DEFAULT_POST_MESSAGES TRUE
#define DEFAULT_RESET_ON_FLUSH TRUE
#define DEFAULT_UNIQUE_ID (-1)

struct _GstUfoAnalytics {
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *lines, *zones, *config;
  GstUfoAnalyticsAnchor anchor;
  gboolean post_counts, post_messages, reset_on_flush;
  gint unique_id;

  /* streaming state, under lock (events may come from another thread) */
  GMutex lock;
  UfoAnalytics *core;
  GstVideoInfo info;
  gboolean have_info;
};

G_DEFINE_TYPE(GstUfoAnalytics, gst_ufo_analytics, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(ufoanalytics, "ufoanalytics", GST_RANK_NONE, GST_TYPE_UFO_ANALYTICS);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));

GType gst_ufo_analytics_anchor_get_type(void)
{
  static gsize type = 0;
  static const GEnumValue values[] = {
      {GST_UFO_ANALYTICS_ANCHOR_BOTTOM_CENTER, "Bottom centre of the box", "bottom-center"},
      {GST_UFO_ANALYTICS_ANCHOR_CENTER, "Centre of the box", "center"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstUfoAnalyticsAnchor", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

static void gst_ufo_analytics_set_property(GObject *object, guint prop_id, const GValue *value,
                                           GParamSpec *pspec)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_LINES:
    g_free(self->lines);
    self->lines = g_value_dup_string(value);
    break;
  case PROP_ZONES:
    g_free(self->zones);
    self->zones = g_value_dup_string(value);
    break;
  case PROP_CONFIG:
    g_free(self->config);
    self->config = g_value_dup_string(value);
    break;
  case PROP_ANCHOR:
    self->anchor = g_value_get_enum(value);
    break;
  case PROP_POST_COUNTS:
    self->post_counts = g_value_get_boolean(value);
    break;
  case PROP_POST_MESSAGES:
    self->post_messages = g_value_get_boolean(value);
    break;
  case PROP_RESET_ON_FLUSH:
    self->reset_on_flush = g_value_get_boolean(value);
    break;
  case PROP_UNIQUE_ID:
    self->unique_id = g_value_get_int(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_ufo_analytics_get_property(GObject *object, guint prop_id, GValue *value,
                                           GParamSpec *pspec)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_LINES:
    g_value_set_string(value, self->lines);
    break;
  case PROP_ZONES:
    g_value_set_string(value, self->zones);
    break;
  case PROP_CONFIG:
    g_value_set_string(value, self->config);
    break;
  case PROP_ANCHOR:
    g_value_set_enum(value, self->anchor);
    break;
  case PROP_POST_COUNTS:
    g_value_set_boolean(value, self->post_counts);
    break;
  case PROP_POST_MESSAGES:
    g_value_set_boolean(value, self->post_messages);
    break;
  case PROP_RESET_ON_FLUSH:
    g_value_set_boolean(value, self->reset_on_flush);
    break;
  case PROP_UNIQUE_ID:
    g_value_set_int(value, self->unique_id);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_ufo_analytics_stop(GstBaseTransform *trans)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(trans);
  g_mutex_lock(&self->lock);
  g_clear_pointer(&self->core, ufo_analytics_free);
  self->have_info = FALSE;
  g_mutex_unlock(&self->lock);
  return TRUE;
}

static gboolean gst_ufo_analytics_start(GstBaseTransform *trans)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(trans);
  GST_OBJECT_LOCK(self);
  g_autofree gchar *lines = g_strdup(self->lines);
  g_autofree gchar *zones = g_strdup(self->zones);
  g_autofree gchar *config = g_strdup(self->config);
  GST_OBJECT_UNLOCK(self);

  GError *err = NULL;
  UfoAnalytics *core = ufo_analytics_new();
  if (config && config[0] && !ufo_analytics_load_config(core, config, &err)) {
    if (g_error_matches(err, G_FILE_ERROR, G_FILE_ERROR_NOENT))
      goto config_missing;
    if (err->domain == G_FILE_ERROR)
      goto config_unreadable;
    goto config_invalid;
  }
  if (!ufo_analytics_add_lines(core, lines, &err))
    goto lines_invalid;
  if (!ufo_analytics_add_zones(core, zones, &err))
    goto zones_invalid;
  if (ufo_analytics_get_n_rules(core) == 0)
    GST_WARNING_OBJECT(self, "no lines and no zones: nothing will be counted (set lines, zones "
                             "or config)");
  g_mutex_lock(&self->lock);
  ufo_analytics_free(self->core);
  self->core = core;
  g_mutex_unlock(&self->lock);
  GST_INFO_OBJECT(self, "%d rules", ufo_analytics_get_n_rules(core));
  return TRUE;

config_missing:
  GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Analytics config file \"%s\" not found.", config),
                    ("%s", err->message));
  goto fail;
config_unreadable:
  GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ,
                    ("Could not read the analytics config file \"%s\".", config),
                    ("%s", err->message));
  goto fail;
config_invalid:
  GST_ELEMENT_ERROR(
      self, LIBRARY, SETTINGS, ("Invalid analytics config: %s.", err->message),
      ("config file \"%s\"; its format is in docs/elements.md, ufoanalytics", config));
  goto fail;
lines_invalid:
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid 'lines' property: %s.", err->message),
                    ("expected NAME:x1,y1,x2,y2[:CLASSES] entries separated by ';'"));
  goto fail;
zones_invalid:
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid 'zones' property: %s.", err->message),
                    ("expected NAME:x1,y1,x2,y2,x3,y3[,...][:CLASSES] entries separated by ';'"));
  goto fail;
fail:
  g_clear_error(&err);
  ufo_analytics_free(core);
  gst_ufo_analytics_stop(trans);
  return FALSE;
}

static gboolean gst_ufo_analytics_set_caps(GstBaseTransform *trans, GstCaps *incaps,
                                           GstCaps *outcaps)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_WARNING_OBJECT(self, "caps %" GST_PTR_FORMAT " are not video caps", incaps);
    return FALSE;
  }
  g_mutex_lock(&self->lock);
  self->info = info;
  self->have_info = TRUE;
  g_mutex_unlock(&self->lock);
  return TRUE;
}

static gboolean gst_ufo_analytics_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(trans);
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_FLUSH_STOP:
  case GST_EVENT_STREAM_START: {
    GST_OBJECT_LOCK(self);
    const gboolean reset = self->reset_on_flush;
    GST_OBJECT_UNLOCK(self);
    if (!reset)
      break;
    g_mutex_lock(&self->lock);
    if (self->core)
      ufo_analytics_reset(self->core);
    g_mutex_unlock(&self->lock);
    GST_DEBUG_OBJECT(self, "counts and track history reset (%s)", GST_EVENT_TYPE_NAME(event));
    break;
  }
  default:
    break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_ufo_analytics_parent_class)->sink_event(trans, event);
}

static const gchar *direction_name(gint direction)
{
  return direction > 0 ? "in" : direction < 0 ? "out" : NULL;
}

/* The element message of a frame: {timestamp, events: [line-crossed|zone-entered|zone-left
 * {rule, track_id, direction, label, label_id, pts}], counts: [line {rule, in, out} | zone {rule,
 * occupancy, entered, left}] (post-counts only)} */
static GstMessage *frame_message(GstUfoAnalytics *self, const UfoAnalytics *core, GstClockTime pts,
                                 gboolean with_counts)
{
  size_t n_ev;
  const UfoEvent *ev = ufo_analytics_get_events(core, &n_ev);
  GValue events = G_VALUE_INIT;
  gst_value_array_init(&events, (guint)n_ev);
  for (size_t i = 0; i < n_ev; i++) {
    const UfoRule *r = ufo_analytics_get_rule(core, ev[i].rule);
    GstStructure *s = gst_structure_new(
        gst_ufo_analytics_event_type_get_name((GstUfoAnalyticsEventType)ev[i].type), "rule",
        G_TYPE_STRING, r->name, "track_id", G_TYPE_UINT64, (guint64)ev[i].track_id, "label",
        G_TYPE_STRING, ev[i].label, "label_id", G_TYPE_INT, ev[i].label_id, "pts", G_TYPE_UINT64,
        (guint64)pts, NULL);
    if (ev[i].direction)
      gst_structure_set(s, "direction", G_TYPE_STRING, direction_name(ev[i].direction), NULL);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, GST_TYPE_STRUCTURE);
    g_value_take_boxed(&v, s);
    gst_value_array_append_and_take_value(&events, &v);
  }
  GstStructure *st =
      gst_structure_new("ufoanalytics", "timestamp", G_TYPE_UINT64, (guint64)pts, NULL);
  gst_structure_take_value(st, "events", &events);
  if (with_counts) {
    const int nr = ufo_analytics_get_n_rules(core);
    GValue counts = G_VALUE_INIT;
    gst_value_array_init(&counts, (guint)nr);
    for (int k = 0; k < nr; k++) {
      const UfoRule *r = ufo_analytics_get_rule(core, k);
      GstStructure *s =
          r->kind == UFO_RULE_LINE
              ? gst_structure_new("line", "rule", G_TYPE_STRING, r->name, "in", G_TYPE_UINT64,
                                  (guint64)r->total_in, "out", G_TYPE_UINT64, (guint64)r->total_out,
                                  NULL)
              : gst_structure_new("zone", "rule", G_TYPE_STRING, r->name, "occupancy", G_TYPE_UINT,
                                  r->occupancy, "entered", G_TYPE_UINT64, (guint64)r->total_in,
                                  "left", G_TYPE_UINT64, (guint64)r->total_out, NULL);
      GValue v = G_VALUE_INIT;
      g_value_init(&v, GST_TYPE_STRUCTURE);
      g_value_take_boxed(&v, s);
      gst_value_array_append_and_take_value(&counts, &v);
    }
    gst_structure_take_value(st, "counts", &counts);
  }
  return gst_message_new_element(GST_OBJECT(self), st);
}

static void attach_meta(GstBuffer *buf, const UfoAnalytics *core, gint width, gint height)
{
  GstUfoAnalyticsMeta *m = gst_buffer_add_ufo_analytics_meta(buf, width, height);
  if (!m)
    return;
  const int nr = ufo_analytics_get_n_rules(core);
  for (int k = 0; k < nr; k++) {
    const UfoRule *r = ufo_analytics_get_rule(core, k);
    gfloat pts[2 * 64];
    gfloat *p = r->n_points <= 64 ? pts : g_new(gfloat, 2 * r->n_points);
    for (int i = 0; i < 2 * r->n_points; i++)
      p[i] = (gfloat)r->xy[i];
    const GstUfoAnalyticsRule mr = {.name = r->name,
                                    .kind = r->kind == UFO_RULE_LINE ? GST_UFO_ANALYTICS_RULE_LINE
                                                                     : GST_UFO_ANALYTICS_RULE_ZONE,
                                    .n_points = (guint)r->n_points,
                                    .points = p,
                                    .total_in = r->total_in,
                                    .total_out = r->total_out,
                                    .frame_in = r->frame_in,
                                    .frame_out = r->frame_out,
                                    .occupancy = r->occupancy};
    gst_ufo_analytics_meta_add_rule(m, &mr);
    if (p != pts)
      g_free(p);
  }
  size_t n_ev;
  const UfoEvent *ev = ufo_analytics_get_events(core, &n_ev);
  for (size_t i = 0; i < n_ev; i++) {
    const GstUfoAnalyticsEvent e = {.type = (GstUfoAnalyticsEventType)ev[i].type,
                                    .rule = (guint)ev[i].rule,
                                    .direction = ev[i].direction,
                                    .track_id = ev[i].track_id,
                                    .label_id = ev[i].label_id,
                                    .label = ev[i].label};
    gst_ufo_analytics_meta_add_event(m, &e);
  }
}

static GstFlowReturn gst_ufo_analytics_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(trans);
  GST_OBJECT_LOCK(self);
  const UfoAnchor anchor = self->anchor == GST_UFO_ANALYTICS_ANCHOR_CENTER
                               ? UFO_ANCHOR_CENTER
                               : UFO_ANCHOR_BOTTOM_CENTER;
  const gboolean post_counts = self->post_counts, post_messages = self->post_messages;
  const gint unique_id = self->unique_id;
  GST_OBJECT_UNLOCK(self);

  GstUfoMeta *meta = gst_ufo_find_object_meta(buf, unique_id);
  const guint n = meta ? gst_ufo_meta_get_n_objects(meta) : 0;
  UfoAnalyticsObject *objs = g_new0(UfoAnalyticsObject, MAX(n, 1));
  g_mutex_lock(&self->lock);
  if (!self->core) {
    g_mutex_unlock(&self->lock);
    g_free(objs);
    return GST_FLOW_OK;
  }
  gint fw = self->have_info ? GST_VIDEO_INFO_WIDTH(&self->info) : 0;
  gint fh = self->have_info ? GST_VIDEO_INFO_HEIGHT(&self->info) : 0;
  /* rules are in pixels of the negotiated frame; the meta's boxes in pixels of its own size */
  const gdouble sx = meta && meta->width > 0 && fw > 0 ? (gdouble)fw / meta->width : 1.0;
  const gdouble sy = meta && meta->height > 0 && fh > 0 ? (gdouble)fh / meta->height : 1.0;
  for (guint i = 0; i < n; i++) {
    GstUfoObject o;
    gst_ufo_meta_get_object(meta, i, &o);
    objs[i] = (UfoAnalyticsObject){o.x * sx,   o.y * sy,   o.w * sx, o.h * sy,
                                   o.track_id, o.label_id, o.label};
  }
  ufo_analytics_update(self->core, objs, n, anchor);
  if (fw <= 0 && meta) {
    fw = meta->width;
    fh = meta->height;
  }
  attach_meta(buf, self->core, fw, fh);
  size_t n_ev;
  ufo_analytics_get_events(self->core, &n_ev);
  GstMessage *msg = post_messages && (n_ev || post_counts)
                        ? frame_message(self, self->core, GST_BUFFER_PTS(buf), post_counts)
                        : NULL;
  g_mutex_unlock(&self->lock);
  g_free(objs);
  if (n_ev)
    GST_LOG_OBJECT(self, "%" G_GSIZE_FORMAT " events", n_ev);
  if (msg)
    gst_element_post_message(GST_ELEMENT(self), msg);
  return GST_FLOW_OK;
}

static void gst_ufo_analytics_finalize(GObject *object)
{
  GstUfoAnalytics *self = GST_UFO_ANALYTICS(object);
  gst_ufo_analytics_stop(GST_BASE_TRANSFORM(object));
  g_free(self->lines);
  g_free(self->zones);
  g_free(self->config);
  g_mutex_clear(&self->lock);
  G_OBJECT_CLASS(gst_ufo_analytics_parent_class)->finalize(object);
}

static void gst_ufo_analytics_class_init(GstUfoAnalyticsClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *bt_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_ufo_analytics_set_property;
  gobject_class->get_property = gst_ufo_analytics_get_property;
  gobject_class->finalize = gst_ufo_analytics_finalize;
  GST_DEBUG_CATEGORY_INIT(ufoanalytics_debug, "ufoanalytics", 0,
                          "UFO line crossings and zone occupancy");

  /**
   * GstUfoAnalytics:lines:
   *
   * Directed lines, `NAME:x1,y1,x2,y2[:CLASS,CLASS…]` entries separated by `;`, in frame
   * pixels. Crossings along the normal (to the right of P1 → P2 on screen) are "in". Read when
   * the element starts.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_LINES,
      g_param_spec_string("lines", "Lines",
                          "Directed lines 'NAME:x1,y1,x2,y2[:CLASSES];...' in frame pixels; "
                          "crossing to the right of P1->P2 (on screen) is 'in'",
                          DEFAULT_LINES,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoAnalytics:zones:
   *
   * Polygon zones, `NAME:x1,y1,x2,y2,x3,y3[,…][:CLASS,CLASS…]` entries separated by `;`, in
   * frame pixels (3 or more vertices, concave allowed; the boundary is inside).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ZONES,
      g_param_spec_string("zones", "Zones",
                          "Polygon zones 'NAME:x1,y1,x2,y2,x3,y3[,...][:CLASSES];...' in frame "
                          "pixels (3+ vertices)",
                          DEFAULT_ZONES,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoAnalytics:config:
   *
   * A JSON or key file with more lines and zones (format in docs/elements.md), added to those
   * of the `lines` and `zones` properties.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CONFIG,
      g_param_spec_string("config", "Config file",
                          "Path of a JSON or key file with lines and zones (added to the "
                          "properties')",
                          DEFAULT_CONFIG,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoAnalytics:anchor:
   *
   * The point of each box that crosses lines and lies in zones.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ANCHOR,
      g_param_spec_enum("anchor", "Anchor", "Point of the box that is tested against the rules",
                        GST_TYPE_UFO_ANALYTICS_ANCHOR, DEFAULT_ANCHOR,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoAnalytics:post-counts:
   *
   * Post the `ufoanalytics` element message on every frame, with the counts of every rule, not
   * only on frames with events.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_POST_COUNTS,
      g_param_spec_boolean("post-counts", "Post counts",
                           "Post a message with the counts of every rule on every frame",
                           DEFAULT_POST_COUNTS,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoAnalytics:post-messages:
   *
   * Post `ufoanalytics` element messages at all (events, and counts with `post-counts`). The
   * metadata is attached either way.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post ufoanalytics element messages on the bus", DEFAULT_POST_MESSAGES,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoAnalytics:reset-on-flush:
   *
   * Zero the cumulative counts and forget the track history on flush and on a new stream.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_RESET_ON_FLUSH,
      g_param_spec_boolean("reset-on-flush", "Reset on flush",
                           "Zero counts and forget tracks on FLUSH_STOP and STREAM_START",
                           DEFAULT_RESET_ON_FLUSH,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoAnalytics:unique-id:
   *
   * The producer whose objects are analysed (its `unique-id`); -1 takes the first #GstUfoMeta
   * of a detection, grounding or instance task on each buffer.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_UNIQUE_ID,
      g_param_spec_int("unique-id", "Unique id",
                       "unique-id of the producer to analyse (-1 = the first with objects)", -1,
                       G_MAXINT, DEFAULT_UNIQUE_ID,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "UFO line and zone analytics", "Filter/Analyzer/Video",
      "Counts tracked objects crossing directed lines and inside polygon zones; attaches "
      "GstUfoAnalyticsMeta and posts ufoanalytics messages",
      "gst-ufo contributors");
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_ANALYTICS_ANCHOR, 0);

  bt_class->start = GST_DEBUG_FUNCPTR(gst_ufo_analytics_start);
  bt_class->stop = GST_DEBUG_FUNCPTR(gst_ufo_analytics_stop);
  bt_class->set_caps = GST_DEBUG_FUNCPTR(gst_ufo_analytics_set_caps);
  bt_class->sink_event = GST_DEBUG_FUNCPTR(gst_ufo_analytics_sink_event);
  bt_class->transform_ip = GST_DEBUG_FUNCPTR(gst_ufo_analytics_transform_ip);
  bt_class->passthrough_on_same_caps = FALSE;
}

static void gst_ufo_analytics_init(GstUfoAnalytics *self)
{
  self->lines = g_strdup(DEFAULT_LINES);
  self->zones = g_strdup(DEFAULT_ZONES);
  self->config = g_strdup(DEFAULT_CONFIG);
  self->anchor = DEFAULT_ANCHOR;
  self->post_counts = DEFAULT_POST_COUNTS;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->reset_on_flush = DEFAULT_RESET_ON_FLUSH;
  self->unique_id = DEFAULT_UNIQUE_ID;
  g_mutex_init(&self->lock);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
