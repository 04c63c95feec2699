/* oneDNN matmul primitives on plain strided operands, cached per shape with what running them
 * in the pool needs (cpu.h UfoDnnlMm): one oneDNN stream and scratchpad per pool worker, and per
 * primitive one set of memory objects per worker whose data pointers a call sets. Used by the
 * attention products of both precisions (attention_dnnl.c) and the fp32 GEMMs (gemm.c);
 * gemm_dnnl.c (bf16 weight GEMMs, weights reordered into oneDNN's blocked layouts) keeps its own.
 *
 * A primitive: C (m, n) f32 = alpha * A (m, k) · B (k, n) [+ beta * C], A and B of one source
 * type (f32 or bf16) with any strides (a transposed operand = swapped strides), C row-major with
 * leading dimension ldc; alpha as the output scale, beta as a sum post-op. Each call is one
 * single-threaded matmul (omp_set_num_threads(1): Debian's oneDNN runs on OpenMP and the pool is
 * the only parallelism, gemm_dnnl.c). ufo_cpu_mm_get may run on several workers at once (a lock
 * guards the cache); the scratchpads are grown by ufo_cpu_mm_reserve before a parallel region. */
#include "cpu.h"
#include "log.h"

#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdlib.h>

enum { M_SRC, M_W, M_DST, M_SCRATCH, N_M };

struct _UfoDnnlMmPrim {
  dnnl_primitive_t mm;
  size_t scratch_bytes;
  int threads;
  char impl[128];
  dnnl_memory_t *mem; /* per worker: N_M objects */
};

struct _UfoDnnlMm {
  int threads;
  dnnl_stream_t *stream; /* per worker */
  void **scratch;        /* per worker: oneDNN scratchpads (user mode) */
  size_t *scratch_bytes;
  size_t scratch_need; /* the largest scratchpad of the cached primitives */
  GHashTable *prims;   /* UfoDnnlMmKey -> UfoDnnlMmPrim */
  GMutex lock;
};

static guint key_hash(gconstpointer p)
{
  const UfoDnnlMmKey *k = p;
  guint h = 2166136261u;
  int64_t v[] = {k->dt, k->m, k->n, k->k, k->sa[0], k->sa[1], k->sb[0], k->sb[1], k->ldc};
  for (size_t i = 0; i < G_N_ELEMENTS(v); i++)
    h = (h ^ (guint)(v[i] ^ (v[i] >> 32))) * 16777619u;
  return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
  const UfoDnnlMmKey *x = a, *y = b;
  return x->dt == y->dt && x->m == y->m && x->n == y->n && x->k == y->k && x->sa[0] == y->sa[0] &&
         x->sa[1] == y->sa[1] && x->sb[0] == y->sb[0] && x->sb[1] == y->sb[1] && x->ldc == y->ldc &&
         x->alpha == y->alpha && x->beta == y->beta;
}

static void prim_free(gpointer p)
{
  UfoDnnlMmPrim *g = p;
  if (g->mm)
    dnnl_primitive_destroy(g->mm);
  for (int i = 0; g->mem && i < g->threads * N_M; i++)
    if (g->mem[i])
      dnnl_memory_destroy(g->mem[i]);
  g_free(g->mem);
  g_free(g);
}

void ufo_cpu_mm_free(UfoDnnlMm *c)
{
  if (c == NULL)
    return;
  g_hash_table_destroy(c->prims);
  for (int w = 0; w < c->threads; w++) {
    if (c->stream[w])
      dnnl_stream_destroy(c->stream[w]);
    free(c->scratch[w]);
  }
  g_free(c->stream);
  g_free(c->scratch);
  g_free(c->scratch_bytes);
  g_mutex_clear(&c->lock);
  g_free(c);
}

static gboolean failed(dnnl_status_t s, const char *what, GError **error)
{
  if (s == dnnl_success)
    return FALSE;
  g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "oneDNN matmul: %s failed (status %d)", what,
              (int)s);
  return TRUE;
}

UfoDnnlMm *ufo_cpu_mm_new(int threads, GError **error)
{
  dnnl_engine_t engine = ufo_cpu_dnnl_engine();
  if (engine == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "no oneDNN CPU engine");
    return NULL;
  }
  UfoDnnlMm *c = g_new0(UfoDnnlMm, 1);
  c->threads = threads;
  c->stream = g_new0(dnnl_stream_t, threads);
  c->scratch = g_new0(void *, threads);
  c->scratch_bytes = g_new0(size_t, threads);
  c->prims = g_hash_table_new_full(key_hash, key_equal, g_free, prim_free);
  g_mutex_init(&c->lock);
  for (int w = 0; w < threads; w++)
    if (failed(dnnl_stream_create(&c->stream[w], engine, dnnl_stream_default_flags),
               "stream creation", error)) {
      ufo_cpu_mm_free(c);
      return NULL;
    }
  return c;
}

static gboolean md_2d(dnnl_memory_desc_t *md, int64_t rows, int64_t cols, int64_t s0, int64_t s1,
                      dnnl_data_type_t dt)
{
  dnnl_dims_t dims = {rows, cols}, strides = {s0, s1};
  return dnnl_memory_desc_init_by_strides(md, 2, dims, dt, strides) == dnnl_success;
}

static UfoDnnlMmPrim *prim_make(const UfoDnnlMmKey *key, int threads, GError **error)
{
  dnnl_engine_t engine = ufo_cpu_dnnl_engine();
  UfoDnnlMmPrim *g = g_new0(UfoDnnlMmPrim, 1);
  dnnl_primitive_attr_t attr = NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_desc_t pd = NULL;
  dnnl_memory_desc_t src, w, dst, scratch;
  gboolean ok = FALSE;
  if (!md_2d(&src, key->m, key->k, key->sa[0], key->sa[1], key->dt) ||
      !md_2d(&w, key->k, key->n, key->sb[0], key->sb[1], key->dt) ||
      !md_2d(&dst, key->m, key->n, key->ldc, 1, dnnl_f32)) {
    failed(dnnl_invalid_arguments, "memory layout", error);
    goto out;
  }
  dnnl_matmul_desc_t desc;
  /* planned for one thread (oneDNN runs the thread count of the creating thread's OpenMP
   * setting at every execution: gemm_dnnl.c prim_make) */
  omp_set_num_threads(1);
  if (failed(dnnl_primitive_attr_create(&attr), "attribute creation", error) ||
      failed(dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user),
             "scratchpad mode", error) ||
      failed(dnnl_post_ops_create(&po), "post-op creation", error) ||
      (key->alpha != 1.f && failed(dnnl_primitive_attr_set_output_scales(attr, 1, 0, &key->alpha),
                                   "output scale", error)) ||
      (key->beta != 0.f && failed(dnnl_post_ops_append_sum(po, key->beta), "sum post-op", error)) ||
      failed(dnnl_primitive_attr_set_post_ops(attr, po), "post-ops", error) ||
      failed(dnnl_matmul_desc_init(&desc, &src, &w, NULL, &dst), "description", error) ||
      failed(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL), "creation", error))
    goto out;
  const char *impl = NULL;
  if (dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success && impl)
    g_strlcpy(g->impl, impl, sizeof g->impl);
  scratch = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
  g->scratch_bytes = dnnl_memory_desc_get_size(&scratch);
  if (failed(dnnl_primitive_create(&g->mm, pd), "primitive", error))
    goto out;
  g->threads = threads;
  g->mem = g_new0(dnnl_memory_t, (size_t)threads * N_M);
  for (int t = 0; t < threads; t++) {
    dnnl_memory_t *m = g->mem + t * N_M;
    if (failed(dnnl_memory_create(&m[M_SRC], &src, engine, DNNL_MEMORY_NONE), "memory", error) ||
        failed(dnnl_memory_create(&m[M_W], &w, engine, DNNL_MEMORY_NONE), "memory", error) ||
        failed(dnnl_memory_create(&m[M_DST], &dst, engine, DNNL_MEMORY_NONE), "memory", error) ||
        failed(dnnl_memory_create(&m[M_SCRATCH], &scratch, engine, DNNL_MEMORY_NONE), "memory",
               error))
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

const UfoDnnlMmPrim *ufo_cpu_mm_get(UfoDnnlMm *c, const UfoDnnlMmKey *key, GError **error)
{
  g_mutex_lock(&c->lock);
  UfoDnnlMmPrim *g = g_hash_table_lookup(c->prims, key);
  if (g == NULL && (g = prim_make(key, c->threads, error)) != NULL) {
    g_hash_table_insert(c->prims, g_memdup2(key, sizeof *key), g);
    c->scratch_need = MAX(c->scratch_need, g->scratch_bytes);
  }
  g_mutex_unlock(&c->lock);
  return g;
}

const char *ufo_cpu_mm_impl(const UfoDnnlMmPrim *g)
{
  return g->impl[0] ? g->impl : NULL;
}

gboolean ufo_cpu_mm_reserve(UfoCpu *cpu, UfoDnnlMm *c, GError **error)
{
  size_t need = MAX(c->scratch_need, 1);
  for (int w = 0; w < c->threads; w++) {
    if (c->scratch_bytes[w] >= need)
      continue;
    void *b = ufo_cpu_alloc_bytes(need);
    if (b == NULL) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
                  "out of memory for a oneDNN scratchpad (%zu bytes)", need);
      return FALSE;
    }
    free(c->scratch[w]);
    c->scratch[w] = b;
    c->scratch_bytes[w] = need;
    (*cpu->allocs)++;
  }
  return TRUE;
}

gboolean ufo_cpu_mm_run(UfoDnnlMm *c, const UfoDnnlMmPrim *g, int worker, const void *a,
                        const void *b, float *dst)
{
  dnnl_memory_t *m = g->mem + worker * N_M;
  void *ptr[N_M] = {(void *)a, (void *)b, dst, c->scratch[worker]};
  for (int i = 0; i < N_M; i++)
    if (dnnl_memory_set_data_handle(m[i], ptr[i]) != dnnl_success)
      return FALSE;
  omp_set_num_threads(1); /* the pool is the parallelism */
  dnnl_exec_arg_t args[] = {{DNNL_ARG_SRC, m[M_SRC]},
                            {DNNL_ARG_WEIGHTS, m[M_W]},
                            {DNNL_ARG_DST, m[M_DST]},
                            {DNNL_ARG_SCRATCHPAD, m[M_SCRATCH]}};
  return dnnl_primitive_execute(g->mm, c->stream[worker], 4, args) == dnnl_success &&
         dnnl_stream_wait(c->stream[worker]) == dnnl_success;
}

UfoDnnlMm *ufo_cpu_mm_cache(UfoCpu *cpu, GError **error)
{
  if (cpu->mm == NULL)
    cpu->mm = ufo_cpu_mm_new(cpu->threads, error);
  return cpu->mm;
}
