/* Semantic segmentation post-processing (segmentation spec §3.4–§3.6, §6.18, §7). The mask
 * logits of the valid grids and the label map are computed by the mask ops on the feature map's
 * backend (mask_logits, mask_semantic): one score-weighted probability sum per class that some
 * grid predicts; classes no grid predicts have L = 0 and can only win a pixel where every sum is
 * 0, which goes to class 0. Only the (orig_h, orig_w) class map comes back. */
#include "tasks.h"

#include <string.h>

gboolean ufo_task_semantic_masks(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                 char *const *texts, const int32_t *ids, const float *first_prob,
                                 const float *feat, int n_seq, int T, const UfoFeatureMap *fm,
                                 int orig_w, int orig_h, UfoResult *res, GError **error)
{
  const int Hp = fm ? fm->hp : 0, Wp = fm ? fm->wp : 0;
  const int C = fm && fm->map.t ? (int)fm->map.cols : 0;
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
  g_autofree int *order = ufo_order_by_score(first_prob, n_seq);
  g_autofree int *count = g_new0(int, labels->n); /* valid grids per class */
  g_autofree int *valid_q = g_new(int, MAX(n_seq, 1));
  g_autofree int *valid_label = g_new(int, MAX(n_seq, 1));
  int n_valid = 0, n_slots = 0;
  for (int r = 0; r < n_seq; r++) {
    const int q = order[r];
    const int label = ufo_parse_seg_label(texts[q], labels, TRUE);
    if (label < 0)
      continue;
    /* §3.4: the first 16 <MASK> features; fewer than 16 would crash the original: skipped */
    if (ufo_mask_gather(ids + (size_t)q * T, NULL, T, C, 16, fm->mask_token, NULL) < 16)
      continue;
    valid_q[n_valid] = q;
    valid_label[n_valid++] = label;
    n_slots += count[label]++ == 0;
  }
  if (n_valid == 0)
    return TRUE; /* empty result: res->semantic stays NULL (seg §0 item 6, §7) */
  /* maps grouped by class (ascending, the argmax's tie order), each class's grids in the
   * sorted order, which is the order of its sum (§6.17) */
  g_autofree int32_t *slot_end = g_new(int32_t, n_slots);
  g_autofree int32_t *slot_class = g_new(int32_t, n_slots);
  g_autofree int *first = g_new(int, labels->n); /* class → its first map */
  for (int c = 0, k = 0, m = 0; c < labels->n; c++) {
    first[c] = m;
    if (count[c] == 0)
      continue;
    m += count[c];
    slot_class[k] = c;
    slot_end[k++] = m;
  }
  UfoMaskBatch mb;
  if (!ufo_mask_batch_init(&mb, fm, n_valid, error))
    return FALSE;
  g_autofree float *score = g_new(float, n_valid);
  for (int i = 0; i < n_valid; i++) {
    const int m = first[valid_label[i]]++, q = valid_q[i];
    score[m] = first_prob[q]; /* §3.4: the score is the first-token probability */
    ufo_mask_batch_set(&mb, m, ids, feat, q, T);
  }
  UfoSemanticMap *map = g_new0(UfoSemanticMap, 1);
  map->width = orig_w;
  map->height = orig_h;
  map->n_classes = labels->n;
  map->class_names = (const char *const *)labels->names;
  map->labels = g_try_new(uint16_t, (size_t)orig_w * orig_h);
  UfoView u;
  /* §3.5-§3.6: logits of every valid grid, then L[c] = Σ score·P and the argmax */
  gboolean ok = map->labels != NULL && ufo_mask_batch_logits(&mb, n_valid, &u, error) &&
                ufo_op_mask_semantic(mb.be, u, n_valid, orig_h, orig_w, score, slot_end, slot_class,
                                     n_slots, map->labels, error);
  if (map->labels == NULL)
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory for a %dx%d label map", orig_w,
                orig_h);
  ufo_mask_batch_clear(&mb);
  if (!ok) {
    g_free(map->labels);
    g_free(map);
    return FALSE;
  }
  res->semantic = map;
  return TRUE;
}

gboolean ufo_task_semantic_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                      char *const *texts, const int32_t *ids,
                                      const float *first_prob, const float *feat, int n_seq, int T,
                                      int32_t mask_token, const float *image_feat, int Hp, int Wp,
                                      int C, int orig_w, int orig_h, UfoResult *res, GError **error)
{
  UfoFeatureMap fm = {0};
  if (image_feat && Hp > 0 && Wp > 0 && C > 0 &&
      !ufo_mask_host_map(image_feat, Hp, Wp, C, mask_token, &fm, error))
    return FALSE;
  gboolean ok = ufo_task_semantic_masks(tc, labels, texts, ids, first_prob, feat, n_seq, T,
                                        fm.map.t ? &fm : NULL, orig_w, orig_h, res, error);
  ufo_mask_host_map_free(&fm);
  return ok;
}
