/* multicam-mqtt: N cameras (files or RTSP) -> one shared model -> per camera ufotrack and
 * ufoanalytics (a line and a zone) -> ufometaconvert -> ufometapublish method=mqtt.
 *
 *   multicam-mqtt [--broker HOST:PORT] [--topic 'ufo/{source}'] [--model M] [--props "k=v ..."]
 *                 [--line NAME:x1,y1,x2,y2] [--zone NAME:x1,y1,x2,y2,x3,y3,...]
 *                 [--cafile CA.pem] [--username U --password P] [--sync] SOURCE...
 *   multicam-mqtt --broker 127.0.0.1:1883 cam1.mp4 cam2.mp4 rtsp://camera3/stream
 *   then: mqtt-events --broker 127.0.0.1:1883      (one line per line crossing / zone event)
 *
 * Camera i (1-based) publishes to the topic with {source} = "cam<i>" (ufo/cam1, ufo/cam2 ...).
 * All cameras run in one pipeline, and every ufodetect names the same model file and
 * model-instance-id (batch-size N): one loaded model, one engine session and one inference queue
 * whose batches take the frames of all the cameras (docs/elements.md "Many streams, one model").
 * Each camera has its own tracker (track ids per camera) and its own analytics counts.
 *
 * It prints, from the ufoanalytics bus messages (not from the published JSON), one line per
 * event, in the format mqtt-events prints from the MQTT documents:
 *   cam1 1200000000 line-crossed middle track=3 direction=in label=square
 *   cam2 1333333333 zone-entered centre track=1 label=circle
 * (source, buffer PTS in ns, event, rule, track id, direction for lines, label), plus the
 * ufometapublish connection/drop messages on stderr. Exit status 0 at end of stream (files),
 * 1 on an error message, 2 for bad usage. Ctrl-C stops cleanly (EOS). */
#include <gst/gst.h>
#include <glib-unix.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  GMainLoop *loop;
  GstElement *pipeline;
  gint status;
} App;

/* the camera name is the analytics element's name: "cam1" ... */
static void print_events(const GstStructure *s, const gchar *camera)
{
  const GValue *events = gst_structure_get_value(s, "events");
  if (!events || !GST_VALUE_HOLDS_ARRAY(events))
    return;
  for (guint i = 0; i < gst_value_array_get_size(events); i++) {
    const GstStructure *e = gst_value_get_structure(gst_value_array_get_value(events, i));
    guint64 track = 0, pts = 0;
    gst_structure_get_uint64(e, "track_id", &track);
    gst_structure_get_uint64(e, "pts", &pts);
    const gchar *dir = gst_structure_get_string(e, "direction");
    const gchar *label = gst_structure_get_string(e, "label");
    gchar *dir_part = dir ? g_strdup_printf(" direction=%s", dir) : g_strdup("");
    printf("%s %" G_GUINT64_FORMAT " %s %s track=%" G_GUINT64_FORMAT "%s label=%s\n", camera, pts,
           gst_structure_get_name(e), gst_structure_get_string(e, "rule"), track, dir_part,
           label ? label : "");
    g_free(dir_part);
  }
  fflush(stdout);
}

static gboolean on_message(GstBus *bus, GstMessage *msg, gpointer data)
{
  App *app = data;
  (void)bus;
  switch (GST_MESSAGE_TYPE(msg)) {
  case GST_MESSAGE_ELEMENT: {
    const GstStructure *s = gst_message_get_structure(msg);
    const gchar *from = GST_OBJECT_NAME(GST_MESSAGE_SRC(msg));
    if (gst_structure_has_name(s, "ufoanalytics")) {
      print_events(s, from);
    } else if (gst_structure_has_name(s, "ufometapublish-connection")) {
      gboolean up = FALSE;
      gst_structure_get_boolean(s, "connected", &up);
      fprintf(stderr, "%s: %s %s:%u (%s)\n", from, up ? "connected to" : "not connected to",
              gst_structure_get_string(s, "host"),
              g_value_get_uint(gst_structure_get_value(s, "port")),
              gst_structure_get_string(s, "reason"));
    } else if (gst_structure_has_name(s, "ufometapublish-drops")) {
      guint64 dropped = 0;
      gst_structure_get_uint64(s, "dropped", &dropped);
      fprintf(stderr, "%s: queue full, %" G_GUINT64_FORMAT " documents dropped so far\n", from,
              dropped);
    }
    break;
  }
  case GST_MESSAGE_WARNING: {
    GError *err = NULL;
    gst_message_parse_warning(msg, &err, NULL);
    fprintf(stderr, "%s: warning: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message);
    g_error_free(err);
    break;
  }
  case GST_MESSAGE_ERROR: {
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error(msg, &err, &dbg);
    fprintf(stderr, "%s: error: %s\n%s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(msg)), err->message,
            dbg ? dbg : "");
    g_error_free(err);
    g_free(dbg);
    app->status = 1;
    g_main_loop_quit(app->loop);
    break;
  }
  case GST_MESSAGE_EOS:
    g_main_loop_quit(app->loop);
    break;
  default:
    break;
  }
  return TRUE;
}

static gboolean on_sigint(gpointer data)
{
  App *app = data;
  fprintf(stderr, "multicam-mqtt: stopping (EOS)\n");
  gst_element_send_event(app->pipeline, gst_event_new_eos());
  return G_SOURCE_CONTINUE;
}

/* a quoted property value for gst_parse_launch, which takes \" and \\ inside quotes */
static gchar *prop(const gchar *name, const gchar *value)
{
  if (!value)
    return g_strdup("");
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, " %s=\"", name);
  for (const gchar *p = value; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_c(s, '\\');
    g_string_append_c(s, *p);
  }
  g_string_append_c(s, '"');
  return g_string_free(s, FALSE);
}

int main(int argc, char **argv)
{
  gchar *broker = NULL, *topic = NULL, *model = NULL, *props = NULL, *line = NULL, *zone = NULL,
        *cafile = NULL, *username = NULL, *password = NULL;
  gboolean sync = FALSE;
  GOptionEntry entries[] = {
      {"broker", 'b', 0, G_OPTION_ARG_STRING, &broker, "MQTT broker (default 127.0.0.1:1883)",
       "HOST:PORT"},
      {"topic", 't', 0, G_OPTION_ARG_STRING, &topic,
       "Topic, {source} = cam1, cam2 ... (default ufo/{source})", "TOPIC"},
      {"model", 'm', 0, G_OPTION_ARG_STRING, &model,
       "Model file, shared by all cameras (default models/ufo-demo.safetensors)", "FILE"},
      {"props", 0, 0, G_OPTION_ARG_STRING, &props,
       "Properties of ufodetect (default \"threshold=0.1 inference-interval=3\")", "\"k=v ...\""},
      {"line", 'l', 0, G_OPTION_ARG_STRING, &line,
       "ufoanalytics lines of every camera (default middle:240,0,240,480)", "NAME:x1,y1,x2,y2"},
      {"zone", 'z', 0, G_OPTION_ARG_STRING, &zone,
       "ufoanalytics zones of every camera (default centre:120,120,360,120,360,360,120,360)",
       "NAME:x1,y1,..."},
      {"cafile", 0, 0, G_OPTION_ARG_STRING, &cafile, "PEM CA file: TLS to the broker", "FILE"},
      {"username", 0, 0, G_OPTION_ARG_STRING, &username, "MQTT user name", "NAME"},
      {"password", 0, 0, G_OPTION_ARG_STRING, &password, "MQTT password", "PASSWORD"},
      {"sync", 0, 0, G_OPTION_ARG_NONE, &sync,
       "Run files at their frame rate (default: as fast "
       "as the model goes)",
       NULL},
      {NULL}};
  GOptionContext *ctx =
      g_option_context_new("SOURCE... - N cameras, one model, analytics events to MQTT");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc < 2) {
    fprintf(stderr, "multicam-mqtt: %s\n%s", err ? err->message : "give one SOURCE or more",
            g_option_context_get_help(ctx, TRUE, NULL));
    return 2;
  }
  g_option_context_free(ctx);
  gchar **hp = g_strsplit(broker ? broker : "127.0.0.1:1883", ":", 2);
  const gchar *host = hp[0];
  const guint port = hp[1] ? (guint)g_ascii_strtoull(hp[1], NULL, 10) : 1883;
  gchar *p_cafile = prop("cafile", cafile), *p_user = prop("username", username),
        *p_pass = prop("password", password),
        *p_line = prop("lines", line ? line : "middle:240,0,240,480"),
        *p_zone = prop("zones", zone ? zone : "centre:120,120,360,120,360,360,120,360"),
        *p_topic = prop("topic", topic ? topic : "ufo/{source}"),
        *p_model = prop("model", model ? model : "models/ufo-demo.safetensors");
  GString *desc = g_string_new(NULL);
  for (gint i = 1; i < argc; i++) {
    const gchar *in = argv[i];
    gchar *uri = strstr(in, "://") ? g_strdup(in) : gst_filename_to_uri(in, NULL);
    if (!uri) {
      fprintf(stderr, "multicam-mqtt: cannot make a URI of '%s'\n", in);
      return 2;
    }
    /* rtspsrc for rtsp:// (low latency), uridecodebin for files and the rest; live cameras
     * never fall behind (late-frames=skip-inference: a frame late by the clock passes on with
     * the last results, ufotrack predicting the boxes), files are not live and infer as --props
     * says */
    gchar *src = g_str_has_prefix(uri, "rtsp")
                     ? g_strdup_printf("rtspsrc location=\"%s\" latency=200 ! decodebin", uri)
                     : g_strdup_printf("uridecodebin uri=\"%s\"", uri);
    g_string_append_printf(
        desc,
        "%s ! videoconvert ! ufodetect%s model-instance-id=multicam batch-size=%d "
        "late-frames=skip-inference %s ! ufotrack ! "
        "ufoanalytics name=cam%d%s%s ! "
        "ufometaconvert post-messages=false source=cam%d ! "
        "ufometapublish name=publish%d method=mqtt host=\"%s\" port=%u%s source-id=cam%d%s%s%s ! "
        "fakesink sync=%s\n",
        src, p_model, argc - 1, props ? props : "threshold=0.1 inference-interval=3", i, p_line,
        p_zone, i, i, host, port, p_topic, i, p_cafile, p_user, p_pass, sync ? "true" : "false");
    g_free(src);
    g_free(uri);
  }
  gchar *shown = desc->str; /* the description without the password */
  if (password) {
    gchar **parts = g_strsplit(desc->str, p_pass, -1);
    shown = g_strjoinv(" password=***", parts);
    g_strfreev(parts);
  }
  fprintf(stderr, "multicam-mqtt: %d camera%s\n%s", argc - 1, argc > 2 ? "s" : "", shown);
  if (shown != desc->str)
    g_free(shown);
  App app = {0};
  app.pipeline = gst_parse_launch(desc->str, &err);
  if (!app.pipeline || err) {
    fprintf(stderr, "multicam-mqtt: %s\n", err ? err->message : "cannot build the pipeline");
    return 2;
  }
  app.loop = g_main_loop_new(NULL, FALSE);
  GstBus *bus = gst_element_get_bus(app.pipeline);
  gst_bus_add_watch(bus, on_message, &app);
  g_unix_signal_add(SIGINT, on_sigint, &app);
  if (gst_element_set_state(app.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    app.status = 1; /* the error message says why */
    while (gst_bus_have_pending(bus)) {
      GstMessage *m = gst_bus_pop(bus);
      on_message(bus, m, &app);
      gst_message_unref(m);
    }
  } else {
    g_main_loop_run(app.loop);
  }
  /* stop: every ufometapublish drains its queue (up to 2 s while connected) */
  gst_element_set_state(app.pipeline, GST_STATE_NULL);
  for (gint i = 1; i < argc; i++) {
    gchar *name = g_strdup_printf("publish%d", i);
    GstElement *pub = gst_bin_get_by_name(GST_BIN(app.pipeline), name);
    guint64 published = 0, dropped = 0;
    g_object_get(pub, "published", &published, "dropped", &dropped, NULL);
    fprintf(stderr,
            "cam%d: %" G_GUINT64_FORMAT " documents published, %" G_GUINT64_FORMAT " dropped\n", i,
            published, dropped);
    gst_object_unref(pub);
    g_free(name);
  }
  gst_bus_remove_watch(bus);
  gst_object_unref(bus);
  gst_object_unref(app.pipeline);
  g_main_loop_unref(app.loop);
  g_string_free(desc, TRUE);
  g_strfreev(hp);
  g_free(p_cafile);
  g_free(p_user);
  g_free(p_pass);
  g_free(p_line);
  g_free(p_zone);
  g_free(p_topic);
  g_free(p_model);
  return app.status;
}
