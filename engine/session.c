/* UfoSession: one frame through the whole engine (architecture.md §1, §3):
 * preprocess → prompt/text pass (cached while the prompt is unchanged) → image pass → grid pass →
 * decoding → task post-processing. */
#include "ufo/ufo.h"

#include <math.h>
#include "log.h"
#include "backend/profile.h"
#include "model/model.h"
#include "nn/vit.h"
#include "decode/decode.h"
#include "tasks/preprocess.h"
#include "tasks/prompt.h"
#include "tasks/tasks.h"
#include "text/tokenizer.h"

#include <string.h>

struct _UfoSession {
  UfoModel *model;
  UfoBackend *be;
  UfoVit *vit;
  UfoVitState *st;
  char *text_prompt; /* prompt whose text pass is in st (seg spec §6.21: reuse per frame) */
  GArray *ids, *mask;
  UfoPreprocessor *prep; /* the frame -> input tensor op's state (backend/preprocess.h) */
  /* the largest batch run or prepared (ufo_session_run_batch): the decode caches keep room for
   * it, so that smaller batches and single frames reuse them */
  int batch_cap;
  /* device timestamps of a run's stage boundaries (backend stamps, reused run after run) */
  GPtrArray *stamps;
  /* the whole answers of the last segmentation label set (the decode draft's lead) */
  const UfoLabelSet *answer_labels;
  UfoAnswerPieces *answers;
  /* the first tokens that end a grid's answer (decode.h end_first) for dead_labels, with or
   * without `background` kept (semantic keeps it) */
  const UfoLabelSet *dead_labels;
  gboolean dead_drop_background;
  uint8_t *dead_first;
};

/* the decode draft's lead (decode.h): the grid's tokens so far are a whole answer */
static gboolean answer_whole(void *ctx, const int32_t *ids, int n)
{
  return ufo_answer_pieces_whole(ctx, ids, n);
}

/* Stamp i of the session: recorded behind the work enqueued so far (no-op without stamps). */
static gboolean stamp_at(UfoSession *s, guint i, GError **error)
{
  if (!ufo_backend_has_stamps(s->be))
    return TRUE;
  if (s->stamps->len <= i)
    g_ptr_array_set_size(s->stamps, (gint)(i + 1));
  return ufo_backend_stamp(s->be, &s->stamps->pdata[i], error);
}

/* Device milliseconds between stamps a and b (-1 without stamps). */
static gboolean stamp_ms(UfoSession *s, guint a, guint b, double *ms, GError **error)
{
  *ms = -1;
  if (!ufo_backend_has_stamps(s->be))
    return TRUE;
  return ufo_backend_stamp_elapsed(s->be, s->stamps->pdata[a], s->stamps->pdata[b], ms, error);
}

/* segmentation §2.3: the <MASK> tokens a grid with an object emits after `<class>,` */
#define SEG_MASK_TOKENS 16

/* Times every decode step of the wrapped decoder (ufo-bench); a draft pass's time is shared
 * evenly by the steps it kept. */
typedef struct {
  const UfoDecoder *inner;
  GArray *ms;
  int passes;      /* step and step_ahead calls */
  double ahead_ms; /* the pending pass's own time */
} TimedDecoder;

static gboolean timed_step(void *ctx, const int32_t *tokens, int n, int t, float *logits,
                           float *feat, GError **error)
{
  TimedDecoder *td = ctx;
  gint64 a = g_get_monotonic_time();
  gboolean ok = td->inner->step(td->inner->ctx, tokens, n, t, logits, feat, error);
  td->passes++;
  double ms = (g_get_monotonic_time() - a) / 1000.0;
  g_array_append_val(td->ms, ms);
  return ok;
}

static gboolean timed_step_ahead(void *ctx, const int32_t *tokens, int n, int t, int P,
                                 const int32_t *force, const float *margin, int32_t *ids,
                                 float *prob, GError **error)
{
  TimedDecoder *td = ctx;
  gint64 a = g_get_monotonic_time();
  gboolean ok =
      td->inner->step_ahead(td->inner->ctx, tokens, n, t, P, force, margin, ids, prob, error);
  td->passes++;
  td->ahead_ms = (g_get_monotonic_time() - a) / 1000.0;
  return ok;
}

/* each position kept is a step of its own: an even share of the pass (and of the features'
 * copy) */
static gboolean timed_ahead_accept(void *ctx, int k, int *row0, GError **error)
{
  TimedDecoder *td = ctx;
  gint64 a = g_get_monotonic_time();
  gboolean ok = td->inner->ahead_accept(td->inner->ctx, k, row0, error);
  const double ms = td->ahead_ms + (g_get_monotonic_time() - a) / 1000.0;
  for (int j = 0; j < k; j++) {
    double share = ms / k;
    g_array_append_val(td->ms, share);
  }
  return ok;
}

static gboolean timed_keep_feat(void *ctx, int n, int *row0, GError **error)
{
  TimedDecoder *td = ctx;
  return td->inner->keep_feat(td->inner->ctx, n, row0, error);
}

static gboolean timed_reorder(void *ctx, const int32_t *src, int n_new, GError **error)
{
  TimedDecoder *td = ctx;
  return td->inner->reorder(td->inner->ctx, src, n_new, error);
}

/* the selection belongs to the step it follows: its time is added to that step's */
static gboolean timed_select(void *ctx, int n, const int32_t *force, const float *margin,
                             int32_t *ids, float *prob, GError **error)
{
  TimedDecoder *td = ctx;
  gint64 a = g_get_monotonic_time();
  gboolean ok = td->inner->select_greedy(td->inner->ctx, n, force, margin, ids, prob, error);
  if (td->ms->len > 0)
    g_array_index(td->ms, double, td->ms->len - 1) += (g_get_monotonic_time() - a) / 1000.0;
  return ok;
}

static gboolean timed_select_topk(void *ctx, int n, float temperature, const int32_t *force,
                                  const float *margin, const float *bias, int k, float *val,
                                  int32_t *idx, GError **error)
{
  TimedDecoder *td = ctx;
  gint64 a = g_get_monotonic_time();
  gboolean ok = td->inner->select_topk(td->inner->ctx, n, temperature, force, margin, bias, k, val,
                                       idx, error);
  if (td->ms->len > 0)
    g_array_index(td->ms, double, td->ms->len - 1) += (g_get_monotonic_time() - a) / 1000.0;
  return ok;
}

/* precision=bf16 (weight GEMMs) where the backend offers it, auto resolved by the backend;
 * fp32 needs nothing */
static gboolean set_precision(UfoBackend *be, UfoPrecision precision, GError **error)
{
  return ufo_backend_set_precision(be, precision, error);
}

UfoSession *ufo_session_new(UfoModel *model, const UfoSessionOptions *options, GError **error)
{
  g_return_val_if_fail(model != NULL, NULL);
  UfoSessionOptions opts = {0};
  if (options)
    opts = *options;
  if (opts.precision < 0 || opts.precision >= UFO_N_PRECISIONS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown precision id %d",
                (int)opts.precision);
    return NULL;
  }
  if (opts.threads < 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "threads must be >= 0 (got %d)", opts.threads);
    return NULL;
  }
  UfoSession *s = g_new0(UfoSession, 1);
  s->model = ufo_model_ref(model);
  s->ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  s->mask = g_array_new(FALSE, FALSE, sizeof(uint8_t));
  s->stamps = g_ptr_array_new();
  if (!(s->be = ufo_backend_new(opts.device, opts.gpu_id, opts.threads, error)) ||
      !set_precision(s->be, opts.precision, error) ||
      !(s->vit = ufo_vit_acquire(model, s->be, error)) ||
      !(s->st = ufo_vit_state_new(s->vit, error)) ||
      !(s->prep = ufo_preprocessor_new(s->be, error))) {
    ufo_session_free(s);
    return NULL;
  }
  return s;
}

const char *ufo_session_get_backend_name(const UfoSession *s)
{
  g_return_val_if_fail(s != NULL, NULL);
  return s->be->ops->name;
}

void *ufo_session_get_cuda_context(const UfoSession *s)
{
  g_return_val_if_fail(s != NULL, NULL);
  return ufo_backend_cuda_context(s->be);
}

void *ufo_cuda_device_context(int gpu_id, GError **error)
{
  UfoBackend *be = ufo_backend_new(UFO_DEVICE_CUDA, gpu_id, 1, error);
  if (!be)
    return NULL;
  void *ctx = ufo_backend_cuda_context(be);
  ufo_backend_free(be); /* the runtime keeps the primary context */
  if (!ctx)
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "CUDA GPU %d: its context could not be had from the CUDA driver", gpu_id);
  return ctx;
}

UfoPrecision ufo_session_get_precision(const UfoSession *s)
{
  g_return_val_if_fail(s != NULL, UFO_PRECISION_FP32);
  return s->be->precision;
}

char *ufo_session_profile_report(UfoSession *s, gboolean reset)
{
  g_return_val_if_fail(s != NULL, NULL);
  return ufo_backend_profile_report(s->be, reset);
}

void ufo_session_get_memory(const UfoSession *s, size_t *weights_bytes, size_t *state_bytes)
{
  g_return_if_fail(s != NULL);
  if (weights_bytes)
    *weights_bytes = ufo_vit_weight_bytes(s->vit);
  if (state_bytes)
    *state_bytes = ufo_vit_state_bytes(s->st); /* the input image is one of its tensors */
}

void ufo_session_free(UfoSession *s)
{
  if (!s)
    return;
  g_clear_pointer(&s->prep, ufo_preprocessor_free);
  for (guint i = 0; s->stamps && s->be && i < s->stamps->len; i++)
    ufo_backend_stamp_free(s->be, s->stamps->pdata[i]);
  if (s->stamps)
    g_ptr_array_free(s->stamps, TRUE);
  g_clear_pointer(&s->st, ufo_vit_state_free);
  if (s->be && s->vit) /* enqueued work may still read the (shared) weights */
    (void)ufo_backend_synchronize(s->be, NULL);
  g_clear_pointer(&s->vit, ufo_vit_free);
  g_clear_pointer(&s->be, ufo_backend_free);
  g_clear_pointer(&s->model, ufo_model_unref);
  g_array_unref(s->ids);
  g_array_unref(s->mask);
  g_free(s->text_prompt);
  ufo_answer_pieces_free(s->answers);
  g_free(s->dead_first);
  g_free(s);
}

static double ms_since(gint64 *t)
{
  gint64 now = g_get_monotonic_time();
  double ms = (now - *t) / 1000.0;
  *t = now;
  return ms;
}

static gboolean task_uses_grid(UfoTask task)
{
  return task == UFO_TASK_DETECTION || task == UFO_TASK_INSTANCE || task == UFO_TASK_SEMANTIC;
}

/* Grid references, row-major q = gy·gw + gx, centres ((gx + 0.5)/gw, (gy + 0.5)/gh) normalised
 * to the network input (inference §5.5). */
static float *make_grid_refs(int gh, int gw)
{
  float *ref = g_new(float, (size_t)gh *gw * 2);
  for (int gy = 0; gy < gh; gy++)
    for (int gx = 0; gx < gw; gx++) {
      ref[(gy * gw + gx) * 2 + 0] = ((float)gx + 0.5f) / (float)gw;
      ref[(gy * gw + gx) * 2 + 1] = ((float)gy + 0.5f) / (float)gh;
    }
  return ref;
}

static gboolean ensure_text_pass(UfoSession *s, UfoTask task, const char *prompt, GError **error)
{
  if (s->text_prompt && strcmp(s->text_prompt, prompt) == 0)
    return TRUE;
  g_clear_pointer(&s->text_prompt, g_free);
  if (!ufo_prompt_encode(s->model->tokenizer, task, prompt,
                         ufo_prompt_max_tokens(s->model->cfg.max_position), s->ids, s->mask,
                         error) ||
      !ufo_vit_text_pass(s->st, (const int32_t *)s->ids->data, (const uint8_t *)s->mask->data,
                         (int)s->ids->len, error))
    return FALSE;
  s->text_prompt = g_strdup(prompt);
  return TRUE;
}

/* The whole prompt string of a task (inference §4.1); NULL with the error set. */
static char *build_task_prompt(const UfoModel *model, UfoTask task, const char *text,
                               GError **error)
{
  const UfoTaskConfig *tc = &model->cfg.tasks[task];
  const UfoLabelSet *labels = tc->label_set[0] ? ufo_model_label_set(model, tc->label_set) : NULL;
  return ufo_prompt_build(task, labels ? (const char *const *)labels->names : NULL,
                          labels ? labels->n : 0, tc->num_bins, text, error);
}

gboolean ufo_model_check_prompt(const UfoModel *model, UfoTask task, const char *prompt,
                                int *n_tokens, int *max_tokens, GError **error)
{
  g_return_val_if_fail(model != NULL, FALSE);
  const int limit = ufo_prompt_max_tokens(model->cfg.max_position);
  if (n_tokens)
    *n_tokens = 0;
  if (max_tokens)
    *max_tokens = limit;
  if (task < 0 || task >= UFO_N_TASKS || !ufo_model_supports_task(model, task)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "the model '%s' has no %s task",
                model->cfg.name, task >= 0 && task < UFO_N_TASKS ? ufo_task_name(task) : "such");
    return FALSE;
  }
  g_autofree char *full = build_task_prompt(model, task, prompt, error);
  if (!full)
    return FALSE;
  if (!model->tokenizer) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "the model '%s' has no tokenizer",
                model->cfg.name);
    return FALSE;
  }
  g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  if (!ufo_tokenizer_encode(model->tokenizer, full, G_MAXINT / 2, ids, error))
    return FALSE;
  if (n_tokens)
    *n_tokens = (int)ids->len;
  if (ids->len > (guint)limit) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "the %s prompt is too long: it has %u tokens and the model's text context takes "
                "at most %d (shorten the prompt)",
                ufo_task_name(task), ids->len, limit);
    return FALSE;
  }
  return TRUE;
}

/* The request's checks (ufo.h UfoRequest); the task's label set (NULL when it has none). */
static gboolean check_request(UfoSession *s, const UfoRequest *req, const UfoLabelSet **labels,
                              GError **error)
{
  if (req->task < 0 || req->task >= UFO_N_TASKS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown task id %d", (int)req->task);
    return FALSE;
  }
  UfoTask task = req->task;
  const UfoConfig *cfg = &s->model->cfg;
  const UfoTaskConfig *tc = &cfg->tasks[task];
  if (!ufo_model_supports_task(s->model, task)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "the model '%s' has no %s task", cfg->name,
                ufo_task_name(task));
    return FALSE;
  }
  if (req->beam_size < 0 || req->max_detections < 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "beam size and max detections must be >= 0");
    return FALSE;
  }
  if (req->instance_boxes != UFO_INSTANCE_BOXES_REGION &&
      req->instance_boxes != UFO_INSTANCE_BOXES_MASK) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown instance box mode %d",
                (int)req->instance_boxes);
    return FALSE;
  }
  if (req->mask_format != UFO_MASK_FLOAT && req->mask_format != UFO_MASK_GRAY8) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown mask format %d",
                (int)req->mask_format);
    return FALSE;
  }
  /* logits / τ stays finite in float32 down to τ = 1e-6 */
  if (!(req->temperature == 0.f || (req->temperature >= 1e-6f && req->temperature <= 100.f))) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "beam temperature %g is outside 1e-06..100 (0 = the task's value)",
                req->temperature);
    return FALSE;
  }
  if (!(fabsf(req->length_penalty) <= 100.f)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "beam length penalty %g is outside -100..100 (0 = the task's value)",
                req->length_penalty);
    return FALSE;
  }
  *labels = tc->label_set[0] ? ufo_model_label_set(s->model, tc->label_set) : NULL;
  if (tc->label_set[0] && !*labels) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "the model has no label set '%s' for task %s",
                tc->label_set, ufo_task_name(task));
    return FALSE;
  }
  return TRUE;
}

/* The request's planted plan (per frame: sequence q) for n frames of Q sequences each. */
static UfoPlantedPlan *batch_plan(const UfoPlantedPlan *plan, int n, int Q, int32_t **tokens,
                                  float **margin, float **step_margin)
{
  const int L = plan->max_len;
  *tokens = g_new(int32_t, (size_t)n * Q * MAX(L, 1));
  *margin = g_new0(float, (size_t)n *Q);
  *step_margin = plan->step_margin ? g_new0(float, (size_t)n *Q *MAX(L, 1)) : NULL;
  for (int b = 0; b < n; b++)
    for (int q = 0; q < Q; q++) {
      const gboolean in = q < plan->n_seq;
      int32_t *row = *tokens + ((size_t)b * Q + q) * L;
      for (int t = 0; t < L; t++)
        row[t] = in && plan->tokens ? plan->tokens[(size_t)q * L + t] : -1;
      (*margin)[(size_t)b * Q + q] = in && plan->margin ? plan->margin[q] : 0.f;
      if (*step_margin && in)
        memcpy(*step_margin + ((size_t)b * Q + q) * L, plan->step_margin + (size_t)q * L,
               (size_t)L * sizeof(float));
    }
  UfoPlantedPlan *p = g_new(UfoPlantedPlan, 1);
  *p = (UfoPlantedPlan){*tokens, *margin, n * Q, L, *step_margin};
  return p;
}

/* n frames of one request through the engine (n > 1: a grid task, the frames' decode rows in
 * one batch); results[i] set on success. */
static gboolean run_frames(UfoSession *s, const UfoImage *images, int n, const UfoRequest *req,
                           const UfoLabelSet *labels, UfoResult **results, GError **error)
{
  UfoTask task = req->task;
  const UfoConfig *cfg = &s->model->cfg;
  const UfoTaskConfig *tc = &cfg->tasks[task];
  for (int i = 0; i < n; i++)
    if (!ufo_image_check(&images[i], error)) {
      if (n > 1)
        g_prefix_error(error, "frame %d of the batch: ", i);
      return FALSE;
    }
  UfoResult **res = g_new0(UfoResult *, (size_t)MAX(n, 1));
  gboolean ok = FALSE;
  UfoDecodeOutput *out = NULL;
  float *refs = NULL, *first_prob = NULL, *plan_margin = NULL, *plan_step_margin = NULL;
  int32_t *plan_tokens = NULL;
  UfoPlantedPlan *plan = NULL;
  char *prompt = NULL;
  TimedDecoder td = {.ms = g_array_new(FALSE, FALSE, sizeof(double))};
  double ms_pre = 0, ms_text = 0, ms_image = 0, ms_grid = 0, ms_decode = 0;
  const uint64_t frame_down0 = s->be->bytes_down;
  gint64 t = g_get_monotonic_time();
  for (int i = 0; i < n; i++) {
    res[i] = g_new0(UfoResult, 1);
    res[i]->task = task;
    res[i]->batch_size = n;
  }

  /* device stamps: 0 before the text pass, 1 after it; frame b: 2 + 3b after preprocessing,
   * 3 + 3b after the image pass, 4 + 3b after the grid pass; 2 + 3n after decoding */
  if (!stamp_at(s, 0, error))
    goto out;
  /* prompt and text pass (inference §4), once for the batch */
  prompt = build_task_prompt(s->model, task, req->prompt, error);
  if (!prompt || !ensure_text_pass(s, task, prompt, error) || !stamp_at(s, 1, error))
    goto out;
  if (!ufo_backend_synchronize(s->be, error)) /* stage times of asynchronous backends */
    goto out;
  ms_text = ms_since(&t);

  int S = tc->input_size;
  gboolean grid = task_uses_grid(task) && tc->grid_per_window > 0;
  gboolean seg = task == UFO_TASK_INSTANCE || task == UFO_TASK_SEMANTIC;
  int Hp = S / cfg->patch_size;
  int gside = grid ? tc->grid_per_window * (Hp / cfg->window_size) : 0;
  int Q = gside * gside;
  refs = grid ? make_grid_refs(gside, gside) : NULL;
  int n_seq = grid ? Q : 1;
  int beam = req->beam_size > 0 ? req->beam_size : MAX(tc->beam_size, 1);
  if (n > 1 && !grid) { /* ufo_session_run_batch runs these frame by frame */
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "the %s task decodes frame by frame",
                ufo_task_name(task));
    goto out;
  }
  UfoPrepParams prep;
  ufo_task_prep_params(tc, cfg->pixel_mean, cfg->pixel_std, &prep);
  /* the grid tasks' decode caches have room for the largest batch so far */
  s->batch_cap = MAX(s->batch_cap, n);
  const gboolean stash = grid && s->batch_cap > 1;
  const int n_rows = (grid ? s->batch_cap * Q : n_seq) * beam;
  for (int b = 0; b < n; b++) {
    /* preprocessing (inference §3): the frame goes to the backend as it is (its only upload)
     * and is converted, resized and normalised there into the image pass's input tensor */
    UfoView input;
    if (!ufo_vit_image_input(s->st, S, S, &input, error) ||
        !ufo_op_preprocess(s->prep, input, &images[b], &prep, error) ||
        !stamp_at(s, 2 + 3 * (guint)b, error) || !ufo_backend_synchronize(s->be, error))
      goto out;
    ms_pre += ms_since(&t);
    /* image pass (§5.4) and grid pass (§5.5) */
    if (!ufo_vit_image_pass(s->st, NULL, S, S, refs, Q, gside, gside, seg, error) ||
        !stamp_at(s, 3 + 3 * (guint)b, error) || !ufo_backend_synchronize(s->be, error))
      goto out;
    ms_image += ms_since(&t);
    if (grid && !ufo_vit_grid_pass(s->st, error))
      goto out;
    /* a batch: the frame's grid K/V into its rows of the decode, its feature map kept */
    if (stash && (!ufo_vit_decode_stash_grid(s->st, b, n_rows, error) ||
                  (seg && !ufo_vit_stash_feature_map(s->st, b, s->batch_cap, error))))
      goto out;
    if (!stamp_at(s, 4 + 3 * (guint)b, error) || !ufo_backend_synchronize(s->be, error))
      goto out;
    ms_grid += ms_since(&t);
  }

  /* decoding (§6): the rows of every frame together */
  if (!(stash ? ufo_vit_decode_prepare_stashed(s->st, n, n_rows, tc->max_length, beam > 1, error)
              : ufo_vit_decode_prepare(s->st, grid, n_rows, tc->max_length, beam > 1, error)))
    goto out;
  /* greedy segmentation: the mask-token features stay on the backend (feature history) */
  if (seg && beam == 1 && !ufo_vit_decode_keep_features(s->st, error))
    goto out;
  const UfoPlantedPlan *use_plan = req->plan;
  if (req->plan && n > 1)
    use_plan = plan = batch_plan(req->plan, n, Q, &plan_tokens, &plan_margin, &plan_step_margin);
  const uint64_t down0 = s->be->bytes_down;
  UfoDecoder inner = ufo_vit_decoder(s->st);
  td.inner = &inner;
  UfoDecoder dec = inner;
  dec.step = timed_step;
  dec.reorder = timed_reorder;
  dec.select_greedy = inner.select_greedy ? timed_select : NULL;
  dec.select_topk = inner.select_topk ? timed_select_topk : NULL;
  dec.keep_feat = inner.keep_feat ? timed_keep_feat : NULL;
  dec.step_ahead = inner.step_ahead ? timed_step_ahead : NULL;
  dec.ahead_accept = inner.ahead_accept ? timed_ahead_accept : NULL;
  dec.ctx = &td;
  const int n_all = n * n_seq;
  /* segmentation §2.3: after `<class>,` a grid emits 16 × <MASK> and [SEP]; those runs go
   * through the decoder in passes of up to 17 steps, 18 with the comma drafted after a whole
   * class name (the output is step-by-step greedy's) */
  const UfoTokenIds *tid = ufo_tokenizer_ids(s->model->tokenizer);
  const gboolean draft = seg && beam == 1 && tid->mask >= 0 && tid->comma >= 0;
  /* a grid that has named its class joins a pass with the comma as its lead (one step fewer) */
  if (draft && labels && s->answer_labels != labels) {
    ufo_answer_pieces_free(s->answers);
    s->answers = ufo_answer_pieces_new(labels, s->model->tokenizer);
    s->answer_labels = labels;
  }
  /* greedy grid tasks: a grid whose first token no kept answer begins with ends there (the
   * task drops it whatever follows: tasks.h ufo_task_dead_first); UFO_END_FIRST=0 keeps
   * decoding such grids to their [SEP] (to compare) */
  if (grid && beam == 1 && labels && g_strcmp0(g_getenv("UFO_END_FIRST"), "0") != 0) {
    const gboolean drop_bg = task != UFO_TASK_SEMANTIC;
    if (s->dead_labels != labels || s->dead_drop_background != drop_bg) {
      g_free(s->dead_first);
      s->dead_first =
          ufo_task_dead_first_table(s->model->tokenizer, labels, drop_bg, inner.vocab_size);
      s->dead_labels = labels;
      s->dead_drop_background = drop_bg;
    }
    dec.end_first = s->dead_first;
  }
  const UfoDecodeDraft mask_draft = {.token = tid->mask,
                                     .after = {tid->comma, -1},
                                     .max_ahead = SEG_MASK_TOKENS + 1,
                                     /* where a pass pays, and its activations (13·C
                                      * floats a row: 164 MB at 4,096 rows of UFO-ViT-B) */
                                     .max_rows = ufo_backend_decode_pass_rows(s->be),
                                     .lead_ready = labels ? answer_whole : NULL,
                                     .lead_ctx = labels ? s->answers : NULL};
  /* the largest pass's buffers now (a prepared session's warm-up frame sizes them) */
  if (draft && inner.step_ahead &&
      !ufo_vit_decode_reserve_ahead(
          s->st, MIN(mask_draft.max_rows, (int64_t)n_rows * ufo_decode_draft_span(&mask_draft)),
          error))
    goto out;
  out = beam > 1 ? ufo_decode_beam(&dec, n_all, beam, tc->max_length,
                                   req->temperature > 0.f ? req->temperature : tc->temperature,
                                   req->length_penalty != 0.f ? req->length_penalty : tc->alpha,
                                   use_plan, seg, error)
                 : ufo_decode_greedy_ahead(&dec, n_all, tc->max_length, use_plan, seg,
                                           draft ? &mask_draft : NULL, error);
  for (int i = 0; i < n; i++) {
    res[i]->n_decode_passes = td.passes;
    res[i]->n_decode_steps = (int)td.ms->len;
    res[i]->ms_decode_step = g_memdup2(td.ms->data, sizeof(double) * td.ms->len);
  }
  if (!out || !stamp_at(s, 2 + 3 * (guint)n, error))
    goto out;
  ms_decode = ms_since(&t);
  /* the device's share of each stage, summed over the frames */
  double dev_ms[5] = {0, 0, 0, 0, 0}; /* text, preprocess, image, grid, decode */
  if (!stamp_ms(s, 0, 1, &dev_ms[0], error) ||
      !stamp_ms(s, 1 + 3 * n, 2 + 3 * n, &dev_ms[4], error))
    goto out;
  for (int b = 0; b < n; b++)
    for (int k = 0; k < 3; k++) { /* from the frame's previous boundary to each of its own */
      double ms;
      const guint from = 1 + 3 * (guint)b + (guint)k; /* b = 0, k = 0: after the text pass */
      if (!stamp_ms(s, from, 2 + 3 * b + k, &ms, error))
        goto out;
      dev_ms[1 + k] = ms < 0 ? -1 : dev_ms[1 + k] + ms;
    }
  const uint64_t decode_down = s->be->bytes_down - down0;

  /* post-processing (§7; seg §2.5-§3.6), frame by frame */
  int T = out->max_length;
  first_prob = g_new(float, (size_t)MAX(n_all, 1));
  for (int i = 0; i < n_all; i++)
    first_prob[i] = out->prob[(size_t)i * T];
  const UfoTokenizer *tok = s->model->tokenizer;
  for (int b = 0; b < n; b++) {
    UfoResult *r = res[b];
    int W0 = images[b].width, H0 = images[b].height;
    const size_t row0 = (size_t)b * n_seq; /* the frame's first sequence */
    const int32_t *ids = out->ids + row0 * T;
    const float *fprob = first_prob + row0;
    const float *feat = out->feat ? out->feat + row0 * T * (size_t)inner.feat_dim : NULL;
    /* the mask ops read the feature map on the backend (seg §2.6): it is never downloaded */
    UfoFeatureMap fm = {.mask_token = ufo_tokenizer_ids(tok)->mask};
    if (seg && !(stash ? ufo_vit_stashed_feature_map_view(s->st, b, &fm.map, &fm.hp, &fm.wp)
                       : ufo_vit_feature_map_view(s->st, &fm.map, &fm.hp, &fm.wp))) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "no feature map after the image pass");
      goto out;
    }
    if (seg) /* the mask batches' tensors are the state's: sized once, kept */
      ufo_vit_mask_tensors(s->st, &fm.keep_e, &fm.keep_u, &fm.keep_bits);
    /* greedy: the object features are gathered from the decode's feature history */
    if (seg && out->feat_row && ufo_vit_feature_history(s->st, &fm.hist, &fm.keep_idx))
      fm.hist_row = out->feat_row + row0 * T;
    gboolean done = FALSE;
    switch (task) {
    case UFO_TASK_DETECTION:
      done = ufo_task_postprocess_detection(tc, tok, labels, ids, fprob, n_seq, T, refs, S, S, W0,
                                            H0, req->max_detections, req->nms_iou, r, error);
      break;
    case UFO_TASK_GROUNDING:
      done = ufo_task_postprocess_grounding(tc, tok, ids, fprob, T, S, S, W0, H0, r, error);
      break;
    case UFO_TASK_CAPTION:
      done = ufo_task_postprocess_caption(tok, ids, T, r, error);
      break;
    case UFO_TASK_INSTANCE:
      done = ufo_task_postprocess_instance(tc, tok, labels, ids, fprob, feat, n_seq, T, &fm, W0, H0,
                                           req->mask_threshold, req->max_detections,
                                           req->instance_boxes, req->mask_format, r, error);
      break;
    case UFO_TASK_SEMANTIC:
      done = ufo_task_postprocess_semantic(tc, tok, labels, ids, fprob, feat, n_seq, T, &fm, W0, H0,
                                           r, error);
      break;
    default:
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown task");
    }
    if (!done) {
      if (n > 1)
        g_prefix_error(error, "frame %d of the batch: ", b);
      goto out;
    }
    r->ms_post = ms_since(&t);
    r->ms_preprocess = ms_pre;
    r->ms_text = ms_text;
    r->ms_image = ms_image;
    r->ms_grid = ms_grid;
    r->ms_decode = ms_decode;
    r->device_ms_text = dev_ms[0];
    r->device_ms_preprocess = dev_ms[1];
    r->device_ms_image = dev_ms[2];
    r->device_ms_grid = dev_ms[3];
    r->device_ms_decode = dev_ms[4];
    r->decode_bytes_down = decode_down;
  }
  for (int b = 0; b < n; b++) {
    res[b]->bytes_down = s->be->bytes_down - frame_down0;
    results[b] = res[b];
    res[b] = NULL;
  }
  ok = TRUE;
out:
  for (int i = 0; i < n; i++)
    ufo_result_free(res[i]);
  g_free(res);
  ufo_decode_output_free(out);
  g_array_free(td.ms, TRUE);
  g_free(refs);
  g_free(first_prob);
  g_free(plan);
  g_free(plan_tokens);
  g_free(plan_margin);
  g_free(plan_step_margin);
  g_free(prompt);
  return ok;
}

gboolean ufo_session_run(UfoSession *s, const UfoImage *image, const UfoRequest *req,
                         UfoResult **result, GError **error)
{
  g_return_val_if_fail(s != NULL && result != NULL, FALSE);
  *result = NULL;
  if (!image || !req) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "no %s given", image ? "request" : "image");
    return FALSE;
  }
  const UfoLabelSet *labels = NULL;
  return check_request(s, req, &labels, error) &&
         run_frames(s, image, 1, req, labels, result, error);
}

gboolean ufo_session_run_batch(UfoSession *s, const UfoImage *images, int n_images,
                               const UfoRequest *req, UfoResult **results, GError **error)
{
  g_return_val_if_fail(s != NULL && results != NULL, FALSE);
  for (int i = 0; i < n_images; i++)
    results[i] = NULL;
  if (!images || !req || n_images < 1) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "a batch needs %s",
                !req ? "a request" : "at least one image");
    return FALSE;
  }
  const UfoLabelSet *labels = NULL;
  if (!check_request(s, req, &labels, error))
    return FALSE;
  const UfoTaskConfig *tc = &s->model->cfg.tasks[req->task];
  if (n_images == 1 || !(task_uses_grid(req->task) && tc->grid_per_window > 0)) {
    /* caption and grounding rows attend to their own image's keys: frame by frame */
    for (int i = 0; i < n_images; i++)
      if (!run_frames(s, &images[i], 1, req, labels, &results[i], error)) {
        if (n_images > 1)
          g_prefix_error(error, "frame %d of the batch: ", i);
        for (int j = 0; j < i; j++)
          g_clear_pointer(&results[j], ufo_result_free);
        return FALSE;
      }
    return TRUE;
  }
  return run_frames(s, images, n_images, req, labels, results, error);
}

uint64_t ufo_session_get_allocations(const UfoSession *s)
{
  g_return_val_if_fail(s != NULL, 0);
  return s->be->allocs;
}

void ufo_session_get_graph_counts(const UfoSession *s, unsigned *recorded, unsigned *launched)
{
  g_return_if_fail(s != NULL && recorded != NULL && launched != NULL);
  ufo_vit_graph_counts(s->st, recorded, launched);
}

void ufo_session_get_decode_graph_counts(const UfoSession *s, unsigned *recorded,
                                         unsigned *launched)
{
  g_return_if_fail(s != NULL && recorded != NULL && launched != NULL);
  ufo_vit_decode_graph_counts(s->st, recorded, launched);
}

/* The first word piece of text (no [CLS], [SEP]), or fallback. */
static int32_t first_piece(const UfoTokenizer *tok, const char *text, int32_t fallback)
{
  g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  if (!ufo_tokenizer_encode(tok, text, 16, ids, NULL) || ids->len < 3)
    return fallback;
  return g_array_index(ids, int32_t, 1);
}

/* The warm-up frame's plan (ufo_session_prepare): every sequence decodes every step (a filler
 * word), sequence 0 ends ([SEP]) at the second-to-last step so that the compaction gather runs
 * at its largest; for the mask tasks the first grids (at least 64: a full mask batch, else all)
 * decode `label , <MASK>×16` first, so that the mask ops see their largest batch. */
static void warmup_plan(UfoSession *s, UfoTask task, int n_seq, int T, int32_t *tokens,
                        float *margin)
{
  const UfoTokenizer *tok = s->model->tokenizer;
  const UfoTokenIds *named = ufo_tokenizer_ids(tok);
  /* a word that is not [SEP]: "a", else the model's "," or [UNK] */
  const int32_t filler = first_piece(tok, "a", named->comma >= 0 ? named->comma : named->unk);
  const UfoTaskConfig *tc = &s->model->cfg.tasks[task];
  const UfoLabelSet *labels =
      tc->label_set[0] ? ufo_model_label_set(s->model, tc->label_set) : NULL;
  const gboolean masks = (task == UFO_TASK_INSTANCE || task == UFO_TASK_SEMANTIC) && labels &&
                         labels->n > 0 && named->mask >= 0;
  for (int q = 0; q < n_seq; q++) {
    int32_t *row = tokens + (size_t)q * T;
    for (int t = 0; t < T; t++)
      row[t] = filler;
    margin[q] = 50.f;
    if (masks) {
      g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
      if (ufo_tokenizer_encode(tok, labels->names[q % labels->n], T, ids, NULL) && ids->len > 2) {
        int t = 0;
        for (guint i = 1; i + 1 < ids->len && t < T; i++) /* without [CLS], [SEP] */
          row[t++] = g_array_index(ids, int32_t, i);
        if (t < T && named->comma >= 0)
          row[t++] = named->comma;
        for (int i = 0; i < 16 && t < T; i++)
          row[t++] = named->mask;
      }
    }
  }
  if (n_seq > 0 && T >= 2)
    tokens[T - 2] = named->sep;
}

gboolean ufo_session_prepare(UfoSession *s, UfoTask task, GError **error)
{
  return ufo_session_prepare_batch(s, task, 1, error);
}

gboolean ufo_session_prepare_batch(UfoSession *s, UfoTask task, int batch, GError **error)
{
  g_return_val_if_fail(s != NULL, FALSE);
  if (batch < 1 || batch > 1024) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "batch of %d frames (1..1024)", batch);
    return FALSE;
  }
  if (task < 0 || task >= UFO_N_TASKS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown task id %d", (int)task);
    return FALSE;
  }
  if (!ufo_model_supports_task(s->model, task)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "the model '%s' has no %s task",
                s->model->cfg.name, ufo_task_name(task));
    return FALSE;
  }
  const UfoConfig *cfg = &s->model->cfg;
  const UfoTaskConfig *tc = &cfg->tasks[task];
  const int S = tc->input_size, T = MAX(tc->max_length, 1);
  int n_seq = 1;
  if (task_uses_grid(task) && tc->grid_per_window > 0) {
    int gside = tc->grid_per_window * ((S / cfg->patch_size) / cfg->window_size);
    n_seq = MAX(gside * gside, 1);
  }
  g_autofree uint8_t *pixels = g_new0(uint8_t, (size_t)S * S * 3);
  UfoImage image = {
      .format = UFO_PIXEL_RGB, .width = S, .height = S, .stride = (size_t)S * 3, .data = pixels};
  g_autofree int32_t *tokens = g_new(int32_t, (size_t)n_seq * T);
  g_autofree float *margin = g_new(float, n_seq);
  warmup_plan(s, task, n_seq, T, tokens, margin);
  UfoPlantedPlan plan = {tokens, margin, n_seq, T};
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = task;
  req.plan = &plan;
  req.prompt = task == UFO_TASK_GROUNDING ? "object" : NULL;
  req.mask_threshold = 1e-30f; /* every mask covers its map: the mask ops' largest crops */
  /* the grid tasks decode a batch's rows together: the warm-up runs a whole batch */
  const int n = task_uses_grid(task) && tc->grid_per_window > 0 ? batch : 1;
  g_autofree UfoImage *images = g_new(UfoImage, n);
  g_autofree UfoResult **res = g_new0(UfoResult *, n);
  for (int i = 0; i < n; i++)
    images[i] = image;
  gboolean ok = ufo_session_run_batch(s, images, n, &req, res, error);
  for (int i = 0; i < n; i++)
    ufo_result_free(res[i]);
  return ok;
}
