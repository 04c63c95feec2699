/* Test hooks of the fake CUDA driver (tests/gst/fakecuda/libcuda.so.1): byte counters of the
 * copies made through cuMemcpy2D(Async) and the number of live device allocations. */
#ifndef UFO_FAKE_CUDA_DRIVER_H
#define UFO_FAKE_CUDA_DRIVER_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds of copies counted by ufo_fake_cuda_bytes(). */
enum {
  UFO_FAKE_CUDA_HOST_TO_DEVICE = 0,
  UFO_FAKE_CUDA_DEVICE_TO_HOST = 1,
  UFO_FAKE_CUDA_DEVICE_TO_DEVICE = 2,
  UFO_FAKE_CUDA_HOST_TO_HOST = 3,
};

/* Bytes copied of one kind since load or the last reset; 0 for an unknown kind. */
unsigned long long ufo_fake_cuda_bytes(int kind);
/* Sets every byte counter to 0. */
void ufo_fake_cuda_reset_counters(void);
/* Device allocations (cuMemAlloc, cuMemAllocPitch) not freed yet. */
unsigned long long ufo_fake_cuda_live_allocations(void);
/* 1 when [p, p + n) lies inside one live device allocation. The CUDA emulation looks this up
 * (dlsym) to know this driver's device memory as device memory (emu_runtime.h
 * is_device_pointer). */
int ufo_fake_cuda_device_range(const void *p, size_t n);

#ifdef __cplusplus
}
#endif

#endif
