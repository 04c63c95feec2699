/* bf16 GEMM of a weight operand (precision=bf16, backend.h UfoGemm):
 *   C (M, N) = alpha * bf16(A) (M, K) · bf16(B)^T (K, N) + beta * C + bias (1, N),
 * A float32 row-major (activations), B (N, K) a float32 weight matrix; sums in float32.
 *
 * B is packed once per view into bfloat16 column panels of NR = 32 columns, pair-interleaved
 * along K: panel p, pair q holds for j = 0..31 the two values B[32p + j][2q], B[32p + j][2q + 1]
 * (64 bf16 = the two zmm operands of one vdpbf16ps pair); columns past N and the last pair of
 * an odd K are zero. The packs hang on the weight tensor (t->derived) and are freed with it.
 * A is converted while packing MC x KC blocks into row-major bf16 pairs (rows padded to MR with
 * zero rows, an odd K with a zero).
 *
 * Micro-kernel: an MR x NR = 12 x 32 tile in 24 zmm accumulators; per K pair, two B loads and
 * 12 broadcasts of a row's (a[2q], a[2q + 1]) feed 24 vdpbf16ps (fp32 += a0*b0 + a1*b1).
 * Blocking: KC = 256, so a B micro-panel (16 KiB) stays in L1 while an MC x KC block of A
 * (120 KiB) streams from L2; an MC x NC = 240 x 256 slice of C (240 KiB) stays in L2 over the K
 * blocks. The work is split over the thread pool as gemm.c splits it: along
 * N (whole panels) when M < N, else along M.
 *
 * The AVX-512 functions carry __attribute__((target)) so the rest of the build stays generic;
 * they run only after cpuid reported AVX512-BF16 (never SIGILL on an older CPU). */
#include "cpu.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define HAVE_X86_BF16 1
#include <cpuid.h>
#include <immintrin.h>
#define TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16")))
#else
#define HAVE_X86_BF16 0
#endif

#define MR 12
#define NR 32
#define KC 256 /* even: every K block starts on a pair */
#define MC 240 /* multiple of MR */
#define NC 256 /* multiple of NR */

/* One packed view of a weight tensor; a tensor's packs form a list (t->derived: the head) that
 * only grows while the tensor lives. */
typedef struct Bf16Pack {
  struct Bf16Pack *next;
  size_t off;
  int64_t n, k, ld; /* the view: B (n, k) with leading dimension ld at element off */
  int64_t kp;       /* K pairs, ceil(k / 2) */
  int64_t panels;   /* ceil(n / NR) */
  size_t bytes;
  uint16_t *data; /* (panels, kp, NR, 2) bf16 */
} Bf16Pack;

/* ---- rounding and the reference loop ---- */

/* fp32 -> bf16 bits: round to nearest even; denormals flush to (signed) zero and NaNs stay
 * quiet NaNs, as vcvtne2ps2bf16 does. */
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

/* ---- CPU support ---- */

static gint pretend_unsupported;

void ufo_cpu_bf16_test_pretend_unsupported(gboolean pretend)
{
  g_atomic_int_set(&pretend_unsupported, pretend ? 1 : 0);
}

#if HAVE_X86_BF16
static gboolean detect_bf16(void)
{
  unsigned a, b, c, d;
  /* OS-enabled AVX-512 state: OSXSAVE, then XCR0 bits SSE, AVX, opmask, ZMM0-15, ZMM16-31 */
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
    return FALSE;
  unsigned xlo, xhi;
  __asm__ volatile("xgetbv" : "=a"(xlo), "=d"(xhi) : "c"(0));
  if ((xlo & 0xe6u) != 0xe6u)
    return FALSE;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
    return FALSE;
  gboolean f = (b >> 16) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
  if (a < 1 || !f || !bw || !vl) /* a: highest leaf-7 subleaf */
    return FALSE;
  __get_cpuid_count(7, 1, &a, &b, &c, &d);
  return (a >> 5) & 1; /* AVX512_BF16 */
}
#endif

gboolean ufo_cpu_bf16_supported(void)
{
  if (g_atomic_int_get(&pretend_unsupported))
    return FALSE;
#if HAVE_X86_BF16
  static gsize once;
  static gboolean have;
  if (g_once_init_enter(&once)) {
    have = detect_bf16();
    g_once_init_leave(&once, 1);
  }
  return have;
#else
  return FALSE;
#endif
}

/* ---- weight packs ---- */

/* A weight tensor may be shared by the backends of several sessions running at once
 * (backend.h ufo_backend_shares_memory): packs are made under this lock and published whole
 * (an atomic store of the list head), so lookups read the list without locking. */
static GMutex pack_lock;
static size_t packed_total; /* bytes of all packs of the process (under pack_lock) */

size_t ufo_cpu_bf16_packs_free(void *derived)
{
  size_t bytes = 0;
  for (Bf16Pack *pk = derived, *next; pk; pk = next) {
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

#if HAVE_X86_BF16

typedef struct {
  const float *b;
  Bf16Pack *pk;
} PackJob;

static void pack_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  const PackJob *j = ctx;
  const Bf16Pack *pk = j->pk;
  for (int64_t p = begin; p < end; p++) {
    uint16_t *dst = pk->data + (size_t)p * pk->kp * NR * 2;
    for (int64_t q = 0; q < pk->kp; q++)
      for (int64_t c = 0; c < NR; c++) {
        int64_t col = p * NR + c;
        for (int64_t e = 0; e < 2; e++) {
          int64_t l = 2 * q + e;
          *dst++ = col < pk->n && l < pk->k ? bf16_bits(j->b[col * pk->ld + l]) : 0;
        }
      }
  }
}

static const Bf16Pack *pack_find(UfoTensor *t, UfoView v)
{
  for (const Bf16Pack *pk = g_atomic_pointer_get(&t->derived); pk; pk = pk->next)
    if (pk->off == v.off && pk->n == v.rows && pk->k == v.cols && pk->ld == v.ld)
      return pk;
  return NULL;
}

static const Bf16Pack *pack_make(UfoCpu *cpu, UfoView v, GError **error);

/* The pack of weight view v, made on first use (a one-off per view: the first frame). */
static const Bf16Pack *pack_get(UfoCpu *cpu, UfoView v, GError **error)
{
  const Bf16Pack *pk = pack_find(v.t, v);
  if (pk)
    return pk;
  g_mutex_lock(&pack_lock);
  if (!(pk = pack_find(v.t, v))) /* another backend may have made it meanwhile */
    pk = pack_make(cpu, v, error);
  g_mutex_unlock(&pack_lock);
  return pk;
}

/* (under pack_lock) */
static const Bf16Pack *pack_make(UfoCpu *cpu, UfoView v, GError **error)
{
  Bf16Pack *pk = g_new0(Bf16Pack, 1);
  *pk = (Bf16Pack){.off = v.off, .n = v.rows, .k = v.cols, .ld = v.ld};
  pk->kp = (v.cols + 1) / 2;
  pk->panels = (v.rows + NR - 1) / NR;
  pk->bytes = (size_t)pk->panels * (size_t)pk->kp * NR * 2 * sizeof(uint16_t);
  pk->data = ufo_cpu_alloc_bytes(pk->bytes);
  if (pk->data == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND,
                "out of memory packing a %lldx%lld weight for precision=bf16 (%zu bytes)",
                (long long)v.rows, (long long)v.cols, pk->bytes);
    g_free(pk);
    return NULL;
  }
  (*cpu->allocs)++;
  PackJob j = {ufo_cpu_ptr(v), pk};
  ufo_pool_run(cpu->pool, pk->panels, 1, pack_task, &j);
  pk->next = v.t->derived;
  g_atomic_pointer_set(&v.t->derived, pk); /* published complete */
  packed_total += pk->bytes;
  ufo_log(UFO_LOG_DEBUG, "precision=bf16: packed a %lldx%lld weight (%.2f MiB, %.1f MiB in all)",
          (long long)v.rows, (long long)v.cols, pk->bytes / 1048576.0, packed_total / 1048576.0);
  return pk;
}

/* ---- the AVX512-BF16 kernel ---- */

/* Rows [0, rows) of A (mc valid, the rest zero), K elements [0, kc) -> dst rows of KC bf16
 * (KC / 2 pairs); an odd kc gets a zero partner. */
TARGET static void pack_a(uint32_t *dst, const float *a, int64_t lda, int64_t mc, int64_t kc)
{
  int64_t rows = (mc + MR - 1) / MR * MR, kc2 = (kc + 1) / 2 * 2;
  for (int64_t r = 0; r < rows; r++) {
    const float *s = r < mc ? a + r * lda : a; /* padding rows load nothing */
    uint16_t *d = (uint16_t *)(dst + r * (KC / 2));
    for (int64_t l = 0; l < kc2; l += 32) {
      int64_t left = r < mc ? kc - l : 0, room = kc2 - l;
      __mmask16 lo = left >= 16 ? 0xffff : left > 0 ? (__mmask16)((1u << left) - 1) : 0;
      __mmask16 hi = left >= 32 ? 0xffff : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
      __m512 x0 = _mm512_maskz_loadu_ps(lo, s + l), x1 = _mm512_maskz_loadu_ps(hi, s + l + 16);
      __m512i v = (__m512i)_mm512_cvtne2ps_pbh(x1, x0); /* x0 -> low half */
      __mmask32 sm = room >= 32 ? 0xffffffffu : (__mmask32)((1u << room) - 1);
      _mm512_mask_storeu_epi16(d + l, sm, v);
    }
  }
}

/* C tile (mr <= MR rows, nr <= NR columns) from kcp pairs of packed A (rows of KC / 2 pairs)
 * and one B panel slice. first: the tile's first K block (C = alpha·AB + beta·C + bias), else
 * C += alpha·AB. */
TARGET static inline __attribute__((always_inline)) void
kernel(const uint32_t *a, const uint16_t *b, int64_t kcp, float *c, int64_t ldc, int mr, int nr,
       gboolean first, float alpha, float beta, const float *bias)
{
  __m512 acc[MR][2];
  for (int i = 0; i < MR; i++)
    acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t q = 0; q < kcp; q++) {
    __m512bh b0 = (__m512bh)_mm512_loadu_si512(b + q * NR * 2);
    __m512bh b1 = (__m512bh)_mm512_loadu_si512(b + q * NR * 2 + 32);
#pragma GCC unroll 12
    for (int i = 0; i < MR; i++) {
      __m512bh ai = (__m512bh)_mm512_set1_epi32((int)a[i * (KC / 2) + q]);
      acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
      acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
    }
  }
  __mmask16 mk[2] = {nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1),
                     nr >= 32  ? 0xffff
                     : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1)
                               : 0};
  __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
  __m512 bias_h[2] = {_mm512_setzero_ps(), _mm512_setzero_ps()};
  for (int h = 0; bias && first && h < 2; h++)
    bias_h[h] = _mm512_maskz_loadu_ps(mk[h], bias + 16 * h);
  for (int i = 0; i < MR && i < mr; i++)
    for (int h = 0; h < 2; h++) {
      if (!mk[h])
        continue;
      float *ci = c + i * ldc + 16 * h;
      __m512 v = _mm512_mul_ps(va, acc[i][h]);
      if (!first)
        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mk[h], ci));
      else {
        if (beta != 0.f) /* beta == 0 never reads C */
          v = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(mk[h], ci), v);
        v = _mm512_add_ps(v, bias_h[h]);
      }
      _mm512_mask_storeu_ps(ci, mk[h], v);
    }
}

typedef struct {
  const UfoGemm *p;
  const Bf16Pack *pk;
  UfoCpu *cpu;
  gboolean split_n; /* parts along the columns of C (whole panels), else along its rows */
  int parts;
  int64_t part_len;
} Bf16Job;

/* C rows [m0, m1) x columns [n0, n1), n0 on a panel boundary. A row block is packed once for
 * all of K (KC-blocks of MC rows x KC / 2 pairs); then each NC-column slice of C (MC x NC, in
 * L2) takes the K blocks in turn, so C is not streamed through memory once per K block. */
TARGET static void gemm_block(const Bf16Job *j, uint32_t *abuf, int64_t m0, int64_t m1, int64_t n0,
                              int64_t n1)
{
  const UfoGemm *p = j->p;
  const Bf16Pack *pk = j->pk;
  const float *a = ufo_cpu_ptr(p->a), *bias = p->bias.t ? ufo_cpu_ptr(p->bias) : NULL;
  float *c = ufo_cpu_ptr(p->c);
  int64_t k = p->a.cols, lda = p->a.ld, ldc = p->c.ld;
  for (int64_t i0 = m0; i0 < m1; i0 += MC) {
    int64_t mc = MIN(MC, m1 - i0);
    for (int64_t k0 = 0; k0 < k; k0 += KC)
      pack_a(abuf + (k0 / KC) * (MC * KC / 2), a + i0 * lda + k0, lda, mc, MIN(KC, k - k0));
    for (int64_t jc = n0; jc < n1; jc += NC)
      for (int64_t k0 = 0; k0 < k; k0 += KC) {
        int64_t kcp = (MIN(KC, k - k0) + 1) / 2;
        const uint32_t *ab = abuf + (k0 / KC) * (MC * KC / 2);
        for (int64_t j0 = jc; j0 < MIN(jc + NC, n1); j0 += NR) {
          const uint16_t *bp = pk->data + ((size_t)(j0 / NR) * pk->kp + (size_t)(k0 / 2)) * NR * 2;
          int nr = (int)MIN(NR, n1 - j0);
          for (int64_t ii = 0; ii < mc; ii += MR)
            kernel(ab + ii * (KC / 2), bp, kcp, c + (i0 + ii) * ldc + j0, ldc,
                   (int)MIN(MR, mc - ii), nr, k0 == 0, p->alpha, p->beta, bias ? bias + j0 : NULL);
        }
      }
  }
}

static void gemm_task(void *ctx, int64_t begin, int64_t end, int worker)
{
  const Bf16Job *j = ctx;
  const UfoGemm *p = j->p;
  uint32_t *abuf = (uint32_t *)j->cpu->scratch[worker];
  for (int64_t u = begin; u < end; u++) {
    int64_t len = j->split_n ? p->c.cols : p->c.rows;
    int64_t lo = u * j->part_len, hi = MIN(len, lo + j->part_len);
    if (lo >= hi)
      continue;
    if (j->split_n)
      gemm_block(j, abuf, 0, p->c.rows, lo, hi);
    else
      gemm_block(j, abuf, lo, hi, 0, p->c.cols);
  }
}

#endif /* HAVE_X86_BF16 */

gboolean ufo_cpu_gemm_bf16(UfoCpu *cpu, const UfoGemm *p, GError **error)
{
  int64_t m = p->c.rows, n = p->c.cols, k = p->a.cols;
  if (2.0 * (double)m * (double)n * (double)k < UFO_CPU_BLAS_MIN_FLOPS) {
    ufo_cpu_gemm_bf16_ref(p); /* same rounding, plain loop */
    return TRUE;
  }
  if (!ufo_cpu_bf16_supported()) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "precision=bf16 needs a CPU with AVX512-BF16; use precision=fp32");
    return FALSE;
  }
#if HAVE_X86_BF16
  const Bf16Pack *pk = pack_get(cpu, p->b, error);
  if (pk == NULL)
    return FALSE;
  /* a packed A row block: MC rows x all K blocks, in uint32 pairs */
  ufo_cpu_scratch_reserve(cpu, (size_t)((k + KC - 1) / KC) * MC * (KC / 2));
  /* as gemm.c: split the dimension whose other operand is the smaller one */
  Bf16Job j = {.p = p, .pk = pk, .cpu = cpu, .split_n = m < n || m <= UFO_CPU_SMALL_M};
  int64_t len = j.split_n ? n : m, unit = j.split_n ? NR : MR;
  int64_t parts = MIN(2 * (int64_t)ufo_pool_threads(cpu->pool),
                      (len + UFO_CPU_GEMM_MIN_PART - 1) / UFO_CPU_GEMM_MIN_PART);
  j.parts = (int)MAX(parts, 1);
  j.part_len = (len + j.parts - 1) / j.parts;
  j.part_len = (j.part_len + unit - 1) / unit * unit; /* whole panels / row tiles */
  ufo_pool_run(cpu->pool, j.parts, 1, gemm_task, &j);
  return TRUE;
#else
  return FALSE; /* not reached: unsupported above */
#endif
}
