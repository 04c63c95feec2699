/* Validating wrapper of the decode-selection op (backend.h argmax_rows). */
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
  return UFO_PROFILED(be, "argmax_rows",
                      be->ops->argmax_rows(be, x, force, margin, ids, prob, error), error);
}
