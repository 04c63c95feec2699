/* ufodetect / ufoseg with the engine running (deterministic random "tiny" model): every caps
 * format gives the same results, inference-interval, reuse-results, prompt changes, late frames.
 * Needs the integrated engine (suite gst-engine). */
#include <gst/check/gstharness.h>
#include <gst/ufo/ufometa.h>
#include <gst/video/video.h>
#include <string.h>

#include "gstufotest.h"
#include "ufoframe.h"

#define W 64
#define H 48

/* A deterministic RGB test picture: gradients plus a bright rectangle. */
static void make_picture(guint8 *rgb)
{
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++) {
      guint8 *p = rgb + (y * W + x) * 3;
      gboolean box = x >= 20 && x < 44 && y >= 12 && y < 36;
      p[0] = box ? 240 : (guint8)(x * 4);
      p[1] = box ? 200 : (guint8)(y * 5);
      p[2] = box ? 30 : (guint8)((x + y) * 2);
    }
}

/* The picture in any format: packed formats by reordering bytes (same pixels), YUV with
 * GStreamer's converter (BT.601 limited). */
static GstBuffer *picture_in(GstVideoFormat fmt, GstVideoInfo *info)
{
  static guint8 rgb[W * H * 3];
  make_picture(rgb);
  GstVideoInfo rgb_info;
  gst_video_info_set_format(&rgb_info, GST_VIDEO_FORMAT_RGB, W, H);
  GstBuffer *src = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&rgb_info), NULL);
  GstVideoFrame sf, df;
  gst_video_frame_map(&sf, &rgb_info, src, GST_MAP_WRITE);
  for (int y = 0; y < H; y++)
    memcpy((guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&sf, 0) + y * GST_VIDEO_FRAME_PLANE_STRIDE(&sf, 0),
           rgb + y * W * 3, W * 3);
  gst_video_info_set_format(info, fmt, W, H);
  GstBuffer *dst = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(info), NULL);
  gst_video_frame_map(&df, info, dst, GST_MAP_WRITE);
  GstVideoConverter *conv = gst_video_converter_new(&rgb_info, info, NULL);
  gst_video_converter_frame(conv, &sf, &df);
  gst_video_converter_free(conv);
  gst_video_frame_unmap(&sf);
  gst_video_frame_unmap(&df);
  gst_buffer_unref(src);
  GST_BUFFER_PTS(dst) = 0;
  GST_BUFFER_DURATION(dst) = GST_SECOND / 30;
  return dst;
}

/* What ufodetect task=caption returns for one frame. With random weights the caption is the
 * one output that depends on every pixel (detection and segmentation come back empty). */
static gchar *caption_of(GstBuffer *in, const GstVideoInfo *info)
{
  GstHarness *h = gst_harness_new_parse("ufodetect model=random:tiny task=caption");
  GstCaps *caps = gst_video_info_to_caps(info);
  gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, 30, 1, NULL);
  gst_harness_set_src_caps(h, caps);
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  fail_unless(out != NULL);
  GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
  fail_unless(m != NULL);
  fail_unless(m->inferred);
  fail_unless_equals_string(g_quark_to_string(m->task), "caption");
  gchar *caption = g_strdup(gst_ufo_meta_get_caption(m));
  fail_unless(caption != NULL && caption[0]);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
  return caption;
}

GST_START_TEST(test_formats_agree)
{
  GstVideoInfo info;
  gchar *ref = caption_of(picture_in(GST_VIDEO_FORMAT_RGB, &info), &info);
  /* the check can fail: another picture gives another caption */
  GstBuffer *other = picture_in(GST_VIDEO_FORMAT_RGB, &info);
  gst_buffer_memset(other, 0, 0x20, W * H);
  gchar *other_caption = caption_of(other, &info);
  fail_if(g_str_equal(other_caption, ref), "caption does not depend on the picture: '%s'", ref);
  g_free(other_caption);
  const GstVideoFormat packed[] = {GST_VIDEO_FORMAT_BGR, GST_VIDEO_FORMAT_RGBA,
                                   GST_VIDEO_FORMAT_BGRA, GST_VIDEO_FORMAT_RGBx,
                                   GST_VIDEO_FORMAT_BGRx};
  for (guint i = 0; i < G_N_ELEMENTS(packed); i++) {
    gchar *got = caption_of(picture_in(packed[i], &info), &info);
    fail_unless_equals_string(got, ref);
    g_free(got);
  }
  /* YUV: the element must give what it gives on the RGB picture the frame converts to */
  const GstVideoFormat yuv[] = {GST_VIDEO_FORMAT_I420, GST_VIDEO_FORMAT_NV12};
  for (guint i = 0; i < G_N_ELEMENTS(yuv); i++) {
    GstBuffer *in = picture_in(yuv[i], &info);
    GstVideoFrame f;
    gst_video_frame_map(&f, &info, in, GST_MAP_READ);
    GstUfoScratch scratch = {0};
    UfoImage img;
    fail_unless(gst_ufo_frame_to_image(&f, &scratch, &img, NULL));
    GstVideoInfo rgb_info;
    gst_video_info_set_format(&rgb_info, GST_VIDEO_FORMAT_RGB, W, H);
    GstBuffer *rgb = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&rgb_info), NULL);
    GstVideoFrame rf;
    gst_video_frame_map(&rf, &rgb_info, rgb, GST_MAP_WRITE);
    for (int y = 0; y < H; y++)
      memcpy((guint8 *)GST_VIDEO_FRAME_PLANE_DATA(&rf, 0) +
                 y * GST_VIDEO_FRAME_PLANE_STRIDE(&rf, 0),
             img.data + y * img.stride, W * 3);
    gst_video_frame_unmap(&rf);
    gst_video_frame_unmap(&f);
    gst_ufo_scratch_clear(&scratch);
    gchar *want = caption_of(rgb, &rgb_info);
    gchar *got = caption_of(in, &info);
    fail_unless_equals_string(got, want);
    g_free(got);
    g_free(want);
  }
  g_free(ref);
}
GST_END_TEST;

static GstHarness *detect_harness(const gchar *props)
{
  gchar *desc = g_strdup_printf("ufodetect model=random:tiny %s", props);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  return h;
}

static GstBuffer *frame_at(gint i)
{
  GstVideoInfo info;
  GstBuffer *b = picture_in(GST_VIDEO_FORMAT_RGB, &info);
  GST_BUFFER_PTS(b) = i * (GST_SECOND / 30);
  return b;
}

GST_START_TEST(test_inference_interval)
{
  GstHarness *h = detect_harness("inference-interval=3 task=caption");
  const gboolean want[7] = {TRUE, FALSE, FALSE, TRUE, FALSE, FALSE, TRUE};
  GstClockTime last = GST_CLOCK_TIME_NONE;
  const gchar *caption = NULL;
  for (int i = 0; i < 7; i++) {
    GstBuffer *out = gst_harness_push_and_pull(h, frame_at(i));
    GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
    fail_unless(m != NULL, "frame %d has no meta", i);
    fail_unless_equals_int(m->inferred, want[i]);
    if (want[i])
      last = GST_BUFFER_PTS(out);
    /* reuse-results (default): non-inferred frames carry the inferred frame's results */
    fail_unless_equals_uint64(m->result_pts, last);
    fail_unless(gst_ufo_meta_get_caption(m) != NULL);
    if (i == 0)
      caption = g_intern_string(gst_ufo_meta_get_caption(m));
    else
      fail_unless_equals_string(gst_ufo_meta_get_caption(m), caption);
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_reuse_results_off)
{
  GstHarness *h = detect_harness("inference-interval=2 task=caption reuse-results=false");
  for (int i = 0; i < 3; i++) {
    GstBuffer *out = gst_harness_push_and_pull(h, frame_at(i));
    GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
    fail_unless_equals_int(m->inferred, i % 2 == 0);
    if (i % 2) {
      fail_unless(gst_ufo_meta_get_caption(m) == NULL);
      fail_unless_equals_uint64(m->result_pts, GST_CLOCK_TIME_NONE);
    } else {
      fail_unless(gst_ufo_meta_get_caption(m) != NULL);
    }
    gst_buffer_unref(out);
  }
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_prompt_change)
{
  GstHarness *h = detect_harness("task=grounding prompt=\"red car\" inference-interval=2");
  GstElement *det = gst_harness_find_element(h, "ufodetect");
  const gchar *want[5] = {"red car", "red car", "blue bus", "blue bus", "green tree"};
  for (int i = 0; i < 5; i++) {
    if (i == 1)
      g_object_set(det, "prompt", "blue bus", NULL); /* used from frame 2, the next inferred */
    if (i == 4)
      g_object_set(det, "prompt", "green tree", NULL);
    GstBuffer *out = gst_harness_push_and_pull(h, frame_at(i));
    GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
    fail_unless_equals_string(g_quark_to_string(m->task), "grounding");
    fail_unless_equals_string(gst_ufo_meta_get_prompt(m), want[i]);
    fail_unless_equals_int(m->inferred, i % 2 == 0);
    gst_buffer_unref(out);
  }
  gst_object_unref(det);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A prompt set while PLAYING that is too long for the model: the next inferred frame fails with
 * an error saying so (token count and limit), not "Inference failed on a frame.". */
GST_START_TEST(test_prompt_too_long_while_playing)
{
  GstHarness *h = detect_harness("task=grounding prompt=\"red car\"");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  GstBuffer *out = gst_harness_push_and_pull(h, frame_at(0));
  gst_buffer_unref(out);
  GString *prompt = g_string_new(NULL);
  for (int i = 0; i < 2000; i++)
    g_string_append(prompt, "the red circle ");
  GstElement *det = gst_harness_find_element(h, "ufodetect");
  g_object_set(det, "prompt", prompt->str, NULL);
  gst_object_unref(det);
  g_string_free(prompt, TRUE);
  fail_unless_equals_int(gst_harness_push(h, frame_at(1)), GST_FLOW_ERROR);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL);
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(err->domain == GST_LIBRARY_ERROR && strstr(err->message, "too long") &&
                  strstr(err->message, "at most 512") &&
                  g_regex_match_simple("has [0-9]{4,} tokens", err->message, 0, 0),
              "%s", err->message);
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_bus(h->element, NULL);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* classes set while PLAYING to a name the model lacks: the next frame fails with an error naming
 * it (the setter does not validate: style §4.8). */
GST_START_TEST(test_unknown_class_while_playing)
{
  GstHarness *h = detect_harness("classes=person");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_buffer_unref(gst_harness_push_and_pull(h, frame_at(0)));
  GstElement *det = gst_harness_find_element(h, "ufodetect");
  g_object_set(det, "classes", "person,nosuchclass", NULL);
  gst_object_unref(det);
  fail_unless_equals_int(gst_harness_push(h, frame_at(1)), GST_FLOW_ERROR);
  GstMessage *msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL);
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(g_error_matches(err, GST_LIBRARY_ERROR, GST_LIBRARY_ERROR_SETTINGS) &&
                  strstr(err->message, "'nosuchclass'") && strstr(err->message, "person, bicycle"),
              "%s", err->message);
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_bus(h->element, NULL);
  gst_object_unref(bus);
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_unique_id_and_meta_flags)
{
  GstHarness *h = detect_harness("unique-id=42 attach-roi-meta=false");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_at(0));
  GstUfoMeta *m = gst_buffer_get_ufo_meta_for_producer(out, 42);
  fail_unless(m != NULL);
  fail_unless_equals_int(m->width, W);
  fail_unless_equals_int(m->height, H);
  fail_unless(gst_buffer_get_meta(out, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE) == NULL);
  /* in place: the pixels pass through untouched */
  GstVideoInfo info;
  GstBuffer *ref = picture_in(GST_VIDEO_FORMAT_RGB, &info);
  GstMapInfo a, b;
  gst_buffer_map(out, &a, GST_MAP_READ);
  gst_buffer_map(ref, &b, GST_MAP_READ);
  fail_unless(a.size == b.size && memcmp(a.data, b.data, a.size) == 0);
  gst_buffer_unmap(out, &a);
  gst_buffer_unmap(ref, &b);
  gst_buffer_unref(ref);
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* A QoS event saying downstream is 10 s behind makes frame 0 late. */
static void send_late_qos(GstHarness *h)
{
  gst_harness_push_upstream_event(
      h, gst_event_new_qos(GST_QOS_TYPE_UNDERFLOW, 2.0, 5 * GST_SECOND, 5 * GST_SECOND));
}

GST_START_TEST(test_late_frames)
{
  /* skip-inference: the late frame passes without new inference */
  GstHarness *h = detect_harness("task=caption late-frames=skip-inference");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_at(0));
  fail_unless(gst_buffer_get_ufo_meta(out)->inferred); /* not late yet */
  gst_buffer_unref(out);
  send_late_qos(h);
  out = gst_harness_push_and_pull(h, frame_at(1));
  GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
  fail_unless(m != NULL);
  fail_if(m->inferred);
  fail_unless_equals_uint64(m->result_pts, 0);
  gst_buffer_unref(out);
  gst_harness_teardown(h);

  /* process (default): inferred however late */
  h = detect_harness("task=caption");
  send_late_qos(h);
  out = gst_harness_push_and_pull(h, frame_at(1));
  fail_unless(gst_buffer_get_ufo_meta(out)->inferred);
  gst_buffer_unref(out);
  gst_harness_teardown(h);

  /* drop: the base class drops the late frame */
  h = detect_harness("task=caption late-frames=drop");
  out = gst_harness_push_and_pull(h, frame_at(0));
  gst_buffer_unref(out);
  send_late_qos(h);
  fail_unless_equals_int(gst_harness_push(h, frame_at(1)), GST_FLOW_OK);
  fail_unless(gst_harness_try_pull(h) == NULL);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* Whether a frame of h at pts comes out with new inference. */
static gboolean inferred_pts(GstHarness *h, GstClockTime pts)
{
  GstBuffer *in = frame_at(0);
  GST_BUFFER_PTS(in) = pts;
  GstBuffer *out = gst_harness_push_and_pull(h, in);
  GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
  fail_unless(m != NULL);
  gboolean inferred = m->inferred;
  gst_buffer_unref(out);
  return inferred;
}

/* Whether frame i (30 fps) of h comes out with new inference. */
static gboolean inferred_at(GstHarness *h, gint i)
{
  return inferred_pts(h, i * (GST_SECOND / 30));
}

/* Upstream answers the latency query as not live. */
static GstPadProbeReturn not_live(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  GstQuery *q = GST_PAD_PROBE_INFO_QUERY(info);
  if (GST_QUERY_TYPE(q) != GST_QUERY_LATENCY)
    return GST_PAD_PROBE_OK;
  gst_query_set_latency(q, FALSE, 0, GST_CLOCK_TIME_NONE);
  return GST_PAD_PROBE_HANDLED;
}

/* No QoS from downstream (sinks with sync=false or qos=false): in a live pipeline the clock
 * decides (docs/elements.md "Late frames"). A frame is late when, before its inference starts,
 * the clock is further past its running time than the larger of the pipeline latency less the
 * processing time and upstream's latency + a frame (30 fps here), unless passing frames on does
 * not catch up. */
GST_START_TEST(test_late_frames_clock)
{
  GstHarness *h = detect_harness("task=caption late-frames=skip-inference");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_upstream_latency(h, 100 * GST_MSECOND); /* the harness's upstream is live */
  fail_unless(inferred_at(h, 0));
  gst_harness_set_time(h, GST_SECOND); /* the clock's running time: 1 s */
  fail_if(inferred_at(h, 1));          /* deadline 0.033 + 0.1 s, 0.87 s ago */
  /* a QoS message for the skipped frame: how late, frames inferred / skipped so far */
  GstMessage *qos = gst_bus_pop_filtered(bus, GST_MESSAGE_QOS);
  fail_unless(qos != NULL);
  gboolean live;
  guint64 running_time, stream_time, timestamp, duration, inferred, skipped;
  gint64 jitter;
  gst_message_parse_qos(qos, &live, &running_time, &stream_time, &timestamp, &duration);
  fail_unless(live);
  fail_unless_equals_uint64(running_time, GST_SECOND / 30);
  gst_message_parse_qos_values(qos, &jitter, NULL, NULL);
  /* how much later than it could start: upstream's latency + a frame */
  fail_unless_equals_int64(jitter,
                           GST_SECOND - GST_SECOND / 30 - 100 * GST_MSECOND - GST_SECOND / 30);
  GstFormat format;
  gst_message_parse_qos_stats(qos, &format, &inferred, &skipped);
  fail_unless(format == GST_FORMAT_BUFFERS && inferred == 1 && skipped == 1);
  gst_message_unref(qos);
  fail_if(inferred_at(h, 25));                      /* 0.833 + 0.1 + 0.033 < 1 */
  fail_unless(inferred_at(h, 27));                  /* 0.9 + 0.1 + 0.033 > 1 */
  qos = gst_bus_pop_filtered(bus, GST_MESSAGE_QOS); /* frame 25's */
  fail_unless(qos != NULL);
  gst_message_parse_qos_stats(qos, &format, &inferred, &skipped);
  fail_unless(inferred == 1 && skipped == 2);
  gst_message_unref(qos);
  fail_unless(gst_bus_pop_filtered(bus, GST_MESSAGE_QOS) == NULL); /* none for inferred frames */
  /* the sinks' latency (a LATENCY event): a frame starts when it can still be inferred by its
   * deadline, its running time + 5 s, given the element's processing time */
  fail_unless(gst_harness_push_upstream_event(h, gst_event_new_latency(5 * GST_SECOND)));
  fail_unless(inferred_at(h, 1)); /* 0.967 s behind, < 5 s - the processing time (< 4 s) */
  GstElement *det = gst_harness_find_element(h, "ufodetect");
  guint64 t = 0;
  g_object_get(det, "processing-time", &t, NULL);
  fail_unless(t > 0 && t < 4 * GST_SECOND, "processing-time %" G_GUINT64_FORMAT, t);
  gst_harness_set_time(h, 10 * GST_SECOND);
  /* 5 s - t + 10 ms behind: it could not end by its deadline */
  fail_if(inferred_pts(h, 5 * GST_SECOND + t - 10 * GST_MSECOND));
  /* 5 s - t - 10 ms behind: it can (t unchanged: no inference since) */
  fail_unless(inferred_pts(h, 5 * GST_SECOND + t + 10 * GST_MSECOND));
  fail_if(inferred_pts(h, 4 * GST_SECOND)); /* 6 s behind */
  gst_object_unref(det);
  gst_element_set_bus(h->element, NULL);
  gst_object_unref(bus);
  gst_harness_teardown(h);

  /* frames that all arrive 1 s behind however many are passed on (a queue-less pipeline up to
   * a sink that syncs holds each one there until its render time) are not all late: after a
   * frame passed on without inference that did not make the next one catch up, that one is
   * inferred */
  h = detect_harness("task=caption late-frames=skip-inference");
  gst_harness_set_upstream_latency(h, 0);
  gint n_inferred = 0;
  for (gint i = 60; i < 90; i++) { /* 1 s of frames, the clock 1 s ahead of each */
    gst_harness_set_time(h, (i + 30) * (GST_SECOND / 30));
    gboolean inferred = inferred_at(h, i);
    fail_unless(inferred == (i % 2 == 1), "frame %d", i); /* passed on, inferred, … */
    n_inferred += inferred;
  }
  fail_unless_equals_int(n_inferred, 15);
  /* passed on, and the next frame one frame less behind: catching up, passed on too */
  gst_harness_set_time(h, 120 * (GST_SECOND / 30));
  fail_if(inferred_at(h, 90));
  fail_if(inferred_at(h, 91));
  gst_harness_teardown(h);

  /* not live: the clock says nothing about lateness */
  h = detect_harness("task=caption late-frames=skip-inference");
  gst_pad_add_probe(h->srcpad, GST_PAD_PROBE_TYPE_QUERY_UPSTREAM, not_live, NULL, NULL);
  gst_harness_set_time(h, 10 * GST_SECOND);
  fail_unless(inferred_at(h, 1));
  gst_harness_teardown(h);

  /* process (default): every frame inferred */
  h = detect_harness("task=caption");
  gst_harness_set_time(h, 10 * GST_SECOND);
  fail_unless(inferred_at(h, 1));
  gst_harness_teardown(h);
}
GST_END_TEST;

GST_START_TEST(test_seg_instance)
{
  GstHarness *h = gst_harness_new_parse("ufoseg model=random:tiny");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  GstBuffer *out = gst_harness_push_and_pull(h, frame_at(0));
  GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
  fail_unless(m != NULL && m->inferred);
  fail_unless_equals_string(g_quark_to_string(m->task), "instance");
  for (guint i = 0; i < gst_ufo_meta_get_n_objects(m); i++) {
    GstUfoRect r;
    gint mw, mh;
    if (gst_ufo_meta_get_mask(m, i, &mw, &mh, NULL, NULL, &r))
      fail_unless(mw > 0 && mh > 0 && r.w > 0 && r.h > 0);
  }
  gst_buffer_unref(out);
  gst_harness_teardown(h);
}
GST_END_TEST;

/* One frame of ufo-infer's synthetic:128x96 picture (tools/common/image_io.c) through
 * ufodetect with the demo model: many rings and stars of spread scores. */
static GstUfoMeta *demo_detect(const gchar *props, GstBuffer **out)
{
  const gint w = 128, h = 96;
  gchar *desc = g_strdup_printf("ufodetect model=%s %s", DEMO_MODEL, props);
  GstHarness *hn = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(hn, "video/x-raw,format=RGB,width=128,height=96,framerate=30/1");
  GstBuffer *in = gst_buffer_new_allocate(NULL, w * h * 3, NULL);
  GstMapInfo map;
  gst_buffer_map(in, &map, GST_MAP_WRITE);
  for (gint y = 0; y < h; y++)
    for (gint x = 0; x < w; x++)
      for (gint c = 0; c < 3; c++)
        map.data[(y * w + x) * 3 + c] =
            (guint8)((x * (3 + c) + y * (5 + 2 * c) + ((x * y) >> 4) + 85 * c) & 255);
  gst_buffer_unmap(in, &map);
  GST_BUFFER_PTS(in) = 0;
  *out = gst_harness_push_and_pull(hn, in);
  gst_harness_teardown(hn);
  fail_unless(*out != NULL);
  GstUfoMeta *m = gst_buffer_get_ufo_meta(*out);
  fail_unless(m != NULL && m->inferred);
  return m;
}

/* max-detections keeps the best objects among those the class and threshold filters let
 * through: a frame shows max-detections objects whenever that many pass the filters. */
GST_START_TEST(test_max_detections_after_filters)
{
  if (!g_file_test(DEMO_MODEL, G_FILE_TEST_EXISTS))
    fail("%s is missing", DEMO_MODEL);
  /* every object, best first: the star scores, and a non-star among the best K, with K (at most
   * 3) below the number of stars, so that the filters must drop objects for K stars to show */
  GstBuffer *all_buf;
  GstUfoMeta *all = demo_detect("max-detections=0", &all_buf);
  gdouble star[16];
  guint n_star = 0, first_other = G_MAXUINT;
  for (guint i = 0; i < gst_ufo_meta_get_n_objects(all); i++) {
    GstUfoObject o;
    gst_ufo_meta_get_object(all, i, &o);
    if (g_str_equal(o.label, "star") && n_star < G_N_ELEMENTS(star))
      star[n_star++] = o.score;
    else if (!g_str_equal(o.label, "star") && first_other == G_MAXUINT)
      first_other = i;
  }
  const guint K = MIN(3, n_star > 0 ? n_star - 1 : 0);
  const guint other_in_top = first_other < K;
  fail_unless(K >= 1 && n_star > K && other_in_top > 0,
              "the test picture no longer fits this test: %u stars, %u others in the best %u",
              n_star, other_in_top, K);
  gst_buffer_unref(all_buf);

  const gchar *props[] = {"classes=star", "class-thresholds=ring=1,circle=1,square=1,"
                                          "triangle=1,cross=1,hexagon=1,heart=1"};
  for (guint k = 0; k < G_N_ELEMENTS(props); k++) {
    gchar *p = g_strdup_printf("%s max-detections=%u", props[k], K);
    GstBuffer *buf;
    GstUfoMeta *m = demo_detect(p, &buf);
    fail_unless_equals_int(gst_ufo_meta_get_n_objects(m), K);
    for (guint i = 0; i < K; i++) {
      GstUfoObject o;
      gst_ufo_meta_get_object(m, i, &o);
      fail_unless_equals_string(o.label, "star");
      fail_unless_equals_float(o.score, star[i]);
    }
    gst_buffer_unref(buf);
    g_free(p);
  }
}
GST_END_TEST;

static Suite *inference_suite(void)
{
  Suite *s = suite_create("ufoinference");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_formats_agree);
  tcase_add_test(tc, test_inference_interval);
  tcase_add_test(tc, test_reuse_results_off);
  tcase_add_test(tc, test_prompt_change);
  tcase_add_test(tc, test_prompt_too_long_while_playing);
  tcase_add_test(tc, test_unknown_class_while_playing);
  tcase_add_test(tc, test_unique_id_and_meta_flags);
  tcase_add_test(tc, test_late_frames);
  tcase_add_test(tc, test_late_frames_clock);
  tcase_add_test(tc, test_seg_instance);
  tcase_add_test(tc, test_max_detections_after_filters);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(inference_suite(), "ufoinference", __FILE__);
}
