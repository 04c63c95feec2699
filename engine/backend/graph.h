/* Fixed-shape runs of ops replayed as one backend graph (CUDA graphs): a run that issues the
 * same ops on the same buffers every time (the image and grid passes of one input size) is
 * recorded once and then launched as a whole, so the host no longer validates and enqueues
 * each op (about 10 µs per op on the GPU, docs/performance.md §6). Backends without graphs
 * (the CPU) run the ops as they are, always.
 *
 * When a slot replays, records, or runs eagerly (ufo_backend_run_graph):
 *   - a first run of a key, and the first run after anything was allocated on the backend
 *     (UfoBackend.allocs: a buffer may have moved) or its precision changed, is eager: lazy
 *     allocations (scratch growth, bf16 weight copies) happen there, never inside a recording;
 *   - the next run with the same key, allocations and precision is recorded, then launched;
 *   - later runs with them unchanged launch the graph;
 *   - a recording that fails (an op the graph cannot hold) runs the ops eagerly instead, and the
 *     slot stays eager from then on (said once in the log).
 * The caller's key must change whenever the ops or their shapes would (input size, number of
 * grid points, prompt length, which outputs are wanted), and the body must be ops only: no host
 * transfers, no allocations, no host-side work whose result changes between runs of one key. */
#ifndef UFO_BACKEND_GRAPH_H
#define UFO_BACKEND_GRAPH_H

#include "backend.h"

/* The ops of one run; FALSE with an error on failure. */
typedef gboolean (*UfoGraphBody)(void *ctx, GError **error);

/* One cached graph and the state that decides its use (zero-initialise; ufo_graph_slot_clear
 * releases it). */
typedef struct {
  void *graph;            /* the recording, or NULL */
  uint64_t key, allocs;   /* what it was recorded for: the caller's key, be->allocs */
  UfoPrecision precision; /* be->precision at the recording */
  gboolean seen;          /* an eager run happened with seen_* */
  uint64_t seen_key, seen_allocs;
  UfoPrecision seen_precision;
  gboolean eager_only;      /* a recording failed: eager from now on */
  guint recorded, launched; /* recordings made, graph launches (tests, ufo-bench) */
} UfoGraphSlot;

/* Runs body(ctx) on be through slot under key (the rules above). */
gboolean ufo_backend_run_graph(UfoBackend *be, UfoGraphSlot *slot, uint64_t key, UfoGraphBody body,
                               void *ctx, GError **error);
/* Releases the slot's graph and resets it (be: the backend it was recorded on). */
void ufo_graph_slot_clear(UfoBackend *be, UfoGraphSlot *slot);
/* Slots for a run whose key takes many values in turn and comes back to them (decode steps:
 * one key per step index and row count, the same steps frame after frame): a slot per key in
 * use, the least recently used one given up when all are taken. The slots follow the rules
 * above one by one; a recording that fails makes the whole cache eager. */
#define UFO_GRAPH_CACHE_SLOTS 64
typedef struct {
  UfoGraphSlot slot[UFO_GRAPH_CACHE_SLOTS];
  uint64_t last_use[UFO_GRAPH_CACHE_SLOTS]; /* clock at the slot's last run */
  uint64_t clock;
  gboolean eager_only;
  guint recorded, launched; /* over all slots, evicted ones included */
} UfoGraphCache;

/* Runs body(ctx) on be through the cache's slot for key (ufo_backend_run_graph). */
gboolean ufo_backend_run_graph_cached(UfoBackend *be, UfoGraphCache *cache, uint64_t key,
                                      UfoGraphBody body, void *ctx, GError **error);
/* Releases every graph of the cache and resets it. */
void ufo_graph_cache_clear(UfoBackend *be, UfoGraphCache *cache);

/* FNV-1a over n 64-bit values: a key from shape parameters. */
uint64_t ufo_graph_key(const int64_t *v, int n);

#endif
