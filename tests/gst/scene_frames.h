/* Frames with objects for the demo model, and a frame's results as text (header-only; the
 * element tests that compare streams bit for bit: batching, in_flight). */
#ifndef GST_UFO_TEST_SCENE_FRAMES_H
#define GST_UFO_TEST_SCENE_FRAMES_H

#include <gst/check/gstcheck.h>
#include <gst/ufo/ufometa.h>
#include <string.h>

/* frame k of stream s, width x height RGB: shapes in bright colours on a dark gradient (the demo
 * model's scenes); PTS k/10 s */
static inline GstBuffer *ufo_test_scene(int s, int k, int width, int height)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, (gsize)width * height * 3, NULL);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  const int r = 22 + 3 * s + k;
  const int cx[3] = {60 + 25 * k, 160 + 9 * s, 250 - 17 * k},
            cy[3] = {70 + 11 * s, 160, 90 + 8 * k};
  static const guint8 col[4][3] = {{230, 40, 40}, {40, 220, 60}, {50, 80, 240}, {240, 220, 40}};
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++) {
      guint8 *p = map.data + ((gsize)y * width + x) * 3;
      p[0] = (guint8)(20 + x * 40 / width);
      p[1] = (guint8)(25 + y * 30 / height);
      p[2] = (guint8)(30 + 5 * s);
      for (int i = 0; i < 3; i++) {
        const int dx = x - cx[i], dy = y - cy[i];
        const gboolean in = i == 0   ? dx * dx + dy * dy < r * r
                            : i == 1 ? ABS(dx) < r && ABS(dy) < r
                                     : ABS(dx) + ABS(dy) < r;
        if (in)
          memcpy(p, col[(i + k + s) % 4], 3);
      }
    }
  gst_buffer_unmap(buf, &map);
  GST_BUFFER_PTS(buf) = (GstClockTime)k * GST_SECOND / 10;
  GST_BUFFER_DURATION(buf) = GST_SECOND / 10;
  return buf;
}

/* every object of a frame as text, floats bit for bit (%a) */
static inline gchar *ufo_test_describe(GstBuffer *buf)
{
  GstUfoMeta *meta = gst_buffer_get_ufo_meta(buf);
  fail_unless(meta != NULL);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < gst_ufo_meta_get_n_objects(meta); i++) {
    GstUfoObject o;
    fail_unless(gst_ufo_meta_get_object(meta, i, &o));
    g_string_append_printf(s, "%d %s %a %a %a %a %a", o.label_id, o.label, o.score, o.x, o.y, o.w,
                           o.h);
    gint w, h, stride;
    const guint8 *data;
    GstUfoRect rect;
    if (gst_ufo_meta_get_mask(meta, i, &w, &h, &stride, &data, &rect)) {
      /* the mask: its placement and a checksum of its rows */
      GChecksum *sum = g_checksum_new(G_CHECKSUM_SHA1);
      for (gint y = 0; y < h; y++)
        g_checksum_update(sum, data + (gsize)y * stride, w);
      g_string_append_printf(s, " mask %dx%d %a %a %s", w, h, rect.x, rect.y,
                             g_checksum_get_string(sum));
      g_checksum_free(sum);
    }
    g_string_append_c(s, '\n');
  }
  return g_string_free(s, FALSE);
}

#endif
