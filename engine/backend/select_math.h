/* The greedy selection's arithmetic (inference §6.2: the argmax, first maximum on ties as
 * torch.max, and its softmax probability 1 / Σ exp(l − max)), one definition for the host
 * decoder (engine/decode/greedy.c) and the CPU backend's argmax_rows (cpu/select.c), so that both
 * give the same bits. Written to vectorise: 16 lanes of partial maxima, and 16 lanes of double
 * partial sums of a branch-free exp (about 1 ulp), the lanes combined in order (GCC needs
 * -fno-trapping-math to if-convert them; it changes no result). Compile the users without
 * floating-point contraction (the project's ISO C default): a fused multiply-add in one of them
 * would change the exp's last bits. Plain C. */
#ifndef UFO_BACKEND_SELECT_MATH_H
#define UFO_BACKEND_SELECT_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* The hot arithmetic loops (this header's lanes, cpu/gemm_rows.c's blocks) run over memory the
 * ops' wrappers validated; UBSan's checks would stop their vectorisation (10x slower in the
 * sanitizer builds the tests run in). */
#if defined(__GNUC__) || defined(__clang__)
#define UFO_HOT_LOOP __attribute__((no_sanitize("address", "undefined")))
#else
#define UFO_HOT_LOOP
#endif

/* Small helpers of those loops: always inlined, so that a sanitizer build (which inlines less)
 * still vectorises the loops around them (a call per element made the argmax a fifth of a
 * sanitized decode step). */
#if defined(__GNUC__) || defined(__clang__)
#define UFO_HOT_INLINE UFO_HOT_LOOP __attribute__((always_inline))
#else
#define UFO_HOT_INLINE
#endif

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

/* Row l of V logits: returns the first index of the maximum and sets *prob = 1 / Σ_v exp(l_v −
 * max) (terms below e^-87 add nothing: they cannot change a sum >= 1 in float32). A planted
 * forcing (ufo.h) is applied to a copy of the row first, so that every caller gets this one
 * arithmetic. */
UFO_HOT_LOOP static inline int32_t ufo_select_argmax_prob(const float *l, int64_t V, float *prob)
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
  int64_t best = 0; /* the first maximum (0 when every logit is NaN) */
  while (best < V && !(l[best] == mx))
    best++;
  if (best == V)
    best = 0;
  double lane_sum[UFO_SELECT_LANES] = {0};
  for (v = 0; v + UFO_SELECT_LANES <= V; v += UFO_SELECT_LANES)
    for (int u = 0; u < UFO_SELECT_LANES; u++)
      lane_sum[u] += (double)ufo_exp_neg(l[v + u] - mx);
  double sum = 0.0;
  for (; v < V; v++)
    sum += (double)ufo_exp_neg(l[v] - mx);
  for (int u = 0; u < UFO_SELECT_LANES; u++)
    sum += lane_sum[u];
  *prob = (float)(1.0 / sum);
  return (int32_t)best;
}

#endif
