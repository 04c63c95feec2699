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

/* The reference's sigmoid 1 / (1 + exp(−x)) in float: exactly 0 below about −88.7 (seg §0
 * item 2), unlike a numerically stable form. */
UFO_MASK_FN float ufo_mask_sigmoid(float x)
{
  return 1.f / (1.f + expf(-x));
}

#endif
