/* The decode selection's arithmetic (inference §6.2, greedy: the argmax, first maximum on ties as
 * torch.max, and its softmax probability 1 / Σ exp(l − max); §6.3, beam search: the float32
 * log_softmax's maximum and log-sum-exp), one definition for the host decoders
 * (engine/decode/greedy.c, beam.c) and the CPU backend's argmax_rows and log_softmax_topk
 * (cpu/select.c), so that both give the same bits. Written to vectorise: 16 lanes of partial
 * maxima, and 16 lanes of double partial sums of a branch-free exp (about 1 ulp), the lanes
 * combined in order (GCC needs -fno-trapping-math to if-convert them; it changes no result).
 * Compile the users without floating-point contraction (the project's ISO C default): a fused
 * multiply-add in one of them would change the exp's last bits. Plain C. */
#ifndef UFO_BACKEND_SELECT_MATH_H
#define UFO_BACKEND_SELECT_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "hot_loop.h"

/* exp(x) for x <= 0 (scores minus their maximum, -x^2), Cephes-style: 2^n * P(r) with
 * |r| <= ln2/2, about 1 ulp; branch-free so loops over it vectorise; exp(x < -87) = 0 */
UFO_HOT_INLINE static inline float ufo_exp_neg(float x)
{
  float xc = x > -87.f ? x : -87.f;
  float n = __builtin_rintf(xc * 1.44269504088896341f);
  float r = xc - n * 0.693359375f + n * 2.12194440e-4f; /* ln2 split in two (Cody-Waite) */
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  int32_t bits = ((int32_t)n + 127) << 23;
  float scale;
  memcpy(&scale, &bits, sizeof scale);
  return x < -87.f ? 0.f : p * scale;
}

#define UFO_SELECT_LANES 16

/* max_v l_v over a row: 16 lanes of partial maxima combined in order (a NaN is never taken
 * unless the row holds nothing else: -inf then) */
UFO_HOT_LOOP static inline float ufo_select_row_max(const float *l, int64_t V)
{
  float lane_max[UFO_SELECT_LANES];
  for (int u = 0; u < UFO_SELECT_LANES; u++)
    lane_max[u] = -INFINITY;
  int64_t v = 0;
  for (; v + UFO_SELECT_LANES <= V; v += UFO_SELECT_LANES)
    for (int u = 0; u < UFO_SELECT_LANES; u++)
      lane_max[u] = l[v + u] > lane_max[u] ? l[v + u] : lane_max[u];
  float mx = -INFINITY;
  for (; v < V; v++)
    mx = l[v] > mx ? l[v] : mx;
  for (int u = 0; u < UFO_SELECT_LANES; u++)
    mx = lane_max[u] > mx ? lane_max[u] : mx;
  return mx;
}

/* Σ_v exp(l_v − mx) in double: 16 lanes of partial sums, the tail, then the lanes in order
 * (terms below e^-87 add nothing: they cannot change a sum >= 1 in float32) */
UFO_HOT_LOOP static inline double ufo_select_exp_sum(const float *l, int64_t V, float mx)
{
  double lane_sum[UFO_SELECT_LANES] = {0};
  int64_t v = 0;
  for (; v + UFO_SELECT_LANES <= V; v += UFO_SELECT_LANES)
    for (int u = 0; u < UFO_SELECT_LANES; u++)
      lane_sum[u] += (double)ufo_exp_neg(l[v + u] - mx);
  double sum = 0.0;
  for (; v < V; v++)
    sum += (double)ufo_exp_neg(l[v] - mx);
  for (int u = 0; u < UFO_SELECT_LANES; u++)
    sum += lane_sum[u];
  return sum;
}

/* Row l of V logits: returns the first index of the maximum and sets *prob = 1 / Σ_v exp(l_v −
 * max) (inference §6.2). A planted forcing (ufo.h) is applied to a copy of the row first, so
 * that every caller gets this one arithmetic. */
UFO_HOT_LOOP static inline int32_t ufo_select_argmax_prob(const float *l, int64_t V, float *prob)
{
  const float mx = ufo_select_row_max(l, V);
  int64_t best = 0; /* the first maximum (0 when every logit is NaN) */
  while (best < V && !(l[best] == mx))
    best++;
  if (best == V)
    best = 0;
  *prob = (float)(1.0 / ufo_select_exp_sum(l, V, mx));
  return (int32_t)best;
}

/* Beam search's log_softmax (inference §6.3) over a row y = logits / τ (forcing applied): sets
 * *mx = max_v y_v and returns lse = log Σ_v exp(y_v − mx) in float32, so that
 * log_softmax(y)_v = (y_v − mx) − lse; one definition for the host decoder
 * (engine/decode/beam.c) and the CPU backend's log_softmax_topk (cpu/select.c) */
UFO_HOT_LOOP static inline float ufo_select_log_sum_exp(const float *y, int64_t V, float *mx)
{
  *mx = ufo_select_row_max(y, V);
  return (float)log(ufo_select_exp_sum(y, V, *mx));
}

#endif
