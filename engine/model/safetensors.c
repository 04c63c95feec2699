/* safetensors parser and writer; layout and checks are described in safetensors.h. */
#include "safetensors.h"
#include "ufo/ufo.h"

#include <errno.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

static void tensor_free(gpointer p)
{
  UfoStTensor *t = p;
  g_free(t->name);
  g_free(t);
}

void ufo_safetensors_free(UfoSafetensors *st)
{
  if (!st)
    return;
  g_clear_pointer(&st->by_name, g_hash_table_unref);
  g_clear_pointer(&st->tensors, g_ptr_array_unref);
  g_clear_pointer(&st->metadata, g_hash_table_unref);
  g_free(st);
}

const UfoStTensor *ufo_safetensors_get(const UfoSafetensors *st, const char *name)
{
  return g_hash_table_lookup(st->by_name, name);
}

const char *ufo_safetensors_meta(const UfoSafetensors *st, const char *key)
{
  return g_hash_table_lookup(st->metadata, key);
}

char *ufo_shape_string(const int64_t *shape, int ndim)
{
  GString *s = g_string_new("[");
  for (int i = 0; i < ndim; i++)
    g_string_append_printf(s, "%s%" G_GINT64_FORMAT, i ? ", " : "", shape[i]);
  g_string_append_c(s, ']');
  return g_string_free(s, FALSE);
}

static gboolean format_error(GError **error, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static gboolean format_error(GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "safetensors: %s", msg);
  return FALSE;
}

/* ------------------------------------------------------------ duplicate key detection */

typedef struct {
  GHashTable *counts; /* JsonObject* -> number of members parsed */
  char *duplicate;    /* first duplicate key */
} DupCheck;

static void on_object_member(JsonParser *parser, JsonObject *object, gchar *name, gpointer data)
{
  DupCheck *dc = data;
  guint n = GPOINTER_TO_UINT(g_hash_table_lookup(dc->counts, object)) + 1;
  g_hash_table_insert(dc->counts, object, GUINT_TO_POINTER(n));
  /* json-glib replaces a repeated member, so the object stays smaller than the count */
  if (n > json_object_get_size(object) && !dc->duplicate)
    dc->duplicate = g_strdup(name);
}

/* Reads a non-negative integer JSON value. */
static gboolean json_u64(JsonNode *n, uint64_t *out)
{
  if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
    return FALSE;
  gint64 v = json_node_get_int(n);
  if (v < 0)
    return FALSE;
  *out = (uint64_t)v;
  return TRUE;
}

static gboolean parse_tensor(const char *name, JsonNode *node, const uint8_t *data,
                             uint64_t data_len, uint64_t data_start, UfoStTensor *t, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return format_error(error, "tensor '%s': entry is not an object", name);
  JsonObject *o = json_node_get_object(node);
  JsonNode *dn = json_object_get_member(o, "dtype");
  JsonNode *sn = json_object_get_member(o, "shape");
  JsonNode *on = json_object_get_member(o, "data_offsets");
  if (!dn || !JSON_NODE_HOLDS_VALUE(dn) || json_node_get_value_type(dn) != G_TYPE_STRING)
    return format_error(error, "tensor '%s': missing or non-string \"dtype\"", name);
  if (!ufo_dtype_from_name(json_node_get_string(dn), &t->dtype))
    return format_error(error, "tensor '%s': unknown dtype '%s'", name, json_node_get_string(dn));
  if (!sn || !JSON_NODE_HOLDS_ARRAY(sn))
    return format_error(error, "tensor '%s': missing or non-array \"shape\"", name);
  JsonArray *sa = json_node_get_array(sn);
  guint nd = json_array_get_length(sa);
  if (nd > UFO_ST_MAX_DIMS)
    return format_error(error, "tensor '%s': rank %u exceeds %d", name, nd, UFO_ST_MAX_DIMS);
  t->ndim = (int)nd;
  uint64_t numel = 1;
  for (guint i = 0; i < nd; i++) {
    uint64_t d;
    if (!json_u64(json_array_get_element(sa, i), &d) || d > INT64_MAX)
      return format_error(error, "tensor '%s': shape entry %u is not a non-negative integer", name,
                          i);
    t->shape[i] = (int64_t)d;
    if (d != 0 && numel > UINT64_MAX / d)
      return format_error(error, "tensor '%s': element count overflows", name);
    numel *= d;
  }
  size_t es = ufo_dtype_size(t->dtype);
  if (numel > UINT64_MAX / es || numel * es > SIZE_MAX)
    return format_error(error, "tensor '%s': byte size overflows", name);
  t->numel = numel;
  t->nbytes = (size_t)(numel * es);
  if (!on || !JSON_NODE_HOLDS_ARRAY(on) || json_array_get_length(json_node_get_array(on)) != 2)
    return format_error(error, "tensor '%s': \"data_offsets\" must be [begin, end]", name);
  uint64_t begin, end;
  JsonArray *oa = json_node_get_array(on);
  if (!json_u64(json_array_get_element(oa, 0), &begin) ||
      !json_u64(json_array_get_element(oa, 1), &end))
    return format_error(error, "tensor '%s': \"data_offsets\" must be non-negative integers", name);
  if (begin > end)
    return format_error(error,
                        "tensor '%s': data_offsets [%" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT
                        "] are not ordered",
                        name, begin, end);
  if (end > data_len)
    return format_error(error,
                        "tensor '%s': data_offsets end %" G_GUINT64_FORMAT
                        " is past the data section (%" G_GUINT64_FORMAT
                        " bytes): file truncated or corrupted",
                        name, end, data_len);
  if (end - begin != t->nbytes) {
    g_autofree char *shape = ufo_shape_string(t->shape, t->ndim);
    return format_error(
        error, "tensor '%s': data_offsets span %" G_GUINT64_FORMAT " bytes, but %s %s needs %zu",
        name, end - begin, ufo_dtype_name(t->dtype), shape, t->nbytes);
  }
  t->offset = data_start + begin;
  t->data = data + t->offset;
  return TRUE;
}

static gint by_offset(gconstpointer a, gconstpointer b)
{
  const UfoStTensor *x = *(UfoStTensor *const *)a, *y = *(UfoStTensor *const *)b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static gboolean parse_metadata(JsonNode *node, GHashTable *metadata, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT(node))
    return format_error(error, "__metadata__ is not an object");
  JsonObject *o = json_node_get_object(node);
  g_autoptr(GList) keys = json_object_get_members(o);
  for (GList *l = keys; l; l = l->next) {
    JsonNode *v = json_object_get_member(o, l->data);
    if (!JSON_NODE_HOLDS_VALUE(v) || json_node_get_value_type(v) != G_TYPE_STRING)
      return format_error(error, "__metadata__ value of '%s' is not a string",
                          (const char *)l->data);
    g_hash_table_insert(metadata, g_strdup(l->data), g_strdup(json_node_get_string(v)));
  }
  return TRUE;
}

UfoSafetensors *ufo_safetensors_parse(const uint8_t *buf, size_t len, GError **error)
{
  if (len < 8) {
    format_error(error, "file is %zu bytes, shorter than the 8-byte header length", len);
    return NULL;
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | buf[i]; /* little-endian u64 */
  if (n > len - 8) {
    format_error(error,
                 "header length %" G_GUINT64_FORMAT " is past the end of the file (%zu bytes): "
                 "truncated or not a safetensors file",
                 n, len);
    return NULL;
  }
  if (n > UFO_ST_MAX_HEADER) {
    format_error(error, "header length %" G_GUINT64_FORMAT " exceeds the %u-byte limit", n,
                 UFO_ST_MAX_HEADER);
    return NULL;
  }
  if (n < 2 || buf[8] != '{') {
    format_error(error, "header is not a JSON object (must start with '{')");
    return NULL;
  }

  g_autoptr(JsonParser) parser = json_parser_new_immutable();
  DupCheck dc = {g_hash_table_new(NULL, NULL), NULL};
  g_signal_connect(parser, "object-member", G_CALLBACK(on_object_member), &dc);
  g_autoptr(GError) jerr = NULL;
  gboolean ok = g_utf8_validate((const char *)buf + 8, (gssize)n, NULL) &&
                json_parser_load_from_data(parser, (const char *)buf + 8, (gssize)n, &jerr);
  g_hash_table_unref(dc.counts);
  g_autofree char *dup = dc.duplicate;
  if (!ok) {
    format_error(error, "header is not valid JSON: %s", jerr ? jerr->message : "invalid UTF-8");
    return NULL;
  }
  if (dup) {
    format_error(error, "duplicate key '%s' in the header", dup);
    return NULL;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    format_error(error, "header is not a JSON object");
    return NULL;
  }

  g_autoptr(UfoSafetensors) st = g_new0(UfoSafetensors, 1);
  st->tensors = g_ptr_array_new_with_free_func(tensor_free);
  st->by_name = g_hash_table_new(g_str_hash, g_str_equal);
  st->metadata = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
  JsonObject *obj = json_node_get_object(root);
  uint64_t data_start = 8 + n, data_len = len - data_start;
  g_autoptr(GList) keys = json_object_get_members(obj);
  for (GList *l = keys; l; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member(obj, name);
    if (strcmp(name, "__metadata__") == 0) {
      if (!parse_metadata(node, st->metadata, error))
        return NULL;
      continue;
    }
    UfoStTensor *t = g_new0(UfoStTensor, 1);
    t->name = g_strdup(name);
    g_ptr_array_add(st->tensors, t);
    if (!parse_tensor(name, node, buf, data_len, data_start, t, error))
      return NULL;
    g_hash_table_insert(st->by_name, t->name, t);
  }
  /* no two tensors may share bytes (zero-size tensors take none) */
  g_ptr_array_sort(st->tensors, by_offset);
  uint64_t prev_end = data_start;
  const char *prev = NULL;
  for (guint i = 0; i < st->tensors->len; i++) {
    UfoStTensor *t = g_ptr_array_index(st->tensors, i);
    if (t->nbytes == 0)
      continue;
    if (t->offset < prev_end) {
      format_error(error, "tensors '%s' and '%s' overlap in the data section", prev, t->name);
      return NULL;
    }
    prev_end = t->offset + t->nbytes;
    prev = t->name;
  }
  return g_steal_pointer(&st);
}

/* ------------------------------------------------------------ writer */

static gboolean write_all(FILE *f, const void *p, size_t n, const char *path, GError **error)
{
  if (n && fwrite(p, 1, n, f) != n) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot write '%s': %s", path, g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

static gboolean write_tensor_data(FILE *f, const UfoStWriteTensor *t, uint64_t numel,
                                  const char *path, GError **error)
{
  size_t es = ufo_dtype_size(t->dtype);
  if (t->src_dtype == t->dtype)
    return write_all(f, t->data, (size_t)numel * es, path, error);
  /* F32 -> F16/BF16 in chunks */
  enum { CHUNK = 1 << 16 };
  g_autofree uint8_t *tmp = g_malloc(CHUNK * es);
  const float *src = t->data;
  for (uint64_t i = 0; i < numel; i += CHUNK) {
    size_t m = (size_t)MIN((uint64_t)CHUNK, numel - i);
    ufo_dtype_from_f32(t->dtype, src + i, tmp, m);
    if (!write_all(f, tmp, m * es, path, error))
      return FALSE;
  }
  return TRUE;
}

gboolean ufo_safetensors_write(const char *path, const UfoStWriteTensor *tensors, size_t n,
                               const char *const *meta, GError **error)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  if (meta && meta[0]) {
    json_builder_set_member_name(b, "__metadata__");
    json_builder_begin_object(b);
    for (size_t i = 0; meta[i] && meta[i + 1]; i += 2) {
      json_builder_set_member_name(b, meta[i]);
      json_builder_add_string_value(b, meta[i + 1]);
    }
    json_builder_end_object(b);
  }
  g_autofree uint64_t *numel = g_new(uint64_t, n ? n : 1);
  uint64_t offset = 0;
  for (size_t i = 0; i < n; i++) {
    const UfoStWriteTensor *t = &tensors[i];
    gboolean convert =
        t->src_dtype == UFO_DTYPE_F32 && (t->dtype == UFO_DTYPE_F16 || t->dtype == UFO_DTYPE_BF16);
    if (t->src_dtype != t->dtype && !convert) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tensor '%s': cannot store %s data as %s",
                  t->name, ufo_dtype_name(t->src_dtype), ufo_dtype_name(t->dtype));
      return FALSE;
    }
    numel[i] = 1;
    json_builder_set_member_name(b, t->name);
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "dtype");
    json_builder_add_string_value(b, ufo_dtype_name(t->dtype));
    json_builder_set_member_name(b, "shape");
    json_builder_begin_array(b);
    for (int d = 0; d < t->ndim; d++) {
      json_builder_add_int_value(b, t->shape[d]);
      numel[i] *= (uint64_t)t->shape[d];
    }
    json_builder_end_array(b);
    uint64_t nbytes = numel[i] * ufo_dtype_size(t->dtype);
    json_builder_set_member_name(b, "data_offsets");
    json_builder_begin_array(b);
    json_builder_add_int_value(b, (gint64)offset);
    json_builder_add_int_value(b, (gint64)(offset + nbytes));
    json_builder_end_array(b);
    json_builder_end_object(b);
    offset += nbytes;
  }
  json_builder_end_object(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  gsize hlen = 0;
  g_autofree char *header = json_generator_to_data(gen, &hlen);
  size_t padded = (hlen + 7) & ~(size_t)7; /* data section 8-byte aligned (spaces, as allowed) */

  g_autofree char *tmp_path = g_strconcat(path, ".tmp", NULL);
  FILE *f = fopen(tmp_path, "wb");
  if (!f) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot create '%s': %s", tmp_path,
                g_strerror(errno));
    return FALSE;
  }
  uint8_t lenbuf[8];
  for (int i = 0; i < 8; i++)
    lenbuf[i] = (uint8_t)((uint64_t)padded >> (8 * i));
  gboolean ok = write_all(f, lenbuf, 8, tmp_path, error) &&
                write_all(f, header, hlen, tmp_path, error) &&
                write_all(f, "        ", padded - hlen, tmp_path, error);
  for (size_t i = 0; ok && i < n; i++)
    ok = write_tensor_data(f, &tensors[i], numel[i], tmp_path, error);
  if (fclose(f) != 0 && ok) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot write '%s': %s", tmp_path,
                g_strerror(errno));
    ok = FALSE;
  }
  if (ok && rename(tmp_path, path) != 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot rename '%s' to '%s': %s", tmp_path, path,
                g_strerror(errno));
    ok = FALSE;
  }
  if (!ok)
    remove(tmp_path);
  return ok;
}
