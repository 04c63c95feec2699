/* Benchmark (not a test): time that `ufometaconvert ! ufometapublish method=mqtt` adds to each
 * frame of 20 objects, against `identity`, with a broker already listening on 127.0.0.1:PORT.
 *
 *   /usr/sbin/mosquitto -p 18830 &
 *   build/tests/gst/bench-metapublish 18830 [frames]
 *   redis-server --port 16390 --save '' &
 *   build/tests/gst/bench-metapublish 16390 [frames] redis
 *
 * Prints the streaming-thread time per frame (push to pull) of both pipelines, their difference,
 * and how long the worker took to have every document acknowledged (QoS 1) or stored (Redis);
 * then the time to build the frame's document alone, with gst/ufojson.c's writer and with the
 * json-glib code it replaced (tests/gst/json_reference.c), alternating, median of 7 rounds. */
#include <gst/check/gstharness.h>
#include <gst/ufo/ufometa.h>
#include <stdio.h>
#include <stdlib.h>

#include "json_reference.h"
#include "ufojson.h"

#define CAPS "video/x-raw,format=RGB,width=640,height=360,framerate=30/1"

static GstBuffer *frame20(void)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 640 * 360 * 3, NULL);
  GST_BUFFER_PTS(buf) = 0;
  GstUfoResults *r = gst_ufo_results_new(640, 360);
  for (gint i = 0; i < 20; i++) {
    gst_ufo_results_add_object(r, i % 3, i % 2 ? "car" : "person", 0.5f + i * 0.02f, 10 + i * 25,
                               20 + i * 10, 30, 40);
    gst_ufo_results_set_track_id(r, i, 100 + i);
  }
  gst_ufo_results_add_roi_metas(r, buf, 1, NULL);
  gst_buffer_add_ufo_meta(buf, r, 1, "detection", TRUE, 0);
  gst_ufo_results_unref(r);
  return buf;
}

/* seconds per frame on the streaming thread */
static gdouble run(GstHarness *h, GstBuffer *buf, gint frames)
{
  gst_harness_set_src_caps_str(h, CAPS);
  for (gint k = 0; k < 50; k++) /* warm-up */
    gst_buffer_unref(gst_harness_push_and_pull(h, gst_buffer_ref(buf)));
  const gint64 t0 = g_get_monotonic_time();
  for (gint k = 0; k < frames; k++)
    gst_buffer_unref(gst_harness_push_and_pull(h, gst_buffer_ref(buf)));
  return (g_get_monotonic_time() - t0) / 1e6 / frames;
}

static int cmp_double(const void *a, const void *b)
{
  const gdouble x = *(const gdouble *)a, y = *(const gdouble *)b;
  return x < y ? -1 : x > y;
}

/* microseconds per document, median of 7 rounds of n, the two builders alternating */
static void bench_builders(GstBuffer *buf, gint n)
{
  gdouble t[2][7];
  for (gint round = 0; round < 7; round++)
    for (gint which = 0; which < 2; which++) {
      const gint64 t0 = g_get_monotonic_time();
      for (gint k = 0; k < n; k++)
        g_free(which ? ufo_dump_frame_json_reference(buf, 640, 360, "bench", NULL)
                     : ufo_dump_frame_json(buf, 640, 360, "bench", NULL));
      t[which][round] = (gdouble)(g_get_monotonic_time() - t0) / n;
    }
  qsort(t[0], 7, sizeof(gdouble), cmp_double);
  qsort(t[1], 7, sizeof(gdouble), cmp_double);
  printf("document of 20 objects: writer %.1f us, json-glib reference %.1f us (median of 7 x %d; "
         "ranges %.1f-%.1f, %.1f-%.1f)\n",
         t[0][3], t[1][3], n, t[0][0], t[0][6], t[1][0], t[1][6]);
}

int main(int argc, char **argv)
{
  gst_init(&argc, &argv);
  if (argc < 2) {
    fprintf(stderr, "usage: %s PORT [FRAMES [mqtt|redis]]  (a server on 127.0.0.1:PORT)\n",
            argv[0]);
    return 2;
  }
  const gint port = atoi(argv[1]), frames = argc > 2 ? atoi(argv[2]) : 2000;
  const gchar *method = argc > 3 ? argv[3] : "mqtt";
  GstBuffer *buf = frame20();

  GstHarness *base = gst_harness_new("identity");
  const gdouble t_base = run(base, buf, frames);
  gst_harness_teardown(base);

  gchar *desc = g_strdup_printf("ufometaconvert post-messages=false ! ufometapublish method=%s "
                                "host=127.0.0.1 port=%d max-queue=%d source-id=bench",
                                method, port, frames + 100);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  GstElement *pub = gst_harness_find_element(h, "ufometapublish");
  const gdouble t_pub = run(h, buf, frames);
  const gint64 t0 = g_get_monotonic_time();
  guint64 published = 0, dropped = 0;
  for (gint i = 0; i < 3000 && published < (guint64)frames + 50; i++) {
    g_object_get(pub, "published", &published, "dropped", &dropped, NULL);
    g_usleep(10000);
  }
  const gdouble drain = (g_get_monotonic_time() - t0) / 1e6;
  printf("method %s, frames %d, 20 objects each\n", method, frames);
  printf("identity:                          %.4f ms/frame\n", t_base * 1e3);
  printf("ufometaconvert ! ufometapublish:   %.4f ms/frame\n", t_pub * 1e3);
  printf("added by the pair:                 %.4f ms/frame\n", (t_pub - t_base) * 1e3);
  printf("published %" G_GUINT64_FORMAT " (dropped %" G_GUINT64_FORMAT
         "), all acknowledged %.3f s after the last push\n",
         published, dropped, drain);
  gst_object_unref(pub);
  gst_harness_teardown(h);
  bench_builders(buf, 2000);
  gst_buffer_unref(buf);
  return published == (guint64)frames + 50 ? 0 : 1;
}
