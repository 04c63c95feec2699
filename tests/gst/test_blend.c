/* gst_ufo_blend_argb (gst/ufoblend.c) against GStreamer's own overlay blend
 * (gst_video_overlay_composition_blend, one premultiplied rectangle): the same bytes in every
 * format it takes, for blocks of random premultiplied
 * pixels (a third transparent, the rest of every alpha) at even and odd places, clipped by the
 * frame's right and bottom edges; and FALSE, with the frame untouched, for a format it leaves to
 * GStreamer. */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <string.h>

#include "ufoblend.h"

/* a (w, h) block of premultiplied cairo ARGB32 pixels */
static guint8 *random_block(GRand *rng, gint w, gint h)
{
  guint32 *px = g_new(guint32, (gsize)w * h);
  for (gint i = 0; i < w * h; i++) {
    const guint a = g_rand_int_range(rng, 0, 3) == 0 ? 0 : g_rand_int_range(rng, 1, 256);
    const guint r = a ? g_rand_int_range(rng, 0, a + 1) : 0,
                g = a ? g_rand_int_range(rng, 0, a + 1) : 0,
                b = a ? g_rand_int_range(rng, 0, a + 1) : 0;
    px[i] = a << 24 | r << 16 | g << 8 | b;
  }
  for (gint i = 0; i < w * h; i++) /* runs of one colour, as masks and class maps have */
    if (i % 7 < 3 && i > 0)
      px[i] = px[i - 1];
  return (guint8 *)px;
}

static GstBuffer *random_frame(GRand *rng, const GstVideoInfo *info)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(info), NULL);
  GstMapInfo m;
  gst_buffer_map(buf, &m, GST_MAP_WRITE);
  for (gsize i = 0; i < m.size; i++)
    m.data[i] = (guint8)g_rand_int(rng);
  gst_buffer_unmap(buf, &m);
  gst_buffer_add_video_meta_full(buf, GST_VIDEO_FRAME_FLAG_NONE, GST_VIDEO_INFO_FORMAT(info),
                                 GST_VIDEO_INFO_WIDTH(info), GST_VIDEO_INFO_HEIGHT(info),
                                 GST_VIDEO_INFO_N_PLANES(info), (gsize *)info->offset,
                                 (gint *)info->stride);
  return buf;
}

/* GStreamer's blend of the block as one premultiplied rectangle at (x, y) */
static void gst_blend(GstBuffer *frame, const GstVideoInfo *info, const guint8 *block, gint w,
                      gint h, gint x, gint y)
{
  GstBuffer *pix = gst_buffer_new_memdup(block, (gsize)w * h * 4);
  gst_buffer_add_video_meta(pix, GST_VIDEO_FRAME_FLAG_NONE,
                            GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, w, h);
  GstVideoOverlayRectangle *rect = gst_video_overlay_rectangle_new_raw(
      pix, x, y, w, h, GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
  gst_buffer_unref(pix);
  GstVideoOverlayComposition *comp = gst_video_overlay_composition_new(rect);
  gst_video_overlay_rectangle_unref(rect);
  GstVideoFrame vf;
  fail_unless(gst_video_frame_map(&vf, info, frame, GST_MAP_READWRITE));
  fail_unless(gst_video_overlay_composition_blend(comp, &vf));
  gst_video_frame_unmap(&vf);
  gst_video_overlay_composition_unref(comp);
}

GST_START_TEST(test_blend_as_gstreamer)
{
  const gchar *formats[] = {"I420", "YV12", "NV12", "NV21", "RGB", "BGR"};
  const gint sizes[][2] = {{64, 48}, {37, 23}};
  /* blocks (w, h) at (x, y): inside, at odd places, past the right and bottom edges */
  const gint places[][4] = {{0, 0, 20, 10}, {3, 5, 17, 9}, {10, 7, 60, 50}, {1, 1, 1, 1}};
  GRand *rng = g_rand_new_with_seed(11);
  for (guint f = 0; f < G_N_ELEMENTS(formats); f++)
    for (guint s = 0; s < G_N_ELEMENTS(sizes); s++)
      for (guint p = 0; p < G_N_ELEMENTS(places); p++) {
        GstVideoInfo info;
        gst_video_info_set_format(&info, gst_video_format_from_string(formats[f]), sizes[s][0],
                                  sizes[s][1]);
        const gint x = places[p][0], y = places[p][1], w = places[p][2], h = places[p][3];
        g_autofree guint8 *block = random_block(rng, w, h);
        GstBuffer *ours = random_frame(rng, &info), *theirs = gst_buffer_copy_deep(ours);
        GstVideoFrame vf;
        fail_unless(gst_video_frame_map(&vf, &info, ours, GST_MAP_READWRITE));
        fail_unless(gst_ufo_blend_argb(&vf, block, w * 4, x, y, w, h), "%s", formats[f]);
        gst_video_frame_unmap(&vf);
        gst_blend(theirs, &info, block, w, h, x, y);
        GstMapInfo a, b;
        gst_buffer_map(ours, &a, GST_MAP_READ);
        gst_buffer_map(theirs, &b, GST_MAP_READ);
        gsize diff = 0, first = 0;
        for (gsize i = 0; i < a.size; i++)
          if (a.data[i] != b.data[i] && !diff++)
            first = i;
        fail_unless(diff == 0, "%s %dx%d, block %dx%d at (%d, %d): %zu bytes differ (first %zu)",
                    formats[f], sizes[s][0], sizes[s][1], w, h, x, y, diff, first);
        gst_buffer_unmap(ours, &a);
        gst_buffer_unmap(theirs, &b);
        gst_buffer_unref(ours);
        gst_buffer_unref(theirs);
      }
  g_rand_free(rng);
}
GST_END_TEST;

GST_START_TEST(test_blend_other_formats)
{
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_BGRx, 16, 8);
  GRand *rng = g_rand_new_with_seed(3);
  g_autofree guint8 *block = random_block(rng, 8, 4);
  GstBuffer *frame = random_frame(rng, &info), *ref = gst_buffer_copy_deep(frame);
  GstVideoFrame vf;
  fail_unless(gst_video_frame_map(&vf, &info, frame, GST_MAP_READWRITE));
  fail_if(gst_ufo_blend_argb(&vf, block, 8 * 4, 2, 2, 8, 4));
  gst_video_frame_unmap(&vf);
  GstMapInfo a, b;
  gst_buffer_map(frame, &a, GST_MAP_READ);
  gst_buffer_map(ref, &b, GST_MAP_READ);
  fail_unless(memcmp(a.data, b.data, a.size) == 0);
  gst_buffer_unmap(frame, &a);
  gst_buffer_unmap(ref, &b);
  gst_buffer_unref(frame);
  gst_buffer_unref(ref);
  g_rand_free(rng);
}
GST_END_TEST;

static Suite *blend_suite(void)
{
  Suite *s = suite_create("ufoblend");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_blend_as_gstreamer);
  tcase_add_test(tc, test_blend_other_formats);
  return s;
}

GST_CHECK_MAIN(blend);
