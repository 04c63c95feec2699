/* PRNG and dtype tests. The hex constants were computed by an independent pure-Python
 * implementation of docs/weights-prng.md (integer arithmetic, struct float32 rounding) and agree
 * with tools/reference/ufo_prng.py; the F16/BF16 bits come from numpy astype(float16) and torch
 * .to(torch.bfloat16). */
#include "model/dtype.h"
#include "model/model.h"
#include "model/prng.h"

#include <math.h>
#include <string.h>

static uint32_t bits(float f)
{
  uint32_t u;
  memcpy(&u, &f, 4);
  return u;
}

static void check_first4(const char *name, uint64_t seed, const int64_t *shape, int ndim,
                         const uint32_t want[4])
{
  int64_t numel = 1;
  for (int i = 0; i < ndim; i++)
    numel *= shape[i];
  g_autofree float *v = g_new(float, numel);
  ufo_prng_fill_tensor(name, seed, shape, ndim, v);
  for (int i = 0; i < 4; i++)
    if (bits(v[i]) != want[i])
      g_error("%s seed %" G_GUINT64_FORMAT " [%d]: got 0x%08x, want 0x%08x", name, seed, i,
              bits(v[i]), want[i]);
}

static void test_constants(void)
{
  /* vit-b, seed 0: the constants tests/reference/test_prng.py uses too */
  check_first4("backbone.layers.0.attn.qkv.weight", 0, (const int64_t[]){2304, 768}, 2,
               (const uint32_t[]){0x3c800772, 0x3d065ff5, 0xbcb02a21, 0x3c88566b});
  check_first4("backbone.embed.LayerNorm.weight", 0, (const int64_t[]){768}, 1,
               (const uint32_t[]){0x3f8aff75, 0x3f718d91, 0x3f7815e5, 0x3f878cf7});
  /* other seeds and value rules */
  check_first4("backbone.layers.0.attn.qkv.weight", 1, (const int64_t[]){2304, 768}, 2,
               (const uint32_t[]){0x3ca479c7, 0xbc9b1ee6, 0x3d06d025, 0xbbe88875});
  check_first4("backbone.embed.LayerNorm.weight", 1, (const int64_t[]){768}, 1,
               (const uint32_t[]){0x3f7b2723, 0x3f819a0d, 0x3f6ed394, 0x3f6c7eb7});
  check_first4("backbone.layers.3.attn.qkv.bias", 0, (const int64_t[]){2304}, 1,
               (const uint32_t[]){0xbb98d0eb, 0xbc8ec18f, 0x3b92ad0a, 0x3c1dfd4f});
  check_first4("backbone.pos_embed", 1, (const int64_t[]){1, 70, 70, 768}, 4,
               (const uint32_t[]){0x3dc6a50f, 0xbd542180, 0xbb32349a, 0xbd57604d});
}

/* The same constants through ufo_model_new_random("vit-b", 0): tensor shapes and fan-in come from
 * the config (inference §2.1). */
static void test_vit_b_model(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) m = ufo_model_new_random("vit-b", 0, &err);
  g_assert_no_error(err);
  const uint32_t qkv[4] = {0x3c800772, 0x3d065ff5, 0xbcb02a21, 0x3c88566b};
  const uint32_t ln[4] = {0x3f8aff75, 0x3f718d91, 0x3f7815e5, 0x3f878cf7};
  for (int i = 0; i < 4; i++) {
    g_assert_cmphex(bits(m->w.layers[0].qkv_w[i]), ==, qkv[i]);
    g_assert_cmphex(bits(m->w.emb_ln_w[i]), ==, ln[i]);
  }
  g_assert_cmpint(m->w.pos_h, ==, 70);
  g_assert_cmpint(m->w.layers[2].rel_pos_len, ==, 139); /* global: 2 * 70 - 1 */
  g_assert_cmpint(m->w.layers[3].rel_pos_len, ==, 27);
}

static void test_uniform_range(void)
{
  UfoPrng p;
  ufo_prng_init(&p, "x", 7);
  double sum = 0;
  for (int i = 0; i < 100000; i++) {
    float v = ufo_prng_uniform(&p);
    g_assert_cmpfloat(v, >=, -1.0f);
    g_assert_cmpfloat(v, <, 1.0f);
    sum += v;
  }
  g_assert_cmpfloat(fabs(sum / 100000), <, 0.01);
}

static const struct {
  uint32_t f32;
  uint16_t f16, bf16;
} conv[] = {
    {0x00000000, 0x0000, 0x0000}, {0x80000000, 0x8000, 0x8000}, {0x3f800000, 0x3c00, 0x3f80},
    {0xc0200000, 0xc100, 0xc020}, {0x477fe000, 0x7bff, 0x4780}, {0x477fef00, 0x7bff, 0x4780},
    {0x477ff000, 0x7c00, 0x4780}, {0x322bcc77, 0x0000, 0x322c}, {0x337ffae5, 0x0001, 0x3380},
    {0x32fffae5, 0x0000, 0x3300}, {0x33006b66, 0x0001, 0x3300}, {0x387fda40, 0x03ff, 0x3880},
    {0x387fba0a, 0x03ff, 0x3880}, {0x3f802000, 0x3c01, 0x3f80}, {0x3f801000, 0x3c00, 0x3f80},
    {0x3f803000, 0x3c02, 0x3f80}, {0x40490fdb, 0x4248, 0x4049}, {0x7149f2ca, 0x7c00, 0x714a},
    {0x8da24260, 0x8000, 0x8da2}, {0x7f800000, 0x7c00, 0x7f80}, {0xff800000, 0xfc00, 0xff80},
    {0x3f808000, 0x3c04, 0x3f80}, {0x3f804000, 0x3c02, 0x3f80}, {0x3f80c000, 0x3c06, 0x3f81},
    {0x7f61b1e6, 0x7c00, 0x7f62},
};

static void test_half_conversions(void)
{
  for (size_t i = 0; i < G_N_ELEMENTS(conv); i++) {
    float f;
    memcpy(&f, &conv[i].f32, 4);
    g_assert_cmphex(ufo_f32_to_f16(f), ==, conv[i].f16);
    g_assert_cmphex(ufo_f32_to_bf16(f), ==, conv[i].bf16);
  }
  /* f16 -> f32 is exact for every finite half and round-trips */
  for (uint32_t h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
      continue; /* nan payloads */
    float f = ufo_f16_to_f32((uint16_t)h);
    g_assert_cmphex(ufo_f32_to_f16(f), ==, h);
    g_assert_cmphex(ufo_f32_to_bf16(ufo_bf16_to_f32((uint16_t)h)), ==, h & 0xffff);
  }
  g_assert_cmpfloat(ufo_f16_to_f32(0x0001), ==, 0x1p-24f);
  g_assert_cmpfloat(ufo_f16_to_f32(0x8400), ==, -0x1p-14f);
  g_assert_cmpfloat(ufo_f16_to_f32(0x7bff), ==, 65504.0f);
  g_assert_true(isnan(ufo_f16_to_f32(ufo_f32_to_f16(NAN))));
  g_assert_true(isnan(ufo_bf16_to_f32(ufo_f32_to_bf16(NAN))));
}

static void test_dtype_names(void)
{
  UfoDType d;
  g_assert_true(ufo_dtype_from_name("BF16", &d));
  g_assert_cmpint(d, ==, UFO_DTYPE_BF16);
  g_assert_cmpuint(ufo_dtype_size(UFO_DTYPE_I64), ==, 8);
  g_assert_false(ufo_dtype_from_name("F8_E4M3", &d));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/model/prng/constants", test_constants);
  g_test_add_func("/model/prng/vit-b-model", test_vit_b_model);
  g_test_add_func("/model/prng/uniform-range", test_uniform_range);
  g_test_add_func("/model/dtype/half", test_half_conversions);
  g_test_add_func("/model/dtype/names", test_dtype_names);
  return g_test_run();
}
