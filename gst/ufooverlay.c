/* ufooverlay: draws UFO-ViT results (or other producers' ROI metas) with Cairo.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-ufooverlay
 * @title: ufooverlay
 *
 * Draws boxes, labels with scores, translucent instance masks with outlines, the semantic map
 * and the caption found in #GstUfoMeta, and the lines and zones of a #GstUfoAnalyticsMeta
 * (ufoanalytics) with their counts (`draw-analytics`). Buffers without a #GstUfoMeta from a
 * producer are drawn from their #GstVideoRegionOfInterestMeta (gvadetect, onnxobjectdetector, …).
 * The drawing is a #GstVideoOverlayComposition: attached as a meta when downstream says in the
 * allocation query that it can composite, blended into the frame otherwise.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! ufodetect model=m.safetensors
 * ! \ ufooverlay line-width=3 min-score=0.3 ! videoconvert ! x264enc ! mp4mux ! filesink
 * location=out.mp4
 * ]|
 *
 * Since: 0.1
 */
#include "ufooverlay.h"
#include "ufoblend.h"
#include "ufoenums.h"
#include "uforesults.h"

#include <gst/ufo/ufoanalyticsmeta.h>
#include <gst/ufo/ufometa.h>
#include <overlay.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(ufooverlay_debug);
#define GST_CAT_DEFAULT ufooverlay_debug

enum {
  PROP_0,
  PROP_DRAW_BOXES,
  PROP_DRAW_LABELS,
  PROP_DRAW_SCORES,
  PROP_DRAW_MASKS,
  PROP_DRAW_TRACK_IDS,
  PROP_DRAW_CAPTIONS,
  PROP_MASK_ALPHA,
  PROP_SEMANTIC_ALPHA,
  PROP_MASK_THRESHOLD,
  PROP_LINE_WIDTH,
  PROP_FONT_FAMILY,
  PROP_FONT_SIZE,
  PROP_BOX_COLOR,
  PROP_TEXT_COLOR,
  PROP_TEXT_BACKGROUND,
  PROP_MIN_SCORE,
  PROP_CLASSES,
  PROP_UNIQUE_ID,
  PROP_COLOR_BY,
  PROP_SOURCES,
  PROP_DRAW_ANALYTICS,
  PROP_SEMANTIC_HIDE,
};

#define DEFAULT_DRAW TRUE
#define DEFAULT_MASK_ALPHA 0.45
#define DEFAULT_SEMANTIC_ALPHA 0.5
#define DEFAULT_MASK_THRESHOLD 0.5
#define DEFAULT_LINE_WIDTH 0.0
#define DEFAULT_FONT_FAMILY "Sans"
#define DEFAULT_FONT_SIZE 0.0
#define DEFAULT_BOX_COLOR 0
#define DEFAULT_TEXT_COLOR 0
#define DEFAULT_TEXT_BACKGROUND TRUE
#define DEFAULT_MIN_SCORE 0.0
#define DEFAULT_CLASSES ""
#define DEFAULT_UNIQUE_ID -1
#define DEFAULT_COLOR_BY GST_UFO_COLOR_BY_CLASS
#define DEFAULT_SOURCES (GST_UFO_SOURCES_UFO | GST_UFO_SOURCES_ROI)
#define DEFAULT_DRAW_ANALYTICS TRUE
#define DEFAULT_SEMANTIC_HIDE "background"

struct _GstUfoOverlay {
  GstVideoFilter parent;
  /* properties, under the object lock */
  UfoOverlayStyle style;
  gchar *font_family;
  gdouble min_score;
  gchar *classes;
  gboolean classes_dirty;
  gint unique_id;
  GstUfoColorBy color_by;
  GstUfoSources sources;
  gboolean draw_analytics;
  gchar *semantic_hide;
  /* streaming state */
  GstUfoFilter filter; /* classes only */
  gboolean check_downstream;
  gboolean attach; /* downstream composites GstVideoOverlayCompositionMeta itself */
};

G_DEFINE_TYPE(GstUfoOverlay, gst_ufo_overlay, GST_TYPE_VIDEO_FILTER)
GST_ELEMENT_REGISTER_DEFINE(ufooverlay, "ufooverlay", GST_RANK_NONE, GST_TYPE_UFO_OVERLAY);

static void gst_ufo_overlay_set_property(GObject *object, guint prop_id, const GValue *value,
                                         GParamSpec *pspec)
{
  GstUfoOverlay *self = GST_UFO_OVERLAY(object);
  UfoOverlayStyle *st = &self->style;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_DRAW_BOXES:
    st->draw_boxes = g_value_get_boolean(value);
    break;
  case PROP_DRAW_LABELS:
    st->draw_labels = g_value_get_boolean(value);
    break;
  case PROP_DRAW_SCORES:
    st->draw_scores = g_value_get_boolean(value);
    break;
  case PROP_DRAW_MASKS:
    st->draw_masks = g_value_get_boolean(value);
    break;
  case PROP_DRAW_TRACK_IDS:
    st->draw_track_ids = g_value_get_boolean(value);
    break;
  case PROP_DRAW_CAPTIONS:
    st->draw_captions = g_value_get_boolean(value);
    break;
  case PROP_MASK_ALPHA:
    st->mask_alpha = g_value_get_double(value);
    break;
  case PROP_SEMANTIC_ALPHA:
    st->semantic_alpha = g_value_get_double(value);
    break;
  case PROP_MASK_THRESHOLD:
    st->mask_threshold = g_value_get_double(value);
    break;
  case PROP_LINE_WIDTH:
    st->line_width = g_value_get_double(value);
    break;
  case PROP_FONT_FAMILY:
    g_free(self->font_family);
    self->font_family = g_value_dup_string(value);
    break;
  case PROP_FONT_SIZE:
    st->font_size = g_value_get_double(value);
    break;
  case PROP_BOX_COLOR:
    st->box_color = g_value_get_uint(value);
    break;
  case PROP_TEXT_COLOR:
    st->text_color = g_value_get_uint(value);
    break;
  case PROP_TEXT_BACKGROUND:
    st->text_background = g_value_get_boolean(value);
    break;
  case PROP_MIN_SCORE:
    self->min_score = g_value_get_double(value);
    break;
  case PROP_CLASSES:
    g_free(self->classes);
    self->classes = g_value_dup_string(value);
    self->classes_dirty = TRUE;
    break;
  case PROP_UNIQUE_ID:
    self->unique_id = g_value_get_int(value);
    break;
  case PROP_SEMANTIC_HIDE:
    g_free(self->semantic_hide);
    self->semantic_hide = g_value_dup_string(value);
    break;
  case PROP_COLOR_BY:
    self->color_by = g_value_get_enum(value);
    break;
  case PROP_DRAW_ANALYTICS:
    self->draw_analytics = g_value_get_boolean(value);
    break;
  case PROP_SOURCES:
    self->sources = g_value_get_flags(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_ufo_overlay_get_property(GObject *object, guint prop_id, GValue *value,
                                         GParamSpec *pspec)
{
  GstUfoOverlay *self = GST_UFO_OVERLAY(object);
  const UfoOverlayStyle *st = &self->style;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_DRAW_BOXES:
    g_value_set_boolean(value, st->draw_boxes);
    break;
  case PROP_DRAW_LABELS:
    g_value_set_boolean(value, st->draw_labels);
    break;
  case PROP_DRAW_SCORES:
    g_value_set_boolean(value, st->draw_scores);
    break;
  case PROP_DRAW_MASKS:
    g_value_set_boolean(value, st->draw_masks);
    break;
  case PROP_DRAW_TRACK_IDS:
    g_value_set_boolean(value, st->draw_track_ids);
    break;
  case PROP_DRAW_CAPTIONS:
    g_value_set_boolean(value, st->draw_captions);
    break;
  case PROP_MASK_ALPHA:
    g_value_set_double(value, st->mask_alpha);
    break;
  case PROP_SEMANTIC_ALPHA:
    g_value_set_double(value, st->semantic_alpha);
    break;
  case PROP_MASK_THRESHOLD:
    g_value_set_double(value, st->mask_threshold);
    break;
  case PROP_LINE_WIDTH:
    g_value_set_double(value, st->line_width);
    break;
  case PROP_FONT_FAMILY:
    g_value_set_string(value, self->font_family);
    break;
  case PROP_FONT_SIZE:
    g_value_set_double(value, st->font_size);
    break;
  case PROP_BOX_COLOR:
    g_value_set_uint(value, st->box_color);
    break;
  case PROP_TEXT_COLOR:
    g_value_set_uint(value, st->text_color);
    break;
  case PROP_TEXT_BACKGROUND:
    g_value_set_boolean(value, st->text_background);
    break;
  case PROP_MIN_SCORE:
    g_value_set_double(value, self->min_score);
    break;
  case PROP_CLASSES:
    g_value_set_string(value, self->classes);
    break;
  case PROP_UNIQUE_ID:
    g_value_set_int(value, self->unique_id);
    break;
  case PROP_SEMANTIC_HIDE:
    g_value_set_string(value, self->semantic_hide);
    break;
  case PROP_COLOR_BY:
    g_value_set_enum(value, self->color_by);
    break;
  case PROP_DRAW_ANALYTICS:
    g_value_set_boolean(value, self->draw_analytics);
    break;
  case PROP_SOURCES:
    g_value_set_flags(value, self->sources);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

/* What one frame will draw, gathered from the metas. */
typedef struct {
  GArray *objects;   /* UfoOverlayObject */
  GArray *masks;     /* UfoOverlayMask; objects[i].mask set once all are collected */
  GArray *mask_of;   /* gint per object: index into masks or -1 */
  GArray *semantics; /* UfoOverlaySemantic */
  GString *caption;
  GArray *rules;     /* UfoOverlayRule of ufoanalytics */
  GPtrArray *points; /* the rules' points (gdouble arrays) */
} Scene;

static void scene_init(Scene *sc)
{
  sc->objects = g_array_new(FALSE, TRUE, sizeof(UfoOverlayObject));
  sc->masks = g_array_new(FALSE, TRUE, sizeof(UfoOverlayMask));
  sc->mask_of = g_array_new(FALSE, TRUE, sizeof(gint));
  sc->semantics = g_array_new(FALSE, TRUE, sizeof(UfoOverlaySemantic));
  sc->caption = g_string_new(NULL);
  sc->rules = g_array_new(FALSE, TRUE, sizeof(UfoOverlayRule));
  sc->points = g_ptr_array_new_with_free_func(g_free);
}

static void scene_clear(Scene *sc)
{
  g_array_unref(sc->objects);
  g_array_unref(sc->masks);
  g_array_unref(sc->mask_of);
  g_array_unref(sc->semantics);
  g_string_free(sc->caption, TRUE);
  g_array_unref(sc->rules);
  g_ptr_array_unref(sc->points);
}

/* Lines and zones of a GstUfoAnalyticsMeta, mapped to a frame of w×h pixels. */
static void scene_add_analytics(Scene *sc, const GstUfoAnalyticsMeta *m, gint w, gint h)
{
  const gdouble sx = m->width > 0 ? (gdouble)w / m->width : 1.0;
  const gdouble sy = m->height > 0 ? (gdouble)h / m->height : 1.0;
  GstUfoAnalyticsRule r;
  for (guint i = 0; gst_ufo_analytics_meta_get_rule(m, i, &r); i++) {
    gdouble *xy = g_new(gdouble, 2 * r.n_points);
    for (guint k = 0; k < r.n_points; k++) {
      xy[2 * k] = r.points[2 * k] * sx;
      xy[2 * k + 1] = r.points[2 * k + 1] * sy;
    }
    g_ptr_array_add(sc->points, xy);
    const UfoOverlayRule rule = {.is_line = r.kind == GST_UFO_ANALYTICS_RULE_LINE,
                                 .xy = xy,
                                 .n_points = (int)r.n_points,
                                 .name = r.name,
                                 .count_in = r.total_in,
                                 .count_out = r.total_out,
                                 .occupancy = r.occupancy,
                                 .active = r.frame_in + r.frame_out > 0};
    g_array_append_val(sc->rules, rule);
  }
}

/* Palette index of an object under color-by (ids folded into the non-negative int range). */
static gint color_id(GstUfoColorBy color_by, gint label_id, guint64 track_id, gboolean has_producer,
                     guint producer)
{
  if (color_by == GST_UFO_COLOR_BY_TRACK && track_id != 0)
    return (gint)(track_id & G_MAXINT);
  if (color_by == GST_UFO_COLOR_BY_PRODUCER && has_producer)
    return (gint)(producer & G_MAXINT);
  return label_id;
}

static gboolean keep_object(GstUfoOverlay *self, gdouble min_score, gint label_id,
                            const gchar *label, gdouble score)
{
  if (score >= 0 && score < min_score)
    return FALSE;
  return gst_ufo_filter_accepts(&self->filter, label_id, label, -1.0);
}

static void scene_add_ufo_meta(GstUfoOverlay *self, Scene *sc, GstUfoMeta *m, gdouble min_score,
                               GstUfoColorBy color_by, const gchar *semantic_hide)
{
  const guint n = gst_ufo_meta_get_n_objects(m);
  for (guint i = 0; i < n; i++) {
    GstUfoObject o;
    if (!gst_ufo_meta_get_object(m, i, &o) ||
        !keep_object(self, min_score, o.label_id, o.label, o.score))
      continue;
    UfoOverlayObject oo = {.class_id =
                               color_id(color_by, o.label_id, o.track_id, TRUE, m->producer_id),
                           .label = o.label,
                           .score = o.score,
                           .x = o.x,
                           .y = o.y,
                           .w = o.w,
                           .h = o.h,
                           .track_id = o.track_id};
    gint mask_index = -1;
    UfoOverlayMask mk;
    GstUfoRect r;
    if (gst_ufo_meta_get_mask(m, i, &mk.width, &mk.height, &mk.stride, &mk.data, &r)) {
      mk.x = r.x;
      mk.y = r.y;
      mk.w = r.w;
      mk.h = r.h;
      g_array_append_val(sc->masks, mk);
      mask_index = sc->masks->len - 1;
    }
    g_array_append_val(sc->objects, oo);
    g_array_append_val(sc->mask_of, mask_index);
  }
  GstVideoFormat f;
  UfoOverlaySemantic sem;
  GstUfoRect r;
  guint n_classes = 0;
  const gchar *const *class_names = NULL;
  if (gst_ufo_meta_get_semantic_map(m, &f, &sem.width, &sem.height, &sem.stride, &sem.data, &r,
                                    &n_classes, &class_names)) {
    sem.bytes_per_pixel = f == GST_VIDEO_FORMAT_GRAY8 ? 1 : 2;
    sem.hidden_id = -1; /* semantic-hide: the class left untinted, by name */
    for (guint k = 0; class_names && k < n_classes && semantic_hide && semantic_hide[0]; k++)
      if (class_names[k] && !strcmp(class_names[k], semantic_hide))
        sem.hidden_id = (int)k;
    sem.x = r.x;
    sem.y = r.y;
    sem.w = r.w;
    sem.h = r.h;
    g_array_append_val(sc->semantics, sem);
  }
  const gchar *cap = gst_ufo_meta_get_caption(m);
  if (cap && cap[0])
    g_string_append_printf(sc->caption, "%s%s", sc->caption->len ? " | " : "", cap);
}

static gboolean has_ufo_producer(GstBuffer *buf, guint producer)
{
  return gst_buffer_get_ufo_meta_for_producer(buf, producer) != NULL;
}

/* ROI metas of producers that did not attach a GstUfoMeta (other elements); with skip_ufo
 * FALSE (sources without ufo) the ROI metas of our own producers are drawn as well. */
static void scene_add_roi_metas(GstUfoOverlay *self, Scene *sc, GstBuffer *buf, gint unique_id,
                                gdouble min_score, GstUfoColorBy color_by, gboolean skip_ufo)
{
  gpointer state = NULL;
  GstMeta *meta;
  while ((meta = gst_buffer_iterate_meta_filtered(buf, &state,
                                                  GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
    const GstStructure *det = gst_video_region_of_interest_meta_get_param(roi, "detection");
    guint producer = 0;
    gboolean has_producer = det && gst_structure_get_uint(det, "producer_id", &producer);
    if (skip_ufo && has_producer && has_ufo_producer(buf, producer))
      continue; /* drawn from its GstUfoMeta */
    if (unique_id >= 0 && (!has_producer || producer != (guint)unique_id))
      continue;
    gdouble score = -1.0;
    gint label_id = -1;
    const gchar *label = g_quark_to_string(roi->roi_type);
    if (det) {
      gst_structure_get_double(det, "confidence", &score);
      gst_structure_get_int(det, "label_id", &label_id);
      if (gst_structure_has_field_typed(det, "label", G_TYPE_STRING))
        label = gst_structure_get_string(det, "label");
    }
    if (!keep_object(self, min_score, label_id, label, score))
      continue;
    const GstStructure *track = gst_video_region_of_interest_meta_get_param(roi, "object_id");
    gint track_id = 0;
    if (track)
      gst_structure_get_int(track, "id", &track_id);
    const guint64 tid = track_id > 0 ? (guint64)track_id : 0;
    UfoOverlayObject oo = {.class_id = color_id(color_by, label_id, tid, has_producer, producer),
                           .label = label,
                           .score = score,
                           .x = roi->x,
                           .y = roi->y,
                           .w = roi->w,
                           .h = roi->h,
                           .track_id = tid};
    gint none = -1;
    g_array_append_val(sc->objects, oo);
    g_array_append_val(sc->mask_of, none);
  }
}

static void free_surface(gpointer data)
{
  cairo_surface_destroy(data);
}

/* Tiles of the overlay surface, in pixels: a tile without paint is not blended. */
#define OVERLAY_TILE 32

/* Is the (w, h) block at (x, y) of the ARGB32 surface fully transparent (premultiplied: 0)? */
static gboolean tile_is_clear(const guint8 *data, gint stride, gint x, gint y, gint w, gint h)
{
  for (gint r = 0; r < h; r++) {
    const guint32 *px = (const guint32 *)(data + (gsize)(y + r) * stride) + x;
    for (gint c = 0; c < w; c++)
      if (px[c])
        return FALSE;
  }
  return TRUE;
}

/* A rectangle showing the (w, h) block at (x, y) of surface s at (fx, fy) of the frame: a
 * buffer over the block's rows (the surface's stride), holding a reference to s. */
static GstVideoOverlayRectangle *surface_rectangle(cairo_surface_t *s, gint x, gint y, gint w,
                                                   gint h, gint fx, gint fy)
{
  const gint stride = cairo_image_surface_get_stride(s);
  guint8 *first = cairo_image_surface_get_data(s) + (gsize)y * stride + (gsize)x * 4;
  const gsize size = (gsize)(h - 1) * stride + (gsize)w * 4;
  GstBuffer *pix = gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, first, size, 0, size,
                                               cairo_surface_reference(s), free_surface);
  gsize offset[GST_VIDEO_MAX_PLANES] = {0};
  gint strides[GST_VIDEO_MAX_PLANES] = {stride};
  /* cairo ARGB32 is native-endian premultiplied: BGRA on little endian, ARGB on big endian,
   * which is what GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB names */
  gst_buffer_add_video_meta_full(pix, GST_VIDEO_FRAME_FLAG_NONE,
                                 GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, w, h, 1, offset,
                                 strides);
  GstVideoOverlayRectangle *rect = gst_video_overlay_rectangle_new_raw(
      pix, fx, fy, (guint)w, (guint)h, GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
  gst_buffer_unref(pix);
  return rect;
}

/* Draws the scene into an ARGB32 surface over the part of the frame that gets paint; with
 * blend_into, blends it into that frame where gst_ufo_blend_argb takes its format (NULL
 * returned), else wraps it as a composition. */
static GstVideoOverlayComposition *render(const UfoOverlayStyle *style, Scene *sc, gint w, gint h,
                                          GstVideoFrame *blend_into)
{
  for (guint i = 0; i < sc->objects->len; i++) {
    gint mi = g_array_index(sc->mask_of, gint, i);
    g_array_index(sc->objects, UfoOverlayObject, i).mask =
        mi >= 0 ? &g_array_index(sc->masks, UfoOverlayMask, mi) : NULL;
  }
  UfoOverlayFrame frame = {.width = w,
                           .height = h,
                           .objects = (const UfoOverlayObject *)sc->objects->data,
                           .n_objects = (int)sc->objects->len,
                           .semantic = NULL,
                           .caption = sc->caption->len ? sc->caption->str : NULL,
                           .rules = (const UfoOverlayRule *)sc->rules->data,
                           .n_rules = (int)sc->rules->len};
  /* only the part of the frame that gets paint is rasterised and blended (semantic maps
   * usually cover the whole frame) */
  gint bx = 0, by = 0, bw = w, bh = h;
  if (!sc->semantics->len && !ufo_overlay_frame_bounds(style, &frame, &bx, &by, &bw, &bh))
    return NULL;
  cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, bw, bh);
  if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
    cairo_surface_destroy(s);
    return NULL;
  }
  cairo_t *cr = cairo_create(s);
  cairo_translate(cr, -bx, -by);
  for (guint i = 0; i < sc->semantics->len; i++)
    if (style->draw_masks)
      ufo_overlay_draw_semantic(cr, style, &g_array_index(sc->semantics, UfoOverlaySemantic, i));
  ufo_overlay_draw_frame(cr, style, &frame);
  cairo_destroy(cr);
  cairo_surface_flush(s);

  const gint stride = cairo_image_surface_get_stride(s);
  const guint8 *data = cairo_image_surface_get_data(s);
  /* blending: in place where the frame's format allows (gst/ufoblend.c: GStreamer's bits,
   * painted pixels only) */
  if (blend_into && gst_ufo_blend_argb(blend_into, data, stride, bx, by, bw, bh)) {
    cairo_surface_destroy(s);
    return NULL;
  }
  GstVideoOverlayComposition *comp = NULL;
  /* blend only where paint is: per row of tiles, one rectangle from its first to its last tile
   * that holds a visible pixel; rows without one are left out. A fully transparent pixel
   * leaves the frame as it was, so the frame gets the bits of one rectangle over the whole
   * surface; and one rectangle per row, because GStreamer's blend unpacks and packs the
   * frame's whole line for every line of every rectangle. */
  for (gint ty = 0; ty < bh; ty += OVERLAY_TILE) {
    const gint th = MIN(OVERLAY_TILE, bh - ty);
    gint first = -1, last = -1;
    for (gint tx = 0; tx < bw; tx += OVERLAY_TILE)
      if (!tile_is_clear(data, stride, tx, ty, MIN(OVERLAY_TILE, bw - tx), th)) {
        first = first < 0 ? tx : first;
        last = tx;
      }
    if (first < 0)
      continue;
    const gint rw = MIN(last + OVERLAY_TILE, bw) - first;
    GstVideoOverlayRectangle *rect = surface_rectangle(s, first, ty, rw, th, bx + first, by + ty);
    if (!comp)
      comp = gst_video_overlay_composition_new(rect);
    else
      gst_video_overlay_composition_add_rectangle(comp, rect);
    gst_video_overlay_rectangle_unref(rect);
  }
  cairo_surface_destroy(s);
  return comp;
}

/* Does downstream take GstVideoOverlayCompositionMeta? Asked with an allocation query. */
static gboolean downstream_composites(GstUfoOverlay *self)
{
  GstCaps *caps = gst_pad_get_current_caps(GST_BASE_TRANSFORM_SRC_PAD(self));
  if (!caps)
    return FALSE;
  GstQuery *q = gst_query_new_allocation(caps, FALSE);
  gboolean ok =
      gst_pad_peer_query(GST_BASE_TRANSFORM_SRC_PAD(self), q) &&
      gst_query_find_allocation_meta(q, GST_VIDEO_OVERLAY_COMPOSITION_META_API_TYPE, NULL);
  gst_query_unref(q);
  gst_caps_unref(caps);
  return ok;
}

/* Control bindings (GST_PARAM_CONTROLLABLE properties) take their values at the buffer's stream
 * time, before the frame's style snapshot. */
static void gst_ufo_overlay_before_transform(GstBaseTransform *trans, GstBuffer *buf)
{
  GstClockTime ts =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  if (GST_CLOCK_TIME_IS_VALID(ts))
    gst_object_sync_values(GST_OBJECT(trans), ts);
}

static GstFlowReturn gst_ufo_overlay_transform_frame_ip(GstVideoFilter *filter,
                                                        GstVideoFrame *frame)
{
  GstUfoOverlay *self = GST_UFO_OVERLAY(filter);
  GstBuffer *buf = frame->buffer;

  GST_OBJECT_LOCK(self);
  UfoOverlayStyle style = self->style;
  g_autofree gchar *family = g_strdup(self->font_family);
  gdouble min_score = self->min_score;
  gint unique_id = self->unique_id;
  GstUfoColorBy color_by = self->color_by;
  GstUfoSources sources = self->sources;
  const gboolean draw_analytics = self->draw_analytics;
  g_autofree gchar *semantic_hide = g_strdup(self->semantic_hide);
  g_autofree gchar *classes = self->classes_dirty ? g_strdup(self->classes) : NULL;
  gboolean classes_dirty = self->classes_dirty;
  self->classes_dirty = FALSE;
  GST_OBJECT_UNLOCK(self);
  style.font_family = family;

  if (classes_dirty) {
    g_autoptr(GError) err = NULL;
    if (!gst_ufo_filter_set_classes(&self->filter, classes, &err)) {
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid 'classes': %s.", err->message), (NULL));
      return GST_FLOW_ERROR;
    }
  }
  if (self->check_downstream) {
    self->attach = downstream_composites(self);
    self->check_downstream = FALSE;
    GST_INFO_OBJECT(self, "downstream %s overlay composition meta: %s",
                    self->attach ? "takes" : "does not take",
                    self->attach ? "attaching" : "blending");
  }

  Scene sc;
  scene_init(&sc);
  gpointer state = NULL;
  GstMeta *meta;
  const gboolean use_ufo = (sources & GST_UFO_SOURCES_UFO) != 0;
  while (use_ufo && (meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_UFO_META_API_TYPE))) {
    GstUfoMeta *m = (GstUfoMeta *)meta;
    if (unique_id < 0 || m->producer_id == (guint)unique_id)
      scene_add_ufo_meta(self, &sc, m, min_score, color_by, semantic_hide);
  }
  if (sources & GST_UFO_SOURCES_ROI)
    scene_add_roi_metas(self, &sc, buf, unique_id, min_score, color_by, use_ufo);

  if (draw_analytics) {
    state = NULL;
    while ((meta = gst_buffer_iterate_meta_filtered(buf, &state, GST_UFO_ANALYTICS_META_API_TYPE)))
      scene_add_analytics(&sc, (GstUfoAnalyticsMeta *)meta, GST_VIDEO_FRAME_WIDTH(frame),
                          GST_VIDEO_FRAME_HEIGHT(frame));
  }

  if (sc.objects->len || sc.semantics->len || sc.caption->len || sc.rules->len) {
    GstVideoOverlayComposition *comp =
        render(&style, &sc, GST_VIDEO_FRAME_WIDTH(frame), GST_VIDEO_FRAME_HEIGHT(frame),
               self->attach ? NULL : frame);
    if (comp) {
      if (self->attach)
        gst_buffer_add_video_overlay_composition_meta(buf, comp);
      else
        gst_video_overlay_composition_blend(comp, frame);
      gst_video_overlay_composition_unref(comp);
    }
  }
  scene_clear(&sc);
  return GST_FLOW_OK;
}

static gboolean gst_ufo_overlay_set_info(GstVideoFilter *filter, GstCaps *incaps,
                                         GstVideoInfo *in_info, GstCaps *outcaps,
                                         GstVideoInfo *out_info)
{
  GST_UFO_OVERLAY(filter)->check_downstream = TRUE;
  return TRUE;
}

static gboolean gst_ufo_overlay_start(GstBaseTransform *trans)
{
  GstUfoOverlay *self = GST_UFO_OVERLAY(trans);
  GST_OBJECT_LOCK(self);
  self->classes_dirty = TRUE;
  GST_OBJECT_UNLOCK(self);
  self->attach = FALSE;
  self->check_downstream = TRUE;
  return TRUE;
}

static gboolean gst_ufo_overlay_stop(GstBaseTransform *trans)
{
  GstUfoOverlay *self = GST_UFO_OVERLAY(trans);
  gst_ufo_filter_clear(&self->filter);
  gst_ufo_filter_init(&self->filter);
  return TRUE;
}

static void gst_ufo_overlay_finalize(GObject *object)
{
  GstUfoOverlay *self = GST_UFO_OVERLAY(object);
  gst_ufo_filter_clear(&self->filter);
  g_free(self->font_family);
  g_free(self->classes);
  g_free(self->semantic_hide);
  G_OBJECT_CLASS(gst_ufo_overlay_parent_class)->finalize(object);
}

static void install_bool(GObjectClass *klass, guint id, const gchar *name, const gchar *nick,
                         const gchar *blurb)
{
  g_object_class_install_property(klass, id,
                                  g_param_spec_boolean(name, nick, blurb, DEFAULT_DRAW,
                                                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                           GST_PARAM_MUTABLE_PLAYING |
                                                           GST_PARAM_CONTROLLABLE));
}

static void install_double(GObjectClass *klass, guint id, const gchar *name, const gchar *nick,
                           const gchar *blurb, gdouble min, gdouble max, gdouble def)
{
  g_object_class_install_property(klass, id,
                                  g_param_spec_double(name, nick, blurb, min, max, def,
                                                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                          GST_PARAM_MUTABLE_PLAYING |
                                                          GST_PARAM_CONTROLLABLE));
}

static void gst_ufo_overlay_class_init(GstUfoOverlayClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *bt_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstVideoFilterClass *vf_class = GST_VIDEO_FILTER_CLASS(klass);
  /* numbers, booleans, enums and flags may be driven by control bindings (synced per buffer in
   * before_transform); strings may not: no control source interpolates text */
  const GParamFlags playing = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                              GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE;
  const GParamFlags playing_text =
      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;

  GST_DEBUG_CATEGORY_INIT(ufooverlay_debug, "ufooverlay", 0, "UFO-ViT result overlay");
  gobject_class->set_property = gst_ufo_overlay_set_property;
  gobject_class->get_property = gst_ufo_overlay_get_property;
  gobject_class->finalize = gst_ufo_overlay_finalize;

  /* Each property: Since: 0.1 */
  install_bool(gobject_class, PROP_DRAW_BOXES, "draw-boxes", "Draw boxes", "Draw object boxes");
  install_bool(gobject_class, PROP_DRAW_LABELS, "draw-labels", "Draw labels",
               "Draw class names above the boxes");
  install_bool(gobject_class, PROP_DRAW_SCORES, "draw-scores", "Draw scores",
               "Draw scores (0..1, two decimals) next to the labels");
  install_bool(gobject_class, PROP_DRAW_MASKS, "draw-masks", "Draw masks",
               "Draw instance masks and the semantic map");
  install_bool(gobject_class, PROP_DRAW_TRACK_IDS, "draw-track-ids", "Draw track ids",
               "Draw tracking ids (#N) of tracked objects");
  install_bool(gobject_class, PROP_DRAW_CAPTIONS, "draw-captions", "Draw captions",
               "Draw the caption in a banner at the bottom of the frame");
  /**
   * GstUfoOverlay:draw-analytics:
   *
   * Draw the lines (with an arrow towards "in") and zones of a #GstUfoAnalyticsMeta
   * (ufoanalytics) with their names and counts; rules with an event on the frame are red.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_DRAW_ANALYTICS,
      g_param_spec_boolean("draw-analytics", "Draw analytics",
                           "Draw ufoanalytics lines (arrow = 'in'), zones and their counts",
                           DEFAULT_DRAW_ANALYTICS, playing));
  install_double(gobject_class, PROP_MASK_ALPHA, "mask-alpha", "Mask opacity",
                 "Fill opacity of instance masks, 0..1 (outlines are opaque)", 0.0, 1.0,
                 DEFAULT_MASK_ALPHA);
  install_double(gobject_class, PROP_SEMANTIC_ALPHA, "semantic-alpha", "Semantic map opacity",
                 "Opacity of the semantic class map, 0..1", 0.0, 1.0, DEFAULT_SEMANTIC_ALPHA);
  install_double(gobject_class, PROP_MASK_THRESHOLD, "mask-threshold", "Mask threshold",
                 "Mask probability from which a pixel is drawn as inside, 0..1", 0.0, 1.0,
                 DEFAULT_MASK_THRESHOLD);
  install_double(gobject_class, PROP_LINE_WIDTH, "line-width", "Line width",
                 "Box outline width in pixels, 0..100 (0 = frame height / 300, at least 1)", 0.0,
                 100.0, DEFAULT_LINE_WIDTH);
  g_object_class_install_property(gobject_class, PROP_FONT_FAMILY,
                                  g_param_spec_string("font-family", "Font family",
                                                      "Label font family (Cairo toy font)",
                                                      DEFAULT_FONT_FAMILY, playing_text));
  install_double(gobject_class, PROP_FONT_SIZE, "font-size", "Font size",
                 "Label font size in pixels, 0..500 (0 = frame height / 40, at least 8)", 0.0,
                 500.0, DEFAULT_FONT_SIZE);
  g_object_class_install_property(
      gobject_class, PROP_BOX_COLOR,
      g_param_spec_uint("box-color", "Box colour",
                        "Box, mask and label-background colour as big-endian ARGB, e.g. "
                        "0xFFFF0000 (0 = stable colour per class)",
                        0, G_MAXUINT, DEFAULT_BOX_COLOR, playing));
  g_object_class_install_property(
      gobject_class, PROP_TEXT_COLOR,
      g_param_spec_uint("text-color", "Text colour",
                        "Label text colour as big-endian ARGB (0 = black or white, whichever "
                        "contrasts more with the label background)",
                        0, G_MAXUINT, DEFAULT_TEXT_COLOR, playing));
  g_object_class_install_property(
      gobject_class, PROP_TEXT_BACKGROUND,
      g_param_spec_boolean("text-background", "Text background",
                           "Fill a box in the class colour behind label text (else the text gets "
                           "a contrasting outline)",
                           DEFAULT_TEXT_BACKGROUND, playing));
  install_double(gobject_class, PROP_MIN_SCORE, "min-score", "Minimum score",
                 "Hide objects scoring below this, 0..1", 0.0, 1.0, DEFAULT_MIN_SCORE);
  g_object_class_install_property(
      gobject_class, PROP_CLASSES,
      g_param_spec_string("classes", "Classes",
                          "Draw only these classes: comma-separated names or ids (empty = all)",
                          DEFAULT_CLASSES, playing_text));
  /**
   * GstUfoOverlay:semantic-hide:
   *
   * The semantic class whose pixels are left untinted, by name (the model's label, e.g.
   * "background"); empty = every class is tinted.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_SEMANTIC_HIDE,
      g_param_spec_string("semantic-hide", "Untinted semantic class",
                          "Semantic class left untinted, by name (empty = tint every class)",
                          DEFAULT_SEMANTIC_HIDE, playing_text));
  g_object_class_install_property(
      gobject_class, PROP_UNIQUE_ID,
      g_param_spec_int("unique-id", "Producer id",
                       "Draw only results of the producer with this unique-id (-1 = all)", -1,
                       G_MAXINT, DEFAULT_UNIQUE_ID, playing));
  /**
   * GstUfoOverlay:color-by:
   *
   * Where the stable palette colours come from: the class (label id), the object's track id
   * (the class for untracked objects) or the producer's unique-id (#GstUfoMeta producer_id or
   * the ROI meta's `detection` producer_id; the class when a ROI meta names none). Ignored
   * while #GstUfoOverlay:box-color is set.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_COLOR_BY,
      g_param_spec_enum("color-by", "Colour by",
                        "Where stable colours come from: class, track id (class when "
                        "untracked) or producer unique-id",
                        GST_TYPE_UFO_COLOR_BY, DEFAULT_COLOR_BY, playing));
  /**
   * GstUfoOverlay:sources:
   *
   * Metas to read. `ufo`: #GstUfoMeta (ROI metas of producers that attached one are then
   * skipped); `roi`: #GstVideoRegionOfInterestMeta of other producers. Without `ufo`, ROI metas
   * are drawn for every producer, ours included; without `roi`, other producers' ROI metas are
   * ignored. GstAnalytics metas (`analytics` in the design) need GStreamer >= 1.24 and are not
   * offered in this build.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_SOURCES,
      g_param_spec_flags("sources", "Sources",
                         "Metas to read: ufo = GstUfoMeta, roi = other producers' ROI metas "
                         "(without ufo: every producer's ROI metas; GstAnalytics metas need "
                         "GStreamer >= 1.24 and are not offered)",
                         GST_TYPE_UFO_SOURCES, DEFAULT_SOURCES, playing));
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_COLOR_BY, 0);
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_SOURCES, 0);

  GstCaps *caps =
      gst_caps_from_string(GST_VIDEO_CAPS_MAKE(GST_VIDEO_OVERLAY_COMPOSITION_BLEND_FORMATS));
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);
  gst_element_class_set_static_metadata(
      element_class, "UFO-ViT overlay", "Analyzer/Visualization/Video",
      "Draws UFO-ViT boxes, labels, masks, semantic maps and captions (or other producers' ROI "
      "metas) onto the video",
      "gst-ufo contributors");

  bt_class->start = GST_DEBUG_FUNCPTR(gst_ufo_overlay_start);
  bt_class->stop = GST_DEBUG_FUNCPTR(gst_ufo_overlay_stop);
  bt_class->before_transform = GST_DEBUG_FUNCPTR(gst_ufo_overlay_before_transform);
  vf_class->set_info = GST_DEBUG_FUNCPTR(gst_ufo_overlay_set_info);
  vf_class->transform_frame_ip = GST_DEBUG_FUNCPTR(gst_ufo_overlay_transform_frame_ip);
}

static void gst_ufo_overlay_init(GstUfoOverlay *self)
{
  ufo_overlay_style_init(&self->style);
  self->style.mask_alpha = DEFAULT_MASK_ALPHA;
  self->style.semantic_alpha = DEFAULT_SEMANTIC_ALPHA;
  self->style.mask_threshold = DEFAULT_MASK_THRESHOLD;
  self->style.line_width = DEFAULT_LINE_WIDTH;
  self->style.font_size = DEFAULT_FONT_SIZE;
  self->style.box_color = DEFAULT_BOX_COLOR;
  self->style.text_color = DEFAULT_TEXT_COLOR;
  self->style.text_background = DEFAULT_TEXT_BACKGROUND;
  self->font_family = g_strdup(DEFAULT_FONT_FAMILY);
  self->min_score = DEFAULT_MIN_SCORE;
  self->classes = g_strdup(DEFAULT_CLASSES);
  self->classes_dirty = TRUE;
  self->unique_id = DEFAULT_UNIQUE_ID;
  self->color_by = DEFAULT_COLOR_BY;
  self->sources = DEFAULT_SOURCES;
  self->draw_analytics = DEFAULT_DRAW_ANALYTICS;
  self->semantic_hide = g_strdup(DEFAULT_SEMANTIC_HIDE);
  gst_ufo_filter_init(&self->filter);
  /* QoS would drop late frames from a recording: off, as for the analyzers */
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
