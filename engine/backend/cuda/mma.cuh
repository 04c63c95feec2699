/* Warp-level tensor-core MMA for the CUDA backend's kernels (attention.cu): one
 * mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, D (16x8, f32) = A (16x16, bf16) x
 * B (16x8, bf16) + C (16x8, f32), executed by all 32 lanes of a warp together (every lane must
 * call it, with the same control flow; sm_80 or newer).
 *
 * Fragment layout (PTX ISA, "Matrix Fragments for mma.m16n8k16 with floating point type"), with
 * groupID = lane >> 2 and tig (threadID_in_group) = lane % 4; each unsigned register holds two
 * bf16, the element with the lower column (A) or lower k (B) in the low 16 bits:
 *   A, row-major 16x16 (row, col):  a[0] = (groupID,     tig*2 + {0,1})
 *                                   a[1] = (groupID + 8, tig*2 + {0,1})
 *                                   a[2] = (groupID,     tig*2 + 8 + {0,1})
 *                                   a[3] = (groupID + 8, tig*2 + 8 + {0,1})
 *   B, "col" 16x8 (k, col):         b[0] = (tig*2 + {0,1},     groupID)
 *                                   b[1] = (tig*2 + 8 + {0,1}, groupID)
 *   C and D, 16x8 f32 (row, col):   c[0], c[1] = (groupID,     tig*2 + {0,1})
 *                                   c[2], c[3] = (groupID + 8, tig*2 + {0,1})
 * d may alias c.
 *
 * Under nvcc: one line of inline PTX. In the CPU emulation (UFO_CUDA_EMU, docs/cuda-emulation.md)
 * a warp collective that gathers the 32 lanes' fragments with this layout, multiplies the bf16
 * inputs exactly in fp32 and sums in fp32 in k order (the tensor core's internal summation order
 * is not modelled), then scatters D back. Include after cuda_compat.h. */
#ifndef UFO_BACKEND_CUDA_MMA_CUH
#define UFO_BACKEND_CUDA_MMA_CUH

#if defined(__CUDACC__) && !defined(UFO_CUDA_EMU)

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ < 800
#error "ufo_mma_bf16_m16n8k16 needs sm_80 or newer"
#endif

__device__ __forceinline__ void ufo_mma_bf16_m16n8k16(float d[4], const unsigned a[4],
                                                      const unsigned b[2], const float c[4])
{
  asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
               "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%10, %11, %12, %13};\n"
               : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
               : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]),
                 "f"(c[1]), "f"(c[2]), "f"(c[3]));
}

#else

static inline void ufo_mma_bf16_m16n8k16(float d[4], const unsigned a[4], const unsigned b[2],
                                         const float c[4], const char *file = __builtin_FILE(),
                                         int line = __builtin_LINE())
{
  ::ufo_emu::detail::mma_bf16_m16n8k16(d, a, b, c, file, line);
}

#endif

/* Two floats rounded to bf16 (round to nearest even) in one register: lo in bits 0-15. */
__device__ __forceinline__ unsigned ufo_pack_bf16x2(float lo, float hi)
{
  return (unsigned)__bfloat16_as_ushort(__float2bfloat16_rn(lo)) |
         ((unsigned)__bfloat16_as_ushort(__float2bfloat16_rn(hi)) << 16);
}

/* Two bf16 values in one register: lo in bits 0-15. */
__device__ __forceinline__ unsigned ufo_pack2_bf16(__nv_bfloat16 lo, __nv_bfloat16 hi)
{
  return (unsigned)__bfloat16_as_ushort(lo) | ((unsigned)__bfloat16_as_ushort(hi) << 16);
}

/* The bf16 in the low / high half of a packed register, as a float (exact). */
__device__ __forceinline__ float ufo_bf16x2_lo(unsigned v)
{
  return __uint_as_float(v << 16);
}
__device__ __forceinline__ float ufo_bf16x2_hi(unsigned v)
{
  return __uint_as_float(v & 0xffff0000u);
}

#endif
