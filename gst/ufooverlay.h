/* ufooverlay: draws UFO-ViT results from metadata (anchors §6.2). */
#ifndef GST_UFO_OVERLAY_H
#define GST_UFO_OVERLAY_H

#include <gst/video/gstvideofilter.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_UFO_OVERLAY (gst_ufo_overlay_get_type())
G_DECLARE_FINAL_TYPE(GstUfoOverlay, gst_ufo_overlay, GST, UFO_OVERLAY, GstVideoFilter)
GST_ELEMENT_REGISTER_DECLARE(ufooverlay);

G_END_DECLS

#endif
