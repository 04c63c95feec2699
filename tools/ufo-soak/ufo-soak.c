/* ufo-soak: push many frames through ufodetect/ufoseg + ufooverlay while changing properties,
 * renegotiating caps, flush-seeking and cycling NULL <-> PLAYING; sample RSS every 1,000 frames
 * and count live GStreamer objects with the leaks tracer (docs/reliability.md "Soak").
 *
 *   GST_TRACERS=leaks ufo-soak --model models/ufo-demo.safetensors --frames 20000
 *
 * Exit status: 0 when the frames went through, RSS grew by at most --max-growth-kib after the
 * warm-up and no GstObject/GstMiniObject created by the pipelines is still alive at the end;
 * 1 otherwise (the reason is printed); 2 for bad arguments. */
#include <gst/gst.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gchar *opt_model;
static gint opt_frames = 20000, opt_interval = 30, opt_round = 250, opt_warmup = 3000,
            opt_max_growth_kib = 2048;

static GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &opt_model, "Model file (or random:tiny)", "PATH"},
    {"frames", 'n', 0, G_OPTION_ARG_INT, &opt_frames, "Frames to push in all (20000)", "N"},
    {"inference-interval", 'i', 0, G_OPTION_ARG_INT, &opt_interval,
     "Largest inference-interval used (30); the soak cycles through 1..N", "N"},
    {"round", 'r', 0, G_OPTION_ARG_INT, &opt_round,
     "Frames per round; each round ends with a PLAYING -> NULL cycle (250)", "N"},
    {"warmup", 'w', 0, G_OPTION_ARG_INT, &opt_warmup,
     "Frames after which RSS growth is measured (3000)", "N"},
    {"max-growth-kib", 'g', 0, G_OPTION_ARG_INT, &opt_max_growth_kib,
     "Largest RSS growth after the warm-up, KiB (2048)", "KIB"},
    {NULL}};

static gint frames_seen; /* buffers that reached the sink (atomic) */
static gint frames_without_meta;

static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstBuffer *b = GST_PAD_PROBE_INFO_BUFFER(info);
  if (!gst_buffer_get_meta(b, g_type_from_name("GstUfoMetaAPI")))
    g_atomic_int_inc(&frames_without_meta);
  g_atomic_int_inc(&frames_seen);
  return GST_PAD_PROBE_OK;
}

static long rss_kib(void)
{
  gchar *status = NULL;
  long kib = -1;
  if (g_file_get_contents("/proc/self/status", &status, NULL, NULL)) {
    const gchar *l = strstr(status, "VmRSS:");
    if (l)
      kib = strtol(l + 6, NULL, 10);
  }
  g_free(status);
  return kib;
}

static GstTracer *find_leaks_tracer(void)
{
  GstTracer *leaks = NULL;
  GList *tracers = gst_tracing_get_active_tracers();
  for (GList *l = tracers; l; l = l->next)
    if (g_str_equal(G_OBJECT_TYPE_NAME(l->data), "GstLeaksTracer"))
      leaks = gst_object_ref(l->data);
  g_list_free_full(tracers, gst_object_unref);
  return leaks;
}

/* Live objects as "Type" strings (1.22's tracer lists them without references, yet freeing the
 * structure drops one: take it, as tests/gst/test_cycles.c does). */
static GPtrArray *live_objects(GstTracer *leaks)
{
  GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
  GstStructure *info = NULL;
  g_usleep(300 * 1000); /* streaming-thread teardown */
  g_signal_emit_by_name(leaks, "get-live-objects", &info);
  if (!info)
    return names;
  const GValue *list = gst_structure_get_value(info, "live-objects-list");
  for (guint i = 0; list && i < gst_value_list_get_size(list); i++) {
    const GstStructure *e = gst_value_get_structure(gst_value_list_get_value(list, i));
    const GValue *v = gst_structure_get_value(e, "object");
    if (v && G_VALUE_HOLDS_OBJECT(v)) {
      GObject *o = g_value_get_object(v);
      g_object_ref(o);
      g_ptr_array_add(names, g_strdup_printf("%s %p", G_OBJECT_TYPE_NAME(o), (void *)o));
    } else if (v && G_VALUE_HOLDS_BOXED(v) && g_value_get_boxed(v)) {
      GstMiniObject *o = g_value_get_boxed(v);
      gst_mini_object_ref(o);
      g_ptr_array_add(names, g_strdup_printf("%s %p", g_type_name(o->type), (void *)o));
    }
  }
  gst_structure_free(info);
  return names;
}

typedef struct {
  const gchar *factory;
  const gchar *const *tasks;
  GstElement *pipeline, *infer, *capsfilter;
} Variant;

static const gchar *const detect_tasks[] = {"detection", "grounding", "caption", NULL};
static const gchar *const seg_tasks[] = {"instance", "semantic", NULL};
static const gchar *const prompts[] = {"the red circle", "a star", "the blue square on the left",
                                       NULL};
static const gint sizes[][2] = {{64, 48}, {80, 60}, {48, 36}, {33, 17}};

static gboolean build(Variant *v, const gchar *model)
{
  gchar *desc = g_strdup_printf(
      "videotestsrc pattern=ball ! capsfilter name=cf caps=video/x-raw,format=I420,width=64,"
      "height=48,framerate=30/1 ! %s name=infer model=\"%s\" ! ufooverlay ! "
      "fakesink name=sink sync=false",
      v->factory, model);
  GError *err = NULL;
  v->pipeline = gst_parse_launch(desc, &err);
  g_free(desc);
  if (!v->pipeline || err) {
    fprintf(stderr, "ufo-soak: %s\n", err ? err->message : "no pipeline");
    g_clear_error(&err);
    return FALSE;
  }
  v->infer = gst_bin_get_by_name(GST_BIN(v->pipeline), "infer");
  v->capsfilter = gst_bin_get_by_name(GST_BIN(v->pipeline), "cf");
  if (g_str_equal(v->factory, "ufodetect"))
    g_object_set(v->infer, "prompt", prompts[0], NULL);
  GstElement *sink = gst_bin_get_by_name(GST_BIN(v->pipeline), "sink");
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, NULL, NULL);
  gst_object_unref(pad);
  gst_object_unref(sink);
  return TRUE;
}

static void set_size(Variant *v, int k)
{
  GstCaps *caps = gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width",
                                      G_TYPE_INT, sizes[k][0], "height", G_TYPE_INT, sizes[k][1],
                                      "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  g_object_set(v->capsfilter, "caps", caps, NULL);
  gst_caps_unref(caps);
}

/* Waits until frames_seen reaches target; FALSE (reason printed) on an error, EOS or a stall. */
static gboolean wait_frames(Variant *v, gint target)
{
  GstBus *bus = gst_element_get_bus(v->pipeline);
  gint last = g_atomic_int_get(&frames_seen);
  gint64 last_progress = g_get_monotonic_time();
  gboolean ok = TRUE;
  while (ok && g_atomic_int_get(&frames_seen) < target) {
    GstMessage *m =
        gst_bus_timed_pop_filtered(bus, 20 * GST_MSECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
    if (m) {
      GError *err = NULL;
      gchar *dbg = NULL;
      if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
        gst_message_parse_error(m, &err, &dbg);
      fprintf(stderr, "ufo-soak: %s at frame %d: %s (%s)\n", v->factory,
              g_atomic_int_get(&frames_seen), err ? err->message : "unexpected EOS",
              dbg ? dbg : "");
      g_clear_error(&err);
      g_free(dbg);
      gst_message_unref(m);
      ok = FALSE;
    }
    const gint now = g_atomic_int_get(&frames_seen);
    if (now != last) {
      last = now;
      last_progress = g_get_monotonic_time();
    } else if (g_get_monotonic_time() - last_progress > 120 * G_USEC_PER_SEC) {
      fprintf(stderr, "ufo-soak: %s stalled at frame %d for 120 s\n", v->factory, now);
      ok = FALSE;
    }
  }
  gst_object_unref(bus);
  return ok;
}

int main(int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new("— soak ufodetect/ufoseg + ufooverlay");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || !opt_model || opt_frames < 1 ||
      opt_interval < 1 || opt_round < 10) {
    fprintf(stderr, "ufo-soak: %s\n", err ? err->message : "--model is required (and N > 0)");
    return 2;
  }
  opt_warmup = (opt_warmup + 999) / 1000 * 1000; /* RSS is sampled every 1,000 frames */
  GstTracer *leaks = find_leaks_tracer();
  if (!leaks)
    fprintf(stderr, "ufo-soak: GST_TRACERS=leaks is not set: no live-object count\n");
  GPtrArray *before = leaks ? live_objects(leaks) : NULL;

  Variant variants[] = {{"ufodetect", detect_tasks, NULL, NULL, NULL},
                        {"ufoseg", seg_tasks, NULL, NULL, NULL}};
  for (guint i = 0; i < G_N_ELEMENTS(variants); i++)
    if (!build(&variants[i], opt_model))
      return 1;

  if (leaks) {
    /* the tracer does see the pipelines' objects (a count of 0 at the end means something) */
    GPtrArray *built = live_objects(leaks);
    printf("# leaks tracer: %u live objects with the pipelines built\n", built->len);
    g_ptr_array_unref(built);
  }
  const gint64 t0 = g_get_monotonic_time();
  /* RSS at the warm-up sample, the highest sample up to it, the highest after it and the last */
  long rss_warm = -1, rss_peak_warm = 0, rss_max_after = 0, rss_last = 0;
  gint next_sample = 0;
  gboolean ok = TRUE;
  guint round = 0, seeks = 0, renegotiations = 0, cycles = 0, changes = 0;
  printf("# frames rss_kib seconds\n");
  while (ok && g_atomic_int_get(&frames_seen) < opt_frames) {
    Variant *v = &variants[round % G_N_ELEMENTS(variants)];
    /* settings for this round, set in NULL or READY so the first frame uses them */
    const gchar *task = v->tasks[(round / 2) % g_strv_length((gchar **)v->tasks)];
    gst_util_set_object_arg(G_OBJECT(v->infer), "task", task);
    g_object_set(v->infer, "inference-interval", (guint)(1 + (round * 7) % opt_interval), NULL);
    set_size(v, round % G_N_ELEMENTS(sizes));
    if (gst_element_set_state(v->pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
      fprintf(stderr, "ufo-soak: %s does not reach PLAYING\n", v->factory);
      ok = FALSE;
      break;
    }
    const gint start = g_atomic_int_get(&frames_seen);
    const gint end = MIN(start + opt_round, opt_frames);
    /* four steps per round: property changes, a resolution change, a flushing seek */
    for (int step = 1; ok && step <= 4; step++) {
      ok = wait_frames(v, start + (end - start) * step / 4);
      if (!ok)
        break;
      const gint f = g_atomic_int_get(&frames_seen);
      while (f >= next_sample) {
        const long rss = rss_kib();
        printf("%d %ld %.1f\n", next_sample, rss, (g_get_monotonic_time() - t0) / 1e6);
        fflush(stdout);
        if (rss_warm < 0 && rss > rss_peak_warm)
          rss_peak_warm = rss;
        if (next_sample == opt_warmup)
          rss_warm = rss;
        else if (rss_warm >= 0 && rss > rss_max_after)
          rss_max_after = rss;
        rss_last = rss;
        next_sample += 1000;
      }
      switch (step) {
      case 1:
        g_object_set(v->infer, "threshold", (gdouble)((round + f) % 9) / 10.0, NULL);
        g_object_set(v->infer, "inference-interval", (guint)(1 + (f * 13) % opt_interval), NULL);
        if (g_str_equal(v->factory, "ufodetect"))
          g_object_set(v->infer, "prompt", prompts[(round + f) % 3], NULL);
        changes += 3;
        break;
      case 2:
        set_size(v, (round + 1) % G_N_ELEMENTS(sizes));
        renegotiations++;
        break;
      case 3:
        if (!gst_element_seek_simple(v->pipeline, GST_FORMAT_TIME,
                                     GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_KEY_UNIT, 0)) {
          fprintf(stderr, "ufo-soak: flushing seek refused\n");
          ok = FALSE;
        }
        seeks++;
        /* and a task change while playing */
        gst_util_set_object_arg(G_OBJECT(v->infer), "task",
                                v->tasks[(round / 2 + 1) % g_strv_length((gchar **)v->tasks)]);
        changes++;
        break;
      default:
        break;
      }
    }
    if (gst_element_set_state(v->pipeline, GST_STATE_NULL) != GST_STATE_CHANGE_SUCCESS) {
      fprintf(stderr, "ufo-soak: %s does not return to NULL\n", v->factory);
      ok = FALSE;
    }
    cycles++;
    round++;
  }
  const double secs = (g_get_monotonic_time() - t0) / 1e6;
  const gint frames = g_atomic_int_get(&frames_seen);
  printf("# %d frames in %.1f s (%.0f frames/s); %u NULL<->PLAYING cycles, %u caps "
         "renegotiations, %u flushing seeks, %u property changes while playing\n",
         frames, secs, frames / secs, cycles, renegotiations, seeks, changes);
  if (g_atomic_int_get(&frames_without_meta) > 0) {
    fprintf(stderr, "ufo-soak: %d buffers reached the sink without a GstUfoMeta\n",
            g_atomic_int_get(&frames_without_meta));
    ok = FALSE;
  }
  if (rss_warm >= 0 && rss_max_after > 0) {
    /* growth: the highest sample after the warm-up over the highest up to it. glibc's per-thread
     * arenas (new streaming threads every cycle) make single samples wander by a few MiB up and
     * down; a leak shows as a rise above the warm-up's level that keeps going */
    const long growth = MAX(0, rss_max_after - rss_peak_warm);
    printf("# RSS KiB: warm-up sample (frame %d) %ld, highest up to it %ld, highest after it %ld, "
           "last %ld; growth (highest after - highest up to the warm-up) %ld KiB (limit %d), "
           "last - warm-up sample %ld KiB\n",
           opt_warmup, rss_warm, rss_peak_warm, rss_max_after, rss_last, growth, opt_max_growth_kib,
           rss_last - rss_warm);
    if (growth > opt_max_growth_kib) {
      fprintf(stderr, "ufo-soak: RSS grew by %ld KiB after the warm-up\n", growth);
      ok = FALSE;
    }
  } else {
    printf("# fewer frames than the warm-up (%d): no RSS growth check\n", opt_warmup);
  }

  for (guint i = 0; i < G_N_ELEMENTS(variants); i++) {
    gst_element_set_state(variants[i].pipeline, GST_STATE_NULL);
    gst_object_unref(variants[i].infer);
    gst_object_unref(variants[i].capsfilter);
    gst_object_unref(variants[i].pipeline);
  }
  if (leaks) {
    GPtrArray *after = live_objects(leaks);
    guint leaked = 0;
    for (guint i = 0; i < after->len; i++) {
      gboolean known = FALSE;
      for (guint k = 0; k < before->len && !known; k++)
        known = g_str_equal(after->pdata[i], before->pdata[k]);
      if (!known) {
        fprintf(stderr, "ufo-soak: still alive: %s\n", (gchar *)after->pdata[i]);
        leaked++;
      }
    }
    printf("# leaks tracer: %u live objects before the pipelines, %u after they are freed, %u "
           "new\n",
           before->len, after->len, leaked);
    if (leaked)
      ok = FALSE;
    g_ptr_array_unref(after);
    g_ptr_array_unref(before);
    gst_object_unref(leaks);
  }
  printf("# %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
