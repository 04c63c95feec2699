/* Validating wrappers of the decode-selection ops (backend.h argmax_rows, log_softmax_topk). */
#include "backend.h"
#include "profile.h"

gboolean ufo_op_argmax_rows(UfoBackend *be, UfoView x, const int32_t *force, const float *margin,
                            int32_t *ids, float *prob, GError **error)
{
  if (!ufo_view_check(x, "argmax_rows", error))
    return FALSE;
  if (x.t == NULL || x.t->be != be || ids == NULL || prob == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "argmax_rows: needs logits of this backend and host outputs");
    return FALSE;
  }
  for (int64_t i = 0; force && i < x.rows; i++)
    if (force[i] >= x.cols) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                  "argmax_rows: forced token %d of row %lld outside 0..%lld", force[i],
                  (long long)i, (long long)x.cols - 1);
      return FALSE;
    }
  be->bytes_down += (uint64_t)x.rows * (sizeof(int32_t) + sizeof(float));
  if (!ufo_backend_take_late_error(be, error)) /* results come back: a wait (backend.h) */
    return FALSE;
  return UFO_PROFILED(be, "argmax_rows",
                      be->ops->argmax_rows(be, x, force, margin, ids, prob, error), error);
}

/* the planted plan's forced tokens (ufo.h) must lie inside the row */
static gboolean check_force(const char *op, UfoView x, const int32_t *force, GError **error)
{
  for (int64_t i = 0; force && i < x.rows; i++)
    if (force[i] >= x.cols) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                  "%s: forced token %d of row %lld outside 0..%lld", op, force[i], (long long)i,
                  (long long)x.cols - 1);
      return FALSE;
    }
  return TRUE;
}

gboolean ufo_op_log_softmax_topk(UfoBackend *be, UfoView x, float temperature, const int32_t *force,
                                 const float *margin, const float *bias, int k, float *val,
                                 int32_t *idx, GError **error)
{
  if (!ufo_view_check(x, "log_softmax_topk", error))
    return FALSE;
  if (x.t == NULL || x.t->be != be || val == NULL || idx == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "log_softmax_topk: needs logits of this backend and host outputs");
    return FALSE;
  }
  if (k < 1 || k > x.cols || !(temperature > 0.f)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "log_softmax_topk: k %d outside 1..%lld or temperature %g not > 0", k,
                (long long)x.cols, temperature);
    return FALSE;
  }
  if (!check_force("log_softmax_topk", x, force, error))
    return FALSE;
  if (be->ops->log_softmax_topk == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "log_softmax_topk: backend %s lacks the op", be->ops->name);
    return FALSE;
  }
  be->bytes_down += (uint64_t)x.rows * k * (sizeof(int32_t) + sizeof(float));
  if (!ufo_backend_take_late_error(be, error)) /* results come back: a wait (backend.h) */
    return FALSE;
  return UFO_PROFILED(
      be, "log_softmax_topk",
      be->ops->log_softmax_topk(be, x, temperature, force, margin, bias, k, val, idx, error),
      error);
}
