/* Draws a UfoResult over its image with the overlay library and writes a PNG (ufo-infer --draw). */
#ifndef UFO_TOOLS_DRAW_RESULT_H
#define UFO_TOOLS_DRAW_RESULT_H

#include "ufo/ufo.h"

gboolean tool_draw_result_png(const UfoImage *image, const UfoResult *res, float mask_threshold,
                              const char *path, GError **error);

#endif
