/* PIL Image.resize(BICUBIC) emulation on uint8 (inference spec §3.1 step 2, §8 item 9): Pillow's
 * separable resampler with a = −0.5, the kernel widened by the scale when downscaling
 * (antialias), weights normalised to sum 1 then converted to 22-bit fixed point, rounding and
 * clipping to uint8 after the horizontal pass and again after the vertical pass. */
#include "preprocess.h"

#include <math.h>
#include <string.h>

static double bicubic(double x)
{
  const double a = -0.5; /* PIL's bicubic constant */
  if (x < 0.0)
    x = -x;
  if (x < 1.0)
    return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0)
    return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

void ufo_pil_table(UfoPilTable *t, int in_size, int out_size)
{
  t->n = out_size;
  const double scale = (double)in_size / out_size;
  const double filterscale = scale < 1.0 ? 1.0 : scale; /* antialias: widen when downscaling */
  const double support = 2.0 * filterscale;             /* bicubic support 2 */
  t->ksize = (int)ceil(support) * 2 + 1;
  t->xmin = g_new(int32_t, out_size);
  t->xcount = g_new(int32_t, out_size);
  t->k = g_new0(int32_t, (size_t)out_size * t->ksize);
  double *w = g_new(double, t->ksize);
  for (int xx = 0; xx < out_size; xx++) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = (int)(center - support + 0.5); /* C truncation, as Pillow */
    if (xmin < 0)
      xmin = 0;
    int xmax = (int)(center + support + 0.5);
    if (xmax > in_size)
      xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; x++) {
      w[x] = bicubic((x + xmin - center + 0.5) * ss);
      ww += w[x];
    }
    for (int x = 0; x < xmax; x++) {
      double v = ww != 0.0 ? w[x] / ww : w[x];
      /* Pillow normalize_coeffs_8bpc: round half away from zero by truncation */
      double s = v * (1 << UFO_PIL_PRECISION_BITS);
      t->k[(size_t)xx * t->ksize + x] = (int32_t)(v < 0 ? -0.5 + s : 0.5 + s);
    }
    t->xmin[xx] = xmin;
    t->xcount[xx] = xmax;
  }
  g_free(w);
}

void ufo_pil_table_free(UfoPilTable *t)
{
  g_free(t->xmin);
  g_free(t->xcount);
  g_free(t->k);
  memset(t, 0, sizeof *t);
}

static inline uint8_t clip8(int32_t in)
{
  if (in >= (1 << UFO_PIL_PRECISION_BITS << 8))
    return 255;
  if (in <= 0)
    return 0;
  return (uint8_t)(in >> UFO_PIL_PRECISION_BITS);
}

/* Horizontal pass over `rows` rows of src (row stride sstride) into dst (rows, dw, cn). */
static void pil_hpass(const uint8_t *src, size_t sstride, int rows, int cn, const UfoPilTable *tx,
                      int dw, uint8_t *dst)
{
  const size_t rw = (size_t)dw * cn;
  for (int y = 0; y < rows; y++) {
    const uint8_t *s = src + (size_t)y * sstride;
    uint8_t *r = dst + (size_t)y * rw;
    for (int xx = 0; xx < dw; xx++) {
      const int32_t *k = tx->k + (size_t)xx * tx->ksize;
      const uint8_t *p = s + (size_t)tx->xmin[xx] * cn;
      for (int c = 0; c < cn; c++) {
        int32_t acc = 1 << (UFO_PIL_PRECISION_BITS - 1); /* rounding offset */
        for (int x = 0; x < tx->xcount[xx]; x++)
          acc += p[x * cn + c] * k[x];
        r[xx * cn + c] = clip8(acc);
      }
    }
  }
}

/* Vertical pass: dst rows y0..y1-1 (at dst) blend src rows ty->xmin[yy] - row0 ... (row width rw
 * bytes). */
static void pil_vpass(const uint8_t *src, size_t sstride, size_t rw, int row0,
                      const UfoPilTable *ty, int y0, int y1, uint8_t *dst)
{
  for (int yy = y0; yy < y1; yy++) {
    const int32_t *k = ty->k + (size_t)yy * ty->ksize;
    const uint8_t *base = src + (size_t)(ty->xmin[yy] - row0) * sstride;
    uint8_t *d = dst + (size_t)(yy - y0) * rw;
    for (size_t x = 0; x < rw; x++) {
      int32_t acc = 1 << (UFO_PIL_PRECISION_BITS - 1);
      for (int y = 0; y < ty->xcount[yy]; y++)
        acc += base[(size_t)y * sstride + x] * k[y];
      d[x] = clip8(acc);
    }
  }
}

/* Pillow 13 ImagingResampleInner: when the height shrinks by more than twice what the width
 * shrinks, the vertical pass runs first (older Pillow always ran horizontal first; the two orders
 * differ by at most one grey level). A pass whose size is unchanged is an identity. */
gboolean ufo_pil_horizontal_first(int sw, int sh, int dw, int dh)
{
  return !((sh - dh) > 0 && (sh - dh) > (sw - dw) * 2);
}

void ufo_resize_bicubic_pil_u8_rows(const uint8_t *src, int row0, int sw, int sh, size_t sstride,
                                    int cn, uint8_t *dst, int dw, int dh, int y0, int y1)
{
  UfoPilTable tx, ty;
  ufo_pil_table(&tx, sw, dw);
  ufo_pil_table(&ty, sh, dh);
  if (ufo_pil_horizontal_first(sw, sh, dw, dh)) {
    /* only the source rows the vertical pass reads go through the horizontal pass */
    int y_first = sh, y_last = 0;
    for (int y = y0; y < y1; y++)
      y_first = MIN(y_first, ty.xmin[y]), y_last = MAX(y_last, ty.xmin[y] + ty.xcount[y]);
    const size_t rw = (size_t)dw * cn;
    uint8_t *tmp = g_new(uint8_t, (size_t)(y_last - y_first) * rw);
    pil_hpass(src + (size_t)(y_first - row0) * sstride, sstride, y_last - y_first, cn, &tx, dw,
              tmp);
    pil_vpass(tmp, rw, rw, y_first, &ty, y0, y1, dst);
    g_free(tmp);
  } else {
    const size_t rw = (size_t)sw * cn;
    uint8_t *tmp = g_new(uint8_t, (size_t)(y1 - y0) * rw);
    pil_vpass(src, sstride, rw, row0, &ty, y0, y1, tmp);
    pil_hpass(tmp, rw, y1 - y0, cn, &tx, dw, dst);
    g_free(tmp);
  }
  ufo_pil_table_free(&tx);
  ufo_pil_table_free(&ty);
}

void ufo_resize_bicubic_pil_u8(const uint8_t *src, int sw, int sh, size_t sstride, int cn,
                               uint8_t *dst, int dw, int dh)
{
  ufo_resize_bicubic_pil_u8_rows(src, 0, sw, sh, sstride, cn, dst, dw, dh, 0, dh);
}
