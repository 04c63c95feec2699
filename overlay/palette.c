/* ufo-overlay: class palette, contrast colour and size rules. */
#include "overlay.h"

#include <math.h>

void ufo_overlay_style_init(UfoOverlayStyle *style)
{
  *style = (UfoOverlayStyle){
      .draw_boxes = true,
      .draw_labels = true,
      .draw_scores = true,
      .draw_masks = true,
      .draw_track_ids = true,
      .draw_captions = true,
      .mask_alpha = 0.45,
      .semantic_alpha = 0.5,
      .mask_threshold = 0.5,
      .line_width = 0.0,
      .font_size = 0.0,
      .font_family = NULL,
      .box_color = 0,
      .text_color = 0,
      .text_background = true,
  };
}

static uint32_t pack_argb(double r, double g, double b)
{
  return 0xFF000000u | ((uint32_t)lround(r * 255.0) << 16) | ((uint32_t)lround(g * 255.0) << 8) |
         (uint32_t)lround(b * 255.0);
}

uint32_t ufo_overlay_class_color(int class_id)
{
  if (class_id < 0)
    return 0xFF808080u;
  /* golden-ratio hue steps keep neighbouring ids far apart on the colour wheel */
  double h = fmod(class_id * 0.618033988749895, 1.0) * 6.0;
  const double s = 0.85, v = 0.95;
  int sector = (int)h % 6;
  double f = h - floor(h);
  double p = v * (1.0 - s), q = v * (1.0 - s * f), t = v * (1.0 - s * (1.0 - f));
  switch (sector) {
  case 0:
    return pack_argb(v, t, p);
  case 1:
    return pack_argb(q, v, p);
  case 2:
    return pack_argb(p, v, t);
  case 3:
    return pack_argb(p, q, v);
  case 4:
    return pack_argb(t, p, v);
  default:
    return pack_argb(v, p, q);
  }
}

/* sRGB channel (0..255) to linear light (IEC 61966-2-1) */
static double srgb_linear(uint32_t c)
{
  double x = c / 255.0;
  return x <= 0.04045 ? x / 12.92 : pow((x + 0.055) / 1.055, 2.4);
}

uint32_t ufo_overlay_contrast_color(uint32_t bg)
{
  /* WCAG 2.x relative luminance and contrast ratio (L1 + 0.05) / (L2 + 0.05) */
  double l = 0.2126 * srgb_linear((bg >> 16) & 0xFF) + 0.7152 * srgb_linear((bg >> 8) & 0xFF) +
             0.0722 * srgb_linear(bg & 0xFF);
  double vs_white = 1.05 / (l + 0.05), vs_black = (l + 0.05) / 0.05;
  return vs_black >= vs_white ? 0xFF000000u : 0xFFFFFFFFu;
}

double ufo_overlay_line_width(const UfoOverlayStyle *style, int frame_height)
{
  if (style->line_width > 0.0)
    return style->line_width;
  /* 1.6 px at 480 rows, 3.6 px at 1080 rows, never below 1 px */
  return fmax(1.0, frame_height / 300.0);
}

double ufo_overlay_font_size(const UfoOverlayStyle *style, int frame_height)
{
  if (style->font_size > 0.0)
    return style->font_size;
  /* 12 px at 480 rows, 27 px at 1080 rows, never below 8 px */
  return fmax(8.0, frame_height / 40.0);
}
