/* The CPU backend's fork-join pool (backend/cpu/threadpool.c): every item of every job runs
 * exactly once, on a worker index in range, with the job's data visible to the workers, whether
 * the workers spin between jobs (back to back), sleep (UFO_POOL_SPIN_US=0) or spin and then
 * sleep (jobs further apart than the spin); and the spin stops while the pools with workers
 * hold more threads than there are processors. Run under TSan too (docs/reliability.md). */
#include "backend/cpu/threadpool.h"

#include <glib.h>
#include <stdatomic.h>

typedef struct {
  int64_t n;
  int threads;
  atomic_int *hits;    /* per item */
  atomic_int bad;      /* a worker index out of range, or a stale job seen */
  int job;             /* written by the caller before each run, read by the workers */
  atomic_int *seen_by; /* per item: the job number its run saw */
} Job;

static void count_items(void *ctx, int64_t begin, int64_t end, int worker)
{
  Job *j = ctx;
  if (worker < 0 || worker >= j->threads || begin < 0 || end > j->n || begin >= end)
    atomic_fetch_add(&j->bad, 1);
  for (int64_t i = begin; i < end; i++) {
    atomic_fetch_add(&j->hits[i], 1);
    atomic_store(&j->seen_by[i], j->job);
  }
}

/* jobs runs of n items of grain 1 on threads threads, pause_us between runs */
static void run_jobs(const char *spin_us, int threads, int jobs, int64_t n, gulong pause_us)
{
  g_setenv("UFO_POOL_SPIN_US", spin_us, TRUE);
  g_autoptr(GError) error = NULL;
  UfoPool *pool = ufo_pool_new(threads, &error);
  g_assert_no_error(error);
  g_assert_cmpint(ufo_pool_threads(pool), ==, threads);
  Job j = {.n = n, .threads = threads};
  j.hits = g_new0(atomic_int, n);
  j.seen_by = g_new0(atomic_int, n);
  for (int r = 0; r < jobs; r++) {
    j.job = r + 1;
    ufo_pool_run(pool, n, 1, count_items, &j);
    for (int64_t i = 0; i < n; i++) {
      if (atomic_load(&j.hits[i]) != r + 1 || atomic_load(&j.seen_by[i]) != r + 1)
        g_error("spin %s, %d threads, job %d: item %" G_GINT64_FORMAT " ran %d times, saw job %d",
                spin_us, threads, r + 1, i, atomic_load(&j.hits[i]) - r,
                atomic_load(&j.seen_by[i]));
    }
    if (pause_us)
      g_usleep(pause_us);
  }
  g_assert_cmpint(atomic_load(&j.bad), ==, 0);
  ufo_pool_free(pool);
  g_free(j.hits);
  g_free(j.seen_by);
  g_unsetenv("UFO_POOL_SPIN_US");
}

static void test_back_to_back(void)
{
  for (int threads = 1; threads <= 4; threads++)
    run_jobs("100", threads, 3000, 37, 0);
}

static void test_sleeping(void)
{
  for (int threads = 2; threads <= 4; threads++)
    run_jobs("0", threads, 1000, 37, 0);
}

/* jobs 300 µs apart with a 50 µs spin: the workers spin, give up and sleep before each job */
static void test_spin_then_sleep(void)
{
  run_jobs("50", 2, 200, 64, 300);
  run_jobs("50", 3, 100, 5, 300);
}

static void test_spin_guard(void)
{
  const int procs = (int)g_get_num_processors();
  g_autoptr(GError) error = NULL;
  g_setenv("UFO_POOL_SPIN_US", "100", TRUE);
  UfoPool *one = ufo_pool_new(1, &error); /* runs on its caller: counts nothing */
  UfoPool *a = ufo_pool_new(MAX(procs, 2), &error);
  g_assert_no_error(error);
  g_assert_false(ufo_pool_spins(one));
  g_assert_cmpint(ufo_pool_spins(a), ==, procs >= 2); /* exactly the processors: spins */
  UfoPool *b = ufo_pool_new(2, &error);               /* now more threads than processors */
  g_assert_no_error(error);
  g_assert_false(ufo_pool_spins(a));
  g_assert_false(ufo_pool_spins(b));
  ufo_pool_free(b);
  g_assert_cmpint(ufo_pool_spins(a), ==, procs >= 2);
  ufo_pool_free(a);
  ufo_pool_free(one);
  g_setenv("UFO_POOL_SPIN_US", "0", TRUE);
  UfoPool *c = ufo_pool_new(2, &error);
  g_assert_false(ufo_pool_spins(c));
  ufo_pool_free(c);
  g_setenv("UFO_POOL_SPIN_US", "junk", TRUE); /* unreadable: the default */
  c = ufo_pool_new(2, &error);
  g_assert_cmpint(ufo_pool_spins(c), ==, procs >= 2);
  ufo_pool_free(c);
  g_unsetenv("UFO_POOL_SPIN_US");
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/pool/back-to-back", test_back_to_back);
  g_test_add_func("/pool/sleeping", test_sleeping);
  g_test_add_func("/pool/spin-then-sleep", test_spin_then_sleep);
  g_test_add_func("/pool/spin-guard", test_spin_guard);
  return g_test_run();
}
