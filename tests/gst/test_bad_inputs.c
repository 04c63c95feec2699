/* Bad inputs (issue 20): one table of inputs a user can get wrong, each with its documented
 * outcome. A row either ends in a clear error (domain, code and substrings of the message asserted)
 * or runs to EOS with a GstUfoMeta of the frame's size on every buffer. Never a crash, a CRITICAL
 * or WARNING (fatal: gst_check_init and main below) or a hang (every wait has a timeout).
 * docs/reliability.md "Bad inputs" lists the rows. */
#include <gst/check/gstharness.h>
#include <gst/ufo/ufometa.h>
#include <gst/video/video.h>
#include <glib/gstdio.h>
#include <string.h>

#include "gstufotest.h"
#include "model/model.h"

/* ---- model files written for the table ---- */

static gchar *tmp_dir;
/* the tiny random model written once: loading it is much faster than making random:tiny per row
 * (seconds under ASan); rows write "TINY" for it */
static gchar *tiny_path;

/* the tiny random model as a file; its detection decodes 8 steps instead of 30 (a random model
 * decodes every grid to the end) at 224x224 instead of 448x448 (a quarter of the tokens and
 * grids): the rows test the input side, and every frame is still converted and resized from
 * its own size */
static gchar *write_tiny_model(const gchar *name)
{
  UfoConfig cfg;
  GError *err = NULL;
  fail_unless(ufo_config_builtin("tiny", &cfg, &err));
  cfg.tasks[UFO_TASK_DETECTION].max_length = 8;
  cfg.tasks[UFO_TASK_DETECTION].input_size = 224;
  gchar *json = ufo_config_to_json(&cfg);
  UfoModel *m = ufo_model_new_random(json, 0, &err);
  fail_unless(m != NULL, "%s", err ? err->message : "");
  gchar *path = g_build_filename(tmp_dir, name, NULL);
  fail_unless(ufo_model_save(m, path, UFO_DTYPE_F32, &err), "%s", err ? err->message : "");
  ufo_model_unref(m);
  g_free(json);
  return path;
}

/* a valid file cut in half: the last tensors run past the end */
static gchar *make_truncated(void)
{
  gchar *path = write_tiny_model("truncated.safetensors");
  gchar *data;
  gsize len;
  fail_unless(g_file_get_contents(path, &data, &len, NULL));
  fail_unless(g_file_set_contents(path, data, len / 2, NULL));
  g_free(data);
  return path;
}

/* 64 KiB of pseudo-random bytes */
static gchar *make_garbage(void)
{
  gchar *path = g_build_filename(tmp_dir, "garbage.safetensors", NULL);
  GRand *r = g_rand_new_with_seed(20);
  guint8 buf[65536];
  for (gsize i = 0; i < sizeof buf; i++)
    buf[i] = g_rand_int(r) & 0xff;
  g_rand_free(r);
  fail_unless(g_file_set_contents(path, (const gchar *)buf, sizeof buf, NULL));
  return path;
}

/* a valid file whose header gives one 2-D tensor the transposed shape: same byte size and
 * header length, so only the shape check against the config can catch it */
static gchar *make_wrong_shape(void)
{
  gchar *path = write_tiny_model("wrong-shape.safetensors");
  gchar *data;
  gsize len;
  fail_unless(g_file_get_contents(path, &data, &len, NULL));
  guint64 hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | (guint8)data[i];
  fail_unless(hlen + 8 <= len);
  gchar *header = g_strndup(data + 8, hlen);
  GRegex *re = g_regex_new("\"shape\":\\s*\\[([0-9]+),\\s*([0-9]+)\\]", 0, 0, NULL);
  GMatchInfo *mi = NULL;
  gboolean patched = FALSE;
  g_regex_match(re, header, 0, &mi);
  while (!patched && g_match_info_matches(mi)) {
    gchar *a = g_match_info_fetch(mi, 1), *b = g_match_info_fetch(mi, 2);
    gint sa, ea, sb, eb;
    g_match_info_fetch_pos(mi, 1, &sa, &ea);
    g_match_info_fetch_pos(mi, 2, &sb, &eb);
    if (strlen(a) == strlen(b) && strcmp(a, b) != 0) {
      memcpy(data + 8 + sa, b, strlen(b));
      memcpy(data + 8 + sb, a, strlen(a));
      patched = TRUE;
    }
    g_free(a);
    g_free(b);
    if (!patched)
      g_match_info_next(mi, NULL);
  }
  g_match_info_free(mi);
  g_regex_unref(re);
  g_free(header);
  fail_unless(patched, "no non-square 2-D tensor to transpose in the header");
  fail_unless(g_file_set_contents(path, data, len, NULL));
  g_free(data);
  return path;
}

static gchar *huge_prompt(void)
{
  GString *s = g_string_new(NULL);
  for (int i = 0; i < 2000; i++)
    g_string_append(s, "the red circle ");
  return g_string_free(s, FALSE);
}

/* ---- the table ---- */

typedef struct {
  const gchar *name;
  /* pipeline around "ufodetect name=d": %s is the element's extra properties; sink is "sink" */
  const gchar *pipeline;
  const gchar *element_props; /* may hold one %s: the file made by make_file */
  gchar *(*make_file)(void);
  gchar *(*make_prompt)(void); /* a prompt set with g_object_set (a string parse cannot take) */
  /* expected: an error (domain != OK) naming needles[], or EOS with n_buffers metas of w x h */
  enum { OK, LIBRARY, RESOURCE, STREAM } domain;
  gint code;
  const gchar *needles[3];
  gint n_buffers, width, height;
} BadInput;

#define SRC(fmt, w, h, n)                                                                          \
  "videotestsrc num-buffers=" #n " pattern=ball ! video/x-raw,format=" fmt ",width=" #w            \
  ",height=" #h " ! %s ! fakesink name=sink"
#define FRAME_ROW(fmt, w, h)                                                                       \
  {                                                                                                \
    fmt " " #w "x" #h, SRC(fmt, w, h, 2), "model=TINY inference-interval=2", NULL, NULL, OK, 0,    \
        {NULL}, 2, w, h                                                                            \
  }
#define FRAME_ROWS(fmt) FRAME_ROW(fmt, 1, 1), FRAME_ROW(fmt, 33, 17), FRAME_ROW(fmt, 17, 33)

static BadInput rows[] = {
    /* model files */
    {"truncated model file",
     SRC("RGB", 32, 24, 2),
     "model=%s",
     make_truncated,
     NULL,
     LIBRARY,
     GST_LIBRARY_ERROR_SETTINGS,
     {"truncated.safetensors", "not a usable UFO-ViT model", NULL}},
    {"garbage model file",
     SRC("RGB", 32, 24, 2),
     "model=%s",
     make_garbage,
     NULL,
     LIBRARY,
     GST_LIBRARY_ERROR_SETTINGS,
     {"garbage.safetensors", "not a usable UFO-ViT model", NULL}},
    {"model file with a wrong tensor shape",
     SRC("RGB", 32, 24, 2),
     "model=%s",
     make_wrong_shape,
     NULL,
     LIBRARY,
     GST_LIBRARY_ERROR_SETTINGS,
     {"wrong-shape.safetensors", "has shape", "expected"}},
    {"model file that does not exist",
     SRC("RGB", 32, 24, 2),
     "model=/nonexistent/ufo-bad-input.safetensors",
     NULL,
     NULL,
     RESOURCE,
     GST_RESOURCE_ERROR_NOT_FOUND,
     {"/nonexistent/ufo-bad-input.safetensors", "does not exist", NULL}},
    {"unknown random config",
     SRC("RGB", 32, 24, 2),
     "model=random:nosuch",
     NULL,
     NULL,
     LIBRARY,
     GST_LIBRARY_ERROR_SETTINGS,
     {"random:nosuch", "nosuch", NULL}},
    /* prompts (grounding) */
    {"empty prompt",
     SRC("RGB", 32, 24, 2),
     "model=TINY task=grounding prompt=\"\"",
     NULL,
     NULL,
     LIBRARY,
     GST_LIBRARY_ERROR_SETTINGS,
     {"needs a text prompt", "'prompt'", NULL}},
    {"blank prompt",
     SRC("RGB", 32, 24, 2),
     "model=TINY task=grounding prompt=\"   \"",
     NULL,
     NULL,
     LIBRARY,
     GST_LIBRARY_ERROR_SETTINGS,
     {"needs a text prompt", NULL}},
    {"huge prompt (30,000 characters)",
     SRC("RGB", 32, 24, 2),
     "model=TINY task=grounding",
     NULL,
     huge_prompt,
     LIBRARY,
     GST_LIBRARY_ERROR_SETTINGS,
     {"too long", "at most 512", "'prompt'"}},
    {"one-word prompt",
     SRC("RGB", 32, 24, 2),
     "model=TINY task=grounding prompt=x",
     NULL,
     NULL,
     OK,
     0,
     {NULL},
     2,
     32,
     24},
    /* frame sizes in every accepted format */
    FRAME_ROWS("RGB"),
    FRAME_ROWS("BGR"),
    FRAME_ROWS("RGBA"),
    FRAME_ROWS("BGRA"),
    FRAME_ROWS("RGBx"),
    FRAME_ROWS("BGRx"),
    FRAME_ROWS("I420"),
    FRAME_ROWS("NV12"),
    /* one frame of 8000x8000 (244 MiB in RGBx, 92 MiB in I420) */
    {"RGBx 8000x8000",
     SRC("RGBx", 8000, 8000, 1),
     "model=TINY",
     NULL,
     NULL,
     OK,
     0,
     {NULL},
     1,
     8000,
     8000},
    {"I420 8000x8000",
     SRC("I420", 8000, 8000, 1),
     "model=TINY",
     NULL,
     NULL,
     OK,
     0,
     {NULL},
     1,
     8000,
     8000},
};

static GQuark row_domain(const BadInput *r)
{
  switch (r->domain) {
  case LIBRARY:
    return GST_LIBRARY_ERROR;
  case RESOURCE:
    return GST_RESOURCE_ERROR;
  case STREAM:
    return GST_STREAM_ERROR;
  default:
    return 0;
  }
}

typedef struct {
  gint buffers, with_meta, width, height;
} Count;

static GstPadProbeReturn count_meta(GstPad *pad, GstPadProbeInfo *info, gpointer data)
{
  Count *c = data;
  GstBuffer *buf = GST_PAD_PROBE_INFO_BUFFER(info);
  GstUfoMeta *meta = gst_buffer_get_ufo_meta(buf);
  c->buffers++;
  if (meta && meta->width == c->width && meta->height == c->height)
    c->with_meta++;
  return GST_PAD_PROBE_OK;
}

static void run_row(const BadInput *r)
{
  GST_INFO("row: %s", r->name);
  gchar *file = r->make_file ? r->make_file() : NULL;
  gchar *with_file = g_strdup_printf(r->element_props, file ? file : "");
  gchar **parts = g_strsplit(with_file, "TINY", -1);
  gchar *props = g_strjoinv(tiny_path, parts);
  g_strfreev(parts);
  g_free(with_file);
  gchar *element = g_strdup_printf("ufodetect name=d %s", props);
  gchar *desc = g_strdup_printf(r->pipeline, element);
  GError *perr = NULL;
  GstElement *p = gst_parse_launch(desc, &perr);
  fail_unless(p != NULL && perr == NULL, "%s: %s", r->name, perr ? perr->message : "");
  if (r->make_prompt) {
    GstElement *d = gst_bin_get_by_name(GST_BIN(p), "d");
    gchar *prompt = r->make_prompt();
    g_object_set(d, "prompt", prompt, NULL);
    g_free(prompt);
    gst_object_unref(d);
  }
  GstElement *sink = gst_bin_get_by_name(GST_BIN(p), "sink");
  GstPad *pad = gst_element_get_static_pad(sink, "sink");
  Count c = {0, 0, r->width, r->height};
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, count_meta, &c, NULL);
  gst_object_unref(pad);
  gst_object_unref(sink);

  GstBus *bus = gst_element_get_bus(p);
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  fail_unless(gst_element_set_state(p, GST_STATE_NULL) == GST_STATE_CHANGE_SUCCESS, "%s", r->name);
  fail_unless(msg != NULL, "%s: neither EOS nor an error within 120 s", r->name);
  const GQuark domain = row_domain(r);
  if (domain) {
    fail_unless(GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR, "%s: ran to EOS, expected an error",
                r->name);
    GError *err = NULL;
    gchar *dbg = NULL;
    gst_message_parse_error(msg, &err, &dbg);
    fail_unless(err->domain == domain && err->code == r->code, "%s: error %s:%d '%s' (%s)", r->name,
                g_quark_to_string(err->domain), err->code, err->message, dbg);
    for (int i = 0; i < 3 && r->needles[i]; i++) {
      /* not-negotiated is only in the debug text of basesrc's error */
      const gchar *hay = strstr(r->needles[i], "negotiated") ? dbg : err->message;
      fail_unless(hay && strstr(hay, r->needles[i]), "%s: '%s' (%s) does not mention '%s'", r->name,
                  err->message, dbg, r->needles[i]);
    }
    GST_INFO("%s: %s", r->name, err->message);
    g_error_free(err);
    g_free(dbg);
  } else {
    if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
      GError *err = NULL;
      gchar *dbg = NULL;
      gst_message_parse_error(msg, &err, &dbg);
      fail("%s: expected EOS, got '%s' (%s)", r->name, err->message, dbg);
    }
    fail_unless(c.buffers == r->n_buffers && c.with_meta == r->n_buffers,
                "%s: %d buffers, %d with a GstUfoMeta of %dx%d (expected %d)", r->name, c.buffers,
                c.with_meta, r->width, r->height, r->n_buffers);
  }
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_object_unref(p);
  g_free(desc);
  g_free(element);
  g_free(props);
  if (file)
    g_unlink(file);
  g_free(file);
}

GST_START_TEST(test_bad_input_table)
{
  run_row(&rows[__i__]);
}
GST_END_TEST;

/* unknown task name: gst_parse_launch refuses the enum value with a message naming it */
GST_START_TEST(test_unknown_task)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch("videotestsrc ! ufodetect task=nosuchtask ! fakesink", &err);
  fail_unless(err != NULL, "no error for task=nosuchtask");
  fail_unless(strstr(err->message, "nosuchtask") != NULL, "%s", err->message);
  g_error_free(err);
  if (p)
    gst_object_unref(p);
}
GST_END_TEST;

/* a format the pads do not take (GRAY8): the link is refused with the caps named */
GST_START_TEST(test_unsupported_format)
{
  GError *err = NULL;
  GstElement *p = gst_parse_launch(
      "videotestsrc ! video/x-raw,format=GRAY8,width=32,height=24 ! ufodetect model=random:tiny "
      "! fakesink",
      &err);
  fail_unless(err != NULL, "GRAY8 was linked");
  fail_unless(strstr(err->message, "can't handle caps") && strstr(err->message, "GRAY8"), "%s",
              err->message);
  g_error_free(err);
  if (p)
    gst_object_unref(p);
}
GST_END_TEST;

/* ---- caps changes mid-stream and EOS before caps (harness: exact control of the events) ---- */

static GstBuffer *frame(GstHarness *h, const gchar *fmt, gint w, gint hgt)
{
  GstVideoInfo info;
  gst_video_info_set_format(&info, gst_video_format_from_string(fmt), w, hgt);
  GstBuffer *b = gst_buffer_new_allocate(NULL, GST_VIDEO_INFO_SIZE(&info), NULL);
  gst_buffer_memset(b, 0, 0x80, GST_VIDEO_INFO_SIZE(&info));
  static GstClockTime pts = 0;
  GST_BUFFER_PTS(b) = pts;
  GST_BUFFER_DURATION(b) = GST_SECOND / 30;
  pts += GST_SECOND / 30;
  (void)h;
  return b;
}

static void push_and_check(GstHarness *h, const gchar *fmt, gint w, gint hgt, int n)
{
  gchar *caps =
      g_strdup_printf("video/x-raw,format=%s,width=%d,height=%d,framerate=30/1", fmt, w, hgt);
  gst_harness_set_src_caps_str(h, caps);
  g_free(caps);
  for (int i = 0; i < n; i++) {
    fail_unless_equals_int(gst_harness_push(h, frame(h, fmt, w, hgt)), GST_FLOW_OK);
    GstBuffer *out = gst_harness_pull(h);
    fail_unless(out != NULL);
    GstUfoMeta *m = gst_buffer_get_ufo_meta(out);
    fail_unless(m != NULL, "%s %dx%d: no GstUfoMeta", fmt, w, hgt);
    fail_unless(m->width == w && m->height == hgt, "%s %dx%d: meta says %dx%d", fmt, w, hgt,
                m->width, m->height);
    gst_buffer_unref(out);
  }
}

GST_START_TEST(test_caps_change_mid_stream)
{
  /* inference-interval=2: the carried-over results must follow the new size too */
  for (int interval = 1; interval <= 2; interval++) {
    gchar *desc = g_strdup_printf("ufodetect model=%s inference-interval=%d", tiny_path, interval);
    GstHarness *h = gst_harness_new_parse(desc);
    g_free(desc);
    gst_harness_play(h);
    push_and_check(h, "RGB", 64, 48, 3);
    push_and_check(h, "RGB", 33, 17, 3);  /* resolution */
    push_and_check(h, "NV12", 33, 17, 3); /* format */
    push_and_check(h, "BGRx", 1, 1, 3);   /* both */
    push_and_check(h, "I420", 640, 480, 3);
    gst_harness_teardown(h);
  }
}
GST_END_TEST;

GST_START_TEST(test_eos_before_caps)
{
  /* EOS with no caps and no buffer: forwarded, nothing else */
  gchar *desc = g_strdup_printf("ufodetect model=%s", tiny_path);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_play(h);
  fail_unless(gst_harness_push_event(h, gst_event_new_eos()));
  GstEvent *ev;
  gboolean eos = FALSE;
  while ((ev = gst_harness_try_pull_event(h))) {
    eos |= GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
  }
  fail_unless(eos, "EOS was not forwarded");
  fail_unless_equals_int(gst_harness_buffers_received(h), 0);
  gst_harness_teardown(h);

  /* the same in a pipeline: an appsrc-free way to EOS before caps is num-buffers=0 */
  desc = g_strdup_printf("videotestsrc num-buffers=0 ! video/x-raw,format=RGB,width=32,height=24 ! "
                         "ufodetect model=%s ! fakesink",
                         tiny_path);
  GstElement *p = gst_parse_launch(desc, NULL);
  g_free(desc);
  fail_unless(p != NULL);
  GstBus *bus = gst_element_get_bus(p);
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND, GST_MESSAGE_ERROR | GST_MESSAGE_EOS);
  fail_unless(msg != NULL && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS, "no EOS");
  gst_message_unref(msg);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(p);
}
GST_END_TEST;

/* a buffer before any caps: a not-negotiated flow return, not a crash */
GST_START_TEST(test_buffer_before_caps)
{
  gchar *desc = g_strdup_printf("ufodetect model=%s", tiny_path);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_play(h);
  GstSegment seg;
  gst_segment_init(&seg, GST_FORMAT_TIME);
  fail_unless(gst_harness_push_event(h, gst_event_new_segment(&seg)));
  GstFlowReturn ret = gst_harness_push(h, gst_buffer_new_allocate(NULL, 32 * 24 * 3, NULL));
  fail_unless(ret == GST_FLOW_NOT_NEGOTIATED, "flow %s", gst_flow_get_name(ret));
  gst_harness_teardown(h);
}
GST_END_TEST;

static void setup_files(void)
{
  tmp_dir = g_dir_make_tmp("ufo-bad-inputs-XXXXXX", NULL);
  fail_unless(tmp_dir != NULL);
  tiny_path = write_tiny_model("tiny.safetensors");
}

static void remove_files(void)
{
  g_unlink(tiny_path);
  g_clear_pointer(&tiny_path, g_free);
  g_rmdir(tmp_dir);
  g_clear_pointer(&tmp_dir, g_free);
}

static Suite *bad_inputs_suite(void)
{
  Suite *s = suite_create("ufobadinputs");
  TCase *tc = tcase_create("general");
  tcase_set_timeout(tc, 300);
  suite_add_tcase(s, tc);
  tcase_add_unchecked_fixture(tc, setup_files, remove_files);
  tcase_add_loop_test(tc, test_bad_input_table, 0, G_N_ELEMENTS(rows));
  tcase_add_test(tc, test_unknown_task);
  tcase_add_test(tc, test_unsupported_format);
  tcase_add_test(tc, test_caps_change_mid_stream);
  tcase_add_test(tc, test_eos_before_caps);
  tcase_add_test(tc, test_buffer_before_caps);
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  /* gst_check_init already fails a test on any CRITICAL or WARNING; say so explicitly */
  g_log_set_always_fatal(G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  gst_ufo_test_require_plugin();
  int ret = gst_check_run_suite(bad_inputs_suite(), "ufobadinputs", __FILE__);
  return ret;
}
