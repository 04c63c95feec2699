/* Beam search with compaction of finished sequences (inference spec §6.3, §0 items 5/6, §9.6;
 * segmentation spec §2.4). Reproduces the original BeamHypotheses: dummy rows of finished
 * sequences are never computed (they cannot change any output), `is_done` uses cur, the length
 * penalty uses cur + 1 (the [CLS] counts), and ties follow the original's list order. */
#include "decode_priv.h"

#include <math.h>
#include <string.h>

#include "backend/select_math.h"

/* A beam's path: tokens after [CLS], cumulative scores and the features that predicted them. */
typedef struct {
  int len;      /* tokens after [CLS] */
  int32_t *tok; /* (max_length) */
  float *cum;   /* (max_length) cumulative score after each token */
  float *feat;  /* (max_length, C) or NULL */
} Path;

typedef struct {
  double score; /* sum / (len + 1)^alpha */
  Path path;
} Hyp;

typedef struct {
  int n;
  Hyp *h;       /* (K + 1) */
  double worst; /* starts at 1e9 */
  gboolean done;
} HypList;

typedef struct {
  int max_length, C;
} PathShape;

static void path_alloc(Path *p, const PathShape *ps, gboolean with_feat)
{
  p->len = 0;
  p->tok = g_new(int32_t, ps->max_length);
  p->cum = g_new(float, ps->max_length);
  p->feat = with_feat ? g_new(float, (size_t)ps->max_length * ps->C) : NULL;
}

static void path_free(Path *p)
{
  g_free(p->tok);
  g_free(p->cum);
  g_free(p->feat);
}

static void path_copy(Path *dst, const Path *src, const PathShape *ps)
{
  dst->len = src->len;
  memcpy(dst->tok, src->tok, sizeof(int32_t) * src->len);
  memcpy(dst->cum, src->cum, sizeof(float) * src->len);
  if (dst->feat && src->feat)
    memcpy(dst->feat, src->feat, sizeof(float) * (size_t)src->len * ps->C);
}

/* BeamHypotheses.add: score = sum / len(tokens)^alpha with len counting [CLS]; on overflow the
 * lowest score leaves (ties: the earliest inserted) and worst becomes the next lowest. */
static void hyps_add(HypList *hl, int K, double alpha, const Path *p, float sum,
                     const PathShape *ps, gboolean with_feat)
{
  const double score = (double)sum / pow((double)(p->len + 1), alpha);
  if (hl->n >= K && !(score > hl->worst))
    return;
  Hyp *h = &hl->h[hl->n++];
  path_alloc(&h->path, ps, with_feat);
  path_copy(&h->path, p, ps);
  h->score = score;
  if (hl->n > K) {
    int lo = 0; /* sorted((score, idx)): lowest score, earliest index on ties */
    for (int i = 1; i < hl->n; i++)
      if (hl->h[i].score < hl->h[lo].score)
        lo = i;
    path_free(&hl->h[lo].path);
    memmove(&hl->h[lo], &hl->h[lo + 1], sizeof(Hyp) * (hl->n - lo - 1));
    hl->n--;
    double w = hl->h[0].score;
    for (int i = 1; i < hl->n; i++)
      w = MIN(w, hl->h[i].score);
    hl->worst = w;
  } else {
    hl->worst = MIN(score, hl->worst);
  }
}

/* BeamHypotheses.is_done(best, cur): note cur, not cur + 1 (§0 / §9.6). At cur = 0 the division
 * gives -inf for a negative best (the original would divide by zero; unreachable for K >= 2). */
static gboolean hyps_is_done(const HypList *hl, int K, double alpha, float best, int cur)
{
  if (hl->n < K)
    return FALSE;
  const double cur_score = (double)best / pow((double)cur, alpha);
  return hl->worst >= cur_score;
}

/* log_softmax(logits / τ) in float32 over the full vocabulary, in place (inference §6.3; the
 * maximum and log-sum-exp of backend/select_math.h, shared with the CPU backend's log_softmax_topk)
 */
static void log_softmax_t(float *l, int V, float temperature)
{
  if (temperature != 1.f)
    for (int v = 0; v < V; v++)
      l[v] = l[v] / temperature;
  float mx;
  const float lse = ufo_select_log_sum_exp(l, V, &mx);
  for (int v = 0; v < V; v++)
    l[v] = (l[v] - mx) - lse;
}

/* top-2K of the (K·V) candidates of one sequence, descending; ties: lower flat index first */
static void topk(const float *cand, int n, int k, int32_t *idx, float *val)
{
  int m = 0;
  for (int i = 0; i < n; i++) {
    const float v = cand[i];
    if (m == k && !(v > val[m - 1]))
      continue;
    int j = m < k ? m++ : k - 1;
    while (j > 0 && v > val[j - 1]) {
      val[j] = val[j - 1];
      idx[j] = idx[j - 1];
      j--;
    }
    val[j] = v;
    idx[j] = i;
  }
}

/* the order of topk above on non-NaN candidates: score descending, then the lower flat index */
static inline gboolean cand_before(float va, int32_t ia, float vb, int32_t ib)
{
  return va > vb || (va == vb && ia < ib);
}

/* The same top-2K from the per-row selections of the decoder (UfoDecoder.select_topk): row b of
 * sequence j brings its kr = min(2K, V) best (cand, token), cand = lp + beam score computed there
 * in float32 exactly as above. The host order is (cand descending, flat index b·V + token
 * ascending); restricted to one row it is (cand descending, token ascending), the per-row order.
 * A candidate of row b among the sequence's top-2K has fewer than 2K candidates before it, so
 * fewer than 2K of its own row: it is in row b's kr best. Selecting the best n of the K·kr by the
 * host order with the flat index as tie-break therefore gives the host's list, ties included
 * (the per-row lists must carry cand, not lp: adding the beam score may round distinct lp to one
 * cand, which the host then orders by token). */
static void topk_merge(const float *val, const int32_t *idx, int K, int kr, int V, int n,
                       int32_t *top_i, float *top_v)
{
  int m = 0;
  for (int b = 0; b < K; b++)
    for (int q = 0; q < kr; q++) {
      const float v = val[b * kr + q];
      const int32_t f = b * V + idx[b * kr + q];
      if (m == n && !cand_before(v, f, top_v[m - 1], top_i[m - 1]))
        continue;
      int j = m < n ? m++ : n - 1;
      while (j > 0 && cand_before(v, f, top_v[j - 1], top_i[j - 1])) {
        top_v[j] = top_v[j - 1];
        top_i[j] = top_i[j - 1];
        j--;
      }
      top_v[j] = v;
      top_i[j] = f;
    }
}

typedef struct {
  float score;
  int32_t tok;
  int32_t src; /* live row */
} NewBeam;

UfoDecodeOutput *ufo_decode_beam(const UfoDecoder *dec, int n_seq, int beam, int max_length,
                                 float temperature, float alpha, const UfoPlantedPlan *plan,
                                 gboolean with_feat, GError **error)
{
  if (!ufo_decode_check_args(dec, n_seq, max_length, with_feat, error))
    return NULL;
  if (beam < 1 || temperature <= 0.f) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "bad beam settings: beam %d, temperature %g",
                beam, temperature);
    return NULL;
  }
  const int K = beam, V = dec->vocab_size, C = dec->feat_dim;
  const PathShape ps = {max_length, C};
  const int n_rows_max = MAX(n_seq * K, 1);
  gboolean ok = FALSE;
  UfoDecodeOutput *out = NULL;

  HypList *hyps = g_new0(HypList, MAX(n_seq, 1));
  for (int s = 0; s < n_seq; s++) {
    hyps[s].h = g_new0(Hyp, K + 1);
    hyps[s].worst = 1e9;
  }
  int32_t *live = g_new(int32_t, MAX(n_seq, 1)); /* live sequence j → sequence index */
  int32_t *src = g_new(int32_t, n_rows_max);
  int32_t *tok = g_new(int32_t, n_rows_max);
  float *bscore = g_new(float, n_rows_max);
  /* selection on the decoder's side (only the per-row top-2K come back) or on the host */
  const gboolean remote = dec->select_topk != NULL;
  const int kr = MIN(2 * K, V); /* per-row candidates of the remote selection */
  float *logits = remote ? NULL : g_new(float, (size_t)n_rows_max *V);
  float *row_v = remote ? g_new(float, (size_t)n_rows_max *kr) : NULL;
  int32_t *row_i = remote ? g_new(int32_t, (size_t)n_rows_max * kr) : NULL;
  int32_t *force = remote && plan ? g_new(int32_t, n_rows_max) : NULL;
  float *margin = remote && plan ? g_new(float, n_rows_max) : NULL;
  float *feat = with_feat ? g_new(float, (size_t)n_rows_max *C) : NULL;
  Path *paths = g_new(Path, n_rows_max), *npaths = g_new(Path, n_rows_max);
  NewBeam *nb = g_new(NewBeam, n_rows_max);
  int32_t *top_i = g_new(int32_t, 2 * K);
  float *top_v = g_new(float, 2 * K);
  for (int r = 0; r < n_rows_max; r++) {
    path_alloc(&paths[r], &ps, with_feat);
    path_alloc(&npaths[r], &ps, with_feat);
  }

  /* repeat_cache: row order sequence-major, then beam; scores [0, -1e9, ...] */
  for (int s = 0; s < n_seq; s++) {
    live[s] = s;
    for (int k = 0; k < K; k++) {
      src[s * K + k] = s;
      tok[s * K + k] = dec->start_token; /* [CLS] */
      bscore[s * K + k] = k == 0 ? 0.f : -1e9f;
    }
  }
  int n_live = n_seq, cur = 0;
  if (n_seq > 0 && K > 1 && !dec->reorder(dec->ctx, src, n_seq * K, error))
    goto out;

  while (cur < max_length && n_live > 0) {
    const int n_rows = n_live * K;
    if (!dec->step(dec->ctx, tok, n_rows, cur, logits, feat, error)) /* NULL when remote */
      goto out;
    if (remote) {
      for (int r = 0; plan && r < n_rows; r++) /* plan row = source sequence */
        ufo_decode_plan_token(plan, live[r / K], cur, V, &force[r], &margin[r]);
      if (!dec->select_topk(dec->ctx, n_rows, temperature, force, margin, bscore, kr, row_v, row_i,
                            error))
        goto out;
    } else {
      for (int r = 0; r < n_rows; r++) {
        float *l = logits + (size_t)r * V;
        ufo_decode_apply_plan(plan, live[r / K], cur, l, V); /* plan row = source sequence */
        log_softmax_t(l, V, temperature);
        for (int v = 0; v < V; v++)
          l[v] += bscore[r]; /* cand = lp + beam_score (f32) */
      }
    }
    int n_keep = 0, n_new = 0;
    for (int j = 0; j < n_live; j++) {
      const int s = live[j];
      HypList *hl = &hyps[s];
      /* candidates of sequence j are contiguous: (K, V) flattened = beam·V + token */
      const int n_top = MIN(2 * K, K * V);
      if (remote)
        topk_merge(row_v + (size_t)j * K * kr, row_i + (size_t)j * K * kr, K, kr, V, n_top, top_i,
                   top_v);
      else
        topk(logits + (size_t)j * K * V, K * V, n_top, top_i, top_v);
      int got = 0;
      for (int r = 0; r < n_top; r++) {
        const int b = top_i[r] / V;
        const int32_t t = top_i[r] % V;
        const int row = j * K + b;
        if (t == dec->end_token) {
          if (r >= K)
            continue; /* eos ranked below the top K: skipped, no is_done check */
          hyps_add(hl, K, alpha, &paths[row], top_v[r], &ps, with_feat);
        } else {
          nb[n_new + got] = (NewBeam){top_v[r], t, row};
          got++;
        }
        if (got == K)
          break;
        hl->done = hl->done || hyps_is_done(hl, K, alpha, top_v[0], cur);
      }
      if (!hl->done) {
        live[n_keep++] = s;
        n_new += K;
      }
    }
    n_live = n_keep;
    if (n_keep == 0)
      break; /* all done: stop without updating */
    /* ids = ids[src] ++ tok; feats follow their parent row (seg §2.4) */
    for (int r = 0; r < n_new; r++) {
      const NewBeam *e = &nb[r];
      Path *p = &npaths[r];
      path_copy(p, &paths[e->src], &ps);
      p->tok[p->len] = e->tok;
      p->cum[p->len] = e->score;
      if (p->feat)
        memcpy(p->feat + (size_t)p->len * C, feat + (size_t)e->src * C, sizeof(float) * C);
      p->len++;
      src[r] = e->src;
      tok[r] = e->tok;
      bscore[r] = e->score;
    }
    Path *swap = paths;
    paths = npaths;
    npaths = swap;
    if (!dec->reorder(dec->ctx, src, n_new, error))
      goto out;
    cur++;
  }
  /* sequences never done add all their current beams */
  for (int j = 0; j < n_live; j++)
    for (int k = 0; k < K; k++)
      hyps_add(&hyps[live[j]], K, alpha, &paths[j * K + k], bscore[j * K + k], &ps, with_feat);

  out = ufo_decode_output_new(n_seq, max_length, C, with_feat, dec->pad_token);
  for (int s = 0; s < n_seq; s++) {
    const HypList *hl = &hyps[s];
    if (hl->n == 0)
      continue;
    int best = 0; /* sorted by score, pop(): the later one among ties */
    for (int i = 1; i < hl->n; i++)
      if (hl->h[i].score >= hl->h[best].score)
        best = i;
    const Path *p = &hl->h[best].path;
    out->length[s] = p->len;
    out->score[s] = (float)hl->h[best].score;
    out->t_out = MAX(out->t_out, p->len);
    for (int t = 0; t < p->len; t++) {
      out->ids[(size_t)s * max_length + t] = p->tok[t];
      /* per-step prob = exp of the difference of cumulative scores */
      out->prob[(size_t)s * max_length + t] = expf(p->cum[t] - (t > 0 ? p->cum[t - 1] : 0.f));
    }
    if (out->feat && p->feat)
      memcpy(out->feat + (size_t)s * max_length * C, p->feat, sizeof(float) * (size_t)p->len * C);
  }
  ok = TRUE;

out:
  for (int s = 0; s < n_seq; s++) {
    for (int i = 0; i < hyps[s].n; i++)
      path_free(&hyps[s].h[i].path);
    g_free(hyps[s].h);
  }
  g_free(hyps);
  for (int r = 0; r < n_rows_max; r++) {
    path_free(&paths[r]);
    path_free(&npaths[r]);
  }
  g_free(paths);
  g_free(npaths);
  g_free(live);
  g_free(src);
  g_free(tok);
  g_free(bscore);
  g_free(logits);
  g_free(row_v);
  g_free(row_i);
  g_free(force);
  g_free(margin);
  g_free(feat);
  g_free(nb);
  g_free(top_i);
  g_free(top_v);
  if (!ok) {
    ufo_decode_output_free(out);
    return NULL;
  }
  return out;
}
