/* The synthetic test image of docs/reference.md (header-only, for the C tests): the tools' one
 * definition. */
#ifndef UFO_TESTS_SYNTHETIC_IMAGE_H
#define UFO_TESTS_SYNTHETIC_IMAGE_H

#include "../../tools/common/synthetic_rgb.h"

/* w x h RGB pixels, row-major (g_free) */
static inline uint8_t *ufo_test_synthetic_rgb(int w, int h)
{
  return ufo_synthetic_rgb(w, h);
}

#endif
