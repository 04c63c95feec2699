/* Per-op profile of a backend (UFO_PROFILE=1 in the environment when the backend is made, or
 * ufo_backend_profile_enable): the validating wrappers (backend.c) wait for the backend before
 * and after every op and add the op's wall time under a name with its shape, so the time of
 * asynchronous backends lands on the op that spent it. Off, it costs one pointer test per op. */
#ifndef UFO_BACKEND_PROFILE_H
#define UFO_BACKEND_PROFILE_H

#include "backend.h"

void ufo_backend_profile_enable(UfoBackend *be);
void ufo_backend_profile_free(UfoBackend *be);
/* Waits for the backend and starts the clock of the next op. */
void ufo_profile_begin(UfoBackend *be);
/* Waits for the op (ok: its result) and adds its time under the given name; returns ok, or
 * FALSE when waiting reports a failure. */
gboolean ufo_profile_end(UfoBackend *be, const char *name, gboolean ok, GError **error);
/* The profile as text, one line per op name, heaviest first (NULL when off); reset: start over. */
char *ufo_backend_profile_report(UfoBackend *be, gboolean reset);

/* The op call `call` of a wrapper, profiled when the backend's profile is on. */
#define UFO_PROFILED(be, name, call, error)                                                        \
  ((be)->profile ? (ufo_profile_begin(be), ufo_profile_end((be), (name), (call), (error))) : (call))

#endif
