/* Instance segmentation post-processing (segmentation spec §2.5–§2.11, §6). Masks are streamed
 * one grid at a time at the original resolution (§6.19); only binary bitsets, boxes and scores
 * are kept for matrix NMS, and the probabilities of the surviving masks are recomputed and
 * cropped to their box at the end. */
#include "tasks.h"

#include <string.h>

typedef struct {
  int q;    /* grid (sequence) index */
  int rank; /* position in the first-token probability order */
  int label;
  float score;        /* first-token prob × mean foreground prob */
  uint64_t *bits;     /* (oh, words) binary mask P > thr */
  int x0, y0, x1, y1; /* tight box of the binary mask, inclusive */
  float area;
} InstMask;

static int cmp_score_desc(const void *a, const void *b)
{
  const InstMask *x = a, *y = b;
  if (x->score != y->score)
    return x->score < y->score ? 1 : -1;
  return x->rank - y->rank; /* ties: earlier in the first-token order (stable) */
}

/* Σ popcount(a & b) over the overlap of the two boxes */
static float bit_inter(const InstMask *a, const InstMask *b, int words)
{
  const int y0 = MAX(a->y0, b->y0), y1 = MIN(a->y1, b->y1);
  const int x0 = MAX(a->x0, b->x0), x1 = MIN(a->x1, b->x1);
  if (y0 > y1 || x0 > x1)
    return 0.f;
  const int w0 = x0 / 64, w1 = x1 / 64;
  uint64_t n = 0;
  for (int y = y0; y <= y1; y++) {
    const uint64_t *ra = a->bits + (size_t)y * words, *rb = b->bits + (size_t)y * words;
    for (int w = w0; w <= w1; w++)
      n += (uint64_t)__builtin_popcountll(ra[w] & rb[w]);
  }
  return (float)n;
}

gboolean ufo_task_instance_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                      char *const *texts, const int32_t *ids,
                                      const float *first_prob, const float *feat, int n_seq, int T,
                                      const float *image_feat, int Hp, int Wp, int C, int orig_w,
                                      int orig_h, float mask_threshold, int max_detections,
                                      UfoResult *res, GError **error)
{
  if (orig_w <= 0 || orig_h <= 0 || Hp <= 0 || Wp <= 0 || C <= 0 || !labels) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "instance segmentation: bad sizes (image %dx%d, features %dx%dx%d) or no labels",
                orig_w, orig_h, Hp, Wp, C);
    return FALSE;
  }
  res->task = UFO_TASK_INSTANCE;
  const float thr = mask_threshold > 0.f ? mask_threshold : 0.5f;
  const int words = (orig_w + 63) / 64;
  const size_t npix = (size_t)orig_w * orig_h;
  g_autofree float *E = g_new(float, (size_t)16 * C);
  g_autofree float *U = g_new(float, (size_t)16 * Hp * Wp);
  g_autofree float *P = g_new(float, npix);
  InstMask *m = g_new0(InstMask, MAX(n_seq, 1));
  int n = 0;
  /* §2.5 steps 1-2: grids in descending first-token probability */
  g_autofree int *order = ufo_order_by_score(first_prob, n_seq);
  for (int r = 0; r < n_seq; r++) {
    const int q = order[r];
    /* §2.5: label match, "<MASK>" in the text, exactly 16 <MASK> ids */
    const int label = ufo_parse_seg_label(texts[q], labels);
    if (label < 0)
      continue;
    if (ufo_mask_gather(ids + (size_t)q * T, feat + (size_t)q * T * C, T, C, 16, E) != 16)
      continue;
    ufo_mask_probs(E, image_feat, Hp, Wp, C, orig_w, orig_h, U, P);
    double sum = 0.0;
    size_t cnt = 0;
    InstMask *e = &m[n];
    e->bits = g_new0(uint64_t, (size_t)words * orig_h);
    e->x0 = orig_w, e->y0 = orig_h, e->x1 = -1, e->y1 = -1;
    for (int y = 0; y < orig_h; y++)
      for (int x = 0; x < orig_w; x++) {
        const float p = P[(size_t)y * orig_w + x];
        if (!(p > thr)) /* strict (seg §6.6) */
          continue;
        sum += p;
        cnt++;
        e->bits[(size_t)y * words + x / 64] |= 1ull << (x % 64);
        e->x0 = MIN(e->x0, x), e->x1 = MAX(e->x1, x);
        e->y0 = MIN(e->y0, y), e->y1 = MAX(e->y1, y);
      }
    if (cnt == 0) { /* §2.9: drop masks without foreground */
      g_free(e->bits);
      continue;
    }
    e->q = q;
    e->rank = r;
    e->label = label;
    /* §2.9: s = first-token prob × mean foreground probability */
    e->score = first_prob[q] * (float)(sum / (double)cnt);
    e->area = (float)cnt;
    n++;
  }
  /* §2.10 step 1: sort by the rescored score */
  qsort(m, n, sizeof(InstMask), cmp_score_desc);
  g_autofree float *area = g_new(float, MAX(n, 1));
  g_autofree float *inter = g_new0(float, (size_t)MAX(n, 1) * MAX(n, 1));
  g_autofree int *lab = g_new(int, MAX(n, 1));
  g_autofree float *score = g_new(float, MAX(n, 1));
  g_autofree int *keep = g_new(int, MAX(n, 1));
  for (int i = 0; i < n; i++) {
    area[i] = m[i].area;
    lab[i] = m[i].label;
    score[i] = m[i].score;
    for (int j = i + 1; j < n; j++)
      if (m[i].label == m[j].label) /* other classes never decay each other */
        inter[(size_t)i * n + j] = bit_inter(&m[i], &m[j], words);
  }
  int nk = tc->nms == UFO_NMS_MATRIX
               ? ufo_matrix_nms(area, inter, lab, score, n, tc->nms_sigma, tc->nms_filter, keep)
               : n;
  if (tc->nms != UFO_NMS_MATRIX)
    for (int i = 0; i < n; i++)
      keep[i] = i;
  if (max_detections > 0)
    nk = MIN(nk, max_detections);
  UfoObject *o = ufo_result_append_objects(res, nk);
  for (int i = 0; i < nk; i++) {
    const InstMask *e = &m[keep[i]];
    o[i].label_id = e->label;
    o[i].label = labels->names[e->label];
    o[i].score = score[keep[i]];
    /* seg §6.20 mask2bbox: [x_min, y_min, x_max + 1, y_max + 1] (derived, the model has none) */
    o[i].x1 = (float)e->x0, o[i].y1 = (float)e->y0;
    o[i].x2 = (float)(e->x1 + 1), o[i].y2 = (float)(e->y1 + 1);
    ufo_mask_gather(ids + (size_t)e->q * T, feat + (size_t)e->q * T * C, T, C, 16, E);
    ufo_mask_probs(E, image_feat, Hp, Wp, C, orig_w, orig_h, U, P);
    UfoMask *mk = g_new(UfoMask, 1);
    mk->x = e->x0, mk->y = e->y0;
    mk->width = e->x1 - e->x0 + 1, mk->height = e->y1 - e->y0 + 1;
    mk->prob = g_new(float, (size_t)mk->width * mk->height);
    for (int y = 0; y < mk->height; y++)
      memcpy(mk->prob + (size_t)y * mk->width, P + (size_t)(y + mk->y) * orig_w + mk->x,
             sizeof(float) * mk->width);
    o[i].mask = mk;
  }
  for (int i = 0; i < n; i++)
    g_free(m[i].bits);
  g_free(m);
  return TRUE;
}
