/* libFuzzer target: the parsers of the elements' string properties and of the analytics config,
 * on arbitrary bytes, with no GStreamer pipeline (the parsers are GLib-only code):
 *   - `class-thresholds` and `classes` of ufodetect / ufoseg / ufooverlay
 *     (gst/filter/class_filter.c), then the label check against a label set and the per-object
 *     test the elements run on each result;
 *   - `lines` and `zones` of ufoanalytics and its config file, JSON or key file
 *     (gst/analytics/lines_zones.c), then a few frames of tracked objects through the rules.
 * The property parsers get the bytes up to the first NUL (a property string); the config parser
 * gets all of them (a file). Every parser returns TRUE or an error (never both, never neither), a
 * rule it accepts has a name and the point count of its kind at finite coordinates (as the
 * property syntax in docs/elements.md requires), and nothing may crash, read out of bounds or
 * leak.
 *
 * Seeds: tests/fuzz/corpus/properties (tests/fuzz/make_corpus.py). Fuzzing: docs/reliability.md. */
#include "class_filter.h"
#include "lines_zones.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
  fprintf(stderr, "%s\n", what);
  abort(); /* a broken contract: the finding */
}

static void check_outcome(const char *what, gboolean ok, GError **error)
{
  if (ok == (*error != NULL)) {
    fprintf(stderr, "%s returned %s with %s error\n", what, ok ? "TRUE" : "FALSE",
            *error ? "an" : "no");
    abort();
  }
  g_clear_error(error);
}

static void class_filter(const char *text)
{
  static const char *const labels[] = {"circle", "square", "triangle", "star", "red circle"};
  const int n_labels = G_N_ELEMENTS(labels);
  GstUfoFilter filter;
  gst_ufo_filter_init(&filter);
  GError *error = NULL;
  check_outcome("gst_ufo_filter_set_class_thresholds",
                gst_ufo_filter_set_class_thresholds(&filter, text, &error), &error);
  check_outcome("gst_ufo_filter_set_classes", gst_ufo_filter_set_classes(&filter, text, &error),
                &error);
  char *all = NULL;
  gboolean ok = gst_ufo_filter_check_labels(&filter, labels, n_labels, &all, &error);
  check_outcome("gst_ufo_filter_check_labels", ok, &error);
  if (ok != (all == NULL))
    fail("gst_ufo_filter_check_labels: the list of all names without an error, or the reverse");
  g_free(all);
  for (int id = -1; id <= n_labels; id++)
    for (int k = 0; k < 3; k++)
      (void)gst_ufo_filter_accepts(&filter, id, id >= 0 && id < n_labels ? labels[id] : NULL,
                                   k * 0.5);
  (void)gst_ufo_filter_engine_cap(&filter);
  gst_ufo_filter_clear(&filter);
}

static void check_rules(const UfoAnalytics *a)
{
  for (int i = 0; i < ufo_analytics_get_n_rules(a); i++) {
    const UfoRule *r = ufo_analytics_get_rule(a, i);
    if (!r->name || !r->name[0])
      fail("analytics: a rule without a name");
    if (r->kind == UFO_RULE_LINE ? r->n_points != 2 : r->n_points < 3)
      fail("analytics: a rule with the wrong number of points");
    for (int k = 0; k < 2 * r->n_points; k++)
      if (!isfinite(r->xy[k]))
        fail("analytics: a rule with a coordinate that is not finite");
    for (char **c = r->classes; c && *c; c++)
      if (!(*c)[0])
        fail("analytics: an empty class name");
  }
}

/* Three frames of a few objects (tracked and not) moving across the frame. */
static void run_frames(UfoAnalytics *a)
{
  for (int f = 0; f < 3; f++) {
    const double t = f * 150.0;
    UfoAnalyticsObject objs[] = {
        {t, t, 20, 40, 1, 0, "circle"},
        {400 - t, 100, 30, 30, 2, 3, "star"},
        {100, 400 - t, 10, 10, 0, 1, NULL},
    };
    ufo_analytics_update(a, objs, G_N_ELEMENTS(objs),
                         f == 1 ? UFO_ANCHOR_CENTER : UFO_ANCHOR_BOTTOM_CENTER);
    size_t n = 0;
    const UfoEvent *ev = ufo_analytics_get_events(a, &n);
    for (size_t i = 0; i < n; i++)
      if (ev[i].rule < 0 || ev[i].rule >= ufo_analytics_get_n_rules(a) || ev[i].object < 0 ||
          ev[i].object >= (int)G_N_ELEMENTS(objs))
        fail("analytics: an event naming no rule or no object");
  }
}

static void analytics(const char *text, const char *data, size_t size)
{
  UfoAnalytics *a = ufo_analytics_new();
  GError *error = NULL;
  check_outcome("ufo_analytics_add_lines", ufo_analytics_add_lines(a, text, &error), &error);
  check_outcome("ufo_analytics_add_zones", ufo_analytics_add_zones(a, text, &error), &error);
  check_outcome("ufo_analytics_load_config_data",
                ufo_analytics_load_config_data(a, data, size, "fuzz", &error), &error);
  check_rules(a);
  run_frames(a);
  ufo_analytics_reset(a);
  ufo_analytics_free(a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char *text = g_strndup((const char *)data, size); /* up to the first NUL: a property string */
  char *file = g_malloc(size + 1);                  /* all of it: a config file */
  memcpy(file, data, size);
  file[size] = '\0';
  class_filter(text);
  analytics(text, file, size);
  g_free(file);
  g_free(text);
  return 0;
}
