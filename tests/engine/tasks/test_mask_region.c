/* ufo_mask_largest_region (engine/tasks/mask_region.c) on hand-drawn masks: 8-connectivity, the
 * largest region wins, equal areas go to the region met first in raster order, the window limits
 * the search; and against a flood-fill reference on random masks, whole and in random windows. */
#include "tasks/mask_region.h"

#include <string.h>

/* masks drawn as strings: '#' = set; W <= 64 * WORDS */
#define WORDS 2

static void draw(uint64_t *bits, const char *const *rows, int h)
{
  memset(bits, 0, sizeof(uint64_t) * WORDS * h);
  for (int y = 0; y < h; y++)
    for (int x = 0; rows[y][x]; x++)
      if (rows[y][x] == '#')
        bits[y * WORDS + x / 64] |= (uint64_t)1 << (x % 64);
}

static void expect(const char *const *rows, int h, int x0, int y0, int x1, int y1, int bx0, int by0,
                   int bx1, int by1)
{
  uint64_t bits[WORDS * 16];
  draw(bits, rows, h);
  int box[4] = {-7, -7, -7, -7};
  g_assert_true(ufo_mask_largest_region(bits, WORDS, x0, y0, x1, y1, box));
  g_assert_cmpint(box[0], ==, bx0);
  g_assert_cmpint(box[1], ==, by0);
  g_assert_cmpint(box[2], ==, bx1);
  g_assert_cmpint(box[3], ==, by1);
}

static void test_hand_drawn(void)
{
  /* a 3x3 object and a 1-pixel fragment: the object's box, not the union */
  const char *frag[] = {"#.........", "..........", "....###...", "....###...", "....###..."};
  expect(frag, 5, 0, 0, 9, 4, 4, 2, 6, 4);
  /* diagonal neighbours join (8-connectivity): one region spanning the staircase */
  const char *diag[] = {"#....", ".#...", "..#..", "...##", "....."};
  expect(diag, 5, 0, 0, 4, 4, 0, 0, 4, 3);
  /* a U shape: two arms meet only at the bottom (a union after both were labelled) */
  const char *u[] = {"#...#.##", "#...#...", "#...#...", "#####..."};
  expect(u, 4, 0, 0, 7, 3, 0, 0, 4, 3);
  /* equal areas (3 and 3): the region whose first pixel comes first in raster order */
  const char *tie[] = {"....###", "###....", "......."};
  expect(tie, 3, 0, 0, 6, 2, 4, 0, 6, 0);
  /* the window: the big region outside it is not seen */
  const char *win[] = {"####....", "####..#.", "......#."};
  expect(win, 3, 5, 0, 7, 2, 6, 1, 6, 2);
  /* a mask across the 64-bit word boundary */
  char wide[3][100];
  for (int y = 0; y < 3; y++) {
    memset(wide[y], '.', 99);
    wide[y][99] = 0;
  }
  for (int x = 60; x < 70; x++)
    wide[1][x] = '#';
  wide[0][10] = '#';
  const char *w3[] = {wide[0], wide[1], wide[2]};
  expect(w3, 3, 0, 0, 98, 2, 60, 1, 69, 1);
  /* nothing set */
  const char *none[] = {"....", "...."};
  uint64_t bits[WORDS * 2];
  draw(bits, none, 2);
  int box[4];
  g_assert_false(ufo_mask_largest_region(bits, WORDS, 0, 0, 3, 1, box));
  g_assert_false(ufo_mask_largest_region(bits, WORDS, 3, 0, 2, 1, box)); /* empty window */
}

/* flood fill (8-connectivity, explicit stack) as the reference */
static void flood_reference(const uint8_t *m, int w, int h, int box[4])
{
  g_autofree int *seen = g_new0(int, w *h);
  g_autofree int *stack = g_new(int, w *h);
  int best_area = 0;
  for (int s = 0; s < w * h; s++) {
    if (!m[s] || seen[s])
      continue;
    int n = 0, area = 0, b[4] = {w, h, -1, -1};
    stack[n++] = s;
    seen[s] = 1;
    while (n) {
      const int p = stack[--n], x = p % w, y = p / w;
      area++;
      b[0] = MIN(b[0], x), b[1] = MIN(b[1], y), b[2] = MAX(b[2], x), b[3] = MAX(b[3], y);
      for (int dy = -1; dy <= 1; dy++)
        for (int dx = -1; dx <= 1; dx++) {
          const int nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= w || ny >= h || !m[ny * w + nx] || seen[ny * w + nx])
            continue;
          seen[ny * w + nx] = 1;
          stack[n++] = ny * w + nx;
        }
    }
    if (area > best_area) /* strict: the first region in raster order keeps a tie */
      best_area = area, memcpy(box, b, sizeof b);
  }
}

static void test_random_masks(void)
{
  GRand *rng = g_rand_new_with_seed(7);
  const int w = 90, h = 40;
  uint64_t bits[WORDS * 40];
  uint8_t m[90 * 40];
  for (int it = 0; it < 300; it++) {
    const double density = g_rand_double_range(rng, 0.05, 0.6);
    memset(bits, 0, sizeof bits);
    int any = 0;
    for (int i = 0; i < w * h; i++) {
      m[i] = g_rand_double(rng) < density;
      any |= m[i];
      if (m[i])
        bits[(i / w) * WORDS + (i % w) / 64] |= (uint64_t)1 << ((i % w) % 64);
    }
    if (!any)
      continue;
    int want[4], got[4];
    flood_reference(m, w, h, want);
    g_assert_true(ufo_mask_largest_region(bits, WORDS, 0, 0, w - 1, h - 1, got));
    g_assert_cmpmem(got, sizeof got, want, sizeof want);
    /* a random window (edges inside words and across the word boundary) */
    const int wx0 = g_rand_int_range(rng, 0, 70), wx1 = g_rand_int_range(rng, wx0, w);
    const int wy0 = g_rand_int_range(rng, 0, 20), wy1 = g_rand_int_range(rng, wy0, h);
    const int ww = wx1 - wx0 + 1, wh = wy1 - wy0 + 1;
    uint8_t sub[90 * 40];
    int sub_any = 0;
    for (int y = 0; y < wh; y++)
      for (int x = 0; x < ww; x++)
        sub_any |= sub[y * ww + x] = m[(wy0 + y) * w + wx0 + x];
    if (!sub_any) {
      g_assert_false(ufo_mask_largest_region(bits, WORDS, wx0, wy0, wx1, wy1, got));
      continue;
    }
    flood_reference(sub, ww, wh, want);
    want[0] += wx0, want[1] += wy0, want[2] += wx0, want[3] += wy0;
    g_assert_true(ufo_mask_largest_region(bits, WORDS, wx0, wy0, wx1, wy1, got));
    g_assert_cmpmem(got, sizeof got, want, sizeof want);
  }
  g_rand_free(rng);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tasks/mask-region/hand-drawn", test_hand_drawn);
  g_test_add_func("/tasks/mask-region/random", test_random_masks);
  return g_test_run();
}
