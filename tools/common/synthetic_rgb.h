/* The synthetic image of docs/reference.md: w x h RGB pixels, row-major, from a fixed formula
 * (ufo-infer and ufo-bench without an image; the C tests, tests/common/synthetic_image.h).
 * Header-only, GLib only. */
#ifndef UFO_TOOLS_SYNTHETIC_RGB_H
#define UFO_TOOLS_SYNTHETIC_RGB_H

#include <glib.h>
#include <stdint.h>

/* (g_free) */
static inline uint8_t *ufo_synthetic_rgb(int w, int h)
{
  uint8_t *px = g_malloc((size_t)w * h * 3);
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        px[((size_t)y * w + x) * 3 + c] =
            (uint8_t)((x * (3 + c) + y * (5 + 2 * c) + ((x * y) >> 4) + 85 * c) & 255);
  return px;
}

#endif
