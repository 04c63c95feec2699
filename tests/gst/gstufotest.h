/* Shared helpers of the element tests (header-only, included once per test program). */
#ifndef GST_UFO_TEST_H
#define GST_UFO_TEST_H

#include <gst/check/gstcheck.h>
#include <stdio.h>
#include <stdlib.h>

/* Loads the plugins the tests' pipelines use once, in the parent, before check forks a child per
 * test: each child would otherwise dlopen them itself, and under ASan with the slow unwinder the
 * loader's and the libraries' start-up allocations cost ~28 % of a fork-per-test run (perf,
 * 2026-12-07). A plugin missing from this machine is left to the test that needs it. */
static inline void gst_ufo_test_preload_plugins(void)
{
  static const char *const names[] = {
      "ufo", "coreelements", "videotestsrc", "videoconvertscale", "app", NULL};
  for (int i = 0; names[i]; i++) {
    GstPlugin *p = gst_registry_find_plugin(gst_registry_get(), names[i]);
    if (!p)
      continue;
    GstPlugin *loaded = gst_plugin_load(p);
    gst_object_unref(p);
    if (loaded)
      gst_object_unref(loaded);
  }
}

/* Exit 77 (meson SKIP) when the plugin cannot load only because the engine library does not
 * provide the session API yet (engine still being integrated); any other load failure fails.
 * Then preloads the plugins (gst_ufo_test_preload_plugins). */
static inline void gst_ufo_test_require_plugin(void)
{
  GstPlugin *p = gst_registry_find_plugin(gst_registry_get(), "ufo");
  if (p) {
    gst_object_unref(p);
    gst_ufo_test_preload_plugins();
    return;
  }
  gchar *path = g_build_filename(BUILD_ROOT, "gst", "libgstufo.so", NULL);
  GError *err = NULL;
  p = gst_plugin_load_file(path, &err);
  if (p) {
    gst_object_unref(p);
    g_free(path);
    gst_ufo_test_preload_plugins();
    return;
  }
  const gboolean engine_missing = err && g_strrstr(err->message, "undefined symbol: ufo_");
  fprintf(stderr, "%s: plugin %s does not load: %s\n", engine_missing ? "SKIP" : "FAIL", path,
          err ? err->message : "?");
  exit(engine_missing ? 77 : 1);
}

/* Sets an element to a state and returns the first ERROR message posted meanwhile (or NULL). */
static inline GstMessage *gst_ufo_test_state_error(GstElement *pipeline, GstState state,
                                                   GstStateChangeReturn *ret)
{
  GstBus *bus = gst_element_get_bus(pipeline);
  *ret = gst_element_set_state(pipeline, state);
  if (*ret == GST_STATE_CHANGE_ASYNC)
    *ret = gst_element_get_state(pipeline, NULL, NULL, 10 * GST_SECOND);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  gst_object_unref(bus);
  return msg;
}

#endif
