/* gst/ helpers: YUV→RGB conversion (vs GStreamer's own GstVideoConverter and hand-computed
 * BT.601/BT.709 values), class filters and engine-result conversion. */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>

#include <math.h>
#include <string.h>

#include "ufoframe.h"
#include "ufomodelcache.h"
#include "uforesults.h"

/* Reference: GstVideoConverter with nearest chroma, no dithering. Returns max |diff|. */
static gint compare_with_gst(GstVideoFormat fmt, GstVideoColorMatrix matrix,
                             GstVideoColorRange range, gint w, gint h)
{
  GstVideoInfo in, out;
  gst_video_info_set_format(&in, fmt, w, h);
  in.colorimetry.matrix = matrix;
  in.colorimetry.range = range;
  gst_video_info_set_format(&out, GST_VIDEO_FORMAT_RGB, w, h);
  GstBuffer *yuv = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&in), NULL);
  GstBuffer *rgb = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&out), NULL);
  GstVideoFrame fin, fout;
  fail_unless(gst_video_frame_map(&fin, &in, yuv, GST_MAP_READWRITE));
  fail_unless(gst_video_frame_map(&fout, &out, rgb, GST_MAP_READWRITE));
  GRand *r = g_rand_new_with_seed(7);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&fin); p++) {
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA(&fin, p);
    gsize n = (gsize)GST_VIDEO_FRAME_PLANE_STRIDE(&fin, p) *
              GST_VIDEO_FRAME_COMP_HEIGHT(&fin, p == 0 ? 0 : 1);
    for (gsize i = 0; i < n; i++)
      d[i] = (guint8)g_rand_int_range(r, p == 0 ? 16 : 16, p == 0 ? 236 : 241);
  }
  g_rand_free(r);
  GstStructure *opts = gst_structure_new(
      "options", GST_VIDEO_CONVERTER_OPT_DITHER_METHOD, GST_TYPE_VIDEO_DITHER_METHOD,
      GST_VIDEO_DITHER_NONE, GST_VIDEO_CONVERTER_OPT_CHROMA_RESAMPLER_METHOD,
      GST_TYPE_VIDEO_RESAMPLER_METHOD, GST_VIDEO_RESAMPLER_METHOD_NEAREST,
      GST_VIDEO_CONVERTER_OPT_CHROMA_MODE, GST_TYPE_VIDEO_CHROMA_MODE, GST_VIDEO_CHROMA_MODE_NONE,
      NULL);
  GstVideoConverter *conv = gst_video_converter_new(&in, &out, opts);
  gst_video_converter_frame(conv, &fin, &fout);
  gst_video_converter_free(conv);

  GstUfoScratch scratch = {0};
  UfoImage img;
  GError *err = NULL;
  fail_unless(gst_ufo_frame_to_image(&fin, &scratch, &img, &err));
  fail_unless_equals_int(img.format, UFO_PIXEL_RGB);
  gint maxd = 0;
  for (gint y = 0; y < h; y++) {
    const guint8 *a = img.data + y * img.stride;
    const guint8 *b = (const guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&fout, 0) +
                      y * GST_VIDEO_FRAME_PLANE_STRIDE(&fout, 0);
    for (gint x = 0; x < 3 * w; x++)
      maxd = MAX(maxd, ABS((gint)a[x] - (gint)b[x]));
  }
  gst_ufo_scratch_clear(&scratch);
  gst_video_frame_unmap(&fin);
  gst_video_frame_unmap(&fout);
  gst_buffer_unref(yuv);
  gst_buffer_unref(rgb);
  return maxd;
}

GST_START_TEST(test_yuv_vs_gstreamer)
{
  const GstVideoFormat fmts[] = {GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12};
  const GstVideoColorMatrix mats[] = {GST_VIDEO_COLOR_MATRIX_BT601, GST_VIDEO_COLOR_MATRIX_BT709};
  const GstVideoColorRange ranges[] = {GST_VIDEO_COLOR_RANGE_16_235, GST_VIDEO_COLOR_RANGE_0_255};
  for (int f = 0; f < 2; f++)
    for (int m = 0; m < 2; m++)
      for (int r = 0; r < 2; r++) {
        gint d = compare_with_gst(fmts[f], mats[m], ranges[r], 38, 22);
        GST_INFO("%d/%d/%d max diff %d", f, m, r, d);
        /* GStreamer's integer matrix path rounds differently: within 2 levels */
        /* a sanity check against gross errors (swapped planes, wrong matrix): GStreamer 1.22's
         * integer path is itself up to 6 levels off the exact BT.601/709 formulas in limited
         * range (OpenCV and the float formula agree within 1, see test_yuv_opencv) */
        fail_unless(d <= 6, "format %d matrix %d range %d: max diff %d", f, m, r, d);
      }
}
GST_END_TEST;

/* OpenCV fixture (tests/gst/make_yuv_fixture.py): BT.601 limited range, within 1 level. */
GST_START_TEST(test_yuv_opencv)
{
  gchar *path = g_build_filename(TEST_GST_DATA_DIR, "yuv420_bt601.bin", NULL);
  gchar *data = NULL;
  gsize len = 0;
  fail_unless(g_file_get_contents(path, &data, &len, NULL),
              "%s missing: run python3 tests/gst/make_yuv_fixture.py", path);
  fail_unless(len > 12 && memcmp(data, "UFOYUV1\n", 8) == 0,
              "%s: bad magic; regenerate with tests/gst/make_yuv_fixture.py", path);
  const gint w = GUINT16_FROM_LE(*(guint16 *)(data + 8)),
             h = GUINT16_FROM_LE(*(guint16 *)(data + 10));
  const guint8 *y = (const guint8 *)data + 12, *u = y + w * h, *v = u + (w / 2) * (h / 2);
  const guint8 *ref_i420 = v + (w / 2) * (h / 2), *ref_nv12 = ref_i420 + w * h * 3;
  fail_unless_equals_int(len, 12 + w * h * 3 / 2 + 2 * w * h * 3);
  guint8 *rgb = g_malloc(w * h * 3), *uv = g_malloc(w * (h / 2));
  for (int i = 0; i < (w / 2) * (h / 2); i++) {
    uv[2 * i] = u[i];
    uv[2 * i + 1] = v[i];
  }
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 0)
      gst_ufo_yuv420_to_rgb(y, w, u, v, w / 2, 1, w, h, GST_VIDEO_COLOR_MATRIX_BT601,
                            GST_VIDEO_COLOR_RANGE_16_235, rgb, w * 3);
    else
      gst_ufo_yuv420_to_rgb(y, w, uv, uv + 1, w, 2, w, h, GST_VIDEO_COLOR_MATRIX_BT601,
                            GST_VIDEO_COLOR_RANGE_16_235, rgb, w * 3);
    const guint8 *ref = pass == 0 ? ref_i420 : ref_nv12;
    gint maxd = 0;
    for (int i = 0; i < w * h * 3; i++)
      maxd = MAX(maxd, ABS((gint)rgb[i] - (gint)ref[i]));
    fail_unless(maxd <= 1, "pass %d: max diff %d vs OpenCV", pass, maxd);
  }
  g_free(rgb);
  g_free(uv);
  g_free(data);
  g_free(path);
}
GST_END_TEST;

/* gst_ufo_frame_wrap hands I420/NV12 planes and the caps' colorimetry to the engine, which
 * converts them on its backend with the same integers as gst_ufo_frame_to_image: the engine's
 * results for the wrapped planes equal those for the converted RGB, bit for bit. */
GST_START_TEST(test_wrap_planar)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) model = ufo_model_new_random("tiny", 3, &err);
  fail_unless(model != NULL);
  UfoSessionOptions o = {UFO_DEVICE_CPU, 0, 1};
  g_autoptr(UfoSession) s = ufo_session_new(model, &o, &err);
  fail_unless(s != NULL);
  const GstVideoFormat fmts[] = {GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12};
  for (int f = 0; f < 2; f++)
    for (int full = 0; full < 2; full++) {
      GstVideoInfo in;
      gst_video_info_set_format(&in, fmts[f], 37, 23); /* odd: chroma rounds up */
      in.colorimetry.matrix = full ? GST_VIDEO_COLOR_MATRIX_BT709 : GST_VIDEO_COLOR_MATRIX_BT601;
      in.colorimetry.range = full ? GST_VIDEO_COLOR_RANGE_0_255 : GST_VIDEO_COLOR_RANGE_16_235;
      GstBuffer *yuv = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&in), NULL);
      GstVideoFrame fr;
      fail_unless(gst_video_frame_map(&fr, &in, yuv, GST_MAP_READWRITE));
      GRand *r = g_rand_new_with_seed(11 + f);
      for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&fr); p++) {
        guint8 *d = GST_VIDEO_FRAME_PLANE_DATA(&fr, p);
        gsize n = (gsize)GST_VIDEO_FRAME_PLANE_STRIDE(&fr, p) *
                  GST_VIDEO_FRAME_COMP_HEIGHT(&fr, p == 0 ? 0 : 1);
        for (gsize i = 0; i < n; i++)
          d[i] = (guint8)g_rand_int_range(r, 0, 256);
      }
      g_rand_free(r);
      UfoImage planar, rgb;
      GstUfoScratch scratch = {0};
      fail_unless(gst_ufo_frame_wrap(&fr, &planar, &err));
      fail_unless(gst_ufo_frame_to_image(&fr, &scratch, &rgb, &err));
      fail_unless_equals_int(planar.format, f == 0 ? UFO_PIXEL_I420 : UFO_PIXEL_NV12);
      fail_unless(planar.data == GST_VIDEO_FRAME_PLANE_DATA(&fr, 0)); /* borrowed, not copied */
      fail_unless(planar.planes[0] == GST_VIDEO_FRAME_PLANE_DATA(&fr, 1));
      fail_unless_equals_int(planar.matrix, full ? UFO_COLOR_MATRIX_BT709 : UFO_COLOR_MATRIX_BT601);
      fail_unless_equals_int(planar.range, full ? UFO_COLOR_RANGE_FULL : UFO_COLOR_RANGE_LIMITED);
      for (int t = 0; t < 2; t++) {
        UfoRequest req = UFO_REQUEST_INIT;
        req.task = t == 0 ? UFO_TASK_CAPTION : UFO_TASK_DETECTION;
        UfoResult *a = NULL, *b = NULL;
        fail_unless(ufo_session_run(s, &planar, &req, &a, &err));
        fail_unless(ufo_session_run(s, &rgb, &req, &b, &err));
        fail_unless_equals_int(a->n_objects, b->n_objects);
        if (t == 0)
          fail_unless_equals_string(a->caption, b->caption);
        for (int i = 0; i < a->n_objects; i++)
          fail_unless(a->objects[i].x1 == b->objects[i].x1 &&
                      a->objects[i].score == b->objects[i].score);
        ufo_result_free(a);
        ufo_result_free(b);
      }
      gst_ufo_scratch_clear(&scratch);
      gst_video_frame_unmap(&fr);
      gst_buffer_unref(yuv);
    }
}
GST_END_TEST;

GST_START_TEST(test_yuv_hand_values)
{
  /* 2x2 I420 image, one chroma sample */
  guint8 rgb[2 * 6];
  guint8 y[4] = {81, 235, 16, 126}, u = 90, v = 240;
  gst_ufo_yuv420_to_rgb(y, 2, &u, &v, 1, 1, 2, 2, GST_VIDEO_COLOR_MATRIX_BT601,
                        GST_VIDEO_COLOR_RANGE_16_235, rgb, 6);
  /* BT.601 limited: R = 1.16438*65 + 1.59603*112 = 254.4; G = 75.68 + 0.39176*38 - 0.81297*112
   * = -0.5; B = 75.68 - 2.01723*38 = -1.0 */
  fail_unless_equals_int(rgb[0], 254);
  fail_unless_equals_int(rgb[1], 0);
  fail_unless_equals_int(rgb[2], 0);
  /* Y=235 with the same chroma: 255 clipped red, G = 255.5-...: 1.16438*219 = 255.0 */
  fail_unless_equals_int(rgb[3], 255);
  /* G = 255.0 + 14.89 - 91.05 = 178.8 */
  fail_unless_equals_int(rgb[4], 179);

  guint8 y2[4] = {128, 128, 128, 128}, u2 = 128, v2 = 200;
  gst_ufo_yuv420_to_rgb(y2, 2, &u2, &v2, 1, 1, 2, 2, GST_VIDEO_COLOR_MATRIX_BT709,
                        GST_VIDEO_COLOR_RANGE_0_255, rgb, 6);
  /* BT.709 full: R = 128 + 1.5748*72 = 241.4; G = 128 - 0.46812*72 = 94.3; B = 128 */
  fail_unless_equals_int(rgb[0], 241);
  fail_unless_equals_int(rgb[1], 94);
  fail_unless_equals_int(rgb[2], 128);
}
GST_END_TEST;

GST_START_TEST(test_packed_borrowed)
{
  const GstVideoFormat fmts[] = {GST_VIDEO_FORMAT_RGB,  GST_VIDEO_FORMAT_BGR,
                                 GST_VIDEO_FORMAT_RGBA, GST_VIDEO_FORMAT_BGRA,
                                 GST_VIDEO_FORMAT_RGBx, GST_VIDEO_FORMAT_BGRx};
  const UfoPixelFormat want[] = {UFO_PIXEL_RGB,  UFO_PIXEL_BGR,  UFO_PIXEL_RGBA,
                                 UFO_PIXEL_BGRA, UFO_PIXEL_RGBX, UFO_PIXEL_BGRX};
  for (int i = 0; i < 6; i++) {
    GstVideoInfo info;
    gst_video_info_set_format(&info, fmts[i], 5, 3);
    GstBuffer *b = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
    GstVideoFrame f;
    gst_video_frame_map(&f, &info, b, GST_MAP_READ);
    GstUfoScratch scratch = {0};
    UfoImage img;
    fail_unless(gst_ufo_frame_to_image(&f, &scratch, &img, NULL));
    fail_unless_equals_int(img.format, want[i]);
    fail_unless(img.data == GST_VIDEO_FRAME_PLANE_DATA(&f, 0));
    fail_unless_equals_int(img.stride, GST_VIDEO_FRAME_PLANE_STRIDE(&f, 0));
    fail_unless(scratch.data == NULL);
    gst_video_frame_unmap(&f);
    gst_buffer_unref(b);
    fail_unless(gst_ufo_frame_format_supported(fmts[i]));
  }
  fail_if(gst_ufo_frame_format_supported(GST_VIDEO_FORMAT_YUY2));
}
GST_END_TEST;

GST_START_TEST(test_filter_parse)
{
  GstUfoFilter f;
  gst_ufo_filter_init(&f);
  GError *err = NULL;
  fail_unless(gst_ufo_filter_set_class_thresholds(&f, " person=0.5, car = 0.35,2=0.9", &err));
  fail_unless_equals_int(f.class_thresholds->len, 3);
  fail_unless(gst_ufo_filter_set_classes(&f, "person,2", &err));
  f.threshold = 0.2;
  fail_unless(gst_ufo_filter_accepts(&f, 0, "person", 0.5));
  fail_if(gst_ufo_filter_accepts(&f, 0, "person", 0.49));
  fail_if(gst_ufo_filter_accepts(&f, 1, "car", 0.99)); /* not in classes */
  fail_unless(gst_ufo_filter_accepts(&f, 2, "bike", 0.9));
  fail_if(gst_ufo_filter_accepts(&f, 2, "bike", 0.8));
  fail_unless(gst_ufo_filter_set_classes(&f, "", &err));
  fail_unless(f.classes == NULL);
  fail_unless(gst_ufo_filter_accepts(&f, 1, "car", 0.35));
  fail_if(gst_ufo_filter_accepts(&f, 1, "car", 0.34));
  fail_unless(gst_ufo_filter_accepts(&f, 7, "dog", 0.2)); /* global threshold */
  fail_if(gst_ufo_filter_accepts(&f, 7, "dog", 0.19));

  fail_if(gst_ufo_filter_set_class_thresholds(&f, "person", &err));
  fail_unless(g_strrstr(err->message, "person") != NULL);
  g_clear_error(&err);
  fail_if(gst_ufo_filter_set_class_thresholds(&f, "person=abc", &err));
  g_clear_error(&err);
  fail_if(gst_ufo_filter_set_class_thresholds(&f, "person=1.5", &err));
  g_clear_error(&err);
  fail_if(gst_ufo_filter_set_classes(&f, "a=0.3", &err));
  g_clear_error(&err);
  gst_ufo_filter_clear(&f);
}
GST_END_TEST;

GST_START_TEST(test_from_engine)
{
  float prob[8] = {0.f, 0.5f, 1.f, 0.25f, 1.2f, -0.1f, NAN, 0.75f};
  UfoMask mask = {.x = 3, .y = 4, .width = 4, .height = 2, .prob = prob};
  UfoObject objs[4] = {
      {0, "person", 0.30f, 1, 2, 11, 22, NULL},
      {1, "car", 0.90f, 0, 0, 5, 5, &mask},
      {0, "person", 0.60f, 2, 2, 4, 4, NULL},
      {2, "dog", 0.10f, 0, 0, 1, 1, NULL},
  };
  UfoResult r = {0};
  r.task = UFO_TASK_INSTANCE;
  r.n_objects = 4;
  r.objects = objs;
  GstUfoFilter f;
  gst_ufo_filter_init(&f);
  f.threshold = 0.2;
  f.max_detections = 2;
  GstUfoResults *res = gst_ufo_results_from_engine(&r, 40, 30, &f, NULL);
  GstBuffer *buf = gst_buffer_new();
  GstUfoMeta *m = gst_buffer_add_ufo_meta(buf, res, 1, "instance", TRUE, 0);
  /* dog below threshold; the best two of the rest, highest score first */
  fail_unless_equals_int(gst_ufo_meta_get_n_objects(m), 2);
  GstUfoObject o;
  gst_ufo_meta_get_object(m, 0, &o);
  fail_unless_equals_string(o.label, "car");
  fail_unless_equals_float(o.w, 5.f);
  gst_ufo_meta_get_object(m, 1, &o);
  fail_unless_equals_float(o.score, 0.60f);
  fail_unless_equals_float(o.x, 2.f);
  fail_unless_equals_float(o.w, 2.f);
  const guint8 *d;
  GstUfoRect rect;
  gint w, h, stride;
  fail_unless(gst_ufo_meta_get_mask(m, 0, &w, &h, &stride, &d, &rect));
  fail_unless_equals_int(w, 4);
  fail_unless_equals_int(h, 2);
  /* round(p * 255) with p clamped to 0..1: 0, 128 (127.5 rounds to even), 255, 64, 255, 0;
   * NaN as 0; 191.25 → 191 */
  const guint8 want[8] = {0, 128, 255, 64, 255, 0, 0, 191};
  for (int i = 0; i < 8; i++)
    fail_unless_equals_int(d[i], want[i]);
  fail_unless_equals_float(rect.x, 3.f);
  fail_unless_equals_float(rect.y, 4.f);
  fail_if(gst_ufo_meta_get_mask(m, 1, NULL, NULL, NULL, NULL, NULL));
  gst_buffer_unref(buf);
  gst_ufo_results_unref(res);

  /* a mask the engine made as bytes (UFO_MASK_GRAY8): taken over as it is (no copy: the
   * result no longer holds it), the same bytes in the metadata */
  UfoMask gmask = {.x = 1, .y = 2, .width = 3, .height = 1};
  gmask.gray = g_malloc(3);
  memcpy(gmask.gray, (const guint8[]){7, 128, 250}, 3);
  const guint8 *taken = gmask.gray;
  objs[1].mask = &gmask;
  res = gst_ufo_results_from_engine(&r, 40, 30, &f, NULL);
  fail_unless(gmask.gray == NULL);
  buf = gst_buffer_new();
  m = gst_buffer_add_ufo_meta(buf, res, 1, "instance", TRUE, 0);
  fail_unless(gst_ufo_meta_get_mask(m, 0, &w, &h, &stride, &d, &rect));
  fail_unless_equals_int(w, 3);
  fail_unless_equals_int(h, 1);
  fail_unless(d == taken);
  fail_unless(d[0] == 7 && d[1] == 128 && d[2] == 250);
  fail_unless_equals_float(rect.x, 1.f);
  gst_buffer_unref(buf);
  gst_ufo_results_unref(res);
  gst_ufo_filter_clear(&f);
}
GST_END_TEST;

GST_START_TEST(test_from_engine_semantic_and_caption)
{
  uint16_t labels[6] = {0, 1, 1, 299, 2, 0};
  const char *names300[300];
  for (int i = 0; i < 300; i++)
    names300[i] = i == 299 ? "last" : "c";
  UfoSemanticMap sem = {3, 2, labels, 300, names300};
  UfoResult r = {0};
  r.task = UFO_TASK_SEMANTIC;
  r.semantic = &sem;
  r.caption = "a b c";
  GstUfoFilter f;
  gst_ufo_filter_init(&f);
  GstUfoResults *res = gst_ufo_results_from_engine(&r, 3, 2, &f, "prompt");
  GstBuffer *buf = gst_buffer_new();
  GstUfoMeta *m = gst_buffer_add_ufo_meta(buf, res, 1, "semantic", TRUE, 0);
  GstVideoFormat fmt;
  const guint8 *d;
  guint n;
  const gchar *const *names;
  fail_unless(gst_ufo_meta_get_semantic_map(m, &fmt, NULL, NULL, NULL, &d, NULL, &n, &names));
  fail_unless_equals_int(fmt, GST_VIDEO_FORMAT_GRAY16_LE); /* 300 classes need 16 bits */
  fail_unless_equals_int(GUINT16_FROM_LE(((const guint16 *)d)[3]), 299);
  fail_unless_equals_int(n, 300);
  fail_unless_equals_string(names[299], "last");
  fail_unless_equals_string(gst_ufo_meta_get_caption(m), "a b c");
  fail_unless_equals_string(gst_ufo_meta_get_prompt(m), "prompt");
  gst_buffer_unref(buf);
  gst_ufo_results_unref(res);

  sem.n_classes = 3;
  res = gst_ufo_results_from_engine(&r, 3, 2, &f, NULL);
  buf = gst_buffer_new();
  m = gst_buffer_add_ufo_meta(buf, res, 1, "semantic", TRUE, 0);
  fail_unless(gst_ufo_meta_get_semantic_map(m, &fmt, NULL, NULL, NULL, &d, NULL, &n, NULL));
  fail_unless_equals_int(fmt, GST_VIDEO_FORMAT_GRAY8);
  fail_unless_equals_int(d[4], 2);
  fail_unless_equals_int(n, 3);
  gst_buffer_unref(buf);
  gst_ufo_results_unref(res);
}
GST_END_TEST;

GST_START_TEST(test_model_cache)
{
  GError *err = NULL;
  UfoModel *a = gst_ufo_model_cache_acquire("random:tiny", &err);
  fail_unless(a != NULL, "%s", err ? err->message : "");
  UfoModel *b = gst_ufo_model_cache_acquire("random:tiny", &err);
  UfoModel *c = gst_ufo_model_cache_acquire("random:tiny:1", &err);
  fail_unless(a == b); /* same spec: shared */
  fail_unless(a != c); /* other seed: another model */
  fail_unless_equals_int(gst_ufo_model_cache_size(), 2);
  gst_ufo_model_cache_release(a);
  fail_unless_equals_int(gst_ufo_model_cache_size(), 2); /* b still uses it */
  gst_ufo_model_cache_release(b);
  gst_ufo_model_cache_release(c);
  fail_unless_equals_int(gst_ufo_model_cache_size(), 0);

  fail_if(gst_ufo_model_cache_acquire("/nonexistent/m.safetensors", &err));
  fail_unless(g_error_matches(err, UFO_ERROR, UFO_ERROR_IO));
  fail_unless(strstr(err->message, "/nonexistent/m.safetensors") != NULL);
  g_clear_error(&err);
  fail_if(gst_ufo_model_cache_acquire("random:tiny:x", &err));
  fail_unless(strstr(err->message, "seed") != NULL);
  g_clear_error(&err);
  fail_if(gst_ufo_model_cache_acquire("random:nosuchconfig", &err));
  g_clear_error(&err);
  fail_unless_equals_int(gst_ufo_model_cache_size(), 0);
}
GST_END_TEST;

static Suite *convert_suite(void)
{
  Suite *s = suite_create("ufoconvert");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_yuv_vs_gstreamer);
  tcase_add_test(tc, test_yuv_opencv);
  tcase_add_test(tc, test_yuv_hand_values);
  tcase_add_test(tc, test_wrap_planar);
  tcase_add_test(tc, test_packed_borrowed);
  tcase_add_test(tc, test_filter_parse);
  tcase_add_test(tc, test_from_engine);
  tcase_add_test(tc, test_from_engine_semantic_and_caption);
  tcase_add_test(tc, test_model_cache);
  return s;
}

GST_CHECK_MAIN(convert);
