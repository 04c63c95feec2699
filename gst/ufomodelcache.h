/* Process-wide cache of loaded models, shared between elements with the same `model`. */
#ifndef GST_UFO_MODEL_CACHE_H
#define GST_UFO_MODEL_CACHE_H

#include <glib.h>
#include <ufo/ufo.h>

G_BEGIN_DECLS

/* Returns a reference to the model named by spec, loading it on first use. spec is a path to a
 * .safetensors bundle, or "random:<config>[:<seed>]" for deterministic random weights
 * (docs/weights-prng.md; seed defaults to 0). Elements asking for the same file (same canonical
 * path) or the same random spec share one UfoModel. On failure sets error (UFO_ERROR domain). */
UfoModel *gst_ufo_model_cache_acquire(const gchar *spec, GError **error);
/* Gives back a model from gst_ufo_model_cache_acquire(); the last user frees it. */
void gst_ufo_model_cache_release(UfoModel *model);
/* Number of models currently loaded (for tests). */
guint gst_ufo_model_cache_size(void);

G_END_DECLS

#endif
