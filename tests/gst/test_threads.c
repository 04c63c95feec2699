/* Thread safety (issue 20 deliverable 3): two pipelines share one model (the model cache gives
 * both elements the same UfoModel and weights; in the second case one model instance: one
 * session and one batching queue; in the third two sessions of one instance, nireq 2) while a third
 * thread keeps changing `prompt`, `threshold`, `task`, `classes` and `beam-size` on both elements
 * as buffers flow. Every buffer must come out with its GstUfoMeta, both pipelines must reach EOS
 * without an error. Under ThreadSanitizer (tools/run-tsan.sh) this is the race check; under ASan
 * the memory check. */
#include "gstufotest.h"

#include <gst/ufo/ufometa.h>

#define FRAMES 10

typedef struct {
  GstElement *infer[2];
  gint stop;
  guint changes;
} Changer;

static gpointer change_properties(gpointer data)
{
  Changer *c = data;
  const gchar *prompts[] = {"the red circle", "a blue square on the left", "the small cross"};
  const gchar *classes[] = {"", "person", "person,car"};
  for (guint i = 0; !g_atomic_int_get(&c->stop); i++) {
    GstElement *e = c->infer[i % 2];
    g_object_set(e, "prompt", prompts[i % 3], "threshold", (i % 5) * 0.1 - 0.1, "beam-size", i % 3,
                 "classes", classes[i % 3], NULL);
    /* task is READY-mutable: a change while playing applies from the next frame on */
    gst_util_set_object_arg(G_OBJECT(e), "task", i % 7 == 0 ? "grounding" : "detection");
    c->changes++;
    g_usleep(2000);
  }
  return NULL;
}

static GstPadProbeReturn count_meta(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  gint *with_meta = data;
  if (gst_buffer_get_ufo_meta(GST_PAD_PROBE_INFO_BUFFER(info)))
    g_atomic_int_inc(with_meta);
  return GST_PAD_PROBE_OK;
}

/* the two pipelines' ufodetect elements get `extra` properties; fp32: the bf16 path runs in
 * oneDNN, whose own (uninstrumented) locking ThreadSanitizer cannot see */
static void property_changes_while_streaming(const gchar *extra)
{
  GstElement *p[2];
  gint with_meta[2] = {0, 0};
  Changer c = {0};
  for (int k = 0; k < 2; k++) {
    gchar *desc = g_strdup_printf(
        "videotestsrc num-buffers=%d pattern=%d ! video/x-raw,format=I420,width=64,height=48 ! "
        "ufodetect name=infer model=random:tiny precision=fp32 prompt=\"the red circle\" %s ! "
        "fakesink name=sink",
        FRAMES, k ? 18 : 0, extra);
    p[k] = gst_parse_launch(desc, NULL);
    g_free(desc);
    fail_unless(p[k] != NULL);
    c.infer[k] = gst_bin_get_by_name(GST_BIN(p[k]), "infer");
    GstElement *sink = gst_bin_get_by_name(GST_BIN(p[k]), "sink");
    GstPad *pad = gst_element_get_static_pad(sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_meta, &with_meta[k], NULL);
    gst_object_unref(pad);
    gst_object_unref(sink);
  }
  GThread *t = g_thread_new("changer", change_properties, &c);
  for (int k = 0; k < 2; k++)
    fail_unless(gst_element_set_state(p[k], GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  for (int k = 0; k < 2; k++) {
    GstBus *bus = gst_element_get_bus(p[k]);
    GstMessage *msg =
        gst_bus_timed_pop_filtered(bus, 300 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    fail_unless(msg != NULL, "pipeline %d: no EOS", k);
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error(msg, &err, &dbg);
      fail("pipeline %d: %s (%s)", k, err->message, dbg);
    }
    gst_message_unref(msg);
    gst_object_unref(bus);
  }
  g_atomic_int_set(&c.stop, 1);
  g_thread_join(t);
  GST_INFO("%u property changes while %d + %d frames flowed", c.changes, FRAMES, FRAMES);
  fail_unless(c.changes > 10, "only %u property changes", c.changes);
  for (int k = 0; k < 2; k++) {
    fail_unless_equals_int(g_atomic_int_get(&with_meta[k]), FRAMES);
    fail_unless_equals_int(gst_element_set_state(p[k], GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
    gst_object_unref(c.infer[k]);
    gst_object_unref(p[k]);
  }
}

GST_START_TEST(test_property_changes_while_streaming)
{
  property_changes_while_streaming("");
}
GST_END_TEST;

/* the same with both elements on one model instance (gst/ufoinstance.c): one session, one
 * queue and its worker thread, batches of the two streams' frames whose requests (task, prompt,
 * beam size) keep changing */
GST_START_TEST(test_shared_instance_while_streaming)
{
  property_changes_while_streaming("model-instance-id=threads batch-size=2 batch-timeout=5");
}
GST_END_TEST;

/* the same with two inference requests (nireq 2): two workers, each with a session of its own,
 * run the two streams' frames at once */
GST_START_TEST(test_nireq_while_streaming)
{
  property_changes_while_streaming("model-instance-id=threads2 batch-size=1 nireq=2");
}
GST_END_TEST;

static Suite *threads_suite(void)
{
  Suite *s = suite_create("ufothreads");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_property_changes_while_streaming);
  tcase_add_test(tc, test_shared_instance_while_streaming);
  tcase_add_test(tc, test_nireq_while_streaming);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(threads_suite(), "ufothreads", __FILE__);
}
