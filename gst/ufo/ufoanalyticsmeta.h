/* gstreamer-ufo-1.0: GstUfoAnalyticsMeta, the per-frame line-crossing and zone results of the
 * ufoanalytics element.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:gstufoanalyticsmeta
 * @title: GstUfoAnalyticsMeta
 * @short_description: line crossings, zone occupancy and counts attached to video buffers
 *
 * A #GstUfoAnalyticsMeta carries the rules of one ufoanalytics element (directed lines and
 * polygon zones, in pixels of the frame described by #GstUfoAnalyticsMeta.width and
 * #GstUfoAnalyticsMeta.height), their counts on this frame and since the last reset, and the
 * events of this frame (line crossed, zone entered, zone left, each with the track id). The scale
 * transform rescales the rule points; copies keep everything; other transforms drop the meta.
 *
 * Since: 0.1
 */
#ifndef GST_UFO_ANALYTICS_META_H
#define GST_UFO_ANALYTICS_META_H

#include <gst/ufo/ufometa.h>

G_BEGIN_DECLS

/**
 * GstUfoAnalyticsRuleKind:
 * @GST_UFO_ANALYTICS_RULE_LINE: a directed line segment (2 points); crossings along its normal
 *   (−dy, dx) — to the right of P1 → P2 as seen on screen, y down — are "in", against it "out"
 * @GST_UFO_ANALYTICS_RULE_ZONE: a polygon (3 or more points)
 *
 * Since: 0.1
 */
typedef enum {
  GST_UFO_ANALYTICS_RULE_LINE = 0,
  GST_UFO_ANALYTICS_RULE_ZONE = 1,
} GstUfoAnalyticsRuleKind;

/**
 * GstUfoAnalyticsRule:
 * @name: rule name, an interned string
 * @kind: line or zone
 * @n_points: number of points (2 for a line)
 * @points: (skip): @n_points x, y pairs in frame pixels (language bindings read them with
 *   gst_ufo_analytics_meta_get_rule_points())
 * @total_in: lines: crossings "in" since the last reset; zones: entries
 * @total_out: lines: crossings "out" since the last reset; zones: exits
 * @frame_in: like @total_in, on this frame only
 * @frame_out: like @total_out, on this frame only
 * @occupancy: zones: objects whose anchor point is inside on this frame (tracked or not); 0 for
 *   lines
 *
 * One rule and its counts, as read with gst_ufo_analytics_meta_get_rule().
 *
 * Since: 0.1
 */
typedef struct {
  const gchar *name;
  GstUfoAnalyticsRuleKind kind;
  guint n_points;
  const gfloat *points;
  guint64 total_in, total_out;
  guint frame_in, frame_out;
  guint occupancy;
} GstUfoAnalyticsRule;

UFO_API GType gst_ufo_analytics_rule_get_type(void);
/**
 * GST_TYPE_UFO_ANALYTICS_RULE:
 *
 * The boxed #GType of #GstUfoAnalyticsRule (for language bindings; a copy shares @points with
 * the meta it was read from).
 *
 * Since: 0.1
 */
#define GST_TYPE_UFO_ANALYTICS_RULE (gst_ufo_analytics_rule_get_type())

/**
 * GstUfoAnalyticsEventType:
 * @GST_UFO_ANALYTICS_EVENT_LINE_CROSSED: a track crossed a line ("line-crossed")
 * @GST_UFO_ANALYTICS_EVENT_ZONE_ENTERED: a track entered a zone ("zone-entered")
 * @GST_UFO_ANALYTICS_EVENT_ZONE_LEFT: a track left a zone ("zone-left")
 *
 * Since: 0.1
 */
typedef enum {
  GST_UFO_ANALYTICS_EVENT_LINE_CROSSED = 0,
  GST_UFO_ANALYTICS_EVENT_ZONE_ENTERED = 1,
  GST_UFO_ANALYTICS_EVENT_ZONE_LEFT = 2,
} GstUfoAnalyticsEventType;

/**
 * GstUfoAnalyticsEvent:
 * @type: what happened
 * @rule: index of the rule (gst_ufo_analytics_meta_get_rule())
 * @direction: line crossings: +1 "in", −1 "out"; zones: 0
 * @track_id: the track (GstUfoObject.track_id)
 * @label_id: class id of the object, -1 = none
 * @label: (nullable): class name of the object, an interned string
 *
 * Since: 0.1
 */
typedef struct {
  GstUfoAnalyticsEventType type;
  guint rule;
  gint direction;
  guint64 track_id;
  gint label_id;
  const gchar *label;
} GstUfoAnalyticsEvent;

UFO_API GType gst_ufo_analytics_event_get_type(void);
/**
 * GST_TYPE_UFO_ANALYTICS_EVENT:
 *
 * The boxed #GType of #GstUfoAnalyticsEvent (for language bindings).
 *
 * Since: 0.1
 */
#define GST_TYPE_UFO_ANALYTICS_EVENT (gst_ufo_analytics_event_get_type())

/**
 * GstUfoAnalyticsMeta:
 * @meta: parent #GstMeta
 * @width: width in pixels of the frame the rule points refer to
 * @height: height in pixels of the frame the rule points refer to
 *
 * Analytics results of one frame; rules and events are read with the accessors. Tags: video,
 * size, orientation.
 *
 * Since: 0.1
 */
typedef struct {
  GstMeta meta;
  gint width, height;
  /*< private >*/
  GArray *rules;  /* GstUfoAnalyticsRule, points owned */
  GArray *events; /* GstUfoAnalyticsEvent */
} GstUfoAnalyticsMeta;

UFO_API GType gst_ufo_analytics_meta_api_get_type(void);
/**
 * GST_UFO_ANALYTICS_META_API_TYPE:
 *
 * The #GType of the #GstUfoAnalyticsMeta API ("GstUfoAnalyticsMetaAPI").
 *
 * Since: 0.1
 */
#define GST_UFO_ANALYTICS_META_API_TYPE (gst_ufo_analytics_meta_api_get_type())
UFO_API const GstMetaInfo *gst_ufo_analytics_meta_get_info(void);
/**
 * GST_UFO_ANALYTICS_META_INFO:
 *
 * The #GstMetaInfo of #GstUfoAnalyticsMeta.
 *
 * Since: 0.1
 */
#define GST_UFO_ANALYTICS_META_INFO (gst_ufo_analytics_meta_get_info())

UFO_API GstUfoAnalyticsMeta *gst_buffer_get_ufo_analytics_meta(GstBuffer *buffer);
UFO_API GstUfoAnalyticsMeta *gst_buffer_add_ufo_analytics_meta(GstBuffer *buffer, gint width,
                                                               gint height);
UFO_API guint gst_ufo_analytics_meta_add_rule(GstUfoAnalyticsMeta *meta,
                                              const GstUfoAnalyticsRule *rule);
UFO_API gboolean gst_ufo_analytics_meta_add_event(GstUfoAnalyticsMeta *meta,
                                                  const GstUfoAnalyticsEvent *event);
UFO_API guint gst_ufo_analytics_meta_get_n_rules(const GstUfoAnalyticsMeta *meta);
UFO_API gboolean gst_ufo_analytics_meta_get_rule(const GstUfoAnalyticsMeta *meta, guint index,
                                                 GstUfoAnalyticsRule *rule);
UFO_API const gfloat *gst_ufo_analytics_meta_get_rule_points(const GstUfoAnalyticsMeta *meta,
                                                             guint index, guint *n_values);
UFO_API guint gst_ufo_analytics_meta_get_n_events(const GstUfoAnalyticsMeta *meta);
UFO_API gboolean gst_ufo_analytics_meta_get_event(const GstUfoAnalyticsMeta *meta, guint index,
                                                  GstUfoAnalyticsEvent *event);
UFO_API const gchar *gst_ufo_analytics_event_type_get_name(GstUfoAnalyticsEventType type);

G_END_DECLS

#endif /* GST_UFO_ANALYTICS_META_H */
