/* CUDA emulation: a kernel writing one element past the end of a cudaMalloc buffer is caught by
 * AddressSanitizer (device memory is host heap memory with red zones). Registered with
 * should_fail : true, and only in sanitized builds: the test passes when this process dies. */
#include "emu_test.h"

__global__ void write_past_end(float *out, int n)
{
  unsigned i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i <= (unsigned)n) /* the planted bug: <= instead of < */
    out[i] = 1.0f;
}

int main()
{
  const int n = 1000;
  float *d = dev_alloc<float>(n);
  UFO_LAUNCH(write_past_end, (n + 255) / 256, 256, 0, 0, d, n);
  cudaDeviceSynchronize();
  cudaFree(d);
  fprintf(stderr, "oob_write: the out-of-bounds write was NOT caught\n");
  return 0;
}
