/* GstUfoAnalyticsMeta: line-crossing and zone results (see gst/ufo/ufoanalyticsmeta.h). */
#include "ufo/ufoanalyticsmeta.h"

#include <math.h>

GST_DEBUG_CATEGORY_STATIC(ufoanalyticsmeta_debug);
#define GST_CAT_DEFAULT ufoanalyticsmeta_debug

/* shallow copies: names and labels are interned, rule points stay owned by the meta */
static gpointer rule_copy(gpointer p)
{
  return g_memdup2(p, sizeof(GstUfoAnalyticsRule));
}

static gpointer event_copy(gpointer p)
{
  return g_memdup2(p, sizeof(GstUfoAnalyticsEvent));
}

G_DEFINE_BOXED_TYPE(GstUfoAnalyticsRule, gst_ufo_analytics_rule, rule_copy, g_free)
G_DEFINE_BOXED_TYPE(GstUfoAnalyticsEvent, gst_ufo_analytics_event, event_copy, g_free)

static void rule_clear(gpointer p)
{
  GstUfoAnalyticsRule *r = p;
  g_free((gpointer)r->points);
  r->points = NULL;
}

GType gst_ufo_analytics_meta_api_get_type(void)
{
  static gsize type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                GST_META_TAG_VIDEO_ORIENTATION_STR, NULL};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstUfoAnalyticsMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

static gboolean analytics_meta_init(GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstUfoAnalyticsMeta *m = (GstUfoAnalyticsMeta *)meta;
  m->width = m->height = 0;
  m->rules = g_array_new(FALSE, TRUE, sizeof(GstUfoAnalyticsRule));
  g_array_set_clear_func(m->rules, rule_clear);
  m->events = g_array_new(FALSE, TRUE, sizeof(GstUfoAnalyticsEvent));
  return TRUE;
}

static void analytics_meta_free(GstMeta *meta, GstBuffer *buffer)
{
  GstUfoAnalyticsMeta *m = (GstUfoAnalyticsMeta *)meta;
  g_clear_pointer(&m->rules, g_array_unref);
  g_clear_pointer(&m->events, g_array_unref);
}

static gboolean analytics_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *buffer,
                                         GQuark type, gpointer data)
{
  GstUfoAnalyticsMeta *src = (GstUfoAnalyticsMeta *)meta;
  gdouble sx = 1, sy = 1;
  gint width = src->width, height = src->height;
  if (GST_META_TRANSFORM_IS_COPY(type)) {
  } else if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
    GstVideoMetaTransform *t = data;
    gint in_w = GST_VIDEO_INFO_WIDTH(t->in_info), in_h = GST_VIDEO_INFO_HEIGHT(t->in_info);
    gint out_w = GST_VIDEO_INFO_WIDTH(t->out_info), out_h = GST_VIDEO_INFO_HEIGHT(t->out_info);
    if (in_w <= 0 || in_h <= 0 || out_w <= 0 || out_h <= 0)
      return FALSE;
    sx = (gdouble)out_w / in_w;
    sy = (gdouble)out_h / in_h;
    width = (gint)llround(src->width * sx);
    height = (gint)llround(src->height * sy);
  } else {
    return FALSE; /* rotation and unknown transforms: drop rather than keep wrong points */
  }
  GstUfoAnalyticsMeta *d = gst_buffer_add_ufo_analytics_meta(dest, width, height);
  if (!d)
    return FALSE;
  for (guint i = 0; i < src->rules->len; i++) {
    GstUfoAnalyticsRule r = g_array_index(src->rules, GstUfoAnalyticsRule, i);
    gfloat *p = g_new(gfloat, 2 * MAX(r.n_points, 1));
    for (guint k = 0; k < r.n_points; k++) {
      p[2 * k] = (gfloat)(r.points[2 * k] * sx);
      p[2 * k + 1] = (gfloat)(r.points[2 * k + 1] * sy);
    }
    r.points = p;
    gst_ufo_analytics_meta_add_rule(d, &r);
    g_free(p);
  }
  g_array_append_vals(d->events, src->events->data, src->events->len);
  return TRUE;
}

const GstMetaInfo *gst_ufo_analytics_meta_get_info(void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter((GstMetaInfo **)&info)) {
    GST_DEBUG_CATEGORY_INIT(ufoanalyticsmeta_debug, "ufoanalyticsmeta", 0,
                            "UFO line-crossing and zone metadata");
    const GstMetaInfo *mi = gst_meta_register(
        GST_UFO_ANALYTICS_META_API_TYPE, "GstUfoAnalyticsMeta", sizeof(GstUfoAnalyticsMeta),
        analytics_meta_init, analytics_meta_free, analytics_meta_transform);
    g_once_init_leave((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

/**
 * gst_buffer_add_ufo_analytics_meta:
 * @buffer: a writable #GstBuffer
 * @width: width in pixels of the frame the rule points refer to
 * @height: height in pixels of that frame
 *
 * Attaches an empty #GstUfoAnalyticsMeta; fill it with gst_ufo_analytics_meta_add_rule() and
 * gst_ufo_analytics_meta_add_event().
 *
 * Returns: (transfer none) (nullable): the meta, or %NULL when @buffer is not writable.
 *
 * Since: 0.1
 */
GstUfoAnalyticsMeta *gst_buffer_add_ufo_analytics_meta(GstBuffer *buffer, gint width, gint height)
{
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), NULL);
  GstUfoAnalyticsMeta *m =
      (GstUfoAnalyticsMeta *)gst_buffer_add_meta(buffer, GST_UFO_ANALYTICS_META_INFO, NULL);
  if (m) {
    m->width = width;
    m->height = height;
  }
  return m;
}

/**
 * gst_buffer_get_ufo_analytics_meta:
 * @buffer: a #GstBuffer
 *
 * A function (not a macro) so that language bindings can call it: from Python
 * `GstUfo.buffer_get_ufo_analytics_meta(buf)`.
 *
 * Returns: (nullable) (transfer none): the first #GstUfoAnalyticsMeta on @buffer.
 *
 * Since: 0.1
 */
GstUfoAnalyticsMeta *gst_buffer_get_ufo_analytics_meta(GstBuffer *buffer)
{
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  return (GstUfoAnalyticsMeta *)gst_buffer_get_meta(buffer, GST_UFO_ANALYTICS_META_API_TYPE);
}

/**
 * gst_ufo_analytics_meta_add_rule:
 * @meta: a #GstUfoAnalyticsMeta
 * @rule: the rule and its counts; name and points are copied
 *
 * Returns: the index of the rule, or G_MAXUINT when @rule is invalid (no name, a line without
 * exactly 2 points, a zone with fewer than 3).
 *
 * Since: 0.1
 */
guint gst_ufo_analytics_meta_add_rule(GstUfoAnalyticsMeta *meta, const GstUfoAnalyticsRule *rule)
{
  g_return_val_if_fail(meta && rule, G_MAXUINT);
  g_return_val_if_fail(rule->name && rule->points, G_MAXUINT);
  g_return_val_if_fail(rule->kind == GST_UFO_ANALYTICS_RULE_LINE ? rule->n_points == 2
                                                                 : rule->n_points >= 3,
                       G_MAXUINT);
  GstUfoAnalyticsRule r = *rule;
  r.name = g_intern_string(rule->name);
  r.points = g_memdup2(rule->points, sizeof(gfloat) * 2 * rule->n_points);
  g_array_append_val(meta->rules, r);
  return meta->rules->len - 1;
}

/**
 * gst_ufo_analytics_meta_add_event:
 * @meta: a #GstUfoAnalyticsMeta
 * @event: the event; its rule must have been added already
 *
 * Returns: %TRUE when added.
 *
 * Since: 0.1
 */
gboolean gst_ufo_analytics_meta_add_event(GstUfoAnalyticsMeta *meta,
                                          const GstUfoAnalyticsEvent *event)
{
  g_return_val_if_fail(meta && event, FALSE);
  g_return_val_if_fail(event->rule < meta->rules->len, FALSE);
  GstUfoAnalyticsEvent e = *event;
  e.label = event->label ? g_intern_string(event->label) : NULL;
  g_array_append_val(meta->events, e);
  return TRUE;
}

/**
 * gst_ufo_analytics_meta_get_n_rules:
 * @meta: a #GstUfoAnalyticsMeta
 *
 * Returns: the number of rules.
 *
 * Since: 0.1
 */
guint gst_ufo_analytics_meta_get_n_rules(const GstUfoAnalyticsMeta *meta)
{
  g_return_val_if_fail(meta, 0);
  return meta->rules->len;
}

/**
 * gst_ufo_analytics_meta_get_rule:
 * @meta: a #GstUfoAnalyticsMeta
 * @index: rule index
 * @rule: (out caller-allocates): the rule; its points stay valid while @meta lives
 *
 * Returns: %FALSE when @index is out of range.
 *
 * Since: 0.1
 */
gboolean gst_ufo_analytics_meta_get_rule(const GstUfoAnalyticsMeta *meta, guint index,
                                         GstUfoAnalyticsRule *rule)
{
  g_return_val_if_fail(meta && rule, FALSE);
  if (index >= meta->rules->len)
    return FALSE;
  *rule = g_array_index(meta->rules, GstUfoAnalyticsRule, index);
  return TRUE;
}

/**
 * gst_ufo_analytics_meta_get_rule_points:
 * @meta: a #GstUfoAnalyticsMeta
 * @index: rule index
 * @n_values: (out): number of floats: 2 × the rule's number of points
 *
 * The rule's points for language bindings (#GstUfoAnalyticsRule.points as an array).
 *
 * Returns: (transfer none) (array length=n_values) (nullable): x, y pairs in frame pixels,
 * %NULL when @index is out of range.
 *
 * Since: 0.1
 */
const gfloat *gst_ufo_analytics_meta_get_rule_points(const GstUfoAnalyticsMeta *meta, guint index,
                                                     guint *n_values)
{
  g_return_val_if_fail(meta && n_values, NULL);
  *n_values = 0;
  if (index >= meta->rules->len)
    return NULL;
  const GstUfoAnalyticsRule *r = &g_array_index(meta->rules, GstUfoAnalyticsRule, index);
  *n_values = 2 * r->n_points;
  return r->points;
}

/**
 * gst_ufo_analytics_meta_get_n_events:
 * @meta: a #GstUfoAnalyticsMeta
 *
 * Returns: the number of events of this frame.
 *
 * Since: 0.1
 */
guint gst_ufo_analytics_meta_get_n_events(const GstUfoAnalyticsMeta *meta)
{
  g_return_val_if_fail(meta, 0);
  return meta->events->len;
}

/**
 * gst_ufo_analytics_meta_get_event:
 * @meta: a #GstUfoAnalyticsMeta
 * @index: event index
 * @event: (out caller-allocates): the event
 *
 * Returns: %FALSE when @index is out of range.
 *
 * Since: 0.1
 */
gboolean gst_ufo_analytics_meta_get_event(const GstUfoAnalyticsMeta *meta, guint index,
                                          GstUfoAnalyticsEvent *event)
{
  g_return_val_if_fail(meta && event, FALSE);
  if (index >= meta->events->len)
    return FALSE;
  *event = g_array_index(meta->events, GstUfoAnalyticsEvent, index);
  return TRUE;
}

/**
 * gst_ufo_analytics_event_type_get_name:
 * @type: an event type
 *
 * Returns: "line-crossed", "zone-entered" or "zone-left" (the names of the bus message
 * structures and of the JSON events), "unknown" otherwise.
 *
 * Since: 0.1
 */
const gchar *gst_ufo_analytics_event_type_get_name(GstUfoAnalyticsEventType type)
{
  switch (type) {
  case GST_UFO_ANALYTICS_EVENT_LINE_CROSSED:
    return "line-crossed";
  case GST_UFO_ANALYTICS_EVENT_ZONE_ENTERED:
    return "zone-entered";
  case GST_UFO_ANALYTICS_EVENT_ZONE_LEFT:
    return "zone-left";
  }
  return "unknown";
}
