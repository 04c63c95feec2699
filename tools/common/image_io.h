/* Image loading for the command-line tools (GdkPixbuf: PNG, JPEG, ...). */
#ifndef UFO_TOOLS_IMAGE_IO_H
#define UFO_TOOLS_IMAGE_IO_H

#include "ufo/ufo.h"

typedef struct {
  UfoImage image;
  void *owner; /* GdkPixbuf */
} ToolImage;

gboolean tool_image_load(const char *path, ToolImage *out, GError **error);
/* The synthetic test image of docs/reference.md, RGB, at w x h. */
void tool_image_synthetic(int w, int h, ToolImage *out);
void tool_image_clear(ToolImage *img);

#endif
