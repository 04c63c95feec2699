/* Video frame → engine image: borrowed as it is (gst_ufo_frame_wrap: the engine converts planar
 * YUV on its backend), or converted to packed RGB here (gst_ufo_frame_to_image). */
#ifndef GST_UFO_FRAME_H
#define GST_UFO_FRAME_H

#include <gst/video/video.h>
#include <ufo/ufo.h>

G_BEGIN_DECLS

/* Scratch memory reused across frames for converted pixels. */
typedef struct {
  guint8 *data;
  gsize size;
} GstUfoScratch;

void gst_ufo_scratch_clear(GstUfoScratch *scratch);

/* TRUE when the format is one the elements accept. */
gboolean gst_ufo_frame_format_supported(GstVideoFormat format);

/* Fills *image from a mapped frame. Packed RGB/BGR/RGBA/BGRA/RGBx/BGRx frames are borrowed as
 * they are; I420 and NV12 are converted to packed RGB in *scratch using the frame's colorimetry
 * (matrix BT.601 unless the caps say BT.709/BT.2020, range limited unless the caps say full).
 * image->data stays valid while the frame is mapped and scratch is untouched. */
gboolean gst_ufo_frame_to_image(const GstVideoFrame *frame, GstUfoScratch *scratch, UfoImage *image,
                                GError **error);

/* Fills *image from a mapped frame without copying any pixel: packed formats as they are, I420
 * and NV12 as planes with the caps' colorimetry (matrix BT.601 unless the caps say
 * BT.709/BT.2020/SMPTE 240M/FCC, range limited unless they say full), converted by the engine
 * on its backend with the arithmetic of gst_ufo_yuv420_to_rgb. Valid while the frame is mapped. */
gboolean gst_ufo_frame_wrap(const GstVideoFrame *frame, UfoImage *image, GError **error);

/* The conversion itself, exposed for tests: planar/semi-planar 4:2:0 YUV → packed RGB. */
void gst_ufo_yuv420_to_rgb(const guint8 *y, gint y_stride, const guint8 *u, const guint8 *v,
                           gint uv_stride, gint uv_step, gint width, gint height,
                           GstVideoColorMatrix matrix, GstVideoColorRange range, guint8 *rgb,
                           gint rgb_stride);

G_END_DECLS

#endif
