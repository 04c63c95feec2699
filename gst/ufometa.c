/* gstreamer-ufo-1.0: GstUfoMeta implementation (anchors §6.3 items 1 and 2).
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "gst/ufo/ufometa.h"

#include <math.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(ufometa_debug);
#define GST_CAT_DEFAULT ufometa_debug

typedef struct {
  GBytes *data; /* GRAY8 probabilities 0..255, NULL = no mask */
  gint width, height, stride;
  GstUfoRect rect; /* in the coordinates of the results' frame */
} UfoMaskEntry;

struct _GstUfoResults {
  gint ref_count;
  gint sealed;
  gint width, height; /* frame the coordinates below refer to */
  GArray *objects;    /* GstUfoObject */
  GArray *masks;      /* UfoMaskEntry, one per object */
  GArray *flags;      /* guint (GstUfoObjectFlags), one per object; apart from GstUfoObject so
                       * that its caller-allocated layout stays the same */
  GstVideoFormat sem_format;
  GBytes *sem_data;
  gint sem_width, sem_height, sem_stride;
  GstUfoRect sem_rect;
  gchar **class_names;
  gchar *caption;
  gchar *prompt;
};

G_DEFINE_BOXED_TYPE(GstUfoResults, gst_ufo_results, gst_ufo_results_ref, gst_ufo_results_unref)
G_DEFINE_BOXED_TYPE(GstUfoRect, gst_ufo_rect, gst_ufo_rect_copy, gst_ufo_rect_free)
G_DEFINE_BOXED_TYPE(GstUfoObject, gst_ufo_object, gst_ufo_object_copy, gst_ufo_object_free)

/**
 * gst_ufo_rect_copy:
 * @rect: a #GstUfoRect
 *
 * Returns: (transfer full): a newly allocated copy of @rect, freed with gst_ufo_rect_free().
 *
 * Since: 0.1
 */
GstUfoRect *gst_ufo_rect_copy(const GstUfoRect *rect)
{
  g_return_val_if_fail(rect != NULL, NULL);
  return g_memdup2(rect, sizeof(*rect));
}

/**
 * gst_ufo_rect_free:
 * @rect: (transfer full) (nullable): a #GstUfoRect from gst_ufo_rect_copy()
 *
 * Since: 0.1
 */
void gst_ufo_rect_free(GstUfoRect *rect)
{
  g_free(rect);
}

/**
 * gst_ufo_object_copy:
 * @object: a #GstUfoObject
 *
 * The label is an interned string, so the copy shares it and outlives the meta it came from.
 *
 * Returns: (transfer full): a newly allocated copy of @object, freed with gst_ufo_object_free().
 *
 * Since: 0.1
 */
GstUfoObject *gst_ufo_object_copy(const GstUfoObject *object)
{
  g_return_val_if_fail(object != NULL, NULL);
  return g_memdup2(object, sizeof(*object));
}

/**
 * gst_ufo_object_free:
 * @object: (transfer full) (nullable): a #GstUfoObject from gst_ufo_object_copy()
 *
 * Since: 0.1
 */
void gst_ufo_object_free(GstUfoObject *object)
{
  g_free(object);
}

static void mask_entry_clear(gpointer p)
{
  UfoMaskEntry *m = p;
  g_clear_pointer(&m->data, g_bytes_unref);
}

/**
 * gst_ufo_results_new:
 * @width: width in pixels of the frame the coordinates refer to (> 0)
 * @height: height in pixels of that frame (> 0)
 *
 * Returns: (transfer full) (nullable): a new, empty, writable results block, or %NULL when
 * the size is not positive.
 *
 * Since: 0.1
 */
GstUfoResults *gst_ufo_results_new(gint width, gint height)
{
  g_return_val_if_fail(width > 0 && height > 0, NULL);
  GstUfoResults *r = g_new0(GstUfoResults, 1);
  r->ref_count = 1;
  r->width = width;
  r->height = height;
  r->objects = g_array_new(FALSE, TRUE, sizeof(GstUfoObject));
  r->masks = g_array_new(FALSE, TRUE, sizeof(UfoMaskEntry));
  g_array_set_clear_func(r->masks, mask_entry_clear);
  r->flags = g_array_new(FALSE, TRUE, sizeof(guint));
  r->sem_format = GST_VIDEO_FORMAT_UNKNOWN;
  return r;
}

/**
 * gst_ufo_results_ref:
 * @results: a #GstUfoResults
 *
 * Returns: (transfer full): @results with one more reference.
 *
 * Since: 0.1
 */
GstUfoResults *gst_ufo_results_ref(GstUfoResults *results)
{
  g_return_val_if_fail(results != NULL, NULL);
  g_atomic_int_inc(&results->ref_count);
  return results;
}

/**
 * gst_ufo_results_unref:
 * @results: (transfer full) (nullable): a #GstUfoResults
 *
 * Drops one reference; the block is freed with the last one.
 *
 * Since: 0.1
 */
void gst_ufo_results_unref(GstUfoResults *results)
{
  if (!results || !g_atomic_int_dec_and_test(&results->ref_count))
    return;
  g_array_unref(results->objects);
  g_array_unref(results->masks);
  g_array_unref(results->flags);
  g_clear_pointer(&results->sem_data, g_bytes_unref);
  g_strfreev(results->class_names);
  g_free(results->caption);
  g_free(results->prompt);
  g_free(results);
}

/**
 * gst_ufo_results_copy:
 * @results: a #GstUfoResults
 *
 * Makes a writable copy (mask and map pixels are shared, they are immutable). ROI ids are
 * reset to -1.
 *
 * Returns: (transfer full): the copy.
 *
 * Since: 0.1
 */
GstUfoResults *gst_ufo_results_copy(const GstUfoResults *results)
{
  g_return_val_if_fail(results != NULL, NULL);
  GstUfoResults *r = gst_ufo_results_new(results->width, results->height);
  g_array_append_vals(r->objects, results->objects->data, results->objects->len);
  for (guint i = 0; i < r->objects->len; i++)
    g_array_index(r->objects, GstUfoObject, i).roi_id = -1;
  for (guint i = 0; i < results->masks->len; i++) {
    UfoMaskEntry m = g_array_index(results->masks, UfoMaskEntry, i);
    if (m.data)
      g_bytes_ref(m.data);
    g_array_append_val(r->masks, m);
  }
  g_array_append_vals(r->flags, results->flags->data, results->flags->len);
  r->sem_format = results->sem_format;
  r->sem_data = results->sem_data ? g_bytes_ref(results->sem_data) : NULL;
  r->sem_width = results->sem_width;
  r->sem_height = results->sem_height;
  r->sem_stride = results->sem_stride;
  r->sem_rect = results->sem_rect;
  r->class_names = g_strdupv(results->class_names);
  r->caption = g_strdup(results->caption);
  r->prompt = g_strdup(results->prompt);
  return r;
}

/**
 * gst_ufo_results_is_sealed:
 * @results: a #GstUfoResults
 *
 * Returns: %TRUE once @results has been attached to a buffer and can no longer change.
 *
 * Since: 0.1
 */
gboolean gst_ufo_results_is_sealed(const GstUfoResults *results)
{
  g_return_val_if_fail(results != NULL, TRUE);
  return g_atomic_int_get(&results->sealed) != 0;
}

#define RETURN_IF_SEALED(r, val)                                                                   \
  G_STMT_START                                                                                     \
  {                                                                                                \
    if (gst_ufo_results_is_sealed(r)) {                                                            \
      GST_WARNING("%s: GstUfoResults is sealed (already attached to a buffer)", G_STRFUNC);        \
      return (val);                                                                                \
    }                                                                                              \
  }                                                                                                \
  G_STMT_END

/**
 * gst_ufo_results_add_object:
 * @results: a writable #GstUfoResults
 * @label_id: class index, -1 = none
 * @label: (nullable): class name or phrase (interned; %NULL = "object")
 * @score: confidence 0..1
 * @x: box left edge in pixels
 * @y: box top edge in pixels
 * @w: box width in pixels
 * @h: box height in pixels
 *
 * Returns: the index of the new object (G_MAXUINT on a sealed block).
 *
 * Since: 0.1
 */
guint gst_ufo_results_add_object(GstUfoResults *results, gint label_id, const gchar *label,
                                 gfloat score, gfloat x, gfloat y, gfloat w, gfloat h)
{
  g_return_val_if_fail(results != NULL, G_MAXUINT);
  RETURN_IF_SEALED(results, G_MAXUINT);
  GstUfoObject o = {
      .label_id = label_id,
      .label = g_intern_string(label ? label : "object"),
      .score = score,
      .x = x,
      .y = y,
      .w = w,
      .h = h,
      .track_id = 0,
      .roi_id = -1,
  };
  UfoMaskEntry m = {0};
  guint flags = 0;
  g_array_append_val(results->objects, o);
  g_array_append_val(results->masks, m);
  g_array_append_val(results->flags, flags);
  return results->objects->len - 1;
}

/**
 * gst_ufo_results_set_track_id:
 * @results: a writable #GstUfoResults
 * @index: object index
 * @track_id: tracking id (0 = none)
 *
 * Returns: %FALSE on a bad index or a sealed block.
 *
 * Since: 0.1
 */
gboolean gst_ufo_results_set_track_id(GstUfoResults *results, guint index, guint64 track_id)
{
  g_return_val_if_fail(results != NULL, FALSE);
  RETURN_IF_SEALED(results, FALSE);
  g_return_val_if_fail(index < results->objects->len, FALSE);
  g_array_index(results->objects, GstUfoObject, index).track_id = track_id;
  return TRUE;
}

/**
 * gst_ufo_results_set_object_flags:
 * @results: a writable #GstUfoResults
 * @index: object index
 * @flags: #GstUfoObjectFlags of the object
 *
 * Returns: %FALSE on a bad index or a sealed block.
 *
 * Since: 0.1
 */
gboolean gst_ufo_results_set_object_flags(GstUfoResults *results, guint index,
                                          GstUfoObjectFlags flags)
{
  g_return_val_if_fail(results != NULL, FALSE);
  RETURN_IF_SEALED(results, FALSE);
  g_return_val_if_fail(index < results->objects->len, FALSE);
  g_array_index(results->flags, guint, index) = flags;
  return TRUE;
}

/**
 * gst_ufo_results_set_mask:
 * @results: a writable #GstUfoResults
 * @index: object index
 * @data: (transfer none): GRAY8 probabilities (0..255), @height rows of @stride bytes
 * @width: mask width in pixels
 * @height: mask height in pixels
 * @stride: bytes per row (>= @width)
 * @rect: where the mask lies in the frame (frame pixels)
 *
 * Returns: %FALSE on a bad index, too small @data or a sealed block.
 *
 * Since: 0.1
 */
gboolean gst_ufo_results_set_mask(GstUfoResults *results, guint index, GBytes *data, gint width,
                                  gint height, gint stride, const GstUfoRect *rect)
{
  g_return_val_if_fail(results != NULL && data != NULL && rect != NULL, FALSE);
  RETURN_IF_SEALED(results, FALSE);
  g_return_val_if_fail(index < results->objects->len, FALSE);
  g_return_val_if_fail(width > 0 && height > 0 && stride >= width, FALSE);
  g_return_val_if_fail(g_bytes_get_size(data) >= (gsize)stride * (height - 1) + width, FALSE);
  UfoMaskEntry *m = &g_array_index(results->masks, UfoMaskEntry, index);
  g_clear_pointer(&m->data, g_bytes_unref);
  m->data = g_bytes_ref(data);
  m->width = width;
  m->height = height;
  m->stride = stride;
  m->rect = *rect;
  return TRUE;
}

/**
 * gst_ufo_results_set_semantic_map:
 * @results: a writable #GstUfoResults
 * @format: %GST_VIDEO_FORMAT_GRAY8 or %GST_VIDEO_FORMAT_GRAY16_LE (class ids)
 * @data: (transfer none): the class-id map, @height rows of @stride bytes
 * @width: map width
 * @height: map height
 * @stride: bytes per row
 * @rect: where the map lies in the frame
 * @class_names: (array zero-terminated=1) (nullable): names of the class ids
 *
 * Returns: %FALSE on bad arguments or a sealed block.
 *
 * Since: 0.1
 */
gboolean gst_ufo_results_set_semantic_map(GstUfoResults *results, GstVideoFormat format,
                                          GBytes *data, gint width, gint height, gint stride,
                                          const GstUfoRect *rect, const gchar *const *class_names)
{
  g_return_val_if_fail(results != NULL && data != NULL && rect != NULL, FALSE);
  RETURN_IF_SEALED(results, FALSE);
  g_return_val_if_fail(format == GST_VIDEO_FORMAT_GRAY8 || format == GST_VIDEO_FORMAT_GRAY16_LE,
                       FALSE);
  gint bpp = format == GST_VIDEO_FORMAT_GRAY8 ? 1 : 2;
  g_return_val_if_fail(width > 0 && height > 0 && stride >= width * bpp, FALSE);
  g_return_val_if_fail(g_bytes_get_size(data) >= (gsize)stride * (height - 1) + width * bpp, FALSE);
  g_clear_pointer(&results->sem_data, g_bytes_unref);
  g_clear_pointer(&results->class_names, g_strfreev);
  results->sem_format = format;
  results->sem_data = g_bytes_ref(data);
  results->sem_width = width;
  results->sem_height = height;
  results->sem_stride = stride;
  results->sem_rect = *rect;
  results->class_names = g_strdupv((gchar **)class_names);
  return TRUE;
}

/**
 * gst_ufo_results_set_caption:
 * @results: a writable #GstUfoResults
 * @caption: (nullable): UTF-8 caption text
 *
 * Returns: %FALSE on a sealed block.
 *
 * Since: 0.1
 */
gboolean gst_ufo_results_set_caption(GstUfoResults *results, const gchar *caption)
{
  g_return_val_if_fail(results != NULL, FALSE);
  RETURN_IF_SEALED(results, FALSE);
  g_free(results->caption);
  results->caption = g_strdup(caption);
  return TRUE;
}

/**
 * gst_ufo_results_set_prompt:
 * @results: a writable #GstUfoResults
 * @prompt: (nullable): the text prompt the results answer (grounding)
 *
 * Returns: %FALSE on a sealed block.
 *
 * Since: 0.1
 */
gboolean gst_ufo_results_set_prompt(GstUfoResults *results, const gchar *prompt)
{
  g_return_val_if_fail(results != NULL, FALSE);
  RETURN_IF_SEALED(results, FALSE);
  g_free(results->prompt);
  results->prompt = g_strdup(prompt);
  return TRUE;
}

/* the ROI ids already on @buffer (a set), and the largest of them (0 when none) */
static GHashTable *roi_ids(GstBuffer *buffer, gint *max_id)
{
  GHashTable *ids = g_hash_table_new(g_direct_hash, g_direct_equal);
  gpointer state = NULL;
  GstMeta *m;
  *max_id = 0;
  while ((m = gst_buffer_iterate_meta_filtered(buffer, &state,
                                               GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    const gint id = ((GstVideoRegionOfInterestMeta *)m)->id;
    *max_id = MAX(*max_id, id);
    g_hash_table_add(ids, GINT_TO_POINTER(id));
  }
  return ids;
}

/* a tracked object's ROI takes its track id when that is a free positive gint */
static gboolean track_id_usable(guint64 track_id, GHashTable *taken)
{
  return track_id != 0 && track_id <= G_MAXINT &&
         !g_hash_table_contains(taken, GINT_TO_POINTER((gint)track_id));
}

/**
 * gst_ufo_results_add_roi_metas:
 * @results: a writable #GstUfoResults whose frame size is the buffer's
 * @buffer: a writable #GstBuffer
 * @producer_id: written into each `detection` structure
 * @model_name: (nullable): written into each `detection` structure
 *
 * Adds one #GstVideoRegionOfInterestMeta per object (anchors §6.3 item 2): `roi_type` = label,
 * box clipped to the frame, `id` unique in the buffer and stored as the object's `roi_id`,
 * `parent_id` = -1, and a `detection` structure in DL Streamer's layout (label_id, label,
 * confidence, x_min, y_min, x_max, y_max normalised to 0..1, model_name, producer_id).
 *
 * A tracked object (track_id ≠ 0) gets its track id as ROI `id` (as gvatrack does) when that id
 * fits a #gint and is not already taken in the buffer, an `object_id` structure with field `id`
 * (gvatrack's layout) and `track_id` (int) in its `detection` structure; an object flagged
 * %GST_UFO_OBJECT_FLAG_PREDICTED also has `predicted` = %TRUE there. The other objects get ids
 * continuing after the largest id already in the buffer and the largest track id.
 *
 * Returns: the number of metas added.
 *
 * Since: 0.1
 */
guint gst_ufo_results_add_roi_metas(GstUfoResults *results, GstBuffer *buffer, guint producer_id,
                                    const gchar *model_name)
{
  g_return_val_if_fail(results != NULL && GST_IS_BUFFER(buffer), 0);
  RETURN_IF_SEALED(results, 0);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), 0);
  gint max_id;
  GHashTable *taken = roi_ids(buffer, &max_id);
  for (guint i = 0; i < results->objects->len; i++) {
    const GstUfoObject *o = &g_array_index(results->objects, GstUfoObject, i);
    if (track_id_usable(o->track_id, taken))
      max_id = MAX(max_id, (gint)o->track_id);
  }
  gint next_id = max_id + 1;
  const gdouble fw = results->width, fh = results->height;
  for (guint i = 0; i < results->objects->len; i++) {
    GstUfoObject *o = &g_array_index(results->objects, GstUfoObject, i);
    const guint flags = g_array_index(results->flags, guint, i);
    /* ROI boxes are whole pixels: the smallest integer box containing the clipped float box */
    gdouble x0 = CLAMP(o->x, 0.0, fw), y0 = CLAMP(o->y, 0.0, fh);
    gdouble x1 = CLAMP(o->x + o->w, 0.0, fw), y1 = CLAMP(o->y + o->h, 0.0, fh);
    guint ix0 = (guint)floor(x0), iy0 = (guint)floor(y0);
    guint ix1 = (guint)ceil(x1), iy1 = (guint)ceil(y1);
    GstVideoRegionOfInterestMeta *roi = gst_buffer_add_video_region_of_interest_meta(
        buffer, o->label, ix0, iy0, ix1 - ix0, iy1 - iy0);
    if (track_id_usable(o->track_id, taken))
      roi->id = (gint)o->track_id;
    else
      roi->id = next_id++;
    g_hash_table_add(taken, GINT_TO_POINTER(roi->id));
    roi->parent_id = -1;
    GstStructure *s = gst_structure_new(
        "detection", "label_id", G_TYPE_INT, o->label_id, "label", G_TYPE_STRING, o->label,
        "confidence", G_TYPE_DOUBLE, (gdouble)o->score, "x_min", G_TYPE_DOUBLE, x0 / fw, "y_min",
        G_TYPE_DOUBLE, y0 / fh, "x_max", G_TYPE_DOUBLE, x1 / fw, "y_max", G_TYPE_DOUBLE, y1 / fh,
        "model_name", G_TYPE_STRING, model_name ? model_name : "", "producer_id", G_TYPE_UINT,
        producer_id, NULL);
    if (o->track_id)
      gst_structure_set(s, "track_id", G_TYPE_INT, (gint)MIN(o->track_id, G_MAXINT), NULL);
    if (flags & GST_UFO_OBJECT_FLAG_PREDICTED)
      gst_structure_set(s, "predicted", G_TYPE_BOOLEAN, TRUE, NULL);
    gst_video_region_of_interest_meta_add_param(roi, s);
    if (o->track_id)
      gst_video_region_of_interest_meta_add_param(
          roi,
          gst_structure_new("object_id", "id", G_TYPE_INT, (gint)MIN(o->track_id, G_MAXINT), NULL));
    o->roi_id = roi->id;
  }
  g_hash_table_unref(taken);
  return results->objects->len;
}

/* ---- the meta ---- */

GType gst_ufo_meta_api_get_type(void)
{
  static gsize type = 0;
  static const gchar *tags[] = {GST_META_TAG_VIDEO_STR, GST_META_TAG_VIDEO_SIZE_STR,
                                GST_META_TAG_VIDEO_ORIENTATION_STR, NULL};
  if (g_once_init_enter(&type)) {
    GType t = gst_meta_api_type_register("GstUfoMetaAPI", tags);
    g_once_init_leave(&type, t);
  }
  return type;
}

static gboolean ufo_meta_init(GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstUfoMeta *m = (GstUfoMeta *)meta;
  m->producer_id = 0;
  m->task = 0;
  m->inferred = FALSE;
  m->result_pts = GST_CLOCK_TIME_NONE;
  m->width = m->height = 0;
  m->results = NULL;
  return TRUE;
}

static void ufo_meta_free(GstMeta *meta, GstBuffer *buffer)
{
  GstUfoMeta *m = (GstUfoMeta *)meta;
  g_clear_pointer(&m->results, gst_ufo_results_unref);
}

static gboolean ufo_meta_transform(GstBuffer *dest, GstMeta *meta, GstBuffer *buffer, GQuark type,
                                   gpointer data)
{
  GstUfoMeta *src = (GstUfoMeta *)meta;
  gint width = src->width, height = src->height;
  if (GST_META_TRANSFORM_IS_COPY(type)) {
    /* copy: share the immutable block */
  } else if (GST_VIDEO_META_TRANSFORM_IS_SCALE(type)) {
    GstVideoMetaTransform *t = data;
    gint in_w = GST_VIDEO_INFO_WIDTH(t->in_info), in_h = GST_VIDEO_INFO_HEIGHT(t->in_info);
    gint out_w = GST_VIDEO_INFO_WIDTH(t->out_info), out_h = GST_VIDEO_INFO_HEIGHT(t->out_info);
    if (in_w <= 0 || in_h <= 0 || out_w <= 0 || out_h <= 0)
      return FALSE;
    /* scale: the accessors map block coordinates by width/results->width, so only the frame
     * size changes here; boxes, mask and map rectangles follow, mask pixels are kept */
    width = (gint)llround((gdouble)src->width * out_w / in_w);
    height = (gint)llround((gdouble)src->height * out_h / in_h);
    GST_LOG("scaling ufo meta %dx%d -> %dx%d", src->width, src->height, width, height);
  } else {
    /* rotation and unknown transforms: drop rather than leave wrong coordinates */
    return FALSE;
  }
  GstUfoMeta *d = (GstUfoMeta *)gst_buffer_add_meta(dest, GST_UFO_META_INFO, NULL);
  if (!d)
    return FALSE;
  d->producer_id = src->producer_id;
  d->task = src->task;
  d->inferred = src->inferred;
  d->result_pts = src->result_pts;
  d->width = width;
  d->height = height;
  d->results = src->results ? gst_ufo_results_ref(src->results) : NULL;
  return TRUE;
}

const GstMetaInfo *gst_ufo_meta_get_info(void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter((GstMetaInfo **)&info)) {
    GST_DEBUG_CATEGORY_INIT(ufometa_debug, "ufometa", 0, "UFO-ViT result metadata");
    const GstMetaInfo *mi =
        gst_meta_register(GST_UFO_META_API_TYPE, "GstUfoMeta", sizeof(GstUfoMeta), ufo_meta_init,
                          ufo_meta_free, ufo_meta_transform);
    g_once_init_leave((GstMetaInfo **)&info, (GstMetaInfo *)mi);
  }
  return info;
}

/**
 * gst_buffer_add_ufo_meta:
 * @buffer: a writable #GstBuffer
 * @results: (transfer none): the results; they are sealed (read-only) from now on
 * @producer_id: `unique-id` of the producing element
 * @task: task name ("detection", "grounding", "caption", "instance", "semantic")
 * @inferred: whether @results were computed on this frame
 * @result_pts: PTS of the frame @results were computed on
 *
 * Attaches a #GstUfoMeta. Its frame size is the one @results was created with.
 *
 * Returns: (transfer none) (nullable): the new meta.
 *
 * Since: 0.1
 */
GstUfoMeta *gst_buffer_add_ufo_meta(GstBuffer *buffer, GstUfoResults *results, guint producer_id,
                                    const gchar *task, gboolean inferred, GstClockTime result_pts)
{
  g_return_val_if_fail(GST_IS_BUFFER(buffer) && results != NULL && task != NULL, NULL);
  g_return_val_if_fail(gst_buffer_is_writable(buffer), NULL);
  GstUfoMeta *m = (GstUfoMeta *)gst_buffer_add_meta(buffer, GST_UFO_META_INFO, NULL);
  if (!m)
    return NULL;
  g_atomic_int_set(&results->sealed, 1);
  m->producer_id = producer_id;
  m->task = g_quark_from_string(task);
  m->inferred = inferred;
  m->result_pts = result_pts;
  m->width = results->width;
  m->height = results->height;
  m->results = gst_ufo_results_ref(results);
  return m;
}

/**
 * gst_buffer_get_ufo_meta:
 * @buffer: a #GstBuffer
 *
 * A function (not a macro) so that language bindings can call it: from Python
 * `GstUfo.buffer_get_ufo_meta(buf)`.
 *
 * Returns: (transfer none) (nullable): the first #GstUfoMeta on @buffer, %NULL when there is
 * none.
 *
 * Since: 0.1
 */
GstUfoMeta *gst_buffer_get_ufo_meta(GstBuffer *buffer)
{
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  return (GstUfoMeta *)gst_buffer_get_meta(buffer, GST_UFO_META_API_TYPE);
}

/**
 * gst_buffer_get_ufo_metas:
 * @buffer: a #GstBuffer
 *
 * Every #GstUfoMeta on @buffer (one per producer), in the order they were attached.
 *
 * Returns: (transfer container) (element-type GstUfoMeta): the metas, valid while @buffer
 * lives; free the list with g_list_free().
 *
 * Since: 0.1
 */
GList *gst_buffer_get_ufo_metas(GstBuffer *buffer)
{
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  GList *list = NULL;
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_META_API_TYPE)))
    list = g_list_prepend(list, m);
  return g_list_reverse(list);
}

/**
 * gst_buffer_get_ufo_meta_for_producer:
 * @buffer: a #GstBuffer
 * @producer_id: the producer's `unique-id`
 *
 * Returns: (transfer none) (nullable): the #GstUfoMeta of that producer on @buffer.
 *
 * Since: 0.1
 */
GstUfoMeta *gst_buffer_get_ufo_meta_for_producer(GstBuffer *buffer, guint producer_id)
{
  g_return_val_if_fail(GST_IS_BUFFER(buffer), NULL);
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_META_API_TYPE)))
    if (((GstUfoMeta *)m)->producer_id == producer_id)
      return (GstUfoMeta *)m;
  return NULL;
}

/* Factors mapping block coordinates to the meta's (possibly rescaled) frame. */
static void meta_scale(const GstUfoMeta *meta, gdouble *sx, gdouble *sy)
{
  *sx = (gdouble)meta->width / meta->results->width;
  *sy = (gdouble)meta->height / meta->results->height;
}

static void scale_rect(const GstUfoRect *in, gdouble sx, gdouble sy, GstUfoRect *out)
{
  out->x = (gfloat)(in->x * sx);
  out->y = (gfloat)(in->y * sy);
  out->w = (gfloat)(in->w * sx);
  out->h = (gfloat)(in->h * sy);
}

/**
 * gst_ufo_meta_get_n_objects:
 * @meta: a #GstUfoMeta
 *
 * Returns: the number of objects.
 *
 * Since: 0.1
 */
guint gst_ufo_meta_get_n_objects(const GstUfoMeta *meta)
{
  g_return_val_if_fail(meta != NULL, 0);
  return meta->results ? meta->results->objects->len : 0;
}

/**
 * gst_ufo_meta_get_object:
 * @meta: a #GstUfoMeta
 * @index: object index, < gst_ufo_meta_get_n_objects()
 * @object: (out caller-allocates): the object, box in the meta's frame pixels
 *
 * Returns: %FALSE when @index is out of range.
 *
 * Since: 0.1
 */
gboolean gst_ufo_meta_get_object(const GstUfoMeta *meta, guint index, GstUfoObject *object)
{
  g_return_val_if_fail(meta != NULL && object != NULL, FALSE);
  if (!meta->results || index >= meta->results->objects->len)
    return FALSE;
  gdouble sx, sy;
  meta_scale(meta, &sx, &sy);
  *object = g_array_index(meta->results->objects, GstUfoObject, index);
  GstUfoRect r = {object->x, object->y, object->w, object->h};
  scale_rect(&r, sx, sy, &r);
  object->x = r.x;
  object->y = r.y;
  object->w = r.w;
  object->h = r.h;
  return TRUE;
}

/**
 * gst_ufo_meta_get_object_flags:
 * @meta: a #GstUfoMeta
 * @index: object index
 *
 * Returns: the object's #GstUfoObjectFlags (0 when @index is out of range).
 *
 * Since: 0.1
 */
GstUfoObjectFlags gst_ufo_meta_get_object_flags(const GstUfoMeta *meta, guint index)
{
  g_return_val_if_fail(meta != NULL, 0);
  if (!meta->results || index >= meta->results->flags->len)
    return 0;
  return (GstUfoObjectFlags)g_array_index(meta->results->flags, guint, index);
}

/**
 * gst_ufo_meta_copy_results:
 * @meta: a #GstUfoMeta
 *
 * A writable copy of the meta's results in the meta's own frame coordinates (boxes, mask and
 * map rectangles rescaled when the meta went through a scale transform; mask and map pixels
 * are shared). ROI ids are reset to -1. Elements that refine results downstream (ufotrack)
 * attach the copy in place of the meta.
 *
 * Returns: (transfer full) (nullable): the copy, %NULL when the meta holds no results.
 *
 * Since: 0.1
 */
GstUfoResults *gst_ufo_meta_copy_results(const GstUfoMeta *meta)
{
  g_return_val_if_fail(meta != NULL, NULL);
  if (!meta->results)
    return NULL;
  GstUfoResults *r = gst_ufo_results_copy(meta->results);
  if (meta->width == r->width && meta->height == r->height)
    return r;
  gdouble sx, sy;
  meta_scale(meta, &sx, &sy);
  r->width = meta->width;
  r->height = meta->height;
  for (guint i = 0; i < r->objects->len; i++) {
    GstUfoObject *o = &g_array_index(r->objects, GstUfoObject, i);
    GstUfoRect b = {o->x, o->y, o->w, o->h};
    scale_rect(&b, sx, sy, &b);
    o->x = b.x;
    o->y = b.y;
    o->w = b.w;
    o->h = b.h;
    UfoMaskEntry *m = &g_array_index(r->masks, UfoMaskEntry, i);
    if (m->data)
      scale_rect(&m->rect, sx, sy, &m->rect);
  }
  if (r->sem_data)
    scale_rect(&r->sem_rect, sx, sy, &r->sem_rect);
  return r;
}

/**
 * gst_ufo_meta_get_mask: (skip)
 * @meta: a #GstUfoMeta
 * @index: object index
 * @width: (out) (optional): mask width in mask pixels
 * @height: (out) (optional): mask height
 * @stride: (out) (optional): bytes per mask row
 * @data: (out) (optional) (transfer none): GRAY8 probabilities 0..255
 * @rect: (out caller-allocates) (optional): where the mask lies in the meta's frame
 *
 * Language bindings use gst_ufo_meta_get_mask_bytes() instead.
 *
 * Returns: %FALSE when the object has no mask or @index is out of range.
 *
 * Since: 0.1
 */
gboolean gst_ufo_meta_get_mask(const GstUfoMeta *meta, guint index, gint *width, gint *height,
                               gint *stride, const guint8 **data, GstUfoRect *rect)
{
  g_return_val_if_fail(meta != NULL, FALSE);
  if (!meta->results || index >= meta->results->masks->len)
    return FALSE;
  const UfoMaskEntry *m = &g_array_index(meta->results->masks, UfoMaskEntry, index);
  if (!m->data)
    return FALSE;
  gdouble sx, sy;
  meta_scale(meta, &sx, &sy);
  if (width)
    *width = m->width;
  if (height)
    *height = m->height;
  if (stride)
    *stride = m->stride;
  if (data)
    *data = g_bytes_get_data(m->data, NULL);
  if (rect)
    scale_rect(&m->rect, sx, sy, rect);
  return TRUE;
}

/**
 * gst_ufo_meta_get_semantic_map: (skip)
 * @meta: a #GstUfoMeta
 * @format: (out) (optional): %GST_VIDEO_FORMAT_GRAY8 or %GST_VIDEO_FORMAT_GRAY16_LE
 * @width: (out) (optional): map width
 * @height: (out) (optional): map height
 * @stride: (out) (optional): bytes per row
 * @data: (out) (optional) (transfer none): class ids
 * @rect: (out caller-allocates) (optional): where the map lies in the meta's frame
 * @n_classes: (out) (optional): number of class names
 * @class_names: (out) (optional) (transfer none) (array zero-terminated=1): class names
 *
 * Language bindings use gst_ufo_meta_get_semantic_map_bytes() instead.
 *
 * Returns: %FALSE when there is no semantic map.
 *
 * Since: 0.1
 */
gboolean gst_ufo_meta_get_semantic_map(const GstUfoMeta *meta, GstVideoFormat *format, gint *width,
                                       gint *height, gint *stride, const guint8 **data,
                                       GstUfoRect *rect, guint *n_classes,
                                       const gchar *const **class_names)
{
  g_return_val_if_fail(meta != NULL, FALSE);
  const GstUfoResults *r = meta->results;
  if (!r || !r->sem_data)
    return FALSE;
  gdouble sx, sy;
  meta_scale(meta, &sx, &sy);
  if (format)
    *format = r->sem_format;
  if (width)
    *width = r->sem_width;
  if (height)
    *height = r->sem_height;
  if (stride)
    *stride = r->sem_stride;
  if (data)
    *data = g_bytes_get_data(r->sem_data, NULL);
  if (rect)
    scale_rect(&r->sem_rect, sx, sy, rect);
  if (n_classes)
    *n_classes = r->class_names ? g_strv_length(r->class_names) : 0;
  if (class_names)
    *class_names = (const gchar *const *)r->class_names;
  return TRUE;
}

/**
 * gst_ufo_meta_get_caption:
 * @meta: a #GstUfoMeta
 *
 * Returns: (nullable) (transfer none): the caption, or %NULL.
 *
 * Since: 0.1
 */
const gchar *gst_ufo_meta_get_caption(const GstUfoMeta *meta)
{
  g_return_val_if_fail(meta != NULL, NULL);
  return meta->results ? meta->results->caption : NULL;
}

/**
 * gst_ufo_meta_get_prompt:
 * @meta: a #GstUfoMeta
 *
 * Returns: (nullable) (transfer none): the prompt the results answer (grounding), or %NULL.
 *
 * Since: 0.1
 */
const gchar *gst_ufo_meta_get_prompt(const GstUfoMeta *meta)
{
  g_return_val_if_fail(meta != NULL, NULL);
  return meta->results ? meta->results->prompt : NULL;
}

/**
 * gst_ufo_meta_get_task:
 * @meta: a #GstUfoMeta
 *
 * Returns: (transfer none): the task name of #GstUfoMeta.task ("detection", "grounding",
 * "caption", "instance", "semantic"), or %NULL when no task is set.
 *
 * Since: 0.1
 */
const gchar *gst_ufo_meta_get_task(const GstUfoMeta *meta)
{
  g_return_val_if_fail(meta != NULL, NULL);
  return g_quark_to_string(meta->task);
}

/**
 * gst_ufo_meta_get_mask_bytes:
 * @meta: a #GstUfoMeta
 * @index: object index
 * @width: (out) (optional): mask width in mask pixels
 * @height: (out) (optional): mask height
 * @stride: (out) (optional): bytes per mask row; pixel (x, y) is byte y × @stride + x
 * @rect: (out caller-allocates) (optional): where the mask lies in the meta's frame
 *
 * gst_ufo_meta_get_mask() for language bindings: the mask's GRAY8 probabilities (0..255) as
 * #GBytes of (@height − 1) × @stride + @width bytes, sharing the meta's pixels (no copy). From
 * Python: `data, w, h, stride, rect = meta.get_mask_bytes(i)`, then `data.get_data()`.
 *
 * Returns: (transfer full) (nullable): the mask pixels, %NULL when the object has no mask or
 * @index is out of range (the out values are then left alone).
 *
 * Since: 0.1
 */
GBytes *gst_ufo_meta_get_mask_bytes(const GstUfoMeta *meta, guint index, gint *width, gint *height,
                                    gint *stride, GstUfoRect *rect)
{
  g_return_val_if_fail(meta != NULL, NULL);
  if (!meta->results || index >= meta->results->masks->len)
    return NULL;
  const UfoMaskEntry *m = &g_array_index(meta->results->masks, UfoMaskEntry, index);
  if (!m->data)
    return NULL;
  if (!gst_ufo_meta_get_mask(meta, index, width, height, stride, NULL, rect))
    return NULL;
  return g_bytes_new_from_bytes(m->data, 0, (gsize)m->stride * (m->height - 1) + m->width);
}

/**
 * gst_ufo_meta_get_semantic_map_bytes:
 * @meta: a #GstUfoMeta
 * @format: (out) (optional): %GST_VIDEO_FORMAT_GRAY8 or %GST_VIDEO_FORMAT_GRAY16_LE
 * @width: (out) (optional): map width
 * @height: (out) (optional): map height
 * @stride: (out) (optional): bytes per row
 * @rect: (out caller-allocates) (optional): where the map lies in the meta's frame
 * @class_names: (out) (optional) (transfer none) (array zero-terminated=1): class names, by
 *   class id
 *
 * gst_ufo_meta_get_semantic_map() for language bindings: the class-id map as #GBytes of
 * (@height − 1) × @stride + @width × bytes-per-pixel bytes, sharing the meta's pixels.
 *
 * Returns: (transfer full) (nullable): the map, %NULL when there is none (the out values are
 * then left alone).
 *
 * Since: 0.1
 */
GBytes *gst_ufo_meta_get_semantic_map_bytes(const GstUfoMeta *meta, GstVideoFormat *format,
                                            gint *width, gint *height, gint *stride,
                                            GstUfoRect *rect, gchar ***class_names)
{
  g_return_val_if_fail(meta != NULL, NULL);
  const GstUfoResults *r = meta->results;
  const gchar *const *names = NULL;
  if (!gst_ufo_meta_get_semantic_map(meta, format, width, height, stride, NULL, rect, NULL, &names))
    return NULL;
  if (class_names)
    *class_names = (gchar **)names;
  const gsize bpp = r->sem_format == GST_VIDEO_FORMAT_GRAY8 ? 1 : 2;
  return g_bytes_new_from_bytes(r->sem_data, 0,
                                (gsize)r->sem_stride * (r->sem_height - 1) + r->sem_width * bpp);
}
