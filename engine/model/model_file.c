/* Model bundle load/save. Layout (docs/model-format.md):
 *
 *   a safetensors file (safetensors.h) whose tensors are the official state-dict tensors of the
 *   config (names "backbone.…", inference spec §2.1; F32, F16 or BF16; position_ids I64, optional)
 *   and whose __metadata__ holds:
 *     "ufo.format"          "1"
 *     "ufo.config"          config JSON (config.h, docs/model-format.md "Config JSON")
 *     "ufo.vocab"           vocabulary, one token a line (line index = token id)
 *     "ufo.labels.<set>"    class names, one a line, for every label_set an enabled task uses
 *
 * Loading validates in stages and names the first offender: container (safetensors.c), format
 * version, config, tensors (unknown, dtype, shape, missing), vocabulary, label sets. */
#include "model.h"
#include "safetensors.h"

#include <errno.h>
#include <string.h>

#define UFO_FORMAT_VERSION "1"
#define LABELS_PREFIX "ufo.labels."

static gboolean prefix_error(GError **error, const char *path)
{
  if (error && *error)
    g_prefix_error(error, "%s: ", path);
  return FALSE;
}

static gboolean load_text(UfoModel *m, const UfoSafetensors *st, GError **error)
{
  const char *vocab = ufo_safetensors_meta(st, "ufo.vocab");
  if (!vocab) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                "missing metadata 'ufo.vocab' (the vocabulary; re-create the file with ufo-convert "
                "--vocab)");
    return FALSE;
  }
  if (!ufo_model_set_vocab(m, vocab, strlen(vocab), error))
    return FALSE;
  GHashTableIter it;
  gpointer key, value;
  g_autoptr(GPtrArray) keys = g_ptr_array_new();
  g_hash_table_iter_init(&it, st->metadata);
  while (g_hash_table_iter_next(&it, &key, &value))
    if (g_str_has_prefix(key, LABELS_PREFIX))
      g_ptr_array_add(keys, key);
  g_ptr_array_sort(keys, (GCompareFunc)g_strcmp0); /* deterministic error order */
  for (guint i = 0; i < keys->len; i++) {
    const char *k = *(const char **)&keys->pdata[i];
    const char *text = ufo_safetensors_meta(st, k);
    if (!ufo_model_add_label_set(m, k + strlen(LABELS_PREFIX), text, strlen(text), error))
      return FALSE;
  }
  return ufo_model_check_label_sets(m, error);
}

UfoModel *ufo_model_load(const char *path, GError **error)
{
  g_return_val_if_fail(path != NULL, NULL);
  GError *ferr = NULL;
  GMappedFile *mapped = g_mapped_file_new(path, FALSE, &ferr);
  if (!mapped) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot open model file '%s': %s", path,
                ferr->message);
    g_error_free(ferr);
    return NULL;
  }
  const uint8_t *buf = (const uint8_t *)g_mapped_file_get_contents(mapped);
  size_t len = g_mapped_file_get_length(mapped);
  g_autoptr(UfoSafetensors) st = ufo_safetensors_parse(buf, len, error);
  if (!st) {
    g_mapped_file_unref(mapped);
    prefix_error(error, path);
    return NULL;
  }

  UfoConfig cfg;
  const char *format = ufo_safetensors_meta(st, "ufo.format");
  const char *config = ufo_safetensors_meta(st, "ufo.config");
  if (!format || strcmp(format, UFO_FORMAT_VERSION) != 0) {
    g_set_error(
        error, UFO_ERROR, UFO_ERROR_FORMAT,
        format
            ? "%s: unsupported metadata 'ufo.format' = '%s' (this build reads '" UFO_FORMAT_VERSION
              "')"
            : "%s: missing metadata 'ufo.format'%s (not a gst-ufo model bundle; convert "
              "checkpoints with ufo-convert)",
        path, format ? format : "");
    g_mapped_file_unref(mapped);
    return NULL;
  }
  if (!config) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "%s: missing metadata 'ufo.config'", path);
    g_mapped_file_unref(mapped);
    return NULL;
  }
  if (!ufo_config_parse(config, &cfg, error)) {
    g_mapped_file_unref(mapped);
    g_prefix_error(error, "%s: metadata 'ufo.config': ", path);
    return NULL;
  }

  g_autoptr(UfoModel) m = ufo_model_alloc(&cfg);
  m->mapped = mapped;
  g_autofree UfoTensorView *views = g_new0(UfoTensorView, st->tensors->len + 1);
  for (guint i = 0; i < st->tensors->len; i++) {
    const UfoStTensor *t = g_ptr_array_index(st->tensors, i);
    views[i] = (UfoTensorView){t->name, t->dtype, t->ndim, t->shape, t->data};
  }
  if (!ufo_model_bind_tensors(m, views, st->tensors->len, TRUE, error) ||
      !load_text(m, st, error)) {
    prefix_error(error, path);
    return NULL;
  }
  return g_steal_pointer(&m);
}

gboolean ufo_model_save(const UfoModel *m, const char *path, UfoDType dtype, GError **error)
{
  if (dtype != UFO_DTYPE_F32 && dtype != UFO_DTYPE_F16 && dtype != UFO_DTYPE_BF16) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "cannot save weights as %s (F32, F16 or BF16)",
                ufo_dtype_name(dtype));
    return FALSE;
  }
  if (!m->vocab) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "model has no vocabulary to save");
    return FALSE;
  }
  UfoWeights w = m->w; /* the specs need a writable UfoWeights to point into */
  int n_specs;
  g_autofree UfoTensorSpec *specs = ufo_model_tensor_specs(&m->cfg, &w, &n_specs);
  g_autofree UfoStWriteTensor *t = g_new0(UfoStWriteTensor, n_specs);
  g_autofree int64_t *arange = g_new(int64_t, m->cfg.max_position);
  for (int i = 0; i < m->cfg.max_position; i++)
    arange[i] = i; /* §2.1: position_ids = arange(max_position) */
  for (int i = 0; i < n_specs; i++) {
    t[i].name = specs[i].name;
    t[i].ndim = specs[i].ndim;
    memcpy(t[i].shape, specs[i].shape, sizeof specs[i].shape);
    t[i].dtype = specs[i].is_index ? UFO_DTYPE_I64 : dtype;
    t[i].src_dtype = specs[i].is_index ? UFO_DTYPE_I64 : UFO_DTYPE_F32;
    t[i].data = specs[i].is_index ? (const void *)arange : (const void *)*specs[i].slot;
    if (!t[i].data) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tensor '%s' has no data", t[i].name);
      return FALSE;
    }
  }

  g_autofree char *config = ufo_config_to_json(&m->cfg);
  g_autoptr(GPtrArray) meta = g_ptr_array_new_with_free_func(g_free);
  g_ptr_array_add(meta, g_strdup("ufo.format"));
  g_ptr_array_add(meta, g_strdup(UFO_FORMAT_VERSION));
  g_ptr_array_add(meta, g_strdup("ufo.config"));
  g_ptr_array_add(meta, g_strdup(config));
  g_ptr_array_add(meta, g_strdup("ufo.vocab"));
  gsize vlen;
  const char *vocab = g_bytes_get_data(m->vocab, &vlen);
  g_ptr_array_add(meta, g_strndup(vocab, vlen));
  for (guint i = 0; i < m->label_sets->len; i++) {
    const UfoLabelSet *ls = g_ptr_array_index(m->label_sets, i);
    g_ptr_array_add(meta, g_strconcat(LABELS_PREFIX, ls->name, NULL));
    g_autofree char *joined = g_strjoinv("\n", ls->names);
    g_ptr_array_add(meta, g_strconcat(joined, "\n", NULL));
  }
  g_ptr_array_add(meta, NULL);
  return ufo_safetensors_write(path, t, (size_t)n_specs, (const char *const *)meta->pdata, error);
}
