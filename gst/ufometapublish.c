/* ufometapublish: publishes each frame's JSON document to a file, an MQTT broker or Redis.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-ufometapublish
 * @title: ufometapublish
 *
 * A pass-through element (like DL Streamer's gvametapublish) that builds, for each frame with
 * results, the same JSON document as ufometaconvert (one implementation, gst/ufojson.c, from the
 * buffer's #GstUfoMeta, #GstUfoAnalyticsMeta and ROI metas) and publishes it without blocking
 * the streaming thread: documents go into a bounded in-memory queue (`max-queue`) drained by a
 * worker thread; when the queue is full the oldest document is dropped and counted (`dropped`).
 *
 * Methods: `file` appends JSON lines to `location`, rotated by size (`max-file-size`,
 * `max-files`); `mqtt` publishes to `topic` on an MQTT broker through libmosquitto, `redis`
 * appends to the Redis stream `topic` (XADD MAXLEN ~ `redis-maxlen`) through hiredis; both
 * reconnect with exponential back-off while documents wait in the queue.
 *
 * Element messages: `ufometapublish-drops` (fields `dropped`, `max-queue`) when the queue starts
 * dropping (again after it has drained), `ufometapublish-connection` (fields `connected`,
 * `host`, `port`, `reason`) when the MQTT or Redis connection comes up or goes down. An MQTT
 * connection attempt that fails (unreachable, TLS handshake, credentials refused) is counted in
 * `connect-failures`; the first of a disconnected period also posts a warning that names the
 * cause and what to check (RESOURCE/NOT_AUTHORIZED for refused credentials, else
 * RESOURCE/OPEN_WRITE): never an error, the stream goes on.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! \
 *     ufodetect model=ufo-demo.safetensors ! ufotrack ! \
 *     ufometapublish method=mqtt host=localhost topic=ufo/{source} source-id=gate ! fakesink
 * ]|
 *
 * Since: 0.1
 */
#include "ufometapublish.h"

#include "ufojson.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef GST_UFO_HAVE_MOSQUITTO
#include <mosquitto.h>
#endif
#ifdef GST_UFO_HAVE_HIREDIS
#include <hiredis/hiredis.h>
#endif

GST_DEBUG_CATEGORY_STATIC(ufometapublish_debug);
#define GST_CAT_DEFAULT ufometapublish_debug

enum {
  PROP_0,
  PROP_METHOD,
  PROP_LOCATION,
  PROP_MAX_FILE_SIZE,
  PROP_MAX_FILES,
  PROP_FLUSH_EVERY,
  PROP_HOST,
  PROP_PORT,
  PROP_TOPIC,
  PROP_SOURCE_ID,
  PROP_QOS,
  PROP_CLIENT_ID,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_CAFILE,
  PROP_CERTFILE,
  PROP_KEYFILE,
  PROP_RECONNECT_MIN,
  PROP_RECONNECT_MAX,
  PROP_REDIS_MAXLEN,
  PROP_MAX_QUEUE,
  PROP_ADD_EMPTY_RESULTS,
  PROP_ADD_MASKS,
  PROP_MASK_THRESHOLD,
  PROP_QUEUE_DEPTH,
  PROP_DROPPED,
  PROP_PUBLISHED,
  PROP_CONNECT_FAILURES,
};

#define DEFAULT_METHOD GST_UFO_PUBLISH_METHOD_FILE
#define DEFAULT_LOCATION NULL
#define DEFAULT_MAX_FILE_SIZE 0
#define DEFAULT_MAX_FILES 5
#define DEFAULT_FLUSH_EVERY 1
#define DEFAULT_HOST "localhost"
#define DEFAULT_PORT 0 /* the method's: 1883 (mqtt), 6379 (redis) */
#define DEFAULT_TOPIC "ufo/{source}"
#define DEFAULT_SOURCE_ID "default"
#define DEFAULT_QOS 1
#define DEFAULT_CLIENT_ID NULL
#define DEFAULT_USERNAME NULL
#define DEFAULT_PASSWORD NULL
#define DEFAULT_CAFILE NULL
#define DEFAULT_CERTFILE NULL
#define DEFAULT_KEYFILE NULL
#define DEFAULT_RECONNECT_MIN 500
#define DEFAULT_RECONNECT_MAX 30000
#define DEFAULT_REDIS_MAXLEN 100000
#define DEFAULT_MAX_QUEUE 1000
#define DEFAULT_ADD_EMPTY_RESULTS FALSE

/* QoS 1 documents handed to libmosquitto and not yet acknowledged, at most */
#define MQTT_MAX_INFLIGHT 20
#define MQTT_KEEPALIVE_S 30
/* how long stop waits for a connected broker or server to take the queued documents */
#define MQTT_DRAIN_US (2 * G_USEC_PER_SEC)

struct _GstUfoMetaPublish {
  GstBaseTransform parent;

  /* properties, under the object lock */
  GstUfoPublishMethod method;
  gchar *location;
  guint64 max_file_size;
  guint max_files;
  guint flush_every;
  gchar *host;
  guint port;
  gchar *topic;
  gchar *source_id;
  guint qos;
  gchar *client_id;
  gchar *username;
  gchar *password;
  gchar *cafile;
  gchar *certfile;
  gchar *keyfile;
  guint reconnect_min;
  guint reconnect_max;
  guint redis_maxlen;
  guint max_queue;
  gboolean add_empty_results;
  UfoJsonOptions json; /* add-masks, mask-threshold */

  /* the queue and its counters, under lock */
  GMutex lock;
  GCond cond;
  GQueue queue; /* gchar * documents, oldest first */
  guint queue_bound;
  guint64 dropped;
  guint64 published;
  guint64 connect_failures; /* mqtt/redis: failed connection attempts */
  gboolean dropping;        /* dropped since the queue was last empty */
  gboolean stopping;

  /* between start and stop; the worker's own state */
  GThread *worker;
  gint width, height;
  gchar *run_source; /* source-id at start */
  /* file */
  FILE *file;
  gchar *run_location;
  guint64 run_max_file_size;
  guint run_max_files;
  guint run_flush_every;
  guint64 file_size;
  guint unflushed;
  gboolean failed;
  /* mqtt and redis */
  gchar *run_host;
  guint run_port;
  gchar *run_topic; /* with {source} replaced: MQTT topic or Redis stream key */
  guint run_reconnect_min, run_reconnect_max;
  gboolean connected; /* worker thread only */
#ifdef GST_UFO_HAVE_MOSQUITTO
  struct mosquitto *mosq;
  gint run_qos;
  gboolean ever_connected;
  gboolean run_tls;
  guint inflight;        /* worker thread only (callbacks run in mosquitto_loop) */
  gchar *mqtt_log_error; /* worker: libmosquitto's last error log line (OpenSSL's reason) */
  gchar *mqtt_refused;   /* worker: the broker's CONNACK refusal, until reported */
#endif
#ifdef GST_UFO_HAVE_HIREDIS
  gboolean use_redis;
  redisContext *redis;
  gchar *run_username, *run_password;
  gchar *run_maxlen; /* XADD MAXLEN ~ argument */
#endif
};

G_DEFINE_TYPE(GstUfoMetaPublish, gst_ufo_meta_publish, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(ufometapublish, "ufometapublish", GST_RANK_NONE,
                            GST_TYPE_UFO_META_PUBLISH);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));

GType gst_ufo_publish_method_get_type(void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_UFO_PUBLISH_METHOD_FILE, "JSON lines appended to a file (rotated by size)", "file"},
      {GST_UFO_PUBLISH_METHOD_MQTT, "MQTT broker (libmosquitto)", "mqtt"},
      {GST_UFO_PUBLISH_METHOD_REDIS, "Redis stream, XADD (hiredis)", "redis"},
      {0, NULL, NULL},
  };
  if (g_once_init_enter(&type))
    g_once_init_leave(&type, g_enum_register_static("GstUfoPublishMethod", values));
  return type;
}

/* -- the queue -- */

static void post_drops(GstUfoMetaPublish *self, guint64 dropped, guint bound)
{
  GstStructure *s = gst_structure_new("ufometapublish-drops", "dropped", G_TYPE_UINT64, dropped,
                                      "max-queue", G_TYPE_UINT, bound, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* streaming thread: never waits for the worker */
static void enqueue(GstUfoMetaPublish *self, gchar *doc)
{
  gboolean first_drop = FALSE;
  guint64 dropped;
  g_mutex_lock(&self->lock);
  g_queue_push_tail(&self->queue, doc);
  while (self->queue.length > self->queue_bound) {
    g_free(g_queue_pop_head(&self->queue));
    self->dropped++;
    if (!self->dropping)
      self->dropping = first_drop = TRUE;
  }
  dropped = self->dropped;
  const guint bound = self->queue_bound;
  g_cond_signal(&self->cond);
  g_mutex_unlock(&self->lock);
  if (first_drop) {
    GST_WARNING_OBJECT(self, "queue full (%u documents): dropping the oldest", bound);
    post_drops(self, dropped, bound);
  }
}

/* worker: the oldest document without removing it, or NULL (lock held) */
static const gchar *peek_locked(GstUfoMetaPublish *self)
{
  const gchar *doc = g_queue_peek_head(&self->queue);
  if (!doc)
    self->dropping = FALSE;
  return doc;
}

/* -- method=file -- */

static gchar *rotated_name(const gchar *location, guint k)
{
  return g_strdup_printf("%s.%u", location, k);
}

/* location → location.1 → location.2 ... up to max-files, then a fresh location */
static gboolean rotate_file(GstUfoMetaPublish *self)
{
  fclose(self->file);
  self->file = NULL;
  if (self->run_max_files > 0) {
    gchar *last = rotated_name(self->run_location, self->run_max_files);
    g_unlink(last);
    g_free(last);
    for (guint k = self->run_max_files; k > 1; k--) {
      gchar *from = rotated_name(self->run_location, k - 1),
            *to = rotated_name(self->run_location, k);
      g_rename(from, to); /* missing older files are fine */
      g_free(from);
      g_free(to);
    }
    gchar *first = rotated_name(self->run_location, 1);
    const int rc = g_rename(self->run_location, first);
    g_free(first);
    if (rc != 0)
      return FALSE;
  }
  self->file = g_fopen(self->run_location, "w");
  self->file_size = 0;
  return self->file != NULL;
}

static gboolean write_line(GstUfoMetaPublish *self, const gchar *doc)
{
  const gsize len = strlen(doc) + 1;
  if (self->run_max_file_size > 0 && self->file_size > 0 &&
      self->file_size + len > self->run_max_file_size && !rotate_file(self))
    return FALSE;
  if (fputs(doc, self->file) < 0 || fputc('\n', self->file) == EOF)
    return FALSE;
  self->file_size += len;
  if (++self->unflushed >= self->run_flush_every) {
    self->unflushed = 0;
    if (fflush(self->file) != 0)
      return FALSE;
  }
  return TRUE;
}

static void file_worker(GstUfoMetaPublish *self)
{
  g_mutex_lock(&self->lock);
  for (;;) {
    const gchar *doc = peek_locked(self);
    if (!doc) {
      if (self->stopping)
        break;
      g_cond_wait(&self->cond, &self->lock);
      continue;
    }
    gchar *mine = g_queue_pop_head(&self->queue);
    g_mutex_unlock(&self->lock);
    const gboolean ok = !self->failed && write_line(self, mine);
    const int errsv = errno;
    g_free(mine);
    if (!ok && !self->failed) {
      self->failed = TRUE; /* one error; later documents are dropped */
      GST_ELEMENT_ERROR(self, RESOURCE, WRITE,
                        ("Could not write to \"%s\" (or rotate it): %s. Check the disk space and "
                         "the permissions of its directory.",
                         self->run_location, g_strerror(errsv)),
                        (NULL));
    }
    g_mutex_lock(&self->lock);
    if (ok)
      self->published++;
    else
      self->dropped++;
  }
  g_mutex_unlock(&self->lock);
  if (self->file)
    fflush(self->file);
}

/* -- method=mqtt -- */

#if defined(GST_UFO_HAVE_MOSQUITTO) || defined(GST_UFO_HAVE_HIREDIS)
static void post_connection(GstUfoMetaPublish *self, gboolean connected, const gchar *reason)
{
  GstStructure *s = gst_structure_new(
      "ufometapublish-connection", "connected", G_TYPE_BOOLEAN, connected, "host", G_TYPE_STRING,
      self->run_host, "port", G_TYPE_UINT, self->run_port, "reason", G_TYPE_STRING, reason, NULL);
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
}

/* waits up to ms or until stop; returns FALSE when stopping (lock not held) */
static gboolean backoff_wait(GstUfoMetaPublish *self, guint ms)
{
  g_mutex_lock(&self->lock);
  const gint64 end = g_get_monotonic_time() + (gint64)ms * G_TIME_SPAN_MILLISECOND;
  while (!self->stopping && g_cond_wait_until(&self->cond, &self->lock, end))
    ;
  const gboolean go_on = !self->stopping;
  g_mutex_unlock(&self->lock);
  return go_on;
}

#endif

#ifdef GST_UFO_HAVE_MOSQUITTO
static void on_connect(struct mosquitto *mosq, void *user, int rc)
{
  GstUfoMetaPublish *self = user;
  (void)mosq;
  if (rc == 0) {
    GST_INFO_OBJECT(self, "connected to %s:%u", self->run_host, self->run_port);
    self->connected = TRUE;
    self->ever_connected = TRUE;
    post_connection(self, TRUE, "connected");
  } else {
    GST_WARNING_OBJECT(self, "broker refused the connection: %s", mosquitto_connack_string(rc));
    g_free(self->mqtt_refused);
    self->mqtt_refused = g_strdup(mosquitto_connack_string(rc));
  }
}

/* libmosquitto's own log: its error lines carry what its return codes do not, e.g. OpenSSL's
 * "certificate verify failed" behind MOSQ_ERR_TLS */
static void on_log(struct mosquitto *mosq, void *user, int level, const char *str)
{
  GstUfoMetaPublish *self = user;
  (void)mosq;
  GST_LOG_OBJECT(self, "libmosquitto: %s", str);
  if (level & MOSQ_LOG_ERR) {
    g_free(self->mqtt_log_error);
    self->mqtt_log_error = g_strdup(str);
  }
}

/* why a connection attempt failed (rc of mosquitto_connect or mosquitto_loop), one sentence;
 * *auth set when the broker refused the credentials */
static gchar *mqtt_failure(GstUfoMetaPublish *self, int rc, int errsv, gboolean *auth)
{
  gchar *why;
  *auth = FALSE;
  if (self->mqtt_refused) {
    *auth = strstr(self->mqtt_refused, "not authorised") || strstr(self->mqtt_refused, "username");
    why = g_strdup_printf("the broker refused the connection: %s", self->mqtt_refused);
  } else if (rc == MOSQ_ERR_TLS ||
             (rc != MOSQ_ERR_ERRNO && self->run_tls && self->mqtt_log_error)) {
    why = g_strdup_printf("TLS handshake failed: %s",
                          self->mqtt_log_error ? self->mqtt_log_error : mosquitto_strerror(rc));
  } else {
    why = g_strdup(rc == MOSQ_ERR_ERRNO ? g_strerror(errsv) : mosquitto_strerror(rc));
  }
  g_clear_pointer(&self->mqtt_refused, g_free);
  g_clear_pointer(&self->mqtt_log_error, g_free);
  for (gsize l = strlen(why); l > 0 && (why[l - 1] == '.' || why[l - 1] == ' '); l--)
    why[l - 1] = '\0'; /* "not authorised." ends a longer sentence */
  return why;
}

/* a failed attempt: counted; the first of a disconnected period is also posted, as a
 * ufometapublish-connection message and a warning that says what to check */
static void mqtt_report_failure(GstUfoMetaPublish *self, const gchar *why, gboolean auth,
                                gboolean first)
{
  g_mutex_lock(&self->lock);
  self->connect_failures++;
  const guint bound = self->queue_bound;
  g_mutex_unlock(&self->lock);
  GST_DEBUG_OBJECT(self, "connecting to %s:%u failed: %s", self->run_host, self->run_port, why);
  if (!first)
    return;
  post_connection(self, FALSE, why);
  const gchar *hint = auth ? " Check the username and password properties."
                      : g_str_has_prefix(why, "TLS")
                          ? " Check that cafile holds the CA that signed the broker's certificate "
                            "and that the certificate names the host."
                          : "";
  if (auth)
    GST_ELEMENT_WARNING(self, RESOURCE, NOT_AUTHORIZED,
                        ("Could not connect to the MQTT broker %s:%u%s: %s.%s", self->run_host,
                         self->run_port, self->run_tls ? " over TLS" : "", why, hint),
                        ("retrying from %u to %u ms apart; up to %u documents wait meanwhile, the "
                         "oldest dropped beyond",
                         self->run_reconnect_min, self->run_reconnect_max, bound));
  else
    GST_ELEMENT_WARNING(self, RESOURCE, OPEN_WRITE,
                        ("Could not connect to the MQTT broker %s:%u%s: %s.%s", self->run_host,
                         self->run_port, self->run_tls ? " over TLS" : "", why, hint),
                        ("retrying from %u to %u ms apart; up to %u documents wait meanwhile, the "
                         "oldest dropped beyond",
                         self->run_reconnect_min, self->run_reconnect_max, bound));
}

static void on_publish(struct mosquitto *mosq, void *user, int mid)
{
  GstUfoMetaPublish *self = user;
  (void)mosq;
  (void)mid;
  if (self->inflight > 0)
    self->inflight--;
  g_mutex_lock(&self->lock);
  self->published++;
  g_mutex_unlock(&self->lock);
}

static void mqtt_lost(GstUfoMetaPublish *self, int rc)
{
  if (self->connected) {
    GST_WARNING_OBJECT(self, "lost the connection to %s:%u: %s", self->run_host, self->run_port,
                       mosquitto_strerror(rc));
    post_connection(self, FALSE, mosquitto_strerror(rc));
  }
  self->connected = FALSE;
}

static void mqtt_worker(GstUfoMetaPublish *self)
{
  guint delay = self->run_reconnect_min;
  gboolean socket_open = FALSE, reported_down = FALSE;
  gint64 drain_end = 0;
  for (;;) {
    g_mutex_lock(&self->lock);
    const gboolean stopping = self->stopping;
    const gboolean empty = self->queue.length == 0;
    g_mutex_unlock(&self->lock);
    if (stopping) {
      if (!drain_end)
        drain_end = g_get_monotonic_time() + MQTT_DRAIN_US;
      if (!self->connected || (empty && self->inflight == 0) || g_get_monotonic_time() > drain_end)
        break;
    }
    if (!socket_open) {
      const int rc = self->ever_connected
                         ? mosquitto_reconnect(self->mosq)
                         : mosquitto_connect(self->mosq, self->run_host, (int)self->run_port,
                                             MQTT_KEEPALIVE_S);
      if (rc != MOSQ_ERR_SUCCESS) {
        gboolean auth;
        gchar *why = mqtt_failure(self, rc, errno, &auth);
        mqtt_report_failure(self, why, auth, !reported_down);
        reported_down = TRUE;
        g_free(why);
        if (!backoff_wait(self, delay))
          break;
        delay = MIN(delay * 2, self->run_reconnect_max);
        continue;
      }
      socket_open = TRUE;
    }
    /* publish what the queue holds, QoS 1 up to MQTT_MAX_INFLIGHT unacknowledged */
    while (self->connected && (self->run_qos == 0 || self->inflight < MQTT_MAX_INFLIGHT)) {
      g_mutex_lock(&self->lock);
      gchar *doc = g_strdup(peek_locked(self));
      g_mutex_unlock(&self->lock);
      if (!doc)
        break;
      const int rc = mosquitto_publish(self->mosq, NULL, self->run_topic, (int)strlen(doc), doc,
                                       self->run_qos, false);
      g_free(doc);
      if (rc != MOSQ_ERR_SUCCESS)
        break; /* stays queued; the loop below sees the lost connection */
      self->inflight++;
      g_mutex_lock(&self->lock);
      g_free(g_queue_pop_head(&self->queue));
      g_mutex_unlock(&self->lock);
    }
    const int rc = mosquitto_loop(self->mosq, 10, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      if (!self->connected) { /* refused (CONNACK) or closed before it: a failed attempt */
        gboolean auth;
        gchar *why = mqtt_failure(self, rc, errno, &auth);
        mqtt_report_failure(self, why, auth, !reported_down);
        g_free(why);
      }
      mqtt_lost(self, rc);
      socket_open = FALSE;
      reported_down = TRUE;
      if (!backoff_wait(self, delay))
        break;
      delay = MIN(delay * 2, self->run_reconnect_max);
    } else if (self->connected) {
      delay = self->run_reconnect_min;
      reported_down = FALSE;
    }
  }
  if (socket_open)
    mosquitto_disconnect(self->mosq);
  /* QoS 1 documents libmosquitto still holds are lost with the client; count them */
  g_mutex_lock(&self->lock);
  if (self->run_qos > 0)
    self->dropped += self->inflight;
  g_mutex_unlock(&self->lock);
  self->inflight = 0;
  self->connected = FALSE;
}
#endif

/* -- method=redis -- */

#ifdef GST_UFO_HAVE_HIREDIS
/* a connected, authenticated context or NULL with why set */
static redisContext *redis_open(GstUfoMetaPublish *self, gchar **why)
{
  const struct timeval timeout = {2, 0};
  redisContext *c = redisConnectWithTimeout(self->run_host, (int)self->run_port, timeout);
  if (!c || c->err) {
    *why = g_strdup(c ? c->errstr : "out of memory");
    if (c)
      redisFree(c);
    return NULL;
  }
  redisSetTimeout(c, timeout);
  if (self->run_password) {
    redisReply *r = self->run_username
                        ? redisCommand(c, "AUTH %s %s", self->run_username, self->run_password)
                        : redisCommand(c, "AUTH %s", self->run_password);
    const gboolean ok = r && r->type == REDIS_REPLY_STATUS;
    *why = ok ? NULL : g_strdup_printf("AUTH: %s", r ? r->str : c->errstr);
    if (r)
      freeReplyObject(r);
    if (!ok) {
      redisFree(c);
      return NULL;
    }
  }
  return c;
}

/* one XADD per document (MAXLEN ~ redis-maxlen); a document leaves the queue once Redis has
 * answered with its entry id */
static void redis_worker(GstUfoMetaPublish *self)
{
  guint delay = self->run_reconnect_min;
  gboolean reported_down = FALSE;
  gint64 drain_end = 0;
  for (;;) {
    if (!self->redis) { /* connect at start and after a loss, documents waiting or not */
      g_mutex_lock(&self->lock);
      const gboolean stopping = self->stopping;
      g_mutex_unlock(&self->lock);
      if (stopping)
        break; /* at stop: only what a live connection takes */
      gchar *why = NULL;
      self->redis = redis_open(self, &why);
      if (!self->redis) {
        GST_DEBUG_OBJECT(self, "connecting to %s:%u failed (%s), next try in %u ms", self->run_host,
                         self->run_port, why, delay);
        if (!reported_down) {
          reported_down = TRUE;
          post_connection(self, FALSE, why);
        }
        g_free(why);
        if (!backoff_wait(self, delay))
          break;
        delay = MIN(delay * 2, self->run_reconnect_max);
        continue;
      }
      GST_INFO_OBJECT(self, "connected to %s:%u", self->run_host, self->run_port);
      post_connection(self, TRUE, "connected");
      reported_down = FALSE;
      delay = self->run_reconnect_min;
    }
    g_mutex_lock(&self->lock);
    while (!self->stopping && !peek_locked(self))
      g_cond_wait(&self->cond, &self->lock);
    if (self->stopping && !drain_end)
      drain_end = g_get_monotonic_time() + MQTT_DRAIN_US;
    gchar *doc =
        drain_end && g_get_monotonic_time() > drain_end ? NULL : g_strdup(peek_locked(self));
    g_mutex_unlock(&self->lock);
    if (!doc)
      break; /* stopping with an empty queue, or after 2 s of draining */
    redisReply *r = redisCommand(self->redis, "XADD %s MAXLEN ~ %s * json %s", self->run_topic,
                                 self->run_maxlen, doc);
    g_free(doc);
    if (!r) { /* connection lost: the document stays queued */
      GST_WARNING_OBJECT(self, "lost the connection to %s:%u: %s", self->run_host, self->run_port,
                         self->redis->errstr);
      post_connection(self, FALSE, self->redis->errstr);
      reported_down = TRUE;
      g_clear_pointer(&self->redis, redisFree);
      continue; /* reconnects at once, then backs off */
    }
    const gboolean ok = r->type == REDIS_REPLY_STRING;
    if (!ok)
      GST_WARNING_OBJECT(self, "XADD %s refused: %s", self->run_topic,
                         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
    g_mutex_lock(&self->lock);
    g_free(g_queue_pop_head(&self->queue));
    if (ok)
      self->published++;
    else
      self->dropped++; /* refused by the server (e.g. the key holds another type) */
    g_mutex_unlock(&self->lock);
  }
  g_clear_pointer(&self->redis, redisFree);
}
#endif

static gpointer worker_main(gpointer data)
{
  GstUfoMetaPublish *self = data;
#ifdef GST_UFO_HAVE_HIREDIS
  if (self->use_redis) {
    redis_worker(self);
    return NULL;
  }
#endif
#ifdef GST_UFO_HAVE_MOSQUITTO
  if (self->mosq) {
    mqtt_worker(self);
    return NULL;
  }
#endif
  file_worker(self);
  return NULL;
}

/* -- element -- */

static void gst_ufo_meta_publish_set_property(GObject *object, guint prop_id, const GValue *value,
                                              GParamSpec *pspec)
{
  GstUfoMetaPublish *self = GST_UFO_META_PUBLISH(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
#define SET_STRING(field)                                                                          \
  g_free(self->field);                                                                             \
  self->field = g_value_dup_string(value);                                                         \
  break
  case PROP_METHOD:
    self->method = g_value_get_enum(value);
    break;
  case PROP_LOCATION:
    SET_STRING(location);
  case PROP_MAX_FILE_SIZE:
    self->max_file_size = g_value_get_uint64(value);
    break;
  case PROP_MAX_FILES:
    self->max_files = g_value_get_uint(value);
    break;
  case PROP_FLUSH_EVERY:
    self->flush_every = g_value_get_uint(value);
    break;
  case PROP_HOST:
    SET_STRING(host);
  case PROP_PORT:
    self->port = g_value_get_uint(value);
    break;
  case PROP_TOPIC:
    SET_STRING(topic);
  case PROP_SOURCE_ID:
    SET_STRING(source_id);
  case PROP_QOS:
    self->qos = g_value_get_uint(value);
    break;
  case PROP_CLIENT_ID:
    SET_STRING(client_id);
  case PROP_USERNAME:
    SET_STRING(username);
  case PROP_PASSWORD:
    SET_STRING(password);
  case PROP_CAFILE:
    SET_STRING(cafile);
  case PROP_CERTFILE:
    SET_STRING(certfile);
  case PROP_KEYFILE:
    SET_STRING(keyfile);
  case PROP_RECONNECT_MIN:
    self->reconnect_min = g_value_get_uint(value);
    break;
  case PROP_RECONNECT_MAX:
    self->reconnect_max = g_value_get_uint(value);
    break;
  case PROP_REDIS_MAXLEN:
    self->redis_maxlen = g_value_get_uint(value);
    break;
  case PROP_MAX_QUEUE:
    self->max_queue = g_value_get_uint(value);
    break;
  case PROP_ADD_EMPTY_RESULTS:
    self->add_empty_results = g_value_get_boolean(value);
    break;
  case PROP_ADD_MASKS:
    self->json.masks = g_value_get_boolean(value);
    break;
  case PROP_MASK_THRESHOLD:
    self->json.mask_threshold = g_value_get_double(value);
    break;
#undef SET_STRING
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_ufo_meta_publish_get_property(GObject *object, guint prop_id, GValue *value,
                                              GParamSpec *pspec)
{
  GstUfoMetaPublish *self = GST_UFO_META_PUBLISH(object);
  switch (prop_id) {
  case PROP_QUEUE_DEPTH:
    g_mutex_lock(&self->lock);
    g_value_set_uint(value, self->queue.length);
    g_mutex_unlock(&self->lock);
    return;
  case PROP_DROPPED:
    g_mutex_lock(&self->lock);
    g_value_set_uint64(value, self->dropped);
    g_mutex_unlock(&self->lock);
    return;
  case PROP_PUBLISHED:
    g_mutex_lock(&self->lock);
    g_value_set_uint64(value, self->published);
    g_mutex_unlock(&self->lock);
    return;
  case PROP_CONNECT_FAILURES:
    g_mutex_lock(&self->lock);
    g_value_set_uint64(value, self->connect_failures);
    g_mutex_unlock(&self->lock);
    return;
  default:
    break;
  }
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_METHOD:
    g_value_set_enum(value, self->method);
    break;
  case PROP_LOCATION:
    g_value_set_string(value, self->location);
    break;
  case PROP_MAX_FILE_SIZE:
    g_value_set_uint64(value, self->max_file_size);
    break;
  case PROP_MAX_FILES:
    g_value_set_uint(value, self->max_files);
    break;
  case PROP_FLUSH_EVERY:
    g_value_set_uint(value, self->flush_every);
    break;
  case PROP_HOST:
    g_value_set_string(value, self->host);
    break;
  case PROP_PORT:
    g_value_set_uint(value, self->port);
    break;
  case PROP_TOPIC:
    g_value_set_string(value, self->topic);
    break;
  case PROP_SOURCE_ID:
    g_value_set_string(value, self->source_id);
    break;
  case PROP_QOS:
    g_value_set_uint(value, self->qos);
    break;
  case PROP_CLIENT_ID:
    g_value_set_string(value, self->client_id);
    break;
  case PROP_USERNAME:
    g_value_set_string(value, self->username);
    break;
  case PROP_PASSWORD:
    g_value_set_string(value, self->password);
    break;
  case PROP_CAFILE:
    g_value_set_string(value, self->cafile);
    break;
  case PROP_CERTFILE:
    g_value_set_string(value, self->certfile);
    break;
  case PROP_KEYFILE:
    g_value_set_string(value, self->keyfile);
    break;
  case PROP_RECONNECT_MIN:
    g_value_set_uint(value, self->reconnect_min);
    break;
  case PROP_RECONNECT_MAX:
    g_value_set_uint(value, self->reconnect_max);
    break;
  case PROP_REDIS_MAXLEN:
    g_value_set_uint(value, self->redis_maxlen);
    break;
  case PROP_MAX_QUEUE:
    g_value_set_uint(value, self->max_queue);
    break;
  case PROP_ADD_EMPTY_RESULTS:
    g_value_set_boolean(value, self->add_empty_results);
    break;
  case PROP_ADD_MASKS:
    g_value_set_boolean(value, self->json.masks);
    break;
  case PROP_MASK_THRESHOLD:
    g_value_set_double(value, self->json.mask_threshold);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

/* idempotent; also the failure cleanup of start */
static gboolean gst_ufo_meta_publish_stop(GstBaseTransform *trans)
{
  GstUfoMetaPublish *self = GST_UFO_META_PUBLISH(trans);
  if (self->worker) {
    g_mutex_lock(&self->lock);
    self->stopping = TRUE;
    g_cond_broadcast(&self->cond);
    g_mutex_unlock(&self->lock);
    g_thread_join(self->worker);
    self->worker = NULL;
  }
  g_mutex_lock(&self->lock);
  self->dropped += self->queue.length; /* not published before stop */
  g_queue_clear_full(&self->queue, g_free);
  self->stopping = FALSE;
  self->dropping = FALSE;
  g_mutex_unlock(&self->lock);
  if (self->file) {
    fclose(self->file);
    self->file = NULL;
  }
#ifdef GST_UFO_HAVE_MOSQUITTO
  g_clear_pointer(&self->mosq, mosquitto_destroy);
  g_clear_pointer(&self->mqtt_log_error, g_free);
  g_clear_pointer(&self->mqtt_refused, g_free);
  self->run_tls = FALSE;
#endif
#ifdef GST_UFO_HAVE_HIREDIS
  self->use_redis = FALSE;
  g_clear_pointer(&self->run_username, g_free);
  g_clear_pointer(&self->run_password, g_free);
  g_clear_pointer(&self->run_maxlen, g_free);
#endif
  g_clear_pointer(&self->run_host, g_free);
  g_clear_pointer(&self->run_topic, g_free);
  self->connected = FALSE;
  g_clear_pointer(&self->run_location, g_free);
  g_clear_pointer(&self->run_source, g_free);
  self->failed = FALSE;
  self->width = self->height = 0;
  return TRUE;
}

#ifdef GST_UFO_HAVE_MOSQUITTO
static gsize mosquitto_once = 0;

/* the client with every option set; connecting is the worker's job */
static gboolean mqtt_setup(GstUfoMetaPublish *self)
{
  if (g_once_init_enter(&mosquitto_once)) {
    mosquitto_lib_init();
    g_once_init_leave(&mosquitto_once, 1);
  }
  GST_OBJECT_LOCK(self);
  self->run_qos = (gint)self->qos;
  gchar *client_id = self->client_id && self->client_id[0]
                         ? g_strdup(self->client_id)
                         : g_strdup_printf("ufometapublish-%d-%p", (int)getpid(), (void *)self);
  gchar *username = g_strdup(self->username), *password = g_strdup(self->password);
  gchar *cafile = g_strdup(self->cafile), *certfile = g_strdup(self->certfile),
        *keyfile = g_strdup(self->keyfile);
  GST_OBJECT_UNLOCK(self);
  gboolean ok = FALSE;
  int rc = MOSQ_ERR_SUCCESS;
  /* a persistent session (clean_session false) so that QoS 1 survives a reconnect */
  self->mosq = mosquitto_new(client_id, self->run_qos == 0, self);
  if (!self->mosq) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Could not create the MQTT client \"%s\".", client_id),
                      ("mosquitto_new: %s", g_strerror(errno)));
    goto done;
  }
  mosquitto_connect_callback_set(self->mosq, on_connect);
  mosquitto_publish_callback_set(self->mosq, on_publish);
  mosquitto_log_callback_set(self->mosq, on_log);
  mosquitto_max_inflight_messages_set(self->mosq, MQTT_MAX_INFLIGHT);
  if (username && (rc = mosquitto_username_pw_set(self->mosq, username, password))) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid MQTT username or password."),
                      ("mosquitto_username_pw_set: %s", mosquitto_strerror(rc)));
    goto done;
  }
  if ((cafile || certfile || keyfile) &&
      (rc = mosquitto_tls_set(self->mosq, cafile, NULL, certfile, keyfile, NULL))) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                      ("Invalid TLS files for MQTT (cafile \"%s\", certfile \"%s\", keyfile "
                       "\"%s\"): check that they exist and that certfile and keyfile are given "
                       "together.",
                       GST_STR_NULL(cafile), GST_STR_NULL(certfile), GST_STR_NULL(keyfile)),
                      ("mosquitto_tls_set: %s", mosquitto_strerror(rc)));
    goto done;
  }
  self->run_tls = cafile || certfile || keyfile;
  ok = TRUE;
done:
  g_free(client_id);
  g_free(username);
  g_free(password);
  g_free(cafile);
  g_free(certfile);
  g_free(keyfile);
  return ok;
}
#endif

static gboolean gst_ufo_meta_publish_start(GstBaseTransform *trans)
{
  GstUfoMetaPublish *self = GST_UFO_META_PUBLISH(trans);
  GST_OBJECT_LOCK(self);
  const GstUfoPublishMethod method = self->method;
  self->run_location = g_strdup(self->location);
  self->run_source = g_strdup(self->source_id ? self->source_id : DEFAULT_SOURCE_ID);
  self->run_max_file_size = self->max_file_size;
  self->run_max_files = self->max_files;
  self->run_flush_every = MAX(self->flush_every, 1);
  const guint bound = MAX(self->max_queue, 1);
  self->run_host = g_strdup(self->host ? self->host : DEFAULT_HOST);
  self->run_port = self->port ? self->port : method == GST_UFO_PUBLISH_METHOD_REDIS ? 6379 : 1883;
  gchar **parts = g_strsplit(self->topic ? self->topic : DEFAULT_TOPIC, "{source}", -1);
  self->run_topic = g_strjoinv(self->run_source, parts);
  g_strfreev(parts);
  self->run_reconnect_min = MAX(self->reconnect_min, 1);
  self->run_reconnect_max = MAX(self->reconnect_max, self->run_reconnect_min);
#ifdef GST_UFO_HAVE_HIREDIS
  self->run_username = g_strdup(self->username);
  self->run_password = g_strdup(self->password);
  self->run_maxlen = g_strdup_printf("%u", MAX(self->redis_maxlen, 1));
#endif
  GST_OBJECT_UNLOCK(self);
  g_mutex_lock(&self->lock);
  self->queue_bound = bound;
  self->dropped = self->published = self->connect_failures = 0;
  g_mutex_unlock(&self->lock);

  if (method == GST_UFO_PUBLISH_METHOD_FILE) {
    if (!self->run_location || !self->run_location[0]) {
      GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND,
                        ("method=file needs the 'location' property (the JSON lines file)."),
                        (NULL));
      goto fail;
    }
    self->file = g_fopen(self->run_location, "a");
    if (!self->file) {
      GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                        ("Could not open file \"%s\" for writing.", self->run_location),
                        GST_ERROR_SYSTEM);
      goto fail;
    }
    self->file_size = (guint64)MAX(ftell(self->file), 0);
    self->unflushed = 0;
  } else if (method == GST_UFO_PUBLISH_METHOD_REDIS) {
#ifdef GST_UFO_HAVE_HIREDIS
    self->use_redis = TRUE; /* connecting is the worker's job */
#else
    GST_ELEMENT_ERROR(self, CORE, NOT_IMPLEMENTED,
                      ("method=redis is not available: gst-ufo was built without hiredis "
                       "(install libhiredis-dev and rebuild; meson option -Dredis=enabled)."),
                      (NULL));
    goto fail;
#endif
  } else {
#ifdef GST_UFO_HAVE_MOSQUITTO
    if (!mqtt_setup(self))
      goto fail;
#else
    GST_ELEMENT_ERROR(self, CORE, NOT_IMPLEMENTED,
                      ("method=mqtt is not available: gst-ufo was built without libmosquitto "
                       "(install libmosquitto-dev and rebuild; meson option -Dmqtt=enabled)."),
                      (NULL));
    goto fail;
#endif
  }
  self->worker = g_thread_new("ufometapublish", worker_main, self);
  return TRUE;
fail:
  gst_ufo_meta_publish_stop(trans);
  return FALSE;
}

static gboolean gst_ufo_meta_publish_set_caps(GstBaseTransform *trans, GstCaps *incaps,
                                              GstCaps *outcaps)
{
  GstUfoMetaPublish *self = GST_UFO_META_PUBLISH(trans);
  GstVideoInfo info;
  (void)outcaps;
  if (!gst_video_info_from_caps(&info, incaps))
    return FALSE;
  self->width = GST_VIDEO_INFO_WIDTH(&info);
  self->height = GST_VIDEO_INFO_HEIGHT(&info);
  return TRUE;
}

static GstFlowReturn gst_ufo_meta_publish_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
  GstUfoMetaPublish *self = GST_UFO_META_PUBLISH(trans);
  GST_OBJECT_LOCK(self);
  const gboolean add_empty = self->add_empty_results;
  const UfoJsonOptions json_opts = self->json;
  GST_OBJECT_UNLOCK(self);
  if (!add_empty && !ufo_frame_has_results(buf))
    return GST_FLOW_OK;
  enqueue(self, ufo_dump_frame_json_with(buf, self->width, self->height, self->run_source, NULL,
                                         &json_opts));
  return GST_FLOW_OK;
}

static void gst_ufo_meta_publish_finalize(GObject *object)
{
  GstUfoMetaPublish *self = GST_UFO_META_PUBLISH(object);
  gst_ufo_meta_publish_stop(GST_BASE_TRANSFORM(object));
  g_free(self->location);
  g_free(self->host);
  g_free(self->topic);
  g_free(self->source_id);
  g_free(self->client_id);
  g_free(self->username);
  g_free(self->password);
  g_free(self->cafile);
  g_free(self->certfile);
  g_free(self->keyfile);
  g_mutex_clear(&self->lock);
  g_cond_clear(&self->cond);
  G_OBJECT_CLASS(gst_ufo_meta_publish_parent_class)->finalize(object);
}

#define RW_READY (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)

static void install_string(GObjectClass *klass, guint id, const gchar *name, const gchar *nick,
                           const gchar *blurb, const gchar *def)
{
  g_object_class_install_property(klass, id, g_param_spec_string(name, nick, blurb, def, RW_READY));
}

static void gst_ufo_meta_publish_class_init(GstUfoMetaPublishClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *bt_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_ufo_meta_publish_set_property;
  gobject_class->get_property = gst_ufo_meta_publish_get_property;
  gobject_class->finalize = gst_ufo_meta_publish_finalize;
  GST_DEBUG_CATEGORY_INIT(ufometapublish_debug, "ufometapublish", 0,
                          "UFO-ViT JSON documents to a file, an MQTT broker or Redis");

  /**
   * GstUfoMetaPublish:method:
   *
   * Where the documents go: `file` (JSON lines), `mqtt` (a build with libmosquitto) or `redis`
   * (a build with hiredis).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_METHOD,
      g_param_spec_enum("method", "Method", "Where the JSON documents go: file, mqtt or redis",
                        GST_TYPE_UFO_PUBLISH_METHOD, DEFAULT_METHOD, RW_READY));
  /**
   * GstUfoMetaPublish:location:
   *
   * method=file: the JSON lines file, appended to (created if missing).
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_LOCATION, "location", "Location",
                 "method=file: file the JSON lines are appended to", DEFAULT_LOCATION);
  /**
   * GstUfoMetaPublish:max-file-size:
   *
   * method=file: rotate before a line would make the file larger than this many bytes.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_FILE_SIZE,
      g_param_spec_uint64("max-file-size", "Max file size",
                          "method=file: rotate when the file would exceed this size, bytes "
                          "(0 = never rotate)",
                          0, G_MAXUINT64, DEFAULT_MAX_FILE_SIZE, RW_READY));
  /**
   * GstUfoMetaPublish:max-files:
   *
   * method=file: rotated files kept (location.1 newest ... location.N oldest).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_FILES,
      g_param_spec_uint("max-files", "Max files",
                        "method=file: rotated files kept, location.1 (newest) to location.N "
                        "(0 = truncate instead)",
                        0, 1000, DEFAULT_MAX_FILES, RW_READY));
  /**
   * GstUfoMetaPublish:flush-every:
   *
   * method=file: flush the file after this many documents (and at stop).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_FLUSH_EVERY,
      g_param_spec_uint("flush-every", "Flush every",
                        "method=file: flush after this many documents, 1-1000000", 1, 1000000,
                        DEFAULT_FLUSH_EVERY, RW_READY));
  /**
   * GstUfoMetaPublish:host:
   *
   * method=mqtt/redis: server host name or address.
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_HOST, "host", "Host", "method=mqtt/redis: server host",
                 DEFAULT_HOST);
  /**
   * GstUfoMetaPublish:port:
   *
   * method=mqtt/redis: server TCP port; 0 = the method's default (1883, 6379).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_PORT,
      g_param_spec_uint("port", "Port",
                        "method=mqtt/redis: server TCP port, 1-65535 (0 = 1883 for mqtt, 6379 "
                        "for redis)",
                        0, 65535, DEFAULT_PORT, RW_READY));
  /**
   * GstUfoMetaPublish:redis-maxlen:
   *
   * method=redis: approximate length the stream is trimmed to (`XADD key MAXLEN ~ N`).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_REDIS_MAXLEN,
      g_param_spec_uint("redis-maxlen", "Redis max length",
                        "method=redis: entries the stream is trimmed to, approximately "
                        "(XADD MAXLEN ~), 1-4294967295",
                        1, G_MAXUINT, DEFAULT_REDIS_MAXLEN, RW_READY));
  /**
   * GstUfoMetaPublish:topic:
   *
   * MQTT topic or Redis stream key; `{source}` is replaced by #GstUfoMetaPublish:source-id.
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_TOPIC, "topic", "Topic",
                 "MQTT topic or Redis stream key, {source} is replaced by source-id",
                 DEFAULT_TOPIC);
  /**
   * GstUfoMetaPublish:source-id:
   *
   * The documents' "source" field and the `{source}` of the topic.
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_SOURCE_ID, "source-id", "Source id",
                 "Value of the documents' \"source\" field and of {source} in the topic",
                 DEFAULT_SOURCE_ID);
  /**
   * GstUfoMetaPublish:qos:
   *
   * method=mqtt: 0 (at most once) or 1 (at least once, kept across reconnects).
   *
   * Since: 0.1
   */
  g_object_class_install_property(gobject_class, PROP_QOS,
                                  g_param_spec_uint("qos", "QoS",
                                                    "method=mqtt: MQTT quality of service, 0 or 1",
                                                    0, 1, DEFAULT_QOS, RW_READY));
  /**
   * GstUfoMetaPublish:client-id:
   *
   * method=mqtt: client identifier (NULL = ufometapublish-PID-ADDRESS).
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_CLIENT_ID, "client-id", "Client id",
                 "method=mqtt: client identifier (NULL = generated)", DEFAULT_CLIENT_ID);
  /**
   * GstUfoMetaPublish:username:
   *
   * method=mqtt/redis: user name (NULL = none; Redis: AUTH user password).
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_USERNAME, "username", "User name",
                 "method=mqtt/redis: user name (NULL = anonymous)", DEFAULT_USERNAME);
  /**
   * GstUfoMetaPublish:password:
   *
   * method=mqtt/redis: password (MQTT: with #GstUfoMetaPublish:username; Redis: AUTH).
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_PASSWORD, "password", "Password",
                 "method=mqtt/redis: password", DEFAULT_PASSWORD);
  /**
   * GstUfoMetaPublish:cafile:
   *
   * method=mqtt: PEM CA certificates; setting it (or certfile/keyfile) turns TLS on.
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_CAFILE, "cafile", "CA file",
                 "method=mqtt: PEM file of trusted CAs; enables TLS", DEFAULT_CAFILE);
  /**
   * GstUfoMetaPublish:certfile:
   *
   * method=mqtt: PEM client certificate (with keyfile).
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_CERTFILE, "certfile", "Certificate file",
                 "method=mqtt: PEM client certificate (with keyfile)", DEFAULT_CERTFILE);
  /**
   * GstUfoMetaPublish:keyfile:
   *
   * method=mqtt: PEM private key of certfile.
   *
   * Since: 0.1
   */
  install_string(gobject_class, PROP_KEYFILE, "keyfile", "Key file",
                 "method=mqtt: PEM private key of certfile", DEFAULT_KEYFILE);
  /**
   * GstUfoMetaPublish:reconnect-min:
   *
   * method=mqtt/redis: first delay before reconnecting; doubles up to reconnect-max.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_RECONNECT_MIN,
      g_param_spec_uint(
          "reconnect-min", "Reconnect min",
          "method=mqtt/redis: first reconnection delay, ms (doubles up to reconnect-max)", 1,
          3600000, DEFAULT_RECONNECT_MIN, RW_READY));
  /**
   * GstUfoMetaPublish:reconnect-max:
   *
   * method=mqtt/redis: longest delay between reconnection attempts.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_RECONNECT_MAX,
      g_param_spec_uint("reconnect-max", "Reconnect max",
                        "method=mqtt/redis: longest reconnection delay, ms", 1, 3600000,
                        DEFAULT_RECONNECT_MAX, RW_READY));
  /**
   * GstUfoMetaPublish:max-queue:
   *
   * Documents waiting to be published, at most; beyond it the oldest is dropped.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MAX_QUEUE,
      g_param_spec_uint("max-queue", "Max queue",
                        "Documents waiting to be published, at most (the oldest is dropped "
                        "beyond), 1-10000000",
                        1, 10000000, DEFAULT_MAX_QUEUE, RW_READY));
  /**
   * GstUfoMetaPublish:add-empty-results:
   *
   * Also publish frames without any result.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ADD_EMPTY_RESULTS,
      g_param_spec_boolean("add-empty-results", "Add empty results",
                           "Also publish a document for frames without any result",
                           DEFAULT_ADD_EMPTY_RESULTS,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  ufo_json_install_mask_properties(gobject_class, PROP_ADD_MASKS, PROP_MASK_THRESHOLD);
  /**
   * GstUfoMetaPublish:queue-depth:
   *
   * Documents waiting in the queue now.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_QUEUE_DEPTH,
      g_param_spec_uint("queue-depth", "Queue depth", "Documents waiting in the queue now", 0,
                        G_MAXUINT, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstUfoMetaPublish:dropped:
   *
   * Documents dropped since start: queue overflow, write errors, unpublished at stop.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_DROPPED,
      g_param_spec_uint64("dropped", "Dropped",
                          "Documents dropped since start (queue full, write error, left at stop)",
                          0, G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstUfoMetaPublish:published:
   *
   * Documents written (file) or sent and, at QoS 1, acknowledged (mqtt) since start.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_PUBLISHED,
      g_param_spec_uint64("published", "Published",
                          "Documents written or sent (QoS 1: acknowledged) since start", 0,
                          G_MAXUINT64, 0, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));
  /**
   * GstUfoMetaPublish:connect-failures:
   *
   * method=mqtt: connection attempts that failed since start (broker unreachable, TLS handshake
   * failed, credentials refused); each is followed by a back-off and a new attempt.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_CONNECT_FAILURES,
      g_param_spec_uint64("connect-failures", "Connect failures",
                          "method=mqtt: failed connection attempts since start", 0, G_MAXUINT64, 0,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS));

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "UFO-ViT metadata publisher", "Filter/Metadata/Video",
      "Publishes each frame's UFO-ViT results as a JSON document (ufometaconvert layout) to a "
      "file, an MQTT broker or a Redis stream from a bounded queue, without blocking the stream",
      "gst-ufo contributors");

  bt_class->start = GST_DEBUG_FUNCPTR(gst_ufo_meta_publish_start);
  bt_class->stop = GST_DEBUG_FUNCPTR(gst_ufo_meta_publish_stop);
  bt_class->set_caps = GST_DEBUG_FUNCPTR(gst_ufo_meta_publish_set_caps);
  bt_class->transform_ip = GST_DEBUG_FUNCPTR(gst_ufo_meta_publish_transform_ip);
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_PUBLISH_METHOD, 0);
}

static void gst_ufo_meta_publish_init(GstUfoMetaPublish *self)
{
  self->method = DEFAULT_METHOD;
  self->location = g_strdup(DEFAULT_LOCATION);
  self->max_file_size = DEFAULT_MAX_FILE_SIZE;
  self->max_files = DEFAULT_MAX_FILES;
  self->flush_every = DEFAULT_FLUSH_EVERY;
  self->host = g_strdup(DEFAULT_HOST);
  self->port = DEFAULT_PORT;
  self->topic = g_strdup(DEFAULT_TOPIC);
  self->source_id = g_strdup(DEFAULT_SOURCE_ID);
  self->qos = DEFAULT_QOS;
  self->client_id = g_strdup(DEFAULT_CLIENT_ID);
  self->username = g_strdup(DEFAULT_USERNAME);
  self->password = g_strdup(DEFAULT_PASSWORD);
  self->cafile = g_strdup(DEFAULT_CAFILE);
  self->certfile = g_strdup(DEFAULT_CERTFILE);
  self->keyfile = g_strdup(DEFAULT_KEYFILE);
  self->reconnect_min = DEFAULT_RECONNECT_MIN;
  self->reconnect_max = DEFAULT_RECONNECT_MAX;
  self->redis_maxlen = DEFAULT_REDIS_MAXLEN;
  self->max_queue = DEFAULT_MAX_QUEUE;
  self->add_empty_results = DEFAULT_ADD_EMPTY_RESULTS;
  self->json = (UfoJsonOptions){UFO_JSON_DEFAULT_MASKS, UFO_JSON_DEFAULT_MASK_THRESHOLD};
  g_mutex_init(&self->lock);
  g_cond_init(&self->cond);
  g_queue_init(&self->queue);
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
