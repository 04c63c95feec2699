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

/* One greedy run's state (ufo_decode_greedy_ahead): the live rows and the host buffers. */
typedef struct {
  const UfoDecoder *dec;
  const UfoPlantedPlan *plan;
  const UfoDecodeDraft *draft;
  UfoDecodeOutput *out;
  int max_length, n_live;
  gboolean remote, keep;
  int32_t *seq, *tok, *src;        /* live row → sequence, input token; compaction sources */
  int32_t *sel_id, *force;         /* per live row */
  float *sel_prob, *margin;        /* per live row */
  float *logits, *feat;            /* host logits / features (selection, features on the host) */
  int32_t *ahead_tok, *last;       /* a pass's inputs (P · rows); a row's last selection */
  gboolean *lead;                  /* a row joins the next pass with the draft's lead */
  int32_t *ahead_id, *ahead_force; /* a pass's selections, its planted forcing (P · rows) */
  float *ahead_prob, *ahead_margin;
  gboolean *done; /* a row ended inside the pass */
} Greedy;

/* The plan's forcing of the live rows at step t into force / margin[i] (selection where the
 * logits live). */
static void plan_rows(Greedy *g, int t, int32_t *force, float *margin)
{
  for (int i = 0; g->plan && i < g->n_live; i++)
    ufo_decode_plan_token(g->plan, g->seq[i], t, g->dec->vocab_size, &force[i], &margin[i]);
}

/* Step t's selection of live row i (feature history row feat_row, or -1) into the output. */
static void record_step(Greedy *g, int i, int t, int feat_row)
{
  const int s = g->seq[i], C = g->dec->feat_dim;
  const size_t at = (size_t)s * g->max_length + t;
  g->out->ids[at] = g->sel_id[i];
  g->out->prob[at] = g->sel_prob[i];
  if (g->feat)
    memcpy(g->out->feat + at * C, g->feat + (size_t)i * C, sizeof(float) * C);
  if (g->keep)
    g->out->feat_row[at] = feat_row;
  if (g->sel_id[i] == g->dec->end_token)
    g->out->length[s] = t;
}

/* Drops the rows that ended (ended[i]) from the batch; tok = each kept row's next input. */
static gboolean compact(Greedy *g, const gboolean *ended, const int32_t *next, GError **error)
{
  int n_keep = 0;
  for (int i = 0; i < g->n_live; i++) {
    if (ended[i])
      continue;
    g->src[n_keep] = i;
    g->seq[n_keep] = g->seq[i]; /* n_keep <= i: in-place compaction is safe */
    g->tok[n_keep] = next[i];
    n_keep++;
  }
  if (n_keep > 0 && n_keep < g->n_live && !g->dec->reorder(g->dec->ctx, g->src, n_keep, error))
    return FALSE;
  g->n_live = n_keep;
  return TRUE;
}

/* One step at t (inference §6.2): the live rows' tokens in, their selections out. */
static gboolean greedy_step(Greedy *g, int t, GError **error)
{
  const UfoDecoder *dec = g->dec;
  const int V = dec->vocab_size, n = g->n_live;
  int row0 = 0;
  if (!dec->step(dec->ctx, g->tok, n, t, g->logits, g->feat, error) ||
      (g->keep && !dec->keep_feat(dec->ctx, n, &row0, error)))
    return FALSE;
  if (g->remote) {
    plan_rows(g, t, g->force, g->margin); /* the plan's token for (sequence, step) */
    if (!dec->select_greedy(dec->ctx, n, g->force, g->margin, g->sel_id, g->sel_prob, error))
      return FALSE;
  } else {
    for (int i = 0; i < n; i++) {
      float *l = g->logits + (size_t)i * V;
      ufo_decode_apply_plan(g->plan, g->seq[i], t, l, V);
      g->sel_id[i] = argmax_prob(l, V, &g->sel_prob[i]);
    }
  }
  g->out->t_out = t + 1;
  for (int i = 0; i < n; i++) {
    record_step(g, i, t, row0 + i);
    g->done[i] = g->sel_id[i] == dec->end_token;
    /* a first token after which the task keeps no answer: the sequence ends with it (decode.h
     * end_first; a draft pass never starts at step 0: its inputs are [CLS]) */
    if (t == 0 && !g->done[i] && dec->end_first && dec->end_first[g->sel_id[i]]) {
      g->out->length[g->seq[i]] = 1;
      g->done[i] = TRUE;
    }
  }
  return compact(g, g->done, g->sel_id, error);
}

/* Positions of a draft pass at step t, or 0 for an ordinary step: every live row's input starts
 * or continues the draft's run, or (lead) ends a whole answer before it, and the whole draft
 * (max_ahead positions, one more with a lead, or the steps left, at least 2) fits the row budget.
 * A shorter pass is not tried: it would pay for the rows it runs past their end without the
 * weight reuse that makes a pass worth it. g->lead: the rows that take the lead. */
static int ahead_positions(Greedy *g, int t)
{
  const UfoDecodeDraft *d = g->draft;
  if (!d)
    return 0;
  gboolean any_lead = FALSE;
  for (int i = 0; i < g->n_live; i++) {
    const int32_t x = g->tok[i];
    g->lead[i] = FALSE;
    if (x == d->token || x == d->after[0] || x == d->after[1])
      continue;
    if (t == 0 || !d->lead_ready ||
        !d->lead_ready(d->lead_ctx, g->out->ids + (size_t)g->seq[i] * g->max_length, t))
      return 0;
    g->lead[i] = any_lead = TRUE;
  }
  const int64_t P = MIN(d->max_ahead + (any_lead ? 1 : 0), g->max_length - t);
  return P >= 2 && P * g->n_live <= d->max_rows ? (int)P : 0;
}

/* A draft pass of P positions from step t: position j's selections stand while every earlier
 * position selected the draft's token (or ended its row); the first position where a live row
 * selected anything else is the pass's last. Returns the positions kept (t advances by them). */
static int greedy_ahead(Greedy *g, int t, int P, GError **error)
{
  const UfoDecoder *dec = g->dec;
  const int n = g->n_live;
  for (int i = 0; i < n; i++) {
    g->ahead_tok[i] = g->tok[i];
    for (int j = 1; j < P; j++) /* the lead (a comma) after a whole answer, then the run */
      g->ahead_tok[(size_t)j * n + i] = j == 1 && g->lead[i] ? g->draft->after[0] : g->draft->token;
  }
  for (int j = 0; g->plan && j < P; j++)
    plan_rows(g, t + j, g->ahead_force + (size_t)j * n, g->ahead_margin + (size_t)j * n);
  if (!dec->step_ahead(dec->ctx, g->ahead_tok, n, t, P, g->plan ? g->ahead_force : NULL,
                       g->plan ? g->ahead_margin : NULL, g->ahead_id, g->ahead_prob, error))
    return -1;
  /* the positions that stand: up to the first where a live row selected off the draft (the
   * next position was fed the draft's input, not that token), or until every row has ended */
  int kept = 0, alive = n;
  gboolean off_draft = FALSE;
  for (int i = 0; i < n; i++)
    g->done[i] = FALSE;
  while (kept < P && alive > 0 && !off_draft) {
    for (int i = 0; i < n; i++) {
      const int32_t id = g->ahead_id[(size_t)kept * n + i];
      if (g->done[i])
        continue; /* ended earlier in the pass: its later positions are not its steps */
      if (id == dec->end_token) {
        g->done[i] = TRUE;
        alive--;
      } else if (kept + 1 < P && id != g->ahead_tok[(size_t)(kept + 1) * n + i]) {
        off_draft = TRUE;
      }
    }
    kept++;
  }
  int row0 = 0;
  if (!dec->ahead_accept(dec->ctx, kept, g->keep ? &row0 : NULL, error))
    return -1;
  /* the kept positions are steps t .. t + kept − 1 of the rows live at each */
  for (int i = 0; i < n; i++)
    g->done[i] = FALSE;
  for (int j = 0; j < kept; j++) {
    g->out->t_out = t + j + 1;
    for (int i = 0; i < n; i++) {
      if (g->done[i])
        continue;
      g->sel_id[i] = g->ahead_id[(size_t)j * n + i];
      g->sel_prob[i] = g->ahead_prob[(size_t)j * n + i];
      record_step(g, i, t + j, row0 + i * kept + j);
      g->last[i] = g->sel_id[i];
      g->done[i] = g->sel_id[i] == dec->end_token;
    }
  }
  if (!compact(g, g->done, g->last, error))
    return -1;
  return kept;
}

UfoDecodeOutput *ufo_decode_greedy(const UfoDecoder *dec, int n_seq, int max_length,
                                   const UfoPlantedPlan *plan, gboolean with_feat, GError **error)
{
  return ufo_decode_greedy_ahead(dec, n_seq, max_length, plan, with_feat, NULL, error);
}

UfoDecodeOutput *ufo_decode_greedy_ahead(const UfoDecoder *dec, int n_seq, int max_length,
                                         const UfoPlantedPlan *plan, gboolean with_feat,
                                         const UfoDecodeDraft *draft, GError **error)
{
  if (!ufo_decode_check_args(dec, n_seq, max_length, with_feat, error))
    return NULL;
  if (draft &&
      (draft->token < 0 || draft->token >= dec->vocab_size || draft->max_ahead < 2 ||
       draft->max_rows < 2 ||
       (draft->lead_ready && (draft->after[0] < 0 || draft->after[0] >= dec->vocab_size)))) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "decode draft: token %d (vocabulary of %d), %d positions, %lld rows per pass",
                draft->token, dec->vocab_size, draft->max_ahead, (long long)draft->max_rows);
    return NULL;
  }
  const int V = dec->vocab_size, C = dec->feat_dim, rows = MAX(n_seq, 1);
  /* finished rows read [SEP] from then on, as the original's forced rows (§6.2) */
  g_autoptr(UfoDecodeOutput) out =
      ufo_decode_output_new(n_seq, max_length, C, with_feat, dec->end_token);
  Greedy g = {.dec = dec, .plan = plan, .out = out, .max_length = max_length, .n_live = n_seq};
  /* selection on the decoder's side (logits stay there) or on the host */
  g.remote = dec->select_greedy != NULL;
  /* features stay on the decoder's side (history rows) or come back to the host */
  g.keep = with_feat && dec->keep_feat != NULL;
  /* a draft pass selects and keeps its features where they live */
  const gboolean ahead =
      draft && dec->step_ahead && dec->ahead_accept && g.remote && (g.keep || !with_feat);
  g.draft = ahead ? draft : NULL;
  g_autofree int32_t *seq = g.seq = g_new(int32_t, rows);
  g_autofree int32_t *tok = g.tok = g_new(int32_t, rows);
  g_autofree int32_t *src = g.src = g_new(int32_t, rows);
  g_autofree int32_t *sel_id = g.sel_id = g_new(int32_t, rows);
  g_autofree float *sel_prob = g.sel_prob = g_new(float, rows);
  g_autofree int32_t *force = g.force = plan ? g_new(int32_t, rows) : NULL;
  g_autofree float *margin = g.margin = plan ? g_new(float, rows) : NULL;
  g_autofree gboolean *done = g.done = g_new(gboolean, rows);
  g_autofree int32_t *last = g.last = ahead ? g_new(int32_t, rows) : NULL;
  const size_t pass_rows = ahead ? (size_t)rows * MIN(ufo_decode_draft_span(draft), max_length) : 0;
  g_autofree gboolean *lead = g.lead = ahead ? g_new(gboolean, rows) : NULL;
  g_autofree int32_t *ahead_tok = g.ahead_tok = ahead ? g_new(int32_t, pass_rows) : NULL;
  g_autofree int32_t *ahead_id = g.ahead_id = ahead ? g_new(int32_t, pass_rows) : NULL;
  g_autofree float *ahead_prob = g.ahead_prob = ahead ? g_new(float, pass_rows) : NULL;
  g_autofree int32_t *ahead_force = g.ahead_force =
      ahead && plan ? g_new(int32_t, pass_rows) : NULL;
  g_autofree float *ahead_margin = g.ahead_margin = ahead && plan ? g_new(float, pass_rows) : NULL;
  g_autofree float *logits = g.logits = g.remote ? NULL : g_new(float, (size_t)rows *V);
  g_autofree float *feat = g.feat = with_feat && !g.keep ? g_new(float, (size_t)rows *C) : NULL;
  if (g.keep) {
    g_clear_pointer(&out->feat, g_free);
    const size_t n = (size_t)n_seq * max_length;
    out->feat_row = g_new(int32_t, MAX(n, 1));
    for (size_t i = 0; i < n; i++)
      out->feat_row[i] = -1;
  }
  for (int s = 0; s < n_seq; s++) {
    seq[s] = s;
    tok[s] = dec->start_token; /* [CLS], start token of every sequence (§6.1) */
    out->length[s] = -1;
  }
  for (int t = 0; t < max_length && g.n_live > 0;) {
    const int P = ahead_positions(&g, t);
    if (P > 0) {
      const int kept = greedy_ahead(&g, t, P, error);
      if (kept < 0)
        return NULL;
      t += kept;
    } else {
      if (!greedy_step(&g, t, error))
        return NULL;
      t++;
    }
  }
  for (int s = 0; s < n_seq; s++)
    if (out->length[s] < 0)
      out->length[s] = out->t_out;
  return g_steal_pointer(&out);
}
