/* ufo-overlay: instance masks (translucent fill + opaque outline) and semantic-map blending.
 * Both are rasterised at their own resolution into a small ARGB32 surface, then painted
 * stretched onto their frame rectangle with nearest-neighbour sampling; a mask that lands
 * unscaled at whole pixels of an image surface is composited in place instead (the same
 * bits, without the surface and cairo's compositing). */
#include "overlay.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#define IMIN(a, b) ((a) < (b) ? (a) : (b))
#define IMAX(a, b) ((a) > (b) ? (a) : (b))

/* Premultiplied cairo ARGB32 pixel from opaque colour rgb and opacity alpha. */
static uint32_t premultiply(uint32_t argb, double alpha)
{
  uint32_t a = (uint32_t)lround(alpha * 255.0);
  uint32_t r = (((argb >> 16) & 0xFF) * a + 127) / 255;
  uint32_t g = (((argb >> 8) & 0xFF) * a + 127) / 255;
  uint32_t b = ((argb & 0xFF) * a + 127) / 255;
  return (a << 24) | (r << 16) | (g << 8) | b;
}

static double clamp01(double v)
{
  return v < 0.0 ? 0.0 : (v > 1.0 ? 1.0 : v);
}

static void paint_stretched(cairo_t *cr, cairo_surface_t *s, int sw, int sh, double x, double y,
                            double w, double h)
{
  if (w <= 0.0 || h <= 0.0)
    return;
  cairo_save(cr);
  cairo_translate(cr, x, y);
  cairo_scale(cr, w / sw, h / sh);
  cairo_set_source_surface(cr, s, 0, 0);
  cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle(cr, 0, 0, sw, sh);
  cairo_fill(cr);
  cairo_restore(cr);
}

/* pixman's OVER of premultiplied ARGB32 src onto dst, channel by channel: dst · (255 − src
 * alpha) / 255 rounded as pixman does (t = x·a + 128, (t + t / 256) / 256), plus src,
 * saturated; so the direct path below gives the bits cairo's compositing gives */
static inline uint32_t over(uint32_t src, uint32_t dst)
{
  const uint32_t ia = 255 - (src >> 24);
  uint32_t out = 0;
  for (int sh = 0; sh < 32; sh += 8) {
    uint32_t t = ((dst >> sh) & 0xFF) * ia + 0x80;
    t = ((t + (t >> 8)) >> 8) + ((src >> sh) & 0xFF);
    out |= (t > 255 ? 255 : t) << sh;
  }
  return out;
}

/* Does one of the 8 bytes at p reach thr (1..255)? A word at a time: bytes above n = thr − 1
 * <= 127 carry into their top bit when 127 − n is added (or have it set); above that, only
 * bytes with the top bit set can reach thr. */
static inline bool any_inside8(const uint8_t *p, int thr)
{
  uint64_t v;
  memcpy(&v, p, sizeof v);
  const uint64_t ones = ~(uint64_t)0 / 255, top = ones * 128;
  if (thr > 128)
    return (v & top) != 0;
  if (thr <= 0)
    return true;
  return (((v & ~top) + ones * (uint64_t)(128 - thr)) | v) & top;
}

/* Where the mask lands unscaled at whole pixels on the image surface cr draws to (no group,
 * operator OVER, a translation by whole pixels): its ARGB32 data, stride, size and the mask's
 * top-left pixel in it. FALSE: cairo composites the mask surface instead. */
static bool direct_target(cairo_t *cr, const UfoOverlayMask *mask, uint8_t **data, int *stride,
                          int *tw, int *th, int *ox, int *oy)
{
  cairo_surface_t *t = cairo_get_group_target(cr);
  if (t != cairo_get_target(cr) || cairo_surface_get_type(t) != CAIRO_SURFACE_TYPE_IMAGE ||
      cairo_image_surface_get_format(t) != CAIRO_FORMAT_ARGB32 ||
      cairo_get_operator(cr) != CAIRO_OPERATOR_OVER || mask->w != mask->width ||
      mask->h != mask->height)
    return false;
  cairo_matrix_t m;
  cairo_get_matrix(cr, &m);
  double dx, dy;
  cairo_surface_get_device_offset(t, &dx, &dy);
  const double x = m.x0 + dx + mask->x, y = m.y0 + dy + mask->y;
  if (m.xx != 1.0 || m.yy != 1.0 || m.xy != 0.0 || m.yx != 0.0 || x != floor(x) || y != floor(y) ||
      fabs(x) > 1e9 || fabs(y) > 1e9)
    return false;
  cairo_surface_flush(t);
  *data = cairo_image_surface_get_data(t);
  *stride = cairo_image_surface_get_stride(t);
  *tw = cairo_image_surface_get_width(t);
  *th = cairo_image_surface_get_height(t);
  *ox = (int)x, *oy = (int)y;
  return *data != NULL;
}

void ufo_overlay_draw_mask(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayMask *mask,
                           uint32_t color)
{
  if (!mask || !mask->data || mask->width <= 0 || mask->height <= 0)
    return;
  const int mw = mask->width, mh = mask->height;
  /* a byte v is inside when v >= threshold·255, i.e. v >= its ceiling */
  const int thr = (int)ceil(clamp01(style->mask_threshold) * 255.0);
  const uint32_t fill = premultiply(color, clamp01(style->mask_alpha));
  const uint32_t edge = premultiply(color, 1.0);
#define INSIDE(xx, yy) (mask->data[(size_t)(yy)*mask->stride + (xx)] >= thr)
  /* the pixel of mask (x, y): 0 outside; inside, the outline colour where a 4-neighbour is
   * outside the mask (or on its border), else the fill */
#define PIXEL(x, y)                                                                                \
  (!INSIDE(x, y) ? 0u                                                                              \
   : (x == 0 || y == 0 || x == mw - 1 || y == mh - 1 || !INSIDE(x - 1, y) || !INSIDE(x + 1, y) ||  \
      !INSIDE(x, y - 1) || !INSIDE(x, y + 1))                                                      \
       ? edge                                                                                      \
       : fill)
  uint8_t *td;
  int ts, tw, th, ox, oy;
  if (direct_target(cr, mask, &td, &ts, &tw, &th, &ox, &oy)) {
    /* composited in place: the same bits as painting the mask surface below */
    const int y0 = IMAX(0, -oy), y1 = IMIN(mh, th - oy), x0 = IMAX(0, -ox), x1 = IMIN(mw, tw - ox);
    for (int y = y0; y < y1; y++) {
      uint32_t *row = (uint32_t *)(td + (size_t)(oy + y) * ts) + ox;
      const uint8_t *src = mask->data + (size_t)y * mask->stride;
      for (int x = x0; x < x1; x++) {
        if (x + 8 <= x1 && !any_inside8(src + x, thr)) { /* eight pixels outside */
          x += 7;
          continue;
        }
        const uint32_t p = PIXEL(x, y);
        if (p)
          row[x] = over(p, row[x]);
      }
    }
    if (y1 > y0 && x1 > x0)
      cairo_surface_mark_dirty_rectangle(cairo_get_target(cr), ox + x0, oy + y0, x1 - x0, y1 - y0);
    return;
  }
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, mw, mh);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return;
  }
  cairo_surface_flush(s);
  uint8_t *px = cairo_image_surface_get_data(s);
  const int ps = cairo_image_surface_get_stride(s);
  for (int y = 0; y < mh; y++) {
    uint32_t *row = (uint32_t *)(px + (size_t)y * ps);
    for (int x = 0; x < mw; x++)
      row[x] = PIXEL(x, y);
  }
#undef PIXEL
#undef INSIDE
  cairo_surface_mark_dirty(s);
  paint_stretched(cr, s, mw, mh, mask->x, mask->y, mask->w, mask->h);
  cairo_surface_destroy(s);
}

void ufo_overlay_draw_semantic(cairo_t *cr, const UfoOverlayStyle *style,
                               const UfoOverlaySemantic *map)
{
  if (!map || !map->data || map->width <= 0 || map->height <= 0 ||
      (map->bytes_per_pixel != 1 && map->bytes_per_pixel != 2))
    return;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, map->width, map->height);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return;
  }
  cairo_surface_flush(s);
  uint8_t *px = cairo_image_surface_get_data(s);
  const int ps = cairo_image_surface_get_stride(s);
  const double alpha = clamp01(style->semantic_alpha);
  int cached_id = -1;
  uint32_t cached = 0;
  for (int y = 0; y < map->height; y++) {
    const uint8_t *src = map->data + (size_t)y * map->stride;
    uint32_t *row = (uint32_t *)(px + (size_t)y * ps);
    for (int x = 0; x < map->width; x++) {
      int id = map->bytes_per_pixel == 1 ? src[x] : ((const uint16_t *)src)[x];
      if (id != cached_id) {
        cached_id = id;
        cached = id == map->hidden_id ? 0 : premultiply(ufo_overlay_class_color(id), alpha);
      }
      row[x] = cached;
    }
  }
  cairo_surface_mark_dirty(s);
  paint_stretched(cr, s, map->width, map->height, map->x, map->y, map->w, map->h);
  cairo_surface_destroy(s);
}
