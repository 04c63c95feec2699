/* Soft-NMS (mmcv batched_nms + softnms_cpu, inference spec §7.1 step 4, §0 items 1/7, §8 items
 * 23/24) and matrix NMS (mmdet mask_matrix_nms, segmentation spec §2.10, §6.8). */
#include "tasks.h"

#include <math.h>
#include <string.h>

int ufo_batched_soft_nms(const float *boxes, const float *scores, const int *labels, int n,
                         float iou_thr, float min_score, int *keep, float *out_scores)
{
  if (n <= 0)
    return 0;
  /* class-aware by offsetting: boxes + label·(max(boxes) + 1), all in float32 (§8 item 24) */
  float mx = boxes[0];
  for (int i = 1; i < 4 * n; i++)
    mx = MAX(mx, boxes[i]);
  float *x1 = g_new(float, n), *y1 = g_new(float, n), *x2 = g_new(float, n), *y2 = g_new(float, n);
  float *sc = g_new(float, n), *area = g_new(float, n);
  int *ind = g_new(int, n);
  for (int i = 0; i < n; i++) {
    const float off = (float)labels[i] * (mx + 1.f);
    x1[i] = boxes[4 * i + 0] + off;
    y1[i] = boxes[4 * i + 1] + off;
    x2[i] = boxes[4 * i + 2] + off;
    y2[i] = boxes[4 * i + 3] + off;
    sc[i] = scores[i];
    area[i] = (x2[i] - x1[i]) * (y2[i] - y1[i]); /* offset = 0 */
    ind[i] = i;
  }
#define SWAP_SLOT(a, b)                                                                            \
  do {                                                                                             \
    float t_;                                                                                      \
    int ti_;                                                                                       \
    t_ = x1[a], x1[a] = x1[b], x1[b] = t_;                                                         \
    t_ = y1[a], y1[a] = y1[b], y1[b] = t_;                                                         \
    t_ = x2[a], x2[a] = x2[b], x2[b] = t_;                                                         \
    t_ = y2[a], y2[a] = y2[b], y2[b] = t_;                                                         \
    t_ = sc[a], sc[a] = sc[b], sc[b] = t_;                                                         \
    t_ = area[a], area[a] = area[b], area[b] = t_;                                                 \
    ti_ = ind[a], ind[a] = ind[b], ind[b] = ti_;                                                   \
  } while (0)
  int nb = n;
  for (int i = 0; i < nb; i++) {
    /* highest current score; strict < keeps the earliest current slot among ties (§0 item 7) */
    int best = i;
    for (int p = i + 1; p < nb; p++)
      if (sc[best] < sc[p])
        best = p;
    SWAP_SLOT(i, best);
    keep[i] = ind[i];
    out_scores[i] = sc[i]; /* output even below min_score: only later boxes are checked */
    for (int p = i + 1; p < nb; p++) {
      const float xx1 = MAX(x1[i], x1[p]), yy1 = MAX(y1[i], y1[p]);
      const float xx2 = MIN(x2[i], x2[p]), yy2 = MIN(y2[i], y2[p]);
      const float w = MAX(0.f, xx2 - xx1), h = MAX(0.f, yy2 - yy1);
      const float inter = w * h;
      const float ovr = inter / (area[i] + area[p] - inter);
      if (ovr >= iou_thr) /* linear method: weight 1 − iou when iou >= thr */
        sc[p] *= 1.f - ovr;
      if (sc[p] < min_score) {
        /* discard: the last box moves into slot p, which is visited again */
        x1[p] = x1[nb - 1], y1[p] = y1[nb - 1], x2[p] = x2[nb - 1], y2[p] = y2[nb - 1];
        sc[p] = sc[nb - 1], area[p] = area[nb - 1], ind[p] = ind[nb - 1];
        nb--;
        p--;
      }
    }
  }
#undef SWAP_SLOT
  g_free(x1);
  g_free(y1);
  g_free(x2);
  g_free(y2);
  g_free(sc);
  g_free(area);
  g_free(ind);
  return nb;
}

int ufo_matrix_nms(const float *area, const float *inter, const int *labels, float *scores, int n,
                   float sigma, float filter_thr, int *keep)
{
  if (n <= 0)
    return 0;
  /* comp_i = max_k<i of same-class IoU(k, i) (seg §2.10 step 4) */
  float *comp = g_new0(float, n);
  float *iou = g_new0(float, (size_t)n *n); /* upper triangle, same class only */
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++) {
      const float in = inter[(size_t)i * n + j];
      const float v = in / (area[i] + area[j] - in);
      const float d = labels[i] == labels[j] ? v : 0.f;
      iou[(size_t)i * n + j] = d;
      comp[j] = MAX(comp[j], d);
    }
  float *coef = g_new(float, n);
  for (int j = 0; j < n; j++) {
    /* coef_j = min_i exp(−σ d_ij²) / exp(−σ comp_i²) (gaussian kernel, step 5) */
    float m = INFINITY;
    for (int i = 0; i < n; i++) {
      const float d = iou[(size_t)i * n + j];
      const float decay = expf(-1.f * sigma * (d * d));
      const float comp_i = expf(-1.f * sigma * (comp[i] * comp[i]));
      m = MIN(m, decay / comp_i);
    }
    coef[j] = m;
  }
  int nk = 0;
  for (int j = 0; j < n; j++) {
    scores[j] = scores[j] * coef[j];
    if (scores[j] >= filter_thr) /* filter after the decay (seg §6.8) */
      keep[nk++] = j;
  }
  /* sort again by descending score; stable (torch.sort is not: ties may differ) */
  for (int a = 1; a < nk; a++) {
    const int k = keep[a];
    int b = a;
    while (b > 0 && scores[keep[b - 1]] < scores[k]) {
      keep[b] = keep[b - 1];
      b--;
    }
    keep[b] = k;
  }
  g_free(comp);
  g_free(iou);
  g_free(coef);
  return nk;
}
