/* Segmentation mask ops (backend.h mask_logits, mask_threshold, mask_probs; seg §2.6-§2.9; the
 * semantic label map: cpu/mask_semantic.c) on the CPU. The arithmetic is the host reference's
 * (engine/tasks/masks.c, backend/mask_math.h), so results are bit for bit those of the host path:
 * the mask product is one cblas_sgemm (16k, hp*wp, C) per group of k = UFO_MASK_LOGITS_GROUP
 * objects exactly as ufo_host_gemm_nt computes it (never split across workers, whose products of
 * other heights could change the last bits), the per-pixel values and the sums in the same
 * order. The pool runs groups, objects or row bands side by side; each result depends only on
 * its own object (and group). The reference backend differs only in the product: a plain
 * double-accumulated loop instead of OpenBLAS. */
#include "cpu.h"

#include "../mask_math.h"
#include "mask_taps.h"
#include "mask_vec.h"

#include <cblas.h>

typedef struct {
  UfoCpu *cpu;
  UfoView u, e, f;
  int n, hp, wp;
} LogitsJob;

/* seg §2.6: S (16k, hp*wp) = e_m · f^T for the k objects from m, into s */
static void product(const LogitsJob *j, int64_t m, int k, float *s)
{
  const int64_t hw = (int64_t)j->hp * j->wp, C = j->e.cols;
  const float *e = ufo_cpu_ptr(j->e) + (size_t)(16 * m) * j->e.ld, *f = ufo_cpu_ptr(j->f);
  if (!j->cpu->reference) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, 16 * k, (int)hw, (int)C, 1.f, e,
                (int)j->e.ld, f, (int)j->f.ld, 0.f, s, (int)hw);
    return;
  }
  for (int r = 0; r < 16 * k; r++)
    for (int64_t p = 0; p < hw; p++) {
      double acc = 0.0;
      for (int64_t q = 0; q < C; q++)
        acc += (double)e[r * j->e.ld + q] * f[p * j->f.ld + q];
      s[r * hw + p] = (float)acc;
    }
}

/* groups [begin, end) of UFO_MASK_LOGITS_GROUP objects (mask_math.h): one product each */
static void logits_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const LogitsJob *j = ctx;
  const int hp = j->hp, wp = j->wp;
  float *s = j->cpu->scratch[worker];
  /* seg §6.3: divide by sqrt(embed_dim) (a float32 scalar, as PyTorch) */
  const float scale = (float)sqrt((double)j->e.cols);
  for (int64_t g = begin; g < end; g++) {
    const int64_t m0 = g * UFO_MASK_LOGITS_GROUP;
    const int k = (int)MIN(UFO_MASK_LOGITS_GROUP, j->n - m0);
    product(j, m0, k, s);
    for (int i = 0; i < k; i++) {
      float *um = ufo_cpu_ptr(j->u) + (size_t)((m0 + i) * 4 * hp) * j->u.ld;
      for (int t = 0; t < 16; t++) {
        const int a = t / 4, b = t % 4; /* seg §2.7: token t → sub-row t/4, sub-col t%4 */
        const float *st = s + ((size_t)16 * i + t) * hp * wp;
        for (int h = 0; h < hp; h++)
          for (int w = 0; w < wp; w++)
            um[(4 * h + a) * j->u.ld + 4 * w + b] = st[h * wp + w] / scale;
      }
    }
  }
}

void ufo_cpu_mask_logits(UfoCpu *cpu, UfoView u, UfoView e, UfoView f, int hp, int wp)
{
  const int n = (int)(e.rows / 16);
  LogitsJob j = {cpu, u, e, f, n, hp, wp};
  ufo_cpu_scratch_reserve(cpu, (size_t)16 * UFO_MASK_LOGITS_GROUP * hp * wp);
  ufo_pool_run(cpu->pool, (n + UFO_MASK_LOGITS_GROUP - 1) / UFO_MASK_LOGITS_GROUP, 1, logits_run,
               &j);
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
  float *const *prob;
  uint8_t *const *gray;
  const int *band_box, *band_row;    /* mask_probs work items */
  const int *span_first, *span_last; /* mask_probs bytes: row_spans of every map at GRAY_CUT */
  gboolean reference;                /* the reference backend: no shortcut */
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

/* Source rows blended along x (ufo_bilinear_at's first step) for n output columns from taps
 * tx: kept while the rows (map um, top row i0) and the columns stay the same, i.e. for every
 * output row that reads the same two source rows. */
typedef struct {
  const float *um;
  const UfoBilinearTap *tx;
  int i0, n;
  float *t0, *t1; /* (n) each, of the caller's buffer */
} RowBlend;

/* Makes rb hold map um's source rows of ty blended along x for the n output columns of tx. */
static void row_blend(RowBlend *rb, const float *um, int64_t ld, UfoBilinearTap ty,
                      const UfoBilinearTap *tx, int n)
{
  if (rb->um != um || rb->i0 != ty.i0 || rb->tx != tx || rb->n != n) {
    const float *r0 = um + (size_t)ty.i0 * ld, *r1 = um + (size_t)ty.i1 * ld;
    int i = 0;
    for (; i + UFO_MASK_LANES <= n; i += UFO_MASK_LANES) {
      ufo_vf_store(rb->t0 + i, ufo_v_blend_x(r0, tx + i));
      ufo_vf_store(rb->t1 + i, ufo_v_blend_x(r1, tx + i));
    }
    for (; i < n; i++) {
      rb->t0[i] = r0[tx[i].i0] * tx[i].l0 + r0[tx[i].i1] * tx[i].l1;
      rb->t1[i] = r1[tx[i].i0] * tx[i].l0 + r1[tx[i].i1] * tx[i].l1;
    }
    rb->um = um, rb->i0 = ty.i0, rb->tx = tx, rb->n = n;
  }
}

/* out[i] = P(y, x + i) for i < n of map um (rows ty; columns tx[0..n-1]): seg §2.8, bilinear
 * on the logits, then the sigmoid; UFO_MASK_LANES pixels at a time (mask_vec.h: the bits of
 * ufo_bilinear_at and ufo_mask_sigmoid) */
static void probs_row(RowBlend *rb, const float *um, int64_t ld, UfoBilinearTap ty,
                      const UfoBilinearTap *tx, int n, float *out)
{
  row_blend(rb, um, ld, ty, tx, n);
  int i = 0;
  for (; i + UFO_MASK_LANES <= n; i += UFO_MASK_LANES)
    ufo_vf_store(out + i,
                 ufo_v_sigmoid(ufo_vf_load(rb->t0 + i) * ty.l0 + ufo_vf_load(rb->t1 + i) * ty.l1));
  for (; i < n; i++)
    out[i] = ufo_mask_sigmoid(rb->t0[i] * ty.l0 + rb->t1[i] * ty.l1);
}

/* Logits beyond which a probability's byte is known without the sigmoid (ufo.h UFO_MASK_GRAY8):
 * for x <= -7, exp(-x) >= e^7 (1 - 2^-23) (ufo_mask_exp is within 1 ulp, nn-mask-vec), so
 * P <= 1 / 1097.5 and 255 P <= 0.233: the byte is 0; for x >= 7, exp(-x) <= e^-7 (1 + 2^-23), so
 * P >= 0.99909 and 255 P >= 254.77: the byte is 255 (also for ±inf; NaN is neither and is
 * computed). */
#define GRAY_ZERO_BELOW -7.f
#define GRAY_FULL_ABOVE 7.f
/* a pixel whose four source logits are all below this is below GRAY_ZERO_BELOW: a convex blend
 * of them stays below the largest, up to float rounding (~1e-6 here), far less than the 1e-3 */
#define GRAY_CUT (GRAY_ZERO_BELOW - 1e-3f)

/* out[i] = ufo_mask_gray8(P(y, x + i)), as probs_row then the byte, with the sigmoid only for the
 * lanes of vectors that hold a logit inside (-7, 7) (or NaN) */
static void gray_row(RowBlend *rb, const float *um, int64_t ld, UfoBilinearTap ty,
                     const UfoBilinearTap *tx, int n, uint8_t *out)
{
  row_blend(rb, um, ld, ty, tx, n);
  const UfoVi every = (UfoVi){0} - 1;
  int i = 0;
  for (; i + UFO_MASK_LANES <= n; i += UFO_MASK_LANES) {
    const UfoVf x = ufo_vf_load(rb->t0 + i) * ty.l0 + ufo_vf_load(rb->t1 + i) * ty.l1;
    const UfoVi zero = (UfoVi)(x <= GRAY_ZERO_BELOW), full = (UfoVi)(x >= GRAY_FULL_ABOVE);
    const UfoVi known = zero | full;
    if (memcmp(&known, &every, sizeof known) == 0) { /* every lane known */
      uint8_t b[UFO_MASK_LANES];
      for (int k = 0; k < UFO_MASK_LANES; k++)
        b[k] = full[k] ? 255 : 0;
      memcpy(out + i, b, sizeof b);
      continue;
    }
    ufo_v_gray8(ufo_v_sigmoid(x), out + i);
  }
  for (; i < n; i++)
    out[i] = ufo_mask_gray8(ufo_mask_sigmoid(rb->t0[i] * ty.l0 + rb->t1[i] * ty.l1));
}

/* A RowBlend for rows of up to n columns, followed by one more row of n (threshold's
 * probabilities) */
static RowBlend row_blend_new(int n)
{
  RowBlend rb = {NULL, NULL, -1, -1, g_new(float, 3 * (size_t)MAX(n, 1)), NULL};
  rb.t1 = rb.t0 + MAX(n, 1);
  return rb;
}

static void threshold_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const MapJob *j = ctx;
  const int words = (j->ow + 63) / 64, uw = (int)j->u.cols;
  /* the reference backend computes every pixel: the definition the shortcut is tested against */
  const float cut = j->reference ? -INFINITY : background_cut(j->thr);
  int *first = g_new(int, 2 * (size_t)j->uh), *last = first + j->uh;
  RowBlend rb = row_blend_new(j->ow);
  float *prow = rb.t1 + j->ow; /* one row's probabilities */
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
      probs_row(&rb, um, j->u.ld, j->taps.ty[y], j->taps.tx + x0, x1 - x0 + 1, prow);
      for (int x = x0; x <= x1; x++) {
        const float p = prow[x - x0];
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
  g_free(rb.t0);
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

/* mask_probs work items: bands of PROBS_BAND rows of one box, so that the pool balances boxes of
 * any size (item i: box band_box[i], rows from band_row[i]) */
#define PROBS_BAND 16

static void probs_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const MapJob *j = ctx;
  RowBlend rb = row_blend_new(j->ow);
  for (int64_t it = begin; it < end; it++) {
    const int m = j->band_box[it];
    const float *um = map_of(j, m);
    const int32_t *b = j->box + 4 * m; /* x, y, w, h */
    const int bx = b[0], by = b[1], w = b[2], y1 = MIN(j->band_row[it] + PROBS_BAND, b[3]);
    for (int yy = j->band_row[it]; yy < y1; yy++) {
      const UfoBilinearTap ty = j->taps.ty[by + yy];
      if (j->prob) {
        probs_row(&rb, um, j->u.ld, ty, j->taps.tx + bx, w, j->prob[m] + (size_t)yy * w);
        continue;
      }
      /* only the columns that read a source logit >= GRAY_CUT (else the byte is 0) */
      const int *first = j->span_first + (size_t)m * j->uh,
                *last = j->span_last + (size_t)m * j->uh;
      const int c0 = MIN(first[ty.i0], first[ty.i1]), c1 = MAX(last[ty.i0], last[ty.i1]);
      uint8_t *g = j->gray[m] + (size_t)yy * w;
      const int x0 = c0 > c1 ? w : CLAMP(j->taps.x_from[c0] - bx, 0, w);
      const int x1 = c0 > c1 ? w : CLAMP(j->taps.x_to[c1] + 1 - bx, x0, w);
      memset(g, 0, (size_t)x0);
      if (x1 > x0)
        gray_row(&rb, um, j->u.ld, ty, j->taps.tx + bx + x0, x1 - x0, g + x0);
      memset(g + x1, 0, (size_t)(w - x1));
    }
  }
  g_free(rb.t0);
}

void ufo_cpu_mask_probs(UfoCpu *cpu, UfoView u, int n, int oh, int ow, const int32_t *box,
                        float *const *prob, uint8_t *const *gray)
{
  MapJob j = {.u = u, .uh = (int)(u.rows / n), .oh = oh, .ow = ow, .box = box};
  j.prob = prob, j.gray = gray;
  int64_t items = 0;
  for (int m = 0; m < n; m++)
    items += (box[4 * m + 3] + PROBS_BAND - 1) / PROBS_BAND;
  int *band_box = g_new(int, 2 * (size_t)items), *band_row = band_box + items;
  for (int m = 0, i = 0; m < n; m++)
    for (int y = 0; y < box[4 * m + 3]; y += PROBS_BAND, i++)
      band_box[i] = m, band_row[i] = y;
  j.band_box = band_box, j.band_row = band_row;
  int *span = NULL;
  if (gray) { /* the reference backend too: no shortcut there, every pixel through the sigmoid */
    span = g_new(int, 2 * (size_t)n * j.uh);
    for (int m = 0; m < n; m++)
      row_spans(map_of(&j, m), u.ld, j.uh, (int)u.cols, cpu->reference ? -INFINITY : GRAY_CUT,
                span + (size_t)m * j.uh, span + (size_t)(n + m) * j.uh);
    j.span_first = span, j.span_last = span + (size_t)n * j.uh;
  }
  taps_make(&j.taps, j.uh, (int)u.cols, oh, ow);
  ufo_pool_run(cpu->pool, items, 1, probs_run, &j);
  taps_free(&j.taps);
  g_free(band_box);
  g_free(span);
}
