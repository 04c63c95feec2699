/* rtsp-annotate: RTSP (or any URI) in -> ufodetect -> ufooverlay -> H.264 RTSP out.
 *
 *   rtsp-annotate [--port 8554] [--mount /annotated] [--props "threshold=0.4"] URI MODEL
 *   rtsp-annotate rtsp://camera/stream models/demo.safetensors
 *   then: gst-play-1.0 rtsp://127.0.0.1:8554/annotated   (or ffplay, VLC)
 *
 * The inference element runs with late-frames=skip-inference, so a slow model never makes the
 * live stream fall behind: late frames pass with the last results (DL Streamer no-block style).
 * One shared media: every client sees the same annotated stream. */
#include <gst/gst.h>
#include <gst/rtsp-server/rtsp-server.h>
#include <stdio.h>

int main(int argc, char **argv)
{
  gchar *port = NULL, *mount = NULL, *props = NULL, *element = NULL;
  GOptionEntry entries[] = {
      {"port", 'p', 0, G_OPTION_ARG_STRING, &port, "RTSP port to serve on (default 8554)", "N"},
      {"mount", 'm', 0, G_OPTION_ARG_STRING, &mount, "Mount point (default /annotated)", "PATH"},
      {"props", 0, 0, G_OPTION_ARG_STRING, &props, "Extra properties of the inference element",
       "\"k=v ...\""},
      {"element", 'e', 0, G_OPTION_ARG_STRING, &element, "ufodetect (default) or ufoseg", "NAME"},
      {NULL}};
  GOptionContext *ctx = g_option_context_new("URI MODEL - serve an annotated RTSP stream");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_group(ctx, gst_init_get_option_group());
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 3) {
    fprintf(stderr, "rtsp-annotate: %s\n%s", err ? err->message : "give URI and MODEL",
            g_option_context_get_help(ctx, TRUE, NULL));
    return 2;
  }
  g_option_context_free(ctx);
  const gchar *uri = argv[1], *model = argv[2];
  /* rtspsrc for rtsp:// (low latency), uridecodebin for anything else (files, http) */
  gchar *src = g_str_has_prefix(uri, "rtsp")
                   ? g_strdup_printf("rtspsrc location=\"%s\" latency=200 ! decodebin", uri)
                   : g_strdup_printf("uridecodebin uri=\"%s\"", uri);
  gchar *launch = g_strdup_printf(
      "( %s ! videoconvert ! %s model=\"%s\" late-frames=skip-inference %s ! ufooverlay ! "
      "videoconvert ! x264enc tune=zerolatency speed-preset=ultrafast key-int-max=30 ! "
      "rtph264pay name=pay0 pt=96 config-interval=1 )",
      src, element ? element : "ufodetect", model, props ? props : "");
  GMainLoop *loop = g_main_loop_new(NULL, FALSE);
  GstRTSPServer *server = gst_rtsp_server_new();
  gst_rtsp_server_set_service(server, port ? port : "8554");
  GstRTSPMediaFactory *factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory, launch);
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  GstRTSPMountPoints *mounts = gst_rtsp_server_get_mount_points(server);
  gst_rtsp_mount_points_add_factory(mounts, mount ? mount : "/annotated", factory);
  g_object_unref(mounts);
  if (gst_rtsp_server_attach(server, NULL) == 0) {
    fprintf(stderr, "rtsp-annotate: cannot listen on port %s\n", port ? port : "8554");
    return 1;
  }
  printf("serving rtsp://127.0.0.1:%s%s\n  %s\n", port ? port : "8554",
         mount ? mount : "/annotated", launch);
  fflush(stdout);
  g_main_loop_run(loop);
  g_main_loop_unref(loop);
  g_object_unref(server);
  g_free(launch);
  g_free(src);
  return 0;
}
