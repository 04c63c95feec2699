/* UfoVit (weights on a backend) and UfoVitState (per-frame activations and caches): lifetime,
 * scratch management and the golden-test intermediates. */
#include "vit_internal.h"

#include <string.h>

static UfoTensor *weight(UfoVit *vit, const float *host, int64_t rows, int64_t cols,
                         const char *what, int layer, GError **error)
{
  if (host == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "weight %s of layer %d is missing", what, layer);
    return NULL;
  }
  int64_t ne[2] = {rows, cols};
  UfoTensor *t = ufo_tensor_from_host(vit->be, 2, ne, host, error);
  if (t)
    t->weight = TRUE; /* immutable from here: backends may cache derived packs */
  return t;
}

#define W(dst, host, rows, cols, layer)                                                            \
  do {                                                                                             \
    if (!((dst) = weight(vit, (host), (rows), (cols), #host, (layer), error))) {                   \
      ufo_vit_free(vit);                                                                           \
      return NULL;                                                                                 \
    }                                                                                              \
  } while (0)

UfoVit *ufo_vit_new(const UfoModel *model, UfoBackend *be, GError **error)
{
  const UfoConfig *cfg = &model->cfg;
  const UfoWeights *w = &model->w;
  if (cfg->num_layers < 1 || cfg->num_layers > UFO_MAX_LAYERS || cfg->num_heads < 1 ||
      cfg->embed_dim != cfg->num_heads * cfg->head_dim || cfg->n_mean < 1) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL,
                "config '%s': bad layer/head/mean-layer counts for the forward", cfg->name);
    return NULL;
  }
  UfoVit *vit = g_new0(UfoVit, 1);
  vit->be = be;
  vit->weights = vit;
  vit->model = ufo_model_ref((UfoModel *)model);
  vit->cfg = cfg;
  vit->C = cfg->embed_dim;
  vit->F = cfg->ffn_dim;
  vit->nh = cfg->num_heads;
  vit->d = cfg->head_dim;
  vit->nl = cfg->num_layers;
  vit->ws = cfg->window_size;
  vit->P = cfg->patch_size;
  int C = vit->C, F = vit->F, d = vit->d;
  W(vit->pos_embed, w->pos_embed, (int64_t)w->pos_h * w->pos_w, C, -1);
  W(vit->patch_w, w->patch_w, C, 3 * vit->P * vit->P, -1);
  W(vit->patch_b, w->patch_b, 1, C, -1);
  W(vit->word_emb, w->word_emb, cfg->vocab_size, C, -1);
  W(vit->pos_emb, w->pos_emb, cfg->max_position, C, -1);
  W(vit->emb_ln_w, w->emb_ln_w, 1, C, -1);
  W(vit->emb_ln_b, w->emb_ln_b, 1, C, -1);
  for (int l = 0; l < vit->nl; l++) {
    const UfoLayerWeights *s = &w->layers[l];
    VitLayer *L = &vit->layers[l];
    W(L->ln1_w, s->ln1_w, 1, C, l);
    W(L->ln1_b, s->ln1_b, 1, C, l);
    W(L->qkv_w, s->qkv_w, 3 * C, C, l);
    W(L->qkv_b, s->qkv_b, 1, 3 * C, l);
    W(L->proj_w, s->proj_w, C, C, l);
    W(L->proj_b, s->proj_b, 1, C, l);
    W(L->rel_h, s->rel_pos_h, s->rel_pos_len, d, l);
    W(L->rel_w, s->rel_pos_w, s->rel_pos_len, d, l);
    W(L->ln2_w, s->ln2_w, 1, C, l);
    W(L->ln2_b, s->ln2_b, 1, C, l);
    W(L->fc1_w, s->fc1_w, F, C, l);
    W(L->fc1_b, s->fc1_b, 1, F, l);
    W(L->fc2_w, s->fc2_w, C, F, l);
    W(L->fc2_b, s->fc2_b, 1, C, l);
    vit->mean_k[l] = -1;
    vit->mean_k_grid[l] = -1;
  }
  for (int k = 0; k < cfg->n_mean; k++) {
    int l = cfg->mean_layers[k];
    if (l < 0 || l >= vit->nl) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "mean layer %d outside 0..%d", l, vit->nl - 1);
      ufo_vit_free(vit);
      return NULL;
    }
    vit->mean_k[l] = k;
  }
  for (int l = 0; l < vit->nl; l++) {
    vit->mean_k_grid[l] = vit->mean_k[l] >= 0 && !cfg->is_global[l] ? vit->n_mean_grid++ : -1;
  }
  return vit;
}

/* Every weight tensor slot of a UfoVit (NULL entries where not loaded); n = how many. */
static UfoTensor ***vit_weight_slots(UfoVit *vit, size_t *n)
{
  GPtrArray *all = g_ptr_array_new();
  UfoTensor **g[] = {&vit->pos_embed, &vit->patch_w,  &vit->patch_b, &vit->word_emb,
                     &vit->pos_emb,   &vit->emb_ln_w, &vit->emb_ln_b};
  for (size_t i = 0; i < G_N_ELEMENTS(g); i++)
    g_ptr_array_add(all, g[i]);
  for (int l = 0; l < UFO_MAX_LAYERS; l++) {
    VitLayer *L = &vit->layers[l];
    UfoTensor **t[] = {&L->ln1_w,  &L->ln1_b, &L->qkv_w, &L->qkv_b, &L->proj_w,
                       &L->proj_b, &L->rel_h, &L->rel_w, &L->ln2_w, &L->ln2_b,
                       &L->fc1_w,  &L->fc1_b, &L->fc2_w, &L->fc2_b};
    for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
      g_ptr_array_add(all, t[i]);
  }
  *n = all->len;
  return (UfoTensor ***)g_ptr_array_free(all, FALSE);
}

void ufo_vit_free(UfoVit *vit)
{
  if (vit == NULL)
    return;
  if (vit->weights == vit || vit->weights == NULL) { /* owns its tensors */
    size_t n;
    UfoTensor ***slot = vit_weight_slots(vit, &n);
    for (size_t i = 0; i < n; i++)
      g_clear_pointer(slot[i], ufo_tensor_free);
    g_free(slot);
  }
  if (vit->shared)
    ufo_vit_shared_release(vit->shared);
  if (vit->model)
    ufo_model_unref(vit->model);
  g_free(vit);
}

size_t ufo_vit_weight_bytes(const UfoVit *vit)
{
  size_t n, bytes = 0;
  UfoTensor ***slot = vit_weight_slots((UfoVit *)vit, &n);
  for (size_t i = 0; i < n; i++)
    bytes += *slot[i] ? (*slot[i])->n * ufo_dtype_size((*slot[i])->dtype) : 0;
  g_free(slot);
  return bytes;
}

UfoVit *ufo_vit_new_sharing(const UfoVit *weights, UfoBackend *be, GError **error)
{
  if (!ufo_backend_shares_memory(be, weights->be)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "cannot share weights on a %s backend with a %s backend (another memory)",
                weights->be->ops->name, be->ops->name);
    return NULL;
  }
  UfoVit *vit = g_new(UfoVit, 1);
  *vit = *weights; /* the tensor pointers and the dimensions */
  vit->be = be;
  vit->weights = weights;
  vit->shared = NULL;
  ufo_model_ref(vit->model);
  return vit;
}

UfoVitState *ufo_vit_state_new(UfoVit *vit, GError **error)
{
  UfoVitState *st = g_new0(UfoVitState, 1);
  st->vit = vit;
  st->inter = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, (GDestroyNotify)g_bytes_unref);
  return st;
}

/* Every tensor slot of a state; n = how many. */
static UfoTensor ***state_slots(UfoVitState *st, size_t *n)
{
  GPtrArray *all = g_ptr_array_new();
  UfoTensor **one[] = {&st->s.y,       &st->s.y2,       &st->s.q,         &st->s.a,
                       &st->s.a2,      &st->s.f,        &st->text_x,      &st->text_mask,
                       &st->img,       &st->cols,       &st->x,           &st->pos_img,
                       &st->fmap,      &st->gpos,       &st->grid_x,      &st->dec_tmp,
                       &st->dec_x,     &st->dec_acc,    &st->logits,      &st->text_ids,
                       &st->ref_t,     &st->perm_t,     &st->slot_t,      &st->dec_ids,
                       &st->dec_src,   &st->mask_e,     &st->mask_u,      &st->dec_hist,
                       &st->mask_idx,  &st->fmap_batch, &st->ahead_ids,   &st->ahead_x,
                       &st->ahead_acc, &st->ahead_kv,   &st->ahead_force, &st->ahead_margin,
                       &st->ahead_sel, &st->ahead_prob};
  for (size_t i = 0; i < G_N_ELEMENTS(one); i++)
    g_ptr_array_add(all, one[i]);
  for (int l = 0; l < UFO_MAX_LAYERS; l++) {
    UfoTensor **t[] = {&st->text_kv[l], &st->img_kv[l],  &st->rel_h[l],      &st->rel_w[l],
                       &st->feat[l],    &st->grid_kv[l], &st->dec_prefix[l], &st->dec_kv[l]};
    for (size_t i = 0; i < G_N_ELEMENTS(t); i++)
      g_ptr_array_add(all, t[i]);
  }
  *n = all->len;
  return (UfoTensor ***)g_ptr_array_free(all, FALSE);
}

void ufo_vit_graph_counts(const UfoVitState *st, unsigned *recorded, unsigned *launched)
{
  *recorded = st ? st->image_graph.recorded + st->grid_graph.recorded : 0;
  *launched = st ? st->image_graph.launched + st->grid_graph.launched : 0;
}

void ufo_vit_decode_graph_counts(const UfoVitState *st, unsigned *recorded, unsigned *launched)
{
  *recorded = st ? st->step_graphs.recorded : 0;
  *launched = st ? st->step_graphs.launched : 0;
}

size_t ufo_vit_state_bytes(const UfoVitState *st)
{
  size_t n, bytes = 0;
  UfoTensor ***slot = state_slots((UfoVitState *)st, &n);
  for (size_t i = 0; i < n; i++)
    bytes += *slot[i] ? (*slot[i])->n * ufo_dtype_size((*slot[i])->dtype) : 0;
  g_free(slot);
  if (st->fmap_host)
    bytes += (size_t)st->hp * st->wp * st->vit->C * sizeof(float);
  /* ref_sorted, perm, slot_of */
  bytes += (size_t)st->Q * (2 * sizeof(float) + 2 * sizeof(int32_t));
  return bytes;
}

void ufo_vit_state_free(UfoVitState *st)
{
  if (st == NULL)
    return;
  ufo_graph_slot_clear(st->vit->be, &st->image_graph);
  ufo_graph_slot_clear(st->vit->be, &st->grid_graph);
  ufo_graph_cache_clear(st->vit->be, &st->step_graphs);
  size_t n;
  UfoTensor ***slot = state_slots(st, &n);
  for (size_t i = 0; i < n; i++)
    g_clear_pointer(slot[i], ufo_tensor_free);
  g_free(slot);
  g_free(st->fmap_host);
  g_free(st->ref_sorted);
  g_free(st->ahead_host);
  g_free(st->perm);
  g_free(st->slot_of);
  if (st->mask_bits)
    g_byte_array_unref(st->mask_bits);
  g_hash_table_unref(st->inter);
  g_free(st);
}

gboolean vit_tensor_ensure(UfoBackend *be, UfoTensor **t, int64_t rows, int64_t cols,
                           GError **error)
{
  if (*t && (*t)->dtype == UFO_DTYPE_F32 && (*t)->ndim == 2 && (*t)->ne[0] == rows &&
      (*t)->ne[1] == cols)
    return TRUE;
  g_clear_pointer(t, ufo_tensor_free);
  *t = ufo_tensor_new_2d(be, rows, cols, error);
  return *t != NULL;
}

gboolean vit_indices_ensure(UfoBackend *be, UfoTensor **t, int64_t n, GError **error)
{
  if (*t && (*t)->dtype == UFO_DTYPE_I32 && (*t)->ndim == 1 && (*t)->ne[0] == n)
    return TRUE;
  g_clear_pointer(t, ufo_tensor_free);
  *t = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, &n, error);
  return *t != NULL;
}

gboolean vit_indices_upload(UfoBackend *be, UfoTensor **t, const int32_t *host, int64_t n,
                            GError **error)
{
  return vit_indices_ensure(be, t, n, error) &&
         ufo_tensor_upload_i32(*t, 0, host, (size_t)n, error);
}

gboolean vit_scratch_reserve(UfoVitState *st, int64_t rows, GError **error)
{
  VitScratch *s = &st->s;
  if (rows <= s->cap)
    return TRUE;
  UfoBackend *be = st->vit->be;
  int C = st->vit->C;
  if (!vit_tensor_ensure(be, &s->y, rows, C, error) ||
      !vit_tensor_ensure(be, &s->y2, rows, C, error) ||
      !vit_tensor_ensure(be, &s->q, rows, C, error) ||
      !vit_tensor_ensure(be, &s->a, rows, C, error) ||
      !vit_tensor_ensure(be, &s->a2, rows, C, error) ||
      !vit_tensor_ensure(be, &s->f, rows, st->vit->F, error)) {
    s->cap = 0;
    return FALSE;
  }
  s->cap = rows;
  return TRUE;
}

gboolean vit_keep(UfoVitState *st, const char *name, UfoView v, const int32_t *perm, GError **error)
{
  if (!st->keep)
    return TRUE;
  size_t n = (size_t)(v.rows * v.cols);
  float *tmp = g_new(float, (size_t)v.rows *v.ld);
  float *out = g_new(float, n);
  gboolean ok = ufo_tensor_download(v.t, v.off, tmp, (size_t)((v.rows - 1) * v.ld + v.cols), error);
  for (int64_t r = 0; ok && r < v.rows; r++)
    memcpy(out + r * v.cols, tmp + (perm ? perm[r] : r) * v.ld, (size_t)v.cols * sizeof(float));
  g_free(tmp);
  if (ok)
    g_hash_table_replace(st->inter, g_strdup(name), g_bytes_new_take(out, n * sizeof(float)));
  else
    g_free(out);
  return ok;
}

void ufo_vit_state_keep_intermediates(UfoVitState *st, gboolean keep)
{
  st->keep = keep;
  if (!keep)
    g_hash_table_remove_all(st->inter);
}

gboolean ufo_vit_get_intermediate(UfoVitState *st, const char *name, float **data, size_t *n,
                                  GError **e)
{
  GBytes *b = g_hash_table_lookup(st->inter, name);
  if (b == NULL) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "intermediate '%s' was not kept", name);
    return FALSE;
  }
  gsize size;
  const void *p = g_bytes_get_data(b, &size);
  *data = g_memdup2(p, size);
  *n = size / sizeof(float);
  return TRUE;
}

const float *ufo_vit_feature_map(UfoVitState *st, int *hp, int *wp)
{
  if (!st->have_fmap)
    return NULL;
  if (!st->fmap_on_host) {
    size_t n = (size_t)st->hp * st->wp * st->vit->C;
    st->fmap_host = g_renew(float, st->fmap_host, n);
    if (!ufo_tensor_download(st->fmap, 0, st->fmap_host, n, NULL))
      return NULL;
    st->fmap_on_host = TRUE;
  }
  if (hp)
    *hp = st->hp;
  if (wp)
    *wp = st->wp;
  return st->fmap_host;
}

void ufo_vit_mask_tensors(UfoVitState *st, UfoTensor ***e, UfoTensor ***u, GByteArray **bits)
{
  *e = &st->mask_e;
  *u = &st->mask_u;
  if (st->mask_bits == NULL)
    st->mask_bits = g_byte_array_new();
  *bits = st->mask_bits;
}

gboolean ufo_vit_feature_history(UfoVitState *st, UfoView *hist, UfoTensor ***idx)
{
  *idx = &st->mask_idx;
  if (!st->dec_keep || st->dec_hist == NULL || st->dec_hist_n == 0) {
    *hist = (UfoView){0};
    return FALSE;
  }
  *hist = ufo_view_sub(ufo_view(st->dec_hist), 0, 0, st->dec_hist_n, st->vit->C);
  return TRUE;
}

gboolean ufo_vit_stash_feature_map(UfoVitState *st, int b, int n_frames, GError **e)
{
  int64_t N = (int64_t)st->hp * st->wp;
  if (!st->have_fmap || b < 0 || b >= n_frames || b != (b == 0 ? 0 : st->fmap_batch_n)) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID,
                "stash of frame %d's feature map (of %d, %d stashed) without a feature map", b,
                n_frames, st->fmap_batch_n);
    return FALSE;
  }
  if (!vit_tensor_ensure(st->vit->be, &st->fmap_batch, n_frames * N, st->vit->C, e) ||
      !ufo_op_copy(st->vit->be, ufo_view_sub(ufo_view(st->fmap_batch), b * N, 0, N, st->vit->C),
                   ufo_view(st->fmap), e))
    return FALSE;
  st->fmap_batch_n = b + 1;
  return TRUE;
}

gboolean ufo_vit_stashed_feature_map_view(UfoVitState *st, int b, UfoView *map, int *hp, int *wp)
{
  if (b < 0 || b >= st->fmap_batch_n || st->fmap_batch == NULL)
    return FALSE;
  int64_t N = (int64_t)st->hp * st->wp;
  *map = ufo_view_sub(ufo_view(st->fmap_batch), b * N, 0, N, st->vit->C);
  *hp = st->hp;
  *wp = st->wp;
  return TRUE;
}

gboolean ufo_vit_feature_map_view(UfoVitState *st, UfoView *map, int *hp, int *wp)
{
  if (!st->have_fmap)
    return FALSE;
  *map = ufo_view(st->fmap);
  *hp = st->hp;
  *wp = st->wp;
  return TRUE;
}
