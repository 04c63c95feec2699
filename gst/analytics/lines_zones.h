/* Line-crossing and zone analytics of tracked objects: the core of the ufoanalytics element.
 *
 * GLib (and json-glib for config files), no GStreamer: tests/analytics links it directly.
 * Coordinates are frame pixels, x to the right, y down.
 *
 * Rules
 *   A line is a directed segment P1 → P2. Its normal n = (−dy, dx) (dx, dy = P2 − P1) points to
 *   the right of the direction of travel as seen on screen (y down): for door:100,200,300,200 the
 *   normal points down. A crossing along n is "in", against n is "out".
 *   A zone is a simple polygon (3 or more vertices, convex or not, either winding).
 *
 * Semantics, per frame (ufo_analytics_update)
 *   - The anchor point of each object is the bottom-centre of its box (UFO_ANCHOR_BOTTOM_CENTER)
 *     or its centre (UFO_ANCHOR_CENTER).
 *   - Line crossing (tracked objects only): for each line the core remembers, per track, the last
 *     position where the anchor was strictly on one side (side = sign of cross(P2 − P1, A − P1)).
 *     Positions exactly on the line do not change that memory. When the anchor is now strictly on
 *     the other side and the segment from the remembered position to the current one intersects
 *     the line segment (endpoints included), one crossing is counted; either way the memory moves
 *     to the current position. So a crossing is counted once even if the anchor stops on the line
 *     for some frames, a track born on the line counts nothing until it leaves it and crosses
 *     back, and motion around the end of the segment counts nothing.
 *   - Zone occupancy: objects (tracked or not) whose anchor is inside the polygon; points on the
 *     boundary (within 1e-6 px of an edge) are inside. Otherwise the even-odd rule decides.
 *   - Zone entry / exit (tracked objects only): the track's anchor was outside (inside) the zone on
 *     the previous frame where the track was seen and is inside (outside) now. The first sighting
 *     of a track only records its state (no event).
 *   - Class filters: a rule with classes only sees objects whose label equals one of the names or
 *     whose label id equals one of the integer entries.
 *   - Track history is dropped for tracks not seen for UFO_ANALYTICS_TRACK_TIMEOUT frames.
 */
#ifndef UFO_ANALYTICS_LINES_ZONES_H
#define UFO_ANALYTICS_LINES_ZONES_H

#include <glib.h>
#include <stdint.h>

G_BEGIN_DECLS

#define UFO_ANALYTICS_ERROR (ufo_analytics_error_quark())
GQuark ufo_analytics_error_quark(void);
typedef enum {
  UFO_ANALYTICS_ERROR_SYNTAX,    /* a rule string or config entry does not parse */
  UFO_ANALYTICS_ERROR_GEOMETRY,  /* degenerate line, too few zone vertices */
  UFO_ANALYTICS_ERROR_DUPLICATE, /* two rules of one kind with the same name */
} UfoAnalyticsError;

/* frames a track may stay unseen before its history is dropped */
#define UFO_ANALYTICS_TRACK_TIMEOUT 300

typedef enum {
  UFO_ANCHOR_BOTTOM_CENTER = 0,
  UFO_ANCHOR_CENTER = 1,
} UfoAnchor;

typedef enum {
  UFO_RULE_LINE = 0,
  UFO_RULE_ZONE = 1,
} UfoRuleKind;

typedef struct {
  UfoRuleKind kind;
  char *name;
  int n_points;
  double *xy;     /* (n_points, 2) */
  char **classes; /* NULL = every class; else names and decimal label ids */
  /* cumulative since the last reset: line crossings in/out, or zone entries/exits */
  uint64_t total_in, total_out;
  /* on the last frame: line crossings in/out, or zone entries/exits */
  unsigned frame_in, frame_out;
  unsigned occupancy; /* zones: objects inside on the last frame */
} UfoRule;

typedef enum {
  UFO_EVENT_LINE_CROSSED = 0,
  UFO_EVENT_ZONE_ENTERED = 1,
  UFO_EVENT_ZONE_LEFT = 2,
} UfoEventType;

typedef struct {
  UfoEventType type;
  int rule;      /* index into the rules */
  int direction; /* lines: +1 in (along the normal), −1 out; zones: 0 */
  uint64_t track_id;
  int label_id;
  const char *label; /* the caller's string, valid while its object is */
  int object;        /* index of the object in the update */
} UfoEvent;

typedef struct {
  double x, y, w, h; /* box */
  uint64_t track_id; /* 0 = not tracked */
  int label_id;
  const char *label; /* may be NULL */
} UfoAnalyticsObject;

typedef struct _UfoAnalytics UfoAnalytics;

UfoAnalytics *ufo_analytics_new(void);
void ufo_analytics_free(UfoAnalytics *a);
/* Adds rules from a property string (syntax in docs/elements.md, ufoanalytics):
 *   lines: "name:x1,y1,x2,y2[:class,class…];…"    zones: "name:x1,y1,x2,y2,x3,y3[,…][:classes];…"
 * All or nothing: on error nothing is added and the message names the bad entry. */
gboolean ufo_analytics_add_lines(UfoAnalytics *a, const char *spec, GError **error);
gboolean ufo_analytics_add_zones(UfoAnalytics *a, const char *spec, GError **error);
/* Adds the rules of a config file: JSON ({"lines":[{"name","points":[x1,y1,…],"classes":[…]}],
 * "zones":[…]}) when its first non-blank character is '{', else a GKeyFile with groups
 * "[line NAME]" / "[zone NAME]" holding points=x1,y1,… and optional classes=a;b. */
gboolean ufo_analytics_load_config(UfoAnalytics *a, const char *path, GError **error);
gboolean ufo_analytics_load_config_data(UfoAnalytics *a, const char *data, gsize len,
                                        const char *what, GError **error);

int ufo_analytics_get_n_rules(const UfoAnalytics *a);
const UfoRule *ufo_analytics_get_rule(const UfoAnalytics *a, int index);

/* Processes one frame; events of this frame are then read with ufo_analytics_get_events. */
void ufo_analytics_update(UfoAnalytics *a, const UfoAnalyticsObject *objects, size_t n,
                          UfoAnchor anchor);
const UfoEvent *ufo_analytics_get_events(const UfoAnalytics *a, size_t *n);
/* Zeroes counts and forgets every track (flush, new stream). Rules stay. */
void ufo_analytics_reset(UfoAnalytics *a);

/* Geometry, exposed for the tests. */
int ufo_analytics_point_in_polygon(const double *xy, int n_points, double px, double py);
void ufo_analytics_anchor_point(const UfoAnalyticsObject *o, UfoAnchor anchor, double *px,
                                double *py);

G_END_DECLS

#endif
