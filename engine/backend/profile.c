/* Per-op profile of a backend (profile.h). */
#include "profile.h"

#include <stdio.h>

struct _UfoOpProfile {
  GHashTable *ops; /* name -> OpTime */
  gint64 t0;
};

typedef struct {
  char *name;
  double ms;
  uint64_t calls;
} OpTime;

static void op_time_free(gpointer p)
{
  OpTime *o = p;
  g_free(o->name);
  g_free(o);
}

void ufo_backend_profile_enable(UfoBackend *be)
{
  if (be->profile)
    return;
  be->profile = g_new0(UfoOpProfile, 1);
  be->profile->ops = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, op_time_free);
}

void ufo_backend_profile_free(UfoBackend *be)
{
  if (!be->profile)
    return;
  g_hash_table_unref(be->profile->ops);
  g_clear_pointer(&be->profile, g_free);
}

void ufo_profile_begin(UfoBackend *be)
{
  /* a failure of earlier work surfaces again at the op's own wait */
  (void)ufo_backend_synchronize(be, NULL);
  be->profile->t0 = g_get_monotonic_time();
}

gboolean ufo_profile_end(UfoBackend *be, const char *name, gboolean ok, GError **error)
{
  if (!ok)
    return FALSE;
  if (!ufo_backend_synchronize(be, error))
    return FALSE;
  double ms = (g_get_monotonic_time() - be->profile->t0) / 1000.0;
  OpTime *o = g_hash_table_lookup(be->profile->ops, name);
  if (!o) {
    o = g_new0(OpTime, 1);
    o->name = g_strdup(name);
    g_hash_table_insert(be->profile->ops, o->name, o);
  }
  o->ms += ms;
  o->calls++;
  return TRUE;
}

static gint by_time(gconstpointer a, gconstpointer b)
{
  const OpTime *x = *(OpTime *const *)a, *y = *(OpTime *const *)b;
  return (x->ms < y->ms) - (x->ms > y->ms);
}

char *ufo_backend_profile_report(UfoBackend *be, gboolean reset)
{
  if (!be->profile)
    return NULL;
  GPtrArray *all = g_ptr_array_new();
  GHashTableIter it;
  gpointer v;
  g_hash_table_iter_init(&it, be->profile->ops);
  while (g_hash_table_iter_next(&it, NULL, &v))
    g_ptr_array_add(all, v);
  g_ptr_array_sort(all, by_time);
  double total = 0;
  for (guint i = 0; i < all->len; i++)
    total += ((OpTime *)all->pdata[i])->ms;
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%10s %7s %8s %9s  %s\n", "ms", "%", "calls", "us/call", "op");
  for (guint i = 0; i < all->len; i++) {
    const OpTime *o = all->pdata[i];
    g_string_append_printf(s, "%10.2f %6.1f%% %8llu %9.1f  %s\n", o->ms,
                           total > 0 ? 100.0 * o->ms / total : 0.0, (unsigned long long)o->calls,
                           1000.0 * o->ms / (double)MAX(o->calls, 1), o->name);
  }
  g_string_append_printf(s, "%10.2f   total (ops of the backend, waited for one by one)\n", total);
  g_ptr_array_unref(all);
  if (reset)
    g_hash_table_remove_all(be->profile->ops);
  return g_string_free(s, FALSE);
}
