/* CUDA emulation (docs/cuda-emulation.md): barriers, phases and the seeded thread order.
 * Correct shared-memory kernels (tree reduction, block scan) give exact results for many seeds;
 * the reduction with its loop barrier removed is caught (wrong sum or a race report) for nearly
 * every seed; barrier divergence is a launch failure with a report, not a hang or an abort.
 * Static shared memory (UFO_SHARED) is per block: poisoned at every block start, race-checked,
 * held to the GPU's limits, and an overflow of it is an AddressSanitizer report. */
#include "emu_test.h"

#include <string.h>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

/* Sum of in[] per block into out[blockIdx.x]: the textbook shared-memory tree. */
__global__ void reduce_sum(const float *in, float *out, int n)
{
  UFO_DYN_SMEM(float, s);
  unsigned t = threadIdx.x;
  unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = i < (unsigned)n ? in[i] : 0.0f;
  __syncthreads();
  for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
    if (t < k)
      s[t] += s[t + k];
    __syncthreads();
  }
  if (t == 0)
    out[blockIdx.x] = s[0];
}

/* The same with the loop's barrier missing (the planted bug). */
__global__ void reduce_sum_nosync(const float *in, float *out, int n)
{
  UFO_DYN_SMEM(float, s);
  unsigned t = threadIdx.x;
  unsigned i = blockIdx.x * blockDim.x + t;
  s[t] = i < (unsigned)n ? in[i] : 0.0f;
  __syncthreads();
  for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
    if (t < k)
      s[t] += s[t + k];
  }
  if (t == 0)
    out[blockIdx.x] = s[0];
}

/* Inclusive scan of 256 ints per block (Hillis-Steele, double-buffered static shared memory). */
__global__ void block_scan(const int *in, int *out)
{
  UFO_SHARED(int, buf, [2][256]);
  unsigned t = threadIdx.x;
  int src = 0;
  buf[0][t] = in[blockIdx.x * 256 + t];
  __syncthreads();
  for (unsigned k = 1; k < 256; k <<= 1) {
    int v = buf[src][t];
    if (t >= k)
      v += buf[src][t - k];
    buf[1 - src][t] = v;
    src = 1 - src;
    __syncthreads();
  }
  out[blockIdx.x * 256 + t] = buf[src][t];
}

__global__ void diverge(int *out)
{
  if (threadIdx.x < 16) {
    __syncthreads();
  } else {
    out[threadIdx.x] = 1;
    __syncthreads();
  }
}

/* Threads that returned no longer count at a barrier, as on the GPU. */
__global__ void early_exit(int *out)
{
  UFO_SHARED(int, s, [64]);
  unsigned t = threadIdx.x;
  if (t >= 40)
    return;
  s[t] = (int)t;
  __syncthreads();
  out[t] = s[39 - t];
}

/* Reads dynamic shared memory before writing it: the poison (0xff bytes = NaN). */
__global__ void read_poison(float *out)
{
  UFO_DYN_SMEM(float, s);
  out[threadIdx.x] = s[threadIdx.x];
}

/* 3-D blocks and grids: every thread writes its coordinates. */
__global__ void coords(int *out)
{
  unsigned bx = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned tx = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned g = bx * blockDim.x * blockDim.y * blockDim.z + tx;
  out[4 * g + 0] = (int)(threadIdx.x + 10 * threadIdx.y + 100 * threadIdx.z);
  out[4 * g + 1] = (int)(blockIdx.x + 10 * blockIdx.y + 100 * blockIdx.z);
  out[4 * g + 2] = (int)(blockDim.x + 10 * blockDim.y + 100 * blockDim.z);
  out[4 * g + 3] = (int)(gridDim.x + 10 * gridDim.y + 100 * gridDim.z);
}

/* Every thread writes the same shared word between two barriers: a write-write race. */
__global__ void ww_race(int *out)
{
  UFO_DYN_SMEM(int, s);
  s[0] = (int)threadIdx.x;
  __syncthreads();
  out[threadIdx.x] = s[0];
}

/* Shared-memory atomics are not races. */
__global__ void smem_hist(const int *in, int *out)
{
  UFO_DYN_SMEM(int, h);
  if (threadIdx.x < 8)
    h[threadIdx.x] = 0;
  __syncthreads();
  atomicAdd(&h[in[threadIdx.x] & 7], 1);
  __syncthreads();
  if (threadIdx.x < 8)
    out[threadIdx.x] = h[threadIdx.x];
}

/* Block 0 writes its static shared memory, the others only read theirs: the poison. */
__global__ void static_per_block(float *out)
{
  UFO_SHARED(float, s, [32]);
  if (blockIdx.x == 0)
    s[threadIdx.x] = 1.0f;
  __syncthreads();
  out[blockIdx.x * 32 + threadIdx.x] = s[threadIdx.x];
}

/* Every thread writes one static shared int (a scalar declaration) between two barriers. */
__global__ void static_ww_race(int *out)
{
  UFO_SHARED(int, cell, );
  cell = (int)threadIdx.x;
  __syncthreads();
  out[threadIdx.x] = cell;
}

/* Per warp, a static shared slot written by lane 0 and read by the warp after __syncwarp: no
 * race (the slots are disjoint); the read also checks that the instances are the same for all
 * the block's threads. */
__global__ void static_slots(int *out)
{
  UFO_SHARED(int, slot, [4]);
  unsigned w = threadIdx.x / 32;
  if (threadIdx.x % 32 == 0)
    slot[w] = (int)(100 * blockIdx.x + w);
  __syncwarp();
  out[blockIdx.x * blockDim.x + threadIdx.x] = slot[w];
}

/* 40 KiB of static shared memory. */
__global__ void static_40k(int *out)
{
  UFO_SHARED(int, big, [10 * 1024]);
  big[threadIdx.x] = (int)threadIdx.x;
  __syncthreads();
  out[threadIdx.x] = big[threadIdx.x];
}

/* Two declarations of 25 KiB: 50 KiB, over what a kernel may declare. */
__global__ void static_50k(int *out)
{
  UFO_SHARED(int, half1, [6400]);
  UFO_SHARED(int, half2, [6400]);
  half1[threadIdx.x] = half2[threadIdx.x] = 1;
  __syncthreads();
  out[threadIdx.x] = half1[threadIdx.x] + half2[threadIdx.x];
}

/* The planted bug: index n of a static array of n floats, through a pointer (UBSan's bounds
 * check sees only indexes into the array type itself). */
__global__ void static_past_end(float *out, int n)
{
  UFO_SHARED(float, s, [64]);
  float *p = s;
  if (threadIdx.x <= (unsigned)n)
    p[threadIdx.x] = 1.0f;
  __syncthreads();
  out[0] = s[0];
}

/* The same past the launch's 64 floats of dynamic shared memory. */
__global__ void dyn_past_end(float *out, int n)
{
  UFO_DYN_SMEM(float, s);
  float *p = s;
  if (threadIdx.x <= (unsigned)n)
    p[threadIdx.x] = 1.0f;
  __syncthreads();
  out[0] = s[0];
}

static void test_reduce_and_scan()
{
  const int n = 1000, B = 128, G = (n + B - 1) / B;
  float h[n], o[G];
  for (int i = 0; i < n; i++)
    h[i] = (float)((i * 37) % 101);
  float *d = dev_alloc<float>(n), *r = dev_alloc<float>(G);
  CHECK_CUDA(cudaMemcpy(d, h, sizeof h, cudaMemcpyHostToDevice));
  int scan_in[2 * 256], scan_out[2 * 256];
  for (int i = 0; i < 512; i++)
    scan_in[i] = (i * 13) % 17 - 8;
  int *si = dev_alloc<int>(512), *so = dev_alloc<int>(512);
  CHECK_CUDA(cudaMemcpy(si, scan_in, sizeof scan_in, cudaMemcpyHostToDevice));

  int good = 0, caught = 0;
  const int seeds = 48;
  for (int seed = 1; seed <= seeds; seed++) {
    ufo_emu::set_seed((uint64_t)seed * 7919);
    /* correct reduction: exact (integers) */
    UFO_LAUNCH(reduce_sum, G, B, B * sizeof(float), 0, d, r, n);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaMemcpy(o, r, sizeof o, cudaMemcpyDeviceToHost));
    bool ok = true;
    for (int b = 0; b < G; b++) {
      float ref = 0;
      for (int i = b * B; i < n && i < (b + 1) * B; i++)
        ref += h[i];
      ok = ok && o[b] == ref;
    }
    good += ok;
    /* the planted missing barrier: a wrong sum in some block, or a race report */
    ufo_emu::set_racecheck(seed % 2 == 0);
    UFO_LAUNCH(reduce_sum_nosync, G, B, B * sizeof(float), 0, d, r, n);
    ufo_emu::set_racecheck(false);
    bool bad = cudaGetLastError() != cudaSuccess;
    CHECK_CUDA(cudaMemcpy(o, r, sizeof o, cudaMemcpyDeviceToHost));
    for (int b = 0; b < G && !bad; b++) {
      float ref = 0;
      for (int i = b * B; i < n && i < (b + 1) * B; i++)
        ref += h[i];
      bad = o[b] != ref;
    }
    caught += bad;
    /* scan */
    UFO_LAUNCH(block_scan, 2, 256, 0, 0, si, so);
    CHECK_CUDA(cudaGetLastError());
    CHECK_CUDA(cudaMemcpy(scan_out, so, sizeof scan_out, cudaMemcpyDeviceToHost));
    for (int b = 0; b < 2; b++) {
      int acc = 0;
      for (int i = 0; i < 256; i++) {
        acc += scan_in[b * 256 + i];
        if (scan_out[b * 256 + i] != acc) {
          CHECK(scan_out[b * 256 + i] == acc);
          break;
        }
      }
    }
  }
  printf("reduction correct for %d/%d seeds; missing barrier caught for %d/%d seeds\n", good, seeds,
         caught, seeds);
  CHECK(good == seeds);
  CHECK(caught >= seeds - 1); /* "nearly every seed" */
  cudaFree(d);
  cudaFree(r);
  cudaFree(si);
  cudaFree(so);
}

static void test_divergence()
{
  int *d = dev_alloc<int>(64);
  UFO_LAUNCH(diverge, 1, 64, 0, 0, d);
  CHECK(cudaDeviceSynchronize() == cudaErrorLaunchFailure); /* reported by a sync ... */
  cudaError_t e = cudaGetLastError();                       /* ... and by cudaGetLastError */
  CHECK(e == cudaErrorLaunchFailure);
  const char *msg = cudaGetErrorString(e);
  printf("divergence report: %s\n", msg);
  CHECK(strstr(msg, "barrier divergence") != nullptr);
  CHECK(strstr(msg, "diverge") != nullptr);
  CHECK(strstr(msg, "test_sched.cc") != nullptr);
  CHECK(strstr(msg, "UFO_EMU_SEED=") != nullptr);
  /* cleared by cudaGetLastError: the next launch runs */
  CHECK(cudaGetLastError() == cudaSuccess);
  CHECK(cudaDeviceSynchronize() == cudaSuccess);
  UFO_LAUNCH(early_exit, 1, 64, 0, 0, d);
  CHECK_CUDA(cudaGetLastError());
  int h[64];
  CHECK_CUDA(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
  for (int i = 0; i < 40; i++)
    CHECK(h[i] == 39 - i);
  cudaFree(d);
}

static void test_poison_and_coords()
{
  float *f = dev_alloc<float>(32), hf[32];
  UFO_LAUNCH(read_poison, 1, 32, 32 * sizeof(float), 0, f);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaMemcpy(hf, f, sizeof hf, cudaMemcpyDeviceToHost));
  for (int i = 0; i < 32; i++)
    CHECK(isnan(hf[i]));
  cudaFree(f);

  dim3 grid(3, 2, 2), block(4, 3, 2);
  const int nt = 12 * 24;
  int *d = dev_alloc<int>(4 * nt), h[4 * nt];
  UFO_LAUNCH(coords, grid, block, 0, 0, d);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
  int g = 0;
  for (unsigned bz = 0; bz < 2; bz++)
    for (unsigned by = 0; by < 2; by++)
      for (unsigned bx = 0; bx < 3; bx++)
        for (unsigned tz = 0; tz < 2; tz++)
          for (unsigned ty = 0; ty < 3; ty++)
            for (unsigned tx = 0; tx < 4; tx++, g++) {
              CHECK(h[4 * g] == (int)(tx + 10 * ty + 100 * tz));
              CHECK(h[4 * g + 1] == (int)(bx + 10 * by + 100 * bz));
              CHECK(h[4 * g + 2] == 4 + 30 + 200);
              CHECK(h[4 * g + 3] == 3 + 20 + 200);
            }
  cudaFree(d);
}

static void test_racecheck()
{
  int *d = dev_alloc<int>(64);
  ufo_emu::set_racecheck(true);
  UFO_LAUNCH(ww_race, 1, 64, sizeof(int), 0, d);
  cudaError_t e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  const char *msg = cudaGetErrorString(e);
  printf("race report: %s\n", msg);
  CHECK(strstr(msg, "shared-memory race") != nullptr);
  CHECK(strstr(msg, "offset 0") != nullptr);
  /* atomics on shared memory and the correct reduction are clean */
  int hin[64], hout[8];
  for (int i = 0; i < 64; i++)
    hin[i] = i * 5;
  int *in = dev_alloc<int>(64);
  CHECK_CUDA(cudaMemcpy(in, hin, sizeof hin, cudaMemcpyHostToDevice));
  UFO_LAUNCH(smem_hist, 1, 64, 8 * sizeof(int), 0, in, d);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaMemcpy(hout, d, sizeof hout, cudaMemcpyDeviceToHost));
  for (int b = 0; b < 8; b++) {
    int ref = 0;
    for (int i = 0; i < 64; i++)
      ref += (hin[i] & 7) == b;
    CHECK(hout[b] == ref);
  }
  float *f = dev_alloc<float>(256), *r = dev_alloc<float>(2);
  CHECK_CUDA(cudaMemset(f, 0, 256 * sizeof(float)));
  UFO_LAUNCH(reduce_sum, 2, 128, 128 * sizeof(float), 0, f, r, 256);
  CHECK_CUDA(cudaGetLastError());
  ufo_emu::set_racecheck(false);
  cudaFree(f);
  cudaFree(r);
  cudaFree(in);
  cudaFree(d);
}

static void test_static_shared()
{
  /* per block: blocks 1 and 2 see the poison, not block 0's values */
  float *f = dev_alloc<float>(96), hf[96];
  UFO_LAUNCH(static_per_block, 3, 32, 0, 0, f);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaMemcpy(hf, f, sizeof hf, cudaMemcpyDeviceToHost));
  for (int i = 0; i < 96; i++)
    CHECK(i < 32 ? hf[i] == 1.0f : isnan(hf[i]));
  /* a second launch starts poisoned too */
  UFO_LAUNCH(static_per_block, 1, 32, 0, 0, f);
  CHECK_CUDA(cudaGetLastError());

  /* one instance per block, shared by its threads; disjoint writes are no race */
  int *d = dev_alloc<int>(2 * 128), h[2 * 128];
  ufo_emu::set_racecheck(true);
  UFO_LAUNCH(static_slots, 2, 128, 0, 0, d);
  CHECK_CUDA(cudaGetLastError());
  CHECK_CUDA(cudaMemcpy(h, d, sizeof h, cudaMemcpyDeviceToHost));
  for (int i = 0; i < 256; i++)
    CHECK(h[i] == 100 * (i / 128) + (i % 128) / 32);
  /* the race check covers static shared memory and names the variable */
  UFO_LAUNCH(static_ww_race, 1, 64, 0, 0, d);
  cudaError_t e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  const char *msg = cudaGetErrorString(e);
  printf("static race report: %s\n", msg);
  CHECK(strstr(msg, "shared-memory race: static shared cell") != nullptr);
  ufo_emu::set_racecheck(false);

  /* limits: 40 KiB static fits alone, not with 16 KiB dynamic unless the kernel opts in */
  UFO_LAUNCH(static_40k, 1, 64, 0, 0, d);
  CHECK_CUDA(cudaGetLastError());
  UFO_LAUNCH(static_40k, 1, 64, 16 * 1024, 0, d);
  e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  msg = cudaGetErrorString(e);
  printf("limit report: %s\n", msg);
  CHECK(strstr(msg, "40960 bytes static (with big") != nullptr);
  CHECK(strstr(msg, "16384 dynamic exceed the 49152") != nullptr);
  CHECK_CUDA(
      cudaFuncSetAttribute(static_40k, cudaFuncAttributeMaxDynamicSharedMemorySize, 16 * 1024));
  UFO_LAUNCH(static_40k, 1, 64, 16 * 1024, 0, d);
  CHECK_CUDA(cudaGetLastError());
  /* the attribute at the device's maximum leaves no room for the static part */
  cudaDeviceProp prop;
  CHECK_CUDA(cudaGetDeviceProperties(&prop, 0));
  CHECK_CUDA(cudaFuncSetAttribute(static_40k, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                  (int)prop.sharedMemPerBlockOptin));
  UFO_LAUNCH(static_40k, 1, 64, 1024, 0, d);
  e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  CHECK(strstr(cudaGetErrorString(e),
               "of the kernel's cudaFuncAttributeMaxDynamicSharedMemorySize") != nullptr);
  UFO_LAUNCH(static_50k, 1, 64, 0, 0, d);
  e = cudaGetLastError();
  CHECK(e == cudaErrorLaunchFailure);
  msg = cudaGetErrorString(e);
  printf("static limit report: %s\n", msg);
  CHECK(strstr(msg, "half2") != nullptr && strstr(msg, "51200 bytes, over the 49152") != nullptr);
  cudaFree(d);
  cudaFree(f);
}

static void launch_static_past_end(float *f)
{
  UFO_LAUNCH(static_past_end, 1, 128, 0, 0, f, 64);
}

static void launch_dyn_past_end(float *f)
{
  UFO_LAUNCH(dyn_past_end, 1, 128, 64 * sizeof(float), 0, f, 64);
}

/* Runs launch in a forked child: it must die with an AddressSanitizer use-after-poison report
 * that names the kernel (red zones around every shared-memory part). */
static void check_overflow_caught(void (*launch)(float *), const char *kernel)
{
#if defined(__SANITIZE_ADDRESS__)
  float *f = dev_alloc<float>(1);
  int fd[2];
  CHECK(pipe(fd) == 0);
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd[1], 2);
    close(fd[0]);
    launch(f);
    cudaDeviceSynchronize();
    fprintf(stderr, "%s: NOT caught\n", kernel);
    _exit(0);
  }
  close(fd[1]);
  std::string err;
  char buf[4096];
  ssize_t k;
  while ((k = read(fd[0], buf, sizeof buf)) > 0)
    err.append(buf, (size_t)k);
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  int before = emu_test_failures;
  CHECK(!(WIFEXITED(status) && WEXITSTATUS(status) == 0));
  CHECK(err.find("AddressSanitizer: use-after-poison") != std::string::npos);
  CHECK(err.find(kernel) != std::string::npos);
  if (emu_test_failures != before)
    fprintf(stderr, "child's stderr:\n%s\n", err.c_str());
  cudaFree(f);
#else
  (void)launch;
  printf("%s: the overflow check needs AddressSanitizer (the sanitized build runs it)\n", kernel);
#endif
}

/* Writing one element past a static shared array, or past the launch's dynamic shared memory
 * (inside the arena an earlier launch may have grown), is an AddressSanitizer report. */
static void test_shared_overflow()
{
  check_overflow_caught(launch_static_past_end, "static_past_end");
  check_overflow_caught(launch_dyn_past_end, "dyn_past_end");
}

int main()
{
  test_reduce_and_scan();
  test_static_shared();
  test_shared_overflow();
  test_divergence();
  test_poison_and_coords();
  test_racecheck();
  return emu_test_result("cuda-emu-sched");
}
