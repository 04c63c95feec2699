/* ufometapublish: publishes each frame's JSON document (gvametapublish) from a bounded queue. */
#ifndef GST_UFO_META_PUBLISH_H
#define GST_UFO_META_PUBLISH_H

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

typedef enum {
  GST_UFO_PUBLISH_METHOD_FILE = 0,
  GST_UFO_PUBLISH_METHOD_MQTT = 1,
  GST_UFO_PUBLISH_METHOD_REDIS = 2,
} GstUfoPublishMethod;

#define GST_TYPE_UFO_PUBLISH_METHOD (gst_ufo_publish_method_get_type())
GType gst_ufo_publish_method_get_type(void);

#define GST_TYPE_UFO_META_PUBLISH (gst_ufo_meta_publish_get_type())
G_DECLARE_FINAL_TYPE(GstUfoMetaPublish, gst_ufo_meta_publish, GST, UFO_META_PUBLISH,
                     GstBaseTransform)
GST_ELEMENT_REGISTER_DECLARE(ufometapublish);

G_END_DECLS

#endif
