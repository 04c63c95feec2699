/* Instance segmentation post-processing (segmentation spec §2.5–§2.11, §6). Masks are computed
 * by the mask ops on the feature map's backend, a batch of grids at a time at the original
 * resolution (§6.19); only binary bitsets, foreground sums and counts come back and are kept for
 * matrix NMS, and the probabilities of the surviving masks are recomputed and come back cropped
 * to their box at the end. */
#include "tasks.h"
#include "mask_region.h"

#include <limits.h>
#include <string.h>

typedef struct {
  int q;    /* grid (sequence) index */
  int rank; /* position in the first-token probability order */
  int label;
  float score;          /* first-token prob × mean foreground prob */
  const uint64_t *bits; /* (oh, words) binary mask P > thr */
  int x0, y0, x1, y1;   /* tight box of the binary mask, inclusive */
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

/* Tight box of a binary mask (oh, words): FALSE when empty. */
static gboolean bits_box(const uint64_t *bits, int oh, int words, InstMask *e)
{
  e->x0 = INT_MAX, e->y0 = INT_MAX, e->x1 = -1, e->y1 = -1;
  for (int y = 0; y < oh; y++)
    for (int w = 0; w < words; w++) {
      const uint64_t v = bits[(size_t)y * words + w];
      if (v == 0)
        continue;
      e->x0 = MIN(e->x0, w * 64 + __builtin_ctzll(v));
      e->x1 = MAX(e->x1, w * 64 + 63 - __builtin_clzll(v));
      e->y0 = MIN(e->y0, y);
      e->y1 = y;
    }
  return e->x1 >= 0;
}

/* objects whose maps one batch holds: about 64 MiB of logits at most */
static int batch_cap(const UfoFeatureMap *fm, int n)
{
  const size_t per = (size_t)16 * fm->hp * fm->wp;
  return (int)MAX(1, MIN((size_t)MIN(n, 64), ((size_t)1 << 24) / per));
}

gboolean ufo_task_instance_masks(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                 char *const *texts, const int32_t *ids, const float *first_prob,
                                 const float *feat, int n_seq, int T, const UfoFeatureMap *fm,
                                 int orig_w, int orig_h, float mask_threshold, int max_detections,
                                 UfoInstanceBoxes boxes, UfoMaskFormat format, UfoResult *res,
                                 GError **error)
{
  const int Hp = fm ? fm->hp : 0, Wp = fm ? fm->wp : 0;
  const int C = fm && fm->map.t ? (int)fm->map.cols : 0;
  if (format != UFO_MASK_FLOAT && format != UFO_MASK_GRAY8) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown mask format %d", (int)format);
    return FALSE;
  }
  if (orig_w <= 0 || orig_h <= 0 || Hp <= 0 || Wp <= 0 || C <= 0 || !labels) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "instance segmentation: bad sizes (image %dx%d, features %dx%dx%d) or no labels",
                orig_w, orig_h, Hp, Wp, C);
    return FALSE;
  }
  res->task = UFO_TASK_INSTANCE;
  const float thr = mask_threshold > 0.f ? mask_threshold : 0.5f;
  const int words = (orig_w + 63) / 64;
  /* §2.5 steps 1-2: grids in descending first-token probability; label match, "<MASK>" in the
   * text, exactly 16 <MASK> ids */
  g_autofree int *order = ufo_order_by_score(first_prob, n_seq);
  g_autofree int *valid = g_new(int, MAX(n_seq, 1)); /* ranks r of the valid grids */
  g_autofree int *valid_label = g_new(int, MAX(n_seq, 1));
  int nv = 0;
  for (int r = 0; r < n_seq; r++) {
    const int q = order[r];
    const int label = ufo_parse_seg_label(texts[q], labels, FALSE);
    if (label < 0 ||
        ufo_mask_gather(ids + (size_t)q * T, NULL, T, C, 16, fm->mask_token, NULL) != 16)
      continue;
    valid[nv] = r;
    valid_label[nv++] = label;
  }
  g_autofree InstMask *m = g_new0(InstMask, MAX(nv, 1));
  int n = 0;
  UfoMaskBatch mb = {0};
  const int cap = batch_cap(fm, nv);
  /* the bits of every valid grid's mask (the masks keep theirs until the end: no copies), in
   * the caller's kept buffer or one of this frame's */
  const size_t per = (size_t)orig_h * words, bytes = sizeof(uint64_t) * per * MAX(nv, 1);
  g_autoptr(GByteArray) own = NULL;
  GByteArray *kept = fm->keep_bits ? fm->keep_bits : (own = g_byte_array_new());
  if (bytes / sizeof(uint64_t) / per != (size_t)MAX(nv, 1) || bytes > G_MAXUINT) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "instance masks: %d masks of %dx%d are too many", nv, orig_w, orig_h);
    return FALSE;
  }
  if (kept->len < bytes)
    g_byte_array_set_size(kept, (guint)bytes);
  uint64_t *bits = (uint64_t *)(void *)kept->data;
  g_autofree double *sum = g_new(double, cap);
  g_autofree int64_t *cnt = g_new(int64_t, cap);
  gboolean ok = nv == 0 || ufo_mask_batch_init(&mb, fm, cap, error);
  /* masks a batch at a time at the original resolution (§6.19): only bits, sums and counts
   * come back from the backend */
  for (int b0 = 0; ok && b0 < nv; b0 += cap) {
    const int k = MIN(cap, nv - b0);
    for (int i = 0; i < k; i++) {
      const int q = order[valid[b0 + i]];
      ufo_mask_batch_set(&mb, i, ids, feat, q, T);
    }
    UfoView u;
    ok = ufo_mask_batch_logits(&mb, k, &u, error) &&
         ufo_op_mask_threshold(mb.be, u, k, orig_h, orig_w, thr, bits + b0 * per, sum, cnt, error);
    for (int i = 0; ok && i < k; i++) {
      if (cnt[i] == 0) /* §2.9: drop masks without foreground */
        continue;
      InstMask *e = &m[n++];
      e->bits = bits + (b0 + i) * per;
      bits_box(e->bits, orig_h, words, e);
      e->rank = valid[b0 + i];
      e->q = order[e->rank];
      e->label = valid_label[b0 + i];
      /* §2.9: s = first-token prob × mean foreground probability */
      e->score = first_prob[e->q] * (float)(sum[i] / (double)cnt[i]);
      e->area = (float)cnt[i];
    }
  }
  if (!ok) {
    ufo_mask_batch_clear(&mb);
    return FALSE;
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
  g_autofree int32_t *box = g_new(int32_t, 4 * (size_t)cap);
  const gboolean gray8 = format == UFO_MASK_GRAY8;
  g_autofree float **prob = g_new0(float *, cap);
  g_autofree uint8_t **gray = g_new0(uint8_t *, cap);
  for (int b0 = 0; ok && b0 < nk; b0 += cap) {
    const int k = MIN(cap, nk - b0);
    for (int i = 0; ok && i < k; i++) {
      const InstMask *e = &m[keep[b0 + i]];
      ufo_mask_batch_set(&mb, i, ids, feat, e->q, T);
      /* the mask cropped to its box (x, y, w, h): only the crop comes back, straight into the
       * object's own buffer */
      int32_t *bx = box + 4 * i;
      bx[0] = e->x0, bx[1] = e->y0, bx[2] = e->x1 - e->x0 + 1, bx[3] = e->y1 - e->y0 + 1;
      const size_t px = (size_t)bx[2] * bx[3];
      if (gray8 ? (gray[i] = g_try_new(uint8_t, px)) == NULL
                : (prob[i] = g_try_new(float, px)) == NULL) {
        g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory for %zu mask pixels", px);
        ok = FALSE;
      }
    }
    UfoView u;
    ok = ok && ufo_mask_batch_logits(&mb, k, &u, error) &&
         ufo_op_mask_probs(mb.be, u, k, orig_h, orig_w, box, gray8 ? NULL : prob,
                           gray8 ? gray : NULL, error);
    for (int i = 0; ok && i < k; i++) {
      const int j = b0 + i;
      const InstMask *e = &m[keep[j]];
      o[j].label_id = e->label;
      o[j].label = labels->names[e->label];
      o[j].score = score[keep[j]];
      /* seg §6.20 mask2bbox: [x_min, y_min, x_max + 1, y_max + 1] (derived, the model has none),
       * of every foreground pixel (the original) or of the largest region (the default) */
      int r[4] = {e->x0, e->y0, e->x1, e->y1};
      if (boxes == UFO_INSTANCE_BOXES_REGION &&
          !ufo_mask_largest_region(e->bits, words, e->x0, e->y0, e->x1, e->y1, r)) {
        g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory labelling mask regions");
        ok = FALSE;
        break;
      }
      o[j].x1 = (float)r[0], o[j].y1 = (float)r[1];
      o[j].x2 = (float)(r[2] + 1), o[j].y2 = (float)(r[3] + 1);
      UfoMask *mk = g_new(UfoMask, 1);
      mk->x = box[4 * i], mk->y = box[4 * i + 1];
      mk->width = box[4 * i + 2], mk->height = box[4 * i + 3];
      mk->prob = g_steal_pointer(&prob[i]);
      mk->gray = g_steal_pointer(&gray[i]);
      o[j].mask = mk;
    }
    for (int i = 0; i < k; i++) { /* those not handed to an object (an error) */
      g_clear_pointer(&prob[i], g_free);
      g_clear_pointer(&gray[i], g_free);
    }
  }
  ufo_mask_batch_clear(&mb);
  return ok;
}

gboolean ufo_task_instance_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                      char *const *texts, const int32_t *ids,
                                      const float *first_prob, const float *feat, int n_seq, int T,
                                      int32_t mask_token, const float *image_feat, int Hp, int Wp,
                                      int C, int orig_w, int orig_h, float mask_threshold,
                                      int max_detections, UfoInstanceBoxes boxes, UfoResult *res,
                                      GError **error)
{
  UfoFeatureMap fm = {0};
  if (image_feat && Hp > 0 && Wp > 0 && C > 0 &&
      !ufo_mask_host_map(image_feat, Hp, Wp, C, mask_token, &fm, error))
    return FALSE;
  gboolean ok = ufo_task_instance_masks(tc, labels, texts, ids, first_prob, feat, n_seq, T,
                                        fm.map.t ? &fm : NULL, orig_w, orig_h, mask_threshold,
                                        max_detections, boxes, UFO_MASK_FLOAT, res, error);
  ufo_mask_host_map_free(&fm);
  return ok;
}
