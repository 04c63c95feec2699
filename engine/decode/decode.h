/* Greedy and beam-search decoding (inference spec §6), independent of the backend: the model
 * side is reached through UfoDecoder. Finished sequences leave the batch (compaction) through
 * UfoDecoder.reorder, so cost follows the number of live sequences. */
#ifndef UFO_DECODE_DECODE_H
#define UFO_DECODE_DECODE_H

#include "ufo/ufo.h"

typedef struct {
  /* One decode step for the n rows currently live. tokens[i] is row i's input token, t the
   * step index (position id). Writes logits (n, vocab) and, when feat != NULL, the mean-layer
   * token feature (n, feat_dim), both host float32. */
  gboolean (*step)(void *ctx, const int32_t *tokens, int n, int t, float *logits, float *feat,
                   GError **error);
  /* Reorders the decode caches: new row i = old row src[i], for i < n_new (gather; rows may
   * repeat, for beam search). */
  gboolean (*reorder)(void *ctx, const int32_t *src, int n_new, GError **error);
  void *ctx;
  int vocab_size;
  int feat_dim;
  /* The model's [CLS] (every sequence's first input, §6.1), [SEP] (a sequence's end) and [PAD]
   * (beam output after a hypothesis' end, §6.3) ids, from its vocabulary (ufo_tokenizer_ids). */
  int32_t start_token, end_token, pad_token;
  /* (optional, vocab_size entries; greedy decoding) end_first[x] != 0: a sequence whose first
   * token is x ends after it, as if [SEP] came next (its later ids [SEP], its length 1): its
   * task drops every answer that begins with x (tasks.h ufo_task_dead_first), so what it would
   * emit next changes no result. NULL: sequences end at [SEP] only. */
  const uint8_t *end_first;
  /* (optional) Greedy selection where the logits live (backend.h argmax_rows): after a step
   * called with logits == NULL, ids[i] / prob[i] = the argmax of row i of that step's logits
   * and its softmax probability, with the planted forcing force[i] >= 0 (+ margin[i]) applied
   * first. NULL: the decoder downloads the logits and selects on the host (same arithmetic). */
  gboolean (*select_greedy)(void *ctx, int n, const int32_t *force, const float *margin,
                            int32_t *ids, float *prob, GError **error);
  /* (optional) Beam-search selection where the logits live (backend.h log_softmax_topk): after
   * a step called with logits == NULL, val[i·k + j] / idx[i·k + j] (j < k) = the k best
   * candidates c_v = log_softmax(logits_i / τ)_v + bias[i] (float32) of row i and their tokens,
   * c descending, ties to the lower token, with the planted forcing force[i] >= 0 (+ margin[i])
   * applied first. NULL: the decoder downloads the logits and selects on the host (same
   * arithmetic). */
  gboolean (*select_topk)(void *ctx, int n, float temperature, const int32_t *force,
                          const float *margin, const float *bias, int k, float *val, int32_t *idx,
                          GError **error);
  /* (optional) Features kept where they live: after a step called with feat == NULL, appends
   * the step's n rows of features (row i = live row i) to the decoder's feature history and
   * sets *row0 to the history row of live row 0 (rows row0 .. row0 + n − 1). Greedy decoding
   * with features uses it when set (out->feat_row instead of out->feat); NULL: the features
   * come back through step(feat). */
  gboolean (*keep_feat)(void *ctx, int n, int *row0, GError **error);
  /* (optional, both or none; greedy with a draft only) Steps t .. t + P − 1 of the n live rows
   * in one pass (speculative decoding with a fixed draft): tokens[j·n + i] is row i's input at
   * step t + j, for j ≥ 1 a guess of what step t + j − 1 will select; every position is then
   * selected as select_greedy selects a step (force / margin[j·n + i]: position j's planted
   * forcing, or NULL) into ids / prob[j·n + i]. Each position's results are those of a step over
   * the same inputs (bit for bit where the backend's decode products are row-stable,
   * docs/performance.md section 9; within rounding elsewhere). */
  gboolean (*step_ahead)(void *ctx, const int32_t *tokens, int n, int t, int P,
                         const int32_t *force, const float *margin, int32_t *ids, float *prob,
                         GError **error);
  /* Ends the pass: its first k positions stand (the decoder is at step t + k with the same n
   * rows, as after k steps), the later ones are forgotten. With keep_feat and row0 != NULL, the
   * kept positions' features join the history: row i's at position j (j < k) is history row
   * *row0 + i·k + j. */
  gboolean (*ahead_accept)(void *ctx, int k, int *row0, GError **error);
} UfoDecoder;

/* A fixed draft for greedy decoding (segmentation §2.3: after `<class>,` a grid emits 16 ×
 * `<MASK>` and `[SEP]`): when every live row's input token is one of `after` or `token` and the
 * live rows × max_ahead positions (or the steps left) fit max_rows, the decoder runs those steps
 * in one pass (UfoDecoder.step_ahead) whose inputs after the first are `token`, keeps the
 * positions up to the first row whose selection is neither `token` nor the end token, and goes
 * on from there: the output is that of step-by-step greedy decoding. */
typedef struct {
  int32_t token;    /* the draft's input after the first position (<MASK>) */
  int32_t after[2]; /* tokens that start a run of `token` (the commas), -1 = unused */
  int max_ahead;    /* positions per pass at most (>= 2) */
  int64_t max_rows; /* rows × positions per pass at most (the pass's activation memory) */
  /* Optional (NULL: none): lead_ready(lead_ctx, ids, n) is TRUE when a sequence whose first n
   * tokens are ids has emitted a whole answer before its run (segmentation: a class name), so
   * that its next token should be after[0] (the comma). Such a row joins a pass a step early:
   * its inputs are its token, after[0], then `token`, and the pass may take max_ahead + 1
   * positions. A row that selects anything else ends the pass there, as any off-draft row does
   * (the output stays step-by-step greedy's). */
  gboolean (*lead_ready)(void *lead_ctx, const int32_t *ids, int n);
  void *lead_ctx;
} UfoDecodeDraft;

/* Positions of a pass at most: max_ahead, plus the lead's one. */
static inline int ufo_decode_draft_span(const UfoDecodeDraft *d)
{
  return d->max_ahead + (d->lead_ready ? 1 : 0);
}

/* Output of a decoding run, one row per input sequence (inference §6.2/§6.3, seg §2.3/§2.4).
 * Row s holds sequence s's tokens without the leading [CLS]. */
typedef struct {
  int n_seq;
  int max_length;    /* row width of ids / prob / feat */
  int t_out;         /* columns in use: steps run (greedy) or the longest hypothesis (beam) */
  int32_t *ids;      /* (n_seq, max_length); after a sequence's end: end_token ([SEP], greedy,
                        as the original's forced rows) or pad_token ([PAD], beam, as the
                        original's padding) */
  float *prob;       /* (n_seq, max_length) greedy: max softmax prob of step t (the raw argmax,
                        0 after the end); beam: exp(score_t − score_{t−1}) of the chosen path */
  float *feat;       /* (n_seq, max_length, feat_dim) or NULL: feat[t] is the state that
                        predicted ids[t] (seg §6.1); zeros after the end */
  int32_t *feat_row; /* (n_seq, max_length) or NULL: with decoder->keep_feat (greedy), the
                        history row that holds feat[t]; -1 after the end (feat is then NULL) */
  int *length;       /* (n_seq) tokens before the end ([SEP] excluded) */
  float *score;      /* (n_seq) beam: length-penalised score of the chosen hypothesis; greedy: 0 */
} UfoDecodeOutput;

/* Allocates an output with ids filled with `fill` and everything else zero. */
UfoDecodeOutput *ufo_decode_output_new(int n_seq, int max_length, int feat_dim, gboolean with_feat,
                                       int32_t fill);
void ufo_decode_output_free(UfoDecodeOutput *out);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoDecodeOutput, ufo_decode_output_free)

/* Greedy decoding (inference §6.2). The decoder holds n_seq rows (one per sequence) on entry;
 * every sequence starts from [CLS] at position 0. A row leaves the batch (decoder->reorder) at the
 * step after it emitted [SEP]; ids are then [SEP], as in the original's forced rows. plan: NULL or
 * the planted plan (ufo.h), applied to the logits before the softmax. with_feat: fill out->feat.
 * Returns a new UfoDecodeOutput or NULL with error set (the decoder's own errors pass through). */
UfoDecodeOutput *ufo_decode_greedy(const UfoDecoder *dec, int n_seq, int max_length,
                                   const UfoPlantedPlan *plan, gboolean with_feat, GError **error);
/* The same, passing runs of draft->token through UfoDecoder.step_ahead when the decoder has it,
 * it selects (select_greedy) and features, if wanted, stay there (keep_feat); draft NULL or any
 * of these missing: ufo_decode_greedy. */
UfoDecodeOutput *ufo_decode_greedy_ahead(const UfoDecoder *dec, int n_seq, int max_length,
                                         const UfoPlantedPlan *plan, gboolean with_feat,
                                         const UfoDecodeDraft *draft, GError **error);

/* Beam search (inference §6.3 with the quirks of §0 items 5/6 and §9.6). The decoder holds n_seq
 * rows on entry; the first reorder call grows them to n_seq·beam rows (src = 0,0,..,1,1,..; row
 * order: sequence, then beam, so the decoder needs room for n_seq·beam rows) and finished
 * sequences leave the batch. logits / temperature → log_softmax (f32, no bf16 rounding);
 * length penalty alpha; plan rows are indexed by the source sequence. Ties in the top-2K
 * candidates go to the lower (beam, token) index. beam == 1 works but greedy is the original's
 * path for one beam. */
UfoDecodeOutput *ufo_decode_beam(const UfoDecoder *dec, int n_seq, int beam, int max_length,
                                 float temperature, float alpha, const UfoPlantedPlan *plan,
                                 gboolean with_feat, GError **error);

/* The planted plan's forced token of sequence s at step t (-1 = none) and its margin, as
 * ufo_decode_apply_plan applies them (for selection where the logits live). */
void ufo_decode_plan_token(const UfoPlantedPlan *plan, int s, int t, int vocab, int32_t *tok,
                           float *margin);
/* Applies the planted plan (if any) to one row of logits for sequence s at step t. */
void ufo_decode_apply_plan(const UfoPlantedPlan *plan, int s, int t, float *logits, int vocab);

#endif
