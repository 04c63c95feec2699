/* ThreadSanitizer annotations for GLib's locks (tools/run-tsan.sh preloads this library).
 *
 * GLib on Linux implements GMutex, GRecMutex and GCond with futexes, which ThreadSanitizer does
 * not intercept: every field guarded by GST_OBJECT_LOCK or a GMutex would be reported as a race.
 * These wrappers call GLib's own functions and tell TSan what they mean (acquire after a lock,
 * release before an unlock; a condition wait releases and re-acquires its mutex). Only calls
 * made from outside libglib go through them; GLib's internal uses stay invisible, as does the
 * rest of the uninstrumented system libraries. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <glib.h>

void __tsan_acquire(void *addr);
void __tsan_release(void *addr);

/* the next definition of fn (GLib's), looked up once */
#define REAL(fn)                                                                                   \
  static __typeof__(fn) *real;                                                                     \
  if (!real)                                                                                       \
    real = (__typeof__(fn) *)dlsym(RTLD_NEXT, #fn);

void g_mutex_lock(GMutex *m)
{
  REAL(g_mutex_lock);
  real(m);
  __tsan_acquire(m);
}

gboolean g_mutex_trylock(GMutex *m)
{
  REAL(g_mutex_trylock);
  gboolean ok = real(m);
  if (ok)
    __tsan_acquire(m);
  return ok;
}

void g_mutex_unlock(GMutex *m)
{
  REAL(g_mutex_unlock);
  __tsan_release(m);
  real(m);
}

void g_rec_mutex_lock(GRecMutex *m)
{
  REAL(g_rec_mutex_lock);
  real(m);
  __tsan_acquire(m);
}

gboolean g_rec_mutex_trylock(GRecMutex *m)
{
  REAL(g_rec_mutex_trylock);
  gboolean ok = real(m);
  if (ok)
    __tsan_acquire(m);
  return ok;
}

void g_rec_mutex_unlock(GRecMutex *m)
{
  REAL(g_rec_mutex_unlock);
  __tsan_release(m);
  real(m);
}

void g_rw_lock_writer_lock(GRWLock *l)
{
  REAL(g_rw_lock_writer_lock);
  real(l);
  __tsan_acquire(l);
}

void g_rw_lock_writer_unlock(GRWLock *l)
{
  REAL(g_rw_lock_writer_unlock);
  __tsan_release(l);
  real(l);
}

void g_rw_lock_reader_lock(GRWLock *l)
{
  REAL(g_rw_lock_reader_lock);
  real(l);
  __tsan_acquire(l);
}

void g_rw_lock_reader_unlock(GRWLock *l)
{
  REAL(g_rw_lock_reader_unlock);
  __tsan_release(l);
  real(l);
}

void g_cond_wait(GCond *c, GMutex *m)
{
  REAL(g_cond_wait);
  __tsan_release(m);
  real(c, m);
  __tsan_acquire(m);
  __tsan_acquire(c);
}

gboolean g_cond_wait_until(GCond *c, GMutex *m, gint64 end_time)
{
  REAL(g_cond_wait_until);
  __tsan_release(m);
  gboolean ok = real(c, m, end_time);
  __tsan_acquire(m);
  __tsan_acquire(c);
  return ok;
}

void g_cond_signal(GCond *c)
{
  REAL(g_cond_signal);
  __tsan_release(c);
  real(c);
}

void g_cond_broadcast(GCond *c)
{
  REAL(g_cond_broadcast);
  __tsan_release(c);
  real(c);
}

/* g_once_init_enter's fast path is an atomic load in the caller (instrumented); the store that
 * publishes the value is inside GLib: make it a release, and the slow path's return an acquire */
gboolean(g_once_init_enter)(volatile void *location)
{
  REAL(g_once_init_enter);
  gboolean first = real(location);
  if (!first)
    __tsan_acquire((void *)location);
  return first;
}

void(g_once_init_leave)(volatile void *location, gsize result)
{
  REAL(g_once_init_leave);
  __tsan_release((void *)location);
  real(location, result);
}
