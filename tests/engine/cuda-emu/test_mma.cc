/* CUDA emulation: the warp-level bf16 MMA wrapper (engine/backend/cuda/mma.cuh) against a plain
 * loop, on random bf16 matrices, with fragments built exactly as mma.cuh documents the PTX ISA
 * layout; fp32 sums of exact bf16 products within 1e-6 relative. */
#include "emu_test.h"
#include "mma.cuh"

#include <math.h>
#include <string.h>

/* Tile w (one per warp): D_w = A_w (16x16) B_w (16x8) + C_w, all row-major in global memory. */
__global__ void mma_tiles(const float *A, const float *B, const float *C, float *D, int in_place)
{
  unsigned lane = threadIdx.x % 32;
  unsigned w = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const float *a = A + w * 256, *b = B + w * 128, *c = C + w * 128;
  float *d = D + w * 128;
  unsigned g = lane >> 2, t2 = (lane & 3) * 2;
  unsigned fa[4], fb[2];
  float fc[4], fd[4];
  fa[0] = ufo_pack_bf16x2(a[g * 16 + t2], a[g * 16 + t2 + 1]);
  fa[1] = ufo_pack_bf16x2(a[(g + 8) * 16 + t2], a[(g + 8) * 16 + t2 + 1]);
  fa[2] = ufo_pack_bf16x2(a[g * 16 + t2 + 8], a[g * 16 + t2 + 9]);
  fa[3] = ufo_pack_bf16x2(a[(g + 8) * 16 + t2 + 8], a[(g + 8) * 16 + t2 + 9]);
  fb[0] = ufo_pack_bf16x2(b[t2 * 8 + g], b[(t2 + 1) * 8 + g]);
  fb[1] = ufo_pack_bf16x2(b[(t2 + 8) * 8 + g], b[(t2 + 9) * 8 + g]);
  fc[0] = c[g * 8 + t2];
  fc[1] = c[g * 8 + t2 + 1];
  fc[2] = c[(g + 8) * 8 + t2];
  fc[3] = c[(g + 8) * 8 + t2 + 1];
  if (in_place) { /* d may alias c */
    ufo_mma_bf16_m16n8k16(fc, fa, fb, fc);
    memcpy(fd, fc, sizeof fd);
  } else {
    ufo_mma_bf16_m16n8k16(fd, fa, fb, fc);
  }
  d[g * 8 + t2] = fd[0];
  d[g * 8 + t2 + 1] = fd[1];
  d[(g + 8) * 8 + t2] = fd[2];
  d[(g + 8) * 8 + t2 + 1] = fd[3];
}

static uint64_t rng = 0x1234567;
static float rnd()
{
  rng = rng * 6364136223846793005ull + 1442695040888963407ull;
  return (float)((double)(rng >> 11) / 9007199254740992.0 * 4.0 - 2.0);
}
static float to_bf16(float f)
{
  return __bfloat162float(__float2bfloat16_rn(f));
}

int main()
{
  const int tiles = 6;
  static float A[tiles * 256], B[tiles * 128], C[tiles * 128], D[tiles * 128];
  for (int i = 0; i < tiles * 256; i++)
    A[i] = to_bf16(rnd());
  for (int i = 0; i < tiles * 128; i++) {
    B[i] = to_bf16(rnd());
    C[i] = rnd();
  }
  float *dA = dev_alloc<float>(tiles * 256), *dB = dev_alloc<float>(tiles * 128);
  float *dC = dev_alloc<float>(tiles * 128), *dD = dev_alloc<float>(tiles * 128);
  CHECK_CUDA(cudaMemcpy(dA, A, sizeof A, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dB, B, sizeof B, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(dC, C, sizeof C, cudaMemcpyHostToDevice));
  for (int in_place = 0; in_place < 2; in_place++) {
    CHECK_CUDA(cudaMemset(dD, 0, sizeof D));
    UFO_LAUNCH(mma_tiles, 3, 64, 0, 0, dA, dB, dC, dD, in_place);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaMemcpy(D, dD, sizeof D, cudaMemcpyDeviceToHost));
    double worst = 0;
    for (int w = 0; w < tiles; w++)
      for (int i = 0; i < 16; i++)
        for (int j = 0; j < 8; j++) {
          double ref = C[w * 128 + i * 8 + j], mag = fabs(ref);
          for (int k = 0; k < 16; k++) {
            double p = (double)A[w * 256 + i * 16 + k] * B[w * 128 + k * 8 + j];
            ref += p;
            mag += fabs(p);
          }
          double err = fabs(D[w * 128 + i * 8 + j] - ref) / mag;
          worst = err > worst ? err : worst;
        }
    printf("mma (in place %d): worst relative error %.3g\n", in_place, worst);
    CHECK(worst <= 1e-6);
  }
  /* the pack helper: lo in bits 0-15, hi in 16-31, rounded to nearest even */
  unsigned p = ufo_pack_bf16x2(1.0f, __uint_as_float(0x3f818000));
  CHECK(p == (0x3f80u | (0x3f82u << 16)));
  CHECK(ufo_bf16x2_lo(p) == 1.0f && ufo_bf16x2_hi(p) == __uint_as_float(0x3f820000));
  /* a partial warp cannot run the MMA: a reported failure */
  UFO_LAUNCH(mma_tiles, 1, 48, 0, 0, dA, dB, dC, dD, 0);
  cudaError_t e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  CHECK(strstr(cudaGetErrorString(e), "needs all 32 lanes") != nullptr);
  cudaFree(dA);
  cudaFree(dB);
  cudaFree(dC);
  cudaFree(dD);
  return emu_test_result("cuda-emu-mma");
}
