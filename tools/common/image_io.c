#include "image_io.h"
#include "synthetic_rgb.h"

#include <gdk-pixbuf/gdk-pixbuf.h>

gboolean tool_image_load(const char *path, ToolImage *out, GError **error)
{
  GdkPixbuf *pb = gdk_pixbuf_new_from_file(path, error);
  if (!pb)
    return FALSE;
  /* Apply the EXIF orientation as current OpenCV does (inference spec §9.10). */
  GdkPixbuf *oriented = gdk_pixbuf_apply_embedded_orientation(pb);
  g_object_unref(pb);
  if (gdk_pixbuf_get_colorspace(oriented) != GDK_COLORSPACE_RGB ||
      gdk_pixbuf_get_bits_per_sample(oriented) != 8) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED, "%s: only 8-bit RGB images are supported",
                path);
    g_object_unref(oriented);
    return FALSE;
  }
  out->owner = oriented;
  out->image = (UfoImage){0};
  out->image.format = gdk_pixbuf_get_has_alpha(oriented) ? UFO_PIXEL_RGBA : UFO_PIXEL_RGB;
  out->image.width = gdk_pixbuf_get_width(oriented);
  out->image.height = gdk_pixbuf_get_height(oriented);
  out->image.stride = gdk_pixbuf_get_rowstride(oriented);
  out->image.data = gdk_pixbuf_read_pixels(oriented);
  return TRUE;
}

void tool_image_synthetic(int w, int h, ToolImage *out)
{
  uint8_t *px = ufo_synthetic_rgb(w, h);
  out->owner = NULL;
  out->image = (UfoImage){0};
  out->image.format = UFO_PIXEL_RGB;
  out->image.width = w;
  out->image.height = h;
  out->image.stride = (size_t)w * 3;
  out->image.data = px;
}

void tool_image_clear(ToolImage *img)
{
  if (img->owner)
    g_object_unref(img->owner);
  else
    g_free((void *)img->image.data);
  img->owner = NULL;
  img->image.data = NULL;
}
