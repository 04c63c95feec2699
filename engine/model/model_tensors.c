/* The tensor inventory of a config: official names and shapes (inference spec §2.1). */
#include "model.h"

#include <string.h>

static void spec(UfoTensorSpec *s, int *n, const char *name, const float **slot, int ndim,
                 int64_t d0, int64_t d1, int64_t d2, int64_t d3)
{
  UfoTensorSpec *t = &s[(*n)++];
  memset(t, 0, sizeof *t);
  g_strlcpy(t->name, name, sizeof t->name);
  t->ndim = ndim;
  const int64_t dims[4] = {d0, d1, d2, d3};
  memcpy(t->shape, dims, sizeof dims);
  t->slot = slot;
}

UfoTensorSpec *ufo_model_tensor_specs(const UfoConfig *cfg, UfoWeights *w, int *n_specs)
{
  const int64_t C = cfg->embed_dim, d = cfg->head_dim, F = cfg->ffn_dim, P = cfg->patch_size;
  const int side = cfg->img_size / cfg->patch_size; /* §2.1: pos_embed (1, 70, 70, C) for 1120 */
  UfoTensorSpec *s = g_new(UfoTensorSpec, 8 + 14 * cfg->num_layers);
  int n = 0;
  w->pos_h = w->pos_w = side;
  spec(s, &n, "backbone.embed.position_ids", NULL, 2, 1, cfg->max_position, 0, 0);
  s[0].is_index = TRUE;
  spec(s, &n, "backbone.pos_embed", &w->pos_embed, 4, 1, side, side, C);
  spec(s, &n, "backbone.patch_embed.projection.weight", &w->patch_w, 4, C, 3, P, P);
  spec(s, &n, "backbone.patch_embed.projection.bias", &w->patch_b, 1, C, 0, 0, 0);
  spec(s, &n, "backbone.embed.word_embeddings.weight", &w->word_emb, 2, cfg->vocab_size, C, 0, 0);
  spec(s, &n, "backbone.embed.position_embeddings.weight", &w->pos_emb, 2, cfg->max_position, C, 0,
       0);
  spec(s, &n, "backbone.embed.LayerNorm.weight", &w->emb_ln_w, 1, C, 0, 0, 0);
  spec(s, &n, "backbone.embed.LayerNorm.bias", &w->emb_ln_b, 1, C, 0, 0, 0);
  for (int i = 0; i < cfg->num_layers; i++) {
    UfoLayerWeights *L = &w->layers[i];
    /* §2.1: rel_pos tables have 2*input_size-1 rows: 14 for window layers, the grid for global */
    L->rel_pos_len = cfg->is_global[i] ? 2 * side - 1 : 2 * cfg->window_size - 1;
    const struct {
      const char *suffix;
      const float **slot;
      int ndim;
      int64_t d0, d1;
    } t[14] = {
        {"ln1.weight", &L->ln1_w, 1, C, 0},
        {"ln1.bias", &L->ln1_b, 1, C, 0},
        {"attn.qkv.weight", &L->qkv_w, 2, 3 * C, C},
        {"attn.qkv.bias", &L->qkv_b, 1, 3 * C, 0},
        {"attn.proj.weight", &L->proj_w, 2, C, C},
        {"attn.proj.bias", &L->proj_b, 1, C, 0},
        {"attn.rel_pos_h", &L->rel_pos_h, 2, L->rel_pos_len, d},
        {"attn.rel_pos_w", &L->rel_pos_w, 2, L->rel_pos_len, d},
        {"ln2.weight", &L->ln2_w, 1, C, 0},
        {"ln2.bias", &L->ln2_b, 1, C, 0},
        {"ffn.layers.0.0.weight", &L->fc1_w, 2, F, C},
        {"ffn.layers.0.0.bias", &L->fc1_b, 1, F, 0},
        {"ffn.layers.1.weight", &L->fc2_w, 2, C, F},
        {"ffn.layers.1.bias", &L->fc2_b, 1, C, 0},
    };
    for (int j = 0; j < 14; j++) {
      char name[96];
      g_snprintf(name, sizeof name, "backbone.layers.%d.%s", i, t[j].suffix);
      spec(s, &n, name, t[j].slot, t[j].ndim, t[j].d0, t[j].d1, 0, 0);
    }
  }
  *n_specs = n;
  return s;
}
