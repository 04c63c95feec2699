/* Many streams, one model (docs/elements.md "Many streams, one model"): elements with one
 * model-instance-id share one session and one queue, whose frames run in batches
 * (ufo_session_run_batch). Each stream gets its own frames' results, in its order, bit for bit
 * the results of an element of its own; a batch waits for other streams' frames no longer than
 * batch-timeout; with nireq 2, two batches run at once on two sessions; elements that disagree
 * on the instance's settings get an error naming the property. fp32 (bf16 batches agree within
 * rounding, not bit for bit). The demo model on shape scenes, so that there are objects to compare.
 */
#include "gstufotest.h"
#include "scene_frames.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/ufo/ufometa.h>
#include <string.h>

#define W 320
#define H 240
#define FRAMES 4
#define STREAMS 3

typedef struct {
  GstElement *pipe, *src, *sink, *infer;
} Stream;

typedef struct {
  guint elements, streaming, largest;
  guint64 frames, batches, timeouts, state_bytes;
} Stats;

/* the element's instance-stats property */
static Stats stats_of(GstElement *infer)
{
  GstStructure *st = NULL;
  g_object_get(infer, "instance-stats", &st, NULL);
  fail_unless(st != NULL, "no instance-stats");
  Stats s;
  fail_unless(gst_structure_get(st, "elements", G_TYPE_UINT, &s.elements, "streaming", G_TYPE_UINT,
                                &s.streaming, "largest-batch", G_TYPE_UINT, &s.largest, "frames",
                                G_TYPE_UINT64, &s.frames, "batches", G_TYPE_UINT64, &s.batches,
                                "timeouts", G_TYPE_UINT64, &s.timeouts, "state-bytes",
                                G_TYPE_UINT64, &s.state_bytes, NULL));
  gst_structure_free(st);
  return s;
}

static Stream stream_new(const gchar *element, const gchar *props)
{
  gchar *desc = g_strdup_printf(
      "appsrc name=src format=time caps=video/x-raw,format=RGB,width=%d,height=%d,framerate=10/1 "
      "! %s name=infer model=%s threads=2 precision=fp32 %s ! appsink name=sink sync=false",
      W, H, element, UFO_DEMO_MODEL, props);
  Stream st = {gst_parse_launch(desc, NULL)};
  g_free(desc);
  fail_unless(st.pipe != NULL);
  st.src = gst_bin_get_by_name(GST_BIN(st.pipe), "src");
  st.sink = gst_bin_get_by_name(GST_BIN(st.pipe), "sink");
  st.infer = gst_bin_get_by_name(GST_BIN(st.pipe), "infer");
  return st;
}

static void stream_free(Stream *st)
{
  gst_element_set_state(st->pipe, GST_STATE_NULL);
  gst_object_unref(st->src);
  gst_object_unref(st->sink);
  gst_object_unref(st->infer);
  gst_object_unref(st->pipe);
}

typedef struct {
  Stream *st;
  int s;
  gchar *out[FRAMES];
  int n_objects;
} Feed;

/* pushes the stream's frames and collects their results in order */
static gpointer feed(gpointer data)
{
  Feed *f = data;
  for (int k = 0; k < FRAMES; k++)
    fail_unless(gst_app_src_push_buffer(GST_APP_SRC(f->st->src), ufo_test_scene(f->s, k, W, H)) ==
                GST_FLOW_OK);
  gst_app_src_end_of_stream(GST_APP_SRC(f->st->src));
  for (int k = 0; k < FRAMES; k++) {
    GstSample *smp = gst_app_sink_try_pull_sample(GST_APP_SINK(f->st->sink), 300 * GST_SECOND);
    fail_unless(smp != NULL, "stream %d: frame %d did not come out", f->s, k);
    GstBuffer *buf = gst_sample_get_buffer(smp);
    fail_unless_equals_uint64(GST_BUFFER_PTS(buf), (guint64)k * GST_SECOND / 10);
    f->out[k] = ufo_test_describe(buf);
    f->n_objects += gst_ufo_meta_get_n_objects(gst_buffer_get_ufo_meta(buf));
    gst_sample_unref(smp);
  }
  /* then the EOS: the element has seen it before the sink does (it stops counting as streaming
   * on its way through), so the counters read after this are settled */
  fail_unless(gst_app_sink_try_pull_sample(GST_APP_SINK(f->st->sink), 300 * GST_SECOND) == NULL);
  fail_unless(gst_app_sink_is_eos(GST_APP_SINK(f->st->sink)), "stream %d: no EOS", f->s);
  return NULL;
}

static void run_streams(Stream *st, Feed *f, int n)
{
  GThread *t[STREAMS];
  for (int i = 0; i < n; i++) {
    fail_unless(gst_element_set_state(st[i].pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    f[i].st = &st[i];
  }
  for (int i = 0; i < n; i++)
    t[i] = g_thread_new("feed", feed, &f[i]);
  for (int i = 0; i < n; i++)
    g_thread_join(t[i]);
  for (int i = 0; i < n; i++) {
    GstBus *bus = gst_element_get_bus(st[i].pipe);
    GstMessage *err = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    fail_unless(err == NULL, "stream %d posted an error", i);
    gst_object_unref(bus);
  }
}

/* reference: each stream on an element of its own */
static void reference(const gchar *element, const gchar *props, Feed *ref)
{
  for (int s = 0; s < STREAMS; s++) {
    Stream st = stream_new(element, props);
    ref[s].s = s;
    run_streams(&st, &ref[s], 1);
    stream_free(&st);
  }
}

static void check_same(Feed *got, Feed *want)
{
  for (int s = 0; s < STREAMS; s++)
    for (int k = 0; k < FRAMES; k++)
      fail_unless(g_strcmp0(got[s].out[k], want[s].out[k]) == 0,
                  "stream %d frame %d:\n%s\nwant\n%s", s, k, got[s].out[k], want[s].out[k]);
}

static void feeds_clear(Feed *f)
{
  for (int s = 0; s < STREAMS; s++)
    for (int k = 0; k < FRAMES; k++)
      g_free(f[s].out[k]);
}

static void shared_streams(const gchar *element, const gchar *task_props)
{
  Feed want[STREAMS] = {{0}}, got[STREAMS] = {{0}};
  reference(element, task_props, want);
  int objects = 0;
  for (int s = 0; s < STREAMS; s++)
    objects += want[s].n_objects;
  fail_unless(objects > 0, "the reference found no objects to compare");

  gchar *props = g_strdup_printf("%s model-instance-id=cams batch-size=%d batch-timeout=60000",
                                 task_props, STREAMS);
  Stream st[STREAMS];
  for (int s = 0; s < STREAMS; s++) {
    st[s] = stream_new(element, props);
    got[s].s = s;
  }
  g_free(props);
  run_streams(st, got, STREAMS);
  Stats stats = stats_of(st[STREAMS - 1].infer);
  fail_unless_equals_int(stats.elements, STREAMS);
  fail_unless_equals_uint64(stats.frames, STREAMS * FRAMES);
  /* every stream waits for its frame: a batch starts when all of them are in, never by the
   * (one minute) timeout; streams that ran ahead give smaller batches, never more than one per
   * frame and stream */
  fail_unless_equals_uint64(stats.timeouts, 0);
  fail_unless(stats.largest == STREAMS, "largest batch %u", stats.largest);
  fail_unless(stats.batches < STREAMS * FRAMES, "%" G_GUINT64_FORMAT " batches", stats.batches);
  check_same(got, want);
  for (int s = 0; s < STREAMS; s++)
    stream_free(&st[s]);
  /* the instance went with its last element: the id is free for other settings */
  Stream again = stream_new(element, "model-instance-id=cams batch-size=1");
  Feed f = {.s = 0};
  run_streams(&again, &f, 1);
  for (int k = 0; k < FRAMES; k++)
    g_free(f.out[k]);
  stream_free(&again);
  feeds_clear(want);
  feeds_clear(got);
}

GST_START_TEST(test_shared_detection)
{
  shared_streams("ufodetect", "");
}
GST_END_TEST;

GST_START_TEST(test_shared_instance_masks)
{
  shared_streams("ufoseg", "task=instance");
}
GST_END_TEST;

/* a stream that sent a frame and then stalls (no EOS): the other's frames wait batch-timeout
 * for it, then run alone (counted as timeouts), with the results of an element of its own */
GST_START_TEST(test_timeout)
{
  Feed want[STREAMS] = {{0}};
  reference("ufodetect", "", want);
  Stream idle = stream_new("ufodetect", "model-instance-id=t batch-size=2 batch-timeout=20");
  Stream busy = stream_new("ufodetect", "model-instance-id=t batch-size=2 batch-timeout=20");
  fail_unless(gst_element_set_state(idle.pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless(gst_app_src_push_buffer(GST_APP_SRC(idle.src), ufo_test_scene(1, 0, W, H)) ==
              GST_FLOW_OK);
  GstSample *smp = gst_app_sink_try_pull_sample(GST_APP_SINK(idle.sink), 300 * GST_SECOND);
  fail_unless(smp != NULL);
  gst_sample_unref(smp);
  Feed got = {.s = 0};
  run_streams(&busy, &got, 1);
  Stats stats = stats_of(busy.infer);
  fail_unless_equals_int(stats.elements, 2);
  fail_unless_equals_int(stats.streaming, 1); /* busy reached EOS */
  fail_unless_equals_uint64(stats.frames, FRAMES + 1);
  fail_unless_equals_uint64(stats.batches, FRAMES + 1);
  fail_unless_equals_uint64(stats.timeouts, FRAMES);
  for (int k = 0; k < FRAMES; k++)
    fail_unless(g_strcmp0(got.out[k], want[0].out[k]) == 0, "frame %d", k);
  for (int k = 0; k < FRAMES; k++)
    g_free(got.out[k]);
  stream_free(&busy);
  stream_free(&idle);
  feeds_clear(want);
}
GST_END_TEST;

/* nireq 2: the instance runs two batches at once, each on a session of its own (batch-size 1:
 * every frame a batch, taken by whichever worker is free); each stream still gets its own
 * frames' results, in its order, bit for bit an element of its own's */
GST_START_TEST(test_nireq)
{
  Feed want[STREAMS] = {{0}}, got[STREAMS] = {{0}};
  reference("ufodetect", "", want);
  Stream st[STREAMS];
  for (int s = 0; s < STREAMS; s++) {
    st[s] = stream_new("ufodetect", "model-instance-id=req nireq=2");
    got[s].s = s;
  }
  run_streams(st, got, STREAMS);
  Stats stats = stats_of(st[0].infer);
  fail_unless_equals_uint64(stats.frames, STREAMS * FRAMES);
  fail_unless_equals_uint64(stats.batches, STREAMS * FRAMES);
  GstStructure *gs = NULL;
  g_object_get(st[0].infer, "instance-stats", &gs, NULL);
  guint nireq = 0, most = 0;
  fail_unless(gst_structure_get(gs, "nireq", G_TYPE_UINT, &nireq, "most-in-flight", G_TYPE_UINT,
                                &most, NULL));
  gst_structure_free(gs);
  fail_unless_equals_int(nireq, 2);
  /* three streams send their frames at once, each frame takes tens of ms or more: the second
   * worker takes one while the first runs another */
  fail_unless(most == 2, "most batches at once: %u", most);
  check_same(got, want);
  for (int s = 0; s < STREAMS; s++)
    stream_free(&st[s]);
  feeds_clear(want);
  feeds_clear(got);
}
GST_END_TEST;

/* one instance: one session. Its memory is counted once, whatever the number of elements */
GST_START_TEST(test_one_session)
{
  Stream a = stream_new("ufodetect", "model-instance-id=one");
  Feed fa = {.s = 0};
  run_streams(&a, &fa, 1);
  Stats one = stats_of(a.infer);
  Stream b = stream_new("ufodetect", "model-instance-id=one");
  Feed fb = {.s = 1};
  run_streams(&b, &fb, 1);
  Stats two = stats_of(b.infer);
  fail_unless_equals_int(two.elements, 2);
  fail_unless(one.state_bytes > 0);
  fail_unless_equals_uint64(two.state_bytes, one.state_bytes);
  fail_unless_equals_uint64(two.frames, 2 * FRAMES);
  for (int k = 0; k < FRAMES; k++) {
    g_free(fa.out[k]);
    g_free(fb.out[k]);
  }
  stream_free(&a);
  stream_free(&b);
}
GST_END_TEST;

/* elements of one instance must agree: the second gets an error naming the property */
GST_START_TEST(test_mismatch)
{
  const gchar *second[] = {"model-instance-id=m batch-size=3",
                           "model-instance-id=m batch-size=2 threads=1",
                           "model-instance-id=m batch-size=2 batch-timeout=7",
                           "model-instance-id=m batch-size=2 nireq=2"};
  const gchar *names[] = {"'batch-size'", "'threads'", "'batch-timeout'", "'nireq'"};
  for (guint i = 0; i < G_N_ELEMENTS(second); i++) {
    Stream a = stream_new("ufodetect", "model-instance-id=m batch-size=2");
    GstStateChangeReturn ret;
    GstMessage *msg = gst_ufo_test_state_error(a.pipe, GST_STATE_PAUSED, &ret);
    fail_unless(msg == NULL);
    /* the session is made at caps: push one frame through the first */
    Stream b = stream_new("ufodetect", second[i]);
    Feed fa = {.s = 0};
    run_streams(&a, &fa, 1);
    for (int k = 0; k < FRAMES; k++)
      g_free(fa.out[k]);
    fail_unless(gst_element_set_state(b.pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
    fail_unless(gst_app_src_push_buffer(GST_APP_SRC(b.src), ufo_test_scene(0, 0, W, H)) ==
                GST_FLOW_OK);
    GstBus *bus = gst_element_get_bus(b.pipe);
    msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_ERROR);
    gst_object_unref(bus);
    fail_unless(msg != NULL, "%s: no error", second[i]);
    GError *err = NULL;
    gst_message_parse_error(msg, &err, NULL);
    fail_unless(strstr(err->message, names[i]) != NULL, "%s", err->message);
    fail_unless(strstr(err->message, "model-instance-id 'm'") != NULL, "%s", err->message);
    g_error_free(err);
    gst_message_unref(msg);
    stream_free(&b);
    stream_free(&a);
  }
}
GST_END_TEST;

static Suite *batching_suite(void)
{
  Suite *s = suite_create("ufobatching");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 900);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_shared_detection);
  tcase_add_test(tc, test_shared_instance_masks);
  tcase_add_test(tc, test_timeout);
  tcase_add_test(tc, test_nireq);
  tcase_add_test(tc, test_one_session);
  tcase_add_test(tc, test_mismatch);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(batching_suite(), "ufobatching", __FILE__);
}
