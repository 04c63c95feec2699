/* CUDA emulation: launch limits with the real runtime's error codes (and their non-stickiness),
 * cudaFuncSetAttribute, memory copies/memsets with device-side checks, streams, events, device
 * properties and error strings; a host write to pinned memory while an asynchronous copy from it
 * is in flight is reported. */
#include "emu_test.h"

#include <string.h>

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

int main()
{
  test_launch_limits();
  test_memory_streams_events();
  test_pinned_in_flight();
  test_device();
  return emu_test_result("cuda-emu-runtime");
}
