/* The analytics core (gst/analytics/lines_zones.c): scripted scenes with exact counts. */
#include "lines_zones.h"

#include <glib/gstdio.h>
#include <string.h>

/* An object of box 10×10 whose bottom-centre anchor is (x, y). */
static UfoAnalyticsObject at(double x, double y, uint64_t track_id, const char *label)
{
  return (UfoAnalyticsObject){x - 5, y - 10, 10, 10, track_id, label ? 0 : -1, label};
}

/* Moves one track along the given anchor positions, one frame each; returns events seen. */
static void walk(UfoAnalytics *a, uint64_t id, const double *xy, int n, int *n_in, int *n_out)
{
  *n_in = *n_out = 0;
  for (int i = 0; i < n; i++) {
    UfoAnalyticsObject o = at(xy[2 * i], xy[2 * i + 1], id, "person");
    ufo_analytics_update(a, &o, 1, UFO_ANCHOR_BOTTOM_CENTER);
    size_t ne;
    const UfoEvent *ev = ufo_analytics_get_events(a, &ne);
    for (size_t k = 0; k < ne; k++) {
      g_assert_cmpint(ev[k].type, ==, UFO_EVENT_LINE_CROSSED);
      g_assert_cmpuint(ev[k].track_id, ==, id);
      g_assert_cmpstr(ev[k].label, ==, "person");
      *(ev[k].direction > 0 ? n_in : n_out) += 1;
    }
  }
}

static UfoAnalytics *door(void)
{
  UfoAnalytics *a = ufo_analytics_new();
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_analytics_add_lines(a, "door:100,200,300,200", &err));
  g_assert_no_error(err);
  return a;
}

static void test_line_both_ways(void)
{
  UfoAnalytics *a = door();
  int in, out;
  /* down across the line (along the normal, which points down for P1→P2 to the right): in */
  const double down[] = {200, 150, 200, 190, 200, 210, 200, 250};
  walk(a, 1, down, 4, &in, &out);
  g_assert_cmpint(in, ==, 1);
  g_assert_cmpint(out, ==, 0);
  const double up[] = {180, 180, 150, 120};
  walk(a, 1, up, 2, &in, &out);
  g_assert_cmpint(in, ==, 0);
  g_assert_cmpint(out, ==, 1);
  const UfoRule *r = ufo_analytics_get_rule(a, 0);
  g_assert_cmpuint(r->total_in, ==, 1);
  g_assert_cmpuint(r->total_out, ==, 1);
  ufo_analytics_free(a);
}

static void test_line_endpoints(void)
{
  UfoAnalytics *a = door();
  int in, out;
  /* passes 10 px beyond the end (300, 200): not a crossing */
  const double beyond[] = {310, 150, 310, 250};
  walk(a, 2, beyond, 2, &in, &out);
  g_assert_cmpint(in + out, ==, 0);
  /* through the end point itself: counted (the segment is closed) */
  const double through[] = {300, 150, 300, 250};
  walk(a, 3, through, 2, &in, &out);
  g_assert_cmpint(in, ==, 1);
  /* diagonal passing just outside the start point (100, 200) */
  const double diag[] = {90, 190, 99, 210};
  walk(a, 4, diag, 2, &in, &out);
  g_assert_cmpint(in + out, ==, 0);
  ufo_analytics_free(a);
}

static void test_line_parallel_and_on_line(void)
{
  UfoAnalytics *a = door();
  int in, out;
  const double parallel[] = {50, 190, 150, 190, 250, 190, 350, 190};
  walk(a, 5, parallel, 4, &in, &out);
  g_assert_cmpint(in + out, ==, 0);
  const double along[] = {50, 200, 150, 200, 250, 200, 350, 200};
  walk(a, 6, along, 4, &in, &out);
  g_assert_cmpint(in + out, ==, 0);
  /* born on the line, steps down (no crossing: it never was above), then up across: out */
  const double born[] = {200, 200, 200, 220, 200, 180};
  walk(a, 7, born, 3, &in, &out);
  g_assert_cmpint(in, ==, 0);
  g_assert_cmpint(out, ==, 1);
  /* stops on the line for frames, jitters on it, then goes on: counted once */
  const double jitter[] = {150, 190, 150, 200, 151, 200, 150, 200, 150, 210, 150, 200, 150, 215};
  walk(a, 8, jitter, 7, &in, &out);
  g_assert_cmpint(in, ==, 1);
  g_assert_cmpint(out, ==, 0);
  /* around the end of the line: sides change, the path misses the segment */
  const double around[] = {290, 190, 320, 190, 320, 210, 290, 210};
  walk(a, 9, around, 4, &in, &out);
  g_assert_cmpint(in + out, ==, 0);
  ufo_analytics_free(a);
}

static void test_line_untracked_and_classes(void)
{
  UfoAnalytics *a = ufo_analytics_new();
  g_assert_true(ufo_analytics_add_lines(a, "cars:0,100,100,100:car, 7", NULL));
  const double ys[] = {90, 110};
  for (int i = 0; i < 2; i++) {
    UfoAnalyticsObject o[4] = {at(50, ys[i], 0, "car"),     /* untracked: ignored */
                               at(50, ys[i], 11, "person"), /* filtered out */
                               at(50, ys[i], 12, "car"),    /* by name */
                               at(50, ys[i], 13, NULL)};    /* label_id set below */
    o[3].label_id = 7;                                      /* by id */
    ufo_analytics_update(a, o, 4, UFO_ANCHOR_BOTTOM_CENTER);
  }
  size_t n;
  const UfoEvent *ev = ufo_analytics_get_events(a, &n);
  g_assert_cmpuint(n, ==, 2);
  g_assert_cmpuint(ev[0].track_id, ==, 12);
  g_assert_cmpuint(ev[1].track_id, ==, 13);
  g_assert_cmpint(ev[0].object, ==, 2);
  /* line 0,100 → 100,100 points right: moving down is in */
  g_assert_cmpint(ev[0].direction, ==, 1);
  g_assert_cmpuint(ufo_analytics_get_rule(a, 0)->total_in, ==, 2);
  g_assert_cmpuint(ufo_analytics_get_rule(a, 0)->frame_in, ==, 2);
  ufo_analytics_free(a);
}

static void test_anchor(void)
{
  UfoAnalytics *a = door();
  /* box from y 180 to 200 at x 200: its centre (y 190) is above the line, its bottom on it */
  UfoAnalyticsObject o = {195, 170, 10, 20, 1, 0, "x"};
  ufo_analytics_update(a, &o, 1, UFO_ANCHOR_CENTER); /* centre y 180 */
  o.y = 195;                                         /* centre y 205 */
  ufo_analytics_update(a, &o, 1, UFO_ANCHOR_CENTER);
  g_assert_cmpuint(ufo_analytics_get_rule(a, 0)->total_in, ==, 1);
  ufo_analytics_reset(a);
  g_assert_cmpuint(ufo_analytics_get_rule(a, 0)->total_in, ==, 0);
  o.y = 170; /* bottom y 190 */
  ufo_analytics_update(a, &o, 1, UFO_ANCHOR_BOTTOM_CENTER);
  o.y = 185; /* bottom y 205 */
  ufo_analytics_update(a, &o, 1, UFO_ANCHOR_BOTTOM_CENTER);
  g_assert_cmpuint(ufo_analytics_get_rule(a, 0)->total_in, ==, 1);
  ufo_analytics_free(a);
}

static void test_point_in_polygon(void)
{
  const double sq[] = {0, 0, 100, 0, 100, 100, 0, 100};
  g_assert_true(ufo_analytics_point_in_polygon(sq, 4, 50, 50));
  /* boundary counts as inside: edges and vertices */
  g_assert_true(ufo_analytics_point_in_polygon(sq, 4, 100, 50));
  g_assert_true(ufo_analytics_point_in_polygon(sq, 4, 0, 0));
  g_assert_true(ufo_analytics_point_in_polygon(sq, 4, 50, 100));
  g_assert_false(ufo_analytics_point_in_polygon(sq, 4, 100.5, 50));
  g_assert_false(ufo_analytics_point_in_polygon(sq, 4, -0.01, 100));
  /* concave U: a notch x 30..70, y 0..70 is cut out of the top */
  const double u[] = {0, 0, 30, 0, 30, 70, 70, 70, 70, 0, 100, 0, 100, 100, 0, 100};
  g_assert_false(ufo_analytics_point_in_polygon(u, 8, 50, 30));
  g_assert_true(ufo_analytics_point_in_polygon(u, 8, 50, 90));
  g_assert_true(ufo_analytics_point_in_polygon(u, 8, 15, 30));
  g_assert_true(ufo_analytics_point_in_polygon(u, 8, 85, 30));
  g_assert_true(ufo_analytics_point_in_polygon(u, 8, 50, 70)); /* on the notch's bottom edge */
  /* a ray at the height of the vertices (y 0 and 70) */
  g_assert_false(ufo_analytics_point_in_polygon(u, 8, -10, 70));
  g_assert_true(ufo_analytics_point_in_polygon(u, 8, 10, 70));
  g_assert_false(ufo_analytics_point_in_polygon(u, 8, 50, 69));
  /* reversed winding gives the same answers */
  const double ur[] = {0, 100, 100, 100, 100, 0, 70, 0, 70, 70, 30, 70, 30, 0, 0, 0};
  g_assert_false(ufo_analytics_point_in_polygon(ur, 8, 50, 30));
  g_assert_true(ufo_analytics_point_in_polygon(ur, 8, 50, 90));
}

static void test_zone_events(void)
{
  UfoAnalytics *a = ufo_analytics_new();
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_analytics_add_zones(
      a, "u:0,0,30,0,30,70,70,70,70,0,100,0,100,100,0,100; all : 0,0,200,0,200,200,0,200", &err));
  g_assert_no_error(err);
  g_assert_cmpint(ufo_analytics_get_n_rules(a), ==, 2);
  /* frames: track 1 walks outside → notch (outside) → inside → boundary → outside;
   * track 2 is born inside then leaves; one untracked object sits inside throughout */
  const double t1[][2] = {{150, 50}, {50, 30}, {50, 90}, {100, 90}, {150, 90}};
  const double t2[][2] = {{10, 10}, {10, 10}, {150, 10}, {150, 10}, {150, 10}};
  const int occ[] = {2, 2, 2, 2, 1};
  const int entered[] = {0, 0, 1, 0, 0};
  const int left[] = {0, 0, 1, 0, 1};
  for (int f = 0; f < 5; f++) {
    UfoAnalyticsObject o[3] = {at(t1[f][0], t1[f][1], 1, "a"), at(t2[f][0], t2[f][1], 2, "b"),
                               at(90, 95, 0, "c")};
    ufo_analytics_update(a, o, 3, UFO_ANCHOR_BOTTOM_CENTER);
    const UfoRule *u = ufo_analytics_get_rule(a, 0);
    g_assert_cmpuint(u->occupancy, ==, occ[f]);
    g_assert_cmpuint(u->frame_in, ==, entered[f]);
    g_assert_cmpuint(u->frame_out, ==, left[f]);
    size_t n;
    const UfoEvent *ev = ufo_analytics_get_events(a, &n);
    g_assert_cmpuint(n, ==, entered[f] + left[f]); /* "all" never changes */
    for (size_t k = 0; k < n; k++) {
      g_assert_cmpint(ev[k].rule, ==, 0);
      g_assert_cmpint(ev[k].direction, ==, 0);
      g_assert_true(ev[k].type == UFO_EVENT_ZONE_ENTERED || ev[k].type == UFO_EVENT_ZONE_LEFT);
    }
    g_assert_cmpuint(ufo_analytics_get_rule(a, 1)->occupancy, ==, 3);
  }
  const UfoRule *u = ufo_analytics_get_rule(a, 0);
  g_assert_cmpuint(u->total_in, ==, 1);
  g_assert_cmpuint(u->total_out, ==, 2);
  ufo_analytics_free(a);
}

static void expect_error(const char *lines, const char *zones, const char *needle)
{
  UfoAnalytics *a = ufo_analytics_new();
  g_autoptr(GError) err = NULL;
  gboolean ok = ufo_analytics_add_lines(a, lines, &err) && ufo_analytics_add_zones(a, zones, &err);
  g_assert_false(ok);
  g_assert_nonnull(err);
  if (!strstr(err->message, needle))
    g_error("\"%s\" does not contain \"%s\"", err->message, needle);
  ufo_analytics_free(a);
}

static void test_syntax(void)
{
  expect_error("door:1,2,3", NULL, "lines entry 1 \"door:1,2,3\": a line takes 4");
  expect_error("a:0,0,1,1;b:0,0,x,1", NULL, "lines entry 2 \"b:0,0,x,1\": coordinate 3 \"x\"");
  expect_error("a:0,0,0,0", NULL, "same");
  expect_error("a 0,0,1,1", NULL, "expected NAME:");
  expect_error(":0,0,1,1", NULL, "empty rule name");
  expect_error("a:0,0,1,1;a:1,1,2,2", NULL, "exists already");
  expect_error("a:0,0,1,1:car,,bus", NULL, "empty class name");
  expect_error(NULL, "z:0,0,1,0", "3 or more");
  expect_error(NULL, "z:0,0,1,0,1,1,5", "got 7");
  expect_error(NULL, "z:0,0,1,0,inf,1", "not a number");
  /* all or nothing */
  UfoAnalytics *a = ufo_analytics_new();
  g_assert_false(ufo_analytics_add_lines(a, "a:0,0,1,1;b:1", NULL));
  g_assert_cmpint(ufo_analytics_get_n_rules(a), ==, 0);
  g_assert_true(ufo_analytics_add_lines(a, " a : 0, 0 ,1,1 ;; ", NULL));
  g_assert_true(ufo_analytics_add_lines(a, "", NULL));
  g_assert_cmpint(ufo_analytics_get_n_rules(a), ==, 1);
  g_assert_cmpstr(ufo_analytics_get_rule(a, 0)->name, ==, "a");
  g_assert_null(ufo_analytics_get_rule(a, 0)->classes);
  ufo_analytics_free(a);
}

static void test_config(void)
{
  const char *json = "{\"lines\":[{\"name\":\"door\",\"points\":[[100,200],[300,200]],"
                     "\"classes\":[\"person\",3]}],"
                     "\"zones\":[{\"name\":\"lot\",\"points\":[10,10,200,10,200,150,10,150]}]}";
  UfoAnalytics *a = ufo_analytics_new();
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_analytics_load_config_data(a, json, strlen(json), "test.json", &err));
  g_assert_no_error(err);
  g_assert_cmpint(ufo_analytics_get_n_rules(a), ==, 2);
  const UfoRule *r = ufo_analytics_get_rule(a, 0);
  g_assert_cmpint(r->kind, ==, UFO_RULE_LINE);
  g_assert_cmpfloat(r->xy[2], ==, 300);
  g_assert_cmpstr(r->classes[0], ==, "person");
  g_assert_cmpstr(r->classes[1], ==, "3");
  g_assert_cmpint(ufo_analytics_get_rule(a, 1)->n_points, ==, 4);
  ufo_analytics_free(a);

  const char *kf = "[line door]\npoints=100,200,300,200\nclasses=person;car;\n"
                   "[zone lot]\npoints=10,10,200,10,200,150\n";
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp("ufoanalytics-XXXXXX.ini", &path, NULL);
  g_assert_cmpint(fd, >=, 0);
  g_assert_true(g_file_set_contents(path, kf, -1, NULL));
  close(fd);
  a = ufo_analytics_new();
  g_assert_true(ufo_analytics_load_config(a, path, &err));
  g_assert_no_error(err);
  g_assert_cmpint(ufo_analytics_get_n_rules(a), ==, 2);
  g_assert_cmpstr(ufo_analytics_get_rule(a, 0)->classes[1], ==, "car");
  g_assert_null(ufo_analytics_get_rule(a, 0)->classes[2]);
  ufo_analytics_free(a);
  g_unlink(path);

  struct {
    const char *data, *needle;
  } bad[] = {
      {"{\"lines\":[{\"name\":\"d\",\"points\":[1,2,3]}]}", "lines[0]: a line takes 4"},
      {"{\"lines\":[{\"points\":[1,2,3,4]}]}", "lines[0]: needs a string \"name\""},
      {"{\"zones\":[{\"name\":\"z\",\"points\":[[1,2],[3]]}]}", "zones[0]: points[1] must"},
      /* 1e999 parses as infinity (found by tests/fuzz/fuzz_properties.c) */
      {"{\"zones\":[{\"name\":\"z\",\"points\":[0,0,1e999,0,0,1]}]}",
       "zones[0]: points[2] is not a finite number"},
      {"{\"line\":[]}", "unknown member \"line\""},
      {"{\"lines\":[{\"name\":\"d\",\"points\":[1,2,3,4],\"classes\":[1.5]}]}", "classes[0]"},
      {"{", "invalid JSON"},
      {"[lines door]\npoints=1,2,3,4\n", "neither [line NAME]"},
      {"[line door]\nclasses=a\n", "missing points"},
      {"[zone z]\npoints=1,2,3,4,5,q\n", "coordinate 6 \"q\""},
      {"not a config", "neither JSON nor a key file"},
  };
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    a = ufo_analytics_new();
    g_autoptr(GError) e = NULL;
    g_assert_false(ufo_analytics_load_config_data(a, bad[i].data, strlen(bad[i].data), "cfg", &e));
    if (!e || !strstr(e->message, bad[i].needle))
      g_error("config %u: \"%s\" lacks \"%s\"", i, e ? e->message : "(no error)", bad[i].needle);
    g_assert_cmpint(ufo_analytics_get_n_rules(a), ==, 0);
    ufo_analytics_free(a);
  }
  a = ufo_analytics_new();
  g_autoptr(GError) e = NULL;
  g_assert_false(ufo_analytics_load_config(a, "/nonexistent/ufoanalytics.json", &e));
  g_assert_error(e, G_FILE_ERROR, G_FILE_ERROR_NOENT);
  ufo_analytics_free(a);
}

static void test_track_timeout(void)
{
  UfoAnalytics *a = door();
  UfoAnalyticsObject o = at(200, 150, 1, "p");
  ufo_analytics_update(a, &o, 1, UFO_ANCHOR_BOTTOM_CENTER);
  for (int i = 0; i < UFO_ANALYTICS_TRACK_TIMEOUT + 1; i++)
    ufo_analytics_update(a, NULL, 0, UFO_ANCHOR_BOTTOM_CENTER);
  o = at(200, 250, 1, "p"); /* history forgotten: a new track, no crossing */
  ufo_analytics_update(a, &o, 1, UFO_ANCHOR_BOTTOM_CENTER);
  g_assert_cmpuint(ufo_analytics_get_rule(a, 0)->total_in, ==, 0);
  ufo_analytics_free(a);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/analytics/line/both-ways", test_line_both_ways);
  g_test_add_func("/analytics/line/endpoints", test_line_endpoints);
  g_test_add_func("/analytics/line/parallel-and-on-line", test_line_parallel_and_on_line);
  g_test_add_func("/analytics/line/untracked-and-classes", test_line_untracked_and_classes);
  g_test_add_func("/analytics/line/anchor", test_anchor);
  g_test_add_func("/analytics/zone/point-in-polygon", test_point_in_polygon);
  g_test_add_func("/analytics/zone/events", test_zone_events);
  g_test_add_func("/analytics/syntax", test_syntax);
  g_test_add_func("/analytics/config", test_config);
  g_test_add_func("/analytics/track-timeout", test_track_timeout);
  return g_test_run();
}
