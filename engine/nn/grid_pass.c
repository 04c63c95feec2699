/* Grid pass (inference §5.5, segmentation §2.2 item 3): the Q grid queries through the window
 * layers only (global layers are the identity for them). Before each processed layer the
 * query gets the layer input sampled at its point, and (l > 0) its position again; it attends
 * to the image K/V of its window plus its own key. Keeps each layer's own [k | v]. Queries are
 * processed window-major (slot order), so window w's queries are one attention group. */
#include "vit_internal.h"

#include <math.h>

/* The grid pass's ops (a graph body, backend/graph.h): tensors and scratch sized before. */
static gboolean grid_ops(void *ctx, GError **e)
{
  UfoVitState *st = ctx;
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  const UfoConfig *cfg = vit->cfg;
  int Q = st->Q, C = vit->C, ws = vit->ws;
  int last = -1;
  for (int l = 0; l < vit->nl; l++)
    if (!cfg->is_global[l])
      last = l;
  UfoView x = ufo_view(st->grid_x);
  UfoView y = ufo_view_sub(ufo_view(st->s.y), 0, 0, Q, C);
  UfoView q = ufo_view_sub(ufo_view(st->s.q), 0, 0, Q, C);
  UfoView a = ufo_view_sub(ufo_view(st->s.a), 0, 0, Q, C);
  UfoView f = ufo_view_sub(ufo_view(st->s.f), 0, 0, Q, vit->F);
  UfoView gpos = ufo_view(st->gpos);
  if (!ufo_op_copy(be, x, gpos, e)) /* x_grid starts as gpos */
    return FALSE;
  for (int l = 0; l < vit->nl; l++) {
    if (cfg->is_global[l])
      continue; /* §5.5: global_only_image, nothing added, no cache */
    UfoView kv = ufo_view(st->grid_kv[l]);
    UfoView ikv = ufo_view(st->img_kv[l]);
    /* §5.5 / §8.15: feat[l] before every processed layer, gpos again for l > 0 */
    if (!ufo_op_add(be, x, x, ufo_view(st->feat[l]), e) ||
        (l > 0 && !ufo_op_add(be, x, x, gpos, e)))
      return FALSE;
    if (!vit_ln1_qkv(vit, l, q, kv, x, y, FALSE, e))
      return FALSE;
    if (l == last && !st->keep)
      break; /* the grid output after the last processed layer is unused */
    UfoAttention at = {
        .q = q,
        .out = a,
        .n_groups = st->nwin,
        .group_q = Q / st->nwin,
        .n_heads = vit->nh,
        .head_dim = vit->d,
        .scale = 1.f / sqrtf((float)vit->d),
        .n_segs = 1,
        /* keys: the 196 image tokens of the query's window (no rel-pos, no text) + itself */
        .seg[0] = {.k = vit_k(vit, ikv),
                   .v = vit_v(vit, ikv),
                   .n = (int64_t)ws * ws,
                   .group_stride = (int64_t)ws * ws},
        .self_key = TRUE,
        .self_k = vit_k(vit, kv),
        .self_v = vit_v(vit, kv),
    };
    if (!ufo_op_attention(be, &at, e) || !vit_post_attention(vit, l, x, a, y, f, FALSE, e))
      return FALSE;
    char name[32];
    g_snprintf(name, sizeof name, "grid.layer%d.out", l);
    if (!vit_keep(st, name, x, st->slot_of, e))
      return FALSE;
  }
  return TRUE;
}

gboolean ufo_vit_grid_pass(UfoVitState *st, GError **e)
{
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  int Q = st->Q, C = vit->C;
  st->grid_done = st->dec_ready = FALSE;
  if (!st->image_done || Q < 1) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "grid pass needs an image pass with grid points");
    return FALSE;
  }
  if (!vit_scratch_reserve(st, Q, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++)
    if (!vit->cfg->is_global[l] && !vit_tensor_ensure(be, &st->grid_kv[l], Q, 2 * C, e))
      return FALSE;
  /* the ops: one graph per shape (backend/graph.h); kept intermediates are downloaded, op by op */
  const int64_t key[] = {st->H, st->W, Q, st->nwin};
  if (!(st->keep
            ? grid_ops(st, e)
            : ufo_backend_run_graph(be, &st->grid_graph, ufo_graph_key(key, 4), grid_ops, st, e)))
    return FALSE;
  st->grid_done = TRUE;
  return TRUE;
}
