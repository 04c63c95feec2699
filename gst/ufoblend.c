/* gst_ufo_blend_argb: GStreamer's overlay blend (video-blend.c: per line, the frame's line
 * unpacked to ARGB or AYUV, each rectangle pixel blended, the line packed back) computed per
 * painted pixel instead of per frame line:
 * - RGB and BGR frames: a premultiplied source channel s over frame channel d:
 *   s + d·(255 − a) / 255 (integer division). (Four-byte RGB formats are left to GStreamer,
 *   which blends them with the frame's fourth byte as its alpha, padding included.)
 * - 4:2:0 frames: the source un-premultiplied (c·255 + a/2) / a, converted with GStreamer's
 *   fixed BT.709 studio-range integer matrix, then s·a + d·(255 − a) over 255 for Y at every
 *   pixel and for U, V at pixels of even column and even line (the sample the line packing
 *   keeps for a chroma pair: its first pixel on the chroma line). Transparent pixels leave
 *   every sample as it was. */
#include "ufoblend.h"

/* one source pixel: cairo ARGB32 in native endianness */
#define PA(p) ((p) >> 24)
#define PR(p) (((p) >> 16) & 0xFF)
#define PG(p) (((p) >> 8) & 0xFF)
#define PB(p) ((p)&0xFF)

static inline guint8 blend_pre(guint s, guint a, guint d)
{
  return (guint8)(s + (d * (255 - a)) / 255);
}

static inline guint8 blend_straight(gint s, guint a, guint d)
{
  return (guint8)(((guint)s * a + d * (255 - a)) / 255);
}

static inline gint clamp255(gint v)
{
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

static void blend_rgb(GstVideoFrame *f, const guint8 *argb, gint stride, gint x0, gint y0, gint x1,
                      gint y1, gint x, gint y)
{
  const GstVideoFormatInfo *fi = f->info.finfo;
  guint8 *base = GST_VIDEO_FRAME_PLANE_DATA(f, 0);
  const gint fs = GST_VIDEO_FRAME_PLANE_STRIDE(f, 0), ps = GST_VIDEO_FORMAT_INFO_PSTRIDE(fi, 0);
  const guint oR = GST_VIDEO_FORMAT_INFO_POFFSET(fi, 0), oG = GST_VIDEO_FORMAT_INFO_POFFSET(fi, 1),
              oB = GST_VIDEO_FORMAT_INFO_POFFSET(fi, 2);
  for (gint j = y0; j < y1; j++) {
    const guint32 *src = (const guint32 *)(argb + (gsize)(j - y) * stride) - x;
    guint8 *row = base + (gsize)j * fs;
    for (gint i = x0; i < x1; i++) {
      const guint32 p = src[i];
      if (!p)
        continue;
      guint8 *d = row + (gsize)i * ps;
      const guint a = PA(p);
      d[oR] = blend_pre(PR(p), a, d[oR]);
      d[oG] = blend_pre(PG(p), a, d[oG]);
      d[oB] = blend_pre(PB(p), a, d[oB]);
    }
  }
}

static void blend_420(GstVideoFrame *f, const guint8 *argb, gint stride, gint x0, gint y0, gint x1,
                      gint y1, gint x, gint y)
{
  guint8 *py = GST_VIDEO_FRAME_COMP_DATA(f, 0), *pu = GST_VIDEO_FRAME_COMP_DATA(f, 1),
         *pv = GST_VIDEO_FRAME_COMP_DATA(f, 2);
  const gint sy = GST_VIDEO_FRAME_COMP_STRIDE(f, 0), su = GST_VIDEO_FRAME_COMP_STRIDE(f, 1),
             sv = GST_VIDEO_FRAME_COMP_STRIDE(f, 2), pstu = GST_VIDEO_FRAME_COMP_PSTRIDE(f, 1),
             pstv = GST_VIDEO_FRAME_COMP_PSTRIDE(f, 2);
  /* the last source pixel converted (masks and class maps repeat one colour over runs) */
  guint32 last = 0;
  gint Y = 0, U = 0, V = 0;
  for (gint j = y0; j < y1; j++) {
    const guint32 *src = (const guint32 *)(argb + (gsize)(j - y) * stride) - x;
    guint8 *ry = py + (gsize)j * sy;
    const gboolean chroma_line = (j & 1) == 0;
    for (gint i = x0; i < x1; i++) {
      const guint32 p = src[i];
      if (!p)
        continue;
      const guint a = PA(p);
      if (p != last) {
        gint r = (gint)PR(p), g = (gint)PG(p), b = (gint)PB(p);
        if (a) { /* un-premultiplied, rounded */
          r = (gint)((PR(p) * 255 + a / 2) / a);
          g = (gint)((PG(p) * 255 + a / 2) / a);
          b = (gint)((PB(p) * 255 + a / 2) / a);
        }
        Y = clamp255((47 * r + 157 * g + 16 * b + 4096) >> 8);
        U = clamp255((-26 * r - 87 * g + 112 * b + 32768) >> 8);
        V = clamp255((112 * r - 102 * g - 10 * b + 32768) >> 8);
        last = p;
      }
      ry[i] = blend_straight(Y, a, ry[i]);
      if (chroma_line && (i & 1) == 0) {
        guint8 *du = pu + (gsize)(j / 2) * su + (gsize)(i / 2) * pstu;
        guint8 *dv = pv + (gsize)(j / 2) * sv + (gsize)(i / 2) * pstv;
        *du = blend_straight(U, a, *du);
        *dv = blend_straight(V, a, *dv);
      }
    }
  }
}

gboolean gst_ufo_blend_argb(GstVideoFrame *frame, const guint8 *argb, gint stride, gint x, gint y,
                            gint w, gint h)
{
  const GstVideoFormat fmt = GST_VIDEO_FRAME_FORMAT(frame);
  gboolean rgb = FALSE;
  switch (fmt) {
  case GST_VIDEO_FORMAT_RGB:
  case GST_VIDEO_FORMAT_BGR:
    rgb = TRUE;
    break;
  case GST_VIDEO_FORMAT_I420:
  case GST_VIDEO_FORMAT_YV12:
  case GST_VIDEO_FORMAT_NV12:
  case GST_VIDEO_FORMAT_NV21:
    break;
  default:
    return FALSE;
  }
  /* GStreamer's blend does not write to premultiplied frames either */
  if (GST_VIDEO_INFO_FLAGS(&frame->info) & GST_VIDEO_FLAG_PREMULTIPLIED_ALPHA)
    return FALSE;
  const gint x0 = MAX(x, 0), y0 = MAX(y, 0);
  const gint x1 = MIN(x + w, GST_VIDEO_FRAME_WIDTH(frame)),
             y1 = MIN(y + h, GST_VIDEO_FRAME_HEIGHT(frame));
  if (x0 >= x1 || y0 >= y1)
    return TRUE;
  if (rgb)
    blend_rgb(frame, argb, stride, x0, y0, x1, y1, x, y);
  else
    blend_420(frame, argb, stride, x0, y0, x1, y1, x, y);
  return TRUE;
}
