/* One pre-LN UFO-ViT transformer layer, split at the attention (inference §5.1):
 *   y = LN1(x); q, [k|v] = y·Wqkv^T + b; a = attention(...); x += a·Wp^T + bp;
 *   x += W2·GELU(W1·LN2(x) + b1) + b2.
 * The passes (text/image/grid/decode) differ only in how they build the attention. */
#include "vit_internal.h"

static UfoView vec(UfoTensor *t, int64_t off, int64_t n)
{
  return ufo_view_sub(ufo_view(t), 0, off, 1, n);
}

gboolean vit_ln1(UfoVit *vit, int l, UfoView y, UfoView x, GError **error)
{
  const VitLayer *L = &vit->layers[l];
  /* inference §8.11: eps 1e-6 in every ViT layer */
  return ufo_op_layer_norm(vit->be, y, x, ufo_view(L->ln1_w), ufo_view(L->ln1_b), vit->cfg->ln_eps,
                           error);
}

static gboolean linear(UfoVit *vit, UfoView out, UfoView in, UfoView w, UfoView b, float beta,
                       gboolean row_stable, GError **error)
{
  UfoGemm g = {.a = in,
               .b = w,
               .c = out,
               .trans_b = TRUE, /* nn.Linear: y = x·W^T + b */
               .alpha = 1.f,
               .beta = beta,
               .bias = b,
               .batch = 1,
               .row_stable = row_stable};
  return ufo_op_gemm(vit->be, &g, error);
}

gboolean vit_qkv(UfoVit *vit, int l, UfoView q, UfoView kv, UfoView y, gboolean row_stable,
                 GError **error)
{
  const VitLayer *L = &vit->layers[l];
  int C = vit->C;
  UfoView w = ufo_view(L->qkv_w);
  /* inference §5.1: qkv rows [q; k; v], so q and [k | v] are row blocks of the weight */
  return linear(vit, q, y, ufo_view_sub(w, 0, 0, C, C), vec(L->qkv_b, 0, C), 0.f, row_stable,
                error) &&
         linear(vit, kv, y, ufo_view_sub(w, C, 0, 2 * C, C), vec(L->qkv_b, C, 2 * C), 0.f,
                row_stable, error);
}

gboolean vit_post_attention(UfoVit *vit, int l, UfoView x, UfoView a, UfoView y, UfoView f,
                            gboolean row_stable, GError **error)
{
  const VitLayer *L = &vit->layers[l];
  UfoBackend *be = vit->be;
  /* residual adds are GEMMs with beta = 1 onto the stream */
  return linear(vit, x, a, ufo_view(L->proj_w), ufo_view(L->proj_b), 1.f, row_stable, error) &&
         ufo_op_layer_norm(be, y, x, ufo_view(L->ln2_w), ufo_view(L->ln2_b), vit->cfg->ln_eps,
                           error) &&
         linear(vit, f, y, ufo_view(L->fc1_w), ufo_view(L->fc1_b), 0.f, row_stable, error) &&
         ufo_op_gelu(be, f, f, error) && /* §5.1: exact erf GELU */
         linear(vit, x, f, ufo_view(L->fc2_w), ufo_view(L->fc2_b), 1.f, row_stable, error);
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
