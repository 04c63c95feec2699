/* Data movement: window partition/unpartition (inference §5.1), row gather (embedding lookup,
 * KV-cache reorder/compaction), patch extraction for the patch-embedding GEMM (§5.2). */
#include "cpu.h"

#include <string.h>

/* Row of the (h*w) map for partitioned row r: window (wy, wx) row-major over windows, token
 * (ty, tx) row-major inside the window (inference §5.1). */
static inline int64_t window_src_row(int64_t r, int w, int ws)
{
  int64_t per = (int64_t)ws * ws, nwx = w / ws;
  int64_t win = r / per, t = r % per;
  int64_t y = (win / nwx) * ws + t / ws, x = (win % nwx) * ws + t % ws;
  return y * w + x;
}

void ufo_cpu_window_partition_ref(UfoView y, UfoView x, int h, int w, int ws, gboolean inverse)
{
  for (int64_t r = 0; r < (int64_t)h * w; r++) {
    int64_t s = window_src_row(r, w, ws);
    const float *src = ufo_cpu_ptr(x) + (inverse ? r : s) * x.ld;
    float *dst = ufo_cpu_ptr(y) + (inverse ? s : r) * y.ld;
    for (int64_t c = 0; c < x.cols; c++)
      dst[c] = src[c];
  }
}

typedef struct {
  UfoView y, x;
  int w, ws;
  gboolean inverse;
  const int32_t *idx;
} MoveJob;

static void partition_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  MoveJob *j = ctx;
  size_t bytes = (size_t)j->x.cols * sizeof(float);
  for (int64_t r = begin; r < end; r++) {
    int64_t s = window_src_row(r, j->w, j->ws);
    memcpy(ufo_cpu_ptr(j->y) + (j->inverse ? s : r) * j->y.ld,
           ufo_cpu_ptr(j->x) + (j->inverse ? r : s) * j->x.ld, bytes);
  }
}

void ufo_cpu_window_partition(UfoCpu *cpu, UfoView y, UfoView x, int h, int w, int ws,
                              gboolean inverse)
{
  MoveJob j = {.y = y, .x = x, .w = w, .ws = ws, .inverse = inverse};
  ufo_pool_run(cpu->pool, (int64_t)h * w, 64, partition_task, &j);
}

void ufo_cpu_gather_rows_ref(UfoView y, UfoView x, const int32_t *idx)
{
  /* ascending order: in-place compaction (idx[i] >= i) reads rows not yet overwritten */
  for (int64_t i = 0; i < y.rows; i++) {
    const float *src = ufo_cpu_ptr(x) + (idx ? idx[i] : i) * x.ld;
    float *dst = ufo_cpu_ptr(y) + i * y.ld;
    if (src != dst)
      for (int64_t c = 0; c < y.cols; c++)
        dst[c] = src[c];
  }
}

void ufo_cpu_gather_rows(UfoCpu *cpu, UfoView y, UfoView x, const int32_t *idx)
{
  /* sequential on purpose: the in-place compaction contract depends on the order */
  size_t bytes = (size_t)y.cols * sizeof(float);
  for (int64_t i = 0; i < y.rows; i++) {
    const float *src = ufo_cpu_ptr(x) + (idx ? idx[i] : i) * x.ld;
    float *dst = ufo_cpu_ptr(y) + i * y.ld;
    if (src != dst)
      memmove(dst, src, bytes);
  }
}

/* inference §5.2: Conv2d(k = s = P) as a GEMM: patch (py, px) row, column c*P*P + ky*P + kx */
void ufo_cpu_patchify_ref(UfoView y, UfoView x, int h, int w, int p)
{
  int wp = w / p, hp = h / p;
  for (int64_t r = 0; r < (int64_t)hp * wp; r++) {
    int64_t py = r / wp, px = r % wp;
    float *dst = ufo_cpu_ptr(y) + r * y.ld;
    for (int c = 0; c < 3; c++)
      for (int ky = 0; ky < p; ky++)
        for (int kx = 0; kx < p; kx++)
          dst[(c * p + ky) * p + kx] =
              ufo_cpu_ptr(x)[((int64_t)c * h + py * p + ky) * x.ld + px * p + kx];
  }
}

typedef struct {
  UfoView y, x;
  int h, w, p;
} PatchJob;

static void patch_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  PatchJob *j = ctx;
  int wp = j->w / j->p, p = j->p;
  for (int64_t r = begin; r < end; r++) {
    int64_t py = r / wp, px = r % wp;
    float *dst = ufo_cpu_ptr(j->y) + r * j->y.ld;
    for (int c = 0; c < 3; c++)
      for (int ky = 0; ky < p; ky++)
        memcpy(dst + (c * p + ky) * p,
               ufo_cpu_ptr(j->x) + ((int64_t)c * j->h + py * p + ky) * j->x.ld + px * p,
               (size_t)p * sizeof(float));
  }
}

void ufo_cpu_patchify(UfoCpu *cpu, UfoView y, UfoView x, int h, int w, int p)
{
  PatchJob j = {y, x, h, w, p};
  ufo_pool_run(cpu->pool, (int64_t)(h / p) * (w / p), 64, patch_task, &j);
}
