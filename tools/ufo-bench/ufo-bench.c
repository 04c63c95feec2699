/* ufo-bench: per-stage timing of one UFO-ViT task.
 *
 *   ufo-bench --config vit-b --task detection --iterations 3 --threads 2
 *   ufo-bench --model models/ufo-demo.safetensors --task instance --image frame.png
 *
 * Without --model the weights are the deterministic random weights of docs/weights-prng.md.
 * Prints milliseconds per stage (median over the timed iterations), frames/s, peak memory and
 * threads. Planted plans are not used: decode lengths follow what the model generates.
 */
#include "ufo/ufo.h"
#include "../common/image_io.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

static char *opt_model, *opt_config = "tiny", *opt_task = "detection", *opt_prompt = "the red car";
static char *opt_image;
static int opt_iters = 3, opt_warmup = 1, opt_threads, opt_width = 640, opt_height = 480;
static gint64 opt_seed;

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
    {"threads", 'j', 0, G_OPTION_ARG_INT, &opt_threads, "CPU threads (0 = all cores)", "N"},
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

int main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) ctx = g_option_context_new("— time a UFO-ViT task per stage");
  g_option_context_add_main_entries(ctx, entries, NULL);
  UfoRequest req = UFO_REQUEST_INIT;
  if (!g_option_context_parse(ctx, &argc, &argv, &error) ||
      !ufo_task_from_name(opt_task, &req.task, &error)) {
    fprintf(stderr, "ufo-bench: %s\n", error->message);
    return 2;
  }
  if (opt_iters < 1 || opt_warmup < 0) {
    fprintf(stderr, "ufo-bench: --iterations must be >= 1 and --warmup >= 0\n");
    return 2;
  }
  req.prompt = req.task == UFO_TASK_GROUNDING ? opt_prompt : NULL;
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(UfoModel) model = opt_model ? ufo_model_load(opt_model, &error)
                                        : ufo_model_new_random(opt_config, opt_seed, &error);
  if (!model) {
    fprintf(stderr, "ufo-bench: %s\n", error->message);
    return 1;
  }
  double ms_load = (g_get_monotonic_time() - t0) / 1000.0;
  ToolImage img = {0};
  if (opt_image) {
    if (!tool_image_load(opt_image, &img, &error)) {
      fprintf(stderr, "ufo-bench: %s\n", error->message);
      return 1;
    }
  } else {
    tool_image_synthetic(opt_width, opt_height, &img);
  }
  UfoSessionOptions opts = {.device = UFO_DEVICE_CPU, .threads = opt_threads};
  g_autoptr(UfoSession) session = ufo_session_new(model, &opts, &error);
  if (!session) {
    fprintf(stderr, "ufo-bench: %s\n", error->message);
    tool_image_clear(&img);
    return 1;
  }
  enum { PRE, TEXT, IMAGE, GRID, DECODE, POST, TOTAL, N_STAGES };
  static const char *names[N_STAGES] = {"preprocess", "text pass",  "image pass", "grid pass",
                                        "decode",     "post-proc.", "total"};
  double *stage[N_STAGES];
  for (int s = 0; s < N_STAGES; s++)
    stage[s] = g_new0(double, opt_iters);
  int n_steps = 0, n_objects = 0;
  double *step_ms = NULL;
  int rc = 0;
  for (int it = 0; it < opt_warmup + opt_iters; it++) {
    UfoResult *res = NULL;
    gint64 a = g_get_monotonic_time();
    if (!ufo_session_run(session, &img.image, &req, &res, &error)) {
      fprintf(stderr, "ufo-bench: %s\n", error->message);
      rc = 1;
      break;
    }
    double total = (g_get_monotonic_time() - a) / 1000.0;
    int k = it - opt_warmup;
    if (k >= 0) {
      double v[N_STAGES] = {res->ms_preprocess, res->ms_text, res->ms_image, res->ms_grid,
                            res->ms_decode,     res->ms_post, total};
      for (int s = 0; s < N_STAGES; s++)
        stage[s][k] = v[s];
      if (k == opt_iters - 1) {
        n_steps = res->n_decode_steps;
        step_ms = g_memdup2(res->ms_decode_step, sizeof(double) * MAX(n_steps, 1));
        n_objects = res->n_objects;
      }
    }
    ufo_result_free(res);
  }
  if (rc == 0) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("ufo-bench: model %s, task %s, image %dx%d, threads %d, iterations %d (+%d warm-up)\n",
           opt_model ? opt_model : opt_config, opt_task, img.image.width, img.image.height,
           opt_threads ? opt_threads : (int)g_get_num_processors(), opt_iters, opt_warmup);
    printf("  model load           %10.1f ms\n", ms_load);
    for (int s = 0; s < N_STAGES; s++)
      printf("  %-20s %10.1f ms (median)\n", names[s], median(stage[s], opt_iters));
    printf("  decode steps (last run): %d", n_steps);
    for (int i = 0; i < n_steps; i++)
      printf("%s%.1f", i ? " " : " [ms: ", step_ms[i]);
    printf("%s\n", n_steps ? "]" : "");
    printf("  objects (last run): %d\n", n_objects);
    printf("  frames/s             %10.3f\n", 1000.0 / median(stage[TOTAL], opt_iters));
    printf("  peak memory          %10.1f MiB\n", ru.ru_maxrss / 1024.0);
  }
  g_free(step_ms);
  for (int s = 0; s < N_STAGES; s++)
    g_free(stage[s]);
  tool_image_clear(&img);
  return rc;
}
