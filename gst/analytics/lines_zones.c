/* Line-crossing and zone analytics core (see lines_zones.h for the semantics). */
#include "lines_zones.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

G_DEFINE_QUARK(ufo - analytics - error - quark, ufo_analytics_error)

#define ON_EDGE_EPS 1e-6

typedef struct {
  int side;      /* lines: last strict side (−1, +1), 0 = none yet */
  double sx, sy; /* lines: anchor where that side was last seen */
  int inside;    /* zones: −1 unknown, 0 outside, 1 inside */
} TrackRule;

typedef struct {
  uint64_t last_frame;
  TrackRule r[]; /* one per rule */
} TrackState;

struct _UfoAnalytics {
  GPtrArray *rules;   /* UfoRule * */
  GHashTable *tracks; /* guint64 * → TrackState * */
  GArray *events;     /* UfoEvent */
  uint64_t frame;
};

static void rule_free(gpointer p)
{
  UfoRule *r = p;
  g_free(r->name);
  g_free(r->xy);
  g_strfreev(r->classes);
  g_free(r);
}

UfoAnalytics *ufo_analytics_new(void)
{
  UfoAnalytics *a = g_new0(UfoAnalytics, 1);
  a->rules = g_ptr_array_new_with_free_func(rule_free);
  a->tracks = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
  a->events = g_array_new(FALSE, TRUE, sizeof(UfoEvent));
  return a;
}

void ufo_analytics_free(UfoAnalytics *a)
{
  if (!a)
    return;
  g_ptr_array_unref(a->rules);
  g_hash_table_unref(a->tracks);
  g_array_unref(a->events);
  g_free(a);
}

void ufo_analytics_reset(UfoAnalytics *a)
{
  g_return_if_fail(a);
  g_hash_table_remove_all(a->tracks);
  g_array_set_size(a->events, 0);
  a->frame = 0;
  for (guint i = 0; i < a->rules->len; i++) {
    UfoRule *r = g_ptr_array_index(a->rules, i);
    r->total_in = r->total_out = 0;
    r->frame_in = r->frame_out = r->occupancy = 0;
  }
}

int ufo_analytics_get_n_rules(const UfoAnalytics *a)
{
  g_return_val_if_fail(a, 0);
  return (int)a->rules->len;
}

const UfoRule *ufo_analytics_get_rule(const UfoAnalytics *a, int index)
{
  g_return_val_if_fail(a && index >= 0 && (guint)index < a->rules->len, NULL);
  return g_ptr_array_index(a->rules, index);
}

const UfoEvent *ufo_analytics_get_events(const UfoAnalytics *a, size_t *n)
{
  g_return_val_if_fail(a && n, NULL);
  *n = a->events->len;
  return (const UfoEvent *)a->events->data;
}

/* ---- parsing ---- */

static const char *kind_name(UfoRuleKind kind)
{
  return kind == UFO_RULE_LINE ? "line" : "zone";
}

static gboolean has_rule(const GPtrArray *rules, UfoRuleKind kind, const char *name)
{
  for (guint i = 0; i < rules->len; i++) {
    const UfoRule *r = g_ptr_array_index(rules, i);
    if (r->kind == kind && !strcmp(r->name, name))
      return TRUE;
  }
  return FALSE;
}

/* Checks and takes a rule; @what names the entry in messages. On error @xy and @classes are
 * freed. */
static gboolean new_rule(GPtrArray *out, const GPtrArray *existing, UfoRuleKind kind,
                         const char *name, double *xy, int n_values, char **classes,
                         const char *what, GError **error)
{
  if (!name || !name[0]) {
    g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX, "%s: empty rule name",
                what);
    goto fail;
  }
  if (kind == UFO_RULE_LINE && n_values != 4) {
    g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_GEOMETRY,
                "%s: a line takes 4 coordinates x1,y1,x2,y2, got %d", what, n_values);
    goto fail;
  }
  if (kind == UFO_RULE_ZONE && (n_values < 6 || n_values % 2)) {
    g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_GEOMETRY,
                "%s: a zone takes 3 or more x,y vertices (an even count of 6 or more "
                "coordinates), got %d coordinates",
                what, n_values);
    goto fail;
  }
  if (kind == UFO_RULE_LINE && xy[0] == xy[2] && xy[1] == xy[3]) {
    g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_GEOMETRY,
                "%s: the two end points of the line are the same", what);
    goto fail;
  }
  if (has_rule(existing, kind, name) || has_rule(out, kind, name)) {
    g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_DUPLICATE,
                "%s: a %s named \"%s\" exists already", what, kind_name(kind), name);
    goto fail;
  }
  UfoRule *r = g_new0(UfoRule, 1);
  r->kind = kind;
  r->name = g_strdup(name);
  r->n_points = n_values / 2;
  r->xy = xy;
  r->classes = classes;
  g_ptr_array_add(out, r);
  return TRUE;
fail:
  g_free(xy);
  g_strfreev(classes);
  return FALSE;
}

static gboolean parse_number(const char *s, double *v)
{
  char *end = NULL;
  s = s ? s : "";
  while (g_ascii_isspace(*s))
    s++;
  if (!*s)
    return FALSE;
  *v = g_ascii_strtod(s, &end);
  while (end && g_ascii_isspace(*end))
    end++;
  return end && !*end && isfinite(*v);
}

/* "a, b ,c" → trimmed, non-empty names; NULL when @s is blank. */
static char **parse_classes(const char *s, const char *what, GError **error)
{
  g_autofree char *t = g_strstrip(g_strdup(s));
  if (!t[0])
    return NULL;
  char **v = g_strsplit(t, ",", -1);
  for (char **p = v; *p; p++) {
    g_strstrip(*p);
    if (!(*p)[0]) {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                  "%s: empty class name in \"%s\"", what, t);
      g_strfreev(v);
      return NULL;
    }
  }
  return v;
}

static gboolean add_spec(UfoAnalytics *a, UfoRuleKind kind, const char *spec, GError **error)
{
  g_return_val_if_fail(a, FALSE);
  if (!spec)
    return TRUE;
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func(rule_free);
  g_auto(GStrv) entries = g_strsplit(spec, ";", -1);
  int index = 0;
  for (char **e = entries; *e; e++) {
    g_strstrip(*e);
    if (!(*e)[0])
      continue; /* "a:…;" and blank specs */
    index++;
    g_autofree char *what = g_strdup_printf("%ss entry %d \"%s\"", kind_name(kind), index, *e);
    g_auto(GStrv) parts = g_strsplit(*e, ":", 3);
    if (!parts[0] || !parts[1]) {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                  "%s: expected NAME:x1,y1,x2,y2%s[:CLASSES]", what,
                  kind == UFO_RULE_ZONE ? ",x3,y3,…" : "");
      return FALSE;
    }
    g_auto(GStrv) nums = g_strsplit(parts[1], ",", -1);
    const int n = (int)g_strv_length(nums);
    double *xy = g_new0(double, MAX(n, 1));
    for (int i = 0; i < n; i++)
      if (!parse_number(nums[i], &xy[i])) {
        g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                    "%s: coordinate %d \"%s\" is not a number", what, i + 1, nums[i]);
        g_free(xy);
        return FALSE;
      }
    GError *cerr = NULL;
    char **classes = parts[2] ? parse_classes(parts[2], what, &cerr) : NULL;
    if (cerr) {
      g_propagate_error(error, cerr);
      g_free(xy);
      return FALSE;
    }
    g_strstrip(parts[0]);
    if (!new_rule(added, a->rules, kind, parts[0], xy, n, classes, what, error))
      return FALSE;
  }
  while (added->len)
    g_ptr_array_add(a->rules, g_ptr_array_steal_index(added, 0));
  g_hash_table_remove_all(a->tracks); /* per-track state is sized by the rule count */
  return TRUE;
}

gboolean ufo_analytics_add_lines(UfoAnalytics *a, const char *spec, GError **error)
{
  return add_spec(a, UFO_RULE_LINE, spec, error);
}

gboolean ufo_analytics_add_zones(UfoAnalytics *a, const char *spec, GError **error)
{
  return add_spec(a, UFO_RULE_ZONE, spec, error);
}

/* JSON: {"lines":[{"name":"door","points":[x1,y1,x2,y2] or [[x1,y1],[x2,y2]],
 * "classes":["person",2]}],"zones":[…]} */
static gboolean json_rules(GPtrArray *added, const GPtrArray *existing, JsonObject *root,
                           UfoRuleKind kind, const char *file, GError **error)
{
  const char *member = kind == UFO_RULE_LINE ? "lines" : "zones";
  JsonNode *node = json_object_get_member(root, member);
  if (!node)
    return TRUE;
  if (!JSON_NODE_HOLDS_ARRAY(node)) {
    g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                "%s: \"%s\" must be an array of rules", file, member);
    return FALSE;
  }
  JsonArray *arr = json_node_get_array(node);
  for (guint i = 0; i < json_array_get_length(arr); i++) {
    g_autofree char *what = g_strdup_printf("%s: %s[%u]", file, member, i);
    JsonNode *rn = json_array_get_element(arr, i);
    if (!JSON_NODE_HOLDS_OBJECT(rn)) {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                  "%s: must be an object with \"name\" and \"points\"", what);
      return FALSE;
    }
    JsonObject *ro = json_node_get_object(rn);
    JsonNode *name = json_object_get_member(ro, "name");
    JsonNode *points = json_object_get_member(ro, "points");
    if (!name || JSON_NODE_TYPE(name) != JSON_NODE_VALUE ||
        json_node_get_value_type(name) != G_TYPE_STRING || !points ||
        !JSON_NODE_HOLDS_ARRAY(points)) {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                  "%s: needs a string \"name\" and an array \"points\"", what);
      return FALSE;
    }
    GArray *xy = g_array_new(FALSE, TRUE, sizeof(double));
    JsonArray *pa = json_node_get_array(points);
    for (guint k = 0; k < json_array_get_length(pa); k++) {
      JsonNode *p = json_array_get_element(pa, k);
      JsonArray *pair = JSON_NODE_HOLDS_ARRAY(p) ? json_node_get_array(p) : NULL;
      const guint m = pair ? json_array_get_length(pair) : 1;
      for (guint j = 0; j < m && (!pair || m == 2); j++) {
        JsonNode *v = pair ? json_array_get_element(pair, j) : p;
        if (JSON_NODE_TYPE(v) != JSON_NODE_VALUE || (json_node_get_value_type(v) != G_TYPE_DOUBLE &&
                                                     json_node_get_value_type(v) != G_TYPE_INT64)) {
          g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                      "%s: points[%u] is not a number (or an [x, y] pair)", what, k);
          g_array_unref(xy);
          return FALSE;
        }
        double d = json_node_get_double(v);
        if (!isfinite(d)) { /* 1e999 parses as infinity */
          g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                      "%s: points[%u] is not a finite number", what, k);
          g_array_unref(xy);
          return FALSE;
        }
        g_array_append_val(xy, d);
      }
      if (pair && m != 2) {
        g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                    "%s: points[%u] must be an [x, y] pair", what, k);
        g_array_unref(xy);
        return FALSE;
      }
    }
    char **classes = NULL;
    JsonNode *cn = json_object_get_member(ro, "classes");
    if (cn) {
      if (!JSON_NODE_HOLDS_ARRAY(cn)) {
        g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                    "%s: \"classes\" must be an array of names and ids", what);
        g_array_unref(xy);
        return FALSE;
      }
      JsonArray *ca = json_node_get_array(cn);
      GPtrArray *cv = g_ptr_array_new();
      for (guint k = 0; k < json_array_get_length(ca); k++) {
        JsonNode *c = json_array_get_element(ca, k);
        GType t = JSON_NODE_TYPE(c) == JSON_NODE_VALUE ? json_node_get_value_type(c) : G_TYPE_NONE;
        if (t == G_TYPE_STRING && json_node_get_string(c)[0])
          g_ptr_array_add(cv, g_strdup(json_node_get_string(c)));
        else if (t == G_TYPE_INT64)
          g_ptr_array_add(cv, g_strdup_printf("%" G_GINT64_FORMAT, json_node_get_int(c)));
        else {
          g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                      "%s: classes[%u] must be a non-empty name or an integer id", what, k);
          g_ptr_array_add(cv, NULL);
          g_strfreev((char **)g_ptr_array_free(cv, FALSE));
          g_array_unref(xy);
          return FALSE;
        }
      }
      g_ptr_array_add(cv, NULL);
      classes = (char **)g_ptr_array_free(cv, FALSE);
      if (!classes[0])
        g_clear_pointer(&classes, g_strfreev);
    }
    const int n = (int)xy->len;
    double *v = (double *)g_array_free(xy, FALSE);
    if (!new_rule(added, existing, kind, json_node_get_string(name), v, n, classes, what, error))
      return FALSE;
  }
  return TRUE;
}

static gboolean keyfile_rules(GPtrArray *added, const GPtrArray *existing, GKeyFile *kf,
                              const char *file, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
  for (char **g = groups; *g; g++) {
    UfoRuleKind kind;
    const char *name;
    if (g_str_has_prefix(*g, "line ")) {
      kind = UFO_RULE_LINE;
      name = *g + 5;
    } else if (g_str_has_prefix(*g, "zone ")) {
      kind = UFO_RULE_ZONE;
      name = *g + 5;
    } else {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                  "%s: group [%s] is neither [line NAME] nor [zone NAME]", file, *g);
      return FALSE;
    }
    g_autofree char *what = g_strdup_printf("%s: [%s]", file, *g);
    g_autofree char *pts = g_key_file_get_value(kf, *g, "points", NULL);
    if (!pts) {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                  "%s: missing points=x1,y1,x2,y2…", what);
      return FALSE;
    }
    g_auto(GStrv) nums = g_strsplit(pts, ",", -1);
    const int n = (int)g_strv_length(nums);
    double *xy = g_new0(double, MAX(n, 1));
    for (int i = 0; i < n; i++)
      if (!parse_number(nums[i], &xy[i])) {
        g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                    "%s: coordinate %d \"%s\" of points is not a number", what, i + 1, nums[i]);
        g_free(xy);
        return FALSE;
      }
    char **classes = NULL;
    g_autofree char *cl = g_key_file_get_value(kf, *g, "classes", NULL);
    if (cl) {
      g_auto(GStrv) v = g_strsplit(cl, ";", -1);
      g_autofree char *joined = g_strjoinv(",", v);
      GError *cerr = NULL;
      /* a trailing ';' (GKeyFile lists) leaves an empty last item: drop it */
      if (g_str_has_suffix(joined, ","))
        joined[strlen(joined) - 1] = '\0';
      classes = parse_classes(joined, what, &cerr);
      if (cerr) {
        g_propagate_error(error, cerr);
        g_free(xy);
        return FALSE;
      }
    }
    if (!new_rule(added, existing, kind, name, xy, n, classes, what, error))
      return FALSE;
  }
  return TRUE;
}

gboolean ufo_analytics_load_config_data(UfoAnalytics *a, const char *data, gsize len,
                                        const char *what, GError **error)
{
  g_return_val_if_fail(a && data, FALSE);
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func(rule_free);
  gsize i = 0;
  while (i < len && g_ascii_isspace(data[i]))
    i++;
  if (i < len && data[i] == '{') {
    g_autoptr(JsonParser) parser = json_parser_new();
    GError *err = NULL;
    if (!json_parser_load_from_data(parser, data, (gssize)len, &err)) {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX, "%s: invalid JSON: %s",
                  what, err->message);
      g_error_free(err);
      return FALSE;
    }
    JsonObject *root = json_node_get_object(json_parser_get_root(parser));
    JsonObjectIter it;
    const char *member;
    json_object_iter_init(&it, root);
    while (json_object_iter_next(&it, &member, NULL))
      if (strcmp(member, "lines") && strcmp(member, "zones")) {
        g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                    "%s: unknown member \"%s\" (expected \"lines\" and \"zones\")", what, member);
        return FALSE;
      }
    if (!json_rules(added, a->rules, root, UFO_RULE_LINE, what, error) ||
        !json_rules(added, a->rules, root, UFO_RULE_ZONE, what, error))
      return FALSE;
  } else {
    g_autoptr(GKeyFile) kf = g_key_file_new();
    GError *err = NULL;
    if (!g_key_file_load_from_data(kf, data, len, G_KEY_FILE_NONE, &err)) {
      g_set_error(error, UFO_ANALYTICS_ERROR, UFO_ANALYTICS_ERROR_SYNTAX,
                  "%s: neither JSON nor a key file: %s", what, err->message);
      g_error_free(err);
      return FALSE;
    }
    if (!keyfile_rules(added, a->rules, kf, what, error))
      return FALSE;
  }
  while (added->len)
    g_ptr_array_add(a->rules, g_ptr_array_steal_index(added, 0));
  g_hash_table_remove_all(a->tracks);
  return TRUE;
}

gboolean ufo_analytics_load_config(UfoAnalytics *a, const char *path, GError **error)
{
  g_return_val_if_fail(a && path, FALSE);
  g_autofree char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents(path, &data, &len, error))
    return FALSE;
  return ufo_analytics_load_config_data(a, data, len, path, error);
}

/* ---- geometry ---- */

void ufo_analytics_anchor_point(const UfoAnalyticsObject *o, UfoAnchor anchor, double *px,
                                double *py)
{
  *px = o->x + o->w / 2;
  *py = anchor == UFO_ANCHOR_CENTER ? o->y + o->h / 2 : o->y + o->h;
}

static double cross(double ax, double ay, double bx, double by)
{
  return ax * by - ay * bx;
}

static int sign(double v)
{
  return (v > 0) - (v < 0);
}

/* distance of P to segment AB below eps */
static gboolean on_segment(double ax, double ay, double bx, double by, double px, double py)
{
  const double dx = bx - ax, dy = by - ay;
  const double l2 = dx * dx + dy * dy;
  double t = l2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / l2 : 0;
  t = CLAMP(t, 0.0, 1.0);
  const double ex = ax + t * dx - px, ey = ay + t * dy - py;
  return ex * ex + ey * ey <= ON_EDGE_EPS * ON_EDGE_EPS;
}

int ufo_analytics_point_in_polygon(const double *xy, int n, double px, double py)
{
  for (int i = 0, j = n - 1; i < n; j = i++)
    if (on_segment(xy[2 * j], xy[2 * j + 1], xy[2 * i], xy[2 * i + 1], px, py))
      return 1;
  int in = 0;
  for (int i = 0, j = n - 1; i < n; j = i++) {
    const double xi = xy[2 * i], yi = xy[2 * i + 1], xj = xy[2 * j], yj = xy[2 * j + 1];
    if ((yi > py) != (yj > py) && px < (xj - xi) * (py - yi) / (yj - yi) + xi)
      in = !in;
  }
  return in;
}

/* Does segment AB meet segment CD (endpoints included)? */
static gboolean segments_meet(double ax, double ay, double bx, double by, double cx, double cy,
                              double dx, double dy)
{
  const int d1 = sign(cross(bx - ax, by - ay, cx - ax, cy - ay));
  const int d2 = sign(cross(bx - ax, by - ay, dx - ax, dy - ay));
  const int d3 = sign(cross(dx - cx, dy - cy, ax - cx, ay - cy));
  const int d4 = sign(cross(dx - cx, dy - cy, bx - cx, by - cy));
  return d1 * d2 <= 0 && d3 * d4 <= 0;
}

/* ---- per frame ---- */

static gboolean rule_accepts(const UfoRule *r, int label_id, const char *label)
{
  if (!r->classes)
    return TRUE;
  for (char **c = r->classes; *c; c++) {
    if (label && !strcmp(*c, label))
      return TRUE;
    char *end = NULL;
    const gint64 id = g_ascii_strtoll(*c, &end, 10);
    if (end != *c && !*end && id == label_id && label_id >= 0)
      return TRUE;
  }
  return FALSE;
}

static void add_event(UfoAnalytics *a, UfoEventType type, int rule, int direction,
                      const UfoAnalyticsObject *o, int object)
{
  UfoEvent e = {type, rule, direction, o->track_id, o->label_id, o->label, object};
  g_array_append_val(a->events, e);
}

void ufo_analytics_update(UfoAnalytics *a, const UfoAnalyticsObject *objects, size_t n,
                          UfoAnchor anchor)
{
  g_return_if_fail(a && (objects || !n));
  const int nr = (int)a->rules->len;
  g_array_set_size(a->events, 0);
  a->frame++;
  for (int k = 0; k < nr; k++) {
    UfoRule *r = g_ptr_array_index(a->rules, k);
    r->frame_in = r->frame_out = r->occupancy = 0;
  }
  for (size_t i = 0; i < n; i++) {
    const UfoAnalyticsObject *o = &objects[i];
    double px, py;
    ufo_analytics_anchor_point(o, anchor, &px, &py);
    TrackState *ts = NULL;
    if (o->track_id) {
      ts = g_hash_table_lookup(a->tracks, &o->track_id);
      if (!ts) {
        ts = g_malloc0(sizeof(TrackState) + (size_t)MAX(nr, 1) * sizeof(TrackRule));
        for (int k = 0; k < nr; k++)
          ts->r[k].inside = -1;
        g_hash_table_insert(a->tracks, g_memdup2(&o->track_id, sizeof(uint64_t)), ts);
      } else if (ts->last_frame == a->frame) {
        ts = NULL; /* the same track twice on one frame: only the first one moves it */
      }
      if (ts)
        ts->last_frame = a->frame;
    }
    for (int k = 0; k < nr; k++) {
      UfoRule *r = g_ptr_array_index(a->rules, k);
      if (!rule_accepts(r, o->label_id, o->label))
        continue;
      const double *p = r->xy;
      if (r->kind == UFO_RULE_ZONE) {
        const int in = ufo_analytics_point_in_polygon(p, r->n_points, px, py);
        r->occupancy += in;
        if (!ts)
          continue;
        TrackRule *tr = &ts->r[k];
        if (tr->inside >= 0 && tr->inside != in) {
          if (in)
            r->frame_in++, r->total_in++;
          else
            r->frame_out++, r->total_out++;
          add_event(a, in ? UFO_EVENT_ZONE_ENTERED : UFO_EVENT_ZONE_LEFT, k, 0, o, (int)i);
        }
        tr->inside = in;
        continue;
      }
      if (!ts)
        continue;
      TrackRule *tr = &ts->r[k];
      const int s = sign(cross(p[2] - p[0], p[3] - p[1], px - p[0], py - p[1]));
      if (!s)
        continue; /* on the line: keep the last strict side */
      if (tr->side && s != tr->side &&
          segments_meet(tr->sx, tr->sy, px, py, p[0], p[1], p[2], p[3])) {
        /* s > 0: now right of P1→P2 on screen, i.e. moved along the normal */
        if (s > 0)
          r->frame_in++, r->total_in++;
        else
          r->frame_out++, r->total_out++;
        add_event(a, UFO_EVENT_LINE_CROSSED, k, s, o, (int)i);
      }
      tr->side = s;
      tr->sx = px;
      tr->sy = py;
    }
  }
  /* forget tracks unseen for a while */
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, a->tracks);
  while (g_hash_table_iter_next(&it, NULL, &value))
    if (a->frame - ((TrackState *)value)->last_frame > UFO_ANALYTICS_TRACK_TIMEOUT)
      g_hash_table_iter_remove(&it);
}
