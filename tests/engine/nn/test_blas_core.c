/* OpenBLAS's kernels for CPUs it does not know (engine/backend/cpu/host_blas.c): where an x86 CPU
 * has AVX2 and FMA, the kernels in use after libufo's load are not the Prescott (SSE3) fallback,
 * and a product through them (ufo_host_gemm_nt) matches a double-precision loop; a core the user
 * names in OPENBLAS_CORETYPE is kept (--expect-core=NAME, with that variable set).
 * Usage: test-nn-blas-core [--expect-core=NAME] */
#include "backend/host_blas.h"

#include <glib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *expect_core;

static void test_core(void)
{
  const char *fell_back, *core = ufo_host_blas_core(&fell_back);
  g_assert_nonnull(core);
  g_test_message("OpenBLAS kernels %s (OpenBLAS chose %s)", core, fell_back ? fell_back : core);
  if (expect_core) { /* the user's choice */
    g_assert_cmpstr(core, ==, expect_core);
    g_assert_null(fell_back);
    return;
  }
#if defined(__x86_64__) && defined(__GNUC__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    g_assert_cmpstr(core, !=, "Prescott");
#endif
  if (fell_back) {
    g_assert_cmpstr(fell_back, ==, "Prescott");
    g_assert_true(strcmp(core, "SkylakeX") == 0 || strcmp(core, "Haswell") == 0 ||
                  strcmp(core, "SandyBridge") == 0);
  }
}

/* odd sizes: the kernels' edge paths */
static void test_product(void)
{
  const int m = 37, n = 29, k = 53;
  GRand *rng = g_rand_new_with_seed(7);
  float *a = g_new(float, m *k), *b = g_new(float, n *k), *c = g_new(float, m *n);
  for (int i = 0; i < m * k; i++)
    a[i] = (float)g_rand_double_range(rng, -1, 1);
  for (int i = 0; i < n * k; i++)
    b[i] = (float)g_rand_double_range(rng, -1, 1);
  ufo_host_gemm_nt(m, n, k, a, b, c);
  double num = 0, den = 0;
  for (int i = 0; i < m; i++)
    for (int j = 0; j < n; j++) {
      double r = 0;
      for (int l = 0; l < k; l++)
        r += (double)a[i * k + l] * b[j * k + l];
      num += (c[i * n + j] - r) * (c[i * n + j] - r);
      den += r * r;
    }
  g_assert_cmpfloat(sqrt(num / den), <, 1e-6);
  g_free(a);
  g_free(b);
  g_free(c);
  g_rand_free(rng);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--expect-core="))
      expect_core = argv[i] + strlen("--expect-core=");
  g_test_add_func("/nn/blas-core/kernels", test_core);
  g_test_add_func("/nn/blas-core/product", test_product);
  return g_test_run();
}
