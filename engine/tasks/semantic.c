/* Semantic segmentation post-processing (segmentation spec §3.4–§3.6, §6.18, §7). One score-
 * weighted probability accumulator per class that some grid predicts; classes no grid predicts
 * have L = 0 and can only win a pixel where every sum is 0, which goes to class 0. */
#include "tasks.h"

#include <string.h>

gboolean ufo_task_semantic_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                      char *const *texts, const int32_t *ids,
                                      const float *first_prob, const float *feat, int n_seq, int T,
                                      const float *image_feat, int Hp, int Wp, int C, int orig_w,
                                      int orig_h, UfoResult *res, GError **error)
{
  if (orig_w <= 0 || orig_h <= 0 || Hp <= 0 || Wp <= 0 || C <= 0 || !labels || labels->n <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "semantic segmentation: bad sizes (image %dx%d, features %dx%dx%d) or no labels",
                orig_w, orig_h, Hp, Wp, C);
    return FALSE;
  }
  if (labels->n > 65535) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "label set has %d classes (max 65535)",
                labels->n);
    return FALSE;
  }
  res->task = UFO_TASK_SEMANTIC;
  const size_t npix = (size_t)orig_w * orig_h;
  g_autofree int *order = ufo_order_by_score(first_prob, n_seq);
  g_autofree int *slot_of = g_new(int, labels->n); /* class → accumulator slot, −1 = none */
  for (int c = 0; c < labels->n; c++)
    slot_of[c] = -1;
  g_autofree int *valid_q = g_new(int, MAX(n_seq, 1));
  g_autofree int *valid_label = g_new(int, MAX(n_seq, 1));
  int n_valid = 0, n_slots = 0;
  for (int r = 0; r < n_seq; r++) {
    const int q = order[r];
    const int label = ufo_parse_seg_label(texts[q], labels);
    if (label < 0)
      continue;
    /* §3.4: the first 16 <MASK> features; fewer than 16 would crash the original: skipped */
    if (ufo_mask_gather(ids + (size_t)q * T, feat + (size_t)q * T * C, T, C, 16, NULL) < 16)
      continue;
    valid_q[n_valid] = q;
    valid_label[n_valid++] = label;
    if (slot_of[label] < 0)
      slot_of[label] = n_slots++;
  }
  if (n_valid == 0)
    return TRUE; /* empty result: res->semantic stays NULL (seg §0 item 6, §7) */
  /* mask logits of every valid grid (16·Hp·Wp floats each), then the label map in bands of
   * rows so that the per-class accumulators stay small for any image size (seg §6.19) */
  const int UH = 4 * Hp, UW = 4 * Wp;
  const size_t usz = (size_t)UH * UW;
  g_autofree float *Uall = g_new(float, usz *n_valid);
  g_autofree float *E = g_new(float, (size_t)16 * C);
  for (int m = 0; m < n_valid; m++) {
    const int q = valid_q[m];
    ufo_mask_gather(ids + (size_t)q * T, feat + (size_t)q * T * C, T, C, 16, E);
    ufo_mask_logits(E, image_feat, Hp, Wp, C, Uall + usz * m);
  }
  const int band = MAX(1, MIN(orig_h, (int)(((size_t)1 << 22) / ((size_t)orig_w * n_slots + 1))));
  const size_t bpix = (size_t)band * orig_w;
  g_autofree float *acc = g_new(float, (size_t)n_slots *bpix);
  g_autofree float *P = g_new(float, bpix);
  UfoSemanticMap *map = g_new0(UfoSemanticMap, 1);
  map->width = orig_w;
  map->height = orig_h;
  map->n_classes = labels->n;
  map->class_names = (const char *const *)labels->names;
  map->labels = g_new(uint16_t, npix);
  g_autofree int *present = g_new(int, n_slots); /* predicted classes, ascending */
  for (int c = 0, k = 0; c < labels->n; c++)
    if (slot_of[c] >= 0)
      present[k++] = c;
  for (int y0 = 0; y0 < orig_h; y0 += band) {
    const int y1 = MIN(orig_h, y0 + band);
    const size_t n = (size_t)(y1 - y0) * orig_w;
    memset(acc, 0, sizeof(float) * n_slots * bpix);
    for (int m = 0; m < n_valid; m++) {
      ufo_resize_bilinear_torch_rows(Uall + usz * m, UW, UH, P, orig_w, orig_h, y0, y1);
      /* §3.6: L[c] += score_m · sigmoid(logit), summed in the sorted grid order (§6.17) */
      float *a = acc + (size_t)slot_of[valid_label[m]] * bpix;
      const float s = first_prob[valid_q[m]];
      for (size_t i = 0; i < n; i++)
        a[i] += s * ufo_sigmoid_ref(P[i]);
    }
    for (size_t i = 0; i < n; i++) {
      /* argmax with ties to the lowest class; all-zero pixels → class 0 (§3.6, §6.18) */
      float best_v = 0.f;
      int best = 0;
      for (int k = 0; k < n_slots; k++) {
        const int c = present[k];
        const float v = acc[(size_t)slot_of[c] * bpix + i];
        if (v > best_v)
          best_v = v, best = c;
      }
      map->labels[(size_t)y0 * orig_w + i] = (uint16_t)best;
    }
  }
  res->semantic = map;
  return TRUE;
}
