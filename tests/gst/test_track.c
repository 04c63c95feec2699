/* ufotrack: properties, track ids in GstUfoMeta and the ROI metas on synthetic results,
 * predicted boxes on frames without inference, masks kept, resets on flush / stream start /
 * caps change, producer selection; and ufodetect ! ufotrack with the demo model when it is in
 * the tree. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/ufo/ufometa.h>
#include <gst/video/video.h>
#include <math.h>
#include <string.h>

#include "gstufotest.h"

#define W 160
#define H 120
#define CAPS "video/x-raw,format=RGB,width=160,height=120,framerate=30/1"

typedef struct {
  gfloat x, y, w, h, score;
  gboolean mask;
} Box;

/* A frame carrying the results of producer 1 (boxes, optional 4×4 masks, ROI metas). */
static GstBuffer *frame_with(gint index, const Box *boxes, guint n, gboolean inferred,
                             guint producer)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, W * H * 3, NULL);
  gst_buffer_memset(buf, 0, 0, W * H * 3);
  GST_BUFFER_PTS(buf) = index * (GST_SECOND / 30);
  GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
  GstUfoResults *r = gst_ufo_results_new(W, H);
  for (guint i = 0; i < n; i++) {
    const Box *b = &boxes[i];
    guint k = gst_ufo_results_add_object(r, (gint)i, i ? "car" : "person", b->score, b->x, b->y,
                                         b->w, b->h);
    if (b->mask) {
      guint8 px[16];
      memset(px, 200, sizeof px);
      GBytes *bytes = g_bytes_new(px, sizeof px);
      const GstUfoRect rect = {b->x, b->y, b->w, b->h};
      fail_unless(gst_ufo_results_set_mask(r, k, bytes, 4, 4, 4, &rect));
      g_bytes_unref(bytes);
    }
  }
  gst_ufo_results_add_roi_metas(r, buf, producer, "test-model");
  gst_buffer_add_ufo_meta(buf, r, producer, "detection", inferred, GST_BUFFER_PTS(buf));
  gst_ufo_results_unref(r);
  return buf;
}

static GstHarness *track_harness(const gchar *props)
{
  gchar *desc = g_strdup_printf("ufotrack %s", props ? props : "");
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, CAPS);
  return h;
}

static guint n_rois(GstBuffer *buf)
{
  guint n = 0;
  gpointer state = NULL;
  while (gst_buffer_iterate_meta_filtered(buf, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))
    n++;
  return n;
}

/* track id of object i, checking that its ROI meta agrees */
static guint64 track_id_of(GstBuffer *buf, guint i)
{
  GstUfoMeta *m = gst_buffer_get_ufo_meta(buf);
  fail_unless(m != NULL);
  GstUfoObject o;
  fail_unless(gst_ufo_meta_get_object(m, i, &o));
  if (o.track_id) {
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_get_video_region_of_interest_meta_id(buf, o.roi_id);
    fail_unless(roi != NULL, "no ROI meta %d", o.roi_id);
    fail_unless_equals_int(roi->id, (gint)o.track_id);
    const GstStructure *oid = gst_video_region_of_interest_meta_get_param(roi, "object_id");
    gint id = 0;
    fail_unless(oid && gst_structure_get_int(oid, "id", &id));
    fail_unless_equals_int(id, (gint)o.track_id);
    const GstStructure *det = gst_video_region_of_interest_meta_get_param(roi, "detection");
    fail_unless(det && gst_structure_get_int(det, "track_id", &id));
    fail_unless_equals_int(id, (gint)o.track_id);
  }
  return o.track_id;
}

GST_START_TEST(test_properties)
{
  GstElement *e = gst_element_factory_make("ufotrack", NULL);
  fail_unless(e != NULL);
  const gchar *names[] = {"track-high-thresh", "track-low-thresh", "new-track-thresh",
                          "match-thresh",      "track-buffer",     "min-hits",
                          "unique-id",         "attach-roi-meta"};
  for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
    GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), names[i]);
    fail_unless(ps != NULL, "no property %s", names[i]);
    fail_unless(ps->flags & G_PARAM_STATIC_STRINGS);
    fail_unless(strlen(g_param_spec_get_blurb(ps)) > 10);
  }
  gfloat high, low, nw, match;
  guint buffer, hits;
  gint uid;
  gboolean roi;
  g_object_get(e, "track-high-thresh", &high, "track-low-thresh", &low, "new-track-thresh", &nw,
               "match-thresh", &match, "track-buffer", &buffer, "min-hits", &hits, "unique-id",
               &uid, "attach-roi-meta", &roi, NULL);
  fail_unless_equals_float(high, 0.5f);
  fail_unless_equals_float(low, 0.1f);
  fail_unless_equals_float(nw, 0.6f);
  fail_unless_equals_float(match, 0.8f);
  fail_unless_equals_int(buffer, 30);
  fail_unless_equals_int(hits, 2);
  fail_unless_equals_int(uid, -1);
  fail_unless(roi);
  gst_object_unref(e);
}
GST_END_TEST;

GST_START_TEST(test_ids_and_rois)
{
  GstHarness *h = track_harness(NULL);
  /* two objects crossing horizontally, 4 px apart vertically; the first has a mask */
  for (gint k = 0; k < 24; k++) {
    const Box b[2] = {{10.0f + 5 * k, 40, 30, 30, 0.9f, TRUE},
                      {120.0f - 5 * k, 44, 30, 30, 0.8f, FALSE}};
    GstBuffer *out = gst_harness_push_and_pull(h, frame_with(k, b, 2, TRUE, 1));
    GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
    fail_unless_equals_int(gst_ufo_meta_get_n_objects(m), 2);
    fail_unless(m->inferred);
    fail_unless_equals_int(m->producer_id, 1);
    fail_unless_equals_uint64(track_id_of(out, 0), 1);
    fail_unless_equals_uint64(track_id_of(out, 1), 2);
    /* the producer's ROI metas were replaced, not added to */
    fail_unless_equals_int(n_rois(out), 2);
    /* the mask stays with its object */
    GstUfoRect r;
    fail_unless(gst_ufo_meta_get_mask(m, 0, NULL, NULL, NULL, NULL, &r));
    fail_unless_equals_float(r.x, 10.0f + 5 * k);
    fail_if(gst_ufo_meta_get_mask(m, 1, NULL, NULL, NULL, NULL, NULL));
    fail_unless_equals_int(gst_ufo_meta_get_object_flags(m, 0), 0);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_predicted_frames)
{
  /* inference-interval=3 upstream: frames 1, 2 (mod 3) carry stale results, inferred=FALSE */
  GstHarness *h = track_harness(NULL);
  for (gint k = 0; k < 18; k++) {
    const gboolean inferred = k % 3 == 0;
    const gint src = k - k % 3; /* the frame the carried results come from */
    const Box b = {20.0f + 4 * src, 30, 24, 40, 0.9f, TRUE};
    GstBuffer *out = gst_harness_push_and_pull(h, frame_with(k, &b, 1, inferred, 1));
    GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
    fail_unless_equals_int(gst_ufo_meta_get_n_objects(m), 1);
    fail_unless_equals_int(m->inferred, inferred);
    GstUfoObject o;
    gst_ufo_meta_get_object(m, 0, &o);
    fail_unless_equals_uint64(track_id_of(out, 0), 1);
    fail_unless_equals_string(o.label, "person");
    const GstUfoObjectFlags f = gst_ufo_meta_get_object_flags(m, 0);
    fail_unless_equals_int(f, inferred ? 0 : GST_UFO_OBJECT_FLAG_PREDICTED);
    GstVideoRegionOfInterestMeta *roi =
        gst_buffer_get_video_region_of_interest_meta_id(out, o.roi_id);
    gboolean predicted = FALSE;
    gst_structure_get_boolean(gst_video_region_of_interest_meta_get_param(roi, "detection"),
                              "predicted", &predicted);
    fail_unless_equals_int(predicted, !inferred);
    fail_unless_equals_int(n_rois(out), 1);
    if (!inferred && k > 9) {
      /* the prediction follows the motion (4 px/frame), not the stale box */
      fail_unless(fabsf(o.x - (20.0f + 4 * k)) < 2.0f, "frame %d: x %.2f", k, o.x);
      GstUfoRect r;
      fail_unless(gst_ufo_meta_get_mask(m, 0, NULL, NULL, NULL, NULL, &r));
      fail_unless(fabsf(r.x - o.x) < 0.01f && fabsf(r.w - o.w) < 0.01f);
    }
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Object A alone, then B appears: B gets id 2. After @reset, B alone gets id 1 again. */
static void check_reset(void (*reset)(GstHarness *h))
{
  GstHarness *h = track_harness(NULL);
  const Box a = {10, 10, 30, 30, 0.9f, FALSE}, b = {100, 60, 30, 30, 0.9f, FALSE};
  const Box ab[2] = {a, b};
  GstBuffer *out;
  for (gint k = 0; k < 3; k++) {
    out = gst_harness_push_and_pull(h, frame_with(k, ab, k == 0 ? 1 : 2, TRUE, 1));
    fail_unless_equals_uint64(track_id_of(out, 0), 1);
    if (k == 2)
      fail_unless_equals_uint64(track_id_of(out, 1), 2); /* confirmed on its 2nd frame */
    gst_buffer_unref(out);
  }
  out = gst_harness_push_and_pull(h, frame_with(3, &b, 1, TRUE, 1));
  fail_unless_equals_uint64(track_id_of(out, 0), 2); /* no reset: B keeps its id */
  gst_buffer_unref(out);
  reset(h);
  out = gst_harness_push_and_pull(h, frame_with(4, &b, 1, TRUE, 1));
  fail_unless_equals_uint64(track_id_of(out, 0), 1);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}

static void nothing(GstHarness *h)
{
}

static void flush(GstHarness *h)
{
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
}

static void stream_start(GstHarness *h)
{
  fail_unless(gst_harness_push_event(h, gst_event_new_stream_start("second")));
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
}

static void caps_change(GstHarness *h)
{
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=160,height=120,framerate=15/1");
}

GST_START_TEST(test_resets)
{
  /* a track under the same id must not come from a reset that did not happen */
  check_reset(flush);
  check_reset(stream_start);
  check_reset(caps_change);
}
GST_END_TEST;

GST_START_TEST(test_no_reset_control)
{
  /* without a reset, B keeps id 2 on the last frame: check_reset's last check would fail */
  GstHarness *h = track_harness(NULL);
  const Box a = {10, 10, 30, 30, 0.9f, FALSE}, b = {100, 60, 30, 30, 0.9f, FALSE};
  const Box ab[2] = {a, b};
  for (gint k = 0; k < 3; k++)
    gst_buffer_unref(gst_harness_push_and_pull(h, frame_with(k, ab, k == 0 ? 1 : 2, TRUE, 1)));
  nothing(h);
  GstBuffer *out = gst_harness_push_and_pull(h, frame_with(3, &b, 1, TRUE, 1));
  fail_unless_equals_uint64(track_id_of(out, 0), 2);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_producers_and_passthrough)
{
  GstHarness *h = track_harness("unique-id=2 attach-roi-meta=false");
  /* a buffer without results passes unchanged */
  GstBuffer *plain = gst_buffer_new_allocate(NULL, W * H * 3, NULL);
  GstBuffer *out = gst_harness_push_and_pull(h, plain);
  fail_unless(gst_buffer_get_ufo_meta(out) == NULL);
  gst_buffer_unref(out);
  /* producer 1's results are left alone, producer 2's are tracked */
  const Box b = {50, 50, 20, 20, 0.9f, FALSE};
  GstBuffer *in = frame_with(0, &b, 1, TRUE, 1);
  GstUfoResults *r = gst_ufo_results_new(W, H);
  gst_ufo_results_add_object(r, 0, "dog", 0.9f, 10, 10, 20, 20);
  gst_ufo_results_add_roi_metas(r, in, 2, NULL);
  gst_buffer_add_ufo_meta(in, r, 2, "detection", TRUE, 0);
  gst_ufo_results_unref(r);
  fail_unless_equals_int(n_rois(in), 2);
  out = gst_harness_push_and_pull(h, in);
  GstUfoObject o;
  gst_ufo_meta_get_object(gst_buffer_get_ufo_meta_for_producer(out, 1), 0, &o);
  fail_unless_equals_uint64(o.track_id, 0);
  gst_ufo_meta_get_object(gst_buffer_get_ufo_meta_for_producer(out, 2), 0, &o);
  fail_unless_equals_uint64(o.track_id, 1);
  fail_unless_equals_string(o.label, "dog");
  /* attach-roi-meta=false: producer 2's ROI meta is gone, producer 1's stays */
  fail_unless_equals_int(n_rois(out), 1);
  fail_unless_equals_int(o.roi_id, -1);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A frame of the demo model's world: a red square on grey, moving right. */
static GstBuffer *shape_frame(gint k)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 224 * 224 * 3, NULL);
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_WRITE);
  for (gint y = 0; y < 224; y++)
    for (gint x = 0; x < 224; x++) {
      guint8 *p = map.data + (y * 224 + x) * 3;
      const gboolean in = x >= 40 + 4 * k && x < 84 + 4 * k && y >= 75 && y < 119;
      p[0] = in ? 220 : 128;
      p[1] = in ? 35 : 128;
      p[2] = in ? 35 : 128;
    }
  gst_buffer_unmap(buf, &map);
  GST_BUFFER_PTS(buf) = k * (GST_SECOND / 15);
  GST_BUFFER_DURATION(buf) = GST_SECOND / 15;
  return buf;
}

GST_START_TEST(test_detect_pipeline)
{
  if (!g_file_test(UFO_DEMO_MODEL, G_FILE_TEST_EXISTS)) {
    GST_INFO("no demo model at %s: ufodetect ! ufotrack not checked", UFO_DEMO_MODEL);
    return;
  }
  for (gint interval = 1; interval <= 2; interval++) {
    gchar *desc = g_strdup_printf("ufodetect model=%s task=detection threshold=0.3 "
                                  "inference-interval=%d ! ufotrack",
                                  UFO_DEMO_MODEL, interval);
    GstHarness *h = gst_harness_new_parse(desc);
    g_free(desc);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=224,height=224,framerate=15/1");
    guint64 id = 0;
    for (gint k = 0; k < 5; k++) {
      GstBuffer *out = gst_harness_push_and_pull(h, shape_frame(k));
      GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
      fail_unless(m != NULL);
      guint64 best = 0;
      gfloat best_score = -1;
      for (guint i = 0; i < gst_ufo_meta_get_n_objects(m); i++) {
        GstUfoObject o;
        gst_ufo_meta_get_object(m, i, &o);
        if (g_getenv("UFO_TEST_VERBOSE"))
          g_printerr("frame %d: %s %.2f (%.0f,%.0f %.0fx%.0f) id %" G_GUINT64_FORMAT "\n", k,
                     o.label, o.score, o.x, o.y, o.w, o.h, o.track_id);
        if (o.track_id && o.score > best_score) {
          best = o.track_id;
          best_score = o.score;
        }
        if (!m->inferred)
          fail_unless(gst_ufo_meta_get_object_flags(m, i) & GST_UFO_OBJECT_FLAG_PREDICTED);
      }
      fail_unless(best != 0, "interval %d frame %d: no tracked object", interval, k);
      if (k == 0)
        id = best;
      fail_unless_equals_uint64(best, id);
      gst_buffer_unref(out);
    }
    /* a flush starts the ids again (on the next inferred frame: ufodetect keeps counting
     * frames for inference-interval across a flush, and nothing is predicted before it) */
    flush(h);
    GstBuffer *out = gst_harness_push_and_pull(h, shape_frame(0));
    GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
    if (!m->inferred) {
      fail_unless_equals_int(gst_ufo_meta_get_n_objects(m), 0);
      gst_buffer_unref(out);
      out = gst_harness_push_and_pull(h, shape_frame(1));
      m = gst_buffer_get_ufo_meta(out);
      fail_unless(m->inferred);
    }
    guint64 min_id = G_MAXUINT64;
    for (guint i = 0; i < gst_ufo_meta_get_n_objects(m); i++) {
      GstUfoObject o;
      gst_ufo_meta_get_object(m, i, &o);
      if (o.track_id)
        min_id = MIN(min_id, o.track_id);
    }
    fail_unless_equals_uint64(min_id, 1);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

static Suite *ufotrack_suite(void)
{
  Suite *s = suite_create("ufotrack");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_properties);
  tcase_add_test(tc, test_ids_and_rois);
  tcase_add_test(tc, test_predicted_frames);
  tcase_add_test(tc, test_resets);
  tcase_add_test(tc, test_no_reset_control);
  tcase_add_test(tc, test_producers_and_passthrough);
  tcase_add_test(tc, test_detect_pipeline);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(ufotrack_suite(), "ufotrack", __FILE__);
}
