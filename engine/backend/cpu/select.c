/* Decode selection on the CPU backend: greedy (backend.h argmax_rows, inference §6.2) and beam
 * search (log_softmax_topk, §6.3). One row per task, the arithmetic of the host decoder each
 * replaces (greedy: backend/select_math.h, shared), so decoded tokens, probabilities and beam
 * scores are bit-identical to it. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("O3", "no-trapping-math") /* select_math.h's lanes vectorise */
#endif
#include "cpu.h"

#include <math.h>
#include <string.h>

typedef struct {
  UfoView x;
  const int32_t *force;
  const float *margin;
  int32_t *ids;
  float *prob;
} SelectJob;

/* row i: argmax (first maximum) and 1 / Σ exp(l − max), with the planted forcing (ufo.h) */
static void select_row(const SelectJob *j, int64_t i)
{
  const float *l = ufo_cpu_ptr(j->x) + i * j->x.ld;
  const int64_t V = j->x.cols;
  const int64_t tok = j->force ? j->force[i] : -1;
  if (tok < 0) {
    j->ids[i] = ufo_select_argmax_prob(l, V, &j->prob[i]);
    return;
  }
  /* ufo.h planted plan (tests): logit[tok] = max(logits) + margin, on a copy of the row */
  float *row = g_memdup2(l, sizeof(float) * (size_t)V);
  float mx = l[0];
  for (int64_t v = 1; v < V; v++)
    mx = MAX(mx, l[v]);
  row[tok] = mx + (j->margin ? j->margin[i] : 0.f);
  j->ids[i] = ufo_select_argmax_prob(row, V, &j->prob[i]);
  g_free(row);
}

static void select_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  for (int64_t i = begin; i < end; i++)
    select_row(ctx, i);
}

void ufo_cpu_argmax_rows(UfoCpu *cpu, UfoView x, const int32_t *force, const float *margin,
                         int32_t *ids, float *prob)
{
  SelectJob j = {x, force, margin, ids, prob};
  if (cpu->reference)
    select_task(&j, 0, x.rows, 0);
  else
    ufo_pool_run(cpu->pool, x.rows, 1, select_task, &j);
}

typedef struct {
  UfoView x;
  float temperature;
  const int32_t *force;
  const float *margin;
  const float *bias;
  int k;
  float *val;
  int32_t *idx;
} TopkJob;

/* row i: the k best candidates c_v = log_softmax(x / τ)_v + bias[i], with the arithmetic of
 * engine/decode/beam.c (log_softmax_t: backend/select_math.h, shared; then cand = lp + beam score,
 * then its insertion top-k: ties keep the lower index, as the columns are visited in order). y: a
 * row of scratch. */
UFO_HOT_LOOP static void topk_row(const TopkJob *j, int64_t i, float *y)
{
  const float *l = ufo_cpu_ptr(j->x) + i * j->x.ld;
  const int64_t V = j->x.cols;
  const float tau = j->temperature;
  const int64_t tok = j->force ? j->force[i] : -1;
  /* y_v = logits / τ (inference §6.3; no division at τ == 1, as the host path) */
  if (tau != 1.f)
    for (int64_t v = 0; v < V; v++)
      y[v] = l[v] / tau;
  else
    memcpy(y, l, sizeof(float) * (size_t)V);
  if (tok >= 0) { /* ufo.h planted plan: logit[tok] = max(logits) + margin, before the softmax */
    const float forced = ufo_select_row_max(l, V) + (j->margin ? j->margin[i] : 0.f);
    y[tok] = tau != 1.f ? forced / tau : forced;
  }
  float mx;
  const float lse = ufo_select_log_sum_exp(y, V, &mx);
  const gboolean has_bias = j->bias != NULL;
  const float b = has_bias ? j->bias[i] : 0.f;
  float *val = j->val + i * j->k;
  int32_t *idx = j->idx + i * j->k;
  const int k = j->k;
  int m = 0;
  for (int64_t v0 = 0; v0 < V; v0 += UFO_SELECT_LANES) {
    const int n = (int)MIN(UFO_SELECT_LANES, V - v0);
    float c[UFO_SELECT_LANES];
    for (int u = 0; u < n; u++)
      c[u] = (y[v0 + u] - mx) - lse; /* lp_v in float32 */
    if (has_bias) /* cand = lp + beam score (f32); no + 0 without one: -0 stays -0 */
      for (int u = 0; u < n; u++)
        c[u] += b;
    if (m == k) { /* a block with nothing above the k-th best changes nothing */
      gboolean any = FALSE;
      for (int u = 0; u < n; u++)
        any |= c[u] > val[k - 1];
      if (!any)
        continue;
    }
    for (int u = 0; u < n; u++) {
      if (m == k && !(c[u] > val[m - 1]))
        continue;
      int q = m < k ? m++ : k - 1;
      while (q > 0 && c[u] > val[q - 1]) {
        val[q] = val[q - 1];
        idx[q] = idx[q - 1];
        q--;
      }
      val[q] = c[u];
      idx[q] = (int32_t)(v0 + u);
    }
  }
}

static void topk_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  const TopkJob *j = ctx;
  float *y = g_new(float, (size_t)j->x.cols);
  for (int64_t i = begin; i < end; i++)
    topk_row(j, i, y);
  g_free(y);
}

void ufo_cpu_log_softmax_topk(UfoCpu *cpu, UfoView x, float temperature, const int32_t *force,
                              const float *margin, const float *bias, int k, float *val,
                              int32_t *idx)
{
  TopkJob j = {x, temperature, force, margin, bias, k, val, idx};
  if (cpu->reference)
    topk_task(&j, 0, x.rows, 0);
  else
    ufo_pool_run(cpu->pool, x.rows, 1, topk_task, &j);
}
