/* The frame preprocessing op (backend/preprocess.h) on a named backend against the host path
 * (ufo_preprocess_host, itself checked against real cv2/PIL outputs by tests/engine/tasks):
 * bit-identical float32 output for every pixel format (packed with padded strides, planar
 * I420/NV12 with odd sizes and padded planes, every colour matrix and range), the three resizes
 * (OpenCV uint8 and float32 INTER_LINEAR, PIL BICUBIC with both pass orders), up- and
 * down-scaling, odd sizes, high-contrast frames (clipping), a strided output view; the frame's
 * bytes are the only bytes counted up; one preprocessor across changing geometries. The Y'CbCr
 * conversion against a plain double-precision formula, and bad operands refused by the wrapper.
 * Frames enqueued back to back with no synchronisation, each frame's memory scribbled over as
 * soon as the op returns: every output still its own frame's (the CUDA backend's pinned staging
 * buffers are reused only after their copies are done; the emulation reports a host write into
 * one whose copy is in flight).
 * Frames already in device memory (UFO_MEMORY_CUDA, padded pitches as a CUDA allocator gives):
 * read in place by backends with a CUDA context (bit-identical again, no byte counted up),
 * refused by the others.
 * Usage: test-nn-preprocess [--backend=cpu|cpu-ref|cuda-emu|cuda] */
#include "backend/backend.h"
#include "backend/preprocess.h"
#include "backend_by_name.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *backend_name = "cpu";

static const UfoPixelFormat all_formats[] = {UFO_PIXEL_RGB,  UFO_PIXEL_BGR,  UFO_PIXEL_RGBA,
                                             UFO_PIXEL_BGRA, UFO_PIXEL_RGBX, UFO_PIXEL_BGRX,
                                             UFO_PIXEL_I420, UFO_PIXEL_NV12};

/* A random frame of format f, w x h, rows padded by `pad` bytes (planes too); smooth content
 * plus noise so resizes see both gradients and edges. Frees with frame_free. */
typedef struct {
  UfoImage im;
  uint8_t *buf[3];
} Frame;

static gboolean contrast; /* black/white stripes: the resizes' overshoot and clipping */

static uint8_t pixel(GRand *rng, int x, int y, int c)
{
  if (contrast)
    return ((x / 2 + y / 3 + c) & 1) ? 255 : (uint8_t)g_rand_int_range(rng, 0, 2);
  int v = (x * 7 + y * 3 + c * 50) % 256;
  return (uint8_t)((v + g_rand_int_range(rng, 0, 64)) % 256);
}

static void frame_make(Frame *fr, UfoPixelFormat f, int w, int h, int pad, int matrix, int range,
                       GRand *rng)
{
  memset(fr, 0, sizeof *fr);
  UfoImage *im = &fr->im;
  im->format = f;
  im->width = w;
  im->height = h;
  im->matrix = (UfoColorMatrix)matrix;
  im->range = (UfoColorRange)range;
  int bpp, idx[3];
  if (ufo_image_packed_layout(f, &bpp, idx)) {
    im->stride = (size_t)w * bpp + pad;
    fr->buf[0] = g_new(uint8_t, im->stride * h);
    for (size_t i = 0; i < im->stride * h; i++)
      fr->buf[0][i] = (uint8_t)g_rand_int_range(rng, 0, 256); /* padding and alpha too */
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++)
        for (int c = 0; c < 3; c++)
          fr->buf[0][y * im->stride + (size_t)x * bpp + idx[c]] = pixel(rng, x, y, c);
    im->data = fr->buf[0];
    return;
  }
  const int cw = (w + 1) / 2, ch = (h + 1) / 2;
  const gboolean nv12 = f == UFO_PIXEL_NV12;
  im->stride = (size_t)w + pad;
  fr->buf[0] = g_new(uint8_t, im->stride * h);
  for (int y = 0; y < h; y++)
    for (size_t x = 0; x < im->stride; x++)
      fr->buf[0][y * im->stride + x] = pixel(rng, (int)x, y, 0);
  im->data = fr->buf[0];
  for (int p = 0; p < (nv12 ? 1 : 2); p++) {
    im->plane_stride[p] = (size_t)(nv12 ? 2 * cw : cw) + pad;
    fr->buf[1 + p] = g_new(uint8_t, im->plane_stride[p] * ch);
    for (int y = 0; y < ch; y++)
      for (size_t x = 0; x < im->plane_stride[p]; x++)
        fr->buf[1 + p][y * im->plane_stride[p] + x] = pixel(rng, (int)x, y, 1 + p);
    im->planes[p] = fr->buf[1 + p];
  }
}

static void frame_free(Frame *fr)
{
  for (int i = 0; i < 3; i++)
    g_free(fr->buf[i]);
}

static const char *resize_name(UfoPrepResize r)
{
  return r == UFO_PREP_LINEAR_U8 ? "linear-u8" : r == UFO_PREP_LINEAR_F32 ? "linear-f32" : "pil";
}

/* One case through the op on be (preprocessor pp) and through the host path: every output
 * float bit-identical, the padding of the output view untouched, bytes_up = the frame's. */
static void check_case(UfoBackend *be, UfoPreprocessor *pp, const Frame *fr, int S,
                       UfoPrepResize resize)
{
  const UfoImage *im = &fr->im;
  UfoPrepParams p = {.size = S,
                     .resize = resize,
                     .mean = {123.675f, 116.28f, 103.53f},
                     .std = {58.395f, 57.12f, 57.375f}};
  const size_t n = (size_t)S * S, ld = n + 3, off = 5, total = off + 3 * ld;
  g_autoptr(GError) err = NULL;
  g_autofree float *want = g_new(float, 3 * n);
  g_assert_true(ufo_preprocess_host(im, &p, want, n, &err));
  g_assert_no_error(err);
  /* the output: a (3, S*S) view at an offset, rows ld apart, inside a sentinel-filled tensor */
  g_autofree float *init = g_new(float, total);
  for (size_t i = 0; i < total; i++)
    init[i] = -777.f;
  g_autoptr(UfoTensor) t = ufo_tensor_new_2d(be, 1, (int64_t)total, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload(t, 0, init, total, &err));
  const uint64_t up0 = be->bytes_up;
  UfoView y = ufo_view_at(t, off, 3, (int64_t)n, (int64_t)ld);
  if (!ufo_op_preprocess(pp, y, im, &p, &err))
    g_error("%s: preprocess failed: %s", backend_name, err->message);
  g_assert_cmpuint(be->bytes_up - up0, ==, ufo_image_bytes(im));
  g_autofree float *got = g_new(float, total);
  g_assert_true(ufo_tensor_download(t, 0, got, total, &err));
  g_assert_no_error(err);
  for (size_t i = 0; i < total; i++) {
    const size_t rel = i - off, c = rel / ld, k = rel % ld;
    const gboolean inside = i >= off && c < 3 && k < n;
    const float w = inside ? want[c * n + k] : -777.f;
    if (memcmp(&got[i], &w, sizeof w) != 0)
      g_error("%s: format %d %dx%d (matrix %d range %d) -> %d %s: element %zu (channel %zu, "
              "pixel %zu) is %.9g, want %.9g",
              backend_name, (int)im->format, im->width, im->height, (int)im->matrix, (int)im->range,
              S, resize_name(resize), i, inside ? c : 0, inside ? k : 0, got[i], w);
  }
}

typedef struct {
  int w, h, S;
} Geometry;

/* up- and down-scaling, odd sizes, 1-pixel frames, both PIL pass orders (tall frames shrink
 * vertically first), a frame as large as a real one */
static const Geometry geometries[] = {
    {1, 1, 5},     {2, 3, 7},     {17, 9, 16},   {9, 17, 16},    {64, 48, 32},    {33, 47, 64},
    {100, 37, 24}, {40, 300, 36}, {301, 41, 36}, {257, 255, 64}, {333, 250, 112}, {640, 480, 224},
};

static int cpu_threads; /* > 0: the cpu backend with this many threads (its bands of rows) */

static void test_formats_sizes(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = cpu_threads ? ufo_backend_cpu_new(cpu_threads, &err)
                               : ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoPreprocessor *pp = ufo_preprocessor_new(be, &err);
  g_assert_no_error(err);
  GRand *rng = g_rand_new_with_seed(15);
  int n_cases = 0;
  for (guint g = 0; g < G_N_ELEMENTS(geometries); g++) {
    const Geometry *ge = &geometries[g];
    const gboolean big = ge->w * ge->h > 100000;
    for (guint f = 0; f < G_N_ELEMENTS(all_formats); f++) {
      /* the big frame: one packed and one planar format (the rest is covered by small ones) */
      if (big && all_formats[f] != UFO_PIXEL_BGRX && all_formats[f] != UFO_PIXEL_NV12)
        continue;
      Frame fr;
      contrast = g % 4 == 2;
      frame_make(&fr, all_formats[f], ge->w, ge->h, (int)(g % 3) * 5, (int)(g + f) % 5,
                 (int)(g + f) % 2, rng);
      for (int r = 0; r < UFO_PREP_N_RESIZES; r++, n_cases++)
        check_case(be, pp, &fr, ge->S, (UfoPrepResize)r);
      frame_free(&fr);
    }
  }
  if (g_test_verbose())
    g_printerr("%s: %d cases bit-identical to the host path\n", backend_name, n_cases);
  g_rand_free(rng);
  ufo_preprocessor_free(pp);
  ufo_backend_free(be);
}

/* The CPU backend runs bands of output rows side by side, each from the source rows it reads:
 * with 3 and with 16 threads (more bands than some outputs have rows of 16), whatever this
 * machine's cores, every case is still bit for bit the host path */
static void test_bands(void)
{
  const int threads[] = {3, 16};
  for (guint i = 0; i < G_N_ELEMENTS(threads); i++) {
    cpu_threads = threads[i];
    test_formats_sizes();
  }
  cpu_threads = 0;
}

/* Y'CbCr -> RGB (ufo_yuv_pixel) against the plain formula in double (ITU-R BT.601 §2.5
 * quantisation, R = Y + 2(1-Kr)Cr, G = Y - (2Kb(1-Kb)Cb + 2Kr(1-Kr)Cr)/Kg, B = Y + 2(1-Kb)Cb,
 * rounded to nearest): within one level everywhere, exact almost everywhere, and the exact
 * anchors (limited black and white, full-range greys). */
static void test_yuv_reference(void)
{
  static const double k[][2] = {
      {0.2990, 0.1140}, {0.2126, 0.0722}, {0.2627, 0.0593}, {0.212, 0.087}, {0.30, 0.11}};
  for (int m = 0; m <= UFO_COLOR_MATRIX_FCC; m++)
    for (int range = 0; range <= UFO_COLOR_RANGE_FULL; range++) {
      UfoYuvCoefs c;
      ufo_yuv_coefs((UfoColorMatrix)m, (UfoColorRange)range, &c);
      const double kr = k[m][0], kb = k[m][1], kg = 1.0 - kr - kb;
      const double ys = range ? 1.0 : 255.0 / 219.0, cs = range ? 1.0 : 255.0 / 224.0;
      const int yoff = range ? 0 : 16;
      long off = 0, total = 0;
      for (int Y = 0; Y < 256; Y++)
        for (int U = 0; U < 256; U += 3)
          for (int V = 0; V < 256; V += 3) {
            uint8_t got[3];
            ufo_yuv_pixel(&c, Y, U, V, got);
            const double yy = ys * (Y - yoff), cb = cs * (U - 128), cr = cs * (V - 128);
            const double ref[3] = {yy + 2 * (1 - kr) * cr,
                                   yy - (2 * kb * (1 - kb) * cb + 2 * kr * (1 - kr) * cr) / kg,
                                   yy + 2 * (1 - kb) * cb};
            for (int i = 0; i < 3; i++) {
              const double want = CLAMP(floor(ref[i] + 0.5), 0, 255);
              const double d = fabs(got[i] - want);
              if (d > 1)
                g_error("matrix %d range %d: YUV (%d, %d, %d) channel %d is %d, want %.0f", m,
                        range, Y, U, V, i, got[i], want);
              off += d != 0;
              total++;
            }
          }
      /* the 16.16 coefficients miss the real ones by < 2^-17: only values within ~0.01 of a
       * rounding boundary may land one level off */
      g_assert_cmpfloat((double)off / total, <, 0.01);
      uint8_t px[3];
      ufo_yuv_pixel(&c, range ? 0 : 16, 128, 128, px);
      g_assert_true(px[0] == 0 && px[1] == 0 && px[2] == 0);
      ufo_yuv_pixel(&c, range ? 255 : 235, 128, 128, px);
      g_assert_true(px[0] == 255 && px[1] == 255 && px[2] == 255);
      ufo_yuv_pixel(&c, range ? 100 : 16 + 100 * 219 / 255, 128, 128, px);
      g_assert_true(px[0] == px[1] && px[1] == px[2] && abs(px[0] - 100) <= 1);
    }
}

/* A planar frame equals the packed RGB frame of its converted pixels (chroma (x/2, y/2)), through
 * the op, for odd sizes: the chroma addressing of I420 and NV12. */
static void test_planar_as_rgb(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoPreprocessor *pp = ufo_preprocessor_new(be, &err);
  g_assert_no_error(err);
  GRand *rng = g_rand_new_with_seed(420);
  const int w = 23, h = 13, S = 16;
  for (int nv12 = 0; nv12 < 2; nv12++) {
    Frame fr;
    frame_make(&fr, nv12 ? UFO_PIXEL_NV12 : UFO_PIXEL_I420, w, h, 3, UFO_COLOR_MATRIX_BT709, 0,
               rng);
    UfoYuvCoefs c;
    ufo_yuv_coefs(UFO_COLOR_MATRIX_BT709, UFO_COLOR_RANGE_LIMITED, &c);
    g_autofree uint8_t *rgb = g_new(uint8_t, (size_t)w * h * 3);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) {
        const uint8_t *cu = fr.im.planes[0] + (y / 2) * fr.im.plane_stride[0];
        const uint8_t *cv = nv12 ? cu + 1 : fr.im.planes[1] + (y / 2) * fr.im.plane_stride[1];
        const int step = nv12 ? 2 : 1;
        ufo_yuv_pixel(&c, fr.im.data[y * fr.im.stride + x], cu[(x / 2) * step], cv[(x / 2) * step],
                      rgb + ((size_t)y * w + x) * 3);
      }
    UfoImage packed = {UFO_PIXEL_RGB, w, h, (size_t)w * 3, rgb};
    UfoPrepParams p = {
        .size = S, .resize = UFO_PREP_LINEAR_U8, .mean = {1, 2, 3}, .std = {4, 5, 6}};
    g_autoptr(UfoTensor) a = ufo_tensor_new_2d(be, 3, (int64_t)S * S, &err);
    g_autoptr(UfoTensor) b = ufo_tensor_new_2d(be, 3, (int64_t)S * S, &err);
    g_assert_no_error(err);
    g_assert_true(ufo_op_preprocess(pp, ufo_view(a), &fr.im, &p, &err));
    g_assert_true(ufo_op_preprocess(pp, ufo_view(b), &packed, &p, &err));
    g_assert_no_error(err);
    g_autofree float *ha = g_new(float, 3 * S * S), *hb = g_new(float, 3 * S * S);
    g_assert_true(ufo_tensor_download(a, 0, ha, 3 * S * S, &err));
    g_assert_true(ufo_tensor_download(b, 0, hb, 3 * S * S, &err));
    g_assert_cmpmem(ha, 3 * S * S * sizeof(float), hb, 3 * S * S * sizeof(float));
    frame_free(&fr);
  }
  g_rand_free(rng);
  ufo_preprocessor_free(pp);
  ufo_backend_free(be);
}

/* ufo_image_to_rgb_rows (the host path's vectorised conversion: chunks of 64 pixels) against
 * ufo_yuv_pixel and the packed channel order pixel by pixel: every format, widths around the
 * chunk size and odd ones (the last chroma sample of an odd row), padded rows and planes, every
 * matrix and range, row ranges starting on odd rows (chroma row y/2). */
static void test_to_rgb_rows(void)
{
  GRand *rng = g_rand_new_with_seed(64);
  static const int widths[] = {1, 2, 3, 63, 64, 65, 127, 130, 191};
  for (size_t f = 0; f < G_N_ELEMENTS(all_formats); f++)
    for (size_t wi = 0; wi < G_N_ELEMENTS(widths); wi++) {
      const int w = widths[wi], h = 5, r0 = (int)(wi % 2), r1 = h - (int)(f % 2);
      Frame fr;
      frame_make(&fr, all_formats[f], w, h, (int)(wi % 3) * 7, (int)(f + wi) % 5, (int)wi % 2, rng);
      const UfoImage *im = &fr.im;
      g_autofree uint8_t *got = g_new(uint8_t, (size_t)w * (r1 - r0) * 3);
      ufo_image_to_rgb_rows(im, got, r0, r1);
      UfoYuvCoefs c;
      ufo_yuv_coefs(im->matrix, im->range, &c);
      int bpp, idx[3];
      const gboolean packed = ufo_image_packed_layout(im->format, &bpp, idx);
      for (int y = r0; y < r1; y++)
        for (int x = 0; x < w; x++) {
          uint8_t want[3];
          const uint8_t *row = im->data + (size_t)y * im->stride;
          if (packed) {
            for (int k = 0; k < 3; k++)
              want[k] = row[(size_t)x * bpp + idx[k]];
          } else {
            const gboolean nv12 = im->format == UFO_PIXEL_NV12;
            const uint8_t *cu = im->planes[0] + (size_t)(y / 2) * im->plane_stride[0];
            const uint8_t *cv =
                nv12 ? cu + 1 : im->planes[1] + (size_t)(y / 2) * im->plane_stride[1];
            const int step = nv12 ? 2 : 1;
            ufo_yuv_pixel(&c, row[x], cu[(x / 2) * step], cv[(x / 2) * step], want);
          }
          const uint8_t *g = got + ((size_t)(y - r0) * w + x) * 3;
          if (memcmp(g, want, 3) != 0)
            g_error("format %d width %d: pixel (%d, %d) is (%d, %d, %d), want (%d, %d, %d)",
                    (int)im->format, w, x, y, g[0], g[1], g[2], want[0], want[1], want[2]);
        }
      frame_free(&fr);
    }
  g_rand_free(rng);
}

static void expect_invalid(UfoPreprocessor *pp, UfoView y, const UfoImage *im,
                           const UfoPrepParams *p, const char *needle)
{
  GError *err = NULL;
  g_assert_false(ufo_op_preprocess(pp, y, im, p, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  if (!strstr(err->message, needle))
    g_error("error '%s' does not mention '%s'", err->message, needle);
  g_error_free(err);
}

static void test_errors(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoBackend *other = ufo_backend_cpu_ref_new(&err);
  g_assert_no_error(err);
  UfoPreprocessor *pp = ufo_preprocessor_new(be, &err);
  g_assert_no_error(err);
  const int S = 4;
  g_autoptr(UfoTensor) t = ufo_tensor_new_2d(be, 3, S * S, &err);
  g_autoptr(UfoTensor) t_other = ufo_tensor_new_2d(other, 3, S * S, &err);
  g_assert_no_error(err);
  UfoView y = ufo_view(t);
  uint8_t px[64] = {0};
  UfoPrepParams p = {.size = S, .resize = UFO_PREP_LINEAR_U8, .mean = {0, 0, 0}, .std = {1, 1, 1}};
  UfoImage ok = {UFO_PIXEL_RGB, 2, 2, 6, px};
  g_assert_true(ufo_op_preprocess(pp, y, &ok, &p, &err));
  g_assert_no_error(err);
  UfoImage zero = {UFO_PIXEL_RGB, 0, 4, 12, px};
  expect_invalid(pp, y, &zero, &p, "0x4");
  UfoImage nodata = {UFO_PIXEL_RGB, 2, 2, 6, NULL};
  expect_invalid(pp, y, &nodata, &p, "no pixel data");
  UfoImage badstride = {UFO_PIXEL_RGBA, 4, 1, 8, px};
  expect_invalid(pp, y, &badstride, &p, "stride");
  UfoImage badfmt = {(UfoPixelFormat)42, 1, 1, 3, px};
  expect_invalid(pp, y, &badfmt, &p, "format");
  UfoImage noplanes = {UFO_PIXEL_I420, 3, 3, 3, px};
  expect_invalid(pp, y, &noplanes, &p, "chroma");
  UfoImage i420 = {UFO_PIXEL_I420, 3, 3, 3, px, {px, px}, {2, 1}};
  expect_invalid(pp, y, &i420, &p, "V plane");
  UfoImage nv12 = {UFO_PIXEL_NV12, 3, 3, 3, px, {px, NULL}, {3, 0}};
  expect_invalid(pp, y, &nv12, &p, "UV plane");
  nv12.plane_stride[0] = 4;
  nv12.matrix = (UfoColorMatrix)9;
  expect_invalid(pp, y, &nv12, &p, "matrix");
  nv12.matrix = UFO_COLOR_MATRIX_BT601;
  g_assert_true(ufo_op_preprocess(pp, y, &nv12, &p, &err));
  g_assert_no_error(err);
  UfoPrepParams bad = p;
  bad.size = 0;
  expect_invalid(pp, y, &ok, &bad, "size");
  bad = p;
  bad.resize = (UfoPrepResize)7;
  expect_invalid(pp, y, &ok, &bad, "resize");
  bad.resize = UFO_PREP_BICUBIC_PIL;
  bad.size = 3; /* y is 3 x 16, not 3 x 9 */
  expect_invalid(pp, y, &ok, &bad, "3 x 3*3");
  expect_invalid(pp, ufo_view_sub(y, 0, 0, 2, S * S), &ok, &p, "is not 3 x");
  expect_invalid(pp, ufo_view_at(t, 1, 3, S * S, S * S), &ok, &p, "outside");
  if (!ufo_backend_shares_memory(be, other))
    expect_invalid(pp, ufo_view(t_other), &ok, &p, "backend");
  expect_invalid(NULL, y, &ok, &p, "no preprocessor");
  g_clear_pointer(&t_other, ufo_tensor_free);
  ufo_preprocessor_free(pp);
  ufo_backend_free(other);
  g_clear_pointer(&t, ufo_tensor_free);
  ufo_backend_free(be);
}

/* Frames back to back, nothing synchronised in between, each frame's buffers overwritten right
 * after the op returns (the caller may reuse them then): every output bit-identical to the host
 * path on the untouched frame. More frames than the CUDA backend has staging buffers; the first
 * is the largest, so that no later frame grows a device buffer (a growth synchronises the
 * stream, which would hide a staging buffer written too early). */
static void test_back_to_back(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoPreprocessor *pp = ufo_preprocessor_new(be, &err);
  g_assert_no_error(err);
  GRand *rng = g_rand_new_with_seed(77);
  enum { N = 7 };
  const int S = 24;
  const struct {
    UfoPixelFormat f;
    int w, h;
  } fr_spec[N] = {{UFO_PIXEL_RGB, 120, 100}, {UFO_PIXEL_NV12, 61, 47}, {UFO_PIXEL_BGRA, 33, 20},
                  {UFO_PIXEL_I420, 90, 71},  {UFO_PIXEL_RGBX, 17, 9},  {UFO_PIXEL_NV12, 64, 48},
                  {UFO_PIXEL_RGB, 40, 30}};
  UfoPrepParams p = {.size = S,
                     .resize = UFO_PREP_LINEAR_U8,
                     .mean = {123.675f, 116.28f, 103.53f},
                     .std = {58.395f, 57.12f, 57.375f}};
  const size_t n = (size_t)S * S;
  UfoTensor *out[N];
  float *want[N];
  for (int i = 0; i < N; i++) {
    Frame fr;
    frame_make(&fr, fr_spec[i].f, fr_spec[i].w, fr_spec[i].h, i % 3, UFO_COLOR_MATRIX_BT601, 0,
               rng);
    want[i] = g_new(float, 3 * n);
    g_assert_true(ufo_preprocess_host(&fr.im, &p, want[i], n, &err));
    out[i] = ufo_tensor_new_2d(be, 3, (int64_t)n, &err);
    g_assert_no_error(err);
    g_assert_true(ufo_op_preprocess(pp, ufo_view(out[i]), &fr.im, &p, &err));
    g_assert_no_error(err);
    for (int b = 0; b < 3; b++) /* the frame's memory goes back to its owner */
      if (fr.buf[b])
        memset(fr.buf[b], 0x5a,
               b == 0 ? fr.im.stride * fr.im.height
                      : fr.im.plane_stride[b - 1] * ((fr.im.height + 1) / 2));
    frame_free(&fr);
  }
  g_autofree float *got = g_new(float, 3 * n);
  for (int i = 0; i < N; i++) {
    if (!ufo_tensor_download(out[i], 0, got, 3 * n, &err))
      g_error("%s: frame %d: %s", backend_name, i, err->message);
    if (memcmp(got, want[i], 3 * n * sizeof(float)) != 0)
      g_error("%s: frame %d of %d enqueued back to back differs from the host path", backend_name,
              i, N);
    ufo_tensor_free(out[i]);
    g_free(want[i]);
  }
  g_rand_free(rng);
  ufo_preprocessor_free(pp);
  ufo_backend_free(be);
}

/* The frame's planes copied into one tensor of be (padding included), and the image pointing
 * at them in UFO_MEMORY_CUDA. The tensor holds float32 elements: the bytes only travel. */
static UfoTensor *frame_to_device(UfoBackend *be, const Frame *fr, UfoImage *dev)
{
  const UfoImage *im = &fr->im;
  const size_t ch = ((size_t)im->height + 1) / 2;
  size_t size[3] = {im->stride * im->height, 0, 0}, off[3] = {0, 0, 0};
  const int n_planes = fr->buf[2] ? 3 : fr->buf[1] ? 2 : 1;
  for (int b = 1; b < n_planes; b++) {
    size[b] = im->plane_stride[b - 1] * ch;
    off[b] = (off[b - 1] + size[b - 1] + 255) / 256 * 256; /* planes 256-byte aligned */
  }
  const size_t total = off[n_planes - 1] + size[n_planes - 1];
  const size_t n_floats = (total + 3) / 4;
  g_autofree uint8_t *host = g_malloc0(n_floats * 4);
  for (int b = 0; b < n_planes; b++)
    memcpy(host + off[b], fr->buf[b], size[b]);
  g_autoptr(GError) err = NULL;
  UfoTensor *t = ufo_tensor_new_2d(be, 1, (int64_t)n_floats, &err);
  g_assert_no_error(err);
  g_assert_true(ufo_tensor_upload(t, 0, (const float *)host, n_floats, &err));
  g_assert_no_error(err);
  const uint8_t *base = t->data;
  *dev = *im;
  dev->memory = UFO_MEMORY_CUDA;
  dev->data = base;
  for (int b = 1; b < n_planes; b++)
    dev->planes[b - 1] = base + off[b];
  return t;
}

static void test_device_frames(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoPreprocessor *pp = ufo_preprocessor_new(be, &err);
  g_assert_no_error(err);
  const gboolean has_context = ufo_backend_cuda_context(be) != NULL;
  GRand *rng = g_rand_new_with_seed(91);
  const Geometry geo[] = {{1, 1, 5}, {61, 47, 32}, {100, 37, 24}, {40, 300, 36}};
  const UfoPrepResize resizes[] = {UFO_PREP_LINEAR_U8, UFO_PREP_LINEAR_F32, UFO_PREP_BICUBIC_PIL};
  int n_cases = 0;
  for (size_t f = 0; f < G_N_ELEMENTS(all_formats); f++)
    for (size_t g = 0; g < G_N_ELEMENTS(geo); g++) {
      const int S = geo[g].S;
      const size_t n = (size_t)S * S;
      Frame fr;
      /* a pitch like cuMemAllocPitch's: rows padded well beyond the width */
      frame_make(&fr, all_formats[f], geo[g].w, geo[g].h, 37 + (int)g * 64, (int)(f + g) % 5,
                 (int)g % 2, rng);
      UfoImage dev;
      UfoTensor *dt = frame_to_device(be, &fr, &dev);
      const UfoPrepResize resize = resizes[(f + g) % 3];
      UfoPrepParams p = {.size = S,
                         .resize = resize,
                         .mean = {123.675f, 116.28f, 103.53f},
                         .std = {58.395f, 57.12f, 57.375f}};
      g_autoptr(UfoTensor) out = ufo_tensor_new_2d(be, 3, (int64_t)n, &err);
      g_assert_no_error(err);
      const uint64_t up0 = be->bytes_up;
      GError *e = NULL;
      const gboolean ok = ufo_op_preprocess(pp, ufo_view(out), &dev, &p, &e);
      if (!has_context) {
        /* host-only backends refuse device memory, naming the way out */
        g_assert_false(ok);
        g_assert_error(e, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
        g_assert_nonnull(strstr(e->message, "CUDA device memory"));
        g_error_free(e);
      } else {
        if (!ok)
          g_error("%s: device frame %d %dx%d: %s", backend_name, (int)all_formats[f], geo[g].w,
                  geo[g].h, e->message);
        g_assert_cmpuint(be->bytes_up, ==, up0); /* read in place */
        g_autofree float *want = g_new(float, 3 * n);
        g_autofree float *got = g_new(float, 3 * n);
        g_assert_true(ufo_preprocess_host(&fr.im, &p, want, n, &err));
        g_assert_true(ufo_tensor_download(out, 0, got, 3 * n, &err));
        g_assert_no_error(err);
        if (memcmp(got, want, 3 * n * sizeof(float)) != 0)
          g_error("%s: device frame format %d %dx%d -> %d %s differs from the host path",
                  backend_name, (int)all_formats[f], geo[g].w, geo[g].h, S, resize_name(resize));
        n_cases++;
      }
      ufo_tensor_free(dt);
      frame_free(&fr);
    }
  g_assert_cmpint(n_cases, ==,
                  has_context ? (int)(G_N_ELEMENTS(all_formats) * G_N_ELEMENTS(geo)) : 0);
  /* the host path itself never reads device memory */
  uint8_t px[12] = {0};
  UfoImage on_dev = {UFO_PIXEL_RGB, 2, 2, 6, px};
  on_dev.memory = UFO_MEMORY_CUDA;
  UfoPrepParams p = {.size = 4, .resize = UFO_PREP_LINEAR_U8, .mean = {0, 0, 0}, .std = {1, 1, 1}};
  float out_host[48];
  g_assert_false(ufo_preprocess_host(&on_dev, &p, out_host, 16, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  g_clear_error(&err);
  /* an unknown memory kind is a bad argument everywhere */
  on_dev.memory = (UfoMemory)5;
  g_autoptr(UfoTensor) y = ufo_tensor_new_2d(be, 3, 16, &err);
  g_assert_false(ufo_op_preprocess(pp, ufo_view(y), &on_dev, &p, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  if (has_context) {
    /* host memory said to be device memory, and the other way round: refused by the pointer
     * checks (the driver's; the emulation's own allocations) before anything reads it */
    on_dev.memory = UFO_MEMORY_CUDA;
    g_assert_false(ufo_op_preprocess(pp, ufo_view(y), &on_dev, &p, &err));
    g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "not CUDA device memory"));
    g_clear_error(&err);
    Frame fr;
    frame_make(&fr, UFO_PIXEL_NV12, 6, 4, 3, 0, 0, rng);
    UfoImage dev;
    UfoTensor *dt = frame_to_device(be, &fr, &dev);
    dev.memory = UFO_MEMORY_HOST;
    g_assert_false(ufo_op_preprocess(pp, ufo_view(y), &dev, &p, &err));
    g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
    g_assert_nonnull(strstr(err->message, "says host memory"));
    g_clear_error(&err);
    ufo_tensor_free(dt);
    frame_free(&fr);
  }
  g_clear_pointer(&y, ufo_tensor_free);
  g_rand_free(rng);
  ufo_preprocessor_free(pp);
  ufo_backend_free(be);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
  g_test_add_func("/nn/preprocess/yuv-reference", test_yuv_reference);
  g_test_add_func("/nn/preprocess/planar-as-rgb", test_planar_as_rgb);
  g_test_add_func("/nn/preprocess/to-rgb-rows", test_to_rgb_rows);
  g_test_add_func("/nn/preprocess/formats-sizes", test_formats_sizes);
  if (strcmp(backend_name, "cpu") == 0)
    g_test_add_func("/nn/preprocess/bands", test_bands);
  g_test_add_func("/nn/preprocess/errors", test_errors);
  g_test_add_func("/nn/preprocess/back-to-back", test_back_to_back);
  g_test_add_func("/nn/preprocess/device-frames", test_device_frames);
  return g_test_run();
}
