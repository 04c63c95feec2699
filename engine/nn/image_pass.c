/* Image pass (inference §5.2, §5.4; segmentation §2.2): patch embedding + position table,
 * then every layer over the image tokens, attending to the prompt's K/V and to the tokens of
 * their window (window layers) or of the whole map (global layers), with the decomposed rel-pos
 * bias. Keeps each layer's image [k | v], the layer inputs sampled at the grid points, and the
 * mean over the mean layers. The stream x stays in row-major map order; window layers
 * partition LN1(x) and unpartition the attention output, so window K/V caches are
 * window-major (window w = rows w*ws*ws ..). */
#include "vit_internal.h"

#include <math.h>
#include <string.h>

/* §5.1: a table of length L serves a region side s as is when L == 2s-1, else linearly resized */
static gboolean rel_table(UfoVitState *st, UfoTensor *src, UfoTensor **dst, int side, UfoView *out,
                          gboolean recompute, GError **e)
{
  UfoVit *vit = st->vit;
  if (src->ne[0] == 2 * side - 1) {
    *out = ufo_view(src);
    return TRUE;
  }
  if (recompute || *dst == NULL || (*dst)->ne[0] != 2 * side - 1) {
    if (!vit_tensor_ensure(vit->be, dst, 2 * side - 1, vit->d, e) ||
        !ufo_op_resize_linear(vit->be, ufo_view(*dst), ufo_view(src), e))
      return FALSE;
  }
  *out = ufo_view(*dst);
  return TRUE;
}

/* §5.5: grid query q -> window floor(ref*Hp / ws) (float multiply, then floor division);
 * slots ordered window-major, stable in q; every window must hold the same number. */
static gboolean setup_grid(UfoVitState *st, const float *ref, int Q, int grid_h, int grid_w,
                           GError **e)
{
  UfoVit *vit = st->vit;
  if (Q < 1 || grid_h < 1 || grid_w < 1 || Q != grid_h * grid_w || Q % st->nwin) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "grid of %d points (%dx%d) does not split evenly over %d windows", Q, grid_h,
                grid_w, st->nwin);
    return FALSE;
  }
  int nwx = st->wp / vit->ws, per = Q / st->nwin;
  int *win = g_new(int, Q), *fill = g_new0(int, st->nwin);
  gboolean ok = TRUE;
  for (int q = 0; q < Q && ok; q++) {
    float fx = ref[2 * q] * (float)st->wp, fy = ref[2 * q + 1] * (float)st->hp;
    int wx = (int)floorf(fx / (float)vit->ws), wy = (int)floorf(fy / (float)vit->ws);
    ok = wx >= 0 && wy >= 0 && wx < nwx && wy < st->hp / vit->ws;
    win[q] = ok ? wy * nwx + wx : 0;
    ok = ok && fill[win[q]]++ < per;
  }
  if (!ok) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "grid points must lie inside the image and fill every window equally");
    g_free(win);
    g_free(fill);
    return FALSE;
  }
  g_free(st->ref_sorted);
  g_free(st->perm);
  g_free(st->slot_of);
  st->ref_sorted = g_new(float, 2 * (size_t)Q);
  st->perm = g_new(int32_t, Q);
  st->slot_of = g_new(int32_t, Q);
  memset(fill, 0, sizeof(int) * (size_t)st->nwin);
  for (int q = 0; q < Q; q++) {
    int s = win[q] * per + fill[win[q]]++;
    st->perm[s] = q;
    st->slot_of[q] = s;
    st->ref_sorted[2 * s] = ref[2 * q];
    st->ref_sorted[2 * s + 1] = ref[2 * q + 1];
  }
  g_free(win);
  g_free(fill);
  UfoBackend *be = vit->be;
  int C = vit->C;
  gboolean resized = st->gpos && st->grid_h == grid_h && st->grid_w == grid_w;
  st->Q = Q;
  st->grid_h = grid_h;
  st->grid_w = grid_w;
  /* the points and the slot of each query go to the backend once per frame: every layer's
   * grid_sample and the decoders' prefix gathers read them there */
  if (!vit_tensor_ensure(be, &st->grid_x, Q, C, e) || !vit_tensor_ensure(be, &st->ref_t, Q, 2, e) ||
      !ufo_tensor_upload(st->ref_t, 0, st->ref_sorted, 2 * (size_t)Q, e) ||
      !vit_indices_upload(be, &st->slot_t, st->slot_of, Q, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++)
    if (!vit_tensor_ensure(be, &st->feat[l], Q, C, e))
      return FALSE;
  if (!resized) {
    /* §5.5: gpos = the ORIGINAL table resized bicubically to grid_h x grid_w (q order), then
     * put in slot order */
    g_autoptr(UfoTensor) gq = ufo_tensor_new_2d(be, Q, C, e);
    const UfoWeights *w = &vit->model->w;
    if (!gq || !vit_tensor_ensure(be, &st->gpos, Q, C, e) ||
        !vit_indices_upload(be, &st->perm_t, st->perm, Q, e) ||
        !ufo_op_resize_bicubic(be, ufo_view(gq), ufo_view(vit->pos_embed), w->pos_h, w->pos_w,
                               grid_h, grid_w, e) ||
        !ufo_op_gather_rows(be, ufo_view(st->gpos), ufo_view(gq), ufo_view(st->perm_t), e))
      return FALSE;
  }
  return vit_keep(st, "grid.pos", ufo_view(st->gpos), st->slot_of, e);
}

/* What the patch embedding needs before its ops (§5.2): the host image uploaded (img non-NULL),
 * the position table for this map size (resized bicubically once per input size). */
static gboolean embed_prepare(UfoVitState *st, const float *img, gboolean new_size, UfoView *pos,
                              GError **e)
{
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  const UfoWeights *w = &vit->model->w;
  int N = st->hp * st->wp, C = vit->C;
  if (img && !ufo_tensor_upload(st->img, 0, img, (size_t)3 * st->H * st->W, e))
    return FALSE;
  *pos = ufo_view(vit->pos_embed);
  if (st->hp != w->pos_h || st->wp != w->pos_w) {
    /* §5.2: table resized bicubically to (Hp, Wp) once per input size */
    if ((new_size || !st->pos_img) &&
        (!vit_tensor_ensure(be, &st->pos_img, N, C, e) ||
         !ufo_op_resize_bicubic(be, ufo_view(st->pos_img), *pos, w->pos_h, w->pos_w, st->hp, st->wp,
                                e)))
      return FALSE;
    *pos = ufo_view(st->pos_img);
  }
  return TRUE;
}

/* patch embedding + position (§5.2) into st->x */
static gboolean embed_image(UfoVitState *st, UfoView pos, GError **e)
{
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  if (!ufo_op_patchify(be, ufo_view(st->cols), ufo_view(st->img), st->H, st->W, vit->P, e))
    return FALSE;
  /* Conv2d(k = s = P) = patches · W^T + b */
  UfoGemm g = {.a = ufo_view(st->cols),
               .b = ufo_view(vit->patch_w),
               .c = ufo_view(st->x),
               .trans_b = TRUE,
               .alpha = 1.f,
               .bias = ufo_view(vit->patch_b),
               .batch = 1};
  if (!ufo_op_gemm(be, &g, e))
    return FALSE;
  return ufo_op_add(be, ufo_view(st->x), ufo_view(st->x), pos, e) &&
         vit_keep(st, "patch_embed", ufo_view(st->x), NULL, e);
}

static gboolean image_layer(UfoVitState *st, int l, gboolean new_size, gboolean last_needed,
                            GError **e)
{
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  const UfoConfig *cfg = vit->cfg;
  int N = st->hp * st->wp, C = vit->C, ws = vit->ws;
  gboolean global = cfg->is_global[l];
  UfoView x = ufo_view(st->x);
  UfoView y = ufo_view_sub(ufo_view(st->s.y), 0, 0, N, C);
  UfoView yw = ufo_view_sub(ufo_view(st->s.y2), 0, 0, N, C);
  UfoView q = ufo_view_sub(ufo_view(st->s.q), 0, 0, N, C);
  UfoView a = ufo_view_sub(ufo_view(st->s.a), 0, 0, N, C);
  UfoView a2 = ufo_view_sub(ufo_view(st->s.a2), 0, 0, N, C);
  UfoView f = ufo_view_sub(ufo_view(st->s.f), 0, 0, N, vit->F);
  UfoView kv = ufo_view(st->img_kv[l]);
  if (st->Q > 0) {
    /* §5.4 step 1: sample the layer's INPUT at the grid points */
    char name[32];
    g_snprintf(name, sizeof name, "grid.feat%d", l);
    if (!ufo_op_grid_sample(be, ufo_view(st->feat[l]), x, st->hp, st->wp, ufo_view(st->ref_t), e) ||
        !vit_keep(st, name, ufo_view(st->feat[l]), st->slot_of, e))
      return FALSE;
  }
  if (!vit_ln1(vit, l, y, x, e))
    return FALSE;
  if (!global && !ufo_op_window_partition(be, yw, y, st->hp, st->wp, ws, e))
    return FALSE;
  if (!vit_qkv(vit, l, q, kv, global ? y : yw, FALSE, e))
    return FALSE;
  if (!last_needed)
    return TRUE; /* only this layer's K/V is used downstream */
  int rh = global ? st->hp : ws, rw = global ? st->wp : ws;
  UfoAttention at = {
      .q = q,
      .out = a,
      .n_groups = global ? 1 : st->nwin,
      .group_q = rh * rw,
      .n_heads = vit->nh,
      .head_dim = vit->d,
      .scale = 1.f / sqrtf((float)vit->d),
      .n_segs = 2,
      /* §5.4 step 2: [text K/V of the image (every window) ; the region's image tokens] */
      .seg[0] = {.k = vit_k(vit, ufo_view(st->text_kv[l])),
                 .v = vit_v(vit, ufo_view(st->text_kv[l])),
                 .n = st->T,
                 .mask = ufo_view(st->text_mask)},
      .seg[1] = {.k = vit_k(vit, kv),
                 .v = vit_v(vit, kv),
                 .n = rh * rw,
                 .group_stride = rh * rw,
                 .rel_pos = TRUE},
      .rel_h = rh,
      .rel_w = rw,
  };
  if (!rel_table(st, vit->layers[l].rel_h, &st->rel_h[l], rh, &at.rel_h_table, new_size, e) ||
      !rel_table(st, vit->layers[l].rel_w, &st->rel_w[l], rw, &at.rel_w_table, new_size, e) ||
      !ufo_op_attention(be, &at, e))
    return FALSE;
  if (!global && !ufo_op_window_unpartition(be, a2, a, st->hp, st->wp, ws, e))
    return FALSE;
  if (!vit_post_attention(vit, l, x, global ? a : a2, y, f, FALSE, e))
    return FALSE;
  char name[32];
  g_snprintf(name, sizeof name, "image.layer%d.out", l);
  if (!vit_keep(st, name, x, NULL, e))
    return FALSE;
  /* §5.4 step 5: the mean over the mean layers M */
  if (vit->mean_k[l] >= 0 &&
      !ufo_op_mean_acc(be, ufo_view(st->fmap), x, vit->mean_k[l], cfg->n_mean, e))
    return FALSE;
  return TRUE;
}

/* The image pass's ops for one shape (a graph body, backend/graph.h): patch embedding and every
 * layer; no uploads, no allocations (done before: embed_prepare, rel_table, the tensors). */
typedef struct {
  UfoVitState *st;
  UfoView pos;        /* the position table of this map size */
  gboolean full_last; /* the last layer's output is wanted (mean map, kept intermediates) */
} ImageOps;

static gboolean image_ops(void *ctx, GError **e)
{
  ImageOps *o = ctx;
  UfoVitState *st = o->st;
  if (!embed_image(st, o->pos, e))
    return FALSE;
  for (int l = 0; l < st->vit->nl; l++) /* tables ready: rel_table only takes their views */
    if (!image_layer(st, l, FALSE, l < st->vit->nl - 1 || o->full_last, e))
      return FALSE;
  return TRUE;
}

gboolean ufo_vit_image_input(UfoVitState *st, int H, int W, UfoView *img, GError **e)
{
  if (H < 1 || W < 1) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "image input %dx%d is empty", W, H);
    return FALSE;
  }
  /* (3H, W) = the (3, H*W) planar image, patchify's operand */
  if (!vit_tensor_ensure(st->vit->be, &st->img, 3 * (int64_t)H, W, e))
    return FALSE;
  *img = ufo_view_at(st->img, 0, 3, (int64_t)H * W, (int64_t)H * W);
  return TRUE;
}

gboolean ufo_vit_image_pass(UfoVitState *st, const float *img, int H, int W, const float *grid_ref,
                            int Q, int grid_h, int grid_w, gboolean want_feature_map, GError **e)
{
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  int C = vit->C, P = vit->P, ws = vit->ws;
  st->image_done = st->grid_done = st->dec_ready = st->have_fmap = FALSE;
  if (st->T < 1) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "image pass before the text pass");
    return FALSE;
  }
  if (H < P * ws || W < P * ws || H % (P * ws) || W % (P * ws)) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "image %dx%d: sides must be positive multiples of %d (patch x window)", W, H,
                P * ws);
    return FALSE;
  }
  if (img == NULL && (st->img == NULL || st->img->ne[0] != 3 * (int64_t)H || st->img->ne[1] != W)) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "image pass without an image: no %dx%d input was written (ufo_vit_image_input)", W,
                H);
    return FALSE;
  }
  gboolean new_size = H != st->H || W != st->W;
  st->H = H;
  st->W = W;
  st->hp = H / P;
  st->wp = W / P;
  st->nwin = (st->hp / ws) * (st->wp / ws);
  int N = st->hp * st->wp;
  if (!vit_scratch_reserve(st, N, e) || !vit_tensor_ensure(be, &st->img, 3 * (int64_t)H, W, e) ||
      !vit_tensor_ensure(be, &st->cols, N, 3 * (int64_t)P * P, e) ||
      !vit_tensor_ensure(be, &st->x, N, C, e) || !vit_tensor_ensure(be, &st->fmap, N, C, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++)
    if (!vit_tensor_ensure(be, &st->img_kv[l], N, 2 * C, e))
      return FALSE;
  st->Q = 0;
  if (grid_ref && !setup_grid(st, grid_ref, Q, grid_h, grid_w, e))
    return FALSE;
  /* the last layer's output only feeds the mean map (segmentation) */
  ImageOps ops = {st, UFO_VIEW_NONE, want_feature_map || st->keep};
  if (!embed_prepare(st, img, new_size, &ops.pos, e))
    return FALSE;
  /* §5.1: the rel-pos tables of this region size, resized before the ops when needed */
  for (int l = 0; l < vit->nl; l++) {
    const gboolean global = vit->cfg->is_global[l];
    const int rh = global ? st->hp : ws, rw = global ? st->wp : ws;
    UfoView unused;
    if ((l < vit->nl - 1 || ops.full_last) &&
        (!rel_table(st, vit->layers[l].rel_h, &st->rel_h[l], rh, &unused, new_size, e) ||
         !rel_table(st, vit->layers[l].rel_w, &st->rel_w[l], rw, &unused, new_size, e)))
      return FALSE;
  }
  /* the ops: one graph per shape (backend/graph.h); kept intermediates are downloaded, op by op */
  const int64_t key[] = {H, W, st->Q, grid_h, grid_w, st->T, ops.full_last};
  if (!(st->keep ? image_ops(&ops, e)
                 : ufo_backend_run_graph(be, &st->image_graph, ufo_graph_key(key, 7), image_ops,
                                         &ops, e)))
    return FALSE;
  if (ops.full_last && !vit_keep(st, "image.mean", ufo_view(st->fmap), NULL, e))
    return FALSE;
  /* the map stays on the backend for the mask ops (seg §2.6); a host copy only on demand */
  st->have_fmap = want_feature_map;
  st->fmap_on_host = FALSE;
  st->image_done = TRUE;
  return TRUE;
}
