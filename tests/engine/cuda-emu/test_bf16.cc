/* CUDA emulation: bf16 and fp16 conversions bit-identical to the hardware's cvt.rn (round to
 * nearest even, ties, overflow, fp16 subnormals, NaN -> 0x7fff), against hand-computed values,
 * against an independent reference (nearest of the two neighbours by exact distance; GCC's
 * _Float16 for fp16) over a sweep of float bit patterns, and exact round trips. */
#include "emu_test.h"

#include <math.h>
#include <string.h>

static float fbits(unsigned u)
{
  float f;
  memcpy(&f, &u, 4);
  return f;
}

static uint16_t bf(float f)
{
  return __bfloat16_as_ushort(__float2bfloat16_rn(f));
}
static uint16_t hf(float f)
{
  return __half_as_ushort(__float2half_rn(f));
}

static void test_hand_values()
{
  CHECK(bf(1.0f) == 0x3f80);
  CHECK(bf(-2.0f) == 0xc000);
  CHECK(bf(fbits(0x3f808000)) == 0x3f80); /* tie, even below */
  CHECK(bf(fbits(0x3f818000)) == 0x3f82); /* tie, even above */
  CHECK(bf(fbits(0x3f808001)) == 0x3f81); /* just above the tie */
  CHECK(bf(fbits(0x3f807fff)) == 0x3f80);
  CHECK(bf(fbits(0x7f7fffff)) == 0x7f80); /* FLT_MAX rounds to inf */
  CHECK(bf(fbits(0x7f7f7fff)) == 0x7f7f);
  CHECK(bf(INFINITY) == 0x7f80 && bf(-INFINITY) == 0xff80);
  CHECK(bf(NAN) == 0x7fff && bf(fbits(0xffc00001)) == 0x7fff && bf(fbits(0x7f800001)) == 0x7fff);
  CHECK(bf(fbits(0x00010000)) == 0x0001); /* subnormals are kept */
  CHECK(bf(fbits(0x00008000)) == 0x0000 && bf(fbits(0x00018000)) == 0x0002);
  CHECK(bf(-0.0f) == 0x8000);
  CHECK(__bfloat162float(__ushort_as_bfloat16(0x3f81)) == fbits(0x3f810000));
  CHECK(isnan(__bfloat162float(__ushort_as_bfloat16(0x7fff))));

  CHECK(hf(1.0f) == 0x3c00 && hf(-2.0f) == 0xc000 && hf(0.1f) == 0x2e66);
  CHECK(hf(65504.0f) == 0x7bff && hf(65519.99f) == 0x7bff && hf(65520.0f) == 0x7c00);
  CHECK(hf(1e10f) == 0x7c00 && hf(-INFINITY) == 0xfc00);
  CHECK(hf(ldexpf(1, -24)) == 0x0001); /* smallest subnormal */
  CHECK(hf(ldexpf(1, -25)) == 0x0000); /* tie to even zero */
  CHECK(hf(ldexpf(1.5f, -25)) == 0x0001);
  CHECK(hf(ldexpf(3, -25)) == 0x0002);                  /* 1.5 ulp: tie to even 2 */
  CHECK(hf(ldexpf(5, -25)) == 0x0002);                  /* 2.5 ulp: tie to even 2 */
  CHECK(hf(ldexpf(1, -14)) == 0x0400);                  /* smallest normal */
  CHECK(hf(ldexpf(1, -14) - ldexpf(1, -25)) == 0x0400); /* tie between 0x3ff and 0x400 */
  CHECK(hf(1.0f + ldexpf(1, -11)) == 0x3c00);           /* tie, even below */
  CHECK(hf(1.0f + ldexpf(3, -11)) == 0x3c02);           /* tie, even above */
  CHECK(hf(NAN) == 0x7fff && hf(-NAN) == 0x7fff);
  CHECK(hf(-0.0f) == 0x8000 && hf(ldexpf(-1, -26)) == 0x8000);
  CHECK(__half2float(__ushort_as_half(0x0001)) == ldexpf(1, -24));
  CHECK(__half2float(__ushort_as_half(0x03ff)) == ldexpf(1023, -24));
  CHECK(__half2float(__ushort_as_half(0x7bff)) == 65504.0f);
  CHECK(isinf(__half2float(__ushort_as_half(0xfc00))));
  CHECK(isnan(__half2float(__ushort_as_half(0x7e01))));
  __nv_bfloat162 p = __floats2bfloat162_rn(1.0f, -3.0f);
  CHECK(__low2float(p) == 1.0f && __high2float(p) == -3.0f);
}

/* bf16 reference: the nearer of the two bf16 neighbours by exact (double) distance, ties to the
 * even one; NaN -> 0x7fff. */
static uint16_t bf_ref(unsigned u)
{
  float f = fbits(u);
  if (isnan(f))
    return 0x7fff;
  unsigned lo = u & 0xffff0000u, hi = lo + 0x10000u;
  if (lo == u)
    return (uint16_t)(u >> 16);
  double dl = fabs((double)f - (double)fbits(lo));
  /* the upper neighbour of the largest finite bf16 is inf, at the distance 2^128 would be */
  double dh = (hi & 0x7fffffffu) >= 0x7f800000u ? ldexp(1.0, 128) - fabs((double)f)
                                                : fabs((double)f - (double)fbits(hi));
  if (dl < dh || (dl == dh && !((lo >> 16) & 1u)))
    return (uint16_t)(lo >> 16);
  return (uint16_t)(hi >> 16);
}

static void test_sweep()
{
  unsigned bad_bf = 0, bad_hf = 0, n = 0;
  for (uint64_t u = 0; u <= 0xffffffffull; u += 4093) {     /* ~1M patterns, all exponents */
    unsigned x = (unsigned)u ^ (unsigned)(u >> 7 & 0xffff); /* vary the low bits too */
    float f = fbits(x);
    n++;
    if (bf(f) != bf_ref(x))
      bad_bf++;
    uint16_t want;
    if (isnan(f)) {
      want = 0x7fff;
    } else {
      _Float16 h = (_Float16)f; /* GCC/libgcc's binary16 conversion: round to nearest even */
      memcpy(&want, &h, 2);
    }
    if (hf(f) != want) {
      if (bad_hf < 5)
        fprintf(stderr, "fp16 of 0x%08x: 0x%04x, want 0x%04x\n", x, hf(f), want);
      bad_hf++;
    }
  }
  printf("sweep of %u floats: %u bf16 and %u fp16 mismatches\n", n, bad_bf, bad_hf);
  CHECK(bad_bf == 0);
  CHECK(bad_hf == 0);
  /* exact round trips of every non-NaN 16-bit pattern */
  unsigned rt_bf = 0, rt_hf = 0;
  for (unsigned b = 0; b < 65536; b++) {
    float f = __bfloat162float(__ushort_as_bfloat16((uint16_t)b));
    if (!isnan(f) && bf(f) != b)
      rt_bf++;
    float g = __half2float(__ushort_as_half((uint16_t)b));
    if (!isnan(g) && hf(g) != b)
      rt_hf++;
  }
  CHECK(rt_bf == 0);
  CHECK(rt_hf == 0);
}

int main()
{
  test_hand_values();
  test_sweep();
  return emu_test_result("cuda-emu-bf16");
}
