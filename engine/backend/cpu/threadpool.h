/* A small fork-join thread pool for the CPU backend's loops (threadpool.c: waits spin, then sleep).
 */
#ifndef UFO_BACKEND_CPU_THREADPOOL_H
#define UFO_BACKEND_CPU_THREADPOOL_H

#include <glib.h>
#include <stdint.h>

typedef struct _UfoPool UfoPool;

/* Runs fn on [begin, end) chunks of [0, n); worker is 0..threads-1 (0 = the caller). */
typedef void (*UfoPoolFn)(void *ctx, int64_t begin, int64_t end, int worker);

/* threads >= 1; threads - 1 workers are started. NULL (and error) when a thread cannot start. */
UfoPool *ufo_pool_new(int threads, GError **error);
void ufo_pool_free(UfoPool *pool);
int ufo_pool_threads(const UfoPool *pool);
/* Whether the pool's threads spin before they sleep now (threadpool.c: UFO_POOL_SPIN_US > 0, and
 * the pools with workers hold no more threads than there are processors) */
gboolean ufo_pool_spins(const UfoPool *pool);
/* Splits [0, n) into chunks of at least grain items; runs inline when one chunk suffices. */
void ufo_pool_run(UfoPool *pool, int64_t n, int64_t grain, UfoPoolFn fn, void *ctx);

#endif
