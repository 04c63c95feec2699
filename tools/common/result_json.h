/* UfoResult → JSON (the ufo-infer output; the same layout as tools/reference/ufo_ref.py). */
#ifndef UFO_TOOLS_RESULT_JSON_H
#define UFO_TOOLS_RESULT_JSON_H

#include "ufo/ufo.h"

/* Caller frees. mask_threshold: probability above which a mask pixel is foreground (strict). */
char *tool_result_to_json(const UfoResult *res, int width, int height, float mask_threshold,
                          gboolean pretty);

#endif
