/* Deterministic random weights, docs/weights-prng.md. */
#include "prng.h"

#include <math.h>
#include <string.h>

#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL
#define GOLDEN_GAMMA 0x9E3779B97F4A7C15ULL

void ufo_prng_init(UfoPrng *prng, const char *name, uint64_t seed)
{
  uint64_t h = FNV_OFFSET;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++)
    h = (h ^ *p) * FNV_PRIME;              /* weights-prng §1: FNV-1a over the UTF-8 bytes */
  prng->state = h ^ (seed * GOLDEN_GAMMA); /* §2, wraps mod 2^64 */
}

uint64_t ufo_prng_next(UfoPrng *prng)
{
  /* §3: SplitMix64 */
  prng->state += GOLDEN_GAMMA;
  uint64_t z = prng->state;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

float ufo_prng_uniform(UfoPrng *prng)
{
  /* §4: top 24 bits, centred: (u - 2^23) * 2^-23 is exact in float32 */
  int32_t u = (int32_t)(ufo_prng_next(prng) >> 40);
  return (float)(u - (1 << 23)) * 0x1p-23f;
}

static int ends_with(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

void ufo_prng_fill_tensor(const char *name, uint64_t seed, const int64_t *shape, int ndim,
                          float *out)
{
  int64_t numel = 1, fan_in = 1;
  for (int i = 0; i < ndim; i++) {
    numel *= shape[i];
    if (i > 0)
      fan_in *= shape[i];
  }
  UfoPrng prng;
  ufo_prng_init(&prng, name, seed);

  /* weights-prng "Value per tensor": first matching rule */
  int add_one = 0;
  float scale;
  if (ends_with(name, "ln1.weight") || ends_with(name, "ln2.weight") ||
      ends_with(name, "LayerNorm.weight")) {
    add_one = 1;
    scale = 0.1f;
  } else if (ends_with(name, ".bias")) {
    scale = 0.02f;
  } else if (ends_with(name, "rel_pos_h") || ends_with(name, "rel_pos_w") ||
             strcmp(name, "backbone.pos_embed") == 0) {
    scale = 0.1f;
  } else if (strcmp(name, "backbone.embed.word_embeddings.weight") == 0 ||
             strcmp(name, "backbone.embed.position_embeddings.weight") == 0) {
    scale = 0.5f;
  } else {
    scale = (float)(1.0 / sqrt((double)fan_in)); /* rounded once from double */
  }
  for (int64_t i = 0; i < numel; i++) {
    /* volatile: the product is rounded to float32 before the add (no FMA contraction) */
    volatile float v = ufo_prng_uniform(&prng) * scale;
    out[i] = add_one ? 1.0f + v : v; /* LN: multiply first, then add */
  }
}
