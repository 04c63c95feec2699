/* The validating wrappers of the ops API (engine/backend/backend.c): every malformed call is
 * refused with UFO_ERROR_INVALID "<op>: ..." before the backend runs. The ops run on a fake
 * backend whose op entries only count their calls, so a refused call must leave the count at
 * zero; well-formed calls reach it, and one runs on the CPU backend to show it still computes. */
#include "backend/backend.h"
#include "backend/cpu/cpu.h"

#include <stdint.h>
#include <string.h>

/* ---- the fake backend: host storage, ops that count calls ---------------------------------- */

typedef struct {
  int calls;        /* op entries reached */
  const char *last; /* name of the last op reached */
} Fake;

#define FAKE(be) ((Fake *)(be)->ctx)
#define REACHED(be, op) (FAKE(be)->calls++, FAKE(be)->last = (op), TRUE)

static void fake_destroy(UfoBackend *be)
{
  g_free(be->ctx);
}

static gboolean fake_alloc(UfoBackend *be, UfoTensor *t, GError **error)
{
  t->data = g_malloc0(t->n * ufo_dtype_size(t->dtype));
  return TRUE;
}

static void fake_release(UfoBackend *be, UfoTensor *t)
{
  g_free(t->data);
  t->data = NULL;
}

static gboolean fake_upload(UfoBackend *be, UfoTensor *t, size_t off, const void *host, size_t n,
                            GError **error)
{
  size_t size = ufo_dtype_size(t->dtype);
  memcpy((char *)t->data + off * size, host, n * size);
  return REACHED(be, "upload");
}

static gboolean fake_download(UfoBackend *be, const UfoTensor *t, size_t off, void *host, size_t n,
                              GError **error)
{
  size_t size = ufo_dtype_size(t->dtype);
  memcpy(host, (const char *)t->data + off * size, n * size);
  return REACHED(be, "download");
}

static gboolean fake_gemm(UfoBackend *be, const UfoGemm *p, GError **error)
{
  return REACHED(be, "gemm");
}

static gboolean fake_layer_norm(UfoBackend *be, UfoView y, UfoView x, UfoView w, UfoView b,
                                float eps, GError **error)
{
  return REACHED(be, "layer_norm");
}

static gboolean fake_gelu(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  return REACHED(be, "gelu");
}

static gboolean fake_add(UfoBackend *be, UfoView y, UfoView a, UfoView b, GError **error)
{
  return REACHED(be, "add");
}

static gboolean fake_copy(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  return REACHED(be, "copy");
}

static gboolean fake_attention(UfoBackend *be, const UfoAttention *p, GError **error)
{
  return REACHED(be, "attention");
}

static gboolean fake_partition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                               GError **error)
{
  return REACHED(be, "window_partition");
}

static gboolean fake_unpartition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                 GError **error)
{
  return REACHED(be, "window_unpartition");
}

static gboolean fake_grid_sample(UfoBackend *be, UfoView y, UfoView x, int h, int w, UfoView ref,
                                 GError **error)
{
  return REACHED(be, "grid_sample");
}

static gboolean fake_bicubic(UfoBackend *be, UfoView y, UfoView x, int ih, int iw, int oh, int ow,
                             GError **error)
{
  return REACHED(be, "resize_bicubic");
}

static gboolean fake_linear(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  return REACHED(be, "resize_linear");
}

static gboolean fake_embed(UfoBackend *be, UfoView y, UfoView table, UfoView ids, GError **error)
{
  return REACHED(be, "embed");
}

static gboolean fake_gather(UfoBackend *be, UfoView y, UfoView x, UfoView idx, GError **error)
{
  return REACHED(be, "gather_rows");
}

static gboolean fake_mean_acc(UfoBackend *be, UfoView acc, UfoView x, int k, int n, GError **error)
{
  return REACHED(be, "mean_acc");
}

static gboolean fake_patchify(UfoBackend *be, UfoView y, UfoView x, int h, int w, int p,
                              GError **error)
{
  return REACHED(be, "patchify");
}

/* the linear op: "fused" up to 2 rows, composed from gemm, layer_norm and gelu above that */
static gboolean fake_linear_fuses(UfoBackend *be, const UfoLinear *p)
{
  return p->x.rows <= 2;
}

static gboolean fake_linear_layer(UfoBackend *be, const UfoLinear *p, GError **error)
{
  return REACHED(be, "linear");
}

static const UfoBackendOps fake_ops = {
    .name = "fake",
    .destroy = fake_destroy,
    .alloc = fake_alloc,
    .release = fake_release,
    .upload = fake_upload,
    .download = fake_download,
    .set_precision = NULL, /* fp32 only */
    .gemm = fake_gemm,
    .linear_fuses = fake_linear_fuses,
    .linear = fake_linear_layer,
    .layer_norm = fake_layer_norm,
    .gelu = fake_gelu,
    .add = fake_add,
    .copy = fake_copy,
    .attention = fake_attention,
    .window_partition = fake_partition,
    .window_unpartition = fake_unpartition,
    .grid_sample = fake_grid_sample,
    .resize_bicubic = fake_bicubic,
    .resize_linear = fake_linear,
    .embed = fake_embed,
    .gather_rows = fake_gather,
    .mean_acc = fake_mean_acc,
    .patchify = fake_patchify,
};

static UfoBackend *fake_new(void)
{
  UfoBackend *be = g_new0(UfoBackend, 1);
  be->ops = &fake_ops;
  be->ctx = g_new0(Fake, 1);
  return be;
}

/* ---- helpers -------------------------------------------------------------------------------- */

typedef struct {
  UfoBackend *be;
  GPtrArray *tensors;
} Env;

static Env env_new(UfoBackend *be)
{
  return (Env){be, g_ptr_array_new_with_free_func((GDestroyNotify)ufo_tensor_free)};
}

static void env_free(Env *e)
{
  g_ptr_array_unref(e->tensors);
  ufo_backend_free(e->be);
}

/* A fresh (rows, cols) tensor of e's backend, as a view. */
static UfoView mat(Env *e, int64_t rows, int64_t cols)
{
  g_autoptr(GError) err = NULL;
  UfoTensor *t = ufo_tensor_new_2d(e->be, rows, cols, &err);
  g_assert_no_error(err);
  g_ptr_array_add(e->tensors, t);
  return ufo_view(t);
}

/* An i32 (n, 1) index column holding idx (uploaded with ufo_tensor_upload_i32). */
static UfoView ids_col(Env *e, const int32_t *idx, int64_t n)
{
  g_autoptr(GError) err = NULL;
  UfoTensor *t = ufo_tensor_new_typed(e->be, UFO_DTYPE_I32, 1, &n, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload_i32(t, 0, idx, (size_t)n, &err));
  g_ptr_array_add(e->tensors, t);
  return ufo_view(t);
}

/* The call was refused with UFO_ERROR_INVALID "<op>: ..." and never reached the backend. */
#define REFUSED(e, op, call)                                                                       \
  do {                                                                                             \
    g_autoptr(GError) err_ = NULL;                                                                 \
    int before_ = FAKE((e)->be)->calls;                                                            \
    GError **error = &err_;                                                                        \
    g_assert_false(call);                                                                          \
    g_assert_error(err_, UFO_ERROR, UFO_ERROR_INVALID);                                            \
    g_assert_true(g_str_has_prefix(err_->message, op));                                            \
    g_assert_cmpint(FAKE((e)->be)->calls, ==, before_);                                            \
  } while (0)

/* The call passed the checks and reached the backend's op. */
#define PASSED(e, op, call)                                                                        \
  do {                                                                                             \
    g_autoptr(GError) err_ = NULL;                                                                 \
    int before_ = FAKE((e)->be)->calls;                                                            \
    GError **error = &err_;                                                                        \
    g_assert_true(call);                                                                           \
    g_assert_no_error(err_);                                                                       \
    g_assert_cmpint(FAKE((e)->be)->calls, ==, before_ + 1);                                        \
    g_assert_cmpstr(FAKE((e)->be)->last, ==, op);                                                  \
  } while (0)

/* ---- the tests ------------------------------------------------------------------------------ */

static void test_gemm(void)
{
  Env e = env_new(fake_new());
  UfoBackend *be = e.be;
  UfoView a = mat(&e, 4, 5), b = mat(&e, 6, 5), c = mat(&e, 4, 6), bias = mat(&e, 1, 6);
  UfoGemm g = {.a = a, .b = b, .c = c, .trans_b = TRUE, .alpha = 1.f, .bias = bias, .batch = 1};
  PASSED(&e, "gemm", ufo_op_gemm(be, &g, error));

  UfoGemm bad = g;
  bad.c = mat(&e, 4, 7); /* N: 6 vs 7 */
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  bad = g;
  bad.trans_b = FALSE; /* op(B) (6, 5): K 5 vs 6 */
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  bad = g;
  bad.bias = mat(&e, 1, 5); /* bias (1, 5) for N = 6 */
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  bad = g;
  bad.bias = mat(&e, 2, 6); /* bias with two rows */
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  bad = g;
  bad.batch = 0;
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  bad = g;
  bad.a = UFO_VIEW_NONE; /* a required operand missing */
  bad.a.rows = 4, bad.a.cols = 5, bad.a.ld = 5;
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  bad = g;
  bad.a.ld = 3; /* ld < cols */
  REFUSED(&e, "gemm (operand 0):", ufo_op_gemm(be, &bad, error));

  /* batches: the first fits, the last one lies beyond the tensor */
  UfoView big = mat(&e, 8, 5); /* two (4, 5) batches of A */
  UfoGemm bg = {.a = ufo_view_sub(big, 0, 0, 4, 5),
                .b = b,
                .c = mat(&e, 8, 6),
                .trans_b = TRUE,
                .alpha = 1.f,
                .batch = 2,
                .stride_a = 20,
                .stride_c = 24};
  bg.c = ufo_view_sub(bg.c, 0, 0, 4, 6);
  PASSED(&e, "gemm", ufo_op_gemm(be, &bg, error));
  bad = bg;
  bad.batch = 3; /* third batch of A at 40..59 of 40 elements */
  REFUSED(&e, "gemm (operand 0):", ufo_op_gemm(be, &bad, error));
  bad = bg;
  bad.stride_c = 25; /* last C batch one element too far */
  REFUSED(&e, "gemm (operand 2):", ufo_op_gemm(be, &bad, error));
  bad = bg;
  bad.batch = 3;
  bad.stride_a = SIZE_MAX / 2 + 1; /* 2 * stride wraps around to 0 */
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  bad = bg;
  bad.stride_b = SIZE_MAX - 3; /* offset + stride overflows */
  REFUSED(&e, "gemm (operand 1):", ufo_op_gemm(be, &bad, error));

  /* C must not overlap A, B or the bias */
  UfoView ab = mat(&e, 4, 11);
  bad = g;
  bad.a = ufo_view_sub(ab, 0, 0, 4, 5);
  bad.c = ufo_view_sub(ab, 0, 5, 4, 6); /* disjoint column blocks of one buffer: fine */
  PASSED(&e, "gemm", ufo_op_gemm(be, &bad, error));
  bad.c = ufo_view_sub(ab, 0, 4, 4, 6); /* shares column 4 with A */
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &bad, error));
  env_free(&e);
}

static void test_linear(void)
{
  Env e = env_new(fake_new());
  UfoBackend *be = e.be;
  /* x (2, 5); w (9, 5): rows 0..5 to y (2, 6), rows 6..8 to y2 (2, 3); LN into ln_out */
  UfoView x = mat(&e, 2, 5), w = mat(&e, 9, 5), y = mat(&e, 2, 6), y2 = mat(&e, 2, 3);
  UfoLinear l = {.x = x,
                 .w = w,
                 .bias = mat(&e, 1, 9),
                 .y = y,
                 .y2 = y2,
                 .ln_w = mat(&e, 1, 5),
                 .ln_b = mat(&e, 1, 5),
                 .ln_out = mat(&e, 2, 5),
                 .ln_eps = 1e-6f};
  PASSED(&e, "linear", ufo_op_linear(be, &l, error));
  /* more rows than the fake fuses: layer_norm, then a gemm per destination */
  UfoLinear big = l;
  big.x = mat(&e, 4, 5);
  big.y = mat(&e, 4, 6);
  big.y2 = mat(&e, 4, 3);
  big.ln_out = mat(&e, 4, 5);
  int before = FAKE(be)->calls;
  g_assert_true(ufo_op_linear(be, &big, NULL));
  g_assert_cmpint(FAKE(be)->calls, ==, before + 3);
  g_assert_cmpstr(FAKE(be)->last, ==, "gemm");
  big.y2 = UFO_VIEW_NONE; /* one destination of all 9 rows, GELU after it */
  big.y = mat(&e, 4, 9);
  big.gelu = TRUE;
  before = FAKE(be)->calls;
  g_assert_true(ufo_op_linear(be, &big, NULL));
  g_assert_cmpint(FAKE(be)->calls, ==, before + 3);
  g_assert_cmpstr(FAKE(be)->last, ==, "gelu");

  UfoLinear bad = l;
  bad.w = mat(&e, 9, 4); /* K: 5 vs 4 */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.y2 = mat(&e, 2, 4); /* 6 + 4 columns for 9 weight rows */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.y2 = mat(&e, 3, 3); /* y2 with 3 rows for 2 */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.bias = mat(&e, 1, 6); /* bias of y's columns only */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.ln_b = UFO_VIEW_NONE; /* LN weight without its bias */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.ln_out = mat(&e, 2, 4); /* LN output of another shape */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.ln_out = UFO_VIEW_NONE; /* LN without a place for it */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.beta = 0.5f; /* residual or nothing */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.beta = 1.f;
  bad.gelu = TRUE; /* GELU of a residual sum: not a pre-LN block */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  UfoView xy = mat(&e, 2, 11); /* x and y column blocks of one buffer */
  bad.x = ufo_view_sub(xy, 0, 0, 2, 5);
  bad.y = ufo_view_sub(xy, 0, 5, 2, 6);
  bad.ln_out = mat(&e, 2, 5);
  PASSED(&e, "linear", ufo_op_linear(be, &bad, error));
  bad.y = ufo_view_sub(xy, 0, 4, 2, 6); /* shares column 4 with x */
  bad.y2 = mat(&e, 2, 3);
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.y2 = ufo_view_sub(y, 0, 3, 2, 3); /* y2 inside y */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  bad = l;
  bad.ln_out = ufo_view_sub(y, 0, 0, 2, 5); /* LN written over the output */
  REFUSED(&e, "linear:", ufo_op_linear(be, &bad, error));
  env_free(&e);
}

static void test_rows(void)
{
  Env e = env_new(fake_new());
  UfoBackend *be = e.be;
  UfoView x = mat(&e, 3, 8), y = mat(&e, 3, 8), w = mat(&e, 1, 8), b = mat(&e, 1, 8);
  PASSED(&e, "layer_norm", ufo_op_layer_norm(be, y, x, w, b, 1e-6f, error));
  PASSED(&e, "layer_norm", ufo_op_layer_norm(be, x, x, w, b, 1e-6f, error)); /* in place */
  REFUSED(&e, "layer_norm:", ufo_op_layer_norm(be, y, x, mat(&e, 1, 7), b, 1e-6f, error));
  REFUSED(&e, "layer_norm:", ufo_op_layer_norm(be, y, x, w, UFO_VIEW_NONE, 1e-6f, error));
  REFUSED(&e, "layer_norm:", ufo_op_layer_norm(be, mat(&e, 2, 8), x, w, b, 1e-6f, error));

  PASSED(&e, "gelu", ufo_op_gelu(be, y, x, error));
  REFUSED(&e, "gelu:", ufo_op_gelu(be, mat(&e, 3, 7), x, error));
  /* partial overlap: rows shifted by one inside one tensor */
  UfoView t = mat(&e, 4, 8);
  REFUSED(&e, "gelu:",
          ufo_op_gelu(be, ufo_view_sub(t, 1, 0, 3, 8), ufo_view_sub(t, 0, 0, 3, 8), error));

  PASSED(&e, "add", ufo_op_add(be, y, x, w, error)); /* broadcast row */
  PASSED(&e, "add", ufo_op_add(be, x, x, y, error)); /* in place */
  REFUSED(&e, "add:", ufo_op_add(be, y, x, mat(&e, 2, 8), error));
  REFUSED(&e, "add:", ufo_op_add(be, y, x, mat(&e, 1, 7), error));
  /* the broadcast row inside the output */
  REFUSED(&e, "add:", ufo_op_add(be, t, t, ufo_view_sub(t, 2, 0, 1, 8), error));

  PASSED(&e, "copy", ufo_op_copy(be, y, x, error));
  REFUSED(&e, "copy:", ufo_op_copy(be, y, mat(&e, 3, 9), error));
  UfoView beyond = ufo_view_at(x.t, 0, 100, 8, 8); /* 100 rows of a 24-element tensor */
  REFUSED(&e, "copy (operand 0):", ufo_op_copy(be, beyond, beyond, error));
  REFUSED(&e, "copy (operand 1):", ufo_op_copy(be, y, ufo_view_at(x.t, 1, 3, 8, 8), error));

  PASSED(&e, "mean_acc", ufo_op_mean_acc(be, y, x, 1, 3, error));
  REFUSED(&e, "mean_acc:", ufo_op_mean_acc(be, y, x, 3, 3, error));
  REFUSED(&e, "mean_acc:", ufo_op_mean_acc(be, y, x, -1, 3, error));
  REFUSED(&e, "mean_acc:", ufo_op_mean_acc(be, y, mat(&e, 2, 8), 0, 3, error));
  REFUSED(&e, "mean_acc:", ufo_op_mean_acc(be, x, x, 0, 3, error));
  env_free(&e);
}

static void test_layout(void)
{
  Env e = env_new(fake_new());
  UfoBackend *be = e.be;
  UfoView x = mat(&e, 24, 5), y = mat(&e, 24, 5);
  PASSED(&e, "window_partition", ufo_op_window_partition(be, y, x, 4, 6, 2, error));
  PASSED(&e, "window_unpartition", ufo_op_window_unpartition(be, x, y, 4, 6, 2, error));
  REFUSED(&e, "window_partition:", ufo_op_window_partition(be, y, x, 4, 6, 4, error)); /* 6 % 4 */
  REFUSED(&e, "window_partition:", ufo_op_window_partition(be, y, x, 4, 5, 2, error)); /* 20 */
  /* out of place only: the same tensor, even in disjoint column blocks, is refused */
  UfoView two = mat(&e, 24, 10);
  REFUSED(&e, "window_partition:",
          ufo_op_window_partition(be, ufo_view_sub(two, 0, 5, 24, 5),
                                  ufo_view_sub(two, 0, 0, 24, 5), 4, 6, 2, error));
  REFUSED(&e, "window_unpartition:", ufo_op_window_unpartition(be, x, x, 4, 6, 2, error));

  /* embed / gather_rows: i32 index columns, their ranges as their upload recorded them */
  UfoView table = mat(&e, 10, 5), out = mat(&e, 3, 5);
  static const int32_t id[] = {0, 9, 4}, hi[] = {0, 10, 4}, ng[] = {0, -1, 4};
  UfoView ids = ids_col(&e, id, 3), high = ids_col(&e, hi, 3), neg = ids_col(&e, ng, 3);
  PASSED(&e, "embed", ufo_op_embed(be, out, table, ids, error));
  REFUSED(&e, "embed:", ufo_op_embed(be, out, table, high, error));
  REFUSED(&e, "embed:", ufo_op_embed(be, out, table, neg, error));
  REFUSED(&e, "embed:", ufo_op_embed(be, out, table, UFO_VIEW_NONE, error));
  REFUSED(&e, "embed:", ufo_op_embed(be, mat(&e, 3, 4), table, ids, error));
  PASSED(&e, "gather_rows", ufo_op_gather_rows(be, out, table, ids, error));
  PASSED(&e, "gather_rows", ufo_op_gather_rows(be, out, table, UFO_VIEW_NONE, error)); /* id */
  REFUSED(&e, "gather_rows:", ufo_op_gather_rows(be, out, table, high, error));
  REFUSED(&e, "gather_rows:", ufo_op_gather_rows(be, table, out, UFO_VIEW_NONE, error)); /* 10 */
  /* dtype and shape of the index operand: f32 indices, a row instead of a column, a column
   * with ld > 1, fewer indices than rows */
  REFUSED(&e, "embed: indices (operand 2) must be I32",
          ufo_op_embed(be, out, table, mat(&e, 3, 1), error));
  int64_t n6 = 6;
  UfoTensor *wide = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, &n6, NULL);
  g_ptr_array_add(e.tensors, wide);
  static const int32_t six[] = {0, 1, 2, 3, 4, 5};
  g_assert_true(ufo_tensor_upload_i32(wide, 0, six, 6, NULL));
  REFUSED(&e, "embed: indices", ufo_op_embed(be, out, table, ufo_view_at(wide, 0, 1, 3, 3), error));
  REFUSED(&e, "embed: indices", ufo_op_embed(be, out, table, ufo_view_at(wide, 0, 3, 1, 2), error));
  REFUSED(&e, "gather_rows: indices",
          ufo_op_gather_rows(be, out, table, ufo_view_at(wide, 0, 2, 1, 1), error));
  PASSED(&e, "gather_rows",
         ufo_op_gather_rows(be, out, table, ufo_view_at(wide, 3, 3, 1, 1), error));
  /* only what the last upload wrote is known: elements 0..1 after an upload of 2..5 */
  g_assert_true(ufo_tensor_upload_i32(wide, 2, six, 4, NULL));
  REFUSED(&e, "gather_rows: indices",
          ufo_op_gather_rows(be, out, table, ufo_view_at(wide, 0, 3, 1, 1), error));
  PASSED(&e, "gather_rows",
         ufo_op_gather_rows(be, out, table, ufo_view_at(wide, 2, 3, 1, 1), error));
  /* a tensor never uploaded holds no known indices */
  UfoTensor *blank = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, &n6, NULL);
  g_ptr_array_add(e.tensors, blank);
  REFUSED(&e, "embed: indices",
          ufo_op_embed(be, out, table, ufo_view_at(blank, 0, 3, 1, 1), error));
  /* in place: compaction (idx[i] >= i) only */
  static const int32_t cp[] = {1, 4, 9}, bw[] = {1, 0, 9};
  UfoView compact = ids_col(&e, cp, 3), backward = ids_col(&e, bw, 3);
  UfoView head = ufo_view_sub(table, 0, 0, 3, 5);
  PASSED(&e, "gather_rows", ufo_op_gather_rows(be, head, table, compact, error));
  REFUSED(&e, "gather_rows:", ufo_op_gather_rows(be, head, table, backward, error));
  REFUSED(&e, "gather_rows:",
          ufo_op_gather_rows(be, ufo_view_sub(table, 1, 0, 3, 5), table, compact, error));
  /* an i32 tensor is no operand of an op on floats */
  REFUSED(&e, "copy (operand 1): an I32 tensor",
          ufo_op_copy(be, mat(&e, 3, 1), ufo_view(compact.t), error));

  /* patchify: (3*h, w) image -> (h/p * w/p, 3*p*p) */
  UfoView img = mat(&e, 3 * 8, 12), cols = mat(&e, 6, 3 * 16);
  PASSED(&e, "patchify", ufo_op_patchify(be, cols, img, 8, 12, 4, error));
  REFUSED(&e, "patchify:", ufo_op_patchify(be, cols, img, 8, 12, 3, error));
  REFUSED(&e, "patchify:", ufo_op_patchify(be, mat(&e, 5, 48), img, 8, 12, 4, error));
  REFUSED(&e, "patchify:", ufo_op_patchify(be, cols, mat(&e, 8, 12), 8, 12, 4, error));
  env_free(&e);
}

static void test_resample(void)
{
  Env e = env_new(fake_new());
  UfoBackend *be = e.be;
  UfoView map = mat(&e, 20, 3), samples = mat(&e, 6, 3), ref = mat(&e, 6, 2);
  PASSED(&e, "grid_sample", ufo_op_grid_sample(be, samples, map, 5, 4, ref, error));
  REFUSED(&e, "grid_sample:", ufo_op_grid_sample(be, samples, map, 5, 4, mat(&e, 5, 2), error));
  REFUSED(&e, "grid_sample:", ufo_op_grid_sample(be, samples, map, 5, 4, mat(&e, 6, 3), error));
  REFUSED(&e, "grid_sample:", ufo_op_grid_sample(be, samples, map, 4, 4, ref, error));
  REFUSED(&e, "grid_sample:", ufo_op_grid_sample(be, samples, map, 5, 4, UFO_VIEW_NONE, error));
  REFUSED(&e, "grid_sample:", ufo_op_grid_sample(be, mat(&e, 6, 2), map, 5, 4, ref, error));
  /* points are f32: an i32 tensor is refused */
  int64_t n12 = 12;
  UfoTensor *ipts = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, &n12, NULL);
  g_ptr_array_add(e.tensors, ipts);
  REFUSED(&e, "grid_sample (operand 2): an I32 tensor",
          ufo_op_grid_sample(be, samples, map, 5, 4, ufo_view_at(ipts, 0, 6, 2, 2), error));
  /* the output overlapping the points */
  UfoView both = mat(&e, 6, 5);
  REFUSED(&e, "grid_sample:",
          ufo_op_grid_sample(be, ufo_view_sub(both, 0, 0, 6, 3), map, 5, 4,
                             ufo_view_sub(both, 0, 2, 6, 2), error));

  UfoView big = mat(&e, 63, 3), small = mat(&e, 20, 3);
  PASSED(&e, "resize_bicubic", ufo_op_resize_bicubic(be, small, big, 7, 9, 4, 5, error));
  REFUSED(&e, "resize_bicubic:", ufo_op_resize_bicubic(be, small, big, 7, 8, 4, 5, error));
  REFUSED(&e, "resize_bicubic:", ufo_op_resize_bicubic(be, small, big, 7, 9, 5, 5, error));
  REFUSED(&e, "resize_bicubic:", ufo_op_resize_bicubic(be, small, big, 7, 9, 0, 5, error));

  PASSED(&e, "resize_linear", ufo_op_resize_linear(be, mat(&e, 9, 4), mat(&e, 5, 4), error));
  REFUSED(&e, "resize_linear:", ufo_op_resize_linear(be, mat(&e, 9, 4), mat(&e, 5, 3), error));
  UfoView tab = mat(&e, 9, 4);
  REFUSED(&e,
          "resize_linear:", ufo_op_resize_linear(be, tab, ufo_view_sub(tab, 4, 0, 5, 4), error));
  env_free(&e);
}

/* 2 groups x 4 queries (a 2x2 rel-pos region), 2 heads of 3: one segment plus the own key */
static UfoAttention attention_case(Env *e)
{
  UfoView q = mat(e, 8, 6), kv = mat(e, 8, 12);
  UfoAttention at = {
      .q = q,
      .out = mat(e, 8, 6),
      .n_groups = 2,
      .group_q = 4,
      .n_heads = 2,
      .head_dim = 3,
      .scale = 0.5f,
      .n_segs = 1,
      .seg = {{.k = ufo_view_sub(kv, 0, 0, 8, 6),
               .v = ufo_view_sub(kv, 0, 6, 8, 6),
               .n = 4,
               .group_stride = 4,
               .mask = mat(e, 1, 4),
               .rel_pos = TRUE}},
      .self_key = TRUE,
      .self_k = mat(e, 8, 6),
      .self_v = mat(e, 8, 6),
      .rel_h_table = mat(e, 3, 3),
      .rel_w_table = mat(e, 3, 3),
      .rel_h = 2,
      .rel_w = 2,
  };
  return at;
}

static void test_attention(void)
{
  Env e = env_new(fake_new());
  UfoBackend *be = e.be;
  UfoAttention good = attention_case(&e), at;
  PASSED(&e, "attention", ufo_op_attention(be, &good, error));

  at = good;
  at.n_segs = UFO_ATTN_MAX_SEGS + 1;
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.n_segs = 0, at.self_key = FALSE; /* no keys at all */
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.head_dim = 2; /* q has 6 columns, not 2 * 2 */
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.out = mat(&e, 7, 6);
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.self_v = mat(&e, 8, 5);
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  /* bad segments */
  at = good;
  at.seg[0].k = ufo_view_sub(at.seg[0].k, 0, 0, 8, 5);
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.seg[0].group_stride = 5; /* group 1 needs rows 5..8 of 8 */
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.seg[0].n = 0;
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.seg[0].mask = mat(&e, 1, 3);
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.seg[0].k.t = NULL;
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  /* rel-pos */
  at = good;
  at.rel_w = 1; /* n = 4 != 2 * 1 */
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.rel_h = -2, at.rel_w = -2; /* the product matches, the sizes do not exist */
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.rel_h_table = mat(&e, 4, 3); /* (2*2-1, 3) expected */
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.rel_w_table = UFO_VIEW_NONE;
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.seg[0].rel_pos = FALSE, at.rel_w_table = UFO_VIEW_NONE; /* tables unused without rel-pos */
  PASSED(&e, "attention", ufo_op_attention(be, &at, error));
  /* the output must not overlap an input */
  at = good;
  at.out = at.q;
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = good;
  at.out = at.seg[0].v;
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  /* a view outside its tensor */
  at = good;
  at.seg[0].v.off += 1; /* the last row's block ends one past the tensor */
  REFUSED(&e, "attention (operand", ufo_op_attention(be, &at, error));
  env_free(&e);
}

/* Operands of another backend are refused, each position of each op. */
static void test_other_backend(void)
{
  Env e = env_new(fake_new()), f = env_new(fake_new());
  UfoBackend *be = e.be;
  UfoView x = mat(&e, 4, 6), y = mat(&e, 4, 6), w = mat(&e, 1, 6);
  UfoView fx = mat(&f, 4, 6), fw = mat(&f, 1, 6), fb = mat(&f, 6, 6);
  REFUSED(&e, "copy: operand 1 belongs to another backend", ufo_op_copy(be, y, fx, error));
  REFUSED(&e, "copy: operand 0 belongs to another backend", ufo_op_copy(be, fx, x, error));
  REFUSED(&e, "add:", ufo_op_add(be, y, x, fw, error));
  REFUSED(&e, "layer_norm:", ufo_op_layer_norm(be, y, x, w, fw, 1e-6f, error));
  UfoGemm g = {.a = x, .b = fb, .c = y, .alpha = 1.f, .batch = 1};
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &g, error));
  g.b = mat(&e, 6, 6), g.bias = fw;
  REFUSED(&e, "gemm:", ufo_op_gemm(be, &g, error));
  g.bias = w;
  PASSED(&e, "gemm", ufo_op_gemm(be, &g, error));
  UfoAttention at = attention_case(&e);
  at.seg[0].mask = mat(&f, 1, 4);
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  at = attention_case(&e);
  at.rel_h_table = mat(&f, 3, 3);
  REFUSED(&e, "attention:", ufo_op_attention(be, &at, error));
  static const int32_t id4[] = {0, 1, 2, 3};
  UfoView ids = ids_col(&e, id4, 4);
  REFUSED(&e, "embed:", ufo_op_embed(be, y, fx, ids, error));
  REFUSED(&e, "gather_rows:", ufo_op_gather_rows(be, fx, x, ids, error));
  REFUSED(&e, "gather_rows: operand 2 belongs to another backend",
          ufo_op_gather_rows(be, y, x, ids_col(&f, id4, 4), error));
  REFUSED(&e, "mean_acc:", ufo_op_mean_acc(be, y, fx, 0, 2, error));
  /* the other backend's op was never reached either (its one call: the index upload) */
  g_assert_cmpint(FAKE(f.be)->calls, ==, 1);
  g_assert_cmpstr(FAKE(f.be)->last, ==, "upload");
  /* a real CPU backend's tensor on the fake one */
  g_autoptr(GError) err = NULL;
  UfoBackend *cpu = ufo_backend_cpu_new(1, &err);
  g_assert_no_error(err);
  UfoTensor *ct = ufo_tensor_new_2d(cpu, 4, 6, &err);
  g_assert_no_error(err);
  REFUSED(&e, "gelu: operand 1 belongs to another backend (cpu) than the op's (fake)",
          ufo_op_gelu(be, y, ufo_view(ct), error));
  ufo_tensor_free(ct);
  ufo_backend_free(cpu);
  env_free(&f);
  env_free(&e);
}

static void test_transfers(void)
{
  Env e = env_new(fake_new());
  UfoView v = mat(&e, 3, 4);
  float host[13] = {0};
  PASSED(&e, "upload", ufo_tensor_upload(v.t, 4, host, 8, error));
  PASSED(&e, "download", ufo_tensor_download(v.t, 0, host, 12, error));
  REFUSED(&e, "upload: transfer", ufo_tensor_upload(v.t, 4, host, 9, error));
  REFUSED(&e, "download: transfer", ufo_tensor_download(v.t, 0, host, 13, error));
  REFUSED(&e, "download: transfer", ufo_tensor_download(v.t, 13, host, 0, error));
  REFUSED(&e, "upload: transfer", ufo_tensor_upload(v.t, SIZE_MAX, host, 2, error));
  REFUSED(&e, "upload: transfer", ufo_tensor_upload(v.t, 2, host, SIZE_MAX, error));
  REFUSED(&e, "upload:", ufo_tensor_upload(v.t, 0, NULL, 4, error));
  REFUSED(&e, "download:", ufo_tensor_download(NULL, 0, host, 4, error));
  /* typed transfers: each element type only into and out of tensors of that type */
  int32_t ihost[4] = {3, 1, 4, 1};
  REFUSED(&e, "upload: I32 data for an F32 tensor", ufo_tensor_upload_i32(v.t, 0, ihost, 4, error));
  REFUSED(&e, "download: I32 data", ufo_tensor_download_i32(v.t, 0, ihost, 4, error));
  int64_t n4 = 4;
  UfoTensor *it = ufo_tensor_new_typed(e.be, UFO_DTYPE_I32, 1, &n4, NULL);
  g_ptr_array_add(e.tensors, it);
  REFUSED(&e, "upload: F32 data for an I32 tensor", ufo_tensor_upload(it, 0, host, 4, error));
  REFUSED(&e, "download: F32 data", ufo_tensor_download(it, 0, host, 4, error));
  REFUSED(&e, "upload: transfer", ufo_tensor_upload_i32(it, 1, ihost, 4, error));
  const uint64_t up0 = e.be->bytes_up;
  PASSED(&e, "upload", ufo_tensor_upload_i32(it, 0, ihost, 4, error));
  g_assert_cmpuint(e.be->bytes_up - up0, ==, 16);
  g_assert_cmpint(it->known.min, ==, 1);
  g_assert_cmpint(it->known.max, ==, 4);
  g_assert_false(it->known.ge_position); /* ihost[3] = 1 < 3 */
  int32_t iback[4] = {0};
  PASSED(&e, "download", ufo_tensor_download_i32(it, 0, iback, 4, error));
  g_assert_cmpmem(iback, sizeof iback, ihost, sizeof ihost);
  /* tensors hold F32 or I32 only */
  g_autoptr(GError) terr = NULL;
  g_assert_null(ufo_tensor_new_typed(e.be, UFO_DTYPE_BF16, 1, &n4, &terr));
  g_assert_error(terr, UFO_ERROR, UFO_ERROR_INVALID);
  /* an empty transfer at the end is fine and needs no backend call */
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_tensor_download(v.t, 12, host, 0, &err));
  g_assert_no_error(err);

  /* precision: fp32 always; another one on a backend without set_precision is unsupported */
  g_assert_true(ufo_backend_set_precision(e.be, UFO_PRECISION_FP32, &err));
  g_assert_false(ufo_backend_set_precision(e.be, UFO_PRECISION_BF16, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  g_clear_error(&err);
  g_assert_false(ufo_backend_set_precision(e.be, (UfoPrecision)UFO_N_PRECISIONS, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_cmpint(FAKE(e.be)->calls, ==, 4);
  env_free(&e);
}

/* The wrappers in front of the real CPU backend: a checked call computes, a refused one leaves
 * the output untouched. */
/* The mask ops' operands are named in their messages (engine/backend/masks.c), on the CPU
 * backend: a view past its tensor is refused before the op runs, whichever operand it is. */
static void test_mask_operands(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_backend_cpu_new(1, &err);
  g_assert_no_error(err);
  UfoTensor *tu = ufo_tensor_new_2d(be, 4, 4, &err);
  g_assert_no_error(err);
  UfoTensor *te = ufo_tensor_new_2d(be, 2, 3, &err);
  g_assert_no_error(err);
  UfoTensor *tf = ufo_tensor_new_2d(be, 4, 3, &err);
  g_assert_no_error(err);
  UfoView u = ufo_view(tu), e = ufo_view(te), f = ufo_view(tf);
  const char *names[] = {"mask_logits (u):", "mask_logits (e):", "mask_logits (f):"};
  for (int bad = 0; bad < 3; bad++) {
    UfoView v[3] = {u, e, f};
    v[bad].rows += 1; /* one row past the tensor's end */
    g_assert_false(ufo_op_mask_logits(be, v[0], v[1], v[2], 2, 2, &err));
    g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
    if (!g_str_has_prefix(err->message, names[bad]))
      g_error("'%s' does not begin with '%s'", err->message, names[bad]);
    g_clear_error(&err);
  }
  ufo_tensor_free(tu);
  ufo_tensor_free(te);
  ufo_tensor_free(tf);
  ufo_backend_free(be);
}

static void test_cpu_still_computes(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_backend_cpu_new(1, &err);
  g_assert_no_error(err);
  /* C (2, 3) = A (2, 2) · B (3, 2)^T + bias */
  static const float a[] = {1, 2, 3, 4}, b[] = {1, 0, 0, 1, 1, 1}, bias[] = {0.5f, 0, -1};
  int64_t ne_a[2] = {2, 2}, ne_b[2] = {3, 2}, ne_bias[2] = {1, 3};
  UfoTensor *ta = ufo_tensor_from_host(be, 2, ne_a, a, &err);
  UfoTensor *tb = ufo_tensor_from_host(be, 2, ne_b, b, &err);
  UfoTensor *tbias = ufo_tensor_from_host(be, 2, ne_bias, bias, &err);
  UfoTensor *tc = ufo_tensor_new_2d(be, 2, 3, &err);
  g_assert_no_error(err);
  static const float zero[6] = {0};
  g_assert_true(ufo_tensor_upload(tc, 0, zero, 6, &err));
  UfoGemm g = {.a = ufo_view(ta),
               .b = ufo_view(tb),
               .c = ufo_view(tc),
               .bias = ufo_view(tbias),
               .trans_b = TRUE,
               .alpha = 1.f,
               .batch = 1};
  g_assert_true(ufo_op_gemm(be, &g, &err));
  g_assert_no_error(err);
  float c[6];
  g_assert_true(ufo_tensor_download(tc, 0, c, 6, &err));
  static const float want[6] = {1.5f, 2, 2, 3.5f, 4, 6};
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat(c[i], ==, want[i]);
  /* refused: the bias row is one column short; C keeps its values */
  g.bias = ufo_view_sub(ufo_view(tbias), 0, 0, 1, 2);
  g_assert_false(ufo_op_gemm(be, &g, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_true(ufo_tensor_download(tc, 0, c, 6, &err));
  for (int i = 0; i < 6; i++)
    g_assert_cmpfloat(c[i], ==, want[i]);
  /* the CPU backend's own rule: tensors aliasing host memory (wrap_host) are read-only */
  g_assert_true(ta->borrowed);
  g_assert_false(ufo_tensor_upload(ta, 0, zero, 4, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  ufo_tensor_free(ta);
  ufo_tensor_free(tb);
  ufo_tensor_free(tbias);
  ufo_tensor_free(tc);
  ufo_backend_free(be);
}

/* The asynchrony contract (backend.h late_error): a failure of work an op already returned TRUE
 * for is reported by the next wait (download, synchronize, the selection ops), once; one never
 * waited for is logged when the backend is freed. The CPU backend plants one through its hook. */
static int late_logged;

static void count_log(int level, const char *message, void *user_data)
{
  if (level == 0 && strstr(message, "planted late failure"))
    late_logged++;
}

static void late_gemm(UfoBackend *be, UfoTensor *a, UfoTensor *c)
{
  g_autoptr(GError) err = NULL;
  ufo_cpu_test_fail_late(be);
  UfoGemm g = {.a = ufo_view(a),
               .b = ufo_view(a),
               .c = ufo_view(c),
               .trans_b = TRUE,
               .alpha = 1.f,
               .batch = 1};
  g_assert_true(ufo_op_gemm(be, &g, &err)); /* the op itself "succeeds" */
  g_assert_no_error(err);
}

static void test_late_error(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_backend_cpu_new(1, &err);
  g_assert_no_error(err);
  UfoTensor *a = ufo_tensor_new_2d(be, 4, 8, &err), *c = ufo_tensor_new_2d(be, 4, 4, &err);
  g_assert_no_error(err);
  float h[32] = {0}, out[16];
  g_assert_true(ufo_tensor_upload(a, 0, h, 32, &err));
  /* reported by the next download, with the backend's message, and only once */
  late_gemm(be, a, c);
  g_assert_false(ufo_tensor_download(c, 0, out, 16, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_BACKEND);
  g_assert_nonnull(strstr(err->message, "planted late failure"));
  g_clear_error(&err);
  g_assert_true(ufo_tensor_download(c, 0, out, 16, &err));
  g_assert_no_error(err);
  /* ... or by synchronize */
  late_gemm(be, a, c);
  g_assert_false(ufo_backend_synchronize(be, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_BACKEND);
  g_clear_error(&err);
  g_assert_true(ufo_backend_synchronize(be, &err));
  /* ... or by a selection op, whose results come back to the host */
  late_gemm(be, a, c);
  int32_t ids[4];
  float prob[4];
  g_assert_false(ufo_op_argmax_rows(be, ufo_view(c), NULL, NULL, ids, prob, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_BACKEND);
  g_clear_error(&err);
  /* never waited for: logged when the backend goes, not lost */
  late_gemm(be, a, c);
  late_logged = 0;
  ufo_log_set(count_log, NULL);
  ufo_tensor_free(a);
  ufo_tensor_free(c);
  ufo_backend_free(be);
  ufo_log_set(NULL, NULL);
  g_assert_cmpint(late_logged, ==, 1);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/nn/op-checks/gemm", test_gemm);
  g_test_add_func("/nn/op-checks/linear", test_linear);
  g_test_add_func("/nn/op-checks/rows", test_rows);
  g_test_add_func("/nn/op-checks/layout", test_layout);
  g_test_add_func("/nn/op-checks/resample", test_resample);
  g_test_add_func("/nn/op-checks/attention", test_attention);
  g_test_add_func("/nn/op-checks/other-backend", test_other_backend);
  g_test_add_func("/nn/op-checks/transfers", test_transfers);
  g_test_add_func("/nn/op-checks/mask-operands", test_mask_operands);
  g_test_add_func("/nn/op-checks/cpu-still-computes", test_cpu_still_computes);
  g_test_add_func("/nn/op-checks/late-error", test_late_error);
  return g_test_run();
}
