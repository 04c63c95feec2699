/* Host matrix products outside the ops API (backend/host_blas.h), on OpenBLAS, and the choice
 * of OpenBLAS's kernels for CPUs newer than the OpenBLAS at hand. */
#include "../host_blas.h"

#include <cblas.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>

void ufo_host_gemm_nt(int m, int n, int k, const float *a, const float *b, float *c)
{
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.f, a, k, b, k, 0.f, c, n);
}

void ufo_host_blas_set_threads(int threads)
{
  openblas_set_num_threads(threads);
}

/* ---- kernels for CPUs OpenBLAS does not know ----
 * A DYNAMIC_ARCH OpenBLAS picks its kernels from the CPU's family and model numbers, and models
 * released after it fall back to its Prescott kernels (SSE3): Debian 12's 0.3.21 does so on
 * 5th-generation Xeons (Emerald Rapids, model 207), where every sgemm then runs at a fraction of
 * what the CPU's AVX-512 allows. OpenBLAS reads OPENBLAS_CORETYPE only when it initialises, at
 * load time; so when it fell back to Prescott, the user named no core, and the CPU has the
 * features of a newer kernel set compiled into this OpenBLAS, libufo re-runs that initialisation
 * once, at its own load (before any matrix product of this library), with the kernels the
 * features allow: SkylakeX (AVX-512 F, CD, BW, DQ, VL), else Haswell (AVX2, FMA), else
 * SandyBridge (AVX). Nothing else changes: the same OpenBLAS, threads and buffers. The entry
 * points are those of DYNAMIC_ARCH builds, looked up weakly (absent elsewhere: nothing done). */
#if defined(__x86_64__) && defined(__GNUC__)
extern void gotoblas_dynamic_init(void) __attribute__((weak));
extern void gotoblas_dynamic_quit(void) __attribute__((weak));
/* the kernel tables of each core in a DYNAMIC_ARCH build (only their presence is looked at) */
extern char gotoblas_SKYLAKEX[] __attribute__((weak));
extern char gotoblas_HASWELL[] __attribute__((weak));
extern char gotoblas_SANDYBRIDGE[] __attribute__((weak));

static char fell_back_from[32]; /* the core OpenBLAS chose, when libufo chose another */

static const char *better_core(void)
{
  __builtin_cpu_init();
  if (gotoblas_SKYLAKEX && __builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    return "SkylakeX";
  if (gotoblas_HASWELL && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return "Haswell";
  if (gotoblas_SANDYBRIDGE && __builtin_cpu_supports("avx"))
    return "SandyBridge";
  return NULL;
}

__attribute__((constructor)) static void choose_blas_core(void)
{
  if (!gotoblas_dynamic_init || !gotoblas_dynamic_quit || getenv("OPENBLAS_CORETYPE"))
    return;
  const char *core = openblas_get_corename();
  if (core == NULL || strcmp(core, "Prescott") != 0)
    return; /* OpenBLAS knew this CPU */
  const char *want = better_core();
  if (want == NULL)
    return;
  g_strlcpy(fell_back_from, core, sizeof fell_back_from);
  setenv("OPENBLAS_CORETYPE", want, 1);
  gotoblas_dynamic_quit();
  gotoblas_dynamic_init();
  unsetenv("OPENBLAS_CORETYPE");
}

const char *ufo_host_blas_core(const char **fell_back)
{
  *fell_back = fell_back_from[0] ? fell_back_from : NULL;
  return openblas_get_corename();
}
#else
const char *ufo_host_blas_core(const char **fell_back)
{
  *fell_back = NULL;
  return openblas_get_corename();
}
#endif
