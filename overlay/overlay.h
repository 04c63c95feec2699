/* ufo-overlay: Cairo drawing of UFO-ViT results onto a caller-given ARGB32 surface.
 *
 * Plain C + Cairo, no GObject and no GStreamer: the ufooverlay element converts its metadata into
 * these structs. All coordinates are frame pixels (double). Colours are ARGB 0xAARRGGBB,
 * not premultiplied.
 */
#ifndef UFO_OVERLAY_H
#define UFO_OVERLAY_H

#include <cairo.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
  bool draw_boxes, draw_labels, draw_scores, draw_masks, draw_track_ids, draw_captions;
  double mask_alpha;       /* 0..1 fill opacity of instance masks */
  double semantic_alpha;   /* 0..1 opacity of the semantic map */
  double mask_threshold;   /* 0..1: mask pixels with probability >= this are inside */
  double line_width;       /* px, 0 = grows with frame height */
  double font_size;        /* px, 0 = grows with frame height */
  const char *font_family; /* NULL = "Sans" */
  uint32_t box_color;      /* 0 = class palette */
  uint32_t text_color;     /* 0 = black or white, whichever contrasts with the label background */
  bool text_background;    /* filled box behind label text */
} UfoOverlayStyle;

/* Fills *style with the defaults (everything drawn, alphas 0.45/0.5, automatic sizes). */
void ufo_overlay_style_init(UfoOverlayStyle *style);

typedef struct {
  const uint8_t *data; /* GRAY8 probabilities 0..255, height rows of stride bytes */
  int width, height, stride;
  double x, y, w, h; /* where the mask lies in the frame */
} UfoOverlayMask;

typedef struct {
  int class_id;               /* palette index; < 0 = grey */
  const char *label;          /* NULL = no text */
  double score;               /* < 0 = unknown, not drawn */
  double x, y, w, h;          /* box */
  uint64_t track_id;          /* 0 = none */
  const UfoOverlayMask *mask; /* NULL = none */
} UfoOverlayObject;

typedef struct {
  const uint8_t *data; /* class ids, height rows of stride bytes */
  int bytes_per_pixel; /* 1 (8-bit ids) or 2 (16-bit native-endian ids) */
  int width, height, stride;
  double x, y, w, h;
  int hidden_id; /* pixels of this class are not tinted (e.g. background); < 0 = none */
} UfoOverlaySemantic;

/* Stable colour of a class: hue from the id (golden-ratio steps), fixed saturation/value.
 * Opaque ARGB. Negative ids are mid grey. */
uint32_t ufo_overlay_class_color(int class_id);
/* Black or white (opaque ARGB), whichever has the higher contrast against bg (WCAG luminance). */
uint32_t ufo_overlay_contrast_color(uint32_t bg);
/* Effective line width / font size in px for a frame height. */
double ufo_overlay_line_width(const UfoOverlayStyle *style, int frame_height);
double ufo_overlay_font_size(const UfoOverlayStyle *style, int frame_height);

/* Each drawing call takes a cairo_t targeting the frame (ARGB32 image surface of frame size). */
void ufo_overlay_draw_semantic(cairo_t *cr, const UfoOverlayStyle *style,
                               const UfoOverlaySemantic *map);
void ufo_overlay_draw_mask(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayMask *mask,
                           uint32_t color);
/* Box and label ("label 0.87 #12") of one object; mask not included. Labels are kept inside
 * [0, frame_width) (0 = no limit). */
void ufo_overlay_draw_object(cairo_t *cr, const UfoOverlayStyle *style,
                             const UfoOverlayObject *object, int frame_width, int frame_height);
/* Caption banner across the bottom of the frame. */
void ufo_overlay_draw_caption(cairo_t *cr, const UfoOverlayStyle *style, const char *caption,
                              int frame_width, int frame_height);

/* A ufoanalytics rule: a directed line (2 points, an arrow along its normal marks "in") or a zone
 * (polygon, outlined and lightly filled), with its name and counts as a tag at the first point. */
typedef struct {
  bool is_line;
  const double *xy; /* (n_points, 2) frame pixels */
  int n_points;
  const char *name;
  uint64_t count_in, count_out; /* lines: crossings in/out; zones: entries/exits */
  unsigned occupancy;           /* zones: objects inside on this frame */
  bool active;                  /* an event on this frame: drawn in red */
} UfoOverlayRule;

void ufo_overlay_draw_rule(cairo_t *cr, const UfoOverlayStyle *style, const UfoOverlayRule *rule,
                           int frame_width, int frame_height);

typedef struct {
  int width, height;
  const UfoOverlayObject *objects;
  int n_objects;
  const UfoOverlaySemantic *semantic; /* NULL = none */
  const char *caption;                /* NULL = none */
  const UfoOverlayRule *rules;        /* analytics rules, NULL = none */
  int n_rules;
} UfoOverlayFrame;

/* Everything in order: semantic map, masks, analytics rules, boxes and labels, caption. */
void ufo_overlay_draw_frame(cairo_t *cr, const UfoOverlayStyle *style,
                            const UfoOverlayFrame *frame);
/* The smallest pixel rectangle of the frame (with a small antialiasing margin) outside of which
 * ufo_overlay_draw_frame paints nothing, so callers can draw into a surface of that size
 * translated by (-x, -y). FALSE when nothing would be drawn. */
bool ufo_overlay_frame_bounds(const UfoOverlayStyle *style, const UfoOverlayFrame *frame, int *x,
                              int *y, int *w, int *h);

#endif
