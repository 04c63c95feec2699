/* The CUDA execution model on the CPU (docs/cuda-emulation.md): what the CUDA backend's .cu files
 * see instead of <cuda_runtime.h> when the host C++ compiler builds them with -DUFO_CUDA_EMU
 * (cuda_compat.h includes this header). It provides exactly the subset the kernels may use:
 *
 *   qualifiers  __global__ __device__ __host__ __forceinline__ __restrict__ __launch_bounds__
 *               __align__; static shared memory via UFO_SHARED (per block: poisoned at block start,
 *               race-checked, bounds-checked by ASan, held to the 48 KiB limit), dynamic shared
 *               memory via UFO_DYN_SMEM (`__shared__` itself does not compile here)
 *   built-ins   threadIdx blockIdx blockDim gridDim warpSize, dim3
 *   sync        __syncthreads __syncwarp __threadfence(_block)
 *   warp        __shfl_sync __shfl_up/down/xor_sync __ballot_sync __any_sync __all_sync
 *               __activemask (lock-step per warp; the MMA wrapper is in ../mma.cuh)
 *   atomics     atomicAdd/Sub/Max/Min/CAS/Exch
 *   math        <cmath> plus __expf __logf __fdividef rsqrtf __ldg __float_as_int ... min max
 *   types       float2/4 int2/4 uint2/4 (make_*), __nv_bfloat16(2), __half(2) and conversions
 *   runtime     cudaMalloc ... cudaGetDeviceProperties (emu_runtime.h), UFO_LAUNCH
 *
 * Every CUDA thread is a fiber; a block's threads run one at a time, in an order shuffled per
 * barrier phase from a seed (UFO_EMU_SEED), so code that is only right in one thread order fails.
 * NOT modelled: timing, occupancy, coalescing, bank conflicts, L2, cp.async/TMA/wgmma, clusters,
 * independent thread scheduling inside a warp beyond lock-step collectives, the hardware's
 * reduction order and __expf-style approximation errors. The shared-memory limits are checked
 * when a block first reaches a UFO_SHARED declaration (the GPU refuses the launch instead).
 *
 * All symbols are in namespace ufo_emu (a using-directive below makes them visible as in CUDA),
 * so a binary may link both this emulation and the real libcudart. No real CUDA header is used. */
#ifndef UFO_CUDA_EMU_H
#define UFO_CUDA_EMU_H

#ifdef __CUDACC__
#error "cuda_emu.h is for host C++ builds with -DUFO_CUDA_EMU, not for nvcc"
#endif

#include "emu_types.h"
#include "emu_device.h"
#include "emu_runtime.h"

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline __attribute__((always_inline))
/* ignored: tests/tools/check_launch_bounds.py holds every launch's block to the bound */
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
/* Static shared memory is declared with UFO_SHARED (below), never `__shared__`: a plain
 * thread-local static would outlive the block and escape the poisoning and the race check. */
#define __shared__                                                                                 \
  _Pragma("GCC error \"declare static shared memory with UFO_SHARED(T, name, dims)\"")

using namespace ufo_emu;

/* kernel<<<grid, block, smem, stream>>>(args...) of the GPU build; a template kernel is wrapped in
 * parentheses: UFO_LAUNCH((k<64>), ...). Runs the whole grid before returning; a launch-config
 * error is left for cudaGetLastError, a failure inside the kernel for the next
 * cudaGetLastError / cudaStreamSynchronize / cudaDeviceSynchronize. */
#define UFO_LAUNCH(kernel, grid, block, smem, stream, ...)                                         \
  ::ufo_emu::launch_kernel(#kernel, kernel, (grid), (block), (smem), (stream), ##__VA_ARGS__)

/* The block's dynamic shared memory (the launch's smem bytes, 128-byte aligned, filled with 0xff
 * bytes = NaN floats at block start) as a T * named name. */
#define UFO_DYN_SMEM(T, name) T *const name = static_cast<T *>(::ufo_emu::detail::dyn_smem())

/* `__shared__ T name dims;` of the GPU build (dims: the array bounds, e.g. [4][32], or nothing).
 * Here a reference to the block's instance, placed in the block's shared-memory arena when the
 * first thread of the launch reaches the declaration (the site: a static tag per declaration and
 * template instance), 0xff bytes (NaN floats, -1 integers) at every block start, with ASan red
 * zones around it. */
#define UFO_SHARED(T, name, dims)                                                                  \
  static const char ufo_emu_site_##name = 0;                                                       \
  using ufo_emu_type_##name = T dims;                                                              \
  ufo_emu_type_##name &name = *static_cast<ufo_emu_type_##name *>(                                 \
      ::ufo_emu::detail::static_smem(&ufo_emu_site_##name, sizeof(ufo_emu_type_##name),            \
                                     alignof(ufo_emu_type_##name), #name, __FILE__, __LINE__))

#endif
