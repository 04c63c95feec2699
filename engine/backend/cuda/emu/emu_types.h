/* CUDA emulation (docs/cuda-emulation.md): the value types kernels use — dim3/uint3, the vector
 * types (float2, float4, int2, int4, uint2, uint4 with make_*), and the 16-bit floats
 * __nv_bfloat16 / __nv_bfloat162 / __half / __half2 with conversions bit-identical to the
 * hardware's cvt.rn (round to nearest even, fp16 subnormals, NaN -> canonical 0x7fff, overflow
 * -> inf). Everything lives in namespace ufo_emu (cuda_emu.h adds the using-directive). */
#ifndef UFO_CUDA_EMU_TYPES_H
#define UFO_CUDA_EMU_TYPES_H

#include <stdint.h>
#include <string.h>

namespace ufo_emu
{

/* ---- index types ---- */

struct uint3 {
  unsigned x, y, z;
};

struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz)
  {
  }
  constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z)
  {
  }
};

/* ---- vector types (alignment as in CUDA's vector_types.h) ---- */

struct alignas(8) float2 {
  float x, y;
};
struct alignas(16) float4 {
  float x, y, z, w;
};
struct alignas(8) int2 {
  int x, y;
};
struct alignas(16) int4 {
  int x, y, z, w;
};
struct alignas(8) uint2 {
  unsigned x, y;
};
struct alignas(16) uint4 {
  unsigned x, y, z, w;
};

static inline float2 make_float2(float x, float y)
{
  return float2{x, y};
}
static inline float4 make_float4(float x, float y, float z, float w)
{
  return float4{x, y, z, w};
}
static inline int2 make_int2(int x, int y)
{
  return int2{x, y};
}
static inline int4 make_int4(int x, int y, int z, int w)
{
  return int4{x, y, z, w};
}
static inline uint2 make_uint2(unsigned x, unsigned y)
{
  return uint2{x, y};
}
static inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w)
{
  return uint4{x, y, z, w};
}
static inline uint3 make_uint3(unsigned x, unsigned y, unsigned z)
{
  return uint3{x, y, z};
}

/* ---- bit casts ---- */

static inline unsigned float_bits(float f)
{
  unsigned u;
  memcpy(&u, &f, 4);
  return u;
}
static inline float bits_float(unsigned u)
{
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* ---- conversions (the hardware's cvt.rn.bf16.f32 / cvt.rn.f16.f32 / cvt.f32.{bf16,f16}) ---- */

/* fp32 -> bf16, round to nearest even on the 16 dropped bits; NaN -> 0x7fff (canonical);
 * overflow rounds to +-inf by the same carry; subnormals are kept (bf16 has fp32's exponent). */
static inline uint16_t f32_to_bf16_bits(float f)
{
  unsigned u = float_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u)
    return 0x7fff;
  return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1u)) >> 16);
}

/* bf16 -> fp32 is exact: the bf16 bits are fp32's upper half. */
static inline float bf16_bits_to_f32(uint16_t h)
{
  return bits_float((unsigned)h << 16);
}

/* fp32 -> IEEE binary16, round to nearest even, with binary16 subnormals (2^-24 steps below
 * 2^-14), overflow (>= 65520 after rounding) to inf, NaN -> 0x7fff. */
static inline uint16_t f32_to_f16_bits(float f)
{
  unsigned u = float_bits(f);
  unsigned sign = (u >> 16) & 0x8000u;
  unsigned a = u & 0x7fffffffu;
  if (a > 0x7f800000u)
    return 0x7fff;
  if (a >= 0x477ff000u) /* >= 65520: rounds to inf (65504 is the largest finite) */
    return (uint16_t)(sign | 0x7c00u);
  if (a >= 0x38800000u) { /* >= 2^-14: normal binary16 */
    /* rebias exponent 127 -> 15 and round the 13 dropped mantissa bits to nearest even */
    unsigned r = a - 0x38000000u;
    r = (r + 0xfffu + ((r >> 13) & 1u)) >> 13;
    return (uint16_t)(sign | r);
  }
  if (a < 0x33000000u) /* < 2^-25: rounds to zero (2^-25 itself ties to even 0) */
    return (uint16_t)sign;
  /* subnormal: value = m * 2^-24 with m = mantissa (with hidden bit) >> shift, rounded RNE */
  unsigned e = a >> 23;                     /* 102..112 */
  unsigned m = (a & 0x7fffffu) | 0x800000u; /* 24-bit significand */
  unsigned shift = 126 - e;                 /* 14..24: value = m * 2^(e-150) = (m >> shift) 2^-24 */
  unsigned q = m >> shift;
  unsigned rem = m & ((1u << shift) - 1u);
  unsigned half = 1u << (shift - 1);
  if (rem > half || (rem == half && (q & 1u)))
    q++;
  return (uint16_t)(sign | q); /* q == 0x400 carries into the smallest normal, as it must */
}

/* binary16 -> fp32, exact (subnormals normalised); NaN -> 0x7fffffff as CUDA's conversion. */
static inline float f16_bits_to_f32(uint16_t h)
{
  unsigned sign = ((unsigned)h & 0x8000u) << 16;
  unsigned e = (h >> 10) & 0x1fu;
  unsigned m = h & 0x3ffu;
  if (e == 0x1f)
    return bits_float(m ? 0x7fffffffu : (sign | 0x7f800000u));
  if (e == 0) {
    if (m == 0)
      return bits_float(sign);
    /* subnormal m * 2^-24: normalise */
    int ee = -1;
    do {
      m <<= 1;
      ee++;
    } while (!(m & 0x400u));
    return bits_float(sign | ((unsigned)(112 - ee) << 23) | ((m & 0x3ffu) << 13));
  }
  return bits_float(sign | ((e + 112u) << 23) | (m << 13));
}

/* ---- 16-bit float types ---- */

struct alignas(2) __nv_bfloat16 {
  uint16_t __x;
  __nv_bfloat16() = default;
  __nv_bfloat16(float f) : __x(f32_to_bf16_bits(f))
  {
  }
  operator float() const
  {
    return bf16_bits_to_f32(__x);
  }
};

struct alignas(4) __nv_bfloat162 {
  __nv_bfloat16 x, y;
};

struct alignas(2) __half {
  uint16_t __x;
  __half() = default;
  __half(float f) : __x(f32_to_f16_bits(f))
  {
  }
  operator float() const
  {
    return f16_bits_to_f32(__x);
  }
};

struct alignas(4) __half2 {
  __half x, y;
};

typedef __nv_bfloat16 nv_bfloat16;
typedef __nv_bfloat162 nv_bfloat162;
typedef __half half;
typedef __half2 half2;

static inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short u)
{
  __nv_bfloat16 h;
  h.__x = u;
  return h;
}
static inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h)
{
  return h.__x;
}
static inline __half __ushort_as_half(unsigned short u)
{
  __half h;
  h.__x = u;
  return h;
}
static inline unsigned short __half_as_ushort(__half h)
{
  return h.__x;
}

static inline __nv_bfloat16 __float2bfloat16_rn(float f)
{
  return __ushort_as_bfloat16(f32_to_bf16_bits(f));
}
static inline __nv_bfloat16 __float2bfloat16(float f)
{
  return __float2bfloat16_rn(f);
}
static inline float __bfloat162float(__nv_bfloat16 h)
{
  return bf16_bits_to_f32(h.__x);
}
static inline __nv_bfloat162 __floats2bfloat162_rn(float lo, float hi)
{
  return __nv_bfloat162{__float2bfloat16_rn(lo), __float2bfloat16_rn(hi)};
}
static inline __nv_bfloat162 __float2bfloat162_rn(float f)
{
  return __floats2bfloat162_rn(f, f);
}
static inline float2 __bfloat1622float2(__nv_bfloat162 v)
{
  return float2{__bfloat162float(v.x), __bfloat162float(v.y)};
}
static inline float __low2float(__nv_bfloat162 v)
{
  return __bfloat162float(v.x);
}
static inline float __high2float(__nv_bfloat162 v)
{
  return __bfloat162float(v.y);
}

static inline __half __float2half_rn(float f)
{
  return __ushort_as_half(f32_to_f16_bits(f));
}
static inline __half __float2half(float f)
{
  return __float2half_rn(f);
}
static inline float __half2float(__half h)
{
  return f16_bits_to_f32(h.__x);
}
static inline __half2 __floats2half2_rn(float lo, float hi)
{
  return __half2{__float2half_rn(lo), __float2half_rn(hi)};
}
static inline float2 __half22float2(__half2 v)
{
  return float2{__half2float(v.x), __half2float(v.y)};
}
static inline float __low2float(__half2 v)
{
  return __half2float(v.x);
}
static inline float __high2float(__half2 v)
{
  return __half2float(v.y);
}

} /* namespace ufo_emu */

#endif
