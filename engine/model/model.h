/* Internal view of a loaded model: config, float32 host weights, vocabulary, label sets.
 * The on-disk layout is documented in docs/model-format.md and atop model_file.c. */
#ifndef UFO_MODEL_MODEL_H
#define UFO_MODEL_MODEL_H

#include "ufo/ufo.h"
#include "config.h"
#include "../text/tokenizer.h"

/* One transformer layer (official names: backbone.layers.{i}.*). All float32, row-major,
 * nn.Linear convention: weight (out, in). */
typedef struct {
  const float *ln1_w, *ln1_b;   /* (C) */
  const float *qkv_w;           /* (3C, C) rows [q; k; v], head-major inside each */
  const float *qkv_b;           /* (3C) */
  const float *proj_w;          /* (C, C) */
  const float *proj_b;          /* (C) */
  const float *rel_pos_h;       /* (rel_pos_len, d) */
  const float *rel_pos_w;       /* (rel_pos_len, d) */
  int rel_pos_len;              /* 2*14-1 (window) or 2*Hpos-1 (global) */
  const float *ln2_w, *ln2_b;   /* (C) */
  const float *fc1_w;           /* (F, C)  ffn.layers.0.0 */
  const float *fc1_b;           /* (F) */
  const float *fc2_w;           /* (C, F)  ffn.layers.1 */
  const float *fc2_b;           /* (C) */
} UfoLayerWeights;

typedef struct {
  const float *pos_embed;       /* (pos_h, pos_w, C)  backbone.pos_embed */
  int pos_h, pos_w;
  const float *patch_w;         /* (C, 3, P, P)  patch_embed.projection.weight */
  const float *patch_b;         /* (C) */
  const float *word_emb;        /* (V, C)  embed.word_embeddings.weight; also the output head */
  const float *pos_emb;         /* (max_position, C)  embed.position_embeddings.weight */
  const float *emb_ln_w, *emb_ln_b; /* (C)  embed.LayerNorm */
  UfoLayerWeights layers[UFO_MAX_LAYERS];
} UfoWeights;

typedef struct {
  char name[32];
  int n;
  char **names; /* (n), NULL-terminated (names[n] == NULL) */
} UfoLabelSet;

struct _UfoModel {
  gint refcount;
  UfoConfig cfg;
  UfoWeights w;
  UfoTokenizer *tokenizer;
  GPtrArray *label_sets; /* UfoLabelSet* */
  /* storage: mapped file and float32 copies of converted tensors (private to model_*.c) */
  GMappedFile *mapped;
  GPtrArray *owned;      /* g_free'd buffers */
};

const UfoLabelSet *ufo_model_label_set(const UfoModel *model, const char *name);

#endif
