/* PyTorch checkpoint reader (checkpoint.h). Tensor layout: torch._utils._rebuild_tensor_v2
 * (storage, storage_offset, size, stride): element (i0, i1, ...) is storage[offset + sum ik*sk]. */
#include "checkpoint.h"
#include "pickle.h"
#include "zip.h"

#include "ufo/ufo.h"

#include <string.h>

static void tensor_free(gpointer p)
{
  UfoCkptTensor *t = p;
  g_free(t->name);
  g_free(t->data);
  g_free(t);
}

static gboolean ck_error(GError **error, const char *name, const char *msg)
{
  g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "checkpoint tensor '%s': %s", name, msg);
  return FALSE;
}

/* Copies one strided tensor into a contiguous F32 or I64 buffer. */
static gboolean materialize(UfoZip *zip, const char *prefix_dir, const char *name,
                            const UfoPkObj *t, UfoCkptTensor *out, GError **error)
{
  const UfoPkObj *st = t->storage;
  g_autofree char *entry_name = g_strconcat(prefix_dir, "data/", st->key, NULL);
  UfoZipEntry *e = ufo_zip_find(zip, entry_name);
  if (!e) {
    g_autofree char *msg = g_strdup_printf("storage entry '%s' is missing", entry_name);
    return ck_error(error, name, msg);
  }
  if (!ufo_zip_check_crc(e, error))
    return FALSE;
  size_t es = ufo_dtype_size(st->dtype);
  if ((uint64_t)st->numel > e->size / es)
    return ck_error(error, name, "storage is larger than its archive entry");
  /* element count and the largest storage index touched, without overflow */
  uint64_t numel = 1, last = (uint64_t)t->offset;
  if (t->offset < 0)
    return ck_error(error, name, "negative storage offset");
  for (int i = 0; i < t->ndim; i++) {
    if (t->shape[i] < 0 || t->stride[i] < 0)
      return ck_error(error, name, "negative size or stride");
    if (t->shape[i] == 0)
      numel = 0;
  }
  for (int i = 0; i < t->ndim && numel; i++) {
    uint64_t d = (uint64_t)t->shape[i], span;
    if (!g_uint64_checked_mul(&numel, numel, d) ||
        !g_uint64_checked_mul(&span, d - 1, (uint64_t)t->stride[i]) ||
        !g_uint64_checked_add(&last, last, span))
      return ck_error(error, name, "size overflows");
  }
  if (numel && last >= (uint64_t)st->numel)
    return ck_error(error, name, "view reaches past the end of its storage");
  /* a view with more elements than its storage repeats elements (a zero or overlapping stride):
   * no parameter is saved that way, and the copy would be unbounded by the file's size */
  if (numel > (uint64_t)st->numel)
    return ck_error(error, name,
                    "view has more elements than its storage (expanded or overlapping strides)");

  gboolean is_float = st->dtype == UFO_DTYPE_F32 || st->dtype == UFO_DTYPE_F16 ||
                      st->dtype == UFO_DTYPE_BF16 || st->dtype == UFO_DTYPE_F64;
  gboolean is_int = st->dtype == UFO_DTYPE_I64 || st->dtype == UFO_DTYPE_I32;
  if (!is_float && !is_int) {
    g_autofree char *msg =
        g_strdup_printf("unsupported storage dtype %s", ufo_dtype_name(st->dtype));
    return ck_error(error, name, msg);
  }
  out->dtype = is_float ? UFO_DTYPE_F32 : UFO_DTYPE_I64;
  out->ndim = t->ndim;
  memcpy(out->shape, t->shape, sizeof t->shape);
  out->data = g_try_malloc((numel ? numel : 1) * (is_float ? 4 : 8));
  if (!out->data)
    return ck_error(error, name, "out of memory");

  int64_t idx[8] = {0};
  const uint8_t *base = e->data;
  for (uint64_t k = 0; k < numel; k++) {
    uint64_t off = (uint64_t)t->offset;
    for (int i = 0; i < t->ndim; i++)
      off += (uint64_t)idx[i] * (uint64_t)t->stride[i];
    const uint8_t *src = base + off * es;
    if (st->dtype == UFO_DTYPE_F64) {
      double v;
      memcpy(&v, src, 8);
      ((float *)out->data)[k] = (float)v;
    } else if (is_float) {
      ufo_dtype_to_f32(st->dtype, src, (float *)out->data + k, 1);
    } else if (st->dtype == UFO_DTYPE_I64) {
      memcpy((int64_t *)out->data + k, src, 8);
    } else {
      int32_t v;
      memcpy(&v, src, 4);
      ((int64_t *)out->data)[k] = v;
    }
    for (int i = t->ndim - 1; i >= 0; i--) { /* row-major odometer */
      if (++idx[i] < t->shape[i])
        break;
      idx[i] = 0;
    }
  }
  return TRUE;
}

GPtrArray *ufo_checkpoint_read(const uint8_t *buf, size_t len, const char *prefix,
                               gboolean allow_unknown, guint *n_skipped, GError **error)
{
  g_autoptr(UfoZip) zip = ufo_zip_open(buf, len, error);
  if (!zip)
    return NULL;
  UfoZipEntry *pkl = NULL;
  for (guint i = 0; i < zip->entries->len && !pkl; i++) {
    UfoZipEntry *e = g_ptr_array_index(zip->entries, i);
    if (g_str_has_suffix(e->name, "/data.pkl") || strcmp(e->name, "data.pkl") == 0)
      pkl = e;
  }
  if (!pkl) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                "no data.pkl in the archive (not a torch.save checkpoint, or a legacy "
                "non-zip one: re-save it with torch >= 1.6)");
    return NULL;
  }
  if (!ufo_zip_check_crc(pkl, error))
    return NULL;
  g_autofree char *dir = g_strndup(pkl->name, strlen(pkl->name) - strlen("data.pkl"));

  UfoUnpickler *u = NULL;
  UfoPkObj *root = ufo_unpickle(pkl->data, pkl->size, allow_unknown, &u, error);
  if (!root)
    return NULL;
  UfoPkObj *sd = ufo_pk_dict_get(root, "state_dict");
  if (!sd)
    sd = root; /* a bare state dict */
  if (sd->type != UFO_PK_DICT) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                "the checkpoint holds neither a state dict nor a dict with 'state_dict'");
    ufo_unpickler_free(u);
    return NULL;
  }
  GPtrArray *out = g_ptr_array_new_with_free_func(tensor_free);
  *n_skipped = 0;
  for (guint i = 0; i < sd->keys->len; i++) {
    UfoPkObj *k = g_ptr_array_index(sd->keys, i), *v = g_ptr_array_index(sd->items, i);
    if (k->type != UFO_PK_STR || !g_str_has_prefix(k->s, prefix)) {
      (*n_skipped)++;
      continue;
    }
    if (v->type != UFO_PK_TENSOR) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "state dict entry '%s' is not a tensor%s%s",
                  k->s, v->type == UFO_PK_OPAQUE ? " but an object of " : "",
                  v->type == UFO_PK_OPAQUE ? v->s : "");
      g_ptr_array_unref(out);
      ufo_unpickler_free(u);
      return NULL;
    }
    UfoCkptTensor *t = g_new0(UfoCkptTensor, 1);
    t->name = g_strdup(k->s);
    g_ptr_array_add(out, t);
    if (!materialize(zip, dir, k->s, v, t, error)) {
      g_ptr_array_unref(out);
      ufo_unpickler_free(u);
      return NULL;
    }
  }
  ufo_unpickler_free(u);
  return out;
}
