/* Blending the overlay's premultiplied ARGB32 surface (cairo, native endian) onto a video frame
 * in place, touching only the pixels it paints (ufooverlay.c). */
#pragma once

#include <gst/video/video.h>

G_BEGIN_DECLS

/* Blends the (w, h) ARGB32 block at argb (stride bytes a row), placed at (x, y) of frame and
 * clipped to it, with the bits gst_video_overlay_composition_blend gives for the same block as
 * one premultiplied rectangle: RGB, BGR and 8-bit 4:2:0 (I420, YV12, NV12, NV21). FALSE for
 * other formats (nothing written): the caller blends through GStreamer. */
gboolean gst_ufo_blend_argb(GstVideoFrame *frame, const guint8 *argb, gint stride, gint x, gint y,
                            gint w, gint h);

G_END_DECLS
