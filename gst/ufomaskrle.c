/* COCO run-length encodings of instance masks (ufomaskrle.h). */
#include "ufomaskrle.h"

#include <string.h>

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

/* The runs being written: the current one's value and length. */
typedef struct {
  GArray *counts;
  gboolean value; /* the runs start with 0s */
  guint32 run;
} Runs;

static void emit(Runs *r, gboolean value, guint32 n)
{
  if (n == 0)
    return;
  if (value != r->value) {
    g_array_append_val(r->counts, r->run);
    r->run = 0;
    r->value = value;
  }
  r->run += n;
}

/* Records (or, when tr is NULL, only counts in n) the frame rows at which each mask column's value
 * changes, walking the mask rows as the frame rows y0..y1 meet them (row[y]: non-decreasing):
 * a column's k-th change (from outside, alternately) at frame row tr[start[mx] + k]; the last
 * change back to outside at y1 + 1. Rows are compared 8 columns at a time (most columns never
 * change from one row to the next). */
static void column_changes(const guint8 *data, gint mw, gint stride, const gint *row, gint y0,
                           gint y1, guint inside_from, guint8 *prev, guint8 *cur, guint32 *n,
                           const guint32 *start, guint32 *tr)
{
  const gint words = (mw + 7) / 8;
  memset(prev, 0, (gsize)words * 8);
  memset(cur, 0, (gsize)words * 8);
  for (gint y = y0; y <= y1 + 1; y++) {
    if (y <= y1 && y > y0 && row[y] == row[y - 1])
      continue; /* the same mask row: no change */
    if (y <= y1 && inside_from <= 255) {
      const guint8 *src = data + (gsize)row[y] * stride, from = (guint8)inside_from;
      for (gint x = 0; x < mw; x++) /* byte compares, 64 a vector */
        cur[x] = src[x] >= from;
    } else {
      memset(cur, 0, (gsize)mw); /* below the mask (or nothing inside): outside */
    }
    for (gint w = 0; w < words; w++) {
      guint64 a, b;
      memcpy(&a, cur + 8 * w, 8);
      memcpy(&b, prev + 8 * w, 8);
      for (guint64 d = a ^ b; d; d &= d - 1) { /* bytes of 0 or 1: one bit per changed column */
        const gint mx = 8 * w + __builtin_ctzll(d) / 8;
        if (tr)
          tr[start[mx] + n[mx]] = (guint32)y;
        n[mx]++;
      }
    }
    guint8 *t = prev;
    prev = cur;
    cur = t;
  }
}

GArray *ufo_mask_rle_counts(const guint8 *data, gint mw, gint mh, gint stride,
                            const GstUfoRect *rect, gint fw, gint fh, guint inside_from)
{
  Runs r = {g_array_new(FALSE, FALSE, sizeof(guint32)), FALSE, 0};
  /* the mask row of every frame row (-1: off the mask); those on it are y0..y1 */
  gint *row = g_new(gint, MAX(fh, 1)), y0 = -1, y1 = -2;
  for (gint y = 0; y < fh; y++) {
    row[y] = data ? mask_index(y, rect->y, rect->h, mh) : -1;
    if (row[y] >= 0)
      y0 = y0 < 0 ? y : y0, y1 = y;
  }
  guint32 *n = NULL, *start = NULL, *tr = NULL;
  if (y0 >= 0 && mw > 0) {
    const gsize padded = (gsize)(mw + 7) / 8 * 8;
    guint8 *prev = g_malloc(2 * padded), *cur = prev + padded;
    n = g_new0(guint32, mw), start = g_new(guint32, (gsize)mw + 1);
    column_changes(data, mw, stride, row, y0, y1, inside_from, prev, cur, n, NULL, NULL);
    start[0] = 0;
    for (gint x = 0; x < mw; x++)
      start[x + 1] = start[x] + n[x];
    tr = g_new(guint32, MAX(start[mw], 1));
    memset(n, 0, sizeof(guint32) * mw);
    column_changes(data, mw, stride, row, y0, y1, inside_from, prev, cur, n, start, tr);
    g_free(prev);
  }
  for (gint x = 0; x < fw; x++) {
    const gint mx = tr ? mask_index(x, rect->x, rect->w, mw) : -1;
    if (mx < 0) { /* a column off the mask: all 0s */
      emit(&r, FALSE, (guint32)fh);
      continue;
    }
    guint32 at = 0;
    gboolean value = FALSE;
    for (guint32 k = start[mx]; k < start[mx + 1]; k++) {
      emit(&r, value, tr[k] - at);
      at = tr[k];
      value = !value;
    }
    emit(&r, FALSE, (guint32)fh - at);
  }
  g_array_append_val(r.counts, r.run);
  g_free(row);
  g_free(n);
  g_free(start);
  g_free(tr);
  return r.counts;
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
