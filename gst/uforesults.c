/* Engine UfoResult → GstUfoResults with filters. */
#include "uforesults.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void class_value_clear(gpointer p)
{
  g_free(((GstUfoClassValue *)p)->name);
}

void gst_ufo_filter_init(GstUfoFilter *filter)
{
  memset(filter, 0, sizeof *filter);
  filter->threshold = -1.0;
}

void gst_ufo_filter_clear(GstUfoFilter *filter)
{
  g_clear_pointer(&filter->class_thresholds, g_array_unref);
  g_clear_pointer(&filter->classes, g_array_unref);
}

/* Parses "a=0.5,b,3=0.2" into entries; with_value says whether "=value" is required. */
static GArray *parse_list(const gchar *spec, gboolean with_value, const gchar *what, GError **error)
{
  GArray *out = g_array_new(FALSE, TRUE, sizeof(GstUfoClassValue));
  g_array_set_clear_func(out, class_value_clear);
  g_auto(GStrv) items = g_strsplit(spec, ",", -1);
  for (gchar **it = items; *it; it++) {
    gchar *item = g_strstrip(*it);
    if (!*item)
      continue;
    GstUfoClassValue cv = {NULL, -1, 0.0};
    gchar *eq = strchr(item, '=');
    if (with_value != (eq != NULL)) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                  with_value ? "%s: '%s' has no '=value' (expected e.g. person=0.5)"
                             : "%s: unexpected '=' in '%s' (expected names or ids)",
                  what, item);
      g_array_unref(out);
      return NULL;
    }
    if (eq) {
      *eq = '\0';
      gchar *end = NULL;
      cv.value = g_ascii_strtod(g_strstrip(eq + 1), &end);
      if (!end || *end || end == eq + 1 || !(cv.value >= 0.0 && cv.value <= 1.0)) {
        g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                    "%s: value '%s' for '%s' is not a number in 0..1", what, eq + 1, item);
        g_array_unref(out);
        return NULL;
      }
      item = g_strstrip(item);
    }
    guint64 id;
    if (g_ascii_string_to_unsigned(item, 10, 0, G_MAXINT, &id, NULL))
      cv.id = (gint)id;
    else if (*item)
      cv.name = g_strdup(item);
    else {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: empty class name", what);
      g_array_unref(out);
      return NULL;
    }
    g_array_append_val(out, cv);
  }
  if (out->len == 0) {
    g_array_unref(out);
    return NULL;
  }
  return out;
}

gboolean gst_ufo_filter_set_class_thresholds(GstUfoFilter *filter, const gchar *spec,
                                             GError **error)
{
  GError *err = NULL;
  GArray *a = spec ? parse_list(spec, TRUE, "class-thresholds", &err) : NULL;
  if (err) {
    g_propagate_error(error, err);
    return FALSE;
  }
  g_clear_pointer(&filter->class_thresholds, g_array_unref);
  filter->class_thresholds = a;
  return TRUE;
}

gboolean gst_ufo_filter_set_classes(GstUfoFilter *filter, const gchar *spec, GError **error)
{
  GError *err = NULL;
  GArray *a = spec ? parse_list(spec, FALSE, "classes", &err) : NULL;
  if (err) {
    g_propagate_error(error, err);
    return FALSE;
  }
  g_clear_pointer(&filter->classes, g_array_unref);
  filter->classes = a;
  return TRUE;
}

/* The first entry of list that names no class of labels, or NULL. */
static const GstUfoClassValue *unknown_entry(const GArray *list, const gchar *const *labels,
                                             gint n_labels)
{
  for (guint i = 0; list && i < list->len; i++) {
    const GstUfoClassValue *cv = &g_array_index(list, GstUfoClassValue, i);
    gboolean known = cv->id >= 0 && cv->id < n_labels;
    for (gint k = 0; cv->name && !known && k < n_labels; k++)
      known = labels[k] && strcmp(labels[k], cv->name) == 0;
    if (!known)
      return cv;
  }
  return NULL;
}

gboolean gst_ufo_filter_check_labels(const GstUfoFilter *filter, const gchar *const *labels,
                                     gint n_labels, gchar **all_names, GError **error)
{
  const gchar *what = "classes";
  const GstUfoClassValue *bad = unknown_entry(filter->classes, labels, n_labels);
  if (!bad) {
    what = "class-thresholds";
    bad = unknown_entry(filter->class_thresholds, labels, n_labels);
  }
  if (!bad)
    return TRUE;
  /* the valid names: up to 20 in the message, all of them for the debug output */
  const gint shown = MIN(n_labels, 20);
  GString *some = g_string_new(NULL), *all = g_string_new(NULL);
  for (gint k = 0; k < n_labels; k++) {
    if (k < shown)
      g_string_append_printf(some, "%s%s", k ? ", " : "", labels[k]);
    g_string_append_printf(all, "%s%s", k ? ", " : "", labels[k]);
  }
  if (n_labels > shown)
    g_string_append_printf(some, ", ... (%d in all)", n_labels);
  gchar *entry = bad->name ? g_strdup_printf("'%s'", bad->name) : g_strdup_printf("%d", bad->id);
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
              "%s: unknown class %s; the model's classes are %s (or ids 0..%d)", what, entry,
              some->str, n_labels - 1);
  g_free(entry);
  g_string_free(some, TRUE);
  if (all_names)
    *all_names = g_string_free(all, FALSE);
  else
    g_string_free(all, TRUE);
  return FALSE;
}

static const GstUfoClassValue *find_class(const GArray *list, gint label_id, const gchar *label)
{
  for (guint i = 0; list && i < list->len; i++) {
    const GstUfoClassValue *cv = &g_array_index(list, GstUfoClassValue, i);
    if ((cv->name && label && strcmp(cv->name, label) == 0) || (cv->id >= 0 && cv->id == label_id))
      return cv;
  }
  return NULL;
}

gboolean gst_ufo_filter_accepts(const GstUfoFilter *filter, gint label_id, const gchar *label,
                                gdouble score)
{
  if (filter->classes && !find_class(filter->classes, label_id, label))
    return FALSE;
  const GstUfoClassValue *ct = find_class(filter->class_thresholds, label_id, label);
  gdouble thr = ct ? ct->value : filter->threshold;
  return thr < 0.0 || score >= thr;
}

guint gst_ufo_filter_engine_cap(const GstUfoFilter *filter)
{
  const gboolean filtering =
      filter->classes || filter->class_thresholds || filter->threshold >= 0.0;
  return filtering ? 0 : filter->max_detections;
}

static int by_score_desc(const void *a, const void *b)
{
  const UfoObject *x = *(const UfoObject *const *)a, *y = *(const UfoObject *const *)b;
  if (x->score != y->score)
    return (x->score < y->score) - (x->score > y->score);
  return (x > y) - (x < y); /* ties keep the engine's order */
}

static void add_mask(GstUfoResults *res, guint index, const UfoMask *m)
{
  if (!m || !m->prob || m->width <= 0 || m->height <= 0)
    return;
  const gsize n = (gsize)m->width * m->height;
  guint8 *px = g_malloc(n);
  for (gsize i = 0; i < n; i++) {
    /* probability 0..1 stored in full as 0..255 (anchors §6.3: GRAY8 probabilities) */
    float p = m->prob[i];
    px[i] = (guint8)lrintf((p < 0.f ? 0.f : (p > 1.f ? 1.f : p)) * 255.f);
  }
  GBytes *b = g_bytes_new_take(px, n);
  GstUfoRect rect = {(gfloat)m->x, (gfloat)m->y, (gfloat)m->width, (gfloat)m->height};
  gst_ufo_results_set_mask(res, index, b, m->width, m->height, m->width, &rect);
  g_bytes_unref(b);
}

static void add_semantic(GstUfoResults *res, const UfoSemanticMap *s)
{
  if (!s || !s->labels || s->width <= 0 || s->height <= 0)
    return;
  const gsize n = (gsize)s->width * s->height;
  const gboolean wide = s->n_classes > 256;
  GBytes *b;
  if (wide) {
    guint16 *px = g_new(guint16, n);
    for (gsize i = 0; i < n; i++)
      px[i] = GUINT16_TO_LE(s->labels[i]);
    b = g_bytes_new_take(px, n * 2);
  } else {
    guint8 *px = g_malloc(n);
    for (gsize i = 0; i < n; i++)
      px[i] = (guint8)s->labels[i];
    b = g_bytes_new_take(px, n);
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  for (int i = 0; s->class_names && i < s->n_classes; i++)
    g_ptr_array_add(names, (gpointer)(s->class_names[i] ? s->class_names[i] : ""));
  g_ptr_array_add(names, NULL);
  GstUfoRect rect = {0, 0, (gfloat)s->width, (gfloat)s->height};
  gst_ufo_results_set_semantic_map(res, wide ? GST_VIDEO_FORMAT_GRAY16_LE : GST_VIDEO_FORMAT_GRAY8,
                                   b, s->width, s->height, wide ? s->width * 2 : s->width, &rect,
                                   (const gchar *const *)names->pdata);
  g_bytes_unref(b);
}

GstUfoResults *gst_ufo_results_from_engine(const UfoResult *result, gint width, gint height,
                                           const GstUfoFilter *filter, const gchar *prompt)
{
  GstUfoResults *res = gst_ufo_results_new(width, height);
  if (result->n_objects > 0) {
    const UfoObject **keep = g_new(const UfoObject *, result->n_objects);
    guint n = 0;
    for (int i = 0; i < result->n_objects; i++) {
      const UfoObject *o = &result->objects[i];
      if (gst_ufo_filter_accepts(filter, o->label_id, o->label, o->score))
        keep[n++] = o;
    }
    qsort(keep, n, sizeof *keep, by_score_desc);
    if (filter->max_detections && n > filter->max_detections)
      n = filter->max_detections;
    for (guint i = 0; i < n; i++) {
      const UfoObject *o = keep[i];
      guint idx = gst_ufo_results_add_object(res, o->label_id, o->label, o->score, o->x1, o->y1,
                                             o->x2 - o->x1, o->y2 - o->y1);
      add_mask(res, idx, o->mask);
    }
    g_free(keep);
  }
  if (result->caption)
    gst_ufo_results_set_caption(res, result->caption);
  add_semantic(res, result->semantic);
  if (prompt)
    gst_ufo_results_set_prompt(res, prompt);
  return res;
}

static gboolean has_objects_task(GQuark task)
{
  const gchar *t = g_quark_to_string(task);
  return t && (!strcmp(t, "detection") || !strcmp(t, "grounding") || !strcmp(t, "instance"));
}

GstUfoMeta *gst_ufo_find_object_meta(GstBuffer *buf, gint unique_id)
{
  if (unique_id >= 0)
    return gst_buffer_get_ufo_meta_for_producer(buf, (guint)unique_id);
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_UFO_META_API_TYPE)))
    if (has_objects_task(((GstUfoMeta *)m)->task))
      return (GstUfoMeta *)m;
  return NULL;
}
