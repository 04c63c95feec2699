/* CUDA emulation: launch limits with the real runtime's error codes (and their non-stickiness),
 * pointer arguments in host memory refused at the launch, cudaFuncSetAttribute, memory
 * copies/memsets with device-side checks, streams, events, device properties and error strings; a
 * host write to pinned memory while an asynchronous copy from it is in flight is reported. */
#include "emu_test.h"

#include <string.h>
#include <thread>

__global__ void fill(int *out, int v)
{
  UFO_DYN_SMEM(int, s);
  (void)s;
  out[blockIdx.x * blockDim.x + threadIdx.x] = v;
}

static void test_launch_limits()
{
  int *d = dev_alloc<int>(2048);
  UFO_LAUNCH(fill, 1, 1025, 0, 0, d, 1);
  CHECK(cudaPeekAtLastError() == cudaErrorInvalidConfiguration);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  CHECK(cudaGetLastError() == cudaSuccess); /* not sticky */
  UFO_LAUNCH(fill, 1, dim3(32, 32, 2), 0, 0, d, 1);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  UFO_LAUNCH(fill, 1, dim3(1, 1, 65), 0, 0, d, 1);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  UFO_LAUNCH(fill, 0, 32, 0, 0, d, 1);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  UFO_LAUNCH(fill, dim3(1, 65536), 32, 0, 0, d, 1);
  CHECK(cudaGetLastError() == cudaErrorInvalidConfiguration);
  /* shared memory: 48 KiB without the opt-in, up to 227 KiB with it */
  UFO_LAUNCH(fill, 1, 32, 48 * 1024, 0, d, 1);
  CHECK_CUDA(cudaGetLastError());
  UFO_LAUNCH(fill, 1, 32, 48 * 1024 + 4, 0, d, 1);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK_CUDA(cudaFuncSetAttribute(fill, cudaFuncAttributeMaxDynamicSharedMemorySize, 100 * 1024));
  UFO_LAUNCH(fill, 1, 32, 100 * 1024, 0, d, 1);
  CHECK_CUDA(cudaGetLastError());
  UFO_LAUNCH(fill, 1, 32, 100 * 1024 + 4, 0, d, 1);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaFuncSetAttribute(fill, cudaFuncAttributeMaxDynamicSharedMemorySize, 232448 + 1) ==
        cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK_CUDA(cudaFuncSetAttribute(fill, cudaFuncAttributeMaxDynamicSharedMemorySize, 232448));
  UFO_LAUNCH(fill, 2, 1024, 232448, 0, d, 7);
  CHECK_CUDA(cudaGetLastError());
  int h[2048];
  CHECK_CUDA(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
  bool all = true;
  for (int i = 0; i < 2048; i++)
    all = all && h[i] == 7;
  CHECK(all);
  /* an unknown stream */
  cudaStream_t bogus = (cudaStream_t)(void *)h;
  UFO_LAUNCH(fill, 1, 32, 0, bogus, d, 1);
  CHECK(cudaGetLastError() == cudaErrorInvalidResourceHandle);
  cudaFree(d);
}

static void test_memory_streams_events()
{
  cudaStream_t s;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  int *d = dev_alloc<int>(256), *pinned = nullptr, h[256], back[256];
  CHECK_CUDA(cudaMallocHost(&pinned, 256 * sizeof(int)));
  for (int i = 0; i < 256; i++)
    h[i] = i * i;
  CHECK_CUDA(cudaMemcpyAsync(d, h, sizeof h, cudaMemcpyHostToDevice, s));
  CHECK_CUDA(cudaMemcpyAsync(pinned, d, sizeof h, cudaMemcpyDeviceToHost, s));
  CHECK_CUDA(cudaStreamSynchronize(s));
  CHECK(memcmp(pinned, h, sizeof h) == 0);
  /* device to device, at an offset inside the allocation, and Default (inferred) */
  int *d2 = dev_alloc<int>(256);
  CHECK_CUDA(cudaMemcpy(d2 + 128, d, 128 * sizeof(int), cudaMemcpyDeviceToDevice));
  CHECK_CUDA(cudaMemcpy(back, d2 + 128, 128 * sizeof(int), cudaMemcpyDefault));
  CHECK(memcmp(back, h, 128 * sizeof(int)) == 0);
  /* 2-D: 4 rows of 3 ints out of a pitch of 5 */
  CHECK_CUDA(cudaMemsetAsync(d2, 0xff, 256 * sizeof(int), s));
  CHECK_CUDA(cudaMemcpy2DAsync(d2, 5 * sizeof(int), h, 3 * sizeof(int), 3 * sizeof(int), 4,
                               cudaMemcpyHostToDevice, s));
  CHECK_CUDA(cudaMemcpy(back, d2, 20 * sizeof(int), cudaMemcpyDeviceToHost));
  for (int r = 0; r < 4; r++)
    for (int c = 0; c < 5; c++)
      CHECK(back[r * 5 + c] == (c < 3 ? h[r * 3 + c] : -1));
  CHECK(cudaMemcpy2DAsync(d2, 2, h, 12, 12, 1, cudaMemcpyHostToDevice, s) ==
        cudaErrorInvalidPitchValue);
  /* the device side is checked: out of the allocation, wrong direction, unknown pointer */
  CHECK(cudaMemcpy(d + 1, h, sizeof h, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(h, back, sizeof h, cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(d, h, sizeof h, cudaMemcpyDeviceToHost) == cudaErrorInvalidValue);
  CHECK(cudaMemset(h, 0, 4) == cudaErrorInvalidValue);
  CHECK(cudaFree(h) == cudaErrorInvalidValue);
  CHECK(cudaFree(d + 1) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaSuccess);
  /* events: synchronous, no timing claims */
  cudaEvent_t a, b;
  CHECK_CUDA(cudaEventCreate(&a));
  CHECK_CUDA(cudaEventCreate(&b));
  float ms = -1;
  CHECK(cudaEventElapsedTime(&ms, a, b) == cudaErrorInvalidResourceHandle); /* not recorded */
  CHECK_CUDA(cudaEventRecord(a, s));
  UFO_LAUNCH(fill, 8, 32, 0, s, d, 3);
  CHECK_CUDA(cudaEventRecord(b, s));
  CHECK_CUDA(cudaStreamWaitEvent(0, b));
  CHECK_CUDA(cudaEventSynchronize(b));
  CHECK_CUDA(cudaEventElapsedTime(&ms, a, b));
  CHECK(ms == 0.0f);
  CHECK_CUDA(cudaEventDestroy(a));
  CHECK_CUDA(cudaEventDestroy(b));
  CHECK(cudaEventDestroy(a) == cudaErrorInvalidResourceHandle);
  CHECK(cudaStreamDestroy(s) == cudaSuccess);
  CHECK(cudaStreamSynchronize(s) == cudaErrorInvalidResourceHandle);
  cudaGetLastError();
  CHECK_CUDA(cudaFreeHost(pinned));
  cudaFree(d);
  cudaFree(d2);
  /* a failed allocation */
  void *huge = nullptr;
  CHECK(cudaMalloc(&huge, (size_t)1 << 62) == cudaErrorMemoryAllocation);
  CHECK(huge == nullptr);
  CHECK(cudaGetLastError() == cudaErrorMemoryAllocation);
}

/* Pinned sources of asynchronous copies are in flight until a synchronisation covers them: a host
 * write before that fails the synchronisation with a report naming it; pageable sources and
 * writes after the synchronisation are fine. */
static bool failed_in_flight(cudaError_t e)
{
  if (e != cudaErrorLaunchFailure)
    return false;
  bool named = cudaGetLastError() == cudaErrorLaunchFailure &&
               strstr(cudaGetErrorString(cudaErrorLaunchFailure), "in flight") != nullptr;
  return named && cudaGetLastError() == cudaSuccess; /* reported once */
}

static void test_pinned_in_flight()
{
  cudaStream_t s;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  int *d = dev_alloc<int>(64), *pin = nullptr, h[64];
  CHECK_CUDA(cudaMallocHost(&pin, 64 * sizeof(int)));
  for (int i = 0; i < 64; i++)
    pin[i] = h[i] = i;
  cudaEvent_t ev;
  CHECK_CUDA(cudaEventCreate(&ev));
  /* written after the event that follows the copy: fine */
  CHECK_CUDA(cudaMemcpyAsync(d, pin, 64 * sizeof(int), cudaMemcpyHostToDevice, s));
  CHECK_CUDA(cudaEventRecord(ev, s));
  CHECK_CUDA(cudaEventSynchronize(ev));
  pin[0] = 100;
  CHECK_CUDA(cudaStreamSynchronize(s));
  /* written before any synchronisation: the stream's synchronisation fails */
  CHECK_CUDA(cudaMemcpyAsync(d, pin, 64 * sizeof(int), cudaMemcpyHostToDevice, s));
  pin[3] = 9;
  CHECK(failed_in_flight(cudaStreamSynchronize(s)));
  /* an event recorded before the copy does not cover it */
  CHECK_CUDA(cudaEventRecord(ev, s));
  CHECK_CUDA(cudaMemcpyAsync(d, pin, 64 * sizeof(int), cudaMemcpyHostToDevice, s));
  CHECK_CUDA(cudaEventSynchronize(ev));
  pin[1] = 8;
  CHECK(failed_in_flight(cudaDeviceSynchronize()));
  /* 2-D copies too (2 rows of 8 ints out of a pitch of 16), and cudaFreeHost waits for them */
  CHECK_CUDA(cudaMemcpy2DAsync(d, 8 * sizeof(int), pin, 16 * sizeof(int), 8 * sizeof(int), 2,
                               cudaMemcpyHostToDevice, s));
  pin[12] = 5; /* between the rows: not read by the copy */
  CHECK_CUDA(cudaStreamSynchronize(s));
  CHECK_CUDA(cudaMemcpy2DAsync(d, 8 * sizeof(int), pin, 16 * sizeof(int), 8 * sizeof(int), 2,
                               cudaMemcpyHostToDevice, s));
  pin[17] = 5;
  CHECK_CUDA(cudaFreeHost(pin));
  CHECK(failed_in_flight(cudaStreamSynchronize(s)));
  /* pageable sources are staged before the call returns; synchronous copies are done at once */
  CHECK_CUDA(cudaMemcpyAsync(d, h, sizeof h, cudaMemcpyHostToDevice, s));
  h[0] = 1;
  CHECK_CUDA(cudaStreamSynchronize(s));
  CHECK_CUDA(cudaMallocHost(&pin, 64 * sizeof(int)));
  CHECK_CUDA(cudaMemcpy(d, pin, 64 * sizeof(int), cudaMemcpyHostToDevice));
  pin[0] = 1;
  CHECK_CUDA(cudaDeviceSynchronize());
  CHECK_CUDA(cudaFreeHost(pin));
  CHECK_CUDA(cudaEventDestroy(ev));
  CHECK_CUDA(cudaStreamDestroy(s));
  cudaFree(d);
}

static void test_device()
{
  int n = 0, dev = -1;
  CHECK_CUDA(cudaGetDeviceCount(&n));
  CHECK(n == 1);
  CHECK_CUDA(cudaSetDevice(0));
  CHECK_CUDA(cudaGetDevice(&dev));
  CHECK(dev == 0);
  CHECK(cudaSetDevice(1) == cudaErrorInvalidDevice);
  cudaDeviceProp p;
  CHECK_CUDA(cudaGetDeviceProperties(&p, 0));
  CHECK(p.major == 9 && p.minor == 0);
  CHECK(p.multiProcessorCount == 132);
  CHECK(p.sharedMemPerBlock == 49152 && p.sharedMemPerBlockOptin == 232448);
  CHECK(strstr(p.name, "emulation") != nullptr);
  size_t fr = 0, tot = 0;
  CHECK_CUDA(cudaMemGetInfo(&fr, &tot));
  CHECK(tot > 0 && fr <= tot);
  ufo_emu::set_no_device(true);
  CHECK(cudaGetDeviceCount(&n) == cudaErrorNoDevice && n == 0);
  CHECK(cudaSetDevice(0) == cudaErrorNoDevice);
  ufo_emu::set_no_device(false);
  cudaGetLastError();
  CHECK(!strcmp(cudaGetErrorName(cudaErrorInvalidConfiguration), "cudaErrorInvalidConfiguration"));
  CHECK(!strcmp(cudaGetErrorString(cudaErrorInvalidValue), "invalid argument"));
}

__global__ void add_one(int *v, int n)
{
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n)
    v[i] += 1;
}

/* Stream capture: recorded work does not run until the graph is launched, then runs in order
 * with the buffers' contents at launch time; what a graph cannot hold fails and invalidates the
 * capture (cudaStreamEndCapture: no graph); a thread-local capture leaves other threads free. */
static void test_graphs()
{
  const int n = 100;
  int *d = dev_alloc<int>(n), *e = dev_alloc<int>(n);
  int h[n];
  for (int i = 0; i < n; i++)
    h[i] = i;
  CHECK_CUDA(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
  cudaStream_t s;
  CHECK_CUDA(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  /* the legacy stream cannot be captured */
  CHECK(cudaStreamBeginCapture(0, cudaStreamCaptureModeThreadLocal) ==
        cudaErrorStreamCaptureUnsupported);
  cudaGetLastError();
  CHECK_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
  cudaStreamCaptureStatus cs;
  CHECK_CUDA(cudaStreamIsCapturing(s, &cs));
  CHECK(cs == cudaStreamCaptureStatusActive);
  UFO_LAUNCH(add_one, 1, 128, 0, s, d, n);
  CHECK_CUDA(cudaMemcpyAsync(e, d, sizeof h, cudaMemcpyDeviceToDevice, s));
  CHECK_CUDA(cudaMemsetAsync(d, 0, sizeof(int), s));
  bool ran = false;
  CHECK_CUDA(ufo_emu::host_work(s, [&ran]() { ran = true; }));
  /* another thread may allocate during a thread-local capture */
  bool other_ok = false;
  std::thread t([&other_ok]() {
    void *p = nullptr;
    other_ok = cudaMalloc(&p, 64) == cudaSuccess && cudaFree(p) == cudaSuccess;
  });
  t.join();
  CHECK(other_ok);
  cudaGraph_t g = nullptr;
  CHECK_CUDA(cudaStreamEndCapture(s, &g));
  CHECK(g != nullptr && !ran);
  int back[n];
  CHECK_CUDA(cudaMemcpy(back, d, sizeof back, cudaMemcpyDeviceToHost));
  CHECK(back[0] == 0 && back[5] == 5); /* nothing ran yet */
  cudaGraphExec_t x = nullptr;
  CHECK_CUDA(cudaGraphInstantiate(&x, g, 0));
  CHECK_CUDA(cudaGraphDestroy(g));
  for (int rep = 1; rep <= 2; rep++) { /* each launch reads d as it is then */
    CHECK_CUDA(cudaGraphLaunch(x, s));
    CHECK_CUDA(cudaStreamSynchronize(s));
    CHECK_CUDA(cudaMemcpy(back, e, sizeof back, cudaMemcpyDeviceToHost));
    CHECK(back[5] == 5 + rep && back[99] == 99 + rep && back[0] == 1);
    CHECK(ran);
  }
  CHECK_CUDA(cudaGraphExecDestroy(x));
  /* what a capture cannot hold: synchronising, host copies, allocating on the capturing thread */
  struct Bad {
    const char *what;
    cudaError_t (*call)(cudaStream_t s, int *d);
  } bad[] = {
      {"stream sync", [](cudaStream_t s, int *) { return cudaStreamSynchronize(s); }},
      {"device sync", [](cudaStream_t, int *) { return cudaDeviceSynchronize(); }},
      {"host copy",
       [](cudaStream_t s, int *d) {
         static int hb[4];
         return cudaMemcpyAsync(hb, d, sizeof hb, cudaMemcpyDeviceToHost, s);
       }},
      {"malloc",
       [](cudaStream_t, int *) {
         void *p = nullptr;
         return cudaMalloc(&p, 16);
       }},
      {"free", [](cudaStream_t, int *d) { return cudaFree(d); }},
      {"sync copy",
       [](cudaStream_t, int *d) {
         int hb[4];
         return cudaMemcpy(hb, d, sizeof hb, cudaMemcpyDeviceToHost);
       }},
  };
  for (const Bad &b : bad) {
    CHECK_CUDA(cudaStreamBeginCapture(s, cudaStreamCaptureModeThreadLocal));
    UFO_LAUNCH(add_one, 1, 128, 0, s, d, n);
    cudaError_t r = b.call(s, d);
    if (r != cudaErrorStreamCaptureUnsupported)
      fprintf(stderr, "capture: %s gave %s\n", b.what, cudaGetErrorName(r));
    CHECK(r == cudaErrorStreamCaptureUnsupported);
    CHECK_CUDA(cudaStreamIsCapturing(s, &cs));
    CHECK(cs == cudaStreamCaptureStatusInvalidated);
    cudaGraph_t none = (cudaGraph_t)(void *)&cs;
    CHECK(cudaStreamEndCapture(s, &none) == cudaErrorStreamCaptureInvalidated);
    CHECK(none == nullptr);
    cudaGetLastError();
  }
  /* the invalidated captures ran nothing: d is as the last launch left it */
  CHECK_CUDA(cudaMemcpy(back, d, sizeof back, cudaMemcpyDeviceToHost));
  CHECK(back[0] == 0 && back[99] == 99 + 2);
  /* ending a capture that was never begun */
  CHECK(cudaStreamEndCapture(s, &g) == cudaErrorIllegalState);
  cudaGetLastError();
  CHECK(!strcmp(cudaGetErrorName(cudaErrorStreamCaptureInvalidated),
                "cudaErrorStreamCaptureInvalidated"));
  CHECK_CUDA(cudaStreamDestroy(s));
  cudaFree(d);
  cudaFree(e);
}

/* Pointer arguments: NULL, device memory (also one past an allocation's end) and pinned host
 * memory pass; a pointer to the host heap or the stack fails the launch (an illegal address on
 * the GPU), names the kernel and the argument, and the kernel does not run. */
__global__ void copy_first(int *out, const int *in)
{
  if (in && threadIdx.x == 0)
    out[0] = in[0];
}

static void test_pointer_arguments()
{
  int *d = dev_alloc<int>(4), *pinned = nullptr;
  CHECK_CUDA(cudaMallocHost((void **)&pinned, 4 * sizeof(int)));
  pinned[0] = 5;
  UFO_LAUNCH(copy_first, 1, 32, 0, 0, d, (const int *)nullptr);
  CHECK_CUDA(cudaGetLastError());
  UFO_LAUNCH(copy_first, 1, 32, 0, 0, d, (const int *)pinned);
  CHECK_CUDA(cudaGetLastError());
  UFO_LAUNCH(copy_first, 1, 32, 0, 0, d + 4, (const int *)nullptr); /* one past the end */
  CHECK_CUDA(cudaGetLastError());
  int h = -1;
  CHECK_CUDA(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost));
  CHECK(h == 5);
  int *heap = (int *)malloc(4 * sizeof(int));
  heap[0] = 9;
  UFO_LAUNCH(copy_first, 1, 32, 0, 0, d, (const int *)heap);
  cudaError_t e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  const char *msg = cudaGetErrorString(e);
  CHECK(strstr(msg, "copy_first") != nullptr && strstr(msg, "argument 1") != nullptr &&
        strstr(msg, "host memory") != nullptr);
  int stack_word = 3;
  UFO_LAUNCH(copy_first, 1, 32, 0, 0, &stack_word, (const int *)nullptr);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
  CHECK(strstr(cudaGetErrorString(cudaErrorLaunchFailure), "argument 0") != nullptr);
  CHECK(stack_word == 3);
  CHECK_CUDA(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost));
  CHECK(h == 5); /* the failed launches did not run */
  CHECK(cudaGetLastError() == cudaSuccess);
  free(heap);
  cudaFreeHost(pinned);
  cudaFree(d);
}

/* Pointers inside a struct parameter are checked too, field by field, through the struct's
 * ufo_emu_pointers (emu_runtime.h); a struct parameter without one does not compile. */
typedef struct {
  int scale;
  const int *in[2];
  int *out;
} CopyArgs;

template <class F> static inline void ufo_emu_pointers(const CopyArgs &a, F &&field)
{
  for (int i = 0; i < 2; i++)
    field(a.in[i], "in", i);
  field(a.out, "out", -1);
}

__global__ void copy_sum(CopyArgs a)
{
  if (threadIdx.x == 0)
    a.out[0] = a.scale * (a.in[0][0] + a.in[1][0]);
}

struct NoPointerList {
  int *p;
};
static_assert(ufo_emu::detail::has_pointer_fields<CopyArgs>::value &&
                  !ufo_emu::detail::has_pointer_fields<NoPointerList>::value,
              "struct parameters name their pointer fields");

static void test_struct_pointer_fields()
{
  int *d = dev_alloc<int>(3);
  int init[3] = {0, 2, 3};
  CHECK_CUDA(cudaMemcpy(d, init, sizeof init, cudaMemcpyHostToDevice));
  CopyArgs a = {10, {d + 1, d + 2}, d};
  UFO_LAUNCH(copy_sum, 1, 32, 0, 0, a);
  CHECK_CUDA(cudaGetLastError());
  int h = -1;
  CHECK_CUDA(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost));
  CHECK(h == 50);
  int host_word = 7;
  a.in[1] = &host_word; /* a host pointer in the second element of a field */
  a.scale = 100;
  UFO_LAUNCH(copy_sum, 1, 32, 0, 0, a);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
  const char *msg = cudaGetErrorString(cudaErrorLaunchFailure);
  CHECK(strstr(msg, "copy_sum") != nullptr && strstr(msg, "argument 0 field in #1") != nullptr &&
        strstr(msg, "host memory") != nullptr);
  a.in[1] = d + 2;
  a.out = (int *)malloc(sizeof(int)); /* a host destination */
  UFO_LAUNCH(copy_sum, 1, 32, 0, 0, a);
  CHECK(cudaGetLastError() == cudaErrorLaunchFailure);
  CHECK(strstr(cudaGetErrorString(cudaErrorLaunchFailure), "field out (") != nullptr);
  free(a.out);
  CHECK_CUDA(cudaMemcpy(&h, d, sizeof h, cudaMemcpyDeviceToHost));
  CHECK(h == 50); /* the failed launches did not run */
  cudaFree(d);
}

int main()
{
  test_launch_limits();
  test_pointer_arguments();
  test_struct_pointer_fields();
  test_memory_streams_events();
  test_pinned_in_flight();
  test_device();
  test_graphs();
  return emu_test_result("cuda-emu-runtime");
}
