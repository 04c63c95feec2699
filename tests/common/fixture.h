/* Reader for the golden fixture files (tests/data/fixtures, NAME.safetensors) written by
 * tools/reference/make_fixtures.py (docs/reference.md).
 *
 * A fixture is a safetensors file (engine/model/safetensors.h, same parser as model files) whose
 * __metadata__ holds "ufo.fixture": "1", "generator": the script that wrote it, and JSON strings
 * such as "samples" and "results". Tensors are F32, I32, U8 or I64.
 *
 * Link with `ufo_test_common_dep` (tests/common/meson.build). Errors say which script to re-run. */
#ifndef UFO_TESTS_FIXTURE_H
#define UFO_TESTS_FIXTURE_H

#include "model/dtype.h"

#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdint.h>

#define UFO_FIXTURE_VERSION "1"
#define UFO_FIXTURE_GENERATOR "tools/reference/make_fixtures.py"

typedef struct _UfoFixture UfoFixture;

/* name: a file name ("tiny_detection.safetensors"; ".safetensors" may be left out) looked up in
 * $UFO_FIXTURES_DIR, else the build-time tests/data/fixtures; or a path containing '/'. */
UfoFixture *ufo_fixture_open(const char *name, GError **error);
/* A missing fixture is a test failure unless the suite runs without fixtures on purpose: the
 * environment variable UFO_TEST_ALLOW_MISSING_FIXTURES=1 (docs/reference.md). Returns TRUE when
 * err says the fixture is missing and that is allowed (the caller then skips); otherwise FALSE
 * (the caller fails). */
gboolean ufo_fixture_missing_allowed(const GError *err);
void ufo_fixture_free(UfoFixture *fixture);
const char *ufo_fixture_path(const UfoFixture *fixture);

gboolean ufo_fixture_has(const UfoFixture *fixture, const char *tensor);
/* Shape of a tensor (ndim <= 8); FALSE with an error when absent. */
gboolean ufo_fixture_shape(const UfoFixture *fixture, const char *tensor, int *ndim,
                           int64_t shape[8], GError **error);
/* Host copies (free with g_free); the stored dtype must match; *numel may be NULL. */
float *ufo_fixture_f32(const UfoFixture *fixture, const char *tensor, size_t *numel,
                       GError **error);
int32_t *ufo_fixture_i32(const UfoFixture *fixture, const char *tensor, size_t *numel,
                         GError **error);
int64_t *ufo_fixture_i64(const UfoFixture *fixture, const char *tensor, size_t *numel,
                         GError **error);
uint8_t *ufo_fixture_u8(const UfoFixture *fixture, const char *tensor, size_t *numel,
                        GError **error);

/* A metadata string (borrowed), NULL when absent. */
const char *ufo_fixture_meta(const UfoFixture *fixture, const char *key);
/* A metadata string parsed as JSON (free with json_node_unref); error when absent or invalid. */
JsonNode *ufo_fixture_meta_json(const UfoFixture *fixture, const char *key, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoFixture, ufo_fixture_free)

#endif
