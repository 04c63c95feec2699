/* The CPU backend's pool is its only parallelism (engine/backend/cpu/gemm_dnnl.c, dnnl_mm.c):
 * `threads` = N means N busy threads. oneDNN's gemm:jit matmuls keep the OpenMP thread count of
 * the thread that made them and start that many threads at every execution; made on a thread
 * that had never set it (a program's first ops, a new streaming thread), every fp32 GEMM tile
 * started an OpenMP team in each pool worker, beside the pool: 2 more threads with a backend of
 * 2 on 2 cores, 6 more under OMP_NUM_THREADS=4 (measured: ufo-bench, fp32, demo model). The
 * backend now makes its primitives single-threaded.
 *
 * Run with OMP_NUM_THREADS=4 (meson env), as this program's first oneDNN work: a session of the
 * shipped demo model at fp32 with 2 threads runs a detection frame twice; the process must then
 * have no thread more than right after the session was made. */
#include "ufo/ufo.h"

#include <dirent.h>
#include <string.h>

static int thread_count(void)
{
  DIR *d = opendir("/proc/self/task");
  g_assert_nonnull(d);
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;)
    n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

static void test_no_openmp_teams(void)
{
  g_assert_cmpstr(g_getenv("OMP_NUM_THREADS"), ==, "4");
  GError *error = NULL;
  g_autoptr(UfoModel) model = ufo_model_load(UFO_DEMO_MODEL, &error);
  g_assert_no_error(error);
  UfoSessionOptions opt = {.device = UFO_DEVICE_CPU, .threads = 2, .precision = UFO_PRECISION_FP32};
  g_autoptr(UfoSession) s = ufo_session_new(model, &opt, &error);
  g_assert_no_error(error);
  const int before = thread_count(); /* the pool's workers and OpenBLAS's threads */
  enum { W = 320, H = 240 };
  g_autofree uint8_t *px = g_new(uint8_t, W * H * 3);
  for (int i = 0; i < W * H * 3; i++)
    px[i] = (uint8_t)((i * 7) % 251);
  UfoImage img = {UFO_PIXEL_RGB, W, H, W * 3, px};
  UfoRequest req = UFO_REQUEST_INIT;
  req.task = UFO_TASK_DETECTION;
  for (int k = 0; k < 2; k++) {
    UfoResult *r = NULL;
    g_assert_true(ufo_session_run(s, &img, &req, &r, &error));
    g_assert_no_error(error);
    ufo_result_free(r);
  }
  const int after = thread_count();
  g_test_message("threads: %d with the session made, %d after two frames", before, after);
  g_assert_cmpint(after, ==, before);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/nn/cpu-threads/no-openmp-teams", test_no_openmp_teams);
  return g_test_run();
}
