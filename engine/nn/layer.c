/* One pre-LN UFO-ViT transformer layer, split at the attention (inference §5.1):
 *   y = LN1(x); q, [k|v] = y·Wqkv^T + b; a = attention(...); x += a·Wp^T + bp;
 *   x += W2·GELU(W1·LN2(x) + b1) + b2.
 * The passes (text/image/grid/decode) differ only in how they build the attention. */
#include "vit_internal.h"

gboolean vit_ln1(UfoVit *vit, int l, UfoView y, UfoView x, GError **error)
{
  const VitLayer *L = &vit->layers[l];
  /* inference §8.11: eps 1e-6 in every ViT layer */
  return ufo_op_layer_norm(vit->be, y, x, ufo_view(L->ln1_w), ufo_view(L->ln1_b), vit->cfg->ln_eps,
                           error);
}

/* nn.Linear y = x·W^T + b (+ y when residual) as a backend linear (backend.h UfoLinear) */
static UfoLinear linear(UfoView y, UfoView x, UfoTensor *w, UfoTensor *b, gboolean residual,
                        gboolean row_stable)
{
  return (UfoLinear){.x = x,
                     .w = ufo_view(w),
                     .bias = ufo_view(b),
                     .y = y,
                     .beta = residual ? 1.f : 0.f, /* residual adds ride on the product */
                     .row_stable = row_stable};
}

/* LN(x) with the layer's (w, b) first, into ln_out where the backend does not fuse it */
static void with_ln(UfoVit *vit, UfoLinear *p, UfoTensor *w, UfoTensor *b, UfoView ln_out)
{
  p->ln_w = ufo_view(w);
  p->ln_b = ufo_view(b);
  p->ln_eps = vit->cfg->ln_eps; /* inference §8.11: eps 1e-6 in every ViT layer */
  p->ln_out = ln_out;
}

gboolean vit_qkv(UfoVit *vit, int l, UfoView q, UfoView kv, UfoView y, gboolean row_stable,
                 GError **error)
{
  const VitLayer *L = &vit->layers[l];
  /* inference §5.1: qkv rows [q; k; v], so q and [k | v] are the two destinations' row blocks */
  UfoLinear p = linear(q, y, L->qkv_w, L->qkv_b, FALSE, row_stable);
  p.y2 = kv;
  return ufo_op_linear(vit->be, &p, error);
}

gboolean vit_ln1_qkv(UfoVit *vit, int l, UfoView q, UfoView kv, UfoView x, UfoView y,
                     gboolean row_stable, GError **error)
{
  const VitLayer *L = &vit->layers[l];
  UfoLinear p = linear(q, x, L->qkv_w, L->qkv_b, FALSE, row_stable);
  p.y2 = kv;
  with_ln(vit, &p, L->ln1_w, L->ln1_b, y);
  return ufo_op_linear(vit->be, &p, error);
}

gboolean vit_post_attention(UfoVit *vit, int l, UfoView x, UfoView a, UfoView y, UfoView f,
                            gboolean row_stable, GError **error)
{
  const VitLayer *L = &vit->layers[l];
  UfoBackend *be = vit->be;
  UfoLinear proj = linear(x, a, L->proj_w, L->proj_b, TRUE, row_stable);
  UfoLinear fc1 = linear(f, x, L->fc1_w, L->fc1_b, FALSE, row_stable);
  with_ln(vit, &fc1, L->ln2_w, L->ln2_b, y);
  fc1.gelu = TRUE; /* §5.1: exact erf GELU */
  UfoLinear fc2 = linear(x, f, L->fc2_w, L->fc2_b, TRUE, row_stable);
  return ufo_op_linear(be, &proj, error) && ufo_op_linear(be, &fc1, error) &&
         ufo_op_linear(be, &fc2, error);
}

UfoView vit_k(UfoVit *vit, UfoView kv)
{
  return ufo_view_sub(kv, 0, 0, kv.rows, vit->C);
}

UfoView vit_v(UfoVit *vit, UfoView kv)
{
  return ufo_view_sub(kv, 0, vit->C, kv.rows, vit->C);
}

gboolean vit_embed_tokens(UfoVit *vit, UfoView x, UfoView tmp, UfoView ids, int pos0,
                          gboolean same_pos, GError **error)
{
  UfoBackend *be = vit->be;
  int64_t n = x.rows;
  int64_t npos = same_pos ? 1 : n;
  if (pos0 < 0 || pos0 + npos > vit->cfg->max_position) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "token positions %d..%lld exceed the %d position embeddings", pos0,
                (long long)(pos0 + npos - 1), vit->cfg->max_position);
    return FALSE;
  }
  /* §4.4: word + position (past_len shifts the ids), LN eps 1e-12, no token types */
  UfoView pos = ufo_view_sub(ufo_view(vit->pos_emb), pos0, 0, npos, vit->C);
  return ufo_op_embed(be, tmp, ufo_view(vit->word_emb), ids, error) &&
         ufo_op_add(be, tmp, tmp, pos, error) &&
         ufo_op_layer_norm(be, x, tmp, ufo_view(vit->emb_ln_w), ufo_view(vit->emb_ln_b),
                           vit->cfg->text_ln_eps, error);
}
