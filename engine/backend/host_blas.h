/* Host matrix products for the code that works on host arrays outside the ops API: the host
 * reference of the segmentation mask ops (engine/tasks/masks.c, the tests' yardstick; the task
 * code runs the ops) and ufo-bench's plain OpenBLAS baseline. The only BLAS entry points outside
 * the CPU backend: the implementation (backend/cpu/host_blas.c) owns the cblas calls, so that no
 * other folder calls BLAS directly (tests/tools/check_layering.py). */
#ifndef UFO_BACKEND_HOST_BLAS_H
#define UFO_BACKEND_HOST_BLAS_H

/* C (m, n) = A (m, k) · B (n, k)^T, float32, row-major and packed: one cblas_sgemm with the
 * calling thread's OpenBLAS (results are those of that single call, bit for bit). */
void ufo_host_gemm_nt(int m, int n, int k, const float *a, const float *b, float *c);

/* OpenBLAS threads of the process (a CPU backend sets 1: its pool runs BLAS per worker). */
void ufo_host_blas_set_threads(int threads);

/* The OpenBLAS kernel set in use ("SkylakeX", "Haswell", ...); *fell_back: the set OpenBLAS
 * chose itself when libufo chose another at load (it did not know this CPU: host_blas.c), else
 * NULL. */
const char *ufo_host_blas_core(const char **fell_back);

#endif
