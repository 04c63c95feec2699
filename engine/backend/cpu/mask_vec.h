/* UFO_MASK_LANES pixels at a time of the mask ops' per-pixel arithmetic (backend/mask_math.h):
 * the bilinear blend and ufo_mask_sigmoid with the same operations in the same order per
 * lane, through GCC/Clang vector extensions (8 floats: one AVX2 register, their doubles one
 * AVX-512 or two AVX2 registers under -march=native; SSE registers otherwise). IEEE operations
 * round the same in a vector lane as in a scalar register, so every lane gives the bits of the
 * scalar functions; tests/engine/nn/test_mask_vec.c checks it over every float exponent, the
 * specials and the blend. */
#ifndef UFO_CPU_MASK_VEC_H
#define UFO_CPU_MASK_VEC_H

#include "../hot_loop.h"
#include "../mask_math.h"

#include <stdint.h>
#include <string.h>

#define UFO_MASK_LANES 8

typedef float UfoVf __attribute__((vector_size(4 * UFO_MASK_LANES)));
typedef double UfoVd __attribute__((vector_size(8 * UFO_MASK_LANES)));
typedef uint64_t UfoVu __attribute__((vector_size(8 * UFO_MASK_LANES)));

static inline UfoVf ufo_vf_load(const float *p)
{
  UfoVf v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline void ufo_vf_store(float *p, UfoVf v)
{
  memcpy(p, &v, sizeof v);
}

typedef int32_t UfoVi __attribute__((vector_size(4 * UFO_MASK_LANES)));

/* c in every lane */
UFO_HOT_INLINE static inline UfoVd ufo_vd_splat(double c)
{
  UfoVd v;
  for (int i = 0; i < UFO_MASK_LANES; i++)
    v[i] = c;
  return v;
}

/* UFO_EXP_STEP lane by lane: a·r + c, fused where the scalar step is (the compiler makes one
 * vector fused multiply-add of the lanes' fma calls) */
UFO_HOT_INLINE static inline UfoVd ufo_vd_step(UfoVd a, UfoVd r, UfoVd c)
{
#if UFO_EXP_FMA
  UfoVd v;
  for (int i = 0; i < UFO_MASK_LANES; i++)
    v[i] = fma(a[i], r[i], c[i]);
  return v;
#else
  return a * r + c;
#endif
}

/* ufo_mask_exp, lane by lane. Lanes with |x| <= 128 need none of its clamping (at |x·log2 e|
 * > 200) and run here; a vector with any other lane (or NaN) goes lane by lane through the
 * scalar function, which gives the same bits for the others. */
UFO_HOT_INLINE static inline UfoVf ufo_v_exp(UfoVf x)
{
  const UfoVi odd = ~((x >= -128.f) & (x <= 128.f));
  int any_odd = 0; /* a lane reduction, not memcmp: no library call per vector */
  for (int i = 0; i < UFO_MASK_LANES; i++)
    any_odd |= odd[i];
  if (any_odd) {
    UfoVf e;
    for (int i = 0; i < UFO_MASK_LANES; i++)
      e[i] = ufo_mask_exp(x[i]);
    return e;
  }
  const UfoVd y = __builtin_convertvector(x, UfoVd) * UFO_EXP_LOG2E;
  const UfoVd kd = y + UFO_EXP_SHIFT;
  const UfoVd r = y - (kd - UFO_EXP_SHIFT);
  const UfoVd p = UFO_EXP_POLY(ufo_vd_step, ufo_vd_splat, r);
  const UfoVd sc = (UfoVd)(((UfoVu)kd + 1023u) << 52); /* 2^k */
  return __builtin_convertvector(p * sc, UfoVf);
}

/* ufo_mask_sigmoid, lane by lane */
UFO_HOT_INLINE static inline UfoVf ufo_v_sigmoid(UfoVf x)
{
  return 1.f / (1.f + ufo_v_exp(-x));
}

/* a where m is set, else b (lane by lane; m: a comparison's lanes) */
UFO_HOT_INLINE static inline UfoVf ufo_vf_select(UfoVi m, UfoVf a, UfoVf b)
{
  return (UfoVf)(((UfoVi)a & m) | ((UfoVi)b & ~m));
}

/* A sigmoid for bounds and certified sums only, never for a value that is kept: float
 * arithmetic on the lanes (Cephes' expf: exp(t) = 2^k·P(r), t = k·ln 2 + r with ln 2 in two
 * parts, P of degree 7; then 1 / (1 + exp(−x))), several times cheaper than ufo_v_sigmoid's
 * double polynomial. For x >= −87 it is within UFO_SIGMOID_APPROX_REL of the real sigmoid,
 * relatively (nn-mask-vec /sigmoid-approx: measured ≈ 2^-22 over every 61st float of [−87,
 * 104]); below −87 it lies in (0, 2e-38] where the reference's float sigmoid is below 1.7e-38 or
 * 0: an absolute error under 2e-38. NaN gives NaN. */
#define UFO_SIGMOID_APPROX_REL 0x1p-19

UFO_HOT_INLINE static inline UfoVf ufo_v_sigmoid_approx(UfoVf x)
{
  const UfoVi nan = x != x;
  UfoVf t = ufo_vf_select(nan, (UfoVf){0}, -x); /* exp(t), t = −x clamped to [−87, 87] */
  t = ufo_vf_select(t < -87.f, (UfoVf){0} - 87.f, t);
  t = ufo_vf_select(t > 87.f, (UfoVf){0} + 87.f, t);
  const UfoVf kf = (t * 1.44269504088896341f + 0x1.8p23f) - 0x1.8p23f; /* nearest integer */
  const UfoVf r = (t - kf * 0.693359375f) + kf * 2.12194440e-4f;
  UfoVf p = r * 1.9875691500e-4f + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.f;
  const UfoVi k = __builtin_convertvector(kf, UfoVi); /* in [−126, 126] */
  const UfoVf e = p * (UfoVf)((k + 127) << 23);       /* 2^k from the exponent bits */
  return ufo_vf_select(nan, x, 1.f / (1.f + e));
}

/* ufo_mask_gray8 lane by lane into dst[0..UFO_MASK_LANES): the same IEEE operations (a lane's
 * p > 0 selects p, else +0; v < 1 selects v, else 1) */
static inline void ufo_v_gray8(UfoVf p, uint8_t *dst)
{
  const UfoVf one = (UfoVf){0} + 1.f;
  UfoVf v = (UfoVf)((UfoVi)p & (UfoVi)(p > 0.f));
  const UfoVi lt = (UfoVi)(v < 1.f);
  v = (UfoVf)(((UfoVi)v & lt) | ((UfoVi)one & ~lt)) * 255.f;
  const UfoVi q = __builtin_convertvector((v + 0x1p23f) - 0x1p23f, UfoVi);
  uint8_t b[UFO_MASK_LANES];
  for (int i = 0; i < UFO_MASK_LANES; i++)
    b[i] = (uint8_t)q[i];
  memcpy(dst, b, sizeof b);
}

/* ufo_bilinear_at's blend along x of source row src for output columns x..x+LANES-1 (taps
 * tx[x..]): src[i0]·l0 + src[i1]·l1 */
static inline UfoVf ufo_v_blend_x(const float *src, const UfoBilinearTap *tx)
{
  UfoVf a, b, l0, l1;
  for (int i = 0; i < UFO_MASK_LANES; i++) {
    a[i] = src[tx[i].i0];
    b[i] = src[tx[i].i1];
    l0[i] = tx[i].l0;
    l1[i] = tx[i].l1;
  }
  return a * l0 + b * l1;
}

#endif
