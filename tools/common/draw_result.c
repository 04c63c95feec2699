#include "draw_result.h"
#include "overlay.h"

#include <cairo.h>
#include <math.h>

/* Any UfoImage → Cairo ARGB32 (opaque). */
static cairo_surface_t *image_surface(const UfoImage *img)
{
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, img->width, img->height);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
    return s;
  int bpp = (img->format == UFO_PIXEL_RGB || img->format == UFO_PIXEL_BGR) ? 3 : 4;
  gboolean bgr = img->format == UFO_PIXEL_BGR || img->format == UFO_PIXEL_BGRA ||
                 img->format == UFO_PIXEL_BGRX;
  uint8_t *dst = cairo_image_surface_get_data(s);
  int dstride = cairo_image_surface_get_stride(s);
  for (int y = 0; y < img->height; y++) {
    const uint8_t *src = img->data + (size_t)y * img->stride;
    uint32_t *row = (uint32_t *)(dst + (size_t)y * dstride);
    for (int x = 0; x < img->width; x++) {
      const uint8_t *p = src + (size_t)x * bpp;
      uint32_t r = bgr ? p[2] : p[0], g = p[1], b = bgr ? p[0] : p[2];
      row[x] = 0xff000000u | r << 16 | g << 8 | b;
    }
  }
  cairo_surface_mark_dirty(s);
  return s;
}

gboolean tool_draw_result_png(const UfoImage *image, const UfoResult *res, float mask_threshold,
                              const char *path, GError **error)
{
  cairo_surface_t *surface = image_surface(image);
  if (cairo_surface_status(surface) != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "cannot create a %dx%d surface: %s",
                image->width, image->height,
                cairo_status_to_string(cairo_surface_status(surface)));
    cairo_surface_destroy(surface);
    return FALSE;
  }
  int n = res->n_objects;
  UfoOverlayObject *objs = g_new0(UfoOverlayObject, MAX(n, 1));
  UfoOverlayMask *masks = g_new0(UfoOverlayMask, MAX(n, 1));
  uint8_t **mask_px = g_new0(uint8_t *, MAX(n, 1));
  for (int i = 0; i < n; i++) {
    const UfoObject *o = &res->objects[i];
    objs[i] = (UfoOverlayObject){.class_id = o->label_id,
                                 .label = o->label,
                                 .score = o->score,
                                 .x = o->x1,
                                 .y = o->y1,
                                 .w = o->x2 - o->x1,
                                 .h = o->y2 - o->y1};
    const UfoMask *m = o->mask;
    if (m && m->width > 0 && m->height > 0) {
      mask_px[i] = g_malloc((size_t)m->width * m->height);
      for (size_t k = 0; k < (size_t)m->width * m->height; k++)
        mask_px[i][k] = (uint8_t)lrintf(CLAMP(m->prob[k], 0.f, 1.f) * 255.f);
      masks[i] = (UfoOverlayMask){mask_px[i], m->width, m->height, m->width,
                                  m->x,       m->y,     m->width,  m->height};
      objs[i].mask = &masks[i];
    }
  }
  UfoOverlaySemantic sem;
  UfoOverlayFrame frame = {image->width, image->height, objs, n, NULL, res->caption};
  if (res->semantic) {
    const UfoSemanticMap *s = res->semantic;
    sem = (UfoOverlaySemantic){.data = (const uint8_t *)s->labels,
                               .bytes_per_pixel = 2,
                               .width = s->width,
                               .height = s->height,
                               .stride = s->width * 2,
                               .w = image->width,
                               .h = image->height,
                               .hidden_id = -1};
    frame.semantic = &sem;
  }
  UfoOverlayStyle style;
  ufo_overlay_style_init(&style);
  style.mask_threshold = mask_threshold > 0 ? mask_threshold : 0.5;
  cairo_t *cr = cairo_create(surface);
  ufo_overlay_draw_frame(cr, &style, &frame);
  cairo_destroy(cr);
  cairo_status_t st = cairo_surface_write_to_png(surface, path);
  cairo_surface_destroy(surface);
  for (int i = 0; i < n; i++)
    g_free(mask_px[i]);
  g_free(mask_px);
  g_free(masks);
  g_free(objs);
  if (st != CAIRO_STATUS_SUCCESS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot write %s: %s", path,
                cairo_status_to_string(st));
    return FALSE;
  }
  return TRUE;
}
