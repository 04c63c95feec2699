/* The backend factory (backend.h ufo_backend_new): one place that maps a UfoDevice to a
 * backend, so the session, the tools and the tests pick backends the same way. */
#include "backend.h"
#include "log.h"
#include "profile.h"

#ifdef UFO_HAVE_CUDA
UfoBackend *ufo_backend_cuda_new(int gpu_id, GError **error); /* backend/cuda (nvcc build) */
#endif

static UfoCudaBackendCtor test_cuda_ctor; /* backend.h test seam; NULL outside tests */

void ufo_backend_set_test_cuda_ctor(UfoCudaBackendCtor ctor)
{
  test_cuda_ctor = ctor;
}

static UfoBackend *backend_new(UfoDevice device, int gpu_id, int threads, GError **error)
{
  if (device != UFO_DEVICE_AUTO && device != UFO_DEVICE_CPU && device != UFO_DEVICE_CUDA) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown device id %d", (int)device);
    return NULL;
  }
  if (device != UFO_DEVICE_CPU && gpu_id < 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "gpu-id must be >= 0 (got %d)", gpu_id);
    return NULL;
  }
  if (device == UFO_DEVICE_CPU)
    return ufo_backend_cpu_new(threads, error);
  if (device == UFO_DEVICE_CUDA && test_cuda_ctor)
    return test_cuda_ctor(gpu_id, error);
#ifdef UFO_HAVE_CUDA
  if (device == UFO_DEVICE_CUDA)
    return ufo_backend_cuda_new(gpu_id, error);
  g_autoptr(GError) why = NULL;
  UfoBackend *be = ufo_backend_cuda_new(gpu_id, &why);
  if (be) {
    ufo_log(UFO_LOG_INFO, "device auto: using CUDA GPU %d", gpu_id);
    return be;
  }
  ufo_log(UFO_LOG_INFO, "device auto: using the CPU backend (%s)", why->message);
  return ufo_backend_cpu_new(threads, error);
#else
  if (device == UFO_DEVICE_CUDA) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "device 'cuda' requested, but this build of libufo has no CUDA backend (built "
                "without nvcc and cuBLASLt); use device 'cpu' or 'auto'");
    return NULL;
  }
  ufo_log(UFO_LOG_INFO, "device auto: using the CPU backend (no CUDA backend in this build)");
  return ufo_backend_cpu_new(threads, error);
#endif
}

UfoBackend *ufo_backend_new(UfoDevice device, int gpu_id, int threads, GError **error)
{
  UfoBackend *be = backend_new(device, gpu_id, threads, error);
  const char *prof = g_getenv("UFO_PROFILE");
  if (be && prof && *prof && g_strcmp0(prof, "0") != 0) /* profile.h */
    ufo_backend_profile_enable(be);
  /* graph.h: fixed-shape runs replayed as graphs where the backend has them; UFO_GRAPHS=0 runs
   * every op by itself (to compare, or to rule graphs out) */
  if (be)
    be->graphs = g_strcmp0(g_getenv("UFO_GRAPHS"), "0") != 0;
  return be;
}

gboolean ufo_backend_synchronize(UfoBackend *be, GError **error)
{
  if (be->ops->synchronize && !be->ops->synchronize(be, error))
    return FALSE;
  return ufo_backend_take_late_error(be, error); /* backend.h late_error */
}

int64_t ufo_backend_decode_pass_rows(const UfoBackend *be)
{
  const int64_t r = be->ops->decode_pass_rows ? be->ops->decode_pass_rows(be) : 0;
  return r > 0 ? MAX(r, 2) : 4096;
}

gboolean ufo_backend_has_stamps(const UfoBackend *be)
{
  return be->ops->stamp && be->ops->stamp_elapsed && be->ops->stamp_free;
}

gboolean ufo_backend_stamp(UfoBackend *be, void **stamp, GError **error)
{
  return ufo_backend_has_stamps(be) && be->ops->stamp(be, stamp, error);
}

gboolean ufo_backend_stamp_elapsed(UfoBackend *be, void *a, void *b, double *ms, GError **error)
{
  if (!ufo_backend_has_stamps(be) || !a || !b) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "device timestamps: the %s backend has none, or one was never recorded",
                be->ops->name);
    return FALSE;
  }
  return be->ops->stamp_elapsed(be, a, b, ms, error) && ufo_backend_take_late_error(be, error);
}

void ufo_backend_stamp_free(UfoBackend *be, void *stamp)
{
  if (stamp && be->ops->stamp_free)
    be->ops->stamp_free(be, stamp);
}

UfoBackend *ufo_backend_new_peer(UfoBackend *be, GError **error)
{
  if (!be->ops->new_peer) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "the %s backend cannot share tensors with another backend", be->ops->name);
    return NULL;
  }
  UfoBackend *peer = be->ops->new_peer(be, error);
  if (peer && be->profile) /* the peer uploads weights: profiled like its parent */
    ufo_backend_profile_enable(peer);
  return peer;
}
