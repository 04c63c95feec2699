/* Internal view of a loaded model: config, float32 host weights, vocabulary, label sets.
 * The on-disk layout is documented in docs/model-format.md and atop model_file.c. */
#ifndef UFO_MODEL_MODEL_H
#define UFO_MODEL_MODEL_H

#include "ufo/ufo.h"
#include "config.h"
#include "../text/tokenizer.h"
#include "dtype.h"

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
  GBytes *vocab;         /* the "ufo.vocab" text, kept for ufo_model_save */
};

const UfoLabelSet *ufo_model_label_set(const UfoModel *model, const char *name);

/* ---- tensor inventory (model_tensors.c): inference spec §2.1 ---- */

typedef struct {
  char name[96]; /* official state-dict name, "backbone.layers.3.attn.qkv.weight" */
  int ndim;
  int64_t shape[4];
  gboolean is_index;  /* backbone.embed.position_ids: I64 arange, optional, not kept */
  const float **slot; /* where the float32 data goes in UfoWeights (NULL for is_index) */
} UfoTensorSpec;

/* Every tensor a config needs, in file order; slots point into *w (which also gets pos_h/pos_w
 * and rel_pos_len). Free with g_free. */
UfoTensorSpec *ufo_model_tensor_specs(const UfoConfig *cfg, UfoWeights *w, int *n_specs);

/* ---- construction (model.c), used by the loader, ufo_model_new_random and ufo-convert ---- */

/* An empty model (refcount 1) for a validated config. */
UfoModel *ufo_model_alloc(const UfoConfig *cfg);

typedef struct {
  const char *name;
  UfoDType dtype;
  int ndim;
  const int64_t *shape;
  const void *data; /* numel elements of dtype, little-endian */
} UfoTensorView;

/* Checks the tensors against the config (unknown names, dtype, shape, missing; the first offender
 * is named) and fills model->w. With borrow, aligned F32 data is used in place (it must outlive
 * the model); everything else is converted into owned float32 buffers. */
gboolean ufo_model_bind_tensors(UfoModel *model, const UfoTensorView *views, size_t n,
                                gboolean borrow, GError **error);
/* Vocabulary text (one token a line); its line count must equal cfg.vocab_size. */
gboolean ufo_model_set_vocab(UfoModel *model, const char *text, size_t len, GError **error);
/* Class names, one a line. */
gboolean ufo_model_add_label_set(UfoModel *model, const char *name, const char *text, size_t len,
                                 GError **error);
/* The embedded vocabulary (engine/data; unless one is set already) and every embedded label set
 * an enabled task uses that is not there yet. */
gboolean ufo_model_add_embedded_text(UfoModel *model, GError **error);
/* Every label_set named by an enabled task is present. */
gboolean ufo_model_check_label_sets(const UfoModel *model, GError **error);

/* ---- files (model_file.c) ---- */

/* Writes a model bundle (docs/model-format.md) with float tensors stored as dtype
 * (F32, F16 or BF16); position_ids is written as I64. */
gboolean ufo_model_save(const UfoModel *model, const char *path, UfoDType dtype, GError **error);

#endif
