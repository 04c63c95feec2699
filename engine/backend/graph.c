/* Graph slots (graph.h): when a fixed-shape run of ops is recorded, replayed or run eagerly. */
#include "graph.h"
#include "../log.h"

uint64_t ufo_graph_key(const int64_t *v, int n)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (int i = 0; i < n; i++)
    for (int b = 0; b < 8; b++)
      h = (h ^ (((uint64_t)v[i] >> (8 * b)) & 0xff)) * 0x100000001b3ull;
  return h;
}

void ufo_graph_slot_clear(UfoBackend *be, UfoGraphSlot *slot)
{
  if (slot->graph && be && be->ops->graph_free)
    be->ops->graph_free(be, slot->graph);
  *slot = (UfoGraphSlot){0};
}

static gboolean has_graphs(const UfoBackend *be)
{
  const UfoBackendOps *o = be->ops;
  return be->graphs && o->graph_begin && o->graph_end && o->graph_launch && o->graph_free &&
         !be->profile; /* per-op timing waits after every op: nothing to record */
}

/* The recording failed: the ops run eagerly, now and from now on (said once). */
static gboolean give_up(UfoBackend *be, UfoGraphSlot *slot, GError *why, UfoGraphBody body,
                        void *ctx, GError **error)
{
  ufo_log(UFO_LOG_INFO,
          "%s backend: a run of ops could not be recorded as a graph (%s); it runs op by op",
          be->ops->name, why ? why->message : "no graph");
  g_clear_error(&why);
  slot->eager_only = TRUE;
  return body(ctx, error);
}

gboolean ufo_backend_run_graph(UfoBackend *be, UfoGraphSlot *slot, uint64_t key, UfoGraphBody body,
                               void *ctx, GError **error)
{
  if (!has_graphs(be) || slot->eager_only)
    return body(ctx, error);
  if (slot->graph && slot->key == key && slot->allocs == be->allocs &&
      slot->precision == be->precision) {
    slot->launched++;
    return be->ops->graph_launch(be, slot->graph, error);
  }
  if (slot->graph) { /* recorded for another key, or a buffer may have moved since */
    be->ops->graph_free(be, slot->graph);
    slot->graph = NULL;
  }
  if (!slot->seen || slot->seen_key != key || slot->seen_allocs != be->allocs ||
      slot->seen_precision != be->precision) {
    /* eager: the first run of this key, or the first since an allocation (graph.h) */
    gboolean ok = body(ctx, error);
    slot->seen = ok;
    slot->seen_key = key;
    slot->seen_allocs = be->allocs;
    slot->seen_precision = be->precision;
    return ok;
  }
  GError *why = NULL;
  if (!be->ops->graph_begin(be, &why))
    return give_up(be, slot, why, body, ctx, error);
  const uint64_t allocs = be->allocs;
  gboolean ok = body(ctx, &why);
  void *graph = NULL;
  GError *end_err = NULL;
  gboolean ended = be->ops->graph_end(be, ok, &graph, ok ? &end_err : NULL);
  if (!ok || !ended || !graph || be->allocs != allocs) {
    if (graph)
      be->ops->graph_free(be, graph);
    if (!why)
      why = end_err ? end_err
                    : g_error_new(UFO_ERROR, UFO_ERROR_BACKEND, "allocations while recording");
    else
      g_clear_error(&end_err);
    return give_up(be, slot, why, body, ctx, error);
  }
  slot->graph = graph;
  slot->key = key;
  slot->allocs = be->allocs;
  slot->precision = be->precision;
  slot->recorded++;
  slot->launched++;
  return be->ops->graph_launch(be, graph, error);
}

/* The slot of key: the one that holds or saw it, else a free one, else the least recently
 * used (released). */
static int cache_slot(UfoBackend *be, UfoGraphCache *cache, uint64_t key)
{
  int free_slot = -1, oldest = 0;
  for (int i = 0; i < UFO_GRAPH_CACHE_SLOTS; i++) {
    const UfoGraphSlot *s = &cache->slot[i];
    if ((s->graph && s->key == key) || (s->seen && s->seen_key == key))
      return i;
    if (!s->graph && !s->seen && free_slot < 0)
      free_slot = i;
    if (cache->last_use[i] < cache->last_use[oldest])
      oldest = i;
  }
  if (free_slot >= 0)
    return free_slot;
  ufo_graph_slot_clear(be, &cache->slot[oldest]);
  return oldest;
}

gboolean ufo_backend_run_graph_cached(UfoBackend *be, UfoGraphCache *cache, uint64_t key,
                                      UfoGraphBody body, void *ctx, GError **error)
{
  if (!has_graphs(be) || cache->eager_only)
    return body(ctx, error);
  const int i = cache_slot(be, cache, key);
  UfoGraphSlot *s = &cache->slot[i];
  const guint recorded = s->recorded, launched = s->launched;
  cache->last_use[i] = ++cache->clock;
  gboolean ok = ufo_backend_run_graph(be, s, key, body, ctx, error);
  cache->recorded += s->recorded - recorded;
  cache->launched += s->launched - launched;
  if (s->eager_only) /* said once by give_up; the other keys would fail alike */
    cache->eager_only = TRUE;
  return ok;
}

void ufo_graph_cache_clear(UfoBackend *be, UfoGraphCache *cache)
{
  for (int i = 0; i < UFO_GRAPH_CACHE_SLOTS; i++)
    ufo_graph_slot_clear(be, &cache->slot[i]);
  *cache = (UfoGraphCache){0};
}
