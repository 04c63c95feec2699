/* Validating wrappers of the segmentation mask ops (backend.h mask_logits, mask_threshold,
 * mask_probs, mask_semantic; seg §2.6-§2.9, §3.6): operands checked once, then the backend's
 * entry; each counts the bytes of its host outputs in be->bytes_down. */
#include "backend.h"
#include "profile.h"

#include <math.h>
#include <stdarg.h>

static gboolean fail(GError **error, const char *op, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean fail(GError **error, const char *op, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *why = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: %s", op, why);
  return FALSE;
}

/* A required view of a tensor whose memory be can use, inside it. */
static gboolean operand(UfoBackend *be, const char *op, const char *name, UfoView v, GError **error)
{
  if (v.t == NULL)
    return fail(error, op, "%s is missing", name);
  if (!ufo_backend_shares_memory(be, v.t->be))
    return fail(error, op, "%s belongs to another backend (%s) than the op's (%s)", name,
                v.t->be && v.t->be->ops ? v.t->be->ops->name : "none", be->ops->name);
  if (ufo_view_check(v, op, NULL))
    return TRUE; /* the message naming the operand is only made for an error */
  g_autofree char *what = g_strdup_printf("%s (%s)", op, name);
  return ufo_view_check(v, what, error);
}

/* Whether two checked views may share an element (same tensor, intersecting element spans). */
static gboolean overlap(UfoView a, UfoView b)
{
  if (a.t != b.t)
    return FALSE;
  const size_t ea = a.off + (size_t)((a.rows - 1) * a.ld + a.cols);
  const size_t eb = b.off + (size_t)((b.rows - 1) * b.ld + b.cols);
  return a.off < eb && b.off < ea;
}

/* The op exists on be (every backend of the tree has it; a foreign vtable may not). */
static gboolean have_op(UfoBackend *be, const char *op, const void *entry, GError **error)
{
  if (be == NULL || be->ops == NULL)
    return fail(error, op, "no backend");
  if (entry)
    return TRUE;
  g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "%s: backend %s lacks the op", op,
              be->ops->name);
  return FALSE;
}

/* u (n*uh, uw): n >= 1 maps of equal height, an output size of at least one pixel. */
static gboolean maps(UfoBackend *be, const char *op, UfoView u, int n, int oh, int ow,
                     GError **error)
{
  if (!operand(be, op, "u", u, error))
    return FALSE;
  if (n < 1 || u.rows % n != 0)
    return fail(error, op, "%lld rows are not %d maps of equal height", (long long)u.rows, n);
  if (oh < 1 || ow < 1)
    return fail(error, op, "output size %dx%d is empty", ow, oh);
  return TRUE;
}

gboolean ufo_op_mask_logits(UfoBackend *be, UfoView u, UfoView e, UfoView f, int hp, int wp,
                            GError **error)
{
  const char *op = "mask_logits";
  if (!have_op(be, op, be ? (const void *)be->ops->mask_logits : NULL, error) ||
      !operand(be, op, "u", u, error) || !operand(be, op, "e", e, error) ||
      !operand(be, op, "f", f, error))
    return FALSE;
  if (hp < 1 || wp < 1 || f.rows != (int64_t)hp * wp || f.cols != e.cols)
    return fail(error, op, "f %lldx%lld is not (%d*%d, %lld)", (long long)f.rows, (long long)f.cols,
                hp, wp, (long long)e.cols);
  if (e.rows % 16 != 0)
    return fail(error, op, "e has %lld rows, not 16 per object", (long long)e.rows);
  /* seg §2.7: 16 maps of hp x wp per object shuffle into one (4hp, 4wp) map */
  if (u.rows != e.rows / 16 * 4 * hp || u.cols != 4 * (int64_t)wp)
    return fail(error, op, "u %lldx%lld is not (%lld*4*%d, 4*%d)", (long long)u.rows,
                (long long)u.cols, (long long)e.rows / 16, hp, wp);
  if (overlap(u, e) || overlap(u, f))
    return fail(error, op, "u overlaps an input");
  return UFO_PROFILED(be, op, be->ops->mask_logits(be, u, e, f, hp, wp, error), error);
}

gboolean ufo_op_mask_threshold(UfoBackend *be, UfoView u, int n, int oh, int ow, float thr,
                               uint64_t *bits, double *sum, int64_t *count, GError **error)
{
  const char *op = "mask_threshold";
  if (!have_op(be, op, be ? (const void *)be->ops->mask_threshold : NULL, error) ||
      !maps(be, op, u, n, oh, ow, error))
    return FALSE;
  if (bits == NULL || sum == NULL || count == NULL)
    return fail(error, op, "host outputs missing");
  if (isnan(thr))
    return fail(error, op, "threshold is NaN");
  const uint64_t words = ((uint64_t)ow + 63) / 64;
  be->bytes_down += (uint64_t)n * ((uint64_t)oh * words * 8 + sizeof(double) + sizeof(int64_t));
  return UFO_PROFILED(
      be, op, be->ops->mask_threshold(be, u, n, oh, ow, thr, bits, sum, count, error), error);
}

gboolean ufo_op_mask_probs(UfoBackend *be, UfoView u, int n, int oh, int ow, const int32_t *box,
                           float *const *prob, uint8_t *const *gray, GError **error)
{
  const char *op = "mask_probs";
  if (!have_op(be, op, be ? (const void *)be->ops->mask_probs : NULL, error) ||
      !maps(be, op, u, n, oh, ow, error))
    return FALSE;
  if (box == NULL || (prob == NULL) == (gray == NULL))
    return fail(error, op, "boxes missing, or not one kind of host output (floats or bytes)");
  uint64_t total = 0;
  for (int m = 0; m < n; m++) {
    const int32_t *b = box + 4 * m; /* x, y, w, h */
    if (b[0] < 0 || b[1] < 0 || b[2] < 1 || b[3] < 1 || b[2] > ow - b[0] || b[3] > oh - b[1])
      return fail(error, op, "box %d (%d, %d, %dx%d) not inside %dx%d", m, b[0], b[1], b[2], b[3],
                  ow, oh);
    if ((prob ? (const void *)prob[m] : (const void *)gray[m]) == NULL)
      return fail(error, op, "box %d has no host output", m);
    total += (uint64_t)b[2] * (uint64_t)b[3];
  }
  be->bytes_down += total * (prob ? sizeof(float) : 1);
  return UFO_PROFILED(be, op, be->ops->mask_probs(be, u, n, oh, ow, box, prob, gray, error), error);
}

gboolean ufo_op_mask_semantic(UfoBackend *be, UfoView u, int n, int oh, int ow, const float *score,
                              const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                              uint16_t *labels, GError **error)
{
  const char *op = "mask_semantic";
  if (!have_op(be, op, be ? (const void *)be->ops->mask_semantic : NULL, error) ||
      !maps(be, op, u, n, oh, ow, error))
    return FALSE;
  if (score == NULL || slot_end == NULL || slot_class == NULL || labels == NULL)
    return fail(error, op, "scores, slots or host output missing");
  if (n_slots < 1 || n_slots > n)
    return fail(error, op, "%d slots for %d maps", n_slots, n);
  for (int k = 0; k < n_slots; k++) {
    /* a slot holds at least one map; classes ascend (ties go to the lowest class, seg §3.6) */
    const int32_t prev_end = k ? slot_end[k - 1] : 0, min_class = k ? slot_class[k - 1] + 1 : 0;
    if (slot_end[k] <= prev_end || slot_class[k] < min_class || slot_class[k] > 65535)
      return fail(error, op, "slot %d (end %d, class %d) out of order", k, slot_end[k],
                  slot_class[k]);
  }
  if (slot_end[n_slots - 1] != n)
    return fail(error, op, "slots end at map %d, not %d", slot_end[n_slots - 1], n);
  be->bytes_down += (uint64_t)oh * ow * sizeof(uint16_t);
  return UFO_PROFILED(
      be, op,
      be->ops->mask_semantic(be, u, n, oh, ow, score, slot_end, slot_class, n_slots, labels, error),
      error);
}
