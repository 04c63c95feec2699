/* The elements' class filter (class_filter.h): property parsing, label checks, acceptance. */
#include "class_filter.h"

#include <ufo/ufo.h>

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
