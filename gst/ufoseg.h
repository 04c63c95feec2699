/* ufoseg: UFO-ViT instance and semantic segmentation as an in-place analyzer. */
#ifndef GST_UFO_SEG_H
#define GST_UFO_SEG_H

#include "ufoinfer.h"

G_BEGIN_DECLS

#define GST_TYPE_UFO_SEG (gst_ufo_seg_get_type())
G_DECLARE_FINAL_TYPE(GstUfoSeg, gst_ufo_seg, GST, UFO_SEG, GstUfoInfer)
GST_ELEMENT_REGISTER_DECLARE(ufoseg);

G_END_DECLS

#endif
