/* Preprocessing against real cv2 / PIL outputs (tests/data/post/preprocess.json). */
#include "post_fixture.h"
#include "tasks/preprocess.h"

#include <math.h>
#include <string.h>

static uint8_t *make_image(const char *kind, int w, int h)
{
  uint8_t *img = g_new(uint8_t, (size_t)w * h * 3);
  if (g_strcmp0(kind, "noise") == 0)
    post_noise_image(w, h, img);
  else
    post_synthetic_image(w, h, img);
  return img;
}

static char *sha256(const void *data, size_t len)
{
  return g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, len);
}

static void test_resize_cases(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("preprocess.json", &root);
  JsonArray *cases = json_object_get_array_member(root, "cases");
  int n_exact = 0, n_cases = json_array_get_length(cases);
  double worst_f32 = 0;
  for (int i = 0; i < n_cases; i++) {
    JsonObject *c = json_array_get_object_element(cases, i);
    const char *kind = json_object_get_string_member(c, "kind");
    const int w = json_object_get_int_member(c, "w"), h = json_object_get_int_member(c, "h");
    const int dw = json_object_get_int_member(c, "dw"), dh = json_object_get_int_member(c, "dh");
    const int step = json_object_get_int_member(c, "step");
    g_autofree uint8_t *img = make_image(json_object_get_string_member(c, "image"), w, h);
    const size_t n = (size_t)dw * dh * 3;
    guint ns;
    g_autofree double *samp = post_json_doubles(json_object_get_array_member(c, "sample"), &ns);
    g_autofree char *sum = NULL;
    if (g_strcmp0(kind, "linear_f32") == 0) {
      g_autofree float *src = g_new(float, (size_t)w *h * 3);
      for (size_t k = 0; k < (size_t)w * h * 3; k++)
        src[k] = img[k];
      g_autofree float *out = g_new(float, n);
      ufo_resize_linear_f32(src, w, h, 3, out, dw, dh);
      sum = sha256(out, n * sizeof(float));
      double maxd = 0;
      int off = 0;
      for (guint k = 0; k < ns; k++) {
        double d = fabs((double)out[(size_t)k * step] - samp[k]);
        maxd = MAX(maxd, d);
        off += d != 0;
      }
      worst_f32 = MAX(worst_f32, maxd);
      if (g_test_verbose())
        g_printerr("%s %dx%d->%dx%d: %d/%u sampled values off, max |diff| %.3g\n", kind, w, h, dw,
                   dh, off, ns, maxd);
      /* IPP's float path has a few ulp-level differences on 3-channel tails (documented) */
      g_assert_cmpfloat(maxd, <=, 1e-4);
    } else {
      g_autofree uint8_t *out = g_new(uint8_t, n);
      /* a padded stride exercises the row pointer arithmetic */
      const size_t stride = (size_t)w * 3 + 5;
      g_autofree uint8_t *padded = g_new0(uint8_t, stride * h);
      for (int y = 0; y < h; y++)
        memcpy(padded + y * stride, img + (size_t)y * w * 3, (size_t)w * 3);
      if (g_strcmp0(kind, "linear_u8") == 0)
        ufo_resize_linear_u8(padded, w, h, stride, 3, out, dw, dh);
      else
        ufo_resize_bicubic_pil_u8(padded, w, h, stride, 3, out, dw, dh);
      sum = sha256(out, n);
      for (guint k = 0; k < ns; k++)
        if (out[(size_t)k * step] != (uint8_t)samp[k])
          g_error("%s %dx%d->%dx%d: value %zu is %d, expected %d", kind, w, h, dw, dh,
                  (size_t)k * step, out[(size_t)k * step], (int)samp[k]);
      /* bit-exact over the whole image, not only the sample */
      g_assert_cmpstr(sum, ==, json_object_get_string_member(c, "sha256"));
    }
    const gboolean exact = g_strcmp0(sum, json_object_get_string_member(c, "sha256")) == 0;
    if (!exact && g_test_verbose())
      g_printerr("not bit-exact: %s %dx%d->%dx%d\n", kind, w, h, dw, dh);
    n_exact += exact;
  }
  if (g_test_verbose())
    g_printerr("%d/%d resize cases bit-exact; float32 worst |diff| %.3g\n", n_exact, n_cases,
               worst_f32);
}

static void test_full_pipeline(void)
{
  JsonObject *root;
  g_autoptr(JsonParser) p = post_fixture_load("preprocess.json", &root);
  JsonArray *full = json_object_get_array_member(root, "full");
  const float mean[3] = {123.675f, 116.28f, 103.53f}, std[3] = {58.395f, 57.12f, 57.375f};
  for (guint i = 0; i < json_array_get_length(full); i++) {
    JsonObject *c = json_array_get_object_element(full, i);
    const char *kind = json_object_get_string_member(c, "kind");
    const int w = json_object_get_int_member(c, "w"), h = json_object_get_int_member(c, "h");
    const int S = json_object_get_int_member(c, "size"),
              step = json_object_get_int_member(c, "step");
    g_autofree uint8_t *rgb = make_image("noise", w, h);
    UfoTaskConfig tc = {0};
    tc.input_size = S;
    tc.resize = g_strcmp0(kind, "bicubic") == 0 ? UFO_RESIZE_BICUBIC : UFO_RESIZE_BILINEAR;
    tc.resize_float = g_strcmp0(kind, "float") == 0;
    guint ns;
    g_autofree float *samp = post_json_floats(json_object_get_array_member(c, "sample"), &ns);
    /* every pixel format, with a padded stride, must give the same planar RGB */
    const UfoPixelFormat fmts[] = {UFO_PIXEL_RGB,  UFO_PIXEL_BGR,  UFO_PIXEL_RGBA,
                                   UFO_PIXEL_BGRA, UFO_PIXEL_RGBX, UFO_PIXEL_BGRX};
    for (guint f = 0; f < G_N_ELEMENTS(fmts); f++) {
      const int bpp = (fmts[f] == UFO_PIXEL_RGB || fmts[f] == UFO_PIXEL_BGR) ? 3 : 4;
      const gboolean bgr =
          fmts[f] == UFO_PIXEL_BGR || fmts[f] == UFO_PIXEL_BGRA || fmts[f] == UFO_PIXEL_BGRX;
      const size_t stride = (size_t)w * bpp + 7;
      g_autofree uint8_t *data = g_new(uint8_t, stride * h);
      memset(data, 0xAB, stride * h);
      for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
          for (int k = 0; k < 3; k++)
            data[y * stride + (size_t)x * bpp + (bgr ? 2 - k : k)] =
                rgb[((size_t)y * w + x) * 3 + k];
      UfoImage im = {fmts[f], w, h, stride, data};
      g_autofree float *out = g_new(float, (size_t)3 * S * S);
      GError *err = NULL;
      g_assert_true(ufo_preprocess(&im, &tc, mean, std, out, &err));
      g_assert_no_error(err);
      for (guint k = 0; k < ns; k++) {
        float got = out[(size_t)k * step];
        if (tc.resize_float)
          g_assert_cmpfloat(fabsf(got - samp[k]), <=, 1e-5f);
        else if (got != samp[k])
          g_error("%s format %d: value %zu is %.9g, expected %.9g", kind, fmts[f], (size_t)k * step,
                  got, samp[k]);
      }
    }
  }
}

static void test_errors(void)
{
  const float mean[3] = {0, 0, 0}, std[3] = {1, 1, 1};
  UfoTaskConfig tc = {0};
  tc.input_size = 224;
  uint8_t px[12] = {0};
  float out[4];
  UfoImage zero = {UFO_PIXEL_RGB, 0, 4, 12, px};
  GError *err = NULL;
  g_assert_false(ufo_preprocess(&zero, &tc, mean, std, out, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_assert_nonnull(strstr(err->message, "0x4"));
  g_clear_error(&err);
  UfoImage nodata = {UFO_PIXEL_RGB, 2, 2, 6, NULL};
  g_assert_false(ufo_preprocess(&nodata, &tc, mean, std, out, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  UfoImage badstride = {UFO_PIXEL_RGBA, 4, 1, 8, px};
  g_assert_false(ufo_preprocess(&badstride, &tc, mean, std, out, &err));
  g_assert_nonnull(strstr(err->message, "stride"));
  g_clear_error(&err);
  UfoImage badfmt = {(UfoPixelFormat)42, 1, 1, 3, px};
  g_assert_false(ufo_preprocess(&badfmt, &tc, mean, std, out, &err));
  g_assert_nonnull(strstr(err->message, "format"));
  g_clear_error(&err);
}

/* Hand-computed: 2x1 → 4x1 cv2 bilinear. Centres map to -0.25, 0.25, 0.75, 1.25: weights
 * (1,0), (0.75,0.25), (0.25,0.75), (0,1 clamped → 1,0 on the last pixel). */
static void test_linear_hand(void)
{
  const uint8_t src[2] = {0, 200};
  uint8_t dst[4];
  ufo_resize_linear_u8(src, 2, 1, 2, 1, dst, 4, 1);
  g_assert_cmpint(dst[0], ==, 0);
  g_assert_cmpint(dst[1], ==, 50);
  g_assert_cmpint(dst[2], ==, 150);
  g_assert_cmpint(dst[3], ==, 200);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tasks/preprocess/linear-hand", test_linear_hand);
  g_test_add_func("/tasks/preprocess/resize-fixtures", test_resize_cases);
  g_test_add_func("/tasks/preprocess/full-pipeline", test_full_pipeline);
  g_test_add_func("/tasks/preprocess/errors", test_errors);
  return g_test_run();
}
