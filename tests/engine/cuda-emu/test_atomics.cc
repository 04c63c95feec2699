/* CUDA emulation: atomics return the old value and lose no update across threads and blocks. */
#include "emu_test.h"

__global__ void atomics_kernel(int *ci, unsigned *cu, float *cf, int *mx, int *mn, int *cas,
                               int *slots, int *exch)
{
  unsigned g = blockIdx.x * blockDim.x + threadIdx.x;
  atomicAdd(ci, 2);
  atomicAdd(cu, 1u);
  atomicAdd(cf, 0.25f);
  atomicMax(mx, (int)((g * 7919u) % 10007u));
  atomicMin(mn, (int)((g * 7919u) % 10007u) - 5000);
  /* a CAS loop increment */
  int old = *cas, seen;
  while ((seen = atomicCAS(cas, old, old + 3)) != old)
    old = seen;
  /* a ticket: atomicAdd's return values are a permutation of 0..n-1 */
  int ticket = atomicAdd(&slots[0], 1);
  slots[1 + ticket] = (int)g;
  atomicExch(exch, (int)g);
}

int main()
{
  const int blocks = 7, threads = 96, n = blocks * threads;
  int *ci = dev_alloc<int>(1), *mx = dev_alloc<int>(1), *mn = dev_alloc<int>(1);
  int *cas = dev_alloc<int>(1), *slots = dev_alloc<int>(n + 1), *exch = dev_alloc<int>(1);
  unsigned *cu = dev_alloc<unsigned>(1);
  float *cf = dev_alloc<float>(1);
  int zero = 0, big = 1 << 30, small = -(1 << 30);
  CHECK_CUDA(cudaMemset(ci, 0, 4));
  CHECK_CUDA(cudaMemset(cu, 0, 4));
  CHECK_CUDA(cudaMemset(cf, 0, 4));
  CHECK_CUDA(cudaMemset(cas, 0, 4));
  CHECK_CUDA(cudaMemset(slots, 0, (n + 1) * 4));
  CHECK_CUDA(cudaMemcpy(mx, &small, 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(mn, &big, 4, cudaMemcpyHostToDevice));
  CHECK_CUDA(cudaMemcpy(exch, &zero, 4, cudaMemcpyHostToDevice));
  UFO_LAUNCH(atomics_kernel, blocks, threads, 0, 0, ci, cu, cf, mx, mn, cas, slots, exch);
  CHECK_CUDA(cudaGetLastError());
  int hi, hmx, hmn, hcas, hexch, hs[n + 1];
  unsigned hu;
  float hf;
  CHECK_CUDA(cudaMemcpy(&hi, ci, 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(&hu, cu, 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(&hf, cf, 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(&hmx, mx, 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(&hmn, mn, 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(&hcas, cas, 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(&hexch, exch, 4, cudaMemcpyDeviceToHost));
  CHECK_CUDA(cudaMemcpy(hs, slots, sizeof hs, cudaMemcpyDeviceToHost));
  CHECK(hi == 2 * n);
  CHECK(hu == (unsigned)n);
  CHECK(hf == 0.25f * n); /* exact: multiples of 0.25 below 2^22 */
  int rmx = -(1 << 30), rmn = 1 << 30;
  for (int g = 0; g < n; g++) {
    int v = (int)(((unsigned)g * 7919u) % 10007u);
    rmx = v > rmx ? v : rmx;
    rmn = v - 5000 < rmn ? v - 5000 : rmn;
  }
  CHECK(hmx == rmx);
  CHECK(hmn == rmn);
  CHECK(hcas == 3 * n);
  CHECK(hs[0] == n);
  static bool seen[n];
  bool perm = true;
  for (int i = 1; i <= n; i++) {
    if (hs[i] < 0 || hs[i] >= n || seen[hs[i]])
      perm = false;
    else
      seen[hs[i]] = true;
  }
  CHECK(perm);
  CHECK(hexch >= 0 && hexch < n);
  cudaFree(ci);
  cudaFree(cu);
  cudaFree(cf);
  cudaFree(mx);
  cudaFree(mn);
  cudaFree(cas);
  cudaFree(slots);
  cudaFree(exch);
  return emu_test_result("cuda-emu-atomics");
}
