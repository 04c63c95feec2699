/* Golden fixture reader (fixture.h), on top of the model-file safetensors parser. */
#include "fixture.h"

#include "model/safetensors.h"
#include "ufo/ufo.h"

#include <string.h>

#ifndef UFO_FIXTURES_DIR
#define UFO_FIXTURES_DIR "tests/data/fixtures"
#endif

struct _UfoFixture {
  char *path;
  GMappedFile *mapped;
  UfoSafetensors *st;
};

void ufo_fixture_free(UfoFixture *f)
{
  if (!f)
    return;
  ufo_safetensors_free(f->st);
  if (f->mapped)
    g_mapped_file_unref(f->mapped);
  g_free(f->path);
  g_free(f);
}

const char *ufo_fixture_path(const UfoFixture *f)
{
  return f->path;
}

static char *resolve(const char *name)
{
  if (strchr(name, '/'))
    return g_strdup(name);
  const char *dir = g_getenv("UFO_FIXTURES_DIR");
  g_autofree char *file = g_str_has_suffix(name, ".safetensors")
                              ? g_strdup(name)
                              : g_strconcat(name, ".safetensors", NULL);
  return g_build_filename(dir && *dir ? dir : UFO_FIXTURES_DIR, file, NULL);
}

gboolean ufo_fixture_missing_allowed(const GError *err)
{
  return g_error_matches(err, UFO_ERROR, UFO_ERROR_IO) &&
         g_strcmp0(g_getenv("UFO_TEST_ALLOW_MISSING_FIXTURES"), "1") == 0;
}

UfoFixture *ufo_fixture_open(const char *name, GError **error)
{
  g_autoptr(UfoFixture) f = g_new0(UfoFixture, 1);
  f->path = resolve(name);
  GError *ferr = NULL;
  f->mapped = g_mapped_file_new(f->path, FALSE, &ferr);
  if (!f->mapped) {
    g_set_error(
        error, UFO_ERROR, UFO_ERROR_IO,
        "fixture '%s' cannot be read (%s); regenerate it with: python3 " UFO_FIXTURE_GENERATOR,
        f->path, ferr->message);
    g_error_free(ferr);
    return NULL;
  }
  f->st = ufo_safetensors_parse((const uint8_t *)g_mapped_file_get_contents(f->mapped),
                                g_mapped_file_get_length(f->mapped), error);
  if (!f->st) {
    g_prefix_error(
        error, "fixture '%s' (regenerate it with: python3 " UFO_FIXTURE_GENERATOR "): ", f->path);
    return NULL;
  }
  const char *version = ufo_safetensors_meta(f->st, "ufo.fixture");
  if (g_strcmp0(version, UFO_FIXTURE_VERSION) != 0) {
    const char *gen = ufo_safetensors_meta(f->st, "generator");
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                "fixture '%s' has ufo.fixture '%s', this test reads '" UFO_FIXTURE_VERSION
                "'; regenerate it with: python3 %s",
                f->path, version ? version : "(missing)", gen ? gen : UFO_FIXTURE_GENERATOR);
    return NULL;
  }
  return g_steal_pointer(&f);
}

static const UfoStTensor *find(const UfoFixture *f, const char *tensor, GError **error)
{
  const UfoStTensor *t = ufo_safetensors_get(f->st, tensor);
  if (!t) {
    const char *gen = ufo_safetensors_meta(f->st, "generator");
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                "fixture '%s' has no tensor '%s'; regenerate it with: python3 %s", f->path, tensor,
                gen ? gen : UFO_FIXTURE_GENERATOR);
  }
  return t;
}

gboolean ufo_fixture_has(const UfoFixture *f, const char *tensor)
{
  return ufo_safetensors_get(f->st, tensor) != NULL;
}

gboolean ufo_fixture_shape(const UfoFixture *f, const char *tensor, int *ndim, int64_t shape[8],
                           GError **error)
{
  const UfoStTensor *t = find(f, tensor, error);
  if (!t)
    return FALSE;
  *ndim = t->ndim;
  memcpy(shape, t->shape, sizeof(int64_t) * (size_t)t->ndim);
  return TRUE;
}

static void *copy_tensor(const UfoFixture *f, const char *tensor, UfoDType dtype, size_t *numel,
                         GError **error)
{
  const UfoStTensor *t = find(f, tensor, error);
  if (!t)
    return NULL;
  if (t->dtype != dtype) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "fixture '%s': tensor '%s' is %s, expected %s",
                f->path, tensor, ufo_dtype_name(t->dtype), ufo_dtype_name(dtype));
    return NULL;
  }
  if (numel)
    *numel = (size_t)t->numel;
  return g_memdup2(t->data, t->nbytes ? t->nbytes : 1); /* unaligned in the file: copy */
}

float *ufo_fixture_f32(const UfoFixture *f, const char *tensor, size_t *numel, GError **error)
{
  return copy_tensor(f, tensor, UFO_DTYPE_F32, numel, error);
}

int32_t *ufo_fixture_i32(const UfoFixture *f, const char *tensor, size_t *numel, GError **error)
{
  return copy_tensor(f, tensor, UFO_DTYPE_I32, numel, error);
}

int64_t *ufo_fixture_i64(const UfoFixture *f, const char *tensor, size_t *numel, GError **error)
{
  return copy_tensor(f, tensor, UFO_DTYPE_I64, numel, error);
}

uint8_t *ufo_fixture_u8(const UfoFixture *f, const char *tensor, size_t *numel, GError **error)
{
  return copy_tensor(f, tensor, UFO_DTYPE_U8, numel, error);
}

const char *ufo_fixture_meta(const UfoFixture *f, const char *key)
{
  return ufo_safetensors_meta(f->st, key);
}

JsonNode *ufo_fixture_meta_json(const UfoFixture *f, const char *key, GError **error)
{
  const char *text = ufo_safetensors_meta(f->st, key);
  if (!text) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "fixture '%s' has no metadata '%s'", f->path,
                key);
    return NULL;
  }
  g_autoptr(JsonParser) parser = json_parser_new();
  GError *jerr = NULL;
  if (!json_parser_load_from_data(parser, text, -1, &jerr)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "fixture '%s': metadata '%s' is not JSON: %s",
                f->path, key, jerr->message);
    g_error_free(jerr);
    return NULL;
  }
  return json_node_copy(json_parser_get_root(parser));
}
