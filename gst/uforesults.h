/* Engine UfoResult → GstUfoResults, with the elements' score/class filters applied. */
#ifndef GST_UFO_RESULTS_CONVERT_H
#define GST_UFO_RESULTS_CONVERT_H

#include <gst/ufo/ufometa.h>
#include <ufo/ufo.h>

#include "class_filter.h"

G_BEGIN_DECLS

/* Converts an engine result for a width x height frame: filter, keep the max_detections best
 * (highest score first), masks as GRAY8 probabilities (the engine's bytes of a UFO_MASK_GRAY8
 * request are taken over: those objects' mask->gray are NULL afterwards; float masks are
 * quantised as the engine does), semantic map as GRAY8/GRAY16_LE ids. Never fails; the
 * returned block is writable. */
GstUfoResults *gst_ufo_results_from_engine(UfoResult *result, gint width, gint height,
                                           const GstUfoFilter *filter, const gchar *prompt);

/* The meta ufotrack and ufoanalytics work on: that of producer unique_id (>= 0), else the first
 * one whose task has objects (detection, grounding, instance); NULL when there is none. */
GstUfoMeta *gst_ufo_find_object_meta(GstBuffer *buf, gint unique_id);

G_END_DECLS

#endif
