/* The CUDA backend (backend.h UfoBackendOps): tensors in device memory (cudaMalloc), every op
 * enqueued on one stream of the backend, errors of the CUDA runtime turned into GErrors naming
 * the op or kernel. Compiled by nvcc into libufo ("cuda"), or by the host C++ compiler against
 * the emulation (emu/cuda_emu.h) into the test-only library ufo-cuda-emu ("cuda-emu").
 * Operands arrive checked by backend.c's wrappers: only CUDA's own failures are checked here. */
#include "cuda_priv.h"

#include <string.h>

namespace UFO_CUDA_NS
{

gboolean ufo_cuda_ok(cudaError_t st, const char *what, GError **error)
{
  if (st == cudaSuccess)
    return TRUE;
  g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "%s: %s: %s", what, cudaGetErrorName(st),
              cudaGetErrorString(st));
  return FALSE;
}

gboolean ufo_cuda_launched(const char *kernel, GError **error)
{
  return ufo_cuda_ok(cudaGetLastError(), kernel, error);
}

void *ufo_cuda_malloc(UfoCuda *cu, size_t bytes, const char *what, GError **error)
{
  void *p = NULL;
  cudaError_t st = cudaMalloc(&p, bytes > 0 ? bytes : 1);
  if (st == cudaSuccess) {
    if (cu && cu->allocs)
      (*cu->allocs)++;
    return p;
  }
  if (st != cudaErrorMemoryAllocation) {
    ufo_cuda_ok(st, what, error);
    return NULL;
  }
  (void)cudaGetLastError(); /* not sticky: clear it so later launches do not report it */
  size_t free_b = 0, total_b = 0;
  (void)cudaMemGetInfo(&free_b, &total_b);
  g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
              "cuda: out of GPU memory allocating %.1f MiB for %s (%.1f MiB free of %.1f)",
              bytes / 1048576.0, what, free_b / 1048576.0, total_b / 1048576.0);
  return NULL;
}

gboolean ufo_cuda_upload_bytes(UfoCuda *cu, void *dst, const void *src, size_t bytes,
                               const char *what, GError **error)
{
  return ufo_cuda_ok(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, cu->stream), what,
                     error);
}

void *ufo_cuda_scratch(UfoCuda *cu, int slot, size_t bytes, GError **error)
{
  if (cu->scratch_bytes[slot] >= bytes)
    return cu->scratch[slot];
  /* the old buffer may still be read by enqueued kernels */
  if (!ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "scratch", error))
    return NULL;
  if (cu->scratch[slot])
    (void)cudaFree(cu->scratch[slot]);
  cu->scratch[slot] = NULL;
  cu->scratch_bytes[slot] = 0;
  size_t grown = MAX(bytes, (size_t)4096);
  grown += grown / 2; /* amortise the growth */
  if (!(cu->scratch[slot] = ufo_cuda_malloc(cu, grown, "scratch", error)))
    return NULL;
  cu->scratch_bytes[slot] = grown;
  return cu->scratch[slot];
}

/* ---- the vtable ---- */

/* The backend's GPU for the calling thread (ops may come from any thread, e.g. GStreamer's). */
static gboolean use(UfoBackend *be, GError **error)
{
  return ufo_cuda_ok(cudaSetDevice(UFO_CUDA(be)->device), "cudaSetDevice", error);
}

static void cuda_destroy(UfoBackend *be)
{
  UfoCuda *cu = UFO_CUDA(be);
  if (cu == NULL)
    return;
  (void)cudaSetDevice(cu->device);
  if (cu->stream)
    (void)cudaStreamSynchronize(cu->stream); /* destroy cannot report: errors are dropped */
  for (size_t i = 0; i < G_N_ELEMENTS(cu->scratch); i++)
    if (cu->scratch[i])
      (void)cudaFree(cu->scratch[i]);
  ufo_cuda_gemm_fini(cu);
  if (cu->stream)
    (void)cudaStreamDestroy(cu->stream);
  g_free(cu);
  be->ctx = NULL;
}

static gboolean cuda_alloc(UfoBackend *be, UfoTensor *t, GError **error)
{
  t->borrowed = FALSE;
  t->derived = NULL;
  size_t size = ufo_dtype_size(t->dtype);
  if (t->n > SIZE_MAX / size) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "cuda: tensor of %zu elements too large",
                t->n);
    return FALSE;
  }
  if (!use(be, error))
    return FALSE;
  t->data = ufo_cuda_malloc(NULL, t->n * size, "a tensor", error);
  return t->data != NULL;
}

/* Drops the bf16 copies derived from a weight's contents (release, or new contents). The
 * stream is drained first: enqueued GEMMs may still read them. */
static void drop_derived(UfoBackend *be, UfoTensor *t)
{
  if (t->derived == NULL)
    return;
  (void)cudaStreamSynchronize(UFO_CUDA(be)->stream);
  ufo_cuda_derived_free(t);
}

static void cuda_release(UfoBackend *be, UfoTensor *t)
{
  (void)cudaSetDevice(UFO_CUDA(be)->device);
  if (t->data || t->derived)
    (void)cudaStreamSynchronize(UFO_CUDA(be)->stream); /* kernels may still use them */
  ufo_cuda_derived_free(t);
  if (t->data)
    (void)cudaFree(t->data);
  t->data = NULL;
}

/* upload/download: transfers arrive in range (backend.c ufo_tensor_upload/download) */
static gboolean cuda_upload(UfoBackend *be, UfoTensor *t, size_t off, const void *host, size_t n,
                            GError **error)
{
  if (!use(be, error))
    return FALSE;
  drop_derived(be, t);
  size_t size = ufo_dtype_size(t->dtype);
  return ufo_cuda_upload_bytes(UFO_CUDA(be), (char *)t->data + off * size, host, n * size, "upload",
                               error);
}

static gboolean cuda_download(UfoBackend *be, const UfoTensor *t, size_t off, void *host, size_t n,
                              GError **error)
{
  UfoCuda *cu = UFO_CUDA(be);
  if (!use(be, error))
    return FALSE;
  size_t size = ufo_dtype_size(t->dtype);
  /* an asynchronous failure of an earlier kernel surfaces at one of these */
  return ufo_cuda_ok(cudaMemcpyAsync(host, (const char *)t->data + off * size, n * size,
                                     cudaMemcpyDeviceToHost, cu->stream),
                     "download", error) &&
         ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "download", error);
}

/* device timestamps: CUDA events on the backend's stream (created once per stamp slot) */
static gboolean cuda_stamp(UfoBackend *be, void **stamp, GError **error)
{
  if (!use(be, error))
    return FALSE;
  if (*stamp == NULL) {
    cudaEvent_t ev;
    if (!ufo_cuda_ok(cudaEventCreate(&ev), "stamp: cudaEventCreate", error))
      return FALSE;
    *stamp = ev;
  }
  return ufo_cuda_ok(cudaEventRecord((cudaEvent_t)*stamp, UFO_CUDA(be)->stream),
                     "stamp: cudaEventRecord", error);
}

static gboolean cuda_stamp_elapsed(UfoBackend *be, void *a, void *b, double *ms, GError **error)
{
  float f = 0.f;
  if (!use(be, error) ||
      !ufo_cuda_ok(cudaEventSynchronize((cudaEvent_t)b), "stamp: cudaEventSynchronize", error) ||
      !ufo_cuda_ok(cudaEventElapsedTime(&f, (cudaEvent_t)a, (cudaEvent_t)b),
                   "stamp: cudaEventElapsedTime", error))
    return FALSE;
  *ms = f;
  return TRUE;
}

static void cuda_stamp_free(UfoBackend *be, void *stamp)
{
  (void)be;
  (void)cudaEventDestroy((cudaEvent_t)stamp);
}

/* graphs (graph.cu) */
static gboolean cuda_graph_begin(UfoBackend *be, GError **error)
{
  return use(be, error) && ufo_cuda_graph_begin(UFO_CUDA(be), error);
}

static gboolean cuda_graph_end(UfoBackend *be, gboolean keep, void **graph, GError **error)
{
  return ufo_cuda_graph_end(UFO_CUDA(be), keep, graph, error);
}

static gboolean cuda_graph_launch(UfoBackend *be, void *graph, GError **error)
{
  return use(be, error) && ufo_cuda_graph_launch(UFO_CUDA(be), graph, error);
}

static void cuda_graph_free(UfoBackend *be, void *graph)
{
  ufo_cuda_graph_free(UFO_CUDA(be), graph);
}

static gboolean cuda_synchronize(UfoBackend *be, GError **error)
{
  return use(be, error) &&
         ufo_cuda_ok(cudaStreamSynchronize(UFO_CUDA(be)->stream), "synchronize", error);
}

static gboolean cuda_set_precision(UfoBackend *be, UfoPrecision precision, GError **error)
{
  if (precision < 0 || precision >= UFO_N_PRECISIONS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown precision id %d", (int)precision);
    return FALSE;
  }
  UFO_CUDA(be)->precision = precision; /* bf16 GEMMs run on every supported GPU (sm_80+) */
  return TRUE;
}

/* bf16 on every supported GPU (sm_80+ tensor cores): 2.3x the fp32 frame on the H200
 * (docs/performance.md §5) */
static UfoPrecision cuda_auto_precision(UfoBackend *be, const char **why)
{
  *why = "tensor cores";
  return UFO_PRECISION_BF16;
}

static gboolean cuda_gemm(UfoBackend *be, const UfoGemm *p, GError **error)
{
  return use(be, error) && ufo_cuda_gemm(UFO_CUDA(be), p, error);
}

static gboolean cuda_linear_fuses(UfoBackend *be, const UfoLinear *p)
{
  return ufo_cuda_linear_fuses(UFO_CUDA(be), p);
}

static gboolean cuda_linear(UfoBackend *be, const UfoLinear *p, GError **error)
{
  return use(be, error) && ufo_cuda_linear(UFO_CUDA(be), p, error);
}

static gboolean cuda_layer_norm(UfoBackend *be, UfoView y, UfoView x, UfoView w, UfoView b,
                                float eps, GError **error)
{
  return use(be, error) && ufo_cuda_layer_norm(UFO_CUDA(be), y, x, w, b, eps, error);
}

static gboolean cuda_gelu(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  return use(be, error) && ufo_cuda_gelu(UFO_CUDA(be), y, x, error);
}

static gboolean cuda_add(UfoBackend *be, UfoView y, UfoView a, UfoView b, GError **error)
{
  return use(be, error) && ufo_cuda_add(UFO_CUDA(be), y, a, b, error);
}

static gboolean cuda_copy(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  return use(be, error) && ufo_cuda_copy(UFO_CUDA(be), y, x, error);
}

static gboolean cuda_attention(UfoBackend *be, const UfoAttention *p, GError **error)
{
  return use(be, error) && ufo_cuda_attention(UFO_CUDA(be), p, error);
}

static gboolean cuda_window_partition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                      GError **error)
{
  return use(be, error) && ufo_cuda_window_partition(UFO_CUDA(be), y, x, h, w, ws, FALSE, error);
}

static gboolean cuda_window_unpartition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                        GError **error)
{
  return use(be, error) && ufo_cuda_window_partition(UFO_CUDA(be), y, x, h, w, ws, TRUE, error);
}

static gboolean cuda_grid_sample(UfoBackend *be, UfoView y, UfoView x, int h, int w, UfoView ref,
                                 GError **error)
{
  return use(be, error) && ufo_cuda_grid_sample(UFO_CUDA(be), y, x, h, w, ref, error);
}

static gboolean cuda_resize_bicubic(UfoBackend *be, UfoView y, UfoView x, int ih, int iw, int oh,
                                    int ow, GError **error)
{
  return use(be, error) && ufo_cuda_resize_bicubic(UFO_CUDA(be), y, x, ih, iw, oh, ow, error);
}

static gboolean cuda_resize_linear(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  return use(be, error) && ufo_cuda_resize_linear(UFO_CUDA(be), y, x, error);
}

static gboolean cuda_embed(UfoBackend *be, UfoView y, UfoView table, UfoView ids, GError **error)
{
  return use(be, error) && ufo_cuda_gather_rows(UFO_CUDA(be), y, table, ids, error);
}

static gboolean cuda_gather_rows(UfoBackend *be, UfoView y, UfoView x, UfoView idx, GError **error)
{
  return use(be, error) && ufo_cuda_gather_rows(UFO_CUDA(be), y, x, idx, error);
}

static gboolean cuda_mean_acc(UfoBackend *be, UfoView acc, UfoView x, int k, int n, GError **error)
{
  return use(be, error) && ufo_cuda_mean_acc(UFO_CUDA(be), acc, x, k, n, error);
}

static gboolean cuda_patchify(UfoBackend *be, UfoView y, UfoView x, int h, int w, int p,
                              GError **error)
{
  return use(be, error) && ufo_cuda_patchify(UFO_CUDA(be), y, x, h, w, p, error);
}

static gboolean cuda_argmax_rows(UfoBackend *be, UfoView x, const int32_t *force,
                                 const float *margin, int32_t *ids, float *prob, GError **error)
{
  return use(be, error) && ufo_cuda_argmax_rows(UFO_CUDA(be), x, force, margin, ids, prob, error);
}

static gboolean cuda_argmax_rows_to(UfoBackend *be, UfoView x, UfoView force, UfoView margin,
                                    UfoView ids, UfoView prob, GError **error)
{
  return use(be, error) &&
         ufo_cuda_argmax_rows_to(UFO_CUDA(be), x, force, margin, ids, prob, error);
}

static gboolean cuda_log_softmax_topk(UfoBackend *be, UfoView x, float temperature,
                                      const int32_t *force, const float *margin, const float *bias,
                                      int k, float *val, int32_t *idx, GError **error)
{
  return use(be, error) && ufo_cuda_log_softmax_topk(UFO_CUDA(be), x, temperature, force, margin,
                                                     bias, k, val, idx, error);
}

static void *cuda_prep_new(UfoBackend *be, GError **error)
{
  return use(be, error) ? ufo_cuda_prep_new(UFO_CUDA(be), error) : NULL;
}

static void cuda_prep_free(UfoBackend *be, void *state)
{
  (void)use(be, NULL);
  ufo_cuda_prep_free(UFO_CUDA(be), state);
}

static gboolean cuda_preprocess(UfoBackend *be, void *state, UfoView y, const UfoImage *image,
                                const UfoPrepParams *p, GError **error)
{
  return use(be, error) && ufo_cuda_preprocess(UFO_CUDA(be), state, y, image, p, error);
}

static UfoBackend *backend_new(const UfoBackendOps *ops, int gpu_id, GError **error);

static void *cuda_context(UfoBackend *be)
{
  return UFO_CUDA(be)->context;
}

/* the owner of shared weights: its own stream on the same GPU (device pointers are valid on
 * every stream of the process) */
static UfoBackend *cuda_new_peer(UfoBackend *be, GError **error)
{
  return backend_new(be->ops, UFO_CUDA(be)->device, error);
}

static gboolean cuda_mask_logits(UfoBackend *be, UfoView u, UfoView e, UfoView f, int hp, int wp,
                                 GError **error)
{
  return use(be, error) && ufo_cuda_mask_logits(UFO_CUDA(be), u, e, f, hp, wp, error);
}

static gboolean cuda_mask_threshold(UfoBackend *be, UfoView u, int n, int oh, int ow, float thr,
                                    uint64_t *bits, double *sum, int64_t *count, GError **error)
{
  return use(be, error) &&
         ufo_cuda_mask_threshold(UFO_CUDA(be), u, n, oh, ow, thr, bits, sum, count, error);
}

static gboolean cuda_mask_probs(UfoBackend *be, UfoView u, int n, int oh, int ow,
                                const int32_t *box, float *const *prob, uint8_t *const *gray,
                                GError **error)
{
  return use(be, error) && ufo_cuda_mask_probs(UFO_CUDA(be), u, n, oh, ow, box, prob, gray, error);
}

static gboolean cuda_mask_semantic(UfoBackend *be, UfoView u, int n, int oh, int ow,
                                   const float *score, const int32_t *slot_end,
                                   const int32_t *slot_class, int n_slots, uint16_t *labels,
                                   GError **error)
{
  return use(be, error) && ufo_cuda_mask_semantic(UFO_CUDA(be), u, n, oh, ow, score, slot_end,
                                                  slot_class, n_slots, labels, error);
}

static UfoBackendOps make_ops(const char *name)
{
  UfoBackendOps o;
  memset(&o, 0, sizeof o);
  o.name = name;
  o.destroy = cuda_destroy;               /* drains the stream, frees scratch, cuBLASLt, stream */
  o.alloc = cuda_alloc;                   /* cudaMalloc */
  o.release = cuda_release;               /* cudaFree + the bf16 copies */
  o.wrap_host = NULL;                     /* weights are uploaded */
  o.upload = cuda_upload;                 /* cudaMemcpyAsync, drops the bf16 copies */
  o.download = cuda_download;             /* cudaMemcpyAsync + synchronize */
  o.set_precision = cuda_set_precision;   /* fp32; bf16 weight GEMMs (gemm.cu) */
  o.auto_precision = cuda_auto_precision; /* bf16 */
  o.gemm = cuda_gemm;                     /* gemm.cu, cuBLASLt */
  o.linear_fuses = cuda_linear_fuses;     /* linear.cu: few rows at bf16, else composed */
  o.linear = cuda_linear;                 /* linear.cu */
  o.layer_norm = cuda_layer_norm;         /* elementwise.cu */
  o.gelu = cuda_gelu;                     /* elementwise.cu */
  o.add = cuda_add;                       /* elementwise.cu */
  o.copy = cuda_copy;                     /* elementwise.cu */
  o.attention = cuda_attention;           /* attention.cu */
  o.window_partition = cuda_window_partition;     /* layout.cu */
  o.window_unpartition = cuda_window_unpartition; /* layout.cu */
  o.grid_sample = cuda_grid_sample;               /* resample.cu */
  o.resize_bicubic = cuda_resize_bicubic;         /* resample.cu */
  o.resize_linear = cuda_resize_linear;           /* resample.cu */
  o.embed = cuda_embed;                           /* layout.cu (row gather) */
  o.gather_rows = cuda_gather_rows;               /* layout.cu */
  o.mean_acc = cuda_mean_acc;                     /* elementwise.cu */
  o.patchify = cuda_patchify;                     /* layout.cu */
  o.argmax_rows = cuda_argmax_rows;               /* select.cu */
  o.argmax_rows_to = cuda_argmax_rows_to;         /* select.cu */
  o.log_softmax_topk = cuda_log_softmax_topk;     /* select.cu */
  o.mask_logits = cuda_mask_logits;               /* masks.cu, the product on gemm.cu */
  o.mask_threshold = cuda_mask_threshold;         /* masks.cu */
  o.mask_probs = cuda_mask_probs;                 /* masks.cu */
  o.mask_semantic = cuda_mask_semantic;           /* masks.cu */
  o.synchronize = cuda_synchronize;               /* cudaStreamSynchronize */
  o.stamp = cuda_stamp;                           /* events on the stream */
  o.stamp_elapsed = cuda_stamp_elapsed;
  o.stamp_free = cuda_stamp_free;
  o.graph_begin = cuda_graph_begin; /* graph.cu: stream capture, CUDA graphs */
  o.graph_end = cuda_graph_end;
  o.graph_launch = cuda_graph_launch;
  o.graph_free = cuda_graph_free;
  o.new_peer = cuda_new_peer; /* weights shared by sessions on one GPU */
  o.prep_new = cuda_prep_new; /* preprocess.cu: device frame buffers */
  o.prep_free = cuda_prep_free;
  o.cuda_context = cuda_context;  /* context.cu: images in device memory */
  o.preprocess = cuda_preprocess; /* preprocess.cu: upload the frame, convert, resize */
  return o;
}

/* A backend on GPU gpu_id: the device checked, a non-blocking stream, cuBLASLt. */
static UfoBackend *backend_new(const UfoBackendOps *ops, int gpu_id, GError **error)
{
  int count = 0;
  cudaError_t st = cudaGetDeviceCount(&count);
  if (st != cudaSuccess || count < 1) {
    (void)cudaGetLastError();
    /* the request cannot be served on this machine: UNSUPPORTED, as a build without CUDA */
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "no usable CUDA device: %s: %s",
                st != cudaSuccess ? cudaGetErrorName(st) : "cudaErrorNoDevice",
                st != cudaSuccess ? cudaGetErrorString(st) : "no CUDA device found");
    return NULL;
  }
  if (gpu_id < 0 || gpu_id >= count) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "gpu-id %d out of range (this machine has %d CUDA devices)", gpu_id, count);
    return NULL;
  }
  cudaDeviceProp prop;
  if (!ufo_cuda_ok(cudaSetDevice(gpu_id), "cudaSetDevice", error) ||
      !ufo_cuda_ok(cudaGetDeviceProperties(&prop, gpu_id), "cudaGetDeviceProperties", error))
    return NULL;
  UfoCuda *cu = g_new0(UfoCuda, 1);
  cu->device = gpu_id;
  cu->precision = UFO_PRECISION_FP32;
  cu->sm_count = prop.multiProcessorCount;
  cu->smem_optin = prop.sharedMemPerBlockOptin;
#ifdef UFO_CUDA_EMU
  /* emulated: each CUDA thread is a fiber; fewer threads doing more items each run faster on
   * the CPU and still span several blocks */
  cu->grid_cap = 8;
#else
  cu->grid_cap = 8 * MAX(prop.multiProcessorCount, 1); /* ~2k threads per SM at 256 a block */
#endif
  UfoBackend *be = g_new0(UfoBackend, 1);
  be->ops = ops;
  be->ctx = cu;
  be->memory = gpu_id; /* tensors of this GPU: ufo_backend_shares_memory */
  cu->allocs = &be->allocs;
  if (!ufo_cuda_ok(cudaStreamCreateWithFlags(&cu->stream, cudaStreamNonBlocking),
                   "cudaStreamCreateWithFlags", error) ||
      !ufo_cuda_gemm_init(cu, error)) {
    ufo_backend_free(be);
    return NULL;
  }
  ufo_cuda_context_init(cu); /* the primary context, current since cudaSetDevice */
  return be;
}

} /* namespace UFO_CUDA_NS */

using namespace UFO_CUDA_NS;

#ifdef UFO_CUDA_EMU
static const UfoBackendOps cuda_emu_ops = make_ops("cuda-emu");

extern "C" UfoBackend *ufo_backend_cuda_emu_new(GError **error)
{
  return backend_new(&cuda_emu_ops, 0, error);
}

extern "C" uint64_t ufo_cuda_emu_launches(void)
{
  return ufo_emu::launches();
}
#else
static const UfoBackendOps cuda_ops = make_ops("cuda");

extern "C" UfoBackend *ufo_backend_cuda_new(int gpu_id, GError **error)
{
  return backend_new(&cuda_ops, gpu_id, error);
}
#endif
