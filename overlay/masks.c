/* ufo-overlay: instance masks (translucent fill + opaque outline) and semantic-map blending.
 * Both are rasterised at their own resolution into a small ARGB32 surface, then painted
 * stretched onto their frame rectangle with nearest-neighbour sampling; a mask that lands
 * unscaled at whole pixels of an image surface is composited in place instead (the same
 * bits, without the surface and cairo's compositing). */
#include "overlay.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
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

/* The row kernels of the in-place path below, written so that the compiler vectorises them. */

/* in[x + 1] = row[x] >= thr for x in [0, n); in[0] = in[n + 1] = 0 (outside the mask). */
static void inside_row(uint8_t *restrict in, const uint8_t *restrict row, int n, int thr)
{
  in[0] = in[n + 1] = 0;
  for (int x = 0; x < n; x++)
    in[x + 1] = row[x] >= thr;
}

/* Class of mask pixels x in [x0, x1) of a row (flags up, cur, down as inside_row gives them; an
 * all-zero row above the first and below the last): 0 outside, 1 fill, 2 outline (inside with a
 * 4-neighbour outside the mask or past its border) */
static void class_row(uint8_t *restrict cls, const uint8_t *restrict up,
                      const uint8_t *restrict cur, const uint8_t *restrict down, int x0, int x1)
{
  for (int x = x0; x < x1; x++) {
    const int c = cur[x + 1], border = !(up[x + 1] & down[x + 1] & cur[x] & cur[x + 2]);
    cls[x] = (uint8_t)(c + (c & border));
  }
}

/* row[x] = over(src, row[x]) with src = 0 (class 0: over(0, d) = d exactly, as 255 · d / 255
 * rounds to d), fill or edge by class: pixman's OVER arithmetic of over() below for every pixel
 * of a block, so that the block's loop has no branch; blocks of only class 0 are left alone */
#define BLEND_BLOCK 16

static inline void blend_block(uint32_t *restrict row, const uint8_t *restrict cls, int n,
                               uint32_t fill, uint32_t edge)
{
  const uint32_t ia_fill = 255 - (fill >> 24), ia_edge = 255 - (edge >> 24);
  for (int x = 0; x < n; x++) {
    const uint32_t c = cls[x];
    const uint32_t src = c == 2 ? edge : c == 1 ? fill : 0u;
    const uint32_t ia = c == 2 ? ia_edge : c == 1 ? ia_fill : 255u;
    const uint32_t d = row[x];
    uint32_t out = 0;
    for (int sh = 0; sh < 32; sh += 8) {
      uint32_t t = ((d >> sh) & 0xFF) * ia + 0x80;
      t = ((t + (t >> 8)) >> 8) + ((src >> sh) & 0xFF);
      out |= (t > 255 ? 255 : t) << sh;
    }
    row[x] = out;
  }
}

static void blend_row(uint32_t *restrict row, const uint8_t *restrict cls, int n, uint32_t fill,
                      uint32_t edge)
{
  int x = 0;
  for (; x + BLEND_BLOCK <= n; x += BLEND_BLOCK) {
    uint64_t w[BLEND_BLOCK / 8];
    memcpy(w, cls + x, sizeof w);
    if ((w[0] | w[1]) == 0) /* sixteen pixels outside */
      continue;
    blend_block(row + x, cls + x, BLEND_BLOCK, fill, edge);
  }
  blend_block(row + x, cls + x, n - x, fill, edge);
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
  uint8_t *buf = NULL; /* the in-place path's row flags (without memory: cairo's path) */
  if (direct_target(cr, mask, &td, &ts, &tw, &th, &ox, &oy) &&
      (buf = malloc((size_t)4 * (mw + 2))) != NULL) {
    /* composited in place: the same bits as painting the mask surface below, a row at a time:
     * inside flags of the rows above, at and below, the pixels' classes, the blend */
    const int y0 = IMAX(0, -oy), y1 = IMIN(mh, th - oy), x0 = IMAX(0, -ox), x1 = IMIN(mw, tw - ox);
    if (y1 <= y0 || x1 <= x0) {
      free(buf);
      return;
    }
    uint8_t *in[3] = {buf, buf + (mw + 2), buf + 2 * (size_t)(mw + 2)}, *cls = in[2] + mw + 2;
    memset(in[0], 0, (size_t)mw + 2); /* the row above the first */
    if (y0 > 0)
      inside_row(in[0], mask->data + (size_t)(y0 - 1) * mask->stride, mw, thr);
    inside_row(in[1], mask->data + (size_t)y0 * mask->stride, mw, thr);
    for (int y = y0; y < y1; y++) {
      uint8_t *up = in[(y - y0) % 3], *cur = in[(y - y0 + 1) % 3], *down = in[(y - y0 + 2) % 3];
      if (y + 1 < mh)
        inside_row(down, mask->data + (size_t)(y + 1) * mask->stride, mw, thr);
      else
        memset(down, 0, (size_t)mw + 2); /* the row below the last */
      class_row(cls, up, cur, down, x0, x1);
      blend_row((uint32_t *)(td + (size_t)(oy + y) * ts) + ox + x0, cls + x0, x1 - x0, fill, edge);
    }
    free(buf);
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
