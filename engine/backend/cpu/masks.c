/* Segmentation mask ops (backend.h mask_logits, mask_threshold, mask_probs, mask_semantic;
 * seg §2.6-§2.9, §3.6) on the CPU. The arithmetic is the host reference's (engine/tasks/masks.c,
 * backend/mask_math.h), so results are bit for bit those of the host path: the mask product is
 * one cblas_sgemm (16, hp*wp, C) per object exactly as ufo_host_gemm_nt computes it (never split
 * across workers, whose partial products would change the last bits), the per-pixel values and
 * the sums in the same order. The pool runs objects (or row bands) side by side; each result
 * depends only on its own object. The reference backend differs only in the product: a plain
 * double-accumulated loop instead of OpenBLAS. */
#include "cpu.h"

#include "../mask_math.h"

#include <cblas.h>

typedef struct {
  UfoCpu *cpu;
  UfoView u, e, f;
  int hp, wp;
} LogitsJob;

/* seg §2.6: S (16, hp*wp) = e_m · f^T for object m, into s */
static void product(const LogitsJob *j, int64_t m, float *s)
{
  const int64_t hw = (int64_t)j->hp * j->wp, C = j->e.cols;
  const float *e = ufo_cpu_ptr(j->e) + (size_t)(16 * m) * j->e.ld, *f = ufo_cpu_ptr(j->f);
  if (!j->cpu->reference) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 16, (int)hw, (int)C, 1.f, e, (int)j->e.ld,
                f, (int)j->f.ld, 0.f, s, (int)hw);
    return;
  }
  for (int r = 0; r < 16; r++)
    for (int64_t p = 0; p < hw; p++) {
      double acc = 0.0;
      for (int64_t k = 0; k < C; k++)
        acc += (double)e[r * j->e.ld + k] * f[p * j->f.ld + k];
      s[r * hw + p] = (float)acc;
    }
}

static void logits_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const LogitsJob *j = ctx;
  const int hp = j->hp, wp = j->wp;
  float *s = j->cpu->scratch[worker];
  /* seg §6.3: divide by sqrt(embed_dim) (a float32 scalar, as PyTorch) */
  const float scale = (float)sqrt((double)j->e.cols);
  for (int64_t m = begin; m < end; m++) {
    product(j, m, s);
    float *um = ufo_cpu_ptr(j->u) + (size_t)(m * 4 * hp) * j->u.ld;
    for (int t = 0; t < 16; t++) {
      const int a = t / 4, b = t % 4; /* seg §2.7: token t → sub-row t/4, sub-col t%4 */
      const float *st = s + (size_t)t * hp * wp;
      for (int h = 0; h < hp; h++)
        for (int w = 0; w < wp; w++)
          um[(4 * h + a) * j->u.ld + 4 * w + b] = st[h * wp + w] / scale;
    }
  }
}

void ufo_cpu_mask_logits(UfoCpu *cpu, UfoView u, UfoView e, UfoView f, int hp, int wp)
{
  LogitsJob j = {cpu, u, e, f, hp, wp};
  ufo_cpu_scratch_reserve(cpu, (size_t)16 * hp * wp);
  ufo_pool_run(cpu->pool, e.rows / 16, 1, logits_run, &j);
}

/* Taps of every output row and column (seg §2.8), shared by the workers; x_from[c] / x_to[c]:
 * the first output column whose right tap is >= c, the last whose left tap is <= c (the output
 * columns that read source column c or a later / an earlier one; taps grow with x). */
typedef struct {
  UfoBilinearTap *ty, *tx;
  int *x_from, *x_to;
} Taps;

static void taps_make(Taps *t, int uh, int uw, int oh, int ow)
{
  t->ty = g_new(UfoBilinearTap, oh);
  t->tx = g_new(UfoBilinearTap, ow);
  t->x_from = g_new(int, uw);
  t->x_to = g_new(int, uw);
  for (int y = 0; y < oh; y++)
    t->ty[y] = ufo_bilinear_tap(uh, oh, y);
  for (int x = 0; x < ow; x++)
    t->tx[x] = ufo_bilinear_tap(uw, ow, x);
  for (int c = 0, x = 0; c < uw; c++) {
    while (x < ow && t->tx[x].i1 < c)
      x++;
    t->x_from[c] = x;
  }
  for (int c = uw - 1, x = ow - 1; c >= 0; c--) {
    while (x >= 0 && t->tx[x].i0 > c)
      x--;
    t->x_to[c] = x;
  }
}

static void taps_free(Taps *t)
{
  g_free(t->ty);
  g_free(t->tx);
  g_free(t->x_from);
  g_free(t->x_to);
}

/* The logit below which a pixel is surely background for threshold thr, or -INFINITY where the
 * shortcut is not taken. For thr in [0.01, 0.99] the logit of thr is within ±4.6, where the
 * sigmoid's slope is >= 0.0098: a logit 0.01 below it has a probability >= 9.8e-5 below thr, far
 * more than float rounding of the blend and the sigmoid (~1e-7), so every pixel whose four
 * source logits lie below the returned value (another 1e-3 down: a convex blend of values
 * below it stays below lo) tests p <= thr exactly as the full computation would (seg §6.6). */
static float background_cut(float thr)
{
  if (!(thr >= 0.01f && thr <= 0.99f))
    return -INFINITY;
  const double lo = log((double)thr / (1.0 - (double)thr)) - 0.01;
  return (float)(lo - 1e-3);
}

typedef struct {
  UfoView u;
  int uh, oh, ow;
  Taps taps;
  float thr;
  uint64_t *bits;
  double *sum;
  int64_t *count;
  const int32_t *box;
  const size_t *off;
  float *prob;
  gboolean reference; /* the reference backend: no shortcut */
} MapJob;

/* Map m of u. */
static const float *map_of(const MapJob *j, int64_t m)
{
  return ufo_cpu_ptr(j->u) + (size_t)(m * j->uh) * j->u.ld;
}

/* Source row r's first and last column with a logit >= cut (first > last: none). */
static void row_spans(const float *um, int64_t ld, int uh, int uw, float cut, int *first, int *last)
{
  for (int r = 0; r < uh; r++) {
    const float *row = um + (size_t)r * ld;
    int a = 0, b = uw - 1;
    while (a < uw && !(row[a] >= cut))
      a++;
    while (b > a && !(row[b] >= cut))
      b--;
    first[r] = a, last[r] = a < uw ? b : -1;
  }
}

static void threshold_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const MapJob *j = ctx;
  const int words = (j->ow + 63) / 64, uw = (int)j->u.cols;
  /* the reference backend computes every pixel: the definition the shortcut is tested against */
  const float cut = j->reference ? -INFINITY : background_cut(j->thr);
  int *first = g_new(int, 2 * (size_t)j->uh), *last = first + j->uh;
  for (int64_t m = begin; m < end; m++) {
    const float *um = map_of(j, m);
    uint64_t *bits = j->bits + (size_t)m * j->oh * words;
    memset(bits, 0, sizeof(uint64_t) * j->oh * words);
    double sum = 0.0;
    int64_t cnt = 0;
    if (cut > -INFINITY)
      row_spans(um, j->u.ld, j->uh, uw, cut, first, last);
    for (int y = 0; y < j->oh; y++) {
      int x0 = 0, x1 = j->ow - 1;
      if (cut > -INFINITY) { /* only columns that read a source logit >= cut (background_cut) */
        const UfoBilinearTap ty = j->taps.ty[y];
        const int c0 = MIN(first[ty.i0], first[ty.i1]), c1 = MAX(last[ty.i0], last[ty.i1]);
        if (c0 > c1)
          continue;
        x0 = j->taps.x_from[c0], x1 = j->taps.x_to[c1];
      }
      for (int x = x0; x <= x1; x++) {
        /* seg §2.8: bilinear on the logits, then the sigmoid */
        const float p =
            ufo_mask_sigmoid(ufo_bilinear_at(um, j->u.ld, j->taps.ty[y], j->taps.tx[x]));
        if (!(p > j->thr)) /* strict (seg §6.6) */
          continue;
        sum += p; /* seg §2.9: the mean foreground probability, summed in double */
        cnt++;
        bits[(size_t)y * words + x / 64] |= 1ull << (x % 64);
      }
    }
    j->sum[m] = sum;
    j->count[m] = cnt;
  }
  g_free(first);
}

void ufo_cpu_mask_threshold(UfoCpu *cpu, UfoView u, int n, int oh, int ow, float thr,
                            uint64_t *bits, double *sum, int64_t *count)
{
  MapJob j = {.u = u, .uh = (int)(u.rows / n), .oh = oh, .ow = ow, .thr = thr};
  j.reference = cpu->reference;
  j.bits = bits, j.sum = sum, j.count = count;
  taps_make(&j.taps, j.uh, (int)u.cols, oh, ow);
  ufo_pool_run(cpu->pool, n, 1, threshold_run, &j);
  taps_free(&j.taps);
}

static void probs_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const MapJob *j = ctx;
  for (int64_t m = begin; m < end; m++) {
    const float *um = map_of(j, m);
    const int32_t *b = j->box + 4 * m; /* x, y, w, h */
    float *o = j->prob + j->off[m];
    for (int yy = 0; yy < b[3]; yy++)
      for (int xx = 0; xx < b[2]; xx++)
        o[(size_t)yy * b[2] + xx] = ufo_mask_sigmoid(
            ufo_bilinear_at(um, j->u.ld, j->taps.ty[b[1] + yy], j->taps.tx[b[0] + xx]));
  }
}

void ufo_cpu_mask_probs(UfoCpu *cpu, UfoView u, int n, int oh, int ow, const int32_t *box,
                        float *prob)
{
  MapJob j = {.u = u, .uh = (int)(u.rows / n), .oh = oh, .ow = ow, .box = box, .prob = prob};
  size_t *off = g_new(size_t, n);
  for (int m = 0, o = 0; m < n; m++) {
    off[m] = (size_t)o;
    o += box[4 * m + 2] * box[4 * m + 3];
  }
  j.off = off;
  taps_make(&j.taps, j.uh, (int)u.cols, oh, ow);
  ufo_pool_run(cpu->pool, n, 1, probs_run, &j);
  taps_free(&j.taps);
  g_free(off);
}

typedef struct {
  UfoCpu *cpu;
  UfoView u;
  int uh, oh, ow, band;
  Taps taps;
  const float *score;
  const int32_t *slot_end, *slot_class;
  int n_slots;
  uint16_t *labels;
} SemJob;

/* Row bands [b*band, ...) of the label map: per slot the score-weighted sum of its maps, then
 * the argmax; scratch: n_slots accumulators and one band of logits. */
static void semantic_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const SemJob *j = ctx;
  const size_t bpix = (size_t)j->band * j->ow;
  float *acc = j->cpu->scratch[worker], *P = acc + (size_t)j->n_slots * bpix;
  for (int64_t b = begin; b < end; b++) {
    const int y0 = (int)b * j->band, y1 = MIN(j->oh, y0 + j->band);
    const size_t n = (size_t)(y1 - y0) * j->ow;
    for (int k = 0, m = 0; k < j->n_slots; k++) {
      float *a = acc + (size_t)k * bpix;
      memset(a, 0, sizeof(float) * n);
      for (; m < j->slot_end[k]; m++) {
        const float *um = ufo_cpu_ptr(j->u) + (size_t)(m * j->uh) * j->u.ld;
        for (int y = y0; y < y1; y++) /* seg §3.5: bilinear on the logits, then the sigmoid */
          for (int x = 0; x < j->ow; x++)
            P[(size_t)(y - y0) * j->ow + x] =
                ufo_bilinear_at(um, j->u.ld, j->taps.ty[y], j->taps.tx[x]);
        /* seg §3.6: L[c] += score_m · sigmoid(logit), in the sorted grid order (seg §6.17) */
        const float s = j->score[m];
        for (size_t i = 0; i < n; i++)
          a[i] += s * ufo_mask_sigmoid(P[i]);
      }
    }
    for (size_t i = 0; i < n; i++) {
      /* argmax with ties to the lowest class; all-zero pixels → class 0 (seg §3.6, §6.18) */
      float best_v = 0.f;
      int best = 0;
      for (int k = 0; k < j->n_slots; k++) {
        const float v = acc[(size_t)k * bpix + i];
        if (v > best_v)
          best_v = v, best = j->slot_class[k];
      }
      j->labels[(size_t)y0 * j->ow + i] = (uint16_t)best;
    }
  }
}

void ufo_cpu_mask_semantic(UfoCpu *cpu, UfoView u, int n, int oh, int ow, const float *score,
                           const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                           uint16_t *labels)
{
  SemJob j = {.cpu = cpu, .u = u, .uh = (int)(u.rows / n), .oh = oh, .ow = ow, .score = score};
  j.slot_end = slot_end, j.slot_class = slot_class, j.n_slots = n_slots, j.labels = labels;
  /* bands of rows so that the per-slot accumulators stay small for any image size (seg §6.19),
   * and at least 4 per worker so that every thread gets some (a pixel's sum does not depend on
   * the band it is in) */
  const int per_worker = (oh + 4 * cpu->threads - 1) / (4 * cpu->threads);
  j.band = MAX(1, MIN(per_worker, (int)(((size_t)1 << 20) / ((size_t)ow * (n_slots + 1)))));
  ufo_cpu_scratch_reserve(cpu, (size_t)(n_slots + 1) * j.band * ow);
  taps_make(&j.taps, j.uh, (int)u.cols, oh, ow);
  ufo_pool_run(cpu->pool, (oh + j.band - 1) / j.band, 1, semantic_run, &j);
  taps_free(&j.taps);
}
