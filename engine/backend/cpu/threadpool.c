/* Fork-join pool: the caller publishes a job (a generation counter), workers and the caller take
 * chunks from an atomic cursor, the caller waits until every worker has left the job.
 *
 * Waiting spins before it sleeps: a model's ops come back to back (a decode step issues dozens of
 * pool jobs a few µs apart), and a futex wake-up costs tens of µs on a VM, more than many jobs
 * take. A worker that finished a job watches the generation for UFO_POOL_SPIN_US (default 100 µs,
 * 0: never spin) before it sleeps on the condition variable; the caller watches the busy count
 * as long before it sleeps. Sleepers are woken under the lock, so no wake-up is lost. Nobody
 * spins while the pools with workers hold more threads than there are processors (sessions in
 * flight, nireq): there a spinning thread would take the core from one with work; and a spinner
 * yields its processor every few µs, to whatever else (another process) waits for it. */
#include "threadpool.h"

#include "ufo/ufo.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

#define SPIN_US_DEFAULT 100
#define SPIN_CHECK 64 /* pauses between two reads of the clock (and yields) */

struct _UfoPool {
  int threads;
  pthread_t *tid;
  pthread_mutex_t lock;
  pthread_cond_t start, done;
  int64_t spin_us;
  atomic_ullong generation; /* written under lock; read by spinning workers without it */
  atomic_int busy;          /* workers still inside the current job */
  atomic_bool quit;         /* set with a new generation */
  /* current job: written before the generation that publishes it */
  UfoPoolFn fn;
  void *ctx;
  int64_t n, chunk;
  atomic_llong cursor;
};

/* threads of the process's pools that have workers, their callers included (a one-thread pool
 * runs on its caller, which is another pool's caller or a thread of the application) */
static atomic_int live_threads;

typedef struct {
  UfoPool *pool;
  int worker;
} WorkerArg;

static int64_t spin_us_from_env(void)
{
  const char *s = g_getenv("UFO_POOL_SPIN_US");
  if (s == NULL || *s == '\0')
    return SPIN_US_DEFAULT;
  char *end = NULL;
  gint64 v = g_ascii_strtoll(s, &end, 10);
  return end != s && *end == '\0' && v >= 0 ? MIN(v, 100000) : SPIN_US_DEFAULT;
}

/* threadpool.h */
gboolean ufo_pool_spins(const UfoPool *pool)
{
  static int processors;
  if (__atomic_load_n(&processors, __ATOMIC_RELAXED) == 0) /* every thread stores the same */
    __atomic_store_n(&processors, (int)g_get_num_processors(), __ATOMIC_RELAXED);
  return pool->spin_us > 0 && pool->threads > 1 &&
         atomic_load_explicit(&live_threads, memory_order_relaxed) <=
             __atomic_load_n(&processors, __ATOMIC_RELAXED);
}

/* Spins until done(arg) or spin_us have passed; TRUE when done(arg). */
static gboolean spin_until(const UfoPool *pool, gboolean (*done)(const UfoPool *, uint64_t),
                           uint64_t arg)
{
  if (!ufo_pool_spins(pool))
    return done(pool, arg);
  gint64 limit = 0;
  for (;;) {
    for (int i = 0; i < SPIN_CHECK; i++) {
      if (done(pool, arg))
        return TRUE;
      CPU_RELAX();
    }
    /* a thread of another process (or pool) waiting for this processor runs first: the guard
     * below counts only this process's pools */
    sched_yield();
    gint64 now = g_get_monotonic_time();
    if (limit == 0)
      limit = now + pool->spin_us;
    else if (now >= limit)
      return done(pool, arg);
  }
}

static gboolean new_generation(const UfoPool *pool, uint64_t seen)
{
  return atomic_load_explicit(&((UfoPool *)pool)->generation, memory_order_acquire) != seen;
}

static gboolean all_idle(const UfoPool *pool, uint64_t unused)
{
  (void)unused;
  return atomic_load_explicit(&((UfoPool *)pool)->busy, memory_order_acquire) == 0;
}

static void run_chunks(UfoPool *pool, int worker)
{
  for (;;) {
    int64_t begin = atomic_fetch_add(&pool->cursor, pool->chunk);
    if (begin >= pool->n)
      break;
    int64_t end = MIN(begin + pool->chunk, pool->n);
    pool->fn(pool->ctx, begin, end, worker);
  }
}

static void *worker_main(void *data)
{
  WorkerArg *arg = data;
  UfoPool *pool = arg->pool;
  uint64_t seen = 0;
  for (;;) {
    if (!spin_until(pool, new_generation, seen)) {
      pthread_mutex_lock(&pool->lock);
      while (!new_generation(pool, seen))
        pthread_cond_wait(&pool->start, &pool->lock);
      pthread_mutex_unlock(&pool->lock);
    }
    if (atomic_load_explicit(&pool->quit, memory_order_acquire))
      break;
    seen = atomic_load_explicit(&pool->generation, memory_order_acquire);
    run_chunks(pool, arg->worker);
    if (atomic_fetch_sub_explicit(&pool->busy, 1, memory_order_acq_rel) == 1) {
      pthread_mutex_lock(&pool->lock); /* a caller asleep on done sees busy 0 when it wakes */
      pthread_cond_signal(&pool->done);
      pthread_mutex_unlock(&pool->lock);
    }
  }
  g_free(arg);
  return NULL;
}

UfoPool *ufo_pool_new(int threads, GError **error)
{
  UfoPool *pool = g_new0(UfoPool, 1);
  pool->threads = MAX(threads, 1);
  pool->tid = g_new0(pthread_t, pool->threads);
  pool->spin_us = spin_us_from_env();
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->start, NULL);
  pthread_cond_init(&pool->done, NULL);
  atomic_init(&pool->generation, 0);
  atomic_init(&pool->busy, 0);
  atomic_init(&pool->quit, false);
  atomic_init(&pool->cursor, 0);
  if (pool->threads > 1)
    atomic_fetch_add(&live_threads, pool->threads);
  for (int i = 1; i < pool->threads; i++) {
    WorkerArg *arg = g_new(WorkerArg, 1);
    *arg = (WorkerArg){pool, i};
    if (pthread_create(&pool->tid[i], NULL, worker_main, arg) != 0) {
      g_free(arg);
      g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "cannot start CPU worker thread %d", i);
      /* ufo_pool_free takes back what i threads count */
      atomic_fetch_sub(&live_threads, pool->threads - (i > 1 ? i : 0));
      pool->threads = i;
      ufo_pool_free(pool);
      return NULL;
    }
  }
  return pool;
}

/* A new generation, seen by spinning and sleeping workers alike */
static void publish(UfoPool *pool)
{
  pthread_mutex_lock(&pool->lock);
  atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
  pthread_cond_broadcast(&pool->start);
  pthread_mutex_unlock(&pool->lock);
}

void ufo_pool_free(UfoPool *pool)
{
  if (pool == NULL)
    return;
  atomic_store_explicit(&pool->quit, true, memory_order_release);
  publish(pool);
  for (int i = 1; i < pool->threads; i++)
    pthread_join(pool->tid[i], NULL);
  if (pool->threads > 1)
    atomic_fetch_sub(&live_threads, pool->threads);
  pthread_mutex_destroy(&pool->lock);
  pthread_cond_destroy(&pool->start);
  pthread_cond_destroy(&pool->done);
  g_free(pool->tid);
  g_free(pool);
}

int ufo_pool_threads(const UfoPool *pool)
{
  return pool->threads;
}

void ufo_pool_run(UfoPool *pool, int64_t n, int64_t grain, UfoPoolFn fn, void *ctx)
{
  if (n <= 0)
    return;
  grain = MAX(grain, 1);
  /* about 4 chunks per thread for balance, never below the grain */
  int64_t chunk = MAX(grain, (n + 4 * pool->threads - 1) / (4 * pool->threads));
  if (pool->threads == 1 || chunk >= n) {
    fn(ctx, 0, n, 0);
    return;
  }
  /* every worker left the last job (busy 0): the job's fields are free */
  pool->fn = fn;
  pool->ctx = ctx;
  pool->n = n;
  pool->chunk = chunk;
  atomic_store_explicit(&pool->cursor, 0, memory_order_relaxed);
  atomic_store_explicit(&pool->busy, pool->threads - 1, memory_order_relaxed);
  publish(pool);
  run_chunks(pool, 0);
  if (!spin_until(pool, all_idle, 0)) {
    pthread_mutex_lock(&pool->lock);
    while (!all_idle(pool, 0))
      pthread_cond_wait(&pool->done, &pool->lock);
    pthread_mutex_unlock(&pool->lock);
  }
}
