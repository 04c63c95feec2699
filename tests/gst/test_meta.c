/* gstreamer-ufo-1.0: GstUfoMeta building, reading, ROI metas, copy and scale transforms. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/ufo/ufoanalyticsmeta.h>
#include <gst/ufo/ufometa.h>

static GstUfoResults *make_results(void)
{
  GstUfoResults *r = gst_ufo_results_new(64, 48);
  gst_ufo_results_add_object(r, 0, "person", 0.9f, 10, 8, 20, 16);
  gst_ufo_results_add_object(r, 2, "car", 0.4f, -4, 40, 20, 16); /* crosses two edges */
  guint8 px[4 * 2] = {0, 255, 128, 7, 1, 2, 3, 4};
  GBytes *b = g_bytes_new(px, sizeof px);
  GstUfoRect rect = {10, 8, 20, 16};
  fail_unless(gst_ufo_results_set_mask(r, 0, b, 3, 2, 4, &rect));
  g_bytes_unref(b);
  return r;
}

GST_START_TEST(test_add_and_read)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 64 * 48 * 4, NULL);
  GstUfoResults *r = make_results();
  fail_unless(gst_ufo_results_set_caption(r, "two things"));
  GstUfoMeta *m = gst_buffer_add_ufo_meta(buf, r, 7, "instance", TRUE, 40 * GST_MSECOND);
  fail_unless(m != NULL);
  fail_unless(gst_ufo_results_is_sealed(r));
  gst_ufo_results_unref(r);

  m = gst_buffer_get_ufo_meta(buf);
  fail_unless_equals_int(m->producer_id, 7);
  fail_unless_equals_string(g_quark_to_string(m->task), "instance");
  fail_unless(m->inferred);
  fail_unless_equals_uint64(m->result_pts, 40 * GST_MSECOND);
  fail_unless_equals_int(m->width, 64);
  fail_unless_equals_int(m->height, 48);
  fail_unless_equals_int(gst_ufo_meta_get_n_objects(m), 2);
  GstUfoObject o;
  fail_unless(gst_ufo_meta_get_object(m, 1, &o));
  fail_unless_equals_int(o.label_id, 2);
  fail_unless(o.label == g_intern_string("car"));
  fail_unless_equals_float(o.score, 0.4f);
  fail_unless_equals_float(o.x, -4.f);
  fail_unless_equals_float(o.h, 16.f);
  fail_unless_equals_int(o.roi_id, -1);
  fail_if(gst_ufo_meta_get_object(m, 2, &o));
  gint w, h, stride;
  const guint8 *data;
  GstUfoRect rect;
  fail_unless(gst_ufo_meta_get_mask(m, 0, &w, &h, &stride, &data, &rect));
  fail_unless_equals_int(w, 3);
  fail_unless_equals_int(stride, 4);
  fail_unless_equals_int(data[4 + 2], 3);
  fail_unless_equals_float(rect.w, 20.f);
  fail_if(gst_ufo_meta_get_mask(m, 1, NULL, NULL, NULL, NULL, NULL));
  fail_if(gst_ufo_meta_get_semantic_map(m, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL));
  fail_unless_equals_string(gst_ufo_meta_get_caption(m), "two things");
  fail_unless(gst_ufo_meta_get_prompt(m) == NULL);
  fail_unless(gst_buffer_get_ufo_meta_for_producer(buf, 7) == m);
  fail_unless(gst_buffer_get_ufo_meta_for_producer(buf, 8) == NULL);
  gst_buffer_unref(buf);
}
GST_END_TEST;

GST_START_TEST(test_sealed)
{
  GstBuffer *buf = gst_buffer_new();
  GstUfoResults *r = gst_ufo_results_new(8, 8);
  gst_buffer_add_ufo_meta(buf, r, 1, "detection", TRUE, 0);
  fail_unless_equals_int(gst_ufo_results_add_object(r, 0, "x", 1, 0, 0, 1, 1), G_MAXUINT);
  fail_if(gst_ufo_results_set_caption(r, "late"));
  fail_unless_equals_int(gst_ufo_meta_get_n_objects(gst_buffer_get_ufo_meta(buf)), 0);
  /* a copy is writable again */
  GstUfoResults *c = gst_ufo_results_copy(r);
  fail_if(gst_ufo_results_is_sealed(c));
  fail_unless_equals_int(gst_ufo_results_add_object(c, 0, "x", 1, 0, 0, 1, 1), 0);
  gst_ufo_results_unref(c);
  gst_ufo_results_unref(r);
  gst_buffer_unref(buf);
}
GST_END_TEST;

GST_START_TEST(test_semantic)
{
  guint16 ids[6] = {0, 1, 2, 3, 4, 149};
  GBytes *b = g_bytes_new(ids, sizeof ids);
  GstUfoResults *r = gst_ufo_results_new(30, 20);
  GstUfoRect rect = {0, 0, 30, 20};
  const gchar *names[] = {"wall", "floor", NULL};
  fail_unless(
      gst_ufo_results_set_semantic_map(r, GST_VIDEO_FORMAT_GRAY16_LE, b, 3, 2, 6, &rect, names));
  g_bytes_unref(b);
  GstBuffer *buf = gst_buffer_new();
  GstUfoMeta *m = gst_buffer_add_ufo_meta(buf, r, 1, "semantic", TRUE, 0);
  gst_ufo_results_unref(r);
  GstVideoFormat f;
  gint w, h, stride;
  const guint8 *data;
  guint n;
  const gchar *const *cn;
  fail_unless(gst_ufo_meta_get_semantic_map(m, &f, &w, &h, &stride, &data, &rect, &n, &cn));
  fail_unless_equals_int(f, GST_VIDEO_FORMAT_GRAY16_LE);
  fail_unless_equals_int(((const guint16 *)data)[5], 149);
  fail_unless_equals_int(n, 2);
  fail_unless_equals_string(cn[1], "floor");
  fail_unless_equals_float(rect.w, 30.f);
  gst_buffer_unref(buf);
}
GST_END_TEST;

static const GstStructure *detection_of(GstVideoRegionOfInterestMeta *roi)
{
  return gst_video_region_of_interest_meta_get_param(roi, "detection");
}

GST_START_TEST(test_roi_metas)
{
  GstBuffer *buf = gst_buffer_new();
  /* another producer's ROI with id 5: ours must continue after it */
  GstVideoRegionOfInterestMeta *other =
      gst_buffer_add_video_region_of_interest_meta(buf, "face", 1, 1, 2, 2);
  other->id = 5;
  GstUfoResults *r = make_results();
  fail_unless_equals_int(gst_ufo_results_add_roi_metas(r, buf, 3, "ufo-tiny"), 2);
  gst_buffer_add_ufo_meta(buf, r, 3, "detection", TRUE, 0);
  gst_ufo_results_unref(r);

  GstUfoMeta *m = gst_buffer_get_ufo_meta(buf);
  GstUfoObject o0, o1;
  gst_ufo_meta_get_object(m, 0, &o0);
  gst_ufo_meta_get_object(m, 1, &o1);
  fail_unless_equals_int(o0.roi_id, 6);
  fail_unless_equals_int(o1.roi_id, 7);

  GstVideoRegionOfInterestMeta *roi = gst_buffer_get_video_region_of_interest_meta_id(buf, 6);
  fail_unless(roi != NULL);
  fail_unless_equals_string(g_quark_to_string(roi->roi_type), "person");
  fail_unless_equals_int(roi->x, 10);
  fail_unless_equals_int(roi->w, 20);
  fail_unless_equals_int(roi->parent_id, -1);
  const GstStructure *s = detection_of(roi);
  fail_unless(s != NULL);
  gint label_id;
  guint producer;
  gdouble conf, x_min, y_min, x_max, y_max;
  fail_unless(gst_structure_get(s, "label_id", G_TYPE_INT, &label_id, "confidence", G_TYPE_DOUBLE,
                                &conf, "x_min", G_TYPE_DOUBLE, &x_min, "y_min", G_TYPE_DOUBLE,
                                &y_min, "x_max", G_TYPE_DOUBLE, &x_max, "y_max", G_TYPE_DOUBLE,
                                &y_max, "producer_id", G_TYPE_UINT, &producer, NULL));
  fail_unless_equals_int(label_id, 0);
  fail_unless_equals_float(conf, (gdouble)0.9f);
  fail_unless_equals_float(x_min, 10.0 / 64);
  fail_unless_equals_float(y_min, 8.0 / 48);
  fail_unless_equals_float(x_max, 30.0 / 64);
  fail_unless_equals_float(y_max, 24.0 / 48);
  fail_unless_equals_int(producer, 3);
  fail_unless_equals_string(gst_structure_get_string(s, "label"), "person");
  fail_unless_equals_string(gst_structure_get_string(s, "model_name"), "ufo-tiny");

  /* the second box (-4,40 20x16) is clipped to the frame: 0,40 16x8 */
  roi = gst_buffer_get_video_region_of_interest_meta_id(buf, 7);
  fail_unless_equals_int(roi->x, 0);
  fail_unless_equals_int(roi->y, 40);
  fail_unless_equals_int(roi->w, 16);
  fail_unless_equals_int(roi->h, 8);
  gst_structure_get_double(detection_of(roi), "y_max", &y_max);
  fail_unless_equals_float(y_max, 1.0);
  gst_buffer_unref(buf);
}
GST_END_TEST;

GST_START_TEST(test_copy_shares_results)
{
  GstBuffer *buf = gst_buffer_new();
  GstUfoResults *r = make_results();
  gst_buffer_add_ufo_meta(buf, r, 1, "detection", TRUE, 0);
  GstBuffer *copy = gst_buffer_copy(buf);
  GstUfoMeta *m = gst_buffer_get_ufo_meta(copy);
  fail_unless(m != NULL);
  fail_unless(m->results == r);
  fail_unless_equals_int(m->width, 64);
  GstBuffer *dst = gst_buffer_new();
  fail_unless(gst_buffer_copy_into(dst, buf, GST_BUFFER_COPY_META, 0, -1));
  fail_unless(gst_buffer_get_ufo_meta(dst)->results == r);
  gst_buffer_unref(dst);
  gst_buffer_unref(copy);
  gst_buffer_unref(buf);
  gst_ufo_results_unref(r);
}
GST_END_TEST;

static GstBuffer *frame_with_meta(gint w, gint h)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, w * h * 4, NULL);
  gst_buffer_memset(buf, 0, 0x40, w * h * 4);
  GstUfoResults *r = make_results();
  gst_buffer_add_ufo_meta(buf, r, 1, "instance", TRUE, 0);
  gst_ufo_results_unref(r);
  return buf;
}

GST_START_TEST(test_videoscale_transform)
{
  GstHarness *h = gst_harness_new("videoscale");
  gst_harness_set_caps_str(h, "video/x-raw,format=RGBx,width=64,height=48,framerate=30/1",
                           "video/x-raw,format=RGBx,width=160,height=72,framerate=30/1");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(64, 48));
  fail_unless(out != NULL);
  GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
  fail_unless(m != NULL);
  fail_unless_equals_int(m->width, 160);
  fail_unless_equals_int(m->height, 72);
  GstUfoObject o;
  gst_ufo_meta_get_object(m, 0, &o);
  /* 10,8 20x16 scaled by (2.5, 1.5) */
  fail_unless_equals_float(o.x, 25.f);
  fail_unless_equals_float(o.y, 12.f);
  fail_unless_equals_float(o.w, 50.f);
  fail_unless_equals_float(o.h, 24.f);
  GstUfoRect rect;
  gint mw;
  fail_unless(gst_ufo_meta_get_mask(m, 0, &mw, NULL, NULL, NULL, &rect));
  fail_unless_equals_int(mw, 3); /* mask pixels kept */
  fail_unless_equals_float(rect.x, 25.f);
  fail_unless_equals_float(rect.h, 24.f);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_videoconvert_same_size)
{
  GstHarness *h = gst_harness_new("videoconvert");
  gst_harness_set_caps_str(h, "video/x-raw,format=RGBx,width=64,height=48,framerate=30/1",
                           "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(64, 48));
  GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
  fail_unless(m != NULL);
  GstUfoObject o;
  gst_ufo_meta_get_object(m, 0, &o);
  fail_unless_equals_float(o.x, 10.f);
  fail_unless_equals_float(o.w, 20.f);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_rotation_drops_meta)
{
  GstHarness *h = gst_harness_new_parse("videoflip video-direction=90r");
  gst_harness_set_caps_str(h, "video/x-raw,format=RGBx,width=64,height=48,framerate=30/1",
                           "video/x-raw,format=RGBx,width=48,height=64,framerate=30/1");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with_meta(64, 48));
  fail_unless(out != NULL);
  fail_unless(gst_buffer_get_ufo_meta(out) == NULL);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_tracked_rois_and_flags)
{
  GstBuffer *buf = gst_buffer_new();
  /* another producer's ROI with id 3 */
  GstVideoRegionOfInterestMeta *other =
      gst_buffer_add_video_region_of_interest_meta(buf, "face", 1, 1, 2, 2);
  other->id = 3;
  GstUfoResults *r = gst_ufo_results_new(64, 48);
  gst_ufo_results_add_object(r, 0, "person", 0.9f, 1, 1, 10, 10);
  gst_ufo_results_add_object(r, 0, "person", 0.8f, 20, 1, 10, 10);
  gst_ufo_results_add_object(r, 0, "person", 0.7f, 40, 1, 10, 10);
  gst_ufo_results_add_object(r, 0, "person", 0.2f, 40, 30, 10, 10);
  fail_unless(gst_ufo_results_set_track_id(r, 0, 7));
  fail_unless(gst_ufo_results_set_track_id(r, 1, 3)); /* taken by the other producer */
  fail_unless(gst_ufo_results_set_track_id(r, 2, 5));
  fail_unless(gst_ufo_results_set_object_flags(r, 2, GST_UFO_OBJECT_FLAG_PREDICTED));
  fail_if(gst_ufo_results_set_object_flags(r, 9, GST_UFO_OBJECT_FLAG_PREDICTED));
  fail_unless_equals_int(gst_ufo_results_add_roi_metas(r, buf, 1, NULL), 4);
  gst_buffer_add_ufo_meta(buf, r, 1, "detection", FALSE, 0);
  fail_if(gst_ufo_results_set_object_flags(r, 0, GST_UFO_OBJECT_FLAG_PREDICTED)); /* sealed */
  gst_ufo_results_unref(r);

  GstUfoMeta *m = gst_buffer_get_ufo_meta(buf);
  /* tracked objects take their track id as ROI id when free; the others continue after the
   * largest id and track id (7): 8, 9 */
  const gint want_roi[4] = {7, 8, 5, 9};
  for (guint i = 0; i < 4; i++) {
    GstUfoObject o;
    gst_ufo_meta_get_object(m, i, &o);
    fail_unless_equals_int(o.roi_id, want_roi[i]);
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_get_video_region_of_interest_meta_id(buf, o.roi_id);
    fail_unless(roi != NULL);
    const GstStructure *det = detection_of(roi);
    gint tid = 0;
    gboolean predicted = FALSE;
    gst_structure_get_boolean(det, "predicted", &predicted);
    fail_unless_equals_int(predicted, i == 2);
    if (o.track_id) {
      fail_unless(gst_structure_get_int(det, "track_id", &tid));
      fail_unless_equals_int(tid, (gint)o.track_id);
      fail_unless(gst_structure_get_int(
          gst_video_region_of_interest_meta_get_param(roi, "object_id"), "id", &tid));
      fail_unless_equals_int(tid, (gint)o.track_id);
    } else {
      fail_if(gst_structure_has_field(det, "track_id"));
      fail_unless(gst_video_region_of_interest_meta_get_param(roi, "object_id") == NULL);
    }
    fail_unless_equals_int(gst_ufo_meta_get_object_flags(m, i),
                           i == 2 ? GST_UFO_OBJECT_FLAG_PREDICTED : 0);
  }
  fail_unless_equals_int(gst_ufo_meta_get_object_flags(m, 4), 0);
  gst_buffer_unref(buf);
}
GST_END_TEST;

GST_START_TEST(test_copy_results_in_meta_frame)
{
  GstHarness *h = gst_harness_new("videoscale");
  gst_harness_set_caps_str(h, "video/x-raw,format=RGBx,width=64,height=48,framerate=30/1",
                           "video/x-raw,format=RGBx,width=160,height=72,framerate=30/1");
  GstBuffer *in = gst_buffer_new_allocate(NULL, 64 * 48 * 4, NULL);
  GstUfoResults *r = make_results();
  gst_ufo_results_set_track_id(r, 1, 4);
  gst_ufo_results_set_object_flags(r, 1, GST_UFO_OBJECT_FLAG_PREDICTED);
  gst_buffer_add_ufo_meta(in, r, 1, "instance", TRUE, 0);
  gst_ufo_results_unref(r);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
  GstUfoResults *c = gst_ufo_meta_copy_results(m);
  fail_unless(c != NULL);
  fail_if(gst_ufo_results_is_sealed(c));
  /* the copy is in the meta's 160x72 frame: attached to a new buffer it reads the same */
  GstBuffer *b2 = gst_buffer_new();
  GstUfoMeta *m2 = gst_buffer_add_ufo_meta(b2, c, 2, "instance", TRUE, 0);
  gst_ufo_results_unref(c);
  fail_unless_equals_int(m2->width, 160);
  fail_unless_equals_int(m2->height, 72);
  GstUfoObject o;
  gst_ufo_meta_get_object(m2, 0, &o);
  fail_unless_equals_float(o.x, 25.f);
  fail_unless_equals_float(o.h, 24.f);
  fail_unless_equals_int(o.roi_id, -1);
  gst_ufo_meta_get_object(m2, 1, &o);
  fail_unless_equals_uint64(o.track_id, 4);
  fail_unless_equals_int(gst_ufo_meta_get_object_flags(m2, 1), GST_UFO_OBJECT_FLAG_PREDICTED);
  GstUfoRect rect;
  fail_unless(gst_ufo_meta_get_mask(m2, 0, NULL, NULL, NULL, NULL, &rect));
  fail_unless_equals_float(rect.x, 25.f);
  fail_unless_equals_float(rect.w, 50.f);
  gst_buffer_unref(b2);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* the accessors for language bindings (GstUfo-1.0 typelib): GBytes masks and maps sharing the
 * meta's pixels, the task as a string, every meta of a buffer, boxed copies, rule points */
GST_START_TEST(test_binding_accessors)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 16, NULL);
  fail_unless(gst_buffer_get_ufo_meta(buf) == NULL);
  fail_unless(gst_buffer_get_ufo_metas(buf) == NULL);
  GstUfoResults *r = make_results();
  guint8 map[3 * 2] = {0, 1, 2, 9, 2, 1};
  GBytes *mb = g_bytes_new(map, sizeof map);
  const gchar *names[] = {"bg", "road", "car", NULL};
  GstUfoRect mrect = {0, 0, 64, 48};
  fail_unless(
      gst_ufo_results_set_semantic_map(r, GST_VIDEO_FORMAT_GRAY8, mb, 2, 2, 3, &mrect, names));
  g_bytes_unref(mb);
  GstUfoMeta *m1 = gst_buffer_add_ufo_meta(buf, r, 1, "instance", TRUE, 0);
  gst_ufo_results_unref(r);
  r = gst_ufo_results_new(32, 24);
  gst_ufo_results_set_prompt(r, "the red car");
  gst_ufo_results_add_object(r, -1, "the red car", 0.5f, 1, 2, 3, 4);
  GstUfoMeta *m2 = gst_buffer_add_ufo_meta(buf, r, 2, "grounding", TRUE, 0);
  gst_ufo_results_unref(r);

  GList *metas = gst_buffer_get_ufo_metas(buf);
  fail_unless_equals_int(g_list_length(metas), 2);
  fail_unless(metas->data == m1 && metas->next->data == m2);
  g_list_free(metas);
  fail_unless(gst_buffer_get_ufo_meta(buf) == m1);
  fail_unless_equals_string(gst_ufo_meta_get_task(m1), "instance");
  fail_unless_equals_string(gst_ufo_meta_get_task(m2), "grounding");

  gint w = 0, h = 0, stride = 0;
  GstUfoRect rect = {0};
  GBytes *mask = gst_ufo_meta_get_mask_bytes(m1, 0, &w, &h, &stride, &rect);
  fail_unless(mask != NULL);
  fail_unless_equals_int(w, 3);
  fail_unless_equals_int(h, 2);
  fail_unless_equals_int(stride, 4);
  fail_unless_equals_int(g_bytes_get_size(mask), 4 + 3); /* no padding after the last row */
  const guint8 *raw;
  fail_unless(gst_ufo_meta_get_mask(m1, 0, NULL, NULL, NULL, &raw, NULL));
  fail_unless(g_bytes_get_data(mask, NULL) == raw); /* shared, not copied */
  fail_unless_equals_float(rect.x, 10);
  fail_unless_equals_float(rect.h, 16);
  g_bytes_unref(mask);
  fail_unless(gst_ufo_meta_get_mask_bytes(m1, 1, NULL, NULL, NULL, NULL) == NULL); /* no mask */
  fail_unless(gst_ufo_meta_get_mask_bytes(m1, 2, NULL, NULL, NULL, NULL) == NULL); /* no object */

  GstVideoFormat fmt = GST_VIDEO_FORMAT_UNKNOWN;
  gchar **cls = NULL;
  GBytes *sem = gst_ufo_meta_get_semantic_map_bytes(m1, &fmt, &w, &h, &stride, &rect, &cls);
  fail_unless(sem != NULL);
  fail_unless_equals_int(fmt, GST_VIDEO_FORMAT_GRAY8);
  fail_unless_equals_int(g_bytes_get_size(sem), 3 + 2);
  fail_unless_equals_int(((const guint8 *)g_bytes_get_data(sem, NULL))[3], 9);
  fail_unless_equals_string(cls[2], "car");
  fail_unless(cls[3] == NULL);
  g_bytes_unref(sem);
  fail_unless(gst_ufo_meta_get_semantic_map_bytes(m2, NULL, NULL, NULL, NULL, NULL, NULL) == NULL);

  GstUfoObject o;
  fail_unless(gst_ufo_meta_get_object(m2, 0, &o));
  GstUfoObject *oc = g_boxed_copy(GST_TYPE_UFO_OBJECT, &o);
  fail_unless(oc->label == g_intern_string("the red car"));
  fail_unless_equals_float(oc->h, 4);
  g_boxed_free(GST_TYPE_UFO_OBJECT, oc);
  GstUfoRect *rc = g_boxed_copy(GST_TYPE_UFO_RECT, &rect);
  fail_unless_equals_float(rc->w, 64);
  g_boxed_free(GST_TYPE_UFO_RECT, rc);

  fail_unless(gst_buffer_get_ufo_analytics_meta(buf) == NULL);
  GstUfoAnalyticsMeta *a = gst_buffer_add_ufo_analytics_meta(buf, 64, 48);
  const gfloat pts[] = {1, 2, 3, 4};
  GstUfoAnalyticsRule rule = {
      .name = "door", .kind = GST_UFO_ANALYTICS_RULE_LINE, .n_points = 2, .points = pts};
  fail_unless_equals_int(gst_ufo_analytics_meta_add_rule(a, &rule), 0);
  fail_unless(gst_buffer_get_ufo_analytics_meta(buf) == a);
  guint n = 99;
  const gfloat *p = gst_ufo_analytics_meta_get_rule_points(a, 0, &n);
  fail_unless_equals_int(n, 4);
  fail_unless_equals_float(p[3], 4);
  fail_unless(gst_ufo_analytics_meta_get_rule_points(a, 1, &n) == NULL);
  fail_unless_equals_int(n, 0);
  GstUfoAnalyticsRule got;
  fail_unless(gst_ufo_analytics_meta_get_rule(a, 0, &got));
  GstUfoAnalyticsRule *gc = g_boxed_copy(GST_TYPE_UFO_ANALYTICS_RULE, &got);
  fail_unless_equals_string(gc->name, "door");
  g_boxed_free(GST_TYPE_UFO_ANALYTICS_RULE, gc);
  gst_buffer_unref(buf);
}
GST_END_TEST;

static Suite *ufometa_suite(void)
{
  Suite *s = suite_create("ufometa");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_add_and_read);
  tcase_add_test(tc, test_sealed);
  tcase_add_test(tc, test_semantic);
  tcase_add_test(tc, test_roi_metas);
  tcase_add_test(tc, test_tracked_rois_and_flags);
  tcase_add_test(tc, test_copy_results_in_meta_frame);
  tcase_add_test(tc, test_copy_shares_results);
  tcase_add_test(tc, test_videoscale_transform);
  tcase_add_test(tc, test_videoconvert_same_size);
  tcase_add_test(tc, test_rotation_drops_meta);
  tcase_add_test(tc, test_binding_accessors);
  return s;
}

GST_CHECK_MAIN(ufometa);
