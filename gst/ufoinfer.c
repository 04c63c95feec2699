/* GstUfoInfer: shared base of ufodetect and ufoseg (see ufoinfer.h).
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ufoinfer.h"
#include "ufocuda.h"
#include "ufomodelcache.h"
#include "ufoinstance.h"

#include <gst/ufo/ufometa.h>
#include <string.h>

#define CAT(self) (GST_UFO_INFER_GET_CLASS(self)->debug)

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_GPU_ID,
  PROP_THREADS,
  PROP_PRECISION,
  PROP_THRESHOLD,
  PROP_CLASS_THRESHOLDS,
  PROP_CLASSES,
  PROP_MAX_DETECTIONS,
  PROP_NMS_IOU,
  PROP_BEAM_SIZE,
  PROP_TEMPERATURE,
  PROP_LENGTH_PENALTY,
  PROP_INFERENCE_INTERVAL,
  PROP_REUSE_RESULTS,
  PROP_LATE_FRAMES,
  PROP_UNIQUE_ID,
  PROP_ATTACH_ROI_META,
  PROP_MODEL_INSTANCE_ID,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_NIREQ,
  PROP_INSTANCE_STATS,
  PROP_PROCESSING_TIME,
};

#define DEFAULT_MODEL NULL
#define DEFAULT_DEVICE GST_UFO_DEVICE_AUTO
#define DEFAULT_GPU_ID 0
#define DEFAULT_THREADS 0
#define DEFAULT_PRECISION GST_UFO_PRECISION_AUTO
#define DEFAULT_THRESHOLD -1.0
#define DEFAULT_CLASS_THRESHOLDS ""
#define DEFAULT_CLASSES ""
#define DEFAULT_MAX_DETECTIONS 100
#define DEFAULT_NMS_IOU -1.0
#define DEFAULT_BEAM_SIZE 0
#define DEFAULT_TEMPERATURE 0.0
#define DEFAULT_LENGTH_PENALTY 0.0
#define DEFAULT_INFERENCE_INTERVAL 1
#define DEFAULT_REUSE_RESULTS TRUE
#define DEFAULT_LATE_FRAMES GST_UFO_LATE_FRAMES_PROCESS
#define DEFAULT_UNIQUE_ID 1
#define DEFAULT_ATTACH_ROI_META TRUE
#define DEFAULT_MODEL_INSTANCE_ID NULL
#define DEFAULT_BATCH_SIZE 1
#define DEFAULT_BATCH_TIMEOUT 10
#define DEFAULT_NIREQ 1

typedef struct {
  /* properties, under the object lock */
  gchar *model_path;
  GstUfoDevice device;
  gint gpu_id;
  guint threads;
  GstUfoPrecision precision;
  gchar *model_instance_id;
  guint batch_size, batch_timeout, nireq;
  UfoTask task;
  gchar *prompt;
  gdouble threshold;
  gchar *class_thresholds;
  gchar *classes;
  gboolean filter_dirty;
  guint max_detections;
  gdouble nms_iou;
  guint beam_size;
  gdouble temperature, length_penalty;
  guint inference_interval;
  gboolean reuse_results;
  GstUfoLateFrames late_frames;
  guint unique_id;
  gboolean attach_roi_meta;
  gdouble mask_threshold;
  UfoInstanceBoxes instance_boxes;
  GstClockTime earliest_time; /* from QoS events, for late-frames=skip-inference */
  /* late-frames=skip-inference against the clock (is_late): the latency the sinks apply (a
   * LATENCY event passing the src pad; NONE: none seen) */
  GstClockTime pipeline_latency;

  /* streaming state: start/set_caps/transform_ip/stop only */
  UfoModel *model;
  gchar *model_name;
  UfoSession *session;
  GstUfoInstance *instance; /* instead of session: model-instance-id or batch-size > 1 */
  gboolean instance_active; /* streaming: the instance's batches wait for this element */
  gboolean session_failed;  /* error already posted: do not retry on every caps query */
  gchar *checked_prompt;    /* last grounding prompt that ufo_model_check_prompt accepted */
  GstVideoInfo info;
  GstUfoFilter filter;
  guint64 frame_count;
  GstUfoResults *last_results;
  GstClockTime last_pts;
  /* nireq > 1 (frames in flight, docs/elements.md "Frames in flight"): the frames between
   * their submission and their output, oldest first (Frame); jobs of them are queued or
   * running on the instance, at most depth */
  guint depth;
  GQueue in_flight;
  guint jobs;
  GstClockTime held_latency; /* (depth - 1) frame durations, under the object lock */
  /* upstream_gen (atomic) is bumped when upstream's liveness and latency must be asked again
   * (start, caps, flush, LATENCY event); the streaming thread asks when it differs from
   * upstream_asked (upstream_live_ask) */
  gint upstream_gen, upstream_asked;
  gboolean upstream_is_live;
  GstClockTime upstream_latency;
  /* streaming thread: the lag (clock running time - frame running time) of the last frame
   * judged by the clock, and whether it was passed on without inference (is_late); prev_lag
   * NONE: no such frame since the last caps, flush or LATENCY event */
  GstClockTimeDiff prev_lag;
  gboolean prev_passed;
  /* streaming thread: frames inferred and frames passed on late without inference since start
   * (the QoS messages' statistics) */
  guint64 qos_inferred, qos_skipped;
  /* the time an inferred frame spends in the element, a running average (ns; 0: not measured
   * yet; written by the streaming thread under the object lock) and the frames measured */
  GstClockTime processing_time;
  guint64 processing_measured;
#ifdef GST_UFO_HAVE_CUDA_MEMORY
  /* READY..NULL: the pipeline's CUDA context (ufocuda.h), under the object lock; copy_warned:
   * frames in CUDA memory the engine cannot read in place were reported once */
  GstCudaContext *cuda_ctx;
  gboolean copy_warned;
#endif
} GstUfoInferPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE(GstUfoInfer, gst_ufo_infer, GST_TYPE_BASE_TRANSFORM)

#define PRIV(self) ((GstUfoInferPrivate *)gst_ufo_infer_get_instance_private(GST_UFO_INFER(self)))

static GstFlowReturn frames_in_flight_drain(GstUfoInfer *self);
static void frames_in_flight_discard(GstUfoInfer *self);

/* Values the streaming thread reads once per frame. */
typedef struct {
  UfoTask task;
  gchar *prompt;
  guint max_detections;
  gdouble nms_iou;
  guint beam_size;
  gdouble temperature, length_penalty;
  guint inference_interval;
  gboolean reuse_results;
  GstUfoLateFrames late_frames;
  guint unique_id;
  gboolean attach_roi_meta;
  gdouble mask_threshold;
  UfoInstanceBoxes instance_boxes;
  gdouble threshold;
  gboolean filter_dirty;
  gchar *class_thresholds, *classes;
  GstClockTime earliest_time;
} Snapshot;

static void snapshot_take(GstUfoInfer *self, Snapshot *s)
{
  GstUfoInferPrivate *p = PRIV(self);
  GST_OBJECT_LOCK(self);
  s->task = p->task;
  s->prompt = g_strdup(p->prompt);
  s->max_detections = p->max_detections;
  s->nms_iou = p->nms_iou;
  s->beam_size = p->beam_size;
  s->temperature = p->temperature;
  s->length_penalty = p->length_penalty;
  s->inference_interval = p->inference_interval;
  s->reuse_results = p->reuse_results;
  s->late_frames = p->late_frames;
  s->unique_id = p->unique_id;
  s->attach_roi_meta = p->attach_roi_meta;
  s->mask_threshold = p->mask_threshold;
  s->instance_boxes = p->instance_boxes;
  s->threshold = p->threshold;
  s->filter_dirty = p->filter_dirty;
  s->class_thresholds = s->filter_dirty ? g_strdup(p->class_thresholds) : NULL;
  s->classes = s->filter_dirty ? g_strdup(p->classes) : NULL;
  p->filter_dirty = FALSE;
  s->earliest_time = p->earliest_time;
  GST_OBJECT_UNLOCK(self);
}

static void snapshot_clear(Snapshot *s)
{
  g_free(s->prompt);
  g_free(s->class_thresholds);
  g_free(s->classes);
}

/* ---- properties ---- */

static void gst_ufo_infer_set_property(GObject *object, guint prop_id, const GValue *value,
                                       GParamSpec *pspec)
{
  GstUfoInferPrivate *p = PRIV(object);
  gboolean qos_changed = FALSE;
  GST_OBJECT_LOCK(object);
  switch (prop_id) {
  case PROP_MODEL:
    g_free(p->model_path);
    p->model_path = g_value_dup_string(value);
    break;
  case PROP_DEVICE:
    p->device = g_value_get_enum(value);
    break;
  case PROP_GPU_ID:
    p->gpu_id = g_value_get_int(value);
    break;
  case PROP_THREADS:
    p->threads = g_value_get_uint(value);
    break;
  case PROP_PRECISION:
    p->precision = g_value_get_enum(value);
    break;
  case PROP_MODEL_INSTANCE_ID:
    g_free(p->model_instance_id);
    p->model_instance_id = g_value_dup_string(value);
    break;
  case PROP_BATCH_SIZE:
    p->batch_size = g_value_get_uint(value);
    break;
  case PROP_NIREQ:
    p->nireq = g_value_get_uint(value);
    break;
  case PROP_BATCH_TIMEOUT:
    p->batch_timeout = g_value_get_uint(value);
    break;
  case PROP_THRESHOLD:
    p->threshold = g_value_get_double(value);
    break;
  case PROP_CLASS_THRESHOLDS:
    g_free(p->class_thresholds);
    p->class_thresholds = g_value_dup_string(value);
    p->filter_dirty = TRUE;
    break;
  case PROP_CLASSES:
    g_free(p->classes);
    p->classes = g_value_dup_string(value);
    p->filter_dirty = TRUE;
    break;
  case PROP_MAX_DETECTIONS:
    p->max_detections = g_value_get_uint(value);
    break;
  case PROP_NMS_IOU:
    p->nms_iou = g_value_get_double(value);
    break;
  case PROP_BEAM_SIZE:
    p->beam_size = g_value_get_uint(value);
    break;
  case PROP_TEMPERATURE:
    p->temperature = g_value_get_double(value);
    break;
  case PROP_LENGTH_PENALTY:
    p->length_penalty = g_value_get_double(value);
    break;
  case PROP_INFERENCE_INTERVAL:
    p->inference_interval = g_value_get_uint(value);
    break;
  case PROP_REUSE_RESULTS:
    p->reuse_results = g_value_get_boolean(value);
    break;
  case PROP_LATE_FRAMES:
    p->late_frames = g_value_get_enum(value);
    qos_changed = TRUE;
    break;
  case PROP_UNIQUE_ID:
    p->unique_id = g_value_get_uint(value);
    break;
  case PROP_ATTACH_ROI_META:
    p->attach_roi_meta = g_value_get_boolean(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GstUfoLateFrames late = p->late_frames;
  GST_OBJECT_UNLOCK(object);
  /* late-frames=drop is the base class's QoS: late buffers are dropped before transform_ip */
  if (qos_changed)
    gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(object),
                                       late == GST_UFO_LATE_FRAMES_DROP);
}

/* the instance-stats property: the shared instance's counters, NULL without one */
static GstStructure *instance_stats(GstUfoInstance *inst)
{
  if (!inst)
    return NULL;
  GstUfoInstanceStats st;
  gst_ufo_instance_get_stats(inst, &st);
  return gst_structure_new("ufo-instance-stats", "backend", G_TYPE_STRING,
                           gst_ufo_instance_backend_name(inst), "elements", G_TYPE_UINT, st.users,
                           "streaming", G_TYPE_UINT, st.active, "frames", G_TYPE_UINT64, st.frames,
                           "batches", G_TYPE_UINT64, st.batches, "timeouts", G_TYPE_UINT64,
                           st.timeouts, "largest-batch", G_TYPE_UINT, st.largest, "state-bytes",
                           G_TYPE_UINT64, (guint64)st.state_bytes, "nireq", G_TYPE_UINT, st.nireq,
                           "most-in-flight", G_TYPE_UINT, st.most_in_flight, NULL);
}

static void gst_ufo_infer_get_property(GObject *object, guint prop_id, GValue *value,
                                       GParamSpec *pspec)
{
  GstUfoInferPrivate *p = PRIV(object);
  GST_OBJECT_LOCK(object);
  switch (prop_id) {
  case PROP_MODEL:
    g_value_set_string(value, p->model_path);
    break;
  case PROP_DEVICE:
    g_value_set_enum(value, p->device);
    break;
  case PROP_GPU_ID:
    g_value_set_int(value, p->gpu_id);
    break;
  case PROP_THREADS:
    g_value_set_uint(value, p->threads);
    break;
  case PROP_MODEL_INSTANCE_ID:
    g_value_set_string(value, p->model_instance_id);
    break;
  case PROP_BATCH_SIZE:
    g_value_set_uint(value, p->batch_size);
    break;
  case PROP_NIREQ:
    g_value_set_uint(value, p->nireq);
    break;
  case PROP_BATCH_TIMEOUT:
    g_value_set_uint(value, p->batch_timeout);
    break;
  case PROP_INSTANCE_STATS:
    g_value_take_boxed(value, instance_stats(p->instance));
    break;
  case PROP_PROCESSING_TIME:
    g_value_set_uint64(value, p->processing_time);
    break;
  case PROP_PRECISION:
    g_value_set_enum(value, p->precision);
    break;
  case PROP_THRESHOLD:
    g_value_set_double(value, p->threshold);
    break;
  case PROP_CLASS_THRESHOLDS:
    g_value_set_string(value, p->class_thresholds);
    break;
  case PROP_CLASSES:
    g_value_set_string(value, p->classes);
    break;
  case PROP_MAX_DETECTIONS:
    g_value_set_uint(value, p->max_detections);
    break;
  case PROP_NMS_IOU:
    g_value_set_double(value, p->nms_iou);
    break;
  case PROP_BEAM_SIZE:
    g_value_set_uint(value, p->beam_size);
    break;
  case PROP_TEMPERATURE:
    g_value_set_double(value, p->temperature);
    break;
  case PROP_LENGTH_PENALTY:
    g_value_set_double(value, p->length_penalty);
    break;
  case PROP_INFERENCE_INTERVAL:
    g_value_set_uint(value, p->inference_interval);
    break;
  case PROP_REUSE_RESULTS:
    g_value_set_boolean(value, p->reuse_results);
    break;
  case PROP_LATE_FRAMES:
    g_value_set_enum(value, p->late_frames);
    break;
  case PROP_UNIQUE_ID:
    g_value_set_uint(value, p->unique_id);
    break;
  case PROP_ATTACH_ROI_META:
    g_value_set_boolean(value, p->attach_roi_meta);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(object);
}

void gst_ufo_infer_set_task(GstUfoInfer *self, UfoTask task)
{
  GST_OBJECT_LOCK(self);
  PRIV(self)->task = task;
  GST_OBJECT_UNLOCK(self);
}

UfoTask gst_ufo_infer_get_task(GstUfoInfer *self)
{
  GST_OBJECT_LOCK(self);
  UfoTask t = PRIV(self)->task;
  GST_OBJECT_UNLOCK(self);
  return t;
}

void gst_ufo_infer_set_prompt(GstUfoInfer *self, const gchar *prompt)
{
  GST_OBJECT_LOCK(self);
  g_free(PRIV(self)->prompt);
  PRIV(self)->prompt = g_strdup(prompt);
  GST_OBJECT_UNLOCK(self);
}

gchar *gst_ufo_infer_dup_prompt(GstUfoInfer *self)
{
  GST_OBJECT_LOCK(self);
  gchar *p = g_strdup(PRIV(self)->prompt);
  GST_OBJECT_UNLOCK(self);
  return p;
}

void gst_ufo_infer_set_mask_threshold(GstUfoInfer *self, gdouble threshold)
{
  GST_OBJECT_LOCK(self);
  PRIV(self)->mask_threshold = threshold;
  GST_OBJECT_UNLOCK(self);
}

gdouble gst_ufo_infer_get_mask_threshold(GstUfoInfer *self)
{
  GST_OBJECT_LOCK(self);
  gdouble t = PRIV(self)->mask_threshold;
  GST_OBJECT_UNLOCK(self);
  return t;
}

void gst_ufo_infer_set_instance_boxes(GstUfoInfer *self, UfoInstanceBoxes boxes)
{
  GST_OBJECT_LOCK(self);
  PRIV(self)->instance_boxes = boxes;
  GST_OBJECT_UNLOCK(self);
}

UfoInstanceBoxes gst_ufo_infer_get_instance_boxes(GstUfoInfer *self)
{
  GST_OBJECT_LOCK(self);
  UfoInstanceBoxes b = PRIV(self)->instance_boxes;
  GST_OBJECT_UNLOCK(self);
  return b;
}

/* ---- lifecycle ---- */

/* Parses the class lists and checks their names and ids against the task's label set (the model
 * is loaded: start, transform_ip). Posts the error. */
static gboolean parse_filter(GstUfoInfer *self, UfoTask task, const gchar *class_thresholds,
                             const gchar *classes)
{
  GstUfoInferPrivate *p = PRIV(self);
  g_autoptr(GError) err = NULL;
  g_autofree gchar *all_names = NULL;
  if (!gst_ufo_filter_set_class_thresholds(&p->filter, class_thresholds, &err) ||
      !gst_ufo_filter_set_classes(&p->filter, classes, &err)) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Invalid class list: %s.", err->message),
                      ("class-thresholds='%s' classes='%s'",
                       class_thresholds ? class_thresholds : "", classes ? classes : ""));
    return FALSE;
  }
  int n_labels = 0;
  const char *const *labels = ufo_model_get_labels(p->model, task, &n_labels);
  if (labels && n_labels > 0 &&
      !gst_ufo_filter_check_labels(&p->filter, labels, n_labels, &all_names, &err)) {
    GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                      ("Invalid class list for model \"%s\", task '%s': %s.", p->model_name,
                       ufo_task_name(task), err->message),
                      ("class-thresholds='%s' classes='%s'; all %d classes of the task: %s",
                       class_thresholds ? class_thresholds : "", classes ? classes : "", n_labels,
                       all_names));
    return FALSE;
  }
  return TRUE;
}

/* Idempotent: frees whatever start/set_caps made; doubles as their failure cleanup. */
static gboolean gst_ufo_infer_stop(GstBaseTransform *trans)
{
  GstUfoInferPrivate *p = PRIV(trans);
  frames_in_flight_discard(GST_UFO_INFER(trans));
  p->depth = 0;
  GST_OBJECT_LOCK(trans);
  p->held_latency = 0;
  GST_OBJECT_UNLOCK(trans);
  g_clear_pointer(&p->session, ufo_session_free);
  GST_OBJECT_LOCK(trans); /* instance-stats reads it under the lock */
  GstUfoInstance *inst = p->instance;
  p->instance = NULL;
  GST_OBJECT_UNLOCK(trans);
  if (inst) {
    gst_ufo_instance_set_active(inst, &p->instance_active, FALSE);
    gst_ufo_instance_release(inst);
  }
  p->session_failed = FALSE;
  if (p->model) {
    gst_ufo_model_cache_release(p->model);
    p->model = NULL;
  }
  g_clear_pointer(&p->model_name, g_free);
  g_clear_pointer(&p->checked_prompt, g_free);
  g_clear_pointer(&p->last_results, gst_ufo_results_unref);
  gst_ufo_filter_clear(&p->filter);
  gst_ufo_filter_init(&p->filter);
  gst_video_info_init(&p->info);
  p->frame_count = 0;
  p->last_pts = GST_CLOCK_TIME_NONE;
#ifdef GST_UFO_HAVE_CUDA_MEMORY
  p->copy_warned = FALSE;
#endif
  return TRUE;
}

static gchar *model_display_name(const gchar *path)
{
  if (g_str_has_prefix(path, "random:"))
    return g_strdup(path);
  gchar *base = g_path_get_basename(path);
  gchar *dot = strrchr(base, '.');
  if (dot && dot != base)
    *dot = '\0';
  return base;
}

/* A grounding prompt must fit the model's text context: checked when the element starts and
 * whenever the prompt changes, before any frame runs with it. Posts the error. */
static gboolean check_prompt(GstUfoInfer *self, const gchar *prompt)
{
  GstUfoInferPrivate *p = PRIV(self);
  g_autoptr(GError) err = NULL;
  gint n_tokens = 0, max_tokens = 0;
  if (g_strcmp0(prompt, p->checked_prompt) == 0)
    return TRUE;
  if (!ufo_model_check_prompt(p->model, UFO_TASK_GROUNDING, prompt, &n_tokens, &max_tokens, &err)) {
    if (n_tokens > max_tokens)
      GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                        ("The prompt is too long: it has %d tokens and model \"%s\" takes at "
                         "most %d. Shorten the 'prompt' property.",
                         n_tokens, p->model_name, max_tokens),
                        ("%s", err->message));
    else
      GST_ELEMENT_ERROR(
          self, LIBRARY, SETTINGS,
          ("The 'prompt' property is not a usable referring expression: %s.", err->message),
          ("%s", err->message));
    return FALSE;
  }
  g_free(p->checked_prompt);
  p->checked_prompt = g_strdup(prompt);
  return TRUE;
}

static gboolean gst_ufo_infer_start(GstBaseTransform *trans)
{
  GstUfoInfer *self = GST_UFO_INFER(trans);
  GstUfoInferPrivate *p = PRIV(self);
  g_autoptr(GError) err = NULL;

  GST_OBJECT_LOCK(self);
  g_autofree gchar *path = g_strdup(p->model_path);
  UfoTask task = p->task;
  g_autofree gchar *prompt = g_strdup(p->prompt);
  g_autofree gchar *class_thresholds = g_strdup(p->class_thresholds);
  g_autofree gchar *classes = g_strdup(p->classes);
  GstUfoLateFrames late = p->late_frames;
  p->filter_dirty = FALSE;
  p->earliest_time = GST_CLOCK_TIME_NONE;
  p->pipeline_latency = GST_CLOCK_TIME_NONE;
  p->processing_time = 0;
  GST_OBJECT_UNLOCK(self);
  g_atomic_int_inc(&p->upstream_gen);
  p->qos_inferred = p->qos_skipped = 0;
  p->processing_measured = 0;

  gst_ufo_infer_stop(trans);
  gst_base_transform_set_qos_enabled(trans, late == GST_UFO_LATE_FRAMES_DROP);
  if (!path || !path[0])
    goto no_model;
  p->model = gst_ufo_model_cache_acquire(path, &err);
  if (!p->model) {
    if (g_error_matches(err, UFO_ERROR, UFO_ERROR_IO))
      goto unreadable_model;
    goto invalid_model;
  }
  p->model_name = model_display_name(path);
  if (!ufo_model_supports_task(p->model, task))
    goto task_unsupported;
  if (task == UFO_TASK_GROUNDING && (!prompt || !g_strstrip(prompt)[0]))
    goto no_prompt;
  if (task == UFO_TASK_GROUNDING && !check_prompt(self, prompt))
    goto fail;
  if (!parse_filter(self, task, class_thresholds, classes))
    goto fail;
  GST_CAT_INFO_OBJECT(CAT(self), self, "loaded model '%s' for task %s", path, ufo_task_name(task));
  return TRUE;

  /* ERRORS */
no_model:
  GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                    ("No model file given: set the 'model' property to a .safetensors bundle."),
                    (NULL));
  goto fail;
unreadable_model:
  if (!g_str_has_prefix(path, "random:") && !g_file_test(path, G_FILE_TEST_EXISTS))
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("Model file \"%s\" does not exist.", path),
                      ("%s", err->message));
  else
    GST_ELEMENT_ERROR(self, RESOURCE, OPEN_READ, ("Could not read model file \"%s\".", path),
                      ("%s", err->message));
  goto fail;
invalid_model:
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                    ("Model file \"%s\" is not a usable UFO-ViT model: %s", path, err->message),
                    ("%s", err->message));
  goto fail;
task_unsupported:
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                    ("Model \"%s\" cannot do task '%s' (it has no head or label set for it).", path,
                     ufo_task_name(task)),
                    (NULL));
  goto fail;
no_prompt:
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                    ("Task 'grounding' needs a text prompt: set the 'prompt' property."), (NULL));
  goto fail;
fail:
  gst_ufo_infer_stop(trans);
  return FALSE;
}

/* model-instance-id / batch-size > 1 / nireq > 1: the element joins a shared instance
 * (ufoinstance.h); without an id it gets an instance of its own */
static gboolean join_instance(GstUfoInfer *self, const UfoSessionOptions *o, const gchar *id,
                              guint batch_size, guint batch_timeout, GError **err)
{
  GstUfoInferPrivate *p = PRIV(self);
  g_autofree gchar *own = id ? NULL : g_strdup_printf("\x01%s-%p", GST_OBJECT_NAME(self), self);
  GST_OBJECT_LOCK(self);
  /* an instance of its own serves one stream: nireq of its frames in flight */
  GstUfoInstanceConfig c = {p->model_path, p->model, *o, batch_size, batch_timeout, p->nireq};
  g_autofree gchar *path = g_strdup(p->model_path);
  c.model_path = path;
  GST_OBJECT_UNLOCK(self);
  GstUfoInstance *inst = gst_ufo_instance_acquire(id ? id : own, &c, err);
  if (!inst)
    return FALSE;
  GST_OBJECT_LOCK(self);
  p->instance = inst;
  GST_OBJECT_UNLOCK(self);
  p->depth = c.nireq;
  GST_CAT_INFO_OBJECT(CAT(self), self,
                      "model-instance-id '%s' (batch-size %u, batch-timeout %u ms, nireq %u): %s",
                      id ? id : "(own)", batch_size, batch_timeout, c.nireq,
                      gst_ufo_instance_backend_name(p->instance));
  return TRUE;
}

static gboolean open_engine(GstUfoInfer *self)
{
  GstUfoInferPrivate *p = PRIV(self);
  g_autoptr(GError) err = NULL;
  GST_OBJECT_LOCK(self);
  UfoSessionOptions o = {(UfoDevice)p->device, p->gpu_id, (int)p->threads,
                         (UfoPrecision)p->precision};
  g_autofree gchar *instance_id =
      p->model_instance_id && p->model_instance_id[0] ? g_strdup(p->model_instance_id) : NULL;
  const guint batch_size = p->batch_size, batch_timeout = p->batch_timeout, nireq = p->nireq;
  GST_OBJECT_UNLOCK(self);
  const GstUfoDevice asked = (GstUfoDevice)o.device;
  if (instance_id || batch_size > 1 || nireq > 1) {
    if (join_instance(self, &o, instance_id, batch_size, batch_timeout, &err))
      return TRUE;
    if (g_error_matches(err, UFO_ERROR, UFO_ERROR_INVALID))
      goto bad_instance;
    /* auto never fails: it resolves to what the backend has */
    if (o.precision == UFO_PRECISION_BF16 && g_error_matches(err, UFO_ERROR, UFO_ERROR_UNSUPPORTED))
      goto no_precision;
    if (o.device == UFO_DEVICE_CUDA)
      goto no_gpu;
    goto no_session;
  }

  if (asked == GST_UFO_DEVICE_AUTO) {
    /* auto: try the GPU first and say which one we got */
    o.device = UFO_DEVICE_CUDA;
    p->session = ufo_session_new(p->model, &o, &err);
    if (p->session) {
      GST_CAT_INFO_OBJECT(CAT(self), self, "device=auto: using CUDA GPU %d, precision %s", o.gpu_id,
                          ufo_precision_name(ufo_session_get_precision(p->session)));
      return TRUE;
    }
    GST_CAT_INFO_OBJECT(CAT(self), self, "device=auto: no usable CUDA GPU (%s); using the CPU",
                        err->message);
    g_clear_error(&err);
    o.device = UFO_DEVICE_CPU;
  }
  p->session = ufo_session_new(p->model, &o, &err);
  if (!p->session) {
    /* auto never fails: it resolves to what the backend has */
    if (o.precision == UFO_PRECISION_BF16 && g_error_matches(err, UFO_ERROR, UFO_ERROR_UNSUPPORTED))
      goto no_precision;
    if (o.device == UFO_DEVICE_CUDA)
      goto no_gpu;
    goto no_session;
  }
  GST_CAT_INFO_OBJECT(CAT(self), self, "device=%s: using %s, precision %s%s",
                      asked == GST_UFO_DEVICE_AUTO ? "auto"
                                                   : (asked == GST_UFO_DEVICE_CPU ? "cpu" : "cuda"),
                      o.device == UFO_DEVICE_CUDA ? "CUDA" : "the CPU",
                      ufo_precision_name(ufo_session_get_precision(p->session)),
                      o.precision == UFO_PRECISION_AUTO ? " (precision=auto)" : "");
  return TRUE;

  /* ERRORS */
bad_instance:
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS, ("Cannot share the model instance: %s.", err->message),
                    ("%s", err->message));
  return FALSE;
no_gpu:
  GST_ELEMENT_ERROR(self, LIBRARY, INIT,
                    ("device=cuda was requested but CUDA GPU %d is not usable.", o.gpu_id),
                    ("%s", err->message));
  return FALSE;
no_precision:
  GST_ELEMENT_ERROR(self, LIBRARY, SETTINGS,
                    ("precision=%s is not available on this machine: set precision=fp32.",
                     ufo_precision_name(o.precision)),
                    ("%s", err->message));
  return FALSE;
no_session:
  GST_ELEMENT_ERROR(self, LIBRARY, INIT, ("Could not start the inference engine on the CPU."),
                    ("%s", err->message));
  return FALSE;
}

/* The engine for the element (a session of its own, or its model instance's), then an element
 * message `ufo-device` on the bus saying where it runs: device ("cpu", "cuda"), requested
 * ("auto", "cpu", "cuda"), gpu-id (-1 on the CPU), precision (what runs: "fp32", "bf16"),
 * requested-precision, model-instance-id (NULL: the element's own session). */
static gboolean create_session(GstUfoInfer *self)
{
  GstUfoInferPrivate *p = PRIV(self);
  if (!open_engine(self))
    return FALSE;
  const char *backend = p->instance ? gst_ufo_instance_backend_name(p->instance)
                                    : ufo_session_get_backend_name(p->session);
  const UfoPrecision ran =
      p->instance ? gst_ufo_instance_precision(p->instance) : ufo_session_get_precision(p->session);
  GST_OBJECT_LOCK(self);
  const GstUfoDevice asked = p->device;
  const gint gpu = g_strcmp0(backend, "cuda") == 0 ? p->gpu_id : -1;
  const UfoPrecision asked_precision = (UfoPrecision)p->precision;
  g_autofree gchar *id = p->instance && p->model_instance_id && p->model_instance_id[0]
                             ? g_strdup(p->model_instance_id)
                             : NULL;
  GST_OBJECT_UNLOCK(self);
  GstStructure *st = gst_structure_new(
      "ufo-device", "device", G_TYPE_STRING, backend, "requested", G_TYPE_STRING,
      asked == GST_UFO_DEVICE_AUTO ? "auto" : (asked == GST_UFO_DEVICE_CPU ? "cpu" : "cuda"),
      "gpu-id", G_TYPE_INT, gpu, "precision", G_TYPE_STRING, ufo_precision_name(ran),
      "requested-precision", G_TYPE_STRING, ufo_precision_name(asked_precision),
      "model-instance-id", G_TYPE_STRING, id, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), st));
  return TRUE;
}

/* Sizes the new session for the configured task (ufo_session_prepare): frames then allocate
 * nothing on the device. */
static gboolean prepare_session(GstUfoInfer *self)
{
  GstUfoInferPrivate *p = PRIV(self);
  g_autoptr(GError) err = NULL;
  GST_OBJECT_LOCK(self);
  const UfoTask task = p->task;
  GST_OBJECT_UNLOCK(self);
  const gint64 t0 = g_get_monotonic_time();
  if (!(p->instance ? gst_ufo_instance_prepare(p->instance, task, &err)
                    : ufo_session_prepare(p->session, task, &err))) {
    GST_ELEMENT_ERROR(
        self, LIBRARY, INIT,
        ("Could not prepare the inference engine for task '%s'.", ufo_task_name(task)),
        ("%s", err->message));
    return FALSE;
  }
  GST_CAT_INFO_OBJECT(CAT(self), self, "prepared task '%s' in %.1f ms", ufo_task_name(task),
                      (g_get_monotonic_time() - t0) / 1000.0);
  return TRUE;
}

static gboolean gst_ufo_infer_set_caps(GstBaseTransform *trans, GstCaps *incaps, GstCaps *outcaps)
{
  GstUfoInfer *self = GST_UFO_INFER(trans);
  GstUfoInferPrivate *p = PRIV(self);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps))
    goto bad_caps;
  if (!gst_ufo_frame_format_supported(GST_VIDEO_INFO_FORMAT(&info)))
    goto bad_caps;
  if (!p->model)
    return FALSE; /* start failed and already posted the error */
  if (p->session_failed)
    return FALSE;
  if (!p->session && !p->instance && !(create_session(self) && prepare_session(self))) {
    p->session_failed = TRUE;
    return FALSE;
  }
  if (p->info.width != info.width || p->info.height != info.height)
    g_clear_pointer(&p->last_results, gst_ufo_results_unref); /* old coordinates */
  p->info = info;
  /* upstream's liveness and latency are asked again before the next late-frames decision */
  g_atomic_int_inc(&p->upstream_gen);
  GST_OBJECT_LOCK(self); /* the latency query comes from any thread */
  p->held_latency =
      p->depth > 1 && info.fps_n > 0
          ? gst_util_uint64_scale_int((guint64)(p->depth - 1) * GST_SECOND, info.fps_d, info.fps_n)
          : 0;
  GST_OBJECT_UNLOCK(self);
  GST_CAT_DEBUG_OBJECT(CAT(self), self, "caps %" GST_PTR_FORMAT, incaps);
  return TRUE;

  /* ERRORS */
bad_caps:
  GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Unsupported video caps."),
                    ("caps %" GST_PTR_FORMAT " are not one of RGB, BGR, RGBA, BGRA, RGBx, BGRx, "
                     "I420, NV12 in system memory (or RGBA, BGRA, RGBx, BGRx, I420, NV12 in "
                     "CUDA memory where the plugin is built with GStreamer's CUDA library)",
                     incaps));
  return FALSE;
}

/* EOS and flushes: no frame will come from this element for a while, so the batches of a
 * shared instance stop waiting for it (ufoinstance.h). With frames in flight, a serialized
 * event goes downstream after them (drained first); a flush drops them. */
static gboolean gst_ufo_infer_sink_event(GstBaseTransform *trans, GstEvent *event)
{
  GstUfoInfer *self = GST_UFO_INFER(trans);
  GstUfoInferPrivate *p = PRIV(trans);
  if (GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_STOP) {
    frames_in_flight_discard(self);
    g_atomic_int_inc(&p->upstream_gen);
  } else if (GST_EVENT_IS_SERIALIZED(event)) {
    frames_in_flight_drain(self);
  }
  if ((GST_EVENT_TYPE(event) == GST_EVENT_EOS || GST_EVENT_TYPE(event) == GST_EVENT_FLUSH_START) &&
      p->instance)
    gst_ufo_instance_set_active(p->instance, &p->instance_active, FALSE);
  return GST_BASE_TRANSFORM_CLASS(gst_ufo_infer_parent_class)->sink_event(trans, event);
}

static gboolean gst_ufo_infer_src_event(GstBaseTransform *trans, GstEvent *event)
{
  if (GST_EVENT_TYPE(event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;
    gst_event_parse_qos(event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK(trans);
    /* like GstBaseTransform: a frame is late when it would arrive after timestamp + 2*jitter */
    if (GST_CLOCK_TIME_IS_VALID(timestamp))
      PRIV(trans)->earliest_time = diff > 0 ? timestamp + 2 * diff : timestamp + diff;
    GST_OBJECT_UNLOCK(trans);
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_LATENCY) {
    GstClockTime latency;
    gst_event_parse_latency(event, &latency);
    GST_OBJECT_LOCK(trans);
    PRIV(trans)->pipeline_latency = latency;
    GST_OBJECT_UNLOCK(trans);
    g_atomic_int_inc(&PRIV(trans)->upstream_gen); /* the pipeline's latency changed */
  }
  return GST_BASE_TRANSFORM_CLASS(gst_ufo_infer_parent_class)->src_event(trans, event);
}

/* Control bindings (GST_PARAM_CONTROLLABLE properties) take their values at the buffer's stream
 * time, before the frame's property snapshot. */
static void gst_ufo_infer_before_transform(GstBaseTransform *trans, GstBuffer *buf)
{
  GstClockTime ts =
      gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  if (GST_CLOCK_TIME_IS_VALID(ts))
    gst_object_sync_values(GST_OBJECT(trans), ts);
}

/* Whether upstream is live, and its minimum latency: asked once per caps, flush or LATENCY
 * event (streaming thread). */
static gboolean upstream_live_ask(GstBaseTransform *trans)
{
  GstUfoInferPrivate *p = PRIV(trans);
  const gint gen = g_atomic_int_get(&p->upstream_gen);
  if (gen != p->upstream_asked) { /* a bump during the query asks again next time */
    p->upstream_asked = gen;
    p->prev_lag = GST_CLOCK_STIME_NONE; /* lags measured anew */
    GstQuery *q = gst_query_new_latency();
    gboolean live = FALSE;
    GstClockTime min = 0;
    if (gst_pad_peer_query(GST_BASE_TRANSFORM_SINK_PAD(trans), q))
      gst_query_parse_latency(q, &live, &min, NULL);
    gst_query_unref(q);
    p->upstream_latency = GST_CLOCK_TIME_IS_VALID(min) ? min : 0;
    p->upstream_is_live = live;
  }
  return p->upstream_is_live;
}

/* late-frames=skip-inference (docs/elements.md "Late frames"): the frame is late when
 *  - downstream's QoS says a frame of this running time arrives after its render time (earliest:
 *    the last QoS event's timestamp + 2 × jitter, as GstBaseTransform judges), or
 *  - upstream is live and the pipeline clock is further past the frame's running time than it
 *    can afford: the pipeline latency (the sinks' LATENCY event) less the processing time, never
 *    less than upstream's minimum latency + the frames this element holds + a frame; except
 *    when the previous frame was passed on and this one is not half a frame less behind
 *    (passing frames on does not catch up: something downstream holds them).
 * The clock rule keeps live streams from falling behind where sinks send no QoS (sync=false,
 * qos=false: fakesink, appsink, network sinks). *jitter: how late a late frame is. */
static gboolean is_late(GstBaseTransform *trans, GstBuffer *buf, GstClockTime earliest,
                        GstClockTimeDiff *jitter)
{
  GstUfoInferPrivate *p = PRIV(trans);
  if (!GST_BUFFER_PTS_IS_VALID(buf))
    return FALSE;
  GstClockTime rt =
      gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, GST_BUFFER_PTS(buf));
  if (!GST_CLOCK_TIME_IS_VALID(rt))
    return FALSE;
  GstClockTime dur = GST_BUFFER_DURATION_IS_VALID(buf) ? GST_BUFFER_DURATION(buf) : 0;
  const gboolean qos_late = GST_CLOCK_TIME_IS_VALID(earliest) && rt + dur <= earliest;
  if (qos_late)
    *jitter = GST_CLOCK_DIFF(rt, earliest);
  if (!upstream_live_ask(trans))
    return qos_late;
  GstClock *clock = gst_element_get_clock(GST_ELEMENT(trans));
  if (!clock)
    return qos_late;
  const GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  const GstClockTime base = gst_element_get_base_time(GST_ELEMENT(trans));
  if (!GST_CLOCK_TIME_IS_VALID(now) || !GST_CLOCK_TIME_IS_VALID(base) || now < base)
    return qos_late;
  if (dur == 0 && p->info.fps_n > 0) /* no duration on the buffer: the caps' frame rate */
    dur = gst_util_uint64_scale_int(GST_SECOND, p->info.fps_d, p->info.fps_n);
  const GstClockTimeDiff lag = GST_CLOCK_DIFF(rt, now - base);
  GST_OBJECT_LOCK(trans);
  /* how far behind a frame may start: enough to be inferred by its deadline (pipeline latency
   * minus processing time), never less than upstream's latency + the held frames + a frame */
  GstClockTimeDiff start_by = (GstClockTimeDiff)(p->upstream_latency + p->held_latency + dur);
  if (GST_CLOCK_TIME_IS_VALID(p->pipeline_latency) && p->pipeline_latency > p->processing_time)
    start_by = MAX(start_by, (GstClockTimeDiff)(p->pipeline_latency - p->processing_time));
  GST_OBJECT_UNLOCK(trans);
  /* the previous frame went on without inference and this one is not half a frame less behind:
   * passing frames on does not catch up (something downstream holds them, e.g. a sink that
   * syncs in a queue-less pipeline), so inferring this one delays nothing more */
  const gboolean no_catch_up = GST_CLOCK_STIME_IS_VALID(p->prev_lag) && p->prev_passed &&
                               lag + (GstClockTimeDiff)dur / 2 > p->prev_lag;
  const gboolean late = qos_late || (lag > start_by && !no_catch_up);
  if (late && !qos_late)
    *jitter = lag - start_by;
  p->prev_lag = lag;
  p->prev_passed = late;
  return late;
}

/* A frame passed on late without inference: a QoS message, as GstBaseTransform posts for the
 * frames its QoS drops (running time, jitter: how late, statistics: frames inferred / skipped
 * since start). */
static void post_late_qos(GstUfoInfer *self, GstBuffer *buf, GstClockTimeDiff jitter)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  GstUfoInferPrivate *p = PRIV(self);
  const GstClockTime pts = GST_BUFFER_PTS(buf);
  GstMessage *m =
      gst_message_new_qos(GST_OBJECT(self), p->upstream_is_live,
                          gst_segment_to_running_time(&trans->segment, GST_FORMAT_TIME, pts),
                          gst_segment_to_stream_time(&trans->segment, GST_FORMAT_TIME, pts), pts,
                          GST_BUFFER_DURATION(buf));
  gst_message_set_qos_values(m, jitter, 1.0, 1000000);
  gst_message_set_qos_stats(m, GST_FORMAT_BUFFERS, p->qos_inferred, p->qos_skipped);
  gst_element_post_message(GST_ELEMENT(self), m);
}

#ifdef GST_UFO_HAVE_CUDA_MEMORY
/* The CUDA context the engine reads device frames in (NULL: a CPU session). */
static void *engine_cuda_context(GstUfoInferPrivate *p)
{
  return p->instance ? gst_ufo_instance_cuda_context(p->instance)
                     : ufo_session_get_cuda_context(p->session);
}

/* Frames in CUDA memory: *layout gets the memory's pitched planes; *on_device when the engine
 * reads them in place (same CUDA context), else they are mapped to system memory (GStreamer's
 * CUDA library downloads them), which is said once. */
static void cuda_frame_layout(GstUfoInfer *self, GstBuffer *buf, GstVideoInfo *layout,
                              gboolean *on_device)
{
  GstUfoInferPrivate *p = PRIV(self);
  void *engine_ctx = engine_cuda_context(p);
  if (!gst_ufo_cuda_buffer_layout(buf, &p->info, engine_ctx, layout, on_device) || *on_device ||
      p->copy_warned)
    return;
  p->copy_warned = TRUE;
  if (engine_ctx)
    GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                        ("Frames in CUDA memory of another CUDA context than the inference "
                         "engine's: they are copied through system memory. Let this element "
                         "provide the pipeline's CUDA context (do not set one from the "
                         "application) so that they are read in place."),
                        ("the engine uses the primary context of its GPU"));
  else
    GST_CAT_INFO_OBJECT(CAT(self), self,
                        "frames in CUDA memory, inference on the CPU: mapped to system memory");
}
#endif

/* A frame from its submission to its output. The synchronous path (nireq 1) goes through
 * frame_begin and frame_finish at once; with nireq > 1 up to nireq of them have a job queued or
 * running on the instance while the element takes the next frames (generate_output). */
typedef struct {
  GstBuffer *buf; /* writable; its metadata is added by frame_finish */
  Snapshot s;
  guint64 index;
  gboolean infer;
  gboolean mapped; /* frame: the planes the job reads */
  GstVideoFrame frame;
  UfoImage image;
  UfoRequest req;
  GstUfoInstanceJob *job; /* queued or running (nireq > 1) */
  gint64 begin_us;        /* monotonic time of its frame_begin (processing-time) */
} Frame;

/* Maps buf for the engine and wraps its planes (planar YUV goes to the engine as it is:
 * converted on its backend). FALSE after posting an error. */
static gboolean frame_map(GstUfoInfer *self, Frame *f)
{
  GstUfoInferPrivate *p = PRIV(self);
  g_autoptr(GError) err = NULL;
  GstVideoInfo layout = p->info;
  gboolean on_device = FALSE;
  GstMapFlags flags = GST_MAP_READ;
#ifdef GST_UFO_HAVE_CUDA_MEMORY
  cuda_frame_layout(self, f->buf, &layout, &on_device);
  if (on_device)
    flags |= GST_MAP_CUDA; /* device pointers */
#endif
  if (!gst_video_frame_map(&f->frame, &layout, f->buf, flags))
    goto map_failed;
  f->mapped = TRUE;
  if (!gst_ufo_frame_wrap(&f->frame, &f->image, &err))
    goto run_failed;
  if (on_device)
    f->image.memory = UFO_MEMORY_CUDA; /* device pointers of the engine's context: read in place */
  return TRUE;

  /* ERRORS */
map_failed:
  GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Could not map the video frame for reading."), (NULL));
  return FALSE;
run_failed:
  GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Inference failed on a frame."), ("%s", err->message));
  return FALSE;
}

static void frame_unmap(Frame *f)
{
  if (f->mapped)
    gst_video_frame_unmap(&f->frame);
  f->mapped = FALSE;
}

/* The engine request of the frame's snapshot. */
static void frame_request(GstUfoInfer *self, Frame *f)
{
  const Snapshot *s = &f->s;
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = s->task;
  req.prompt = s->task == UFO_TASK_GROUNDING ? s->prompt : NULL;
  req.beam_size = (int)s->beam_size;
  req.temperature = (float)s->temperature;
  req.length_penalty = (float)s->length_penalty;
  /* filters first, then the best max-detections (gst_ufo_results_from_engine) */
  req.max_detections = (int)gst_ufo_filter_engine_cap(&PRIV(self)->filter);
  req.nms_iou = (float)s->nms_iou;
  req.mask_threshold = (float)s->mask_threshold;
  req.instance_boxes = s->instance_boxes;
  /* masks as the metadata carries them, made where the masks are (a quarter of the bytes) */
  req.mask_format = UFO_MASK_GRAY8;
  f->req = req;
}

/* The engine's results of the frame as the element's (filtered); NULL after posting an error.
 * Waits for the frame's job when it has one, else runs it here. */
static GstUfoResults *frame_infer(GstUfoInfer *self, Frame *f)
{
  GstUfoInferPrivate *p = PRIV(self);
  g_autoptr(GError) err = NULL;
  UfoResult *result = NULL;
  gboolean ok;
  if (f->job) {
    ok = gst_ufo_instance_wait(p->instance, f->job, &result, &err);
    f->job = NULL;
    p->jobs--;
  } else {
    if (!frame_map(self, f))
      return NULL;
    frame_request(self, f);
    ok = p->instance ? gst_ufo_instance_run(p->instance, &p->instance_active, &f->image, &f->req,
                                            &result, &err)
                     : ufo_session_run(p->session, &f->image, &f->req, &result, &err);
  }
  frame_unmap(f); /* before metadata goes on the buffer: the mapping holds a reference */
  if (!ok)
    goto run_failed;
  GstUfoResults *res = gst_ufo_results_from_engine(
      result, GST_VIDEO_INFO_WIDTH(&p->info), GST_VIDEO_INFO_HEIGHT(&p->info), &p->filter,
      f->s.task == UFO_TASK_GROUNDING ? f->s.prompt : NULL);
  ufo_result_free(result);
  return res;

  /* ERRORS */
run_failed:
  GST_ELEMENT_ERROR(self, STREAM, FAILED, ("Inference failed on a frame."), ("%s", err->message));
  return NULL;
}

/* Decides what happens to the frame (its property snapshot, inference-interval, late frames,
 * the grounding prompt); with in_flight and inference, maps it and queues its job on the
 * instance. */
static GstFlowReturn frame_begin(GstUfoInfer *self, Frame *f, gboolean in_flight)
{
  GstBaseTransform *trans = GST_BASE_TRANSFORM(self);
  GstUfoInferPrivate *p = PRIV(self);
  Snapshot *s = &f->s;
  snapshot_take(self, s);
  p->filter.threshold = s->threshold;
  p->filter.max_detections = s->max_detections;
  if (s->filter_dirty && !parse_filter(self, s->task, s->class_thresholds, s->classes))
    return GST_FLOW_ERROR;

  f->index = p->frame_count++;
  f->begin_us = g_get_monotonic_time();
  gboolean infer = f->index % MAX(s->inference_interval, 1) == 0;
  if (infer && s->task == UFO_TASK_GROUNDING && (!s->prompt || !g_strstrip(s->prompt)[0])) {
    GST_ELEMENT_WARNING(self, LIBRARY, SETTINGS,
                        ("Task 'grounding' needs a text prompt: frame passed on without "
                         "inference."),
                        (NULL));
    infer = FALSE;
  }
  if (infer && s->task == UFO_TASK_GROUNDING && !check_prompt(self, s->prompt))
    return GST_FLOW_ERROR;
  GstClockTimeDiff jitter = 0;
  if (infer && s->late_frames == GST_UFO_LATE_FRAMES_SKIP_INFERENCE &&
      is_late(trans, f->buf, s->earliest_time, &jitter)) {
    GST_CAT_DEBUG_OBJECT(CAT(self), self,
                         "frame %" G_GUINT64_FORMAT " is %" G_GINT64_FORMAT
                         " ns late: no inference",
                         f->index, jitter);
    infer = FALSE;
    p->qos_skipped++;
    post_late_qos(self, f->buf, jitter);
  } else if (infer) {
    p->qos_inferred++;
  }
  f->infer = infer;
  if (infer && in_flight) {
    if (!frame_map(self, f))
      return GST_FLOW_ERROR;
    frame_request(self, f);
    f->job = gst_ufo_instance_submit(p->instance, &p->instance_active, &f->image, &f->req);
    p->jobs++;
  }
  return GST_FLOW_OK;
}

/* The processing-time average (docs/elements.md "Late frames"): the first inferred frame
 * (allocations, first-touch) is left out, the second starts it, later ones move it by 1/8 of
 * their difference. */
static void processing_time_add(GstUfoInfer *self, GstClockTime t)
{
  GstUfoInferPrivate *p = PRIV(self);
  if (p->processing_measured++ == 0)
    return;
  GST_OBJECT_LOCK(self);
  GstClockTimeDiff avg = (GstClockTimeDiff)p->processing_time;
  p->processing_time =
      p->processing_measured == 2 ? t : (GstClockTime)(avg + GST_CLOCK_DIFF(avg, t) / 8);
  GST_OBJECT_UNLOCK(self);
}

/* The frame's results (its inference's, the last ones carried over, or none) as metadata on
 * its buffer. */
static GstFlowReturn frame_finish(GstUfoInfer *self, Frame *f)
{
  GstUfoInferPrivate *p = PRIV(self);
  const Snapshot *s = &f->s;
  GstUfoResults *res = NULL;
  /* the frame's own filter settings (a frame in flight: later frames may have changed them) */
  p->filter.threshold = s->threshold;
  p->filter.max_detections = s->max_detections;
  const gchar *task_name = ufo_task_name(s->task);
  const gint w = GST_VIDEO_INFO_WIDTH(&p->info), h = GST_VIDEO_INFO_HEIGHT(&p->info);
  gboolean inferred = FALSE;
  GstClockTime result_pts = GST_CLOCK_TIME_NONE;
  if (f->infer) {
    res = frame_infer(self, f);
    if (!res)
      return GST_FLOW_ERROR;
    inferred = TRUE;
    processing_time_add(self, (g_get_monotonic_time() - f->begin_us) * GST_USECOND);
    result_pts = GST_BUFFER_PTS(f->buf);
    g_clear_pointer(&p->last_results, gst_ufo_results_unref);
    p->last_results = gst_ufo_results_ref(res);
    p->last_pts = result_pts;
  } else if (s->reuse_results && p->last_results) {
    /* carried-over results: the sealed block is shared unless fresh ROI ids are needed */
    res = s->attach_roi_meta ? gst_ufo_results_copy(p->last_results)
                             : gst_ufo_results_ref(p->last_results);
    result_pts = p->last_pts;
  } else {
    res = gst_ufo_results_new(w, h);
  }
  if (s->attach_roi_meta && !gst_ufo_results_is_sealed(res))
    gst_ufo_results_add_roi_metas(res, f->buf, s->unique_id, p->model_name);
  GstUfoMeta *meta =
      gst_buffer_add_ufo_meta(f->buf, res, s->unique_id, task_name, inferred, result_pts);
  GST_CAT_LOG_OBJECT(CAT(self), self, "frame %" G_GUINT64_FORMAT ": inferred=%d, %u objects",
                     f->index, inferred, meta ? gst_ufo_meta_get_n_objects(meta) : 0u);
  gst_ufo_results_unref(res);
  return GST_FLOW_OK;
}

/* Lets the frame go without output: its job (it reads the frame) is waited for first. */
static void frame_free(GstUfoInfer *self, Frame *f)
{
  if (f->job) {
    UfoResult *result = NULL;
    if (gst_ufo_instance_wait(PRIV(self)->instance, f->job, &result, NULL))
      ufo_result_free(result);
    PRIV(self)->jobs--;
  }
  frame_unmap(f);
  gst_clear_buffer(&f->buf);
  snapshot_clear(&f->s);
  g_free(f);
}

static GstFlowReturn gst_ufo_infer_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
  GstUfoInfer *self = GST_UFO_INFER(trans);
  Frame f = {.buf = buf};
  GstFlowReturn ret = frame_begin(self, &f, FALSE);
  if (ret == GST_FLOW_OK)
    ret = frame_finish(self, &f);
  frame_unmap(&f);
  snapshot_clear(&f.s);
  return ret;
}

/* ---- frames in flight (nireq > 1) ---- */

/* The oldest frame in flight leaves (*out) when it needs no inference, when its result is in,
 * or, waiting for it, when nireq jobs are in flight (the element then takes no frame before
 * one is done). NULL: none can leave yet. */
static GstFlowReturn frames_in_flight_pop(GstUfoInfer *self, gboolean drain, GstBuffer **out)
{
  GstUfoInferPrivate *p = PRIV(self);
  *out = NULL;
  Frame *head = g_queue_peek_head(&p->in_flight);
  if (!head)
    return GST_FLOW_OK;
  if (head->job && !drain && p->jobs < p->depth &&
      !gst_ufo_instance_job_done(p->instance, head->job))
    return GST_FLOW_OK;
  g_queue_pop_head(&p->in_flight);
  GstFlowReturn ret = frame_finish(self, head);
  if (ret == GST_FLOW_OK) {
    *out = head->buf;
    head->buf = NULL;
  }
  frame_free(self, head);
  return ret;
}

/* Every frame in flight, in order, downstream (before an event or query that must not overtake
 * them: EOS, caps, segment, gap, drain, allocation). */
static GstFlowReturn frames_in_flight_drain(GstUfoInfer *self)
{
  GstFlowReturn ret = GST_FLOW_OK;
  while (ret == GST_FLOW_OK && !g_queue_is_empty(&PRIV(self)->in_flight)) {
    GstBuffer *out;
    ret = frames_in_flight_pop(self, TRUE, &out);
    if (out)
      ret = gst_pad_push(GST_BASE_TRANSFORM_SRC_PAD(self), out);
  }
  if (ret != GST_FLOW_OK) /* an error was posted, or downstream stopped taking frames */
    frames_in_flight_discard(self);
  return ret;
}

/* Flush and stop: the frames in flight are dropped (their jobs waited for). */
static void frames_in_flight_discard(GstUfoInfer *self)
{
  GstUfoInferPrivate *p = PRIV(self);
  Frame *f;
  while ((f = g_queue_pop_head(&p->in_flight)))
    frame_free(self, f);
}

/* nireq > 1: the new frame's job goes into the instance's queue, and the frames in flight that
 * can leave are handed back one per call (GstBaseTransform pushes them and calls again until
 * none is left). nireq 1: the base class's in-place path (transform_ip). */
static GstFlowReturn gst_ufo_infer_generate_output(GstBaseTransform *trans, GstBuffer **outbuf)
{
  GstUfoInfer *self = GST_UFO_INFER(trans);
  GstUfoInferPrivate *p = PRIV(self);
  if (p->depth <= 1)
    return GST_BASE_TRANSFORM_CLASS(gst_ufo_infer_parent_class)->generate_output(trans, outbuf);
  *outbuf = NULL;
  GstBuffer *in = trans->queued_buf;
  trans->queued_buf = NULL;
  if (in) {
    Frame *f = g_new0(Frame, 1);
    f->buf = gst_buffer_make_writable(in);
    GstFlowReturn ret = frame_begin(self, f, TRUE);
    if (ret != GST_FLOW_OK) {
      frame_free(self, f);
      return ret;
    }
    g_queue_push_tail(&p->in_flight, f);
  }
  return frames_in_flight_pop(self, FALSE, outbuf);
}

#ifdef GST_UFO_HAVE_CUDA_MEMORY
/* A CUDA context from the application or a neighbour (GstContext of type gst.cuda.context):
 * taken when it is of the element's GPU. */
static void gst_ufo_infer_set_context(GstElement *element, GstContext *context)
{
  GstUfoInferPrivate *p = PRIV(element);
  GST_OBJECT_LOCK(element);
  const gint gpu = p->gpu_id;
  GstCudaContext *ctx = p->cuda_ctx ? gst_object_ref(p->cuda_ctx) : NULL;
  GST_OBJECT_UNLOCK(element);
  gst_cuda_handle_set_context(element, context, gpu, &ctx);
  GST_OBJECT_LOCK(element);
  gst_clear_object(&p->cuda_ctx);
  p->cuda_ctx = ctx;
  GST_OBJECT_UNLOCK(element);
  GST_ELEMENT_CLASS(gst_ufo_infer_parent_class)->set_context(element, context);
}

static gboolean has_cuda_context(GstElement *element)
{
  GST_OBJECT_LOCK(element);
  const gboolean has = PRIV(element)->cuda_ctx != NULL;
  GST_OBJECT_UNLOCK(element);
  return has;
}

/* NULL -> READY, before the CUDA elements upstream open (state changes go from the sink up):
 * the pipeline's CUDA context, or the engine's announced, so that upstream decodes into memory
 * the engine reads in place. READY -> NULL lets it go. */
static GstStateChangeReturn gst_ufo_infer_change_state(GstElement *element,
                                                       GstStateChange transition)
{
  GstUfoInfer *self = GST_UFO_INFER(element);
  GstUfoInferPrivate *p = PRIV(self);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY) {
    GST_OBJECT_LOCK(self);
    const gint gpu = p->gpu_id;
    const gboolean wants_gpu = p->device != GST_UFO_DEVICE_CPU;
    GST_OBJECT_UNLOCK(self);
    g_autofree gchar *why = NULL;
    if (wants_gpu && gst_ufo_cuda_ensure_context(element, gpu, has_cuda_context, &why))
      GST_CAT_INFO_OBJECT(CAT(self), self, "CUDA-memory input: the CUDA context of GPU %d", gpu);
    else if (wants_gpu)
      GST_CAT_INFO_OBJECT(CAT(self), self, "no CUDA context for CUDA-memory input: %s", why);
  }
  GstStateChangeReturn ret =
      GST_ELEMENT_CLASS(gst_ufo_infer_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_READY_TO_NULL) {
    GST_OBJECT_LOCK(self);
    gst_clear_object(&p->cuda_ctx);
    GST_OBJECT_UNLOCK(self);
  }
  return ret;
}

#endif

/* Frames in flight (nireq > 1): a serialized query from upstream (allocation, drain) comes
 * after them; the buffers upstream allocates count them in (the pool's minimum grows by the
 * frames the element holds); the latency grows by the frames it holds. CUDA context queries
 * get the element's context. */
static gboolean gst_ufo_infer_query(GstBaseTransform *trans, GstPadDirection direction,
                                    GstQuery *query)
{
  GstUfoInfer *self = GST_UFO_INFER(trans);
  GstUfoInferPrivate *p = PRIV(trans);
#ifdef GST_UFO_HAVE_CUDA_MEMORY
  if (GST_QUERY_TYPE(query) == GST_QUERY_CONTEXT) {
    GST_OBJECT_LOCK(trans);
    GstCudaContext *ctx = p->cuda_ctx ? gst_object_ref(p->cuda_ctx) : NULL;
    GST_OBJECT_UNLOCK(trans);
    const gboolean answered = ctx && gst_cuda_handle_context_query(GST_ELEMENT(trans), query, ctx);
    gst_clear_object(&ctx);
    if (answered)
      return TRUE;
  }
#endif
  if (direction == GST_PAD_SINK && GST_QUERY_IS_SERIALIZED(query) && p->depth > 1)
    frames_in_flight_drain(self);
  gboolean ok =
      GST_BASE_TRANSFORM_CLASS(gst_ufo_infer_parent_class)->query(trans, direction, query);
  if (!ok)
    return ok;
  if (direction == GST_PAD_SINK && GST_QUERY_TYPE(query) == GST_QUERY_ALLOCATION && p->depth > 1) {
    for (guint i = 0; i < gst_query_get_n_allocation_pools(query); i++) {
      GstBufferPool *pool = NULL;
      guint size, min, max;
      gst_query_parse_nth_allocation_pool(query, i, &pool, &size, &min, &max);
      min += p->depth;
      if (max != 0)
        max = MAX(max + p->depth, min);
      gst_query_set_nth_allocation_pool(query, i, pool, size, min, max);
      gst_clear_object(&pool);
    }
  } else if (direction == GST_PAD_SRC && GST_QUERY_TYPE(query) == GST_QUERY_LATENCY) {
    /* a frame leaves when its result is in or at the latest when nireq - 1 frames more
     * have come */
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(query, &live, &min, &max);
    GST_OBJECT_LOCK(self);
    const GstClockTime held = p->held_latency;
    GST_OBJECT_UNLOCK(self);
    min += held;
    if (GST_CLOCK_TIME_IS_VALID(max))
      max += held;
    gst_query_set_latency(query, live, min, max);
  }
  return ok;
}

static void gst_ufo_infer_finalize(GObject *object)
{
  GstUfoInferPrivate *p = PRIV(object);
  gst_ufo_infer_stop(GST_BASE_TRANSFORM(object));
  gst_ufo_filter_clear(&p->filter);
  g_free(p->model_path);
  g_free(p->model_instance_id);
  g_free(p->prompt);
  g_free(p->class_thresholds);
  g_free(p->classes);
  G_OBJECT_CLASS(gst_ufo_infer_parent_class)->finalize(object);
}

static void gst_ufo_infer_class_init(GstUfoInferClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstBaseTransformClass *bt_class = GST_BASE_TRANSFORM_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  const GParamFlags rw = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS;
  const GParamFlags ready = rw | GST_PARAM_MUTABLE_READY;
  /* the ufo-device message's names, interned once here rather than by the first streaming
   * threads at the same time */
  static const char *const device_fields[] = {
      "ufo-device",          "device",           "requested", "gpu-id", "precision",
      "requested-precision", "model-instance-id"};
  for (guint i = 0; i < G_N_ELEMENTS(device_fields); i++)
    g_quark_from_static_string(device_fields[i]);
  /* numbers, booleans and enums may be driven by control bindings (synced per buffer in
   * before_transform); strings may not: no control source interpolates text */
  const GParamFlags playing = rw | GST_PARAM_MUTABLE_PLAYING | GST_PARAM_CONTROLLABLE;
  const GParamFlags playing_text = rw | GST_PARAM_MUTABLE_PLAYING;

  gobject_class->set_property = gst_ufo_infer_set_property;
  gobject_class->get_property = gst_ufo_infer_get_property;
  gobject_class->finalize = gst_ufo_infer_finalize;

  /**
   * GstUfoInfer:model:
   *
   * The .safetensors model bundle (or `random:<config>[:<seed>]` for deterministic random
   * weights, used by tests and benchmarks). Loaded at READY→PAUSED; elements with the same
   * file share one loaded model.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL,
      g_param_spec_string("model", "Model file",
                          "Path of the UFO-ViT .safetensors bundle (or random:<config>[:<seed>]); "
                          "loaded at READY->PAUSED and shared between elements",
                          DEFAULT_MODEL, ready));
  /**
   * GstUfoInfer:device:
   *
   * Where inference runs; with `auto` the choice is logged at INFO level.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_DEVICE,
      g_param_spec_enum("device", "Device",
                        "Inference device: auto (CUDA if usable, else CPU), "
                        "cpu or cuda (error when no GPU is usable)",
                        GST_TYPE_UFO_DEVICE, DEFAULT_DEVICE, ready));
  /**
   * GstUfoInfer:gpu-id:
   *
   * Since: 0.1
   */
  g_object_class_install_property(gobject_class, PROP_GPU_ID,
                                  g_param_spec_int("gpu-id", "GPU id", "CUDA device index (0..63)",
                                                   0, 63, DEFAULT_GPU_ID, ready));
  /**
   * GstUfoInfer:threads:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_THREADS,
      g_param_spec_uint("threads", "CPU threads",
                        "CPU worker threads (0 = number of cores, max 1024)", 0, 1024,
                        DEFAULT_THREADS, ready));
  /**
   * GstUfoInfer:precision:
   *
   * Precision of the matrix products against model weights (linear layers, output logits):
   * `fp32`, or `bf16` (inputs rounded to bfloat16, float32 sums; oneDNN on CPUs with AVX512-BF16
   * or AMX; other CPUs compute fp32, never slower), or `auto` (the default): bf16
   * where the device runs it natively (CUDA; CPUs with AVX512-BF16 or AMX), else fp32. Set
   * `fp32` for results equal to the float32 reference. Everything else stays float32.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_PRECISION,
      g_param_spec_enum(
          "precision", "Precision",
          "Weight matrix products: fp32, bf16 (bfloat16 inputs, float32 sums; "
          "CPU: fp32 without AVX512-BF16/AMX), or auto (bf16 where native, else fp32)",
          GST_TYPE_UFO_PRECISION, DEFAULT_PRECISION, ready));
  /**
   * GstUfoInfer:threshold:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_THRESHOLD,
      g_param_spec_double("threshold", "Score threshold",
                          "Minimum object score, 0..1 (-1 = the task default in the model file)",
                          -1.0, 1.0, DEFAULT_THRESHOLD, playing));
  /**
   * GstUfoInfer:class-thresholds:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CLASS_THRESHOLDS,
      g_param_spec_string("class-thresholds", "Per-class thresholds",
                          "Comma-separated class=score overrides of 'threshold', classes by name "
                          "or id, e.g. \"person=0.5,car=0.35,2=0.4\" (empty = none)",
                          DEFAULT_CLASS_THRESHOLDS, playing_text));
  /**
   * GstUfoInfer:classes:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CLASSES,
      g_param_spec_string("classes", "Classes",
                          "Keep only these classes: comma-separated names or ids, e.g. "
                          "\"person,car,2\" (empty = all)",
                          DEFAULT_CLASSES, playing_text));
  /**
   * GstUfoInfer:max-detections:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_uint(
          "max-detections", "Max detections",
          "Most objects per frame, highest scores first (0 = the model default, max 10000)", 0,
          10000, DEFAULT_MAX_DETECTIONS, playing));
  /**
   * GstUfoInfer:nms-iou:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_NMS_IOU,
      g_param_spec_double("nms-iou", "NMS IoU",
                          "IoU above which overlapping boxes are suppressed, 0..1 (-1 = the "
                          "model's value)",
                          -1.0, 1.0, DEFAULT_NMS_IOU, playing));
  /**
   * GstUfoInfer:beam-size:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_BEAM_SIZE,
      g_param_spec_uint("beam-size", "Beam size",
                        "Beam width of the decoder, 1..16 (0 = the model's value)", 0, 16,
                        DEFAULT_BEAM_SIZE, playing));
  /**
   * GstUfoInfer:temperature:
   *
   * Beam search (beam-size > 1) only: log-probabilities are those of logits / temperature. The
   * model's value follows the original code's heads (detection 0.3; caption 1.0; others 1.0).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TEMPERATURE,
      g_param_spec_double("temperature", "Beam temperature",
                          "Beam search: softmax temperature, 1e-6..100 (0 = the model's value "
                          "for the task)",
                          0.0, 100.0, DEFAULT_TEMPERATURE, playing));
  /**
   * GstUfoInfer:length-penalty:
   *
   * Beam search (beam-size > 1) only: a finished hypothesis scores its summed log-probability
   * divided by length^length-penalty. The model's value follows the original code's heads
   * (detection 10.0; caption 0.7; others 1.0). The published beam recipe for detection and
   * instance segmentation is beam-size=3 temperature=1.5 length-penalty=10.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_LENGTH_PENALTY,
      g_param_spec_double("length-penalty", "Beam length penalty",
                          "Beam search: score = log-probability sum / length^value, -100..100 "
                          "(0 = the model's value for the task)",
                          -100.0, 100.0, DEFAULT_LENGTH_PENALTY, playing));
  /**
   * GstUfoInfer:inference-interval:
   *
   * Infer every Nth frame (DL Streamer meaning; DeepStream's `interval` is N-1). The other
   * frames carry a #GstUfoMeta with `inferred` = FALSE.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_INFERENCE_INTERVAL,
      g_param_spec_uint("inference-interval", "Inference interval",
                        "Run inference on every Nth frame, 1 = every frame (1..10000)", 1, 10000,
                        DEFAULT_INFERENCE_INTERVAL, playing));
  /**
   * GstUfoInfer:reuse-results:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_REUSE_RESULTS,
      g_param_spec_boolean("reuse-results", "Reuse results",
                           "Frames without inference carry the last results (inferred=FALSE, "
                           "result-pts of the inferred frame); else they carry empty results",
                           DEFAULT_REUSE_RESULTS, playing));
  /**
   * GstUfoInfer:late-frames:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_LATE_FRAMES,
      g_param_spec_enum("late-frames", "Late frames",
                        "What to do when behind real time: process every frame (files), "
                        "skip-inference (live), or drop late frames (QoS)",
                        GST_TYPE_UFO_LATE_FRAMES, DEFAULT_LATE_FRAMES, playing));
  /**
   * GstUfoInfer:unique-id:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_UNIQUE_ID,
      g_param_spec_uint("unique-id", "Unique id",
                        "Producer id written into every GstUfoMeta and ROI 'detection' "
                        "structure (like nvinfer unique-id)",
                        0, G_MAXUINT, DEFAULT_UNIQUE_ID, playing));
  /**
   * GstUfoInfer:attach-roi-meta:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ATTACH_ROI_META,
      g_param_spec_boolean("attach-roi-meta", "Attach ROI meta",
                           "Also attach one GstVideoRegionOfInterestMeta per object with a "
                           "DL Streamer 'detection' structure",
                           DEFAULT_ATTACH_ROI_META, playing));
  /**
   * GstUfoInfer:model-instance-id:
   *
   * Elements with the same id in one process share one loaded model, one engine session (one
   * weight copy per device) and one inference queue whose frames are batched (batch-size), as
   * DL Streamer's model-instance-id. They must agree on model, device, gpu-id, threads,
   * precision, batch-size, batch-timeout and nireq.
   *
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string("model-instance-id", "Model instance id",
                          "Elements with the same id share one model, session and inference "
                          "queue (empty: this element's own)",
                          DEFAULT_MODEL_INSTANCE_ID, ready));
  /**
   * GstUfoInfer:batch-size:
   *
   * Frames of one request (same task, prompt and decoding settings) from the elements of a
   * model instance run as one batch of up to this many (ufo_session_run_batch).
   *
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint("batch-size", "Batch size",
                        "Frames of the streams sharing model-instance-id run together, up to "
                        "this many",
                        1, 256, DEFAULT_BATCH_SIZE, ready));
  /**
   * GstUfoInfer:batch-timeout:
   *
   * Milliseconds a frame waits for other streams' frames to fill its batch; a batch starts
   * earlier when it is full or when every element of the instance is waiting.
   *
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint("batch-timeout", "Batch timeout",
                        "Milliseconds a frame waits for frames of other streams to fill its batch "
                        "(a full batch, or every stream waiting, starts at once)",
                        0, 60000, DEFAULT_BATCH_TIMEOUT, ready));
  /**
   * GstUfoInfer:nireq:
   *
   * Inference requests (as DL Streamer's nireq): the element's model instance (its own, or the
   * model-instance-id's) runs up to this many batches at once, each on an engine session of
   * its own (its activations; on CUDA its own stream) over the one weight copy, and the element
   * keeps up to this many of its frames in flight: it takes the next frame while earlier ones
   * run and pushes them in their order as their results come in, so that one frame's decode
   * steps, which leave a GPU mostly idle, overlap the next frame's image pass. Frames held add
   * up to nireq - 1 frame durations of latency (reported in the latency query). On the CPU,
   * give each session threads = cores / nireq.
   *
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_NIREQ,
      g_param_spec_uint("nireq", "Inference requests",
                        "Frames (batches) in flight at once, each on a session of its own "
                        "(weights shared); the element pushes its frames in order",
                        1, 64, DEFAULT_NIREQ, ready));
  /**
   * GstUfoInfer:instance-stats:
   *
   * The counters of the element's model instance (model-instance-id, batch-size > 1 or nireq >
   * 1) while it is streaming, NULL otherwise: backend, elements (attached), streaming, frames,
   * batches, timeouts (batches started by batch-timeout), largest-batch, nireq, most-in-flight
   * (the most batches run at once), state-bytes (the sessions' activations and caches, all of
   * them).
   *
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_INSTANCE_STATS,
      g_param_spec_boxed("instance-stats", "Instance statistics",
                         "Counters of the shared model instance: elements, streaming, frames, "
                         "batches, timeouts, largest-batch, nireq, most-in-flight, state-bytes",
                         GST_TYPE_STRUCTURE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstUfoInfer:processing-time:
   *
   * The time an inferred frame spends in the element, a running average in nanoseconds (0 until
   * two frames have been inferred; the first is left out). late-frames=skip-inference starts a
   * frame's inference only when it can end by the frame's deadline.
   *
   * Since: 0.2
   */
  g_object_class_install_property(
      gobject_class, PROP_PROCESSING_TIME,
      g_param_spec_uint64("processing-time", "Processing time",
                          "Time an inferred frame spends in the element, running average (ns; "
                          "0: not measured yet)",
                          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

#ifdef GST_UFO_HAVE_CUDA_MEMORY
  /* frames in CUDA memory too (ufocuda.h), read in place when they are in the engine's context */
  GstCaps *caps = gst_caps_from_string(GST_UFO_INFER_CAPS "; " GST_UFO_CUDA_CAPS);
  element_class->set_context = GST_DEBUG_FUNCPTR(gst_ufo_infer_set_context);
  element_class->change_state = GST_DEBUG_FUNCPTR(gst_ufo_infer_change_state);
#else
  GstCaps *caps = gst_caps_from_string(GST_UFO_INFER_CAPS);
#endif
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("sink", GST_PAD_SINK, GST_PAD_ALWAYS, caps));
  gst_element_class_add_pad_template(
      element_class, gst_pad_template_new("src", GST_PAD_SRC, GST_PAD_ALWAYS, caps));
  gst_caps_unref(caps);

  bt_class->start = GST_DEBUG_FUNCPTR(gst_ufo_infer_start);
  bt_class->stop = GST_DEBUG_FUNCPTR(gst_ufo_infer_stop);
  bt_class->set_caps = GST_DEBUG_FUNCPTR(gst_ufo_infer_set_caps);
  bt_class->transform_ip = GST_DEBUG_FUNCPTR(gst_ufo_infer_transform_ip);
  bt_class->generate_output = GST_DEBUG_FUNCPTR(gst_ufo_infer_generate_output);
  bt_class->query = GST_DEBUG_FUNCPTR(gst_ufo_infer_query);
  bt_class->before_transform = GST_DEBUG_FUNCPTR(gst_ufo_infer_before_transform);
  bt_class->src_event = GST_DEBUG_FUNCPTR(gst_ufo_infer_src_event);
  bt_class->sink_event = GST_DEBUG_FUNCPTR(gst_ufo_infer_sink_event);
  bt_class->passthrough_on_same_caps = FALSE;
  bt_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api(GST_TYPE_UFO_INFER, 0);
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_DEVICE, 0);
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_PRECISION, 0);
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_LATE_FRAMES, 0);
}

static void gst_ufo_infer_init(GstUfoInfer *self)
{
  GstUfoInferPrivate *p = PRIV(self);
  p->model_path = g_strdup(DEFAULT_MODEL);
  p->device = DEFAULT_DEVICE;
  p->gpu_id = DEFAULT_GPU_ID;
  p->threads = DEFAULT_THREADS;
  p->precision = DEFAULT_PRECISION;
  p->model_instance_id = g_strdup(DEFAULT_MODEL_INSTANCE_ID);
  p->batch_size = DEFAULT_BATCH_SIZE;
  p->batch_timeout = DEFAULT_BATCH_TIMEOUT;
  p->nireq = DEFAULT_NIREQ;
  p->task = UFO_TASK_DETECTION;
  p->prompt = NULL;
  p->threshold = DEFAULT_THRESHOLD;
  p->class_thresholds = g_strdup(DEFAULT_CLASS_THRESHOLDS);
  p->classes = g_strdup(DEFAULT_CLASSES);
  p->max_detections = DEFAULT_MAX_DETECTIONS;
  p->nms_iou = DEFAULT_NMS_IOU;
  p->beam_size = DEFAULT_BEAM_SIZE;
  p->temperature = DEFAULT_TEMPERATURE;
  p->length_penalty = DEFAULT_LENGTH_PENALTY;
  p->inference_interval = DEFAULT_INFERENCE_INTERVAL;
  p->reuse_results = DEFAULT_REUSE_RESULTS;
  p->late_frames = DEFAULT_LATE_FRAMES;
  p->unique_id = DEFAULT_UNIQUE_ID;
  p->attach_roi_meta = DEFAULT_ATTACH_ROI_META;
  p->mask_threshold = GST_UFO_DEFAULT_MASK_THRESHOLD;
  p->earliest_time = GST_CLOCK_TIME_NONE;
  p->pipeline_latency = GST_CLOCK_TIME_NONE;
  p->upstream_gen = 1; /* upstream_asked 0: ask */
  p->prev_lag = GST_CLOCK_STIME_NONE;
  p->last_pts = GST_CLOCK_TIME_NONE;
  gst_ufo_filter_init(&p->filter);
  gst_video_info_init(&p->info);
  gst_base_transform_set_in_place(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), FALSE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
