/* The CPU backend's preprocess op (backend.h, preprocess.h): the host path, writing the (3, S*S)
 * output tensor in place (tensors are host memory), in bands of output rows side by side on the
 * pool. Each band converts and resizes only the source rows its rows read
 * (ufo_preprocess_host_rows), so the result is bit for bit the whole host path's. Keeps no
 * per-session state. */
#include "cpu.h"
#include "../preprocess.h"

typedef struct {
  const UfoImage *image;
  const UfoPrepParams *p;
  UfoCpu *cpu; /* its workers' scratch: the bands' buffers (no fresh pages a frame) */
  float *out;
  size_t ld;
  int band;
} PrepJob;

static void prep_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const PrepJob *j = ctx;
  for (int64_t b = begin; b < end; b++) {
    const int y0 = (int)b * j->band, y1 = MIN(j->p->size, y0 + j->band);
    ufo_preprocess_host_rows(j->image, j->p, j->out, j->ld, y0, y1, j->cpu->scratch[worker]);
  }
}

gboolean ufo_cpu_preprocess(UfoBackend *be, void *state, UfoView y, const UfoImage *image,
                            const UfoPrepParams *p, GError **error)
{
  UfoCpu *cpu = (UfoCpu *)be->ctx;
  (void)state;
  if (cpu->reference || cpu->threads <= 1) /* the host path as it is */
    return ufo_preprocess_host(image, p, ufo_cpu_ptr(y), (size_t)y.ld, error);
  /* the host path's own check (the wrapper has checked the image and the parameters) */
  if (image->memory != UFO_MEMORY_HOST) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "preprocess: the host path cannot read an image in device memory");
    return FALSE;
  }
  /* 4 bands per worker, of at least 16 rows: the rows a band's resize shares with its
   * neighbours are converted twice */
  const int S = p->size, per = (S + 4 * cpu->threads - 1) / (4 * cpu->threads);
  PrepJob j = {image, p, cpu, ufo_cpu_ptr(y), (size_t)y.ld, MIN(S, MAX(16, per))};
  size_t bytes = 0;
  for (int y0 = 0; y0 < S; y0 += j.band)
    bytes = MAX(bytes, ufo_preprocess_host_scratch(image, p, y0, MIN(S, y0 + j.band)));
  ufo_cpu_scratch_reserve(cpu, (bytes + sizeof(float) - 1) / sizeof(float));
  ufo_pool_run(cpu->pool, (S + j.band - 1) / j.band, 1, prep_run, &j);
  return TRUE;
}
