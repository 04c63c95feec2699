/* Video frame → engine image. */
#include "ufoframe.h"

#include <string.h>

void gst_ufo_scratch_clear(GstUfoScratch *scratch)
{
  g_clear_pointer(&scratch->data, g_free);
  scratch->size = 0;
}

static gboolean packed_format(GstVideoFormat f, UfoPixelFormat *out)
{
  switch (f) {
  case GST_VIDEO_FORMAT_RGB:
    *out = UFO_PIXEL_RGB;
    return TRUE;
  case GST_VIDEO_FORMAT_BGR:
    *out = UFO_PIXEL_BGR;
    return TRUE;
  case GST_VIDEO_FORMAT_RGBA:
    *out = UFO_PIXEL_RGBA;
    return TRUE;
  case GST_VIDEO_FORMAT_BGRA:
    *out = UFO_PIXEL_BGRA;
    return TRUE;
  case GST_VIDEO_FORMAT_RGBx:
    *out = UFO_PIXEL_RGBX;
    return TRUE;
  case GST_VIDEO_FORMAT_BGRx:
    *out = UFO_PIXEL_BGRX;
    return TRUE;
  default:
    return FALSE;
  }
}

gboolean gst_ufo_frame_format_supported(GstVideoFormat format)
{
  UfoPixelFormat p;
  return packed_format(format, &p) || format == GST_VIDEO_FORMAT_I420 ||
         format == GST_VIDEO_FORMAT_NV12;
}

static inline guint8 clamp_u8(gint v)
{
  return (guint8)(v < 0 ? 0 : (v > 255 ? 255 : v));
}

void gst_ufo_yuv420_to_rgb(const guint8 *y, gint y_stride, const guint8 *u, const guint8 *v,
                           gint uv_stride, gint uv_step, gint width, gint height,
                           GstVideoColorMatrix matrix, GstVideoColorRange range, guint8 *rgb,
                           gint rgb_stride)
{
  gdouble kr, kb;
  if (!gst_video_color_matrix_get_Kr_Kb(matrix, &kr, &kb))
    gst_video_color_matrix_get_Kr_Kb(GST_VIDEO_COLOR_MATRIX_BT601, &kr, &kb);
  const gdouble kg = 1.0 - kr - kb;
  const gboolean full = range == GST_VIDEO_COLOR_RANGE_0_255;
  /* limited range: Y' = (Y-16)/219, Cb,Cr = (C-128)/224; full range: /255 (ITU-R BT.601 §2.5) */
  const gdouble ys = full ? 1.0 : 255.0 / 219.0, cs = full ? 1.0 : 255.0 / 224.0;
  const gint yoff = full ? 0 : 16;
  /* R = Y + 2(1-Kr)Cr, B = Y + 2(1-Kb)Cb, G = Y - (2Kb(1-Kb)Cb + 2Kr(1-Kr)Cr)/Kg, in 16.16 */
  const gint cy = (gint)(ys * 65536.0 + 0.5);
  const gint crv = (gint)(2.0 * (1.0 - kr) * cs * 65536.0 + 0.5);
  const gint cbu = (gint)(2.0 * (1.0 - kb) * cs * 65536.0 + 0.5);
  const gint cgu = (gint)(2.0 * kb * (1.0 - kb) / kg * cs * 65536.0 + 0.5);
  const gint cgv = (gint)(2.0 * kr * (1.0 - kr) / kg * cs * 65536.0 + 0.5);
  for (gint j = 0; j < height; j++) {
    const guint8 *yr = y + (gsize)j * y_stride;
    const guint8 *ur = u + (gsize)(j / 2) * uv_stride, *vr = v + (gsize)(j / 2) * uv_stride;
    guint8 *out = rgb + (gsize)j * rgb_stride;
    for (gint i = 0; i < width; i++) {
      /* 4:2:0: one chroma sample per 2x2 block (nearest, no interpolation) */
      const gint du = ur[(i / 2) * uv_step] - 128, dv = vr[(i / 2) * uv_step] - 128;
      const gint yy = (yr[i] - yoff) * cy + 32768;
      out[3 * i + 0] = clamp_u8((yy + crv * dv) >> 16);
      out[3 * i + 1] = clamp_u8((yy - cgu * du - cgv * dv) >> 16);
      out[3 * i + 2] = clamp_u8((yy + cbu * du) >> 16);
    }
  }
}

gboolean gst_ufo_frame_to_image(const GstVideoFrame *frame, GstUfoScratch *scratch, UfoImage *image,
                                GError **error)
{
  const GstVideoInfo *info = &frame->info;
  const GstVideoFormat f = GST_VIDEO_INFO_FORMAT(info);
  const gint w = GST_VIDEO_INFO_WIDTH(info), h = GST_VIDEO_INFO_HEIGHT(info);
  memset(image, 0, sizeof *image); /* host memory, no chroma planes */
  image->width = w;
  image->height = h;
  if (packed_format(f, &image->format)) {
    image->data = GST_VIDEO_FRAME_PLANE_DATA(frame, 0);
    image->stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
    return TRUE;
  }
  if (f != GST_VIDEO_FORMAT_I420 && f != GST_VIDEO_FORMAT_NV12) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "unsupported video format %s",
                gst_video_format_to_string(f));
    return FALSE;
  }
  const gsize stride = (gsize)w * 3, need = stride * h;
  if (scratch->size < need) {
    g_free(scratch->data);
    scratch->data = g_malloc(need);
    scratch->size = need;
  }
  const GstVideoColorimetry *c = &info->colorimetry;
  const GstVideoColorMatrix m =
      (c->matrix == GST_VIDEO_COLOR_MATRIX_BT709 || c->matrix == GST_VIDEO_COLOR_MATRIX_BT2020 ||
       c->matrix == GST_VIDEO_COLOR_MATRIX_SMPTE240M || c->matrix == GST_VIDEO_COLOR_MATRIX_FCC)
          ? c->matrix
          : GST_VIDEO_COLOR_MATRIX_BT601;
  const GstVideoColorRange r =
      c->range == GST_VIDEO_COLOR_RANGE_0_255 ? c->range : GST_VIDEO_COLOR_RANGE_16_235;
  const guint8 *yp = GST_VIDEO_FRAME_PLANE_DATA(frame, 0);
  const gint ys = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  if (f == GST_VIDEO_FORMAT_I420) {
    gst_ufo_yuv420_to_rgb(
        yp, ys, GST_VIDEO_FRAME_PLANE_DATA(frame, 1), GST_VIDEO_FRAME_PLANE_DATA(frame, 2),
        GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1), 1, w, h, m, r, scratch->data, stride);
  } else {
    const guint8 *uv = GST_VIDEO_FRAME_PLANE_DATA(frame, 1);
    gst_ufo_yuv420_to_rgb(yp, ys, uv, uv + 1, GST_VIDEO_FRAME_PLANE_STRIDE(frame, 1), 2, w, h, m, r,
                          scratch->data, stride);
  }
  image->format = UFO_PIXEL_RGB;
  image->data = scratch->data;
  image->stride = stride;
  return TRUE;
}

gboolean gst_ufo_frame_wrap(const GstVideoFrame *frame, UfoImage *image, GError **error)
{
  const GstVideoInfo *info = &frame->info;
  const GstVideoFormat f = GST_VIDEO_INFO_FORMAT(info);
  memset(image, 0, sizeof *image);
  image->width = GST_VIDEO_INFO_WIDTH(info);
  image->height = GST_VIDEO_INFO_HEIGHT(info);
  image->data = GST_VIDEO_FRAME_PLANE_DATA(frame, 0);
  image->stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame, 0);
  if (packed_format(f, &image->format))
    return TRUE;
  if (f != GST_VIDEO_FORMAT_I420 && f != GST_VIDEO_FORMAT_NV12) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "unsupported video format %s",
                gst_video_format_to_string(f));
    return FALSE;
  }
  image->format = f == GST_VIDEO_FORMAT_I420 ? UFO_PIXEL_I420 : UFO_PIXEL_NV12;
  for (int p = 0; p < (f == GST_VIDEO_FORMAT_I420 ? 2 : 1); p++) {
    image->planes[p] = GST_VIDEO_FRAME_PLANE_DATA(frame, p + 1);
    image->plane_stride[p] = GST_VIDEO_FRAME_PLANE_STRIDE(frame, p + 1);
  }
  /* the caps' colorimetry, as gst_ufo_frame_to_image converts it */
  const GstVideoColorimetry *c = &info->colorimetry;
  switch (c->matrix) {
  case GST_VIDEO_COLOR_MATRIX_BT709:
    image->matrix = UFO_COLOR_MATRIX_BT709;
    break;
  case GST_VIDEO_COLOR_MATRIX_BT2020:
    image->matrix = UFO_COLOR_MATRIX_BT2020;
    break;
  case GST_VIDEO_COLOR_MATRIX_SMPTE240M:
    image->matrix = UFO_COLOR_MATRIX_SMPTE240M;
    break;
  case GST_VIDEO_COLOR_MATRIX_FCC:
    image->matrix = UFO_COLOR_MATRIX_FCC;
    break;
  default:
    image->matrix = UFO_COLOR_MATRIX_BT601;
  }
  image->range =
      c->range == GST_VIDEO_COLOR_RANGE_0_255 ? UFO_COLOR_RANGE_FULL : UFO_COLOR_RANGE_LIMITED;
  return TRUE;
}
