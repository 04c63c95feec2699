/* ufodetect: UFO-ViT detection, grounding and captioning as an in-place analyzer. */
#ifndef GST_UFO_DETECT_H
#define GST_UFO_DETECT_H

#include "ufoinfer.h"

G_BEGIN_DECLS

#define GST_TYPE_UFO_DETECT (gst_ufo_detect_get_type())
G_DECLARE_FINAL_TYPE(GstUfoDetect, gst_ufo_detect, GST, UFO_DETECT, GstUfoInfer)
GST_ELEMENT_REGISTER_DECLARE(ufodetect);

G_END_DECLS

#endif
