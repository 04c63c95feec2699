/* What every .cu file of the CUDA backend includes first: the CUDA runtime and bf16/fp16 types
 * under nvcc, or the project's emulation of the CUDA execution model on the CPU (emu/cuda_emu.h,
 * docs/cuda-emulation.md) when the same sources are compiled by the host C++ compiler for the
 * test-only "cuda-emu" backend (UFO_CUDA_EMU defined). Kernels use only what the emulation
 * provides; launches go through UFO_LAUNCH, static shared memory through UFO_SHARED, dynamic shared
 * memory through UFO_DYN_SMEM. */
#ifndef UFO_BACKEND_CUDA_COMPAT_H
#define UFO_BACKEND_CUDA_COMPAT_H

#ifdef UFO_CUDA_EMU
#include "emu/cuda_emu.h"
/* Internal symbols of the two builds never meet in one binary (tests link both). */
#define UFO_CUDA_NS ufo_cuda_emu_impl
#else
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#define UFO_CUDA_NS ufo_cuda_gpu_impl
/* kernel<<<grid, block, smem, stream>>>(args...); wrap a template kernel in parentheses. */
#define UFO_LAUNCH(kernel, grid, block, smem, stream, ...)                                         \
  kernel<<<(grid), (block), (smem), (stream)>>>(__VA_ARGS__)
/* The block's dynamic shared memory (the launch's smem bytes) as T name[]. */
#define UFO_DYN_SMEM(T, name) extern __shared__ __align__(16) T name[]
/* Static shared memory: T name dims, e.g. UFO_SHARED(float, part, [4][32]) (dims may be empty). */
#define UFO_SHARED(T, name, dims) __shared__ T name dims
#endif

/* Unroll the next loop fully under nvcc (constant trip count: register arrays stay registers);
 * nothing for the host compiler. */
#ifdef __CUDACC__
#define UFO_UNROLL _Pragma("unroll")
#else
#define UFO_UNROLL
#endif

#endif
