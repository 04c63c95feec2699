/* Decoding steps (inference §6.1, segmentation §2.3): each live row feeds one token at
 * position t; layers see the row's prefix (its grid's K/V, or the whole image's K/V) plus the
 * row's own decoded K/V, which is appended in place (caches are allocated for max_length up
 * front, no per-step allocation). Logits = mean over the mean layers · word_embeddings^T.
 * reorder() gathers cache rows (compaction of finished rows, beam search). */
#include "vit_internal.h"

#include <math.h>

static gboolean processed(UfoVitState *st, int l)
{
  /* §8.16: rows from the grid skip the global layers (identity) */
  return !(st->from_grid && st->vit->cfg->is_global[l]);
}

gboolean ufo_vit_decode_begin(UfoVitState *st, gboolean from_grid, int n_rows, int max_length,
                              GError **e)
{
  return ufo_vit_decode_prepare(st, from_grid, n_rows, max_length, TRUE, e);
}

gboolean ufo_vit_decode_stash_grid(UfoVitState *st, int b, int n_rows, GError **e)
{
  UfoVit *vit = st->vit;
  int C = vit->C, Q = st->Q;
  if (!st->grid_done || b < 0 ||
      (b > 0 && (b != st->stash_n || Q != st->stash_q || n_rows != st->stash_rows)) ||
      (int64_t)(b + 1) * Q > n_rows) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "stash of frame %d (%d grids, %d rows): frames go in order after their grid "
                "pass, with one grid size and capacity",
                b, Q, n_rows);
    return FALSE;
  }
  for (int l = 0; l < vit->nl; l++) {
    if (vit->cfg->is_global[l])
      continue; /* §8.16: grid rows skip the global layers */
    /* row b·Q + q = frame b's grid q: its cache sits in slot slot_of[q] */
    if (!vit_tensor_ensure(vit->be, &st->dec_prefix[l], n_rows, 2 * C, e) ||
        !ufo_op_gather_rows(vit->be,
                            ufo_view_sub(ufo_view(st->dec_prefix[l]), (int64_t)b * Q, 0, Q, 2 * C),
                            ufo_view(st->grid_kv[l]), ufo_view(st->slot_t), e))
      return FALSE;
  }
  st->stash_n = b + 1;
  st->stash_q = Q;
  st->stash_rows = n_rows;
  return TRUE;
}

/* decode caches for n_rows rows; stashed > 0: the live rows are the grids of that many stashed
 * frames (already in dec_prefix), else those of the last grid pass are gathered here */
static gboolean prepare(UfoVitState *st, gboolean from_grid, int stashed, int n_rows,
                        int max_length, gboolean permuting, GError **e)
{
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  int C = vit->C;
  st->dec_ready = FALSE;
  st->dec_keep = FALSE;
  st->dec_hist_n = 0;
  st->ahead_P = 0;
  if (from_grid ? !st->grid_done : !st->image_done) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "decode_begin before the %s pass",
                from_grid ? "grid" : "image");
    return FALSE;
  }
  const int64_t live = from_grid ? (int64_t)MAX(stashed, 1) * st->Q : n_rows;
  if (n_rows < 1 || max_length < 1 || n_rows < live ||
      (stashed > 0 &&
       (stashed != st->stash_n || n_rows != st->stash_rows || st->Q != st->stash_q))) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "decode_begin: %d rows, %d steps (from the grid at least the %lld grids of %d "
                "frames, as stashed)",
                n_rows, max_length, (long long)live, MAX(stashed, 1));
    return FALSE;
  }
  if (from_grid && vit->n_mean_grid == 0) { /* §6.1: config.c refuses such configs already */
    g_set_error(e, UFO_ERROR, UFO_ERROR_MODEL,
                "config '%s': every mean layer is global, so grid rows have no decode feature",
                vit->cfg->name);
    return FALSE;
  }
  if (max_length > vit->cfg->max_position) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "max_length %d exceeds %d positions",
                max_length, vit->cfg->max_position);
    return FALSE;
  }
  st->from_grid = from_grid;
  if (!vit_scratch_reserve(st, n_rows, e) || !vit_tensor_ensure(be, &st->dec_x, n_rows, C, e) ||
      !vit_tensor_ensure(be, &st->dec_acc, n_rows, C, e) ||
      !vit_indices_ensure(be, &st->dec_ids, n_rows, e) ||
      !vit_indices_ensure(be, &st->dec_src, n_rows, e) ||
      !vit_tensor_ensure(be, &st->logits, n_rows, vit->cfg->vocab_size, e))
    return FALSE;
  /* a reorder that permutes rows goes through dec_tmp: sized here, never inside a step (one
   * row is only ever kept or dropped in place) */
  if (permuting && n_rows > 1) {
    if (!vit_tensor_ensure(be, &st->dec_tmp, n_rows, (int64_t)max_length * 2 * C, e))
      return FALSE;
  } else {
    g_clear_pointer(&st->dec_tmp, ufo_tensor_free);
  }
  for (int l = 0; l < vit->nl; l++) {
    if (!processed(st, l))
      continue;
    if (!vit_tensor_ensure(be, &st->dec_kv[l], (int64_t)n_rows * max_length, 2 * C, e))
      return FALSE;
    if (from_grid && stashed == 0) {
      /* row i = grid q = i: its cache sits in slot slot_of[i] */
      if (!vit_tensor_ensure(be, &st->dec_prefix[l], n_rows, 2 * C, e) ||
          !ufo_op_gather_rows(be, ufo_view_sub(ufo_view(st->dec_prefix[l]), 0, 0, st->Q, 2 * C),
                              ufo_view(st->grid_kv[l]), ufo_view(st->slot_t), e))
        return FALSE;
    }
  }
  st->dec_rows = n_rows;
  st->dec_live = (int)live;
  st->dec_max = max_length;
  st->dec_t = 0;
  st->dec_ready = TRUE;
  return TRUE;
}

gboolean ufo_vit_decode_prepare(UfoVitState *st, gboolean from_grid, int n_rows, int max_length,
                                gboolean permuting, GError **e)
{
  return prepare(st, from_grid, 0, n_rows, max_length, permuting, e);
}

gboolean ufo_vit_decode_prepare_stashed(UfoVitState *st, int n_frames, int n_rows, int max_length,
                                        gboolean permuting, GError **e)
{
  if (n_frames < 1) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "decode of %d stashed frames", n_frames);
    return FALSE;
  }
  return prepare(st, TRUE, n_frames, n_rows, max_length, permuting, e);
}

gboolean ufo_vit_decode_keep_features(UfoVitState *st, GError **e)
{
  if (!st->dec_ready || st->dec_t != 0) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "decode_keep_features after decode_begin, before the first step");
    return FALSE;
  }
  if (!vit_tensor_ensure(st->vit->be, &st->dec_hist, (int64_t)st->dec_rows * st->dec_max,
                         st->vit->C, e))
    return FALSE;
  st->dec_keep = TRUE;
  st->dec_hist_n = 0;
  return TRUE;
}

/* Layer l's decode attention (§6.1) of n rows × P positions (query row i·P + j: row i at step
 * t + j; P = 1 for a step) into a: each row sees its prefix (its grid's K/V row, or the whole
 * image's K/V), then its own decoded K/V in the cache, position j up to slot t + j (no mask: the
 * new token sees its whole prefix; positions after it are causal). */
static gboolean decode_attention(UfoVitState *st, int l, UfoView q, UfoView a, int n, int P, int t,
                                 GError **e)
{
  UfoVit *vit = st->vit;
  const int C = vit->C;
  UfoView own = ufo_view_at(st->dec_kv[l], 0, (int64_t)n * st->dec_max, 2 * C, 2 * C);
  UfoAttention at = {
      .q = q,
      .out = a,
      .n_groups = n,
      .group_q = P,
      .n_heads = vit->nh,
      .head_dim = vit->d,
      .scale = 1.f / sqrtf((float)vit->d),
      .n_segs = 2,
      .seg[1] = {.k = vit_k(vit, own),
                 .v = vit_v(vit, own),
                 .n = t + P,
                 .group_stride = st->dec_max,
                 .causal = P > 1},
  };
  if (st->from_grid) { /* the row's grid K/V (1 token) */
    UfoView p = ufo_view_sub(ufo_view(st->dec_prefix[l]), 0, 0, n, 2 * C);
    at.seg[0] = (UfoAttnKeys){.k = vit_k(vit, p), .v = vit_v(vit, p), .n = 1, .group_stride = 1};
  } else { /* every row sees all image K/V of the layer */
    UfoView p = ufo_view(st->img_kv[l]);
    at.seg[0] = (UfoAttnKeys){.k = vit_k(vit, p), .v = vit_v(vit, p), .n = p.rows};
  }
  return ufo_op_attention(vit->be, &at, e);
}

/* §6.1: after layer l, the mean over the mean layers that ran (grid rows: the window layers of
 * M) accumulates x into acc */
static gboolean mean_layer(UfoVitState *st, int l, UfoView acc, UfoView x, GError **e)
{
  UfoVit *vit = st->vit;
  const int k = st->from_grid ? vit->mean_k_grid[l] : vit->mean_k[l];
  const int n_mean = st->from_grid ? vit->n_mean_grid : vit->cfg->n_mean;
  return k < 0 || ufo_op_mean_acc(vit->be, acc, x, k, n_mean, e);
}

/* §8.12: logits (the first acc.rows rows of st->logits) = mean feature · word_embeddings^T
 * (tied, no bias, no LN) */
static gboolean step_logits(UfoVitState *st, UfoView acc, GError **e)
{
  UfoVit *vit = st->vit;
  UfoView lg = ufo_view_sub(ufo_view(st->logits), 0, 0, acc.rows, vit->cfg->vocab_size);
  UfoGemm g = {.a = acc,
               .b = ufo_view(vit->word_emb),
               .c = lg,
               .trans_b = TRUE,
               .alpha = 1.f,
               .batch = 1,
               .row_stable = TRUE};
  return ufo_op_gemm(vit->be, &g, e);
}

/* The ops of step st->step_t over its st->step_n rows, the tokens already in dec_ids (a graph
 * body, backend/graph.h: one per step index and row count) */
static gboolean step_ops(void *ctx, GError **e)
{
  UfoVitState *st = ctx;
  UfoVit *vit = st->vit;
  const int C = vit->C, n = st->step_n, t = st->step_t;
  UfoView x = ufo_view_sub(ufo_view(st->dec_x), 0, 0, n, C);
  UfoView acc = ufo_view_sub(ufo_view(st->dec_acc), 0, 0, n, C);
  UfoView y = ufo_view_sub(ufo_view(st->s.y), 0, 0, n, C);
  UfoView q = ufo_view_sub(ufo_view(st->s.q), 0, 0, n, C);
  UfoView a = ufo_view_sub(ufo_view(st->s.a), 0, 0, n, C);
  UfoView f = ufo_view_sub(ufo_view(st->s.f), 0, 0, n, vit->F);
  int64_t row_stride = (int64_t)st->dec_max * 2 * C; /* one row's max_length K/V slots */
  /* §6.1: word + position t (positions restart at 0 with [CLS]), LN eps 1e-12 */
  UfoView ids = ufo_view_sub(ufo_view(st->dec_ids), 0, 0, n, 1);
  if (!vit_embed_tokens(vit, x, y, ids, t, TRUE, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++) {
    if (processed(st, l)) {
      /* this step's [k | v] goes straight into slot t of every row */
      UfoView slot = ufo_view_at(st->dec_kv[l], (size_t)t * 2 * C, n, 2 * C, row_stride);
      if (!vit_ln1_qkv(vit, l, q, slot, x, y, TRUE, e))
        return FALSE;
      if (!decode_attention(st, l, q, a, n, 1, t, e) ||
          !vit_post_attention(vit, l, x, a, y, f, TRUE, e))
        return FALSE;
    }
    if (!mean_layer(st, l, acc, x, e))
      return FALSE;
  }
  return step_logits(st, acc, e);
}

static gboolean dec_step(void *ctx, const int32_t *tokens, int n, int t, float *logits, float *feat,
                         GError **e)
{
  UfoVitState *st = ctx;
  UfoVit *vit = st->vit;
  int C = vit->C, V = vit->cfg->vocab_size;
  if (!st->dec_ready || n < 1 || n > st->dec_live || t != st->dec_t || t >= st->dec_max) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "decode step t=%d for %d rows (expected t=%d < %d, rows <= %d, after "
                "decode_begin)",
                t, n, st->dec_t, st->dec_max, st->dec_live);
    return FALSE;
  }
  /* the n tokens are the step's one upload, before its ops; checked here, since a replayed
   * step's embed does not pass through its wrapper's index check */
  for (int i = 0; i < n; i++)
    if (tokens[i] < 0 || tokens[i] >= V) {
      g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                  "decode step t=%d: token %d of row %d outside the vocabulary (0..%d)", t,
                  tokens[i], i, V - 1);
      return FALSE;
    }
  if (!ufo_tensor_upload_i32(st->dec_ids, 0, tokens, (size_t)n, e))
    return FALSE;
  /* the ops: one graph per step index and row count, replayed frame after frame
   * (backend/graph.h UfoGraphCache); everything they read sits in buffers sized by prepare */
  st->step_n = n;
  st->step_t = t;
  const int64_t key[] = {
      st->from_grid, n, t, st->dec_max, st->dec_rows, st->Q, (int64_t)st->hp * st->wp, st->T};
  if (!ufo_backend_run_graph_cached(vit->be, &st->step_graphs,
                                    ufo_graph_key(key, G_N_ELEMENTS(key)), step_ops, st, e))
    return FALSE;
  if (logits && !ufo_tensor_download(st->logits, 0, logits, (size_t)n * V, e))
    return FALSE;
  if (feat && !ufo_tensor_download(st->dec_acc, 0, feat, (size_t)n * C, e))
    return FALSE;
  st->dec_live = n;
  st->dec_t = t + 1;
  st->ahead_P = 0; /* a pass not accepted is forgotten */
  return TRUE;
}

/* the last step's n live rows of dec_acc → the next n history rows (device to device) */
static gboolean dec_keep_feat(void *ctx, int n, int *row0, GError **e)
{
  UfoVitState *st = ctx;
  int C = st->vit->C;
  if (!st->dec_keep || n != st->dec_live || st->dec_hist_n + n > st->dec_hist->ne[0]) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "keep_feat of %d rows after a step of %d (history %s, %lld rows used)", n,
                st->dec_live, st->dec_keep ? "kept" : "not kept", (long long)st->dec_hist_n);
    return FALSE;
  }
  UfoView dst = ufo_view_sub(ufo_view(st->dec_hist), st->dec_hist_n, 0, n, C);
  UfoView acc = ufo_view_sub(ufo_view(st->dec_acc), 0, 0, n, C);
  if (!ufo_op_copy(st->vit->be, dst, acc, e))
    return FALSE;
  *row0 = (int)st->dec_hist_n;
  st->dec_hist_n += n;
  return TRUE;
}

/* ---- draft passes (UfoDecoder.step_ahead): steps t .. t + P − 1 of n rows at once ----
 * Rows are row-major (row i·P + j = row i at step t + j), so a row's P positions are P
 * consecutive rows. Each position gets exactly the ops of its step: the row-wise ops (embedding,
 * LN, the linears, the mean) over all P·n rows at once with row-stable products, the word plus
 * position embedding of step t + j (positions t .. t+P−1 are one (1, P·C) row added to each
 * row's P positions), the [k | v] of every position into cache slots t .. t+P−1 of its row in
 * one copy, and one causal attention in which position j sees slots 0..t + j (backend.h
 * UfoAttnKeys.causal) — so a position's results are those of its step (bit for bit where the
 * products are row-stable), in as many launches as one step. */

/* grows the pass's tensors and the scratch to rows (never shrinks) */
static gboolean ahead_reserve(UfoVitState *st, int64_t rows, GError **e)
{
  UfoVit *vit = st->vit;
  if (!vit_scratch_reserve(st, rows, e))
    return FALSE;
  if (rows <= st->ahead_cap)
    return TRUE;
  st->ahead_cap = 0;
  st->ahead_host = g_renew(int32_t, st->ahead_host, rows);
  if (!vit_indices_ensure(vit->be, &st->ahead_ids, rows, e) ||
      !vit_tensor_ensure(vit->be, &st->ahead_x, rows, vit->C, e) ||
      !vit_tensor_ensure(vit->be, &st->ahead_acc, rows, vit->C, e) ||
      !vit_tensor_ensure(vit->be, &st->ahead_kv, rows, 2 * vit->C, e) ||
      !vit_indices_ensure(vit->be, &st->ahead_force, rows, e) ||
      !vit_tensor_ensure(vit->be, &st->ahead_margin, rows, 1, e) ||
      !vit_indices_ensure(vit->be, &st->ahead_sel, rows, e) ||
      !vit_tensor_ensure(vit->be, &st->ahead_prob, rows, 1, e))
    return FALSE;
  st->ahead_cap = rows;
  return TRUE;
}

gboolean ufo_vit_decode_reserve_ahead(UfoVitState *st, int64_t rows, GError **e)
{
  return rows < 1 || ahead_reserve(st, rows, e);
}

/* rows of position j of the pending pass (rows i·P + j) in a (cap, cols) tensor */
static UfoView ahead_rows(UfoVitState *st, UfoTensor *t, int j, int64_t cols)
{
  return ufo_view_at(t, (size_t)j * (size_t)cols, st->ahead_n, cols, (int64_t)st->ahead_P * cols);
}

/* The ops of the pass st->ahead_P positions from st->ahead_t over st->ahead_n rows, the tokens
 * already in ahead_ids (a graph body, one per step index, row count and positions) */
static gboolean ahead_ops(void *ctx, GError **e)
{
  UfoVitState *st = ctx;
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  const int C = vit->C, n = st->ahead_n, t = st->ahead_t, P = st->ahead_P;
  const int64_t rows = (int64_t)P * n;
  UfoView x = ufo_view_sub(ufo_view(st->ahead_x), 0, 0, rows, C);
  UfoView acc = ufo_view_sub(ufo_view(st->ahead_acc), 0, 0, rows, C);
  UfoView kv = ufo_view_sub(ufo_view(st->ahead_kv), 0, 0, rows, 2 * C);
  UfoView y = ufo_view_sub(ufo_view(st->s.y), 0, 0, rows, C);
  UfoView q = ufo_view_sub(ufo_view(st->s.q), 0, 0, rows, C);
  UfoView a = ufo_view_sub(ufo_view(st->s.a), 0, 0, rows, C);
  UfoView f = ufo_view_sub(ufo_view(st->s.f), 0, 0, rows, vit->F);
  const int64_t row_stride = (int64_t)st->dec_max * 2 * C; /* one row's max_length K/V slots */
  /* §6.1 (§4.4): word + position t + j, LN eps 1e-12: the positions' rows t..t+P−1 of the
   * table are one (1, P·C) row, added to each row's P consecutive rows */
  if (t + P > vit->cfg->max_position) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "token positions %d..%d exceed the %d position embeddings", t, t + P - 1,
                vit->cfg->max_position);
    return FALSE;
  }
  UfoView ids = ufo_view_sub(ufo_view(st->ahead_ids), 0, 0, rows, 1);
  UfoView pos = ufo_view_at(vit->pos_emb, (size_t)t * C, 1, (int64_t)P * C, (int64_t)P * C);
  UfoView y_rows = ufo_view_at(st->s.y, 0, n, (int64_t)P * C, (int64_t)P * C);
  if (!ufo_op_embed(be, y, ufo_view(vit->word_emb), ids, e) ||
      !ufo_op_add(be, y_rows, y_rows, pos, e) ||
      !ufo_op_layer_norm(be, x, y, ufo_view(vit->emb_ln_w), ufo_view(vit->emb_ln_b),
                         vit->cfg->text_ln_eps, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++) {
    if (processed(st, l)) {
      if (!vit_ln1_qkv(vit, l, q, kv, x, y, TRUE, e))
        return FALSE;
      /* every position's [k | v] into its slot t + j, before any position attends: a row's P
       * positions are consecutive rows of ahead_kv and consecutive slots of its cache row */
      UfoView slots =
          ufo_view_at(st->dec_kv[l], (size_t)t * 2 * C, n, (int64_t)P * 2 * C, row_stride);
      UfoView from = ufo_view_at(st->ahead_kv, 0, n, (int64_t)P * 2 * C, (int64_t)P * 2 * C);
      if (!ufo_op_copy(be, slots, from, e) || !decode_attention(st, l, q, a, n, P, t, e))
        return FALSE;
      if (!vit_post_attention(vit, l, x, a, y, f, TRUE, e))
        return FALSE;
    }
    if (!mean_layer(st, l, acc, x, e))
      return FALSE;
  }
  /* §8.12, §6.2: every position's logits and greedy selection (the logits buffer holds one
   * position's rows at a time; the selections stay on the backend until the pass ends) */
  UfoView lg = ufo_view_sub(ufo_view(st->logits), 0, 0, n, vit->cfg->vocab_size);
  for (int j = 0; j < P; j++) {
    UfoView force = UFO_VIEW_NONE, margin = UFO_VIEW_NONE;
    if (st->ahead_plan) {
      force = ufo_view_at(st->ahead_force, (size_t)j * n, n, 1, 1);
      margin = ufo_view_at(st->ahead_margin, (size_t)j * n, n, 1, 1);
    }
    if (!step_logits(st, ahead_rows(st, st->ahead_acc, j, C), e) ||
        !ufo_op_argmax_rows_to(be, lg, force, margin,
                               ufo_view_at(st->ahead_sel, (size_t)j * n, n, 1, 1),
                               ufo_view_at(st->ahead_prob, (size_t)j * n, n, 1, 1), e))
      return FALSE;
  }
  return TRUE;
}

static gboolean dec_step_ahead(void *ctx, const int32_t *tokens, int n, int t, int P,
                               const int32_t *force, const float *margin, int32_t *ids, float *prob,
                               GError **e)
{
  UfoVitState *st = ctx;
  UfoVit *vit = st->vit;
  const int V = vit->cfg->vocab_size;
  st->ahead_P = 0;
  if (!st->dec_ready || n < 1 || n > st->dec_live || t != st->dec_t || P < 2 ||
      t + P > st->dec_max) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "decode pass of %d steps from t=%d for %d rows (expected t=%d, at least 2 steps "
                "ending by %d, rows <= %d, after decode_begin)",
                P, t, n, st->dec_t, st->dec_max, st->dec_live);
    return FALSE;
  }
  const int64_t rows = (int64_t)P * n;
  if ((force == NULL) != (margin == NULL) || ids == NULL || prob == NULL) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "decode pass: forcing needs both force and margin, selections need ids and prob");
    return FALSE;
  }
  for (int64_t i = 0; i < rows; i++)
    if (tokens[i] < 0 || tokens[i] >= V || (force && (force[i] < -1 || force[i] >= V))) {
      g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                  "decode pass t=%d: token %d (forced %d) of row %lld at step %lld outside the "
                  "vocabulary (0..%d)",
                  t, tokens[i], force ? force[i] : -1, (long long)(i % n), (long long)(t + i / n),
                  V - 1);
      return FALSE;
    }
  if (!ahead_reserve(st, rows, e))
    return FALSE;
  for (int j = 0; j < P; j++) /* position-major tokens → rows i·P + j */
    for (int i = 0; i < n; i++)
      st->ahead_host[(int64_t)i * P + j] = tokens[(int64_t)j * n + i];
  if (!ufo_tensor_upload_i32(st->ahead_ids, 0, st->ahead_host, (size_t)rows, e))
    return FALSE;
  st->ahead_plan = force != NULL;
  if (force && (!ufo_tensor_upload_i32(st->ahead_force, 0, force, (size_t)rows, e) ||
                !ufo_tensor_upload(st->ahead_margin, 0, margin, (size_t)rows, e)))
    return FALSE;
  st->ahead_n = n;
  st->ahead_t = t;
  st->ahead_P = P;
  const int64_t key[] = {-1,          st->from_grid,
                         n,           t,
                         P,           st->ahead_plan,
                         st->dec_max, st->dec_rows,
                         st->Q,       (int64_t)st->hp * st->wp,
                         st->T};
  /* one graph: the pass and every position's selection; then the selections come back at once */
  if (!ufo_backend_run_graph_cached(vit->be, &st->step_graphs,
                                    ufo_graph_key(key, G_N_ELEMENTS(key)), ahead_ops, st, e) ||
      !ufo_tensor_download_i32(st->ahead_sel, 0, ids, (size_t)rows, e) ||
      !ufo_tensor_download(st->ahead_prob, 0, prob, (size_t)rows, e)) {
    st->ahead_P = 0;
    return FALSE;
  }
  st->dec_live = n;
  return TRUE;
}

static gboolean dec_ahead_accept(void *ctx, int k, int *row0, GError **e)
{
  UfoVitState *st = ctx;
  const int C = st->vit->C, n = st->ahead_n;
  if (st->ahead_P == 0 || k < 1 || k > st->ahead_P ||
      (row0 && (!st->dec_keep || st->dec_hist_n + (int64_t)n * k > st->dec_hist->ne[0]))) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "accepting %d positions of a pass of %d (features %s)", k, st->ahead_P,
                st->dec_keep ? "kept" : "not kept");
    return FALSE;
  }
  if (row0) { /* the kept positions' features → the next n·k history rows, row i's k together:
                 its positions are consecutive rows of ahead_acc (device to device, one copy) */
    UfoView dst =
        ufo_view_at(st->dec_hist, (size_t)st->dec_hist_n * C, n, (int64_t)k * C, (int64_t)k * C);
    UfoView src = ufo_view_at(st->ahead_acc, 0, n, (int64_t)k * C, (int64_t)st->ahead_P * C);
    if (!ufo_op_copy(st->vit->be, dst, src, e))
      return FALSE;
    *row0 = (int)st->dec_hist_n;
    st->dec_hist_n += (int64_t)n * k;
  }
  /* slots t + k .. of the cache hold forgotten positions: the next step writes its own slot
   * before it attends, and attends to slots up to its own only */
  st->dec_t = st->ahead_t + k;
  st->dec_live = st->ahead_n;
  st->ahead_P = 0;
  return TRUE;
}

/* new row i = old row src[i]: in place when src[i] >= i (compaction), else through dec_tmp */
static gboolean gather_cache(UfoVitState *st, UfoTensor *cache, int64_t row_len, int64_t row_stride,
                             UfoView src, int n_new, gboolean in_place, GError **e)
{
  UfoBackend *be = st->vit->be;
  UfoView all = ufo_view_at(cache, 0, st->dec_live, row_len, row_stride);
  UfoView dst = ufo_view_at(cache, 0, n_new, row_len, row_stride);
  if (in_place)
    return ufo_op_gather_rows(be, dst, all, src, e);
  UfoView tmp = ufo_view_at(st->dec_tmp, 0, n_new, row_len, row_stride);
  return ufo_op_gather_rows(be, tmp, all, src, e) && ufo_op_copy(be, dst, tmp, e);
}

static gboolean dec_reorder(void *ctx, const int32_t *src, int n_new, GError **e)
{
  UfoVitState *st = ctx;
  UfoVit *vit = st->vit;
  int C = vit->C;
  if (!st->dec_ready || n_new < 0 || n_new > st->dec_rows || (n_new > 0 && !src)) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "reorder to %d rows (at most %d)", n_new,
                st->dec_rows);
    return FALSE;
  }
  st->ahead_P = 0; /* a pass not accepted is forgotten */
  gboolean in_place = TRUE;
  for (int i = 0; i < n_new; i++) {
    if (src[i] < 0 || src[i] >= st->dec_live) {
      g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "reorder: source row %d outside 0..%d", src[i],
                  st->dec_live - 1);
      return FALSE;
    }
    in_place = in_place && src[i] >= i;
  }
  if (n_new == 0) {
    st->dec_live = 0;
    return TRUE;
  }
  if (!in_place && st->dec_tmp == NULL) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "reorder: rows permuted after decode_prepare without permuting (compaction only)");
    return FALSE;
  }
  int64_t row_stride = (int64_t)st->dec_max * 2 * C;
  /* the source rows go to the backend once; every layer's gathers read them there */
  UfoView sv = ufo_view_sub(ufo_view(st->dec_src), 0, 0, n_new, 1);
  if (!ufo_tensor_upload_i32(st->dec_src, 0, src, (size_t)n_new, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++) {
    if (!processed(st, l))
      continue;
    if (st->dec_t > 0 && !gather_cache(st, st->dec_kv[l], (int64_t)st->dec_t * 2 * C, row_stride,
                                       sv, n_new, in_place, e))
      return FALSE;
    if (st->from_grid && !gather_cache(st, st->dec_prefix[l], 2 * C, 2 * C, sv, n_new, in_place, e))
      return FALSE;
  }
  st->dec_live = n_new;
  return TRUE;
}

/* greedy selection on the backend over the last step's logits (backend.h argmax_rows) */
static gboolean dec_select_greedy(void *ctx, int n, const int32_t *force, const float *margin,
                                  int32_t *ids, float *prob, GError **e)
{
  UfoVitState *st = ctx;
  if (n != st->dec_live) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "greedy selection of %d rows after a step of %d",
                n, st->dec_live);
    return FALSE;
  }
  UfoView lg = ufo_view_sub(ufo_view(st->logits), 0, 0, n, st->vit->cfg->vocab_size);
  return ufo_op_argmax_rows(st->vit->be, lg, force, margin, ids, prob, e);
}

/* beam-search selection on the backend over the last step's logits (backend.h
 * log_softmax_topk): per row the k best log_softmax(logits / τ) + bias with their tokens */
static gboolean dec_select_topk(void *ctx, int n, float temperature, const int32_t *force,
                                const float *margin, const float *bias, int k, float *val,
                                int32_t *idx, GError **e)
{
  UfoVitState *st = ctx;
  if (n != st->dec_live) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "beam selection of %d rows after a step of %d", n,
                st->dec_live);
    return FALSE;
  }
  UfoView lg = ufo_view_sub(ufo_view(st->logits), 0, 0, n, st->vit->cfg->vocab_size);
  return ufo_op_log_softmax_topk(st->vit->be, lg, temperature, force, margin, bias, k, val, idx, e);
}

UfoDecoder ufo_vit_decoder(UfoVitState *st)
{
  const UfoTokenIds *ids = ufo_tokenizer_ids(st->vit->model->tokenizer);
  const gboolean ahead = g_strcmp0(g_getenv("UFO_DECODE_AHEAD"), "0") != 0;
  return (UfoDecoder){.step = dec_step,
                      .reorder = dec_reorder,
                      .select_greedy = dec_select_greedy,
                      .select_topk = dec_select_topk,
                      .keep_feat = st->dec_keep ? dec_keep_feat : NULL,
                      /* draft passes; UFO_DECODE_AHEAD=0: step by step */
                      .step_ahead = ahead ? dec_step_ahead : NULL,
                      .ahead_accept = ahead ? dec_ahead_accept : NULL,
                      .ctx = st,
                      .vocab_size = st->vit->cfg->vocab_size,
                      .feat_dim = st->vit->C,
                      .start_token = ids->cls,
                      .end_token = ids->sep,
                      .pad_token = ids->pad};
}
