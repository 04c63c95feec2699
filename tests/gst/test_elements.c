/* ufodetect / ufoseg / ufooverlay: registration, properties, enums, gst-inspect, error paths and
 * overlay drawing. Nothing here depends on what the model infers. */
#include <gst/check/gstharness.h>
#include <gst/controller/gstdirectcontrolbinding.h>
#include <gst/controller/gstinterpolationcontrolsource.h>
#include <gst/ufo/ufometa.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "gstufotest.h"
#include "model/model.h"

typedef struct {
  const gchar *name;
  const gchar *value; /* default, serialised with gst_value_serialize; NULL = NULL string */
} PropDefault;

static const PropDefault infer_props[] = {
    {"model", NULL},           {"device", "auto"},
    {"gpu-id", "0"},           {"threads", "0"},
    {"precision", "auto"},     {"threshold", "-1"},
    {"class-thresholds", ""},  {"classes", ""},
    {"max-detections", "100"}, {"nms-iou", "-1"},
    {"beam-size", "0"},        {"temperature", "0"},
    {"length-penalty", "0"},   {"inference-interval", "1"},
    {"reuse-results", "true"}, {"late-frames", "process"},
    {"unique-id", "1"},        {"attach-roi-meta", "true"},
};

static const PropDefault overlay_props[] = {
    {"draw-boxes", "true"},
    {"draw-labels", "true"},
    {"draw-scores", "true"},
    {"draw-masks", "true"},
    {"draw-track-ids", "true"},
    {"draw-captions", "true"},
    {"mask-alpha", "0.45"},
    {"semantic-alpha", "0.5"},
    {"mask-threshold", "0.5"},
    {"line-width", "0"},
    {"font-family", "Sans"},
    {"font-size", "0"},
    {"box-color", "0"},
    {"text-color", "0"},
    {"text-background", "true"},
    {"min-score", "0"},
    {"classes", ""},
    {"unique-id", "-1"},
    {"color-by", "class"},
    {"sources", "ufo+roi"},
    {"draw-analytics", "true"},
    {"semantic-hide", "background"},
};

static void check_props(const gchar *factory, const PropDefault *props, gsize n)
{
  GstElement *e = gst_element_factory_make(factory, NULL);
  fail_unless(e != NULL, "no element %s", factory);
  for (gsize i = 0; i < n; i++) {
    GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), props[i].name);
    fail_unless(ps != NULL, "%s has no property %s", factory, props[i].name);
    fail_unless(ps->flags & G_PARAM_STATIC_STRINGS);
    fail_unless(strlen(g_param_spec_get_blurb(ps)) > 10, "%s: no blurb", props[i].name);
    GValue v = G_VALUE_INIT;
    g_value_init(&v, ps->value_type);
    g_object_get_property(G_OBJECT(e), props[i].name, &v);
    if (G_VALUE_HOLDS_STRING(&v) && !props[i].value) {
      fail_unless(g_value_get_string(&v) == NULL, "%s.%s", factory, props[i].name);
    } else if (G_VALUE_HOLDS_STRING(&v)) {
      fail_unless_equals_string(g_value_get_string(&v), props[i].value);
    } else if (G_VALUE_HOLDS_FLAGS(&v)) {
      /* gst_value_serialize writes flag names; the docs give nicks joined by '+' */
      GFlagsClass *fc = G_PARAM_SPEC_FLAGS(ps)->flags_class;
      GString *nicks = g_string_new(NULL);
      for (guint k = 0; k < fc->n_values; k++)
        if (g_value_get_flags(&v) & fc->values[k].value)
          g_string_append_printf(nicks, "%s%s", nicks->len ? "+" : "", fc->values[k].value_nick);
      fail_unless_equals_string(nicks->str, props[i].value);
      g_string_free(nicks, TRUE);
    } else if (G_VALUE_HOLDS_DOUBLE(&v)) {
      fail_unless_equals_float(g_value_get_double(&v), g_ascii_strtod(props[i].value, NULL));
    } else {
      gchar *s = gst_value_serialize(&v);
      fail_unless_equals_string(s, props[i].value);
      g_free(s);
    }
    /* the GParamSpec default is the same as the instance's initial value */
    const GValue *def = g_param_spec_get_default_value(ps);
    fail_unless(g_param_values_cmp(ps, def, &v) == 0, "%s.%s: spec default differs", factory,
                props[i].name);
    g_value_unset(&v);
  }
  gst_object_unref(e);
}

GST_START_TEST(test_properties)
{
  check_props("ufodetect", infer_props, G_N_ELEMENTS(infer_props));
  check_props("ufoseg", infer_props, G_N_ELEMENTS(infer_props));
  check_props("ufooverlay", overlay_props, G_N_ELEMENTS(overlay_props));
  const PropDefault detect_extra[] = {{"task", "detection"}, {"prompt", NULL}};
  check_props("ufodetect", detect_extra, 2);
  const PropDefault seg_extra[] = {
      {"task", "instance"}, {"mask-threshold", "0.5"}, {"instance-boxes", "region"}};
  check_props("ufoseg", seg_extra, 3);

  GstElementFactory *f = gst_element_factory_find("ufodetect");
  fail_unless_equals_string(gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS),
                            "Filter/Analyzer/Video");
  gst_object_unref(f);
  f = gst_element_factory_find("ufooverlay");
  fail_unless_equals_string(gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS),
                            "Analyzer/Visualization/Video");
  gst_object_unref(f);
}
GST_END_TEST;

/* Every value of every enum property can be set and read back. */
GST_START_TEST(test_enum_values)
{
  const gchar *factories[] = {"ufodetect", "ufoseg"};
  for (int fi = 0; fi < 2; fi++) {
    GstElement *e = gst_element_factory_make(factories[fi], NULL);
    guint n;
    GParamSpec **specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
    int n_enums = 0;
    for (guint i = 0; i < n; i++) {
      if (!G_IS_PARAM_SPEC_ENUM(specs[i]))
        continue;
      n_enums++;
      GEnumClass *ec = G_PARAM_SPEC_ENUM(specs[i])->enum_class;
      for (guint k = 0; k < ec->n_values; k++) {
        gst_util_set_object_arg(G_OBJECT(e), specs[i]->name, ec->values[k].value_nick);
        gint got;
        g_object_get(e, specs[i]->name, &got, NULL);
        fail_unless_equals_int(got, ec->values[k].value);
      }
    }
    /* device, precision, late-frames, task (+ ufoseg's instance-boxes) */
    fail_unless_equals_int(n_enums, fi == 0 ? 4 : 5);
    g_free(specs);
    gst_object_unref(e);
  }
}
GST_END_TEST;

/* ufooverlay's color-by enum and sources flags: every nick sets and reads back. */
GST_START_TEST(test_overlay_enum_flags)
{
  GstElement *e = gst_element_factory_make("ufooverlay", NULL);
  const gchar *color_by[] = {"class", "track", "producer"};
  for (gint k = 0; k < 3; k++) {
    gst_util_set_object_arg(G_OBJECT(e), "color-by", color_by[k]);
    gint got;
    g_object_get(e, "color-by", &got, NULL);
    fail_unless_equals_int(got, k);
  }
  const struct {
    const gchar *nick;
    guint value;
  } sources[] = {{"ufo", 1}, {"roi", 2}, {"ufo+roi", 3}, {"0", 0}};
  for (gsize k = 0; k < G_N_ELEMENTS(sources); k++) {
    gst_util_set_object_arg(G_OBJECT(e), "sources", sources[k].nick);
    guint got;
    g_object_get(e, "sources", &got, NULL);
    fail_unless_equals_int(got, sources[k].value);
  }
  /* no analytics flag in a 1.22 build */
  GParamSpec *ps = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "sources");
  fail_unless(g_flags_get_value_by_nick(G_PARAM_SPEC_FLAGS(ps)->flags_class, "analytics") == NULL);
  gst_object_unref(e);
}
GST_END_TEST;

/* gst-inspect-1.0 (a separate process with this test's environment) lists every property. */
GST_START_TEST(test_gst_inspect)
{
  gchar **envp = g_get_environ();
#ifdef GST_UFO_SANITIZED
  /* the system gst-inspect-1.0 loads the sanitizer-instrumented plugin with the runtimes
   * preloaded (tests/gst/meson.build) and without forking the registry scanner */
  const gchar *preload = g_getenv("UFO_SANITIZER_PRELOAD");
  fail_unless(preload && *preload, "UFO_SANITIZER_PRELOAD is not set");
  envp = g_environ_setenv(envp, "LD_PRELOAD", preload, TRUE);
  envp = g_environ_setenv(envp, "ASAN_OPTIONS", "detect_leaks=0", TRUE);
  envp = g_environ_setenv(envp, "GST_REGISTRY_FORK", "no", TRUE);
#endif
  const gchar *factories[] = {"ufodetect", "ufoseg", "ufooverlay"};
  for (int fi = 0; fi < 3; fi++) {
    gchar *argv[] = {"gst-inspect-1.0", (gchar *)factories[fi], NULL};
    gchar *out = NULL;
    gint status;
    fail_unless(g_spawn_sync(NULL, argv, envp, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                             NULL, NULL, &out, NULL, &status, NULL));
    fail_unless(g_spawn_check_wait_status(status, NULL), "gst-inspect-1.0 %s failed",
                factories[fi]);
    GstElement *e = gst_element_factory_make(factories[fi], NULL);
    guint n;
    GParamSpec **specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
    for (guint i = 0; i < n; i++) {
      gchar *needle = g_strdup_printf("\n  %s ", specs[i]->name);
      fail_unless(strstr(out, needle) != NULL, "gst-inspect %s does not list %s", factories[fi],
                  specs[i]->name);
      g_free(needle);
    }
    g_free(specs);
    gst_object_unref(e);
    g_free(out);
  }
  g_strfreev(envp);
}
GST_END_TEST;

/* ---- errors ---- */

static GstElement *error_pipeline(const gchar *element_desc)
{
  gchar *desc = g_strdup_printf(
      "videotestsrc num-buffers=2 ! video/x-raw,format=RGB,width=32,height=24 ! %s ! fakesink",
      element_desc);
  GstElement *p = gst_parse_launch(desc, NULL);
  g_free(desc);
  fail_unless(p != NULL);
  return p;
}

/* Runs the pipeline to PAUSED (and PLAYING when it gets there); returns the first ERROR. */
static GstMessage *run_to_error(GstElement *p)
{
  GstStateChangeReturn ret;
  GstMessage *msg = gst_ufo_test_state_error(p, GST_STATE_PLAYING, &ret);
  if (!msg) {
    GstBus *bus = gst_element_get_bus(p);
    msg = gst_bus_timed_pop_filtered(bus, 20 * GST_SECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    gst_object_unref(bus);
    if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS)
      gst_clear_message(&msg);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  return msg;
}

static void assert_error(GstMessage *msg, GQuark domain, gint code, const gchar *needle)
{
  fail_unless(msg != NULL, "no error posted (expected one mentioning '%s')", needle);
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(err->domain == domain && err->code == code, "error %s:%d '%s' (%s)",
              g_quark_to_string(err->domain), err->code, err->message, dbg);
  fail_unless(strstr(err->message, needle) != NULL, "'%s' does not mention '%s'", err->message,
              needle);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
}

/* Runs the pipeline to EOS, failing on an error or when EOS does not come. */
static void assert_runs_to_eos(GstElement *p)
{
  GstStateChangeReturn ret;
  GstMessage *msg = gst_ufo_test_state_error(p, GST_STATE_PLAYING, &ret);
  if (!msg) {
    GstBus *bus = gst_element_get_bus(p);
    msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    gst_object_unref(bus);
  }
  gst_element_set_state(p, GST_STATE_NULL);
  fail_unless(msg != NULL, "the pipeline neither ended nor failed within a minute");
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *err = NULL;
    gst_message_parse_error(msg, &err, NULL);
    fail("expected the pipeline to run, got error '%s'", err->message);
  }
  gst_message_unref(msg);
}

GST_START_TEST(test_error_missing_model)
{
  const gchar *path = "/nonexistent/dir/ufo-missing.safetensors";
  gchar *desc = g_strdup_printf("ufodetect model=%s", path);
  GstElement *p = error_pipeline(desc);
  g_free(desc);
  /* the model is loaded at READY->PAUSED: READY is still reachable */
  GstStateChangeReturn ret;
  GstMessage *msg = gst_ufo_test_state_error(p, GST_STATE_READY, &ret);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_SUCCESS);
  fail_unless(msg == NULL);
  msg = gst_ufo_test_state_error(p, GST_STATE_PAUSED, &ret);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
  assert_error(msg, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, path);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);

  p = error_pipeline("ufoseg");
  assert_error(run_to_error(p), GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_FOUND, "'model'");
  gst_object_unref(p);
}
GST_END_TEST;

/* A file in a fresh temporary directory; tmp_remove() deletes both. */
static gchar *tmp_path(const gchar *name)
{
  gchar *dir = g_dir_make_tmp("gstufo-XXXXXX", NULL);
  fail_unless(dir != NULL);
  gchar *path = g_build_filename(dir, name, NULL);
  g_free(dir);
  return path;
}

static void tmp_remove(gchar *path)
{
  gchar *dir = g_path_get_dirname(path);
  g_unlink(path);
  g_rmdir(dir);
  g_free(dir);
  g_free(path);
}

GST_START_TEST(test_error_corrupt_model)
{
  /* a safetensors header length that runs past the end of the file */
  const gchar bytes[16] = {0x40, 0, 0, 0, 0, 0, 0, 0, '{', '"', 'a', '"'};
  gchar *path = tmp_path("corrupt.safetensors");
  fail_unless(g_file_set_contents(path, bytes, sizeof bytes, NULL));
  gchar *desc = g_strdup_printf("ufodetect model=%s", path);
  GstElement *p = error_pipeline(desc);
  assert_error(run_to_error(p), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, path);
  gst_object_unref(p);
  g_free(desc);
  tmp_remove(path);
}
GST_END_TEST;

/* A real model file whose config has no caption task (written with the engine's saver). */
GST_START_TEST(test_error_task_missing)
{
  UfoConfig cfg;
  GError *err = NULL;
  fail_unless(ufo_config_builtin("tiny", &cfg, &err));
  cfg.tasks[UFO_TASK_CAPTION].enabled = FALSE;
  gchar *json = ufo_config_to_json(&cfg);
  UfoModel *m = ufo_model_new_random(json, 0, &err);
  fail_unless(m != NULL, "%s", err ? err->message : "");
  gchar *path = tmp_path("nocaption.safetensors");
  fail_unless(ufo_model_save(m, path, UFO_DTYPE_F32, &err), "%s", err ? err->message : "");
  ufo_model_unref(m);
  g_free(json);

  gchar *desc = g_strdup_printf("ufodetect task=caption model=%s", path);
  GstElement *p = error_pipeline(desc);
  assert_error(run_to_error(p), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "'caption'");
  gst_object_unref(p);
  g_free(desc);
  tmp_remove(path);
}
GST_END_TEST;

GST_START_TEST(test_error_grounding_without_prompt)
{
  GstElement *p = error_pipeline("ufodetect task=grounding model=random:tiny");
  assert_error(run_to_error(p), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "prompt");
  gst_object_unref(p);
}
GST_END_TEST;

/* 2,000 x "the red circle": LIBRARY/SETTINGS saying the prompt is too long, with its token
 * count and the model's limit, at READY->PAUSED (not "Inference failed on a frame."). */
GST_START_TEST(test_error_prompt_too_long)
{
  GstElement *p = error_pipeline("ufodetect name=d task=grounding model=random:tiny");
  GstElement *d = gst_bin_get_by_name(GST_BIN(p), "d");
  GString *prompt = g_string_new(NULL);
  for (int i = 0; i < 2000; i++)
    g_string_append(prompt, "the red circle ");
  g_object_set(d, "prompt", prompt->str, NULL);
  gst_object_unref(d);
  g_string_free(prompt, TRUE);
  GstStateChangeReturn ret;
  GstMessage *msg = gst_ufo_test_state_error(p, GST_STATE_PAUSED, &ret);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
  fail_unless(msg != NULL);
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(strstr(err->message, "too long") && strstr(err->message, "at most 512") &&
                  g_regex_match_simple("has [0-9]{4,} tokens", err->message, 0, 0),
              "%s", err->message);
  g_error_free(err);
  assert_error(msg, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "prompt");
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
}
GST_END_TEST;

GST_START_TEST(test_error_bad_class_list)
{
  GstElement *p = error_pipeline("ufodetect model=random:tiny class-thresholds=person");
  assert_error(run_to_error(p), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, "class-thresholds");
  gst_object_unref(p);
}
GST_END_TEST;

/* temperature / length-penalty reach the engine: a temperature it refuses is its error */
GST_START_TEST(test_beam_settings_reach_engine)
{
  GstElement *p = error_pipeline("ufodetect model=random:tiny task=caption beam-size=2 "
                                 "temperature=1e-9 length-penalty=10");
  GstMessage *msg = run_to_error(p);
  fail_unless(msg != NULL, "no error for temperature=1e-9");
  GError *err = NULL;
  gchar *dbg = NULL;
  gst_message_parse_error(msg, &err, &dbg);
  fail_unless(dbg && strstr(dbg, "temperature 1e-09"), "'%s' / '%s'", err->message, dbg);
  g_error_free(err);
  g_free(dbg);
  gst_message_unref(msg);
  gst_object_unref(p);
  /* in range: the frame runs */
  p = error_pipeline("ufodetect model=random:tiny task=caption beam-size=3 temperature=1.5 "
                     "length-penalty=10");
  msg = run_to_error(p);
  fail_unless(msg == NULL, "the published recipe failed");
  gst_object_unref(p);
}
GST_END_TEST;

/* Class names and ids the model does not have: LIBRARY/SETTINGS at READY->PAUSED naming the
 * entry, the property and the valid names; known names and ids run. */
GST_START_TEST(test_error_unknown_class)
{
  const gchar *cases[][2] = {{"classes=nosuchclass", "'nosuchclass'"},
                             {"classes=person,nosuchclass", "'nosuchclass'"},
                             {"class-thresholds=person=0.5,nosuchclass=0.2", "'nosuchclass'"},
                             {"classes=999", "unknown class 999"}};
  for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
    gchar *desc = g_strdup_printf("ufodetect model=random:tiny %s", cases[i][0]);
    GstElement *p = error_pipeline(desc);
    GstStateChangeReturn ret;
    GstMessage *msg = gst_ufo_test_state_error(p, GST_STATE_PAUSED, &ret);
    fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
    fail_unless(msg != NULL, "%s: no error", cases[i][0]);
    GError *err = NULL;
    gst_message_parse_error(msg, &err, NULL);
    /* the property, and where the valid names are: listed */
    const gchar *prop = g_str_has_prefix(cases[i][0], "classes") ? "classes:" : "class-thresholds:";
    fail_unless(strstr(err->message, prop) && strstr(err->message, "person, bicycle, car"),
                "%s: %s", cases[i][0], err->message);
    g_error_free(err);
    assert_error(msg, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS, cases[i][1]);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(p);
    g_free(desc);
  }
  GstElement *p = error_pipeline(
      "ufodetect model=random:tiny classes=person,car,2 class-thresholds=person=0.5,79=0.3");
  assert_runs_to_eos(p);
  gst_object_unref(p);
}
GST_END_TEST;

GST_START_TEST(test_error_unsupported_caps)
{
  GstHarness *h = gst_harness_new_parse("ufodetect model=random:tiny");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=YUY2,width=32,height=24,framerate=30/1");
  GstBuffer *b = gst_buffer_new_allocate(NULL, 32 * 24 * 2, NULL);
  fail_unless_equals_int(gst_harness_push(h, b), GST_FLOW_NOT_NEGOTIATED);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The one outcome this build and machine must give for device=cuda and precision=bf16, known
 * from the build configuration (UFO_HAVE_CUDA comes with libufo's CUDA backend) and probes that
 * do not ask the engine. */
static gboolean expect_cuda_usable(void)
{
#ifdef UFO_HAVE_CUDA
  /* a CUDA build: GPU 0 is usable where the driver exposes its device node */
  return g_file_test("/dev/nvidia0", G_FILE_TEST_EXISTS);
#else
  return FALSE; /* no CUDA backend in libufo: device=cuda is always the documented error */
#endif
}

/* device=cuda: without a CUDA backend in libufo or without a GPU it is LIBRARY/INIT naming
 * device=cuda (the documented error); with both it runs. */
GST_START_TEST(test_error_cuda_without_gpu)
{
  GstElement *p = error_pipeline("ufodetect model=random:tiny device=cuda task=caption");
  if (expect_cuda_usable())
    assert_runs_to_eos(p);
  else
    assert_error(run_to_error(p), GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_INIT, "device=cuda");
  gst_object_unref(p);
}
GST_END_TEST;

/* precision=bf16 runs on every CPU (oneDNN bf16 where the CPU has it natively, else fp32). */
GST_START_TEST(test_precision_bf16)
{
  GstElement *p = error_pipeline("ufodetect model=random:tiny precision=bf16 task=caption");
  assert_runs_to_eos(p); /* no error, EOS reached */
  gst_object_unref(p);
}
GST_END_TEST;

/* precision=auto (the default) and an explicit fp32 run on every CPU: auto is bf16 where oneDNN
 * has native bf16, else fp32 (never an error) */
GST_START_TEST(test_precision_auto_fp32)
{
  const gchar *launch[] = {"ufodetect model=random:tiny precision=auto task=caption",
                           "ufodetect model=random:tiny task=caption",
                           "ufodetect model=random:tiny precision=fp32 task=caption"};
  for (guint i = 0; i < G_N_ELEMENTS(launch); i++) {
    GstElement *p = error_pipeline(launch[i]);
    assert_runs_to_eos(p);
    gst_object_unref(p);
  }
}
GST_END_TEST;

/* The element says on the bus where it runs (element message ufo-device): the one outcome of
 * this build and machine for device=auto / cpu, the precision auto resolved to, and the
 * model-instance-id when it shares one. */
static GstStructure *device_message(const gchar *element_desc)
{
  GstElement *p = error_pipeline(element_desc);
  GstBus *bus = gst_element_get_bus(p);
  fail_unless(gst_element_set_state(p, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstStructure *found = NULL;
  for (;;) {
    GstMessage *msg = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND, GST_MESSAGE_ELEMENT | GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
    fail_unless(msg != NULL, "no EOS within a minute");
    const GstMessageType type = GST_MESSAGE_TYPE(msg);
    fail_if(type == GST_MESSAGE_ERROR, "the pipeline failed");
    const GstStructure *st = gst_message_get_structure(msg);
    if (type == GST_MESSAGE_ELEMENT && gst_structure_has_name(st, "ufo-device")) {
      fail_unless(found == NULL, "two ufo-device messages");
      found = gst_structure_copy(st);
    }
    gst_message_unref(msg);
    if (type == GST_MESSAGE_EOS)
      break;
  }
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(p);
  fail_unless(found != NULL, "no ufo-device message");
  return found;
}

/* what precision=auto resolves to on the CPU (the engine's rule, tested in tests/engine/nn) */
static const char *cpu_auto_precision(void)
{
  GError *err = NULL;
  UfoModel *m = ufo_model_new_random("tiny", 0, &err);
  fail_unless(m != NULL);
  UfoSessionOptions o = {UFO_DEVICE_CPU, 0, 1, UFO_PRECISION_AUTO};
  UfoSession *s = ufo_session_new(m, &o, &err);
  fail_unless(s != NULL);
  const char *name = ufo_precision_name(ufo_session_get_precision(s));
  ufo_session_free(s);
  ufo_model_unref(m);
  return name;
}

GST_START_TEST(test_device_message)
{
  const gboolean gpu = expect_cuda_usable();
  GstStructure *st = device_message("ufodetect model=random:tiny task=caption");
  fail_unless_equals_string(gst_structure_get_string(st, "requested"), "auto");
  fail_unless_equals_string(gst_structure_get_string(st, "device"), gpu ? "cuda" : "cpu");
  gint gpu_id = 7;
  fail_unless(gst_structure_get_int(st, "gpu-id", &gpu_id));
  fail_unless_equals_int(gpu_id, gpu ? 0 : -1);
  fail_unless_equals_string(gst_structure_get_string(st, "requested-precision"), "auto");
  fail_unless_equals_string(gst_structure_get_string(st, "precision"),
                            gpu ? "bf16" : cpu_auto_precision());
  fail_unless(gst_structure_get_string(st, "model-instance-id") == NULL);
  gst_structure_free(st);
  st = device_message(
      "ufodetect model=random:tiny task=caption device=cpu precision=fp32 model-instance-id=m1");
  fail_unless_equals_string(gst_structure_get_string(st, "requested"), "cpu");
  fail_unless_equals_string(gst_structure_get_string(st, "device"), "cpu");
  fail_unless_equals_string(gst_structure_get_string(st, "precision"), "fp32");
  fail_unless_equals_string(gst_structure_get_string(st, "model-instance-id"), "m1");
  gst_structure_free(st);
}
GST_END_TEST;

/* ---- overlay (results made by the test, no inference) ---- */

static GstBuffer *black_frame_with_meta(gint w, gint h, GstUfoResults *r, guint producer)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, w * h * 4, NULL);
  gst_buffer_memset(buf, 0, 0, w * h * 4);
  if (r) {
    gst_buffer_add_ufo_meta(buf, r, producer, "detection", TRUE, 0);
    gst_ufo_results_unref(r);
  }
  GST_BUFFER_PTS(buf) = 0;
  GST_BUFFER_DURATION(buf) = GST_SECOND / 30;
  return buf;
}

/* BGRx pixel as 0xRRGGBB */
static guint32 bgrx(GstBuffer *buf, gint w, gint x, gint y)
{
  GstMapInfo map;
  gst_buffer_map(buf, &map, GST_MAP_READ);
  const guint8 *p = map.data + (y * w + x) * 4;
  guint32 v = (p[2] << 16) | (p[1] << 8) | p[0];
  gst_buffer_unmap(buf, &map);
  return v;
}

static GstUfoResults *one_box(gint w, gint h, gfloat x, gfloat y, gfloat bw, gfloat bh)
{
  GstUfoResults *r = gst_ufo_results_new(w, h);
  gst_ufo_results_add_object(r, 0, "person", 0.8f, x, y, bw, bh);
  return r;
}

GST_START_TEST(test_overlay_after_videoscale)
{
  GstHarness *h = gst_harness_new_parse(
      "videoscale ! ufooverlay line-width=2 draw-labels=false draw-scores=false");
  gst_harness_set_caps_str(h, "video/x-raw,format=BGRx,width=64,height=48,framerate=30/1",
                           "video/x-raw,format=BGRx,width=128,height=96,framerate=30/1");
  GstBuffer *out =
      gst_harness_push_and_pull(h, black_frame_with_meta(64, 48, one_box(64, 48, 8, 8, 16, 16), 1));
  /* box 8,8 16x16 at 64x48 -> 16,16 32x32 at 128x96; 2 px outline inside the box */
  const guint32 red = 0xF22424; /* class 0 */
  fail_unless_equals_int(bgrx(out, 128, 16, 30), red);
  fail_unless_equals_int(bgrx(out, 128, 17, 30), red);
  fail_unless_equals_int(bgrx(out, 128, 47, 30), red); /* right edge at x = 16 + 32 - 1 */
  fail_unless_equals_int(bgrx(out, 128, 30, 16), red); /* top edge */
  fail_unless_equals_int(bgrx(out, 128, 18, 30), 0);   /* inside */
  fail_unless_equals_int(bgrx(out, 128, 15, 30), 0);   /* outside */
  fail_unless_equals_int(bgrx(out, 128, 48, 30), 0);
  fail_unless_equals_int(bgrx(out, 128, 8, 8), 0); /* where the unscaled box would be */
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A mask follows videoscale: its rectangle is rescaled, its pixels kept. */
GST_START_TEST(test_overlay_mask_after_videoscale)
{
  GstHarness *h = gst_harness_new_parse("videoscale ! ufooverlay mask-alpha=1 draw-boxes=false "
                                        "draw-labels=false draw-scores=false");
  gst_harness_set_caps_str(h, "video/x-raw,format=BGRx,width=32,height=24,framerate=30/1",
                           "video/x-raw,format=BGRx,width=64,height=48,framerate=30/1");
  GstUfoResults *r = gst_ufo_results_new(32, 24);
  gst_ufo_results_add_object(r, 1, "car", 0.9f, 8, 4, 8, 8);
  guint8 px[8 * 8];
  for (int i = 0; i < 64; i++)
    px[i] = (i % 8) < 4 ? 255 : 0; /* left half of the box */
  GBytes *b = g_bytes_new(px, sizeof px);
  GstUfoRect rect = {8, 4, 8, 8};
  gst_ufo_results_set_mask(r, 0, b, 8, 8, 8, &rect);
  g_bytes_unref(b);
  GstBuffer *out = gst_harness_push_and_pull(h, black_frame_with_meta(32, 24, r, 1));
  /* at 64x48 the mask covers x 16..31, y 8..23; its left half (x 16..23) is inside */
  const guint32 blue = 0x2460F2; /* class 1 */
  fail_unless_equals_int(bgrx(out, 64, 20, 16), blue);
  fail_unless_equals_int(bgrx(out, 64, 16, 16), blue); /* outline pixels: same colour, opaque */
  fail_unless_equals_int(bgrx(out, 64, 27, 16), 0);    /* right half: outside */
  fail_unless_equals_int(bgrx(out, 64, 12, 16), 0);    /* left of the box */
  fail_unless_equals_int(bgrx(out, 64, 20, 26), 0);    /* below */
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* The semantic map: every class tinted except the one named by semantic-hide (default
 * "background"); semantic-hide="" tints them all. */
GST_START_TEST(test_overlay_semantic_hide)
{
  const gchar *hide[] = {"", NULL, "car"}; /* all tinted (the reference), default, car hidden */
  guint32 tint_bg = 0, tint_car = 0;
  for (guint t = 0; t < G_N_ELEMENTS(hide); t++) {
    GstHarness *h = gst_harness_new("ufooverlay");
    g_object_set(h->element, "semantic-alpha", 1.0, NULL);
    if (hide[t])
      g_object_set(h->element, "semantic-hide", hide[t], NULL);
    gst_harness_set_src_caps_str(h, "video/x-raw,format=BGRx,width=32,height=24,framerate=30/1");
    GstUfoResults *r = gst_ufo_results_new(32, 24);
    guint8 map[2] = {0, 2}; /* left half background, right half car */
    GBytes *b = g_bytes_new(map, sizeof map);
    const gchar *names[] = {"background", "road", "car", NULL};
    GstUfoRect rect = {0, 0, 32, 24};
    fail_unless(
        gst_ufo_results_set_semantic_map(r, GST_VIDEO_FORMAT_GRAY8, b, 2, 1, 2, &rect, names));
    g_bytes_unref(b);
    GstBuffer *out = gst_harness_push_and_pull(h, black_frame_with_meta(32, 24, r, 1));
    guint32 bg = bgrx(out, 32, 4, 12), car = bgrx(out, 32, 28, 12);
    if (t == 0) {
      tint_bg = bg;
      tint_car = car;
      fail_unless(bg != 0 && car != 0 && bg != car);
    } else {
      fail_unless_equals_int(bg, t == 1 ? 0 : tint_bg);
      fail_unless_equals_int(car, t == 2 ? 0 : tint_car);
    }
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* ufooverlay on 32x24 BGRx with 1 px boxes and no text: box colours are read at single pixels */
static GstHarness *thin_box_overlay_32x24(void)
{
  GstHarness *h = gst_harness_new("ufooverlay");
  g_object_set(h->element, "line-width", 1.0, "draw-labels", FALSE, "draw-scores", FALSE, NULL);
  gst_harness_set_caps_str(h, "video/x-raw,format=BGRx,width=32,height=24,framerate=30/1",
                           "video/x-raw,format=BGRx,width=32,height=24,framerate=30/1");
  return h;
}

GST_START_TEST(test_overlay_roi_fallback_and_filters)
{
  GstHarness *h = thin_box_overlay_32x24();
  /* a ROI meta from another element (no GstUfoMeta, no detection structure): drawn, grey */
  GstBuffer *in = black_frame_with_meta(32, 24, NULL, 0);
  gst_buffer_add_video_region_of_interest_meta(in, "face", 4, 4, 10, 10);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  fail_unless_equals_int(bgrx(out, 32, 4, 8), 0x808080);
  fail_unless_equals_int(bgrx(out, 32, 8, 8), 0);
  gst_buffer_unref(out);

  /* our ROI metas are not drawn twice: only the GstUfoMeta box (class colour) */
  GstUfoResults *r = one_box(32, 24, 2, 2, 20, 20);
  in = black_frame_with_meta(32, 24, NULL, 0);
  gst_ufo_results_add_roi_metas(r, in, 5, "m");
  gst_buffer_add_ufo_meta(in, r, 5, "detection", TRUE, 0);
  gst_ufo_results_unref(r);
  out = gst_harness_push_and_pull(h, in);
  fail_unless_equals_int(bgrx(out, 32, 2, 10), 0xF22424);
  gst_buffer_unref(out);

  /* min-score hides it, classes hides it, unique-id hides it */
  const gchar *props[][2] = {{"min-score", "0.9"}, {"classes", "car"}, {"unique-id", "4"}};
  for (int i = 0; i < 3; i++) {
    gst_util_set_object_arg(G_OBJECT(h->element), props[i][0], props[i][1]);
    out = gst_harness_push_and_pull(
        h, black_frame_with_meta(32, 24, one_box(32, 24, 2, 2, 20, 20), 5));
    fail_unless(bgrx(out, 32, 2, 10) == 0, "%s=%s", props[i][0], props[i][1]);
    gst_buffer_unref(out);
    g_object_set(h->element, "min-score", 0.0, "classes", "", "unique-id", -1, NULL);
  }
  /* classes by name and by id, unique-id matching: drawn */
  g_object_set(h->element, "classes", "0", "unique-id", 5, NULL);
  out =
      gst_harness_push_and_pull(h, black_frame_with_meta(32, 24, one_box(32, 24, 2, 2, 20, 20), 5));
  fail_unless_equals_int(bgrx(out, 32, 2, 10), 0xF22424);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Two class-0 boxes from producers 1 and 2 (palette: index 1 = 0x2460F2, 2 = the colour at
 * index 2 of the palette, anything but class 0's 0xF22424). */
static GstBuffer *two_producers_frame(void)
{
  GstBuffer *in = black_frame_with_meta(32, 24, one_box(32, 24, 2, 2, 10, 10), 1);
  GstUfoResults *r = one_box(32, 24, 18, 2, 10, 10);
  gst_buffer_add_ufo_meta(in, r, 2, "detection", TRUE, 0);
  gst_ufo_results_unref(r);
  return in;
}

GST_START_TEST(test_overlay_color_by)
{
  GstHarness *h = thin_box_overlay_32x24();
  /* class (default): both boxes in class 0's colour */
  GstBuffer *out = gst_harness_push_and_pull(h, two_producers_frame());
  fail_unless_equals_int(bgrx(out, 32, 2, 6), 0xF22424);
  fail_unless_equals_int(bgrx(out, 32, 18, 6), 0xF22424);
  gst_buffer_unref(out);
  /* producer: producer 1 gets palette entry 1, producer 2 another colour */
  gst_util_set_object_arg(G_OBJECT(h->element), "color-by", "producer");
  out = gst_harness_push_and_pull(h, two_producers_frame());
  const guint32 a = bgrx(out, 32, 2, 6), b = bgrx(out, 32, 18, 6);
  fail_unless_equals_int(a, 0x2460F2);
  fail_unless(b != a && b != 0 && b != 0xF22424, "producer 2 colour %06x", b);
  gst_buffer_unref(out);
  /* track: a tracked ROI box (track id 1) gets palette entry 1, an untracked one its class */
  gst_util_set_object_arg(G_OBJECT(h->element), "color-by", "track");
  GstBuffer *in = black_frame_with_meta(32, 24, NULL, 0);
  GstVideoRegionOfInterestMeta *roi =
      gst_buffer_add_video_region_of_interest_meta(in, "person", 2, 2, 10, 10);
  gst_video_region_of_interest_meta_add_param(
      roi, gst_structure_new("detection", "label_id", G_TYPE_INT, 0, NULL));
  gst_video_region_of_interest_meta_add_param(
      roi, gst_structure_new("object_id", "id", G_TYPE_INT, 1, NULL));
  roi = gst_buffer_add_video_region_of_interest_meta(in, "person", 18, 2, 10, 10);
  gst_video_region_of_interest_meta_add_param(
      roi, gst_structure_new("detection", "label_id", G_TYPE_INT, 0, NULL));
  out = gst_harness_push_and_pull(h, in);
  fail_unless_equals_int(bgrx(out, 32, 2, 6), 0x2460F2);
  fail_unless_equals_int(bgrx(out, 32, 18, 6), 0xF22424);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A frame with our box (producer 5: GstUfoMeta + its ROI meta, class 0 at x 2) and a foreign
 * ROI meta (no detection structure: grey, at x 18). */
static GstBuffer *ours_and_foreign_frame(void)
{
  GstUfoResults *r = one_box(32, 24, 2, 2, 10, 10);
  GstBuffer *in = black_frame_with_meta(32, 24, NULL, 0);
  gst_ufo_results_add_roi_metas(r, in, 5, "m");
  gst_buffer_add_ufo_meta(in, r, 5, "detection", TRUE, 0);
  gst_ufo_results_unref(r);
  gst_buffer_add_video_region_of_interest_meta(in, "face", 18, 2, 10, 10);
  return in;
}

GST_START_TEST(test_overlay_sources)
{
  GstHarness *h = thin_box_overlay_32x24();
  /* ufo+roi: both */
  GstBuffer *out = gst_harness_push_and_pull(h, ours_and_foreign_frame());
  fail_unless_equals_int(bgrx(out, 32, 2, 6), 0xF22424);
  fail_unless_equals_int(bgrx(out, 32, 18, 6), 0x808080);
  gst_buffer_unref(out);
  /* ufo: the foreign ROI meta is ignored */
  gst_util_set_object_arg(G_OBJECT(h->element), "sources", "ufo");
  out = gst_harness_push_and_pull(h, ours_and_foreign_frame());
  fail_unless_equals_int(bgrx(out, 32, 2, 6), 0xF22424);
  fail_unless_equals_int(bgrx(out, 32, 18, 6), 0);
  gst_buffer_unref(out);
  /* roi: ROI metas only, ours included; a GstUfoMeta without ROI metas draws nothing */
  gst_util_set_object_arg(G_OBJECT(h->element), "sources", "roi");
  out = gst_harness_push_and_pull(h, ours_and_foreign_frame());
  fail_unless(bgrx(out, 32, 2, 6) != 0, "our ROI meta not drawn");
  fail_unless_equals_int(bgrx(out, 32, 18, 6), 0x808080);
  gst_buffer_unref(out);
  out =
      gst_harness_push_and_pull(h, black_frame_with_meta(32, 24, one_box(32, 24, 2, 2, 10, 10), 1));
  fail_unless_equals_int(bgrx(out, 32, 2, 6), 0);
  gst_buffer_unref(out);
  /* none: nothing */
  gst_util_set_object_arg(G_OBJECT(h->element), "sources", "0");
  out = gst_harness_push_and_pull(h, ours_and_foreign_frame());
  fail_unless_equals_int(bgrx(out, 32, 2, 6), 0);
  fail_unless_equals_int(bgrx(out, 32, 18, 6), 0);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_overlay_composition_meta)
{
  GstHarness *h = gst_harness_new("ufooverlay");
  gst_harness_add_propose_allocation_meta(h, GST_VIDEO_OVERLAY_COMPOSITION_META_API_TYPE, NULL);
  gst_harness_set_caps_str(h, "video/x-raw,format=BGRx,width=32,height=24,framerate=30/1",
                           "video/x-raw,format=BGRx,width=32,height=24,framerate=30/1");
  GstBuffer *out =
      gst_harness_push_and_pull(h, black_frame_with_meta(32, 24, one_box(32, 24, 2, 2, 20, 20), 1));
  GstVideoOverlayCompositionMeta *cm = gst_buffer_get_video_overlay_composition_meta(out);
  fail_unless(cm != NULL, "downstream takes compositions: expected a meta");
  fail_unless_equals_int(gst_video_overlay_composition_n_rectangles(cm->overlay), 1);
  for (int x = 0; x < 32; x++) /* pixels untouched */
    fail_unless_equals_int(bgrx(out, 32, x, 10), 0);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ufooverlay blends tiles of its surface that hold paint (gst/ufooverlay.c render): the frame
 * gets the same bits as from one rectangle over all of them, in every blend format; boxes at
 * odd places, labels on, a half-transparent mask. The composition is taken from the meta
 * (downstream composites) and blended here both ways with GStreamer's own blend. */
GST_START_TEST(test_overlay_tiles_blend_as_one)
{
  const gchar *formats[] = {"I420", "NV12", "YUY2", "BGRx", "RGB", "AYUV"};
  const gint W = 203, H = 121;
  for (guint f = 0; f < G_N_ELEMENTS(formats); f++) {
    GstHarness *h = gst_harness_new("ufooverlay");
    gst_harness_add_propose_allocation_meta(h, GST_VIDEO_OVERLAY_COMPOSITION_META_API_TYPE, NULL);
    g_autofree gchar *caps = g_strdup_printf(
        "video/x-raw,format=%s,width=%d,height=%d,framerate=30/1", formats[f], W, H);
    gst_harness_set_caps_str(h, caps, caps);
    GstVideoInfo info;
    GstCaps *c = gst_caps_from_string(caps);
    gst_video_info_from_caps(&info, c);
    gst_caps_unref(c);
    GstBuffer *in = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
    GstMapInfo m;
    gst_buffer_map(in, &m, GST_MAP_WRITE);
    for (gsize i = 0; i < m.size; i++)
      m.data[i] = (guint8)(i * 37 + 11);
    gst_buffer_unmap(in, &m);
    GstUfoResults *r = gst_ufo_results_new(W, H);
    gst_ufo_results_add_object(r, 0, "person", 0.8f, 3, 5, 41, 27);
    gst_ufo_results_add_object(r, 1, "car", 0.7f, 97, 61, 77, 49);
    gst_ufo_results_add_object(r, 2, "dog", 0.6f, 151, 9, 11, 13);
    /* a mask on the car: half-transparent fill, where blending a pixel twice would show */
    guint8 *mask = g_malloc(77 * 49);
    for (gint y = 0; y < 49; y++)
      for (gint x = 0; x < 77; x++)
        mask[y * 77 + x] =
            (x - 38) * (x - 38) * 49 * 49 + (y - 24) * (y - 24) * 77 * 77 < 38 * 38 * 49 * 49 ? 255
                                                                                              : 0;
    GBytes *mb = g_bytes_new_take(mask, 77 * 49);
    GstUfoRect mrect = {97, 61, 77, 49};
    gst_ufo_results_set_mask(r, 1, mb, 77, 49, 77, &mrect);
    g_bytes_unref(mb);
    gst_buffer_add_ufo_meta(in, r, 1, "instance", TRUE, 0);
    gst_ufo_results_unref(r);
    GstBuffer *frame_tiles = gst_buffer_copy_deep(in), *frame_one = gst_buffer_copy_deep(in);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    GstVideoOverlayCompositionMeta *cm = gst_buffer_get_video_overlay_composition_meta(out);
    fail_unless(cm != NULL);
    const guint n = gst_video_overlay_composition_n_rectangles(cm->overlay);
    fail_unless(n > 1, "%s: %u rectangles", formats[f], n);
    /* the union of the rectangles as one */
    gint ux0 = G_MAXINT, uy0 = G_MAXINT, ux1 = 0, uy1 = 0;
    guint64 area = 0;
    for (guint i = 0; i < n; i++) {
      gint x, y;
      guint rw, rh;
      gst_video_overlay_rectangle_get_render_rectangle(
          gst_video_overlay_composition_get_rectangle(cm->overlay, i), &x, &y, &rw, &rh);
      ux0 = MIN(ux0, x), uy0 = MIN(uy0, y), ux1 = MAX(ux1, x + (gint)rw),
      uy1 = MAX(uy1, y + (gint)rh);
      area += (guint64)rw * rh;
    }
    fail_unless(area < (guint64)(ux1 - ux0) * (uy1 - uy0), "%s: no tile left out", formats[f]);
    const gint uw = ux1 - ux0, uh = uy1 - uy0;
    GstBuffer *one = gst_buffer_new_allocate(NULL, (gsize)uw * uh * 4, NULL);
    gst_buffer_memset(one, 0, 0, (gsize)uw * uh * 4);
    GstMapInfo om;
    gst_buffer_map(one, &om, GST_MAP_WRITE);
    for (guint i = 0; i < n; i++) {
      GstVideoOverlayRectangle *rect = gst_video_overlay_composition_get_rectangle(cm->overlay, i);
      gint x, y;
      guint rw, rh;
      gst_video_overlay_rectangle_get_render_rectangle(rect, &x, &y, &rw, &rh);
      GstBuffer *px = gst_video_overlay_rectangle_get_pixels_unscaled_raw(
          rect, GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
      GstVideoMeta *vm = gst_buffer_get_video_meta(px);
      GstMapInfo pm;
      gst_buffer_map(px, &pm, GST_MAP_READ);
      for (guint yy = 0; yy < rh; yy++)
        memcpy(om.data + ((gsize)(y - uy0 + yy) * uw + (x - ux0)) * 4,
               pm.data + vm->offset[0] + (gsize)yy * vm->stride[0], (gsize)rw * 4);
      gst_buffer_unmap(px, &pm);
    }
    gst_buffer_unmap(one, &om);
    gst_buffer_add_video_meta(one, GST_VIDEO_FRAME_FLAG_NONE,
                              GST_VIDEO_OVERLAY_COMPOSITION_FORMAT_RGB, uw, uh);
    GstVideoOverlayRectangle *big = gst_video_overlay_rectangle_new_raw(
        one, ux0, uy0, uw, uh, GST_VIDEO_OVERLAY_FORMAT_FLAG_PREMULTIPLIED_ALPHA);
    gst_buffer_unref(one);
    GstVideoOverlayComposition *one_comp = gst_video_overlay_composition_new(big);
    gst_video_overlay_rectangle_unref(big);
    GstVideoFrame vf;
    fail_unless(gst_video_frame_map(&vf, &info, frame_tiles, GST_MAP_READWRITE));
    fail_unless(gst_video_overlay_composition_blend(cm->overlay, &vf));
    gst_video_frame_unmap(&vf);
    fail_unless(gst_video_frame_map(&vf, &info, frame_one, GST_MAP_READWRITE));
    fail_unless(gst_video_overlay_composition_blend(one_comp, &vf));
    gst_video_frame_unmap(&vf);
    gst_video_overlay_composition_unref(one_comp);
    GstMapInfo a, b;
    gst_buffer_map(frame_tiles, &a, GST_MAP_READ);
    gst_buffer_map(frame_one, &b, GST_MAP_READ);
    gsize diff = 0;
    for (gsize i = 0; i < a.size; i++)
      diff += a.data[i] != b.data[i];
    fail_unless(diff == 0, "%s: %zu bytes differ between tiles and one rectangle", formats[f],
                diff);
    gst_buffer_unmap(frame_tiles, &a);
    gst_buffer_unmap(frame_one, &b);
    gst_buffer_unref(frame_tiles);
    gst_buffer_unref(frame_one);
    gst_buffer_unref(out);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

GST_START_TEST(test_overlay_all_blend_formats)
{
  /* every negotiated format gets something drawn at the box edge */
  const gchar *formats[] = {"I420", "NV12", "RGB", "BGRA", "RGBA", "AYUV", "YUY2"};
  for (guint i = 0; i < G_N_ELEMENTS(formats); i++) {
    GstHarness *h = gst_harness_new_parse("ufooverlay line-width=2");
    GstVideoInfo info;
    gchar *caps =
        g_strdup_printf("video/x-raw,format=%s,width=32,height=24,framerate=30/1", formats[i]);
    gst_harness_set_caps_str(h, caps, caps);
    GstCaps *c = gst_caps_from_string(caps);
    gst_video_info_from_caps(&info, c);
    gst_caps_unref(c);
    GstBuffer *in = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
    gst_buffer_memset(in, 0, 0x10, GST_VIDEO_INFO_SIZE(&info));
    GstUfoResults *r = one_box(32, 24, 4, 4, 20, 16);
    gst_buffer_add_ufo_meta(in, r, 1, "detection", TRUE, 0);
    gst_ufo_results_unref(r);
    GstBuffer *ref = gst_buffer_copy_deep(in);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    GstMapInfo a, b;
    gst_buffer_map(out, &a, GST_MAP_READ);
    gst_buffer_map(ref, &b, GST_MAP_READ);
    fail_unless(memcmp(a.data, b.data, a.size) != 0, "%s: nothing drawn", formats[i]);
    gst_buffer_unmap(out, &a);
    gst_buffer_unmap(ref, &b);
    gst_buffer_unref(out);
    gst_buffer_unref(ref);
    g_free(caps);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

/* A linear GstInterpolationControlSource on `prop` of `element`: `from` at 0 s, `to` at 1 s
 * (absolute values). */
static void control_linear(GstElement *element, const gchar *prop, gdouble from, gdouble to)
{
  GstControlSource *cs = gst_interpolation_control_source_new();
  g_object_set(cs, "mode", GST_INTERPOLATION_MODE_LINEAR, NULL);
  GstTimedValueControlSource *tv = GST_TIMED_VALUE_CONTROL_SOURCE(cs);
  fail_unless(gst_timed_value_control_source_set(tv, 0, from));
  fail_unless(gst_timed_value_control_source_set(tv, GST_SECOND, to));
  fail_unless(gst_object_add_control_binding(
      GST_OBJECT(element), gst_direct_control_binding_new_absolute(GST_OBJECT(element), prop, cs)));
  gst_object_unref(cs);
}

/* Control bindings drive `threshold` of ufodetect: the value follows the buffers' stream
 * time (synced before every frame). */
GST_START_TEST(test_control_binding_threshold)
{
  GstHarness *h = gst_harness_new_parse("ufodetect model=random:tiny task=caption");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=32,height=24,framerate=2/1");
  GstElement *det = gst_harness_find_element(h, "ufodetect");
  control_linear(det, "threshold", 0.1, 0.9);
  const gdouble want[] = {0.1, 0.5, 0.9};
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    GstBuffer *in = gst_buffer_new_allocate(NULL, 32 * 24 * 3, NULL);
    gst_buffer_memset(in, 0, 0x40, 32 * 24 * 3);
    GST_BUFFER_PTS(in) = i * GST_SECOND / 2;
    GST_BUFFER_DURATION(in) = GST_SECOND / 2;
    gst_buffer_unref(gst_harness_push_and_pull(h, in));
    gdouble got;
    g_object_get(det, "threshold", &got, NULL);
    fail_unless(fabs(got - want[i]) < 1e-6, "frame %u: threshold %g, want %g", i, got, want[i]);
  }
  gst_object_unref(det);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* ufooverlay: a controlled min-score hides a 0.8 box from the frame where it passes 0.8. */
GST_START_TEST(test_control_binding_overlay)
{
  GstHarness *h = thin_box_overlay_32x24();
  control_linear(h->element, "min-score", 0.0, 1.0);
  const gboolean drawn[] = {TRUE, TRUE, FALSE}; /* min-score 0, 0.5, 1 */
  for (guint i = 0; i < G_N_ELEMENTS(drawn); i++) {
    GstBuffer *in = black_frame_with_meta(32, 24, one_box(32, 24, 2, 2, 20, 20), 1);
    GST_BUFFER_PTS(in) = i * GST_SECOND / 2;
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    fail_unless_equals_int(bgrx(out, 32, 2, 10) != 0, drawn[i]);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Controllable properties are numbers, booleans, enums and flags: strings cannot be driven. */
GST_START_TEST(test_controllable_flags)
{
  const gchar *factories[] = {"ufodetect", "ufoseg", "ufooverlay"};
  for (gsize fi = 0; fi < G_N_ELEMENTS(factories); fi++) {
    GstElement *e = gst_element_factory_make(factories[fi], NULL);
    guint n;
    GParamSpec **specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
    for (guint i = 0; i < n; i++)
      if (specs[i]->flags & GST_PARAM_CONTROLLABLE)
        fail_if(G_IS_PARAM_SPEC_STRING(specs[i]), "%s.%s: a controllable string", factories[fi],
                specs[i]->name);
    g_free(specs);
    gst_object_unref(e);
  }
}
GST_END_TEST;

static Suite *elements_suite(void)
{
  Suite *s = suite_create("ufoelements");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_properties);
  tcase_add_test(tc, test_enum_values);
  tcase_add_test(tc, test_overlay_enum_flags);
  tcase_add_test(tc, test_gst_inspect);
  tcase_add_test(tc, test_error_missing_model);
  tcase_add_test(tc, test_error_corrupt_model);
  tcase_add_test(tc, test_error_task_missing);
  tcase_add_test(tc, test_error_grounding_without_prompt);
  tcase_add_test(tc, test_error_prompt_too_long);
  tcase_add_test(tc, test_error_bad_class_list);
  tcase_add_test(tc, test_error_unknown_class);
  tcase_add_test(tc, test_error_unsupported_caps);
  tcase_add_test(tc, test_beam_settings_reach_engine);
  tcase_add_test(tc, test_error_cuda_without_gpu);
  tcase_add_test(tc, test_precision_bf16);
  tcase_add_test(tc, test_precision_auto_fp32);
  tcase_add_test(tc, test_device_message);
  tcase_add_test(tc, test_overlay_after_videoscale);
  tcase_add_test(tc, test_overlay_mask_after_videoscale);
  tcase_add_test(tc, test_overlay_semantic_hide);
  tcase_add_test(tc, test_overlay_roi_fallback_and_filters);
  tcase_add_test(tc, test_overlay_color_by);
  tcase_add_test(tc, test_overlay_sources);
  tcase_add_test(tc, test_overlay_composition_meta);
  tcase_add_test(tc, test_overlay_all_blend_formats);
  tcase_add_test(tc, test_overlay_tiles_blend_as_one);
  tcase_add_test(tc, test_control_binding_threshold);
  tcase_add_test(tc, test_control_binding_overlay);
  tcase_add_test(tc, test_controllable_flags);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(elements_suite(), "ufoelements", __FILE__);
}
