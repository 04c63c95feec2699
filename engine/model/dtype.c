/* Element types and float conversions (IEEE 754 binary16, bfloat16). */
#include "dtype.h"

#include <string.h>

static const struct {
  const char *name;
  size_t size;
} dtypes[UFO_N_DTYPES] = {
    [UFO_DTYPE_F32] = {"F32", 4},   [UFO_DTYPE_F16] = {"F16", 2}, [UFO_DTYPE_BF16] = {"BF16", 2},
    [UFO_DTYPE_F64] = {"F64", 8},   [UFO_DTYPE_I64] = {"I64", 8}, [UFO_DTYPE_I32] = {"I32", 4},
    [UFO_DTYPE_I16] = {"I16", 2},   [UFO_DTYPE_I8] = {"I8", 1},   [UFO_DTYPE_U8] = {"U8", 1},
    [UFO_DTYPE_BOOL] = {"BOOL", 1},
};

const char *ufo_dtype_name(UfoDType dtype)
{
  return (unsigned)dtype < UFO_N_DTYPES ? dtypes[dtype].name : "?";
}

size_t ufo_dtype_size(UfoDType dtype)
{
  return (unsigned)dtype < UFO_N_DTYPES ? dtypes[dtype].size : 0;
}

gboolean ufo_dtype_from_name(const char *name, UfoDType *dtype)
{
  for (int i = 0; i < UFO_N_DTYPES; i++) {
    if (g_strcmp0(name, dtypes[i].name) == 0) {
      *dtype = (UfoDType)i;
      return TRUE;
    }
  }
  return FALSE;
}

static uint32_t f32_bits(float f)
{
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static float bits_f32(uint32_t u)
{
  float f;
  memcpy(&f, &u, 4);
  return f;
}

float ufo_f16_to_f32(uint16_t h)
{
  uint32_t sign = (uint32_t)(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  if (exp == 0x1f) /* inf / nan */
    return bits_f32(sign | 0x7f800000u | (man << 13));
  if (exp == 0) { /* zero / subnormal: man * 2^-24, exact in float32 */
    float v = (float)man * 0x1p-24f;
    return sign ? -v : v;
  }
  return bits_f32(sign | ((exp + 112) << 23) | (man << 13)); /* rebias 15 -> 127 */
}

uint16_t ufo_f32_to_f16(float f)
{
  uint32_t u = f32_bits(f);
  uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
  uint32_t a = u & 0x7fffffffu;
  if (a >= 0x7f800000u) /* inf or nan (quiet bit kept) */
    return sign | 0x7c00 | (a > 0x7f800000u ? 0x200 | ((a >> 13) & 0x3ff) : 0);
  if (a >= 0x477ff000u) /* >= 65520 rounds to inf */
    return sign | 0x7c00;
  if (a < 0x38800000u) {
    /* below 2^-14: subnormal half, value = round(|f| * 2^24) ulps, ties to even */
    float scaled = bits_f32(a) * 0x1p24f; /* exact: power-of-two scaling */
    float r = scaled + 0x1p23f - 0x1p23f; /* RNE to an integer (|scaled| < 2^10) */
    return sign | (uint16_t)r;
  }
  /* normal: drop 13 mantissa bits with round-to-nearest-even; a carry may bump the exponent */
  uint32_t rounded = a + 0xfffu + ((a >> 13) & 1u);
  return sign | (uint16_t)((rounded - (112u << 23)) >> 13);
}

float ufo_bf16_to_f32(uint16_t h)
{
  return bits_f32((uint32_t)h << 16);
}

uint16_t ufo_f32_to_bf16(float f)
{
  uint32_t u = f32_bits(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) /* nan: keep it quiet */
    return (uint16_t)((u >> 16) | 0x40);
  u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
  return (uint16_t)(u >> 16);
}

/* All 65536 half values as float32 (256 KiB), built once: a lookup beats bit fiddling. */
static const float *f16_table(void)
{
  static float *table;
  static gsize init = 0;
  if (g_once_init_enter(&init)) {
    table = g_new(float, 65536);
    for (uint32_t h = 0; h < 65536; h++)
      table[h] = ufo_f16_to_f32((uint16_t)h);
    g_once_init_leave(&init, 1);
  }
  return table;
}

void ufo_dtype_to_f32(UfoDType src_dtype, const void *src, float *dst, size_t n)
{
  const uint8_t *s = src;
  if (src_dtype == UFO_DTYPE_F32) {
    memcpy(dst, s, 4 * n);
  } else if (src_dtype == UFO_DTYPE_F16) {
    const float *t = f16_table();
    for (size_t i = 0; i < n; i++)
      dst[i] = t[s[2 * i] | (s[2 * i + 1] << 8)];
  } else {
    for (size_t i = 0; i < n; i++) /* bf16 is the top half of a float32 */
      dst[i] = bits_f32(((uint32_t)s[2 * i] << 16) | ((uint32_t)s[2 * i + 1] << 24));
  }
}

void ufo_dtype_from_f32(UfoDType dst_dtype, const float *src, void *dst, size_t n)
{
  uint8_t *d = dst;
  if (dst_dtype == UFO_DTYPE_F32) {
    memcpy(d, src, 4 * n);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    uint16_t h = dst_dtype == UFO_DTYPE_F16 ? ufo_f32_to_f16(src[i]) : ufo_f32_to_bf16(src[i]);
    d[2 * i] = (uint8_t)(h & 0xff);
    d[2 * i + 1] = (uint8_t)(h >> 8);
  }
}
