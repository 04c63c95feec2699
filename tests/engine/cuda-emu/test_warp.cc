/* CUDA emulation (docs/cuda-emulation.md, "Warps"): shuffles, votes and __syncwarp in lock-step
 * against plain loops over the lanes (full warps, sub-warp widths, a partial last warp, disjoint
 * masks in divergent code); a lane named in the mask that never arrives is a reported failure. */
#include "emu_test.h"

#include <string.h>

enum { OP_IDX, OP_UP, OP_DOWN, OP_XOR };

/* Each thread: value v = 1000 * warp + 3 * lane + 1; out = the op's result. */
__global__ void shfl_kernel(int op, int arg, int width, unsigned mask, int *out, float *outf)
{
  unsigned t = threadIdx.x, lane = t % 32;
  int v = (int)(1000 * (t / 32) + 3 * lane + 1);
  float fv = 0.5f * (float)v;
  int r;
  float rf;
  switch (op) {
  case OP_IDX:
    r = __shfl_sync(mask, v, (int)(lane * 7 + (unsigned)arg) % 32, width);
    rf = __shfl_sync(mask, fv, (int)(lane * 7 + (unsigned)arg) % 32, width);
    break;
  case OP_UP:
    r = __shfl_up_sync(mask, v, (unsigned)arg, width);
    rf = __shfl_up_sync(mask, fv, (unsigned)arg, width);
    break;
  case OP_DOWN:
    r = __shfl_down_sync(mask, v, (unsigned)arg, width);
    rf = __shfl_down_sync(mask, fv, (unsigned)arg, width);
    break;
  default:
    r = __shfl_xor_sync(mask, v, arg, width);
    rf = __shfl_xor_sync(mask, fv, arg, width);
    break;
  }
  out[t] = r;
  outf[t] = rf;
}

/* The CUDA Programming Guide's semantics, written as a loop over lanes. */
static int ref_src(int op, int arg, int width, int lane)
{
  int lo = lane & ~(width - 1), hi = lo + width - 1;
  switch (op) {
  case OP_IDX:
    return lo + ((lane * 7 + arg) % 32) % width;
  case OP_UP:
    return lane - arg >= lo ? lane - arg : lane;
  case OP_DOWN:
    return lane + arg <= hi ? lane + arg : lane;
  default:
    return (lane ^ arg) <= hi ? (lane ^ arg) : lane;
  }
}

static void test_shuffles()
{
  const int n = 64;
  int *d = dev_alloc<int>(n), h[n];
  float *df = dev_alloc<float>(n), hf[n];
  int args[4][3] = {{0, 5, 13}, {1, 3, 8}, {1, 5, 16}, {1, 8, 16}};
  for (int op = 0; op < 4; op++)
    for (int width = 32; width >= 2; width /= 2)
      for (int ai = 0; ai < 3; ai++) {
        int arg = args[op][ai];
        if (op == OP_XOR)
          arg = ai == 0 ? 1 : (ai == 1 ? width / 2 : 16);
        UFO_LAUNCH(shfl_kernel, 1, n, 0, 0, op, arg, width, 0xffffffffu, d, df);
        CHECK_CUDA(cudaGetLastError());
        CHECK_CUDA(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
        CHECK_CUDA(cudaMemcpy(hf, df, sizeof hf, cudaMemcpyDeviceToHost));
        for (int t = 0; t < n; t++) {
          int src = ref_src(op, arg, width, t % 32);
          int want = 1000 * (t / 32) + 3 * src + 1;
          if (h[t] != want || hf[t] != 0.5f * (float)want) {
            fprintf(stderr, "op %d arg %d width %d thread %d: %d, want %d\n", op, arg, width, t,
                    h[t], want);
            CHECK(h[t] == want);
            break;
          }
        }
      }
  /* a partial last warp (48 threads): the full mask names lanes that do not exist; they are
   * ignored as on the GPU, and reading one gives the poison (-1) */
  UFO_LAUNCH(shfl_kernel, 1, 48, 0, 0, (int)OP_DOWN, 4, 32, 0xffffffffu, d, df);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaMemcpy(h, d, 48 * sizeof(int), cudaMemcpyDeviceToHost));
  for (int t = 32; t < 48; t++)
    CHECK(h[t] == (t - 32 + 4 < 16 ? 1000 + 3 * (t - 32 + 4) + 1 : -1));
  cudaFree(d);
  cudaFree(df);
}

/* Warp sum by butterfly and votes on a pseudo-random predicate. */
__global__ void vote_kernel(const int *pred, unsigned *out)
{
  unsigned t = threadIdx.x;
  int p = pred[t];
  unsigned b = __ballot_sync(0xffffffffu, p);
  int any = __any_sync(0xffffffffu, p);
  int all = __all_sync(0xffffffffu, p);
  float s = (float)p;
  for (int o = 16; o > 0; o >>= 1)
    s += __shfl_xor_sync(0xffffffffu, s, o);
  out[4 * t] = b;
  out[4 * t + 1] = (unsigned)any;
  out[4 * t + 2] = (unsigned)all;
  out[4 * t + 3] = (unsigned)s;
}

static void test_votes()
{
  const int n = 96;
  int hp[n];
  unsigned ho[4 * n];
  int *p = dev_alloc<int>(n);
  unsigned *o = dev_alloc<unsigned>(4 * n);
  for (int i = 0; i < n; i++) /* warp 0 mixed, warp 1 all set, warp 2 none set */
    hp[i] = i < 32 ? (int)((i * 2654435761u) >> 31) : (i < 64 ? 1 : 0);
  CHECK_CUDA(cudaMemcpy(p, hp, sizeof hp, cudaMemcpyHostToDevice));
  UFO_LAUNCH(vote_kernel, 1, n, 0, 0, p, o);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaMemcpy(ho, o, sizeof ho, cudaMemcpyDeviceToHost));
  for (int w = 0; w < 3; w++) {
    unsigned ballot = 0, cnt = 0;
    for (int l = 0; l < 32; l++)
      if (hp[32 * w + l]) {
        ballot |= 1u << l;
        cnt++;
      }
    for (int l = 0; l < 32; l++) {
      int t = 32 * w + l;
      CHECK(ho[4 * t] == ballot);
      CHECK(ho[4 * t + 1] == (ballot != 0));
      CHECK(ho[4 * t + 2] == (ballot == 0xffffffffu));
      CHECK(ho[4 * t + 3] == cnt);
    }
  }
  cudaFree(p);
  cudaFree(o);
}

/* Divergent halves of a warp, each with its own mask; __syncwarp orders shared memory. */
__global__ void halves_kernel(int *out)
{
  UFO_SHARED(int, s, [32]);
  unsigned lane = threadIdx.x;
  int r;
  if (lane < 16)
    r = __shfl_sync(0x0000ffffu, (int)lane * 10, 15 - (int)lane);
  else
    r = __shfl_sync(0xffff0000u, (int)lane * 10, 31 - (int)lane + 16);
  s[lane] = r;
  __syncwarp();
  out[lane] = s[(lane + 1) % 32];
}

__global__ void missing_lane(int *out)
{
  if (threadIdx.x == 5)
    return; /* lane 5 is named in the mask below but never arrives */
  out[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (int)threadIdx.x, 1);
}

__global__ void mask_without_me(int *out)
{
  out[threadIdx.x] = __shfl_sync(0x1u, 7, 0); /* lanes 1..31 call with a mask naming only 0 */
}

static void test_errors_and_masks()
{
  int *d = dev_alloc<int>(32), h[32];
  for (int seed = 1; seed <= 8; seed++) {
    ufo_emu::set_seed((uint64_t)seed);
    UFO_LAUNCH(halves_kernel, 1, 32, 0, 0, d);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
    for (int l = 0; l < 32; l++) {
      int m = (l + 1) % 32;
      int src = m < 16 ? 15 - m : 31 - m + 16;
      CHECK(h[l] == src * 10);
    }
  }
  UFO_LAUNCH(missing_lane, 1, 32, 0, 0, d);
  cudaError_t e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  const char *msg = cudaGetErrorString(e);
  printf("missing lane report: %s\n", msg);
  CHECK(strstr(msg, "lane 5") != nullptr);
  CHECK(strstr(msg, "has returned") != nullptr);
  CHECK(strstr(msg, "__shfl_xor_sync") != nullptr);
  UFO_LAUNCH(mask_without_me, 1, 32, 0, 0, d);
  e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  msg = cudaGetErrorString(e);
  CHECK(strstr(msg, "does not name the calling lane") != nullptr);
  CHECK(cudaGetLastError() == cudaSuccess);
  cudaFree(d);
}

int main()
{
  test_shuffles();
  test_votes();
  test_errors_and_masks();
  return emu_test_result("cuda-emu-warp");
}
