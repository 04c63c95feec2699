/* Shared helpers of the CUDA-emulation tests (tests/engine/cuda-emu): checks that print the
 * failing expression and count failures; main() returns nonzero if any check failed. */
#ifndef UFO_TEST_CUDA_EMU_H
#define UFO_TEST_CUDA_EMU_H

#include "cuda_compat.h"

#include <stdio.h>
#include <stdlib.h>

static int emu_test_failures = 0;

#define CHECK(cond)                                                                                \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "%s:%d: check failed: %s (UFO_EMU_SEED=%llu)\n", __FILE__, __LINE__, #cond,  \
              (unsigned long long)::ufo_emu::get_seed());                                          \
      emu_test_failures++;                                                                         \
    }                                                                                              \
  } while (0)

#define CHECK_CUDA(expr)                                                                           \
  do {                                                                                             \
    cudaError_t e_ = (expr);                                                                       \
    if (e_ != cudaSuccess) {                                                                       \
      fprintf(stderr, "%s:%d: %s: %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorName(e_),      \
              cudaGetErrorString(e_));                                                             \
      emu_test_failures++;                                                                         \
    }                                                                                              \
  } while (0)

/* Device buffer of n T, copied from / to host arrays. */
template <class T> static T *dev_alloc(size_t n)
{
  T *p = nullptr;
  CHECK_CUDA(cudaMalloc(&p, n * sizeof(T)));
  return p;
}

static inline int emu_test_result(const char *name)
{
  if (emu_test_failures)
    fprintf(stderr, "%s: %d check(s) failed\n", name, emu_test_failures);
  else
    printf("%s: all checks passed\n", name);
  return emu_test_failures ? 1 : 0;
}

#endif
