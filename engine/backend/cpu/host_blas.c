/* Host matrix products outside the ops API (backend/host_blas.h), on OpenBLAS. */
#include "../host_blas.h"

#include <cblas.h>

void ufo_host_gemm_nt(int m, int n, int k, const float *a, const float *b, float *c)
{
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.f, a, k, b, k, 0.f, c, n);
}

void ufo_host_blas_set_threads(int threads)
{
  openblas_set_num_threads(threads);
}
