/* The largest connected region of a binary instance mask and its box (docs/elements.md "Instance
 * boxes"): the object a mask labels, without the stray fragments that widen mask2bbox boxes.
 * Labelled by runs: each row's runs of set pixels (found a 64-bit word at a time) are joined
 * with the runs of the row above that touch them (8-connectivity: overlapping or diagonal
 * neighbours), so the work grows with the number of runs, not of pixels. */
#include "mask_region.h"

#include <glib.h>

typedef struct {
  int y, xs, xe; /* row and inclusive columns, relative to the window */
  int parent;    /* union-find over run indices (raster order); the root is the smallest */
} Run;

static int uf_find(Run *r, int a)
{
  while (r[a].parent != a) {
    r[a].parent = r[r[a].parent].parent;
    a = r[a].parent;
  }
  return a;
}

static void uf_union(Run *r, int a, int b)
{
  a = uf_find(r, a), b = uf_find(r, b);
  if (a < b)
    r[b].parent = a;
  else if (b < a)
    r[a].parent = b;
}

/* The first x in [x, lim] whose bit is `set` in row, else lim + 1. */
static int next_bit(const uint64_t *row, int x, int lim, gboolean set)
{
  int w = x / 64;
  uint64_t v = (set ? row[w] : ~row[w]) & (~(uint64_t)0 << (x % 64));
  while (v == 0) {
    if (++w * 64 > lim)
      return lim + 1;
    v = set ? row[w] : ~row[w];
  }
  const int at = w * 64 + __builtin_ctzll(v);
  return at > lim ? lim + 1 : at;
}

gboolean ufo_mask_largest_region(const uint64_t *bits, int words, int x0, int y0, int x1, int y1,
                                 int box[4])
{
  if (x1 < x0 || y1 < y0)
    return FALSE;
  size_t cap = 1024, n = 0;
  Run *runs = g_try_new(Run, cap);
  if (!runs)
    return FALSE;
  size_t prev = 0, prev_end = 0; /* the previous row's runs: [prev, prev_end) */
  for (int y = y0; y <= y1; y++) {
    const uint64_t *row = bits + (size_t)y * words;
    const size_t first = n;
    size_t p = prev;
    for (int x = next_bit(row, x0, x1, TRUE); x <= x1;) {
      const int e = next_bit(row, x, x1, FALSE) - 1;
      if (n == cap) {
        Run *more = g_try_renew(Run, runs, cap * 2);
        if (!more) {
          g_free(runs);
          return FALSE;
        }
        runs = more, cap *= 2;
      }
      runs[n] = (Run){y - y0, x - x0, e - x0, (int)n};
      /* runs above that touch [x - 1, e + 1]: skip those ending before x - 1; every run from
       * there that starts at or before e + 1 touches (the last one may touch the next run too) */
      while (p < prev_end && runs[p].xe + x0 < x - 1)
        p++;
      for (size_t q = p; q < prev_end && runs[q].xs + x0 <= e + 1; q++)
        uf_union(runs, (int)n, (int)q);
      n++;
      x = e + 1 <= x1 ? next_bit(row, e + 1, x1, TRUE) : x1 + 1;
    }
    prev = first, prev_end = n;
  }
  if (n == 0) {
    g_free(runs);
    return FALSE;
  }
  /* area and box per root; a root is the component's first run in raster order, so the
   * smallest root among equal areas is the region whose first pixel comes first */
  int64_t *area = g_try_new0(int64_t, n);
  int *bx = g_try_new(int, 4 * n);
  if (!area || !bx) {
    g_free(area);
    g_free(bx);
    g_free(runs);
    return FALSE;
  }
  for (size_t i = 0; i < n; i++) {
    const int r = uf_find(runs, (int)i);
    if ((size_t)r == i)
      bx[4 * i] = INT32_MAX, bx[4 * i + 1] = INT32_MAX, bx[4 * i + 2] = -1, bx[4 * i + 3] = -1;
    area[r] += runs[i].xe - runs[i].xs + 1;
    bx[4 * r] = MIN(bx[4 * r], runs[i].xs), bx[4 * r + 1] = MIN(bx[4 * r + 1], runs[i].y);
    bx[4 * r + 2] = MAX(bx[4 * r + 2], runs[i].xe), bx[4 * r + 3] = MAX(bx[4 * r + 3], runs[i].y);
  }
  size_t best = 0;
  for (size_t r = 1; r < n; r++)
    if (area[r] > area[best])
      best = r;
  box[0] = x0 + bx[4 * best], box[1] = y0 + bx[4 * best + 1];
  box[2] = x0 + bx[4 * best + 2], box[3] = y0 + bx[4 * best + 3];
  g_free(area);
  g_free(bx);
  g_free(runs);
  return TRUE;
}
