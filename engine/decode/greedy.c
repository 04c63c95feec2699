/* Greedy decoding with compaction (inference spec §6.2; segmentation spec §2.3). */
#include "decode_priv.h"

#include <math.h>
#include <string.h>

#include "backend/select_math.h"

void ufo_decode_output_free(UfoDecodeOutput *out)
{
  if (!out)
    return;
  g_free(out->ids);
  g_free(out->prob);
  g_free(out->feat);
  g_free(out->feat_row);
  g_free(out->length);
  g_free(out->score);
  g_free(out);
}

/* margin[s] + step_margin[s, t] (float, as the reference adds them: docs/reference.md) */
static float plan_margin(const UfoPlantedPlan *plan, int s, int t)
{
  float m = plan->margin ? plan->margin[s] : 0.f;
  if (plan->step_margin)
    m += plan->step_margin[(size_t)s * plan->max_len + t];
  return m;
}

void ufo_decode_apply_plan(const UfoPlantedPlan *plan, int s, int t, float *logits, int vocab)
{
  if (!plan || !plan->tokens || s < 0 || s >= plan->n_seq || t < 0 || t >= plan->max_len)
    return;
  const int32_t tok = plan->tokens[(size_t)s * plan->max_len + t];
  if (tok < 0 || tok >= vocab)
    return;
  float mx = logits[0];
  for (int v = 1; v < vocab; v++)
    mx = MAX(mx, logits[v]);
  /* ufo.h planted plan: logit[tok] = max(logits) + margin[s] (+ step margin), before softmax */
  logits[tok] = mx + plan_margin(plan, s, t);
}

void ufo_decode_plan_token(const UfoPlantedPlan *plan, int s, int t, int vocab, int32_t *tok,
                           float *margin)
{
  *tok = -1;
  *margin = 0.f;
  if (!plan || !plan->tokens || s < 0 || s >= plan->n_seq || t < 0 || t >= plan->max_len)
    return;
  const int32_t id = plan->tokens[(size_t)s * plan->max_len + t];
  if (id < 0 || id >= vocab)
    return;
  *tok = id;
  *margin = plan_margin(plan, s, t);
}

/* argmax (first maximum on ties, as torch.max) and its softmax probability 1 / Σ exp(l − max),
 * the CPU backend's arithmetic (backend/select_math.h) */
static int32_t argmax_prob(const float *l, int vocab, float *prob)
{
  return ufo_select_argmax_prob(l, vocab, prob);
}

UfoDecodeOutput *ufo_decode_output_new(int n_seq, int max_length, int feat_dim, gboolean with_feat,
                                       int32_t fill)
{
  UfoDecodeOutput *out = g_new0(UfoDecodeOutput, 1);
  const size_t n = (size_t)n_seq * max_length;
  out->n_seq = n_seq;
  out->max_length = max_length;
  out->ids = g_new(int32_t, MAX(n, 1));
  for (size_t i = 0; i < n; i++)
    out->ids[i] = fill;
  out->prob = g_new0(float, MAX(n, 1));
  out->feat = with_feat ? g_new0(float, MAX(n * feat_dim, 1)) : NULL;
  out->length = g_new0(int, MAX(n_seq, 1));
  out->score = g_new0(float, MAX(n_seq, 1));
  return out;
}

gboolean ufo_decode_check_args(const UfoDecoder *dec, int n_seq, int max_length, gboolean with_feat,
                               GError **error)
{
  if (!dec || !dec->step || !dec->reorder || dec->vocab_size <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "decoder is incomplete");
    return FALSE;
  }
  const int V = dec->vocab_size;
  if (dec->start_token < 0 || dec->start_token >= V || dec->end_token < 0 || dec->end_token >= V ||
      dec->pad_token < 0 || dec->pad_token >= V || dec->start_token == dec->end_token) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "decoder tokens: start %d, end %d, pad %d (need distinct start and end, all in "
                "[0, %d))",
                dec->start_token, dec->end_token, dec->pad_token, V);
    return FALSE;
  }
  if (n_seq < 0 || max_length <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "bad decode size: %d sequences, %d steps",
                n_seq, max_length);
    return FALSE;
  }
  if (with_feat && dec->feat_dim <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "features requested but feat_dim is %d",
                dec->feat_dim);
    return FALSE;
  }
  return TRUE;
}

UfoDecodeOutput *ufo_decode_greedy(const UfoDecoder *dec, int n_seq, int max_length,
                                   const UfoPlantedPlan *plan, gboolean with_feat, GError **error)
{
  if (!ufo_decode_check_args(dec, n_seq, max_length, with_feat, error))
    return NULL;
  const int V = dec->vocab_size, C = dec->feat_dim;
  /* finished rows read [SEP] from then on, as the original's forced rows (§6.2) */
  g_autoptr(UfoDecodeOutput) out =
      ufo_decode_output_new(n_seq, max_length, C, with_feat, dec->end_token);
  g_autofree int32_t *seq = g_new(int32_t, MAX(n_seq, 1)); /* live row → sequence */
  g_autofree int32_t *tok = g_new(int32_t, MAX(n_seq, 1)); /* live row → input token */
  g_autofree int32_t *src = g_new(int32_t, MAX(n_seq, 1));
  /* selection on the decoder's side (logits stay there) or on the host */
  const gboolean remote = dec->select_greedy != NULL;
  g_autofree float *logits = remote ? NULL : g_new(float, (size_t)MAX(n_seq, 1) * V);
  g_autofree int32_t *sel_id = g_new(int32_t, MAX(n_seq, 1));
  g_autofree float *sel_prob = g_new(float, MAX(n_seq, 1));
  g_autofree int32_t *force = plan ? g_new(int32_t, MAX(n_seq, 1)) : NULL;
  g_autofree float *margin = plan ? g_new(float, MAX(n_seq, 1)) : NULL;
  /* features stay on the decoder's side (history rows) or come back to the host */
  const gboolean keep = with_feat && dec->keep_feat != NULL;
  g_autofree float *feat = with_feat && !keep ? g_new(float, (size_t)MAX(n_seq, 1) * C) : NULL;
  if (keep) {
    g_clear_pointer(&out->feat, g_free);
    const size_t n = (size_t)n_seq * max_length;
    out->feat_row = g_new(int32_t, MAX(n, 1));
    for (size_t i = 0; i < n; i++)
      out->feat_row[i] = -1;
  }
  int row0 = 0;
  for (int s = 0; s < n_seq; s++) {
    seq[s] = s;
    tok[s] = dec->start_token; /* [CLS], start token of every sequence (§6.1) */
    out->length[s] = -1;
  }
  int n_live = n_seq;
  for (int t = 0; t < max_length && n_live > 0; t++) {
    if (!dec->step(dec->ctx, tok, n_live, t, logits, feat, error) ||
        (keep && !dec->keep_feat(dec->ctx, n_live, &row0, error)))
      return NULL;
    if (remote) {
      for (int i = 0; plan && i < n_live; i++) /* the plan's token for (sequence, step) */
        ufo_decode_plan_token(plan, seq[i], t, V, &force[i], &margin[i]);
      if (!dec->select_greedy(dec->ctx, n_live, force, margin, sel_id, sel_prob, error))
        return NULL;
    } else {
      for (int i = 0; i < n_live; i++) {
        float *l = logits + (size_t)i * V;
        ufo_decode_apply_plan(plan, seq[i], t, l, V);
        sel_id[i] = argmax_prob(l, V, &sel_prob[i]);
      }
    }
    out->t_out = t + 1;
    int n_keep = 0;
    for (int i = 0; i < n_live; i++) {
      const int s = seq[i];
      const float p = sel_prob[i];
      const int32_t id = sel_id[i];
      out->ids[(size_t)s * max_length + t] = id;
      out->prob[(size_t)s * max_length + t] = p;
      if (feat)
        memcpy(out->feat + ((size_t)s * max_length + t) * C, feat + (size_t)i * C,
               sizeof(float) * C);
      if (keep)
        out->feat_row[(size_t)s * max_length + t] = row0 + i;
      if (id == dec->end_token) {
        out->length[s] = t;
      } else {
        src[n_keep] = i;
        seq[n_keep] = s; /* n_keep <= i: in-place compaction is safe */
        tok[n_keep] = id;
        n_keep++;
      }
    }
    if (n_keep > 0 && n_keep < n_live && !dec->reorder(dec->ctx, src, n_keep, error))
      return NULL;
    n_live = n_keep;
  }
  for (int s = 0; s < n_seq; s++)
    if (out->length[s] < 0)
      out->length[s] = out->t_out;
  return g_steal_pointer(&out);
}
