/* The CPU backend: host memory, OpenBLAS GEMMs (weight GEMMs at precision=bf16: gemm_bf16.c),
 * a thread pool for the other loops. Every op checks its operands here (bounds, shapes) and then
 * runs the fast kernel, or the plain reference loop for the "cpu-ref" backend used as the
 * yardstick of the parity tests. */
#include "cpu.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CPU(be) ((UfoCpu *)(be)->ctx)

static gboolean fail(GError **error, const char *op, const char *why)
{
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: %s", op, why);
  return FALSE;
}

static gboolean check(GError **error, const char *op, int n, const UfoView *v)
{
  for (int i = 0; i < n; i++) {
    if (v[i].t == NULL || ufo_view_check(v[i], op, NULL))
      continue;
    g_autofree char *what = g_strdup_printf("%s (operand %d)", op, i);
    return ufo_view_check(v[i], what, error);
  }
  return TRUE;
}
#define CHECK(op, ...)                                                                             \
  check(error, op, sizeof((UfoView[]){__VA_ARGS__}) / sizeof(UfoView), (UfoView[]){__VA_ARGS__})

void ufo_cpu_scratch_reserve(UfoCpu *cpu, size_t n)
{
  for (int w = 0; w < cpu->threads; w++)
    if (cpu->scratch_n[w] < n) {
      g_free(cpu->scratch[w]);
      cpu->scratch[w] = g_new(float, n);
      cpu->scratch_n[w] = n;
    }
}

static void cpu_destroy(UfoBackend *be)
{
  UfoCpu *cpu = CPU(be);
  ufo_pool_free(cpu->pool);
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

static void *alloc_floats(size_t n)
{
  if (n > SIZE_MAX / sizeof(float))
    return NULL;
  return ufo_cpu_alloc_bytes(n * sizeof(float));
}

/* Drops the bf16 packs derived from a weight's contents (release, or new contents). */
static void drop_derived(UfoBackend *be, UfoTensor *t)
{
  UfoCpu *cpu = CPU(be);
  size_t bytes = ufo_cpu_bf16_packs_free(t->derived);
  cpu->packed_bytes -= MIN(bytes, cpu->packed_bytes);
  t->derived = NULL;
}

static gboolean cpu_alloc(UfoBackend *be, UfoTensor *t, GError **error)
{
  t->data = alloc_floats(t->n);
  t->borrowed = FALSE;
  if (t->data == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory allocating %zu floats", t->n);
    return FALSE;
  }
  return TRUE;
}

static void cpu_release(UfoBackend *be, UfoTensor *t)
{
  drop_derived(be, t);
  if (!t->borrowed)
    free(t->data); /* malloc or posix_memalign (alloc_floats) */
  t->data = NULL;
}

static gboolean cpu_wrap_host(UfoBackend *be, UfoTensor *t, const float *host, GError **error)
{
  t->data = (void *)host; /* read-only by contract: weights are never written */
  t->borrowed = TRUE;
  return TRUE;
}

static gboolean range_ok(const UfoTensor *t, size_t off, size_t n, GError **error)
{
  if (off > t->n || n > t->n - off) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "transfer of %zu floats at %zu outside a tensor of %zu", n, off, t->n);
    return FALSE;
  }
  return TRUE;
}

static gboolean cpu_upload(UfoBackend *be, UfoTensor *t, size_t off, const float *host, size_t n,
                           GError **error)
{
  if (!range_ok(t, off, n, error))
    return FALSE;
  if (t->borrowed)
    return fail(error, "upload", "tensor aliases read-only host memory");
  drop_derived(be, t);
  memcpy((float *)t->data + off, host, n * sizeof(float));
  return TRUE;
}

static gboolean cpu_download(UfoBackend *be, const UfoTensor *t, size_t off, float *host, size_t n,
                             GError **error)
{
  if (!range_ok(t, off, n, error))
    return FALSE;
  memcpy(host, (const float *)t->data + off, n * sizeof(float));
  return TRUE;
}

static gboolean cpu_supports(UfoBackend *be, UfoOp op)
{
  return op >= 0 && op < UFO_N_OPS;
}

static gboolean cpu_set_precision(UfoBackend *be, UfoPrecision precision, GError **error)
{
  UfoCpu *cpu = CPU(be);
  if (precision < 0 || precision >= UFO_N_PRECISIONS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown precision id %d", (int)precision);
    return FALSE;
  }
  /* the reference loops round in plain C: any CPU; the fast kernel needs the instructions */
  if (precision == UFO_PRECISION_BF16 && !cpu->reference && !ufo_cpu_bf16_supported()) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "precision=bf16 needs a CPU with AVX512-BF16; use precision=fp32");
    return FALSE;
  }
  cpu->precision = precision;
  return TRUE;
}

static gboolean cpu_gemm(UfoBackend *be, const UfoGemm *p, GError **error)
{
  if (p->batch < 1)
    return fail(error, "gemm", "batch < 1");
  int64_t m = p->trans_a ? p->a.cols : p->a.rows, k = p->trans_a ? p->a.rows : p->a.cols;
  int64_t kb = p->trans_b ? p->b.cols : p->b.rows, n = p->trans_b ? p->b.rows : p->b.cols;
  if (k != kb || p->c.rows != m || p->c.cols != n)
    return fail(error, "gemm", "operand shapes do not match");
  if (p->bias.t && (p->bias.rows != 1 || p->bias.cols != n))
    return fail(error, "gemm", "bias must be (1, N)");
  for (int b = 0; b < p->batch; b += MAX(p->batch - 1, 1)) {
    UfoView a = p->a, bm = p->b, c = p->c;
    a.off += (size_t)b * p->stride_a;
    bm.off += (size_t)b * p->stride_b;
    c.off += (size_t)b * p->stride_c;
    if (!CHECK("gemm", a, bm, c, p->bias))
      return FALSE;
  }
  UfoCpu *cpu = CPU(be);
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

static gboolean same_shape(UfoView a, UfoView b)
{
  return a.rows == b.rows && a.cols == b.cols;
}

static gboolean cpu_layer_norm(UfoBackend *be, UfoView y, UfoView x, UfoView w, UfoView b,
                               float eps, GError **error)
{
  if (!CHECK("layer_norm", y, x, w, b))
    return FALSE;
  if (!same_shape(y, x) || w.cols != x.cols || b.cols != x.cols || !w.t || !b.t)
    return fail(error, "layer_norm", "shapes do not match");
  if (CPU(be)->reference)
    ufo_cpu_layer_norm_ref(y, x, w, b, eps);
  else
    ufo_cpu_layer_norm(CPU(be), y, x, w, b, eps);
  return TRUE;
}

static gboolean cpu_gelu(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (!CHECK("gelu", y, x))
    return FALSE;
  if (!same_shape(y, x))
    return fail(error, "gelu", "shapes do not match");
  if (CPU(be)->reference)
    ufo_cpu_gelu_ref(y, x);
  else
    ufo_cpu_gelu(CPU(be), y, x);
  return TRUE;
}

static gboolean cpu_add(UfoBackend *be, UfoView y, UfoView a, UfoView b, GError **error)
{
  if (!CHECK("add", y, a, b))
    return FALSE;
  if (!same_shape(y, a) || b.cols != a.cols || (b.rows != 1 && b.rows != a.rows))
    return fail(error, "add", "shapes do not match");
  if (CPU(be)->reference)
    ufo_cpu_add_ref(y, a, b);
  else
    ufo_cpu_add(CPU(be), y, a, b);
  return TRUE;
}

static gboolean cpu_copy(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (!CHECK("copy", y, x))
    return FALSE;
  if (!same_shape(y, x))
    return fail(error, "copy", "shapes do not match");
  if (CPU(be)->reference)
    ufo_cpu_copy_ref(y, x);
  else
    ufo_cpu_copy(CPU(be), y, x);
  return TRUE;
}

static gboolean cpu_attention(UfoBackend *be, const UfoAttention *p, GError **error)
{
  int d = p->head_dim;
  if (p->n_groups < 1 || p->group_q < 1 || p->n_heads < 1 || d < 1 || p->n_segs < 0 ||
      p->n_segs > UFO_ATTN_MAX_SEGS || (p->n_segs == 0 && !p->self_key))
    return fail(error, "attention", "bad group, head or segment counts");
  int64_t nq = (int64_t)p->n_groups * p->group_q, c = (int64_t)p->n_heads * d;
  if (p->q.rows != nq || p->q.cols != c || !same_shape(p->out, p->q))
    return fail(error, "attention", "q/out must be (groups * group_q, heads * head_dim)");
  if (!CHECK("attention", p->q, p->out, p->self_k, p->self_v))
    return FALSE;
  if (p->self_key && (!same_shape(p->self_k, p->q) || !same_shape(p->self_v, p->q)))
    return fail(error, "attention", "self_k/self_v must be shaped like q");
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    if (sg->n < 1 || sg->k.cols != c || sg->v.cols != c || sg->group_stride < 0)
      return fail(error, "attention", "bad key segment");
    int64_t rows = (p->n_groups - 1) * sg->group_stride + sg->n;
    if (sg->k.rows < rows || sg->v.rows < rows)
      return fail(error, "attention", "key segment has fewer rows than its groups need");
    if (sg->mask.t && sg->mask.cols != sg->n)
      return fail(error, "attention", "mask must be (1, n)");
    if (!CHECK("attention", sg->k, sg->v, sg->mask))
      return FALSE;
    if (sg->rel_pos) {
      if (sg->n != (int64_t)p->rel_h * p->rel_w || p->group_q != sg->n)
        return fail(error, "attention", "rel-pos needs group_q == n == rel_h * rel_w");
      if (p->rel_h_table.rows != 2 * p->rel_h - 1 || p->rel_w_table.rows != 2 * p->rel_w - 1 ||
          p->rel_h_table.cols != d || p->rel_w_table.cols != d)
        return fail(error, "attention", "rel-pos tables must be (2*size-1, head_dim)");
      if (!CHECK("attention", p->rel_h_table, p->rel_w_table))
        return FALSE;
    }
  }
  if (CPU(be)->reference)
    ufo_cpu_attention_ref(p);
  else
    ufo_cpu_attention(CPU(be), p);
  return TRUE;
}

static gboolean partition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                          gboolean inverse, GError **error)
{
  if (!CHECK("window_partition", y, x))
    return FALSE;
  if (ws < 1 || h < 1 || w < 1 || h % ws || w % ws || x.rows != (int64_t)h * w ||
      !same_shape(y, x) || y.t == x.t)
    return fail(error, "window_partition",
                "map must be (h*w, C) with h, w multiples of the window, out of place");
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

static gboolean cpu_grid_sample(UfoBackend *be, UfoView y, UfoView x, int h, int w,
                                const float *ref, int q, GError **error)
{
  if (!CHECK("grid_sample", y, x))
    return FALSE;
  if (h < 1 || w < 1 || x.rows != (int64_t)h * w || y.rows != q || y.cols != x.cols || !ref)
    return fail(error, "grid_sample", "shapes do not match");
  if (CPU(be)->reference)
    ufo_cpu_grid_sample_ref(y, x, h, w, ref, q);
  else
    ufo_cpu_grid_sample(CPU(be), y, x, h, w, ref, q);
  return TRUE;
}

static gboolean cpu_resize_bicubic(UfoBackend *be, UfoView y, UfoView x, int ih, int iw, int oh,
                                   int ow, GError **error)
{
  if (!CHECK("resize_bicubic", y, x))
    return FALSE;
  if (ih < 1 || iw < 1 || oh < 1 || ow < 1 || x.rows != (int64_t)ih * iw ||
      y.rows != (int64_t)oh * ow || y.cols != x.cols)
    return fail(error, "resize_bicubic", "shapes do not match");
  if (CPU(be)->reference)
    ufo_cpu_resize_bicubic_ref(y, x, ih, iw, oh, ow);
  else
    ufo_cpu_resize_bicubic(CPU(be), y, x, ih, iw, oh, ow);
  return TRUE;
}

static gboolean cpu_resize_linear(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (!CHECK("resize_linear", y, x))
    return FALSE;
  if (y.cols != x.cols)
    return fail(error, "resize_linear", "shapes do not match");
  ufo_cpu_resize_linear_ref(y, x); /* tables are tiny and resized once per input size */
  return TRUE;
}

static gboolean cpu_gather(UfoBackend *be, UfoView y, UfoView x, const int32_t *idx, const char *op,
                           GError **error)
{
  if (!CHECK(op, y, x))
    return FALSE;
  if (y.cols != x.cols || (!idx && y.rows > x.rows))
    return fail(error, op, "shapes do not match");
  for (int64_t i = 0; idx && i < y.rows; i++)
    if (idx[i] < 0 || idx[i] >= x.rows) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: index %d of row %lld outside 0..%lld",
                  op, idx[i], (long long)i, (long long)x.rows - 1);
      return FALSE;
    }
  if (CPU(be)->reference)
    ufo_cpu_gather_rows_ref(y, x, idx);
  else
    ufo_cpu_gather_rows(CPU(be), y, x, idx);
  return TRUE;
}

static gboolean cpu_embed(UfoBackend *be, UfoView y, UfoView table, const int32_t *ids,
                          GError **error)
{
  if (!ids)
    return fail(error, "embed", "no ids");
  return cpu_gather(be, y, table, ids, "embed", error);
}

static gboolean cpu_gather_rows(UfoBackend *be, UfoView y, UfoView x, const int32_t *idx,
                                GError **error)
{
  return cpu_gather(be, y, x, idx, "gather_rows", error);
}

static gboolean cpu_mean_acc(UfoBackend *be, UfoView acc, UfoView x, int k, int n, GError **error)
{
  if (!CHECK("mean_acc", acc, x))
    return FALSE;
  if (!same_shape(acc, x) || n < 1 || k < 0 || k >= n)
    return fail(error, "mean_acc", "shapes or layer index do not match");
  if (CPU(be)->reference)
    ufo_cpu_mean_acc_ref(acc, x, k, n);
  else
    ufo_cpu_mean_acc(CPU(be), acc, x, k, n);
  return TRUE;
}

static gboolean cpu_patchify(UfoBackend *be, UfoView y, UfoView x, int h, int w, int p,
                             GError **error)
{
  if (!CHECK("patchify", y, x))
    return FALSE;
  if (p < 1 || h % p || w % p || h < p || w < p || x.rows != 3 * (int64_t)h || x.cols != w ||
      y.rows != (int64_t)(h / p) * (w / p) || y.cols != 3 * (int64_t)p * p)
    return fail(error, "patchify", "shapes do not match");
  if (CPU(be)->reference)
    ufo_cpu_patchify_ref(y, x, h, w, p);
  else
    ufo_cpu_patchify(CPU(be), y, x, h, w, p);
  return TRUE;
}

static const UfoBackendOps cpu_ops = {
    .name = "cpu",
    .destroy = cpu_destroy,                       /* pool, scratch */
    .alloc = cpu_alloc,                           /* malloc, huge pages from 4 MiB */
    .release = cpu_release,                       /* free unless borrowed */
    .wrap_host = cpu_wrap_host,                   /* weights are used in place */
    .upload = cpu_upload,                         /* memcpy */
    .download = cpu_download,                     /* memcpy */
    .supports = cpu_supports,                     /* every op */
    .set_precision = cpu_set_precision,           /* fp32; bf16 with AVX512-BF16 */
    .gemm = cpu_gemm,                             /* gemm.c, OpenBLAS; bf16: gemm_bf16.c */
    .layer_norm = cpu_layer_norm,                 /* elementwise.c */
    .gelu = cpu_gelu,                             /* elementwise.c */
    .add = cpu_add,                               /* elementwise.c */
    .copy = cpu_copy,                             /* elementwise.c */
    .attention = cpu_attention,                   /* attention.c */
    .window_partition = cpu_window_partition,     /* layout.c */
    .window_unpartition = cpu_window_unpartition, /* layout.c */
    .grid_sample = cpu_grid_sample,               /* resample.c */
    .resize_bicubic = cpu_resize_bicubic,         /* resample.c */
    .resize_linear = cpu_resize_linear,           /* resample.c */
    .embed = cpu_embed,                           /* layout.c (row gather) */
    .gather_rows = cpu_gather_rows,               /* layout.c */
    .mean_acc = cpu_mean_acc,                     /* elementwise.c */
    .patchify = cpu_patchify,                     /* layout.c */
};

static const UfoBackendOps cpu_ref_ops = {
    .name = "cpu-ref",
    .destroy = cpu_destroy,
    .alloc = cpu_alloc,
    .release = cpu_release,
    .wrap_host = NULL, /* exercise the alloc + upload path */
    .upload = cpu_upload,
    .download = cpu_download,
    .supports = cpu_supports,
    .set_precision = cpu_set_precision, /* bf16: the plain rounding loop, on any CPU */
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
