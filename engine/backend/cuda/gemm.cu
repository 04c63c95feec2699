/* GEMM (backend.h UfoGemm): C = alpha * op(A) · op(B) + beta * C + bias, batched, through ONE thin
 * wrapper over cuBLASLt (the emulated build: OpenBLAS, with the same operands).
 *
 * fp32: cuBLASLt with CUBLAS_COMPUTE_32F (no TF32), so results match the CPU to float rounding.
 * precision=bf16 (set_precision), for the GEMMs the CPU rounds (gemm_bf16.c: batch 1, op(A) = A,
 * op(B) = B^T, B a weight): A is rounded to bfloat16 into scratch by a kernel, B's bfloat16 copy
 * is made once per weight view and kept on the tensor (t->derived, dropped by upload/release);
 * cuBLASLt multiplies bf16 x bf16 with float32 accumulation and output. Products of two bf16 are
 * exact in float32, so this equals the CPU's rounding loop up to the order of the sums.
 *
 * Row-major views on column-major cuBLASLt: a row-major (r, c) matrix with leading dimension ld
 * is the column-major (c, r) matrix with the same ld, its transpose. So C = op(A) op(B) is
 * computed as C^T = op(B)^T op(A)^T: cuBLASLt's "A" is our B, its "B" is our A, M and N swap.
 * Batches: CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT / STRIDED_BATCH_OFFSET with the UfoGemm strides.
 * Bias: the BIAS epilogue (D = alpha AB + beta C + bias, bias along cuBLASLt's rows = our
 * columns, batch stride 0) when the heuristic has an algorithm for it, else a kernel folds it
 * into C first (C = beta C + bias, then the product is accumulated with beta = 1), as the CPU's
 * fast path does. */
#include "cuda_priv.h"

#ifdef UFO_CUDA_EMU
#include <cblas.h>
#else
#include <cublasLt.h>
#endif

#include <string.h>

namespace UFO_CUDA_NS
{

/* One operand in row-major terms: element (r, c) of the stored (rows, cols) matrix is
 * ptr[r * ld + c]; op(X) = X^T when trans; batch b starts stride elements further. */
typedef struct {
  const void *ptr;
  int64_t rows, cols, ld;
  gboolean trans;
  size_t stride;
} Operand;

/* A matmul for the wrapper: C (m, n) = alpha op(A) op(B) + beta C + bias; bf16: A and B hold
 * __nv_bfloat16 (C always float). */
typedef struct {
  gboolean bf16;
  Operand a, b;
  float *c;
  int64_t m, n, k, ldc;
  size_t stride_c;
  int batch;
  float alpha, beta;
  const float *bias; /* (n) or NULL */
} Matmul;

/* ---- bf16 operands ---- */

/* dst (rows, cols) with leading dimension ufo_cuda_bf16_ld(cols) = bf16(src (rows, cols), leading
 * dimension ld), round to nearest even (gemm_bf16.c bf16_bits; denormals are kept, where the
 * CPU flushes them to zero). The padding columns are not written (never read). */
__global__ void __launch_bounds__(256)
    to_bf16_kernel(__nv_bfloat16 *__restrict__ dst, int64_t ldd, const float *__restrict__ src,
                   int64_t ld, int64_t rows, int64_t cols)
{
  UFO_CUDA_FOR_ITEMS(rows, cols)
  dst[r * ldd + c] = __float2bfloat16_rn(src[r * ld + c]);
}

static gboolean to_bf16(UfoCuda *cu, __nv_bfloat16 *dst, UfoView v, GError **error)
{
  UFO_LAUNCH(to_bf16_kernel, ufo_cuda_blocks(cu, v.rows * v.cols, 256), 256, 0, cu->stream, dst,
             ufo_cuda_bf16_ld(v.cols), ufo_cuda_ptr(v), v.ld, v.rows, v.cols);
  return ufo_cuda_launched("gemm: to_bf16_kernel", error);
}

/* The bf16 copy of one view of a weight, kept on the tensor: a list (t->derived: the head)
 * that only grows while the tensor lives. */
typedef struct Bf16Copy {
  struct Bf16Copy *next;
  size_t off;
  int64_t rows, cols, ld;
  __nv_bfloat16 *data; /* (rows, cols), leading dimension ufo_cuda_bf16_ld(cols) */
} Bf16Copy;

/* A weight may be read by the backends (streams) of several sessions at once (backend.h
 * ufo_backend_shares_memory): copies are made under this lock, completed on the making stream
 * and only then published (an atomic store of the list head), so lookups need no lock. */
static GMutex copy_lock;

void ufo_cuda_derived_free(UfoTensor *t)
{
  for (Bf16Copy *bc = (Bf16Copy *)t->derived, *next; bc; bc = next) {
    next = bc->next;
    (void)cudaFree(bc->data);
    g_free(bc);
  }
  t->derived = NULL;
}

static const __nv_bfloat16 *copy_find(UfoView v)
{
  for (const Bf16Copy *bc = (const Bf16Copy *)g_atomic_pointer_get(&v.t->derived); bc;
       bc = bc->next)
    if (bc->off == v.off && bc->rows == v.rows && bc->cols == v.cols && bc->ld == v.ld)
      return bc->data;
  return NULL;
}

/* (under copy_lock) */
static const __nv_bfloat16 *copy_make(UfoCuda *cu, UfoView v, GError **error)
{
  size_t bytes = (size_t)(v.rows * ufo_cuda_bf16_ld(v.cols)) * sizeof(__nv_bfloat16);
  __nv_bfloat16 *data = (__nv_bfloat16 *)ufo_cuda_malloc(cu, bytes, "a bf16 weight copy", error);
  if (data == NULL)
    return NULL;
  /* complete before any other stream may find it */
  if (!to_bf16(cu, data, v, error) ||
      !ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "gemm: bf16 weight copy", error)) {
    (void)cudaFree(data);
    return NULL;
  }
  Bf16Copy *bc = g_new(Bf16Copy, 1);
  *bc = (Bf16Copy){(Bf16Copy *)v.t->derived, v.off, v.rows, v.cols, v.ld, data};
  g_atomic_pointer_set(&v.t->derived, bc);
  return data;
}

/* The bf16 copy of weight view v, made on first use (a one-off per view: the first frame). */
const __nv_bfloat16 *ufo_cuda_weight_bf16(UfoCuda *cu, UfoView v, GError **error)
{
  const __nv_bfloat16 *data = copy_find(v);
  if (data)
    return data;
  g_mutex_lock(&copy_lock);
  if (!(data = copy_find(v))) /* another backend may have made it meanwhile */
    data = copy_make(cu, v, error);
  g_mutex_unlock(&copy_lock);
  return data;
}

/* ---- the matmul: cuBLASLt, or OpenBLAS in the emulated build ---- */

#ifdef UFO_CUDA_EMU

gboolean ufo_cuda_gemm_init(UfoCuda *cu, GError **error)
{
  cu->lt = NULL; /* OpenBLAS needs no state */
  return TRUE;
}

void ufo_cuda_gemm_fini(UfoCuda *cu)
{
}

/* A bf16 operand widened to float (exact) into host scratch: emulated device memory is host
 * memory, and OpenBLAS multiplies floats. */
static const float *widen(UfoCuda *cu, const Operand *o, float *dst)
{
  const __nv_bfloat16 *src = (const __nv_bfloat16 *)o->ptr;
  for (int64_t r = 0; r < o->rows; r++)
    for (int64_t c = 0; c < o->cols; c++)
      dst[r * o->cols + c] = __bfloat162float(src[r * o->ld + c]);
  return dst;
}

static gboolean matmul(UfoCuda *cu, const Matmul *mm, GError **error)
{
  if (mm->bias && !ufo_cuda_bias_fold(cu, mm->c, mm->ldc, mm->stride_c, mm->batch, mm->m, mm->n,
                                      mm->beta, mm->bias, error))
    return FALSE;
  float *host = NULL;
  if (mm->bf16) { /* batch 1 (ufo_cuda_gemm) */
    size_t na = (size_t)(mm->a.rows * mm->a.cols), nb = (size_t)(mm->b.rows * mm->b.cols);
    host = (float *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_HOST, (na + nb) * sizeof(float), error);
    if (host == NULL)
      return FALSE;
  }
  /* the GEMM is device work on the stream: run now, or recorded into a graph (cuBLASLt's
   * kernels are captured the same way) */
  Matmul m = *mm;
  cudaError_t st = host_work(cu->stream, [cu, m, host]() {
    float beta = m.bias ? 1.f : m.beta;
    const float *a = (const float *)m.a.ptr, *b = (const float *)m.b.ptr;
    int64_t lda = m.a.ld, ldb = m.b.ld;
    if (m.bf16) {
      size_t na = (size_t)(m.a.rows * m.a.cols);
      a = widen(cu, &m.a, host);
      b = widen(cu, &m.b, host + na);
      lda = m.a.cols;
      ldb = m.b.cols;
    }
    for (int i = 0; i < m.batch; i++)
      cblas_sgemm(CblasRowMajor, m.a.trans ? CblasTrans : CblasNoTrans,
                  m.b.trans ? CblasTrans : CblasNoTrans, (blasint)m.m, (blasint)m.n, (blasint)m.k,
                  m.alpha, a + (size_t)i * m.a.stride, (blasint)lda, b + (size_t)i * m.b.stride,
                  (blasint)ldb, beta, m.c + (size_t)i * m.stride_c, (blasint)m.ldc);
  });
  return ufo_cuda_ok(st, "gemm", error);
}

#else /* cuBLASLt */

#define LT_WORKSPACE_BYTES ((size_t)32 << 20)

/* The heuristic's choice for one shape (everything the heuristic looks at). */
typedef struct {
  int bf16, ta, tb, batch, epilogue;
  uint32_t align[5]; /* A, B, C, D, bias pointer alignment in bytes */
  int64_t m, n, k, lda, ldb, ldc, sa, sb, sc;
} AlgoKey;

typedef struct {
  gboolean found; /* FALSE: no algorithm for this key (the epilogue: fold the bias instead) */
  cublasLtMatmulAlgo_t algo;
} AlgoEntry;

typedef struct {
  cublasLtHandle_t handle;
  void *workspace;
  GHashTable *algos; /* AlgoKey -> AlgoEntry */
} Lt;

static guint key_hash(gconstpointer p)
{
  const unsigned char *b = (const unsigned char *)p;
  guint h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < sizeof(AlgoKey); i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static gboolean key_equal(gconstpointer a, gconstpointer b)
{
  return memcmp(a, b, sizeof(AlgoKey)) == 0;
}

static gboolean lt_ok(cublasStatus_t st, const char *what, GError **error)
{
  if (st == CUBLAS_STATUS_SUCCESS)
    return TRUE;
  g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "gemm: %s: %s: %s", what,
              cublasLtGetStatusName(st), cublasLtGetStatusString(st));
  return FALSE;
}

gboolean ufo_cuda_gemm_init(UfoCuda *cu, GError **error)
{
  Lt *lt = g_new0(Lt, 1);
  cu->lt = lt;
  lt->algos = g_hash_table_new_full(key_hash, key_equal, g_free, g_free);
  if (!lt_ok(cublasLtCreate(&lt->handle), "cublasLtCreate", error))
    return FALSE;
  lt->workspace = ufo_cuda_malloc(cu, LT_WORKSPACE_BYTES, "the cuBLASLt workspace", error);
  return lt->workspace != NULL;
}

void ufo_cuda_gemm_fini(UfoCuda *cu)
{
  Lt *lt = (Lt *)cu->lt;
  if (lt == NULL)
    return;
  if (lt->workspace)
    (void)cudaFree(lt->workspace);
  if (lt->handle)
    (void)cublasLtDestroy(lt->handle);
  g_hash_table_unref(lt->algos);
  g_free(lt);
  cu->lt = NULL;
}

static uint32_t alignment(const void *p)
{
  uint32_t a = 256;
  while (a > 1 && (uintptr_t)p % a)
    a >>= 1;
  return a;
}

/* The descriptors of one call; destroyed by descs_free. */
typedef struct {
  cublasLtMatmulDesc_t op;
  cublasLtMatrixLayout_t a, b, c;
  cublasLtMatmulPreference_t pref;
} Descs;

static void descs_free(Descs *d)
{
  if (d->pref)
    cublasLtMatmulPreferenceDestroy(d->pref);
  if (d->c)
    cublasLtMatrixLayoutDestroy(d->c);
  if (d->b)
    cublasLtMatrixLayoutDestroy(d->b);
  if (d->a)
    cublasLtMatrixLayoutDestroy(d->a);
  if (d->op)
    cublasLtMatmulDescDestroy(d->op);
}

/* Column-major layout of a row-major (rows, cols, ld) matrix: (cols, rows, ld), batched. */
static gboolean layout(cublasLtMatrixLayout_t *l, cudaDataType_t type, int64_t rows, int64_t cols,
                       int64_t ld, int batch, size_t stride, GError **error)
{
  int32_t count = batch;
  int64_t off = (int64_t)stride;
  return lt_ok(cublasLtMatrixLayoutCreate(l, type, (uint64_t)cols, (uint64_t)rows, ld),
               "cublasLtMatrixLayoutCreate", error) &&
         lt_ok(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count,
                                                sizeof count),
               "batch count", error) &&
         lt_ok(cublasLtMatrixLayoutSetAttribute(*l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                &off, sizeof off),
               "batch offset", error);
}

static gboolean descs_make(Descs *d, const Matmul *mm, const AlgoKey *key, GError **error)
{
  cudaDataType_t ab = mm->bf16 ? CUDA_R_16BF : CUDA_R_32F;
  /* C^T = op(B)^T op(A)^T: cuBLASLt's A is our B, its B our A */
  cublasOperation_t ta = mm->b.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasOperation_t tb = mm->a.trans ? CUBLAS_OP_T : CUBLAS_OP_N;
  cublasLtEpilogue_t epi = key->epilogue ? CUBLASLT_EPILOGUE_BIAS : CUBLASLT_EPILOGUE_DEFAULT;
  int64_t bias_stride = 0;
  uint64_t ws = LT_WORKSPACE_BYTES;
  if (!lt_ok(cublasLtMatmulDescCreate(&d->op, CUBLAS_COMPUTE_32F, CUDA_R_32F),
             "cublasLtMatmulDescCreate", error) ||
      !lt_ok(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta),
             "transa", error) ||
      !lt_ok(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb),
             "transb", error) ||
      !lt_ok(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof epi),
             "epilogue", error))
    return FALSE;
  if (key->epilogue &&
      (!lt_ok(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &mm->bias,
                                             sizeof mm->bias),
              "bias pointer", error) ||
       !lt_ok(cublasLtMatmulDescSetAttribute(d->op, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE,
                                             &bias_stride, sizeof bias_stride),
              "bias batch stride", error)))
    return FALSE;
  if (!layout(&d->a, ab, mm->b.rows, mm->b.cols, mm->b.ld, mm->batch, mm->b.stride, error) ||
      !layout(&d->b, ab, mm->a.rows, mm->a.cols, mm->a.ld, mm->batch, mm->a.stride, error) ||
      !layout(&d->c, CUDA_R_32F, mm->m, mm->n, mm->ldc, mm->batch, mm->stride_c, error) ||
      !lt_ok(cublasLtMatmulPreferenceCreate(&d->pref), "cublasLtMatmulPreferenceCreate", error) ||
      !lt_ok(cublasLtMatmulPreferenceSetAttribute(d->pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                  &ws, sizeof ws),
             "workspace preference", error))
    return FALSE;
  static const cublasLtMatmulPreferenceAttributes_t al[4] = {
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES,
      CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES};
  for (int i = 0; i < 4; i++)
    if (!lt_ok(cublasLtMatmulPreferenceSetAttribute(d->pref, al[i], &key->align[i],
                                                    sizeof key->align[i]),
               "alignment preference", error))
      return FALSE;
  return TRUE;
}

/* The cached algorithm for a key, asking the heuristic on first use (NULL: none exists). */
static const AlgoEntry *algo_for(Lt *lt, const Descs *d, const AlgoKey *key, GError **error)
{
  AlgoEntry *e = (AlgoEntry *)g_hash_table_lookup(lt->algos, key);
  if (e)
    return e;
  cublasLtMatmulHeuristicResult_t res;
  int found = 0;
  memset(&res, 0, sizeof res);
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(lt->handle, d->op, d->a, d->b, d->c, d->c,
                                                     d->pref, 1, &res, &found);
  if (st != CUBLAS_STATUS_SUCCESS && st != CUBLAS_STATUS_NOT_SUPPORTED) {
    lt_ok(st, "cublasLtMatmulAlgoGetHeuristic", error);
    return NULL;
  }
  e = g_new0(AlgoEntry, 1);
  e->found = st == CUBLAS_STATUS_SUCCESS && found > 0;
  if (e->found)
    e->algo = res.algo;
  g_hash_table_insert(lt->algos, g_memdup2(key, sizeof *key), e);
  return e;
}

static gboolean matmul_once(UfoCuda *cu, const Matmul *mm, gboolean epilogue, gboolean *no_algo,
                            GError **error)
{
  Lt *lt = (Lt *)cu->lt;
  AlgoKey key;
  memset(&key, 0, sizeof key); /* padding takes part in the hash */
  key.bf16 = mm->bf16;
  key.ta = mm->b.trans;
  key.tb = mm->a.trans;
  key.batch = mm->batch;
  key.epilogue = epilogue;
  key.align[0] = alignment(mm->b.ptr);
  key.align[1] = alignment(mm->a.ptr);
  key.align[2] = key.align[3] = alignment(mm->c);
  key.align[4] = epilogue ? alignment(mm->bias) : 0;
  key.m = mm->m, key.n = mm->n, key.k = mm->k;
  key.lda = mm->a.ld, key.ldb = mm->b.ld, key.ldc = mm->ldc;
  key.sa = (int64_t)mm->a.stride, key.sb = (int64_t)mm->b.stride, key.sc = (int64_t)mm->stride_c;
  Descs d;
  memset(&d, 0, sizeof d);
  gboolean ok = descs_make(&d, mm, &key, error);
  const AlgoEntry *e = ok ? algo_for(lt, &d, &key, error) : NULL;
  ok = e != NULL;
  *no_algo = ok && !e->found;
  if (ok && e->found)
    ok = lt_ok(cublasLtMatmul(lt->handle, d.op, &mm->alpha, mm->b.ptr, d.a, mm->a.ptr, d.b,
                              &mm->beta, mm->c, d.c, mm->c, d.c, &e->algo, lt->workspace,
                              LT_WORKSPACE_BYTES, cu->stream),
               "cublasLtMatmul", error);
  descs_free(&d);
  return ok;
}

static gboolean matmul(UfoCuda *cu, const Matmul *mm, GError **error)
{
  gboolean no_algo = FALSE;
  if (!matmul_once(cu, mm, mm->bias != NULL, &no_algo, error))
    return FALSE;
  if (!no_algo)
    return TRUE;
  if (mm->bias) { /* no algorithm with the bias epilogue: fold it into C, accumulate on it */
    Matmul plain = *mm;
    plain.bias = NULL;
    plain.beta = 1.f;
    if (!ufo_cuda_bias_fold(cu, mm->c, mm->ldc, mm->stride_c, mm->batch, mm->m, mm->n, mm->beta,
                            mm->bias, error) ||
        !matmul_once(cu, &plain, FALSE, &no_algo, error))
      return FALSE;
    if (!no_algo)
      return TRUE;
  }
  g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
              "gemm: cuBLASLt has no algorithm for %s %lldx%lldx%lld (batch %d)",
              mm->bf16 ? "bf16" : "fp32", (long long)mm->m, (long long)mm->n, (long long)mm->k,
              mm->batch);
  return FALSE;
}

#endif

/* ---- the op ---- */

/* The GEMMs the CPU rounds to bf16 at precision=bf16 (gemm_bf16.c ufo_cpu_gemm_bf16_applies). */
static gboolean bf16_applies(const UfoCuda *cu, const UfoGemm *p)
{
  return cu->precision == UFO_PRECISION_BF16 && p->batch == 1 && !p->trans_a && p->trans_b &&
         p->b.t != NULL && p->b.t->weight;
}

static Operand operand(UfoView v, gboolean trans, size_t stride)
{
  return (Operand){ufo_cuda_ptr(v), v.rows, v.cols, v.ld, trans, stride};
}

gboolean ufo_cuda_gemm(UfoCuda *cu, const UfoGemm *p, GError **error)
{
  Matmul mm;
  memset(&mm, 0, sizeof mm);
  mm.a = operand(p->a, p->trans_a, p->stride_a);
  mm.b = operand(p->b, p->trans_b, p->stride_b);
  mm.c = ufo_cuda_ptr(p->c);
  mm.m = p->c.rows;
  mm.n = p->c.cols;
  mm.k = p->trans_a ? p->a.rows : p->a.cols;
  mm.ldc = p->c.ld;
  mm.stride_c = p->stride_c;
  mm.batch = p->batch;
  mm.alpha = p->alpha;
  mm.beta = p->beta;
  mm.bias = p->bias.t ? ufo_cuda_ptr(p->bias) : NULL;
  if (bf16_applies(cu, p)) {
    /* A (M, K) rounded into scratch; B (N, K) the weight's copy; rows of ufo_cuda_bf16_ld(K) */
    int64_t ldk = ufo_cuda_bf16_ld(mm.k);
    size_t bytes = (size_t)(mm.m * ldk) * sizeof(__nv_bfloat16);
    __nv_bfloat16 *a16 = (__nv_bfloat16 *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_BF16, bytes, error);
    const __nv_bfloat16 *b16 = a16 ? ufo_cuda_weight_bf16(cu, p->b, error) : NULL;
    if (b16 == NULL || !to_bf16(cu, a16, p->a, error))
      return FALSE;
    mm.bf16 = TRUE;
    mm.a = (Operand){a16, mm.m, mm.k, ldk, FALSE, 0};
    mm.b = (Operand){b16, mm.n, mm.k, ldk, TRUE, 0};
  }
  return matmul(cu, &mm, error);
}

} /* namespace UFO_CUDA_NS */
