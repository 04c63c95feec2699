/* The ops API: the small set of tensor operations the UFO-ViT forward (engine/nn/) is
 * written against, and the vtable every backend (cpu, cuda) fills (style §2 and §4 items 1-4).
 *
 * Tensors are owned by a backend; their data pointer is private to it (engine/nn/ never reads
 * or writes tensor memory and never branches on the backend). Most ops take UfoView operands:
 * a strided 2-D matrix inside a tensor (rows x cols, leading dimension ld, element offset), so
 * that q/k/v column blocks of one buffer, per-step slots of a KV cache or weight row blocks are
 * used in place, without copies. Every op returns FALSE and sets a UFO_ERROR error on failure.
 *
 * Callers (engine/nn/, engine/tasks/, session.c, tools, tests) go through the ufo_op_* and
 * ufo_tensor_upload/download wrappers at the end of this file (backend.c): they check every
 * operand once (views inside their tensors and owned by the backend or by one sharing its memory,
 * shapes, dtypes, aliasing, index ranges) and only then call the backend's vtable entry. A
 * backend computes; it never re-checks.
 *
 * Typed tensors: a tensor holds float32 (activations, weights, sample points) or int32 (token
 * ids, row indices) elements. Index and point operands of embed, gather_rows and grid_sample are
 * tensors, uploaded once and used by every layer (nothing is re-uploaded per op).
 * Index ranges: the wrappers cannot read backend memory, so an int32 tensor carries what its
 * last upload (ufo_tensor_upload_i32, which sees the values) established about them
 * (UfoIndexRange); an index operand must lie inside that upload and its values inside the
 * indexed rows. The wrappers refuse anything else, so backends never see an out-of-range index.
 */
#ifndef UFO_BACKEND_BACKEND_H
#define UFO_BACKEND_BACKEND_H

#include "ufo/ufo.h"
#include "../model/dtype.h"

#include <stdint.h>

typedef struct _UfoBackend UfoBackend;
/* Frame preprocessing parameters (preprocess.h). */
typedef struct _UfoPrepParams UfoPrepParams;

#define UFO_TENSOR_MAX_DIMS 4

/* Element types of tensors: the model files' enum (model/dtype.h; UFO_DTYPE_F32 is 0, so
 * zero-initialised tensors are float32). Tensors hold UFO_DTYPE_F32 or UFO_DTYPE_I32 (both 4
 * bytes); no backend stores f16/bf16 tensors today (the bf16 weight copies are backend-private
 * derived data, UfoTensor.derived), so those are refused until one does. */

/* What the wrappers know of an int32 tensor's values, set by ufo_tensor_upload_i32 from the
 * host values it copies (n == 0: nothing known; every upload replaces it). */
typedef struct {
  size_t off, n;        /* the elements of the last upload */
  int32_t min, max;     /* their smallest and largest value */
  gboolean ge_position; /* element off + j holds a value >= j for every j (in-place gather) */
} UfoIndexRange;

/* A tensor owned by a backend; contiguous, row-major, outermost dimension first. */
typedef struct {
  UfoBackend *be;                  /* owner */
  UfoDType dtype;                  /* element type (UFO_DTYPE_F32 unless made typed) */
  int ndim;                        /* 1..4 */
  int64_t ne[UFO_TENSOR_MAX_DIMS]; /* shape, outermost first; unused dims are 1 */
  size_t n;                        /* number of elements */
  UfoIndexRange known;             /* i32 tensors: the values' range (index checks) */
  void *data;        /* backend-private storage: never dereferenced outside backend/ */
  gboolean borrowed; /* data aliases host memory the tensor does not own */
  /* Model weights, immutable once uploaded (set by engine/nn/vit.c): a backend may keep copies
   * derived from the contents (the CPU backend's bf16 weight reorders) for the tensor's life. A
   * weight may be read by several backends sharing its memory at once (sessions on different
   * threads): derived copies are made under a lock and published only when complete. */
  gboolean weight;
  void *derived; /* backend-private data derived from a weight's contents; freed by release */
} UfoTensor;

/* A strided matrix inside a tensor: element (r, c) is t[off + r * ld + c]. An index operand
 * (embed, gather_rows) is an int32 column (n, 1) with ld 1: ufo_view of a 1-D i32 tensor. */
typedef struct {
  UfoTensor *t;
  size_t off;
  int64_t rows, cols, ld;
} UfoView;

/* C = alpha * op(A) · op(B) + beta * C + bias, batched: batch b uses the views shifted by
 * b * stride_{a,b,c} elements. op(X) = X^T when trans_x. Shapes: op(A) (M, K), op(B) (K, N),
 * C (M, N), bias a (1, N) view or t == NULL (broadcast over rows).
 * Precision (set_precision): with bf16, a GEMM with batch 1, op(A) = A, op(B) = B^T and B a
 * weight tensor (UfoTensor.weight: linear layers, tied logits) rounds A and B to bfloat16 and
 * accumulates in float32; all other GEMMs stay float32. (The attention op has its own bf16 path:
 * UfoAttention.) */
typedef struct {
  UfoView a, b, c;
  gboolean trans_a, trans_b;
  float alpha, beta;
  UfoView bias;
  int batch;                           /* >= 1 */
  size_t stride_a, stride_b, stride_c; /* elements between batches */
  /* Each row of C must come out the same whatever the other rows and their number (decode
   * steps: a row's results must not depend on which rows of which frames share the step,
   * ufo_session_run_batch). fp32 only: the bf16 path ignores it. */
  gboolean row_stable;
} UfoGemm;

/* A linear layer with what surrounds it in a pre-LN block (nn/layer.c, inference §5.1):
 *   y = act(LN(x) · W^T + bias) + beta · y,  act = GELU (exact erf) or identity.
 * x (M, K); w (N, K) a weight, its rows [0, y.cols) give y and rows [y.cols, N) give y2 when
 * y2.t != NULL (one linear, two destinations: q and the K/V cache slot); bias (1, N) or t ==
 * NULL; ln_w, ln_b (1, K) or t == NULL (no LN); ln_out (M, K): where LN(x) is written when a
 * backend does not fuse it (its contents are undefined afterwards); beta 0 or 1, and gelu only
 * with beta 0. Where a backend does not fuse it (UfoBackendOps.linear_fuses), it runs as
 * layer_norm, one gemm per destination and gelu, in that order (ufo_linear_composed): the same
 * results as those ops. Precision as UfoGemm's (a weight, batch 1, B^T); row_stable as UfoGemm's.
 */
typedef struct {
  UfoView x, w, bias, y, y2;
  UfoView ln_w, ln_b, ln_out;
  float ln_eps, beta;
  gboolean gelu, row_stable;
} UfoLinear;

/* One block of keys of an attention (inference §5.1). Group g's keys are rows
 * [g * group_stride, g * group_stride + n) of k and v (group_stride 0: shared by all groups).
 * Head h uses columns h*d .. h*d+d-1. */
typedef struct {
  UfoView k, v;         /* (rows, C) each; usually column blocks of one [k | v] buffer */
  int64_t n;            /* keys per group */
  int64_t group_stride; /* rows between consecutive groups' blocks */
  UfoView mask;         /* (1, n) additive (-inf = masked), or t == NULL */
  gboolean rel_pos;     /* add the decomposed rel-pos bias (requires n == rel_h * rel_w) */
  /* Query i of a group (0 <= i < group_q) sees only the segment's first n - (group_q - 1 - i)
   * keys: the last query all n (decode passes, nn/decode_pass.c: positions t .. t+P-1 of a row,
   * each up to its own cache slot). Requires n >= group_q, no rel_pos. Each query's result is
   * what a call of one query over those keys gives (the CPU: bit for bit). */
  gboolean causal;
} UfoAttnKeys;

#define UFO_ATTN_MAX_SEGS 3

/* Multi-head softmax attention for G groups of nq queries each (query row g*nq + i):
 *   out = softmax(q·K^T * scale + mask + relpos) · V   per (group, head),
 * keys = the segments in order, then (self_key) the query row's own key/value.
 * Rel-pos (inference §5.1): for query (i, j) and key (i', j') of a rel_h x rel_w region in
 * row-major order: q·Rh[i - i' + rel_h - 1] + q·Rw[j - j' + rel_w - 1] with the unscaled q;
 * requires nq == rel_h * rel_w.
 * Precision bf16 (CUDA; CPU for groups of 8 queries and more, decode steps stay float32): q, k, v
 * and the softmax weights rounded to bf16, products accumulated in float32; scores, mask,
 * rel-pos (the fp32 q), the softmax and the own key in float32. */
typedef struct {
  UfoView q;   /* (G*nq, C) */
  UfoView out; /* (G*nq, C) */
  int n_groups, group_q;
  int n_heads, head_dim;
  float scale;
  int n_segs;
  UfoAttnKeys seg[UFO_ATTN_MAX_SEGS];
  gboolean self_key; /* append the query row's own key (rows of self_k/self_v like q) */
  UfoView self_k, self_v;
  UfoView rel_h_table, rel_w_table; /* (2*rel_h-1, d), (2*rel_w-1, d) */
  int rel_h, rel_w;
} UfoAttention;

/* The vtable. Every op entry receives operands already validated by its ufo_op_* wrapper (the
 * contracts below are the wrappers' checks); upload/download receive in-range transfers. */
typedef struct {
  /* Human-readable backend name ("cpu", "cpu-ref", "cuda"). */
  const char *name;
  /* Releases the backend's context (tensors must be freed first). */
  void (*destroy)(UfoBackend *be);
  /* Allocates an uninitialised tensor of t->n elements of t->dtype (ufo_dtype_size). */
  gboolean (*alloc)(UfoBackend *be, UfoTensor *t, GError **error);
  /* Releases a tensor's storage (t->data may be NULL). */
  void (*release)(UfoBackend *be, UfoTensor *t);
  /* (optional, NULL = alloc + upload) Makes the f32 tensor t alias read-only host memory valid
   * for its life. */
  gboolean (*wrap_host)(UfoBackend *be, UfoTensor *t, const float *host, GError **error);
  /* Host -> tensor elements [off, off + n) of t->dtype (host holds n such elements). */
  gboolean (*upload)(UfoBackend *be, UfoTensor *t, size_t off, const void *host, size_t n,
                     GError **error);
  /* Tensor elements [off, off + n) -> host (n elements of t->dtype). */
  gboolean (*download)(UfoBackend *be, const UfoTensor *t, size_t off, void *host, size_t n,
                       GError **error);
  /* (optional, NULL = float32 only) Selects the precision of GEMMs whose B operand is a weight
   * tensor (ufo.h UfoPrecision: fp32 or bf16; auto never reaches it, ufo_backend_set_precision
   * resolves it with auto_precision); FALSE with UFO_ERROR_UNSUPPORTED when the backend or the
   * machine cannot compute in it. A backend that computes another precision than asked (the
   * CPU's fp32 for bf16 without native bf16) says so in UfoBackend.precision. */
  gboolean (*set_precision)(UfoBackend *be, UfoPrecision precision, GError **error);
  /* (optional, NULL = fp32) What precision=auto picks on this backend and machine: bf16 where
   * its bf16 path is native and faster than fp32, else fp32; plus a few words of why, for the
   * log (static string). */
  UfoPrecision (*auto_precision)(UfoBackend *be, const char **why);
  /* (optional, NULL = 4,096) Rows × positions a decode draft pass may hold at the backend's
   * current precision (decode.h UfoDecodeDraft.max_rows): one pass streams the weights once for
   * all its positions, which pays where a step's rows are too few to keep the arithmetic busy
   * (docs/performance.md section 10). */
  int64_t (*decode_pass_rows)(const UfoBackend *be);
  /* UfoGemm. */
  gboolean (*gemm)(UfoBackend *be, const UfoGemm *p, GError **error);
  /* UfoLinear fused (optional, with linear_fuses): called only where linear_fuses(p) says it
   * fuses p; every other linear runs as ufo_linear_composed. */
  gboolean (*linear_fuses)(UfoBackend *be, const UfoLinear *p);
  gboolean (*linear)(UfoBackend *be, const UfoLinear *p, GError **error);
  /* y = LN(x) * w + b over each row (biased variance, eps inside the sqrt); y may be x. */
  gboolean (*layer_norm)(UfoBackend *be, UfoView y, UfoView x, UfoView w, UfoView b, float eps,
                         GError **error);
  /* y = x * 0.5 * (1 + erf(x / sqrt(2))) elementwise (the exact GELU; erf to float accuracy,
   * |error| <= 1.5e-7); y may be x. */
  gboolean (*gelu)(UfoBackend *be, UfoView y, UfoView x, GError **error);
  /* y = a + b; b may have 1 row (broadcast over rows); y may alias a. */
  gboolean (*add)(UfoBackend *be, UfoView y, UfoView a, UfoView b, GError **error);
  /* y = x (same shape). */
  gboolean (*copy)(UfoBackend *be, UfoView y, UfoView x, GError **error);
  /* UfoAttention. */
  gboolean (*attention)(UfoBackend *be, const UfoAttention *p, GError **error);
  /* (H*W, C) row-major map -> (nwin*ws*ws, C): windows row-major, tokens row-major inside
   * (inference §5.1); H, W multiples of ws. */
  gboolean (*window_partition)(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                               GError **error);
  /* The exact inverse of window_partition. */
  gboolean (*window_unpartition)(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                 GError **error);
  /* y (Q, C) = bilinear samples of the (h*w, C) map x at the f32 points ref (Q, 2) = (x, y)
   * in [0, 1]: pixel (ref_x*w - 0.5, ref_y*h - 0.5), zero padding (grid_sample, align_corners
   * False, inference §5.4). */
  gboolean (*grid_sample)(UfoBackend *be, UfoView y, UfoView x, int h, int w, UfoView ref,
                          GError **error);
  /* y (oh*ow, C) = bicubic resize of x (ih*iw, C): A = -0.75, align_corners False, no
   * antialias, taps clamped (inference §5.2). */
  gboolean (*resize_bicubic)(UfoBackend *be, UfoView y, UfoView x, int ih, int iw, int oh, int ow,
                             GError **error);
  /* y (Lo, d) = linear resize of the table x (Li, d) along rows, align_corners False
   * (inference §5.1 rel-pos tables). */
  gboolean (*resize_linear)(UfoBackend *be, UfoView y, UfoView x, GError **error);
  /* y row i = table row ids[i] (ids an i32 (y.rows, 1) column, every id a row of the table). */
  gboolean (*embed)(UfoBackend *be, UfoView y, UfoView table, UfoView ids, GError **error);
  /* y row i = x row idx[i] for i < y.rows (idx an i32 (y.rows, 1) column of rows of x; the
   * empty view = identity); y does not overlap x unless it is x's first rows with idx[i] >= i
   * for all i (in-place compaction). */
  gboolean (*gather_rows)(UfoBackend *be, UfoView y, UfoView x, UfoView idx, GError **error);
  /* Mean over n layers, accumulated: k == 0: acc = x; else acc += x; k == n-1: acc *= 1/n. */
  gboolean (*mean_acc)(UfoBackend *be, UfoView acc, UfoView x, int k, int n, GError **error);
  /* y (Hp*Wp, 3*P*P) = patches of the (3, H, W) image x (a (3*H, W) view), column
   * c*P*P + ky*P + kx (Conv2d weight order), patches row-major. */
  gboolean (*patchify)(UfoBackend *be, UfoView y, UfoView x, int h, int w, int p, GError **error);
  /* Greedy selection over the rows of logits x (n, V) (inference §6.2): ids[i] = the first
   * index of row i's maximum (torch.max), prob[i] = its softmax probability
   * 1 / Σ_v exp(x_v − max), summed in double over v in order, terms with x_v − max <= −87
   * skipped (below 1.6e-38 they cannot change a sum >= 1). Planted plan (ufo.h): when force !=
   * NULL and force[i] >= 0, x[i][force[i]] reads as max(row i) + margin[i] (margin NULL = 0).
   * ids and prob are host arrays of n: the logits stay on the backend, a step returns 8n bytes. */
  gboolean (*argmax_rows)(UfoBackend *be, UfoView x, const int32_t *force, const float *margin,
                          int32_t *ids, float *prob, GError **error);
  /* argmax_rows with its operands on the backend, enqueued only (a graph may record it): force
   * (n, 1) i32 (−1 = none) and margin (n, 1) f32, or t == NULL; ids (n, 1) i32 and prob (n, 1)
   * f32 written (columns with ld 1). The same selection as argmax_rows, bit for bit; the results
   * are read later by downloads (decode passes select all their positions in their graph and
   * bring the ids back once: nn/decode_pass.c). */
  gboolean (*argmax_rows_to)(UfoBackend *be, UfoView x, UfoView force, UfoView margin, UfoView ids,
                             UfoView prob, GError **error);
  /* Beam-search selection over the rows of logits x (n, V) (inference §6.3): per row i, the
   * planted forcing first (as argmax_rows), then lp = log_softmax(x_i / τ) in float32 with the
   * host decoder's arithmetic (engine/decode/beam.c): y_v = x_v / τ (no division when τ == 1),
   * mx = max_v y_v, lse = (float)log(Σ_v exp(y_v − mx)) summed in double over v in order,
   * lp_v = (y_v − mx) − lse; the candidate score c_v = lp_v + bias[i] in float32 (bias NULL: c_v
   * = lp_v). val[i·k + j], idx[i·k + j] (j < k) = row i's k best (c_v, v), c descending, ties to
   * the lower v (k in 1..V). Host arrays of n·k: a step returns 8·n·k bytes, not n·V floats. */
  gboolean (*log_softmax_topk)(UfoBackend *be, UfoView x, float temperature, const int32_t *force,
                               const float *margin, const float *bias, int k, float *val,
                               int32_t *idx, GError **error);
  /* Segmentation masks (seg §2.6-§2.9, §3.5-§3.6; docs/spec/segmentation.md). A mask map is
   * the pixel-shuffled logits U_m (uh = 4*hp rows, uw = 4*wp columns) of one object; n maps
   * are stacked in the rows of a view u (n*uh, uw). P_m(y, x) = sigmoid(bilinear(U_m)(y, x)) at
   * the output size (oh, ow): PyTorch bilinear, align_corners False (per axis scale = in/out in
   * float, src = max(scale*(d + 0.5) - 0.5, 0), i0 = (int)src, i1 = min(i0 + 1, in - 1),
   * λ = src - i0; rows blended along x first, then along y), sigmoid 1 / (1 + exp(-x)) in float
   * (exactly 0 below about -88.7, seg §0 item 2). The feature map stays on the backend; only
   * bits, sums, crops or class maps come back.
   * mask_logits: u ((e.rows/16)*4*hp, 4*wp) = the maps of n = e.rows/16 objects from e (16n, C),
   * 16 mask-token features per object, and the feature map f (hp*wp, C) (seg §2.6-§2.7):
   * S = e_m · f^T, then U_m[4h + j/4][4w + j%4] = S[j][h*wp + w] / (float)sqrt(C). */
  gboolean (*mask_logits)(UfoBackend *be, UfoView u, UfoView e, UfoView f, int hp, int wp,
                          GError **error);
  /* Instance masks (seg §2.9): per map m of u (n maps), bits[m*oh*words + y*words + x/64] bit
   * x%64 = P_m(y, x) > thr (strict; words = (ow + 63) / 64, unused bits 0), count[m] = number
   * of such pixels, sum[m] = Σ of their P_m summed in double (CPU: row-major order). Host
   * outputs: n*oh*words*8 + 16n bytes come back instead of n*oh*ow floats. */
  gboolean (*mask_threshold)(UfoBackend *be, UfoView u, int n, int oh, int ow, float thr,
                             uint64_t *bits, double *sum, int64_t *count, GError **error);
  /* Probabilities of boxes (seg §2.11, the masks of kept objects): per map m of u (n maps) and
   * box[4m..4m+3] = (x, y, w, h) inside (oh, ow): prob[m][yy*w + xx] = P_m(y + yy, x + xx)
   * (host outputs, one per box, w*h floats each: the objects' own mask buffers, so that only
   * the crops come back and nothing copies them again). With gray instead of prob (exactly one
   * is given): gray[m][yy*w + xx] = ufo_mask_gray8(P_m(y + yy, x + xx)) (mask_math.h), a byte
   * per pixel made where the maps are. */
  gboolean (*mask_probs)(UfoBackend *be, UfoView u, int n, int oh, int ow, const int32_t *box,
                         float *const *prob, uint8_t *const *gray, GError **error);
  /* Semantic label map (seg §3.6): the n maps of u grouped by class, slot k holding maps
   * [slot_end[k-1], slot_end[k]) (slot_end[-1] = 0) of class slot_class[k] (ascending). Per
   * pixel L_k = Σ score[m] * P_m over the slot's maps in order (float32, from 0), labels[y*ow +
   * x] = slot_class of the first k with the largest L_k > 0, else 0 (all sums 0: class 0). Host
   * output: 2*oh*ow bytes. */
  gboolean (*mask_semantic)(UfoBackend *be, UfoView u, int n, int oh, int ow, const float *score,
                            const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                            uint16_t *labels, GError **error);
  /* (optional, NULL = no sharing) A new backend of the same kind on be's device and memory,
   * with the fewest execution resources (one CPU thread, its own stream): the owner of tensors
   * that several backends of that device use (the weights shared by sessions, nn/vit.h
   * ufo_vit_acquire). Its tensors are usable by be and by every backend ufo_backend_shares_memory
   * accepts. */
  UfoBackend *(*new_peer)(UfoBackend *be, GError **error);
  /* Frame preprocessing (preprocess.h, inference §3). prep_new (optional, NULL = no state):
   * per-session state for preprocess (non-NULL on success); prep_free releases it. preprocess:
   * y (3, S*S) = the host frame image converted, resized and normalised per p, bit-identical to
   * ufo_preprocess_host; the frame's bytes are the only host -> backend copy. */
  void *(*prep_new)(UfoBackend *be, GError **error);
  /* (optional, NULL = host images only) The CUDA context (CUcontext) of the backend's device
   * memory; preprocess then also takes images in UFO_MEMORY_CUDA of that context, converting
   * them in place (ufo.h UfoMemory). */
  void *(*cuda_context)(UfoBackend *be);
  void (*prep_free)(UfoBackend *be, void *state);
  gboolean (*preprocess)(UfoBackend *be, void *state, UfoView y, const UfoImage *image,
                         const UfoPrepParams *p, GError **error);
  /* (optional, NULL = every op has finished when it returns) Waits for the work enqueued so far.
   * Ops may run asynchronously: an op's failure may surface only at the next synchronize or
   * download, which then returns FALSE with that error (never lost). */
  gboolean (*synchronize)(UfoBackend *be, GError **error);
  /* (optional, NULL = no device clock: the ops are timed by the host) Device timestamps:
   * stamp records, behind the work enqueued so far, a timestamp into *stamp (made on first use,
   * reused after; stamp_free releases it); stamp_elapsed gives the device milliseconds from a to
   * b, both recorded (waits for b). For the time the device spends on a stage, apart from the
   * host's time to enqueue it (CUDA: events). */
  gboolean (*stamp)(UfoBackend *be, void **stamp, GError **error);
  gboolean (*stamp_elapsed)(UfoBackend *be, void *a, void *b, double *ms, GError **error);
  void (*stamp_free)(UfoBackend *be, void *stamp);
  /* (optional, NULL = no graphs; all four or none) Graphs of ops (CUDA graphs): between
   * graph_begin and graph_end the ops issued by this thread are recorded, not run; graph_end
   * (keep TRUE) gives the recording as a graph, that graph_launch replays with the same operands
   * at the same addresses, in stream order with the other ops. An op the recording cannot hold
   * (a host transfer, a synchronisation, an allocation) fails, and graph_end then fails too
   * (keep FALSE: the recording is discarded, *graph NULL); the backend is usable either way.
   * graph_free releases a graph. Callers use ufo_backend_run_graph (graph.h). */
  gboolean (*graph_begin)(UfoBackend *be, GError **error);
  gboolean (*graph_end)(UfoBackend *be, gboolean keep, void **graph, GError **error);
  gboolean (*graph_launch)(UfoBackend *be, void *graph, GError **error);
  void (*graph_free)(UfoBackend *be, void *graph);
} UfoBackendOps;

typedef struct _UfoOpProfile UfoOpProfile;

struct _UfoBackend {
  const UfoBackendOps *ops;
  void *ctx;
  /* Kept by the wrappers (backend.c): bytes copied host -> backend and backend -> host
   * (uploads, downloads, the results of argmax_rows, log_softmax_topk and the mask ops). */
  uint64_t bytes_up, bytes_down;
  /* Allocations of backend memory made for this backend: tensors (ufo_tensor_new/_typed) and
   * the backend's own buffers (scratch growth, bf16 weight copies, workspaces). Frames of a
   * prepared task (ufo_session_prepare) leave it unchanged. */
  uint64_t allocs;
  UfoOpProfile *profile; /* profile.h; NULL = off */
  /* Whether ufo_backend_run_graph may record graphs (graph.h): TRUE when the backend has them,
   * unless the environment says UFO_GRAPHS=0 (set by ufo_backend_new). */
  gboolean graphs;
  /* Which memory the tensors live in among backends with the same ops (set by the constructor):
   * the GPU ordinal for CUDA, 0 for host memory. */
  int memory;
  /* What weight GEMMs run in (fp32 or bf16): set by ufo_backend_set_precision, lowered to fp32
   * by a backend that cannot honour bf16 (set_precision). */
  UfoPrecision precision;
  /* A failure of work that an op enqueued and returned TRUE for (ops may be asynchronous),
   * recorded by the backend with ufo_backend_report_late: the next synchronize or download
   * returns it (once); one never reported is logged when the backend is freed. Never lost. */
  GError *late_error;
};

/* For backends: records a failure of earlier, already-returned work (takes err; the first one
 * is kept, later ones are logged). */
void ufo_backend_report_late(UfoBackend *be, GError *err);
/* TRUE, or FALSE with the recorded late failure (which is then cleared). */
gboolean ufo_backend_take_late_error(UfoBackend *be, GError **error);

/* Whether tensors of backend b may be operands of a's ops: a == b, or both have the same ops
 * (with new_peer: a backend that shares) on the same memory (CPU: the host; CUDA: one device,
 * whose pointers every stream of the process may use). The wrappers accept such operands:
 * weights uploaded once per device are read by every session's backend. */
gboolean ufo_backend_shares_memory(const UfoBackend *a, const UfoBackend *b);
/* The CUDA context of be's device memory (ops cuda_context), NULL for a host-only backend or
 * where the driver did not give it. */
void *ufo_backend_cuda_context(UfoBackend *be);

/* CPU backend (backend/cpu): OpenBLAS (fp32), oneDNN (bf16 weight GEMMs) + a thread pool;
 * threads <= 0 = number of cores. */
UfoBackend *ufo_backend_cpu_new(int threads, GError **error);
/* The oneDNN implementation of the CPU backend's bf16 weight GEMMs (its impl_info_str, e.g.
 * "brg:avx512_core_bf16"), known once the process made its first one; NULL before. */
const char *ufo_backend_cpu_gemm_impl(void);
/* The oneDNN implementation of the CPU backend's attention products (attention_dnnl.c: QK^T and
 * PV of groups of 8 queries and more) at precision (fp32 or bf16), known once the process made
 * its first one; NULL before (decode rows run on the plain kernels). */
const char *ufo_backend_cpu_attention_impl(UfoPrecision precision);
/* Whether the CPU backend's precision=bf16 runs bf16 (oneDNN with native bf16: AVX512-BF16 or
 * AMX, within ONEDNN_MAX_CPU_ISA); FALSE: its bf16 sessions compute in fp32. */
gboolean ufo_backend_cpu_bf16_native(void);
/* The CPU backend's plain reference loops only (single thread, no BLAS): the yardstick of the
 * op-parity tests. */
UfoBackend *ufo_backend_cpu_ref_new(GError **error);
/* CUDA backend (backend/cuda), "cuda": GPU gpu_id, tensors in device memory, GEMMs on cuBLASLt.
 * Exists only in builds with the CUDA backend (UFO_HAVE_CUDA: nvcc and cuBLASLt found); fails
 * with "no usable CUDA device: ..." or "gpu-id N out of range (M devices)". */
UfoBackend *ufo_backend_cuda_new(int gpu_id, GError **error);
/* The same CUDA sources on the CPU emulation of CUDA, "cuda-emu": exists only in the test-only
 * library ufo-cuda-emu (never in libufo). */
UfoBackend *ufo_backend_cuda_emu_new(GError **error);
/* Kernels the emulation has launched so far in the process (tests count a step's launches). */
uint64_t ufo_cuda_emu_launches(void);
/* Test seam (tests/common/backend_by_name.h, --device=cuda-emu): a constructor that
 * ufo_backend_new calls for UFO_DEVICE_CUDA instead of the build's CUDA backend, so that whole
 * sessions run on the emulated CUDA kernels in CI. NULL (the default) removes it; set it before
 * sessions are made. Elements and tools never set it. */
typedef UfoBackend *(*UfoCudaBackendCtor)(int gpu_id, GError **error);
void ufo_backend_set_test_cuda_ctor(UfoCudaBackendCtor ctor);
void ufo_backend_free(UfoBackend *be);
/* The backend for a device (factory.c): cpu (threads <= 0 = all cores), cuda (GPU gpu_id; an
 * error when this build has no CUDA backend or the GPU is not usable), auto (the GPU when one is
 * usable, else the CPU, logged). */
UfoBackend *ufo_backend_new(UfoDevice device, int gpu_id, int threads, GError **error);
/* Validating wrapper of argmax_rows (select.c): x inside its tensor, n >= 1 rows, host
 * outputs given, forced tokens inside the row. */
gboolean ufo_op_argmax_rows(UfoBackend *be, UfoView x, const int32_t *force, const float *margin,
                            int32_t *ids, float *prob, GError **error);
/* Validating wrapper of argmax_rows_to (backend.c): x an f32 view (n >= 1 rows) of this
 * backend's memory; force an i32 column inside its last upload with values in −1..V−1 and margin
 * an f32 column (or empty views); ids an i32 and prob an f32 column of n rows, ld 1, prob not
 * overlapping x. ids' tensor no longer counts as uploaded indices (UfoIndexRange cleared). */
gboolean ufo_op_argmax_rows_to(UfoBackend *be, UfoView x, UfoView force, UfoView margin,
                               UfoView ids, UfoView prob, GError **error);
/* Validating wrapper of log_softmax_topk (select.c): x inside its tensor, k in 1..V, τ > 0,
 * host outputs given, forced tokens inside the row; counts 8·n·k bytes down. */
gboolean ufo_op_log_softmax_topk(UfoBackend *be, UfoView x, float temperature, const int32_t *force,
                                 const float *margin, const float *bias, int k, float *val,
                                 int32_t *idx, GError **error);
/* Validating wrappers of the mask ops (masks.c; contracts in UfoBackendOps). mask_logits: e
 * (16n, C) with n >= 1, f (hp*wp, C), u (n*4*hp, 4*wp) overlapping neither. The others: u
 * (n*uh, uw) with n >= 1, oh, ow >= 1, host outputs given; mask_probs: boxes of at least one
 * pixel inside (oh, ow), an output for each (prob or gray, not both); mask_semantic: slots of at
 * least one map each, slot_end ending at n, slot_class strictly ascending in 0..65535. Each counts
 * the bytes its host outputs take. */
gboolean ufo_op_mask_logits(UfoBackend *be, UfoView u, UfoView e, UfoView f, int hp, int wp,
                            GError **error);
gboolean ufo_op_mask_threshold(UfoBackend *be, UfoView u, int n, int oh, int ow, float thr,
                               uint64_t *bits, double *sum, int64_t *count, GError **error);
gboolean ufo_op_mask_probs(UfoBackend *be, UfoView u, int n, int oh, int ow, const int32_t *box,
                           float *const *prob, uint8_t *const *gray, GError **error);
gboolean ufo_op_mask_semantic(UfoBackend *be, UfoView u, int n, int oh, int ow, const float *score,
                              const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                              uint16_t *labels, GError **error);
/* A new backend on the same memory as be whose tensors be's ops accept (backend.h new_peer):
 * the owner of weights shared between sessions; UNSUPPORTED when the backend cannot share. */
UfoBackend *ufo_backend_new_peer(UfoBackend *be, GError **error);
/* Waits for the backend's enqueued work (backend.h synchronize); TRUE at once on synchronous
 * backends. */
gboolean ufo_backend_synchronize(UfoBackend *be, GError **error);
/* Device timestamps (UfoBackendOps.stamp): FALSE without an error and *stamp untouched when the
 * backend has no device clock; ufo_backend_stamp_elapsed needs two recorded stamps. */
gboolean ufo_backend_has_stamps(const UfoBackend *be);
/* UfoBackendOps.decode_pass_rows, its default resolved (>= 2) */
int64_t ufo_backend_decode_pass_rows(const UfoBackend *be);
gboolean ufo_backend_stamp(UfoBackend *be, void **stamp, GError **error);
gboolean ufo_backend_stamp_elapsed(UfoBackend *be, void *a, void *b, double *ms, GError **error);
void ufo_backend_stamp_free(UfoBackend *be, void *stamp);

/* Tensor helpers (backend.c). */
UfoTensor *ufo_tensor_new(UfoBackend *be, int ndim, const int64_t *ne, GError **error);
/* A tensor of another element type (ufo_tensor_new: f32). */
UfoTensor *ufo_tensor_new_typed(UfoBackend *be, UfoDType dtype, int ndim, const int64_t *ne,
                                GError **error);
UfoTensor *ufo_tensor_new_2d(UfoBackend *be, int64_t rows, int64_t cols, GError **error);
/* Tensor holding a copy of (or, when the backend can, aliasing) read-only host data. */
UfoTensor *ufo_tensor_from_host(UfoBackend *be, int ndim, const int64_t *ne, const float *host,
                                GError **error);
void ufo_tensor_free(UfoTensor *t);
/* The whole tensor as a (ne[0], n / ne[0]) matrix. */
UfoView ufo_view(UfoTensor *t);
/* rows x cols at (row, col) of a view. */
UfoView ufo_view_sub(UfoView v, int64_t row, int64_t col, int64_t rows, int64_t cols);
/* A (rows x cols) matrix with leading dimension ld at element offset off. */
UfoView ufo_view_at(UfoTensor *t, size_t off, int64_t rows, int64_t cols, int64_t ld);
/* The empty view (optional operands). */
#define UFO_VIEW_NONE ((UfoView){NULL, 0, 0, 0, 0})

/* Checks that v is an f32 view whose every element lies inside its tensor (TRUE for the empty
 * view). */
gboolean ufo_view_check(UfoView v, const char *what, GError **error);

/* ---- the validating wrappers (backend.c): the only way callers run an op -------------------
 * Each checks its operands and returns FALSE with UFO_ERROR_INVALID "<op>: ..." before the
 * backend is called when: a required view is missing, a view lies outside its tensor, a view
 * belongs to a backend whose memory be cannot use (ufo_backend_shares_memory), shapes do not match
 * the op's contract (backend.h UfoBackendOps), an aliasing rule is broken or an index is out of
 * range. Errors of the computation itself (out of memory, device failures) come from the backend.
 */

/* Host -> tensor elements [off, off + n) (n may be 0) of an f32 tensor. */
gboolean ufo_tensor_upload(UfoTensor *t, size_t off, const float *host, size_t n, GError **error);
/* Tensor elements [off, off + n) of an f32 tensor -> host. */
gboolean ufo_tensor_download(const UfoTensor *t, size_t off, float *host, size_t n, GError **error);
/* The same for i32 tensors; the upload records the values' range (t->known, UfoIndexRange). A
 * transfer of the other element type is refused (UFO_ERROR_INVALID). */
gboolean ufo_tensor_upload_i32(UfoTensor *t, size_t off, const int32_t *host, size_t n,
                               GError **error);
gboolean ufo_tensor_download_i32(const UfoTensor *t, size_t off, int32_t *host, size_t n,
                                 GError **error);
/* Precision of weight GEMMs (UfoBackendOps.set_precision); fp32 is always accepted, bf16 fails
 * with UFO_ERROR_UNSUPPORTED on a backend without set_precision, auto takes the backend's
 * auto_precision (fp32 without one) and logs the choice once per process and backend.
 * be->precision then holds what runs. */
gboolean ufo_backend_set_precision(UfoBackend *be, UfoPrecision precision, GError **error);

/* UfoGemm; C must not overlap A, B or the bias. */
gboolean ufo_op_gemm(UfoBackend *be, const UfoGemm *p, GError **error);
gboolean ufo_op_linear(UfoBackend *be, const UfoLinear *p, GError **error);
/* A validated UfoLinear as layer_norm, gemm (one per destination) and gelu ops (ufo_op_*): how
 * ufo_op_linear runs what the backend does not fuse. */
gboolean ufo_linear_composed(UfoBackend *be, const UfoLinear *p, GError **error);
/* The UfoGemm of destination `second` (0: y, 1: y2) of linear p on A = a: the rows of the
 * weight and bias that destination takes, as ufo_linear_composed runs it (A = LN(x) in ln_out
 * when composed with an LN; a backend that fuses the LN passes x). */
UfoGemm ufo_linear_gemm(const UfoLinear *p, UfoView a, int second);
/* y, x (R, C), w, b (1, C); y is x or does not overlap it. */
gboolean ufo_op_layer_norm(UfoBackend *be, UfoView y, UfoView x, UfoView w, UfoView b, float eps,
                           GError **error);
/* y, x same shape; y is x or does not overlap it. */
gboolean ufo_op_gelu(UfoBackend *be, UfoView y, UfoView x, GError **error);
/* y, a (R, C), b (R, C) or (1, C); y is a (or b when not broadcast) or overlaps neither. */
gboolean ufo_op_add(UfoBackend *be, UfoView y, UfoView a, UfoView b, GError **error);
/* y, x same shape; y is x or does not overlap it. */
gboolean ufo_op_copy(UfoBackend *be, UfoView y, UfoView x, GError **error);
/* UfoAttention; out overlaps no input. */
gboolean ufo_op_attention(UfoBackend *be, const UfoAttention *p, GError **error);
/* y, x (h*w, C), h and w multiples of ws; y and x in different tensors. */
gboolean ufo_op_window_partition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                 GError **error);
gboolean ufo_op_window_unpartition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                   GError **error);
/* y (q, C), x (h*w, C), ref an f32 (q, 2) view of points; y does not overlap x or ref. */
gboolean ufo_op_grid_sample(UfoBackend *be, UfoView y, UfoView x, int h, int w, UfoView ref,
                            GError **error);
/* y (oh*ow, C), x (ih*iw, C); y does not overlap x. */
gboolean ufo_op_resize_bicubic(UfoBackend *be, UfoView y, UfoView x, int ih, int iw, int oh, int ow,
                               GError **error);
/* y (Lo, d), x (Li, d); y does not overlap x. */
gboolean ufo_op_resize_linear(UfoBackend *be, UfoView y, UfoView x, GError **error);
/* ids an i32 (y.rows, 1) column with ld 1 inside its last upload, whose values lie in
 * [0, table.rows) (its UfoIndexRange); y does not overlap the table. */
gboolean ufo_op_embed(UfoBackend *be, UfoView y, UfoView table, UfoView ids, GError **error);
/* idx like embed's ids with values in [0, x.rows) (the empty view: y.rows <= x.rows); y
 * overlapping x only as the same rows (same offset and ld) with idx[i] >= i (the upload's
 * ge_position: in-place compaction). */
gboolean ufo_op_gather_rows(UfoBackend *be, UfoView y, UfoView x, UfoView idx, GError **error);
/* acc, x same shape, 0 <= k < n; acc does not overlap x. */
gboolean ufo_op_mean_acc(UfoBackend *be, UfoView acc, UfoView x, int k, int n, GError **error);
/* y (h/p*w/p, 3*p*p), x (3*h, w); y does not overlap x. */
gboolean ufo_op_patchify(UfoBackend *be, UfoView y, UfoView x, int h, int w, int p, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoTensor, ufo_tensor_free)

#endif
