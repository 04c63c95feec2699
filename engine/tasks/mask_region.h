/* The largest connected region of a binary mask (mask_region.c). */
#pragma once

#include <stdint.h>

#include <glib.h>

/* bits: (rows, words) row-major bitset, bit x of row y = bits[y * words + x / 64] >> (x % 64).
 * Looks only inside the inclusive window [x0, x1] × [y0, y1] (the mask's tight box). Labels the
 * set pixels in 8-connected regions and writes the inclusive box (x_min, y_min, x_max, y_max) of
 * the largest one; on equal areas, of the one whose first pixel comes first in raster order.
 * FALSE when the window holds no set pixel or memory runs out. */
gboolean ufo_mask_largest_region(const uint64_t *bits, int words, int x0, int y0, int x1, int y1,
                                 int box[4]);
