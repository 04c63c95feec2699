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
#include "mask_vec.h"

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

/* Semantic label maps (seg §3.6) with a certified shortcut. A map's logits lie far below zero
 * over most of the image, and there its term score·sigmoid(logit) is tiny. Each band of rows
 * sums, per slot, only the terms of pixels whose source cell (the four logits its bilinear taps
 * read, seg §2.8) has a logit >= SEM_CUT: a sum A_k. The full float sum a_k of every term is
 * within E_k of it: |a_k − A_k| <= 2γA_k/(1−γ) + D_k(1+γ), with γ = 1.01·n_k·2^-24 (the float
 * rounding of two sums of at most n_k non-negative terms, each term computed identically in
 * both) and D_k = Σ score over the slot's maps · sigmoid(SEM_CUT + 1e-3) (every left-out term:
 * a blend of logits below SEM_CUT stays below SEM_CUT + 1e-3 in float, as background_cut's). A
 * pixel whose best A_b − E_b is > 0 and above every other A_k + E_k has the label of the full
 * computation; every other pixel (near-ties, pixels far from every map, NaN sums) is computed
 * in full, term by term in the same order. So the labels are, bit for bit, those of summing
 * every term (the reference backend's and engine/tasks/masks.c's path). Scores that are
 * negative or not finite (never a probability) turn the shortcut off. */
#define SEM_CUT -10.f

typedef struct {
  UfoCpu *cpu;
  UfoView u;
  int uh, uw, oh, ow, band;
  Taps taps;
  int *y_from, *y_to; /* (uh) output rows [y_from, y_to) whose top tap is source row r */
  int *x_from, *x_to; /* (uw) output columns [x_from, x_to) whose left tap is source column c */
  const float *score;
  const int32_t *slot_end, *slot_class;
  int n_slots;
  uint16_t *labels;
  float cut;      /* SEM_CUT, or -INFINITY (the reference backend: every term summed) */
  double *grow;   /* (n_slots, 2) 1 ∓ 2γ/(1−γ): the rounding bounds of the slot's sums */
  double *missed; /* (n_slots) D_k(1+γ): the most the left-out terms of a pixel add up to */
  double grow_max, missed_max; /* the largest 1 + 2γ/(1−γ) and D_k(1+γ) of any slot */
} SemJob;

/* Output indices [from[i], to[i]) whose first tap is source index i (taps grow with d; tap i's
 * second one is i + 1, or i at the last source index, so the cell is set by i alone). */
static void tap_ranges(const UfoBilinearTap *t, int out, int in, int *from, int *to)
{
  for (int i = 0; i < in; i++)
    from[i] = to[i] = 0;
  for (int d = out - 1; d >= 0; d--)
    from[t[d].i0] = d;
  for (int d = 0; d < out; d++)
    to[t[d].i0] = d + 1;
}

/* The full sum L_k at pixel (y, x) for every slot k (seg §3.6, in the sorted grid order of
 * seg §6.17), and the label: the first slot with the largest L_k > 0, else class 0 (seg
 * §6.18). */
static uint16_t semantic_pixel_full(const SemJob *j, int y, int x)
{
  float best_v = 0.f;
  int best = 0;
  for (int k = 0, m = 0; k < j->n_slots; k++) {
    float a = 0.f;
    for (; m < j->slot_end[k]; m++) {
      const float *um = ufo_cpu_ptr(j->u) + (size_t)(m * j->uh) * j->u.ld;
      const float p = ufo_bilinear_at(um, j->u.ld, j->taps.ty[y], j->taps.tx[x]);
      a += j->score[m] * ufo_mask_sigmoid(p);
    }
    if (a > best_v)
      best_v = a, best = j->slot_class[k];
  }
  return (uint16_t)best;
}

/* Rows t0, t1 (columns xa..xb-1) = source rows r0, r1 blended along x (ufo_bilinear_at's first
 * step) */
static void semantic_blend_rows(const SemJob *j, const float *r0, const float *r1, int xa, int xb,
                                float *t0, float *t1)
{
  int x = xa;
  for (; x + UFO_MASK_LANES <= xb; x += UFO_MASK_LANES) {
    ufo_vf_store(t0 + x, ufo_v_blend_x(r0, j->taps.tx + x));
    ufo_vf_store(t1 + x, ufo_v_blend_x(r1, j->taps.tx + x));
  }
  for (; x < xb; x++) {
    const UfoBilinearTap tx = j->taps.tx[x];
    t0[x] = r0[tx.i0] * tx.l0 + r0[tx.i1] * tx.l1;
    t1[x] = r1[tx.i0] * tx.l0 + r1[tx.i1] * tx.l1;
  }
}

/* ar[x] += s · sigmoid(t0[x]·ly0 + t1[x]·ly1) for x in xa..xb-1: seg §3.5, bilinear on the
 * logits (its blend along y), then the sigmoid; seg §3.6, L += score_m · P_m */
static void semantic_add_terms(float *ar, const float *t0, const float *t1, int xa, int xb,
                               float ly0, float ly1, float s)
{
  int x = xa;
  for (; x + UFO_MASK_LANES <= xb; x += UFO_MASK_LANES) {
    const UfoVf v = ufo_vf_load(t0 + x) * ly0 + ufo_vf_load(t1 + x) * ly1;
    ufo_vf_store(ar + x, ufo_vf_load(ar + x) + s * ufo_v_sigmoid(v));
  }
  for (; x < xb; x++)
    ar[x] += s * ufo_mask_sigmoid(t0[x] * ly0 + t1[x] * ly1);
}

/* Whole cells at once. A cell (source row r, column c) is the four logits that the taps of its
 * output pixels read (rows r, r1, columns c, c1); every such pixel's blended logit x lies in
 * [mn − ε, mx + ε] of the four (a convex blend in float: ε = 2^-19·max(|mn|, |mx|), 4x the
 * rounding of the two blends and of weights that sum to 1 ± 2^-24), and its term
 * fl(score·sigmoid(x)) within score·sigmoid(mn − ε)·(1 − 2^-20) and score·sigmoid(mx + ε)·
 * (1 + 2^-20) (the float sigmoid is within 2^-22 of sigmoid: ufo_mask_exp's ulp, 1 + e, the
 * division; then the product), ± 1e-37 near the denormals; maps whose four logits lie below
 * SEM_CUT are the left-out terms of missed[k]. So a slot's float sum lies in [LO_k, HI_k] (the
 * rounding of the sum: grow[]), and when one slot's LO_b > 0 exceeds every other slot's HI_k,
 * every pixel of the cell has that slot's label, as the full computation gives it (the largest
 * sum is unique). */
#define CELL_EPS 0x1p-19
#define CELL_DELTA 0x1p-20
#define CELL_TINY 1e-37

/* Map m's bounds added for cell c of rows a, b (columns c, c1): lo += s·sigmoid(mn − 2ε), hi +=
 * s·sigmoid(mx + 2ε) unless all four logits lie below cut (2ε: the float subtraction's own
 * rounding is < ε); FALSE for a NaN logit. */
static inline gboolean cell_bound(const float *a, const float *b, int c, int c1, float s, float cut,
                                  double *lo, double *hi)
{
  const float v0 = a[c], v1 = a[c1], v2 = b[c], v3 = b[c1];
  if (v0 != v0 || v1 != v1 || v2 != v2 || v3 != v3)
    return FALSE;
  const float mx = fmaxf(fmaxf(v0, v1), fmaxf(v2, v3));
  if (mx < cut) /* a left-out term (missed[k]) */
    return TRUE;
  const float mn = fminf(fminf(v0, v1), fminf(v2, v3));
  const float eps = CELL_EPS * fmaxf(fabsf(mn), fabsf(mx));
  *lo += (double)s * ufo_mask_sigmoid(mn - 2.f * eps);
  *hi += (double)s * ufo_mask_sigmoid(mx + 2.f * eps);
  return TRUE;
}

static inline UfoVf vsel(UfoVi m, UfoVf a, UfoVf b)
{
  return (UfoVf)(((UfoVi)a & m) | ((UfoVi)b & ~m));
}

/* The classes of the cells of source row r (second row r1), label[c] (uw), -1 where the bounds
 * do not prove one (or a logit is NaN); lo, hi: scratch of n_slots·uw doubles each. Each map's
 * bounds run UFO_MASK_LANES cells at a time (cells c < uw − 1: their second column is c + 1). */
static void semantic_cell_row(const SemJob *j, int r, int r1, double *lo, double *hi, int *label)
{
  const int uw = j->uw;
  const float cut = j->cut;
  for (int c = 0; c < uw; c++)
    label[c] = 0; /* -2: a NaN logit */
  for (int k = 0, m = 0; k < j->n_slots; k++) {
    double *lk = lo + (size_t)k * uw, *hk = hi + (size_t)k * uw;
    memset(lk, 0, sizeof(double) * uw);
    memset(hk, 0, sizeof(double) * uw);
    for (; m < j->slot_end[k]; m++) {
      const float *um = ufo_cpu_ptr(j->u) + (size_t)(m * j->uh) * j->u.ld;
      const float *a = um + (size_t)r * j->u.ld, *b = um + (size_t)r1 * j->u.ld;
      const float s = j->score[m];
      int c = 0;
      for (; c + UFO_MASK_LANES < uw; c += UFO_MASK_LANES) {
        const UfoVf v0 = ufo_vf_load(a + c), v1 = ufo_vf_load(a + c + 1);
        const UfoVf v2 = ufo_vf_load(b + c), v3 = ufo_vf_load(b + c + 1);
        const UfoVi nan = (v0 != v0) | (v1 != v1) | (v2 != v2) | (v3 != v3), none = {0};
        if (memcmp(&nan, &none, sizeof nan) != 0) { /* cell by cell, marking the NaN ones */
          for (int i = c; i < c + UFO_MASK_LANES; i++)
            if (!cell_bound(a, b, i, i + 1, s, cut, lk + i, hk + i))
              label[i] = -2;
          continue;
        }
        const UfoVf m01 = vsel(v0 > v1, v0, v1), m23 = vsel(v2 > v3, v2, v3);
        const UfoVf mx = vsel(m01 > m23, m01, m23);
        const UfoVi above = mx >= cut;
        if (memcmp(&above, &none, sizeof above) == 0) /* every cell left out */
          continue;
        const UfoVf n01 = vsel(v0 < v1, v0, v1), n23 = vsel(v2 < v3, v2, v3);
        const UfoVf mn = vsel(n01 < n23, n01, n23);
        const UfoVf amn = (UfoVf)((UfoVi)mn & 0x7fffffff), amx = (UfoVf)((UfoVi)mx & 0x7fffffff);
        const UfoVf eps = vsel(amn > amx, amn, amx) * CELL_EPS;
        const UfoVf slo = ufo_v_sigmoid(mn - 2.f * eps), shi = ufo_v_sigmoid(mx + 2.f * eps);
        for (int i = 0; i < UFO_MASK_LANES; i++)
          if (above[i]) {
            lk[c + i] += (double)s * slo[i];
            hk[c + i] += (double)s * shi[i];
          }
      }
      for (; c < uw; c++)
        if (!cell_bound(a, b, c, c < uw - 1 ? c + 1 : c, s, cut, lk + c, hk + c))
          label[c] = -2;
    }
  }
  for (int c = 0; c < uw; c++) {
    if (label[c] == -2) {
      label[c] = -1;
      continue;
    }
    double best_lo = 0.0, hi1 = -1.0, hi2 = -1.0; /* the two largest HI_k */
    int best = -1, hi1_k = -1;
    for (int k = 0, m0 = 0; k < j->n_slots; m0 = j->slot_end[k], k++) {
      const double tiny = CELL_TINY * (j->slot_end[k] - m0);
      const double l = lo[(size_t)k * uw + c] * (1.0 - CELL_DELTA) * j->grow[2 * k] - tiny;
      const double h =
          hi[(size_t)k * uw + c] * (1.0 + CELL_DELTA) * j->grow[2 * k + 1] + j->missed[k] + tiny;
      if (l > best_lo)
        best_lo = l, best = k;
      if (h > hi1)
        hi2 = hi1, hi1 = h, hi1_k = k;
      else if (h > hi2)
        hi2 = h;
    }
    const double other = hi1_k == best ? hi2 : hi1; /* the largest HI of the other slots */
    label[c] = best >= 0 && best_lo > other ? j->slot_class[best] : -1;
  }
}

/* Map m's terms score·P_m added to its slot's accumulator a (rows [y0, y1) of the label map),
 * by runs of adjacent source cells that are not left out (cut = -INFINITY: none is): the two
 * source rows of a run blended along x once (into t0, t1: scratch of 2·ow), then along y per
 * output row, UFO_MASK_LANES pixels at a time (mask_vec.h: the scalar functions' bits). */
static void semantic_add_map(const SemJob *j, int64_t m, int y0, int y1, float *a, float *t0,
                             float *t1, const uint8_t *cert)
{
  const int r_first = j->taps.ty[y0].i0;
  const float *um = ufo_cpu_ptr(j->u) + (size_t)(m * j->uh) * j->u.ld;
  const float s = j->score[m], cut = j->cut;
  for (int r = j->taps.ty[y0].i0; r <= j->taps.ty[y1 - 1].i0; r++) {
    const int ya = MAX(y0, j->y_from[r]), yb = MIN(y1, j->y_to[r]);
    if (ya >= yb)
      continue;
    const float *r0 = um + (size_t)r * j->u.ld, *r1 = um + (size_t)j->taps.ty[ya].i1 * j->u.ld;
    for (int c = 0; c < j->uw;) {
      /* the run of cells c..ce-1 (output columns xa..xb-1) */
      int ce = c, xa = -1, xb = -1;
      for (; ce < j->uw; ce++) {
        if (j->x_from[ce] >= j->x_to[ce])
          continue;
        const int c1 = j->taps.tx[j->x_from[ce]].i1;
        if (r0[ce] < cut && r0[c1] < cut && r1[ce] < cut && r1[c1] < cut) /* NaN: kept */
          break;
        if (cert[(size_t)(r - r_first) * j->uw + ce]) /* labelled as a whole cell */
          break;
        xa = xa < 0 ? j->x_from[ce] : xa;
        xb = j->x_to[ce];
      }
      c = ce + 1;
      if (xa < 0)
        continue;
      semantic_blend_rows(j, r0, r1, xa, xb, t0, t1);
      for (int y = ya; y < yb; y++) {
        float *ar = a + (size_t)(y - y0) * j->ow;
        semantic_add_terms(ar, t0, t1, xa, xb, j->taps.ty[y].l0, j->taps.ty[y].l1, s);
      }
    }
  }
}

/* Row bands [b*band, ...) of the label map: per slot the sum of its maps' terms (in the sorted
 * grid order, seg §6.17), then the argmax, certified (above) or computed in full; scratch:
 * n_slots accumulators of a band. */
static void semantic_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const SemJob *j = ctx;
  const size_t bpix = (size_t)j->band * j->ow;
  float *acc = j->cpu->scratch[worker], *t0 = acc + (size_t)j->n_slots * bpix, *t1 = t0 + j->ow;
  for (int64_t b = begin; b < end; b++) {
    const int y0 = (int)b * j->band, y1 = MIN(j->oh, y0 + j->band);
    /* cells whose pixels all get one label (semantic_cell_row): labelled here, left out of
     * the sums and of the per-pixel argmax below */
    const int r_first = j->taps.ty[y0].i0, r_last = j->taps.ty[y1 - 1].i0;
    uint8_t *cert = g_new0(uint8_t, (size_t)(r_last - r_first + 1) * j->uw);
    double *lo = NULL, *hi = NULL;
    int *cell = NULL;
    if (j->cut > -INFINITY) {
      lo = g_new(double, 2 * (size_t)j->n_slots * j->uw);
      hi = lo + (size_t)j->n_slots * j->uw;
      cell = g_new(int, j->uw);
    }
    for (int r = r_first; j->cut > -INFINITY && r <= r_last; r++) {
      const int ya = MAX(y0, j->y_from[r]), yb = MIN(y1, j->y_to[r]);
      if (ya >= yb)
        continue;
      semantic_cell_row(j, r, j->taps.ty[ya].i1, lo, hi, cell);
      for (int c = 0; c < j->uw; c++) {
        const int xa = j->x_from[c], xb = j->x_to[c], label = cell[c];
        if (xa >= xb || label < 0)
          continue;
        cert[(size_t)(r - r_first) * j->uw + c] = 1;
        for (int y = ya; y < yb; y++)
          for (int x = xa; x < xb; x++)
            j->labels[(size_t)y * j->ow + x] = (uint16_t)label;
      }
    }
    /* the accumulators of the pixels still to sum (those of labelled cells are never read) */
    for (int py = y0; py < y1; py++)
      for (int c = 0; c < j->uw; c++)
        if (!cert[(size_t)(j->taps.ty[py].i0 - r_first) * j->uw + c] && j->x_from[c] < j->x_to[c])
          for (int k = 0; k < j->n_slots; k++)
            memset(acc + (size_t)k * bpix + (size_t)(py - y0) * j->ow + j->x_from[c], 0,
                   sizeof(float) * (size_t)(j->x_to[c] - j->x_from[c]));
    for (int k = 0, m = 0; k < j->n_slots; k++) {
      float *a = acc + (size_t)k * bpix;
      for (; m < j->slot_end[k]; m++)
        semantic_add_map(j, m, y0, y1, a, t0, t1, cert);
    }
    /* the pixels of the cells not labelled whole, cell by cell along each row */
    for (int py = y0; py < y1; py++)
      for (int c = 0; c < j->uw; c++) {
        if (cert[(size_t)(j->taps.ty[py].i0 - r_first) * j->uw + c])
          continue; /* labelled with its cell */
        for (int px = j->x_from[c]; px < j->x_to[c]; px++) {
          const size_t i = (size_t)(py - y0) * j->ow + px;
          /* argmax with ties to the lowest class; all-zero pixels → class 0 (seg §3.6, §6.18) */
          float best_v = 0.f, second = 0.f; /* sums are >= 0 (or NaN) */
          int best = 0, best_k = -1;
          gboolean nan = FALSE;
          for (int k = 0; k < j->n_slots; k++) {
            const float v = acc[(size_t)k * bpix + i];
            if (v > best_v)
              second = best_v, best_v = v, best = j->slot_class[k], best_k = k;
            else if (v > second)
              second = v;
            nan |= v != v;
          }
          gboolean sure = j->cut == -INFINITY; /* every term summed: these are the full sums */
          if (!sure && best_k >= 0 && !nan) {
            /* the certificate: the best full sum surely > 0 and > every other slot's (the
             * largest other sum with the largest bound of any slot) */
            const double lo = best_v * j->grow[2 * best_k] - j->missed[best_k];
            sure = lo > second * j->grow_max + j->missed_max;
          }
          if (!sure)
            best = semantic_pixel_full(j, py, px);
          j->labels[(size_t)y0 * j->ow + i] = (uint16_t)best;
        }
      }
    g_free(cert);
    g_free(lo);
    g_free(cell);
  }
}

void ufo_cpu_mask_semantic(UfoCpu *cpu, UfoView u, int n, int oh, int ow, const float *score,
                           const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                           uint16_t *labels)
{
  SemJob j = {.cpu = cpu, .u = u, .uh = (int)(u.rows / n), .uw = (int)u.cols, .oh = oh, .ow = ow};
  j.score = score, j.slot_end = slot_end, j.slot_class = slot_class, j.n_slots = n_slots;
  j.labels = labels;
  /* the reference backend sums every term: the definition the shortcut is tested against */
  j.cut = cpu->reference ? -INFINITY : SEM_CUT;
  for (int m = 0; m < n; m++)
    if (!(score[m] >= 0.f && score[m] < INFINITY))
      j.cut = -INFINITY;
  /* bands of rows so that the per-slot accumulators stay small for any image size (seg §6.19),
   * and at least 4 per worker so that every thread gets some (a pixel's sum does not depend on
   * the band it is in) */
  const int per_worker = (oh + 4 * cpu->threads - 1) / (4 * cpu->threads);
  j.band = MAX(1, MIN(per_worker, (int)(((size_t)1 << 20) / ((size_t)ow * (n_slots + 1)))));
  ufo_cpu_scratch_reserve(cpu, ((size_t)n_slots * j.band + 2) * ow);
  taps_make(&j.taps, j.uh, j.uw, oh, ow);
  j.y_from = g_new(int, 2 * ((size_t)j.uh + j.uw));
  j.y_to = j.y_from + j.uh, j.x_from = j.y_to + j.uh, j.x_to = j.x_from + j.uw;
  tap_ranges(j.taps.ty, oh, j.uh, j.y_from, j.y_to);
  tap_ranges(j.taps.tx, ow, j.uw, j.x_from, j.x_to);
  j.grow = g_new(double, 3 * (size_t)n_slots);
  j.missed = j.grow + 2 * n_slots;
  /* a left-out term is score · sigmoid(x) with x < SEM_CUT + 1e-3, each factor rounded once */
  const double tiny = 1.0 / (1.0 + exp(-((double)SEM_CUT + 1e-3))) * (1.0 + 1e-6);
  for (int k = 0, m = 0; k < n_slots; k++) {
    const int m0 = m;
    double sum_score = 0.0;
    for (; m < slot_end[k]; m++)
      sum_score += score[m];
    const double g = (double)(m - m0) * 0x1p-24 * 1.01; /* γ of the slot's n_k terms */
    j.grow[2 * k] = 1.0 - 2.0 * g / (1.0 - g);
    j.grow[2 * k + 1] = 1.0 + 2.0 * g / (1.0 - g);
    j.missed[k] = sum_score * tiny * (1.0 + g);
    j.grow_max = MAX(j.grow_max, j.grow[2 * k + 1]);
    j.missed_max = MAX(j.missed_max, j.missed[k]);
  }
  ufo_pool_run(cpu->pool, (oh + j.band - 1) / j.band, 1, semantic_run, &j);
  taps_free(&j.taps);
  g_free(j.y_from);
  g_free(j.grow);
}
