/* The semantic label map (backend.h mask_semantic, seg §3.6) on the CPU: per output pixel, the
 * class of the largest score-weighted probability sum, computed where bounds cannot prove it:
 * whole source cells first, then halves of the cells that a class boundary crosses, then pixel
 * sums with terms left out, then (near ties) every term. The labels are, bit for bit, those of
 * summing every term (the reference backend's and engine/tasks/masks.c's path). */
#include "cpu.h"

#include "../mask_math.h"
#include "mask_taps.h"
#include "mask_vec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Semantic label maps (seg §3.6) with a certified shortcut. A map's logits lie far below zero
 * over most of the image, and there its term score·sigmoid(logit) is tiny. Each band of rows
 * sums, per slot, the terms of the pixels that no bound below decided, leaving out those whose
 * source cell (the four logits its bilinear taps read, seg §2.8) has no logit >= SEM_CUT, with
 * the bounds' float sigmoid (mask_vec.h ufo_v_sigmoid_approx: each term within η = SEM_ETA of
 * the full computation's, relatively, or 1e-37 absolutely below −87): a sum A_k. The full float
 * sum a_k of every term is within E_k of it: a_k >= A_k(1 − 2γ/(1−γ))(1 − 3η) − D_k(1+γ) − T
 * and a_k <= A_k(1 + 2γ/(1−γ))(1 + 3η) + D_k(1+γ) + T, with γ = 1.01·n_k·2^-24 (the float
 * rounding of two sums of at most n_k non-negative terms), D_k = Σ score over the slot's maps ·
 * sigmoid(SEM_CUT + 1e-3) (every left-out term: a blend of logits below SEM_CUT stays below
 * SEM_CUT + 1e-3 in float, as background_cut's) and T = n·1e-37. A pixel whose best lower end
 * is > 0 and above every other slot's upper end has the label of the full computation; every
 * other pixel (near-ties, pixels far from every map, NaN sums) is computed in full, term by
 * term in the same order. So the labels are, bit for bit, those of summing every term (the
 * reference backend's and engine/tasks/masks.c's path). Scores that are negative or not finite
 * (never a probability) turn the shortcut off. */
#define SEM_CUT -10.f
/* a pixel term's relative error with the bounds' sigmoid: its own, the full computation's float
 * sigmoid's (2^-22) and the products' (2^-24 each) */
#define SEM_ETA (UFO_SIGMOID_APPROX_REL + 0x1p-21)
#define SEM_TINY 1e-37 /* per map: the terms' absolute error near the denormals */

typedef struct {
  UfoCpu *cpu;
  UfoView u;
  int uh, uw, oh, ow, band;
  Taps taps;
  int *y_from, *y_to; /* (uh) output rows [y_from, y_to) whose top tap is source row r */
  int *x_from, *x_to; /* (uw) output columns [x_from, x_to) whose left tap is source column c */
  const float *score;
  const int32_t *slot_end, *slot_class;
  int n, n_slots;              /* maps, slots (classes) */
  int *span_first, *span_last; /* (n, uh) per map and source row: the first and the last column
                                  with a logit >= cut or NaN (first > last: none) */
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
                               float ly0, float ly1, float s, gboolean approx)
{
  int x = xa;
  for (; approx && x + UFO_MASK_LANES <= xb; x += UFO_MASK_LANES) {
    const UfoVf v = ufo_vf_load(t0 + x) * ly0 + ufo_vf_load(t1 + x) * ly1;
    ufo_vf_store(ar + x, ufo_vf_load(ar + x) + s * ufo_v_sigmoid_approx(v));
  }
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
 * fl(score·sigmoid(x)) within score·sigmoid(mn − ε)·(1 − 2^-18) and score·sigmoid(mx + ε)·
 * (1 + 2^-18) (the pixel's float sigmoid is within 2^-22 of sigmoid: ufo_mask_exp's ulp, 1 + e,
 * the division; the bounds' ufo_v_sigmoid_approx within UFO_SIGMOID_APPROX_REL = 2^-19; the
 * products 2^-24 each), ± 1e-37 near the denormals; maps whose four logits lie below
 * SEM_CUT are the left-out terms of missed[k]. So a slot's float sum lies in [LO_k, HI_k] (the
 * rounding of the sum: grow[]), and when one slot's LO_b > 0 exceeds every other slot's HI_k,
 * every pixel of the cell has that slot's label, as the full computation gives it (the largest
 * sum is unique). */
#define CELL_EPS 0x1p-19
#define CELL_DELTA 0x1p-18
#define CELL_TINY SEM_TINY

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

/* The class that slot bounds prove (lo[k·stride], hi[k·stride]: the sums of the bounds of the
 * slot's maps), or -1: the slot whose LO_b > 0 exceeds every other slot's HI_k, with the
 * sigmoid's and the products' rounding (CELL_DELTA), the sums' (grow), the left-out maps'
 * (missed) and the denormals' (CELL_TINY) taken in. */
static int slots_decide(const SemJob *j, const double *lo, const double *hi, size_t stride)
{
  double best_lo = 0.0, hi1 = -1.0, hi2 = -1.0; /* the two largest HI_k */
  int best = -1, hi1_k = -1;
  for (int k = 0, m0 = 0; k < j->n_slots; m0 = j->slot_end[k], k++) {
    const double tiny = CELL_TINY * (j->slot_end[k] - m0);
    const double l = lo[(size_t)k * stride] * (1.0 - CELL_DELTA) * j->grow[2 * k] - tiny;
    const double h =
        hi[(size_t)k * stride] * (1.0 + CELL_DELTA) * j->grow[2 * k + 1] + j->missed[k] + tiny;
    if (l > best_lo)
      best_lo = l, best = k;
    if (h > hi1)
      hi2 = hi1, hi1 = h, hi1_k = k;
    else if (h > hi2)
      hi2 = h;
  }
  const double other = hi1_k == best ? hi2 : hi1; /* the largest HI of the other slots */
  return best >= 0 && best_lo > other ? j->slot_class[best] : -1;
}

/* The classes of the cells of source row r (second row r1), label[c] (uw), -1 where the bounds
 * do not prove one, -2 where a logit is NaN; lo, hi: scratch of n_slots·uw doubles each. Each map's
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
        const UfoVf m01 = ufo_vf_select(v0 > v1, v0, v1), m23 = ufo_vf_select(v2 > v3, v2, v3);
        const UfoVf mx = ufo_vf_select(m01 > m23, m01, m23);
        const UfoVi above = mx >= cut;
        if (memcmp(&above, &none, sizeof above) == 0) /* every cell left out */
          continue;
        const UfoVf n01 = ufo_vf_select(v0 < v1, v0, v1), n23 = ufo_vf_select(v2 < v3, v2, v3);
        const UfoVf mn = ufo_vf_select(n01 < n23, n01, n23);
        const UfoVf amn = (UfoVf)((UfoVi)mn & 0x7fffffff), amx = (UfoVf)((UfoVi)mx & 0x7fffffff);
        const UfoVf eps = ufo_vf_select(amn > amx, amn, amx) * CELL_EPS;
        const UfoVf slo = ufo_v_sigmoid_approx(mn - 2.f * eps);
        const UfoVf shi = ufo_v_sigmoid_approx(mx + 2.f * eps);
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
  for (int c = 0; c < uw; c++)
    if (label[c] != -2)
      label[c] = slots_decide(j, lo + c, hi + c, uw);
}

/* Rectangles inside a cell that the cell's bounds left undecided (a class boundary crosses it).
 * A pixel's blended logit is, up to rounding, the bilinear interpolant of the cell's four logits
 * at the pixel's weights (l1 along x, l1 along y; l0 = fl(1 − l1) = 1 − l1 ± 2^-25). Inside a
 * cell the weights grow with x and y (ufo_bilinear_tap: monotone float operations), and a
 * bilinear function takes its extremes over a rectangle at the corners, so every pixel of a
 * rectangle has a blended logit within [mn − ε, mx + ε] of the blended logits mn, mx at its
 * four corner pixels: each blend rounds ≤ 6 times values of at most M = the cell's largest
 * |logit| (2·6·2^-24·M for the pixel's and the corner's), and l0 + l1 = 1 ± 2^-25 moves each
 * direction by ≤ 2^-25·M: < 2^-20·M, half of ε = CELL_EPS·M. So the cell's bounds hold for a
 * rectangle with its corners' logits for the cell's four: a rectangle whose bounds prove a class
 * gets it whole; one that does not is halved along its longer side, down to SUB_MIN pixels,
 * which are summed pixel by pixel (semantic_add_map). The bounds' products score·sigmoid round
 * once in float here (2^-24 more, inside CELL_DELTA). */
#define SUB_MIN 16

typedef struct {
  int np;                   /* maps rounded up to UFO_MASK_LANES (the rest: logits 0, score 0) */
  float *a0, *a1, *b0, *b1; /* (np) each map's four logits: rows r, r1 × columns c, c1 */
  float *s;                 /* (np) score, 0 where the four lie below cut (missed[k] holds it) */
  float *e2;                /* (np) 2ε = 2·CELL_EPS·max|logit| of the four */
  float *lo, *hi;           /* (np) a rectangle's bounds per map */
  double *slo, *shi;        /* (n_slots) and per slot */
} SubCell;

static SubCell subcell_new(const SemJob *j)
{
  SubCell sc;
  sc.np = (j->n + UFO_MASK_LANES - 1) / UFO_MASK_LANES * UFO_MASK_LANES;
  sc.a0 = g_new0(float, 8 * (size_t)sc.np);
  sc.a1 = sc.a0 + sc.np, sc.b0 = sc.a1 + sc.np, sc.b1 = sc.b0 + sc.np;
  sc.s = sc.b1 + sc.np, sc.e2 = sc.s + sc.np, sc.lo = sc.e2 + sc.np, sc.hi = sc.lo + sc.np;
  sc.slo = g_new(double, 2 * (size_t)j->n_slots);
  sc.shi = sc.slo + j->n_slots;
  return sc;
}

static void subcell_free(SubCell *sc)
{
  g_free(sc->a0);
  g_free(sc->slo);
}

/* The four logits of cell (r, c) of every map, its score and 2ε */
static void subcell_gather(const SemJob *j, SubCell *sc, int r, int r1, int c, int c1)
{
  for (int m = 0; m < j->n; m++) {
    const float *um = ufo_cpu_ptr(j->u) + (size_t)(m * j->uh) * j->u.ld;
    const float *a = um + (size_t)r * j->u.ld, *b = um + (size_t)r1 * j->u.ld;
    const float v0 = a[c], v1 = a[c1], v2 = b[c], v3 = b[c1];
    const float mx = fmaxf(fmaxf(v0, v1), fmaxf(v2, v3)), mn = fminf(fminf(v0, v1), fminf(v2, v3));
    sc->a0[m] = v0, sc->a1[m] = v1, sc->b0[m] = v2, sc->b1[m] = v3;
    sc->s[m] = mx < j->cut ? 0.f : j->score[m]; /* a left-out term (missed[k]) */
    sc->e2[m] = 2.f * (float)CELL_EPS * fmaxf(fabsf(mn), fabsf(mx));
  }
}

/* The class that the bounds prove for output rows ya..yl, columns xa..xl (inclusive) of the
 * gathered cell, or -1 */
static int subcell_label(const SemJob *j, SubCell *sc, int ya, int yl, int xa, int xl)
{
  const UfoBilinearTap x0 = j->taps.tx[xa], x1 = j->taps.tx[xl];
  const UfoBilinearTap y0 = j->taps.ty[ya], y1 = j->taps.ty[yl];
  for (int i = 0; i < sc->np; i += UFO_MASK_LANES) {
    const UfoVf a0 = ufo_vf_load(sc->a0 + i), a1 = ufo_vf_load(sc->a1 + i);
    const UfoVf b0 = ufo_vf_load(sc->b0 + i), b1 = ufo_vf_load(sc->b1 + i);
    /* the corners' logits as ufo_bilinear_at blends them: along x, then along y */
    const UfoVf p0 = a0 * x0.l0 + a1 * x0.l1, p1 = a0 * x1.l0 + a1 * x1.l1;
    const UfoVf q0 = b0 * x0.l0 + b1 * x0.l1, q1 = b0 * x1.l0 + b1 * x1.l1;
    const UfoVf v00 = p0 * y0.l0 + q0 * y0.l1, v01 = p1 * y0.l0 + q1 * y0.l1;
    const UfoVf v10 = p0 * y1.l0 + q0 * y1.l1, v11 = p1 * y1.l0 + q1 * y1.l1;
    const UfoVf n0 = ufo_vf_select(v00 < v01, v00, v01), n1 = ufo_vf_select(v10 < v11, v10, v11);
    const UfoVf x0m = ufo_vf_select(v00 > v01, v00, v01), x1m = ufo_vf_select(v10 > v11, v10, v11);
    const UfoVf mn = ufo_vf_select(n0 < n1, n0, n1), mx = ufo_vf_select(x0m > x1m, x0m, x1m);
    const UfoVf e2 = ufo_vf_load(sc->e2 + i), s = ufo_vf_load(sc->s + i);
    ufo_vf_store(sc->lo + i, s * ufo_v_sigmoid_approx(mn - e2));
    ufo_vf_store(sc->hi + i, s * ufo_v_sigmoid_approx(mx + e2));
  }
  for (int k = 0, m = 0; k < j->n_slots; k++) {
    double l = 0.0, h = 0.0;
    for (; m < j->slot_end[k]; m++)
      l += sc->lo[m], h += sc->hi[m];
    sc->slo[k] = l, sc->shi[k] = h;
  }
  return slots_decide(j, sc->slo, sc->shi, 1);
}

/* Labels the rectangles of the undecided cell (r, c) (output rows [ya, yb), columns [xa, xb) of
 * the band from row y0) that the bounds prove, halving the others; done: the band's labelled
 * pixels. */
static void subcell_split(const SemJob *j, SubCell *sc, int r, int r1, int c, int ya, int yb,
                          int xa, int xb, int y0, uint8_t *done)
{
  subcell_gather(j, sc, r, r1, c, j->taps.tx[xa].i1);
  int stack[4 * 64], top = 0; /* rectangles [y, y_end) × [x, x_end); depth < 64 halvings */
  stack[top++] = ya, stack[top++] = yb, stack[top++] = xa, stack[top++] = xb;
  while (top > 0) {
    const int x_end = stack[--top], x = stack[--top], y_end = stack[--top], y = stack[--top];
    const int h = y_end - y, w = x_end - x;
    if ((int64_t)h * w <= SUB_MIN)
      continue; /* summed pixel by pixel */
    const int label = subcell_label(j, sc, y, y_end - 1, x, x_end - 1);
    if (label >= 0) {
      for (int py = y; py < y_end; py++) {
        for (int px = x; px < x_end; px++)
          j->labels[(size_t)py * j->ow + px] = (uint16_t)label;
        memset(done + (size_t)(py - y0) * j->ow + x, 1, (size_t)w);
      }
      continue;
    }
    const int hy = h >= w ? y + h / 2 : y_end, hx = h >= w ? x_end : x + w / 2;
    stack[top++] = y, stack[top++] = hy, stack[top++] = x, stack[top++] = hx;
    stack[top++] = h >= w ? hy : y, stack[top++] = y_end;
    stack[top++] = h >= w ? x : hx, stack[top++] = x_end;
  }
}

/* The pixels of a band still to sum: per output row, runs [x, x_end) that start at a pixel not
 * labelled and hold whole vectors of UFO_MASK_LANES pixels (but at the right edge); the labelled
 * pixels they take in are summed too and never read. The union of the runs of the output rows
 * of one source row: the columns blended along x for them. */
typedef struct {
  int *x;   /* (2·count) run i: [x[2i], x[2i+1]) */
  int *row; /* (rows + 1) row y's runs: row[y − y0] .. row[y − y0 + 1] − 1 */
  int count, cap;
} Runs;

static void runs_add(Runs *rs, int x, int x_end)
{
  if (rs->count == rs->cap) {
    rs->cap = MAX(64, 2 * rs->cap);
    rs->x = g_renew(int, rs->x, 2 * (size_t)rs->cap);
  }
  rs->x[2 * rs->count] = x, rs->x[2 * rs->count + 1] = x_end;
  rs->count++;
}

/* rs: the runs of the pixels of rows [y0, y1) whose byte (a row of ow per output row) is want
 * (0 or 1; the others 1 or 0) */
static void runs_make(Runs *rs, int y0, int y1, int ow, const uint8_t *bytes, uint8_t want)
{
  rs->count = 0;
  for (int y = y0; y < y1; y++) {
    const int first = rs->row[y - y0] = rs->count;
    const uint8_t *d = bytes + (size_t)(y - y0) * ow;
    const uint64_t other = want ? 0 : 0x0101010101010101ull; /* 8 bytes, none wanted */
    for (int x = 0; x < ow; x++) {
      uint64_t w8;
      if (x % 8 == 0 && x + 8 <= ow && (memcpy(&w8, d + x, 8), w8 == other)) {
        x += 7;
        continue;
      }
      if (d[x] != want)
        continue;
      int *last = rs->count > first ? rs->x + 2 * rs->count - 2 : NULL;
      if (last != NULL && x < last[1])
        continue; /* in the last run's vectors */
      if (last != NULL && x == last[1])
        last[1] = MIN(ow, x + UFO_MASK_LANES); /* one more vector */
      else
        runs_add(rs, x, MIN(ow, x + UFO_MASK_LANES));
    }
  }
  rs->row[y1 - y0] = rs->count;
}

/* Map m's terms score·P_m added to its slot's accumulator a (rows [y0, y1) of the label map) at
 * the pixels of the runs rs, but where none of a pixel's four source logits reaches cut (NaN
 * does: kept): by source row, its two rows blended along x once over the union of the runs of
 * its output rows (uni[r − r_first], into t0, t1: scratch of ow each), then along y per output
 * row, UFO_MASK_LANES pixels at a time (mask_vec.h: the scalar functions' bits). Terms of
 * pixels whose logits lie below cut may be added too: each is computed as in the full sum and
 * added in the same order, so the bounds of the left-out terms (missed) and of the rounding
 * (grow) still hold. */
static void semantic_add_map(const SemJob *j, int64_t m, int y0, int y1, float *a, float *t0,
                             float *t1, const Runs *rs, const Runs *uni)
{
  const int r_first = j->taps.ty[y0].i0;
  const float *um = ufo_cpu_ptr(j->u) + (size_t)(m * j->uh) * j->u.ld;
  const int *first = j->span_first + (size_t)m * j->uh, *last = j->span_last + (size_t)m * j->uh;
  const float s = j->score[m];
  for (int r = r_first; r <= j->taps.ty[y1 - 1].i0; r++) {
    const int ya = MAX(y0, j->y_from[r]), yb = MIN(y1, j->y_to[r]);
    if (ya >= yb)
      continue;
    const int r1 = j->taps.ty[ya].i1;
    /* the columns of rows r, r1 with a logit >= cut: pixels left of c0 or right of c1 read none */
    const int c0 = MIN(first[r], first[r1]), c1 = MAX(last[r], last[r1]);
    const float *u0 = um + (size_t)r * j->u.ld, *u1 = um + (size_t)r1 * j->u.ld;
    const Runs *un = &uni[r - r_first];
    for (const int *q = un->x; q < un->x + 2 * un->count; q += 2) {
      if (c0 > c1 || j->taps.tx[q[1] - 1].i1 < c0 || j->taps.tx[q[0]].i0 > c1)
        continue; /* every pixel's term left out */
      semantic_blend_rows(j, u0, u1, q[0], q[1], t0, t1);
      for (int y = ya; y < yb; y++) {
        float *ar = a + (size_t)(y - y0) * j->ow;
        const int *p = rs->x + 2 * rs->row[y - y0], *pe = rs->x + 2 * rs->row[y - y0 + 1];
        for (; p < pe && p[0] < q[1]; p += 2)
          if (p[0] >= q[0])
            semantic_add_terms(ar, t0, t1, p[0], p[1], j->taps.ty[y].l0, j->taps.ty[y].l1, s,
                               j->cut > -INFINITY);
      }
    }
  }
}

/* Row bands [b*band, ...) of the label map: cells, then rectangles of cells, labelled where
 * the bounds prove it; for the other pixels, per slot the sum of its maps' terms (in the sorted
 * grid order, seg §6.17), then the argmax, certified (above) or computed in full; scratch:
 * n_slots accumulators of a band. */
static void semantic_run(void *ctx, int64_t begin, int64_t end, int worker)
{
  const SemJob *j = ctx;
  const size_t bpix = (size_t)j->band * j->ow;
  float *acc = j->cpu->scratch[worker], *t0 = acc + (size_t)j->n_slots * bpix, *t1 = t0 + j->ow;
  const gboolean bounds = j->cut > -INFINITY;
  SubCell sc = subcell_new(j);
  Runs rs = {NULL, g_new(int, (size_t)j->band + 1), 0, 0};
  const int max_src = j->uh; /* source rows a band's rows read: at most uh */
  Runs *uni = g_new0(Runs, max_src);
  for (int r = 0; r < max_src; r++)
    uni[r].row = g_new(int, 2);
  uint8_t *done = g_new(uint8_t, bpix), *cols = g_new(uint8_t, j->ow);
  double *lo = NULL, *hi = NULL;
  int *cell = NULL;
  if (bounds) {
    lo = g_new(double, 2 * (size_t)j->n_slots * j->uw);
    hi = lo + (size_t)j->n_slots * j->uw;
    cell = g_new(int, j->uw);
  }
  for (int64_t b = begin; b < end; b++) {
    const int y0 = (int)b * j->band, y1 = MIN(j->oh, y0 + j->band);
    /* cells whose pixels all get one label (semantic_cell_row), then rectangles of the others
     * (subcell_split): labelled here, left out of the sums and of the per-pixel argmax below */
    const int r_first = j->taps.ty[y0].i0, r_last = j->taps.ty[y1 - 1].i0;
    memset(done, 0, (size_t)(y1 - y0) * j->ow);
    for (int r = r_first; bounds && r <= r_last; r++) {
      const int ya = MAX(y0, j->y_from[r]), yb = MIN(y1, j->y_to[r]);
      if (ya >= yb)
        continue;
      const int r1 = j->taps.ty[ya].i1;
      semantic_cell_row(j, r, r1, lo, hi, cell);
      for (int c = 0; c < j->uw; c++) {
        const int xa = j->x_from[c], xb = j->x_to[c], label = cell[c];
        if (xa >= xb)
          continue;
        if (label == -1)
          subcell_split(j, &sc, r, r1, c, ya, yb, xa, xb, y0, done);
        if (label < 0)
          continue;
        for (int y = ya; y < yb; y++) {
          for (int x = xa; x < xb; x++)
            j->labels[(size_t)y * j->ow + x] = (uint16_t)label;
          memset(done + (size_t)(y - y0) * j->ow + xa, 0x01, (size_t)(xb - xa));
        }
      }
    }
    runs_make(&rs, y0, y1, j->ow, done, 0);
    for (int r = r_first; r <= r_last; r++) { /* the columns of the runs of source row r */
      const int ya = MAX(y0, j->y_from[r]), yb = MIN(y1, j->y_to[r]);
      memset(cols, 0, (size_t)j->ow);
      for (int y = ya; y < yb; y++)
        for (const int *p = rs.x + 2 * rs.row[y - y0]; p < rs.x + 2 * rs.row[y - y0 + 1]; p += 2)
          memset(cols + p[0], 1, (size_t)(p[1] - p[0]));
      runs_make(&uni[r - r_first], 0, 1, j->ow, cols, 1);
    }
    /* the accumulators of the pixels still to sum (those of labelled pixels are never read) */
    for (int py = y0; py < y1; py++)
      for (const int *p = rs.x + 2 * rs.row[py - y0]; p < rs.x + 2 * rs.row[py - y0 + 1]; p += 2)
        for (int k = 0; k < j->n_slots; k++)
          memset(acc + (size_t)k * bpix + (size_t)(py - y0) * j->ow + p[0], 0,
                 sizeof(float) * (size_t)(p[1] - p[0]));
    for (int k = 0, m = 0; k < j->n_slots; k++) {
      float *a = acc + (size_t)k * bpix;
      for (; m < j->slot_end[k]; m++)
        semantic_add_map(j, m, y0, y1, a, t0, t1, &rs, uni);
    }
    /* the pixels not labelled above */
    for (int py = y0; py < y1; py++)
      for (const int *p = rs.x + 2 * rs.row[py - y0]; p < rs.x + 2 * rs.row[py - y0 + 1]; p += 2)
        for (int px = p[0]; px < p[1]; px++) {
          const size_t i = (size_t)(py - y0) * j->ow + px;
          if (done[i])
            continue; /* labelled with its cell or rectangle */
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
          gboolean sure = !bounds; /* every term summed: these are the full sums */
          if (!sure && best_k >= 0 && !nan) {
            /* the certificate: the best full sum surely > 0 and > every other slot's (the
             * largest other sum with the largest bound of any slot) */
            const double t = SEM_TINY * j->n;
            const double lo_b =
                best_v * j->grow[2 * best_k] * (1.0 - 3.0 * SEM_ETA) - j->missed[best_k] - t;
            sure = lo_b > second * j->grow_max * (1.0 + 3.0 * SEM_ETA) + j->missed_max + t;
          }
          if (!sure)
            best = semantic_pixel_full(j, py, px);
          j->labels[(size_t)y0 * j->ow + i] = (uint16_t)best;
        }
  }
  subcell_free(&sc);
  g_free(rs.x);
  g_free(rs.row);
  for (int r = 0; r < max_src; r++) {
    g_free(uni[r].x);
    g_free(uni[r].row);
  }
  g_free(uni);
  g_free(done);
  g_free(cols);
  g_free(lo);
  g_free(cell);
}

void ufo_cpu_mask_semantic(UfoCpu *cpu, UfoView u, int n, int oh, int ow, const float *score,
                           const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                           uint16_t *labels)
{
  SemJob j = {.cpu = cpu, .u = u, .uh = (int)(u.rows / n), .uw = (int)u.cols, .oh = oh, .ow = ow};
  j.score = score, j.slot_end = slot_end, j.slot_class = slot_class, j.n_slots = n_slots;
  j.n = n;
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
  j.span_first = g_new(int, 2 * (size_t)n * j.uh);
  j.span_last = j.span_first + (size_t)n * j.uh;
  for (int m = 0; m < n; m++)
    for (int r = 0; r < j.uh; r++) {
      const float *row = ufo_cpu_ptr(u) + (size_t)(m * j.uh + r) * u.ld;
      int a = 0, b = j.uw - 1;
      while (a < j.uw && row[a] < j.cut)
        a++;
      while (b > a && row[b] < j.cut)
        b--;
      j.span_first[(size_t)m * j.uh + r] = a, j.span_last[(size_t)m * j.uh + r] = a < j.uw ? b : -1;
    }
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
  g_free(j.span_first);
}
