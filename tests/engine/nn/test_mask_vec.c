/* The mask ops' exp and sigmoid (backend/mask_math.h ufo_mask_exp, ufo_mask_sigmoid) and their
 * vector lanes (backend/cpu/mask_vec.h): the vector functions give the scalar functions' bits
 * lane by lane, over every float exponent (a spread of mantissas each), the specials and lanes
 * that mix the vector path's range with values outside it; ufo_mask_exp is within 1 ulp of
 * exp in double everywhere (correctly rounded but for rare near-midpoint values: counted); the
 * sigmoid keeps the reference's exact 0 below ≈ −88.7 (seg §0 item 2); the bounds' float
 * sigmoid keeps its error bound; the blend along x is ufo_bilinear_at's. */
#include "backend/cpu/mask_vec.h"

#include <glib.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static float from_bits(uint32_t b)
{
  float f;
  memcpy(&f, &b, sizeof f);
  return f;
}

static uint32_t to_bits(float f)
{
  uint32_t b;
  memcpy(&b, &f, sizeof b);
  return b;
}

/* the floats of the test: every exponent with 64 mantissas spread over it, both signs, plus
 * the specials and the edges of the vector path's range and of float's exp */
static float *values(size_t *n)
{
  static const float specials[] = {
      0.f,         -0.f,       INFINITY,    -INFINITY, NAN,       -NAN,       128.f,
      -128.f,      128.00002f, -128.00002f, 88.72283f, 88.72284f, -87.33654f, -103.97208f,
      -103.97209f, 138.6f,     -138.6f,     1e-45f,    -1e-45f,   3.4e38f,    -3.4e38f};
  GArray *a = g_array_new(FALSE, FALSE, sizeof(float));
  g_array_append_vals(a, specials, G_N_ELEMENTS(specials));
  for (uint32_t e = 0; e < 255; e++)
    for (uint32_t k = 0; k < 64; k++) {
      const uint32_t mant = (k * 0x1fffffu / 63u) ^ (k * 2654435761u >> 9 & 0x7fffffu);
      for (uint32_t sign = 0; sign < 2; sign++) {
        const float f = from_bits(sign << 31 | e << 23 | (mant & 0x7fffffu));
        g_array_append_val(a, f);
      }
    }
  /* dense in the range that matters for masks: every 997th float of [-110, 110] */
  for (uint32_t b = 0; b < to_bits(110.f); b += 997) {
    const float p = from_bits(b), m = -p;
    g_array_append_val(a, p);
    g_array_append_val(a, m);
  }
  *n = a->len;
  return (float *)g_array_free(a, FALSE);
}

static gboolean same_bits(float a, float b)
{
  return to_bits(a) == to_bits(b) || (isnan(a) && isnan(b));
}

/* vector lanes = scalar calls, for lanes taken in order (runs of the vector path) and with the
 * values shuffled so that in-range and out-of-range lanes share a vector */
/* ufo_mask_gray8 against lrintf (the current rounding mode: to nearest, ties to even) of
 * 255·p in float: every 61st float of [0, 1] (their bit patterns), the exact halves k + 0.5 of
 * the scale, the ends and the specials. */
static void test_gray8(void)
{
  for (uint32_t b = 0; b <= to_bits(1.f); b += 61) {
    const float p = from_bits(b);
    if (ufo_mask_gray8(p) != lrintf(p * 255.f))
      g_error("gray8(%.9g) = %d, lrintf gives %ld", p, ufo_mask_gray8(p), lrintf(p * 255.f));
  }
  for (int k = 0; k < 255; k++) { /* p with 255·p exactly k + 0.5: to the even neighbour */
    const float v = (float)k + 0.5f, p = v / 255.f;
    if (p * 255.f == v)
      g_assert_cmpint(ufo_mask_gray8(p), ==, k % 2 ? k + 1 : k);
  }
  g_assert_cmpint(ufo_mask_gray8(0.f), ==, 0);
  g_assert_cmpint(ufo_mask_gray8(-0.f), ==, 0);
  g_assert_cmpint(ufo_mask_gray8(-1e-3f), ==, 0);
  g_assert_cmpint(ufo_mask_gray8(-INFINITY), ==, 0);
  g_assert_cmpint(ufo_mask_gray8(NAN), ==, 0);
  g_assert_cmpint(ufo_mask_gray8(1.f), ==, 255);
  g_assert_cmpint(ufo_mask_gray8(1.5f), ==, 255);
  g_assert_cmpint(ufo_mask_gray8(INFINITY), ==, 255);
  g_assert_cmpint(ufo_mask_gray8(0.75f), ==, 191); /* 191.25 */
}

static void test_lanes(void)
{
  size_t n;
  g_autofree float *v = values(&n);
  for (int pass = 0; pass < 2; pass++) {
    guint32 seed = 7;
    for (size_t i = 0; i + UFO_MASK_LANES <= n; i += pass ? 1 : UFO_MASK_LANES) {
      UfoVf x;
      for (int l = 0; l < UFO_MASK_LANES; l++) {
        seed = seed * 1664525u + 1013904223u;
        x[l] = pass ? v[(i + (seed >> 8) % 64) % n] : v[i + l];
      }
      const UfoVf e = ufo_v_exp(x), s = ufo_v_sigmoid(x);
      for (int l = 0; l < UFO_MASK_LANES; l++) {
        if (!same_bits(e[l], ufo_mask_exp(x[l])))
          g_error("exp(%a): lane %a, scalar %a", x[l], e[l], ufo_mask_exp(x[l]));
        if (!same_bits(s[l], ufo_mask_sigmoid(x[l])))
          g_error("sigmoid(%a): lane %a, scalar %a", x[l], s[l], ufo_mask_sigmoid(x[l]));
      }
    }
  }
}

/* ufo_mask_exp against exp in double: within 1 ulp of float, exact 0 / inf / NaN where float's
 * exp has them */
static void test_accuracy(void)
{
  size_t n;
  g_autofree float *v = values(&n);
  size_t off = 0, checked = 0;
  for (size_t i = 0; i < n; i++) {
    const float x = v[i], got = ufo_mask_exp(x);
    const double want = exp((double)x);
    if (isnan(x)) {
      g_assert_true(isnan(got));
      continue;
    }
    const float want_f = (float)want; /* the correctly rounded float (double rounding aside) */
    if (want_f == 0.f || isinf(want_f) || want_f < 1.2e-38f) { /* zero, overflow, denormals */
      const float below = nextafterf(want_f, -INFINITY), above = nextafterf(want_f, INFINITY);
      if (!(got == want_f || got == below || got == above))
        g_error("exp(%a) = %a, want %a", x, got, want_f);
      off += got != want_f;
      continue;
    }
    checked++;
    if (got != want_f) {
      /* one ulp at most, and only where exp(x) lies near the midpoint of two floats */
      const double ulp = (double)nextafterf(want_f, INFINITY) - (double)want_f;
      if (fabs((double)got - want) > 0.5 * ulp + 1e-12 * want)
        g_error("exp(%a) = %a, want %a (exp %.17g)", x, got, want_f, want);
      off++;
    }
  }
  g_test_message("ufo_mask_exp: %zu of %zu values not the correctly rounded float", off, checked);
  g_assert_cmpuint(off, <=, checked / 100000 + 2);
}

/* the reference's sigmoid: exactly 0 where exp(−x) overflows (x < ≈ −88.72), 1 far above */
static void test_sigmoid(void)
{
  g_assert_cmpfloat(ufo_mask_sigmoid(-88.8f), ==, 0.f);
  g_assert_cmpfloat(ufo_mask_sigmoid(-707.1f), ==, 0.f);
  g_assert_cmpfloat(ufo_mask_sigmoid(-88.7f), >, 0.f);
  g_assert_cmpfloat(ufo_mask_sigmoid(0.f), ==, 0.5f);
  g_assert_cmpfloat(ufo_mask_sigmoid(40.f), ==, 1.f);
  for (float x = -30.f; x <= 30.f; x += 0.37f) {
    const double want = 1.0 / (1.0 + exp(-(double)x));
    g_assert_cmpfloat(fabs(ufo_mask_sigmoid(x) - want), <=, 2e-7 * want);
  }
  UfoVf x = {-1000.f, -88.8f, -10.f, 0.f, 3.f, 88.f, 200.f, NAN};
  const UfoVf s = ufo_v_sigmoid(x);
  g_assert_cmpfloat(s[0], ==, 0.f);
  g_assert_cmpfloat(s[1], ==, 0.f);
  g_assert_cmpfloat(s[3], ==, 0.5f);
  g_assert_cmpfloat(s[6], ==, 1.f);
  g_assert_true(isnan(s[7]));
}

/* ufo_v_sigmoid_approx (the bounds' sigmoid): within UFO_SIGMOID_APPROX_REL of the sigmoid in
 * double, relatively, at every 61st float of [−87, 104] (bit patterns, both signs; above 17 it
 * is 1); below −87 in (0, 2e-38]; NaN stays NaN */
static void test_sigmoid_approx(void)
{
  double worst = 0.0;
  size_t checked = 0;
  for (int sign = 0; sign < 2; sign++) {
    const uint32_t end = to_bits(sign ? 87.f : 104.f);
    for (uint32_t b = 0; b <= end; b += 8 * 61) {
      UfoVf x;
      for (int i = 0; i < UFO_MASK_LANES; i++)
        x[i] = from_bits((uint32_t)sign << 31 | MIN(b + 61u * (uint32_t)i, end));
      const UfoVf got = ufo_v_sigmoid_approx(x);
      for (int i = 0; i < UFO_MASK_LANES; i++) {
        const double want = 1.0 / (1.0 + exp(-(double)x[i]));
        const double rel = fabs((double)got[i] - want) / want;
        if (!(rel <= UFO_SIGMOID_APPROX_REL))
          g_error("sigmoid_approx(%a) = %a, want %.17g (relative error %.3g)", x[i], got[i], want,
                  rel);
        worst = MAX(worst, rel);
        checked++;
      }
    }
  }
  g_test_message("ufo_v_sigmoid_approx: %zu values, worst relative error %.3g (2^%.1f)", checked,
                 worst, log2(worst));
  const UfoVf far = {-87.0001f, -88.8f, -100.f, -1000.f, -INFINITY, -3e38f, -87.5f, -95.f};
  const UfoVf got = ufo_v_sigmoid_approx(far);
  for (int i = 0; i < UFO_MASK_LANES; i++) {
    g_assert_cmpfloat(got[i], >, 0.f);
    g_assert_cmpfloat(got[i], <=, 2e-38f);
  }
  const UfoVf odd = {NAN, INFINITY, 0.f, -0.f, 3e38f, 1e-45f, -1e-45f, 17.f};
  const UfoVf o = ufo_v_sigmoid_approx(odd);
  g_assert_true(isnan(o[0]));
  g_assert_cmpfloat(o[1], ==, 1.f);
  g_assert_cmpfloat(fabsf(o[2] - 0.5f), <=, 0x1p-24f);
  g_assert_cmpfloat(fabsf(o[3] - 0.5f), <=, 0x1p-24f);
  g_assert_cmpfloat(o[4], ==, 1.f);
}

/* the blend along x = ufo_bilinear_at's first step (its value at ty = (r, r, 1, 0)) */
static void test_blend(void)
{
  const int in = 13, out = 3 * UFO_MASK_LANES + 5;
  float src[13];
  for (int i = 0; i < in; i++)
    src[i] = (float)(i * i) * 0.731f - 20.f;
  UfoBilinearTap tx[3 * UFO_MASK_LANES + 5];
  for (int x = 0; x < out; x++)
    tx[x] = ufo_bilinear_tap(in, out, x);
  const UfoBilinearTap ty = {0, 0, 1.f, 0.f};
  for (int x = 0; x + UFO_MASK_LANES <= out; x++) {
    const UfoVf b = ufo_v_blend_x(src, tx + x);
    for (int l = 0; l < UFO_MASK_LANES; l++) {
      const float want = ufo_bilinear_at(src, in, ty, tx[x + l]);
      g_assert_true(same_bits(b[l], want));
    }
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/nn/mask-vec/gray8", test_gray8);
  g_test_add_func("/nn/mask-vec/lanes", test_lanes);
  g_test_add_func("/nn/mask-vec/accuracy", test_accuracy);
  g_test_add_func("/nn/mask-vec/sigmoid", test_sigmoid);
  g_test_add_func("/nn/mask-vec/sigmoid-approx", test_sigmoid_approx);
  g_test_add_func("/nn/mask-vec/blend", test_blend);
  return g_test_run();
}
