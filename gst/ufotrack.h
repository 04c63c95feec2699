/* ufotrack: multi-object tracking of ufodetect / ufoseg results (ByteTrack-style). */
#ifndef GST_UFO_TRACK_H
#define GST_UFO_TRACK_H

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_UFO_TRACK (gst_ufo_track_get_type())
G_DECLARE_FINAL_TYPE(GstUfoTrack, gst_ufo_track, GST, UFO_TRACK, GstBaseTransform)
GST_ELEMENT_REGISTER_DECLARE(ufotrack);

G_END_DECLS

#endif
