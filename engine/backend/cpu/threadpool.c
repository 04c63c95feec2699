/* Fork-join pool: the caller publishes a job (generation counter under a mutex), workers and
 * the caller take chunks from an atomic cursor, the caller waits until every worker is idle. */
#include "threadpool.h"

#include "ufo/ufo.h"

#include <pthread.h>
#include <stdatomic.h>

struct _UfoPool {
  int threads;
  pthread_t *tid;
  pthread_mutex_t lock;
  pthread_cond_t start, done;
  uint64_t generation;
  int busy; /* workers still inside the current job */
  gboolean quit;
  /* current job */
  UfoPoolFn fn;
  void *ctx;
  int64_t n, chunk;
  atomic_llong cursor;
};

typedef struct {
  UfoPool *pool;
  int worker;
} WorkerArg;

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
    pthread_mutex_lock(&pool->lock);
    while (!pool->quit && pool->generation == seen)
      pthread_cond_wait(&pool->start, &pool->lock);
    if (pool->quit) {
      pthread_mutex_unlock(&pool->lock);
      break;
    }
    seen = pool->generation;
    pthread_mutex_unlock(&pool->lock);
    run_chunks(pool, arg->worker);
    pthread_mutex_lock(&pool->lock);
    if (--pool->busy == 0)
      pthread_cond_signal(&pool->done);
    pthread_mutex_unlock(&pool->lock);
  }
  g_free(arg);
  return NULL;
}

UfoPool *ufo_pool_new(int threads, GError **error)
{
  UfoPool *pool = g_new0(UfoPool, 1);
  pool->threads = MAX(threads, 1);
  pool->tid = g_new0(pthread_t, pool->threads);
  pthread_mutex_init(&pool->lock, NULL);
  pthread_cond_init(&pool->start, NULL);
  pthread_cond_init(&pool->done, NULL);
  for (int i = 1; i < pool->threads; i++) {
    WorkerArg *arg = g_new(WorkerArg, 1);
    *arg = (WorkerArg){pool, i};
    if (pthread_create(&pool->tid[i], NULL, worker_main, arg) != 0) {
      g_free(arg);
      g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "cannot start CPU worker thread %d", i);
      pool->threads = i;
      ufo_pool_free(pool);
      return NULL;
    }
  }
  return pool;
}

void ufo_pool_free(UfoPool *pool)
{
  if (pool == NULL)
    return;
  pthread_mutex_lock(&pool->lock);
  pool->quit = TRUE;
  pthread_cond_broadcast(&pool->start);
  pthread_mutex_unlock(&pool->lock);
  for (int i = 1; i < pool->threads; i++)
    pthread_join(pool->tid[i], NULL);
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
  pthread_mutex_lock(&pool->lock);
  pool->fn = fn;
  pool->ctx = ctx;
  pool->n = n;
  pool->chunk = chunk;
  atomic_store(&pool->cursor, 0);
  pool->busy = pool->threads - 1;
  pool->generation++;
  pthread_cond_broadcast(&pool->start);
  pthread_mutex_unlock(&pool->lock);
  run_chunks(pool, 0);
  pthread_mutex_lock(&pool->lock);
  while (pool->busy > 0)
    pthread_cond_wait(&pool->done, &pool->lock);
  pthread_mutex_unlock(&pool->lock);
}
