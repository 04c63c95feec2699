/* ufometapublish: JSON lines in order, rotation by size, unwritable location; with libmosquitto
 * a real broker (mosquitto on 127.0.0.1, a free port) stopped and restarted mid-stream: the
 * pipeline does not block, queued QoS 1 documents arrive after the reconnection, drops counted
 * beyond max-queue; the same with a real redis-server (XADD to a stream). A missing server binary
 * fails the test unless UFO_TEST_ALLOW_SKIP=1. */
#include <gst/check/gstcheck.h>
#include <gst/check/gstharness.h>
#include <gst/ufo/ufometa.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>

#include "gstufotest.h"

#if defined(GST_UFO_HAVE_MOSQUITTO) || defined(GST_UFO_HAVE_HIREDIS)
#define NEED_SERVERS 1
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#endif
#ifdef GST_UFO_HAVE_MOSQUITTO
#include <mosquitto.h>
#endif
#ifdef GST_UFO_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

#define CAPS "video/x-raw,format=RGB,width=100,height=50,framerate=30/1"
/* fixed-width timestamps (10 digits) so that every document has the same length */
#define TS(k) ((GstClockTime)(1000 + (k)) * GST_MSECOND)

static GstBuffer *frame(gint k)
{
  GstBuffer *buf = gst_buffer_new_allocate(NULL, 100 * 50 * 3, NULL);
  GST_BUFFER_PTS(buf) = TS(k);
  GstUfoResults *r = gst_ufo_results_new(100, 50);
  gst_ufo_results_add_object(r, 1, "car", 0.8f, 10, 10, 20, 10);
  gst_ufo_results_set_track_id(r, 0, 3);
  gst_ufo_results_add_roi_metas(r, buf, 1, NULL);
  gst_buffer_add_ufo_meta(buf, r, 1, "detection", TRUE, GST_BUFFER_PTS(buf));
  gst_ufo_results_unref(r);
  return buf;
}

/* the documented fields of one document, and its timestamp */
static void check_doc(const gchar *json, GstClockTime ts, const gchar *source)
{
  JsonNode *root = json_from_string(json, NULL);
  fail_unless(root != NULL, "not JSON: %s", json);
  JsonObject *o = json_node_get_object(root);
  JsonObject *o0 = json_array_get_object_element(json_object_get_array_member(o, "objects"), 0);
  fail_unless_equals_int(json_object_get_int_member(o0, "object_id"), 3);
  fail_unless_equals_string(json_object_get_string_member(o0, "roi_type"), "car");
  JsonObject *bb =
      json_object_get_object_member(json_object_get_object_member(o0, "detection"), "bounding_box");
  fail_unless(json_object_has_member(bb, "x_min"));
  fail_unless_equals_uint64(json_object_get_int_member(o, "timestamp"), ts);
  fail_unless_equals_string(json_object_get_string_member(o, "source"), source);
  JsonObject *res = json_object_get_object_member(o, "resolution");
  fail_unless_equals_int(json_object_get_int_member(res, "width"), 100);
  json_node_unref(root);
}

static guint64 get_u64(GstElement *e, const gchar *name)
{
  guint64 v = 0;
  g_object_get(e, name, &v, NULL);
  return v;
}

/* waits up to timeout_ms for the element's property to reach want */
static gboolean wait_u64(GstElement *e, const gchar *name, guint64 want, guint timeout_ms)
{
  for (guint t = 0; t < timeout_ms; t += 10) {
    if (get_u64(e, name) == want)
      return TRUE;
    g_usleep(10000);
  }
  return get_u64(e, name) == want;
}

static gchar **read_lines(const gchar *path)
{
  gchar *text = NULL;
  fail_unless(g_file_get_contents(path, &text, NULL, NULL), "cannot read %s", path);
  gchar **lines = g_strsplit(g_strchomp(text), "\n", -1);
  g_free(text);
  return lines;
}

GST_START_TEST(test_file_lines)
{
  gchar *dir = g_dir_make_tmp("ufometapublish-XXXXXX", NULL);
  gchar *path = g_build_filename(dir, "out.jsonl", NULL);
  gchar *desc = g_strdup_printf("ufometapublish location=%s source-id=cam1 flush-every=7", path);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, CAPS);
  GstElement *e = gst_harness_find_element(h, "ufometapublish");
  const gint n = 50;
  for (gint k = 0; k < n; k++) {
    GstBuffer *in = frame(k);
    GstBuffer *out = gst_harness_push_and_pull(h, in);
    fail_unless(out == in); /* passthrough */
    gst_buffer_unref(out);
  }
  /* a frame without results is not published */
  GstBuffer *empty = gst_buffer_new_allocate(NULL, 100 * 50 * 3, NULL);
  gst_buffer_unref(gst_harness_push_and_pull(h, empty));
  fail_unless(wait_u64(e, "published", n, 10000));
  fail_unless_equals_uint64(get_u64(e, "dropped"), 0);
  guint depth = 1;
  g_object_get(e, "queue-depth", &depth, NULL);
  fail_unless_equals_int(depth, 0);
  gst_object_unref(e);
  gst_harness_teardown(h); /* flushes the last lines (flush-every=7) */
  gchar **lines = read_lines(path);
  fail_unless_equals_int(g_strv_length(lines), n);
  for (gint k = 0; k < n; k++)
    check_doc(lines[k], TS(k), "cam1");
  g_strfreev(lines);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
}
GST_END_TEST;

GST_START_TEST(test_file_rotation)
{
  gchar *dir = g_dir_make_tmp("ufometapublish-XXXXXX", NULL);
  gchar *path = g_build_filename(dir, "out.jsonl", NULL);
  /* the length L of one line (document + newline), all documents being as long */
  gchar *desc0 = g_strdup_printf("ufometapublish location=%s source-id=cam1", path);
  GstHarness *h1 = gst_harness_new_parse(desc0);
  g_free(desc0);
  gst_harness_set_src_caps_str(h1, CAPS);
  gst_buffer_unref(gst_harness_push_and_pull(h1, frame(0)));
  gst_harness_teardown(h1);
  GStatBuf st;
  fail_unless(g_stat(path, &st) == 0);
  const gint64 len = st.st_size;
  g_unlink(path);

  /* 3 lines a file, 2 rotated files kept: 10 lines → out (9), out.1 (6-8), out.2 (3-5) */
  gchar *desc = g_strdup_printf(
      "ufometapublish location=%s source-id=cam1 max-file-size=%" G_GINT64_FORMAT " max-files=2",
      path, 3 * len);
  GstHarness *h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, CAPS);
  GstElement *e = gst_harness_find_element(h, "ufometapublish");
  for (gint k = 0; k < 10; k++)
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
  fail_unless(wait_u64(e, "published", 10, 10000));
  gst_object_unref(e);
  gst_harness_teardown(h);
  const struct {
    const gchar *suffix;
    gint first, n;
  } want[] = {{"", 9, 1}, {".1", 6, 3}, {".2", 3, 3}};
  for (guint f = 0; f < G_N_ELEMENTS(want); f++) {
    gchar *name = g_strconcat(path, want[f].suffix, NULL);
    fail_unless(g_stat(name, &st) == 0, "%s missing", name);
    fail_unless_equals_int64(st.st_size, want[f].n * len);
    gchar **lines = read_lines(name);
    fail_unless_equals_int(g_strv_length(lines), want[f].n);
    for (gint k = 0; k < want[f].n; k++)
      check_doc(lines[k], TS(want[f].first + k), "cam1");
    g_strfreev(lines);
    g_unlink(name);
    g_free(name);
  }
  gchar *third = g_strconcat(path, ".3", NULL);
  fail_if(g_file_test(third, G_FILE_TEST_EXISTS), "max-files=2 kept %s", third);
  g_free(third);

  /* max-files=0: truncated instead, 2 lines a file: 5 lines → out (4) and no out.1 */
  desc = g_strdup_printf("ufometapublish location=%s source-id=cam1 max-file-size=%" G_GINT64_FORMAT
                         " max-files=0",
                         path, 2 * len);
  h = gst_harness_new_parse(desc);
  g_free(desc);
  gst_harness_set_src_caps_str(h, CAPS);
  e = gst_harness_find_element(h, "ufometapublish");
  for (gint k = 0; k < 5; k++)
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
  fail_unless(wait_u64(e, "published", 5, 10000));
  gst_object_unref(e);
  gst_harness_teardown(h);
  gchar **lines = read_lines(path);
  fail_unless_equals_int(g_strv_length(lines), 1);
  check_doc(lines[0], TS(4), "cam1");
  g_strfreev(lines);
  gchar *first = g_strconcat(path, ".1", NULL);
  fail_if(g_file_test(first, G_FILE_TEST_EXISTS), "max-files=0 kept %s", first);
  g_free(first);
  g_unlink(path);
  g_rmdir(dir);
  g_free(path);
  g_free(dir);
}
GST_END_TEST;

static void check_start_error(const gchar *desc, GQuark domain, gint code, const gchar *needle)
{
  GstElement *pipeline = gst_parse_launch(desc, NULL);
  fail_unless(pipeline != NULL);
  GstStateChangeReturn ret;
  GstMessage *msg = gst_ufo_test_state_error(pipeline, GST_STATE_PAUSED, &ret);
  fail_unless_equals_int(ret, GST_STATE_CHANGE_FAILURE);
  fail_unless(msg != NULL);
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(g_error_matches(err, domain, code), "%s", err->message);
  fail_unless(strstr(err->message, needle) != NULL, "'%s' does not name %s", err->message, needle);
  g_error_free(err);
  gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
}

GST_START_TEST(test_file_errors)
{
  check_start_error("videotestsrc ! ufometapublish location=/nonexistent-dir/x.jsonl ! fakesink",
                    GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE, "/nonexistent-dir/x.jsonl");
  check_start_error("videotestsrc ! ufometapublish ! fakesink", GST_RESOURCE_ERROR,
                    GST_RESOURCE_ERROR_NOT_FOUND, "location");
  /* a write that fails in the worker (full disk): an element error naming the file; the stream
   * itself is not blocked */
  GstHarness *h = gst_harness_new_parse("ufometapublish location=/dev/full");
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(h->element, bus);
  gst_harness_set_src_caps_str(h, CAPS);
  gst_buffer_unref(gst_harness_push_and_pull(h, frame(0)));
  GstMessage *msg = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND, GST_MESSAGE_ERROR);
  fail_unless(msg != NULL, "no error for /dev/full");
  GError *err = NULL;
  gst_message_parse_error(msg, &err, NULL);
  fail_unless(g_error_matches(err, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_WRITE), "%s",
              err->message);
  fail_unless(strstr(err->message, "/dev/full") != NULL, "%s", err->message);
  g_error_free(err);
  gst_message_unref(msg);
  gst_buffer_unref(gst_harness_push_and_pull(h, frame(1)));
  gst_harness_teardown(h);
  gst_object_unref(bus);
#ifdef GST_UFO_HAVE_MOSQUITTO
  /* TLS options reach libmosquitto: a missing CA file is refused at start */
  check_start_error("videotestsrc ! ufometapublish method=mqtt cafile=/nonexistent/ca.pem ! "
                    "fakesink",
                    GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS, "/nonexistent/ca.pem");
#else
  check_start_error("videotestsrc ! ufometapublish method=mqtt ! fakesink", GST_CORE_ERROR,
                    GST_CORE_ERROR_NOT_IMPLEMENTED, "libmosquitto");
#endif
#ifndef GST_UFO_HAVE_HIREDIS
  check_start_error("videotestsrc ! ufometapublish method=redis ! fakesink", GST_CORE_ERROR,
                    GST_CORE_ERROR_NOT_IMPLEMENTED, "hiredis");
#endif
}
GST_END_TEST;

#ifdef NEED_SERVERS
static guint free_port(void)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  fail_unless(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
  socklen_t len = sizeof a;
  getsockname(fd, (struct sockaddr *)&a, &len);
  close(fd);
  return ntohs(a.sin_port);
}

static gboolean port_open(guint port)
{
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {
      .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  const gboolean ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
  close(fd);
  return ok;
}

/* the next ufometapublish-connection message, within timeout_ms */
static gboolean wait_connection(GstBus *bus, gboolean connected, guint timeout_ms)
{
  const gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (g_get_monotonic_time() < end) {
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, 10 * GST_MSECOND, GST_MESSAGE_ELEMENT);
    if (!msg)
      continue;
    const GstStructure *s = gst_message_get_structure(msg);
    gboolean c = !connected;
    const gboolean match = gst_structure_has_name(s, "ufometapublish-connection") &&
                           gst_structure_get_boolean(s, "connected", &c) && c == connected;
    gst_message_unref(msg);
    if (match)
      return TRUE;
  }
  return FALSE;
}

/* a server binary that is missing fails the test unless UFO_TEST_ALLOW_SKIP=1; FALSE = skip */
static gboolean require_binary(const gchar *bin, const gchar *package)
{
  if (g_file_test(bin, G_FILE_TEST_IS_EXECUTABLE))
    return TRUE;
  if (g_strcmp0(g_getenv("UFO_TEST_ALLOW_SKIP"), "1") == 0)
    return FALSE;
  fail("%s is missing: install %s (tools/setup-deps.sh does) or set UFO_TEST_ALLOW_SKIP=1", bin,
       package);
  return FALSE;
}
#endif

#ifdef GST_UFO_HAVE_MOSQUITTO
#define MOSQUITTO_BIN "/usr/sbin/mosquitto"

typedef struct {
  GMutex lock;
  GPtrArray *payloads;
  gboolean subscribed;
  gchar *topic;
} Subscriber;

static void sub_on_connect(struct mosquitto *m, void *user, int rc)
{
  Subscriber *s = user;
  if (rc == 0)
    mosquitto_subscribe(m, NULL, s->topic, 1);
}

static void sub_on_subscribe(struct mosquitto *m, void *user, int mid, int n, const int *qos)
{
  Subscriber *s = user;
  (void)m;
  (void)mid;
  (void)n;
  (void)qos;
  g_mutex_lock(&s->lock);
  s->subscribed = TRUE;
  g_mutex_unlock(&s->lock);
}

static void sub_on_message(struct mosquitto *m, void *user, const struct mosquitto_message *msg)
{
  Subscriber *s = user;
  (void)m;
  g_mutex_lock(&s->lock);
  g_ptr_array_add(s->payloads, g_strndup(msg->payload, msg->payloadlen));
  g_mutex_unlock(&s->lock);
}

static guint sub_count(Subscriber *s)
{
  g_mutex_lock(&s->lock);
  const guint n = s->payloads->len;
  g_mutex_unlock(&s->lock);
  return n;
}

static gboolean wait_count(Subscriber *s, guint want, guint timeout_ms)
{
  for (guint t = 0; t < timeout_ms && sub_count(s) < want; t += 10)
    g_usleep(10000);
  return sub_count(s) >= want;
}

/* mosquitto with persistence, so that the test subscriber's session (clean_session false) and its
 * pending QoS 1 messages survive the restart */
static GPid start_broker(const gchar *conf, guint port)
{
  gchar *argv[] = {(gchar *)MOSQUITTO_BIN, (gchar *)"-c", (gchar *)conf, NULL};
  GPid pid = 0;
  GError *err = NULL;
  fail_unless(g_spawn_async(NULL, argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL, &pid, &err),
              "cannot start %s: %s", MOSQUITTO_BIN, err ? err->message : "");
  for (gint t = 0; t < 500 && !port_open(port); t++)
    g_usleep(10000);
  fail_unless(port_open(port), "mosquitto does not listen on %u", port);
  return pid;
}

static void stop_broker(GPid pid)
{
  kill(pid, SIGTERM); /* mosquitto saves its persistence file */
  waitpid(pid, NULL, 0);
  g_spawn_close_pid(pid);
}

GST_START_TEST(test_mqtt_broker_restart)
{
  if (!require_binary(MOSQUITTO_BIN, "mosquitto"))
    return;
  mosquitto_lib_init();
  gchar *dir = g_dir_make_tmp("ufometapublish-mqtt-XXXXXX", NULL);
  const guint port = free_port();
  gchar *conf = g_build_filename(dir, "mosquitto.conf", NULL);
  gchar *conf_text = g_strdup_printf("listener %u 127.0.0.1\nallow_anonymous true\n"
                                     "persistence true\npersistence_location %s/\n%s",
                                     port, dir, getuid() == 0 ? "user root\n" : "");
  fail_unless(g_file_set_contents(conf, conf_text, -1, NULL));
  g_free(conf_text);
  GPid broker = start_broker(conf, port);

  Subscriber sub = {.payloads = g_ptr_array_new_with_free_func(g_free), .topic = "ufo/cam7"};
  g_mutex_init(&sub.lock);
  struct mosquitto *m = mosquitto_new("ufo-test-sub", false, &sub);
  mosquitto_connect_callback_set(m, sub_on_connect);
  mosquitto_subscribe_callback_set(m, sub_on_subscribe);
  mosquitto_message_callback_set(m, sub_on_message);
  mosquitto_reconnect_delay_set(m, 1, 1, false);
  fail_unless_equals_int(mosquitto_connect(m, "127.0.0.1", (int)port, 30), MOSQ_ERR_SUCCESS);
  fail_unless_equals_int(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
  for (gint t = 0; t < 500; t++) {
    g_mutex_lock(&sub.lock);
    const gboolean ok = sub.subscribed;
    g_mutex_unlock(&sub.lock);
    if (ok)
      break;
    g_usleep(10000);
  }

  /* the bus is set before the harness starts the element: the first connection message */
  GstElement *e = gst_object_ref_sink(gst_element_factory_make("ufometapublish", NULL));
  gst_util_set_object_arg(G_OBJECT(e), "method", "mqtt");
  g_object_set(e, "host", "127.0.0.1", "port", port, "topic", "ufo/{source}", "source-id", "cam7",
               "qos", 1, "max-queue", 10, "reconnect-min", 100, "reconnect-max", 400, NULL);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  GstHarness *h = gst_harness_new_with_element(e, "sink", "src");
  gst_harness_set_src_caps_str(h, CAPS);
  fail_unless(wait_connection(bus, TRUE, 10000), "no connection message");

  /* 1. connected: every frame arrives, in order */
  const gint n1 = 20, n2 = 30, bound = 10;
  for (gint k = 0; k < n1; k++) { /* one at a time: max-queue is small */
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
    fail_unless(wait_u64(e, "published", k + 1, 10000));
  }
  fail_unless_equals_uint64(get_u64(e, "dropped"), 0);
  fail_unless(wait_count(&sub, n1, 10000), "received %u of %d", sub_count(&sub), n1);

  /* 2. broker down: pushing goes on without blocking, the queue keeps the last max-queue */
  stop_broker(broker);
  fail_unless(wait_connection(bus, FALSE, 10000), "no disconnection message");
  const gint64 t0 = g_get_monotonic_time();
  for (gint k = n1; k < n1 + n2; k++)
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
  const gint64 push_us = g_get_monotonic_time() - t0;
  fail_unless(push_us < G_USEC_PER_SEC, "pushing %d frames took %" G_GINT64_FORMAT " us", n2,
              push_us);
  guint depth = 0;
  g_object_get(e, "queue-depth", &depth, NULL);
  fail_unless_equals_int(depth, bound);
  fail_unless_equals_uint64(get_u64(e, "dropped"), n2 - bound);
  gboolean drop_msg = FALSE;
  GstMessage *msg;
  while (!drop_msg && (msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT))) {
    drop_msg = gst_structure_has_name(gst_message_get_structure(msg), "ufometapublish-drops");
    gst_message_unref(msg);
  }
  fail_unless(drop_msg, "no ufometapublish-drops message");

  /* 3. broker back on the same port: the queued documents arrive */
  broker = start_broker(conf, port);
  fail_unless(wait_connection(bus, TRUE, 10000), "no reconnection message");
  fail_unless(wait_u64(e, "published", n1 + bound, 10000), "published %" G_GUINT64_FORMAT,
              get_u64(e, "published"));
  fail_unless(wait_count(&sub, n1 + bound, 15000), "received %u of %d", sub_count(&sub),
              n1 + bound);
  g_usleep(200000); /* nothing more comes */
  fail_unless_equals_int(sub_count(&sub), n1 + bound);
  for (gint k = 0; k < n1; k++)
    check_doc(g_ptr_array_index(sub.payloads, k), TS(k), "cam7");
  for (gint k = 0; k < bound; k++) /* the newest frames n1 + n2 - bound ... */
    check_doc(g_ptr_array_index(sub.payloads, n1 + k), TS(n1 + n2 - bound + k), "cam7");
  gst_object_unref(e);
  gst_harness_teardown(h);
  gst_object_unref(bus);

  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  stop_broker(broker);
  g_ptr_array_unref(sub.payloads);
  g_mutex_clear(&sub.lock);
  gchar *db = g_build_filename(dir, "mosquitto.db", NULL);
  g_unlink(db);
  g_free(db);
  g_unlink(conf);
  g_rmdir(dir);
  g_free(conf);
  g_free(dir);
}
GST_END_TEST;

/* runs a command (argv, NULL-terminated) and fails the test unless it exits 0 */
static void run_ok(const gchar *const *argv)
{
  gchar *out = NULL, *err_text = NULL;
  gint status = -1;
  GError *err = NULL;
  const gboolean spawned = g_spawn_sync(NULL, (gchar **)argv, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL,
                                        &out, &err_text, &status, &err);
  gchar *cmd = g_strjoinv(" ", (gchar **)argv);
  fail_unless(spawned && g_spawn_check_wait_status(status, NULL), "%s failed: %s%s", cmd,
              err ? err->message : "", err_text ? err_text : "");
  g_free(cmd);
  g_free(out);
  g_free(err_text);
  g_clear_error(&err);
}

/* a throwaway CA (ca.pem), a server certificate for 127.0.0.1 signed by it (server.pem,
 * server.key) and an unrelated CA (wrong-ca.pem), all P-256, in dir */
static void make_certs(const gchar *dir)
{
#define P(name) g_build_filename(dir, name, NULL)
  gchar *ca = P("ca.pem"), *ca_key = P("ca.key"), *wrong = P("wrong-ca.pem"),
        *wrong_key = P("wrong-ca.key"), *srv = P("server.pem"), *srv_key = P("server.key"),
        *csr = P("server.csr"), *ext = P("ext.cnf"), *serial = P("ca.srl");
#undef P
  fail_unless(g_file_set_contents(ext, "subjectAltName=IP:127.0.0.1\n", -1, NULL));
  const gchar *ca_argv[] = {"openssl",
                            "req",
                            "-x509",
                            "-newkey",
                            "ec",
                            "-pkeyopt",
                            "ec_paramgen_curve:prime256v1",
                            "-nodes",
                            "-keyout",
                            ca_key,
                            "-out",
                            ca,
                            "-days",
                            "2",
                            "-subj",
                            "/CN=gst-ufo test CA",
                            NULL};
  run_ok(ca_argv);
  const gchar *wrong_argv[] = {"openssl",
                               "req",
                               "-x509",
                               "-newkey",
                               "ec",
                               "-pkeyopt",
                               "ec_paramgen_curve:prime256v1",
                               "-nodes",
                               "-keyout",
                               wrong_key,
                               "-out",
                               wrong,
                               "-days",
                               "2",
                               "-subj",
                               "/CN=another CA",
                               NULL};
  run_ok(wrong_argv);
  const gchar *csr_argv[] = {
      "openssl",       "req",     "-newkey", "ec",   "-pkeyopt", "ec_paramgen_curve:prime256v1",
      "-nodes",        "-keyout", srv_key,   "-out", csr,        "-subj",
      "/CN=127.0.0.1", NULL};
  run_ok(csr_argv);
  const gchar *sign_argv[] = {"openssl",  "x509",      "-req",  "-in",
                              csr,        "-CA",       ca,      "-CAkey",
                              ca_key,     "-CAserial", serial,  "-CAcreateserial",
                              "-out",     srv,         "-days", "2",
                              "-extfile", ext,         NULL};
  run_ok(sign_argv);
  g_free(ca);
  g_free(ca_key);
  g_free(wrong);
  g_free(wrong_key);
  g_free(srv);
  g_free(srv_key);
  g_free(csr);
  g_free(ext);
  g_free(serial);
}

/* the next warning within timeout_ms, or NULL; messages before it are dropped */
static GError *wait_warning(GstBus *bus, guint timeout_ms)
{
  GstMessage *msg =
      gst_bus_timed_pop_filtered(bus, (GstClockTime)timeout_ms * GST_MSECOND, GST_MESSAGE_WARNING);
  if (!msg)
    return NULL;
  GError *err = NULL;
  gst_message_parse_warning(msg, &err, NULL);
  gst_message_unref(msg);
  return err;
}

/* the reason of the next ufometapublish-connection message, or NULL */
static gchar *wait_connection_reason(GstBus *bus, gboolean *connected, guint timeout_ms)
{
  const gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  while (g_get_monotonic_time() < end) {
    GstMessage *msg = gst_bus_timed_pop_filtered(bus, 10 * GST_MSECOND, GST_MESSAGE_ELEMENT);
    if (!msg)
      continue;
    const GstStructure *st = gst_message_get_structure(msg);
    gchar *reason = NULL;
    if (gst_structure_has_name(st, "ufometapublish-connection")) {
      gst_structure_get_boolean(st, "connected", connected);
      reason = g_strdup(gst_structure_get_string(st, "reason"));
    }
    gst_message_unref(msg);
    if (reason)
      return reason;
  }
  return NULL;
}

/* an mqtt ufometapublish with a private bus; cafile and password may be NULL */
static GstHarness *tls_publisher(guint port, const gchar *cafile, const gchar *password,
                                 guint max_queue, GstBus **bus, GstElement **e)
{
  *e = gst_object_ref_sink(gst_element_factory_make("ufometapublish", NULL));
  gst_util_set_object_arg(G_OBJECT(*e), "method", "mqtt");
  g_object_set(*e, "host", "127.0.0.1", "port", port, "topic", "ufo/{source}", "source-id", "cam5",
               "qos", 1, "max-queue", max_queue, "reconnect-min", 50, "reconnect-max", 200,
               "cafile", cafile, "username", "alice", "password", password, NULL);
  *bus = gst_bus_new();
  gst_element_set_bus(*e, *bus);
  GstHarness *h = gst_harness_new_with_element(*e, "sink", "src");
  gst_harness_set_src_caps_str(h, CAPS);
  return h;
}

/* TLS with a certificate made at test time (openssl: a throwaway CA and a server certificate for
 * 127.0.0.1) and a password file (mosquitto_passwd): the right CA and password deliver every
 * document; a wrong CA gives a warning naming the TLS failure (certificate verify failed) and
 * cafile, attempts go on (connect-failures), the stream is not blocked and the overflow is
 * counted; a wrong password gives a NOT_AUTHORIZED warning naming the credentials. */
GST_START_TEST(test_mqtt_tls_auth)
{
  if (!require_binary(MOSQUITTO_BIN, "mosquitto") ||
      !require_binary("/usr/bin/mosquitto_passwd", "mosquitto") ||
      !require_binary("/usr/bin/openssl", "openssl"))
    return;
  mosquitto_lib_init();
  gchar *dir = g_dir_make_tmp("ufometapublish-tls-XXXXXX", NULL);
  make_certs(dir);
  gchar *ca = g_build_filename(dir, "ca.pem", NULL),
        *wrong_ca = g_build_filename(dir, "wrong-ca.pem", NULL),
        *pwfile = g_build_filename(dir, "passwd", NULL);
  const gchar *pw_argv[] = {
      "/usr/bin/mosquitto_passwd", "-b", "-c", pwfile, "alice", "s3cret", NULL};
  run_ok(pw_argv);
  const guint port = free_port();
  gchar *conf = g_build_filename(dir, "mosquitto.conf", NULL);
  gchar *conf_text = g_strdup_printf(
      "listener %u 127.0.0.1\ncafile %s/ca.pem\ncertfile %s/server.pem\nkeyfile %s/server.key\n"
      "allow_anonymous false\npassword_file %s\n%s",
      port, dir, dir, dir, pwfile, getuid() == 0 ? "user root\n" : "");
  fail_unless(g_file_set_contents(conf, conf_text, -1, NULL));
  g_free(conf_text);
  GPid broker = start_broker(conf, port);

  /* a subscriber over TLS with the password */
  Subscriber sub = {.payloads = g_ptr_array_new_with_free_func(g_free), .topic = "ufo/cam5"};
  g_mutex_init(&sub.lock);
  struct mosquitto *m = mosquitto_new(NULL, true, &sub);
  mosquitto_connect_callback_set(m, sub_on_connect);
  mosquitto_subscribe_callback_set(m, sub_on_subscribe);
  mosquitto_message_callback_set(m, sub_on_message);
  fail_unless_equals_int(mosquitto_tls_set(m, ca, NULL, NULL, NULL, NULL), MOSQ_ERR_SUCCESS);
  fail_unless_equals_int(mosquitto_username_pw_set(m, "alice", "s3cret"), MOSQ_ERR_SUCCESS);
  fail_unless_equals_int(mosquitto_connect(m, "127.0.0.1", (int)port, 30), MOSQ_ERR_SUCCESS);
  fail_unless_equals_int(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
  for (gint t = 0; t < 500; t++) {
    g_mutex_lock(&sub.lock);
    const gboolean ok = sub.subscribed;
    g_mutex_unlock(&sub.lock);
    if (ok)
      break;
    g_usleep(10000);
  }

  /* 1. the right CA and password: every document arrives, in order */
  GstBus *bus;
  GstElement *e;
  GstHarness *h = tls_publisher(port, ca, "s3cret", 100, &bus, &e);
  fail_unless(wait_connection(bus, TRUE, 10000), "no connection over TLS");
  const gint n = 10;
  for (gint k = 0; k < n; k++)
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
  fail_unless(wait_u64(e, "published", n, 10000));
  fail_unless(wait_count(&sub, n, 10000), "received %u of %d", sub_count(&sub), n);
  for (gint k = 0; k < n; k++)
    check_doc(g_ptr_array_index(sub.payloads, k), TS(k), "cam5");
  fail_unless_equals_uint64(get_u64(e, "connect-failures"), 0);
  fail_if(wait_warning(bus, 0) != NULL);
  gst_object_unref(e);
  gst_harness_teardown(h);
  gst_object_unref(bus);

  /* 2. a CA that did not sign the broker's certificate */
  const guint bound = 5;
  h = tls_publisher(port, wrong_ca, "s3cret", bound, &bus, &e);
  gboolean up = TRUE; /* the connection message comes first, then the warning */
  gchar *reason = wait_connection_reason(bus, &up, 10000);
  fail_unless(reason && !up, "no disconnected message");
  fail_unless(strstr(reason, "certificate verify failed") != NULL, "reason: %s", reason);
  g_free(reason);
  GError *warn = wait_warning(bus, 5000);
  fail_unless(warn != NULL, "no warning for a wrong CA");
  fail_unless(g_error_matches(warn, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_OPEN_WRITE), "%s",
              warn->message);
  fail_unless(strstr(warn->message, "TLS") && strstr(warn->message, "certificate verify failed") &&
                  strstr(warn->message, "cafile"),
              "unclear: %s", warn->message);
  g_error_free(warn);
  const gint64 t0 = g_get_monotonic_time();
  for (gint k = 0; k < 20; k++) /* the stream goes on; the queue keeps the newest `bound` */
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
  fail_unless(g_get_monotonic_time() - t0 < G_USEC_PER_SEC, "pushing was blocked");
  fail_unless_equals_uint64(get_u64(e, "dropped"), 20 - bound);
  guint depth = 0;
  g_object_get(e, "queue-depth", &depth, NULL);
  fail_unless_equals_int(depth, bound);
  for (gint t = 0; t < 500 && get_u64(e, "connect-failures") < 3; t++) /* it keeps trying */
    g_usleep(10000);
  fail_unless(get_u64(e, "connect-failures") >= 3, "%" G_GUINT64_FORMAT " attempts",
              get_u64(e, "connect-failures"));
  fail_unless_equals_uint64(get_u64(e, "published"), 0);
  fail_if(wait_warning(bus, 0) != NULL); /* one warning per disconnected period */
  gst_harness_teardown(h);
  fail_unless_equals_uint64(get_u64(e, "dropped"), 20); /* the queued ones at stop */
  gst_object_unref(e);
  gst_object_unref(bus);

  /* 3. the right CA, a wrong password */
  h = tls_publisher(port, ca, "wrong", bound, &bus, &e);
  warn = wait_warning(bus, 10000);
  fail_unless(warn != NULL, "no warning for a wrong password");
  fail_unless(g_error_matches(warn, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_NOT_AUTHORIZED), "%s",
              warn->message);
  fail_unless(strstr(warn->message, "not authorised") &&
                  strstr(warn->message, "username and password"),
              "unclear: %s", warn->message);
  g_error_free(warn);
  gst_buffer_unref(gst_harness_push_and_pull(h, frame(0)));
  for (gint t = 0; t < 500 && get_u64(e, "connect-failures") < 2; t++)
    g_usleep(10000);
  fail_unless(get_u64(e, "connect-failures") >= 2);
  fail_unless_equals_uint64(get_u64(e, "published"), 0);
  gst_object_unref(e);
  gst_harness_teardown(h);
  gst_object_unref(bus);
  g_usleep(200000);
  fail_unless_equals_int(sub_count(&sub), n); /* nothing from the refused publishers */

  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  stop_broker(broker);
  g_ptr_array_unref(sub.payloads);
  g_mutex_clear(&sub.lock);
  const gchar *files[] = {"ca.pem",       "ca.key",     "ca.srl",        "wrong-ca.pem",
                          "wrong-ca.key", "server.pem", "server.key",    "server.csr",
                          "ext.cnf",      "passwd",     "mosquitto.conf"};
  for (guint i = 0; i < G_N_ELEMENTS(files); i++) {
    gchar *f = g_build_filename(dir, files[i], NULL);
    g_unlink(f);
    g_free(f);
  }
  fail_unless(g_rmdir(dir) == 0, "files left in %s", dir);
  g_free(ca);
  g_free(wrong_ca);
  g_free(pwfile);
  g_free(conf);
  g_free(dir);
}
GST_END_TEST;
#endif

#ifdef GST_UFO_HAVE_HIREDIS
#define REDIS_BIN "/usr/bin/redis-server"

static GPid start_redis(guint port)
{
  gchar *port_s = g_strdup_printf("%u", port);
  gchar *argv[] = {(gchar *)REDIS_BIN,
                   (gchar *)"--port",
                   port_s,
                   (gchar *)"--bind",
                   (gchar *)"127.0.0.1",
                   (gchar *)"--save",
                   (gchar *)"",
                   (gchar *)"--appendonly",
                   (gchar *)"no",
                   NULL};
  GPid pid = 0;
  GError *err = NULL;
  fail_unless(g_spawn_async(NULL, argv, NULL,
                            G_SPAWN_DO_NOT_REAP_CHILD | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL,
                            &pid, &err),
              "cannot start %s: %s", REDIS_BIN, err ? err->message : "");
  g_free(port_s);
  for (gint t = 0; t < 500 && !port_open(port); t++)
    g_usleep(10000);
  fail_unless(port_open(port), "redis-server does not listen on %u", port);
  return pid;
}

static void stop_redis(GPid pid)
{
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  g_spawn_close_pid(pid);
}

/* checks that the stream holds exactly the documents of frames first .. first + n - 1 */
static void check_stream(guint port, const gchar *key, gint first, gint n)
{
  redisContext *c = redisConnect("127.0.0.1", (int)port);
  fail_unless(c && !c->err);
  redisReply *r = redisCommand(c, "XRANGE %s - +", key);
  fail_unless(r && r->type == REDIS_REPLY_ARRAY);
  fail_unless_equals_int(r->elements, n);
  for (gint k = 0; k < n; k++) {
    redisReply *fields = r->element[k]->element[1]; /* [id, [field, value]] */
    fail_unless_equals_int(fields->elements, 2);
    fail_unless_equals_string(fields->element[0]->str, "json");
    check_doc(fields->element[1]->str, TS(first + k), "cam9");
  }
  freeReplyObject(r);
  redisFree(c);
}

GST_START_TEST(test_redis_server_restart)
{
  if (!require_binary(REDIS_BIN, "redis-server"))
    return;
  const guint port = free_port();
  GPid server = start_redis(port);
  GstElement *e = gst_object_ref_sink(gst_element_factory_make("ufometapublish", NULL));
  gst_util_set_object_arg(G_OBJECT(e), "method", "redis");
  g_object_set(e, "host", "127.0.0.1", "port", port, "topic", "ufo:{source}", "source-id", "cam9",
               "max-queue", 10, "reconnect-min", 100, "reconnect-max", 400, "redis-maxlen", 1000,
               NULL);
  GstBus *bus = gst_bus_new();
  gst_element_set_bus(e, bus);
  GstHarness *h = gst_harness_new_with_element(e, "sink", "src");
  gst_harness_set_src_caps_str(h, CAPS);
  fail_unless(wait_connection(bus, TRUE, 10000), "no connection message");

  /* 1. connected: every document in the stream, in order */
  const gint n1 = 20, n2 = 30, bound = 10;
  for (gint k = 0; k < n1; k++) { /* one at a time: max-queue is small */
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
    fail_unless(wait_u64(e, "published", k + 1, 10000));
  }
  fail_unless_equals_uint64(get_u64(e, "dropped"), 0);
  check_stream(port, "ufo:cam9", 0, n1);

  /* 2. server gone: pushing does not block, the queue keeps the last max-queue documents */
  stop_redis(server);
  const gint64 t0 = g_get_monotonic_time();
  for (gint k = n1; k < n1 + n2; k++)
    gst_buffer_unref(gst_harness_push_and_pull(h, frame(k)));
  const gint64 push_us = g_get_monotonic_time() - t0;
  fail_unless(push_us < G_USEC_PER_SEC, "pushing took %" G_GINT64_FORMAT " us", push_us);
  fail_unless(wait_connection(bus, FALSE, 10000), "no disconnection message");
  guint depth = 0;
  g_object_get(e, "queue-depth", &depth, NULL);
  fail_unless_equals_int(depth, bound);
  fail_unless_equals_uint64(get_u64(e, "dropped"), n2 - bound);

  /* 3. a new server on the same port (empty: no persistence) receives the queued documents */
  server = start_redis(port);
  fail_unless(wait_connection(bus, TRUE, 10000), "no reconnection message");
  fail_unless(wait_u64(e, "published", n1 + bound, 10000));
  check_stream(port, "ufo:cam9", n1 + n2 - bound, bound);
  gst_object_unref(e);
  gst_harness_teardown(h);
  gst_object_unref(bus);
  stop_redis(server);
}
GST_END_TEST;
#endif

static Suite *metapublish_suite(void)
{
  Suite *s = suite_create("ufometapublish");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_file_lines);
  tcase_add_test(tc, test_file_rotation);
  tcase_add_test(tc, test_file_errors);
#ifdef GST_UFO_HAVE_MOSQUITTO
  tcase_add_test(tc, test_mqtt_broker_restart);
  tcase_add_test(tc, test_mqtt_tls_auth);
#endif
#ifdef GST_UFO_HAVE_HIREDIS
  tcase_add_test(tc, test_redis_server_restart);
#endif
  return s;
}

int main(int argc, char **argv)
{
  gst_check_init(&argc, &argv);
  gst_ufo_test_require_plugin();
  return gst_check_run_suite(metapublish_suite(), "ufometapublish", __FILE__);
}
