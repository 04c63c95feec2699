/* Private structures of the UFO-ViT forward (engine/nn/). Tensors only, no data access. */
#ifndef UFO_NN_VIT_INTERNAL_H
#define UFO_NN_VIT_INTERNAL_H

#include "vit.h"
#include "backend/graph.h"
#include "model/model.h"

typedef struct {
  UfoTensor *ln1_w, *ln1_b; /* (1, C) */
  UfoTensor *qkv_w;         /* (3C, C) rows [q; k; v] */
  UfoTensor *qkv_b;         /* (1, 3C) */
  UfoTensor *proj_w;        /* (C, C) */
  UfoTensor *proj_b;        /* (1, C) */
  UfoTensor *rel_h, *rel_w; /* (rel_pos_len, d) */
  UfoTensor *ln2_w, *ln2_b; /* (1, C) */
  UfoTensor *fc1_w;         /* (F, C) */
  UfoTensor *fc1_b;         /* (1, F) */
  UfoTensor *fc2_w;         /* (C, F) */
  UfoTensor *fc2_b;         /* (1, C) */
} VitLayer;

typedef struct _VitShared VitShared; /* vit_shared.c: a registry entry */

struct _UfoVit {
  UfoBackend *be;  /* computes; the weight tensors may belong to a backend sharing its memory */
  UfoModel *model; /* reference held */
  const UfoVit *weights; /* owner of the tensors below: this UfoVit, or the one shared */
  VitShared *shared;     /* registry entry released with this UfoVit (ufo_vit_acquire) */
  const UfoConfig *cfg;
  int C, F, nh, d, nl, ws, P;
  UfoTensor *pos_embed;           /* (pos_h*pos_w, C) */
  UfoTensor *patch_w;             /* (C, 3*P*P) */
  UfoTensor *patch_b;             /* (1, C) */
  UfoTensor *word_emb;            /* (V, C) */
  UfoTensor *pos_emb;             /* (max_position, C) */
  UfoTensor *emb_ln_w, *emb_ln_b; /* (1, C) */
  VitLayer layers[UFO_MAX_LAYERS];
  int mean_k[UFO_MAX_LAYERS]; /* position of layer l in the mean-layer list, -1 if absent */
  /* the same for grid rows' decode steps, whose skipped global layers neither add nor count
   * (inference §6.1: the mean over the mean layers that ran); n_mean_grid of them */
  int mean_k_grid[UFO_MAX_LAYERS];
  int n_mean_grid;
};

/* Activation scratch shared by the passes, grown (never per step) to the largest row count. */
typedef struct {
  int64_t cap;
  UfoTensor *y, *y2, *q, *a, *a2; /* (cap, C) */
  UfoTensor *f;                   /* (cap, F) */
} VitScratch;

struct _UfoVitState {
  UfoVit *vit;
  VitScratch s;
  gboolean keep;
  GHashTable *inter; /* name -> GBytes of floats */

  /* text pass (§5.3) */
  int T;
  UfoTensor *text_ids;                /* (T) i32 token ids */
  UfoTensor *text_x;                  /* (T, C) */
  UfoTensor *text_mask;               /* (1, T) additive */
  UfoTensor *text_kv[UFO_MAX_LAYERS]; /* (T, 2C) [k | v] */

  /* the image and grid passes of one shape, replayed as backend graphs (backend/graph.h) */
  UfoGraphSlot image_graph, grid_graph;

  /* image pass (§5.2, §5.4), sized for (H, W) */
  int H, W, hp, wp, nwin;
  gboolean image_done;
  UfoTensor *img;                    /* (3H, W) */
  UfoTensor *cols;                   /* (hp*wp, 3*P*P) */
  UfoTensor *x;                      /* (hp*wp, C) */
  UfoTensor *pos_img;                /* (hp*wp, C) resized table (NULL: table used as is) */
  UfoTensor *fmap;                   /* (hp*wp, C) mean-layer map */
  UfoTensor *img_kv[UFO_MAX_LAYERS]; /* (hp*wp, 2C); window layers in partitioned order */
  UfoTensor *rel_h[UFO_MAX_LAYERS], *rel_w[UFO_MAX_LAYERS]; /* resized tables or NULL */
  float *fmap_host;
  gboolean have_fmap;    /* fmap holds the last image pass's map */
  gboolean fmap_on_host; /* fmap_host is its copy (ufo_vit_feature_map) */

  /* grid queries (§5.5), stored window-major: sorted slot s holds query perm[s]; the host
   * arrays are uploaded once per frame into the tensors the layers' ops read */
  int Q, grid_h, grid_w;
  float *ref_sorted;                  /* (Q, 2) */
  int32_t *perm;                      /* slot -> q */
  int32_t *slot_of;                   /* q -> slot */
  UfoTensor *ref_t;                   /* (Q, 2) f32 ref_sorted (grid_sample in every layer) */
  UfoTensor *perm_t, *slot_t;         /* (Q) i32 perm and slot_of */
  UfoTensor *gpos;                    /* (Q, C) window-major */
  UfoTensor *grid_x;                  /* (Q, C) */
  UfoTensor *feat[UFO_MAX_LAYERS];    /* (Q, C) sampled layer inputs, window-major */
  UfoTensor *grid_kv[UFO_MAX_LAYERS]; /* (Q, 2C) */
  gboolean grid_done;

  /* decoding (§6.1) */
  gboolean dec_ready, from_grid;
  int dec_rows, dec_max, dec_live, dec_t;
  int step_n, step_t;                    /* the step that step_ops runs (decode_pass.c) */
  UfoGraphCache step_graphs;             /* its ops as graphs, one per step index and row count */
  UfoTensor *dec_prefix[UFO_MAX_LAYERS]; /* from grid: (rows, 2C) own grid K/V, row order */
  UfoTensor *dec_kv[UFO_MAX_LAYERS];     /* (rows * max_len, 2C) */
  UfoTensor *dec_tmp;                    /* (rows, max_len * 2C) permuting-reorder scratch */
  UfoTensor *dec_ids;                    /* (rows) i32 the step's tokens (embed) */
  UfoTensor *dec_src;                    /* (rows) i32 the reorder's source rows (all layers) */
  UfoTensor *dec_x, *dec_acc;            /* (rows, C) */
  UfoTensor *logits;                     /* (rows, V) */
  /* feature history (ufo_vit_decode_keep_features): each step appends its live rows of
   * dec_acc; dec_hist_n rows in use, NULL / not kept when features are not wanted */
  UfoTensor *dec_hist; /* (rows * max_len, C) */
  gboolean dec_keep;
  int64_t dec_hist_n;
  /* a draft pass (UfoDecoder.step_ahead): positions t .. t + P − 1 of n rows, row-major
   * (row i·P + j = row i at position t + j); the tensors grow to the largest pass so far */
  int ahead_n, ahead_t, ahead_P;  /* ahead_P 0: no pass pending */
  int64_t ahead_cap;              /* rows of the tensors below */
  UfoTensor *ahead_ids;           /* (cap) i32 the pass's input tokens */
  int32_t *ahead_host;            /* (cap) the same on the host, reordered to rows i·P + j */
  UfoTensor *ahead_x, *ahead_acc; /* (cap, C) */
  UfoTensor *ahead_kv; /* (cap, 2C) each position's [k | v] before it goes to the cache */
  /* the selection of every position inside the pass (position-major, row j·n + i): the planted
   * forcing in (i32, f32; ahead_plan: uploaded for this pass), the tokens and probabilities out */
  UfoTensor *ahead_force, *ahead_margin, *ahead_sel, *ahead_prob; /* (cap) */
  gboolean ahead_plan;

  /* a batch of frames decoded together (ufo_vit_decode_stash_grid): frames stashed so far, the
   * grids of each, and the frames' feature maps, frame b at rows b·hp·wp (seg §2.6) */
  int stash_n, stash_q, stash_rows;
  UfoTensor *fmap_batch; /* (frames · hp·wp, C) */
  int fmap_batch_n;      /* frames whose map is in fmap_batch */

  /* mask ops (engine/tasks UfoMaskBatch): object features and logit maps, largest batch */
  UfoTensor *mask_e, *mask_u;
  UfoTensor *mask_idx;   /* (largest batch · 16) i32 history rows of the object features */
  GByteArray *mask_bits; /* host: the instance masks' bits of the largest frame (tasks keep_bits) */
};

/* layer.c: the pieces of one pre-LN transformer layer (inference §5.1). */
gboolean vit_ln1(UfoVit *vit, int l, UfoView y, UfoView x, GError **error);
/* q = y·Wq^T + bq (N, C); kv = y·[Wk; Wv]^T + [bk; bv] (N, 2C), written straight into a cache.
 * row_stable: each row's result independent of the other rows (backend.h UfoGemm; decode). */
gboolean vit_qkv(UfoVit *vit, int l, UfoView q, UfoView kv, UfoView y, gboolean row_stable,
                 GError **error);
/* the same of LN1(x), with y (N, C) where LN1(x) goes when the backend does not fuse it */
gboolean vit_ln1_qkv(UfoVit *vit, int l, UfoView q, UfoView kv, UfoView x, UfoView y,
                     gboolean row_stable, GError **error);
/* x += a·Wp^T + bp; x += fc2(GELU(fc1(LN2(x)))) with scratch y (N, C), f (N, F) */
gboolean vit_post_attention(UfoVit *vit, int l, UfoView x, UfoView a, UfoView y, UfoView f,
                            gboolean row_stable, GError **error);
/* K and V column blocks of a [k | v] view */
UfoView vit_k(UfoVit *vit, UfoView kv);
UfoView vit_v(UfoVit *vit, UfoView kv);
/* BertEmbeddings (§4.4): x = LN_1e-12(word[ids] + pos[pos0 + j]) with ids an i32 (x.rows, 1)
 * column; same_pos = one position for every row (decode step), else positions pos0.. per row */
gboolean vit_embed_tokens(UfoVit *vit, UfoView x, UfoView tmp, UfoView ids, int pos0,
                          gboolean same_pos, GError **error);

/* vit_shared.c: drops a UfoVit's use of its registry entry (the last frees the weights) */
void ufo_vit_shared_release(VitShared *e);

/* vit.c helpers */
gboolean vit_scratch_reserve(UfoVitState *st, int64_t rows, GError **error);
/* (re)allocates *t as (rows, cols) unless it already has that shape */
gboolean vit_tensor_ensure(UfoBackend *be, UfoTensor **t, int64_t rows, int64_t cols,
                           GError **error);
/* (re)allocates *t as an i32 (n) tensor unless it already is one, then uploads n host values:
 * ufo_view(*t) is the index column the ops take */
gboolean vit_indices_upload(UfoBackend *be, UfoTensor **t, const int32_t *host, int64_t n,
                            GError **error);
/* (re)allocates *t as an i32 (n) tensor unless it already is one (sized before a forward) */
gboolean vit_indices_ensure(UfoBackend *be, UfoTensor **t, int64_t n, GError **error);
/* stores a host copy of rows x cols of v (row order perm when not NULL) under name */
gboolean vit_keep(UfoVitState *st, const char *name, UfoView v, const int32_t *perm,
                  GError **error);

#endif
