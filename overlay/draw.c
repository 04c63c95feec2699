/* ufo-overlay: boxes, labels and the caption banner. */
#include "overlay.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_argb(cairo_t *cr, uint32_t argb)
{
  cairo_set_source_rgba(cr, ((argb >> 16) & 0xFF) / 255.0, ((argb >> 8) & 0xFF) / 255.0,
                        (argb & 0xFF) / 255.0, ((argb >> 24) & 0xFF) / 255.0);
}

static void select_font(cairo_t *cr, const UfoOverlayStyle *style, double size)
{
  cairo_select_font_face(cr, style->font_family ? style->font_family : "Sans",
                         CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
  cairo_set_font_size(cr, size);
}

/* Width of the target surface, or 0 when it is not an image surface. */
static int target_width(cairo_t *cr)
{
  cairo_surface_t *t = cairo_get_target(cr);
  return cairo_surface_get_type(t) == CAIRO_SURFACE_TYPE_IMAGE ? cairo_image_surface_get_width(t)
                                                                : 0;
}

/* Text at baseline (x, y): filled in fg; without a background it gets a contrasting outline so
 * it stays readable on any picture. */
static void show_text(cairo_t *cr, const char *text, double x, double y, uint32_t fg,
                      bool outline, double size)
{
  cairo_move_to(cr, x, y);
  cairo_text_path(cr, text);
  if (outline) {
    set_argb(cr, ufo_overlay_contrast_color(fg));
    cairo_set_line_width(cr, fmax(1.0, size / 8.0));
    cairo_stroke_preserve(cr);
  }
  set_argb(cr, fg);
  cairo_fill(cr);
}

void ufo_overlay_draw_object(cairo_t *cr, const UfoOverlayStyle *style,
                             const UfoOverlayObject *o, int frame_height)
{
  const uint32_t color = style->box_color ? style->box_color : ufo_overlay_class_color(o->class_id);
  const double lw = ufo_overlay_line_width(style, frame_height);
  cairo_save(cr);
  if (style->draw_boxes && o->w > 0 && o->h > 0) {
    /* the stroke is inset by half the line width so the outline stays inside the box */
    cairo_rectangle(cr, o->x + lw / 2, o->y + lw / 2, fmax(0.0, o->w - lw), fmax(0.0, o->h - lw));
    set_argb(cr, color);
    cairo_set_line_width(cr, lw);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_MITER);
    cairo_stroke(cr);
  }
  char text[256] = "";
  size_t n = 0;
  if (style->draw_labels && o->label)
    n += snprintf(text + n, sizeof text - n, "%s", o->label);
  if (style->draw_scores && o->score >= 0 && n < sizeof text)
    n += snprintf(text + n, sizeof text - n, "%s%.2f", n ? " " : "", o->score);
  if (style->draw_track_ids && o->track_id && n < sizeof text)
    n += snprintf(text + n, sizeof text - n, "%s#%llu", n ? " " : "",
                  (unsigned long long)o->track_id);
  if (text[0]) {
    const double fs = ufo_overlay_font_size(style, frame_height);
    select_font(cr, style, fs);
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, text, &te);
    cairo_font_extents(cr, &fe);
    const double pad = fmax(1.0, fs * 0.2);
    const double bw = te.x_advance + 2 * pad, bh = fe.ascent + fe.descent + 2 * pad;
    /* label sits on top of the box, or just inside it when the box touches the top edge */
    double lx = o->x, ly = o->y - bh >= 0 ? o->y - bh : o->y;
    int fw = target_width(cr);
    if (fw > 0 && lx + bw > fw)
      lx = fmax(0.0, fw - bw);
    if (lx < 0)
      lx = 0;
    uint32_t fg = style->text_color;
    if (style->text_background) {
      cairo_rectangle(cr, lx, ly, bw, bh);
      set_argb(cr, color);
      cairo_fill(cr);
      if (!fg)
        fg = ufo_overlay_contrast_color(color);
    } else if (!fg) {
      fg = color;
    }
    show_text(cr, text, lx + pad, ly + pad + fe.ascent, fg, !style->text_background, fs);
  }
  cairo_restore(cr);
}

/* Greedy word wrap of text into at most max_lines lines no wider than width. */
static int wrap_lines(cairo_t *cr, const char *text, double width, char lines[][256],
                      int max_lines)
{
  int n_lines = 0;
  size_t len = strlen(text);
  char *copy = malloc(len + 1);
  if (!copy)
    return 0;
  memcpy(copy, text, len + 1);
  char *save = NULL;
  lines[0][0] = '\0';
  for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save)) {
    char trial[256];
    if (lines[n_lines][0])
      snprintf(trial, sizeof trial, "%s %s", lines[n_lines], w);
    else
      snprintf(trial, sizeof trial, "%s", w);
    cairo_text_extents_t te;
    cairo_text_extents(cr, trial, &te);
    if (te.x_advance > width && lines[n_lines][0]) {
      if (n_lines + 1 >= max_lines)
        break;
      n_lines++;
      snprintf(lines[n_lines], 256, "%s", w);
    } else {
      memcpy(lines[n_lines], trial, sizeof trial);
    }
  }
  free(copy);
  return lines[n_lines][0] ? n_lines + 1 : n_lines;
}

void ufo_overlay_draw_caption(cairo_t *cr, const UfoOverlayStyle *style, const char *caption,
                              int frame_width, int frame_height)
{
  if (!caption || !caption[0] || frame_width <= 0 || frame_height <= 0)
    return;
  const double fs = ufo_overlay_font_size(style, frame_height);
  const double pad = fmax(2.0, fs * 0.4);
  cairo_save(cr);
  select_font(cr, style, fs);
  char lines[3][256];
  int n = wrap_lines(cr, caption, frame_width - 2 * pad, lines, 3);
  if (n == 0) {
    cairo_restore(cr);
    return;
  }
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  const double line_h = fe.ascent + fe.descent;
  const double bh = n * line_h + 2 * pad;
  const double top = fmax(0.0, frame_height - bh);
  /* banner: translucent black across the full width, text in white (or text_color) */
  cairo_rectangle(cr, 0, top, frame_width, bh);
  cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
  cairo_fill(cr);
  const uint32_t fg = style->text_color ? style->text_color : 0xFFFFFFFFu;
  for (int i = 0; i < n; i++)
    show_text(cr, lines[i], pad, top + pad + i * line_h + fe.ascent, fg, false, fs);
  cairo_restore(cr);
}

void ufo_overlay_draw_frame(cairo_t *cr, const UfoOverlayStyle *style,
                            const UfoOverlayFrame *frame)
{
  if (frame->semantic && style->draw_masks)
    ufo_overlay_draw_semantic(cr, style, frame->semantic);
  if (style->draw_masks) {
    for (int i = 0; i < frame->n_objects; i++) {
      const UfoOverlayObject *o = &frame->objects[i];
      if (o->mask)
        ufo_overlay_draw_mask(cr, style, o->mask,
                              style->box_color ? style->box_color
                                               : ufo_overlay_class_color(o->class_id));
    }
  }
  for (int i = 0; i < frame->n_objects; i++)
    ufo_overlay_draw_object(cr, style, &frame->objects[i], frame->height);
  if (style->draw_captions)
    ufo_overlay_draw_caption(cr, style, frame->caption, frame->width, frame->height);
}
