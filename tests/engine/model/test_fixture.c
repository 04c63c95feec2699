/* Fixture reader tests on files written here (the reader must accept what safetensors writes and
 * reject stale versions naming the generator script), plus a parse check of every fixture present
 * in tests/data/fixtures. */
#include "fixture.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "ufo/ufo.h"

#include <glib/gstdio.h>
#include <string.h>

static char *write_fixture(const char *dir, const char *version)
{
  static const float f[6] = {1.5f, -2.0f, 0.25f, 3.0f, 4.0f, -0.5f};
  static const int32_t i32[3] = {101, -7, 30524};
  static const uint8_t u8[4] = {0, 1, 254, 255};
  static const int64_t i64[2] = {-1, 1LL << 40};
  const UfoStWriteTensor t[] = {
      {"x.sample", UFO_DTYPE_F32, 2, {2, 3}, UFO_DTYPE_F32, f},
      {"ids", UFO_DTYPE_I32, 1, {3}, UFO_DTYPE_I32, i32},
      {"image", UFO_DTYPE_U8, 3, {1, 2, 2}, UFO_DTYPE_U8, u8},
      {"big", UFO_DTYPE_I64, 1, {2}, UFO_DTYPE_I64, i64},
  };
  const char *meta[] = {"ufo.fixture", version,
                        "generator",   "tools/reference/make_fixtures.py",
                        "samples",     "{\"x\": {\"stride\": 3, \"shape\": [2, 9], \"l2\": 5.5}}",
                        "results",     "[1, 2]",
                        NULL};
  char *path = g_build_filename(dir, "fx.safetensors", NULL);
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_safetensors_write(path, t, 4, meta, &err));
  return path;
}

static void test_read(void)
{
  g_autofree char *dir = g_dir_make_tmp("ufo-fixture-XXXXXX", NULL);
  g_autofree char *path = write_fixture(dir, "1");
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoFixture) fx = ufo_fixture_open(path, &err);
  g_assert_no_error(err);
  size_t n = 0;
  g_autofree float *x = ufo_fixture_f32(fx, "x.sample", &n, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(n, ==, 6);
  g_assert_cmpfloat(x[0], ==, 1.5f);
  g_assert_cmpfloat(x[5], ==, -0.5f);
  int ndim;
  int64_t shape[8];
  g_assert_true(ufo_fixture_shape(fx, "x.sample", &ndim, shape, &err));
  g_assert_cmpint(ndim, ==, 2);
  g_assert_cmpint(shape[1], ==, 3);
  g_autofree int32_t *ids = ufo_fixture_i32(fx, "ids", &n, &err);
  g_assert_cmpint(ids[2], ==, 30524);
  g_autofree uint8_t *img = ufo_fixture_u8(fx, "image", &n, &err);
  g_assert_cmpuint(n, ==, 4);
  g_assert_cmpint(img[3], ==, 255);
  g_autofree int64_t *big = ufo_fixture_i64(fx, "big", NULL, &err);
  g_assert_cmpint(big[1], ==, 1LL << 40);
  g_assert_true(ufo_fixture_has(fx, "ids"));
  g_assert_false(ufo_fixture_has(fx, "nope"));

  /* wrong dtype and missing tensors name the problem */
  g_assert_null(ufo_fixture_i32(fx, "x.sample", NULL, &err));
  g_assert_nonnull(strstr(err->message, "tensor 'x.sample' is F32, expected I32"));
  g_clear_error(&err);
  g_assert_null(ufo_fixture_f32(fx, "nope", NULL, &err));
  g_assert_nonnull(strstr(err->message, "no tensor 'nope'"));
  g_assert_nonnull(strstr(err->message, "make_fixtures.py"));
  g_clear_error(&err);

  g_assert_cmpstr(ufo_fixture_meta(fx, "generator"), ==, "tools/reference/make_fixtures.py");
  g_autoptr(JsonNode) samples = ufo_fixture_meta_json(fx, "samples", &err);
  g_assert_no_error(err);
  JsonObject *s = json_object_get_object_member(json_node_get_object(samples), "x");
  g_assert_cmpint(json_object_get_int_member(s, "stride"), ==, 3);
  g_assert_cmpfloat(json_object_get_double_member(s, "l2"), ==, 5.5);
  g_assert_null(ufo_fixture_meta_json(fx, "generator", &err)); /* not JSON */
  g_assert_nonnull(strstr(err->message, "metadata 'generator' is not JSON"));
  g_clear_error(&err);
  g_assert_null(ufo_fixture_meta_json(fx, "absent", &err));
  g_assert_nonnull(strstr(err->message, "no metadata 'absent'"));
  g_clear_error(&err);

  /* stale version */
  g_unlink(path);
  g_free(write_fixture(dir, "0"));
  g_assert_null(ufo_fixture_open(path, &err));
  g_assert_nonnull(strstr(err->message, "has ufo.fixture '0'"));
  g_assert_nonnull(strstr(err->message, "python3 tools/reference/make_fixtures.py"));
  g_clear_error(&err);
  g_unlink(path);
  g_rmdir(dir);
}

static void test_missing(void)
{
  g_autoptr(GError) err = NULL;
  g_assert_null(ufo_fixture_open("no_such_fixture", &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_IO);
  g_assert_nonnull(strstr(err->message, "no_such_fixture.safetensors"));
  g_assert_nonnull(
      strstr(err->message, "regenerate it with: python3 tools/reference/make_fixtures.py"));
}

/* Every committed fixture parses and carries its version. */
static void test_committed(void)
{
  const char *dir = g_getenv("UFO_FIXTURES_DIR");
  g_autofree char *d = g_strdup(dir && *dir ? dir : UFO_FIXTURES_DIR);
  g_autoptr(GDir) gd = g_dir_open(d, 0, NULL);
  int n = 0;
  for (const char *f; gd && (f = g_dir_read_name(gd));) {
    if (!g_str_has_suffix(f, ".safetensors"))
      continue;
    g_autoptr(GError) err = NULL;
    g_autoptr(UfoFixture) fx = ufo_fixture_open(f, &err);
    g_assert_no_error(err);
    g_assert_nonnull(ufo_fixture_meta(fx, "generator"));
    /* the Python config the fixture was made with equals the C built-in of the same name */
    const char *json = ufo_fixture_meta(fx, "config_json"), *name = ufo_fixture_meta(fx, "config");
    UfoConfig py, c;
    if (json && name && ufo_config_builtin(name, &c, NULL)) {
      g_assert_true(ufo_config_parse(json, &py, &err));
      g_assert_no_error(err);
      g_assert_cmpmem(&py, sizeof py, &c, sizeof c);
    }
    n++;
  }
  if (n == 0 && g_strcmp0(g_getenv("UFO_TEST_ALLOW_MISSING_FIXTURES"), "1") == 0)
    g_test_skip("no fixtures (UFO_TEST_ALLOW_MISSING_FIXTURES=1)");
  else if (n == 0)
    g_error("no fixtures in %s: run python3 tools/reference/make_fixtures.py (or set "
            "UFO_TEST_ALLOW_MISSING_FIXTURES=1 to run without fixtures on purpose)",
            d);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/model/fixture/read", test_read);
  g_test_add_func("/model/fixture/missing", test_missing);
  g_test_add_func("/model/fixture/committed", test_committed);
  return g_test_run();
}
