/* Greedy decoding with draft passes (ufo_decode_greedy_ahead) against step-by-step greedy on a
 * mock decoder that emits segmentation-like answers: label pieces, a comma, a run of <MASK>
 * and [SEP] (seg §2.3), with runs of other lengths, answers that go on after their run and runs
 * that never end. Each row's state mixes every input token, so a draft token fed where the
 * model selected another changes every later logit: the outputs agree only if the passes keep
 * exactly the positions whose inputs were right. */
#include "backend/select_math.h"
#include "decode/decode.h"
#include "text/tokenizer.h"

#include <string.h>

#define MV 110 /* vocabulary */
#define MC 3   /* feature width */
#define COMMA 104
#define MASK 105
#define OTHER 7  /* what some rows select after their run instead of [SEP] */
#define PIECE 50 /* sequence s's label: label_len(s) − 1 tokens PIECE + label_len(s) */
#define MAXN 64

static int max_pass_rows; /* the largest pass (rows × positions) since check_same began */
static int last_steps;    /* the draft decoder's single steps in the last check_same */

/* One row's cache: the mixed state, the length of the current comma/<MASK> run, its sequence. */
typedef struct {
  uint32_t h;
  int run, seq;
} Row;

typedef struct {
  Row row[MAXN];
  int n;
  float logits[MAXN * MV], feat[MAXN * MC];
  /* a pass: P positions of n rows, position-major */
  Row *ahead_row;
  float *ahead_logits, *ahead_feat;
  int ahead_n, ahead_P, ahead_t;
  GArray *hist; /* feature history (floats, MC per row) */
  int steps, passes, pass_positions, fail_pass;
} MaskLM;

/* label pieces before the comma, <MASK> run length, what ends the run */
static int label_len(int s)
{
  return 1 + s % 3;
}

static int run_len(int s)
{
  return s % 4 == 1 ? 3 + s % 5 : 16;
}

/* Row r takes input x at position t: its new state, logits and feature. */
static void feed(Row *r, int32_t x, int t, float *logits, float *feat)
{
  r->h = r->h * 31u + (uint32_t)x + 1u;
  r->run = (x == COMMA || x == MASK) ? r->run + 1 : 0;
  for (int v = 0; v < MV; v++) {
    uint64_t m = ((uint64_t)r->h * 2654435761ull + (uint64_t)v * 40503ull + (uint64_t)t * 9973ull) %
                 1000003ull;
    logits[v] = (float)((double)m / 1000003.0 * 8.0 - 4.0);
  }
  const int s = r->seq;
  if (r->run == 0 && t + 1 >= label_len(s))
    logits[COMMA] += 20.f;
  else if (r->run == 0)
    logits[PIECE + label_len(s)] += 20.f;
  else if (r->run >= 1 && (r->run <= run_len(s) || s % 7 == 6)) /* s % 7 == 6: never ends */
    logits[MASK] += 20.f;
  else if (r->run == run_len(s) + 1)
    logits[s % 5 == 3 ? OTHER : UFO_TOKEN_SEP] += 20.f;
  for (int c = 0; c < MC; c++)
    feat[c] = (float)((r->h % 1000) / 1000.0 + c);
}

static gboolean m_step(void *ctx, const int32_t *tokens, int n, int t, float *logits, float *feat,
                       GError **error)
{
  MaskLM *lm = ctx;
  g_assert_null(logits);
  g_assert_null(feat);
  g_assert_cmpint(n, ==, lm->n);
  lm->steps++;
  for (int i = 0; i < n; i++)
    feed(&lm->row[i], tokens[i], t, lm->logits + (size_t)i * MV, lm->feat + (size_t)i * MC);
  lm->ahead_P = 0;
  return TRUE;
}

static gboolean m_reorder(void *ctx, const int32_t *src, int n_new, GError **error)
{
  MaskLM *lm = ctx;
  Row tmp[MAXN];
  for (int i = 0; i < n_new; i++) {
    g_assert_cmpint(src[i], <, lm->n);
    tmp[i] = lm->row[src[i]];
  }
  memcpy(lm->row, tmp, sizeof(Row) * (size_t)n_new);
  lm->n = n_new;
  return TRUE;
}

/* the planted forcing, then argmax and probability: the host decoder's arithmetic */
static void select_rows(const float *logits, int n, const int32_t *force, const float *margin,
                        int32_t *ids, float *prob)
{
  float row[MV];
  for (int i = 0; i < n; i++) {
    memcpy(row, logits + (size_t)i * MV, sizeof row);
    if (force && force[i] >= 0) {
      float mx = row[0];
      for (int v = 1; v < MV; v++)
        mx = MAX(mx, row[v]);
      row[force[i]] = mx + margin[i];
    }
    ids[i] = ufo_select_argmax_prob(row, MV, &prob[i]);
  }
}

static gboolean m_select(void *ctx, int n, const int32_t *force, const float *margin, int32_t *ids,
                         float *prob, GError **error)
{
  MaskLM *lm = ctx;
  g_assert_cmpint(n, ==, lm->n);
  select_rows(lm->logits, n, force, margin, ids, prob);
  return TRUE;
}

static void keep(MaskLM *lm, const float *feat, int n, int *row0)
{
  *row0 = (int)(lm->hist->len / MC);
  g_array_append_vals(lm->hist, feat, (guint)n * MC);
}

static gboolean m_keep_feat(void *ctx, int n, int *row0, GError **error)
{
  MaskLM *lm = ctx;
  keep(lm, lm->feat, n, row0);
  return TRUE;
}

static gboolean m_step_ahead(void *ctx, const int32_t *tokens, int n, int t, int P,
                             const int32_t *force, const float *margin, int32_t *ids, float *prob,
                             GError **error)
{
  MaskLM *lm = ctx;
  if (lm->passes == lm->fail_pass) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "toy pass failure");
    return FALSE;
  }
  g_assert_cmpint(n, ==, lm->n);
  g_assert_cmpint(P, >=, 2);
  max_pass_rows = MAX(max_pass_rows, P * n);
  lm->passes++;
  lm->ahead_n = n;
  lm->ahead_P = P;
  lm->ahead_t = t;
  lm->ahead_row = g_renew(Row, lm->ahead_row, (size_t)P * n);
  lm->ahead_logits = g_renew(float, lm->ahead_logits, (size_t)P *n *MV);
  lm->ahead_feat = g_renew(float, lm->ahead_feat, (size_t)P *n *MC);
  for (int i = 0; i < n; i++) {
    Row r = lm->row[i];
    for (int j = 0; j < P; j++) {
      const size_t at = (size_t)j * n + i;
      feed(&r, tokens[at], t + j, lm->ahead_logits + at * MV, lm->ahead_feat + at * MC);
      lm->ahead_row[at] = r;
    }
  }
  for (int j = 0; j < P; j++) { /* every position's selection, position-major */
    const size_t at = (size_t)j * n;
    select_rows(lm->ahead_logits + at * MV, n, force ? force + at : NULL,
                margin ? margin + at : NULL, ids + at, prob + at);
  }
  return TRUE;
}

static gboolean m_ahead_accept(void *ctx, int k, int *row0, GError **error)
{
  MaskLM *lm = ctx;
  g_assert_cmpint(k, >=, 1);
  g_assert_cmpint(k, <=, lm->ahead_P);
  if (row0) { /* row i's kept positions together: history row *row0 + i·k + j */
    *row0 = (int)(lm->hist->len / MC);
    for (int i = 0; i < lm->ahead_n; i++)
      for (int j = 0; j < k; j++)
        g_array_append_vals(lm->hist, lm->ahead_feat + ((size_t)j * lm->ahead_n + i) * MC, MC);
  }
  memcpy(lm->row, lm->ahead_row + (size_t)(k - 1) * lm->ahead_n, sizeof(Row) * lm->ahead_n);
  lm->pass_positions += k;
  lm->ahead_P = 0;
  return TRUE;
}

/* n_seq rows of the kinds first, first + 1, ... */
static void mask_lm_init(MaskLM *lm, int n_seq, int first, gboolean ahead, UfoDecoder *dec)
{
  g_assert_cmpint(n_seq, <=, MAXN);
  memset(lm, 0, sizeof(*lm));
  for (int s = 0; s < n_seq; s++)
    lm->row[s] = (Row){1000u + 7u * (uint32_t)(first + s), 0, first + s};
  lm->n = n_seq;
  lm->hist = g_array_new(FALSE, FALSE, sizeof(float));
  lm->fail_pass = -1;
  *dec = (UfoDecoder){.step = m_step,
                      .reorder = m_reorder,
                      .select_greedy = m_select,
                      .keep_feat = m_keep_feat,
                      .step_ahead = ahead ? m_step_ahead : NULL,
                      .ahead_accept = ahead ? m_ahead_accept : NULL,
                      .ctx = lm,
                      .vocab_size = MV,
                      .feat_dim = MC,
                      .start_token = UFO_TOKEN_CLS,
                      .end_token = UFO_TOKEN_SEP,
                      .pad_token = UFO_TOKEN_PAD};
}

static void mask_lm_clear(MaskLM *lm)
{
  g_array_free(lm->hist, TRUE);
  g_free(lm->ahead_row);
  g_free(lm->ahead_logits);
  g_free(lm->ahead_feat);
}

static const UfoDecodeDraft mask_draft = {
    .token = MASK, .after = {COMMA, -1}, .max_ahead = 17, .max_rows = 4096};

/* Step by step and with draft passes: the same tokens, probabilities, lengths and features. */
static void check_same(int n_seq, int first, int max_length, const UfoPlantedPlan *plan,
                       gboolean with_feat, const UfoDecodeDraft *draft, int *passes,
                       int *pass_positions)
{
  UfoDecoder d0, d1;
  MaskLM a, b;
  mask_lm_init(&a, n_seq, first, FALSE, &d0);
  mask_lm_init(&b, n_seq, first, TRUE, &d1);
  max_pass_rows = 0;
  GError *err = NULL;
  g_autoptr(UfoDecodeOutput) o0 = ufo_decode_greedy(&d0, n_seq, max_length, plan, with_feat, &err);
  g_assert_no_error(err);
  g_autoptr(UfoDecodeOutput) o1 =
      ufo_decode_greedy_ahead(&d1, n_seq, max_length, plan, with_feat, draft, &err);
  g_assert_no_error(err);
  g_assert_cmpint(o0->t_out, ==, o1->t_out);
  g_assert_cmpint(a.passes, ==, 0);
  const size_t cells = (size_t)n_seq * max_length;
  g_assert_cmpmem(o0->ids, cells * sizeof(int32_t), o1->ids, cells * sizeof(int32_t));
  g_assert_cmpmem(o0->prob, cells * sizeof(float), o1->prob, cells * sizeof(float));
  g_assert_cmpmem(o0->length, n_seq * sizeof(int), o1->length, n_seq * sizeof(int));
  for (size_t c = 0; with_feat && c < cells; c++) {
    g_assert_cmpint(o0->feat_row[c] < 0, ==, o1->feat_row[c] < 0);
    if (o0->feat_row[c] >= 0)
      g_assert_cmpmem(
          &g_array_index(a.hist, float, (size_t)o0->feat_row[c] * MC), MC * sizeof(float),
          &g_array_index(b.hist, float, (size_t)o1->feat_row[c] * MC), MC * sizeof(float));
  }
  /* a step or a pass per call: the passes replaced steps */
  g_assert_cmpint(b.steps + b.pass_positions, ==, a.steps);
  if (draft)
    g_assert_cmpint(max_pass_rows, <=, draft->max_rows);
  *passes = b.passes;
  *pass_positions = b.pass_positions;
  last_steps = b.steps;
  mask_lm_clear(&a);
  mask_lm_clear(&b);
}

static void test_same_as_steps(void)
{
  int passes, positions;
  /* 23 sequences: labels of 1-3 pieces, runs of 16 and of 3-7, runs ending in another token
   * (s % 5 == 3), runs that never end (s % 7 == 6) */
  check_same(23, 0, 30, NULL, TRUE, &mask_draft, &passes, &positions);
  g_assert_cmpint(passes, >, 0);
  g_assert_cmpint(positions, >, 16); /* the draft carried most of the mask steps */
  check_same(23, 0, 30, NULL, FALSE, &mask_draft, &passes, &positions); /* no features */
  g_assert_cmpint(passes, >, 0);
  /* one sequence of each kind alone */
  for (int s = 0; s < 8; s++) {
    check_same(1, s, 30, NULL, TRUE, &mask_draft, &passes, &positions);
    g_assert_cmpint(passes, >, 0);
  }
  /* a short decode: passes end at max_length */
  check_same(23, 0, 9, NULL, TRUE, &mask_draft, &passes, &positions);
}

/* The draft's lead: a whole label of the mock (L − 1 tokens PIECE + L: its comma next). */
static gboolean lead_right(void *ctx, const int32_t *ids, int n)
{
  (void)ctx;
  if (n < 1 || ids[0] <= PIECE || ids[0] > PIECE + 3 || n != ids[0] - PIECE - 1)
    return FALSE;
  for (int j = 1; j < n; j++)
    if (ids[j] != ids[0])
      return FALSE;
  return TRUE;
}

/* A guess that is often wrong: every row after its first piece */
static gboolean lead_always(void *ctx, const int32_t *ids, int n)
{
  (void)ctx;
  (void)ids;
  return n >= 1;
}

/* With the lead, rows join a pass at their last label piece, a step before the comma: fewer
 * single steps, the same output; a lead that guesses wrong cuts its passes short, and the
 * output is still step-by-step greedy's. */
static void test_lead(void)
{
  int passes, positions;
  check_same(23, 0, 30, NULL, TRUE, &mask_draft, &passes, &positions);
  const int steps_plain = last_steps;
  UfoDecodeDraft d = mask_draft;
  d.lead_ready = lead_right;
  check_same(23, 0, 30, NULL, TRUE, &d, &passes, &positions);
  g_assert_cmpint(passes, >, 0);
  g_test_message("lead: %d single steps, without %d", last_steps, steps_plain);
  g_assert_cmpint(last_steps, <, steps_plain);
  for (int s = 0; s < 8; s++) { /* one sequence of each kind: its comma comes from the pass */
    check_same(1, s, 30, NULL, TRUE, &mask_draft, &passes, &positions);
    const int plain = last_steps;
    check_same(1, s, 30, NULL, TRUE, &d, &passes, &positions);
    g_assert_cmpint(passes, >, 0);
    g_assert_cmpint(last_steps, ==, label_len(s) > 1 ? plain - 1 : plain);
  }
  check_same(23, 0, 30, NULL, FALSE, &d, &passes, &positions); /* no features */
  check_same(23, 0, 9, NULL, TRUE, &d, &passes, &positions);   /* passes end at max_length */
  d.max_rows = 18 * 23; /* the lead's extra position must fit too */
  check_same(23, 0, 30, NULL, TRUE, &d, &passes, &positions);
  g_assert_cmpint(max_pass_rows, <=, 18 * 23);
  d = mask_draft;
  d.lead_ready = lead_always;
  check_same(23, 0, 30, NULL, TRUE, &d, &passes, &positions);
  for (int s = 0; s < 8; s++)
    check_same(1, s, 30, NULL, TRUE, &d, &passes, &positions);
  /* a lead token outside the vocabulary is refused */
  UfoDecoder dec;
  MaskLM lm;
  GError *err = NULL;
  d.after[0] = -1;
  mask_lm_init(&lm, 4, 0, TRUE, &dec);
  g_assert_null(ufo_decode_greedy_ahead(&dec, 4, 30, NULL, TRUE, &d, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  mask_lm_clear(&lm);
}

/* a row budget: a pass runs when all its rows and positions fit, else a step (the output does
 * not change) */
static void test_row_budget(void)
{
  int passes, positions;
  UfoDecodeDraft d = mask_draft;
  d.max_rows = 17 * 23; /* every row from the start */
  check_same(23, 0, 30, NULL, TRUE, &d, &passes, &positions);
  g_assert_cmpint(passes, >, 0);
  int all_passes = passes;
  d.max_rows = 17 * 5; /* once at most 5 rows are left */
  check_same(23, 0, 30, NULL, TRUE, &d, &passes, &positions);
  g_assert_cmpint(passes, <, all_passes);
  d.max_rows = 2; /* no pass of more than 2 positions of one row */
  check_same(23, 0, 30, NULL, TRUE, &d, &passes, &positions);
  g_assert_cmpint(passes, ==, 0);
  d.max_ahead = 2;
  d.max_rows = 4096;
  check_same(23, 0, 30, NULL, TRUE, &d, &passes, &positions);
  g_assert_cmpint(passes, >, 0);
  g_assert_cmpint(positions, <=, 2 * passes);
}

/* planted forcing inside the runs: a forced token that is not <MASK> ends the pass there */
static void test_plan(void)
{
  enum { N = 12, T = 30 };
  int32_t tok[N * T];
  float margin[N], step_margin[N * T];
  for (int i = 0; i < N * T; i++) {
    tok[i] = -1;
    step_margin[i] = 0.01f * (float)(i % 7);
  }
  for (int s = 0; s < N; s++) {
    margin[s] = 30.f;
    tok[s * T + 5 + s % 6] = s % 2 ? 40 + s : MASK; /* inside the run: another token, or <MASK> */
  }
  UfoPlantedPlan plan = {tok, margin, N, T, step_margin};
  int passes, positions;
  check_same(N, 0, T, &plan, TRUE, &mask_draft, &passes, &positions);
  g_assert_cmpint(passes, >, 0);
}

static void test_errors(void)
{
  UfoDecoder dec;
  MaskLM lm;
  GError *err = NULL;
  UfoDecodeDraft bad = mask_draft;
  bad.max_ahead = 1;
  mask_lm_init(&lm, 4, 0, TRUE, &dec);
  g_assert_null(ufo_decode_greedy_ahead(&dec, 4, 30, NULL, TRUE, &bad, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_nonnull(strstr(err->message, "draft"));
  g_clear_error(&err);
  bad = mask_draft;
  bad.token = MV;
  g_assert_null(ufo_decode_greedy_ahead(&dec, 4, 30, NULL, TRUE, &bad, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  mask_lm_clear(&lm);
  /* a failing pass: its error comes back, nothing leaks */
  mask_lm_init(&lm, 4, 0, TRUE, &dec);
  lm.fail_pass = 0;
  g_assert_null(ufo_decode_greedy_ahead(&dec, 4, 30, NULL, TRUE, &mask_draft, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_BACKEND);
  g_clear_error(&err);
  mask_lm_clear(&lm);
  /* a decoder without passes decodes step by step */
  mask_lm_init(&lm, 4, 0, FALSE, &dec);
  g_autoptr(UfoDecodeOutput) o =
      ufo_decode_greedy_ahead(&dec, 4, 30, NULL, TRUE, &mask_draft, &err);
  g_assert_no_error(err);
  g_assert_nonnull(o);
  g_assert_cmpint(lm.passes, ==, 0);
  mask_lm_clear(&lm);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/decode/ahead/same-as-steps", test_same_as_steps);
  g_test_add_func("/decode/ahead/row-budget", test_row_budget);
  g_test_add_func("/decode/ahead/lead", test_lead);
  g_test_add_func("/decode/ahead/plan", test_plan);
  g_test_add_func("/decode/ahead/errors", test_errors);
  return g_test_run();
}
