/* Micro-benchmark of the CPU backend's attention op (not a test) on ViT-B's image and grid pass
 * shapes at 1120² (70x70 patches, 12 heads of 64, 16 masked text keys): a global layer (4,900
 * queries over text + 4,900 keys, rel-pos), a window layer (25 windows of 196, rel-pos) and the
 * grid pass (25 windows of 25 queries over the window's 196 keys and their own key), a decode step
 * (625 rows of 1 query over its grid token's key and 10 decoded tokens).
 * Usage: bench-attention fp32|bf16 global|window|grid|decode [threads=2] [iterations=3]
 * Prints the best wall time and the CPU time per call (the machine may be shared: CPU time is
 * steadier). bf16 without native bf16 runs fp32 (the backend's fallback). */
#include "backend/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum {
  NH = 12,
  D = 64,
  C = NH * D,
  T = 16,
  P = 70,
  WS = 14,
  NW = 25,
  GQ = 25,
  DEC = 10,
  DMAX = 32
};

static double cpu_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* a (rows, cols) tensor of uniform values in [-1.5, 1.5) */
static UfoTensor *random_matrix(UfoBackend *be, int64_t rows, int64_t cols, GRand *rng,
                                GError **err)
{
  int64_t n = rows * cols;
  UfoTensor *t = ufo_tensor_new(be, 1, &n, err);
  if (t == NULL)
    return NULL;
  float *h = g_new(float, n);
  for (int64_t i = 0; i < n; i++)
    h[i] = (float)g_rand_double_range(rng, -1.5, 1.5);
  gboolean ok = ufo_tensor_upload(t, 0, h, (size_t)n, err);
  g_free(h);
  if (!ok) {
    ufo_tensor_free(t);
    return NULL;
  }
  return t;
}

int main(int argc, char **argv)
{
  if (argc < 3 || (strcmp(argv[1], "fp32") && strcmp(argv[1], "bf16")) ||
      (strcmp(argv[2], "global") && strcmp(argv[2], "window") && strcmp(argv[2], "grid") &&
       strcmp(argv[2], "decode"))) {
    fprintf(stderr, "usage: %s fp32|bf16 global|window|grid|decode [threads] [iterations]\n",
            argv[0]);
    return 2;
  }
  int threads = argc > 3 ? atoi(argv[3]) : 2, iters = argc > 4 ? atoi(argv[4]) : 3;
  gboolean global = strcmp(argv[2], "global") == 0, grid = strcmp(argv[2], "grid") == 0;
  gboolean decode = strcmp(argv[2], "decode") == 0;
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_backend_cpu_new(threads, &err);
  if (be == NULL ||
      !ufo_backend_set_precision(
          be, strcmp(argv[1], "bf16") == 0 ? UFO_PRECISION_BF16 : UFO_PRECISION_FP32, &err)) {
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  GRand *rng = g_rand_new_with_seed(1);
  int rh = global ? P : WS, groups = global ? 1 : decode ? NW * GQ : NW;
  int nq = decode ? 1 : grid ? GQ : rh * rh;
  int64_t rows = (int64_t)groups * nq, img = (int64_t)P * P;
  UfoTensor *t[7] = {
      random_matrix(be, rows, C, rng, &err),                      /* q */
      random_matrix(be, rows, C, rng, &err),                      /* out */
      random_matrix(be, MAX(img, rows * DMAX), 2 * C, rng, &err), /* image / decoded [k | v] */
      random_matrix(be, T, 2 * C, rng, &err),                     /* text [k | v] */
      random_matrix(be, 2 * rh - 1, D, rng, &err),                /* Rh */
      random_matrix(be, 2 * rh - 1, D, rng, &err),                /* Rw */
      random_matrix(be, rows, 2 * C, rng, &err),                  /* own [k | v] (grid) */
  };
  for (int i = 0; i < 7; i++)
    if (t[i] == NULL) {
      fprintf(stderr, "%s\n", err->message);
      return 1;
    }
  UfoAttention at = {.q = ufo_view_at(t[0], 0, rows, C, C),
                     .out = ufo_view_at(t[1], 0, rows, C, C),
                     .n_groups = groups,
                     .group_q = nq,
                     .n_heads = NH,
                     .head_dim = D,
                     .scale = 0.125f};
  UfoAttnKeys image = {.k = ufo_view_at(t[2], 0, img, C, 2 * C),
                       .v = ufo_view_at(t[2], C, img, C, 2 * C),
                       .n = (int64_t)rh * rh,
                       .group_stride = global ? 0 : WS * WS};
  if (decode) { /* a row's grid token (its prefix), then its decoded tokens */
    at.n_segs = 2;
    at.seg[0] = (UfoAttnKeys){.k = ufo_view_at(t[6], 0, rows, C, 2 * C),
                              .v = ufo_view_at(t[6], C, rows, C, 2 * C),
                              .n = 1,
                              .group_stride = 1};
    at.seg[1] = (UfoAttnKeys){.k = ufo_view_at(t[2], 0, rows * DMAX, C, 2 * C),
                              .v = ufo_view_at(t[2], C, rows * DMAX, C, 2 * C),
                              .n = DEC,
                              .group_stride = DMAX};
  } else if (grid) { /* the window's image tokens, then the query's own key */
    at.n_segs = 1;
    at.seg[0] = image;
    at.self_key = TRUE;
    at.self_k = ufo_view_at(t[6], 0, rows, C, 2 * C);
    at.self_v = ufo_view_at(t[6], C, rows, C, 2 * C);
  } else { /* the text keys of every group, then the region's tokens with rel-pos */
    at.n_segs = 2;
    at.seg[0] = (UfoAttnKeys){
        .k = ufo_view_at(t[3], 0, T, C, 2 * C), .v = ufo_view_at(t[3], C, T, C, 2 * C), .n = T};
    at.seg[1] = image;
    at.seg[1].rel_pos = TRUE;
    at.rel_h_table = ufo_view_at(t[4], 0, 2 * rh - 1, D, D);
    at.rel_w_table = ufo_view_at(t[5], 0, 2 * rh - 1, D, D);
    at.rel_h = at.rel_w = rh;
  }
  if (!ufo_op_attention(be, &at, &err)) { /* warm-up: buffers and primitives */
    fprintf(stderr, "%s\n", err->message);
    return 1;
  }
  double best = G_MAXDOUBLE, c0 = cpu_ms();
  for (int i = 0; i < iters; i++) {
    double w0 = g_get_monotonic_time() / 1e3;
    if (!ufo_op_attention(be, &at, &err)) {
      fprintf(stderr, "%s\n", err->message);
      return 1;
    }
    best = MIN(best, g_get_monotonic_time() / 1e3 - w0);
  }
  printf("attention %s %s (%d x %d queries), %d threads: best %.1f ms wall, %.1f ms cpu per call\n",
         argv[1], argv[2], groups, nq, threads, best, (cpu_ms() - c0) / iters);
  for (int i = 0; i < 7; i++)
    ufo_tensor_free(t[i]);
  g_rand_free(rng);
  ufo_backend_free(be);
  return 0;
}
