/* The segmentation mask ops (backend.h mask_logits, mask_threshold, mask_probs, mask_semantic;
 * seg §2.6-§2.9, §3.6) on the backend named by --backend=NAME (cpu, cpu-ref, cuda-emu, cuda)
 * against plain double-precision reference loops, and on "cpu" bit for bit against the host
 * path the task code used before the ops (engine/tasks/masks.c: ufo_mask_logits,
 * ufo_mask_probs; the semantic accumulation is compared bit for bit by
 * tests/engine/tasks/test_masks.c). Binary results may differ from the reference only at pixels
 * whose probability lies within 1e-5 of the threshold (counted and reported); class maps only
 * where the two best class sums are within 1e-5 of each other. Also: the bytes each op reports
 * downloaded, and operands the wrappers refuse. */
#include "backend_by_name.h"
#include "backend/mask_math.h"
#include "tasks/tasks.h"

#include <math.h>
#include <string.h>

static const char *backend_name = "cpu";

typedef struct {
  int hp, wp, C, n, oh, ow;
  float escale; /* features of E scaled so that the logits spread over several units */
  float thr;    /* threshold of mask_threshold */
  int slots;    /* classes of mask_semantic (maps split evenly, the rest to the last) */
  float bias;   /* added to every logit (through the last feature): maps mostly far below 0 */
} Case;

static const Case cases[] = {
    {3, 5, 24, 3, 37, 70, 8.f, 0.5f, 2},  /* upsampling, words of 64 with a partial one */
    {2, 2, 16, 2, 8, 8, 6.f, 0.5f, 2},    /* 4hp x 4wp: the identity resize */
    {4, 3, 40, 5, 5, 130, 8.f, 0.8f, 3},  /* downsampling in y, three words per row */
    {2, 3, 32, 4, 61, 64, 10.f, 0.5f, 1}, /* one class only, rows of exactly one word */
    {1, 1, 2, 1, 3, 2, -1000.f, 0.5f, 1}, /* logits -707: the sigmoid underflows to 0 */
    /* a demo-like size, mostly background: the CPU backend's background shortcut (cpu/masks.c)
     * at a low and a high threshold, and one outside its range (every pixel computed) */
    {7, 7, 24, 4, 150, 140, 3.f, 0.3f, 2},
    {7, 6, 24, 3, 97, 211, 3.f, 0.95f, 2},
    {5, 5, 16, 2, 60, 60, 3.f, 0.995f, 1},
    /* mask_semantic's certified shortcut on the CPU (cpu/masks.c: terms of cells whose logits
     * lie below -10 left out, the label kept where the bound proves it, else the pixel summed
     * in full): maps far below 0 with some cells above (most pixels proved), around -10 (terms
     * left out and kept of the same size: the bound decides pixel by pixel), and all below
     * (every pixel summed in full) */
    {6, 6, 24, 12, 150, 140, 1.5f, 0.5f, 4, -17.f},
    {5, 6, 24, 9, 83, 117, 1.f, 0.5f, 3, -16.f},
    {4, 4, 16, 6, 40, 50, 1.f, 0.5f, 3, -30.f},
    /* cells of 37 x 51 and 19 x 3 pixels that class boundaries cross: rectangles of cells,
     * halved until the bounds decide them (cpu/mask_semantic.c subcell_split) */
    {2, 2, 16, 10, 300, 410, 2.f, 0.5f, 4, -2.f},
    {3, 2, 24, 7, 230, 30, 3.f, 0.5f, 3, -6.f},
    /* 37 objects: mask_logits in three products (UFO_MASK_LOGITS_GROUP 16, 16 and 5 objects)
     * on the workers, the host path's bits */
    {2, 3, 16, 37, 40, 60, 6.f, 0.5f, 5},
};

static uint32_t rng_state;

static float urand(void) /* uniform in [-1, 1) */
{
  rng_state = rng_state * 1664525u + 1013904223u;
  return (float)((rng_state >> 8) * (1.0 / 8388608.0)) * 2.f - 1.f;
}

static UfoBackend *backend(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  if (be == NULL)
    g_error("backend %s: %s", backend_name, err->message);
  return be;
}

/* P of map um (uh, uw, row stride ld) at (y, x) of (oh, ow) in double: the spec's float taps
 * (seg §2.8), the blend and the sigmoid in double. */
static double ref_prob(const float *um, int64_t ld, int uh, int uw, int oh, int ow, int y, int x)
{
  const UfoBilinearTap ty = ufo_bilinear_tap(uh, oh, y), tx = ufo_bilinear_tap(uw, ow, x);
  const float *r0 = um + ty.i0 * ld, *r1 = um + ty.i1 * ld;
  const double t0 = (double)r0[tx.i0] * tx.l0 + (double)r0[tx.i1] * tx.l1;
  const double t1 = (double)r1[tx.i0] * tx.l0 + (double)r1[tx.i1] * tx.l1;
  const double v = t0 * ty.l0 + t1 * ty.l1;
  /* seg §0 item 2: the float sigmoid is exactly 0 once exp(−v) overflows (v < −ln FLT_MAX) */
  return v < -88.722839 ? 0.0 : 1.0 / (1.0 + exp(-v));
}

typedef struct {
  const Case *c;
  UfoBackend *be;
  int uh, uw, words;
  float *E, *F; /* host inputs (16n, C), (hp*wp, C) */
  UfoTensor *te, *tf, *tu;
  UfoView e, f, u;
  float *U;     /* the backend's maps downloaded (n*uh, uw) */
  float *Uhost; /* the host path's maps (ufo_mask_logits) */
  float *Phost; /* the host path's probabilities (n, oh, ow) (ufo_mask_probs) */
  double *Pref; /* reference probabilities of the backend's maps (n, oh, ow) */
} Fx;

static void fx_init(Fx *x, const Case *c)
{
  GError *err = NULL;
  memset(x, 0, sizeof *x);
  x->c = c;
  x->be = backend();
  x->uh = 4 * c->hp, x->uw = 4 * c->wp, x->words = (c->ow + 63) / 64;
  const int hw = c->hp * c->wp;
  x->E = g_new(float, (size_t)16 * c->n * c->C);
  x->F = g_new(float, (size_t)hw * c->C);
  for (int i = 0; i < 16 * c->n * c->C; i++)
    x->E[i] = c->escale < 0 ? (i % c->C == 0 ? c->escale : 0.f) : urand() * c->escale;
  for (int i = 0; i < hw * c->C; i++)
    x->F[i] = c->escale < 0 ? (i % c->C == 0 ? 1.f : 0.f) : urand();
  if (c->bias != 0.f) /* logit += bias: feature C-1 is 1 in F and bias·sqrt(C) in E */
    for (int i = 0; i < MAX(16 * c->n, hw); i++) {
      if (i < 16 * c->n)
        x->E[(size_t)i * c->C + c->C - 1] = c->bias * sqrtf((float)c->C);
      if (i < hw)
        x->F[(size_t)i * c->C + c->C - 1] = 1.f;
    }
  /* strided operands: e in a wider tensor, u at an offset with ld > cols */
  x->te = ufo_tensor_new_2d(x->be, 16 * c->n, c->C + 3, &err);
  x->tf = ufo_tensor_new_2d(x->be, hw, c->C, &err);
  x->tu = ufo_tensor_new_2d(x->be, (int64_t)c->n * x->uh + 1, x->uw + 2, &err);
  g_assert_no_error(err);
  x->e = ufo_view_sub(ufo_view(x->te), 0, 0, 16 * c->n, c->C);
  x->f = ufo_view(x->tf);
  x->u = ufo_view_sub(ufo_view(x->tu), 1, 2, (int64_t)c->n * x->uh, x->uw);
  for (int r = 0; r < 16 * c->n; r++)
    g_assert_true(
        ufo_tensor_upload(x->te, (size_t)r * (c->C + 3), x->E + (size_t)r * c->C, c->C, &err));
  g_assert_true(ufo_tensor_upload(x->tf, 0, x->F, (size_t)hw * c->C, &err));
  g_assert_no_error(err);
  x->U = g_new(float, (size_t)c->n * x->uh * x->uw);
  x->Uhost = g_new(float, (size_t)c->n * x->uh * x->uw);
  x->Phost = g_new(float, (size_t)c->n * c->oh * c->ow);
  x->Pref = g_new(double, (size_t)c->n * c->oh * c->ow);
  ufo_mask_logits(x->E, c->n, x->F, c->hp, c->wp, c->C, x->Uhost);
  for (int m = 0; m < c->n; m++)
    ufo_mask_probs_of_logits(x->Uhost + (size_t)m * x->uh * x->uw, c->hp, c->wp, c->ow, c->oh,
                             x->Phost + (size_t)m * c->oh * c->ow);
}

static void fx_clear(Fx *x)
{
  ufo_tensor_free(x->te);
  ufo_tensor_free(x->tf);
  ufo_tensor_free(x->tu);
  ufo_backend_free(x->be);
  g_free(x->E);
  g_free(x->F);
  g_free(x->U);
  g_free(x->Uhost);
  g_free(x->Phost);
  g_free(x->Pref);
}

/* mask_logits against the double product; "cpu": the host path's bits */
static void check_logits(Fx *x)
{
  const Case *c = x->c;
  GError *err = NULL;
  g_assert_true(ufo_op_mask_logits(x->be, x->u, x->e, x->f, c->hp, c->wp, &err));
  g_assert_no_error(err);
  for (int r = 0; r < c->n * x->uh; r++)
    g_assert_true(ufo_tensor_download(x->tu, x->u.off + (size_t)r * x->u.ld,
                                      x->U + (size_t)r * x->uw, x->uw, &err));
  g_assert_no_error(err);
  double worst = 0;
  for (int m = 0; m < c->n; m++)
    for (int j = 0; j < 16; j++)
      for (int h = 0; h < c->hp; h++)
        for (int w = 0; w < c->wp; w++) {
          double s = 0, mag = 0;
          for (int k = 0; k < c->C; k++) {
            const double p = (double)x->E[((size_t)16 * m + j) * c->C + k] *
                             x->F[((size_t)h * c->wp + w) * c->C + k];
            s += p, mag += fabs(p);
          }
          /* seg §2.6-§2.7: S / sqrt(C) at (4h + j/4, 4w + j%4) of map m */
          const size_t at = ((size_t)m * x->uh + 4 * h + j / 4) * x->uw + 4 * w + j % 4;
          const double d = fabs(x->U[at] - s / sqrt((double)c->C)) / (mag / sqrt(c->C) + 1e-30);
          worst = MAX(worst, d);
        }
  g_test_message("%s: mask_logits worst error %.3g of the terms' magnitude", backend_name, worst);
  g_assert_cmpfloat(worst, <=, 2e-6); /* float32 sums of C products */
  if (strcmp(backend_name, "cpu") == 0)
    g_assert_cmpint(memcmp(x->U, x->Uhost, sizeof(float) * c->n * x->uh * x->uw), ==, 0);
  for (int m = 0; m < c->n; m++)
    for (int y = 0; y < c->oh; y++)
      for (int xx = 0; xx < c->ow; xx++)
        x->Pref[((size_t)m * c->oh + y) * c->ow + xx] =
            ref_prob(x->U + (size_t)m * x->uh * x->uw, x->uw, x->uh, x->uw, c->oh, c->ow, y, xx);
}

static void check_threshold(Fx *x)
{
  const Case *c = x->c;
  GError *err = NULL;
  const size_t per = (size_t)c->oh * x->words;
  g_autofree uint64_t *bits = g_new(uint64_t, per * c->n);
  g_autofree double *sum = g_new(double, c->n);
  g_autofree int64_t *cnt = g_new(int64_t, c->n);
  const uint64_t down0 = x->be->bytes_down;
  g_assert_true(
      ufo_op_mask_threshold(x->be, x->u, c->n, c->oh, c->ow, c->thr, bits, sum, cnt, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(x->be->bytes_down - down0, ==, (uint64_t)c->n * (per * 8 + 16));
  const gboolean exact = strcmp(backend_name, "cpu") == 0;
  int64_t near = 0;
  for (int m = 0; m < c->n; m++) {
    double want_sum = 0, host_sum = 0;
    int64_t want_cnt = 0, host_cnt = 0, off = 0;
    for (int y = 0; y < c->oh; y++)
      for (int xx = 0; xx < 64 * x->words; xx++) { /* the row's padding bits too */
        const gboolean got = (bits[m * per + (size_t)y * x->words + xx / 64] >> (xx % 64)) & 1;
        if (xx >= c->ow) {
          g_assert_false(got);
          continue;
        }
        const size_t i = ((size_t)m * c->oh + y) * c->ow + xx;
        const double p = x->Pref[i];
        const float ph = x->Phost[i];
        if (ph > c->thr) /* the host path: strict test, double sum in row-major order */
          host_sum += ph, host_cnt++;
        if (exact)
          g_assert_cmpint(got, ==, ph > c->thr);
        if (p > c->thr)
          want_sum += p, want_cnt++;
        if (got != (p > c->thr)) {
          if (fabs(p - c->thr) > 1e-5)
            g_error("%s: map %d pixel (%d, %d): bit %d, reference probability %.9g (threshold %g)",
                    backend_name, m, xx, y, got, p, c->thr);
          off++;
        }
      }
    near += off;
    if (c->escale < 0) /* underflow: no foreground */
      g_assert_cmpint(cnt[m], ==, 0);
    g_assert_cmpint(llabs(cnt[m] - want_cnt), <=, off);
    g_assert_cmpfloat(fabs(sum[m] - want_sum), <=, 1e-6 * want_cnt + off);
    if (exact) {
      g_assert_cmpint(cnt[m], ==, host_cnt);
      g_assert_cmpfloat(sum[m], ==, host_sum);
    }
  }
  g_test_message("%s: mask_threshold %d maps, %" G_GINT64_FORMAT
                 " pixels at the threshold decided the other way",
                 backend_name, c->n, near);
}

static void check_probs(Fx *x)
{
  const Case *c = x->c;
  GError *err = NULL;
  g_autofree int32_t *box = g_new(int32_t, 4 * c->n);
  size_t total = 0;
  for (int m = 0; m < c->n; m++) { /* crops at various places; the last one is the whole map */
    int32_t *b = box + 4 * m;
    b[0] = m == c->n - 1 ? 0 : (m * 7) % c->ow;
    b[1] = m == c->n - 1 ? 0 : (m * 5) % c->oh;
    b[2] = m == c->n - 1 ? c->ow : MAX(1, (c->ow - b[0]) / 2);
    b[3] = m == c->n - 1 ? c->oh : MAX(1, c->oh - b[1] - 1);
    total += (size_t)b[2] * b[3];
  }
  /* each box its own buffer (as the objects' masks), with a guard float after it that the op
   * must leave alone */
  g_autofree float **prob = g_new(float *, c->n);
  for (int m = 0; m < c->n; m++) {
    const size_t px = (size_t)box[4 * m + 2] * box[4 * m + 3];
    prob[m] = g_new(float, px + 1);
    prob[m][px] = -7.f;
  }
  /* the same boxes as bytes (UFO_MASK_GRAY8): one per pixel, guard byte after each */
  g_autofree uint8_t **gray = g_new(uint8_t *, c->n);
  for (int m = 0; m < c->n; m++) {
    const size_t px = (size_t)box[4 * m + 2] * box[4 * m + 3];
    gray[m] = g_new(uint8_t, px + 1);
    gray[m][px] = 0xa5;
  }
  uint64_t down0 = x->be->bytes_down;
  g_assert_true(ufo_op_mask_probs(x->be, x->u, c->n, c->oh, c->ow, box, prob, NULL, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(x->be->bytes_down - down0, ==, total * sizeof(float));
  down0 = x->be->bytes_down;
  g_assert_true(ufo_op_mask_probs(x->be, x->u, c->n, c->oh, c->ow, box, NULL, gray, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(x->be->bytes_down - down0, ==, total);
  double worst = 0;
  for (int m = 0; m < c->n; m++) {
    const int32_t *b = box + 4 * m;
    const float *pm = prob[m];
    for (int yy = 0, o = 0; yy < b[3]; yy++)
      for (int xx = 0; xx < b[2]; xx++, o++) {
        const size_t i = ((size_t)m * c->oh + b[1] + yy) * c->ow + b[0] + xx;
        worst = MAX(worst, fabs(pm[o] - x->Pref[i]));
        if (strcmp(backend_name, "cpu") == 0)
          g_assert_cmpfloat(pm[o], ==, x->Phost[i]);
        if (x->Pref[i] == 0.0) /* underflow to exactly 0 (seg §0 item 2) */
          g_assert_cmpfloat(pm[o], ==, 0.f);
        /* the bytes are this backend's floats, quantised (mask_math.h ufo_mask_gray8) */
        if (gray[m][o] != ufo_mask_gray8(pm[o]))
          g_error("%s: box %d pixel %d: byte %d, the float %.9g quantises to %d", backend_name, m,
                  o, gray[m][o], pm[o], ufo_mask_gray8(pm[o]));
      }
    g_assert_cmpfloat(pm[(size_t)b[2] * b[3]], ==, -7.f);
    g_assert_cmpuint(gray[m][(size_t)b[2] * b[3]], ==, 0xa5);
    g_free(prob[m]);
    g_free(gray[m]);
  }
  g_test_message("%s: mask_probs worst |P - reference| %.3g", backend_name, worst);
  g_assert_cmpfloat(worst, <=, 2e-6);
}

static void check_semantic(Fx *x)
{
  const Case *c = x->c;
  GError *err = NULL;
  g_autofree float *score = g_new(float, c->n);
  g_autofree int32_t *slot_end = g_new(int32_t, c->slots);
  g_autofree int32_t *slot_class = g_new(int32_t, c->slots);
  for (int m = 0; m < c->n; m++)
    score[m] = 0.1f + 0.45f * (urand() + 1.f);
  for (int k = 0; k < c->slots; k++) {
    slot_end[k] = k == c->slots - 1 ? c->n : (k + 1) * (c->n / c->slots);
    slot_class[k] = 2 * k + (c->slots > 1 ? 1 : 2); /* classes 0 (and every other) unused */
  }
  const size_t pix = (size_t)c->oh * c->ow;
  g_autofree uint16_t *labels = g_new(uint16_t, pix);
  const uint64_t down0 = x->be->bytes_down;
  g_assert_true(ufo_op_mask_semantic(x->be, x->u, c->n, c->oh, c->ow, score, slot_end, slot_class,
                                     c->slots, labels, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(x->be->bytes_down - down0, ==, pix * 2);
  /* cpu and cpu-ref: the labels of the full float32 sums (every term score·P in the slot's
   * order, seg §3.6), bit for bit, whatever the CPU backend leaves out (cpu/masks.c) */
  if (!strcmp(backend_name, "cpu") || !strcmp(backend_name, "cpu-ref")) {
    int64_t off = 0;
    for (int y = 0; y < c->oh; y++)
      for (int xx = 0; xx < c->ow; xx++) {
        const UfoBilinearTap ty = ufo_bilinear_tap(x->uh, c->oh, y);
        const UfoBilinearTap tx = ufo_bilinear_tap(x->uw, c->ow, xx);
        float best_v = 0.f;
        int want = 0;
        for (int k = 0, m = 0; k < c->slots; k++) {
          float a = 0.f;
          for (; m < slot_end[k]; m++)
            a += score[m] *
                 ufo_mask_sigmoid(ufo_bilinear_at(x->U + (size_t)m * x->uh * x->uw, x->uw, ty, tx));
          if (a > best_v)
            best_v = a, want = slot_class[k];
        }
        off += labels[(size_t)y * c->ow + xx] != want;
      }
    g_test_message("%s: mask_semantic %" G_GINT64_FORMAT " labels off the float32 sums",
                   backend_name, off);
    g_assert_cmpint(off, ==, 0);
  }
  int64_t ambiguous = 0;
  for (size_t i = 0; i < pix; i++) {
    double best = 0, second = 0;
    int want = 0;
    for (int k = 0, m = 0; k < c->slots; k++) {
      double L = 0; /* seg §3.6: Σ score·P over the slot's maps */
      for (; m < slot_end[k]; m++)
        L += score[m] * x->Pref[m * pix + i];
      if (L > best)
        second = best, best = L, want = slot_class[k];
      else if (L > second)
        second = L;
    }
    if (labels[i] != want) {
      if (!(best - second <= 1e-5 * best + 1e-30))
        g_error("%s: pixel %zu: class %d, reference %d (sums %.9g vs %.9g)", backend_name, i,
                labels[i], want, best, second);
      ambiguous++;
    }
  }
  if (c->escale < 0) /* every probability 0: all sums tie at 0, class 0 everywhere (§3.6) */
    for (size_t i = 0; i < pix; i++)
      g_assert_cmpint(labels[i], ==, 0);
  g_test_message("%s: mask_semantic %zu pixels, %" G_GINT64_FORMAT " ties decided the other way",
                 backend_name, pix, ambiguous);
}

static void test_case(gconstpointer data)
{
  Fx x;
  rng_state = 12345u;
  fx_init(&x, data);
  check_logits(&x);
  check_threshold(&x);
  check_probs(&x);
  check_semantic(&x);
  fx_clear(&x);
}

/* operands the wrappers refuse before the backend computes */
static void test_refused(void)
{
  Fx x;
  rng_state = 1u;
  fx_init(&x, &cases[0]);
  const Case *c = x.c;
  GError *err = NULL;
  UfoView e15 = ufo_view_sub(x.e, 0, 0, 15, c->C);
  g_assert_false(ufo_op_mask_logits(x.be, x.u, e15, x.f, c->hp, c->wp, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_false(ufo_op_mask_logits(x.be, x.u, x.e, x.f, c->wp, c->hp, &err)); /* u shape */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  uint64_t bits[256];
  double sum[8];
  int64_t cnt[8];
  /* 36 rows are not 5 maps */
  g_assert_false(ufo_op_mask_threshold(x.be, x.u, 5, 4, 4, 0.5f, bits, sum, cnt, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  int32_t box[12] = {0, 0, 2, 2, 3, 3, 2, 2, 0, 0, 1, 1};
  float p0[4], p1[4], p2[1];
  float *prob[3] = {p0, p1, p2};
  g_assert_false(
      ufo_op_mask_probs(x.be, x.u, 3, 4, 4, box, prob, NULL, &err)); /* box 1 leaves 4x4 */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  box[4] = 2, box[5] = 2; /* box 1 inside now */
  uint8_t g0[4], g1[4], g2[1];
  uint8_t *gray[3] = {g0, g1, g2};
  g_assert_false(ufo_op_mask_probs(x.be, x.u, 3, 4, 4, box, prob, gray, &err)); /* both kinds */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_false(ufo_op_mask_probs(x.be, x.u, 3, 4, 4, box, NULL, NULL, &err)); /* neither */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  gray[2] = NULL; /* box 2 has no output */
  g_assert_false(ufo_op_mask_probs(x.be, x.u, 3, 4, 4, box, NULL, gray, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_nonnull(strstr(err->message, "box 2 has no host output"));
  g_clear_error(&err);
  prob[2] = NULL;
  g_assert_false(ufo_op_mask_probs(x.be, x.u, 3, 4, 4, box, prob, NULL, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_nonnull(strstr(err->message, "box 2 has no host output"));
  g_clear_error(&err);
  float score[3] = {1, 1, 1};
  int32_t end[2] = {1, 3}, cls[2] = {4, 4}; /* classes must ascend */
  uint16_t labels[16];
  g_assert_false(ufo_op_mask_semantic(x.be, x.u, 3, 4, 4, score, end, cls, 2, labels, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  end[1] = 2; /* slots must end at n */
  cls[1] = 5;
  g_assert_false(ufo_op_mask_semantic(x.be, x.u, 3, 4, 4, score, end, cls, 2, labels, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  fx_clear(&x);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *path = g_strdup_printf("/nn/mask-ops/%s/case%zu", backend_name, i);
    g_test_add_data_func(path, &cases[i], test_case);
  }
  g_autofree char *refused = g_strdup_printf("/nn/mask-ops/%s/refused", backend_name);
  g_test_add_func(refused, test_refused);
  return g_test_run();
}
