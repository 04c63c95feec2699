/* Refcounted model cache: key (canonical path or random spec) → {model, users}. */
#include "ufomodelcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  gchar *key;
  UfoModel *model;
  guint users;
} CacheEntry;

static GMutex cache_lock;
static GHashTable *by_key;   /* key → CacheEntry (owned) */
static GHashTable *by_model; /* UfoModel* → CacheEntry (borrowed) */

static void entry_free(gpointer p)
{
  CacheEntry *e = p;
  ufo_model_unref(e->model);
  g_free(e->key);
  g_free(e);
}

/* Canonical key; NULL (with error) for a path that does not exist. */
static gchar *cache_key(const gchar *spec, GError **error)
{
  if (g_str_has_prefix(spec, "random:"))
    return g_strdup(spec);
  char *real = realpath(spec, NULL);
  if (!real) {
    int e = errno;
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot open model file '%s': %s", spec,
                g_strerror(e));
    return NULL;
  }
  gchar *key = g_strdup(real);
  free(real);
  return key;
}

static UfoModel *load(const gchar *spec, GError **error)
{
  if (!g_str_has_prefix(spec, "random:"))
    return ufo_model_load(spec, error);
  /* random:<config>[:<seed>] */
  g_auto(GStrv) parts = g_strsplit(spec + strlen("random:"), ":", 2);
  guint64 seed = 0;
  if (!parts[0] || !parts[0][0]) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "model '%s': expected random:<config>[:<seed>]", spec);
    return NULL;
  }
  if (parts[1] && !g_ascii_string_to_unsigned(parts[1], 10, 0, G_MAXUINT64, &seed, NULL)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "model '%s': seed '%s' is not a number", spec,
                parts[1]);
    return NULL;
  }
  return ufo_model_new_random(parts[0], seed, error);
}

UfoModel *gst_ufo_model_cache_acquire(const gchar *spec, GError **error)
{
  g_return_val_if_fail(spec != NULL, NULL);
  g_autofree gchar *key = cache_key(spec, error);
  if (!key)
    return NULL;
  g_mutex_lock(&cache_lock);
  if (!by_key) {
    by_key = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, entry_free);
    by_model = g_hash_table_new(g_direct_hash, g_direct_equal);
  }
  CacheEntry *e = g_hash_table_lookup(by_key, key);
  if (!e) {
    /* loading under the lock: a second element asking for the same file waits and shares */
    UfoModel *model = load(spec, error);
    if (!model) {
      g_mutex_unlock(&cache_lock);
      return NULL;
    }
    e = g_new0(CacheEntry, 1);
    e->key = g_steal_pointer(&key);
    e->model = model;
    g_hash_table_insert(by_key, e->key, e);
    g_hash_table_insert(by_model, e->model, e);
  }
  e->users++;
  UfoModel *m = ufo_model_ref(e->model);
  g_mutex_unlock(&cache_lock);
  return m;
}

void gst_ufo_model_cache_release(UfoModel *model)
{
  if (!model)
    return;
  g_mutex_lock(&cache_lock);
  CacheEntry *e = by_model ? g_hash_table_lookup(by_model, model) : NULL;
  if (e && --e->users == 0) {
    g_hash_table_remove(by_model, model);
    g_hash_table_remove(by_key, e->key); /* frees the entry and the cache's reference */
  }
  g_mutex_unlock(&cache_lock);
  ufo_model_unref(model); /* the caller's reference */
}

guint gst_ufo_model_cache_size(void)
{
  g_mutex_lock(&cache_lock);
  guint n = by_key ? g_hash_table_size(by_key) : 0;
  g_mutex_unlock(&cache_lock);
  return n;
}
