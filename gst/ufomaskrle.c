/* COCO run-length encodings of instance masks (ufomaskrle.h). */
#include "ufomaskrle.h"

guint ufo_mask_rle_inside_from(gdouble threshold)
{
  const gdouble v = (threshold >= 0.0 ? MIN(threshold, 1.0) : 0.0) * 255.0; /* NaN: 0 */
  const guint c = (guint)v;
  return c < v ? c + 1 : c; /* the ceiling, without libm */
}

/* The mask index of frame pixel p (centre p + 0.5) on an axis where the mask's n pixels span
 * [r0, r0 + len): floor((p + 0.5 - r0) · n / len), -1 off the mask */
static gint mask_index(gint p, gdouble r0, gdouble len, gint n)
{
  const gdouble t = (p + 0.5 - r0) * n / len;
  if (!(len > 0) || !(t >= 0) || t >= n) /* NaN too */
    return -1;
  return (gint)t;
}

static void push_run(GArray *counts, gboolean *value, guint32 *run, gboolean inside)
{
  if (inside != *value) {
    g_array_append_val(counts, *run);
    *run = 0;
    *value = inside;
  }
  (*run)++;
}

GArray *ufo_mask_rle_counts(const guint8 *data, gint mw, gint mh, gint stride,
                            const GstUfoRect *rect, gint fw, gint fh, guint inside_from)
{
  GArray *counts = g_array_new(FALSE, FALSE, sizeof(guint32));
  /* the mask row of every frame row (-1: off the mask) */
  gint *row = g_new(gint, MAX(fh, 1));
  for (gint y = 0; y < fh; y++)
    row[y] = data ? mask_index(y, rect->y, rect->h, mh) : -1;
  gboolean value = FALSE; /* the runs start with 0s */
  guint32 run = 0;
  for (gint x = 0; x < fw; x++) {
    const gint mx = data ? mask_index(x, rect->x, rect->w, mw) : -1;
    if (mx < 0) { /* a column off the mask: all 0s */
      if (value) {
        g_array_append_val(counts, run);
        run = 0;
        value = FALSE;
      }
      run += (guint32)fh;
      continue;
    }
    for (gint y = 0; y < fh; y++)
      push_run(counts, &value, &run,
               row[y] >= 0 && data[(gsize)row[y] * stride + mx] >= inside_from);
  }
  g_array_append_val(counts, run);
  g_free(row);
  return counts;
}

/* A class's runs while the frame is walked: it toggles at every pixel where the walk enters or
 * leaves it (0s first). */
typedef struct {
  gboolean seen;
  guint64 last; /* the pixel index where its current run began */
  GArray *counts;
} ClassRuns;

static void class_toggle(ClassRuns *c, guint64 at)
{
  if (!c->counts)
    c->counts = g_array_new(FALSE, FALSE, sizeof(guint32));
  const guint32 run = (guint32)(at - c->last);
  g_array_append_val(c->counts, run);
  c->last = at;
}

GArray *ufo_class_rle(const guint8 *data, gboolean gray16, gint mw, gint mh, gint stride,
                      const GstUfoRect *rect, gint fw, gint fh)
{
  const guint n_ids = gray16 ? 65536 : 256;
  ClassRuns *runs = g_new0(ClassRuns, n_ids);
  gint *row = g_new(gint, MAX(fh, 1));
  for (gint y = 0; y < fh; y++)
    row[y] = mask_index(y, rect->y, rect->h, mh);
  gint prev = -1; /* the class of the previous pixel, -1: none */
  guint64 i = 0;  /* column-major pixel index */
  for (gint x = 0; x < fw; x++) {
    const gint mx = mask_index(x, rect->x, rect->w, mw);
    for (gint y = 0; y < fh; y++, i++) {
      gint id = -1;
      if (mx >= 0 && row[y] >= 0) {
        const guint8 *p = data + (gsize)row[y] * stride + (gsize)mx * (gray16 ? 2 : 1);
        id = gray16 ? (gint)(p[0] | p[1] << 8) : (gint)p[0];
      }
      if (id == prev)
        continue;
      if (prev >= 0) /* prev's run of 1s ends */
        class_toggle(&runs[prev], i);
      if (id >= 0) { /* id's run of 0s ends */
        class_toggle(&runs[id], i);
        runs[id].seen = TRUE;
      }
      prev = id;
    }
  }
  GArray *out = g_array_new(FALSE, FALSE, sizeof(UfoClassRle));
  for (guint id = 0; id < n_ids; id++) {
    ClassRuns *c = &runs[id];
    if (!c->seen)
      continue;
    class_toggle(c, i); /* the last run, to the end of the frame */
    UfoClassRle cr = {id, 0, c->counts};
    for (guint k = 1; k < c->counts->len; k += 2)
      cr.area += g_array_index(c->counts, guint32, k);
    g_array_append_val(out, cr);
  }
  g_free(row);
  g_free(runs);
  return out;
}

void ufo_class_rle_free(GArray *classes)
{
  for (guint k = 0; classes && k < classes->len; k++)
    g_array_unref(g_array_index(classes, UfoClassRle, k).counts);
  if (classes)
    g_array_unref(classes);
}

void ufo_mask_rle_append_string(GString *s, const GArray *counts)
{
  const guint32 *c = (const guint32 *)counts->data;
  for (guint i = 0; i < counts->len; i++) {
    gint64 x = (gint64)c[i] - (i > 2 ? (gint64)c[i - 2] : 0);
    for (gboolean more = TRUE; more;) {
      gint ch = (gint)(x & 0x1f);
      x >>= 5; /* arithmetic: a negative delta ends in -1 */
      more = (ch & 0x10) ? x != -1 : x != 0;
      if (more)
        ch |= 0x20;
      g_string_append_c(s, (gchar)(ch + 48));
    }
  }
}
