/* Shared model instances (`model-instance-id`, docs/elements.md "Many streams, one model"):
 * elements naming the same id in one process share one loaded model (one weight copy per
 * device) and one inference queue, whose `nireq` workers (a thread and an engine session each,
 * as DL Streamer's inference requests; on CUDA each its own stream) run the frames of all of
 * them, each batch coalescing up to `batch-size` frames of one request into one
 * ufo_session_run_batch; with nireq > 1, batches of different streams' frames run at once. */
#ifndef GST_UFO_INSTANCE_H
#define GST_UFO_INSTANCE_H

#include <glib.h>
#include <ufo/ufo.h>

G_BEGIN_DECLS

typedef struct _GstUfoInstance GstUfoInstance;

/* What the elements of one instance must agree on. */
typedef struct {
  const gchar *model_path;   /* as given; compared by the loaded model */
  UfoModel *model;           /* from gst_ufo_model_cache_acquire (a reference is taken) */
  UfoSessionOptions options; /* device as asked (auto resolved once, by the first element) */
  guint batch_size;          /* >= 1 */
  guint batch_timeout_ms;    /* how long a frame waits for others to fill its batch */
  guint nireq;               /* >= 1: batches run at once, each on a session of its own */
} GstUfoInstanceConfig;

/* The instance named id, made with config on first use (its nireq sessions created: for
 * device=auto the GPU when usable, else the CPU, the same for all). A later element must give the
 * same model, device, gpu-id, threads, precision, batch-size, batch-timeout and nireq: otherwise
 * NULL with an error naming the property that differs (UFO_ERROR_INVALID). Session errors as
 * ufo_session_new. */
GstUfoInstance *gst_ufo_instance_acquire(const gchar *id, const GstUfoInstanceConfig *config,
                                         GError **error);
/* The element leaves the instance; the last one stops its workers and frees the sessions. */
void gst_ufo_instance_release(GstUfoInstance *inst);
/* The backend the shared session runs on ("cpu", "cuda"), and the precision it runs at. */
const char *gst_ufo_instance_backend_name(GstUfoInstance *inst);
UfoPrecision gst_ufo_instance_precision(GstUfoInstance *inst);
/* The CUDA context the instance's session reads device frames in (NULL on the CPU). */
void *gst_ufo_instance_cuda_context(GstUfoInstance *inst);
/* Whether the element is streaming: an active element is expected to send frames, so a batch
 * does not start before every active element's frame is in (or batch-timeout passed). Elements
 * become active with their first frame (gst_ufo_instance_run) and call this with FALSE at EOS,
 * flush and stop. */
void gst_ufo_instance_set_active(GstUfoInstance *inst, gboolean *active, gboolean value);
/* ufo_session_prepare_batch for task at the instance's batch size on every worker's session
 * (between frames; once per task and session). */
gboolean gst_ufo_instance_prepare(GstUfoInstance *inst, UfoTask task, GError **error);
/* Runs one frame through the queue and waits for its result (ufo_session_run semantics):
 * gst_ufo_instance_submit, then gst_ufo_instance_wait. The frame waits up to batch-timeout
 * for frames of the same request from the other elements, unless every active element of the
 * instance is already waiting or the batch is full. *active is the element's flag (set here,
 * see gst_ufo_instance_set_active). */
gboolean gst_ufo_instance_run(GstUfoInstance *inst, gboolean *active, const UfoImage *image,
                              const UfoRequest *request, UfoResult **result, GError **error);

/* Frames in flight (an element with nireq > 1 keeps up to nireq of its frames queued or
 * running): submit queues one frame and returns at once; image (its planes mapped) and request
 * must stay alive until gst_ufo_instance_wait, which every job gets exactly once: it waits for
 * the result (*result, to free with ufo_result_free; or the error) and frees the job. An
 * element counts as waiting (a batch need not wait for its next frame) only inside wait. */
typedef struct _GstUfoInstanceJob GstUfoInstanceJob;
GstUfoInstanceJob *gst_ufo_instance_submit(GstUfoInstance *inst, gboolean *active,
                                           const UfoImage *image, const UfoRequest *request);
/* Whether the job's result is in (wait would return at once). */
gboolean gst_ufo_instance_job_done(GstUfoInstance *inst, GstUfoInstanceJob *job);
gboolean gst_ufo_instance_wait(GstUfoInstance *inst, GstUfoInstanceJob *job, UfoResult **result,
                               GError **error);

/* Counters of an instance (the elements' `instance-stats` property). */
typedef struct {
  guint users;          /* elements attached */
  guint active;         /* of them, streaming (gst_ufo_instance_set_active) */
  guint64 frames;       /* frames run */
  guint64 batches;      /* ufo_session_run_batch calls */
  guint64 timeouts;     /* batches started by the timeout, not full */
  guint largest;        /* largest batch run */
  size_t state_bytes;   /* the sessions' own memory (ufo_session_get_memory), all of them */
  guint nireq;          /* workers (sessions) */
  guint most_in_flight; /* the most batches run at once */
} GstUfoInstanceStats;
void gst_ufo_instance_get_stats(GstUfoInstance *inst, GstUfoInstanceStats *stats);

G_END_DECLS

#endif
