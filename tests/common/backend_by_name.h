/* Tests pick their backend by name (--backend=NAME), so every backend runs the same suites:
 * cpu, cpu-ref (the plain reference loops), cuda-emu (the CUDA kernels on the CPU emulation:
 * executables compiled with -DUFO_TEST_CUDA_EMU and linked with the ufo-cuda-emu library) and
 * cuda (the GPU, through the factory: an error naming the cause where there is none). */
#ifndef UFO_TESTS_BACKEND_BY_NAME_H
#define UFO_TESTS_BACKEND_BY_NAME_H

#include "backend/backend.h"

#include <string.h>

#ifdef UFO_TEST_CUDA_EMU
UfoBackend *ufo_backend_cuda_emu_new(GError **error);
#endif

static inline UfoBackend *ufo_test_backend_new(const char *name, GError **error)
{
  if (strcmp(name, "cpu") == 0)
    return ufo_backend_cpu_new(0, error);
  if (strcmp(name, "cpu-ref") == 0)
    return ufo_backend_cpu_ref_new(error);
#ifdef UFO_TEST_CUDA_EMU
  if (strcmp(name, "cuda-emu") == 0)
    return ufo_backend_cuda_emu_new(error);
#endif
  if (strcmp(name, "cuda") == 0)
    return ufo_backend_new(UFO_DEVICE_CUDA, 0, 0, error);
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
              "backend '%s' is unknown or not linked into this test (cpu, cpu-ref, cuda-emu, cuda)",
              name);
  return NULL;
}

#ifdef UFO_TEST_CUDA_EMU
static inline UfoBackend *ufo_test_cuda_emu_ctor(int gpu_id, GError **error)
{
  (void)gpu_id;
  return ufo_backend_cuda_emu_new(error);
}
#endif

/* --device=NAME of the session tests: cpu, cuda (the GPU) or cuda-emu (sessions made with
 * UFO_DEVICE_CUDA get the emulated CUDA backend: backend.h ufo_backend_set_test_cuda_ctor).
 * FALSE with a message for a name this test cannot run. */
static inline gboolean ufo_test_session_device(const char *name, UfoDevice *device)
{
  if (strcmp(name, "cpu") == 0) {
    *device = UFO_DEVICE_CPU;
    return TRUE;
  }
  if (strcmp(name, "cuda") == 0) {
    *device = UFO_DEVICE_CUDA;
    return TRUE;
  }
#ifdef UFO_TEST_CUDA_EMU
  if (strcmp(name, "cuda-emu") == 0) {
    ufo_backend_set_test_cuda_ctor(ufo_test_cuda_emu_ctor);
    *device = UFO_DEVICE_CUDA;
    return TRUE;
  }
#endif
  g_printerr("device '%s' is unknown or not linked into this test (cpu, cuda, cuda-emu)\n", name);
  return FALSE;
}

#endif
