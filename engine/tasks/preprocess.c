/* Frame → normalised network input (inference spec §3, segmentation spec §2.1, §3.1). */
#include "preprocess.h"

static gboolean format_layout(UfoPixelFormat f, int *bpp, int idx[3])
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
  }
  return FALSE;
}

static gboolean check_image(const UfoImage *image, int *bpp, int idx[3], GError **error)
{
  if (!image || !image->data) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "image has no pixel data");
    return FALSE;
  }
  if (image->width <= 0 || image->height <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "image size %dx%d is empty", image->width,
                image->height);
    return FALSE;
  }
  if (!format_layout(image->format, bpp, idx)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown pixel format %d", (int)image->format);
    return FALSE;
  }
  if (image->stride < (size_t)image->width * *bpp) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "image stride %zu is smaller than width %d x %d bytes", image->stride, image->width,
                *bpp);
    return FALSE;
  }
  return TRUE;
}

gboolean ufo_image_to_rgb(const UfoImage *image, uint8_t *rgb, GError **error)
{
  int bpp, idx[3];
  if (!check_image(image, &bpp, idx, error))
    return FALSE;
  for (int y = 0; y < image->height; y++) {
    const uint8_t *s = image->data + (size_t)y * image->stride;
    uint8_t *d = rgb + (size_t)y * image->width * 3;
    for (int x = 0; x < image->width; x++, s += bpp, d += 3) {
      d[0] = s[idx[0]];
      d[1] = s[idx[1]];
      d[2] = s[idx[2]];
    }
  }
  return TRUE;
}

/* spec §3.2: cast to float32, (x − mean) / std per RGB channel (a true division, as PyTorch),
 * packed (S, S, 3) → planar (3, S, S). uint8 input has 256 values per channel: a table holds the
 * exact same float results. */
static void normalise_u8(const uint8_t *rgb, int n, const float mean[3], const float std[3],
                         float *out)
{
  float lut[3][256];
  for (int c = 0; c < 3; c++)
    for (int v = 0; v < 256; v++)
      lut[c][v] = ((float)v - mean[c]) / std[c];
  float *o0 = out, *o1 = out + n, *o2 = out + 2 * (size_t)n;
  for (int i = 0; i < n; i++) {
    o0[i] = lut[0][rgb[(size_t)i * 3 + 0]];
    o1[i] = lut[1][rgb[(size_t)i * 3 + 1]];
    o2[i] = lut[2][rgb[(size_t)i * 3 + 2]];
  }
}

static void normalise_f32(const float *rgb, int n, const float mean[3], const float std[3],
                          float *out)
{
  for (int c = 0; c < 3; c++)
    for (int i = 0; i < n; i++)
      out[(size_t)c * n + i] = (rgb[(size_t)i * 3 + c] - mean[c]) / std[c];
}

gboolean ufo_preprocess(const UfoImage *image, const UfoTaskConfig *tc, const float mean[3],
                        const float std[3], float *out, GError **error)
{
  const int S = tc->input_size;
  if (S <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "task input size %d is not positive", S);
    return FALSE;
  }
  int bpp, idx[3];
  if (!check_image(image, &bpp, idx, error))
    return FALSE;
  const int w = image->width, h = image->height;
  const size_t n = (size_t)S * S;
  g_autofree uint8_t *rgb = g_new(uint8_t, (size_t)w * h * 3);
  if (!ufo_image_to_rgb(image, rgb, error))
    return FALSE;
  if (tc->resize == UFO_RESIZE_BICUBIC) {
    /* caption / grounding: PIL BICUBIC on uint8 */
    g_autofree uint8_t *r = g_new(uint8_t, n * 3);
    ufo_resize_bicubic_pil_u8(rgb, w, h, (size_t)w * 3, 3, r, S, S);
    normalise_u8(r, (int)n, mean, std, out);
  } else if (tc->resize_float) {
    /* instance segmentation: the image is loaded as float32 before cv2 resize (seg §6.14) */
    g_autofree float *f = g_new(float, (size_t)w *h * 3);
    for (size_t i = 0; i < (size_t)w * h * 3; i++)
      f[i] = rgb[i];
    g_autofree float *r = g_new(float, n * 3);
    ufo_resize_linear_f32(f, w, h, 3, r, S, S);
    normalise_f32(r, (int)n, mean, std, out);
  } else {
    g_autofree uint8_t *r = g_new(uint8_t, n * 3);
    ufo_resize_linear_u8(rgb, w, h, (size_t)w * 3, 3, r, S, S);
    normalise_u8(r, (int)n, mean, std, out);
  }
  return TRUE;
}
