/* ufotrack: ByteTrack-style multi-object tracking of UFO-ViT results.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-ufotrack
 * @title: ufotrack
 *
 * Follows the objects that an upstream ufodetect or ufoseg found, frame after frame, and gives
 * each a persistent track id: GstUfoObject.track_id in the #GstUfoMeta (1, 2, …; 0 = the object
 * belongs to no confirmed track) and, in the #GstVideoRegionOfInterestMeta, the ROI `id`, an
 * `object_id` structure and `track_id` in the `detection` structure (gvatrack's layout). Masks
 * stay attached to their objects. The association is ByteTrack's (high- and low-score passes on
 * IoU, optimal assignment, a constant-velocity Kalman filter per track; gst/track/bytetrack.h).
 *
 * On frames without fresh results (the producer's `inference-interval` > 1: its meta has
 * `inferred` = FALSE) the tracker predicts every tracked box and the meta carries the
 * predictions instead of the stale results, each flagged %GST_UFO_OBJECT_FLAG_PREDICTED (and
 * `predicted` = TRUE in its ROI `detection` structure), with the track's last label, score and
 * mask moved along with the box.
 *
 * The tracks are dropped on flush, on a new stream and when the caps change.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! \
 *     ufodetect model=ufo-demo.safetensors inference-interval=3 ! ufotrack ! ufooverlay ! \
 *     videoconvert ! autovideosink
 * ]|
 *
 * Since: 0.1
 */
#include "ufotrack.h"

#include "track/bytetrack.h"
#include "uforesults.h"

#include <gst/ufo/ufometa.h>
#include <string.h>

GST_DEBUG_CATEGORY_STATIC(ufotrack_debug);
#define GST_CAT_DEFAULT ufotrack_debug

enum {
  PROP_0,
  PROP_TRACK_HIGH_THRESH,
  PROP_TRACK_LOW_THRESH,
  PROP_NEW_TRACK_THRESH,
  PROP_MATCH_THRESH,
  PROP_TRACK_BUFFER,
  PROP_MIN_HITS,
  PROP_UNIQUE_ID,
  PROP_ATTACH_ROI_META,
};

#define DEFAULT_TRACK_HIGH_THRESH 0.5f
#define DEFAULT_TRACK_LOW_THRESH 0.1f
#define DEFAULT_NEW_TRACK_THRESH 0.6f
#define DEFAULT_MATCH_THRESH 0.8f
#define DEFAULT_TRACK_BUFFER 30
#define DEFAULT_MIN_HITS 2
#define DEFAULT_UNIQUE_ID (-1)
#define DEFAULT_ATTACH_ROI_META TRUE

/* What a predicted object takes from its track's last detection. */
typedef struct {
  gint label_id;
  const gchar *label; /* interned */
  GBytes *mask;       /* NULL = no mask; shares the producer's pixels */
  gint mask_width, mask_height, mask_stride;
  gfloat rx, ry, rw, rh; /* mask rectangle relative to the box (box width/height units) */
} TrackExtra;

struct _GstUfoTrack {
  GstBaseTransform parent;

  /* properties, under the object lock */
  UfoTrackerParams params;
  gboolean params_dirty;
  gint unique_id;
  gboolean attach_roi_meta;

  /* streaming state, under track_lock (events may come from another thread) */
  GMutex track_lock;
  UfoTracker *tracker;
  GHashTable *extras; /* track id (guint64 *) → TrackExtra */
  GstVideoInfo info;
  gboolean have_info;
};

G_DEFINE_TYPE(GstUfoTrack, gst_ufo_track, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(ufotrack, "ufotrack", GST_RANK_NONE, GST_TYPE_UFO_TRACK);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));

static void extra_free(gpointer p)
{
  TrackExtra *e = p;
  g_clear_pointer(&e->mask, g_bytes_unref);
  g_free(e);
}

/* with track_lock */
static void reset_tracks(GstUfoTrack *self, const gchar *why)
{
  if (self->tracker)
    ufo_tracker_reset(self->tracker);
  if (self->extras)
    g_hash_table_remove_all(self->extras);
  GST_DEBUG_OBJECT(self, "tracks reset (%s)", why);
}

static void gst_ufo_track_set_property(GObject *object, guint prop_id, const GValue *value,
                                       GParamSpec *pspec)
{
  GstUfoTrack *self = GST_UFO_TRACK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_TRACK_HIGH_THRESH:
    self->params.track_high_thresh = g_value_get_float(value);
    break;
  case PROP_TRACK_LOW_THRESH:
    self->params.track_low_thresh = g_value_get_float(value);
    break;
  case PROP_NEW_TRACK_THRESH:
    self->params.new_track_thresh = g_value_get_float(value);
    break;
  case PROP_MATCH_THRESH:
    self->params.match_thresh = g_value_get_float(value);
    break;
  case PROP_TRACK_BUFFER:
    self->params.track_buffer = (int)g_value_get_uint(value);
    break;
  case PROP_MIN_HITS:
    self->params.min_hits = (int)g_value_get_uint(value);
    break;
  case PROP_UNIQUE_ID:
    self->unique_id = g_value_get_int(value);
    break;
  case PROP_ATTACH_ROI_META:
    self->attach_roi_meta = g_value_get_boolean(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  self->params_dirty = TRUE;
  GST_OBJECT_UNLOCK(self);
}

static void gst_ufo_track_get_property(GObject *object, guint prop_id, GValue *value,
                                       GParamSpec *pspec)
{
  GstUfoTrack *self = GST_UFO_TRACK(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_TRACK_HIGH_THRESH:
    g_value_set_float(value, self->params.track_high_thresh);
    break;
  case PROP_TRACK_LOW_THRESH:
    g_value_set_float(value, self->params.track_low_thresh);
    break;
  case PROP_NEW_TRACK_THRESH:
    g_value_set_float(value, self->params.new_track_thresh);
    break;
  case PROP_MATCH_THRESH:
    g_value_set_float(value, self->params.match_thresh);
    break;
  case PROP_TRACK_BUFFER:
    g_value_set_uint(value, (guint)self->params.track_buffer);
    break;
  case PROP_MIN_HITS:
    g_value_set_uint(value, (guint)self->params.min_hits);
    break;
  case PROP_UNIQUE_ID:
    g_value_set_int(value, self->unique_id);
    break;
  case PROP_ATTACH_ROI_META:
    g_value_set_boolean(value, self->attach_roi_meta);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_ufo_track_start(GstBaseTransform *trans)
{
  GstUfoTrack *self = GST_UFO_TRACK(trans);
  GST_OBJECT_LOCK(self);
  const UfoTrackerParams params = self->params;
  self->params_dirty = FALSE;
  GST_OBJECT_UNLOCK(self);
  g_mutex_lock(&self->track_lock);
  self->tracker = ufo_tracker_new(&params);
  self->extras = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, extra_free);
  self->have_info = FALSE;
  const gboolean ok = self->tracker != NULL;
  g_mutex_unlock(&self->track_lock);
  if (!ok)
    goto no_tracker;
  return TRUE;

  /* ERRORS */
no_tracker:
  GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Could not create the tracker."),
                    ("ufo_tracker_new failed (out of memory or invalid parameters)"));
  return FALSE;
}

static gboolean gst_ufo_track_stop(GstBaseTransform *trans)
{
  GstUfoTrack *self = GST_UFO_TRACK(trans);
  g_mutex_lock(&self->track_lock);
  g_clear_pointer(&self->tracker, ufo_tracker_free);
  g_clear_pointer(&self->extras, g_hash_table_unref);
  self->have_info = FALSE;
  g_mutex_unlock(&self->track_lock);
  return TRUE;
}

static gboolean gst_ufo_track_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstUfoTrack *self = GST_UFO_TRACK(trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps)) {
    GST_WARNING_OBJECT(self, "caps %" GST_PTR_FORMAT " are not video caps", incaps);
    return FALSE;
  }
  g_mutex_lock(&self->track_lock);
  if (self->have_info && !gst_video_info_is_equal(&self->info, &info))
    reset_tracks(self, "caps changed");
  self->info = info;
  self->have_info = TRUE;
  g_mutex_unlock(&self->track_lock);
  return TRUE;
}

static gboolean gst_ufo_track_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  GstUfoTrack *self = GST_UFO_TRACK(trans);
  switch (GST_EVENT_TYPE(event)) {
  case GST_EVENT_FLUSH_STOP:
  case GST_EVENT_STREAM_START:
    g_mutex_lock(&self->track_lock);
    reset_tracks(self, GST_EVENT_TYPE_NAME(event));
    g_mutex_unlock(&self->track_lock);
    break;
  default:
    break;
  }
  return GST_BASE_TRANSFORM_CLASS(gst_ufo_track_parent_class)->sink_event(trans, event);
}

/* Remembers label and mask of each object matched to a confirmed track. */
static void remember_extras(GstUfoTrack *self, const GstUfoMeta *meta, const guint64 *ids, guint n)
{
  for (guint i = 0; i < n; i++) {
    if (!ids[i])
      continue;
    GstUfoObject o;
    gst_ufo_meta_get_object(meta, i, &o);
    TrackExtra *e = g_hash_table_lookup(self->extras, &ids[i]);
    if (!e) {
      e = g_new0(TrackExtra, 1);
      g_hash_table_insert(self->extras, g_memdup2(&ids[i], sizeof(guint64)), e);
    }
    e->label_id = o.label_id;
    e->label = o.label;
    g_clear_pointer(&e->mask, g_bytes_unref);
    gint mw, mh, ms;
    const guint8 *data;
    GstUfoRect r;
    if (o.w > 0 && o.h > 0 && gst_ufo_meta_get_mask(meta, i, &mw, &mh, &ms, &data, &r)) {
      /* the GBytes keeps the producer's results block (and so the pixels) alive */
      e->mask = g_bytes_new_with_free_func(data, (gsize)ms * (mh - 1) + mw,
                                           (GDestroyNotify)gst_ufo_results_unref,
                                           gst_ufo_results_ref(meta->results));
      e->mask_width = mw;
      e->mask_height = mh;
      e->mask_stride = ms;
      e->rx = (r.x - o.x) / o.w;
      e->ry = (r.y - o.y) / o.h;
      e->rw = r.w / o.w;
      e->rh = r.h / o.h;
    }
  }
}

/* Drops the extras of tracks that are gone. */
static void prune_extras(GstUfoTrack *self)
{
  size_t n;
  const UfoTrack *tracks = ufo_tracker_get_tracks(self->tracker, &n);
  if (g_hash_table_size(self->extras) <= n)
    return;
  GHashTable *live = g_hash_table_new(g_int64_hash, g_int64_equal);
  for (size_t i = 0; i < n; i++)
    if (tracks[i].id)
      g_hash_table_add(live, (gpointer)&tracks[i].id);
  GHashTableIter it;
  gpointer key;
  g_hash_table_iter_init(&it, self->extras);
  while (g_hash_table_iter_next(&it, &key, NULL))
    if (!g_hash_table_contains(live, key))
      g_hash_table_iter_remove(&it);
  g_hash_table_unref(live);
}

/* Results of a frame with fresh detections: the producer's, with track ids. */
static GstUfoResults *track_detections(GstUfoTrack *self, const GstUfoMeta *meta)
{
  const guint n = gst_ufo_meta_get_n_objects(meta);
  UfoTrackDet *dets = g_new0(UfoTrackDet, MAX(n, 1));
  guint64 *ids = g_new0(guint64, MAX(n, 1));
  GstUfoResults *res = NULL;
  for (guint i = 0; i < n; i++) {
    GstUfoObject o;
    gst_ufo_meta_get_object(meta, i, &o);
    dets[i] = (UfoTrackDet){o.x, o.y, o.w, o.h, o.score, o.label_id};
  }
  if (ufo_tracker_update(self->tracker, dets, n, ids) != 0)
    goto out; /* out of memory: the tracker has reset itself */
  res = gst_ufo_meta_copy_results(meta);
  if (!res)
    goto out;
  for (guint i = 0; i < n; i++)
    gst_ufo_results_set_track_id(res, i, ids[i]);
  remember_extras(self, meta, ids, n);
  prune_extras(self);
out:
  g_free(dets);
  g_free(ids);
  return res;
}

/* Results of a frame without fresh detections: every tracked box, predicted. */
static GstUfoResults *track_predictions(GstUfoTrack *self, const GstUfoMeta *meta)
{
  ufo_tracker_predict(self->tracker);
  if (meta->width <= 0 || meta->height <= 0)
    return NULL;
  GstUfoResults *res = gst_ufo_results_new(meta->width, meta->height);
  size_t n;
  const UfoTrack *tracks = ufo_tracker_get_tracks(self->tracker, &n);
  for (size_t i = 0; i < n; i++) {
    const UfoTrack *t = &tracks[i];
    if (t->state != UFO_TRACK_STATE_TRACKED || t->id == 0)
      continue;
    const TrackExtra *e = g_hash_table_lookup(self->extras, &t->id);
    const guint k = gst_ufo_results_add_object(res, e ? e->label_id : t->label, e ? e->label : NULL,
                                               t->score, t->x, t->y, t->w, t->h);
    gst_ufo_results_set_track_id(res, k, t->id);
    gst_ufo_results_set_object_flags(res, k, GST_UFO_OBJECT_FLAG_PREDICTED);
    if (e && e->mask) {
      const GstUfoRect r = {t->x + e->rx * t->w, t->y + e->ry * t->h, e->rw * t->w, e->rh * t->h};
      gst_ufo_results_set_mask(res, k, e->mask, e->mask_width, e->mask_height, e->mask_stride, &r);
    }
  }
  return res;
}

/* Removes the ROI metas of the objects of @meta; returns the model name they carried. */
static gchar *remove_object_rois(GstBuffer *buf, const GstUfoMeta *meta)
{
  GHashTable *ids = g_hash_table_new(g_direct_hash, g_direct_equal);
  for (guint i = 0; i < gst_ufo_meta_get_n_objects(meta); i++) {
    GstUfoObject o;
    gst_ufo_meta_get_object(meta, i, &o);
    if (o.roi_id >= 0)
      g_hash_table_add(ids, GINT_TO_POINTER(o.roi_id));
  }
  gchar *model_name = NULL;
  gpointer state = NULL;
  GstMeta *m;
  while (g_hash_table_size(ids) && (m = gst_buffer_iterate_meta_filtered(
                                        buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)m;
    const GstStructure *det = gst_video_region_of_interest_meta_get_param(roi, "detection");
    guint producer = G_MAXUINT;
    if (!g_hash_table_contains(ids, GINT_TO_POINTER(roi->id)) || !det ||
        !gst_structure_get_uint(det, "producer_id", &producer) || producer != meta->producer_id)
      continue;
    if (!model_name)
      model_name = g_strdup(gst_structure_get_string(det, "model_name"));
    g_hash_table_remove(ids, GINT_TO_POINTER(roi->id));
    gst_buffer_remove_meta(buf, m);
    state = NULL; /* the list changed: iterate again from the start */
  }
  g_hash_table_unref(ids);
  return model_name;
}

static GstFlowReturn gst_ufo_track_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
  GstUfoTrack *self = GST_UFO_TRACK(trans);
  GST_OBJECT_LOCK(self);
  const UfoTrackerParams params = self->params;
  const gboolean dirty = self->params_dirty;
  const gint unique_id = self->unique_id;
  const gboolean attach_roi = self->attach_roi_meta;
  self->params_dirty = FALSE;
  GST_OBJECT_UNLOCK(self);

  GstUfoMeta *meta = gst_ufo_find_object_meta(buf, unique_id);
  if (!meta) {
    GST_LOG_OBJECT(self, "no results to track on this buffer");
    return GST_FLOW_OK;
  }
  g_mutex_lock(&self->track_lock);
  if (!self->tracker) {
    g_mutex_unlock(&self->track_lock);
    return GST_FLOW_OK;
  }
  if (dirty && ufo_tracker_set_params(self->tracker, &params) != 0)
    GST_WARNING_OBJECT(self, "tracker parameters refused, keeping the previous ones");
  const gboolean inferred = meta->inferred;
  GstUfoResults *res = inferred ? track_detections(self, meta) : track_predictions(self, meta);
  g_mutex_unlock(&self->track_lock);
  if (!res) {
    GST_WARNING_OBJECT(self, "could not track this frame; its results pass unchanged");
    return GST_FLOW_OK;
  }

  /* replace the producer's meta (and its ROI metas) by the tracked results */
  const guint producer_id = meta->producer_id;
  const gchar *task = g_quark_to_string(meta->task);
  const GstClockTime result_pts = meta->result_pts;
  gchar *model_name = remove_object_rois(buf, meta);
  gst_buffer_remove_meta(buf, (GstMeta *)meta);
  if (attach_roi)
    gst_ufo_results_add_roi_metas(res, buf, producer_id, model_name);
  GstUfoMeta *out = gst_buffer_add_ufo_meta(buf, res, producer_id, task, inferred, result_pts);
  GST_LOG_OBJECT(self, "%s frame: %u objects", inferred ? "detected" : "predicted",
                 out ? gst_ufo_meta_get_n_objects(out) : 0u);
  gst_ufo_results_unref(res);
  g_free(model_name);
  return GST_FLOW_OK;
}

static void gst_ufo_track_finalize(GObject *object)
{
  GstUfoTrack *self = GST_UFO_TRACK(object);
  gst_ufo_track_stop(GST_BASE_TRANSFORM(object));
  g_mutex_clear(&self->track_lock);
  G_OBJECT_CLASS(gst_ufo_track_parent_class)->finalize(object);
}

static void install_thresh(GObjectClass *klass, guint id, const gchar *name, const gchar *nick,
                           const gchar *blurb, gfloat def)
{
  g_object_class_install_property(klass, id,
                                  g_param_spec_float(name, nick, blurb, 0.0f, 1.0f, def,
                                                     G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                         GST_PARAM_MUTABLE_PLAYING |
                                                         GST_PARAM_CONTROLLABLE));
}

static void gst_ufo_track_class_init(GstUfoTrackClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *bt_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_ufo_track_set_property;
  gobject_class->get_property = gst_ufo_track_get_property;
  gobject_class->finalize = gst_ufo_track_finalize;
  GST_DEBUG_CATEGORY_INIT(ufotrack_debug, "ufotrack", 0, "UFO-ViT multi-object tracker");

  /**
   * GstUfoTrack:track-high-thresh:
   *
   * Detections scoring at least this take part in the first association and may start tracks.
   *
   * Since: 0.1
   */
  install_thresh(gobject_class, PROP_TRACK_HIGH_THRESH, "track-high-thresh", "Track high threshold",
                 "Score (0..1) from which a detection is matched in the first pass",
                 DEFAULT_TRACK_HIGH_THRESH);
  /**
   * GstUfoTrack:track-low-thresh:
   *
   * Detections scoring from this up to track-high-thresh are matched, in a second pass, to the
   * tracked objects left over (ByteTrack's low-score association); lower scores are ignored.
   *
   * Since: 0.1
   */
  install_thresh(gobject_class, PROP_TRACK_LOW_THRESH, "track-low-thresh", "Track low threshold",
                 "Score (0..1) from which a detection is matched in the second (low-score) pass",
                 DEFAULT_TRACK_LOW_THRESH);
  /**
   * GstUfoTrack:new-track-thresh:
   *
   * A high-score detection left unmatched starts a new track when it scores at least this.
   *
   * Since: 0.1
   */
  install_thresh(gobject_class, PROP_NEW_TRACK_THRESH, "new-track-thresh", "New track threshold",
                 "Score (0..1) an unmatched detection needs to start a track",
                 DEFAULT_NEW_TRACK_THRESH);
  /**
   * GstUfoTrack:match-thresh:
   *
   * Largest matching cost 1 − IoU × score accepted in the first pass (0.8: IoU × score ≥ 0.2).
   *
   * Since: 0.1
   */
  install_thresh(gobject_class, PROP_MATCH_THRESH, "match-thresh", "Match threshold",
                 "Largest cost 1 - IoU*score (0..1) of a first-pass match", DEFAULT_MATCH_THRESH);
  /**
   * GstUfoTrack:track-buffer:
   *
   * Frames a lost track (no matching detection) is kept, with its id, before it is dropped.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TRACK_BUFFER,
      g_param_spec_uint("track-buffer", "Track buffer",
                        "Frames a lost track is kept before it is dropped (its id can come back "
                        "meanwhile)",
                        0, 100000, DEFAULT_TRACK_BUFFER,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoTrack:min-hits:
   *
   * Matched frames (its birth included) before a new track is confirmed and gets an id; tracks
   * born on the first frame after a reset are confirmed at once.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MIN_HITS,
      g_param_spec_uint("min-hits", "Minimum hits",
                        "Matched frames (1..1000, birth included) before a track gets an id", 1,
                        1000, DEFAULT_MIN_HITS,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoTrack:unique-id:
   *
   * The producer whose results are tracked (its `unique-id`); -1 tracks the first #GstUfoMeta
   * of a detection, grounding or instance task on each buffer.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_UNIQUE_ID,
      g_param_spec_int("unique-id", "Unique id",
                       "unique-id of the producer to track (-1 = the first with objects)", -1,
                       G_MAXINT, DEFAULT_UNIQUE_ID,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoTrack:attach-roi-meta:
   *
   * Replace the producer's #GstVideoRegionOfInterestMeta by ones carrying the track ids (ROI id
   * = track id). When FALSE the producer's ROI metas are removed and none are added.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ATTACH_ROI_META,
      g_param_spec_boolean("attach-roi-meta", "Attach ROI meta",
                           "Attach one GstVideoRegionOfInterestMeta per tracked result (id = "
                           "track id, object_id and detection params)",
                           DEFAULT_ATTACH_ROI_META,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "UFO-ViT tracker", "Filter/Analyzer/Video",
      "Tracks the objects found by ufodetect or ufoseg across frames (ByteTrack association, "
      "Kalman prediction) and sets persistent track ids in their metadata",
      "gst-ufo contributors");

  bt_class->start = GST_DEBUG_FUNCPTR(gst_ufo_track_start);
  bt_class->stop = GST_DEBUG_FUNCPTR(gst_ufo_track_stop);
  bt_class->set_caps = GST_DEBUG_FUNCPTR(gst_ufo_track_set_caps);
  bt_class->sink_event = GST_DEBUG_FUNCPTR(gst_ufo_track_sink_event);
  bt_class->transform_ip = GST_DEBUG_FUNCPTR(gst_ufo_track_transform_ip);
  bt_class->passthrough_on_same_caps = FALSE;
}

static void gst_ufo_track_init(GstUfoTrack *self)
{
  ufo_tracker_params_init(&self->params);
  self->params.track_high_thresh = DEFAULT_TRACK_HIGH_THRESH;
  self->params.track_low_thresh = DEFAULT_TRACK_LOW_THRESH;
  self->params.new_track_thresh = DEFAULT_NEW_TRACK_THRESH;
  self->params.match_thresh = DEFAULT_MATCH_THRESH;
  self->params.track_buffer = DEFAULT_TRACK_BUFFER;
  self->params.min_hits = DEFAULT_MIN_HITS;
  self->unique_id = DEFAULT_UNIQUE_ID;
  self->attach_roi_meta = DEFAULT_ATTACH_ROI_META;
  g_mutex_init(&self->track_lock);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
