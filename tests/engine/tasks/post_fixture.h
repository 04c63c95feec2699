/* Loader for the JSON fixtures in tests/data/post/ (tools/reference/make_post_fixtures.py). */
#ifndef UFO_TESTS_POST_FIXTURE_H
#define UFO_TESTS_POST_FIXTURE_H

#include <json-glib/json-glib.h>
#include <stdint.h>

/* Parses POST_FIXTURES_DIR/name, checks magic and version; aborts the test with a hint to
 * re-run the generator when the file is missing or stale. Caller unrefs the parser. */
JsonParser *post_fixture_load(const char *name, JsonObject **root);
/* Copies a JSON number array into a new float / double / int32 buffer (g_free). */
float *post_json_floats(JsonArray *a, guint *n);
double *post_json_doubles(JsonArray *a, guint *n);
int32_t *post_json_ints(JsonArray *a, guint *n);

/* (h, w, 3) uint8 hash-noise image, same formula as noise_image() in the generator. */
void post_noise_image(int w, int h, uint8_t *rgb);
/* configs.md synthetic_image(W, H), RGB uint8. */
void post_synthetic_image(int w, int h, uint8_t *rgb);

#endif
