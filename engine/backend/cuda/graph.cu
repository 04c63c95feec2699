/* CUDA graphs (backend.h graph_begin .. graph_free; engine/backend/graph.h decides when): the
 * backend's stream captured in thread-local mode, so that another session's thread may allocate
 * meanwhile while this thread's own allocations and synchronisations fail the capture (they
 * could not be replayed). A failed capture is ended and discarded, and the thread's last error
 * cleared, so that the next launch check does not report it. */
#include "cuda_priv.h"

namespace UFO_CUDA_NS
{

gboolean ufo_cuda_graph_begin(UfoCuda *cu, GError **error)
{
  return ufo_cuda_ok(cudaStreamBeginCapture(cu->stream, cudaStreamCaptureModeThreadLocal),
                     "graph: cudaStreamBeginCapture", error);
}

gboolean ufo_cuda_graph_end(UfoCuda *cu, gboolean keep, void **graph, GError **error)
{
  *graph = NULL;
  cudaGraph_t g = NULL;
  cudaError_t st = cudaStreamEndCapture(cu->stream, &g);
  if (st != cudaSuccess || !keep) {
    if (g)
      (void)cudaGraphDestroy(g);
    (void)cudaGetLastError(); /* the capture's failure is reported here, not at the next launch */
    return !keep || ufo_cuda_ok(st, "graph: cudaStreamEndCapture", error);
  }
  cudaGraphExec_t exec = NULL;
  st = cudaGraphInstantiate(&exec, g, 0);
  (void)cudaGraphDestroy(g);
  if (st != cudaSuccess) {
    (void)cudaGetLastError();
    return ufo_cuda_ok(st, "graph: cudaGraphInstantiate", error);
  }
  *graph = exec;
  return TRUE;
}

gboolean ufo_cuda_graph_launch(UfoCuda *cu, void *graph, GError **error)
{
  return ufo_cuda_ok(cudaGraphLaunch((cudaGraphExec_t)graph, cu->stream), "graph: cudaGraphLaunch",
                     error);
}

void ufo_cuda_graph_free(UfoCuda *cu, void *graph)
{
  (void)cu;
  if (graph)
    (void)cudaGraphExecDestroy((cudaGraphExec_t)graph);
}

} /* namespace UFO_CUDA_NS */
