/* ufometaconvert: one JSON document per frame from the UFO-ViT metadata (gvametaconvert). */
#ifndef GST_UFO_META_CONVERT_H
#define GST_UFO_META_CONVERT_H

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_UFO_META_CONVERT (gst_ufo_meta_convert_get_type())
G_DECLARE_FINAL_TYPE(GstUfoMetaConvert, gst_ufo_meta_convert, GST, UFO_META_CONVERT,
                     GstBaseTransform)
GST_ELEMENT_REGISTER_DECLARE(ufometaconvert);

G_END_DECLS

#endif
