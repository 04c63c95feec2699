/* Backend-independent part of the ops API (backend.h): tensor helpers and the validating
 * wrappers, the one place where operands are checked before a backend computes. */
#include "backend.h"
#include "profile.h"
#include "log.h"

#include <stdio.h>

void ufo_backend_free(UfoBackend *be)
{
  if (be == NULL)
    return;
  if (be->ops->destroy)
    be->ops->destroy(be);
  if (be->late_error) /* never reported: at least logged, never lost silently */
    ufo_log(UFO_LOG_ERROR, "%s backend: unreported failure of earlier work: %s", be->ops->name,
            be->late_error->message);
  g_clear_error(&be->late_error);
  ufo_backend_profile_free(be);
  g_free(be);
}

void ufo_backend_report_late(UfoBackend *be, GError *err)
{
  if (!be->late_error) {
    be->late_error = err;
    return;
  }
  ufo_log(UFO_LOG_ERROR, "%s backend: further failure of earlier work: %s", be->ops->name,
          err->message);
  g_error_free(err);
}

/* a recorded late failure, handed to the caller of a wait (synchronize, download) */
gboolean ufo_backend_take_late_error(UfoBackend *be, GError **error)
{
  if (!be->late_error)
    return TRUE;
  g_propagate_error(error, g_steal_pointer(&be->late_error));
  return FALSE;
}

void *ufo_backend_cuda_context(UfoBackend *be)
{
  return be && be->ops->cuda_context ? be->ops->cuda_context(be) : NULL;
}

gboolean ufo_backend_shares_memory(const UfoBackend *a, const UfoBackend *b)
{
  return a == b || (a && b && a->ops == b->ops && a->ops->new_peer && a->memory == b->memory);
}

static gboolean tensor_shape(UfoTensor *t, UfoBackend *be, UfoDType dtype, int ndim,
                             const int64_t *ne, GError **error)
{
  if (dtype != UFO_DTYPE_F32 && dtype != UFO_DTYPE_I32) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tensors hold F32 or I32 elements, not %s",
                ufo_dtype_name(dtype));
    return FALSE;
  }
  t->dtype = dtype;
  if (ndim < 1 || ndim > UFO_TENSOR_MAX_DIMS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tensor rank %d outside 1..%d", ndim,
                UFO_TENSOR_MAX_DIMS);
    return FALSE;
  }
  t->be = be;
  t->ndim = ndim;
  t->n = 1;
  for (int i = 0; i < UFO_TENSOR_MAX_DIMS; i++) {
    t->ne[i] = i < ndim ? ne[i] : 1;
    if (t->ne[i] <= 0 || (size_t)t->ne[i] > SIZE_MAX / ufo_dtype_size(dtype) / t->n) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tensor dimension %d has bad size %lld", i,
                  (long long)t->ne[i]);
      return FALSE;
    }
    t->n *= (size_t)t->ne[i];
  }
  return TRUE;
}

UfoTensor *ufo_tensor_new_typed(UfoBackend *be, UfoDType dtype, int ndim, const int64_t *ne,
                                GError **error)
{
  UfoTensor *t = g_new0(UfoTensor, 1);
  if (!tensor_shape(t, be, dtype, ndim, ne, error) || !be->ops->alloc(be, t, error)) {
    g_free(t);
    return NULL;
  }
  be->allocs++;
  return t;
}

UfoTensor *ufo_tensor_new(UfoBackend *be, int ndim, const int64_t *ne, GError **error)
{
  return ufo_tensor_new_typed(be, UFO_DTYPE_F32, ndim, ne, error);
}

UfoTensor *ufo_tensor_new_2d(UfoBackend *be, int64_t rows, int64_t cols, GError **error)
{
  int64_t ne[2] = {rows, cols};
  return ufo_tensor_new(be, 2, ne, error);
}

UfoTensor *ufo_tensor_from_host(UfoBackend *be, int ndim, const int64_t *ne, const float *host,
                                GError **error)
{
  if (be->ops->wrap_host) {
    UfoTensor *t = g_new0(UfoTensor, 1);
    if (!tensor_shape(t, be, UFO_DTYPE_F32, ndim, ne, error) ||
        !be->ops->wrap_host(be, t, host, error)) {
      g_free(t);
      return NULL;
    }
    return t;
  }
  UfoTensor *t = ufo_tensor_new(be, ndim, ne, error);
  if (t && !ufo_tensor_upload(t, 0, host, t->n, error)) {
    ufo_tensor_free(t);
    return NULL;
  }
  return t;
}

void ufo_tensor_free(UfoTensor *t)
{
  if (t == NULL)
    return;
  t->be->ops->release(t->be, t);
  g_free(t);
}

UfoView ufo_view(UfoTensor *t)
{
  int64_t cols = (int64_t)(t->n / (size_t)t->ne[0]);
  return (UfoView){t, 0, t->ne[0], cols, cols};
}

UfoView ufo_view_sub(UfoView v, int64_t row, int64_t col, int64_t rows, int64_t cols)
{
  return (UfoView){v.t, v.off + (size_t)(row * v.ld + col), rows, cols, v.ld};
}

UfoView ufo_view_at(UfoTensor *t, size_t off, int64_t rows, int64_t cols, int64_t ld)
{
  return (UfoView){t, off, rows, cols, ld};
}

/* One past the last element of v shifted by extra elements; FALSE when v is malformed (empty,
 * ld < cols) or the arithmetic overflows. */
static gboolean view_end(UfoView v, size_t extra, size_t *end)
{
  if (v.rows <= 0 || v.cols <= 0 || v.ld < v.cols)
    return FALSE;
  int64_t span;
  size_t e;
  if (__builtin_mul_overflow(v.rows - 1, v.ld, &span) ||
      __builtin_add_overflow(span, v.cols, &span))
    return FALSE;
  if (__builtin_add_overflow(v.off, extra, &e) || __builtin_add_overflow(e, (size_t)span, &e))
    return FALSE;
  *end = e;
  return TRUE;
}

/* v (shifted by extra elements) lies inside its tensor */
static gboolean view_fits(UfoView v, size_t extra)
{
  size_t end;
  return view_end(v, extra, &end) && end <= v.t->n;
}

static gboolean view_inside(UfoView v, size_t extra, const char *what, GError **error)
{
  if (!view_fits(v, extra)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: view %lldx%lld (ld %lld, offset %zu) outside its tensor of %zu elements", what,
                (long long)v.rows, (long long)v.cols, (long long)v.ld, v.off + extra, v.t->n);
    return FALSE;
  }
  return TRUE;
}

/* An operand of an op on floats: an f32 tensor. */
static gboolean is_f32(UfoView v, const char *what, GError **error)
{
  if (v.t->dtype == UFO_DTYPE_F32)
    return TRUE;
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: an %s tensor where F32 is expected", what,
              ufo_dtype_name(v.t->dtype));
  return FALSE;
}

gboolean ufo_view_check(UfoView v, const char *what, GError **error)
{
  return v.t == NULL || (is_f32(v, what, error) && view_inside(v, 0, what, error));
}

/* ---- the validating wrappers ----------------------------------------------------------------- */

static gboolean fail(GError **error, const char *op, const char *why)
{
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: %s", op, why);
  return FALSE;
}

static gboolean have_backend(UfoBackend *be, const char *op, GError **error)
{
  return be && be->ops ? TRUE : fail(error, op, "no backend");
}

/* Operand i of op: a view of a tensor owned by be (or by a backend sharing its memory) lying
 * inside it; shifted by extra elements (a batch of a GEMM). Optional operands may be the empty
 * view. */
static gboolean operand(UfoBackend *be, const char *op, int i, UfoView v, gboolean required,
                        size_t extra, GError **error)
{
  if (v.t == NULL) {
    if (!required)
      return TRUE;
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: operand %d is missing", op, i);
    return FALSE;
  }
  if (!ufo_backend_shares_memory(be, v.t->be)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: operand %d belongs to another backend (%s) than the op's (%s)", op, i,
                v.t->be && v.t->be->ops ? v.t->be->ops->name : "none", be->ops->name);
    return FALSE;
  }
  if (v.t->dtype == UFO_DTYPE_F32 && view_fits(v, extra))
    return TRUE; /* every op checks its operands: the message is only made for an error */
  g_autofree char *what = g_strdup_printf("%s (operand %d)", op, i);
  return is_f32(v, what, error) && view_inside(v, extra, what, error);
}

/* Index operand i of op (embed, gather_rows): an i32 (rows, 1) column with ld 1 of a tensor be
 * may use, inside the tensor's last upload (UfoIndexRange), values in [0, bound). */
static gboolean index_operand_from(UfoBackend *be, const char *op, int i, UfoView v, int64_t rows,
                                   int32_t lo, int64_t bound, GError **error)
{
  if (!ufo_backend_shares_memory(be, v.t->be)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: operand %d belongs to another backend (%s) than the op's (%s)", op, i,
                v.t->be && v.t->be->ops ? v.t->be->ops->name : "none", be->ops->name);
    return FALSE;
  }
  if (v.t->dtype != UFO_DTYPE_I32) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: indices (operand %d) must be I32, not %s",
                op, i, ufo_dtype_name(v.t->dtype));
    return FALSE;
  }
  if (v.rows != rows || v.cols != 1 || v.ld != 1) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: indices (operand %d) must be a (%lld, 1) column with ld 1", op, i,
                (long long)rows);
    return FALSE;
  }
  if (!view_fits(v, 0)) {
    g_autofree char *what = g_strdup_printf("%s (operand %d)", op, i);
    return view_inside(v, 0, what, error);
  }
  const UfoIndexRange *k = &v.t->known;
  if (v.off < k->off || v.off + (size_t)rows > k->off + k->n) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: indices (operand %d) at %zu (%lld) were not all written by the tensor's "
                "last upload (%zu at %zu)",
                op, i, v.off, (long long)rows, k->n, k->off);
    return FALSE;
  }
  if (k->min < lo || k->max >= bound) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: indices %d..%d outside %d..%lld", op,
                k->min, k->max, lo, (long long)bound - 1);
    return FALSE;
  }
  return TRUE;
}

static gboolean index_operand(UfoBackend *be, const char *op, int i, UfoView v, int64_t rows,
                              int64_t bound, GError **error)
{
  return index_operand_from(be, op, i, v, rows, 0, bound, error);
}

/* Output column i of op: an (rows, 1) view with ld 1 of a dtype tensor that be may use. */
static gboolean column_out(UfoBackend *be, const char *op, int i, UfoView v, UfoDType dtype,
                           int64_t rows, GError **error)
{
  if (v.t == NULL || !ufo_backend_shares_memory(be, v.t->be) || v.t->dtype != dtype ||
      v.rows != rows || v.cols != 1 || v.ld != 1) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: operand %d must be a (%lld, 1) %s column with ld 1 of the op's backend", op, i,
                (long long)rows, ufo_dtype_name(dtype));
    return FALSE;
  }
  if (view_fits(v, 0))
    return TRUE;
  g_autofree char *what = g_strdup_printf("%s (operand %d)", op, i);
  return view_inside(v, 0, what, error);
}

/* Required operands (all of them), numbered from 0. */
static gboolean operands(UfoBackend *be, const char *op, int n, const UfoView *v, GError **error)
{
  if (!have_backend(be, op, error))
    return FALSE;
  for (int i = 0; i < n; i++)
    if (!operand(be, op, i, v[i], TRUE, 0, error))
      return FALSE;
  return TRUE;
}
#define OPERANDS(op, ...)                                                                          \
  operands(be, op, sizeof((UfoView[]){__VA_ARGS__}) / sizeof(UfoView), (UfoView[]){__VA_ARGS__},   \
           error)

static gboolean same_shape(UfoView a, UfoView b)
{
  return a.rows == b.rows && a.cols == b.cols;
}

static gboolean same_view(UfoView a, UfoView b)
{
  return a.t == b.t && a.off == b.off && a.ld == b.ld && same_shape(a, b);
}

/* Whether two (checked) views may share an element: same tensor, intersecting element ranges
 * and, at equal ld, intersecting column ranges (column blocks of one buffer are disjoint). */
static gboolean overlap(UfoView a, UfoView b)
{
  if (a.t == NULL || b.t == NULL || a.t != b.t)
    return FALSE;
  size_t ea = a.off + (size_t)((a.rows - 1) * a.ld + a.cols);
  size_t eb = b.off + (size_t)((b.rows - 1) * b.ld + b.cols);
  if (ea <= b.off || eb <= a.off)
    return FALSE;
  if (a.ld != b.ld)
    return TRUE;
  size_t ld = (size_t)a.ld, ca = a.off % ld, cb = b.off % ld;
  if (ca + (size_t)a.cols > ld || cb + (size_t)b.cols > ld)
    return TRUE; /* rows wrap around ld: no simple column range */
  return ca < cb + (size_t)b.cols && cb < ca + (size_t)a.cols;
}

/* Output y of an elementwise op over x: the same view (in place) or disjoint. */
static gboolean in_place_or_apart(UfoView y, UfoView x)
{
  return same_view(y, x) || !overlap(y, x);
}

/* A transfer of n elements of dtype at off: a tensor of that dtype, inside it, host memory
 * given (n > 0). */
static gboolean transfer_ok(const char *op, const UfoTensor *t, UfoDType dtype, size_t off,
                            const void *host, size_t n, GError **error)
{
  if (t == NULL || t->be == NULL)
    return fail(error, op, "no tensor");
  if (t->dtype != dtype) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: %s data for an %s tensor", op,
                ufo_dtype_name(dtype), ufo_dtype_name(t->dtype));
    return FALSE;
  }
  if (off > t->n || n > t->n - off) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: transfer of %zu elements at %zu outside a tensor of %zu", op, n, off, t->n);
    return FALSE;
  }
  return n == 0 || host != NULL ? TRUE : fail(error, op, "no host memory");
}

static gboolean upload(UfoTensor *t, UfoDType dtype, size_t off, const void *host, size_t n,
                       GError **error)
{
  if (!transfer_ok("upload", t, dtype, off, host, n, error))
    return FALSE;
  t->be->bytes_up += (uint64_t)n * ufo_dtype_size(dtype);
  return n == 0 ||
         UFO_PROFILED(t->be, "upload", t->be->ops->upload(t->be, t, off, host, n, error), error);
}

static gboolean download(const UfoTensor *t, UfoDType dtype, size_t off, void *host, size_t n,
                         GError **error)
{
  if (!transfer_ok("download", t, dtype, off, host, n, error))
    return FALSE;
  t->be->bytes_down += (uint64_t)n * ufo_dtype_size(dtype);
  if (!ufo_backend_take_late_error(t->be, error))
    return FALSE;
  return n == 0 || UFO_PROFILED(t->be, "download",
                                t->be->ops->download(t->be, t, off, host, n, error), error);
}

gboolean ufo_tensor_upload(UfoTensor *t, size_t off, const float *host, size_t n, GError **error)
{
  return upload(t, UFO_DTYPE_F32, off, host, n, error);
}

gboolean ufo_tensor_download(const UfoTensor *t, size_t off, float *host, size_t n, GError **error)
{
  return download(t, UFO_DTYPE_F32, off, host, n, error);
}

gboolean ufo_tensor_upload_i32(UfoTensor *t, size_t off, const int32_t *host, size_t n,
                               GError **error)
{
  if (t && t->dtype == UFO_DTYPE_I32)
    t->known = (UfoIndexRange){0}; /* unknown until this upload succeeds */
  if (!upload(t, UFO_DTYPE_I32, off, host, n, error))
    return FALSE;
  /* the values as the wrappers will know them (backend.h index ranges) */
  UfoIndexRange k = {.off = off, .n = n, .min = INT32_MAX, .max = INT32_MIN, .ge_position = TRUE};
  for (size_t j = 0; j < n; j++) {
    k.min = MIN(k.min, host[j]);
    k.max = MAX(k.max, host[j]);
    k.ge_position = k.ge_position && host[j] >= 0 && (size_t)host[j] >= j;
  }
  t->known = k;
  return TRUE;
}

gboolean ufo_tensor_download_i32(const UfoTensor *t, size_t off, int32_t *host, size_t n,
                                 GError **error)
{
  return download(t, UFO_DTYPE_I32, off, host, n, error);
}

/* precision=auto: the backend's answer, logged the first time each backend name gets it */
static UfoPrecision resolve_auto(UfoBackend *be)
{
  const char *why = "the backend has no bf16 path";
  UfoPrecision p = be->ops->auto_precision ? be->ops->auto_precision(be, &why) : UFO_PRECISION_FP32;
  static GMutex lock;
  static GHashTable *logged; /* "name/precision" strings, for the process */
  g_autofree char *key = g_strdup_printf("%s/%d", be->ops->name, (int)p);
  g_mutex_lock(&lock);
  if (logged == NULL)
    logged = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  gboolean first = g_hash_table_add(logged, g_steal_pointer(&key));
  g_mutex_unlock(&lock);
  if (first)
    ufo_log(UFO_LOG_INFO, "precision=auto on the %s backend: %s (%s)", be->ops->name,
            ufo_precision_name(p), why);
  return p;
}

gboolean ufo_backend_set_precision(UfoBackend *be, UfoPrecision precision, GError **error)
{
  if (!have_backend(be, "set_precision", error))
    return FALSE;
  if (precision < 0 || precision >= UFO_N_PRECISIONS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown precision id %d", (int)precision);
    return FALSE;
  }
  if (precision == UFO_PRECISION_AUTO)
    precision = resolve_auto(be);
  be->precision = precision; /* a backend computing fp32 instead lowers it */
  if (be->ops->set_precision)
    return be->ops->set_precision(be, precision, error);
  if (precision == UFO_PRECISION_FP32)
    return TRUE;
  g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
              "precision=%s is not available on the %s backend; use precision=fp32",
              ufo_precision_name(precision), be->ops->name);
  return FALSE;
}

gboolean ufo_op_gemm(UfoBackend *be, const UfoGemm *p, GError **error)
{
  if (!have_backend(be, "gemm", error))
    return FALSE;
  if (p == NULL)
    return fail(error, "gemm", "no parameters");
  if (p->batch < 1)
    return fail(error, "gemm", "batch < 1");
  int64_t m = p->trans_a ? p->a.cols : p->a.rows, k = p->trans_a ? p->a.rows : p->a.cols;
  int64_t kb = p->trans_b ? p->b.cols : p->b.rows, n = p->trans_b ? p->b.rows : p->b.cols;
  if (k != kb || p->c.rows != m || p->c.cols != n)
    return fail(error, "gemm", "operand shapes do not match");
  if (p->bias.t && (p->bias.rows != 1 || p->bias.cols != n))
    return fail(error, "gemm", "bias must be (1, N)");
  /* the first and the last batch: views in between lie between them */
  const size_t last = (size_t)p->batch - 1;
  size_t sa, sb, sc;
  if (__builtin_mul_overflow(last, p->stride_a, &sa) ||
      __builtin_mul_overflow(last, p->stride_b, &sb) ||
      __builtin_mul_overflow(last, p->stride_c, &sc))
    return fail(error, "gemm", "batch strides overflow");
  if (!operand(be, "gemm", 0, p->a, TRUE, 0, error) ||
      !operand(be, "gemm", 1, p->b, TRUE, 0, error) ||
      !operand(be, "gemm", 2, p->c, TRUE, 0, error) ||
      !operand(be, "gemm", 3, p->bias, FALSE, 0, error) ||
      !operand(be, "gemm", 0, p->a, TRUE, sa, error) ||
      !operand(be, "gemm", 1, p->b, TRUE, sb, error) ||
      !operand(be, "gemm", 2, p->c, TRUE, sc, error))
    return FALSE;
  if (p->batch == 1 && (overlap(p->c, p->a) || overlap(p->c, p->b) || overlap(p->c, p->bias)))
    return fail(error, "gemm", "C overlaps an input");
  char name[112];
  if (be->profile)
    snprintf(name, sizeof name, "gemm %lldx%lldx%lld%s%s", (long long)m, (long long)n, (long long)k,
             p->batch > 1 ? " batched" : "", p->b.t->weight ? " (weight)" : "");
  return UFO_PROFILED(be, name, be->ops->gemm(be, p, error), error);
}

UfoGemm ufo_linear_gemm(const UfoLinear *p, UfoView a, int second)
{
  const int64_t n0 = second ? p->y.cols : 0, n = second ? p->y2.cols : p->y.cols;
  UfoGemm g = {.a = a,
               .b = ufo_view_sub(p->w, n0, 0, n, p->w.cols),
               .c = second ? p->y2 : p->y,
               .trans_b = TRUE, /* nn.Linear: y = x·W^T + b */
               .alpha = 1.f,
               .beta = p->beta,
               .batch = 1,
               .row_stable = p->row_stable};
  if (p->bias.t)
    g.bias = ufo_view_sub(p->bias, 0, n0, 1, n);
  return g;
}

gboolean ufo_linear_composed(UfoBackend *be, const UfoLinear *p, GError **error)
{
  UfoView a = p->x;
  if (p->ln_w.t) {
    if (!ufo_op_layer_norm(be, p->ln_out, p->x, p->ln_w, p->ln_b, p->ln_eps, error))
      return FALSE;
    a = p->ln_out;
  }
  for (int i = 0; i < (p->y2.t ? 2 : 1); i++) {
    UfoGemm g = ufo_linear_gemm(p, a, i);
    if (!ufo_op_gemm(be, &g, error) || (p->gelu && !ufo_op_gelu(be, g.c, g.c, error)))
      return FALSE;
  }
  return TRUE;
}

gboolean ufo_op_linear(UfoBackend *be, const UfoLinear *p, GError **error)
{
  if (!have_backend(be, "linear", error))
    return FALSE;
  if (p == NULL)
    return fail(error, "linear", "no parameters");
  const UfoView v[] = {p->x, p->w, p->y, p->y2, p->bias, p->ln_w, p->ln_b, p->ln_out};
  for (int i = 0; i < (int)G_N_ELEMENTS(v); i++)
    if (!operand(be, "linear", i, v[i], i < 3 || (i == 7 && p->ln_w.t), 0, error))
      return FALSE;
  const int64_t m = p->x.rows, k = p->x.cols, n = p->w.rows;
  if (p->w.cols != k || p->y.rows != m || (p->y2.t && p->y2.rows != m) ||
      p->y.cols + (p->y2.t ? p->y2.cols : 0) != n || (p->bias.t && p->bias.cols != n) ||
      (p->bias.t && p->bias.rows != 1))
    return fail(error, "linear", "x (M, K), w (N, K), y and y2 (M, N in all), bias (1, N)");
  if ((p->ln_b.t != NULL) != (p->ln_w.t != NULL) ||
      (p->ln_w.t && (p->ln_w.rows != 1 || p->ln_w.cols != k || p->ln_b.rows != 1 ||
                     p->ln_b.cols != k || !same_shape(p->ln_out, p->x))))
    return fail(error, "linear", "ln_w and ln_b (1, K) together, with ln_out the shape of x");
  if ((p->beta != 0.f && p->beta != 1.f) || (p->gelu && p->beta != 0.f))
    return fail(error, "linear", "beta is 0 or 1, and 0 with gelu");
  const UfoView ins[] = {p->x, p->w, p->bias, p->ln_w, p->ln_b};
  for (int i = 0; i < (int)G_N_ELEMENTS(ins); i++)
    if (overlap(p->y, ins[i]) || overlap(p->y2, ins[i]) ||
        (p->ln_w.t && i != 0 && overlap(p->ln_out, ins[i])))
      return fail(error, "linear", "an output overlaps an input");
  if (overlap(p->y, p->y2) ||
      (p->ln_w.t &&
       (overlap(p->ln_out, p->y) || overlap(p->ln_out, p->y2) || overlap(p->ln_out, p->x))))
    return fail(error, "linear", "y, y2, ln_out and x must not overlap");
  if (be->ops->linear == NULL || be->ops->linear_fuses == NULL || !be->ops->linear_fuses(be, p))
    return ufo_linear_composed(be, p, error);
  char name[112];
  if (be->profile)
    snprintf(name, sizeof name, "linear %lldx%lldx%lld%s%s%s", (long long)m, (long long)n,
             (long long)k, p->ln_w.t ? " +ln" : "", p->gelu ? " +gelu" : "",
             p->beta != 0.f ? " +residual" : "");
  return UFO_PROFILED(be, name, be->ops->linear(be, p, error), error);
}

gboolean ufo_op_layer_norm(UfoBackend *be, UfoView y, UfoView x, UfoView w, UfoView b, float eps,
                           GError **error)
{
  if (!OPERANDS("layer_norm", y, x, w, b))
    return FALSE;
  if (!same_shape(y, x) || w.cols != x.cols || b.cols != x.cols)
    return fail(error, "layer_norm", "shapes do not match");
  if (!in_place_or_apart(y, x) || overlap(y, w) || overlap(y, b))
    return fail(error, "layer_norm", "y must be x or not overlap the inputs");
  return UFO_PROFILED(be, "layer_norm", be->ops->layer_norm(be, y, x, w, b, eps, error), error);
}

gboolean ufo_op_gelu(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (!OPERANDS("gelu", y, x))
    return FALSE;
  if (!same_shape(y, x))
    return fail(error, "gelu", "shapes do not match");
  if (!in_place_or_apart(y, x))
    return fail(error, "gelu", "y must be x or not overlap it");
  return UFO_PROFILED(be, "gelu", be->ops->gelu(be, y, x, error), error);
}

gboolean ufo_op_add(UfoBackend *be, UfoView y, UfoView a, UfoView b, GError **error)
{
  if (!OPERANDS("add", y, a, b))
    return FALSE;
  if (!same_shape(y, a) || b.cols != a.cols || (b.rows != 1 && b.rows != a.rows))
    return fail(error, "add", "shapes do not match");
  gboolean broadcast = b.rows != a.rows;
  if (!in_place_or_apart(y, a) || (broadcast ? overlap(y, b) : !in_place_or_apart(y, b)))
    return fail(error, "add", "y must be an input of its shape or not overlap the inputs");
  return UFO_PROFILED(be, "add", be->ops->add(be, y, a, b, error), error);
}

gboolean ufo_op_copy(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (!OPERANDS("copy", y, x))
    return FALSE;
  if (!same_shape(y, x))
    return fail(error, "copy", "shapes do not match");
  if (!in_place_or_apart(y, x))
    return fail(error, "copy", "y must be x or not overlap it");
  return UFO_PROFILED(be, "copy", be->ops->copy(be, y, x, error), error);
}

gboolean ufo_op_attention(UfoBackend *be, const UfoAttention *p, GError **error)
{
  if (!have_backend(be, "attention", error))
    return FALSE;
  if (p == NULL)
    return fail(error, "attention", "no parameters");
  int d = p->head_dim;
  if (p->n_groups < 1 || p->group_q < 1 || p->n_heads < 1 || d < 1 || p->n_segs < 0 ||
      p->n_segs > UFO_ATTN_MAX_SEGS || (p->n_segs == 0 && !p->self_key))
    return fail(error, "attention", "bad group, head or segment counts");
  int64_t nq = (int64_t)p->n_groups * p->group_q, c = (int64_t)p->n_heads * d;
  if (p->q.rows != nq || p->q.cols != c || !same_shape(p->out, p->q))
    return fail(error, "attention", "q/out must be (groups * group_q, heads * head_dim)");
  if (!operand(be, "attention", 0, p->q, TRUE, 0, error) ||
      !operand(be, "attention", 1, p->out, TRUE, 0, error))
    return FALSE;
  if (p->self_key) {
    if (!same_shape(p->self_k, p->q) || !same_shape(p->self_v, p->q))
      return fail(error, "attention", "self_k/self_v must be shaped like q");
    if (!operand(be, "attention", 2, p->self_k, TRUE, 0, error) ||
        !operand(be, "attention", 3, p->self_v, TRUE, 0, error))
      return FALSE;
    if (overlap(p->out, p->self_k) || overlap(p->out, p->self_v))
      return fail(error, "attention", "out overlaps an input");
  }
  if (overlap(p->out, p->q))
    return fail(error, "attention", "out overlaps an input");
  gboolean rel_pos = FALSE, causal = FALSE;
  for (int s = 0; s < p->n_segs; s++) {
    const UfoAttnKeys *sg = &p->seg[s];
    causal |= sg->causal;
    if (sg->n < 1 || sg->k.cols != c || sg->v.cols != c || sg->group_stride < 0)
      return fail(error, "attention", "bad key segment");
    int64_t rows = (p->n_groups - 1) * sg->group_stride + sg->n;
    if (sg->k.rows < rows || sg->v.rows < rows)
      return fail(error, "attention", "key segment has fewer rows than its groups need");
    if (sg->mask.t && (sg->mask.rows != 1 || sg->mask.cols != sg->n))
      return fail(error, "attention", "mask must be (1, n)");
    if (sg->causal && (sg->rel_pos || sg->n < p->group_q))
      return fail(error, "attention", "a causal segment needs n >= group_q and no rel-pos");
    if (!operand(be, "attention", 4 + 3 * s, sg->k, TRUE, 0, error) ||
        !operand(be, "attention", 5 + 3 * s, sg->v, TRUE, 0, error) ||
        !operand(be, "attention", 6 + 3 * s, sg->mask, FALSE, 0, error))
      return FALSE;
    if (overlap(p->out, sg->k) || overlap(p->out, sg->v) || overlap(p->out, sg->mask))
      return fail(error, "attention", "out overlaps an input");
    if (sg->rel_pos) {
      if (p->rel_h < 1 || p->rel_w < 1 || sg->n != (int64_t)p->rel_h * p->rel_w ||
          p->group_q != sg->n)
        return fail(error, "attention", "rel-pos needs group_q == n == rel_h * rel_w");
      rel_pos = TRUE;
    }
  }
  if (rel_pos) {
    if (p->rel_h_table.rows != 2 * p->rel_h - 1 || p->rel_w_table.rows != 2 * p->rel_w - 1 ||
        p->rel_h_table.cols != d || p->rel_w_table.cols != d)
      return fail(error, "attention", "rel-pos tables must be (2*size-1, head_dim)");
    int i = 4 + 3 * p->n_segs;
    if (!operand(be, "attention", i, p->rel_h_table, TRUE, 0, error) ||
        !operand(be, "attention", i + 1, p->rel_w_table, TRUE, 0, error))
      return FALSE;
    if (overlap(p->out, p->rel_h_table) || overlap(p->out, p->rel_w_table))
      return fail(error, "attention", "out overlaps an input");
  }
  char name[112];
  if (be->profile)
    snprintf(name, sizeof name, "attention %dx%d queries, %d segments%s%s%s", p->n_groups,
             p->group_q, p->n_segs, rel_pos ? ", rel-pos" : "", causal ? ", causal" : "",
             p->self_key ? ", own key" : "");
  return UFO_PROFILED(be, name, be->ops->attention(be, p, error), error);
}

static gboolean partition_ok(UfoBackend *be, const char *op, UfoView y, UfoView x, int h, int w,
                             int ws, GError **error)
{
  if (!OPERANDS(op, y, x))
    return FALSE;
  if (ws < 1 || h < 1 || w < 1 || h % ws || w % ws || x.rows != (int64_t)h * w ||
      !same_shape(y, x) || y.t == x.t)
    return fail(error, op, "map must be (h*w, C) with h, w multiples of the window, out of place");
  return TRUE;
}

gboolean ufo_op_window_partition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                 GError **error)
{
  return partition_ok(be, "window_partition", y, x, h, w, ws, error) &&
         UFO_PROFILED(be, "window_partition", be->ops->window_partition(be, y, x, h, w, ws, error),
                      error);
}

gboolean ufo_op_window_unpartition(UfoBackend *be, UfoView y, UfoView x, int h, int w, int ws,
                                   GError **error)
{
  return partition_ok(be, "window_unpartition", y, x, h, w, ws, error) &&
         UFO_PROFILED(be, "window_unpartition",
                      be->ops->window_unpartition(be, y, x, h, w, ws, error), error);
}

gboolean ufo_op_grid_sample(UfoBackend *be, UfoView y, UfoView x, int h, int w, UfoView ref,
                            GError **error)
{
  if (!OPERANDS("grid_sample", y, x, ref))
    return FALSE;
  if (h < 1 || w < 1 || x.rows != (int64_t)h * w || y.rows != ref.rows || ref.cols != 2 ||
      y.cols != x.cols)
    return fail(error, "grid_sample", "shapes do not match");
  if (overlap(y, x) || overlap(y, ref))
    return fail(error, "grid_sample", "y overlaps an input");
  return UFO_PROFILED(be, "grid_sample", be->ops->grid_sample(be, y, x, h, w, ref, error), error);
}

gboolean ufo_op_resize_bicubic(UfoBackend *be, UfoView y, UfoView x, int ih, int iw, int oh, int ow,
                               GError **error)
{
  if (!OPERANDS("resize_bicubic", y, x))
    return FALSE;
  if (ih < 1 || iw < 1 || oh < 1 || ow < 1 || x.rows != (int64_t)ih * iw ||
      y.rows != (int64_t)oh * ow || y.cols != x.cols)
    return fail(error, "resize_bicubic", "shapes do not match");
  if (overlap(y, x))
    return fail(error, "resize_bicubic", "y overlaps x");
  return UFO_PROFILED(be, "resize_bicubic",
                      be->ops->resize_bicubic(be, y, x, ih, iw, oh, ow, error), error);
}

gboolean ufo_op_resize_linear(UfoBackend *be, UfoView y, UfoView x, GError **error)
{
  if (!OPERANDS("resize_linear", y, x))
    return FALSE;
  if (y.cols != x.cols)
    return fail(error, "resize_linear", "shapes do not match");
  if (overlap(y, x))
    return fail(error, "resize_linear", "y overlaps x");
  return UFO_PROFILED(be, "resize_linear", be->ops->resize_linear(be, y, x, error), error);
}

/* Shared by embed and gather_rows: shapes, the index column and its range. */
static gboolean gather_ok(UfoBackend *be, const char *op, UfoView y, UfoView x, UfoView idx,
                          GError **error)
{
  if (!OPERANDS(op, y, x))
    return FALSE;
  if (y.cols != x.cols || (!idx.t && y.rows > x.rows))
    return fail(error, op, "shapes do not match");
  return !idx.t || index_operand(be, op, 2, idx, y.rows, x.rows, error);
}

gboolean ufo_op_argmax_rows_to(UfoBackend *be, UfoView x, UfoView force, UfoView margin,
                               UfoView ids, UfoView prob, GError **error)
{
  const char *op = "argmax_rows_to";
  if (!have_backend(be, op, error) || !operand(be, op, 0, x, TRUE, 0, error) ||
      (force.t && !index_operand_from(be, op, 1, force, x.rows, -1, x.cols, error)) ||
      (margin.t && !column_out(be, op, 2, margin, UFO_DTYPE_F32, x.rows, error)) ||
      !column_out(be, op, 3, ids, UFO_DTYPE_I32, x.rows, error) ||
      !column_out(be, op, 4, prob, UFO_DTYPE_F32, x.rows, error))
    return FALSE;
  if (x.rows < 1 || overlap(prob, x) || (margin.t && overlap(prob, margin)))
    return fail(error, op, "no rows, or prob overlaps an input");
  if (be->ops->argmax_rows_to == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "%s: backend %s lacks the op", op,
                be->ops->name);
    return FALSE;
  }
  ids.t->known = (UfoIndexRange){0}; /* written by the op: not the upload's indices any more */
  return UFO_PROFILED(be, op, be->ops->argmax_rows_to(be, x, force, margin, ids, prob, error),
                      error);
}

gboolean ufo_op_embed(UfoBackend *be, UfoView y, UfoView table, UfoView ids, GError **error)
{
  if (!ids.t)
    return fail(error, "embed", "no ids");
  if (!gather_ok(be, "embed", y, table, ids, error))
    return FALSE;
  if (overlap(y, table))
    return fail(error, "embed", "y overlaps the table");
  return UFO_PROFILED(be, "embed", be->ops->embed(be, y, table, ids, error), error);
}

gboolean ufo_op_gather_rows(UfoBackend *be, UfoView y, UfoView x, UfoView idx, GError **error)
{
  if (!gather_ok(be, "gather_rows", y, x, idx, error))
    return FALSE;
  if (overlap(y, x)) {
    /* in-place compaction: row i is written after every row it reads (idx[j] >= j; the view
     * starts at or after its upload's first element, so position j there is >= j) */
    gboolean ok = y.off == x.off && y.ld == x.ld && (!idx.t || idx.t->known.ge_position);
    if (!ok)
      return fail(error, "gather_rows",
                  "y overlaps x: in place only on the same rows with idx[i] >= i");
  }
  return UFO_PROFILED(be, "gather_rows", be->ops->gather_rows(be, y, x, idx, error), error);
}

gboolean ufo_op_mean_acc(UfoBackend *be, UfoView acc, UfoView x, int k, int n, GError **error)
{
  if (!OPERANDS("mean_acc", acc, x))
    return FALSE;
  if (!same_shape(acc, x) || n < 1 || k < 0 || k >= n)
    return fail(error, "mean_acc", "shapes or layer index do not match");
  if (overlap(acc, x))
    return fail(error, "mean_acc", "acc overlaps x");
  return UFO_PROFILED(be, "mean_acc", be->ops->mean_acc(be, acc, x, k, n, error), error);
}

gboolean ufo_op_patchify(UfoBackend *be, UfoView y, UfoView x, int h, int w, int p, GError **error)
{
  if (!OPERANDS("patchify", y, x))
    return FALSE;
  if (p < 1 || h % p || w % p || h < p || w < p || x.rows != 3 * (int64_t)h || x.cols != w ||
      y.rows != (int64_t)(h / p) * (w / p) || y.cols != 3 * (int64_t)p * p)
    return fail(error, "patchify", "shapes do not match");
  if (overlap(y, x))
    return fail(error, "patchify", "y overlaps x");
  return UFO_PROFILED(be, "patchify", be->ops->patchify(be, y, x, h, w, p, error), error);
}
