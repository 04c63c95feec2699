/* Detection and grounding post-processing (inference spec §7.1, §7.2, §0 items 1/4/7). */
#include "tasks.h"

#include <string.h>

/* Normalised cxcywh → input pixels (clamped) → original pixels (§7.1 step 3), float32 as mmdet:
 * bbox_cxcywh_to_xyxy, × img_shape, clamp to [0, W] / [0, H], ÷ scale_factor. */
static void box_to_pixels(const float cxcywh[4], int in_w, int in_h, int orig_w, int orig_h,
                          float out[4])
{
  const float cx = cxcywh[0], cy = cxcywh[1], w = cxcywh[2], h = cxcywh[3];
  float b[4] = {cx - 0.5f * w, cy - 0.5f * h, cx + 0.5f * w, cy + 0.5f * h};
  /* mmcv scale_factor = (new_w / w, new_h / h) computed in double, stored as float32 */
  const float sx = (float)((double)in_w / orig_w), sy = (float)((double)in_h / orig_h);
  for (int k = 0; k < 4; k++) {
    const int size = (k % 2 == 0) ? in_w : in_h;
    float v = b[k] * (float)size;
    v = CLAMP(v, 0.f, (float)size);
    out[k] = v / ((k % 2 == 0) ? sx : sy);
  }
}

static gboolean check_sizes(int in_w, int in_h, int orig_w, int orig_h, GError **error)
{
  if (in_w <= 0 || in_h <= 0 || orig_w <= 0 || orig_h <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "bad image sizes: input %dx%d, original %dx%d",
                in_w, in_h, orig_w, orig_h);
    return FALSE;
  }
  return TRUE;
}

gboolean ufo_task_detection_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                       char *const *texts, const float *first_prob, int n_seq,
                                       const float *grid_ref, int in_w, int in_h, int orig_w,
                                       int orig_h, int max_detections, float nms_iou,
                                       UfoResult *res, GError **error)
{
  if (!check_sizes(in_w, in_h, orig_w, orig_h, error))
    return FALSE;
  if (!labels || labels->n <= 0 || tc->num_bins <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "detection needs a label set and num_bins > 0 (got %d)", tc->num_bins);
    return FALSE;
  }
  res->task = UFO_TASK_DETECTION;
  const int cap = tc->max_per_img > 0 ? tc->max_per_img : n_seq;
  g_autofree int *order = ufo_order_by_score(first_prob, n_seq);
  g_autofree float *boxes = g_new(float, 4 * MAX(cap, 1));
  g_autofree float *scores = g_new(float, MAX(cap, 1));
  g_autofree int *lab = g_new(int, MAX(cap, 1));
  int n = 0;
  const float nb = (float)tc->num_bins;
  for (int r = 0; r < n_seq && n < cap; r++) {
    const int q = order[r];
    int label;
    int64_t v[4];
    if (!ufo_parse_detection(texts[q], labels, &label, v))
      continue;
    /* §7.1: centre = v/num_bins − 0.5 + ref, size = v/num_bins, float32 */
    const float cxcywh[4] = {((float)v[0] / nb - 0.5f) + grid_ref[2 * q + 0],
                             ((float)v[1] / nb - 0.5f) + grid_ref[2 * q + 1], (float)v[2] / nb,
                             (float)v[3] / nb};
    box_to_pixels(cxcywh, in_w, in_h, orig_w, orig_h, boxes + 4 * n);
    scores[n] = first_prob[q];
    lab[n] = label;
    n++;
  }
  g_autofree int *keep = g_new(int, MAX(n, 1));
  g_autofree float *kept_scores = g_new(float, MAX(n, 1));
  int nk;
  if (tc->nms == UFO_NMS_SOFT) {
    const float thr = nms_iou > 0.f ? nms_iou : tc->nms_iou;
    nk = ufo_batched_soft_nms(boxes, scores, lab, n, thr, tc->nms_min_score, keep, kept_scores);
  } else {
    nk = n;
    for (int i = 0; i < n; i++)
      keep[i] = i, kept_scores[i] = scores[i];
  }
  if (max_detections > 0)
    nk = MIN(nk, max_detections);
  UfoObject *o = ufo_result_append_objects(res, nk);
  for (int i = 0; i < nk; i++) {
    const int k = keep[i];
    o[i].label_id = lab[k];
    o[i].label = labels->names[lab[k]];
    o[i].score = kept_scores[i]; /* decayed soft-NMS scores (§0 item 1) */
    o[i].x1 = boxes[4 * k + 0];
    o[i].y1 = boxes[4 * k + 1];
    o[i].x2 = boxes[4 * k + 2];
    o[i].y2 = boxes[4 * k + 3];
  }
  return TRUE;
}

gboolean ufo_task_grounding_from_text(const UfoTaskConfig *tc, const char *text, float first_prob,
                                      int in_w, int in_h, int orig_w, int orig_h, UfoResult *res,
                                      GError **error)
{
  if (!check_sizes(in_w, in_h, orig_w, orig_h, error))
    return FALSE;
  if (tc->num_bins <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "grounding needs num_bins > 0 (got %d)",
                tc->num_bins);
    return FALSE;
  }
  res->task = UFO_TASK_GROUNDING;
  int64_t v[4];
  float cxcywh[4] = {0.f, 0.f, 0.f, 0.f}; /* parse failure: zero box, reference not added */
  if (ufo_parse_grounding(text, v)) {
    const float nb = (float)tc->num_bins;
    /* §0 item 4: both centres are (v/num_bins − 0.5) + 0.5 in float32 */
    cxcywh[0] = ((float)v[0] / nb - 0.5f) + 0.5f;
    cxcywh[1] = ((float)v[1] / nb - 0.5f) + 0.5f;
    cxcywh[2] = (float)v[2] / nb;
    cxcywh[3] = (float)v[3] / nb;
  }
  float box[4];
  box_to_pixels(cxcywh, in_w, in_h, orig_w, orig_h, box);
  UfoObject *o = ufo_result_append_objects(res, 1);
  o->label_id = -1;
  o->label = NULL;
  o->score = first_prob;
  o->x1 = box[0], o->y1 = box[1], o->x2 = box[2], o->y2 = box[3];
  return TRUE;
}
