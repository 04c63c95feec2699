/* Decode plans for ufo-bench --plan (docs/performance.md "Decode plans"): planted plans (ufo.h
 * UfoPlantedPlan) that make a model with random weights decode the lengths a trained model
 * decodes, so that benchmarks time the work of real frames instead of 30 steps for every grid. */
#ifndef UFO_BENCH_PLAN_H
#define UFO_BENCH_PLAN_H

#include "ufo/ufo.h"

typedef struct {
  UfoPlantedPlan plan;
  int32_t *tokens;    /* (n_seq, max_len) */
  float *margin;      /* (n_seq) */
  float *step_margin; /* (n_seq, max_len): beam search without ties (bench_plan.c) */
  int n_decoding;     /* sequences planted with a whole object (the others end after 1-2 tokens) */
} BenchPlan;

/* kind "trained" (the rule in docs/performance.md) for n_seq sequences of a task (grid tasks:
 * one per grid; caption/grounding: 1); FALSE with error for another kind or a model without the
 * task's label set. */
gboolean bench_plan_make(const UfoModel *model, UfoTask task, int n_seq, const char *kind,
                         BenchPlan *out, GError **error);
void bench_plan_clear(BenchPlan *p);

#endif
