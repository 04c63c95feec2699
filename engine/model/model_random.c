/* ufo_model_new_random: deterministic random weights (docs/weights-prng.md) for any config. */
#include "model.h"
#include "prng.h"

UfoModel *ufo_model_new_random(const char *config, uint64_t seed, GError **error)
{
  UfoConfig cfg;
  if (!config) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "no config given");
    return NULL;
  }
  /* a JSON object, else a built-in name */
  gboolean is_json = g_strstr_len(config, -1, "{") != NULL;
  if (!(is_json ? ufo_config_parse(config, &cfg, error) : ufo_config_builtin(config, &cfg, error)))
    return NULL;
  g_autoptr(UfoModel) m = ufo_model_alloc(&cfg);
  int n_specs;
  g_autofree UfoTensorSpec *specs = ufo_model_tensor_specs(&m->cfg, &m->w, &n_specs);
  for (int i = 0; i < n_specs; i++) {
    if (specs[i].is_index)
      continue;
    size_t numel = 1;
    for (int d = 0; d < specs[i].ndim; d++)
      numel *= (size_t)specs[i].shape[d];
    float *buf = g_try_new(float, numel);
    if (!buf) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory for tensor '%s'",
                  specs[i].name);
      return NULL;
    }
    ufo_prng_fill_tensor(specs[i].name, seed, specs[i].shape, specs[i].ndim, buf);
    g_ptr_array_add(m->owned, buf);
    *specs[i].slot = buf;
  }
  if (!ufo_model_add_embedded_text(m, error))
    return NULL;
  return g_steal_pointer(&m);
}
