/* Deterministic toy language model behind a UfoDecoder (same formula as ToyLM in
 * tools/reference/make_post_fixtures.py). Each cache row holds a uint32 state h that mixes in
 * every input token, so a wrong reorder changes every later logit. */
#ifndef UFO_TESTS_TOY_LM_H
#define UFO_TESTS_TOY_LM_H

#include "decode/decode.h"
#include "text/tokenizer.h"

#define TOY_V 110
#define TOY_C 4

typedef struct {
  uint32_t *h;
  int n, cap;
  double sep_bonus;
  int fail_at_step; /* -1: never; else step() fails at this t */
  int steps, rows_computed, reorders;
} ToyLM;

void toy_lm_init(ToyLM *lm, int n_seq, double sep_bonus, UfoDecoder *dec);
void toy_lm_clear(ToyLM *lm);

#endif
