/* The tracker core of ufotrack (gst/track): Kalman filter against hand-computed values, the
 * assignment on known and brute-forced matrices, ByteTrack scenarios (crossing objects, an
 * occlusion within and beyond the track buffer, the low-score second pass, confirmation,
 * prediction on frames without results, reset). */
#include <glib.h>
#include <math.h>

#include "assignment.h"
#include "bytetrack.h"
#include "kalman.h"

/* ---- Kalman filter ---- */

static void test_kalman_hand(void)
{
  UfoKalman kf;
  const double z0[4] = {100, 50, 0.5, 100};
  ufo_kalman_initiate(&kf, z0);
  /* σ = 2·h/20 = 10 for the positions and the height, 10·h/160 = 6.25 for their velocities */
  g_assert_cmpfloat_with_epsilon(kf.cov[0][0], 100.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[4][4], 39.0625, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[2][2], 1e-4, 1e-12);
  ufo_kalman_predict(&kf);
  /* P00 = 100 + 39.0625 + (h/20)² = 164.0625; P04 = 39.0625; P44 = 39.0625 + (h/160)² */
  g_assert_cmpfloat_with_epsilon(kf.mean[0], 100.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[0][0], 164.0625, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[0][4], 39.0625, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[4][0], 39.0625, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[4][4], 39.453125, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[2][2], 2e-4 + 1e-10, 1e-12);
  g_assert_cmpfloat_with_epsilon(kf.cov[0][1], 0.0, 1e-12);
  /* measurement 10 px to the right: S00 = 164.0625 + 25, K = (164.0625, 39.0625) / S00 */
  const double z1[4] = {110, 50, 0.5, 100};
  g_assert_true(ufo_kalman_update(&kf, z1));
  const double s00 = 189.0625;
  g_assert_cmpfloat_with_epsilon(kf.mean[0], 100 + 10 * 164.0625 / s00, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.mean[4], 10 * 39.0625 / s00, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.mean[1], 50.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.mean[3], 100.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[0][0], 164.0625 * 25 / s00, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[4][4], 39.453125 - 39.0625 * 39.0625 / s00, 1e-9);
  g_assert_cmpfloat_with_epsilon(kf.cov[0][4], 39.0625 * 25 / s00, 1e-9);
  /* a second predict moves by the estimated velocity */
  const double cx = kf.mean[0], vx = kf.mean[4];
  ufo_kalman_predict(&kf);
  g_assert_cmpfloat_with_epsilon(kf.mean[0], cx + vx, 1e-9);
  /* non-finite measurements are refused and leave the state alone */
  const double bad[4] = {NAN, 50, 0.5, 100};
  g_assert_false(ufo_kalman_update(&kf, bad));
  g_assert_cmpfloat_with_epsilon(kf.mean[0], cx + vx, 1e-9);
}

static void test_kalman_converges(void)
{
  /* constant velocity 4 px/frame: after 30 frames the velocity estimate is close to 4 */
  UfoKalman kf;
  double z[4] = {50, 60, 1.0, 40};
  ufo_kalman_initiate(&kf, z);
  for (int k = 1; k <= 30; k++) {
    ufo_kalman_predict(&kf);
    z[0] = 50 + 4 * k;
    g_assert_true(ufo_kalman_update(&kf, z));
  }
  g_assert_cmpfloat_with_epsilon(kf.mean[4], 4.0, 0.1);
  g_assert_cmpfloat_with_epsilon(kf.mean[0], 170.0, 0.5);
}

/* ---- assignment ---- */

static int assign_check(const double *c, int nr, int nc, double limit, const int *expect_r2c)
{
  int r2c[8], c2r[8];
  const int m = ufo_assign(c, nr, nc, limit, r2c, c2r);
  int n = 0;
  for (int i = 0; i < nr; i++) {
    g_assert_cmpint(r2c[i], ==, expect_r2c[i]);
    if (r2c[i] >= 0) {
      g_assert_cmpint(c2r[r2c[i]], ==, i);
      n++;
    }
  }
  g_assert_cmpint(m, ==, n);
  return m;
}

static void test_assign_known(void)
{
  const double sq[] = {4, 1, 3, 2, 0, 5, 3, 2, 2};
  assign_check(sq, 3, 3, 100, (const int[]){1, 0, 2});
  /* rectangular, both ways: the greedy first choice (row 0 → col 0) is not optimal */
  const double wide[] = {1, 2, 3, 2, 4, 6};
  assign_check(wide, 2, 3, 100, (const int[]){1, 0});
  const double tall[] = {1, 2, 2, 4, 3, 6};
  assign_check(tall, 3, 2, 100, (const int[]){1, 0, -1});
  /* the limit leaves row 1 and column 1 free */
  const double gate[] = {0.1, 0.9, 0.9, 0.95};
  assign_check(gate, 2, 2, 0.8, (const int[]){0, -1});
  /* all infeasible (above the limit, infinite, NaN) */
  const double none[] = {0.9, 2.0, INFINITY, NAN};
  g_assert_cmpint(assign_check(none, 2, 2, 0.8, (const int[]){-1, -1}), ==, 0);
  /* empty */
  g_assert_cmpint(ufo_assign(NULL, 0, 3, 1.0, NULL, NULL), ==, 0);
  int r2c[2] = {7, 7};
  g_assert_cmpint(ufo_assign(NULL, 2, 0, 1.0, r2c, NULL), ==, 0);
  g_assert_cmpint(r2c[0], ==, -1);
}

/* brute force of the cost-limited problem: matched costs + limit/2 per free row or column */
static double best_total(const double *c, int nr, int nc, double limit, int row, unsigned used)
{
  if (row == nr) {
    int free_cols = nc - __builtin_popcount(used);
    return free_cols * limit / 2;
  }
  double best = limit / 2 + best_total(c, nr, nc, limit, row + 1, used);
  for (int j = 0; j < nc; j++)
    if (!(used & (1u << j)) && c[row * nc + j] <= limit) {
      double t = c[row * nc + j] + best_total(c, nr, nc, limit, row + 1, used | (1u << j));
      if (t < best)
        best = t;
    }
  return best;
}

static void test_assign_random(void)
{
  GRand *rng = g_rand_new_with_seed(19);
  for (int it = 0; it < 300; it++) {
    const int nr = g_rand_int_range(rng, 1, 6), nc = g_rand_int_range(rng, 1, 6);
    double c[36];
    for (int i = 0; i < nr * nc; i++)
      c[i] = g_rand_double(rng);
    const double limit = g_rand_double_range(rng, 0.2, 1.2);
    int r2c[6];
    g_assert_cmpint(ufo_assign(c, nr, nc, limit, r2c, NULL), >=, 0);
    double total = 0;
    int matched = 0;
    for (int i = 0; i < nr; i++)
      if (r2c[i] >= 0) {
        g_assert_cmpfloat(c[i * nc + r2c[i]], <=, limit);
        total += c[i * nc + r2c[i]];
        matched++;
      }
    total += (nr + nc - 2 * matched) * limit / 2;
    g_assert_cmpfloat_with_epsilon(total, best_total(c, nr, nc, limit, 0, 0), 1e-9);
  }
  g_rand_free(rng);
}

/* ---- ByteTrack ---- */

static UfoTracker *tracker_new(int track_buffer, int min_hits, float low)
{
  UfoTrackerParams p;
  ufo_tracker_params_init(&p);
  p.track_buffer = track_buffer;
  p.min_hits = min_hits;
  p.track_low_thresh = low;
  UfoTracker *t = ufo_tracker_new(&p);
  g_assert_nonnull(t);
  return t;
}

static void test_params(void)
{
  UfoTrackerParams p;
  ufo_tracker_params_init(&p);
  g_assert_cmpfloat(p.track_high_thresh, ==, 0.5f);
  g_assert_cmpint(p.track_buffer, ==, 30);
  p.min_hits = 0;
  g_assert_null(ufo_tracker_new(&p));
  p.min_hits = 1;
  p.match_thresh = 1.5f;
  g_assert_null(ufo_tracker_new(&p));
  g_assert_null(ufo_tracker_new(NULL));
}

static void test_crossing(void)
{
  /* A moves right, B left, 6 px/frame, 40×40, 8 px apart vertically: they overlap for frames
   * 24..37 and fully cross at frame 30 */
  UfoTracker *t = tracker_new(30, 2, 0.1f);
  guint64 id_a = 0, id_b = 0;
  for (int k = 0; k < 60; k++) {
    UfoTrackDet d[2] = {{20.0f + 6 * k, 100, 40, 40, 0.9f, 0},
                        {380.0f - 6 * k, 108, 40, 40, 0.85f, 1}};
    guint64 ids[2];
    g_assert_cmpint(ufo_tracker_update(t, d, 2, ids), ==, 0);
    g_assert_cmpuint(ids[0], !=, 0); /* first frame: confirmed at once */
    g_assert_cmpuint(ids[1], !=, 0);
    if (k == 0) {
      id_a = ids[0];
      id_b = ids[1];
      g_assert_cmpuint(id_a, ==, 1);
      g_assert_cmpuint(id_b, ==, 2);
    }
    g_assert_cmpuint(ids[0], ==, id_a);
    g_assert_cmpuint(ids[1], ==, id_b);
  }
  ufo_tracker_free(t);
}

static guint64 run_occlusion(int gap, int track_buffer)
{
  UfoTracker *t = tracker_new(track_buffer, 2, 0.1f);
  guint64 first = 0, last = 0;
  for (int k = 0; k < 20 + gap + 10; k++) {
    UfoTrackDet d = {50.0f + 3 * k, 80, 30, 60, 0.8f, 2};
    const gboolean hidden = k >= 20 && k < 20 + gap;
    guint64 id = 0;
    g_assert_cmpint(ufo_tracker_update(t, &d, hidden ? 0 : 1, &id), ==, 0);
    if (k == 0)
      first = id;
    if (hidden && k - 20 < track_buffer) {
      size_t n;
      const UfoTrack *tr = ufo_tracker_get_tracks(t, &n);
      g_assert_cmpuint(n, ==, 1);
      g_assert_cmpint(tr[0].state, ==, UFO_TRACK_STATE_LOST);
      /* the lost track keeps moving with its velocity */
      g_assert_cmpfloat(fabs(tr[0].x - d.x), <, 3.0);
    } else if (k >= 20 + gap + 2) {
      last = id;
    }
  }
  ufo_tracker_free(t);
  g_assert_cmpuint(first, ==, 1);
  return last;
}

static void test_occlusion(void)
{
  /* hidden for 15 frames: within the buffer of 30 the id comes back */
  g_assert_cmpuint(run_occlusion(15, 30), ==, 1);
  /* beyond a buffer of 10 the track is gone and the object gets a new id */
  g_assert_cmpuint(run_occlusion(15, 10), ==, 2);
}

static void test_low_score_pass(void)
{
  /* the score drops to 0.3 for 8 frames: kept by the second pass when 0.3 ≥ track-low-thresh;
   * with track-low-thresh 0.4 those detections are ignored and the track is lost meanwhile */
  for (int variant = 0; variant < 2; variant++) {
    UfoTracker *t = tracker_new(30, 2, variant == 0 ? 0.1f : 0.4f);
    for (int k = 0; k < 30; k++) {
      const gboolean weak = k >= 10 && k < 18;
      UfoTrackDet d = {100.0f + 2 * k, 100, 50, 50, weak ? 0.3f : 0.9f, 0};
      guint64 id = 99;
      g_assert_cmpint(ufo_tracker_update(t, &d, 1, &id), ==, 0);
      if (weak && variant == 0)
        g_assert_cmpuint(id, ==, 1);
      else if (weak)
        g_assert_cmpuint(id, ==, 0);
      else
        g_assert_cmpuint(id, ==, 1); /* variant 1: re-activated with its id afterwards */
    }
    ufo_tracker_free(t);
  }
  /* a low-score detection alone never starts a track */
  UfoTracker *t = tracker_new(30, 1, 0.1f);
  UfoTrackDet d = {10, 10, 20, 20, 0.3f, 0};
  guint64 id = 99;
  g_assert_cmpint(ufo_tracker_update(t, &d, 1, &id), ==, 0);
  g_assert_cmpuint(id, ==, 0);
  size_t n;
  ufo_tracker_get_tracks(t, &n);
  g_assert_cmpuint(n, ==, 0);
  ufo_tracker_free(t);
}

static void test_min_hits(void)
{
  /* after an empty first frame, a new object needs min_hits matched frames for an id */
  UfoTracker *t = tracker_new(30, 3, 0.1f);
  g_assert_cmpint(ufo_tracker_update(t, NULL, 0, NULL), ==, 0);
  const guint64 expect[] = {0, 0, 1, 1};
  for (int k = 0; k < 4; k++) {
    UfoTrackDet d = {40.0f + k, 40, 30, 30, 0.9f, 0};
    guint64 id = 99;
    g_assert_cmpint(ufo_tracker_update(t, &d, 1, &id), ==, 0);
    g_assert_cmpuint(id, ==, expect[k]);
  }
  /* a below-birth score (0.55 < new-track-thresh 0.6) starts nothing */
  UfoTrackDet far = {300, 300, 30, 30, 0.55f, 0};
  g_assert_cmpint(ufo_tracker_update(t, &far, 1, NULL), ==, 0);
  size_t n;
  const UfoTrack *tr = ufo_tracker_get_tracks(t, &n);
  g_assert_cmpuint(n, ==, 1);
  g_assert_cmpint(tr[0].state, ==, UFO_TRACK_STATE_LOST);
  ufo_tracker_free(t);
}

static void test_duplicate_birth(void)
{
  /* the detector boxes one object twice (two labels): the duplicate starts no track */
  UfoTracker *t = tracker_new(30, 2, 0.1f);
  for (int k = 0; k < 5; k++) {
    UfoTrackDet d[2] = {{100.0f + k, 100, 60, 60, 0.9f, 0}, {103.0f + k, 98, 58, 62, 0.8f, 3}};
    guint64 ids[2];
    g_assert_cmpint(ufo_tracker_update(t, d, k == 0 ? 1 : 2, ids), ==, 0);
    g_assert_cmpuint(ids[0], ==, 1);
    if (k > 0)
      g_assert_cmpuint(ids[1], ==, 0);
  }
  size_t n;
  ufo_tracker_get_tracks(t, &n);
  g_assert_cmpuint(n, ==, 1);
  /* a second object overlapping less (IoU 0.33) is a new track */
  UfoTrackDet d[2] = {{105, 100, 60, 60, 0.9f, 0}, {135, 100, 60, 60, 0.9f, 0}};
  for (int k = 0; k < 2; k++)
    g_assert_cmpint(ufo_tracker_update(t, d, 2, NULL), ==, 0);
  ufo_tracker_get_tracks(t, &n);
  g_assert_cmpuint(n, ==, 2);
  ufo_tracker_free(t);
}

static void test_predict_and_reset(void)
{
  /* interval 3: updates on every third frame, predictions in between follow the motion */
  UfoTracker *t = tracker_new(30, 2, 0.1f);
  for (int k = 0; k < 45; k++) {
    const float x = 10.0f + 4 * k;
    if (k % 3 == 0) {
      UfoTrackDet d = {x, 20, 40, 80, 0.9f, 5};
      guint64 id = 0;
      g_assert_cmpint(ufo_tracker_update(t, &d, 1, &id), ==, 0);
      g_assert_cmpuint(id, ==, 1);
    } else {
      ufo_tracker_predict(t);
      size_t n;
      const UfoTrack *tr = ufo_tracker_get_tracks(t, &n);
      g_assert_cmpuint(n, ==, 1);
      g_assert_cmpint(tr[0].state, ==, UFO_TRACK_STATE_TRACKED);
      g_assert_cmpint(tr[0].det_index, ==, -1);
      g_assert_cmpint(tr[0].label, ==, 5);
      if (k > 12)
        g_assert_cmpfloat(fabs(tr[0].x - x), <, 1.5);
    }
  }
  ufo_tracker_reset(t);
  size_t n;
  ufo_tracker_get_tracks(t, &n);
  g_assert_cmpuint(n, ==, 0);
  UfoTrackDet d = {0, 0, 10, 10, 0.9f, 0};
  guint64 id = 0;
  g_assert_cmpint(ufo_tracker_update(t, &d, 1, &id), ==, 0);
  g_assert_cmpuint(id, ==, 1);
  /* unusable boxes are skipped */
  UfoTrackDet bad[2] = {{0, 0, 0, 10, 0.9f, 0}, {NAN, 0, 10, 10, 0.9f, 0}};
  guint64 ids[2] = {7, 7};
  g_assert_cmpint(ufo_tracker_update(t, bad, 2, ids), ==, 0);
  g_assert_cmpuint(ids[0], ==, 0);
  g_assert_cmpuint(ids[1], ==, 0);
  ufo_tracker_free(t);
}

static void test_iou(void)
{
  const float a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 10, 10}, c[4] = {20, 20, 5, 5};
  const float e[4] = {0, 0, 0, 10};
  g_assert_cmpfloat_with_epsilon(ufo_track_iou(a, b), 50.0 / 150.0, 1e-9);
  g_assert_cmpfloat_with_epsilon(ufo_track_iou(a, a), 1.0, 1e-9);
  g_assert_cmpfloat(ufo_track_iou(a, c), ==, 0.0);
  g_assert_cmpfloat(ufo_track_iou(a, e), ==, 0.0);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/track/kalman/hand", test_kalman_hand);
  g_test_add_func("/track/kalman/converges", test_kalman_converges);
  g_test_add_func("/track/assign/known", test_assign_known);
  g_test_add_func("/track/assign/random", test_assign_random);
  g_test_add_func("/track/iou", test_iou);
  g_test_add_func("/track/params", test_params);
  g_test_add_func("/track/bytetrack/crossing", test_crossing);
  g_test_add_func("/track/bytetrack/occlusion", test_occlusion);
  g_test_add_func("/track/bytetrack/low-score", test_low_score_pass);
  g_test_add_func("/track/bytetrack/min-hits", test_min_hits);
  g_test_add_func("/track/bytetrack/duplicate-birth", test_duplicate_birth);
  g_test_add_func("/track/bytetrack/predict-reset", test_predict_and_reset);
  return g_test_run();
}
