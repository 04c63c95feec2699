/* Greedy and beam decoding on mock decoders: hand-traced cases, a naive non-compacting greedy
 * loop, and the Python port of the original beam search (tests/data/post/beam.json). */
#include "../tasks/post_fixture.h"
#include "backend/select_math.h"
#include "decode/decode.h"
#include "text/tokenizer.h"
#include "toy_lm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- a table decoder for hand traces: logits are log-probs that depend on the input token.
 * Its start / end / pad ids are parameters: BERT's (101, 102, 0), or a model vocabulary's own
 * (the decoder must never assume fixed ids). */
typedef struct {
  int n;
  int32_t cls, sep, pad;
} TableLM;

static const TableLM bert_ids = {0, UFO_TOKEN_CLS, UFO_TOKEN_SEP, UFO_TOKEN_PAD};
static const TableLM own_ids = {0, 7, 0, 9}; /* [SEP] = 0: BERT's [PAD] */

static void set_lp(float *l, int tok, double p)
{
  l[tok] = (float)log(p);
}

static gboolean table_step(void *ctx, const int32_t *tokens, int n, int t, float *logits,
                           float *feat, GError **error)
{
  const TableLM *lm = ctx;
  for (int i = 0; i < n; i++) {
    float *l = logits + (size_t)i * 103;
    for (int v = 0; v < 103; v++)
      l[v] = -1e4f;             /* exp underflows to exactly 0 */
    if (tokens[i] == lm->cls) { /* step 0: {1: .6, 2: .3, SEP: .1} */
      set_lp(l, 1, 0.6), set_lp(l, 2, 0.3), set_lp(l, lm->sep, 0.1);
    } else if (tokens[i] == 1) { /* {SEP: .5, 3: .4, 4: .1} */
      set_lp(l, lm->sep, 0.5), set_lp(l, 3, 0.4), set_lp(l, 4, 0.1);
    } else if (tokens[i] == 2) { /* {SEP: .9, 3: .1} */
      set_lp(l, lm->sep, 0.9), set_lp(l, 3, 0.1);
    } else { /* {SEP: 1} */
      set_lp(l, lm->sep, 1.0);
    }
    if (feat)
      feat[i] = (float)(tokens[i] * 10 + t);
  }
  return TRUE;
}

static gboolean table_reorder(void *ctx, const int32_t *src, int n_new, GError **error)
{
  ((TableLM *)ctx)->n = n_new;
  return TRUE;
}

static UfoDecoder table_decoder(TableLM *lm)
{
  return (UfoDecoder){.step = table_step,
                      .reorder = table_reorder,
                      .ctx = lm,
                      .vocab_size = 103,
                      .feat_dim = 1,
                      .start_token = lm->cls,
                      .end_token = lm->sep,
                      .pad_token = lm->pad};
}

static void test_beam_hand(gconstpointer ids)
{
  TableLM lm = *(const TableLM *)ids;
  lm.n = 1;
  UfoDecoder dec = table_decoder(&lm);
  GError *err = NULL;
  g_autoptr(UfoDecodeOutput) o = ufo_decode_beam(&dec, 1, 2, 20, 1.f, 1.f, NULL, TRUE, &err);
  g_assert_no_error(err);
  /* step 0 keeps beams [1] (ln .6) and [2] (ln .3); step 1 ranks SEP|1 (ln .3), SEP|2 (ln .27):
   * both hypotheses enter (scores ln(.3)/2, ln(.27)/2), is_done(best ln .3, cur 1) holds, and
   * the search stops. Best: [1], score ln(.3)/2. */
  g_assert_cmpint(o->length[0], ==, 1);
  g_assert_cmpint(o->t_out, ==, 1);
  g_assert_cmpint(o->ids[0], ==, 1);
  g_assert_cmpint(o->ids[1], ==, lm.pad);
  g_assert_cmpfloat_with_epsilon(o->score[0], log(0.3) / 2, 1e-6);
  g_assert_cmpfloat_with_epsilon(o->prob[0], 0.6, 1e-6);
  g_assert_cmpfloat(o->feat[0], ==, lm.cls * 10 + 0); /* state that predicted ids[0] */
  /* with alpha = 0 the later SEP|2 hypothesis cannot beat ln .3 either */
  g_autoptr(UfoDecodeOutput) o2 = ufo_decode_beam(&dec, 1, 2, 20, 1.f, 0.f, NULL, FALSE, &err);
  g_assert_cmpint(o2->ids[0], ==, 1);
  g_assert_cmpfloat_with_epsilon(o2->score[0], log(0.3), 1e-6);
}

static void test_greedy_hand(gconstpointer ids)
{
  TableLM lm = *(const TableLM *)ids;
  lm.n = 2;
  UfoDecoder dec = table_decoder(&lm);
  GError *err = NULL;
  g_autoptr(UfoDecodeOutput) o = ufo_decode_greedy(&dec, 2, 5, NULL, TRUE, &err);
  g_assert_no_error(err);
  /* CLS → 1 (p .6) → SEP (p .5); the loop stops when every row ended */
  g_assert_cmpint(o->t_out, ==, 2);
  for (int s = 0; s < 2; s++) {
    g_assert_cmpint(o->ids[s * 5 + 0], ==, 1);
    g_assert_cmpint(o->ids[s * 5 + 1], ==, lm.sep);
    g_assert_cmpint(o->ids[s * 5 + 2], ==, lm.sep);
    g_assert_cmpint(o->length[s], ==, 1);
    g_assert_cmpfloat_with_epsilon(o->prob[s * 5 + 0], 0.6, 1e-6);
    g_assert_cmpfloat_with_epsilon(o->prob[s * 5 + 1], 0.5, 1e-6);
    g_assert_cmpfloat(o->feat[s * 5 + 1], ==, 1 * 10 + 1);
  }
}

/* A decoder whose start and end tokens coincide, or lie outside its vocabulary, is refused. */
static void test_bad_token_ids(void)
{
  TableLM lm = {1, 5, 5, 0};
  UfoDecoder dec = table_decoder(&lm);
  g_autoptr(GError) err = NULL;
  g_assert_null(ufo_decode_greedy(&dec, 1, 5, NULL, FALSE, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  dec.end_token = 103;
  g_assert_null(ufo_decode_beam(&dec, 1, 2, 5, 1.f, 1.f, NULL, FALSE, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
}

/* Naive greedy: every row is computed at every step, finished rows are forced to [SEP]. */
static void naive_greedy(int n, int T, double bonus, int32_t *ids, float *prob, float *feat,
                         int *t_out)
{
  ToyLM lm;
  UfoDecoder dec;
  toy_lm_init(&lm, n, bonus, &dec);
  int32_t *tok = g_new(int32_t, n);
  gboolean *ended = g_new0(gboolean, n);
  float *l = g_new(float, (size_t)n *TOY_V), *f = g_new(float, (size_t)n *TOY_C);
  for (int s = 0; s < n; s++)
    tok[s] = UFO_TOKEN_CLS;
  *t_out = 0;
  for (int t = 0; t < T; t++) {
    dec.step(dec.ctx, tok, n, t, l, f, NULL);
    gboolean all = TRUE;
    for (int s = 0; s < n; s++) {
      int best = 0;
      for (int v = 1; v < TOY_V; v++)
        if (l[s * TOY_V + v] > l[s * TOY_V + best])
          best = v;
      double sum = 0;
      for (int v = 0; v < TOY_V; v++)
        sum += exp((double)l[s * TOY_V + v] - l[s * TOY_V + best]);
      ended[s] = ended[s] || best == UFO_TOKEN_SEP;
      tok[s] = ended[s] ? UFO_TOKEN_SEP : best;
      ids[s * T + t] = tok[s];
      prob[s * T + t] = (float)(1.0 / sum);
      memcpy(feat + ((size_t)s * T + t) * TOY_C, f + (size_t)s * TOY_C, sizeof(float) * TOY_C);
      all = all && ended[s];
    }
    *t_out = t + 1;
    if (all)
      break;
  }
  g_free(tok);
  g_free(ended);
  g_free(l);
  g_free(f);
  toy_lm_clear(&lm);
}

static void test_greedy_compaction(void)
{
  const int n = 9, T = 14;
  for (int k = 0; k < 3; k++) {
    const double bonus = 0.3 + 0.25 * k;
    int32_t ref_ids[9 * 14];
    float ref_prob[9 * 14], ref_feat[9 * 14 * TOY_C];
    int ref_t;
    naive_greedy(n, T, bonus, ref_ids, ref_prob, ref_feat, &ref_t);
    ToyLM lm;
    UfoDecoder dec;
    toy_lm_init(&lm, n, bonus, &dec);
    GError *err = NULL;
    g_autoptr(UfoDecodeOutput) o = ufo_decode_greedy(&dec, n, T, NULL, TRUE, &err);
    g_assert_no_error(err);
    g_assert_cmpint(o->t_out, ==, ref_t);
    int ended_early = 0;
    for (int s = 0; s < n; s++) {
      for (int t = 0; t < ref_t; t++) {
        g_assert_cmpint(o->ids[s * T + t], ==, ref_ids[s * T + t]);
        if (t <= o->length[s]) { /* up to and including the [SEP] step */
          g_assert_cmpfloat_with_epsilon(o->prob[s * T + t], ref_prob[s * T + t], 1e-6);
          g_assert_cmpmem(o->feat + ((size_t)s * T + t) * TOY_C, TOY_C * sizeof(float),
                          ref_feat + ((size_t)s * T + t) * TOY_C, TOY_C * sizeof(float));
        }
      }
      ended_early += o->length[s] < ref_t - 1;
    }
    /* compaction: finished rows are not computed again */
    g_assert_cmpint(ended_early, >, 0);
    g_assert_cmpint(lm.rows_computed, <, n * ref_t);
    toy_lm_clear(&lm);
  }
}

/* decode.h end_first: a sequence whose FIRST token is marked ends after it (its later ids the
 * end token, its length 1, its first step's probability and feature kept); every other sequence
 * decodes as without the table, bit for bit, whatever tokens of its later steps are marked; the
 * ended rows are computed no more. */
static void test_greedy_end_first(void)
{
  const int n = 9, T = 14;
  ToyLM lm0;
  UfoDecoder dec0;
  toy_lm_init(&lm0, n, 0.3, &dec0);
  GError *err = NULL;
  g_autoptr(UfoDecodeOutput) o0 = ufo_decode_greedy(&dec0, n, T, NULL, TRUE, &err);
  g_assert_no_error(err);
  /* mark the first tokens of sequences 0 and 1, and the later tokens of every other sequence
   * that are no sequence's first */
  uint8_t end_first[TOY_V] = {0};
  gboolean first[TOY_V] = {FALSE};
  for (int s = 0; s < n; s++)
    first[o0->ids[s * T]] = TRUE;
  end_first[o0->ids[0]] = end_first[o0->ids[T]] = 1;
  int marked_later = 0;
  for (int s = 2; s < n; s++)
    for (int t = 1; t < o0->length[s]; t++)
      if (!first[o0->ids[s * T + t]]) {
        end_first[o0->ids[s * T + t]] = 1;
        marked_later++;
      }
  g_assert_cmpint(marked_later, >, 0);
  ToyLM lm;
  UfoDecoder dec;
  toy_lm_init(&lm, n, 0.3, &dec);
  dec.end_first = end_first;
  g_autoptr(UfoDecodeOutput) o = ufo_decode_greedy(&dec, n, T, NULL, TRUE, &err);
  g_assert_no_error(err);
  int ended = 0;
  for (int s = 0; s < n; s++) {
    const gboolean dead = end_first[o0->ids[s * T]] && o0->ids[s * T] != dec.end_token;
    ended += dead;
    g_assert_cmpint(o->ids[s * T], ==, o0->ids[s * T]);
    g_assert_cmpfloat(o->prob[s * T], ==, o0->prob[s * T]);
    g_assert_cmpmem(o->feat + (size_t)s * T * TOY_C, TOY_C * sizeof(float),
                    o0->feat + (size_t)s * T * TOY_C, TOY_C * sizeof(float));
    if (dead) {
      g_assert_cmpint(o->length[s], ==, 1);
      for (int t = 1; t < T; t++)
        g_assert_cmpint(o->ids[s * T + t], ==, dec.end_token);
    } else {
      g_assert_cmpint(o->length[s], ==, o0->length[s]);
      for (int t = 0; t < o0->t_out; t++) {
        g_assert_cmpint(o->ids[s * T + t], ==, o0->ids[s * T + t]);
        g_assert_cmpfloat(o->prob[s * T + t], ==, o0->prob[s * T + t]);
      }
    }
  }
  g_assert_cmpint(ended, >=, 1);
  g_assert_cmpint(ended, <, n);
  g_assert_cmpint(lm.rows_computed, <, lm0.rows_computed); /* the ended rows stop at step 0 */
  toy_lm_clear(&lm);
  toy_lm_clear(&lm0);
}

/* the planted plan's margin at step t: margin[s] + step_margin[s, t] (docs/reference.md) */
static void test_plan_step_margin(void)
{
  const int32_t tok[2 * 3] = {4, -1, 2, 1, 3, -1};
  const float margin[2] = {1.5f, 0.25f};
  const float step[2 * 3] = {0.f, 9.f, 0.5f, 0.125f, 2.f, 7.f};
  UfoPlantedPlan plan = {tok, margin, 2, 3, step};
  int32_t id;
  float m;
  ufo_decode_plan_token(&plan, 0, 2, 8, &id, &m);
  g_assert_cmpint(id, ==, 2);
  g_assert_cmpfloat(m, ==, 2.f);
  ufo_decode_plan_token(&plan, 1, 1, 8, &id, &m);
  g_assert_cmpint(id, ==, 3);
  g_assert_cmpfloat(m, ==, 2.25f);
  ufo_decode_plan_token(&plan, 0, 1, 8, &id, &m); /* not planted: no margin */
  g_assert_cmpint(id, ==, -1);
  g_assert_cmpfloat(m, ==, 0.f);
  float logits[8] = {0.f, 1.f, -3.f, 0.5f, 2.f, 0.f, -1.f, 0.25f};
  ufo_decode_apply_plan(&plan, 1, 0, logits, 8); /* max 2 + 0.25 + 0.125 */
  g_assert_cmpfloat(logits[1], ==, 2.375f);
  plan.step_margin = NULL; /* without: margin[s] only */
  ufo_decode_apply_plan(&plan, 0, 2, logits, 8);
  g_assert_cmpfloat(logits[2], ==, 2.375f + 1.5f);
}

static void test_greedy_plan_and_errors(void)
{
  const int n = 3, T = 6;
  const int32_t plan_tok[3 * 4] = {5, 7, UFO_TOKEN_SEP, -1, -1, -1, -1, -1, 42, -1, 43, -1};
  const float margin[3] = {2.f, 0.f, 0.5f};
  UfoPlantedPlan plan = {plan_tok, margin, 3, 4};
  ToyLM lm;
  UfoDecoder dec;
  toy_lm_init(&lm, n, 0.0, &dec);
  GError *err = NULL;
  g_autoptr(UfoDecodeOutput) o = ufo_decode_greedy(&dec, n, T, &plan, FALSE, &err);
  g_assert_no_error(err);
  g_assert_cmpint(o->ids[0], ==, 5);
  g_assert_cmpint(o->ids[1], ==, 7);
  g_assert_cmpint(o->ids[2], ==, UFO_TOKEN_SEP);
  g_assert_cmpint(o->length[0], ==, 2);
  g_assert_cmpint(o->ids[2 * T + 0], ==, 42);
  g_assert_cmpint(o->ids[2 * T + 2], ==, 43);
  /* margin 2 over the max: p = 1 / (1 + Σ others) <= 1 / (1 + e^-2) and > e^2/(e^2+109) */
  g_assert_cmpfloat(o->prob[0], <=, 1.0 / (1.0 + exp(-2.0)));
  g_assert_cmpfloat(o->prob[0], >, exp(2.0) / (exp(2.0) + 109.0));
  toy_lm_clear(&lm);

  toy_lm_init(&lm, n, 0.0, &dec);
  lm.fail_at_step = 2;
  UfoDecodeOutput *bad = ufo_decode_greedy(&dec, n, T, NULL, FALSE, &err);
  g_assert_null(bad);
  g_assert_error(err, UFO_ERROR, UFO_ERROR_BACKEND);
  g_clear_error(&err);
  toy_lm_clear(&lm);
  toy_lm_init(&lm, n, 0.0, &dec);
  lm.fail_at_step = 1;
  bad = ufo_decode_beam(&dec, n, 2, T, 1.f, 0.7f, NULL, TRUE, &err);
  g_assert_null(bad);
  g_assert_error(err, UFO_ERROR, UFO_ERROR_BACKEND);
  g_clear_error(&err);
  toy_lm_clear(&lm);
  bad = ufo_decode_greedy(&dec, n, 0, NULL, FALSE, &err);
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  dec.feat_dim = 0;
  bad = ufo_decode_greedy(&dec, n, 3, NULL, TRUE, &err);
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
}

static void test_beam_fixture(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("beam.json", &root);
  JsonArray *cases = json_object_get_array_member(root, "cases");
  for (guint i = 0; i < json_array_get_length(cases); i++) {
    JsonObject *c = json_array_get_object_element(cases, i);
    const int n = json_object_get_int_member(c, "n_seq"), K = json_object_get_int_member(c, "beam");
    const int T = json_object_get_int_member(c, "max_length");
    const float tau = json_object_get_double_member(c, "temperature");
    const float alpha = json_object_get_double_member(c, "alpha");
    UfoPlantedPlan plan = {0}, *pp = NULL;
    g_autofree int32_t *ptok = NULL;
    g_autofree float *pmargin = NULL;
    JsonNode *pn = json_object_get_member(c, "plan");
    if (!JSON_NODE_HOLDS_NULL(pn)) {
      JsonObject *po = json_node_get_object(pn);
      JsonArray *rows = json_object_get_array_member(po, "tokens");
      plan.n_seq = json_array_get_length(rows);
      plan.max_len = json_array_get_length(json_array_get_array_element(rows, 0));
      ptok = g_new(int32_t, plan.n_seq * plan.max_len);
      for (int s = 0; s < plan.n_seq; s++) {
        guint m;
        g_autofree int32_t *r = post_json_ints(json_array_get_array_element(rows, s), &m);
        memcpy(ptok + s * plan.max_len, r, sizeof(int32_t) * m);
      }
      guint m;
      pmargin = post_json_floats(json_object_get_array_member(po, "margin"), &m);
      plan.tokens = ptok;
      plan.margin = pmargin;
      pp = &plan;
    }
    ToyLM lm;
    UfoDecoder dec;
    toy_lm_init(&lm, n, json_object_get_double_member(c, "sep_bonus"), &dec);
    GError *err = NULL;
    g_autoptr(UfoDecodeOutput) o = ufo_decode_beam(&dec, n, K, T, tau, alpha, pp, TRUE, &err);
    g_assert_no_error(err);
    JsonArray *res = json_object_get_array_member(c, "results");
    for (int s = 0; s < n; s++) {
      JsonObject *r = json_array_get_object_element(res, s);
      guint m;
      g_autofree int32_t *ids = post_json_ints(json_object_get_array_member(r, "ids"), &m);
      g_autofree float *prob = post_json_floats(json_object_get_array_member(r, "prob"), &m);
      g_assert_cmpint(o->length[s], ==, (int)m);
      for (guint t = 0; t < m; t++) {
        g_assert_cmpint(o->ids[s * T + t], ==, ids[t]);
        g_assert_cmpfloat_with_epsilon(o->prob[s * T + t], prob[t], 1e-5 * MAX(1.f, prob[t]));
        JsonArray *fr = json_array_get_array_element(json_object_get_array_member(r, "feat"), t);
        for (int k = 0; k < TOY_C; k++)
          g_assert_cmpfloat(o->feat[((size_t)s * T + t) * TOY_C + k], ==,
                            (float)json_array_get_double_element(fr, k));
      }
      for (int t = m; t < T; t++)
        g_assert_cmpint(o->ids[s * T + t], ==, UFO_TOKEN_PAD);
      const double want = json_object_get_double_member(r, "score");
      g_assert_cmpfloat_with_epsilon(o->score[s], want, 1e-5 * MAX(1.0, fabs(want)));
    }
    toy_lm_clear(&lm);
  }
}

/* Greedy with compaction against the reference's greedy without compaction (ufo_decode.py). */
static void test_greedy_fixture(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("beam.json", &root);
  JsonArray *cases = json_object_get_array_member(root, "greedy");
  g_assert_cmpuint(json_array_get_length(cases), >, 0);
  for (guint i = 0; i < json_array_get_length(cases); i++) {
    JsonObject *c = json_array_get_object_element(cases, i);
    const int n = json_object_get_int_member(c, "n_seq");
    const int T = json_object_get_int_member(c, "max_length");
    UfoPlantedPlan plan = {0}, *pp = NULL;
    int32_t ptok[64];
    float pmargin[8];
    JsonNode *pn = json_object_get_member(c, "plan");
    if (!JSON_NODE_HOLDS_NULL(pn)) {
      JsonObject *po = json_node_get_object(pn);
      JsonArray *rows = json_object_get_array_member(po, "tokens");
      plan.n_seq = json_array_get_length(rows);
      plan.max_len = json_array_get_length(json_array_get_array_element(rows, 0));
      for (int s = 0; s < plan.n_seq; s++)
        for (int t = 0; t < plan.max_len; t++)
          ptok[s * plan.max_len + t] =
              json_array_get_int_element(json_array_get_array_element(rows, s), t);
      JsonArray *mg = json_object_get_array_member(po, "margin");
      for (int s = 0; s < plan.n_seq; s++)
        pmargin[s] = json_array_get_double_element(mg, s);
      plan.tokens = ptok;
      plan.margin = pmargin;
      pp = &plan;
    }
    ToyLM lm;
    UfoDecoder dec;
    toy_lm_init(&lm, n, json_object_get_double_member(c, "sep_bonus"), &dec);
    GError *err = NULL;
    g_autoptr(UfoDecodeOutput) o = ufo_decode_greedy(&dec, n, T, pp, TRUE, &err);
    g_assert_no_error(err);
    JsonArray *ids = json_object_get_array_member(c, "ids");
    JsonArray *prob = json_object_get_array_member(c, "prob");
    JsonArray *feat = json_object_get_array_member(c, "feat");
    const int t_out = json_array_get_length(json_array_get_array_element(ids, 0));
    g_assert_cmpint(o->t_out, ==, t_out);
    for (int s = 0; s < n; s++) {
      JsonArray *ri = json_array_get_array_element(ids, s);
      for (int t = 0; t < t_out; t++) {
        g_assert_cmpint(o->ids[s * T + t], ==, json_array_get_int_element(ri, t));
        if (t > o->length[s])
          continue; /* the reference keeps computing finished rows; the engine does not */
        g_assert_cmpfloat_with_epsilon(
            o->prob[s * T + t],
            json_array_get_double_element(json_array_get_array_element(prob, s), t), 1e-6);
        JsonArray *fr = json_array_get_array_element(json_array_get_array_element(feat, s), t);
        for (int k = 0; k < TOY_C; k++)
          g_assert_cmpfloat(o->feat[((size_t)s * T + t) * TOY_C + k], ==,
                            (float)json_array_get_double_element(fr, k));
      }
    }
    toy_lm_clear(&lm);
  }
}

/* ---- beam search through UfoDecoder.select_topk (the backend's log_softmax_topk) against the
 * host path: the toy LM behind a wrapper whose step keeps the logits when called with NULL and
 * whose hook selects per row on that host copy, written from the hook's contract (full sort).
 * "jitter" makes log-probabilities that differ by ~3e-7 so that adding a beam score rounds them
 * together (the host then orders them by token); "naive" selects by lp and adds the beam score
 * afterwards, which must differ somewhere: the check sees such ties. */
typedef struct {
  ToyLM lm;
  UfoDecoder inner;
  float *logits; /* (rows, TOY_V) of the last step */
  int n;         /* rows of the last step */
  gboolean jitter, naive;
  int selects;
} RemoteLM;

typedef struct {
  float c;
  int32_t v;
} Cand;

static int cand_cmp(const void *a, const void *b)
{
  const Cand *x = a, *y = b;
  if (x->c != y->c)
    return x->c > y->c ? -1 : 1;
  return x->v < y->v ? -1 : x->v > y->v;
}

static gboolean remote_step(void *ctx, const int32_t *tokens, int n, int t, float *logits,
                            float *feat, GError **error)
{
  RemoteLM *r = ctx;
  g_free(r->logits);
  r->logits = g_new(float, (size_t)MAX(n, 1) * TOY_V);
  r->n = n;
  if (!r->inner.step(r->inner.ctx, tokens, n, t, r->logits, feat, error))
    return FALSE;
  for (int i = 0; r->jitter && i < n * TOY_V; i++)
    r->logits[i] = roundf(r->logits[i] * 2.f) / 2.f + (float)(i % 5) * 3e-7f;
  if (logits)
    memcpy(logits, r->logits, sizeof(float) * n * TOY_V);
  return TRUE;
}

static gboolean remote_reorder(void *ctx, const int32_t *src, int n_new, GError **error)
{
  RemoteLM *r = ctx;
  return r->inner.reorder(r->inner.ctx, src, n_new, error);
}

/* the hook's contract: forcing, log_softmax(l / τ) as beam.c, + bias, the k best by a sort */
static gboolean remote_select_topk(void *ctx, int n, float tau, const int32_t *force,
                                   const float *margin, const float *bias, int k, float *val,
                                   int32_t *idx, GError **error)
{
  RemoteLM *r = ctx;
  g_assert_cmpint(n, ==, r->n);
  g_assert_cmpint(k, >=, 1);
  g_assert_cmpint(k, <=, TOY_V);
  r->selects++;
  float l[TOY_V];
  Cand c[TOY_V];
  for (int i = 0; i < n; i++) {
    memcpy(l, r->logits + (size_t)i * TOY_V, sizeof l);
    if (force && force[i] >= 0) {
      float mx = l[0];
      for (int v = 1; v < TOY_V; v++)
        mx = MAX(mx, l[v]);
      l[force[i]] = mx + margin[i];
    }
    if (tau != 1.f)
      for (int v = 0; v < TOY_V; v++)
        l[v] = l[v] / tau;
    float mx; /* the log-sum-exp arithmetic of beam.c (backend/select_math.h) */
    const float lse = ufo_select_log_sum_exp(l, TOY_V, &mx);
    for (int v = 0; v < TOY_V; v++) {
      c[v].c = (l[v] - mx) - lse;
      if (bias && !r->naive)
        c[v].c += bias[i];
      c[v].v = v;
    }
    qsort(c, TOY_V, sizeof(Cand), cand_cmp);
    for (int j = 0; j < k; j++) {
      val[(size_t)i * k + j] = c[j].c + (bias && r->naive ? bias[i] : 0.f);
      idx[(size_t)i * k + j] = c[j].v;
    }
  }
  return TRUE;
}

static UfoDecodeOutput *remote_beam(int n, int K, float tau, float alpha, double bonus,
                                    const UfoPlantedPlan *plan, gboolean jitter, gboolean hook,
                                    gboolean naive)
{
  RemoteLM r = {.jitter = jitter, .naive = naive};
  toy_lm_init(&r.lm, n, bonus, &r.inner);
  UfoDecoder dec = r.inner;
  dec.step = remote_step;
  dec.reorder = remote_reorder;
  dec.select_topk = hook ? remote_select_topk : NULL;
  dec.ctx = &r;
  GError *err = NULL;
  UfoDecodeOutput *o = ufo_decode_beam(&dec, n, K, 12, tau, alpha, plan, TRUE, &err);
  g_assert_no_error(err);
  g_assert_cmpint(r.selects > 0, ==, hook);
  g_free(r.logits);
  toy_lm_clear(&r.lm);
  return o;
}

static gboolean same_output(const UfoDecodeOutput *a, const UfoDecodeOutput *b)
{
  const size_t n = (size_t)a->n_seq * a->max_length;
  return a->t_out == b->t_out && !memcmp(a->ids, b->ids, 4 * n) &&
         !memcmp(a->prob, b->prob, 4 * n) && !memcmp(a->feat, b->feat, 4 * n * TOY_C) &&
         !memcmp(a->length, b->length, 4 * a->n_seq) && !memcmp(a->score, b->score, 4 * a->n_seq);
}

static void test_beam_select_topk(void)
{
  int32_t ptok[3 * 12];
  float pmargin[3] = {0.f, 1.5f, 0.25f};
  for (int i = 0; i < 3 * 12; i++) /* forced tokens at some steps, some [SEP] */
    ptok[i] = i % 4 == 1 ? (i * 37) % 110 : i % 9 == 8 ? UFO_TOKEN_SEP : -1;
  const UfoPlantedPlan plan = {.tokens = ptok, .margin = pmargin, .n_seq = 3, .max_len = 12};
  const int beams[] = {1, 2, 3, 4, 8, 56}; /* 56: 2K > V, every row whole */
  const float taus[] = {1.f, 0.7f, 1.6f};
  int cases = 0, naive_differs = 0;
  for (int bi = 0; bi < (int)G_N_ELEMENTS(beams); bi++)
    for (int ti = 0; ti < 3; ti++)
      for (int m = 0; m < 4; m++) { /* bit 0: plan; bit 1: jitter */
        const int K = beams[bi], n = K > 8 ? 2 : 3;
        const float alpha = ti == 1 ? 0.f : 1.f;
        const double bonus = 0.05 * (ti + 1);
        const UfoPlantedPlan *pp = m & 1 ? &plan : NULL;
        g_autoptr(UfoDecodeOutput) host =
            remote_beam(n, K, taus[ti], alpha, bonus, pp, m & 2, FALSE, FALSE);
        g_autoptr(UfoDecodeOutput) dev =
            remote_beam(n, K, taus[ti], alpha, bonus, pp, m & 2, TRUE, FALSE);
        if (!same_output(host, dev))
          g_error("beam %d, tau %g, mode %d: select_topk output differs from the host path", K,
                  taus[ti], m);
        g_autoptr(UfoDecodeOutput) naive =
            remote_beam(n, K, taus[ti], alpha, bonus, pp, m & 2, TRUE, TRUE);
        naive_differs += !same_output(host, naive);
        cases++;
      }
  g_test_message("%d cases identical; the naive per-row order differs in %d", cases, naive_differs);
  g_assert_cmpint(naive_differs, >, 0); /* the cases reach beam-score rounding ties */
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_data_func("/decode/greedy/hand", &bert_ids, test_greedy_hand);
  g_test_add_data_func("/decode/greedy/hand-own-ids", &own_ids, test_greedy_hand);
  g_test_add_func("/decode/bad-token-ids", test_bad_token_ids);
  g_test_add_func("/decode/greedy/compaction", test_greedy_compaction);
  g_test_add_func("/decode/greedy/end-first", test_greedy_end_first);
  g_test_add_func("/decode/plan-step-margin", test_plan_step_margin);
  g_test_add_func("/decode/greedy/plan-errors", test_greedy_plan_and_errors);
  g_test_add_func("/decode/greedy/reference", test_greedy_fixture);
  g_test_add_data_func("/decode/beam/hand", &bert_ids, test_beam_hand);
  g_test_add_data_func("/decode/beam/hand-own-ids", &own_ids, test_beam_hand);
  g_test_add_func("/decode/beam/reference", test_beam_fixture);
  g_test_add_func("/decode/beam/select-topk", test_beam_select_topk);
  return g_test_run();
}
