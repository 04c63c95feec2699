/* precision=bf16 attention (q, k, v and the softmax weights rounded to bf16, fp32 accumulation
 * and softmax) against the float32 reference loops (cpu-ref, double accumulation), on the backend
 * named by --backend=NAME (tests/common/backend_by_name.h): cuda-emu or cuda (the tensor-core
 * flash attention, engine/backend/cuda/attention_mma.cu), cpu (oneDNN matmuls,
 * engine/backend/cpu/attention_dnnl.c; exits 77, skip, where oneDNN has no native bf16, unless
 * --expect-fp32: then bf16 must fall back to the fp32 kernels, rel. L2 below FLOOR).
 *
 * Bound: relative L2 error <= 2e-2 (issue 16's bf16 bound). The rounding analysis in
 * attention_mma.cu predicts 2^-9..2^-7 (2e-3..8e-3); every case must also be above 1e-4, which
 * the fp32 kernels (rel. L2 ~1e-7) never reach, so a silent fall-back to them is caught. The
 * tolerance catches real bugs: dropping the rel-pos bias (cases with rel-pos) or the mask (cases
 * without) or the scale (every case) changes the reference result by more than 5x the bound
 * (checked on the reference); a wrong head or group offset mixes unrelated random data (rel. L2
 * about 1).
 *
 * Shapes: 14x14 windows x3 groups with rel-pos (partial key and query tiles: 196 = 3*64 + 4), a
 * 20x20 global region (400 queries), 70 queries with masked shared keys + per-group keys + own
 * key, head_dim 32, 48 (zero padded to 64), 64 and 128, several heads, a text-like group with
 * padding masked at the end, three segments, a region needing more than 48 KiB of shared memory,
 * a long region (1,380 queries and 1,389 keys: at bf16 the CPU's long rows, past attention_dnnl.c's
 * ATTN_LONG_BYTES: blocks of 63 queries and one of 57, the keys in chunks with the softmax
 * online; at fp32 blocks of 126 and one of 120).
 *
 * --precision=fp32 (cpu only): the same cases at precision=fp32, i.e. attention_dnnl.c's f32
 * matmuls and its float32 softmax rows (AVX-512, or the plain loops under
 * ONEDNN_MAX_CPU_ISA=AVX2), against the same reference, relative L2 <= BOUND_F32 = 1e-5: the
 * float32 kernels reach ~1e-7, and every bug the bf16 bound catches (a lost rel-pos bias, mask or
 * scale: > 1e-1; a wrong head or group offset: ~1) is four orders of magnitude above it, as is
 * bf16 rounding anywhere (~1e-3). The case must have run on oneDNN (its implementation known). */
#include "backend/backend.h"
#include "backend_by_name.h"

#include <math.h>
#include <string.h>

static const char *backend_name = "cuda-emu";
static gboolean expect_fp32; /* --expect-fp32: bf16 must compute fp32 (no native bf16) */
static gboolean fp32_mode;   /* --precision=fp32: the exact mode's oneDNN path */

#define BOUND 2e-2 /* relative L2, bf16 */
#define FLOOR 1e-4 /* below: not the bf16 path */
#define BOUND_F32 1e-5

typedef struct {
  const char *name;
  int groups, gq, nh, d;
  int rel_h, rel_w; /* rel-pos on the last segment (region = its keys) */
  int self;         /* own key */
  int nseg;
  int n[UFO_ATTN_MAX_SEGS], gstride[UFO_ATTN_MAX_SEGS];
  int mask_every; /* segment 0: every mask_every-th key -inf (0: no mask) */
  int mask_tail;  /* segment 0: its last mask_tail keys -inf (padding) */
} Case;

/* what a reference variant leaves out */
enum { KEEP_ALL = 0, DROP_REL = 1, DROP_MASK = 2, NO_SCALE = 3 };

static const char *variant_name[] = {"nothing", "rel-pos", "mask", "scale"};

typedef struct {
  UfoBackend *be;
  GPtrArray *tensors;
  GRand *rng;
} Env;

static UfoView mat(Env *e, int64_t rows, int64_t cols, float a)
{
  int64_t ld = cols + 3; /* strided views */
  size_t n = (size_t)(rows * ld);
  float *h = g_new0(float, n);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++)
      h[r * ld + c] = a > 0 ? (float)g_rand_double_range(e->rng, -a, a) : 0.f;
  g_autoptr(GError) err = NULL;
  int64_t ne[1] = {(int64_t)n};
  UfoTensor *t = ufo_tensor_new(e->be, 1, ne, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload(t, 0, h, n, &err));
  g_free(h);
  g_ptr_array_add(e->tensors, t);
  return ufo_view_at(t, 0, rows, cols, ld);
}

/* Runs the case on be (same random stream for every backend and variant); returns the output
 * (rows, C) packed. */
static float *run(UfoBackend *be, const Case *c, int variant)
{
  Env e = {be, g_ptr_array_new_with_free_func((GDestroyNotify)ufo_tensor_free),
           g_rand_new_with_seed(11)};
  int C = c->nh * c->d;
  int64_t nq = (int64_t)c->groups * c->gq;
  UfoView q = mat(&e, nq, C, 1.5f), out = mat(&e, nq, C, 0.f);
  UfoAttention at = {.q = q,
                     .out = out,
                     .n_groups = c->groups,
                     .group_q = c->gq,
                     .n_heads = c->nh,
                     .head_dim = c->d,
                     .scale = variant == NO_SCALE ? 1.f : 1.f / sqrtf((float)c->d),
                     .n_segs = c->nseg,
                     .rel_h = c->rel_h,
                     .rel_w = c->rel_w};
  for (int s = 0; s < c->nseg; s++) {
    int64_t rows = (int64_t)(c->groups - 1) * c->gstride[s] + c->n[s];
    UfoView kv = mat(&e, rows, 2 * C, 1.5f);
    at.seg[s] = (UfoAttnKeys){.k = ufo_view_sub(kv, 0, 0, rows, C),
                              .v = ufo_view_sub(kv, 0, C, rows, C),
                              .n = c->n[s],
                              .group_stride = c->gstride[s]};
    if (s == 0 && (c->mask_every || c->mask_tail)) {
      UfoView m = mat(&e, 1, c->n[s], 0.f);
      float *h = g_new0(float, c->n[s]);
      for (int j = 0; j < c->n[s]; j++)
        if ((c->mask_every && j % c->mask_every == 1) || j >= c->n[s] - c->mask_tail)
          h[j] = -INFINITY;
      g_assert_true(ufo_tensor_upload(m.t, m.off, h, (size_t)c->n[s], NULL));
      g_free(h);
      if (variant != DROP_MASK)
        at.seg[s].mask = m;
    }
    if (s == c->nseg - 1 && c->rel_h && variant != DROP_REL)
      at.seg[s].rel_pos = TRUE;
  }
  if (c->rel_h) {
    at.rel_h_table = mat(&e, 2 * c->rel_h - 1, c->d, 1.f);
    at.rel_w_table = mat(&e, 2 * c->rel_w - 1, c->d, 1.f);
  }
  if (c->self) {
    UfoView kv = mat(&e, nq, 2 * C, 1.5f);
    at.self_key = TRUE;
    at.self_k = ufo_view_sub(kv, 0, 0, nq, C);
    at.self_v = ufo_view_sub(kv, 0, C, nq, C);
  }
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_op_attention(be, &at, &err));
  g_assert_no_error(err);
  float *o = g_new(float, nq *C);
  for (int64_t r = 0; r < nq; r++)
    g_assert_true(ufo_tensor_download(out.t, out.off + r * out.ld, o + r * C, (size_t)C, &err));
  g_assert_no_error(err);
  g_ptr_array_unref(e.tensors);
  g_rand_free(e.rng);
  return o;
}

static double rel_l2(const float *a, const float *b, size_t n)
{
  double num = 0, den = 0;
  for (size_t i = 0; i < n; i++) {
    g_assert_true(isfinite(a[i]) && isfinite(b[i]));
    num += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    den += (double)b[i] * b[i];
  }
  return sqrt(num / den);
}

/* The reference without the rel-pos bias / the mask is far from the reference with it: an
 * implementation that lost it would fail BOUND. */
static void expect_sensitive(UfoBackend *ref, const Case *c, const float *want, size_t n,
                             int variant)
{
  float *alt = run(ref, c, variant);
  double e = rel_l2(alt, want, n);
  g_test_message("%s: reference without %s: rel. L2 %.3g", c->name, variant_name[variant], e);
  double bound = fp32_mode ? BOUND_F32 : BOUND;
  if (e < 5 * bound)
    g_error("%s: dropping the %s changes the result by only %.3g (< 5x the bound %.3g)", c->name,
            variant_name[variant], e, bound);
  g_free(alt);
}

static void test_case(gconstpointer data)
{
  const Case *c = data;
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  if (be == NULL)
    g_error("backend %s: %s", backend_name, err->message);
  g_assert_true(
      ufo_backend_set_precision(be, fp32_mode ? UFO_PRECISION_FP32 : UFO_PRECISION_BF16, &err));
  UfoBackend *ref = ufo_backend_cpu_ref_new(&err);
  g_assert_no_error(err);
  size_t n = (size_t)c->groups * c->gq * c->nh * c->d;
  float *got = run(be, c, KEEP_ALL), *want = run(ref, c, KEEP_ALL);
  double e = rel_l2(got, want, n);
  if (fp32_mode) {
    const char *impl = ufo_backend_cpu_attention_impl(UFO_PRECISION_FP32);
    g_test_message("%s: fp32 rel. L2 %.3g (bound %.3g), oneDNN %s", c->name, e, BOUND_F32,
                   impl ? impl : "(none)");
    if (impl == NULL)
      g_error("%s: the fp32 attention did not run on oneDNN", c->name);
    if (e > BOUND_F32)
      g_error("%s: fp32 rel. L2 %.3g above %.0e", c->name, e, BOUND_F32);
  } else
    g_test_message("%s: bf16 rel. L2 %.3g (bound %.3g)", c->name, e, BOUND);
  if (fp32_mode)
    ; /* checked above */
  else if (expect_fp32 && e >= FLOOR)
    g_error("%s: rel. L2 %.3g: not the fp32 fallback (below %.0e)", c->name, e, FLOOR);
  else if (!expect_fp32 && (e > BOUND || e < FLOOR))
    g_error("%s: rel. L2 %.3g outside [%.0e, %.0e]", c->name, e, FLOOR, BOUND);
  if (c->rel_h)
    expect_sensitive(ref, c, want, n, DROP_REL);
  if ((c->mask_every || c->mask_tail) && !c->rel_h) /* with rel-pos, that bias dominates */
    expect_sensitive(ref, c, want, n, DROP_MASK);
  expect_sensitive(ref, c, want, n, NO_SCALE);
  g_free(got);
  g_free(want);
  ufo_backend_free(ref);
  ufo_backend_free(be);
}

static const Case cases[] = {
    /* window layer: 3 windows of 14x14, rel-pos, 2 heads, head_dim 64 */
    {"windows", 3, 196, 2, 64, 14, 14, 0, 1, {196}, {196}, 0, 0},
    /* global layer on a 20x20 grid: 400 queries, rel-pos */
    {"global", 1, 400, 1, 64, 20, 20, 0, 1, {400}, {0}, 0, 0},
    /* grid-like: 70 queries (a full and a partial query tile), shared keys with every 3rd masked,
     * per-group keys, own key; head_dim 32, 3 heads */
    {"grid", 2, 70, 3, 32, 0, 0, 1, 2, {150, 70}, {0, 70}, 3, 0},
    /* text-like: 1 group of 37, padding masked at the end; head_dim 48 (padded to 64) */
    {"text", 1, 37, 2, 48, 0, 0, 0, 1, {37}, {0}, 0, 9},
    /* image windows with text keys first: 3 segments (shared masked text, window with rel-pos
     * 5x7), own key; head_dim 128 */
    {"segments", 2, 35, 1, 128, 5, 7, 1, 3, {6, 20, 35}, {0, 20, 35}, 2, 1},
    /* a 3x60 region at head_dim 128: 52 KiB of shared memory, above the 48 KiB default (the
     * opt-in attribute, as the 70x70 global layers need) */
    {"wide", 1, 180, 2, 128, 3, 60, 0, 1, {180}, {0}, 0, 0},
    /* a global-like 30x46 region after 9 text keys, all masked: 1,380 queries, 2 heads (the
     * CPU's bf16 long rows: blocks of 63 queries and one of 57, keys in chunks of 9 (no
     * weight at all: the online softmax's empty start), 1,012 and 368) */
    {"long", 1, 1380, 2, 64, 30, 46, 0, 2, {9, 1380}, {0, 0}, 0, 9},
};

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
    else if (strcmp(argv[i], "--expect-fp32") == 0)
      expect_fp32 = TRUE;
    else if (strcmp(argv[i], "--precision=fp32") == 0)
      fp32_mode = TRUE;
  if (fp32_mode && strcmp(backend_name, "cpu") != 0)
    g_error("--precision=fp32: cpu only");
  if (!fp32_mode && strcmp(backend_name, "cpu") == 0 &&
      ufo_backend_cpu_bf16_native() == expect_fp32) {
    g_printerr("oneDNN %s native bf16 here: skipped\n", expect_fp32 ? "has" : "has no");
    return 77;
  }
  for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
    g_autofree char *path =
        g_strdup_printf("/nn/attention-%s/%s", fp32_mode ? "fp32" : "bf16", cases[i].name);
    g_test_add_data_func(path, &cases[i], test_case);
  }
  return g_test_run();
}
