/* The class filter of ufodetect, ufoseg and ufooverlay: the `threshold`, `class-thresholds`,
 * `classes` and `max-detections` properties parsed into one struct, checked against a task's
 * label set and applied per object (anchors §6.1). GLib only, no GStreamer: the element code
 * (gst/uforesults.c, gst/ufoinfer.c, gst/ufooverlay.c) and tests/fuzz/fuzz_properties.c link it. */
#ifndef GST_UFO_CLASS_FILTER_H
#define GST_UFO_CLASS_FILTER_H

#include <glib.h>

G_BEGIN_DECLS

/* Parsed `threshold`, `class-thresholds`, `classes` and `max-detections` (anchors §6.1). */
typedef struct {
  gdouble threshold;        /* < 0 = keep what the engine returns */
  GArray *class_thresholds; /* GstUfoClassValue; NULL = none */
  GArray *classes;          /* GstUfoClassValue (value unused); NULL = all classes */
  guint max_detections;     /* 0 = no extra cap here (the engine applies its default) */
} GstUfoFilter;

typedef struct {
  gchar *name; /* class name, or NULL when given as a number */
  gint id;     /* class id, or -1 when given as a name */
  gdouble value;
} GstUfoClassValue;

void gst_ufo_filter_init(GstUfoFilter *filter);
void gst_ufo_filter_clear(GstUfoFilter *filter);
/* "person=0.5,car=0.35" (names or ids, values 0..1). Empty/NULL = none. */
gboolean gst_ufo_filter_set_class_thresholds(GstUfoFilter *filter, const gchar *spec,
                                             GError **error);
/* "person,car,2" (names or ids). Empty/NULL = all. */
gboolean gst_ufo_filter_set_classes(GstUfoFilter *filter, const gchar *spec, GError **error);
/* Checks every name and id of the class lists against a task's label set (n_labels names):
 * FALSE naming the first unknown entry, the property it is in, and the valid names (the first
 * ones in error->message; all of them are in *all_names when given, for debug output). */
gboolean gst_ufo_filter_check_labels(const GstUfoFilter *filter, const gchar *const *labels,
                                     gint n_labels, gchar **all_names, GError **error);
/* Whether an object passes the class list and its (class or global) threshold. */
gboolean gst_ufo_filter_accepts(const GstUfoFilter *filter, gint label_id, const gchar *label,
                                gdouble score);

/* The cap to pass to the engine (UfoRequest.max_detections): max_detections while no class or
 * threshold filter is set; 0 (every object the model keeps) otherwise, since the filters run
 * after the engine and max_detections must keep the best objects that pass them. */
guint gst_ufo_filter_engine_cap(const GstUfoFilter *filter);

G_END_DECLS

#endif
