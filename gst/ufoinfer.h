/* GstUfoInfer: abstract base of ufodetect and ufoseg. It owns everything the two share:
 * the common properties (anchors §6.1), model loading through the cache at READY→PAUSED, the
 * engine session (made in set_caps), frame conversion, inference-interval / reuse-results /
 * late-frames logic, result filtering and metadata attachment. Subclasses add the `task`
 * property with their own enum and any task-specific property. */
#ifndef GST_UFO_INFER_H
#define GST_UFO_INFER_H

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>
#include <ufo/ufo.h>

#include "ufoenums.h"
#include "ufoframe.h"
#include "uforesults.h"

G_BEGIN_DECLS

#define GST_TYPE_UFO_INFER (gst_ufo_infer_get_type())
G_DECLARE_DERIVABLE_TYPE(GstUfoInfer, gst_ufo_infer, GST, UFO_INFER, GstBaseTransform)

struct _GstUfoInferClass {
  GstBaseTransformClass parent_class;
  GstDebugCategory *debug; /* the subclass's category (ufodetect, ufoseg) */
};

/* Task, prompt and mask threshold live in the base so one code path builds the request; the
 * subclasses expose them as properties through these setters/getters (object lock taken). */
void gst_ufo_infer_set_task(GstUfoInfer *self, UfoTask task);
UfoTask gst_ufo_infer_get_task(GstUfoInfer *self);
void gst_ufo_infer_set_prompt(GstUfoInfer *self, const gchar *prompt);
gchar *gst_ufo_infer_dup_prompt(GstUfoInfer *self);
void gst_ufo_infer_set_mask_threshold(GstUfoInfer *self, gdouble threshold);
gdouble gst_ufo_infer_get_mask_threshold(GstUfoInfer *self);
void gst_ufo_infer_set_instance_boxes(GstUfoInfer *self, UfoInstanceBoxes boxes);
UfoInstanceBoxes gst_ufo_infer_get_instance_boxes(GstUfoInfer *self);

#define GST_UFO_DEFAULT_MASK_THRESHOLD 0.5

/* Caps shared by both elements' pads. */
#define GST_UFO_INFER_CAPS GST_VIDEO_CAPS_MAKE("{ RGB, BGR, RGBA, BGRA, RGBx, BGRx, I420, NV12 }")

G_END_DECLS

#endif
