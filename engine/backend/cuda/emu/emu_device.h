/* CUDA emulation (docs/cuda-emulation.md): the kernel-side subset — built-in indices, barriers,
 * warp collectives (executed in lock-step by the scheduler, emu/sched.cc), atomics and the math
 * intrinsics. Everything lives in namespace ufo_emu (cuda_emu.h adds the using-directive).
 *
 * Call sites: __syncthreads and the warp collectives take the caller's file and line as hidden
 * default arguments (__builtin_FILE/__builtin_LINE) for the error reports; kernels call them
 * exactly as in CUDA. */
#ifndef UFO_CUDA_EMU_DEVICE_H
#define UFO_CUDA_EMU_DEVICE_H

#include "emu_types.h"

#include <math.h>
#include <cmath>
#include <stdint.h>
#include <string.h>
#include <type_traits>

namespace ufo_emu
{

/* ---- built-in variables: set by the scheduler before it switches into a CUDA thread ---- */
extern __thread uint3 threadIdx;
extern __thread uint3 blockIdx;
extern __thread uint3 blockDim;
extern __thread uint3 gridDim;
constexpr int warpSize = 32;

namespace detail
{
/* Warp collective kinds and sub-operations (sched.cc). */
enum { SHFL_IDX, SHFL_UP, SHFL_DOWN, SHFL_XOR };
enum { VOTE_BALLOT, VOTE_ANY, VOTE_ALL };
void syncthreads(const char *file, int line);
void syncwarp(unsigned mask, const char *file, int line);
uint64_t shfl(unsigned mask, uint64_t v, int sub, int arg, int width, const char *what,
              const char *file, int line);
unsigned vote(unsigned mask, int pred, int sub, const char *what, const char *file, int line);
unsigned activemask();
void mma_bf16_m16n8k16(float d[4], const unsigned a[4], const unsigned b[2], const float c[4],
                       const char *file, int line);
/* The block's instance of a UFO_SHARED variable (sched.cc). */
void *static_smem(const void *site, size_t bytes, size_t align, const char *name, const char *file,
                  int line);
/* Racecheck (shared memory): atomics mark their bytes, so they are not reported. */
extern bool racecheck_on;
void note_atomic(const void *p, size_t n);

template <class T> static inline uint64_t to_u64(const T &v)
{
  static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value,
                "warp shuffles move values of at most 8 bytes");
  uint64_t u = 0;
  memcpy(&u, &v, sizeof(T));
  return u;
}
template <class T> static inline T from_u64(uint64_t u)
{
  T v;
  memcpy(&v, &u, sizeof(T));
  return v;
}
} /* namespace detail */

/* ---- barriers ---- */

static inline void __syncthreads(const char *file = __builtin_FILE(), int line = __builtin_LINE())
{
  detail::syncthreads(file, line);
}

static inline void __syncwarp(unsigned mask = 0xffffffffu, const char *file = __builtin_FILE(),
                              int line = __builtin_LINE())
{
  detail::syncwarp(mask, file, line);
}

static inline void __threadfence()
{
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}
static inline void __threadfence_block()
{
  __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* ---- warp shuffles and votes (lock-step over the lanes named in mask) ---- */

template <class T>
static inline T __shfl_sync(unsigned mask, T var, int src_lane, int width = warpSize,
                            const char *file = __builtin_FILE(), int line = __builtin_LINE())
{
  return detail::from_u64<T>(detail::shfl(mask, detail::to_u64(var), detail::SHFL_IDX, src_lane,
                                          width, "__shfl_sync", file, line));
}
template <class T>
static inline T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                               const char *file = __builtin_FILE(), int line = __builtin_LINE())
{
  return detail::from_u64<T>(detail::shfl(mask, detail::to_u64(var), detail::SHFL_UP, (int)delta,
                                          width, "__shfl_up_sync", file, line));
}
template <class T>
static inline T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize,
                                 const char *file = __builtin_FILE(), int line = __builtin_LINE())
{
  return detail::from_u64<T>(detail::shfl(mask, detail::to_u64(var), detail::SHFL_DOWN, (int)delta,
                                          width, "__shfl_down_sync", file, line));
}
template <class T>
static inline T __shfl_xor_sync(unsigned mask, T var, int lane_mask, int width = warpSize,
                                const char *file = __builtin_FILE(), int line = __builtin_LINE())
{
  return detail::from_u64<T>(detail::shfl(mask, detail::to_u64(var), detail::SHFL_XOR, lane_mask,
                                          width, "__shfl_xor_sync", file, line));
}

static inline unsigned __ballot_sync(unsigned mask, int pred, const char *file = __builtin_FILE(),
                                     int line = __builtin_LINE())
{
  return detail::vote(mask, pred, detail::VOTE_BALLOT, "__ballot_sync", file, line);
}
static inline int __any_sync(unsigned mask, int pred, const char *file = __builtin_FILE(),
                             int line = __builtin_LINE())
{
  return (int)detail::vote(mask, pred, detail::VOTE_ANY, "__any_sync", file, line);
}
static inline int __all_sync(unsigned mask, int pred, const char *file = __builtin_FILE(),
                             int line = __builtin_LINE())
{
  return (int)detail::vote(mask, pred, detail::VOTE_ALL, "__all_sync", file, line);
}
/* The lanes of the caller's warp that exist and have not exited (divergence inside a warp is
 * not tracked: see docs/cuda-emulation.md). */
static inline unsigned __activemask()
{
  return detail::activemask();
}

/* ---- atomics (return the old value, like CUDA) ---- */

#define UFO_EMU_ATOMIC_NOTE(p)                                                                     \
  do {                                                                                             \
    if (detail::racecheck_on)                                                                      \
      detail::note_atomic((p), sizeof(*(p)));                                                      \
  } while (0)

static inline int atomicAdd(int *p, int v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
static inline unsigned atomicAdd(unsigned *p, unsigned v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
static inline unsigned long long atomicAdd(unsigned long long *p, unsigned long long v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
static inline float atomicAdd(float *p, float v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  float old, nv;
  __atomic_load(p, &old, __ATOMIC_RELAXED);
  do {
    nv = old + v;
  } while (!__atomic_compare_exchange(p, &old, &nv, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED));
  return old;
}
static inline int atomicSub(int *p, int v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED);
}
static inline unsigned atomicSub(unsigned *p, unsigned v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED);
}
template <class T> static inline T ufo_emu_atomic_max(T *p, T v)
{
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (old < v &&
         !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
template <class T> static inline T ufo_emu_atomic_min(T *p, T v)
{
  T old = __atomic_load_n(p, __ATOMIC_RELAXED);
  while (old > v &&
         !__atomic_compare_exchange_n(p, &old, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
  }
  return old;
}
static inline int atomicMax(int *p, int v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return ufo_emu_atomic_max(p, v);
}
static inline unsigned atomicMax(unsigned *p, unsigned v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return ufo_emu_atomic_max(p, v);
}
static inline int atomicMin(int *p, int v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return ufo_emu_atomic_min(p, v);
}
static inline unsigned atomicMin(unsigned *p, unsigned v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return ufo_emu_atomic_min(p, v);
}
static inline int atomicCAS(int *p, int compare, int v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare; /* the old value either way */
}
static inline unsigned atomicCAS(unsigned *p, unsigned compare, unsigned v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
static inline unsigned long long atomicCAS(unsigned long long *p, unsigned long long compare,
                                           unsigned long long v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  __atomic_compare_exchange_n(p, &compare, v, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
  return compare;
}
static inline int atomicExch(int *p, int v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}
static inline unsigned atomicExch(unsigned *p, unsigned v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  return __atomic_exchange_n(p, v, __ATOMIC_RELAXED);
}
static inline float atomicExch(float *p, float v)
{
  UFO_EMU_ATOMIC_NOTE(p);
  float old;
  __atomic_exchange(p, &v, &old, __ATOMIC_RELAXED);
  return old;
}
#undef UFO_EMU_ATOMIC_NOTE

/* ---- math intrinsics: the fast __ forms are computed exactly (the hardware's approximation
 * error is not modelled; tolerances must cover it) ---- */

static inline float __expf(float x)
{
  return expf(x);
}
static inline float __logf(float x)
{
  return logf(x);
}
static inline float __sinf(float x)
{
  return sinf(x);
}
static inline float __cosf(float x)
{
  return cosf(x);
}
static inline float __powf(float x, float y)
{
  return powf(x, y);
}
static inline float __fdividef(float a, float b)
{
  return a / b;
}
static inline float rsqrtf(float x)
{
  return 1.0f / sqrtf(x);
}
static inline float __frcp_rn(float x)
{
  return 1.0f / x;
}
static inline float __fmaf_rn(float a, float b, float c)
{
  return fmaf(a, b, c);
}
static inline float __saturatef(float x)
{
  return x > 1.0f ? 1.0f : (x >= 0.0f ? x : 0.0f); /* NaN -> 0 as the hardware */
}
static inline int __float_as_int(float f)
{
  int i;
  memcpy(&i, &f, 4);
  return i;
}
static inline float __int_as_float(int i)
{
  float f;
  memcpy(&f, &i, 4);
  return f;
}
static inline unsigned __float_as_uint(float f)
{
  return float_bits(f);
}
static inline float __uint_as_float(unsigned u)
{
  return bits_float(u);
}
static inline int __popc(unsigned x)
{
  return __builtin_popcount(x);
}
static inline int __clz(int x)
{
  return x ? __builtin_clz((unsigned)x) : 32;
}
static inline int __ffs(int x)
{
  return __builtin_ffs(x);
}
template <class T> static inline T __ldg(const T *p)
{
  return *p;
}

/* min/max as CUDA's overloads for integers and floats (usual arithmetic conversions). */
template <class A, class B> static inline typename std::common_type<A, B>::type min(A a, B b)
{
  typedef typename std::common_type<A, B>::type C;
  return (C)b < (C)a ? (C)b : (C)a;
}
template <class A, class B> static inline typename std::common_type<A, B>::type max(A a, B b)
{
  typedef typename std::common_type<A, B>::type C;
  return (C)a < (C)b ? (C)b : (C)a;
}

using std::isinf;
using std::isnan;

} /* namespace ufo_emu */

#endif
