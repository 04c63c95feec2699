/* CUDA emulation (docs/cuda-emulation.md): the host runtime subset — memory (host heap, so
 * AddressSanitizer's red zones catch out-of-bounds kernel accesses), synchronous streams and
 * events, one fake device, errors with the real runtime's codes, and the launch entry point that
 * UFO_LAUNCH expands to. Everything lives in namespace ufo_emu, so these symbols never clash with
 * the real libcudart linked into the same test binary. */
#ifndef UFO_CUDA_EMU_RUNTIME_H
#define UFO_CUDA_EMU_RUNTIME_H

#include "emu_types.h"

#include <functional>
#include <memory>
#include <stddef.h>
#include <stdint.h>
#include <tuple>
#include <type_traits>
#include <utility>

namespace ufo_emu
{

/* Same numeric values as CUDA 13's driver_types.h. */
enum cudaError {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidPitchValue = 12,
  cudaErrorInvalidDevicePointer = 17,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorNotReady = 600,
  cudaErrorIllegalAddress = 700,
  cudaErrorLaunchOutOfResources = 701,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
  cudaErrorIllegalState = 401,
  cudaErrorStreamCaptureUnsupported = 900,
  cudaErrorStreamCaptureInvalidated = 901,
  cudaErrorStreamCaptureUnmatched = 903,
  cudaErrorStreamCaptureWrongThread = 908,
  cudaErrorUnknown = 999
};
typedef enum cudaError cudaError_t;

enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};

enum cudaFuncAttribute {
  cudaFuncAttributeMaxDynamicSharedMemorySize = 8,
  cudaFuncAttributePreferredSharedMemoryCarveout = 9
};

#define cudaStreamDefault 0x00
#define cudaStreamNonBlocking 0x01
#define cudaEventDefault 0x00
#define cudaEventBlockingSync 0x01
#define cudaEventDisableTiming 0x02

struct CUstream_st;
struct CUevent_st;
struct CUgraph_st;
struct CUgraphExec_st;
typedef CUstream_st *cudaStream_t;
typedef CUevent_st *cudaEvent_t;
typedef CUgraph_st *cudaGraph_t;
typedef CUgraphExec_st *cudaGraphExec_t;

enum cudaStreamCaptureMode {
  cudaStreamCaptureModeGlobal = 0,
  cudaStreamCaptureModeThreadLocal = 1,
  cudaStreamCaptureModeRelaxed = 2
};
enum cudaStreamCaptureStatus {
  cudaStreamCaptureStatusNone = 0,
  cudaStreamCaptureStatusActive = 1,
  cudaStreamCaptureStatusInvalidated = 2
};

struct cudaDeviceProp {
  char name[256];
  size_t totalGlobalMem;
  size_t sharedMemPerBlock;
  size_t sharedMemPerBlockOptin;
  size_t sharedMemPerMultiprocessor;
  int regsPerBlock;
  int warpSize;
  int maxThreadsPerBlock;
  int maxThreadsDim[3];
  int maxGridSize[3];
  int maxThreadsPerMultiProcessor;
  size_t totalConstMem;
  int major;
  int minor;
  int multiProcessorCount;
  int l2CacheSize;
};

/* ---- the runtime subset ---- */
cudaError_t cudaMalloc(void **ptr, size_t size);
cudaError_t cudaFree(void *ptr);
cudaError_t cudaMallocHost(void **ptr, size_t size);
cudaError_t cudaFreeHost(void *ptr);
template <class T> static inline cudaError_t cudaMalloc(T **ptr, size_t size)
{
  return cudaMalloc((void **)ptr, size);
}
template <class T> static inline cudaError_t cudaMallocHost(T **ptr, size_t size)
{
  return cudaMallocHost((void **)ptr, size);
}
cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream = 0);
cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, cudaMemcpyKind kind,
                              cudaStream_t stream = 0);
cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                         size_t height, cudaMemcpyKind kind);
cudaError_t cudaMemset(void *ptr, int value, size_t count);
cudaError_t cudaMemsetAsync(void *ptr, int value, size_t count, cudaStream_t stream = 0);
cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes);

cudaError_t cudaStreamCreate(cudaStream_t *stream);
cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned flags);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags = 0);
cudaError_t cudaDeviceSynchronize();

cudaError_t cudaEventCreate(cudaEvent_t *event);
cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned flags);
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream = 0);
cudaError_t cudaEventSynchronize(cudaEvent_t event);
cudaError_t cudaEventQuery(cudaEvent_t event);
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end);
cudaError_t cudaEventDestroy(cudaEvent_t event);

/* Stream capture and graphs. Between cudaStreamBeginCapture and cudaStreamEndCapture the
 * stream's work (launches, device-to-device copies, 2-D ones too, and memsets, host_work) is
 * recorded, not run;
 * cudaGraphLaunch runs the recorded work in order. As with the real runtime, the capture is
 * invalidated (cudaStreamEndCapture then fails with cudaErrorStreamCaptureInvalidated and gives
 * no graph) by what a graph cannot hold, which fails with cudaErrorStreamCaptureUnsupported: a
 * copy to or from host memory on the capturing stream, a synchronisation of it, events on it, and,
 * from the capturing thread (or any thread in Global mode), allocation, freeing and synchronous
 * calls (cudaMalloc, cudaFree, cudaMallocHost, cudaFreeHost, cudaMemcpy, cudaMemset,
 * cudaDeviceSynchronize). Stricter than the GPU in one respect: copies from pinned memory,
 * which a real graph may hold, are refused too. */
cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode);
cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph);
cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status);
cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph,
                                 unsigned long long flags = 0);
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream);
cudaError_t cudaGraphDestroy(cudaGraph_t graph);
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec);

cudaError_t cudaGetLastError();
cudaError_t cudaPeekAtLastError();
const char *cudaGetErrorString(cudaError_t error);
const char *cudaGetErrorName(cudaError_t error);

cudaError_t cudaSetDevice(int device);
cudaError_t cudaGetDevice(int *device);
cudaError_t cudaGetDeviceCount(int *count);
cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device);

namespace detail
{
cudaError_t func_set_attribute(const void *key, cudaFuncAttribute attr, int value);
}
template <class F>
static inline cudaError_t cudaFuncSetAttribute(F *func, cudaFuncAttribute attr, int value)
{
  return detail::func_set_attribute((const void *)func, attr, value);
}

/* ---- emulation controls (tests; not CUDA API) ---- */
/* The seed of the per-phase thread order (environment UFO_EMU_SEED: a number, or "random";
 * default 0x5eed). set_seed also restarts the launch counter, so a sequence of launches after
 * set_seed(s) is reproducible. */
void set_seed(uint64_t seed);
uint64_t get_seed();
/* Kernel launches run so far, graph replays' included (restarted by set_seed). */
uint64_t launches();
/* The dynamic-shared-memory race detector (environment UFO_EMU_RACECHECK=1; default off). */
void set_racecheck(bool on);
/* Pretend there is no device (environment UFO_EMU_NO_DEVICE=1): cudaGetDeviceCount gives 0 and
 * cudaSetDevice fails with cudaErrorNoDevice, as on a machine without a GPU. */
void set_no_device(bool on);
/* Whether p is device memory, as cuPointerGetAttribute would say: inside an allocation of this
 * emulation (cudaMalloc) or of another CUDA API user in the process that the emulation can ask
 * (the tests' fake driver, tests/gst/fakecuda: its ufo_fake_cuda_device_range, found with
 * dlsym). Copies treat such foreign memory as device memory too. */
bool is_device_pointer(const void *p);
/* Host code that stands for device work on a stream (the emulated GEMM's OpenBLAS call): runs
 * now, or is recorded into the stream's capture. Returns cudaSuccess or the capture error. */
cudaError_t host_work(cudaStream_t stream, std::function<void()> work);

/* ---- launch ---- */
namespace detail
{
struct Launch {
  const char *name; /* kernel expression as written at the launch */
  const void *key;  /* the kernel function, for cudaFuncSetAttribute */
  dim3 grid, block;
  size_t smem; /* dynamic shared memory bytes */
  cudaStream_t stream;
  void (*invoke)(void *ctx); /* runs the kernel body for the current CUDA thread */
  void *ctx;
};
void launch(const Launch &l);
/* A kernel's pointer argument p (argument index, from 0; field: NULL, or the pointer field of a
 * struct argument, sub its element index or -1) must be NULL, device memory (inside or one past
 * the end of a cudaMalloc allocation, or foreign device memory: is_device_pointer) or pinned host
 * memory (cudaMallocHost: mapped into the device's address space). Anything else (the host heap,
 * the stack, a global) is an illegal address on the GPU: the launch fails with
 * cudaErrorLaunchFailure naming the kernel, the argument and the field, and does not run. */
bool device_arg_ok(const char *kernel, int index, const char *field, int sub, const void *p);

/* Value types without pointers that kernels take by value. */
template <class T> struct is_plain_value : std::is_arithmetic<T> {
};
#define UFO_EMU_PLAIN_VALUE(T)                                                                     \
  template <> struct is_plain_value<T> : std::true_type {                                          \
  };
UFO_EMU_PLAIN_VALUE(dim3)
UFO_EMU_PLAIN_VALUE(uint3)
UFO_EMU_PLAIN_VALUE(float2)
UFO_EMU_PLAIN_VALUE(float4)
UFO_EMU_PLAIN_VALUE(int2)
UFO_EMU_PLAIN_VALUE(int4)
UFO_EMU_PLAIN_VALUE(uint2)
UFO_EMU_PLAIN_VALUE(uint4)
UFO_EMU_PLAIN_VALUE(__nv_bfloat16)
UFO_EMU_PLAIN_VALUE(__nv_bfloat162)
UFO_EMU_PLAIN_VALUE(__half)
UFO_EMU_PLAIN_VALUE(__half2)
#undef UFO_EMU_PLAIN_VALUE

/* A struct parameter names its pointer fields to the launch check with a function found by
 * argument-dependent lookup, next to the struct (under UFO_CUDA_EMU):
 *   template <class F> void ufo_emu_pointers(const Args &a, F &&field)
 *   { field(a.x, "x", -1); for (...) field(a.seg[i].k, "seg.k", i); }
 * (a struct without pointers declares one that names none). A struct parameter without it does
 * not compile: its pointers would go unchecked. */
typedef void (*PointerVisit)(const void *, const char *, int);
template <class T, class = void> struct has_pointer_fields : std::false_type {
};
template <class T>
struct has_pointer_fields<T, std::void_t<decltype(ufo_emu_pointers(std::declval<const T &>(),
                                                                   std::declval<PointerVisit>()))>>
    : std::true_type {
};

template <class T> static inline bool arg_ok(const char *kernel, int index, const T &v)
{
  if constexpr (std::is_pointer<T>::value) {
    return device_arg_ok(kernel, index, nullptr, -1, (const void *)v);
  } else if constexpr (is_plain_value<T>::value || std::is_enum<T>::value) {
    return true;
  } else {
    static_assert(has_pointer_fields<T>::value,
                  "a struct kernel parameter needs ufo_emu_pointers() naming its pointer fields "
                  "(emu_runtime.h)");
    bool ok = true;
    ufo_emu_pointers(v, [&](const void *p, const char *field, int sub) {
      ok = ok && device_arg_ok(kernel, index, field, sub, p);
    });
    return ok;
  }
}
template <class Tuple, size_t... I>
static inline bool args_ok(const char *kernel, const Tuple &t, std::index_sequence<I...>)
{
  bool ok = true;
  ((ok = ok && arg_ok(kernel, (int)I, std::get<I>(t))), ...);
  return ok;
}
void *dyn_smem();
/* Whether stream is being captured (cudaStreamBeginCapture). */
bool capturing(cudaStream_t stream);
/* Records a launch into its stream's capture (its configuration checked now, as the GPU's
 * runtime checks it at the launch): replay runs it. */
void record_launch(const Launch &l, std::function<void()> replay);
} /* namespace detail */

/* UFO_LAUNCH's target: the arguments are converted to the kernel's parameter types once, at the
 * launch (as CUDA copies them), then every CUDA thread calls the kernel with that copy. */
template <class... P, class... A>
static inline void launch_kernel(const char *name, void (*kernel)(P...), dim3 grid, dim3 block,
                                 size_t smem, cudaStream_t stream, A &&...args)
{
  static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
  struct Pack {
    void (*kernel)(P...);
    std::tuple<typename std::decay<P>::type...> args;
  };
  Pack pack{kernel, std::tuple<typename std::decay<P>::type...>(std::forward<A>(args)...)};
  if (!detail::args_ok(name, pack.args, std::index_sequence_for<P...>{}))
    return;
  detail::Launch l;
  l.name = name;
  l.key = (const void *)kernel;
  l.grid = grid;
  l.block = block;
  l.smem = smem;
  l.stream = stream;
  l.invoke = [](void *ctx) {
    Pack *p = (Pack *)ctx;
    std::apply(p->kernel, p->args);
  };
  l.ctx = &pack;
  if (detail::capturing(stream)) { /* recorded: the launch and its own copy of the arguments */
    std::shared_ptr<Pack> kept = std::make_shared<Pack>(pack);
    detail::record_launch(l, [kept, l]() mutable {
      l.ctx = kept.get();
      detail::launch(l);
    });
    return;
  }
  detail::launch(l);
}

} /* namespace ufo_emu */

#endif
