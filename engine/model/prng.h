/* Deterministic random weights (docs/weights-prng.md): one SplitMix64 stream per tensor, seeded
 * from the FNV-1a hash of the official tensor name, bit-identical to tools/reference/ufo_prng.py.
 */
#ifndef UFO_MODEL_PRNG_H
#define UFO_MODEL_PRNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
  uint64_t state;
} UfoPrng;

/* weights-prng §1-2: state = FNV-1a-64(name) XOR (seed * golden gamma). */
void ufo_prng_init(UfoPrng *prng, const char *name, uint64_t seed);
/* weights-prng §3: the next SplitMix64 output. */
uint64_t ufo_prng_next(UfoPrng *prng);
/* weights-prng §4: uniform in [-1, 1), exact in float32. */
float ufo_prng_uniform(UfoPrng *prng);
/* Fills the float32 tensor `name` of shape (shape[0], …) following the value rules of
 * weights-prng.md ("Value per tensor"); fan_in = product of shape[1..ndim-1]. */
void ufo_prng_fill_tensor(const char *name, uint64_t seed, const int64_t *shape, int ndim,
                          float *out);

#endif
