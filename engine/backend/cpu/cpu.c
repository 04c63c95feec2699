/* The CPU backend: host memory, GEMMs on oneDNN matmuls (fp32: gemm.c over dnnl_mm.c, OpenBLAS
 * where oneDNN fails; weight GEMMs at precision=bf16: gemm_dnnl.c), a thread pool for the other
 * loops. Operands arrive checked by the ufo_op_* wrappers
 * (backend.c); each op runs the fast kernel, or the plain reference loop for the "cpu-ref"
 * backend used as the yardstick of the parity tests. */
#include "cpu.h"
#include "log.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CPU(be) ((UfoCpu *)(be)->ctx)

void ufo_cpu_scratch_reserve(UfoCpu *cpu, size_t n)
{
  for (int w = 0; w < cpu->threads; w++)
    if (cpu->scratch_n[w] < n) {
      g_free(cpu->scratch[w]);
      cpu->scratch[w] = g_new(float, n);
      cpu->scratch_n[w] = n;
      (*cpu->allocs)++;
    }
}

static void cpu_destroy(UfoBackend *be)
{
  UfoCpu *cpu = CPU(be);
  ufo_pool_free(cpu->pool);
  ufo_cpu_dnnl_free(cpu->dnnl);
  ufo_cpu_attn_free(cpu->attn);
  ufo_cpu_mm_free(cpu->mm);
  for (int w = 0; w < cpu->threads; w++)
    g_free(cpu->scratch[w]);
  g_free(cpu->scratch);
  g_free(cpu->scratch_n);
  g_free(cpu);
}

/* Tensors of 4 MiB and more (decode K/V caches, logits, image activations: gigabytes at
 * 1120²) sit on 2 MiB-aligned memory marked MADV_HUGEPAGE: with transparent huge pages in
 * "madvise" mode (Debian's default) the first touch costs one fault per 2 MiB instead of per
 * 4 KiB, and the GEMMs that stream them miss the TLB less. Smaller ones use plain malloc. */
#define HUGE_MIN_BYTES ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

void *ufo_cpu_alloc_bytes(size_t bytes)
{
  bytes = MAX(bytes, 1);
  if (bytes < HUGE_MIN_BYTES)
    return malloc(bytes);
  void *p = NULL;
  if (posix_memalign(&p, HUGE_ALIGN, bytes) != 0)
    return NULL;
#ifdef MADV_HUGEPAGE
  (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: refused (no THP) changes nothing */
#endif
  return p;
}

static void *alloc_elements(size_t n, size_t size)
{
  if (n > SIZE_MAX / size)
    return NULL;
  return ufo_cpu_alloc_bytes(n * size);
}

/* Drops the bf16 packs derived from a weight's contents (release, or new contents). */
static void drop_derived(UfoBackend *be, UfoTensor *t)
{
  (void)ufo_cpu_bf16_packs_free(t->derived);
  t->derived = NULL;
}

static gboolean cpu_alloc(UfoBackend *be, UfoTensor *t, GError **error)
{
  t->data = alloc_elements(t->n, ufo_dtype_size(t->dtype));
  t->borrowed = FALSE;
  if (t->data == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory allocating %zu %s elements",
                t->n, ufo_dtype_name(t->dtype));
    return FALSE;
  }
  return TRUE;
}

static void cpu_release(UfoBackend *be, UfoTensor *t)
{
  drop_derived(be, t);
  if (!t->borrowed)
    free(t->data); /* malloc or posix_memalign (alloc_elements) */
  t->data = NULL;
}

static gboolean cpu_wrap_host(UfoBackend *be, UfoTensor *t, const float *host, GError **error)
{
  t->data = (void *)host; /* read-only by contract: weights are never written */
  t->borrowed = TRUE;
  return TRUE;
}

static gboolean cpu_upload(UfoBackend *be, UfoTensor *t, size_t off, const void *host, size_t n,
                           GError **error)
{
  if (t->borrowed) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "upload: tensor aliases read-only host memory");
    return FALSE;
  }
  drop_derived(be, t);
  size_t size = ufo_dtype_size(t->dtype);
  memcpy((char *)t->data + off * size, host, n * size);
  return TRUE;
}

static gboolean cpu_download(UfoBackend *be, const UfoTensor *t, size_t off, void *host, size_t n,
                             GError **error)
{
  size_t size = ufo_dtype_size(t->dtype);
  memcpy(host, (const char *)t->data + off * size, n * size);
  return TRUE;
}

static gboolean cpu_set_precision(UfoBackend *be, UfoPrecision precision, GError **error)
{
  UfoCpu *cpu = CPU(be);
  /* the reference loops round in plain C: any CPU. The fast path needs oneDNN's native bf16
   * (AVX512-BF16, AMX): elsewhere oneDNN would emulate it, slower than fp32, so bf16 means fp32
   * there (exact, and never slower), said once per process. */
  if (precision == UFO_PRECISION_BF16 && !cpu->reference && !ufo_cpu_bf16_supported()) {
    static gsize warned;
    if (g_once_init_enter(&warned)) {
      ufo_log(UFO_LOG_WARNING, "precision=bf16: this CPU (or ONEDNN_MAX_CPU_ISA) has no native "
                               "bf16 (AVX512-BF16, AMX): weight GEMMs run in fp32");
      g_once_init_leave(&warned, 1);
    }
    precision = UFO_PRECISION_FP32;
  }
  cpu->precision = precision;
  be->precision = precision;
  return TRUE;
}

/* Draft passes (performance.md section 10) pay where a decode step's GEMMs of tens to hundreds
 * of rows run well below the rate of thousands of rows: oneDNN's bf16 (AMX, AVX512-BF16) and the
 * row-stable fp32 kernel's AVX-512 blocks (gemm_rows.c). With AVX2 blocks a few hundred rows
 * already reach that rate (Zen 3: UFO-ViT-B semantic 11 % slower in passes of 3,825 rows), so
 * passes stay within 512 rows there: a few objects' mask runs. */
static int64_t cpu_decode_pass_rows(const UfoBackend *be)
{
#if defined(__AVX512F__)
  (void)be;
  return 4096;
#else
  return CPU(be)->precision == UFO_PRECISION_BF16 && ufo_cpu_bf16_supported() ? 4096 : 512;
#endif
}

/* bf16 where oneDNN runs it natively: there every weight GEMM shape measured 1.5-7x OpenBLAS
 * fp32 (docs/performance.md §8); the reference loops stay fp32, the exact yardstick */
static UfoPrecision cpu_auto_precision(UfoBackend *be, const char **why)
{
  if (CPU(be)->reference) {
    *why = "the reference loops";
    return UFO_PRECISION_FP32;
  }
  if (!ufo_cpu_bf16_supported()) {
    *why = "no native bf16 in oneDNN's ISA (AVX512-BF16, AMX)";
    return UFO_PRECISION_FP32;
  }
  *why = "oneDNN with native bf16";
  return UFO_PRECISION_BF16;
}

void ufo_cpu_test_fail_late(UfoBackend *be)
{
  CPU(be)->test_fail_late = TRUE;
}

/* ufo_cpu_test_fail_late: as an asynchronous backend would */
static void planted_late_failure(UfoBackend *be, const char *op)
{
  UfoCpu *cpu = CPU(be);
  if (!cpu->test_fail_late)
    return;
  cpu->test_fail_late = FALSE;
  ufo_backend_report_late(
      be, g_error_new(UFO_ERROR, UFO_ERROR_BACKEND, "%s: planted late failure (test hook)", op));
}

static gboolean cpu_gemm(UfoBackend *be, const UfoGemm *p, GError **error)
{
  UfoCpu *cpu = CPU(be);
  planted_late_failure(be, "gemm");
  if (cpu->precision == UFO_PRECISION_BF16 && ufo_cpu_gemm_bf16_applies(p)) {
    if (cpu->reference) {
      ufo_cpu_gemm_bf16_ref(p);
      return TRUE;
    }
    return ufo_cpu_gemm_bf16(cpu, p, error);
  }
  if (cpu->reference)
    ufo_cpu_gemm_ref(p);
  else
    ufo_cpu_gemm(cpu, p);
  return TRUE;
}

/* bf16 linears with LN, GELU and two destinations as one job (gemm_dnnl.c); fp32 composes */
static gboolean cpu_linear_fuses(UfoBackend *be, const UfoLinear *p)
{
  const UfoCpu *cpu = CPU(be);
  return !cpu->reference && cpu->precision == UFO_PRECISION_BF16 && ufo_cpu_linear_bf16_fuses(p);
}

static gboolean cpu_linear(UfoBackend *be, const UfoLinear *p, GError **error)
{
  planted_late_failure(be, "linear");
  return ufo_cpu_linear_bf16(CPU(be), p, error);
}

static gboolean cpu_layer_norm(UfoBackend *be, UfoView y, UfoView x, UfoView w, UfoView b,
                               float eps, GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_layer_norm_ref(y, x, w, b, eps);
  else
    ufo_cpu_layer_norm(CPU(be), y, x, w, b, eps);
  return TRUE;
}

static gboolean cpu_gelu(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_gelu_ref(y, x);
  else
    ufo_cpu_gelu(CPU(be), y, x);
  return TRUE;
}

static gboolean cpu_add(UfoBackend *be, UfoView y, UfoView a, UfoView b, GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_add_ref(y, a, b);
  else
    ufo_cpu_add(CPU(be), y, a, b);
  return TRUE;
}

static gboolean cpu_copy(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_copy_ref(y, x);
  else
    ufo_cpu_copy(CPU(be), y, x);
  return TRUE;
}

static gboolean cpu_attention(UfoBackend *be, const UfoAttention *p, GError **error)
{
  UfoCpu *cpu = CPU(be);
  if (cpu->reference)
    ufo_cpu_attention_ref(p); /* float32 at both precisions: the yardstick */
  else if (ufo_cpu_attention_dnnl_applies(p))
    return ufo_cpu_attention_dnnl(cpu, p, error); /* fp32 and bf16 */
  else
    ufo_cpu_attention(cpu, p);
  return TRUE;
}

static gboolean partition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                          gboolean inverse, GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_window_partition_ref(y, x, h, w, ws, inverse);
  else
    ufo_cpu_window_partition(CPU(be), y, x, h, w, ws, inverse);
  return TRUE;
}

static gboolean cpu_window_partition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                     GError **error)
{
  return partition(be, y, x, h, w, ws, FALSE, error);
}

static gboolean cpu_window_unpartition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                       GError **error)
{
  return partition(be, y, x, h, w, ws, TRUE, error);
}

static gboolean cpu_grid_sample(UfoBackend *be, UfoView y, UfoView x, int h, int w, UfoView ref,
                                GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_grid_sample_ref(y, x, h, w, ref);
  else
    ufo_cpu_grid_sample(CPU(be), y, x, h, w, ref);
  return TRUE;
}

static gboolean cpu_resize_bicubic(UfoBackend *be, UfoView y, UfoView x, int ih, int iw, int oh,
                                   int ow, GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_resize_bicubic_ref(y, x, ih, iw, oh, ow);
  else
    ufo_cpu_resize_bicubic(CPU(be), y, x, ih, iw, oh, ow);
  return TRUE;
}

static gboolean cpu_resize_linear(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  ufo_cpu_resize_linear_ref(y, x); /* tables are tiny and resized once per input size */
  return TRUE;
}

static gboolean cpu_gather_rows(UfoBackend *be, UfoView y, UfoView x, UfoView idx, GError **error)
{
  const int32_t *ix = idx.t ? ufo_cpu_iptr(idx) : NULL; /* a checked (rows, 1) column, ld 1 */
  if (CPU(be)->reference)
    ufo_cpu_gather_rows_ref(y, x, ix);
  else
    ufo_cpu_gather_rows(CPU(be), y, x, ix);
  return TRUE;
}

/* embed is a row gather of the table */
static gboolean cpu_embed(UfoBackend *be, UfoView y, UfoView table, UfoView ids, GError **error)
{
  return cpu_gather_rows(be, y, table, ids, error);
}

static gboolean cpu_mean_acc(UfoBackend *be, UfoView acc, UfoView x, int k, int n, GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_mean_acc_ref(acc, x, k, n);
  else
    ufo_cpu_mean_acc(CPU(be), acc, x, k, n);
  return TRUE;
}

static gboolean cpu_patchify(UfoBackend *be, UfoView y, UfoView x, int h, int w, int p,
                             GError **error)
{
  if (CPU(be)->reference)
    ufo_cpu_patchify_ref(y, x, h, w, p);
  else
    ufo_cpu_patchify(CPU(be), y, x, h, w, p);
  return TRUE;
}

static gboolean cpu_argmax_rows(UfoBackend *be, UfoView x, const int32_t *force,
                                const float *margin, int32_t *ids, float *prob, GError **error)
{
  ufo_cpu_argmax_rows(CPU(be), x, force, margin, ids, prob);
  return TRUE;
}

/* the same selection, its operands in the backend's (host) tensors */
static gboolean cpu_argmax_rows_to(UfoBackend *be, UfoView x, UfoView force, UfoView margin,
                                   UfoView ids, UfoView prob, GError **error)
{
  ufo_cpu_argmax_rows(CPU(be), x, force.t ? ufo_cpu_iptr(force) : NULL,
                      margin.t ? ufo_cpu_ptr(margin) : NULL, (int32_t *)ufo_cpu_iptr(ids),
                      ufo_cpu_ptr(prob));
  return TRUE;
}

static gboolean cpu_log_softmax_topk(UfoBackend *be, UfoView x, float temperature,
                                     const int32_t *force, const float *margin, const float *bias,
                                     int k, float *val, int32_t *idx, GError **error)
{
  ufo_cpu_log_softmax_topk(CPU(be), x, temperature, force, margin, bias, k, val, idx);
  return TRUE;
}

static gboolean cpu_mask_logits(UfoBackend *be, UfoView u, UfoView e, UfoView f, int hp, int wp,
                                GError **error)
{
  ufo_cpu_mask_logits(CPU(be), u, e, f, hp, wp);
  return TRUE;
}

static gboolean cpu_mask_threshold(UfoBackend *be, UfoView u, int n, int oh, int ow, float thr,
                                   uint64_t *bits, double *sum, int64_t *count, GError **error)
{
  ufo_cpu_mask_threshold(CPU(be), u, n, oh, ow, thr, bits, sum, count);
  return TRUE;
}

static gboolean cpu_mask_probs(UfoBackend *be, UfoView u, int n, int oh, int ow, const int32_t *box,
                               float *const *prob, uint8_t *const *gray, GError **error)
{
  ufo_cpu_mask_probs(CPU(be), u, n, oh, ow, box, prob, gray);
  return TRUE;
}

static gboolean cpu_mask_semantic(UfoBackend *be, UfoView u, int n, int oh, int ow,
                                  const float *score, const int32_t *slot_end,
                                  const int32_t *slot_class, int n_slots, uint16_t *labels,
                                  GError **error)
{
  ufo_cpu_mask_semantic(CPU(be), u, n, oh, ow, score, slot_end, slot_class, n_slots, labels);
  return TRUE;
}

static UfoBackend *cpu_new(int threads, gboolean reference, GError **error);

/* the owner of shared weights: one thread, no scratch in use */
static UfoBackend *cpu_new_peer(UfoBackend *be, GError **error)
{
  return cpu_new(1, CPU(be)->reference, error);
}

static const UfoBackendOps cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,                       /* pool, scratch */
    .alloc = cpu_alloc,                           /* malloc, huge pages from 4 MiB */
    .release = cpu_release,                       /* free unless borrowed */
    .wrap_host = cpu_wrap_host,                   /* weights are used in place */
    .upload = cpu_upload,                         /* memcpy */
    .download = cpu_download,                     /* memcpy */
    .set_precision = cpu_set_precision,           /* fp32; bf16 where oneDNN has it natively */
    .auto_precision = cpu_auto_precision,         /* bf16 where oneDNN has it natively */
    .decode_pass_rows = cpu_decode_pass_rows,     /* 4,096 with AVX-512 or bf16, else 512 */
    .gemm = cpu_gemm,                             /* gemm.c, OpenBLAS; bf16: gemm_dnnl.c */
    .linear_fuses = cpu_linear_fuses,             /* bf16 only */
    .linear = cpu_linear,                         /* gemm_dnnl.c */
    .layer_norm = cpu_layer_norm,                 /* elementwise.c */
    .gelu = cpu_gelu,                             /* elementwise.c */
    .add = cpu_add,                               /* elementwise.c */
    .copy = cpu_copy,                             /* elementwise.c */
    .attention = cpu_attention,                   /* attention_dnnl.c; decode rows: attention.c */
    .window_partition = cpu_window_partition,     /* layout.c */
    .window_unpartition = cpu_window_unpartition, /* layout.c */
    .grid_sample = cpu_grid_sample,               /* resample.c */
    .resize_bicubic = cpu_resize_bicubic,         /* resample.c */
    .resize_linear = cpu_resize_linear,           /* resample.c */
    .embed = cpu_embed,                           /* layout.c (row gather) */
    .gather_rows = cpu_gather_rows,               /* layout.c */
    .mean_acc = cpu_mean_acc,                     /* elementwise.c */
    .patchify = cpu_patchify,                     /* layout.c */
    .argmax_rows = cpu_argmax_rows,               /* select.c */
    .argmax_rows_to = cpu_argmax_rows_to,         /* select.c, on the tensors */
    .log_softmax_topk = cpu_log_softmax_topk,     /* select.c */
    .mask_logits = cpu_mask_logits,               /* masks.c, one sgemm per object */
    .mask_threshold = cpu_mask_threshold,         /* masks.c */
    .mask_probs = cpu_mask_probs,                 /* masks.c */
    .mask_semantic = cpu_mask_semantic,           /* masks.c */
    .new_peer = cpu_new_peer,                     /* host memory: every CPU backend's */
    .preprocess = ufo_cpu_preprocess,             /* preprocess.c: the host path */
};

static const UfoBackendOps cpu_ref_ops = {
    .name = "cpu-ref",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .wrap_host = NULL, /* exercise the alloc + upload path */
    .upload = cpu_upload,
    .download = cpu_download,
    .set_precision = cpu_set_precision,   /* bf16: the plain rounding loop, on any CPU */
    .auto_precision = cpu_auto_precision, /* fp32: the exact yardstick */
    .gemm = cpu_gemm,
    .layer_norm = cpu_layer_norm,
    .gelu = cpu_gelu,
    .add = cpu_add,
    .copy = cpu_copy,
    .attention = cpu_attention,
    .window_partition = cpu_window_partition,
    .window_unpartition = cpu_window_unpartition,
    .grid_sample = cpu_grid_sample,
    .resize_bicubic = cpu_resize_bicubic,
    .resize_linear = cpu_resize_linear,
    .embed = cpu_embed,
    .gather_rows = cpu_gather_rows,
    .mean_acc = cpu_mean_acc,
    .patchify = cpu_patchify,
    .argmax_rows = cpu_argmax_rows,
    .argmax_rows_to = cpu_argmax_rows_to, /* select.c, on the tensors */
    .log_softmax_topk = cpu_log_softmax_topk,
    .mask_logits = cpu_mask_logits,
    .mask_threshold = cpu_mask_threshold,
    .mask_probs = cpu_mask_probs,
    .mask_semantic = cpu_mask_semantic,
    .new_peer = cpu_new_peer,
    .preprocess = ufo_cpu_preprocess,
};

static UfoBackend *cpu_new(int threads, gboolean reference, GError **error)
{
  if (threads <= 0)
    threads = (int)g_get_num_processors();
  UfoCpu *cpu = g_new0(UfoCpu, 1);
  cpu->reference = reference;
  cpu->threads = reference ? 1 : threads;
  cpu->pool = ufo_pool_new(cpu->threads, error);
  if (cpu->pool == NULL) {
    g_free(cpu);
    return NULL;
  }
  cpu->scratch = g_new0(float *, cpu->threads);
  cpu->scratch_n = g_new0(size_t, cpu->threads);
  /* process-wide: BLAS calls run inside the pool's workers, one BLAS thread each */
  openblas_set_num_threads(1);
  UfoBackend *be = g_new0(UfoBackend, 1);
  be->ops = reference ? &cpu_ref_ops : &cpu_ops;
  be->ctx = cpu;
  be->memory = 0; /* the host */
  cpu->allocs = &be->allocs;
  return be;
}

UfoBackend *ufo_backend_cpu_new(int threads, GError **error)
{
  return cpu_new(threads, FALSE, error);
}

UfoBackend *ufo_backend_cpu_ref_new(GError **error)
{
  return cpu_new(1, TRUE, error);
}
