/* Frame -> normalised network input on the host (inference spec §3, segmentation spec §2.1,
 * §3.1): image checks, pixel formats and Y'CbCr conversion, normalisation and the whole path
 * (preprocess.h). The CPU backend's preprocess op and the reference of the op tests. */
#include "preprocess.h"

#include <string.h>

gboolean ufo_image_packed_layout(UfoPixelFormat f, int *bpp, int idx[3])
{
  switch (f) {
  case UFO_PIXEL_RGB:
  case UFO_PIXEL_RGBA:
  case UFO_PIXEL_RGBX:
    idx[0] = 0, idx[1] = 1, idx[2] = 2;
    *bpp = f == UFO_PIXEL_RGB ? 3 : 4;
    return TRUE;
  case UFO_PIXEL_BGR:
  case UFO_PIXEL_BGRA:
  case UFO_PIXEL_BGRX:
    idx[0] = 2, idx[1] = 1, idx[2] = 0;
    *bpp = f == UFO_PIXEL_BGR ? 3 : 4;
    return TRUE;
  default:
    return FALSE;
  }
}

static gboolean bad(GError **error, const char *what, size_t got, size_t need)
{
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
              "image %s stride %zu is smaller than its row of %zu bytes", what, got, need);
  return FALSE;
}

gboolean ufo_image_check(const UfoImage *image, GError **error)
{
  if (!image || !image->data) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "image has no pixel data");
    return FALSE;
  }
  if ((unsigned)image->memory > UFO_MEMORY_CUDA) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown image memory %d", (int)image->memory);
    return FALSE;
  }
  if (image->width <= 0 || image->height <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "image size %dx%d is empty", image->width,
                image->height);
    return FALSE;
  }
  const size_t w = (size_t)image->width, cw = (w + 1) / 2;
  int bpp, idx[3];
  if (ufo_image_packed_layout(image->format, &bpp, idx))
    return image->stride >= w * bpp ? TRUE : bad(error, "row", image->stride, w * bpp);
  if (image->format != UFO_PIXEL_I420 && image->format != UFO_PIXEL_NV12) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown pixel format %d", (int)image->format);
    return FALSE;
  }
  const gboolean i420 = image->format == UFO_PIXEL_I420;
  if (!image->planes[0] || (i420 && !image->planes[1])) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s image without its chroma plane%s",
                i420 ? "I420" : "NV12", i420 ? "s" : "");
    return FALSE;
  }
  if ((unsigned)image->matrix > UFO_COLOR_MATRIX_FCC ||
      (unsigned)image->range > UFO_COLOR_RANGE_FULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown colour matrix %d or range %d",
                (int)image->matrix, (int)image->range);
    return FALSE;
  }
  if (image->stride < w)
    return bad(error, "Y plane", image->stride, w);
  if (image->plane_stride[0] < (i420 ? cw : 2 * cw))
    return bad(error, i420 ? "U plane" : "UV plane", image->plane_stride[0], i420 ? cw : 2 * cw);
  if (i420 && image->plane_stride[1] < cw)
    return bad(error, "V plane", image->plane_stride[1], cw);
  return TRUE;
}

size_t ufo_image_bytes(const UfoImage *image)
{
  const size_t w = (size_t)image->width, h = (size_t)image->height;
  const size_t cw = (w + 1) / 2, ch = (h + 1) / 2;
  int bpp, idx[3];
  if (ufo_image_packed_layout(image->format, &bpp, idx))
    return w * h * bpp;
  return w * h + 2 * cw * ch; /* Y + U + V, or Y + UV */
}

void ufo_yuv_coefs(UfoColorMatrix matrix, UfoColorRange range, UfoYuvCoefs *c)
{
  /* Kr, Kb of each matrix (the values of GStreamer's gst_video_color_matrix_get_Kr_Kb) */
  static const double k[][2] = {
      [UFO_COLOR_MATRIX_BT601] = {0.2990, 0.1140},  [UFO_COLOR_MATRIX_BT709] = {0.2126, 0.0722},
      [UFO_COLOR_MATRIX_BT2020] = {0.2627, 0.0593}, [UFO_COLOR_MATRIX_SMPTE240M] = {0.212, 0.087},
      [UFO_COLOR_MATRIX_FCC] = {0.30, 0.11},
  };
  const double kr = k[matrix][0], kb = k[matrix][1], kg = 1.0 - kr - kb;
  const gboolean full = range == UFO_COLOR_RANGE_FULL;
  /* limited range: Y' = (Y - 16)/219, Cb, Cr = (C - 128)/224; full range: /255 (BT.601 §2.5) */
  const double ys = full ? 1.0 : 255.0 / 219.0, cs = full ? 1.0 : 255.0 / 224.0;
  c->yoff = full ? 0 : 16;
  /* R = Y + 2(1-Kr)Cr, B = Y + 2(1-Kb)Cb, G = Y - (2Kb(1-Kb)Cb + 2Kr(1-Kr)Cr)/Kg, in 16.16 */
  c->cy = (int32_t)(ys * 65536.0 + 0.5);
  c->crv = (int32_t)(2.0 * (1.0 - kr) * cs * 65536.0 + 0.5);
  c->cbu = (int32_t)(2.0 * (1.0 - kb) * cs * 65536.0 + 0.5);
  c->cgu = (int32_t)(2.0 * kb * (1.0 - kb) / kg * cs * 65536.0 + 0.5);
  c->cgv = (int32_t)(2.0 * kr * (1.0 - kr) / kg * cs * 65536.0 + 0.5);
}

/* ufo_yuv_pixel's arithmetic, written so that the compiler vectorises it: the clamp of a
 * 16.16 result to a byte */
static inline uint8_t clamp_u8(int32_t v)
{
  return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Packed rows with the channel order and pixel size known at compile time (vectorised) */
static inline void packed_row(const uint8_t *restrict s, uint8_t *restrict d, int w, int bpp,
                              int i0, int i1, int i2)
{
  for (int x = 0; x < w; x++) {
    d[3 * x + 0] = s[bpp * x + i0];
    d[3 * x + 1] = s[bpp * x + i1];
    d[3 * x + 2] = s[bpp * x + i2];
  }
}

#define YUV_CHUNK 64 /* pixels converted per chunk (an even number: chunks start on even x) */

/* One 4:2:0 row (preprocess.h ufo_yuv_pixel for every pixel, the same integers): chroma
 * differences widened for a chunk of pixels first, each sample twice (pixel x takes sample
 * x/2), then the chunk's pixels in one loop the compiler vectorises. nv12: u holds the
 * interleaved UV row (v unused). */
static void yuv420_row(const UfoYuvCoefs *c, const uint8_t *restrict yr, const uint8_t *restrict u,
                       const uint8_t *restrict v, gboolean nv12, uint8_t *restrict d, int w)
{
  const int32_t yoff = c->yoff, cy = c->cy, crv = c->crv, cbu = c->cbu, cgu = c->cgu, cgv = c->cgv;
  for (int x0 = 0; x0 < w; x0 += YUV_CHUNK) {
    const int n = w - x0 < YUV_CHUNK ? w - x0 : YUV_CHUNK, half = (n + 1) / 2, c0 = x0 / 2;
    int32_t du[YUV_CHUNK], dv[YUV_CHUNK];
    if (nv12)
      for (int i = 0; i < half; i++) {
        du[2 * i] = du[2 * i + 1] = u[2 * (c0 + i)] - 128;
        dv[2 * i] = dv[2 * i + 1] = u[2 * (c0 + i) + 1] - 128;
      }
    else
      for (int i = 0; i < half; i++) {
        du[2 * i] = du[2 * i + 1] = u[c0 + i] - 128;
        dv[2 * i] = dv[2 * i + 1] = v[c0 + i] - 128;
      }
    const uint8_t *y = yr + x0;
    uint8_t *o = d + (size_t)x0 * 3;
    for (int i = 0; i < n; i++) {
      const int32_t yy = (y[i] - yoff) * cy + 32768;
      o[3 * i + 0] = clamp_u8((yy + crv * dv[i]) >> 16);
      o[3 * i + 1] = clamp_u8((yy - cgu * du[i] - cgv * dv[i]) >> 16);
      o[3 * i + 2] = clamp_u8((yy + cbu * du[i]) >> 16);
    }
  }
}

void ufo_image_to_rgb_rows(const UfoImage *image, uint8_t *rgb, int r0, int r1)
{
  const int w = image->width;
  int bpp, idx[3];
  if (ufo_image_packed_layout(image->format, &bpp, idx)) {
    for (int y = r0; y < r1; y++) {
      const uint8_t *s = image->data + (size_t)y * image->stride;
      uint8_t *d = rgb + (size_t)(y - r0) * w * 3;
      if (bpp == 3 && idx[0] == 0)
        memcpy(d, s, (size_t)w * 3);
      else if (bpp == 3)
        packed_row(s, d, w, 3, 2, 1, 0);
      else if (idx[0] == 0)
        packed_row(s, d, w, 4, 0, 1, 2);
      else
        packed_row(s, d, w, 4, 2, 1, 0);
    }
    return;
  }
  /* 4:2:0: pixel (x, y) takes chroma sample (x/2, y/2) (no interpolation) */
  UfoYuvCoefs c;
  ufo_yuv_coefs(image->matrix, image->range, &c);
  const gboolean nv12 = image->format == UFO_PIXEL_NV12;
  for (int y = r0; y < r1; y++) {
    const uint8_t *yr = image->data + (size_t)y * image->stride;
    const uint8_t *ur = image->planes[0] + (size_t)(y / 2) * image->plane_stride[0];
    const uint8_t *vr = nv12 ? NULL : image->planes[1] + (size_t)(y / 2) * image->plane_stride[1];
    yuv420_row(&c, yr, ur, vr, nv12, rgb + (size_t)(y - r0) * w * 3, w);
  }
}

void ufo_image_to_rgb(const UfoImage *image, uint8_t *rgb)
{
  ufo_image_to_rgb_rows(image, rgb, 0, image->height);
}

/* spec §3.2: cast to float32, (x − mean) / std per RGB channel (a true division, as PyTorch),
 * packed (S, S, 3) → planar (3, S, S). uint8 input has 256 values per channel: a table holds the
 * exact same float results. */
static void normalise_u8(const uint8_t *rgb, int n, const float mean[3], const float std[3],
                         float *out, size_t ld)
{
  float lut[3][256];
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++)
      lut[c][v] = ((float)v - mean[c]) / std[c];
  float *o0 = out, *o1 = out + ld, *o2 = out + 2 * ld;
  for (int i = 0; i < n; i++) {
    o0[i] = lut[0][rgb[(size_t)i * 3 + 0]];
    o1[i] = lut[1][rgb[(size_t)i * 3 + 1]];
    o2[i] = lut[2][rgb[(size_t)i * 3 + 2]];
  }
}

static void normalise_f32(const float *rgb, int n, const float mean[3], const float std[3],
                          float *out, size_t ld)
{
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < n; i++)
      out[(size_t)c * ld + i] = (rgb[(size_t)i * 3 + c] - mean[c]) / std[c];
}

gboolean ufo_preprocess_host(const UfoImage *image, const UfoPrepParams *p, float *out, size_t ld,
                             GError **error)
{
  const int S = p->size;
  if (S <= 0 || (unsigned)p->resize >= UFO_PREP_N_RESIZES) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "preprocess: input size %d is not positive or resize %d is unknown", S,
                (int)p->resize);
    return FALSE;
  }
  if (!ufo_image_check(image, error))
    return FALSE;
  if (image->memory != UFO_MEMORY_HOST) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "preprocess: the host path cannot read an image in device memory");
    return FALSE;
  }
  ufo_preprocess_host_rows(image, p, out, ld, 0, S, NULL);
  return TRUE;
}

/* The scratch of output rows [y0, y1): the RGB source rows, their float copy (instance
 * segmentation) and the resized rows, each rounded up to 64 bytes */
static size_t scratch_parts(const UfoImage *image, const UfoPrepParams *p, int y0, int y1,
                            size_t part[3])
{
  const int S = p->size, w = image->width, h = image->height;
  int r0, r1;
  ufo_resize_source_rows(p->resize, h, S, y0, y1, &r0, &r1);
  const size_t n = (size_t)(y1 - y0) * S, src_px = (size_t)w * (r1 - r0);
  const gboolean f32 = p->resize == UFO_PREP_LINEAR_F32;
  part[0] = src_px * 3;
  part[1] = f32 ? src_px * 3 * sizeof(float) : 0;
  part[2] = n * 3 * (f32 ? sizeof(float) : 1);
  for (int i = 0; i < 3; i++)
    part[i] = (part[i] + 63) / 64 * 64;
  return part[0] + part[1] + part[2];
}

size_t ufo_preprocess_host_scratch(const UfoImage *image, const UfoPrepParams *p, int y0, int y1)
{
  size_t part[3];
  return scratch_parts(image, p, y0, y1, part);
}

void ufo_preprocess_host_rows(const UfoImage *image, const UfoPrepParams *p, float *out, size_t ld,
                              int y0, int y1, void *scratch)
{
  const int S = p->size, w = image->width, h = image->height;
  int r0, r1; /* the source rows these output rows read */
  ufo_resize_source_rows(p->resize, h, S, y0, y1, &r0, &r1);
  const size_t n = (size_t)(y1 - y0) * S, off = (size_t)y0 * S, src_px = (size_t)w * (r1 - r0);
  size_t part[3];
  const size_t bytes = scratch_parts(image, p, y0, y1, part);
  g_autofree uint8_t *own = scratch ? NULL : g_new(uint8_t, bytes);
  uint8_t *rgb = scratch ? (uint8_t *)scratch : own, *rs = rgb + part[0] + part[1];
  ufo_image_to_rgb_rows(image, rgb, r0, r1);
  if (p->resize == UFO_PREP_BICUBIC_PIL) {
    /* caption / grounding: PIL BICUBIC on uint8 */
    ufo_resize_bicubic_pil_u8_rows(rgb, r0, w, h, (size_t)w * 3, 3, rs, S, S, y0, y1);
    normalise_u8(rs, (int)n, p->mean, p->std, out + off, ld);
  } else if (p->resize == UFO_PREP_LINEAR_F32) {
    /* instance segmentation: the image is loaded as float32 before cv2 resize (seg §6.14) */
    float *f = (float *)(void *)(rgb + part[0]), *r = (float *)(void *)rs;
    for (size_t i = 0; i < src_px * 3; i++)
      f[i] = rgb[i];
    ufo_resize_linear_f32_rows(f, r0, w, h, 3, r, S, S, y0, y1);
    normalise_f32(r, (int)n, p->mean, p->std, out + off, ld);
  } else {
    ufo_resize_linear_u8_rows(rgb, r0, w, h, (size_t)w * 3, 3, rs, S, S, y0, y1);
    normalise_u8(rs, (int)n, p->mean, p->std, out + off, ld);
  }
}
