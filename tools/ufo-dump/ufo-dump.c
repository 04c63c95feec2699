/* ufo-dump: runs a pipeline and prints one JSON line per frame (gvametaconvert layout) with the
 * UFO-ViT results that reach its end.
 *
 *   ufo-dump [--source NAME] [--tags JSON] [--output FILE] [--masks [--mask-threshold P]]
 *            'PIPELINE'
 *   ufo-dump 'filesrc location=in.mp4 ! decodebin ! videoconvert ! ufodetect model=m.safetensors'
 *
 * The pipeline description must end with an element with a free video src pad; ufo-dump links
 * a fakesink to it and reads every buffer there. Exit status: 0 at end of stream, 1 on error, 2
 * for bad usage (no pipeline, a file instead of a pipeline, a description that does not parse). */
#include <gst/gst.h>
#include <gst/video/video.h>
#include <stdio.h>
#include <string.h>

#include "ufojson.h"

typedef struct {
  FILE *out;
  const gchar *source;
  JsonNode *tags;
  UfoJsonOptions opts; /* --masks, --mask-threshold */
  guint64 frames;
} Dump;

static GstPadProbeReturn on_buffer(GstPad *pad, GstPadProbeInfo *info, gpointer user_data)
{
  Dump *d = user_data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  gint w = 0, h = 0;
  GstCaps *caps = gst_pad_get_current_caps(pad);
  if (caps) {
    GstVideoInfo vi;
    if (gst_video_info_from_caps(&vi, caps)) {
      w = GST_VIDEO_INFO_WIDTH(&vi);
      h = GST_VIDEO_INFO_HEIGHT(&vi);
    }
    gst_caps_unref(caps);
  }
  gchar *line = ufo_dump_frame_json_with(buf, w, h, d->source, d->tags, &d->opts);
  fprintf(d->out, "%s\n", line);
  fflush(d->out);
  g_free(line);
  d->frames++;
  return GST_PAD_PROBE_OK;
}

int main(int argc, char **argv)
{
  gchar *source = NULL, *tags = NULL, *output = NULL;
  gboolean masks = UFO_JSON_DEFAULT_MASKS;
  gdouble mask_threshold = UFO_JSON_DEFAULT_MASK_THRESHOLD;
  GOptionEntry entries[] = {
      {"source", 's', 0, G_OPTION_ARG_STRING, &source, "Value of the \"source\" field", "NAME"},
      {"tags", 't', 0, G_OPTION_ARG_STRING, &tags, "JSON object copied into every line", "JSON"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Write to FILE instead of stdout", "FILE"},
      {"masks", 'm', 0, G_OPTION_ARG_NONE, &masks,
       "Add each instance mask to its object as \"mask_rle\" (COCO RLE in frame pixels), and each "
       "semantic class to its producer's entry",
       NULL},
      {"mask-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &mask_threshold,
       "Mask probability from which a pixel is inside in mask_rle (default 0.5)", "P"},
      {NULL}};
  GOptionContext *ctx = g_option_context_new("'PIPELINE' - one JSON line per frame");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc < 2) {
    fprintf(stderr, "ufo-dump: %s\n%s", err ? err->message : "no pipeline given",
            g_option_context_get_help(ctx, TRUE, NULL));
    return 2;
  }
  g_option_context_free(ctx);

  int rc = 0;
  if (!(mask_threshold >= 0.0 && mask_threshold <= 1.0)) {
    fprintf(stderr, "ufo-dump: --mask-threshold must be between 0 and 1\n");
    return 2;
  }
  Dump d = {stdout, source, NULL, {masks, mask_threshold}, 0};
  if (tags) {
    d.tags = json_from_string(tags, &err);
    if (!d.tags || !JSON_NODE_HOLDS_OBJECT(d.tags)) {
      fprintf(stderr, "ufo-dump: --tags must be a JSON object%s%s\n", err ? ": " : "",
              err ? err->message : "");
      return 2;
    }
  }
  if (output && !(d.out = fopen(output, "w"))) {
    perror(output);
    return 2;
  }
  g_autofree gchar *desc = g_strjoinv(" ", argv + 1);
  /* a model or media file instead of a pipeline description (a common slip) */
  if (!strchr(desc, '!') && !strchr(desc, '=') &&
      (g_file_test(desc, G_FILE_TEST_EXISTS) || strchr(desc, '/') || strchr(desc, '.'))) {
    fprintf(stderr,
            "ufo-dump: '%s' looks like a file, not a pipeline description: give a quoted "
            "pipeline, e.g. ufo-dump 'filesrc location=in.mp4 ! decodebin ! videoconvert ! "
            "ufodetect model=MODEL.safetensors'.\n",
            desc);
    rc = 2;
    goto out;
  }
  gchar *full = g_strdup_printf("%s ! fakesink name=ufodumpsink sync=false", desc);
  GstElement *pipeline = gst_parse_launch_full(full, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &err);
  g_free(full);
  if (!pipeline || err) {
    fprintf(stderr, "ufo-dump: bad pipeline description '%s': %s.\n", desc,
            err ? err->message : "it could not be built");
    g_clear_error(&err);
    g_clear_object(&pipeline);
    rc = 2;
    goto out;
  }
  GstElement *sink =
      GST_IS_BIN(pipeline) ? gst_bin_get_by_name(GST_BIN(pipeline), "ufodumpsink") : NULL;
  if (!sink) {
    fprintf(stderr,
            "ufo-dump: '%s' is not a pipeline description ending in an element with a free "
            "video src pad.\n",
            desc);
    gst_object_unref(pipeline);
    rc = 2;
    goto out;
  }
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, on_buffer, &d, NULL);
  gst_object_unref(pad);
  gst_object_unref(sink);

  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus *bus = gst_element_get_bus(pipeline);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  if (msg && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError *e = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error(msg, &e, &dbg);
    fprintf(stderr, "ufo-dump: error from %s: %s\n%s\n", GST_OBJECT_NAME(msg->src), e->message,
            dbg ? dbg : "");
    g_error_free(e);
    g_free(dbg);
    rc = 1;
  }
  gst_clear_message(&msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  fprintf(stderr, "ufo-dump: %" G_GUINT64_FORMAT " frames\n", d.frames);
out:
  if (d.out != stdout)
    fclose(d.out);
  if (d.tags)
    json_node_unref(d.tags);
  g_free(source);
  g_free(tags);
  g_free(output);
  return rc;
}
