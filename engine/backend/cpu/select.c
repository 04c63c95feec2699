/* Greedy selection on the CPU backend (backend.h argmax_rows, inference §6.2): one row per
 * task, the arithmetic of the host decoder it replaces, so decoded tokens and probabilities
 * are bit-identical to it. */
#include "cpu.h"

#include <math.h>

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
  int64_t tok = j->force ? j->force[i] : -1;
  float forced = 0.f;
  if (tok >= 0) { /* ufo.h planted plan: logit[tok] = max(logits) + margin */
    float mx = l[0];
    for (int64_t v = 1; v < V; v++)
      mx = MAX(mx, l[v]);
    forced = mx + (j->margin ? j->margin[i] : 0.f);
  }
#define VAL(v) ((v) == tok ? forced : l[v])
  int64_t best = 0;
  for (int64_t v = 1; v < V; v++)
    if (VAL(v) > VAL(best))
      best = v;
  const float mx = VAL(best);
  double sum = 0.0;
  for (int64_t v = 0; v < V; v++) {
    const float d = VAL(v) - mx; /* terms below e^-87 cannot change a sum >= 1 */
    if (d > -87.0f)
      sum += expf(d);
  }
#undef VAL
  j->ids[i] = (int32_t)best;
  j->prob[i] = (float)(1.0 / sum);
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
