/* NULL <-> PLAYING 100 times (model loaded, session made, one frame inferred and drawn each
 * time) without a growing number of live GstObjects/GstMiniObjects, counted by the leaks
 * tracer (run with GST_TRACERS=leaks; heap leaks are ASan's job in the sanitizer build). */
#include "gstufotest.h"

static guint live_objects(GstTracer *leaks)
{
  GstStructure *info = NULL;
  /* 1.22's tracer copies its table without references: an object still finishing its
   * finalisation on a streaming/pool thread after the state change would be ref'd while dying.
   * Give such asynchronous teardown time to complete before listing. */
  g_usleep(300 * 1000);
  g_signal_emit_by_name(leaks, "get-live-objects", &info);
  fail_unless(info != NULL);
  const GValue *list = gst_structure_get_value(info, "live-objects-list");
  guint n = list ? gst_value_list_get_size(list) : 0;
  /* 1.22's tracer stores the objects without taking a reference, yet freeing the structure
   * drops one: take it here so the live objects survive the count */
  for (guint i = 0; i < n; i++) {
    const GstStructure *e = gst_value_get_structure(gst_value_list_get_value(list, i));
    const GValue *v = gst_structure_get_value(e, "object");
    if (v && G_VALUE_HOLDS_OBJECT(v))
      g_object_ref(g_value_get_object(v));
    else if (v && G_VALUE_HOLDS_BOXED(v) && g_value_get_boxed(v))
      gst_mini_object_ref(g_value_get_boxed(v));
  }
  gst_structure_free(info);
  return n;
}

static void run_once(GstElement *pipeline)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  fail_unless(gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  fail_unless(msg != NULL && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "no EOS");
  gst_message_unref(msg);
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS);
  /* drop queued messages (state changes, stream-start ...): they hold references */
  gst_bus_set_flushing(bus, TRUE);
  gst_bus_set_flushing(bus, FALSE);
  gst_object_unref(bus);
}

GST_START_TEST(test_state_cycles)
{
  GstTracer *leaks = NULL;
  GList *tracers = gst_tracing_get_active_tracers();
  for (GList *l = tracers; l; l = l->next)
    if (g_str_equal(G_OBJECT_TYPE_NAME(l->data), "GstLeaksTracer"))
      leaks = gst_object_ref(l->data);
  g_list_free_full(tracers, gst_object_unref);
  fail_unless(leaks != NULL, "run with GST_TRACERS=leaks");

  const gchar *n_env = g_getenv("UFO_TEST_CYCLES");
  const int cycles = n_env ? atoi(n_env) : 100;
  GstElement *p =
      gst_parse_launch("videotestsrc num-buffers=1 ! video/x-raw,format=I420,width=32,height=24 ! "
                       "ufodetect model=random:tiny task=caption ! ufooverlay ! fakesink",
                       NULL);
  fail_unless(p != NULL);
  run_once(p); /* warm-up: types, caches, pools */
  const guint before = live_objects(leaks);
  for (int i = 1; i < cycles; i++)
    run_once(p);
  guint after = live_objects(leaks);
  /* objects released asynchronously (streaming-thread teardown) get a moment to go; a leak
   * per cycle would show up as ~100 extra objects */
  for (int tries = 0; after > before && tries < 10; tries++) {
    g_usleep(100 * 1000);
    after = live_objects(leaks);
  }
  GST_INFO("live objects after warm-up %u, after %d cycles %u", before, cycles, after);
  fail_unless(after <= before, "%u live objects after %d cycles, %u after the first", after, cycles,
              before);
  gst_object_unref(p);
  gst_object_unref(leaks);
}
GST_END_TEST;

static Suite *cycles_suite(void)
{
  Suite *s = suite_create("ufocycles");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 600);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_state_cycles);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(cycles_suite(), "ufocycles", __FILE__);
}
