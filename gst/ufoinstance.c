/* Shared model instances: a registry id → {queue, nireq workers: a thread and a session each}
 * (ufoinstance.h). */
#include "ufoinstance.h"

#include <string.h>

/* One frame in the queue (GstUfoInstanceJob): the caller's until gst_ufo_instance_wait. */
typedef struct _GstUfoInstanceJob {
  const UfoImage *image; /* the caller's, mapped until done */
  const UfoRequest *req; /* the caller's, alive until done */
  UfoResult *result;     /* set by the worker */
  GError *error;         /* set by the worker */
  gboolean done;
  gboolean waited_for; /* its caller waits in gst_ufo_instance_wait (counted in waiting) */
  gint64 arrived;      /* monotonic µs */
} Job;

/* One inference request in flight: a thread running batches on its own session (the weights
 * are the model's one copy per device, nn/vit_shared.c; on CUDA its own stream). */
typedef struct {
  GstUfoInstance *inst;
  UfoSession *session;
  GMutex run_lock;  /* the session: one batch or one prepare at a time */
  guint32 prepared; /* tasks prepared, bit per UfoTask (under run_lock) */
  GThread *thread;
} Worker;

struct _GstUfoInstance {
  gchar *id;
  UfoModel *model;
  UfoSessionOptions asked;
  guint batch_size, batch_timeout_ms, nireq;
  Worker *workers; /* nireq */

  GMutex lock; /* everything below */
  GCond work;  /* the workers: a job arrived, a user left, quit */
  GCond done;  /* the callers: a batch finished */
  GQueue pending;
  guint users, active;
  guint waiting; /* callers waiting in gst_ufo_instance_wait for a job not yet done */
  guint in_flight, most_in_flight; /* batches being run; the most at once */
  gboolean quit;
  guint64 frames, batches, timeouts;
  guint largest;
};

static GMutex registry_lock;
static GHashTable *registry; /* id → GstUfoInstance (borrowed: freed by the last release) */

static gboolean same_request(const UfoRequest *a, const UfoRequest *b)
{
  return a->task == b->task && g_strcmp0(a->prompt, b->prompt) == 0 &&
         a->beam_size == b->beam_size && a->max_detections == b->max_detections &&
         a->nms_iou == b->nms_iou && a->mask_threshold == b->mask_threshold && a->plan == b->plan &&
         a->temperature == b->temperature && a->length_penalty == b->length_penalty &&
         a->instance_boxes == b->instance_boxes && a->mask_format == b->mask_format;
}

/* Jobs of the queue that can join the head's batch (the head included). */
static guint compatible(GstUfoInstance *inst)
{
  const Job *head = g_queue_peek_head(&inst->pending);
  guint n = 0;
  for (GList *l = inst->pending.head; l; l = l->next)
    n += same_request(((Job *)l->data)->req, head->req);
  return n;
}

/* Runs one batch on w's session: the head and the next jobs of its request, in arrival order.
 * Called with inst->lock held; releases it while the engine runs. */
static void run_batch(Worker *w, gboolean timed_out)
{
  GstUfoInstance *inst = w->inst;
  const Job *head = g_queue_peek_head(&inst->pending);
  Job **jobs = g_new(Job *, inst->batch_size);
  guint n = 0;
  for (GList *l = inst->pending.head; l && n < inst->batch_size;) {
    GList *next = l->next;
    Job *j = l->data;
    if (same_request(j->req, head->req)) {
      jobs[n++] = j;
      g_queue_delete_link(&inst->pending, l);
    }
    l = next;
  }
  inst->batches++;
  inst->frames += n;
  inst->timeouts += timed_out;
  inst->largest = MAX(inst->largest, n);
  inst->in_flight++;
  inst->most_in_flight = MAX(inst->most_in_flight, inst->in_flight);
  g_mutex_unlock(&inst->lock);

  UfoImage *images = g_new(UfoImage, n);
  UfoResult **results = g_new0(UfoResult *, n);
  for (guint i = 0; i < n; i++)
    images[i] = *jobs[i]->image;
  GError *err = NULL;
  g_mutex_lock(&w->run_lock);
  gboolean ok = ufo_session_run_batch(w->session, images, (int)n, jobs[0]->req, results, &err);
  g_mutex_unlock(&w->run_lock);

  g_mutex_lock(&inst->lock);
  inst->in_flight--;
  for (guint i = 0; i < n; i++) {
    jobs[i]->result = results[i];
    jobs[i]->error = ok ? NULL : g_error_copy(err);
    jobs[i]->done = TRUE;
    /* its caller no longer waits for the instance (before it has woken up: a batch that
     * starts meanwhile must not count it) */
    if (jobs[i]->waited_for)
      inst->waiting--;
    jobs[i]->waited_for = FALSE;
  }
  g_cond_broadcast(&inst->done);
  g_clear_error(&err);
  g_free(images);
  g_free(results);
  g_free(jobs);
}

static gpointer worker_main(gpointer data)
{
  Worker *w = data;
  GstUfoInstance *inst = w->inst;
  g_mutex_lock(&inst->lock);
  while (!inst->quit) {
    if (g_queue_is_empty(&inst->pending)) {
      g_cond_wait(&inst->work, &inst->lock);
      continue;
    }
    const Job *head = g_queue_peek_head(&inst->pending);
    const gboolean full = compatible(inst) >= inst->batch_size;
    /* no other frame can come: every streaming element of the instance waits for a frame of
     * its own (queued, or running on another worker); an element with frames in flight that
     * does not wait (nireq > 1) may still send one */
    const gboolean all_waiting = inst->waiting >= inst->active;
    const gint64 deadline = head->arrived + (gint64)inst->batch_timeout_ms * 1000;
    if (!full && !all_waiting && g_get_monotonic_time() < deadline) {
      g_cond_wait_until(&inst->work, &inst->lock, deadline);
      continue;
    }
    run_batch(w, !full && !all_waiting);
  }
  g_mutex_unlock(&inst->lock);
  return NULL;
}

static void instance_free(GstUfoInstance *inst)
{
  g_mutex_lock(&inst->lock);
  inst->quit = TRUE;
  g_cond_broadcast(&inst->work);
  g_mutex_unlock(&inst->lock);
  for (guint i = 0; i < inst->nireq; i++) {
    Worker *w = &inst->workers[i];
    if (w->thread)
      g_thread_join(w->thread);
    ufo_session_free(w->session);
    g_mutex_clear(&w->run_lock);
  }
  g_free(inst->workers);
  ufo_model_unref(inst->model);
  g_mutex_clear(&inst->lock);
  g_cond_clear(&inst->work);
  g_cond_clear(&inst->done);
  g_free(inst->id);
  g_free(inst);
}

/* The property that differs from the instance's config, or NULL. */
static const char *differs(const GstUfoInstance *inst, const GstUfoInstanceConfig *c)
{
  if (c->model != inst->model)
    return "model";
  if (c->options.device != inst->asked.device)
    return "device";
  if (c->options.gpu_id != inst->asked.gpu_id)
    return "gpu-id";
  if (c->options.threads != inst->asked.threads)
    return "threads";
  if (c->options.precision != inst->asked.precision)
    return "precision";
  if (c->batch_size != inst->batch_size)
    return "batch-size";
  if (c->batch_timeout_ms != inst->batch_timeout_ms)
    return "batch-timeout";
  if (c->nireq != inst->nireq)
    return "nireq";
  return NULL;
}

static UfoSession *new_session(UfoModel *model, const UfoSessionOptions *asked, GError **error)
{
  UfoSessionOptions o = *asked;
  if (o.device == UFO_DEVICE_AUTO) { /* the GPU when usable, else the CPU */
    o.device = UFO_DEVICE_CUDA;
    UfoSession *s = ufo_session_new(model, &o, NULL);
    if (s)
      return s;
    o.device = UFO_DEVICE_CPU;
  }
  return ufo_session_new(model, &o, error);
}

GstUfoInstance *gst_ufo_instance_acquire(const gchar *id, const GstUfoInstanceConfig *c,
                                         GError **error)
{
  g_return_val_if_fail(id != NULL && c != NULL && c->model != NULL, NULL);
  if (c->batch_size < 1 || c->nireq < 1) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "batch-size and nireq must be at least 1");
    return NULL;
  }
  g_mutex_lock(&registry_lock);
  if (!registry)
    registry = g_hash_table_new(g_str_hash, g_str_equal);
  GstUfoInstance *inst = g_hash_table_lookup(registry, id);
  if (inst) {
    const char *prop = differs(inst, c);
    if (prop) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                  "model-instance-id '%s' is already used by an element with another '%s' (model "
                  "\"%s\"): give every element of one instance the same model, device, gpu-id, "
                  "threads, precision, batch-size, batch-timeout and nireq, or another "
                  "model-instance-id",
                  id, prop, c->model_path ? c->model_path : "");
      inst = NULL;
    } else {
      g_mutex_lock(&inst->lock);
      inst->users++;
      g_mutex_unlock(&inst->lock);
    }
    g_mutex_unlock(&registry_lock);
    return inst;
  }
  inst = g_new0(GstUfoInstance, 1);
  inst->id = g_strdup(id);
  inst->model = ufo_model_ref(c->model);
  inst->asked = c->options;
  inst->batch_size = c->batch_size;
  inst->batch_timeout_ms = c->batch_timeout_ms;
  inst->nireq = c->nireq;
  inst->workers = g_new0(Worker, c->nireq);
  inst->users = 1;
  g_mutex_init(&inst->lock);
  g_cond_init(&inst->work);
  g_cond_init(&inst->done);
  g_queue_init(&inst->pending);
  for (guint i = 0; i < c->nireq; i++) {
    Worker *w = &inst->workers[i];
    w->inst = inst;
    g_mutex_init(&w->run_lock);
  }
  /* the first session resolves device=auto; the others run on the device it got */
  UfoSessionOptions o = c->options;
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < c->nireq; i++) {
    Worker *w = &inst->workers[i];
    ok = (w->session = new_session(c->model, &o, error)) != NULL;
    if (ok && i == 0)
      o.device = g_strcmp0(ufo_session_get_backend_name(w->session), "cuda") == 0 ? UFO_DEVICE_CUDA
                                                                                  : UFO_DEVICE_CPU;
  }
  for (guint i = 0; ok && i < c->nireq; i++) {
    Worker *w = &inst->workers[i];
    ok = (w->thread = g_thread_try_new("ufo-instance", worker_main, w, error)) != NULL;
  }
  if (!ok) {
    g_mutex_unlock(&registry_lock);
    instance_free(inst);
    return NULL;
  }
  g_hash_table_insert(registry, inst->id, inst);
  g_mutex_unlock(&registry_lock);
  return inst;
}

void gst_ufo_instance_release(GstUfoInstance *inst)
{
  if (!inst)
    return;
  g_mutex_lock(&registry_lock);
  g_mutex_lock(&inst->lock);
  const gboolean last = --inst->users == 0;
  g_cond_signal(&inst->work); /* one element fewer to wait for */
  g_mutex_unlock(&inst->lock);
  if (last)
    g_hash_table_remove(registry, inst->id);
  g_mutex_unlock(&registry_lock);
  if (last)
    instance_free(inst);
}

/* (the workers' sessions run on one device and precision: the first one's) */
const char *gst_ufo_instance_backend_name(GstUfoInstance *inst)
{
  return ufo_session_get_backend_name(inst->workers[0].session);
}

void *gst_ufo_instance_cuda_context(GstUfoInstance *inst)
{
  return ufo_session_get_cuda_context(inst->workers[0].session);
}

UfoPrecision gst_ufo_instance_precision(GstUfoInstance *inst)
{
  return ufo_session_get_precision(inst->workers[0].session);
}

gboolean gst_ufo_instance_prepare(GstUfoInstance *inst, UfoTask task, GError **error)
{
  const guint32 bit = 1u << (task & 31);
  gboolean ok = TRUE;
  for (guint i = 0; ok && i < inst->nireq; i++) {
    Worker *w = &inst->workers[i];
    g_mutex_lock(&w->run_lock);
    ok = (w->prepared & bit) ||
         ufo_session_prepare_batch(w->session, task, (int)inst->batch_size, error);
    if (ok)
      w->prepared |= bit;
    g_mutex_unlock(&w->run_lock);
  }
  return ok;
}

void gst_ufo_instance_set_active(GstUfoInstance *inst, gboolean *active, gboolean value)
{
  g_mutex_lock(&inst->lock);
  if (*active != value) {
    *active = value;
    if (value)
      inst->active++;
    else
      inst->active--;
    g_cond_signal(&inst->work); /* one element fewer (more) to wait for */
  }
  g_mutex_unlock(&inst->lock);
}

GstUfoInstanceJob *gst_ufo_instance_submit(GstUfoInstance *inst, gboolean *active,
                                           const UfoImage *image, const UfoRequest *request)
{
  Job *job = g_new0(Job, 1);
  job->image = image;
  job->req = request;
  job->arrived = g_get_monotonic_time();
  g_mutex_lock(&inst->lock);
  if (!*active) {
    *active = TRUE;
    inst->active++;
  }
  g_queue_push_tail(&inst->pending, job);
  g_cond_signal(&inst->work);
  g_mutex_unlock(&inst->lock);
  return job;
}

gboolean gst_ufo_instance_job_done(GstUfoInstance *inst, GstUfoInstanceJob *job)
{
  g_mutex_lock(&inst->lock);
  const gboolean done = job->done;
  g_mutex_unlock(&inst->lock);
  return done;
}

gboolean gst_ufo_instance_wait(GstUfoInstance *inst, GstUfoInstanceJob *job, UfoResult **result,
                               GError **error)
{
  g_mutex_lock(&inst->lock);
  if (!job->done) {
    job->waited_for = TRUE;
    inst->waiting++;
    g_cond_broadcast(&inst->work); /* a worker may be waiting for this caller's next frame */
    while (!job->done)
      g_cond_wait(&inst->done, &inst->lock);
  }
  g_mutex_unlock(&inst->lock);
  const gboolean ok = job->error == NULL;
  if (ok)
    *result = job->result;
  else
    g_propagate_error(error, job->error);
  g_free(job);
  return ok;
}

gboolean gst_ufo_instance_run(GstUfoInstance *inst, gboolean *active, const UfoImage *image,
                              const UfoRequest *request, UfoResult **result, GError **error)
{
  return gst_ufo_instance_wait(inst, gst_ufo_instance_submit(inst, active, image, request), result,
                               error);
}

void gst_ufo_instance_get_stats(GstUfoInstance *inst, GstUfoInstanceStats *stats)
{
  memset(stats, 0, sizeof *stats);
  g_mutex_lock(&inst->lock);
  stats->users = inst->users;
  stats->active = inst->active;
  stats->frames = inst->frames;
  stats->batches = inst->batches;
  stats->timeouts = inst->timeouts;
  stats->largest = inst->largest;
  stats->nireq = inst->nireq;
  stats->most_in_flight = inst->most_in_flight;
  g_mutex_unlock(&inst->lock);
  for (guint i = 0; i < inst->nireq; i++) {
    Worker *w = &inst->workers[i];
    size_t bytes = 0;
    g_mutex_lock(&w->run_lock);
    ufo_session_get_memory(w->session, NULL, &bytes);
    g_mutex_unlock(&w->run_lock);
    stats->state_bytes += bytes;
  }
}
