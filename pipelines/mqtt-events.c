/* mqtt-events: a tiny MQTT subscriber for ufometapublish documents that prints one line per
 * analytics event (line crossings, zone entries and exits).
 *
 *   mqtt-events [--broker HOST:PORT] [--topic 'ufo/#'] [--cafile CA.pem]
 *               [--username U --password P] [--count N]
 *   mqtt-events --broker 127.0.0.1:1883
 *   cam1 1200000000 line-crossed middle track=3 direction=in label=square
 *   cam2 1333333333 zone-entered centre track=1 label=circle
 *
 * Each line: the document's "source", its "timestamp" (buffer PTS, ns), then per event of its
 * "analytics" member (docs/elements.md, ufometaconvert layout) the type, rule, track id
 * ("object_id"), direction (lines) and label: the format multicam-mqtt prints from the
 * ufoanalytics bus messages. "subscribed to TOPIC" goes to stderr once the broker has granted
 * the subscription. --count N exits after N documents. Exit status 1 when the broker cannot be
 * reached or refuses the connection, 2 for bad usage. */
#include <errno.h>
#include <glib-unix.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <mosquitto.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  const gchar *topic;
  gint64 count, seen;
  gint status;
  gboolean done;
} Sub;

static void on_connect(struct mosquitto *m, void *user, int rc)
{
  Sub *s = user;
  if (rc != 0) {
    fprintf(stderr, "mqtt-events: the broker refused the connection: %s\n",
            mosquitto_connack_string(rc));
    s->status = 1;
    s->done = TRUE;
    return;
  }
  mosquitto_subscribe(m, NULL, s->topic, 1);
}

static void on_subscribe(struct mosquitto *m, void *user, int mid, int n, const int *qos)
{
  Sub *s = user;
  (void)m;
  (void)mid;
  (void)n;
  (void)qos;
  fprintf(stderr, "subscribed to %s\n", s->topic);
}

static const gchar *member_string(JsonObject *o, const gchar *name)
{
  JsonNode *n = json_object_get_member(o, name);
  return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING
             ? json_node_get_string(n)
             : "";
}

static void on_message(struct mosquitto *m, void *user, const struct mosquitto_message *msg)
{
  Sub *s = user;
  (void)m;
  /* the payload is not NUL-terminated: parse a copy */
  gchar *text = g_strndup(msg->payload, msg->payloadlen);
  GError *err = NULL;
  JsonNode *root = json_from_string(text, &err);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    fprintf(stderr, "mqtt-events: %s: not a JSON object: %s\n", msg->topic,
            err ? err->message : "");
    g_clear_error(&err);
    g_free(text);
    if (root)
      json_node_unref(root);
    return;
  }
  JsonObject *doc = json_node_get_object(root);
  const gchar *source = member_string(doc, "source");
  const gint64 ts =
      json_object_has_member(doc, "timestamp") ? json_object_get_int_member(doc, "timestamp") : -1;
  JsonNode *an = json_object_get_member(doc, "analytics");
  JsonArray *metas = an && JSON_NODE_HOLDS_ARRAY(an) ? json_node_get_array(an) : NULL;
  for (guint i = 0; metas && i < json_array_get_length(metas); i++) {
    JsonObject *meta = json_array_get_object_element(metas, i);
    JsonNode *evn = meta ? json_object_get_member(meta, "events") : NULL;
    JsonArray *events = evn && JSON_NODE_HOLDS_ARRAY(evn) ? json_node_get_array(evn) : NULL;
    for (guint k = 0; events && k < json_array_get_length(events); k++) {
      JsonObject *e = json_array_get_object_element(events, k);
      if (!e)
        continue;
      const gchar *dir = member_string(e, "direction");
      printf("%s %" G_GINT64_FORMAT " %s %s track=%" G_GINT64_FORMAT "%s%s label=%s\n", source, ts,
             member_string(e, "type"), member_string(e, "rule"),
             json_object_has_member(e, "object_id") ? json_object_get_int_member(e, "object_id")
                                                    : 0,
             dir[0] ? " direction=" : "", dir, member_string(e, "label"));
    }
  }
  fflush(stdout);
  json_node_unref(root);
  g_free(text);
  if (s->count > 0 && ++s->seen >= s->count)
    s->done = TRUE;
}

static gboolean on_signal(gpointer data)
{
  ((Sub *)data)->done = TRUE;
  return G_SOURCE_CONTINUE;
}

int main(int argc, char **argv)
{
  gchar *broker = NULL, *topic = NULL, *cafile = NULL, *username = NULL, *password = NULL;
  gint64 count = 0;
  GOptionEntry entries[] = {
      {"broker", 'b', 0, G_OPTION_ARG_STRING, &broker, "MQTT broker (default 127.0.0.1:1883)",
       "HOST:PORT"},
      {"topic", 't', 0, G_OPTION_ARG_STRING, &topic, "Topic filter (default ufo/#)", "FILTER"},
      {"cafile", 0, 0, G_OPTION_ARG_STRING, &cafile, "PEM CA file: TLS to the broker", "FILE"},
      {"username", 0, 0, G_OPTION_ARG_STRING, &username, "MQTT user name", "NAME"},
      {"password", 0, 0, G_OPTION_ARG_STRING, &password, "MQTT password", "PASSWORD"},
      {"count", 'n', 0, G_OPTION_ARG_INT64, &count, "Exit after N documents", "N"},
      {NULL}};
  GOptionContext *ctx = g_option_context_new("- print the analytics events of ufometapublish");
  g_option_context_add_main_entries(ctx, entries, NULL);
  GError *err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || argc != 1) {
    fprintf(stderr, "mqtt-events: %s\n%s", err ? err->message : "unexpected argument",
            g_option_context_get_help(ctx, TRUE, NULL));
    return 2;
  }
  g_option_context_free(ctx);
  gchar **hp = g_strsplit(broker ? broker : "127.0.0.1:1883", ":", 2);
  const int port = hp[1] ? (int)g_ascii_strtoull(hp[1], NULL, 10) : 1883;
  Sub sub = {.topic = topic ? topic : "ufo/#", .count = count};
  mosquitto_lib_init();
  struct mosquitto *m = mosquitto_new(NULL, true, &sub);
  mosquitto_connect_callback_set(m, on_connect);
  mosquitto_subscribe_callback_set(m, on_subscribe);
  mosquitto_message_callback_set(m, on_message);
  if (username)
    mosquitto_username_pw_set(m, username, password);
  int rc = cafile ? mosquitto_tls_set(m, cafile, NULL, NULL, NULL, NULL) : MOSQ_ERR_SUCCESS;
  if (rc == MOSQ_ERR_SUCCESS)
    rc = mosquitto_connect(m, hp[0], port, 30);
  if (rc != MOSQ_ERR_SUCCESS) {
    fprintf(stderr, "mqtt-events: cannot connect to %s:%d: %s\n", hp[0], port,
            rc == MOSQ_ERR_ERRNO ? g_strerror(errno) : mosquitto_strerror(rc));
    sub.status = 1;
    sub.done = TRUE;
  }
  g_unix_signal_add(SIGINT, on_signal, &sub);
  g_unix_signal_add(SIGTERM, on_signal, &sub);
  while (!sub.done) {
    rc = mosquitto_loop(m, 100, 1);
    g_main_context_iteration(NULL, FALSE); /* the signal sources */
    if (rc != MOSQ_ERR_SUCCESS && !sub.done) {
      fprintf(stderr, "mqtt-events: connection lost: %s; reconnecting\n", mosquitto_strerror(rc));
      g_usleep(G_USEC_PER_SEC);
      mosquitto_reconnect(m);
    }
  }
  mosquitto_disconnect(m);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  g_strfreev(hp);
  return sub.status;
}
