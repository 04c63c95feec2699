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

/* Text at baseline (x, y): filled in fg; without a background it gets a contrasting outline so
 * it stays readable on any picture (the glyphs as a path, stroked then filled). Filled text
 * alone goes through cairo_show_text, whose glyphs are rasterised once per font and size and
 * cached, where a path is filled anew for every label. */
static void show_text(cairo_t *cr, const char *text, double x, double y, uint32_t fg, bool outline,
                      double size)
{
  cairo_move_to(cr, x, y);
  if (!outline) {
    set_argb(cr, fg);
    cairo_show_text(cr, text);
    return;
  }
  cairo_text_path(cr, text);
  set_argb(cr, ufo_overlay_contrast_color(fg));
  cairo_set_line_width(cr, fmax(1.0, size / 8.0));
  cairo_stroke_preserve(cr);
  set_argb(cr, fg);
  cairo_fill(cr);
}

/* Where an object's label goes (shared by drawing and ufo_overlay_frame_bounds). Selects the
 * font on cr. FALSE when there is no text to draw. */
typedef struct {
  char text[256];
  double x, y, w, h, pad, ascent, font_size;
} LabelLayout;

static bool label_layout(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayObject *o,
                         int frame_width, int frame_height, LabelLayout *l)
{
  size_t n = 0;
  l->text[0] = '\0';
  if (style->draw_labels && o->label)
    n += snprintf(l->text + n, sizeof l->text - n, "%s", o->label);
  if (style->draw_scores && o->score >= 0 && n < sizeof l->text)
    n += snprintf(l->text + n, sizeof l->text - n, "%s%.2f", n ? " " : "", o->score);
  if (style->draw_track_ids && o->track_id && n < sizeof l->text)
    n += snprintf(l->text + n, sizeof l->text - n, "%s#%llu", n ? " " : "",
                  (unsigned long long)o->track_id);
  if (!l->text[0])
    return false;
  l->font_size = ufo_overlay_font_size(style, frame_height);
  select_font(cr, style, l->font_size);
  cairo_text_extents_t te;
  cairo_font_extents_t fe;
  cairo_text_extents(cr, l->text, &te);
  cairo_font_extents(cr, &fe);
  l->pad = fmax(1.0, l->font_size * 0.2);
  l->ascent = fe.ascent;
  l->w = te.x_advance + 2 * l->pad;
  l->h = fe.ascent + fe.descent + 2 * l->pad;
  /* label sits on top of the box, or just inside it when the box touches the top edge */
  l->x = o->x;
  l->y = o->y - l->h >= 0 ? o->y - l->h : o->y;
  if (frame_width > 0 && l->x + l->w > frame_width)
    l->x = fmax(0.0, frame_width - l->w);
  if (l->x < 0)
    l->x = 0;
  return true;
}

void ufo_overlay_draw_object(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayObject *o,
                             int frame_width, int frame_height)
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
  LabelLayout l;
  if (label_layout(cr, style, o, frame_width, frame_height, &l)) {
    uint32_t fg = style->text_color;
    if (style->text_background) {
      cairo_rectangle(cr, l.x, l.y, l.w, l.h);
      set_argb(cr, color);
      cairo_fill(cr);
      if (!fg)
        fg = ufo_overlay_contrast_color(color);
    } else if (!fg) {
      fg = color;
    }
    show_text(cr, l.text, l.x + l.pad, l.y + l.pad + l.ascent, fg, !style->text_background,
              l.font_size);
  }
  cairo_restore(cr);
}

/* Greedy word wrap of text into at most max_lines lines no wider than width. */
static int wrap_lines(cairo_t *cr, const char *text, double width, char lines[][256], int max_lines)
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

/* Caption banner lines and height; selects the font on cr. 0 lines = nothing to draw. */
typedef struct {
  char lines[3][256];
  int n;
  double font_size, pad, line_h, ascent, top, h;
} CaptionLayout;

static void caption_layout(cairo_t *cr, const UfoOverlayStyle *style, const char *caption,
                           int frame_width, int frame_height, CaptionLayout *c)
{
  c->n = 0;
  if (!caption || !caption[0] || frame_width <= 0 || frame_height <= 0)
    return;
  c->font_size = ufo_overlay_font_size(style, frame_height);
  c->pad = fmax(2.0, c->font_size * 0.4);
  select_font(cr, style, c->font_size);
  c->n = wrap_lines(cr, caption, frame_width - 2 * c->pad, c->lines, 3);
  cairo_font_extents_t fe;
  cairo_font_extents(cr, &fe);
  c->line_h = fe.ascent + fe.descent;
  c->ascent = fe.ascent;
  c->h = c->n * c->line_h + 2 * c->pad;
  c->top = fmax(0.0, frame_height - c->h);
}

void ufo_overlay_draw_caption(cairo_t *cr, const UfoOverlayStyle *style, const char *caption,
                              int frame_width, int frame_height)
{
  cairo_save(cr);
  CaptionLayout c;
  caption_layout(cr, style, caption, frame_width, frame_height, &c);
  if (c.n > 0) {
    /* banner: translucent black across the full width, text in white (or text_color) */
    cairo_rectangle(cr, 0, c.top, frame_width, c.h);
    cairo_set_source_rgba(cr, 0, 0, 0, 0.6);
    cairo_fill(cr);
    const uint32_t fg = style->text_color ? style->text_color : 0xFFFFFFFFu;
    for (int i = 0; i < c.n; i++)
      show_text(cr, c.lines[i], c.pad, c.top + c.pad + i * c.line_h + c.ascent, fg, false,
                c.font_size);
  }
  cairo_restore(cr);
}

void ufo_overlay_draw_frame(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayFrame *frame)
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
  for (int i = 0; i < frame->n_rules; i++)
    ufo_overlay_draw_rule(cr, style, &frame->rules[i], frame->width, frame->height);
  for (int i = 0; i < frame->n_objects; i++)
    ufo_overlay_draw_object(cr, style, &frame->objects[i], frame->width, frame->height);
  if (style->draw_captions)
    ufo_overlay_draw_caption(cr, style, frame->caption, frame->width, frame->height);
}

/* Grows [x0,x1)x[y0,y1) to contain the rectangle (x, y, w, h). */
static void grow(double b[4], double x, double y, double w, double h)
{
  if (w <= 0 || h <= 0)
    return;
  b[0] = fmin(b[0], x);
  b[1] = fmin(b[1], y);
  b[2] = fmax(b[2], x + w);
  b[3] = fmax(b[3], y + h);
}

bool ufo_overlay_frame_bounds(const UfoOverlayStyle *style, const UfoOverlayFrame *frame, int *x,
                              int *y, int *w, int *h)
{
  double b[4] = {INFINITY, INFINITY, -INFINITY, -INFINITY};
  /* a scratch context measures text exactly as drawing will */
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1);
  cairo_t *cr = cairo_create(s);
  double margin = 2.0;
  if (frame->semantic && style->draw_masks)
    grow(b, frame->semantic->x, frame->semantic->y, frame->semantic->w, frame->semantic->h);
  if (frame->n_rules > 0) /* rules, arrows and count tags: the whole frame */
    grow(b, 0, 0, frame->width, frame->height);
  for (int i = 0; i < frame->n_objects; i++) {
    const UfoOverlayObject *o = &frame->objects[i];
    if (o->mask && style->draw_masks)
      grow(b, o->mask->x, o->mask->y, o->mask->w, o->mask->h);
    if (style->draw_boxes)
      grow(b, o->x, o->y, o->w, o->h);
    LabelLayout l;
    if (label_layout(cr, style, o, frame->width, frame->height, &l)) {
      grow(b, l.x, l.y, l.w, l.h);
      /* glyph overhang and the outline of text without background */
      margin = fmax(margin, 2.0 + l.font_size / 4);
    }
  }
  if (style->draw_captions) {
    CaptionLayout c;
    caption_layout(cr, style, frame->caption, frame->width, frame->height, &c);
    if (c.n > 0)
      grow(b, 0, c.top, frame->width, c.h);
  }
  cairo_destroy(cr);
  cairo_surface_destroy(s);
  if (!(b[2] > b[0] && b[3] > b[1]))
    return false;
  /* whole pixels, a margin for antialiasing, clipped to the frame */
  int x0 = (int)fmax(0.0, floor(b[0] - margin)), y0 = (int)fmax(0.0, floor(b[1] - margin));
  int x1 = (int)fmin((double)frame->width, ceil(b[2] + margin));
  int y1 = (int)fmin((double)frame->height, ceil(b[3] + margin));
  if (x1 <= x0 || y1 <= y0)
    return false;
  *x = x0;
  *y = y0;
  *w = x1 - x0;
  *h = y1 - y0;
  return true;
}
