/* UfoModel lifetime, tensor binding, vocabulary and label sets. */
#include "model.h"
#include "data.h"
#include "safetensors.h"

#include <limits.h>
#include <string.h>

static void label_set_free(gpointer p)
{
  UfoLabelSet *ls = p;
  g_strfreev(ls->names);
  g_free(ls);
}

UfoModel *ufo_model_alloc(const UfoConfig *cfg)
{
  UfoModel *m = g_new0(UfoModel, 1);
  m->refcount = 1;
  m->cfg = *cfg;
  m->label_sets = g_ptr_array_new_with_free_func(label_set_free);
  m->owned = g_ptr_array_new_with_free_func(g_free);
  return m;
}

UfoModel *ufo_model_ref(UfoModel *model)
{
  g_return_val_if_fail(model != NULL, NULL);
  g_atomic_int_inc(&model->refcount);
  return model;
}

void ufo_model_unref(UfoModel *model)
{
  if (!model || !g_atomic_int_dec_and_test(&model->refcount))
    return;
  g_clear_pointer(&model->tokenizer, ufo_tokenizer_free);
  g_clear_pointer(&model->label_sets, g_ptr_array_unref);
  g_clear_pointer(&model->owned, g_ptr_array_unref);
  g_clear_pointer(&model->mapped, g_mapped_file_unref);
  g_clear_pointer(&model->vocab, g_bytes_unref);
  g_free(model);
}

gboolean ufo_model_supports_task(const UfoModel *model, UfoTask task)
{
  return model && task >= 0 && task < UFO_N_TASKS && model->cfg.tasks[task].enabled;
}

const UfoLabelSet *ufo_model_label_set(const UfoModel *model, const char *name)
{
  for (guint i = 0; model && name && i < model->label_sets->len; i++) {
    const UfoLabelSet *ls = g_ptr_array_index(model->label_sets, i);
    if (strcmp(ls->name, name) == 0)
      return ls;
  }
  return NULL;
}

const char *const *ufo_model_get_labels(const UfoModel *model, UfoTask task, int *n_labels)
{
  const UfoLabelSet *ls = NULL;
  if (ufo_model_supports_task(model, task) && model->cfg.tasks[task].label_set[0])
    ls = ufo_model_label_set(model, model->cfg.tasks[task].label_set);
  if (n_labels)
    *n_labels = ls ? ls->n : 0;
  return ls ? (const char *const *)ls->names : NULL;
}

/* ------------------------------------------------------------ tensors */

static gboolean same_shape(const UfoTensorSpec *s, const UfoTensorView *v)
{
  if (v->ndim != s->ndim)
    return FALSE;
  for (int i = 0; i < s->ndim; i++)
    if (v->shape[i] != s->shape[i])
      return FALSE;
  return TRUE;
}

static gboolean bind_one(UfoModel *m, const UfoTensorSpec *s, const UfoTensorView *v,
                         gboolean borrow, GError **error)
{
  if (s->is_index
          ? v->dtype != UFO_DTYPE_I64
          : v->dtype != UFO_DTYPE_F32 && v->dtype != UFO_DTYPE_F16 && v->dtype != UFO_DTYPE_BF16) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "tensor '%s' has dtype %s, expected %s", v->name,
                ufo_dtype_name(v->dtype), s->is_index ? "I64" : "F32, F16 or BF16");
    return FALSE;
  }
  if (!same_shape(s, v)) {
    g_autofree char *got = ufo_shape_string(v->shape, v->ndim);
    g_autofree char *want = ufo_shape_string(s->shape, s->ndim);
    g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "tensor '%s' has shape %s, expected %s", v->name,
                got, want);
    return FALSE;
  }
  if (s->is_index)
    return TRUE; /* position_ids is arange(max_position) by construction (§2.1); not kept */
  size_t numel = 1;
  for (int i = 0; i < s->ndim; i++)
    numel *= (size_t)s->shape[i]; /* validated config sizes: no overflow */
  if (borrow && v->dtype == UFO_DTYPE_F32 && ((uintptr_t)v->data % sizeof(float)) == 0) {
    *s->slot = v->data;
    return TRUE;
  }
  float *buf = g_try_new(float, numel ? numel : 1);
  if (!buf) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory for tensor '%s'", v->name);
    return FALSE;
  }
  ufo_dtype_to_f32(v->dtype, v->data, buf, numel);
  g_ptr_array_add(m->owned, buf);
  *s->slot = buf;
  return TRUE;
}

gboolean ufo_model_bind_tensors(UfoModel *m, const UfoTensorView *views, size_t n, gboolean borrow,
                                GError **error)
{
  int n_specs;
  g_autofree UfoTensorSpec *specs = ufo_model_tensor_specs(&m->cfg, &m->w, &n_specs);
  g_autoptr(GHashTable) index = g_hash_table_new(g_str_hash, g_str_equal);
  g_autofree gboolean *seen = g_new0(gboolean, n_specs);
  for (int i = 0; i < n_specs; i++)
    g_hash_table_insert(index, specs[i].name, GINT_TO_POINTER(i + 1));
  for (size_t i = 0; i < n; i++) {
    int k = GPOINTER_TO_INT(g_hash_table_lookup(index, views[i].name)) - 1;
    if (k < 0) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL,
                  "unknown tensor '%s' (not part of config '%s')", views[i].name, m->cfg.name);
      return FALSE;
    }
    if (seen[k]) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "duplicate tensor '%s'", views[i].name);
      return FALSE;
    }
    seen[k] = TRUE;
    if (!bind_one(m, &specs[k], &views[i], borrow, error))
      return FALSE;
  }
  for (int i = 0; i < n_specs; i++) {
    if (!seen[i] && !specs[i].is_index) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "missing tensor '%s' (config '%s')",
                  specs[i].name, m->cfg.name);
      return FALSE;
    }
  }
  return TRUE;
}

/* ------------------------------------------------------------ text */

/* Counts the items of one-item-a-line text: a final newline does not start an extra item; -1 for
 * an embedded NUL or more than INT_MAX items. One pass with memchr: g_strsplit calls strstr per
 * line, which ASan's interceptor makes a strlen of the rest of the text (seconds for a
 * 30,000-token vocabulary in the sanitized tests). */
static int count_lines(const char *text, size_t len)
{
  if (len > 0 && memchr(text, '\0', len))
    return -1; /* embedded NUL */
  const char *end = text + (len > 0 && text[len - 1] == '\n' ? len - 1 : len);
  size_t count = end > text ? 1 : 0;
  for (const char *p = text; p < end && (p = memchr(p, '\n', (size_t)(end - p))); p++)
    count++;
  return count > INT_MAX ? -1 : (int)count;
}

/* Splits one-item-a-line text into count_lines items; '\r' before a newline is dropped. */
static char **split_lines(const char *text, size_t len, int *n)
{
  *n = count_lines(text, len);
  if (*n < 0)
    return NULL;
  const size_t count = (size_t)*n;
  const char *end = text + (len > 0 && text[len - 1] == '\n' ? len - 1 : len);
  char **lines = g_new0(char *, count + 1);
  const char *s = text;
  for (size_t i = 0; i < count; i++) {
    const char *e = memchr(s, '\n', (size_t)(end - s));
    if (!e)
      e = end; /* the last item */
    size_t k = (size_t)(e - s);
    if (k > 0 && s[k - 1] == '\r')
      k--;
    lines[i] = g_strndup(s, k);
    s = e + 1;
  }
  return lines;
}

gboolean ufo_model_set_vocab(UfoModel *m, const char *text, size_t len, GError **error)
{
  /* counted, not split: the tokenizer below keeps the tokens (one allocation, not one each) */
  const int n = count_lines(text, len);
  if (n != m->cfg.vocab_size) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                "vocabulary has %d tokens, but config vocab_size is %d", n, m->cfg.vocab_size);
    return FALSE;
  }
  GError *terr = NULL;
  UfoTokenizer *tok = ufo_tokenizer_new(text, len, &terr);
  if (!tok) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "vocabulary: %s",
                terr ? terr->message : "rejected by the tokenizer");
    g_clear_error(&terr);
    return FALSE;
  }
  /* the tokens the engine looks up by name (tokenizer.h) */
  const UfoTokenIds *named = ufo_tokenizer_ids(tok);
  if (named->pad < 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                "vocabulary has no [PAD] token (a model's vocabulary needs [PAD], [UNK], [CLS] "
                "and [SEP])");
    ufo_tokenizer_free(tok);
    return FALSE;
  }
  for (int t = 0; t < UFO_N_TASKS; t++)
    if (m->cfg.tasks[t].enabled && (t == UFO_TASK_INSTANCE || t == UFO_TASK_SEMANTIC) &&
        named->mask < 0) { /* segmentation §1: the mask features' token */
      g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                  "vocabulary has no <MASK> token, which task %s needs", ufo_task_name((UfoTask)t));
      ufo_tokenizer_free(tok);
      return FALSE;
    }
  g_clear_pointer(&m->tokenizer, ufo_tokenizer_free);
  g_clear_pointer(&m->vocab, g_bytes_unref);
  m->tokenizer = tok;
  m->vocab = g_bytes_new(text, len);
  return TRUE;
}

gboolean ufo_model_add_label_set(UfoModel *m, const char *name, const char *text, size_t len,
                                 GError **error)
{
  int n = 0;
  char **lines = split_lines(text, len, &n);
  const char *why = n < 1 ? "is empty or holds a NUL byte" : NULL;
  if (!name[0])
    why = "has an empty name";
  for (int i = 0; !why && i < n; i++)
    if (lines[i][0] == '\0' || !g_utf8_validate(lines[i], -1, NULL))
      why = "has an empty or non-UTF-8 line";
  if (!why && strlen(name) >= sizeof(((UfoLabelSet *)0)->name))
    why = "has too long a name";
  if (!why && ufo_model_label_set(m, name))
    why = "is given twice";
  if (why) {
    g_strfreev(lines);
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "label set '%s' %s", name, why);
    return FALSE;
  }
  UfoLabelSet *ls = g_new0(UfoLabelSet, 1);
  g_strlcpy(ls->name, name, sizeof ls->name);
  ls->n = n;
  ls->names = lines;
  g_ptr_array_add(m->label_sets, ls);
  return TRUE;
}

gboolean ufo_model_check_label_sets(const UfoModel *m, GError **error)
{
  for (int t = 0; t < UFO_N_TASKS; t++) {
    const UfoTaskConfig *tc = &m->cfg.tasks[t];
    if (tc->enabled && tc->label_set[0] && !ufo_model_label_set(m, tc->label_set)) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                  "missing label set 'ufo.labels.%s' (used by task %s)", tc->label_set,
                  ufo_task_name((UfoTask)t));
      return FALSE;
    }
  }
  return TRUE;
}

gboolean ufo_model_add_embedded_text(UfoModel *m, GError **error)
{
  size_t len;
  const char *vocab = ufo_data_vocab(&len);
  if (!m->vocab && !ufo_model_set_vocab(m, vocab, len, error))
    return FALSE;
  for (int t = 0; t < UFO_N_TASKS; t++) {
    const UfoTaskConfig *tc = &m->cfg.tasks[t];
    if (!tc->enabled || !tc->label_set[0] || ufo_model_label_set(m, tc->label_set))
      continue;
    const char *text = ufo_data_labels(tc->label_set, &len);
    if (!text) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                  "no embedded label set '%s' (task %s); embedded sets live in engine/data/labels",
                  tc->label_set, ufo_task_name((UfoTask)t));
      return FALSE;
    }
    if (!ufo_model_add_label_set(m, tc->label_set, text, len, error))
      return FALSE;
  }
  return TRUE;
}
