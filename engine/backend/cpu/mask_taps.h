/* Bilinear taps of a mask resize (seg §2.8) for every output row and column, shared by the CPU
 * mask ops (cpu/masks.c, cpu/mask_semantic.c). */
#ifndef UFO_CPU_MASK_TAPS_H
#define UFO_CPU_MASK_TAPS_H

#include "../mask_math.h"

#include <glib.h>

/* Taps of every output row and column (seg §2.8), shared by the workers; x_from[c] / x_to[c]:
 * the first output column whose right tap is >= c, the last whose left tap is <= c (the output
 * columns that read source column c or a later / an earlier one; taps grow with x). */
typedef struct {
  UfoBilinearTap *ty, *tx;
  int *x_from, *x_to;
} Taps;

static inline void taps_make(Taps *t, int uh, int uw, int oh, int ow)
{
  t->ty = g_new(UfoBilinearTap, oh);
  t->tx = g_new(UfoBilinearTap, ow);
  t->x_from = g_new(int, uw);
  t->x_to = g_new(int, uw);
  for (int y = 0; y < oh; y++)
    t->ty[y] = ufo_bilinear_tap(uh, oh, y);
  for (int x = 0; x < ow; x++)
    t->tx[x] = ufo_bilinear_tap(uw, ow, x);
  for (int c = 0, x = 0; c < uw; c++) {
    while (x < ow && t->tx[x].i1 < c)
      x++;
    t->x_from[c] = x;
  }
  for (int c = uw - 1, x = ow - 1; c >= 0; c--) {
    while (x >= 0 && t->tx[x].i0 > c)
      x--;
    t->x_to[c] = x;
  }
}

static inline void taps_free(Taps *t)
{
  g_free(t->ty);
  g_free(t->tx);
  g_free(t->x_from);
  g_free(t->x_to);
}

#endif
