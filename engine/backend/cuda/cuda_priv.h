/* CUDA backend internals shared by its .cu files (one file per op family). Tensor data is a
 * device pointer (float *, or the emulation's host memory); ops receive views already checked
 * (bounds and shapes) and enqueue work on the backend's stream without synchronising. */
#ifndef UFO_BACKEND_CUDA_PRIV_H
#define UFO_BACKEND_CUDA_PRIV_H

#include "cuda_compat.h"

extern "C" {
#include "../backend.h"
}

namespace UFO_CUDA_NS
{

typedef struct {
  int device;             /* CUDA ordinal */
  cudaStream_t stream;    /* every op of this backend runs on it, in order */
  UfoPrecision precision; /* of weight GEMMs (set_precision) */
  void *lt;               /* GEMM wrapper state (gemm.cu): cuBLASLt handle + workspace */
  int grid_cap;           /* most blocks of a grid-stride kernel (elementwise, layout, resample) */
  int sm_count;           /* multiprocessors */
  size_t smem_optin;      /* most dynamic shared memory per block after cudaFuncSetAttribute */
  /* Device scratch, one buffer per use, grown when an op needs more; ufo_session_prepare's
   * warm-up frame sizes them, so frames after it allocate nothing (counted in allocs).
   * Stream-ordered: a buffer is reused only after the ops before it. */
  void *scratch[5];
  size_t scratch_bytes[5];
  uint64_t *allocs; /* the backend's allocation counter (backend.h UfoBackend.allocs) */
  /* context.cu: the CUcontext of the device memory (the primary context; emulation: a token),
   * NULL where the driver's entry points could not be had, and the driver's
   * cuPointerGetAttribute (NULL in the emulation) */
  void *context;
  void *pointer_get_attribute;
} UfoCuda;

/* The scratch buffers (ufo_cuda_scratch). */
enum {
  UFO_CUDA_SCRATCH_TEMP = 0, /* float rows (gather through a copy, attention partials) */
  UFO_CUDA_SCRATCH_BF16,     /* the bf16 copy of a GEMM's A operand */
  UFO_CUDA_SCRATCH_HOST,     /* emulated build only: bf16 operands widened for OpenBLAS */
  UFO_CUDA_SCRATCH_SELECT,   /* argmax_rows, log_softmax_topk: forcing in, selection out */
  UFO_CUDA_SCRATCH_MASK,     /* mask ops: the mask product, parameters in, results out */
};

#define UFO_CUDA(be) ((UfoCuda *)(be)->ctx)

/* Device pointer of element (0, 0) of a checked f32 view. */
static inline float *ufo_cuda_ptr(UfoView v)
{
  return (float *)v.t->data + v.off;
}

/* Device pointer of element 0 of a checked i32 view (index operands), NULL for the empty view. */
static inline const int32_t *ufo_cuda_iptr(UfoView v)
{
  return v.t ? (const int32_t *)v.t->data + v.off : NULL;
}

/* FALSE with a UFO_ERROR_BACKEND error "<what>: <CUDA error name>: <string>" unless st is
 * cudaSuccess (cuda_backend.cu). */
gboolean ufo_cuda_ok(cudaError_t st, const char *what, GError **error);
/* After a launch: the launch error (bad configuration, too much shared memory), if any. */
gboolean ufo_cuda_launched(const char *kernel, GError **error);

/* Scratch buffer `slot` of at least `bytes` (cuda_backend.cu); grows it (after the stream's
 * work so far) when smaller. NULL with an error when out of memory. */
void *ufo_cuda_scratch(UfoCuda *cu, int slot, size_t bytes, GError **error);
/* cudaMalloc with the "out of GPU memory allocating X MiB (Y MiB free of Z)" error; counted in
 * cu's backend's allocs (cu NULL: tensors, which ufo_tensor_new counts). */
void *ufo_cuda_malloc(UfoCuda *cu, size_t bytes, const char *what, GError **error);
/* Host -> device copy on the stream (pageable host memory: returns once staged). */
gboolean ufo_cuda_upload_bytes(UfoCuda *cu, void *dst, const void *src, size_t bytes,
                               const char *what, GError **error);

/* Blocks for a grid-stride loop over n items with `threads` per block: at least 1, at most
 * cu->grid_cap. */
static inline unsigned ufo_cuda_blocks(const UfoCuda *cu, int64_t n, int threads)
{
  int64_t b = (n + threads - 1) / threads;
  return (unsigned)(b < 1 ? 1 : b > cu->grid_cap ? cu->grid_cap : b);
}

/* Grid-stride loop of a kernel over the items of a (rows, cols) output, int64: item i is row r,
 * column c. One division per thread, at the start: a step of the loop advances (r, c) by the
 * grid's stride in rows and columns with a carry (the grid is capped at cu->grid_cap blocks, so
 * a 4,900 x 768 output takes ~14 steps a thread, and a 64-bit division costs tens of integer
 * instructions on the GPU, more than the element's load and store). */
#define UFO_CUDA_FOR_ITEMS(rows, cols)                                                             \
  for (int64_t ufo_n_ = (cols), ufo_s_ = (int64_t)gridDim.x * blockDim.x,                          \
               i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x, total = (rows)*ufo_n_,          \
               r = i / ufo_n_, c = i - r * ufo_n_, ufo_sr_ = ufo_s_ / ufo_n_,                      \
               ufo_sc_ = ufo_s_ - ufo_sr_ * ufo_n_;                                                \
       i < total; i += ufo_s_, r += ufo_sr_, c += ufo_sc_, r += c >= ufo_n_ ? 1 : 0,               \
               c -= c >= ufo_n_ ? ufo_n_ : 0)

/* Op families, one .cu each; the vtable is in cuda_backend.cu. Operands arrive checked
 * (backend.c ufo_op_* wrappers); each function enqueues its kernels on cu->stream. */
gboolean ufo_cuda_gemm_init(UfoCuda *cu, GError **error); /* gemm.cu: cuBLASLt + workspace */
void ufo_cuda_gemm_fini(UfoCuda *cu);
void ufo_cuda_derived_free(UfoTensor *t); /* bf16 copies of a weight (t->derived) */
gboolean ufo_cuda_gemm(UfoCuda *cu, const UfoGemm *p, GError **error);
/* Leading dimension of a bf16 weight copy with `cols` columns: whole 16-byte rows (cuBLASLt's
 * tensor-core kernels, linear.cu's vector loads); the padding columns are never written. */
static inline int64_t ufo_cuda_bf16_ld(int64_t cols)
{
  return (cols + 7) / 8 * 8;
}
/* The bf16 copy of weight view v (rows of ufo_cuda_bf16_ld(v.cols)), made once on first use and
 * kept on the tensor (gemm.cu); NULL with an error when out of memory. */
const __nv_bfloat16 *ufo_cuda_weight_bf16(UfoCuda *cu, UfoView v, GError **error);
/* linear.cu: the fused linear of few rows (UfoLinear) at precision bf16 */
gboolean ufo_cuda_linear_fuses(const UfoCuda *cu, const UfoLinear *p);
gboolean ufo_cuda_linear(UfoCuda *cu, const UfoLinear *p, GError **error);
gboolean ufo_cuda_layer_norm(UfoCuda *cu, UfoView y, UfoView x, UfoView w, UfoView b, float eps,
                             GError **error); /* elementwise.cu */
gboolean ufo_cuda_gelu(UfoCuda *cu, UfoView y, UfoView x, GError **error);
gboolean ufo_cuda_add(UfoCuda *cu, UfoView y, UfoView a, UfoView b, GError **error);
gboolean ufo_cuda_copy(UfoCuda *cu, UfoView y, UfoView x, GError **error);
gboolean ufo_cuda_mean_acc(UfoCuda *cu, UfoView acc, UfoView x, int k, int n, GError **error);
/* C = beta * C + bias (beta == 0: C = bias, C never read) on `batch` (m, n) blocks of C
 * stride_c apart: how the GEMM wrapper applies a bias outside cuBLASLt's epilogue. */
gboolean ufo_cuda_bias_fold(UfoCuda *cu, float *c, int64_t ldc, size_t stride_c, int batch,
                            int64_t m, int64_t n, float beta, const float *bias, GError **error);
gboolean ufo_cuda_window_partition(UfoCuda *cu, UfoView y, UfoView x, int h, int w, int ws,
                                   gboolean inverse, GError **error); /* layout.cu */
gboolean ufo_cuda_gather_rows(UfoCuda *cu, UfoView y, UfoView x, UfoView idx, GError **error);
gboolean ufo_cuda_patchify(UfoCuda *cu, UfoView y, UfoView x, int h, int w, int p, GError **error);
gboolean ufo_cuda_grid_sample(UfoCuda *cu, UfoView y, UfoView x, int h, int w, UfoView ref,
                              GError **error); /* resample.cu */
gboolean ufo_cuda_resize_bicubic(UfoCuda *cu, UfoView y, UfoView x, int ih, int iw, int oh, int ow,
                                 GError **error);
gboolean ufo_cuda_resize_linear(UfoCuda *cu, UfoView y, UfoView x, GError **error);
gboolean ufo_cuda_attention(UfoCuda *cu, const UfoAttention *p, GError **error); /* attention.cu */
/* attention_mma.cu: the bf16 tensor-core path (precision bf16, groups of many queries);
 * ufo_cuda_attention takes it when ufo_cuda_attention_mma_fits. */
gboolean ufo_cuda_attention_mma_fits(const UfoCuda *cu, const UfoAttention *p);
gboolean ufo_cuda_attention_mma(UfoCuda *cu, const UfoAttention *p, GError **error);
gboolean ufo_cuda_argmax_rows(UfoCuda *cu, UfoView x, const int32_t *force, const float *margin,
                              int32_t *ids, float *prob, GError **error); /* select.cu */
gboolean ufo_cuda_argmax_rows_to(UfoCuda *cu, UfoView x, UfoView force, UfoView margin, UfoView ids,
                                 UfoView prob, GError **error); /* select.cu */
gboolean ufo_cuda_log_softmax_topk(UfoCuda *cu, UfoView x, float temperature, const int32_t *force,
                                   const float *margin, const float *bias, int k, float *val,
                                   int32_t *idx, GError **error); /* select.cu */

/* context.cu: the device memory's CUDA context (backend.h cuda_context), found once when the
 * backend is made (on its device, after the runtime made the primary context current); and the
 * check that a pointer of an image in UFO_MEMORY_CUDA is device memory of that context
 * (emulation: one context, device memory its own or the tests' fake driver's);
 * ufo_cuda_pointer_is_device: whether a pointer is device memory at all (a frame that says it
 * is in host memory must not be). */
void ufo_cuda_context_init(UfoCuda *cu);
gboolean ufo_cuda_pointer_is_device(UfoCuda *cu, const void *ptr);
gboolean ufo_cuda_check_device_pointer(UfoCuda *cu, const void *ptr, const char *what,
                                       GError **error);

/* graph.cu: CUDA graphs of the stream's work (backend.h graph_begin .. graph_free) */
gboolean ufo_cuda_graph_begin(UfoCuda *cu, GError **error);
gboolean ufo_cuda_graph_end(UfoCuda *cu, gboolean keep, void **graph, GError **error);
gboolean ufo_cuda_graph_launch(UfoCuda *cu, void *graph, GError **error);
void ufo_cuda_graph_free(UfoCuda *cu, void *graph);

/* preprocess.cu: the frame preprocessing op (backend.h prep_new, prep_free, preprocess) */
void *ufo_cuda_prep_new(UfoCuda *cu, GError **error);
void ufo_cuda_prep_free(UfoCuda *cu, void *state);
gboolean ufo_cuda_preprocess(UfoCuda *cu, void *state, UfoView y, const UfoImage *image,
                             const UfoPrepParams *p, GError **error);

/* masks.cu: the segmentation mask ops (backend.h mask_*) */
gboolean ufo_cuda_mask_logits(UfoCuda *cu, UfoView u, UfoView e, UfoView f, int hp, int wp,
                              GError **error);
gboolean ufo_cuda_mask_threshold(UfoCuda *cu, UfoView u, int n, int oh, int ow, float thr,
                                 uint64_t *bits, double *sum, int64_t *count, GError **error);
gboolean ufo_cuda_mask_probs(UfoCuda *cu, UfoView u, int n, int oh, int ow, const int32_t *box,
                             float *const *prob, uint8_t *const *gray, GError **error);
gboolean ufo_cuda_mask_semantic(UfoCuda *cu, UfoView u, int n, int oh, int ow, const float *score,
                                const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                                uint16_t *labels, GError **error);

} /* namespace UFO_CUDA_NS */

#endif
