/* The attention operands as the kernels see them (backend.h UfoAttention), one marshal for the
 * fp32 kernels (attention.cu) and the tensor-core kernel (attention_mma.cu). Host side and
 * kernel parameters; include after cuda_priv.h, inside the backend's namespace. */
#ifndef UFO_BACKEND_CUDA_ATTENTION_ARGS_CUH
#define UFO_BACKEND_CUDA_ATTENTION_ARGS_CUH

/* One key segment (UfoAttnKeys). The fp32 kernels take the own key (self_key) as a last segment
 * whose rows follow the query rows (self = 1); the tensor-core kernel folds it in from self_k. */
typedef struct {
  const float *k, *v, *mask; /* mask NULL: none */
  long long ldk, ldv;
  long long n, gstride; /* keys per group, rows between groups' blocks */
  int rel;              /* add the decomposed rel-pos bias */
  int self;             /* key row = the query row (self_key) */
  int causal;           /* query qi of a group sees the first n - (group_q - 1 - qi) keys */
} AttSeg;

typedef struct {
  const float *q;
  float *out;
  long long ldq, ldo;
  int n_groups, group_q, n_heads, d;
  float scale;
  int n_segs; /* the fp32 kernels: including the self segment */
  AttSeg seg[UFO_ATTN_MAX_SEGS + 1];
  const float *self_k, *self_v; /* the own key (self_key), NULL: none */
  long long ldsk, ldsv;
  const float *rh, *rw; /* rel-pos tables (2*rel_h-1, d), (2*rel_w-1, d) */
  long long ldrh, ldrw;
  int rel_h, rel_w, has_rel;
  int has_causal; /* a causal segment (the row and split paths only) */
  /* split softmax (fp32 decode, keys shared by all groups): per (row, head) the (max, sum) of
   * the keys done so far, with out holding their normalised partial result; ml_mode 1: the tile
   * kernel writes them, 2: the row kernel starts from them */
  float *ml;
  int ml_mode;
} AttArgs;

#ifdef UFO_CUDA_EMU
/* The pointer fields, for the emulation's launch check (emu_runtime.h): every segment slot,
 * the unused ones are NULL. */
template <class F> static inline void ufo_emu_pointers(const AttArgs &a, F &&field)
{
  field(a.q, "q", -1);
  field(a.out, "out", -1);
  for (int s = 0; s < UFO_ATTN_MAX_SEGS + 1; s++) {
    field(a.seg[s].k, "seg.k", s);
    field(a.seg[s].v, "seg.v", s);
    field(a.seg[s].mask, "seg.mask", s);
  }
  field(a.self_k, "self_k", -1);
  field(a.self_v, "self_v", -1);
  field(a.rh, "rh", -1);
  field(a.rw, "rw", -1);
  field(a.ml, "ml", -1);
}
#endif

/* The operands of p: its key segments (the own key in self_k / self_v, not a segment) and the
 * rel-pos tables. */
static inline AttArgs att_operands(const UfoAttention *p)
{
  AttArgs a = {};
  a.q = ufo_cuda_ptr(p->q);
  a.out = ufo_cuda_ptr(p->out);
  a.ldq = p->q.ld;
  a.ldo = p->out.ld;
  a.n_groups = p->n_groups;
  a.group_q = p->group_q;
  a.n_heads = p->n_heads;
  a.d = p->head_dim;
  a.scale = p->scale;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *k = &p->seg[s];
    AttSeg sg = {ufo_cuda_ptr(k->k),
                 ufo_cuda_ptr(k->v),
                 k->mask.t ? ufo_cuda_ptr(k->mask) : NULL,
                 k->k.ld,
                 k->v.ld,
                 k->n,
                 k->group_stride,
                 k->rel_pos ? 1 : 0,
                 0,
                 k->causal ? 1 : 0};
    a.seg[a.n_segs++] = sg;
    a.has_rel |= k->rel_pos ? 1 : 0;
    a.has_causal |= k->causal ? 1 : 0;
  }
  if (p->self_key) {
    a.self_k = ufo_cuda_ptr(p->self_k);
    a.self_v = ufo_cuda_ptr(p->self_v);
    a.ldsk = p->self_k.ld;
    a.ldsv = p->self_v.ld;
  }
  if (a.has_rel) {
    a.rh = ufo_cuda_ptr(p->rel_h_table);
    a.rw = ufo_cuda_ptr(p->rel_w_table);
    a.ldrh = p->rel_h_table.ld;
    a.ldrw = p->rel_w_table.ld;
    a.rel_h = p->rel_h;
    a.rel_w = p->rel_w;
  }
  return a;
}

#endif
