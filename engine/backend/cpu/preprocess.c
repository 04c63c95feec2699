/* The CPU backend's preprocess op (backend.h, preprocess.h): the host path itself, writing the
 * (3, S*S) output tensor in place (tensors are host memory). Keeps no per-session state. */
#include "cpu.h"
#include "../preprocess.h"

gboolean ufo_cpu_preprocess(UfoBackend *be, void *state, UfoView y, const UfoImage *image,
                            const UfoPrepParams *p, GError **error)
{
  return ufo_preprocess_host(image, p, ufo_cpu_ptr(y), (size_t)y.ld, error);
}
