#include "toy_lm.h"

#include <string.h>

static gboolean toy_step(void *ctx, const int32_t *tokens, int n, int t, float *logits, float *feat,
                         GError **error)
{
  ToyLM *lm = ctx;
  if (t == lm->fail_at_step) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "toy backend failure at step %d", t);
    return FALSE;
  }
  g_assert_cmpint(n, ==, lm->n);
  lm->steps++;
  lm->rows_computed += n;
  for (int i = 0; i < n; i++) {
    const uint32_t h = lm->h[i] * 31u + (uint32_t)tokens[i] + 1u;
    lm->h[i] = h;
    for (int v = 0; v < TOY_V; v++) {
      uint64_t m = ((uint64_t)h * 2654435761ull + (uint64_t)v * 40503ull + (uint64_t)t * 9973ull) %
                   1000003ull;
      double x = (double)m / 1000003.0 * 8.0 - 4.0;
      if (v == 102)
        x += lm->sep_bonus * t;
      logits[(size_t)i * TOY_V + v] = (float)x;
    }
    if (feat)
      for (int c = 0; c < TOY_C; c++)
        feat[(size_t)i * TOY_C + c] = (float)((h % 1000) / 1000.0 + c);
  }
  return TRUE;
}

static gboolean toy_reorder(void *ctx, const int32_t *src, int n_new, GError **error)
{
  ToyLM *lm = ctx;
  uint32_t *h = g_new(uint32_t, MAX(n_new, 1));
  for (int i = 0; i < n_new; i++) {
    g_assert_cmpint(src[i], >=, 0);
    g_assert_cmpint(src[i], <, lm->n);
    h[i] = lm->h[src[i]];
  }
  g_free(lm->h);
  lm->h = h;
  lm->n = n_new;
  lm->reorders++;
  return TRUE;
}

void toy_lm_init(ToyLM *lm, int n_seq, double sep_bonus, UfoDecoder *dec)
{
  memset(lm, 0, sizeof(*lm));
  lm->h = g_new(uint32_t, MAX(n_seq, 1));
  for (int s = 0; s < n_seq; s++)
    lm->h[s] = 1000u + 7u * (uint32_t)s;
  lm->n = n_seq;
  lm->sep_bonus = sep_bonus;
  lm->fail_at_step = -1;
  *dec = (UfoDecoder){.step = toy_step,
                      .reorder = toy_reorder,
                      .ctx = lm,
                      .vocab_size = TOY_V,
                      .feat_dim = TOY_C,
                      .start_token = UFO_TOKEN_CLS,
                      .end_token = UFO_TOKEN_SEP,
                      .pad_token = UFO_TOKEN_PAD};
}

void toy_lm_clear(ToyLM *lm)
{
  g_free(lm->h);
  lm->h = NULL;
}
