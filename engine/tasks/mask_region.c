/* The largest connected region of a binary instance mask and its box (docs/elements.md "Instance
 * boxes"): the object a mask labels, without the stray fragments that widen mask2bbox boxes. */
#include "mask_region.h"

#include <glib.h>

/* union-find over provisional labels; the root is always the smaller label */
static int uf_find(int *parent, int a)
{
  while (parent[a] != a) {
    parent[a] = parent[parent[a]];
    a = parent[a];
  }
  return a;
}

static void uf_union(int *parent, int a, int b)
{
  a = uf_find(parent, a), b = uf_find(parent, b);
  if (a < b)
    parent[b] = a;
  else if (b < a)
    parent[a] = b;
}

static gboolean bit_at(const uint64_t *bits, int words, int x, int y)
{
  return (bits[(size_t)y * words + x / 64] >> (x % 64)) & 1u;
}

gboolean ufo_mask_largest_region(const uint64_t *bits, int words, int x0, int y0, int x1, int y1,
                                 int box[4])
{
  if (x1 < x0 || y1 < y0)
    return FALSE;
  const int w = x1 - x0 + 1, h = y1 - y0 + 1;
  int *lab = g_try_new(int, (size_t)w *h);
  /* two new labels in one row have a background pixel between them: at most (w + 1) / 2 per
   * row, +1 for the unused label 0 */
  int *parent = g_try_new(int, (size_t)h *((w + 1) / 2) + 1);
  if (!lab || !parent) {
    g_free(lab);
    g_free(parent);
    return FALSE;
  }
  /* first pass in raster order, 8-connectivity: W, NW, N, NE neighbours are already labelled */
  int next = 1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      int *l = &lab[(size_t)y * w + x];
      *l = 0;
      if (!bit_at(bits, words, x0 + x, y0 + y))
        continue;
      const int nb[4] = {x > 0 ? l[-1] : 0, y > 0 && x > 0 ? l[-w - 1] : 0, y > 0 ? l[-w] : 0,
                         y > 0 && x + 1 < w ? l[-w + 1] : 0};
      for (int k = 0; k < 4; k++)
        if (nb[k] && (*l == 0 || nb[k] < *l))
          *l = nb[k];
      if (*l == 0) {
        parent[next] = next;
        *l = next++;
      }
      for (int k = 0; k < 4; k++)
        if (nb[k])
          uf_union(parent, *l, nb[k]);
    }
  /* second pass: area and box per root; roots are numbered in raster order of first pixels */
  int64_t *area = g_new0(int64_t, next);
  int *bx = g_new(int, 4 * (size_t)next);
  for (int i = 0; i < next; i++)
    bx[4 * i] = INT32_MAX, bx[4 * i + 1] = INT32_MAX, bx[4 * i + 2] = -1, bx[4 * i + 3] = -1;
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++) {
      const int l = lab[(size_t)y * w + x];
      if (!l)
        continue;
      const int r = uf_find(parent, l);
      area[r]++;
      bx[4 * r] = MIN(bx[4 * r], x), bx[4 * r + 1] = MIN(bx[4 * r + 1], y);
      bx[4 * r + 2] = MAX(bx[4 * r + 2], x), bx[4 * r + 3] = MAX(bx[4 * r + 3], y);
    }
  /* the largest area; ties: the region whose first pixel comes first in raster order (the
   * smallest root, as cv2.connectedComponentsWithStats numbers them) */
  int best = 0;
  for (int r = 1; r < next; r++)
    if (area[r] > area[best])
      best = r;
  const gboolean found = best > 0;
  if (found) {
    box[0] = x0 + bx[4 * best], box[1] = y0 + bx[4 * best + 1];
    box[2] = x0 + bx[4 * best + 2], box[3] = y0 + bx[4 * best + 3];
  }
  g_free(area);
  g_free(bx);
  g_free(lab);
  g_free(parent);
  return found;
}
