/* Graph slots (backend/graph.h) on a named backend: a short run of ops (add, a row gather, gelu)
 * through ufo_backend_run_graph five times with new inputs each time gives, bit for bit, what
 * the same ops give run one by one on a twin backend without graphs; on a backend with graphs
 * the first run is op by op, the second records and the rest replay (one recording, four
 * launches); an allocation on the backend or a new key makes the next run op by op and the one
 * after it record again; a body with a host transfer inside cannot be recorded: it runs op by op,
 * correctly, from then on. A graph cache (UfoGraphCache: decode steps) keeps one slot per key
 * on the same schedule, gives up the least recently used slot when all are taken, and turns
 * eager as a whole when a recording fails. The CPU backends have no graphs: every run is op by
 * op.
 * Usage: test-nn-graph [--backend=cpu|cpu-ref|cuda-emu|cuda] */
#include "backend/backend.h"
#include "backend/graph.h"
#include "backend_by_name.h"

#include <string.h>

static const char *backend_name = "cpu";

#define ROWS 37
#define COLS 19

typedef struct {
  UfoBackend *be;
  UfoTensor *x, *y, *idx;
  int rows;                 /* the ops cover rows 0..rows-1 (a shape that changes with the key) */
  gboolean download_inside; /* a host transfer in the body: cannot be recorded */
} Body;

static gboolean body(void *ctx, GError **e)
{
  Body *b = ctx;
  const int n = b->rows ? b->rows : ROWS;
  UfoView y = ufo_view_sub(ufo_view(b->y), 0, 0, n, COLS),
          x = ufo_view_sub(ufo_view(b->x), 0, 0, n, COLS);
  UfoView idx = ufo_view_sub(ufo_view(b->idx), 0, 0, n, 1);
  if (!ufo_op_add(b->be, y, x, x, e) || !ufo_op_gather_rows(b->be, x, ufo_view(b->y), idx, e))
    return FALSE;
  if (b->download_inside) {
    float probe[4];
    if (!ufo_tensor_download(b->x, 0, probe, 4, e))
      return FALSE;
  }
  return ufo_op_gelu(b->be, y, x, e);
}

static void body_init(Body *b, UfoBackend *be)
{
  GError *e = NULL;
  memset(b, 0, sizeof *b);
  b->be = be;
  b->x = ufo_tensor_new_2d(be, ROWS, COLS, &e);
  b->y = ufo_tensor_new_2d(be, ROWS, COLS, &e);
  int64_t n = ROWS;
  b->idx = ufo_tensor_new_typed(be, UFO_DTYPE_I32, 1, &n, &e);
  g_assert_no_error(e);
  int32_t perm[ROWS];
  for (int i = 0; i < ROWS; i++)
    perm[i] = (i * 7 + 3) % ROWS; /* 7 is prime to 37: a permutation */
  g_assert_true(ufo_tensor_upload_i32(b->idx, 0, perm, ROWS, &e));
  g_assert_no_error(e);
}

static void body_clear(Body *b)
{
  ufo_tensor_free(b->x);
  ufo_tensor_free(b->y);
  ufo_tensor_free(b->idx);
}

/* The named backend with graphs (g's) and a twin without (plain's), each with its body. */
static void rig_init(Body *g, Body *plain)
{
  GError *e = NULL;
  /* each checked before the next call: "no usable CUDA device", not a GError set over another */
  UfoBackend *be = ufo_test_backend_new(backend_name, &e);
  g_assert_no_error(e);
  UfoBackend *twin = ufo_test_backend_new(backend_name, &e);
  g_assert_no_error(e);
  be->graphs = TRUE;
  twin->graphs = FALSE;
  body_init(g, be);
  body_init(plain, twin);
}

static void rig_clear(Body *g, Body *plain)
{
  UfoBackend *be = g->be, *twin = plain->be;
  body_clear(g);
  body_clear(plain);
  ufo_backend_free(be);
  ufo_backend_free(twin);
}

/* run r's input: different every run */
static void input(Body *b, int r)
{
  float v[ROWS * COLS];
  for (int i = 0; i < ROWS * COLS; i++)
    v[i] = (float)((i * 31 + r * 17) % 101) / 25.f - 2.f;
  GError *e = NULL;
  g_assert_true(ufo_tensor_upload(b->x, 0, v, ROWS * COLS, &e));
  g_assert_no_error(e);
}

/* runs body through slot (graphs; through cache when slot is NULL) and on the twin (op by op)
 * with run r's input: same bits */
static void run_both_in(Body *g, UfoGraphSlot *slot, UfoGraphCache *cache, uint64_t key,
                        Body *plain, int r)
{
  GError *e = NULL;
  input(g, r);
  input(plain, r);
  g_assert_true(slot ? ufo_backend_run_graph(g->be, slot, key, body, g, &e)
                     : ufo_backend_run_graph_cached(g->be, cache, key, body, g, &e));
  g_assert_no_error(e);
  g_assert_true(body(plain, &e));
  g_assert_no_error(e);
  float a[ROWS * COLS], b[ROWS * COLS];
  g_assert_true(ufo_tensor_download(g->y, 0, a, ROWS * COLS, &e));
  g_assert_true(ufo_tensor_download(plain->y, 0, b, ROWS * COLS, &e));
  g_assert_no_error(e);
  g_assert_cmpmem(a, sizeof a, b, sizeof b);
}

static void run_both(Body *g, UfoGraphSlot *slot, uint64_t key, Body *plain, int r)
{
  run_both_in(g, slot, NULL, key, plain, r);
}

/* the cache's run of key (rows, j) over the first rows rows */
static void run_cached(Body *g, UfoGraphCache *cache, int rows, int j, Body *plain, int r)
{
  const int64_t k[] = {rows, j};
  g->rows = plain->rows = rows;
  run_both_in(g, NULL, cache, ufo_graph_key(k, 2), plain, r);
}

static void test_cache(void)
{
  Body g, plain;
  rig_init(&g, &plain);
  UfoBackend *be = g.be;
  const gboolean has = be->ops->graph_begin != NULL;
  UfoGraphCache *cache = g_new0(UfoGraphCache, 1);
  /* three shapes in turn, as decode steps come frame after frame: op by op, recorded, then
   * launched, each on its own slot */
  static const int shapes[] = {ROWS, 20, 9};
  int r = 0;
  for (int round = 0; round < 4; round++)
    for (int i = 0; i < 3; i++)
      run_cached(&g, cache, shapes[i], 0, &plain, r++);
  g_assert_cmpuint(cache->recorded, ==, has ? 3 : 0);
  g_assert_cmpuint(cache->launched, ==, has ? 9 : 0);
  /* all slots taken by new keys (of one shape): the least recently used are given up, the
   * three shapes first (their counts stay in the cache's totals) */
  for (int j = 1; j <= UFO_GRAPH_CACHE_SLOTS; j++)
    run_cached(&g, cache, 11, j, &plain, r++);
  g_assert_cmpuint(cache->recorded, ==, has ? 3 : 0);
  run_cached(&g, cache, ROWS, 0, &plain, r++); /* evicted: op by op again, then recorded */
  g_assert_cmpuint(cache->launched, ==, has ? 9 : 0);
  run_cached(&g, cache, ROWS, 0, &plain, r++);
  g_assert_cmpuint(cache->recorded, ==, has ? 4 : 0);
  g_assert_cmpuint(cache->launched, ==, has ? 10 : 0);
  /* the key seen last among the 64 kept its slot: recorded at its second run */
  run_cached(&g, cache, 11, UFO_GRAPH_CACHE_SLOTS, &plain, r++);
  g_assert_cmpuint(cache->recorded, ==, has ? 5 : 0);
  g_assert_false(cache->eager_only);
  /* a failed recording: the whole cache runs op by op from then on, correctly */
  g.download_inside = plain.download_inside = TRUE;
  run_cached(&g, cache, 5, 0, &plain, r++);
  run_cached(&g, cache, 5, 0, &plain, r++);
  g_assert_true(cache->eager_only == has);
  g.download_inside = plain.download_inside = FALSE;
  const guint launched = cache->launched;
  for (int i = 0; i < 3; i++)
    run_cached(&g, cache, ROWS, 0, &plain, r++); /* a recorded key: no longer launched */
  g_assert_cmpuint(cache->launched, ==, launched);
  ufo_graph_cache_clear(be, cache);
  g_assert_cmpuint(cache->recorded + cache->launched, ==, 0);
  g_free(cache);
  rig_clear(&g, &plain);
}

static void test_slot(void)
{
  Body g, plain;
  rig_init(&g, &plain);
  UfoBackend *be = g.be;
  const gboolean has = be->ops->graph_begin != NULL;
  UfoGraphSlot slot = {0};
  const int64_t k1[] = {ROWS, COLS}, k2[] = {ROWS, COLS, 1};
  const uint64_t key = ufo_graph_key(k1, 2), key2 = ufo_graph_key(k2, 3);
  g_assert_cmpuint(key, !=, key2);
  int r = 0;
  for (; r < 5; r++)
    run_both(&g, &slot, key, &plain, r);
  g_assert_cmpuint(slot.recorded, ==, has ? 1 : 0);
  g_assert_cmpuint(slot.launched, ==, has ? 4 : 0);
  /* an allocation: op by op once (the buffers may have moved), then recorded again */
  g_autoptr(GError) e = NULL;
  UfoTensor *moved = ufo_tensor_new_2d(be, 3, 3, &e);
  g_assert_no_error(e);
  run_both(&g, &slot, key, &plain, r++);
  g_assert_cmpuint(slot.launched, ==, has ? 4 : 0);
  run_both(&g, &slot, key, &plain, r++);
  g_assert_cmpuint(slot.recorded, ==, has ? 2 : 0);
  g_assert_cmpuint(slot.launched, ==, has ? 5 : 0);
  ufo_tensor_free(moved);
  /* a new key: op by op, then recorded for it */
  run_both(&g, &slot, key2, &plain, r++);
  run_both(&g, &slot, key2, &plain, r++);
  run_both(&g, &slot, key2, &plain, r++);
  g_assert_cmpuint(slot.recorded, ==, has ? 3 : 0);
  g_assert_cmpuint(slot.launched, ==, has ? 7 : 0);
  g_assert_false(slot.eager_only);
  /* a body that cannot be recorded (a download inside): op by op from then on, correctly */
  g.download_inside = plain.download_inside = TRUE;
  UfoGraphSlot bad = {0};
  for (int i = 0; i < 4; i++)
    run_both(&g, &bad, key, &plain, r++);
  g_assert_cmpuint(bad.recorded, ==, 0);
  g_assert_cmpuint(bad.launched, ==, 0);
  g_assert_true(bad.eager_only == has);
  /* the backend is fine after the failed recording: the good slot still replays */
  g.download_inside = plain.download_inside = FALSE;
  run_both(&g, &slot, key2, &plain, r++);
  g_assert_cmpuint(slot.launched, ==, has ? 8 : 0);
  /* UfoBackend.graphs FALSE (UFO_GRAPHS=0): never recorded */
  be->graphs = FALSE;
  UfoGraphSlot off = {0};
  for (int i = 0; i < 3; i++)
    run_both(&g, &off, key, &plain, r++);
  g_assert_cmpuint(off.recorded + off.launched, ==, 0);
  ufo_graph_slot_clear(be, &slot);
  ufo_graph_slot_clear(be, &bad);
  ufo_graph_slot_clear(be, &off);
  rig_clear(&g, &plain);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
  g_test_add_func("/nn/graph/slot", test_slot);
  g_test_add_func("/nn/graph/cache", test_cache);
  return g_test_run();
}
