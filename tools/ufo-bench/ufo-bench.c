/* ufo-bench: per-stage timing of one UFO-ViT task.
 *
 *   ufo-bench --config vit-b --task detection --iterations 3 --threads 2
 *   ufo-bench --model models/ufo-demo.safetensors --task instance --image frame.png
 *   ufo-bench --model models/ufo-demo.safetensors --task detection -n 20 f00.png f03.png …
 *
 *   ufo-bench --gemm 625,30525,768 --threads 2
 *   ufo-bench --config vit-b --task caption --sessions 4
 *
 * Without --model the weights are the deterministic random weights of docs/weights-prng.md.
 * Prints milliseconds per stage (median over the timed iterations), frames/s, peak memory,
 * threads and the weight-GEMM precision (--precision fp32|bf16|auto: what auto picked, e.g.
 * "auto -> bf16"). On a backend with a device clock (CUDA) each stage line also gives the
 * device's own milliseconds (events around the stage, UfoResult.device_ms_*): the host
 * milliseconds minus those are the host's time to enqueue the stage's work. Without --plan,
 * decode lengths follow what the model generates.
 *
 * --sessions N makes N sessions of the model (one weight copy for all: nn/vit.h) and runs each
 * iteration on every session in turn (the stage times are over all N x iterations frames);
 * the weight bytes are printed once, the state bytes per session, and the peak memory covers
 * all N.
 *
 * --nireq N makes N sessions and runs them at once, each on a thread of its own, as an element
 * with nireq=N keeps N frames in flight (docs/elements.md "Frames in flight"): after every
 * session's warm-up, the timed frames of all of them start together, and the aggregate rate
 * (frames / wall time) is printed beside the per-frame stage times; give each session
 * --threads = cores / N on the CPU.
 *
 * --batch N runs N copies of the frame as one batch (ufo_session_run_batch: the grid tasks
 * decode the frames' rows together); stage times are then per batch and frames/s counts the
 * N frames.
 *
 * --gemm M,N,K times one weight GEMM C (M, N) = A (M, K) · W (N, K)^T, as the linear layers run
 * it: OpenBLAS sgemm with its own threads, then the CPU backend at fp32 (sgemm per pool worker)
 * and at bf16 (oneDNN matmul, engine/backend/cpu/gemm_dnnl.c) and the row-stable kernel of the
 * decode steps (gemm_rows.c), in GFLOP/s (best of the timed iterations), and the bf16 result's
 * relative L2 distance to fp32.
 */
#include "ufo/ufo.h"
#include "backend/backend.h"
#include "backend/host_blas.h"
#include "../common/image_io.h"
#include "bench_plan.h"
#include "model/model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static char *opt_model, *opt_config = "tiny", *opt_task = "detection", *opt_prompt = "the red car";
static char *opt_image, *opt_precision = "fp32", *opt_gemm, *opt_device = "cpu";
static int opt_iters = 3, opt_warmup = 1, opt_threads, opt_width = 640, opt_height = 480, opt_gpu;
static int opt_sessions = 1, opt_beam, opt_batch = 1, opt_nireq = 1;
static double opt_temperature, opt_length_penalty;
static char *opt_plan = "worst";
static gint64 opt_seed;
static gboolean opt_profile;
static gboolean opt_gray_masks;

static GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &opt_model, "Model file (default: random weights)",
     "FILE"},
    {"config", 'c', 0, G_OPTION_ARG_STRING, &opt_config,
     "Built-in config for random weights: tiny, vit-b, vit-l, vit-h", "NAME"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "Seed of the random weights", "N"},
    {"task", 't', 0, G_OPTION_ARG_STRING, &opt_task, "Task", "TASK"},
    {"prompt", 'p', 0, G_OPTION_ARG_STRING, &opt_prompt, "Grounding expression", "TEXT"},
    {"image", 'i', 0, G_OPTION_ARG_FILENAME, &opt_image, "Input image (default: synthetic)",
     "FILE"},
    {"width", 0, 0, G_OPTION_ARG_INT, &opt_width, "Synthetic image width (default 640)", "PX"},
    {"height", 0, 0, G_OPTION_ARG_INT, &opt_height, "Synthetic image height (default 480)", "PX"},
    {"iterations", 'n', 0, G_OPTION_ARG_INT, &opt_iters, "Timed iterations (default 3)", "N"},
    {"warmup", 0, 0, G_OPTION_ARG_INT, &opt_warmup, "Untimed iterations first (default 1)", "N"},
    {"plan", 0, 0, G_OPTION_ARG_STRING, &opt_plan,
     "Decode lengths: worst (default: what random weights decode, usually every step) or trained "
     "(planted like a trained model's frame, docs/performance.md)",
     "PLAN"},
    {"batch", 0, 0, G_OPTION_ARG_INT, &opt_batch,
     "Frames per batch (ufo_session_run_batch; default 1)", "N"},
    {"sessions", 0, 0, G_OPTION_ARG_INT, &opt_sessions,
     "Sessions of the model, run in turn (default 1): weights held once, state per session", "N"},
    {"streams", 0, 0, G_OPTION_ARG_INT, &opt_sessions, "Same as --sessions (one per stream)", "N"},
    {"nireq", 0, 0, G_OPTION_ARG_INT, &opt_nireq,
     "Sessions run at once, each on a thread of its own (the elements' nireq: frames in flight); "
     "prints the aggregate frames/s",
     "N"},
    {"threads", 'j', 0, G_OPTION_ARG_INT, &opt_threads, "CPU threads (0 = all cores)", "N"},
    {"beam-size", 0, 0, G_OPTION_ARG_INT, &opt_beam, "Beam size (0 = model default)", "N"},
    {"temperature", 0, 0, G_OPTION_ARG_DOUBLE, &opt_temperature,
     "Beam search: logits / T before the log-softmax (0 = the task's value)", "T"},
    {"length-penalty", 0, 0, G_OPTION_ARG_DOUBLE, &opt_length_penalty,
     "Beam search: hypothesis score sum / length^A (0 = the task's value)", "A"},
    {"device", 'd', 0, G_OPTION_ARG_STRING, &opt_device, "cpu (default), cuda or auto", "DEV"},
    {"gpu-id", 0, 0, G_OPTION_ARG_INT, &opt_gpu, "CUDA device ordinal (default 0)", "N"},
    {"profile", 0, 0, G_OPTION_ARG_NONE, &opt_profile,
     "Per-op profile of the timed frames (UFO_PROFILE=1: every op waited for, frames slower)",
     NULL},
    {"precision", 0, 0, G_OPTION_ARG_STRING, &opt_precision,
     "Weight-GEMM precision: fp32 (default), bf16 (oneDNN; fp32 without native bf16) or auto "
     "(bf16 where native; the pick is printed)",
     "P"},
    {"gray-masks", 0, 0, G_OPTION_ARG_NONE, &opt_gray_masks,
     "Instance masks as bytes (UFO_MASK_GRAY8, as the elements ask for them), not floats", NULL},
    {"gemm", 0, 0, G_OPTION_ARG_STRING, &opt_gemm,
     "Time one weight GEMM A(M,K)·W(N,K)^T instead of a task: sgemm vs the engine's fp32 and bf16",
     "M,N,K"},
    {NULL}};

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n)
{
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef void (*GemmFn)(void *ctx);

/* Best GFLOP/s of fn over warm-up + timed runs (at least 0.3 s of timed work). */
static double gflops(GemmFn fn, void *ctx, double flops)
{
  for (int i = 0; i < opt_warmup; i++)
    fn(ctx);
  double best = 0, spent = 0;
  for (int i = 0; i < opt_iters || spent < 0.3; i++) {
    gint64 a = g_get_monotonic_time();
    fn(ctx);
    double s = (g_get_monotonic_time() - a) / 1e6;
    spent += s;
    best = MAX(best, flops / s / 1e9);
  }
  return best;
}

typedef struct {
  int m, n, k;
  const float *a, *w;
  float *c;
  UfoBackend *be;
  UfoGemm g;
  gboolean ok;
  GError *error;
} GemmBench;

static void run_sgemm(void *ctx)
{
  GemmBench *b = ctx;
  ufo_host_gemm_nt(b->m, b->n, b->k, b->a, b->w, b->c); /* one OpenBLAS sgemm */
}

static void run_engine(void *ctx)
{
  GemmBench *b = ctx;
  if (b->ok && !ufo_op_gemm(b->be, &b->g, &b->error))
    b->ok = FALSE;
}

static UfoTensor *host_tensor(UfoBackend *be, int rows, int cols, const float *host,
                              gboolean weight, GError **error)
{
  int64_t ne[2] = {rows, cols};
  UfoTensor *t =
      host ? ufo_tensor_from_host(be, 2, ne, host, error) : ufo_tensor_new(be, 2, ne, error);
  if (t)
    t->weight = weight; /* as engine/nn/vit.c marks model weights */
  return t;
}

/* The oneDNN implementation of the CPU backend's bf16 GEMMs, once it ran (printed once). */
static void print_gemm_impl(void)
{
  const char *fell_back, *core = ufo_host_blas_core(&fell_back);
  if (fell_back)
    printf("  cpu BLAS             OpenBLAS %s kernels (OpenBLAS chose %s: it does not know "
           "this CPU; engine/backend/cpu/host_blas.c)\n",
           core, fell_back);
  else
    printf("  cpu BLAS             OpenBLAS %s kernels\n", core ? core : "(unknown)");
  const char *impl = ufo_backend_cpu_gemm_impl();
  if (impl)
    printf("  cpu bf16 GEMMs       oneDNN matmul %s\n", impl);
  for (int f32 = 0; f32 < 2; f32++) {
    const char *a = ufo_backend_cpu_attention_impl(f32 ? UFO_PRECISION_FP32 : UFO_PRECISION_BF16);
    if (a)
      printf("  cpu %s attention   oneDNN matmul %s\n", f32 ? "fp32" : "bf16", a);
  }
}

/* --gemm M,N,K */
static int bench_gemm(const char *spec)
{
  int m, n, k, threads = opt_threads ? opt_threads : (int)g_get_num_processors();
  char tail;
  if (sscanf(spec, "%d,%d,%d%c", &m, &n, &k, &tail) != 3 || m < 1 || n < 1 || k < 1) {
    fprintf(stderr, "ufo-bench: --gemm wants M,N,K (positive integers), got '%s'\n", spec);
    return 2;
  }
  double flops = 2.0 * m * n * k;
  GemmBench b = {.m = m, .n = n, .k = k, .ok = TRUE};
  float *a = g_new(float, (size_t)m *k), *w = g_new(float, (size_t)n *k);
  float *c32 = g_new0(float, (size_t)m *n), *c16 = g_new0(float, (size_t)m *n);
  GRand *rng = g_rand_new_with_seed(1);
  for (size_t i = 0; i < (size_t)m * k; i++)
    a[i] = (float)g_rand_double_range(rng, -1, 1);
  for (size_t i = 0; i < (size_t)n * k; i++)
    w[i] = (float)g_rand_double_range(rng, -0.05, 0.05);
  g_rand_free(rng);
  b.a = a;
  b.w = w;
  b.c = c32;
  ufo_host_blas_set_threads(threads); /* before any backend: it sets 1 process-wide */
  double g_sgemm = gflops(run_sgemm, &b, flops);

  /* [0] fp32, [1] bf16, [2] fp32 row-stable (UfoGemm.row_stable: the decode steps' kernel) */
  double g_prec[3] = {0, 0, 0}, pack_ms = 0;
  int rc = 0;
  for (int prec = 0; prec <= 2 && rc == 0; prec++) {
    g_autoptr(GError) error = NULL;
    UfoBackend *be = ufo_backend_cpu_new(threads, &error);
    UfoTensor *ta = NULL, *tw = NULL, *tc = NULL;
    if (be &&
        ufo_backend_set_precision(be, prec == 1 ? UFO_PRECISION_BF16 : UFO_PRECISION_FP32,
                                  &error) &&
        (ta = host_tensor(be, m, k, a, FALSE, &error)) &&
        (tw = host_tensor(be, n, k, w, TRUE, &error)) &&
        (tc = host_tensor(be, m, n, NULL, FALSE, &error))) {
      b.be = be;
      b.g = (UfoGemm){.a = ufo_view(ta),
                      .b = ufo_view(tw),
                      .c = ufo_view(tc),
                      .trans_b = TRUE,
                      .alpha = 1.f,
                      .batch = 1,
                      .row_stable = prec == 2};
      gint64 t0 = g_get_monotonic_time();
      run_engine(&b); /* bf16: reorders the weight once */
      if (prec == 1)
        pack_ms = (g_get_monotonic_time() - t0) / 1000.0;
      g_prec[prec] = gflops(run_engine, &b, flops);
      if (!b.ok)
        g_propagate_error(&error, g_steal_pointer(&b.error));
      else if (prec < 2)
        ufo_tensor_download(tc, 0, prec ? c16 : c32, (size_t)m * n, &error);
    }
    if (error) {
      fprintf(stderr, "ufo-bench: %s: %s\n", ufo_precision_name(prec), error->message);
      rc = 1;
    }
    g_clear_pointer(&ta, ufo_tensor_free);
    g_clear_pointer(&tw, ufo_tensor_free);
    g_clear_pointer(&tc, ufo_tensor_free);
    g_clear_pointer(&be, ufo_backend_free);
  }
  if (rc == 0) {
    double num = 0, den = 0;
    for (size_t i = 0; i < (size_t)m * n; i++) {
      num += ((double)c16[i] - c32[i]) * ((double)c16[i] - c32[i]);
      den += (double)c32[i] * c32[i];
    }
    printf("ufo-bench: gemm M=%d N=%d K=%d (%.2f GFLOP), threads %d, best of >= %d runs\n", m, n, k,
           flops / 1e9, threads, opt_iters);
    printf("  openblas sgemm       %8.1f GFLOP/s\n", g_sgemm);
    printf("  engine fp32          %8.1f GFLOP/s\n", g_prec[0]);
    printf("  engine bf16          %8.1f GFLOP/s  (x%.2f vs engine fp32; first call with "
           "weight reorder %.1f ms)\n",
           g_prec[1], g_prec[1] / g_prec[0], pack_ms);
    printf("  engine fp32 rows     %8.1f GFLOP/s  (row-stable: one multiply-add chain per "
           "element, the decode steps' GEMMs)\n",
           g_prec[2]);
    printf("  bf16 vs fp32 relative L2 %.3g\n", den > 0 ? sqrt(num / den) : sqrt(num));
    print_gemm_impl();
  }
  g_free(a);
  g_free(w);
  g_free(c32);
  g_free(c16);
  return rc;
}

static void clear_images(ToolImage *imgs, int n)
{
  for (int i = 0; i < n; i++)
    tool_image_clear(&imgs[i]);
  g_free(imgs);
}

/* ---- the frames of a task benchmark ---- */

enum { PRE, TEXT, IMAGE, GRID, DECODE, POST, TOTAL, N_STAGES };

typedef struct {
  UfoSession **sessions;
  const ToolImage *imgs;
  int n_img;
  const UfoRequest *req;
  double **stage, **dstage; /* [stage][k * sessions + j]: host ms; device ms (-1: no clock) */
  /* session 0's last timed frame */
  int n_steps, n_passes, n_objects;
  uint64_t decode_down;
  double *step_ms;
  /* --nireq: the threads start the timed frames together; wall time of all of them */
  GMutex lock;
  GCond go;
  int warm, rc;
  gint64 t_start, t_end;
  GError *error;
} Run;

/* Frame f of session j (f counts that session's frames: warm-up first): its stages into the
 * tables. 0, or 1 with run->error set (the first error). */
static int run_frame(Run *run, int f, int j, UfoImage *batch, UfoResult **results)
{
  const int n = opt_sessions;
  for (int i = 0; i < opt_batch; i++) /* the next images, cycled */
    batch[i] = run->imgs[((size_t)(f * n + j) * opt_batch + i) % run->n_img].image;
  GError *error = NULL;
  gint64 a = g_get_monotonic_time();
  if (!ufo_session_run_batch(run->sessions[j], batch, opt_batch, run->req, results, &error)) {
    g_mutex_lock(&run->lock);
    if (!run->error)
      run->error = error;
    else
      g_error_free(error);
    g_mutex_unlock(&run->lock);
    return 1;
  }
  double total = (g_get_monotonic_time() - a) / 1000.0;
  UfoResult *res = results[0];
  double post = 0; /* each frame's own post-processing; the other stages are the batch's */
  for (int i = 0; i < opt_batch; i++)
    post += results[i]->ms_post;
  int k = f - opt_warmup;
  if (k == -1) /* the profile covers the timed frames only */
    g_free(ufo_session_profile_report(run->sessions[j], TRUE));
  if (k >= 0) {
    double v[N_STAGES] = {res->ms_preprocess, res->ms_text, res->ms_image, res->ms_grid,
                          res->ms_decode,     post,         total};
    double d[N_STAGES] = {res->device_ms_preprocess,
                          res->device_ms_text,
                          res->device_ms_image,
                          res->device_ms_grid,
                          res->device_ms_decode,
                          -1,
                          -1};
    for (int s = 0; s < N_STAGES; s++) {
      run->stage[s][k * n + j] = v[s];
      run->dstage[s][k * n + j] = d[s];
    }
    if (k == opt_iters - 1 && j == 0) {
      run->n_steps = res->n_decode_steps;
      run->n_passes = res->n_decode_passes;
      run->step_ms = g_memdup2(res->ms_decode_step, sizeof(double) * MAX(run->n_steps, 1));
      run->n_objects = res->n_objects;
      run->decode_down = res->decode_bytes_down;
    }
  }
  for (int i = 0; i < opt_batch; i++)
    g_clear_pointer(&results[i], ufo_result_free);
  return 0;
}

/* Every iteration on every session in turn, one frame at a time. */
static int run_in_turn(Run *run)
{
  UfoImage *batch = g_new(UfoImage, opt_batch);
  UfoResult **results = g_new0(UfoResult *, opt_batch);
  int rc = 0;
  for (int f = 0; rc == 0 && f < opt_warmup + opt_iters; f++)
    for (int j = 0; rc == 0 && j < opt_sessions; j++) /* round-robin over the sessions */
      rc = run_frame(run, f, j, batch, results);
  g_free(batch);
  g_free(results);
  return rc;
}

typedef struct {
  Run *run;
  int j;
} Worker;

/* --nireq: session j's frames on a thread of its own; the timed frames start when every
 * thread has done its warm-up */
static gpointer in_flight_main(gpointer data)
{
  Worker *w = data;
  Run *run = w->run;
  UfoImage *batch = g_new(UfoImage, opt_batch);
  UfoResult **results = g_new0(UfoResult *, opt_batch);
  int rc = 0;
  for (int f = 0; rc == 0 && f < opt_warmup; f++)
    rc = run_frame(run, f, w->j, batch, results);
  g_mutex_lock(&run->lock);
  run->rc |= rc;
  if (++run->warm == opt_sessions) {
    run->t_start = g_get_monotonic_time();
    g_cond_broadcast(&run->go);
  }
  while (run->warm < opt_sessions)
    g_cond_wait(&run->go, &run->lock);
  rc = run->rc;
  g_mutex_unlock(&run->lock);
  for (int f = opt_warmup; rc == 0 && f < opt_warmup + opt_iters; f++)
    rc = run_frame(run, f, w->j, batch, results);
  g_mutex_lock(&run->lock);
  run->rc |= rc;
  run->t_end = MAX(run->t_end, g_get_monotonic_time());
  g_mutex_unlock(&run->lock);
  g_free(batch);
  g_free(results);
  return NULL;
}

/* --nireq N: the N sessions run at once, each on a thread of its own, as the elements' nireq
 * requests (docs/elements.md "Frames in flight"); prints the aggregate rate over the timed
 * frames. */
static int run_in_flight(Run *run)
{
  GThread **threads = g_new(GThread *, opt_sessions);
  Worker *workers = g_new(Worker, opt_sessions);
  for (int j = 0; j < opt_sessions; j++) {
    workers[j] = (Worker){run, j};
    threads[j] = g_thread_new("ufo-bench", in_flight_main, &workers[j]);
  }
  for (int j = 0; j < opt_sessions; j++)
    g_thread_join(threads[j]);
  g_free(threads);
  g_free(workers);
  return run->rc;
}

int main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) ctx =
      g_option_context_new("[IMAGE…] — time a UFO-ViT task per stage (frames cycle through the "
                           "images: --image and these)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  UfoRequest req = UFO_REQUEST_INIT;
  if (!g_option_context_parse(ctx, &argc, &argv, &error) ||
      !ufo_task_from_name(opt_task, &req.task, &error)) {
    fprintf(stderr, "ufo-bench: %s\n", error->message);
    return 2;
  }
  if (opt_iters < 1 || opt_warmup < 0 || opt_sessions < 1 || opt_batch < 1 || opt_batch > 1024) {
    fprintf(stderr, "ufo-bench: --iterations and --sessions must be >= 1, --batch 1..1024 and "
                    "--warmup >= 0\n");
    return 2;
  }
  if (opt_nireq < 1 || (opt_nireq > 1 && opt_sessions != 1 && opt_sessions != opt_nireq)) {
    fprintf(stderr, "ufo-bench: --nireq N runs N sessions at once: give it alone (or with "
                    "--sessions N)\n");
    return 2;
  }
  if (opt_nireq > 1)
    opt_sessions = opt_nireq;
  req.mask_format = opt_gray_masks ? UFO_MASK_GRAY8 : UFO_MASK_FLOAT;
  if (opt_gemm)
    return bench_gemm(opt_gemm);
  UfoPrecision precision;
  if (!ufo_precision_from_name(opt_precision, &precision, &error)) {
    fprintf(stderr, "ufo-bench: %s\n", error->message);
    return 2;
  }
  req.prompt = req.task == UFO_TASK_GROUNDING ? opt_prompt : NULL;
  req.beam_size = opt_beam;
  req.temperature = (float)opt_temperature;
  req.length_penalty = (float)opt_length_penalty;
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(UfoModel) model = opt_model ? ufo_model_load(opt_model, &error)
                                        : ufo_model_new_random(opt_config, opt_seed, &error);
  if (!model) {
    fprintf(stderr, "ufo-bench: %s\n", error->message);
    return 1;
  }
  double ms_load = (g_get_monotonic_time() - t0) / 1000.0;
  /* --plan trained: one planted sequence per decoded sequence (grids, or the one caption) */
  BenchPlan plan = {0};
  if (g_strcmp0(opt_plan, "worst") != 0) {
    const UfoConfig *cfg = &model->cfg;
    const UfoTaskConfig *tc = &cfg->tasks[req.task];
    int hp = tc->input_size / cfg->patch_size;
    int gside = tc->grid_per_window * (hp / cfg->window_size);
    int n_seq = req.task == UFO_TASK_DETECTION || req.task == UFO_TASK_INSTANCE ||
                        req.task == UFO_TASK_SEMANTIC
                    ? MAX(gside * gside, 1)
                    : 1;
    if (!ufo_model_supports_task(model, req.task) ||
        !bench_plan_make(model, req.task, n_seq, opt_plan, &plan, &error)) {
      fprintf(stderr, "ufo-bench: %s\n",
              error ? error->message : "the model does not have this task");
      bench_plan_clear(&plan);
      return 2;
    }
    req.plan = &plan.plan;
  }
  /* the frames' images: --image, then the positional ones, cycled through; else synthetic */
  const int n_img = MAX(1, (opt_image ? 1 : 0) + argc - 1);
  ToolImage *imgs = g_new0(ToolImage, n_img);
  ToolImage img = {0}; /* the first, for the report */
  for (int i = 0; i < n_img; i++) {
    const char *path = opt_image ? (i == 0 ? opt_image : argv[i]) : argv[i + 1];
    if (argc == 1 && !opt_image) {
      tool_image_synthetic(opt_width, opt_height, &imgs[i]);
    } else if (!tool_image_load(path, &imgs[i], &error)) {
      fprintf(stderr, "ufo-bench: %s\n", error->message);
      for (int k = 0; k < i; k++)
        tool_image_clear(&imgs[k]);
      g_free(imgs);
      bench_plan_clear(&plan);
      return 1;
    }
  }
  img = imgs[0];
  UfoDevice device = UFO_DEVICE_CPU;
  if (g_strcmp0(opt_device, "cuda") == 0)
    device = UFO_DEVICE_CUDA;
  else if (g_strcmp0(opt_device, "auto") == 0)
    device = UFO_DEVICE_AUTO;
  else if (g_strcmp0(opt_device, "cpu") != 0) {
    fprintf(stderr, "ufo-bench: unknown device '%s' (cpu, cuda, auto)\n", opt_device);
    clear_images(imgs, n_img);
    bench_plan_clear(&plan);
    return 2;
  }
  UfoSessionOptions opts = {
      .device = device, .gpu_id = opt_gpu, .threads = opt_threads, .precision = precision};
  if (opt_profile)
    g_setenv("UFO_PROFILE", "1", TRUE); /* read when the session's backend is made */
  UfoSession **sessions = g_new0(UfoSession *, opt_sessions);
  for (int j = 0; j < opt_sessions; j++)
    if (!(sessions[j] = ufo_session_new(model, &opts, &error))) {
      fprintf(stderr, "ufo-bench: %s\n", error->message);
      for (int i = 0; i < j; i++)
        ufo_session_free(sessions[i]);
      g_free(sessions);
      clear_images(imgs, n_img);
      bench_plan_clear(&plan);
      return 1;
    }
  for (int j = 0; j < opt_sessions; j++) { /* size every session for the task first */
    gint64 t0 = g_get_monotonic_time();
    if (!ufo_session_prepare_batch(sessions[j], req.task, opt_batch, &error)) {
      fprintf(stderr, "ufo-bench: %s\n", error->message);
      for (int i = 0; i < opt_sessions; i++)
        ufo_session_free(sessions[i]);
      g_free(sessions);
      clear_images(imgs, n_img);
      bench_plan_clear(&plan);
      return 1;
    }
    printf("prepare %.0f ms\n", (g_get_monotonic_time() - t0) / 1000.0);
  }
  UfoSession *session = sessions[0]; /* the per-step times, profile, decode bytes */
  const int n_frames = opt_iters * opt_sessions;
  static const char *names[N_STAGES] = {"preprocess", "text pass",  "image pass", "grid pass",
                                        "decode",     "post-proc.", "total"};
  double *stage[N_STAGES], *dstage[N_STAGES]; /* host ms; device ms (-1: no device clock) */
  for (int s = 0; s < N_STAGES; s++) {
    stage[s] = g_new0(double, n_frames);
    dstage[s] = g_new0(double, n_frames);
  }
  Run run = {.sessions = sessions,
             .imgs = imgs,
             .n_img = n_img,
             .req = &req,
             .stage = stage,
             .dstage = dstage};
  g_mutex_init(&run.lock);
  g_cond_init(&run.go);
  int rc = opt_nireq > 1 ? run_in_flight(&run) : run_in_turn(&run);
  g_mutex_clear(&run.lock);
  g_cond_clear(&run.go);
  if (run.error) {
    fprintf(stderr, "ufo-bench: %s\n", run.error->message);
    g_clear_error(&run.error);
  }
  const int n_steps = run.n_steps, n_passes = run.n_passes, n_objects = run.n_objects;
  const uint64_t decode_down = run.decode_down;
  const double in_flight_ms = opt_nireq > 1 ? (run.t_end - run.t_start) / 1000.0 : 0;
  double *step_ms = run.step_ms;
  if (rc == 0) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    UfoPrecision ran = ufo_session_get_precision(session);
    g_autofree char *prec =
        precision == ran
            ? g_strdup(ufo_precision_name(ran))
            : g_strdup_printf("%s -> %s", ufo_precision_name(precision), ufo_precision_name(ran));
    printf("ufo-bench: model %s, task %s, image %dx%d%s, backend %s, threads %d, precision %s, "
           "iterations %d (+%d warm-up), sessions %d, batch %d\n",
           opt_model ? opt_model : opt_config, opt_task, img.image.width, img.image.height,
           n_img > 1 ? " (first of the images)" : "", ufo_session_get_backend_name(session),
           opt_threads ? opt_threads : (int)g_get_num_processors(), prec, opt_iters, opt_warmup,
           opt_sessions, opt_batch);
    print_gemm_impl();
    printf("  decode plan          %s", opt_plan);
    if (req.plan)
      printf(" (%d of %d sequences decode an object)", plan.n_decoding, plan.plan.n_seq);
    printf("\n");
    printf("  model load           %10.1f ms\n", ms_load);
    for (int s = 0; s < N_STAGES; s++) {
      printf("  %-20s %10.1f ms (median%s)", names[s], median(stage[s], n_frames),
             opt_batch > 1 ? ", per batch" : "");
      const double dev = median(dstage[s], n_frames);
      if (dev >= 0) /* the device's own time (events), without the host's enqueueing */
        printf("  device %8.2f ms", dev);
      printf("\n");
    }
    printf("  decode steps (last run): %d", n_steps);
    if (n_passes != n_steps) /* <MASK> runs decoded in draft passes of several steps */
      printf(" in %d passes", n_passes);
    for (int i = 0; i < n_steps; i++)
      printf("%s%.1f", i ? " " : " [ms: ", step_ms[i]);
    printf("%s\n", n_steps ? "]" : "");
    printf("  objects (last run): %d\n", n_objects);
    printf("  decode download (last run): %llu bytes, %.0f per step\n",
           (unsigned long long)decode_down, n_steps ? (double)decode_down / n_steps : 0.0);
    printf("  frames/s             %10.3f\n", opt_batch * 1000.0 / median(stage[TOTAL], n_frames));
    if (opt_nireq > 1) /* all sessions' timed frames over the wall time from their common start */
      printf("  frames/s, %d in flight %7.3f (aggregate: %d frames in %.1f ms)\n", opt_nireq,
             n_frames * opt_batch * 1000.0 / in_flight_ms, n_frames * opt_batch, in_flight_ms);
    unsigned recorded = 0, launched = 0;
    ufo_session_get_graph_counts(session, &recorded, &launched);
    /* the image and grid passes as backend graphs (CUDA; UFO_GRAPHS=0 turns them off) */
    printf("  graphs               %u recorded, %u launches (session 0)\n", recorded, launched);
    /* decode steps as backend graphs: one per step index and row count */
    ufo_session_get_decode_graph_counts(session, &recorded, &launched);
    printf("  step graphs          %u recorded, %u launches (session 0)\n", recorded, launched);
    size_t weights = 0, state;
    ufo_session_get_memory(session, &weights, NULL);
    printf("  weights              %10.1f MiB (one copy for %d session%s)\n", weights / 1048576.0,
           opt_sessions, opt_sessions > 1 ? "s" : "");
    for (int j = 0; j < opt_sessions; j++) {
      ufo_session_get_memory(sessions[j], NULL, &state);
      printf("  state, session %-4d %10.1f MiB\n", j, state / 1048576.0);
    }
    printf("  peak memory          %10.1f MiB\n", ru.ru_maxrss / 1024.0);
  }
  g_autofree char *profile = rc == 0 ? ufo_session_profile_report(session, FALSE) : NULL;
  if (profile)
    printf("  per-op profile, %d timed frames:\n%s", opt_iters, profile);
  g_free(step_ms);
  for (int s = 0; s < N_STAGES; s++) {
    g_free(stage[s]);
    g_free(dstage[s]);
  }
  for (int j = 0; j < opt_sessions; j++)
    ufo_session_free(sessions[j]);
  g_free(sessions);
  clear_images(imgs, n_img);
  bench_plan_clear(&plan);
  return rc;
}
