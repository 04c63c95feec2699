/* gstreamer-ufo-1.0: GstUfoMeta, the per-frame result metadata of the ufodetect and ufoseg
 * elements.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:gstufometa
 * @title: GstUfoMeta
 * @short_description: UFO-ViT results attached to video buffers
 *
 * A #GstUfoMeta carries everything one producer (a ufodetect or ufoseg element, told apart by
 * #GstUfoMeta.producer_id) found on one frame: objects with boxes, instance masks, a semantic
 * class map and a caption. The results live in a reference-counted #GstUfoResults block that is
 * immutable once attached, so copying the meta (gst_buffer_copy(), tee, queue) only adds a
 * reference. Coordinates are in pixels of the frame described by #GstUfoMeta.width and
 * #GstUfoMeta.height; the scale transform (videoscale, videoconvert) keeps them right. Other
 * transforms (rotation) are refused, so elements that rotate drop the meta.
 *
 * Producers build a #GstUfoResults with gst_ufo_results_new() and the `add`/`set` functions,
 * optionally call gst_ufo_results_add_roi_metas(), then attach it with gst_buffer_add_ufo_meta().
 *
 * Language bindings see the library through GObject introspection (namespace GstUfo, version
 * 1.0: `GstUfo-1.0.typelib`): gst_buffer_get_ufo_metas() lists the metas of a buffer,
 * gst_ufo_meta_get_object() fills a boxed #GstUfoObject, gst_ufo_meta_get_mask_bytes() and
 * gst_ufo_meta_get_semantic_map_bytes() return the pixels as #GBytes and gst_ufo_meta_get_task()
 * the task name; the raw-pointer accessors are skipped.
 *
 * Since: 0.1
 */
#ifndef GST_UFO_META_H
#define GST_UFO_META_H

#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#if defined(_WIN32) || defined(__CYGWIN__)
#ifdef BUILDING_GST_UFO
#define UFO_API __declspec(dllexport) extern
#else
#define UFO_API __declspec(dllimport) extern
#endif
#else
#define UFO_API __attribute__((visibility("default"))) extern
#endif

/**
 * GstUfoRect:
 * @x: left edge in frame pixels
 * @y: top edge in frame pixels
 * @w: width in frame pixels
 * @h: height in frame pixels
 *
 * A rectangle in frame coordinates (floating point, so scaling loses nothing).
 *
 * Since: 0.1
 */
typedef struct {
  gfloat x, y, w, h;
} GstUfoRect;

UFO_API GType gst_ufo_rect_get_type(void);
/**
 * GST_TYPE_UFO_RECT:
 *
 * The boxed #GType of #GstUfoRect (for language bindings).
 *
 * Since: 0.1
 */
#define GST_TYPE_UFO_RECT (gst_ufo_rect_get_type())
UFO_API GstUfoRect *gst_ufo_rect_copy(const GstUfoRect *rect);
UFO_API void gst_ufo_rect_free(GstUfoRect *rect);

/**
 * GstUfoObject:
 * @label_id: index of the class in the producer's label set (-1 = none, e.g. grounding)
 * @label: class name or grounded phrase, an interned string (compare with ==)
 * @score: confidence, 0..1
 * @x: box left edge in frame pixels
 * @y: box top edge in frame pixels
 * @w: box width in pixels
 * @h: box height in pixels
 * @track_id: tracking id set by a tracker (ufotrack), 1, 2, …; 0 = not tracked
 * @roi_id: id of the matching #GstVideoRegionOfInterestMeta, -1 = none
 *
 * One detected object, as returned by gst_ufo_meta_get_object(). Per-object flags (such as
 * %GST_UFO_OBJECT_FLAG_PREDICTED) are read with gst_ufo_meta_get_object_flags(); they are kept
 * outside this caller-allocated struct so that its size does not change.
 *
 * Since: 0.1
 */
typedef struct {
  gint label_id;
  const gchar *label;
  gfloat score;
  gfloat x, y, w, h;
  guint64 track_id;
  gint roi_id;
} GstUfoObject;

UFO_API GType gst_ufo_object_get_type(void);
/**
 * GST_TYPE_UFO_OBJECT:
 *
 * The boxed #GType of #GstUfoObject (for language bindings).
 *
 * Since: 0.1
 */
#define GST_TYPE_UFO_OBJECT (gst_ufo_object_get_type())
UFO_API GstUfoObject *gst_ufo_object_copy(const GstUfoObject *object);
UFO_API void gst_ufo_object_free(GstUfoObject *object);

/**
 * GstUfoObjectFlags:
 * @GST_UFO_OBJECT_FLAG_NONE: no flag
 * @GST_UFO_OBJECT_FLAG_PREDICTED: the box was predicted by a tracker (ufotrack) on a frame
 *   without fresh detector results (inference-interval > 1), not detected on this frame
 *
 * Since: 0.1
 */
typedef enum {
  GST_UFO_OBJECT_FLAG_NONE = 0,
  GST_UFO_OBJECT_FLAG_PREDICTED = 1 << 0,
} GstUfoObjectFlags;

/**
 * GstUfoResults:
 *
 * Opaque, reference-counted block of results. It can be modified until it is attached to a
 * buffer with gst_buffer_add_ufo_meta(); from then on it is sealed and read-only.
 *
 * Since: 0.1
 */
typedef struct _GstUfoResults GstUfoResults;

/**
 * GstUfoMeta:
 * @meta: parent #GstMeta
 * @producer_id: `unique-id` of the element that produced the results
 * @task: task name as a quark ("detection", "grounding", "caption", "instance", "semantic")
 * @inferred: %TRUE when the results were computed on this very frame; %FALSE when they were
 *   carried over from an earlier frame (inference-interval) or when no inference ran
 * @result_pts: PTS of the frame the results were computed on (#GST_CLOCK_TIME_NONE if none)
 * @width: width in pixels of the frame the coordinates refer to
 * @height: height in pixels of the frame the coordinates refer to
 * @results: the results (read them with the accessors below)
 *
 * UFO-ViT results of one producer on one frame. Tags: video, size, orientation.
 *
 * Since: 0.1
 */
typedef struct {
  GstMeta meta;
  guint producer_id;
  GQuark task;
  gboolean inferred;
  GstClockTime result_pts;
  gint width, height;
  GstUfoResults *results;
} GstUfoMeta;

UFO_API GType gst_ufo_meta_api_get_type(void);
/**
 * GST_UFO_META_API_TYPE:
 *
 * The #GType of the #GstUfoMeta API ("GstUfoMetaAPI").
 *
 * Since: 0.1
 */
#define GST_UFO_META_API_TYPE (gst_ufo_meta_api_get_type())

UFO_API const GstMetaInfo *gst_ufo_meta_get_info(void);
/**
 * GST_UFO_META_INFO:
 *
 * The #GstMetaInfo of #GstUfoMeta.
 *
 * Since: 0.1
 */
#define GST_UFO_META_INFO (gst_ufo_meta_get_info())

UFO_API GstUfoMeta *gst_buffer_get_ufo_meta(GstBuffer *buffer);
UFO_API GList *gst_buffer_get_ufo_metas(GstBuffer *buffer);

UFO_API GType gst_ufo_results_get_type(void);
/**
 * GST_TYPE_UFO_RESULTS:
 *
 * The boxed #GType of #GstUfoResults.
 *
 * Since: 0.1
 */
#define GST_TYPE_UFO_RESULTS (gst_ufo_results_get_type())

/* Building results (producers). */
UFO_API GstUfoResults *gst_ufo_results_new(gint width, gint height);
UFO_API GstUfoResults *gst_ufo_results_ref(GstUfoResults *results);
UFO_API void gst_ufo_results_unref(GstUfoResults *results);
UFO_API GstUfoResults *gst_ufo_results_copy(const GstUfoResults *results);
UFO_API gboolean gst_ufo_results_is_sealed(const GstUfoResults *results);
UFO_API guint gst_ufo_results_add_object(GstUfoResults *results, gint label_id, const gchar *label,
                                         gfloat score, gfloat x, gfloat y, gfloat w, gfloat h);
UFO_API gboolean gst_ufo_results_set_track_id(GstUfoResults *results, guint index,
                                              guint64 track_id);
UFO_API gboolean gst_ufo_results_set_object_flags(GstUfoResults *results, guint index,
                                                  GstUfoObjectFlags flags);
UFO_API gboolean gst_ufo_results_set_mask(GstUfoResults *results, guint index, GBytes *data,
                                          gint width, gint height, gint stride,
                                          const GstUfoRect *rect);
UFO_API gboolean gst_ufo_results_set_semantic_map(GstUfoResults *results, GstVideoFormat format,
                                                  GBytes *data, gint width, gint height,
                                                  gint stride, const GstUfoRect *rect,
                                                  const gchar *const *class_names);
UFO_API gboolean gst_ufo_results_set_caption(GstUfoResults *results, const gchar *caption);
UFO_API gboolean gst_ufo_results_set_prompt(GstUfoResults *results, const gchar *prompt);
UFO_API guint gst_ufo_results_add_roi_metas(GstUfoResults *results, GstBuffer *buffer,
                                            guint producer_id, const gchar *model_name);

UFO_API GstUfoMeta *gst_buffer_add_ufo_meta(GstBuffer *buffer, GstUfoResults *results,
                                            guint producer_id, const gchar *task, gboolean inferred,
                                            GstClockTime result_pts);
UFO_API GstUfoMeta *gst_buffer_get_ufo_meta_for_producer(GstBuffer *buffer, guint producer_id);

/* Reading results (consumers). */
UFO_API guint gst_ufo_meta_get_n_objects(const GstUfoMeta *meta);
UFO_API gboolean gst_ufo_meta_get_object(const GstUfoMeta *meta, guint index, GstUfoObject *object);
UFO_API GstUfoObjectFlags gst_ufo_meta_get_object_flags(const GstUfoMeta *meta, guint index);
UFO_API GstUfoResults *gst_ufo_meta_copy_results(const GstUfoMeta *meta);
UFO_API gboolean gst_ufo_meta_get_mask(const GstUfoMeta *meta, guint index, gint *width,
                                       gint *height, gint *stride, const guint8 **data,
                                       GstUfoRect *rect);
UFO_API gboolean gst_ufo_meta_get_semantic_map(const GstUfoMeta *meta, GstVideoFormat *format,
                                               gint *width, gint *height, gint *stride,
                                               const guint8 **data, GstUfoRect *rect,
                                               guint *n_classes, const gchar *const **class_names);
UFO_API const gchar *gst_ufo_meta_get_caption(const GstUfoMeta *meta);
UFO_API const gchar *gst_ufo_meta_get_prompt(const GstUfoMeta *meta);
/* The same for language bindings (GObject introspection, gstreamer-ufo-1.0's GstUfo-1.0
 * typelib): GBytes instead of raw pointers, the task as a string. */
UFO_API const gchar *gst_ufo_meta_get_task(const GstUfoMeta *meta);
UFO_API GBytes *gst_ufo_meta_get_mask_bytes(const GstUfoMeta *meta, guint index, gint *width,
                                            gint *height, gint *stride, GstUfoRect *rect);
UFO_API GBytes *gst_ufo_meta_get_semantic_map_bytes(const GstUfoMeta *meta, GstVideoFormat *format,
                                                    gint *width, gint *height, gint *stride,
                                                    GstUfoRect *rect, gchar ***class_names);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(GstUfoResults, gst_ufo_results_unref)

G_END_DECLS

#endif /* GST_UFO_META_H */
