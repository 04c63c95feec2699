/* Micro-benchmark of the UFO-ViT forward on the CPU backend (not a test): random weights
 * (ufo_model_new_random), the synthetic image at the task's input size, a fixed prompt of T
 * tokens, greedy-style decode steps over all rows (no compaction).
 * Usage: bench-nn CONFIG TASK [threads=0] [iterations=1] [prompt_tokens=200] [decode_steps=5]
 * Prints per-stage wall and CPU milliseconds (the machine may be shared: CPU time is steadier). */
#include "model/model.h"
#include "nn/vit.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static double wall_ms(void)
{
  return g_get_monotonic_time() / 1e3;
}

#define STAGE(label, call)                                                                         \
  do {                                                                                             \
    double w0 = wall_ms(), c0 = cpu_ms();                                                          \
    if (!(call)) {                                                                                 \
      fprintf(stderr, "%s: %s\n", label, err->message);                                            \
      return 1;                                                                                    \
    }                                                                                              \
    printf("%-8s wall %9.1f ms  cpu %9.1f ms\n", label, wall_ms() - w0, cpu_ms() - c0);            \
  } while (0)

int main(int argc, char **argv)
{
  if (argc < 3) {
    fprintf(stderr, "usage: %s CONFIG TASK [threads] [iterations] [prompt_tokens] [steps]\n",
            argv[0]);
    return 2;
  }
  int threads = argc > 3 ? atoi(argv[3]) : 0, iters = argc > 4 ? atoi(argv[4]) : 1;
  int T = argc > 5 ? atoi(argv[5]) : 200, steps = argc > 6 ? atoi(argv[6]) : 5;
  g_autoptr(GError) err = NULL;
  UfoTask task;
  if (!ufo_task_from_name(argv[2], &task, &err)) {
    fprintf(stderr, "%s\n", err->message);
    return 2;
  }
  g_autoptr(UfoModel) model = ufo_model_new_random(argv[1], 0, &err);
  if (!model) {
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  const UfoConfig *cfg = &model->cfg;
  const UfoTaskConfig *tc = &cfg->tasks[task];
  UfoBackend *be = ufo_backend_cpu_new(threads, &err);
  UfoVit *vit = ufo_vit_new(model, be, &err);
  UfoVitState *st = ufo_vit_state_new(vit, &err);
  int S = tc->input_size, hp = S / cfg->patch_size;
  float *img = g_new(float, (size_t)3 * S * S);
  for (size_t i = 0; i < (size_t)3 * S * S; i++)
    img[i] = (float)((i * 2654435761u) % 1000) / 500.f - 1.f;
  int32_t *ids = g_new(int32_t, T);
  uint8_t *masked = g_new0(uint8_t, T);
  for (int j = 0; j < T; j++)
    ids[j] = j == 0 ? 101 : 1000 + (j * 37) % 20000;
  int gw = tc->grid_per_window * (hp / cfg->window_size), Q = gw * gw;
  float *ref = g_new(float, 2 * (size_t)MAX(Q, 1));
  for (int q = 0; q < Q; q++) {
    ref[2 * q] = ((float)(q % gw) + 0.5f) / (float)gw;
    ref[2 * q + 1] = ((float)(q / gw) + 0.5f) / (float)gw;
  }
  gboolean grid = Q > 0;
  int rows = grid ? Q : MAX(tc->beam_size, 1);
  int V = cfg->vocab_size;
  float *logits = g_new(float, (size_t)rows *V);
  int32_t *tok = g_new(int32_t, rows);
  printf("%s %s: %dx%d, T=%d, Q=%d, rows=%d, threads=%d\n", argv[1], argv[2], S, S, T, Q, rows,
         threads);
  for (int it = 0; it < iters; it++) {
    STAGE("text", ufo_vit_text_pass(st, ids, masked, T, &err));
    STAGE("image",
          ufo_vit_image_pass(st, img, S, S, grid ? ref : NULL, Q, gw, gw,
                             task == UFO_TASK_INSTANCE || task == UFO_TASK_SEMANTIC, &err));
    if (grid)
      STAGE("grid", ufo_vit_grid_pass(st, &err));
    STAGE("begin", ufo_vit_decode_begin(st, grid, rows, MAX(steps, 1), &err));
    UfoDecoder d = ufo_vit_decoder(st);
    for (int t = 0; t < steps; t++) {
      for (int r = 0; r < rows; r++)
        tok[r] = t == 0 ? 101 : 1000 + (r * 7 + t) % 20000;
      char label[16];
      g_snprintf(label, sizeof label, "step%d", t);
      STAGE(label, d.step(d.ctx, tok, rows, t, logits, NULL, &err));
    }
  }
  g_free(img);
  g_free(ids);
  g_free(masked);
  g_free(ref);
  g_free(logits);
  g_free(tok);
  ufo_vit_state_free(st);
  ufo_vit_free(vit);
  ufo_backend_free(be);
  return 0;
}
