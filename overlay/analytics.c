/* ufo-overlay: analytics rules (ufoanalytics lines and zones) with their counts. */
#include "overlay.h"

#include <math.h>
#include <stdio.h>

#define LINE_COLOR 0xFFFFD400u   /* amber */
#define ZONE_COLOR 0xFF00C8FFu   /* sky blue */
#define ACTIVE_COLOR 0xFFFF3030u /* a rule with an event on this frame */

static void set_argb(cairo_t *cr, uint32_t argb, double alpha)
{
  cairo_set_source_rgba(cr, ((argb >> 16) & 0xFF) / 255.0, ((argb >> 8) & 0xFF) / 255.0,
                        (argb & 0xFF) / 255.0, alpha * ((argb >> 24) & 0xFF) / 255.0);
}

/* Text with a filled background, its top-left at (x, y) (bottom-left with @above), kept inside
 * the frame. */
static void tag(cairo_t *cr, const UfoOverlayStyle *style, const char *text, double x, double y,
                bool above, uint32_t bg, int fw, int fh)
{
  const double size = ufo_overlay_font_size(style, fh);
  cairo_select_font_face(cr, style->font_family ? style->font_family : "Sans",
                         CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, size);
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  cairo_text_extents(cr, text, &te);
  cairo_font_extents(cr, &fe);
  const double pad = fmax(1.0, size * 0.2);
  const double w = te.x_advance + 2 * pad, h = fe.ascent + fe.descent + 2 * pad;
  if (above)
    y -= h;
  x = fmax(0.0, fmin(x, fw - w));
  y = fmax(0.0, fmin(y, fh - h));
  cairo_rectangle(cr, x, y, w, h);
  set_argb(cr, bg, 1.0);
  cairo_fill(cr);
  cairo_move_to(cr, x + pad, y + pad + fe.ascent);
  set_argb(cr, style->text_color ? style->text_color : ufo_overlay_contrast_color(bg), 1.0);
  cairo_show_text(cr, text);
}

void ufo_overlay_draw_rule(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayRule *rule,
                           int frame_width, int frame_height)
{
  if (!rule->xy || rule->n_points < 2)
    return;
  const double lw = ufo_overlay_line_width(style, frame_height);
  const uint32_t color = rule->active ? ACTIVE_COLOR : rule->is_line ? LINE_COLOR : ZONE_COLOR;
  const double *p = rule->xy;
  char text[256];
  cairo_save(cr);
  cairo_set_line_width(cr, lw);
  cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
  if (rule->is_line) {
    cairo_move_to(cr, p[0], p[1]);
    cairo_line_to(cr, p[2], p[3]);
    set_argb(cr, color, 1.0);
    cairo_stroke(cr);
    /* arrow from the midpoint along the normal (−dy, dx): the "in" direction */
    const double dx = p[2] - p[0], dy = p[3] - p[1], len = hypot(dx, dy);
    if (len > 0) {
      const double nx = -dy / len, ny = dx / len, ux = dx / len, uy = dy / len;
      const double mx = (p[0] + p[2]) / 2, my = (p[1] + p[3]) / 2;
      const double al = fmax(6 * lw, 2 * ufo_overlay_font_size(style, frame_height));
      const double tx = mx + nx * al, ty = my + ny * al, head = al / 3;
      cairo_move_to(cr, mx, my);
      cairo_line_to(cr, tx, ty);
      cairo_stroke(cr);
      cairo_move_to(cr, tx, ty);
      cairo_line_to(cr, tx - nx * head + ux * head * 0.6, ty - ny * head + uy * head * 0.6);
      cairo_line_to(cr, tx - nx * head - ux * head * 0.6, ty - ny * head - uy * head * 0.6);
      cairo_close_path(cr);
      cairo_fill(cr);
    }
    snprintf(text, sizeof text, "%s in %llu out %llu", rule->name ? rule->name : "",
             (unsigned long long)rule->count_in, (unsigned long long)rule->count_out);
  } else {
    cairo_move_to(cr, p[0], p[1]);
    for (int i = 1; i < rule->n_points; i++)
      cairo_line_to(cr, p[2 * i], p[2 * i + 1]);
    cairo_close_path(cr);
    set_argb(cr, color, 0.15);
    cairo_fill_preserve(cr);
    set_argb(cr, color, 1.0);
    cairo_stroke(cr);
    snprintf(text, sizeof text, "%s: %u (in %llu out %llu)", rule->name ? rule->name : "",
             rule->occupancy, (unsigned long long)rule->count_in,
             (unsigned long long)rule->count_out);
  }
  /* a line's tag sits above its first point, a zone's inside its first vertex */
  if (style->draw_labels)
    tag(cr, style, text, p[0], rule->is_line ? p[1] - lw : p[1], rule->is_line, color, frame_width,
        frame_height);
  cairo_restore(cr);
}
