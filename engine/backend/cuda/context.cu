/* The CUDA context of the backend's device memory (backend.h cuda_context, ufo.h UfoMemory):
 * the primary context of its GPU, the one the CUDA runtime uses. Other CUDA code in the process
 * (GStreamer's CUDA elements) shares it to hand over frames in device memory without a copy;
 * such frames are checked to be memory of this context before a kernel reads them.
 *
 * The runtime API has no call that returns a CUcontext, so the driver's cuCtxGetCurrent and
 * cuPointerGetAttribute are taken through cudaGetDriverEntryPointByVersion (no link against
 * libcuda: the library still loads where there is no driver). The emulation has no driver: its
 * context is a token, and device memory is its own allocations' or the tests' fake driver's
 * (emu_runtime.h is_device_pointer; docs/cuda-emulation.md). */
#include "cuda_priv.h"

#ifndef UFO_CUDA_EMU
#include <cuda.h>
#endif

namespace UFO_CUDA_NS
{

#ifdef UFO_CUDA_EMU

static char emu_context; /* the emulation's one context */

void ufo_cuda_context_init(UfoCuda *cu)
{
  cu->context = &emu_context;
  cu->pointer_get_attribute = NULL;
}

gboolean ufo_cuda_pointer_is_device(UfoCuda *cu, const void *ptr)
{
  (void)cu;
  return ::ufo_emu::is_device_pointer(ptr);
}

/* one context: device memory is the emulation's or the tests' fake driver's */
gboolean ufo_cuda_check_device_pointer(UfoCuda *cu, const void *ptr, const char *what,
                                       GError **error)
{
  if (ptr == NULL || !ufo_cuda_pointer_is_device(cu, ptr)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: %p is not CUDA device memory (UFO_MEMORY_CUDA needs a device pointer of "
                "GPU %d)",
                what, ptr, cu->device);
    return FALSE;
  }
  return TRUE;
}

#else

typedef CUresult (*CtxGetCurrentFn)(CUcontext *ctx);
typedef CUresult (*PointerGetAttributeFn)(void *data, CUpointer_attribute attribute,
                                          CUdeviceptr ptr);

/* a driver entry point of the CUDA 12.0 ABI, or NULL */
static void *driver_entry(const char *name)
{
  void *fn = NULL;
  cudaDriverEntryPointQueryResult found = cudaDriverEntryPointSymbolNotFound;
  if (cudaGetDriverEntryPointByVersion(name, &fn, 12000, cudaEnableDefault, &found) !=
          cudaSuccess ||
      found != cudaDriverEntryPointSuccess) {
    (void)cudaGetLastError();
    return NULL;
  }
  return fn;
}

void ufo_cuda_context_init(UfoCuda *cu)
{
  cu->context = NULL;
  cu->pointer_get_attribute = driver_entry("cuPointerGetAttribute");
  CtxGetCurrentFn get_current = (CtxGetCurrentFn)driver_entry("cuCtxGetCurrent");
  CUcontext ctx = NULL;
  /* the backend made the device's primary context current (cudaSetDevice, a stream on it) */
  if (get_current && cu->pointer_get_attribute && get_current(&ctx) == CUDA_SUCCESS)
    cu->context = ctx;
}

gboolean ufo_cuda_pointer_is_device(UfoCuda *cu, const void *ptr)
{
  PointerGetAttributeFn get = (PointerGetAttributeFn)cu->pointer_get_attribute;
  unsigned int type = 0;
  return get && ptr &&
         get(&type, CU_POINTER_ATTRIBUTE_MEMORY_TYPE, (CUdeviceptr)(uintptr_t)ptr) ==
             CUDA_SUCCESS &&
         type == CU_MEMORYTYPE_DEVICE;
}

gboolean ufo_cuda_check_device_pointer(UfoCuda *cu, const void *ptr, const char *what,
                                       GError **error)
{
  PointerGetAttributeFn get = (PointerGetAttributeFn)cu->pointer_get_attribute;
  if (ptr == NULL || get == NULL || cu->context == NULL) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "%s: %s", what,
                ptr ? "the CUDA driver's pointer queries are unavailable" : "no device pointer");
    return FALSE;
  }
  const CUdeviceptr p = (CUdeviceptr)(uintptr_t)ptr;
  CUcontext ctx = NULL;
  int ordinal = -1;
  if (get(&ordinal, CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL, p) != CUDA_SUCCESS) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: %p is not CUDA device memory (UFO_MEMORY_CUDA needs a device pointer of "
                "GPU %d)",
                what, ptr, cu->device);
    return FALSE;
  }
  /* memory of a stream-ordered pool reports no context; anything else must be ours */
  if (ordinal != cu->device || (get(&ctx, CU_POINTER_ATTRIBUTE_CONTEXT, p) == CUDA_SUCCESS &&
                                ctx != NULL && ctx != (CUcontext)cu->context)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "%s: %p is device memory of %s (GPU %d), not of the session's context (the "
                "primary context of GPU %d, ufo_session_get_cuda_context)",
                what, ptr, ordinal != cu->device ? "another GPU" : "another CUDA context", ordinal,
                cu->device);
    return FALSE;
  }
  return TRUE;
}

#endif

} /* namespace UFO_CUDA_NS */
