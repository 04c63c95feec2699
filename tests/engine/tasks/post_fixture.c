#include "post_fixture.h"

#define POST_MAGIC "ufo-post-fixtures"
#define POST_VERSION 1

JsonParser *post_fixture_load(const char *name, JsonObject **root)
{
  g_autofree char *path = g_build_filename(POST_FIXTURES_DIR, name, NULL);
  JsonParser *p = json_parser_new();
  GError *err = NULL;
  if (!json_parser_load_from_file(p, path, &err))
    g_error("cannot read %s: %s (HINT: re-run python3 tools/reference/make_post_fixtures.py)", path,
            err->message);
  JsonObject *o = json_node_get_object(json_parser_get_root(p));
  if (g_strcmp0(json_object_get_string_member_with_default(o, "magic", ""), POST_MAGIC) != 0 ||
      json_object_get_int_member_with_default(o, "version", 0) != POST_VERSION)
    g_error("%s: wrong magic or version (HINT: re-run python3 "
            "tools/reference/make_post_fixtures.py)",
            path);
  *root = o;
  return p;
}

float *post_json_floats(JsonArray *a, guint *n)
{
  *n = json_array_get_length(a);
  float *v = g_new(float, MAX(*n, 1));
  for (guint i = 0; i < *n; i++)
    v[i] = (float)json_array_get_double_element(a, i);
  return v;
}

double *post_json_doubles(JsonArray *a, guint *n)
{
  *n = json_array_get_length(a);
  double *v = g_new(double, MAX(*n, 1));
  for (guint i = 0; i < *n; i++)
    v[i] = json_array_get_double_element(a, i);
  return v;
}

int32_t *post_json_ints(JsonArray *a, guint *n)
{
  *n = json_array_get_length(a);
  int32_t *v = g_new(int32_t, MAX(*n, 1));
  for (guint i = 0; i < *n; i++)
    v[i] = (int32_t)json_array_get_int_element(a, i);
  return v;
}

void post_noise_image(int w, int h, uint8_t *rgb)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++) {
        uint32_t v =
            ((uint32_t)x * 73856093u) ^ ((uint32_t)y * 19349663u) ^ ((uint32_t)c * 83492791u);
        v *= 2654435761u;
        rgb[((size_t)y * w + x) * 3 + c] = (uint8_t)(v >> 24);
      }
}

void post_synthetic_image(int w, int h, uint8_t *rgb)
{
  for (int y = 0; y < h; y++)
    for (int x = 0; x < w; x++)
      for (int c = 0; c < 3; c++)
        rgb[((size_t)y * w + x) * 3 + c] =
            (uint8_t)(((int64_t)x * (3 + c) + (int64_t)y * (5 + 2 * c) + (((int64_t)x * y) >> 4) +
                       85 * c) %
                      256);
}
