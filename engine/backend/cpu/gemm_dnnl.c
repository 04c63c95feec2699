/* precision=bf16 weight GEMMs on oneDNN matmul primitives (backend.h UfoGemm):
 *   C (M, N) = alpha * bf16(A) (M, K) · bf16(B)^T (K, N) + beta * C + bias (1, N),
 * A float32 row-major (activations, leading dimension lda), B (N, K) a float32 weight matrix
 * (leading dimension ldb), C float32; bf16 products summed in float32 by oneDNN (brgemm on
 * AVX512-BF16 / AMX).
 *
 * Threads: the backend's pool is the only parallelism. A is converted to dense bf16 (M, K)
 * (vcvtneps2bf16: round to nearest even, denormals to zero); C is cut into one block per worker
 * (blocks of rows, each converting its own rows of A, or column slices on 64-column boundaries
 * after A's conversion) and each worker runs a single-threaded matmul (omp_set_num_threads(1):
 * Debian's oneDNN runs on OpenMP, whose teams would spin beside the pool's threads).
 * threads = N therefore means N busy threads. GEMMs below INLINE_FLOPS (decode steps of small
 * models) run whole on the calling thread, without a pool dispatch.
 * Weights: each slice of a weight (a sub-view of B) is reordered once into the blocked bf16
 * layout its matmul chose (format "any"), kept on the weight tensor (t->derived: a list that
 * only grows while the tensor lives, made under a process lock and published whole), so every
 * session sharing the model's weights (nn/vit_shared.c) uses one copy. The slices depend on N
 * and the thread count only, never on M.
 * Primitives: one matmul per slice shape (M, N, K, ldc, alpha, beta, bias), created on first use
 * and cached per backend with its memory objects per worker (a call only sets their pointers);
 * scratchpads are per worker (user mode), so workers run one primitive at once. alpha == 1: the
 * bias is the matmul's bias; otherwise (oneDNN's output scale applies to the bias too) a binary add
 * post-op after the output scale; beta != 0: a sum post-op. GEMMs below UFO_CPU_BLAS_MIN_FLOPS run
 * the plain rounding loop (ufo_cpu_gemm_bf16_ref). */
#include "cpu.h"
#include "log.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>

/* ---- rounding and the reference loop ---- */

/* fp32 -> bf16 bits: round to nearest even; denormals flush to (signed) zero and NaNs stay
 * quiet NaNs, as the AVX512-BF16 conversion instructions do. */
static inline uint16_t bf16_bits(float x)
{
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  if ((u & 0x7f800000u) == 0)
    return (uint16_t)((u >> 16) & 0x8000u);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return (uint16_t)((u >> 16) | 0x0040u);
  u += 0x7fffu + ((u >> 16) & 1u);
  return (uint16_t)(u >> 16);
}

float ufo_cpu_bf16_round(float x)
{
  uint32_t u = (uint32_t)bf16_bits(x) << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

gboolean ufo_cpu_gemm_bf16_applies(const UfoGemm *p)
{
  return p->batch == 1 && !p->trans_a && p->trans_b && p->b.t != NULL && p->b.t->weight;
}

void ufo_cpu_gemm_bf16_ref(const UfoGemm *p)
{
  const float *a = ufo_cpu_ptr(p->a), *b = ufo_cpu_ptr(p->b);
  float *c = ufo_cpu_ptr(p->c);
  const float *bias = p->bias.t ? ufo_cpu_ptr(p->bias) : NULL;
  int64_t m = p->c.rows, n = p->c.cols, k = p->a.cols;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double s = 0.0;
      for (int64_t l = 0; l < k; l++)
        s +=
            (double)ufo_cpu_bf16_round(a[i * p->a.ld + l]) * ufo_cpu_bf16_round(b[j * p->b.ld + l]);
      double v = p->alpha * s + (bias ? bias[j] : 0.0);
      if (p->beta != 0.f) /* beta == 0 never reads C */
        v += (double)p->beta * c[i * p->c.ld + j];
      c[i * p->c.ld + j] = (float)v;
    }
}

/* ---- the process's oneDNN engine and what the CPU supports ---- */

static gint pretend_unsupported;
static dnnl_engine_t engine; /* one CPU engine for the process (thread-safe in oneDNN) */
static gboolean have_bf16;   /* oneDNN's effective ISA has native bf16 (AVX512-BF16 or AMX) */
static char impl_name[128];  /* the implementation of the first bf16 matmul made */
static GMutex impl_lock;

void ufo_cpu_bf16_test_pretend_unsupported(gboolean pretend)
{
  g_atomic_int_set(&pretend_unsupported, pretend ? 1 : 0);
}

static void init_once(void)
{
  static gsize once;
  if (!g_once_init_enter(&once))
    return;
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success)
    engine = NULL;
  /* ONEDNN_MAX_CPU_ISA caps this: AVX2 and plain AVX-512 have no bf16 instructions (oneDNN
   * would emulate them, slower than fp32) */
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  have_bf16 =
      engine != NULL && (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
  g_once_init_leave(&once, 1);
}

gboolean ufo_cpu_bf16_supported(void)
{
  if (g_atomic_int_get(&pretend_unsupported))
    return FALSE;
  init_once();
  return have_bf16;
}

struct dnnl_engine *ufo_cpu_dnnl_engine(void)
{
  init_once();
  return engine;
}

gboolean ufo_backend_cpu_bf16_native(void)
{
  return ufo_cpu_bf16_supported();
}

const char *ufo_backend_cpu_gemm_impl(void)
{
  g_mutex_lock(&impl_lock);
  const char *s = impl_name[0] ? impl_name : NULL;
  g_mutex_unlock(&impl_lock);
  return s;
}

static gboolean dnnl_failed(dnnl_status_t s, const char *what, GError **error)
{
  if (s == dnnl_success)
    return FALSE;
  g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "precision=bf16: oneDNN %s failed (status %d)",
              what, (int)s);
  return TRUE;
}

/* ---- weight reorders (shared by every backend using the tensor) ---- */

typedef struct WeightPack {
  struct WeightPack *next;
  size_t off;
  int64_t n, k, ld;      /* the view: B (n, k) with leading dimension ld at element off */
  dnnl_memory_desc_t md; /* the matmul's bf16 weights layout */
  size_t bytes;
  void *data;
} WeightPack;

static GMutex pack_lock;
static size_t packed_total; /* bytes of all packs of the process (under pack_lock) */

size_t ufo_cpu_bf16_packs_free(void *derived)
{
  size_t bytes = 0;
  for (WeightPack *pk = derived, *next; pk; pk = next) {
    next = pk->next;
    bytes += pk->bytes;
    free(pk->data);
    g_free(pk);
  }
  g_mutex_lock(&pack_lock);
  packed_total -= MIN(bytes, packed_total);
  g_mutex_unlock(&pack_lock);
  return bytes;
}

static const WeightPack *pack_find(UfoTensor *t, UfoView v, const dnnl_memory_desc_t *md)
{
  for (const WeightPack *pk = g_atomic_pointer_get(&t->derived); pk; pk = pk->next)
    if (pk->off == v.off && pk->n == v.rows && pk->k == v.cols && pk->ld == v.ld &&
        dnnl_memory_desc_equal(&pk->md, md))
      return pk;
  return NULL;
}

/* ---- per-backend state: primitives per shape, buffers per worker ---- */

/* One block of C: rows [m0, m0 + m) x columns [n0, n0 + nn) of a GEMM with N columns; the
 * matmul writes a dense (m, nn) matrix (C itself when that block is dense, else a buffer). */
typedef struct {
  int64_t m, nn, k, n, n0;
  float alpha, beta;
  int bias;
} GemmKey;

/* the memory objects of one matmul call, in this order (MEM_BIAS only with a bias) */
enum { MEM_A, MEM_W, MEM_C, MEM_SCRATCH, MEM_BIAS, N_MEM };

typedef struct {
  dnnl_primitive_t matmul;
  dnnl_memory_desc_t a_md, w_md, bias_md, c_md, scratch_md;
  size_t scratch_bytes;
  size_t w_off; /* bytes from the pack's start to the block's columns (w_md has offset 0) */
  int bias_arg; /* DNNL_ARG_BIAS or the binary post-op's source */
  int threads;
  dnnl_memory_t *mem; /* per pool worker: N_MEM objects made once, their pointers set per call */
} GemmPrim;

/* The layout oneDNN chooses for the bf16 weights (K, N) of a shape ("any"; it does not depend
 * on M), keyed by (N, K). */
typedef struct {
  int64_t n, k;
  dnnl_memory_desc_t md;
} WeightLayout;

struct _UfoCpuDnnl {
  int threads;
  dnnl_stream_t *stream; /* per pool worker */
  void **scratch;        /* per pool worker */
  size_t *scratch_bytes;
  float **cbuf; /* per pool worker: a dense C block when C's block is strided */
  size_t *cbuf_bytes;
  GHashTable *prims; /* GemmKey -> GemmPrim */
  GArray *layouts;   /* WeightLayout */
  uint16_t *a16;     /* A in bf16, grown to the largest M * K */
  size_t a16_bytes;
  float **lnrow; /* per pool worker: one layer-normed row of A (fused linear) */
  size_t *lnrow_bytes;
};

static guint key_hash(gconstpointer p)
{
  const GemmKey *k = p;
  guint h = 2166136261u;
  int64_t v[5] = {k->m, k->nn, k->k, k->n, k->n0};
  for (int i = 0; i < 5; i++)
    h = (h ^ (guint)(v[i] ^ (v[i] >> 32))) * 16777619u;
  return h ^ (guint)k->bias;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
  const GemmKey *x = a, *y = b;
  return x->m == y->m && x->nn == y->nn && x->k == y->k && x->n == y->n && x->n0 == y->n0 &&
         x->alpha == y->alpha && x->beta == y->beta && x->bias == y->bias;
}

static void prim_free(gpointer p)
{
  GemmPrim *g = p;
  if (g->matmul)
    dnnl_primitive_destroy(g->matmul);
  for (int i = 0; g->mem && i < g->threads * N_MEM; i++)
    if (g->mem[i])
      dnnl_memory_destroy(g->mem[i]);
  g_free(g->mem);
  g_free(g);
}

void ufo_cpu_dnnl_free(UfoCpuDnnl *d)
{
  if (d == NULL)
    return;
  g_hash_table_destroy(d->prims);
  g_array_free(d->layouts, TRUE);
  for (int w = 0; w < d->threads; w++) {
    if (d->stream[w])
      dnnl_stream_destroy(d->stream[w]);
    free(d->scratch[w]);
    free(d->cbuf[w]);
    free(d->lnrow[w]);
  }
  g_free(d->stream);
  g_free(d->scratch);
  g_free(d->scratch_bytes);
  g_free(d->cbuf);
  g_free(d->cbuf_bytes);
  g_free(d->lnrow);
  g_free(d->lnrow_bytes);
  free(d->a16);
  g_free(d);
}

static UfoCpuDnnl *state_get(UfoCpu *cpu, GError **error)
{
  if (cpu->dnnl)
    return cpu->dnnl;
  init_once();
  if (engine == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "precision=bf16: no oneDNN CPU engine");
    return NULL;
  }
  UfoCpuDnnl *d = g_new0(UfoCpuDnnl, 1);
  d->threads = cpu->threads;
  d->stream = g_new0(dnnl_stream_t, d->threads);
  d->scratch = g_new0(void *, d->threads);
  d->scratch_bytes = g_new0(size_t, d->threads);
  d->cbuf = g_new0(float *, d->threads);
  d->cbuf_bytes = g_new0(size_t, d->threads);
  d->lnrow = g_new0(float *, d->threads);
  d->lnrow_bytes = g_new0(size_t, d->threads);
  d->prims = g_hash_table_new_full(key_hash, key_equal, g_free, prim_free);
  d->layouts = g_array_new(FALSE, FALSE, sizeof(WeightLayout));
  for (int w = 0; w < d->threads; w++)
    if (dnnl_failed(dnnl_stream_create(&d->stream[w], engine, dnnl_stream_default_flags),
                    "stream creation", error)) {
      ufo_cpu_dnnl_free(d);
      return NULL;
    }
  cpu->dnnl = d;
  return d;
}

static gboolean md_2d(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, int64_t s0, int64_t s1,
                      dnnl_data_type_t dt)
{
  dnnl_dims_t dims = {rows, cols}, strides = {s0, s1};
  return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides) == dnnl_success;
}

/* The bf16 weights layout of (N, K): what a plain matmul of that shape picks (format "any"). */
static const dnnl_memory_desc_t *layout_get(UfoCpuDnnl *d, int64_t n, int64_t k, GError **error)
{
  for (guint i = 0; i < d->layouts->len; i++) {
    const WeightLayout *l = &g_array_index(d->layouts, WeightLayout, i);
    if (l->n == n && l->k == k)
      return &l->md;
  }
  dnnl_memory_desc_t a, w, c;
  dnnl_dims_t wdims = {k, n};
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd = NULL;
  enum { M_PROBE = 256 };
  if (!md_2d(&a, M_PROBE, k, k, 1, dnnl_bf16) || !md_2d(&c, M_PROBE, n, n, 1, dnnl_f32) ||
      dnnl_failed(dnnl_memory_desc_init_by_tag(&w, 2, wdims, dnnl_bf16, dnnl_format_tag_any),
                  "weights description", error) ||
      dnnl_failed(dnnl_matmul_desc_init(&desc, &a, &w, NULL, &c), "matmul description", error))
    return NULL;
  omp_set_num_threads(1); /* the layout of a single-threaded matmul, as prim_make's */
  if (dnnl_failed(dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL), "matmul creation",
                  error))
    return NULL;
  WeightLayout l = {n, k, *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0)};
  dnnl_primitive_desc_destroy(pd);
  g_array_append_val(d->layouts, l);
  return &g_array_index(d->layouts, WeightLayout, d->layouts->len - 1).md;
}

/* The matmul of one block: weights = columns [n0, n0 + nn) of the (K, N) layout full. */
static GemmPrim *prim_make(const GemmKey *key, const dnnl_memory_desc_t *full, int threads,
                           GError **error)
{
  GemmPrim *g = g_new0(GemmPrim, 1);
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_desc_t pd = NULL;
  gboolean ok = FALSE;
  dnnl_dims_t wdims = {key->k, key->nn}, woff = {0, key->n0};
  if (!md_2d(&g->a_md, key->m, key->k, key->k, 1, dnnl_bf16) ||
      !md_2d(&g->bias_md, 1, key->nn, key->nn, 1, dnnl_f32) ||
      !md_2d(&g->c_md, key->m, key->nn, key->nn, 1, dnnl_f32) ||
      dnnl_memory_desc_init_submemory(&g->w_md, full, wdims, woff) != dnnl_success) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
                "precision=bf16: oneDNN refused the memory layout of a %lldx%lldx%lld GEMM",
                (long long)key->m, (long long)key->nn, (long long)key->k);
    goto out;
  }
  /* the block's columns by pointer: brgemm ignores a weights offset0 */
  g->w_off = (size_t)g->w_md.offset0 * sizeof(uint16_t);
  g->w_md.offset0 = 0;
  if (dnnl_failed(dnnl_primitive_attr_create(&attr), "attribute creation", error) ||
      dnnl_failed(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
                  "scratchpad mode", error) ||
      dnnl_failed(dnnl_post_ops_create(&po), "post-op creation", error))
    goto out;
  gboolean bias_in_matmul = key->bias && key->alpha == 1.f;
  if (key->alpha != 1.f &&
      dnnl_failed(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &key->alpha), "output scale",
                  error))
    goto out;
  int n_po = 0;
  if (key->beta != 0.f) {
    if (dnnl_failed(dnnl_post_ops_append_sum(po, key->beta), "sum post-op", error))
      goto out;
    n_po++;
  }
  g->bias_arg = DNNL_ARG_BIAS;
  if (key->bias && !bias_in_matmul) { /* alpha * AB (+ beta C) + bias */
    if (dnnl_failed(dnnl_post_ops_append_binary(po, dnnl_binary_add, &g->bias_md), "bias post-op",
                    error))
      goto out;
    g->bias_arg = DNNL_ARG_ATTR_MULTIPLE_POST_OP(n_po) | DNNL_ARG_SRC_1;
  }
  dnnl_matmul_desc_t desc;
  /* oneDNN plans a primitive's work for the calling thread's OpenMP thread count, and runs that
   * many threads whatever the count at execution: planned for 1, the pool being the parallelism
   * (a thread that never set it, e.g. a new streaming thread, would plan for every core, and
   * each block would start an OpenMP team beside the pool's workers) */
  omp_set_num_threads(1);
  if (dnnl_failed(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops", error) ||
      dnnl_failed(dnnl_matmul_desc_init(&desc, &g->a_md, &g->w_md,
                                        bias_in_matmul ? &g->bias_md : NULL, &g->c_md),
                  "matmul description", error) ||
      dnnl_failed(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL), "matmul creation",
                  error))
    goto out;
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl) {
    g_mutex_lock(&impl_lock);
    if (!impl_name[0]) {
      g_strlcpy(impl_name, impl, sizeof impl_name);
      ufo_log(UFO_LOG_INFO, "precision=bf16: weight GEMMs on oneDNN matmul %s", impl_name);
    }
    g_mutex_unlock(&impl_lock);
    if (strncmp(impl, "brg", 3) != 0)
      ufo_log(UFO_LOG_DEBUG, "precision=bf16: %lldx%lldx%lld GEMM block on oneDNN %s",
              (long long)key->m, (long long)key->nn, (long long)key->k, impl);
  }
  g->scratch_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  g->scratch_bytes = dnnl_memory_desc_get_size(&g->scratch_md);
  if (dnnl_failed(dnnl_primitive_create(&g->matmul, pd), "matmul primitive", error))
    goto out;
  /* memory objects once per worker (a creation per call cost more than the small GEMMs of
   * decode steps); each call only sets their pointers */
  g->threads = threads;
  g->mem = g_new0(dnnl_memory_t, (size_t)threads * N_MEM);
  for (int w = 0; w < threads; w++) {
    dnnl_memory_t *m = g->mem + w * N_MEM;
    if (dnnl_failed(dnnl_memory_create(&m[MEM_A], &g->a_md, engine, DNNL_MEMORY_NONE), "memory",
                    error) ||
        dnnl_failed(dnnl_memory_create(&m[MEM_W], &g->w_md, engine, DNNL_MEMORY_NONE), "memory",
                    error) ||
        dnnl_failed(dnnl_memory_create(&m[MEM_C], &g->c_md, engine, DNNL_MEMORY_NONE), "memory",
                    error) ||
        dnnl_failed(dnnl_memory_create(&m[MEM_SCRATCH], &g->scratch_md, engine, DNNL_MEMORY_NONE),
                    "memory", error) ||
        (key->bias &&
         dnnl_failed(dnnl_memory_create(&m[MEM_BIAS], &g->bias_md, engine, DNNL_MEMORY_NONE),
                     "memory", error)))
      goto out;
  }
  ok = TRUE;
out:
  if (pd)
    dnnl_primitive_desc_destroy(pd);
  if (attr)
    dnnl_primitive_attr_destroy(attr);
  if (po)
    dnnl_post_ops_destroy(po);
  if (!ok) {
    prim_free(g);
    return NULL;
  }
  return g;
}

/* The bf16 copy of weight view v in layout md, made on first use by whichever backend needs it
 * (a one-off per view: the first frame), single-threaded. */
static const WeightPack *pack_get(UfoCpu *cpu, UfoCpuDnnl *d, UfoView v,
                                  const dnnl_memory_desc_t *md, GError **error)
{
  const WeightPack *found = pack_find(v.t, v, md);
  if (found)
    return found;
  g_mutex_lock(&pack_lock);
  if ((found = pack_find(v.t, v, md))) { /* another backend made it meanwhile */
    g_mutex_unlock(&pack_lock);
    return found;
  }
  WeightPack *pk = g_new0(WeightPack, 1);
  *pk = (WeightPack){.off = v.off, .n = v.rows, .k = v.cols, .ld = v.ld, .md = *md};
  pk->bytes = dnnl_memory_desc_get_size(md);
  pk->data = ufo_cpu_alloc_bytes(pk->bytes);
  dnnl_memory_desc_t src;
  dnnl_primitive_desc_t rpd = NULL;
  dnnl_primitive_t r = NULL;
  dnnl_memory_t ms = NULL, md_mem = NULL;
  gboolean ok = FALSE;
  if (pk->data == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
                "out of memory reordering a %lldx%lld weight for precision=bf16 (%zu bytes)",
                (long long)v.rows, (long long)v.cols, pk->bytes);
    goto out;
  }
  (*cpu->allocs)++;
  /* B (n, k) row-major with ld = the matmul's weights (k, n) with strides (1, ld) */
  if (!md_2d(&src, v.cols, v.rows, 1, v.ld, dnnl_f32)) {
    dnnl_failed(dnnl_invalid_arguments, "weight layout", error);
    goto out;
  }
  dnnl_exec_arg_t args[2];
  omp_set_num_threads(1);
  if (dnnl_failed(dnnl_reorder_primitive_desc_create(&rpd, &src, engine, md, engine, NULL),
                  "weight reorder", error) ||
      dnnl_failed(dnnl_primitive_create(&r, rpd), "weight reorder primitive", error) ||
      dnnl_failed(dnnl_memory_create(&ms, &src, engine, ufo_cpu_ptr(v)), "memory", error) ||
      dnnl_failed(dnnl_memory_create(&md_mem, md, engine, pk->data), "memory", error))
    goto out;
  args[0] = (dnnl_exec_arg_t){DNNL_ARG_FROM, ms};
  args[1] = (dnnl_exec_arg_t){DNNL_ARG_TO, md_mem};
  if (dnnl_failed(dnnl_primitive_execute(r, d->stream[0], 2, args), "weight reorder", error) ||
      dnnl_failed(dnnl_stream_wait(d->stream[0]), "weight reorder", error))
    goto out;
  ok = TRUE;
out:
  if (rpd)
    dnnl_primitive_desc_destroy(rpd);
  if (r)
    dnnl_primitive_destroy(r);
  if (ms)
    dnnl_memory_destroy(ms);
  if (md_mem)
    dnnl_memory_destroy(md_mem);
  if (!ok) {
    free(pk->data);
    g_free(pk);
    g_mutex_unlock(&pack_lock);
    return NULL;
  }
  pk->next = v.t->derived;
  g_atomic_pointer_set(&v.t->derived, pk); /* published complete */
  packed_total += pk->bytes;
  ufo_log(UFO_LOG_DEBUG, "precision=bf16: reordered a %lldx%lld weight (%.2f MiB, %.1f MiB in all)",
          (long long)v.rows, (long long)v.cols, pk->bytes / 1048576.0, packed_total / 1048576.0);
  g_mutex_unlock(&pack_lock);
  return pk;
}

/* Grows a buffer of the backend (counted as an allocation), FALSE when out of memory. */
static gboolean grow(UfoCpu *cpu, void **buf, size_t *have, size_t bytes, GError **error)
{
  if (*have >= bytes)
    return TRUE;
  void *p = ufo_cpu_alloc_bytes(bytes);
  if (p == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
                "out of memory for a precision=bf16 GEMM buffer (%zu bytes)", bytes);
    return FALSE;
  }
  free(*buf);
  *buf = p;
  *have = bytes;
  (*cpu->allocs)++;
  return TRUE;
}

/* ---- A to bf16 (AVX512-BF16: runs only where ufo_cpu_bf16_supported) ---- */

/* Rows of A to dense bf16; with ln_w, each row is first layer-normed into the worker's row
 * buffer (the fused linear: A = LN(x), the row ufo_cpu_layer_norm computes). */
typedef struct {
  const float *a;
  int64_t lda, k;
  uint16_t *dst; /* (m, k) dense */
  const float *ln_w, *ln_b;
  float ln_eps;
  float **lnrow; /* per pool worker, k floats (with ln_w) */
} ConvJob;

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void
ufo_cpu_bf16_convert(uint16_t *dst, const float *src, int64_t n)
{
  for (int64_t l = 0; l < n; l += 16) {
    __mmask16 mk = n - l >= 16 ? 0xffff : (__mmask16)((1u << (n - l)) - 1);
    __m256bh v = _mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(mk, src + l));
    _mm256_mask_storeu_epi16(dst + l, mk, (__m256i)v);
  }
}
#else
void ufo_cpu_bf16_convert(uint16_t *dst, const float *src, int64_t n)
{
  for (int64_t l = 0; l < n; l++)
    dst[l] = bf16_bits(src[l]);
}
#endif

static void conv_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  const ConvJob *j = ctx;
  for (int64_t r = begin; r < end; r++) {
    const float *src = j->a + r * j->lda;
    if (j->ln_w) {
      ufo_cpu_layer_norm_row(j->lnrow[worker], src, j->ln_w, j->ln_b, j->k, j->ln_eps);
      src = j->lnrow[worker];
    }
    ufo_cpu_bf16_convert(j->dst + r * j->k, src, j->k);
  }
}

/* ---- the GEMM: blocks of C, one single-threaded matmul per block and pool worker ---- */

#define SLICE_ALIGN 64 /* columns: the N block of oneDNN's bf16 weight layouts */
#define MIN_ROWS 64    /* rows per block, at least, when splitting along M */
/* Below this 2*M*N*K the whole GEMM runs on the calling thread: A's conversion inline, one
 * matmul, no pool dispatch. On this 2-core EPYC one thread does ~250-500 GFLOP/s, so 16 MFLOP
 * is 30-60 us, about what waking a worker and joining it costs on a loaded machine
 * (docs/performance.md §8 "Small GEMMs"). */
#define INLINE_FLOPS 16e6
/* A's conversion runs on the caller up to this many elements when the pool splits columns
 * (every worker reads all of A): one dispatch instead of two */
#define INLINE_CONV 65536

typedef struct {
  const UfoGemm *p;
  UfoCpuDnnl *d;
  gboolean split_n;
  gboolean conv_in_part; /* blocks of rows: each converts its own rows of A first */
  gboolean gelu;         /* the fused linear's GELU on each block of C after its product */
  int64_t parts, part_len;
  const ConvJob *conv;
  const WeightPack *pack;
  const GemmPrim **prim; /* per part (at most d->threads) */
  dnnl_status_t *status; /* per part */
} DnnlJob;

static dnnl_status_t run_part(const DnnlJob *j, int64_t u, int worker)
{
  const UfoGemm *p = j->p;
  const GemmPrim *g = j->prim[u];
  int64_t m0 = j->split_n ? 0 : u * j->part_len, n0 = j->split_n ? u * j->part_len : 0;
  int64_t m = g->c_md.dims[0], nn = g->c_md.dims[1], k = g->a_md.dims[1], ldc = p->c.ld;
  if (j->conv_in_part)
    conv_task((void *)j->conv, m0, m0 + m, worker);
  float *c = ufo_cpu_ptr(p->c) + m0 * ldc + n0;
  float *out = ldc == nn ? c : j->d->cbuf[worker]; /* brgemm writes dense matrices only */
  if (out != c && p->beta != 0.f)
    for (int64_t i = 0; i < m; i++)
      memcpy(out + i * nn, c + i * ldc, (size_t)nn * sizeof(float));
  dnnl_memory_t *mem = g->mem + worker * N_MEM;
  void *ptr[N_MEM] = {j->d->a16 + m0 * k, (char *)j->pack->data + g->w_off, out,
                      j->d->scratch[worker], p->bias.t ? ufo_cpu_ptr(p->bias) + n0 : NULL};
  dnnl_status_t s = dnnl_success;
  for (int i = 0; i < N_MEM && s == dnnl_success; i++)
    if (mem[i])
      s = dnnl_memory_set_data_handle(mem[i], ptr[i]);
  omp_set_num_threads(1); /* the pool is the parallelism: no OpenMP team per worker */
  if (s == dnnl_success) {
    dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, mem[MEM_A]},
                              {DNNL_ARG_WEIGHTS, mem[MEM_W]},
                              {DNNL_ARG_DST, mem[MEM_C]},
                              {DNNL_ARG_SCRATCHPAD, mem[MEM_SCRATCH]},
                              {g->bias_arg, mem[MEM_BIAS]}};
    s = dnnl_primitive_execute(g->matmul, j->d->stream[worker], p->bias.t ? 5 : 4, args);
    if (s == dnnl_success)
      s = dnnl_stream_wait(j->d->stream[worker]);
  }
  /* the block is still in this core's cache: GELU here rather than in a pass of its own
   * (out is dense: out == c only when ldc == nn) */
  if (s == dnnl_success && j->gelu)
    for (int64_t i = 0; i < m; i++)
      ufo_cpu_gelu_row(out + i * nn, out + i * nn, nn);
  if (s == dnnl_success && out != c)
    for (int64_t i = 0; i < m; i++)
      memcpy(c + i * ldc, out + i * nn, (size_t)nn * sizeof(float));
  return s;
}

static void part_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  const DnnlJob *j = ctx;
  for (int64_t u = begin; u < end; u++)
    j->status[u] = run_part(j, u, worker);
}

/* Plans j for GEMM p (2 M N K >= UFO_CPU_BLAS_MIN_FLOPS): its blocks, their primitives (made
 * on first use), the weight's bf16 copy and the workers' buffers; j->prim and j->status hold
 * d->threads entries. */
static gboolean plan(UfoCpu *cpu, UfoCpuDnnl *d, DnnlJob *j, const UfoGemm *p, GError **error)
{
  int64_t m = p->c.rows, n = p->c.cols, k = p->a.cols;
  double flops = 2.0 * (double)m * (double)n * (double)k;
  const dnnl_memory_desc_t *full = layout_get(d, n, k, error);
  const WeightPack *pack = full ? pack_get(cpu, d, p->b, full, error) : NULL;
  if (pack == NULL)
    return FALSE;
  /* small GEMMs: one block on the caller. Else blocks of rows (A read once, weights once per
   * block) when there are enough rows for every worker; else blocks of columns on the weights
   * layout's 64-column boundaries (decode steps) */
  gboolean inline_run = d->threads == 1 || flops < INLINE_FLOPS;
  j->p = p;
  j->d = d;
  j->pack = pack;
  j->split_n = inline_run || m < (int64_t)d->threads * MIN_ROWS;
  j->conv_in_part = !j->split_n;
  int64_t parts, unit = j->split_n ? SLICE_ALIGN : 1, len = j->split_n ? n : m;
  parts = inline_run ? 1 : MAX(1, MIN((int64_t)d->threads, (len + unit - 1) / unit));
  j->part_len = ((len + parts - 1) / parts + unit - 1) / unit * unit;
  j->parts = (len + j->part_len - 1) / j->part_len;
  size_t scratch = 1, cbuf = 1;
  for (int64_t u = 0; u < j->parts; u++) {
    int64_t lo = u * j->part_len, hi = MIN(len, lo + j->part_len);
    GemmKey key = {.m = j->split_n ? m : hi - lo,
                   .nn = j->split_n ? hi - lo : n,
                   .k = k,
                   .n = n,
                   .n0 = j->split_n ? lo : 0,
                   .alpha = p->alpha,
                   .beta = p->beta,
                   .bias = p->bias.t != NULL};
    GemmPrim *g = g_hash_table_lookup(d->prims, &key);
    if (g == NULL) {
      if ((g = prim_make(&key, full, d->threads, error)) == NULL)
        return FALSE;
      g_hash_table_insert(d->prims, g_memdup2(&key, sizeof key), g);
    }
    j->prim[u] = g;
    scratch = MAX(scratch, g->scratch_bytes);
    if (p->c.ld != key.nn)
      cbuf = MAX(cbuf, (size_t)key.m * (size_t)key.nn * sizeof(float));
  }
  int workers = j->parts == 1 ? 1 : d->threads; /* one part runs on the caller (worker 0) */
  for (int w = 0; w < workers; w++)
    if (!grow(cpu, &d->scratch[w], &d->scratch_bytes[w], scratch, error) ||
        !grow(cpu, (void **)&d->cbuf[w], &d->cbuf_bytes[w], cbuf, error))
      return FALSE;
  return TRUE;
}

/* A (m rows) to bf16 before the products, where no block converts its own rows */
static void convert_all(UfoCpu *cpu, const ConvJob *cj, int64_t m, int64_t parts)
{
  if (parts == 1 || m * cj->k <= INLINE_CONV)
    conv_task((void *)cj, 0, m, 0);
  else
    ufo_pool_run(cpu->pool, m, UFO_CPU_ROWS_PER_TASK, conv_task, (void *)cj);
}

/* The blocks of a planned job: on the caller when there is one, else one per worker */
static void run_blocks(UfoCpu *cpu, DnnlJob *j)
{
  if (j->parts == 1)
    part_task(j, 0, 1, 0);
  else
    ufo_pool_run(cpu->pool, j->parts, 1, part_task, j);
}

static gboolean blocks_ok(const DnnlJob *j, GError **error)
{
  for (int64_t u = 0; u < j->parts; u++)
    if (dnnl_failed(j->status[u], "matmul", error))
      return FALSE;
  return TRUE;
}

gboolean ufo_cpu_gemm_bf16(UfoCpu *cpu, const UfoGemm *p, GError **error)
{
  int64_t m = p->c.rows, n = p->c.cols, k = p->a.cols;
  if (2.0 * (double)m * (double)n * (double)k < UFO_CPU_BLAS_MIN_FLOPS) {
    ufo_cpu_gemm_bf16_ref(p); /* same rounding, plain loop */
    return TRUE;
  }
  UfoCpuDnnl *d = state_get(cpu, error);
  if (d == NULL)
    return FALSE;
  const GemmPrim *prim[d->threads];
  dnnl_status_t status[d->threads];
  ConvJob cj = {.a = ufo_cpu_ptr(p->a), .lda = p->a.ld, .k = k};
  DnnlJob j = {.prim = prim, .status = status, .conv = &cj};
  if (!plan(cpu, d, &j, p, error) ||
      !grow(cpu, (void **)&d->a16, &d->a16_bytes, (size_t)m * (size_t)k * sizeof(uint16_t), error))
    return FALSE;
  cj.dst = d->a16;
  if (!j.conv_in_part)
    convert_all(cpu, &cj, m, j.parts);
  run_blocks(cpu, &j);
  return blocks_ok(&j, error);
}

/* ---- the linear layer fused (backend.h UfoLinear) ---- */

gboolean ufo_cpu_linear_bf16_fuses(const UfoLinear *p)
{
  if (p->w.t == NULL || !p->w.t->weight)
    return FALSE;
  for (int i = 0; i < (p->y2.t ? 2 : 1); i++) {
    const int64_t n = i ? p->y2.cols : p->y.cols;
    if (2.0 * (double)p->x.rows * (double)n * (double)p->x.cols < UFO_CPU_BLAS_MIN_FLOPS)
      return FALSE; /* the composed GEMM would run the plain loop */
  }
  return TRUE;
}

typedef struct {
  DnnlJob *jobs;
  int n;
} LinearJob;

/* blocks of rows of every destination: each worker converts its rows (LN first) once, then
 * runs its block of each product */
static void linear_rows_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  const LinearJob *lj = ctx;
  for (int64_t u = begin; u < end; u++) {
    const DnnlJob *j0 = &lj->jobs[0];
    const int64_t m0 = u * j0->part_len;
    conv_task((void *)j0->conv, m0, m0 + j0->prim[u]->c_md.dims[0], worker);
    for (int i = 0; i < lj->n; i++)
      lj->jobs[i].status[u] = run_part(&lj->jobs[i], u, worker);
  }
}

gboolean ufo_cpu_linear_bf16(UfoCpu *cpu, const UfoLinear *p, GError **error)
{
  const int n = p->y2.t ? 2 : 1;
  const int64_t m = p->x.rows, k = p->x.cols;
  UfoCpuDnnl *d = state_get(cpu, error);
  if (d == NULL)
    return FALSE;
  const GemmPrim *prim[2][d->threads];
  dnnl_status_t status[2][d->threads];
  UfoGemm g[2];
  DnnlJob jobs[2];
  ConvJob cj = {.a = ufo_cpu_ptr(p->x), .lda = p->x.ld, .k = k, .lnrow = d->lnrow};
  if (p->ln_w.t) { /* inference §5.1: the pre-LN of the block, fused into A's conversion */
    cj.ln_w = ufo_cpu_ptr(p->ln_w);
    cj.ln_b = ufo_cpu_ptr(p->ln_b);
    cj.ln_eps = p->ln_eps;
  }
  gboolean rows = TRUE; /* every destination in blocks of rows (the same blocks: same M) */
  for (int i = 0; i < n; i++) {
    g[i] = ufo_linear_gemm(p, p->x, i); /* A = x: the LN is in the conversion */
    jobs[i] = (DnnlJob){.prim = prim[i], .status = status[i], .conv = &cj, .gelu = p->gelu};
    if (!plan(cpu, d, &jobs[i], &g[i], error))
      return FALSE;
    rows = rows && jobs[i].conv_in_part;
  }
  if (!grow(cpu, (void **)&d->a16, &d->a16_bytes, (size_t)m * (size_t)k * sizeof(uint16_t), error))
    return FALSE;
  for (int w = 0; p->ln_w.t && w < d->threads; w++)
    if (!grow(cpu, (void **)&d->lnrow[w], &d->lnrow_bytes[w], (size_t)k * sizeof(float), error))
      return FALSE;
  cj.dst = d->a16;
  for (int i = 0; i < n; i++)
    jobs[i].conv_in_part = FALSE; /* A is converted once for all destinations */
  if (rows) {
    LinearJob lj = {jobs, n};
    ufo_pool_run(cpu->pool, jobs[0].parts, 1, linear_rows_task, &lj);
  } else {
    convert_all(cpu, &cj, m, MAX(jobs[0].parts, jobs[n - 1].parts));
    for (int i = 0; i < n; i++)
      run_blocks(cpu, &jobs[i]);
  }
  for (int i = 0; i < n; i++)
    if (!blocks_ok(&jobs[i], error))
      return FALSE;
  return TRUE;
}
