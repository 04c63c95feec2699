/* CPU backend internals: context, kernels (fast) and their plain reference loops (*_ref).
 * Kernels receive views already checked by the ufo_op_* wrappers (backend.c: bounds, shapes). */
#ifndef UFO_BACKEND_CPU_CPU_H
#define UFO_BACKEND_CPU_CPU_H

#include "../backend.h"
#include "threadpool.h"
#include "../select_math.h"

#include <math.h>
#include <string.h>

/* precision=bf16 state of a backend (gemm_dnnl.c): oneDNN stream, primitives per shape, buffers */
typedef struct _UfoCpuDnnl UfoCpuDnnl;
/* oneDNN attention state of a backend (attention_dnnl.c) */
typedef struct _UfoCpuAttn UfoCpuAttn;
/* oneDNN matmuls on strided operands, cached per shape (dnnl_mm.c) */
typedef struct _UfoDnnlMm UfoDnnlMm;
typedef struct _UfoDnnlMmPrim UfoDnnlMmPrim;

typedef struct {
  gboolean reference;     /* plain loops only */
  UfoPrecision precision; /* of weight GEMMs (set_precision) */
  int threads;
  UfoPool *pool;
  gboolean test_fail_late; /* ufo_cpu_test_fail_late: the next gemm reports a late failure */
  float **scratch;         /* per worker */
  size_t *scratch_n;
  uint64_t *allocs; /* the backend's allocation counter (backend.h UfoBackend.allocs) */
  UfoCpuDnnl *dnnl; /* made by the first bf16 GEMM; NULL before */
  UfoCpuAttn *attn; /* made by the first oneDNN attention; NULL before */
  UfoDnnlMm *mm;    /* made by the first oneDNN matmul of dnnl_mm.c; NULL before */
} UfoCpu;

/* Element pointer of a checked f32 view. */
static inline float *ufo_cpu_ptr(UfoView v)
{
  return (float *)v.t->data + v.off;
}

/* Element pointer of a checked i32 view (index operands). */
static inline const int32_t *ufo_cpu_iptr(UfoView v)
{
  return (const int32_t *)v.t->data + v.off;
}

/* exp(x) for x <= 0, about 1 ulp, branch-free (select_math.h) */
UFO_HOT_INLINE static inline float ufo_cpu_exp_neg(float x)
{
  return ufo_exp_neg(x);
}

/* a · b over n floats with 16 partial sums (vectorises without -ffast-math) */
static inline float ufo_cpu_dot(const float *restrict a, const float *restrict b, int64_t n)
{
  float acc[16] = {0};
  int64_t l = 0;
  for (; l + 16 <= n; l += 16)
    for (int u = 0; u < 16; u++)
      acc[u] += a[l + u] * b[l + u]; /* fused where the TU allows contraction */
  float s = 0.f;
  for (; l < n; l++)
    s += a[l] * b[l];
  for (int u = 0; u < 16; u++)
    s += acc[u];
  return s;
}

/* Host memory for tensors and packs: 2 MiB-aligned with MADV_HUGEPAGE from 4 MiB, else malloc;
 * NULL when out of memory; free() it. */
void *ufo_cpu_alloc_bytes(size_t bytes);

/* Grows every worker's scratch to at least n floats (done before a parallel region). */
void ufo_cpu_scratch_reserve(UfoCpu *cpu, size_t n);

/* Below these sizes the fast kernels run the plain loop / a single thread. */
#define UFO_CPU_BLAS_MIN_FLOPS 32768.0 /* 2*M*N*K: smaller GEMMs use the loop */
#define UFO_CPU_ROWS_PER_TASK 16       /* row-wise ops: grain of the thread pool */
/* Handing a chunk to a pool worker costs tens of microseconds (a condition-variable wake-up;
 * ~60 us measured on a 2-vCPU VM), more than a decode step's row-wise op over a few rows takes:
 * a pool task gets at least this many elements (multiply-adds for attention), so that small ops
 * run inline on the calling thread. */
#define UFO_CPU_MIN_TASK_WORK 32768

/* Pool grain (items per task) for items of work_per_item elements each. */
static inline int64_t ufo_cpu_grain(int64_t work_per_item, int64_t at_least)
{
  const int64_t g = UFO_CPU_MIN_TASK_WORK / (work_per_item > 0 ? work_per_item : 1);
  return g > at_least ? g : at_least;
}
#define UFO_CPU_GEMM_MIN_PART 64 /* GEMM rows/columns per pool work unit, at least */
#define UFO_CPU_SMALL_M 8        /* up to this many rows: gemm_rows.c, no packing of A */

void ufo_cpu_gemm_ref(const UfoGemm *p);
void ufo_cpu_gemm(UfoCpu *cpu, const UfoGemm *p);
/* gemm_rows.c: weight GEMMs (op(A) = A, op(B) = W^T) whose every element is one multiply-add
 * chain over k in order, independent of the other rows (UfoGemm.row_stable) */
gboolean ufo_cpu_gemm_rows_applies(const UfoGemm *p);
void ufo_cpu_gemm_rows(UfoCpu *cpu, const UfoGemm *p);

/* precision=bf16 (gemm_dnnl.c). A weight GEMM (backend.h UfoGemm) rounds A and B to bfloat16,
 * round to nearest even with fp32 denormals flushed to zero (as the AVX512-BF16 instructions
 * do), and accumulates in float32. */
float ufo_cpu_bf16_round(float x);
/* Whether precision=bf16 applies to this GEMM: batch 1, C = A·B^T, B a weight tensor. */
gboolean ufo_cpu_gemm_bf16_applies(const UfoGemm *p);
/* Plain loop: double sums of the bf16-rounded inputs. */
void ufo_cpu_gemm_bf16_ref(const UfoGemm *p);
/* oneDNN matmul on bf16 weights reordered once per view (cached on the tensor, t->derived) and
 * primitives cached per shape in cpu->dnnl; FALSE (error set) when oneDNN or memory fails.
 * Called only where ufo_cpu_bf16_supported() (the backend falls back to fp32 elsewhere). */
gboolean ufo_cpu_gemm_bf16(UfoCpu *cpu, const UfoGemm *p, GError **error);
/* The linear layer (backend.h UfoLinear) at precision=bf16 as one job: A = LN(x) converted to
 * bf16 once for both destinations (each worker its own rows where the products split rows),
 * the products as ufo_cpu_gemm_bf16 runs them, and GELU on each block of C while it is in the
 * worker's cache: bit for bit ufo_linear_composed's layer_norm, gemm and gelu ops (same row
 * functions, same conversion, same matmul blocks). ln_out is not written. _fuses: where it
 * applies (a weight; no product small enough for the plain loop). */
gboolean ufo_cpu_linear_bf16_fuses(const UfoLinear *p);
gboolean ufo_cpu_linear_bf16(UfoCpu *cpu, const UfoLinear *p, GError **error);
/* Releases a backend's oneDNN state (NULL: nothing). */
void ufo_cpu_dnnl_free(UfoCpuDnnl *d);
/* The process's oneDNN CPU engine (dnnl_engine_t), NULL when oneDNN has none. */
struct dnnl_engine *ufo_cpu_dnnl_engine(void);
/* dst[i] = bf16 bits of src[i] for n floats, rounded as ufo_cpu_bf16_round (AVX512-BF16
 * instructions on x86: call only where ufo_cpu_bf16_supported()). */
void ufo_cpu_bf16_convert(uint16_t *dst, const float *src, int64_t n);
/* Frees a tensor's bf16 weight copies (t->derived; made thread-safely, as several backends may
 * use one weight at once); returns the bytes released. */
size_t ufo_cpu_bf16_packs_free(void *derived);
/* oneDNN runs bf16 natively here (effective ISA with AVX512-BF16 or AMX, which
 * ONEDNN_MAX_CPU_ISA may cap) and no test override is set. */
gboolean ufo_cpu_bf16_supported(void);
/* Test hook of the asynchrony contract (backend.h late_error): the next GEMM computes, returns
 * TRUE and records a failure as an asynchronous backend would, for the next wait to report. */
void ufo_cpu_test_fail_late(UfoBackend *be);
/* Test hook: pretend the CPU lacks native bf16 (the fp32 fallback of set_precision). */
void ufo_cpu_bf16_test_pretend_unsupported(gboolean pretend);

void ufo_cpu_layer_norm_ref(UfoView y, UfoView x, UfoView w, UfoView b, float eps);
void ufo_cpu_layer_norm(UfoCpu *cpu, UfoView y, UfoView x, UfoView w, UfoView b, float eps);
void ufo_cpu_gelu_ref(UfoView y, UfoView x);
void ufo_cpu_gelu(UfoCpu *cpu, UfoView y, UfoView x);
/* One row of the ops above (n elements; y may be x), the code the ops run, for fusions that must
 * give the same bits (gemm_dnnl.c's linear). */
void ufo_cpu_layer_norm_row(float *y, const float *x, const float *w, const float *b, int64_t n,
                            float eps);
void ufo_cpu_gelu_row(float *y, const float *x, int64_t n);
void ufo_cpu_add_ref(UfoView y, UfoView a, UfoView b);
void ufo_cpu_add(UfoCpu *cpu, UfoView y, UfoView a, UfoView b);
void ufo_cpu_copy_ref(UfoView y, UfoView x);
void ufo_cpu_copy(UfoCpu *cpu, UfoView y, UfoView x);
void ufo_cpu_mean_acc_ref(UfoView acc, UfoView x, int k, int n);
void ufo_cpu_mean_acc(UfoCpu *cpu, UfoView acc, UfoView x, int k, int n);

/* dnnl_mm.c: C (m, n) = alpha * A (m, k) · B (k, n) [+ beta * C], A and B of type dt (a
 * dnnl_data_type_t: f32 or bf16) with strides sa, sb (elements), C f32 with leading dimension ldc;
 * one single-threaded oneDNN matmul per call on a pool worker. */
typedef struct {
  int dt;
  int64_t m, n, k, sa[2], sb[2], ldc;
  float alpha, beta;
} UfoDnnlMmKey;
/* The backend's cache (made on first use; NULL with error set when oneDNN has no engine). */
UfoDnnlMm *ufo_cpu_mm_cache(UfoCpu *cpu, GError **error);
void ufo_cpu_mm_free(UfoDnnlMm *c);
/* The primitive of a shape, made on first use (NULL, error set, on failure). Call before the
 * parallel region, then ufo_cpu_mm_reserve (the per-worker scratchpads), then run. */
const UfoDnnlMmPrim *ufo_cpu_mm_get(UfoDnnlMm *c, const UfoDnnlMmKey *key, GError **error);
gboolean ufo_cpu_mm_reserve(UfoCpu *cpu, UfoDnnlMm *c, GError **error);
/* One matmul on worker's stream: FALSE when oneDNN fails. */
gboolean ufo_cpu_mm_run(UfoDnnlMm *c, const UfoDnnlMmPrim *g, int worker, const void *a,
                        const void *b, float *dst);
/* oneDNN's implementation of the primitive (impl_info_str), NULL if unknown. */
const char *ufo_cpu_mm_impl(const UfoDnnlMmPrim *g);

void ufo_cpu_attention_ref(const UfoAttention *p);
void ufo_cpu_attention(UfoCpu *cpu, const UfoAttention *p);
/* Attention on oneDNN matmuls (attention_dnnl.c): whether it applies (groups of at least
 * UFO_CPU_ATTN_DNNL_MIN_Q queries, every key segment non-empty, a oneDNN engine: image, grid and
 * text passes; decode steps stay on attention.c) */
#define UFO_CPU_ATTN_DNNL_MIN_Q 8
gboolean ufo_cpu_attention_dnnl_applies(const UfoAttention *p);
/* At cpu->precision: bf16 rounds q, k, v and the softmax weights to bf16 (called only where
 * ufo_cpu_bf16_supported()); fp32 keeps every operand float32 (f32 matmuls). Products on oneDNN
 * matmuls with float32 accumulation; scores, rel-pos, softmax and the own key in float32; FALSE
 * (error set) when oneDNN or memory fails. */
gboolean ufo_cpu_attention_dnnl(UfoCpu *cpu, const UfoAttention *p, GError **error);
/* Releases a backend's oneDNN attention state (NULL: nothing). */
void ufo_cpu_attn_free(UfoCpuAttn *a);
/* The softmax's row loops of ufo_cpu_attention_dnnl (exposed for the tests): max(m, x[0..n));
 * and, at bf16 (only where ufo_cpu_bf16_supported()), w = exp(x − m) rounded to bf16 into
 * dst[0..n), returning Σ w of the weights before rounding (0 where x − m < −87.3, −inf or NaN) */
float ufo_cpu_attn_row_max(const float *x, int64_t n, float m);
float ufo_cpu_attn_row_exp_f32(float *x, int64_t n, float m);
float ufo_cpu_attn_row_exp_bf16(const float *x, int64_t n, float m, uint16_t *dst);

void ufo_cpu_window_partition_ref(UfoView y, UfoView x, int h, int w, int ws, gboolean inverse);
void ufo_cpu_window_partition(UfoCpu *cpu, UfoView y, UfoView x, int h, int w, int ws,
                              gboolean inverse);
void ufo_cpu_gather_rows_ref(UfoView y, UfoView x, const int32_t *idx);
void ufo_cpu_gather_rows(UfoCpu *cpu, UfoView y, UfoView x, const int32_t *idx);
void ufo_cpu_patchify_ref(UfoView y, UfoView x, int h, int w, int p);
void ufo_cpu_patchify(UfoCpu *cpu, UfoView y, UfoView x, int h, int w, int p);

/* backend.h argmax_rows (select.c): the same arithmetic on every path */
void ufo_cpu_argmax_rows(UfoCpu *cpu, UfoView x, const int32_t *force, const float *margin,
                         int32_t *ids, float *prob);
/* backend.h log_softmax_topk (select.c): the host beam search's arithmetic on every path */
void ufo_cpu_log_softmax_topk(UfoCpu *cpu, UfoView x, float temperature, const int32_t *force,
                              const float *margin, const float *bias, int k, float *val,
                              int32_t *idx);

/* backend.h mask ops (masks.c): the host reference's arithmetic; the reference backend
 * (cpu->reference) computes the mask product with a plain loop instead of OpenBLAS */
void ufo_cpu_mask_logits(UfoCpu *cpu, UfoView u, UfoView e, UfoView f, int hp, int wp);
void ufo_cpu_mask_threshold(UfoCpu *cpu, UfoView u, int n, int oh, int ow, float thr,
                            uint64_t *bits, double *sum, int64_t *count);
void ufo_cpu_mask_probs(UfoCpu *cpu, UfoView u, int n, int oh, int ow, const int32_t *box,
                        float *const *prob, uint8_t *const *gray);
void ufo_cpu_mask_semantic(UfoCpu *cpu, UfoView u, int n, int oh, int ow, const float *score,
                           const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                           uint16_t *labels);

/* ref: the (y.rows, 2) f32 points view */
void ufo_cpu_grid_sample_ref(UfoView y, UfoView x, int h, int w, UfoView ref);
void ufo_cpu_grid_sample(UfoCpu *cpu, UfoView y, UfoView x, int h, int w, UfoView ref);
void ufo_cpu_resize_bicubic_ref(UfoView y, UfoView x, int ih, int iw, int oh, int ow);
void ufo_cpu_resize_bicubic(UfoCpu *cpu, UfoView y, UfoView x, int ih, int iw, int oh, int ow);
void ufo_cpu_resize_linear_ref(UfoView y, UfoView x);

/* backend.h preprocess (preprocess.c): the host path (ufo_preprocess_host) into y in place, in
 * bands of output rows on the pool (the reference backend: in one piece) */
gboolean ufo_cpu_preprocess(UfoBackend *be, void *state, UfoView y, const UfoImage *image,
                            const UfoPrepParams *p, GError **error);

#endif
