/* CUDA-memory input of ufodetect (docs/elements.md "CUDA memory"), without a GPU: GStreamer's own
 * CUDA library (libgstcuda-1.0: contexts, pitched GstCudaMemory, buffer pools, context queries)
 * runs on the fake driver of tests/gst/fakecuda (device memory in host memory, copies counted),
 * and the element's CUDA sessions run on the emulated CUDA backend (the plugin is registered
 * statically in this program, with backend.h's test seam set).
 *
 * - The element answers the pipeline's CUDA context query with the engine's context (announced
 *   with have-context); a frame in pool memory of that context (NV12, pitched, written "on the
 *   device") is read in place, not one byte copied from device to host; the same frame in
 *   another CUDA context goes through system memory, with one warning; same results, bit for
 *   bit (the pixel formats in device memory: tests/engine/nn preprocess device-frames).
 * - device=cpu: a frame in CUDA memory is mapped to system memory: the results of the same frame
 *   in system memory. */
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>
#include <gst/cuda/gstcudabufferpool.h>
#include <gst/cuda/gstcudacontext.h>
#include <gst/cuda/gstcudamemory.h>
#include <gst/cuda/gstcudautils.h>
#include <gst/ufo/ufometa.h>
#include <string.h>
#include <ufo/ufo.h>

#include "backend_by_name.h"
#include "fake_cuda_driver.h"
#include "scene_frames.h"

GST_PLUGIN_STATIC_DECLARE(ufo);

#define W 320
#define H 240

/* frame k: shapes in bright colours on a dark gradient (the demo model's scenes), as RGB */
static void scene_rgb(int k, guint8 *rgb)
{
  const int r = 26 + 4 * k;
  const int cx[3] = {70 + 30 * k, 170, 250 - 20 * k}, cy[3] = {80, 150 + 10 * k, 90};
  static const guint8 col[3][3] = {{230, 40, 40}, {40, 220, 60}, {50, 80, 240}};
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      guint8 *p = rgb + ((gsize)y * W + x) * 3;
      p[0] = (guint8)(20 + x * 40 / W);
      p[1] = (guint8)(25 + y * 30 / H);
      p[2] = 30;
      for (int i = 0; i < 3; i++) {
        const int dx = x - cx[i], dy = y - cy[i];
        const gboolean in = i == 0   ? dx * dx + dy * dy < r * r
                            : i == 1 ? ABS(dx) < r && ABS(dy) < r
                                     : ABS(dx) + ABS(dy) < r;
        if (in)
          memcpy(p, col[(i + k) % 3], 3);
      }
    }
}

/* writes frame k into a mapped frame of format RGBA or NV12 (BT.601 limited range) */
static void fill_frame(GstVideoFrame *f, int k)
{
  guint8 *rgb = g_malloc((gsize)W * H * 3);
  scene_rgb(k, rgb);
  const gboolean nv12 = GST_VIDEO_FRAME_FORMAT(f) == GST_VIDEO_FORMAT_NV12;
  guint8 *d0 = GST_VIDEO_FRAME_PLANE_DATA(f, 0);
  const gint s0 = GST_VIDEO_FRAME_PLANE_STRIDE(f, 0);
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      const guint8 *p = rgb + ((gsize)y * W + x) * 3;
      if (!nv12) {
        guint8 *q = d0 + (gsize)y * s0 + (gsize)x * 4;
        q[0] = p[0], q[1] = p[1], q[2] = p[2], q[3] = 255;
        continue;
      }
      d0[(gsize)y * s0 + x] = (guint8)(16 + (66 * p[0] + 129 * p[1] + 25 * p[2] + 128) / 256);
      if (x % 2 == 0 && y % 2 == 0) {
        guint8 *uv = (guint8 *)GST_VIDEO_FRAME_PLANE_DATA(f, 1) +
                     (gsize)(y / 2) * GST_VIDEO_FRAME_PLANE_STRIDE(f, 1) + x;
        uv[0] = (guint8)(128 + (-38 * p[0] - 74 * p[1] + 112 * p[2]) / 256);
        uv[1] = (guint8)(128 + (112 * p[0] - 94 * p[1] - 18 * p[2]) / 256);
      }
    }
  g_free(rgb);
}

static GstCaps *caps_for(const gchar *format, gboolean cuda)
{
  GstCaps *caps =
      gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, "width", G_TYPE_INT, W,
                          "height", G_TYPE_INT, H, "framerate", GST_TYPE_FRACTION, 10, 1, NULL);
  if (cuda)
    gst_caps_set_features(caps, 0,
                          gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY, NULL));
  return caps;
}

typedef struct {
  GstElement *pipe, *src, *sink;
} Pipe;

static Pipe pipe_new(const gchar *device)
{
  gchar *desc = g_strdup_printf("appsrc name=src format=time ! ufodetect name=infer model=%s "
                                "device=%s threads=2 precision=fp32 ! appsink name=sink sync=false",
                                UFO_DEMO_MODEL, device);
  Pipe p = {gst_parse_launch(desc, NULL)};
  g_free(desc);
  fail_unless(p.pipe != NULL);
  p.src = gst_bin_get_by_name(GST_BIN(p.pipe), "src");
  p.sink = gst_bin_get_by_name(GST_BIN(p.pipe), "sink");
  return p;
}

static void pipe_free(Pipe *p)
{
  gst_element_set_state(p->pipe, GST_STATE_NULL);
  gst_object_unref(p->src);
  gst_object_unref(p->sink);
  gst_object_unref(p->pipe);
}

/* the CUDA context the element downstream of appsrc answers a context query with (NULL: none),
 * as an upstream CUDA element (nvh264dec, cudaupload) asks for it */
static GstCudaContext *context_from_downstream(Pipe *p)
{
  GstQuery *q = gst_query_new_context(GST_CUDA_CONTEXT_TYPE);
  GstPad *pad = gst_element_get_static_pad(p->src, "src");
  GstCudaContext *ctx = NULL;
  if (gst_pad_peer_query(pad, q)) {
    GstContext *c = NULL;
    gst_query_parse_context(q, &c);
    fail_unless(c != NULL);
    fail_unless(gst_structure_get(gst_context_get_structure(c), GST_CUDA_CONTEXT_TYPE,
                                  GST_TYPE_CUDA_CONTEXT, &ctx, NULL));
  }
  gst_object_unref(pad);
  gst_query_unref(q);
  return ctx;
}

/* frame k in CUDA memory of ctx, from a GStreamer CUDA buffer pool (pitched planes) */
static GstBuffer *cuda_frame(GstBufferPool *pool, const gchar *format, int k)
{
  GstBuffer *buf = NULL;
  fail_unless(gst_buffer_pool_acquire_buffer(pool, &buf, NULL) == GST_FLOW_OK);
  fail_unless(gst_is_cuda_memory(gst_buffer_peek_memory(buf, 0)));
  GstVideoInfo info;
  GstCaps *caps = caps_for(format, TRUE);
  fail_unless(gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  GstVideoFrame f;
  fail_unless(gst_video_frame_map(&f, &info, buf, GST_MAP_WRITE));
  fill_frame(&f, k);
  gst_video_frame_unmap(&f);
  /* a CUDA write map, as a decoder writing the frame on the device: uploaded now, and the
   * device's copy is the frame (a system-memory map downloads it) */
  GstMemory *mem = gst_buffer_peek_memory(buf, 0);
  GstMapInfo map;
  fail_unless(gst_memory_map(mem, &map, GST_MAP_READWRITE | GST_MAP_CUDA));
  gst_memory_unmap(mem, &map);
  GST_BUFFER_PTS(buf) = (GstClockTime)k * GST_SECOND / 10;
  GST_BUFFER_DURATION(buf) = GST_SECOND / 10;
  return buf;
}

static GstBuffer *system_frame(const gchar *format, int k)
{
  GstVideoInfo info;
  GstCaps *caps = caps_for(format, FALSE);
  fail_unless(gst_video_info_from_caps(&info, caps));
  gst_caps_unref(caps);
  GstBuffer *buf = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
  GstVideoFrame f;
  fail_unless(gst_video_frame_map(&f, &info, buf, GST_MAP_WRITE));
  fill_frame(&f, k);
  gst_video_frame_unmap(&f);
  GST_BUFFER_PTS(buf) = (GstClockTime)k * GST_SECOND / 10;
  GST_BUFFER_DURATION(buf) = GST_SECOND / 10;
  return buf;
}

static GstBufferPool *pool_new(GstCudaContext *ctx, const gchar *format)
{
  GstBufferPool *pool = gst_cuda_buffer_pool_new(ctx);
  GstStructure *config = gst_buffer_pool_get_config(pool);
  GstCaps *caps = caps_for(format, TRUE);
  GstVideoInfo info;
  fail_unless(gst_video_info_from_caps(&info, caps));
  gst_buffer_pool_config_set_params(config, caps, GST_VIDEO_INFO_SIZE(&info), 1, 4);
  gst_caps_unref(caps);
  fail_unless(gst_buffer_pool_set_config(pool, config));
  fail_unless(gst_buffer_pool_set_active(pool, TRUE));
  return pool;
}

/* One frame through the pipeline, waited for: its results as text; *warning gets the first
 * warning on the bus so far (if none yet); *d2h the bytes the fake driver copied from device to
 * host meanwhile. Takes buf. */
static gchar *step(Pipe *p, const gchar *format, gboolean cuda, GstBuffer *buf, guint *n_objects,
                   gchar **warning, guint64 *d2h)
{
  GstCaps *caps = caps_for(format, cuda);
  gst_app_src_set_caps(GST_APP_SRC(p->src), caps);
  gst_caps_unref(caps);
  ufo_fake_cuda_reset_counters();
  fail_unless(gst_app_src_push_buffer(GST_APP_SRC(p->src), buf) == GST_FLOW_OK);
  GstSample *smp = gst_app_sink_try_pull_sample(GST_APP_SINK(p->sink), 300 * GST_SECOND);
  GstBus *bus = gst_element_get_bus(p->pipe);
  if (!smp) {
    GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    GError *err = NULL;
    if (m)
      gst_message_parse_error(m, &err, NULL);
    fail("%s frame in %s memory: no result (%s)", format, cuda ? "CUDA" : "system",
         err ? err->message : "no error on the bus");
  }
  *d2h = ufo_fake_cuda_bytes(UFO_FAKE_CUDA_DEVICE_TO_HOST);
  GstBuffer *out = gst_sample_get_buffer(smp);
  gchar *d = ufo_test_describe(out); /* every object bit for bit (%a) */
  *n_objects += gst_ufo_meta_get_n_objects(gst_buffer_get_ufo_meta(out));
  gst_sample_unref(smp);
  GstMessage *m = gst_bus_pop_filtered(bus, GST_MESSAGE_WARNING);
  if (m && !*warning) {
    GError *err = NULL;
    gst_message_parse_warning(m, &err, NULL);
    *warning = g_strdup(err->message);
    g_error_free(err);
  }
  if (m)
    gst_message_unref(m);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR) == NULL);
  gst_object_unref(bus);
  return d;
}

/* device=cuda: the element's context is the engine's (announced on the bus, the answer to a
 * context query); an NV12 frame in pitched pool memory of that context is read in place (not a
 * byte copied back from the device), the same frame in another context goes through system
 * memory with one warning, and both give the same results, bit for bit. One pipeline (one
 * session, prepared once: the emulation is slow). */
GST_START_TEST(test_cuda_session)
{
  Pipe p = pipe_new("cuda");
  GstBus *bus = gst_element_get_bus(p.pipe);
  fail_unless(gst_element_set_state(p.pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  GstMessage *have = gst_bus_pop_filtered(bus, GST_MESSAGE_HAVE_CONTEXT);
  fail_unless(have != NULL, "ufodetect announced no CUDA context");
  gst_message_unref(have);
  gst_object_unref(bus);
  GstCudaContext *ctx = context_from_downstream(&p);
  fail_unless(ctx != NULL, "ufodetect answered no CUDA context query");
  GError *err = NULL;
  void *engine_ctx = ufo_cuda_device_context(0, &err);
  fail_unless(engine_ctx != NULL, "%s", err ? err->message : "?");
  fail_unless(gst_cuda_context_get_handle(ctx) == engine_ctx,
              "the pipeline's CUDA context is not the engine's");
  GstCudaContext *foreign = gst_cuda_context_new(0); /* an application's own */
  fail_unless(foreign != NULL && gst_cuda_context_get_handle(foreign) != engine_ctx);

  GstBufferPool *pool = pool_new(ctx, "NV12"), *other = pool_new(foreign, "NV12");
  GstBuffer *buf = cuda_frame(pool, "NV12", 0);
  const GstVideoInfo *mi = &GST_CUDA_MEMORY_CAST(gst_buffer_peek_memory(buf, 0))->info;
  fail_unless(GST_VIDEO_INFO_PLANE_STRIDE(mi, 0) > W && GST_VIDEO_INFO_PLANE_STRIDE(mi, 1) > W,
              "the pool's memory is not pitched: the test would not see stride mistakes");
  guint n = 0;
  guint64 d2h = 0;
  gchar *warning = NULL;
  gchar *got = step(&p, "NV12", TRUE, buf, &n, &warning, &d2h);
  fail_unless(n > 0, "the demo model found nothing on the scene: nothing to compare");
  fail_unless(d2h == 0, "%" G_GUINT64_FORMAT " bytes copied from device to host", d2h);
  fail_unless(warning == NULL, "%s", warning);
  gchar *want = step(&p, "NV12", TRUE, cuda_frame(other, "NV12", 0), &n, &warning, &d2h);
  fail_unless(d2h > 0, "the frame of another context was not downloaded");
  fail_unless(warning && strstr(warning, "another CUDA context"), "warning: %s", warning);
  fail_unless(strcmp(got, want) == 0, "read in place:\n%s\nthrough system memory:\n%s", got, want);
  g_free(warning);
  g_free(got);
  g_free(want);
  pipe_free(&p);
  gst_buffer_pool_set_active(pool, FALSE);
  gst_buffer_pool_set_active(other, FALSE);
  gst_object_unref(pool);
  gst_object_unref(other);
  gst_object_unref(foreign);
  gst_object_unref(ctx);
}
GST_END_TEST;

/* device=cpu: no CUDA context offered; frames in CUDA memory mapped to system memory, the
 * CPU's own results, no warning */
GST_START_TEST(test_cpu_session)
{
  Pipe p = pipe_new("cpu");
  fail_unless(gst_element_set_state(p.pipe, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE);
  fail_unless(context_from_downstream(&p) == NULL, "device=cpu offered a CUDA context");
  GstCudaContext *ctx = gst_cuda_context_new(0);
  fail_unless(ctx != NULL);
  GstBufferPool *pool = pool_new(ctx, "RGBA");
  guint n = 0;
  guint64 d2h = 0;
  gchar *warning = NULL;
  gchar *want = step(&p, "RGBA", FALSE, system_frame("RGBA", 0), &n, &warning, &d2h);
  gchar *got = step(&p, "RGBA", TRUE, cuda_frame(pool, "RGBA", 0), &n, &warning, &d2h);
  fail_unless(strcmp(got, want) == 0, "CUDA memory:\n%s\nsystem memory:\n%s", got, want);
  fail_unless(n > 0 && d2h > 0);
  fail_unless(warning == NULL, "%s", warning);
  g_free(got);
  g_free(want);
  pipe_free(&p);
  gst_buffer_pool_set_active(pool, FALSE);
  gst_object_unref(pool);
  gst_object_unref(ctx);
}
GST_END_TEST;

static Suite *cuda_memory_suite(void)
{
  Suite *s = suite_create("cuda-memory");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 600);
  tcase_add_test(tc, test_cuda_session);
  tcase_add_test(tc, test_cpu_session);
  suite_add_tcase(s, tc);
  return s;
}

int main(int argc, char **argv)
{
  /* device=cuda sessions of the statically registered plugin run on the emulated backend */
  ufo_backend_set_test_cuda_ctor(ufo_test_cuda_emu_ctor);
  gst_check_init(&argc, &argv);
  GST_PLUGIN_STATIC_REGISTER(ufo);
  if (!gst_cuda_load_library()) {
    g_printerr("GStreamer's CUDA library did not load the fake driver (LD_LIBRARY_PATH)\n");
    return 1;
  }
  gst_cuda_memory_init_once(); /* the CUDA allocator, for the test's pools */
  return gst_check_run_suite(cuda_memory_suite(), "cuda-memory", __FILE__);
}
