/* Frames in flight (docs/elements.md "Frames in flight"): with nireq > 1 an element keeps up
 * to nireq frames of its one stream queued or running on its model instance while it takes the
 * next ones, and pushes them in their order. The frames that come out are those of nireq=1 bit
 * for bit (fp32, the demo model on shape scenes): results, inferred flags, carried-over results
 * (inference-interval), a caps change among frames in flight; EOS pushes every frame before
 * it; a flush and a stop with frames in flight drop them (leak-checked under ASan); the latency
 * and the upstream buffer pools count the frames the element holds. */
#include "gstufotest.h"
#include "scene_frames.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstharness.h>

#define FRAMES 8

typedef struct {
  GstElement *pipe, *src, *infer, *sink;
} Pipe;

static Pipe pipe_new(const gchar *element, const gchar *props)
{
  gchar *desc = g_strdup_printf(
      "appsrc name=src format=time caps=video/x-raw,format=RGB,width=320,height=240,framerate=10/1 "
      "! %s name=infer model=%s threads=1 precision=fp32 %s ! appsink name=sink sync=false",
      element, UFO_DEMO_MODEL, props);
  Pipe p = {gst_parse_launch(desc, NULL)};
  g_free(desc);
  fail_unless(p.pipe != NULL);
  p.src = gst_bin_get_by_name(GST_BIN(p.pipe), "src");
  p.infer = gst_bin_get_by_name(GST_BIN(p.pipe), "infer");
  p.sink = gst_bin_get_by_name(GST_BIN(p.pipe), "sink");
  return p;
}

static void pipe_free(Pipe *p)
{
  gst_element_set_state(p->pipe, GST_STATE_NULL);
  gst_object_unref(p->src);
  gst_object_unref(p->infer);
  gst_object_unref(p->sink);
  gst_object_unref(p->pipe);
}

static void expect_no_error(Pipe *p)
{
  GstBus *bus = gst_element_get_bus(p->pipe);
  GstMessage *err = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  if (err) {
    GError *e = NULL;
    gst_message_parse_error(err, &e, NULL);
    fail("error posted: %s", e->message);
  }
  gst_object_unref(bus);
}

/* frame k: scene k, 320x240, or (resize) 240x320 from frame FRAMES/2 on */
static GstBuffer *frame(int k, gboolean resize)
{
  return resize && k >= FRAMES / 2 ? ufo_test_scene(1, k, 240, 320)
                                   : ufo_test_scene(0, k, 320, 240);
}

/* Pushes FRAMES frames then EOS, and returns what came out, in order: per frame its PTS, its
 * meta's inferred flag and result PTS, and its objects bit for bit. *most: the instance's most
 * batches at once (0 without an instance). */
static gchar *run(const gchar *element, const gchar *props, gboolean resize, guint *most)
{
  Pipe p = pipe_new(element, props);
  fail_unless(gst_element_set_state(p.pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  for (int k = 0; k < FRAMES; k++) {
    if (resize && k == FRAMES / 2) {
      GstCaps *caps =
          gst_caps_from_string("video/x-raw,format=RGB,width=240,height=320,framerate=10/1");
      gst_app_src_set_caps(GST_APP_SRC(p.src), caps);
      gst_caps_unref(caps);
    }
    fail_unless(gst_app_src_push_buffer(GST_APP_SRC(p.src), frame(k, resize)) == GST_FLOW_OK);
  }
  gst_app_src_end_of_stream(GST_APP_SRC(p.src));
  GString *out = g_string_new(NULL);
  for (int k = 0; k < FRAMES; k++) {
    GstSample *smp = gst_app_sink_try_pull_sample(GST_APP_SINK(p.sink), 300 * GST_SECOND);
    fail_unless(smp != NULL, "%s: frame %d did not come out", props, k);
    GstBuffer *buf = gst_sample_get_buffer(smp);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), (guint64)k * GST_SECOND / 10);
    GstUfoMeta *meta = gst_buffer_get_ufo_meta(buf);
    fail_unless(meta != NULL);
    gchar *objects = ufo_test_describe(buf);
    const GstStructure *st = gst_caps_get_structure(gst_sample_get_caps(smp), 0);
    gint w = 0, h = 0;
    gst_structure_get_int(st, "width", &w);
    gst_structure_get_int(st, "height", &h);
    g_string_append_printf(out, "frame %d %dx%d inferred %d result-pts %" G_GUINT64_FORMAT "\n%s",
                           k, w, h, meta->inferred, (guint64)meta->result_pts, objects);
    g_free(objects);
    gst_sample_unref(smp);
  }
  fail_unless(gst_app_sink_try_pull_sample(GST_APP_SINK(p.sink), 300 * GST_SECOND) == NULL);
  fail_unless(gst_app_sink_is_eos(GST_APP_SINK(p.sink)), "%s: no EOS", props);
  expect_no_error(&p);
  *most = 0;
  GstStructure *stats = NULL;
  g_object_get(p.infer, "instance-stats", &stats, NULL);
  if (stats) {
    fail_unless(gst_structure_get_uint(stats, "most-in-flight", most));
    gst_structure_free(stats);
  }
  pipe_free(&p);
  return g_string_free(out, FALSE);
}

static void same_as_nireq_1(const gchar *element, const gchar *props, gboolean resize)
{
  guint most1 = 0, most = 0;
  gchar *want = run(element, props, resize, &most1);
  gchar *nireq = g_strdup_printf("%s nireq=2", props);
  gchar *got = run(element, nireq, resize, &most);
  fail_unless_equals_int(most1, 0); /* nireq 1: a session of its own, no instance */
  /* the first frames are pushed at once and each takes tens of ms: two run together */
  fail_unless(most == 2, "%s: most frames at once %u, want 2", nireq, most);
  fail_unless(g_strcmp0(got, want) == 0, "%s:\n%s\nwant (nireq 1)\n%s", nireq, got, want);
  g_free(nireq);
  g_free(got);
  g_free(want);
}

GST_START_TEST(test_detection)
{
  same_as_nireq_1("ufodetect", "", FALSE);
}
GST_END_TEST;

/* instance masks: the frame's masks come from its own job */
GST_START_TEST(test_instance_masks)
{
  same_as_nireq_1("ufoseg", "task=instance", FALSE);
}
GST_END_TEST;

/* inference-interval: the frames between inferences carry the results of the last inferred
 * frame, which is still in flight when they arrive */
GST_START_TEST(test_interval)
{
  same_as_nireq_1("ufodetect", "inference-interval=2", FALSE);
}
GST_END_TEST;

/* a caps change (320x240 to 240x320) while frames are in flight: the old frames leave with
 * their coordinates before the new caps go downstream */
GST_START_TEST(test_caps_change)
{
  same_as_nireq_1("ufodetect", "", TRUE);
}
GST_END_TEST;

/* the element on a harness, fed from the test thread */
static GstHarness *harness_new(guint nireq)
{
  gchar *desc = g_strdup_printf("ufodetect model=%s threads=1 precision=fp32 nireq=%u",
                                UFO_DEMO_MODEL, nireq);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=320,height=240,framerate=10/1");
  return h;
}

/* a flush with frames in flight drops them; the frames after it come out as usual; a stop
 * with frames in flight waits for their jobs and drops them */
GST_START_TEST(test_flush_and_stop)
{
  GstHarness *h = harness_new(3);
  /* two frames in flight (a frame leaves only once its job is done, which takes tens of ms) */
  for (int k = 0; k < 2; k++)
    fail_unless_equals_int(gst_harness_push(h, frame(k, FALSE)), GST_FLOW_OK);
  const guint before = gst_harness_buffers_received(h);
  fail_unless(before < 2, "%u frames out before the flush", before);
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_start()));
  fail_unless(gst_harness_push_event(h, gst_event_new_flush_stop(TRUE)));
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=320,height=240,framerate=10/1");
  for (int k = 3; k < 5; k++)
    fail_unless_equals_int(gst_harness_push(h, frame(k, FALSE)), GST_FLOW_OK);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  /* the frames out before the flush, then frames 3 and 4: those in flight were dropped */
  fail_unless_equals_int(gst_harness_buffers_received(h), before + 2);
  for (guint i = 0; i < before + 2; i++) {
    GstBuffer *out = gst_harness_pull(h);
    const guint64 want = i < before ? i : 3 + i - before;
    fail_unless_equals_uint64(GST_BUFFER_PTS(out), want * GST_SECOND / 10);
    GstUfoMeta *meta = gst_buffer_get_ufo_meta(out);
    fail_unless(meta != NULL && meta->inferred);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
  /* frames in flight at teardown (stop): their jobs are waited for, the frames dropped */
  h = harness_new(3);
  for (int k = 0; k < 2; k++)
    fail_unless_equals_int(gst_harness_push(h, frame(k, FALSE)), GST_FLOW_OK);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* the latency of the frames the element holds: (nireq - 1) frame durations, added to upstream's */
GST_START_TEST(test_latency)
{
  for (guint nireq = 1; nireq <= 3; nireq++) {
    GstHarness *h = harness_new(nireq);
    gst_harness_set_upstream_latency(h, 5 * GST_MSECOND);
    fail_unless_equals_int(gst_harness_push(h, frame(0, FALSE)), GST_FLOW_OK);
    GstPad *srcpad = gst_element_get_static_pad(h->element, "src");
    GstQuery *q = gst_query_new_latency();
    fail_unless(gst_pad_query(srcpad, q));
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency(q, &live, &min, &max);
    fail_unless_equals_uint64(min, 5 * GST_MSECOND + (guint64)(nireq - 1) * GST_SECOND / 10);
    gst_query_unref(q);
    gst_object_unref(srcpad);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* downstream's pool answer, added after the harness's sink pad has answered the query */
static GstPadProbeReturn add_pool(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
  if (GST_QUERY_TYPE(q) == GST_QUERY_ALLOCATION) {
    GstBufferPool *pool = gst_buffer_pool_new();
    gst_query_add_allocation_pool(q, pool, 320 * 240 * 3, 2, 6);
    gst_object_unref(pool);
  }
  return GST_PAD_PROBE_OK;
}

/* an allocation query from upstream, after the frames in flight (drained first): the pools'
 * minimum and maximum grow by nireq, the frames the element may hold; nireq 1 leaves them */
GST_START_TEST(test_allocation)
{
  for (guint nireq = 1; nireq <= 2; nireq++) {
    GstHarness *h = harness_new(nireq);
    gst_pad_add_probe(h->sinkpad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM | GST_PAD_PROBE_TYPE_PULL,
                      add_pool, NULL, NULL);
    fail_unless_equals_int(gst_harness_push(h, frame(0, FALSE)), GST_FLOW_OK);
    fail_unless_equals_int(gst_harness_buffers_received(h), nireq == 1 ? 1 : 0);
    GstCaps *caps = gst_caps_from_string("video/x-raw,format=RGB,width=320,height=240,"
                                         "framerate=10/1");
    GstQuery *q = gst_query_new_allocation(caps, TRUE);
    fail_unless(gst_pad_peer_query(h->srcpad, q));
    fail_unless_equals_int(gst_harness_buffers_received(h), 1); /* drained before the query */
    fail_unless_equals_int(gst_query_get_n_allocation_pools(q), 1);
    guint size, min, max;
    gst_query_parse_nth_allocation_pool(q, 0, NULL, &size, &min, &max);
    fail_unless_equals_int(min, nireq == 1 ? 2 : 2 + nireq);
    fail_unless_equals_int(max, nireq == 1 ? 6 : 6 + nireq);
    gst_query_unref(q);
    gst_caps_unref(caps);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

static Suite *in_flight_suite(void)
{
  Suite *s = suite_create("ufoinflight");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_detection);
  tcase_add_test(tc, test_instance_masks);
  tcase_add_test(tc, test_interval);
  tcase_add_test(tc, test_caps_change);
  tcase_add_test(tc, test_flush_and_stop);
  tcase_add_test(tc, test_latency);
  tcase_add_test(tc, test_allocation);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(in_flight_suite(), "ufoinflight", __FILE__);
}
