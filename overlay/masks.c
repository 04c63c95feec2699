/* ufo-overlay: instance masks (translucent fill + opaque outline) and semantic-map blending.
 * Both are rasterised at their own resolution into a small ARGB32 surface, then painted
 * stretched onto their frame rectangle with nearest-neighbour sampling. */
#include "overlay.h"

#include <math.h>

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

void ufo_overlay_draw_mask(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayMask *mask,
                           uint32_t color)
{
  if (!mask || !mask->data || mask->width <= 0 || mask->height <= 0)
    return;
  const int mw = mask->width, mh = mask->height;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, mw, mh);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return;
  }
  cairo_surface_flush(s);
  uint8_t *px = cairo_image_surface_get_data(s);
  const int ps = cairo_image_surface_get_stride(s);
  const double thr = clamp01(style->mask_threshold) * 255.0;
  const uint32_t fill = premultiply(color, clamp01(style->mask_alpha));
  const uint32_t edge = premultiply(color, 1.0);
#define INSIDE(xx, yy) (mask->data[(size_t)(yy)*mask->stride + (xx)] >= thr)
  for (int y = 0; y < mh; y++) {
    uint32_t *row = (uint32_t *)(px + (size_t)y * ps);
    for (int x = 0; x < mw; x++) {
      if (!INSIDE(x, y)) {
        row[x] = 0;
        continue;
      }
      /* outline: inside pixels with a 4-neighbour outside the mask (or on its border) */
      int border = x == 0 || y == 0 || x == mw - 1 || y == mh - 1 || !INSIDE(x - 1, y) ||
                   !INSIDE(x + 1, y) || !INSIDE(x, y - 1) || !INSIDE(x, y + 1);
      row[x] = border ? edge : fill;
    }
  }
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
