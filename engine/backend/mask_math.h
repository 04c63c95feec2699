/* The per-pixel arithmetic of the segmentation mask ops (backend.h mask_*), one definition for
 * the CPU backend (cpu/masks.c), the host reference of the fixture tests (engine/tasks/masks.c)
 * and the CUDA kernels (cuda/masks.cu), so that the CPU and the host reference give the same
 * bits: PyTorch's bilinear interpolation with align_corners False and the reference's sigmoid
 * (seg §2.8, §0 item 2). Plain C; in the CUDA backend's sources (nvcc, or the emulation once
 * cuda_compat.h is included) the functions are also device functions. */
#ifndef UFO_BACKEND_MASK_MATH_H
#define UFO_BACKEND_MASK_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__CUDACC__) || defined(UFO_BACKEND_CUDA_COMPAT_H) /* included after cuda_compat.h */
#define UFO_MASK_FN static inline __host__ __device__
#else
#define UFO_MASK_FN static inline
#endif

/* Source taps of output index d along an axis of in -> out samples. */
typedef struct {
  int i0, i1;
  float l0, l1;
} UfoBilinearTap;

/* PyTorch area_pixel_compute_source_index (align_corners False): src = max(scale·(d + 0.5) −
 * 0.5, 0) with scale = in / out in float; i1 = i0 + 1 unless at the last sample (seg §2.8). */
UFO_MASK_FN UfoBilinearTap ufo_bilinear_tap(int in, int out, int d)
{
  const float scale = (float)in / (float)out;
  float src = scale * ((float)d + 0.5f) - 0.5f;
  if (src < 0.f)
    src = 0.f;
  UfoBilinearTap t;
  t.i0 = (int)src;
  float l1 = src - (float)t.i0;
  l1 = l1 < 0.f ? 0.f : l1 > 1.f ? 1.f : l1;
  t.i1 = t.i0 + (t.i0 < in - 1 ? 1 : 0);
  t.l1 = l1;
  t.l0 = 1.f - l1;
  return t;
}

/* The bilinear sample of map u (row stride ld) at taps (ty, tx): PyTorch's separable order,
 * rows blended along x first, then along y (seg §2.8). */
UFO_MASK_FN float ufo_bilinear_at(const float *u, int64_t ld, UfoBilinearTap ty, UfoBilinearTap tx)
{
  const float *r0 = u + (int64_t)ty.i0 * ld, *r1 = u + (int64_t)ty.i1 * ld;
  const float t0 = r0[tx.i0] * tx.l0 + r0[tx.i1] * tx.l1;
  const float t1 = r1[tx.i0] * tx.l0 + r1[tx.i1] * tx.l1;
  return t0 * ty.l0 + t1 * ty.l1;
}

/* exp(x) rounded to float, computed in double with plain arithmetic (no libm call), so that a
 * vector version (cpu/mask_vec.h) gives the same bits lane by lane: x·log2(e) = k + r with k
 * the nearest integer and |r| <= 1/2, 2^r by its Taylor polynomial of degree 11 (relative
 * error < 1e-14, Horner), 2^k from the exponent bits, one rounding to float at the end
 * (correct but for values within ~1e-14 of a rounding midpoint: never more than 1 ulp off).
 * Underflow to 0 and overflow to infinity happen where float's do; NaN stays NaN. */
#define UFO_EXP_C11 0x1.e8cac7351bb25p-32 /* (ln 2)^n / n! */
#define UFO_EXP_C10 0x1.e4cf5158b8ecap-28
#define UFO_EXP_C9 0x1.b5253d395e7c4p-24
#define UFO_EXP_C8 0x1.62c0223a5c824p-20
#define UFO_EXP_C7 0x1.ffcbfc588b0c7p-17
#define UFO_EXP_C6 0x1.430912f86c787p-13
#define UFO_EXP_C5 0x1.5d87fe78a6731p-10
#define UFO_EXP_C4 0x1.3b2ab6fba4e77p-7
#define UFO_EXP_C3 0x1.c6b08d704a0c0p-5
#define UFO_EXP_C2 0x1.ebfbdff82c58fp-3
#define UFO_EXP_C1 0x1.62e42fefa39efp-1
#define UFO_EXP_LOG2E 0x1.71547652b82fep0
#define UFO_EXP_SHIFT 0x1.8p52 /* y + shift rounds y to an integer, kept in the low bits */
/* 2^r by Horner's rule, one expression for a double or a vector of doubles (cpu/mask_vec.h),
 * so both take the same operations in the same order: each step a·r + c through STEP(a, r, c),
 * a fused multiply-add where the target has one (UFO_EXP_FMA: the step rounds once, and the
 * eleven steps' chain of dependent operations is half as long), else a product and a sum. */
#if defined(__FMA__) || defined(__ARM_FEATURE_FMA)
#define UFO_EXP_FMA 1
#define UFO_EXP_STEP(a, r, c) fma((a), (r), (c))
#else
#define UFO_EXP_FMA 0
#define UFO_EXP_STEP(a, r, c) ((a) * (r) + (c))
#endif
/* SPLAT(c): the constant c as the operand type (a double, or a vector of doubles) */
/* clang-format off */
#define UFO_EXP_POLY(STEP, SPLAT, r)                                                             \
  STEP(STEP(STEP(STEP(STEP(STEP(STEP(STEP(STEP(STEP(STEP(SPLAT(UFO_EXP_C11), r,                  \
      SPLAT(UFO_EXP_C10)), r, SPLAT(UFO_EXP_C9)), r, SPLAT(UFO_EXP_C8)), r, SPLAT(UFO_EXP_C7)),   \
      r, SPLAT(UFO_EXP_C6)), r, SPLAT(UFO_EXP_C5)), r, SPLAT(UFO_EXP_C4)), r, SPLAT(UFO_EXP_C3)), \
      r, SPLAT(UFO_EXP_C2)), r, SPLAT(UFO_EXP_C1)), r, SPLAT(1.0))
#define UFO_EXP_SCALAR(c) (c)
/* clang-format on */

UFO_MASK_FN float ufo_mask_exp(float x)
{
  double y = (double)x * UFO_EXP_LOG2E;
  y = y < -200.0 ? -200.0 : y > 200.0 ? 200.0 : y; /* far past float's range; NaN kept */
  const double kd = y + UFO_EXP_SHIFT;
  uint64_t ki;
  memcpy(&ki, &kd, sizeof ki);
  const double r = y - (kd - UFO_EXP_SHIFT);
  const double p = UFO_EXP_POLY(UFO_EXP_STEP, UFO_EXP_SCALAR, r);
  const uint64_t sb = (ki + 1023u) << 52; /* 2^k: k + 1023 in the exponent field */
  double sc;
  memcpy(&sc, &sb, sizeof sc);
  return (float)(p * sc);
}

/* The reference's sigmoid 1 / (1 + exp(−x)) in float: exactly 0 below about −88.7 (seg §0
 * item 2), unlike a numerically stable form. On the host, exp is ufo_mask_exp (the CPU
 * backend's vector loops give the same bits); on a GPU, the device's expf. */
UFO_MASK_FN float ufo_mask_sigmoid(float x)
{
#ifdef __CUDA_ARCH__
  return 1.f / (1.f + expf(-x));
#else
  return 1.f / (1.f + ufo_mask_exp(-x));
#endif
}

/* Objects per matrix product of the mask logits (backend.h mask_logits, seg §2.6) on the host:
 * the rows of E (16 per object) of UFO_MASK_LOGITS_GROUP objects at a time, from object 0 (the
 * last group holds the rest), times F^T in one product. One product per object packs F once per
 * object (100 times for 100 objects); in groups the CPU's products run 2-3x faster. The groups
 * are fixed, not the workers' shares, because OpenBLAS's kernels may sum a row differently in
 * products of other heights (its Haswell kernels do): the logits must not depend on the number
 * of threads. The host reference (engine/tasks/masks.c) groups the same way. */
#define UFO_MASK_LOGITS_GROUP 16

/* A probability as a byte (ufo.h UFO_MASK_GRAY8, GStreamer's GRAY8 probability masks): NaN and
 * p <= 0 give 0, p >= 1 gives 255, else 255·p (rounded to float) rounded half to even. On the
 * host (C11: no contraction), adding and taking away 2^23 leaves the nearest integer of a float
 * in [0, 2^23) in one rounding (as lrintf; inline and vectorisable). The CUDA sources (nvcc, and
 * the emulation's C++) fuse a product with the next addition, which would round 255·p + 2^23
 * once, not 255·p first (0.813725471 → 207 instead of 208): there, rintf rounds the product. */
UFO_MASK_FN uint8_t ufo_mask_gray8(float p)
{
  float v = p > 0.f ? p : 0.f;
  v = (v < 1.f ? v : 1.f) * 255.f;
#if defined(__CUDACC__) || defined(UFO_BACKEND_CUDA_COMPAT_H)
  return (uint8_t)(int)rintf(v);
#else
  return (uint8_t)(int)((v + 0x1p23f) - 0x1p23f);
#endif
}

#endif
