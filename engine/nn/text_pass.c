/* Text pass (inference §4.3-4.4, §5.3): the prompt through every layer, bidirectional, keys =
 * the T prompt tokens with [SEP]/[PAD] masked; keeps each layer's [k | v] for the image pass. */
#include "vit_internal.h"

#include <math.h>

static gboolean upload_mask(UfoVitState *st, const int32_t *ids, const uint8_t *masked, int T,
                            GError **e)
{
  const int32_t sep = ufo_tokenizer_ids(st->vit->model->tokenizer)->sep;
  float *m = g_new(float, T);
  for (int j = 0; j < T; j++) /* §4.3: masked keys and any [SEP] become -inf */
    m[j] = (masked && masked[j]) || ids[j] == sep ? -INFINITY : 0.f;
  gboolean ok = ufo_tensor_upload(st->text_mask, 0, m, (size_t)T, e);
  g_free(m);
  return ok;
}

gboolean ufo_vit_text_pass(UfoVitState *st, const int32_t *ids, const uint8_t *masked, int T,
                           GError **e)
{
  UfoVit *vit = st->vit;
  UfoBackend *be = vit->be;
  int C = vit->C;
  if (ids == NULL || T < 1) {
    g_set_error(e, UFO_ERROR, UFO_ERROR_INVALID, "text pass: empty prompt");
    return FALSE;
  }
  st->T = 0; /* invalid until the pass completes */
  st->image_done = st->grid_done = st->dec_ready = FALSE;
  if (!vit_scratch_reserve(st, T, e) || !vit_tensor_ensure(be, &st->text_x, T, C, e) ||
      !vit_tensor_ensure(be, &st->text_mask, 1, T, e) ||
      !vit_indices_upload(be, &st->text_ids, ids, T, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++)
    if (!vit_tensor_ensure(be, &st->text_kv[l], T, 2 * C, e))
      return FALSE;
  if (!upload_mask(st, ids, masked, T, e))
    return FALSE;
  UfoView x = ufo_view(st->text_x);
  UfoView y = ufo_view_sub(ufo_view(st->s.y), 0, 0, T, C);
  UfoView q = ufo_view_sub(ufo_view(st->s.q), 0, 0, T, C);
  UfoView a = ufo_view_sub(ufo_view(st->s.a), 0, 0, T, C);
  UfoView f = ufo_view_sub(ufo_view(st->s.f), 0, 0, T, vit->F);
  if (!vit_embed_tokens(vit, x, y, ufo_view(st->text_ids), 0, FALSE, e))
    return FALSE;
  for (int l = 0; l < vit->nl; l++) {
    UfoView kv = ufo_view(st->text_kv[l]);
    if (!vit_ln1_qkv(vit, l, q, kv, x, y, FALSE, e))
      return FALSE;
    /* §5.3: the text output is never used; the last layer only needs its K/V */
    if (l == vit->nl - 1 && !st->keep)
      break;
    UfoAttention at = {
        .q = q,
        .out = a,
        .n_groups = 1,
        .group_q = T,
        .n_heads = vit->nh,
        .head_dim = vit->d,
        .scale = 1.f / sqrtf((float)vit->d), /* §5.1: SDPA default scale */
        .n_segs = 1,
        .seg[0] = {.k = vit_k(vit, kv),
                   .v = vit_v(vit, kv),
                   .n = T,
                   .mask = ufo_view(st->text_mask)},
    };
    if (!ufo_op_attention(be, &at, e) || !vit_post_attention(vit, l, x, a, y, f, FALSE, e))
      return FALSE;
    if (l == 0 && !vit_keep(st, "text.layer0.out", x, NULL, e))
      return FALSE;
  }
  st->T = T;
  return TRUE;
}
