/* CUDA emulation: the host runtime subset (emu_runtime.h, docs/cuda-emulation.md "Runtime").
 * Device memory is host heap memory (posix_memalign, so ASan's red zones surround every
 * allocation); the allocations are tracked so that copies, memsets and frees check their device
 * side like the real runtime. Streams and events are synchronous: every operation has finished
 * when its call returns, with one exception modelled: an asynchronous copy out of pinned host
 * memory stays "in flight" until a stream, event or device synchronisation that covers it, and a
 * host write to its source before then is reported (see track_flight). Error codes and strings
 * are the real runtime's. */
#include "emu_priv.h"

#include <dlfcn.h>
#include <functional>
#include <map>
#include <thread>
#include <mutex>
#include <set>
#include <vector>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

namespace ufo_emu
{

struct CUstream_st {
  unsigned flags;
};
struct CUevent_st {
  unsigned flags;
  bool recorded;
  cudaStream_t stream; /* of the last record */
  uint64_t seq;        /* the stream operations before it have a smaller seq */
};
/* a captured or instantiated graph: the recorded work, in stream order */
struct CUgraph_st {
  std::vector<std::function<void()>> nodes;
};
struct CUgraphExec_st {
  std::vector<std::function<void()>> nodes;
};

namespace detail
{

struct State {
  std::mutex mu;
  std::map<uintptr_t, size_t> device; /* start -> bytes */
  std::map<uintptr_t, size_t> pinned; /* cudaMallocHost: start -> bytes */
  /* asynchronous copies out of pinned memory not yet covered by a synchronisation: the source
   * rows and their hash at enqueue time (track_flight) */
  struct Flight {
    const char *src;
    size_t width, pitch, rows;
    uint64_t hash, seq;
    cudaStream_t stream;
  };
  std::vector<Flight> flights;
  uint64_t op_seq = 0;
  std::set<cudaStream_t> streams;
  std::set<cudaEvent_t> events;
  std::map<const void *, size_t> smem_optin;
  size_t device_bytes = 0;
  cudaError_t async_error = cudaSuccess; /* a failed kernel, until cudaGetLastError */
  std::string async_report;
  std::string failure_text = "unspecified launch failure";
  uint64_t seed = 0x5eed;
  uint64_t launches = 0;
  bool racecheck = false;
  bool no_device = false;
  /* streams being captured: the work recorded so far, the mode and thread that began it, and
   * whether something the graph cannot hold happened (the capture then gives no graph) */
  struct Capture {
    std::vector<std::function<void()>> nodes;
    cudaStreamCaptureMode mode;
    std::thread::id thread;
    bool invalid;
  };
  std::map<cudaStream_t, Capture> captures;
};

static State &st()
{
  static State *s = [] {
    State *n = new State(); /* never destroyed: kernels may run from static destructors */
    const char *e = getenv("UFO_EMU_SEED");
    if (e && !strcmp(e, "random"))
      n->seed = (uint64_t)time(NULL) * 1000003u ^ (uint64_t)getpid();
    else if (e && *e)
      n->seed = strtoull(e, NULL, 0);
    e = getenv("UFO_EMU_RACECHECK");
    n->racecheck = e && *e && strcmp(e, "0") != 0;
    e = getenv("UFO_EMU_NO_DEVICE");
    n->no_device = e && *e && strcmp(e, "0") != 0;
    return n;
  }();
  return *s;
}

static __thread cudaError_t last_error = cudaSuccess;

void set_last_error(cudaError_t e)
{
  last_error = e;
}

static cudaError_t fail(cudaError_t e)
{
  last_error = e;
  return e;
}

void set_kernel_failure(const std::string &report)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  s.async_error = cudaErrorLaunchFailure;
  s.async_report = report;
}

size_t dyn_smem_limit(const void *key)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.smem_optin.find(key);
  return it == s.smem_optin.end() ? SMEM_DEFAULT : it->second;
}

bool dyn_smem_attribute(const void *key, size_t *value)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.smem_optin.find(key);
  if (it == s.smem_optin.end())
    return false;
  *value = it->second;
  return true;
}

bool stream_valid(cudaStream_t stream)
{
  if (!stream)
    return true;
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  return s.streams.count(stream) != 0;
}

uint64_t seed_value()
{
  return st().seed;
}

uint64_t next_launch_number()
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  return s.launches++;
}

bool racecheck_env()
{
  return st().racecheck;
}

cudaError_t func_set_attribute(const void *key, cudaFuncAttribute attr, int value)
{
  State &s = st();
  if (!key)
    return fail(cudaErrorInvalidValue);
  if (attr == cudaFuncAttributePreferredSharedMemoryCarveout)
    return (value >= -1 && value <= 100) ? cudaSuccess : fail(cudaErrorInvalidValue);
  if (attr != cudaFuncAttributeMaxDynamicSharedMemorySize)
    return fail(cudaErrorInvalidValue);
  if (value < 0 || (size_t)value > SMEM_OPTIN)
    return fail(cudaErrorInvalidValue);
  std::lock_guard<std::mutex> g(s.mu);
  s.smem_optin[key] = (size_t)value;
  return cudaSuccess;
}

/* [p, p + n) inside one allocation of a map start -> bytes. */
static bool in_one(const std::map<uintptr_t, size_t> &m, const void *p, size_t n)
{
  uintptr_t a = (uintptr_t)p;
  auto it = m.upper_bound(a);
  if (it == m.begin())
    return false;
  --it;
  return a >= it->first && n <= it->second && a - it->first <= it->second - n;
}

/* [p, p + n) inside one device allocation. */
static bool device_range(State &s, const void *p, size_t n)
{
  return in_one(s.device, p, n);
}

/* Device memory of another CUDA API user (is_device_pointer): the fake driver's query, or NULL */
typedef int (*ForeignRangeFn)(const void *p, size_t n);
static ForeignRangeFn foreign_range()
{
  static ForeignRangeFn fn = (ForeignRangeFn)dlsym(RTLD_DEFAULT, "ufo_fake_cuda_device_range");
  return fn;
}

/* Not inside any device allocation, ours or foreign (pageable or pinned host memory). */
static bool host_ptr(State &s, const void *p)
{
  ForeignRangeFn foreign = foreign_range();
  return !device_range(s, p, 1) && !(foreign && foreign(p, 1));
}

/* [p, p + n) inside one cudaMallocHost allocation. */
static bool pinned_range(State &s, const void *p, size_t n)
{
  return in_one(s.pinned, p, n);
}

bool device_arg_ok(const char *kernel, int index, const char *field, int sub, const void *p)
{
  if (!p)
    return true;
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    const char *c = (const char *)p;
    if (!host_ptr(s, p) || device_range(s, c - 1, 1) || pinned_range(s, p, 1))
      return true;
  }
  char what[96] = "";
  if (field && sub >= 0)
    snprintf(what, sizeof what, " field %s #%d", field, sub);
  else if (field)
    snprintf(what, sizeof what, " field %s", field);
  char msg[400];
  snprintf(msg, sizeof msg,
           "kernel %s: argument %d%s (%p) is host memory, neither a device allocation nor pinned "
           "(cudaMallocHost): an illegal address on the GPU",
           kernel, index, what, p);
  set_kernel_failure(msg);
  return false;
}

/* FNV-1a over rows of width bytes, pitch apart */
static uint64_t hash_rows(const char *p, size_t width, size_t pitch, size_t rows)
{
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t r = 0; r < rows; r++)
    for (size_t i = 0; i < width; i++)
      h = (h ^ (unsigned char)p[r * pitch + i]) * 0x100000001b3ull;
  return h;
}

/* A copy on an asynchronous stream out of pinned memory: the real DMA reads the source when the
 * stream gets to it, so the host must not write it before a synchronisation says the copy is
 * done. The emulation copies at once and remembers the source's hash; complete_flights checks it
 * when a synchronisation covers the copy. (Pageable sources are staged by the real runtime before
 * the call returns: nothing to track.) Called with s.mu held. */
static void track_flight(State &s, const void *src, size_t width, size_t pitch, size_t rows,
                         cudaStream_t stream)
{
  if (rows == 0 || width == 0 || !pinned_range(s, src, pitch * (rows - 1) + width))
    return;
  s.flights.push_back({(const char *)src, width, pitch, rows,
                       hash_rows((const char *)src, width, pitch, rows), ++s.op_seq, stream});
}

/* The copies a synchronisation covers are done: a source written meanwhile is a failure that the
 * synchronisation (and cudaGetLastError) reports. all: every stream; else those on stream
 * enqueued before seq; in_alloc: only sources inside [in_alloc, in_alloc + alloc_n). Called with
 * s.mu held. */
static void complete_flights(State &s, bool all, cudaStream_t stream, uint64_t seq,
                             uintptr_t in_alloc = 0, size_t alloc_n = 0)
{
  for (size_t i = 0; i < s.flights.size();) {
    const State::Flight &f = s.flights[i];
    bool covered = in_alloc ? (uintptr_t)f.src - in_alloc < alloc_n
                            : all || (f.stream == stream && f.seq < seq);
    if (!covered) {
      i++;
      continue;
    }
    if (hash_rows(f.src, f.width, f.pitch, f.rows) != f.hash && s.async_error == cudaSuccess) {
      char msg[200];
      snprintf(msg, sizeof msg,
               "pinned host memory %p (%zu rows of %zu bytes) was written while an asynchronous "
               "copy from it was in flight",
               (const void *)f.src, f.rows, f.width);
      s.async_error = cudaErrorLaunchFailure;
      s.async_report = msg;
      fprintf(stderr, "cuda emulation: %s\n", msg);
    }
    s.flights.erase(s.flights.begin() + (ptrdiff_t)i);
  }
}

/* A call a capture cannot hold, made while captures are active: those it concerns are
 * invalidated (all Global-mode ones; ThreadLocal ones begun by this thread; Relaxed ones never)
 * and the call fails with cudaErrorStreamCaptureUnsupported. cudaSuccess when none concerns it.
 * Called with s.mu held. */
static cudaError_t unsafe_call(State &s)
{
  bool hit = false;
  for (auto &c : s.captures) {
    bool concerns = c.second.mode == cudaStreamCaptureModeGlobal ||
                    (c.second.mode == cudaStreamCaptureModeThreadLocal &&
                     c.second.thread == std::this_thread::get_id());
    if (concerns) {
      c.second.invalid = true;
      hit = true;
    }
  }
  return hit ? cudaErrorStreamCaptureUnsupported : cudaSuccess;
}

/* Work on a capturing stream that a graph cannot hold (host copies, synchronisation, events):
 * the capture is invalidated. Called with s.mu held; true when the stream is capturing. */
static bool refuse_on_capture(State &s, cudaStream_t stream)
{
  auto it = stream ? s.captures.find(stream) : s.captures.end();
  if (it == s.captures.end())
    return false;
  it->second.invalid = true;
  return true;
}

bool capturing(cudaStream_t stream)
{
  if (!stream)
    return false;
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  return s.captures.count(stream) != 0;
}

cudaError_t record_node(cudaStream_t stream, std::function<void()> work)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = s.captures.find(stream);
  if (it == s.captures.end())
    return cudaErrorStreamCaptureUnmatched;
  if (it->second.invalid)
    return cudaErrorStreamCaptureInvalidated;
  it->second.nodes.push_back(std::move(work));
  return cudaSuccess;
}

static bool pending_async(cudaError_t *e)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  *e = s.async_error;
  return s.async_error != cudaSuccess;
}

} /* namespace detail */

using namespace detail;

void set_seed(uint64_t seed)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  s.seed = seed;
  s.launches = 0;
}

uint64_t launches()
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  return s.launches;
}

uint64_t get_seed()
{
  return st().seed;
}

void set_racecheck(bool on)
{
  racecheck_on = on;
}

void set_no_device(bool on)
{
  st().no_device = on;
}

bool is_device_pointer(const void *p)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  return !host_ptr(s, p);
}

/* ---- memory ---- */

static size_t phys_bytes(int name)
{
  long pages = sysconf(name), page = sysconf(_SC_PAGESIZE);
  return pages > 0 && page > 0 ? (size_t)pages * (size_t)page : (size_t)16 << 30;
}

cudaError_t cudaMalloc(void **ptr, size_t size)
{
  if (!ptr)
    return fail(cudaErrorInvalidValue);
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (unsafe_call(s) != cudaSuccess) {
      *ptr = NULL;
      return fail(cudaErrorStreamCaptureUnsupported);
    }
  }
  void *p = NULL;
  /* the "device" has the host's physical memory (as cudaMemGetInfo says) */
  if (size > phys_bytes(_SC_PHYS_PAGES)) {
    *ptr = NULL;
    return fail(cudaErrorMemoryAllocation);
  }
  /* 256-byte aligned like cudaMalloc; ASan's red zone starts right after size bytes */
  if (posix_memalign(&p, 256, size ? size : 1) != 0) {
    *ptr = NULL;
    return fail(cudaErrorMemoryAllocation);
  }
  std::lock_guard<std::mutex> g(s.mu);
  s.device[(uintptr_t)p] = size;
  s.device_bytes += size;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void *ptr)
{
  if (!ptr)
    return cudaSuccess;
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (unsafe_call(s) != cudaSuccess)
      return fail(cudaErrorStreamCaptureUnsupported);
    auto it = s.device.find((uintptr_t)ptr);
    if (it == s.device.end())
      return fail(cudaErrorInvalidValue);
    s.device_bytes -= it->second;
    s.device.erase(it);
  }
  free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void **ptr, size_t size)
{
  if (!ptr)
    return fail(cudaErrorInvalidValue);
  {
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    if (unsafe_call(s) != cudaSuccess) {
      *ptr = NULL;
      return fail(cudaErrorStreamCaptureUnsupported);
    }
  }
  void *p = malloc(size ? size : 1);
  if (!p) {
    *ptr = NULL;
    return fail(cudaErrorMemoryAllocation);
  }
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  s.pinned[(uintptr_t)p] = size ? size : 1;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void *ptr)
{
  if (!ptr)
    return cudaSuccess;
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (unsafe_call(s) != cudaSuccess)
      return fail(cudaErrorStreamCaptureUnsupported);
    auto it = s.pinned.find((uintptr_t)ptr);
    if (it == s.pinned.end())
      return fail(cudaErrorInvalidValue);
    /* like the real cudaFreeHost, waits for the copies out of the buffer */
    complete_flights(s, false, 0, 0, it->first, it->second);
    s.pinned.erase(it);
  }
  free(ptr);
  return cudaSuccess;
}

/* Check both sides of a copy of n bytes against kind (Default: inferred, as with UVA). */
static cudaError_t check_copy(State &s, void *dst, const void *src, size_t n, cudaMemcpyKind kind)
{
  if (n == 0)
    return cudaSuccess;
  if (!dst || !src)
    return cudaErrorInvalidValue;
  bool dd = device_range(s, dst, n), sd = device_range(s, src, n);
  switch (kind) {
  case cudaMemcpyHostToHost:
    return host_ptr(s, dst) && host_ptr(s, src) ? cudaSuccess : cudaErrorInvalidValue;
  case cudaMemcpyHostToDevice:
    return dd && host_ptr(s, src) ? cudaSuccess : cudaErrorInvalidValue;
  case cudaMemcpyDeviceToHost:
    return sd && host_ptr(s, dst) ? cudaSuccess : cudaErrorInvalidValue;
  case cudaMemcpyDeviceToDevice:
    return dd && sd ? cudaSuccess : cudaErrorInvalidValue;
  case cudaMemcpyDefault: /* each side is either a whole device range or host memory */
    if ((!dd && !host_ptr(s, dst)) || (!sd && !host_ptr(s, src)))
      return cudaErrorInvalidValue;
    return cudaSuccess;
  }
  return cudaErrorInvalidMemcpyDirection;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, cudaMemcpyKind kind,
                            cudaStream_t stream)
{
  if (!stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    cudaError_t e = check_copy(s, dst, src, count, kind);
    if (e != cudaSuccess)
      return fail(e);
    if (count && s.captures.count(stream) && stream) { /* recorded: device to device only */
      if (!device_range(s, dst, count) || !device_range(s, src, count)) {
        refuse_on_capture(s, stream);
        return fail(cudaErrorStreamCaptureUnsupported);
      }
      auto &c = s.captures[stream];
      if (c.invalid)
        return fail(cudaErrorStreamCaptureInvalidated);
      c.nodes.push_back([dst, src, count]() { memmove(dst, src, count); });
      return cudaSuccess;
    }
    if (count && device_range(s, dst, count))
      track_flight(s, src, count, count, 1, stream);
  }
  if (count)
    memmove(dst, src, count);
  return cudaSuccess;
}

/* Called by the synchronous calls: cudaErrorStreamCaptureUnsupported while a capture that
 * concerns this thread is active (unsafe_call). */
static cudaError_t sync_call_allowed()
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  return unsafe_call(s);
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, cudaMemcpyKind kind)
{
  if (sync_call_allowed() != cudaSuccess)
    return fail(cudaErrorStreamCaptureUnsupported);
  cudaError_t e = cudaMemcpyAsync(dst, src, count, kind, 0);
  if (e != cudaSuccess)
    return e;
  { /* synchronous: the copy is done when the call returns */
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    complete_flights(s, false, 0, UINT64_MAX);
  }
  /* a synchronous copy reports an earlier kernel failure, like cudaDeviceSynchronize */
  return pending_async(&e) ? e : cudaSuccess;
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, cudaMemcpyKind kind, cudaStream_t stream)
{
  if (!stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  if (width > dpitch || width > spitch)
    return fail(cudaErrorInvalidPitchValue);
  if (width == 0 || height == 0)
    return cudaSuccess;
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    size_t dn = dpitch * (height - 1) + width, sn = spitch * (height - 1) + width;
    /* check the whole spans the rows lie in */
    bool dd = device_range(s, dst, dn), sd = device_range(s, src, sn);
    bool ok;
    switch (kind) {
    case cudaMemcpyHostToHost:
      ok = host_ptr(s, dst) && host_ptr(s, src);
      break;
    case cudaMemcpyHostToDevice:
      ok = dd && host_ptr(s, src);
      break;
    case cudaMemcpyDeviceToHost:
      ok = sd && host_ptr(s, dst);
      break;
    case cudaMemcpyDeviceToDevice:
      ok = dd && sd;
      break;
    default:
      ok = (dd || host_ptr(s, dst)) && (sd || host_ptr(s, src));
      break;
    }
    if (!ok)
      return fail(cudaErrorInvalidValue);
    auto it = stream ? s.captures.find(stream) : s.captures.end();
    if (it != s.captures.end()) { /* recorded: device to device only */
      if (!dd || !sd) {
        it->second.invalid = true;
        return fail(cudaErrorStreamCaptureUnsupported);
      }
      if (it->second.invalid)
        return fail(cudaErrorStreamCaptureInvalidated);
      it->second.nodes.push_back([dst, dpitch, src, spitch, width, height]() {
        for (size_t r = 0; r < height; r++)
          memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
      });
      return cudaSuccess;
    }
    if (dd)
      track_flight(s, src, width, spitch, height, stream);
  }
  for (size_t r = 0; r < height; r++)
    memmove((char *)dst + r * dpitch, (const char *)src + r * spitch, width);
  return cudaSuccess;
}

cudaError_t cudaMemcpy2D(void *dst, size_t dpitch, const void *src, size_t spitch, size_t width,
                         size_t height, cudaMemcpyKind kind)
{
  if (sync_call_allowed() != cudaSuccess)
    return fail(cudaErrorStreamCaptureUnsupported);
  cudaError_t e = cudaMemcpy2DAsync(dst, dpitch, src, spitch, width, height, kind, 0);
  if (e == cudaSuccess) { /* synchronous */
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    complete_flights(s, false, 0, UINT64_MAX);
  }
  return e;
}

cudaError_t cudaMemsetAsync(void *ptr, int value, size_t count, cudaStream_t stream)
{
  if (!stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  if (count == 0)
    return cudaSuccess;
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (!device_range(s, ptr, count))
      return fail(cudaErrorInvalidValue);
    auto it = stream ? s.captures.find(stream) : s.captures.end();
    if (it != s.captures.end()) {
      if (it->second.invalid)
        return fail(cudaErrorStreamCaptureInvalidated);
      it->second.nodes.push_back([ptr, value, count]() { memset(ptr, value, count); });
      return cudaSuccess;
    }
  }
  memset(ptr, value, count);
  return cudaSuccess;
}

cudaError_t cudaMemset(void *ptr, int value, size_t count)
{
  if (sync_call_allowed() != cudaSuccess)
    return fail(cudaErrorStreamCaptureUnsupported);
  return cudaMemsetAsync(ptr, value, count, 0);
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
  if (!free_bytes || !total_bytes)
    return fail(cudaErrorInvalidValue);
  /* the "device" is the host: its memory, and what the host has available */
  *total_bytes = phys_bytes(_SC_PHYS_PAGES);
  *free_bytes = phys_bytes(_SC_AVPHYS_PAGES);
  if (*free_bytes > *total_bytes)
    *free_bytes = *total_bytes;
  return cudaSuccess;
}

/* ---- streams and events (synchronous) ---- */

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *stream, unsigned flags)
{
  if (!stream || (flags & ~1u))
    return fail(cudaErrorInvalidValue);
  cudaStream_t p = new CUstream_st{flags};
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  s.streams.insert(p);
  *stream = p;
  return cudaSuccess;
}

cudaError_t cudaStreamCreate(cudaStream_t *stream)
{
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (!stream || !s.streams.count(stream))
      return fail(cudaErrorInvalidResourceHandle);
    s.captures.erase(stream); /* an unfinished capture ends with the stream */
    s.streams.erase(stream);
  }
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
  if (!stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  {
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    if (refuse_on_capture(s, stream) || (stream == 0 && unsafe_call(s) != cudaSuccess))
      return fail(cudaErrorStreamCaptureUnsupported);
    /* the legacy default stream synchronises with every blocking stream: all of them, here */
    complete_flights(s, stream == 0, stream, UINT64_MAX);
  }
  cudaError_t e;
  return pending_async(&e) ? e : cudaSuccess;
}

cudaError_t cudaDeviceSynchronize()
{
  {
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    if (unsafe_call(s) != cudaSuccess)
      return fail(cudaErrorStreamCaptureUnsupported);
    complete_flights(s, true, 0, 0);
  }
  cudaError_t e;
  return pending_async(&e) ? e : cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned flags)
{
  (void)flags;
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  if ((stream && !s.streams.count(stream)) || !s.events.count(event))
    return fail(cudaErrorInvalidResourceHandle);
  if (refuse_on_capture(s, stream)) /* events are not recorded into graphs by this emulation */
    return fail(cudaErrorStreamCaptureUnsupported);
  return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned flags)
{
  if (!event || (flags & ~7u))
    return fail(cudaErrorInvalidValue);
  cudaEvent_t e = new CUevent_st{flags, false, 0, 0};
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  s.events.insert(e);
  *event = e;
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  if (!s.events.count(event) || (stream && !s.streams.count(stream)))
    return fail(cudaErrorInvalidResourceHandle);
  if (refuse_on_capture(s, stream))
    return fail(cudaErrorStreamCaptureUnsupported);
  event->recorded = true;
  event->stream = stream;
  event->seq = ++s.op_seq;
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
  {
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    if (!s.events.count(event))
      return fail(cudaErrorInvalidResourceHandle);
    if (event->recorded) /* the copies enqueued on its stream before the record are done */
      complete_flights(s, event->stream == 0, event->stream, event->seq);
  }
  cudaError_t e;
  return pending_async(&e) ? e : cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event)
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  if (!s.events.count(event))
    return fail(cudaErrorInvalidResourceHandle);
  /* always complete here: what the record covers has finished */
  if (event->recorded)
    complete_flights(s, event->stream == 0, event->stream, event->seq);
  return cudaSuccess;
}

/* The emulation makes no timing claims: the elapsed time of two recorded events is 0. */
cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
  if (!ms)
    return fail(cudaErrorInvalidValue);
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  if (!s.events.count(start) || !s.events.count(end))
    return fail(cudaErrorInvalidResourceHandle);
  if ((start->flags | end->flags) & cudaEventDisableTiming)
    return fail(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded)
    return fail(cudaErrorInvalidResourceHandle);
  *ms = 0.0f;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
  State &s = st();
  {
    std::lock_guard<std::mutex> g(s.mu);
    if (!event || !s.events.erase(event))
      return fail(cudaErrorInvalidResourceHandle);
  }
  delete event;
  return cudaSuccess;
}

/* ---- stream capture and graphs ---- */

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode)
{
  if (!stream) /* the legacy default stream cannot be captured */
    return fail(cudaErrorStreamCaptureUnsupported);
  if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
      mode != cudaStreamCaptureModeRelaxed)
    return fail(cudaErrorInvalidValue);
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  if (!s.streams.count(stream))
    return fail(cudaErrorInvalidResourceHandle);
  if (s.captures.count(stream))
    return fail(cudaErrorIllegalState);
  State::Capture &c = s.captures[stream];
  c.mode = mode;
  c.thread = std::this_thread::get_id();
  c.invalid = false;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *graph)
{
  if (!graph)
    return fail(cudaErrorInvalidValue);
  *graph = NULL;
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = stream ? s.captures.find(stream) : s.captures.end();
  if (it == s.captures.end())
    return fail(cudaErrorIllegalState);
  if (it->second.mode != cudaStreamCaptureModeRelaxed &&
      it->second.thread != std::this_thread::get_id())
    return fail(cudaErrorStreamCaptureWrongThread);
  bool invalid = it->second.invalid;
  std::vector<std::function<void()>> nodes = std::move(it->second.nodes);
  s.captures.erase(it);
  if (invalid)
    return fail(cudaErrorStreamCaptureInvalidated);
  *graph = new CUgraph_st{std::move(nodes)};
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus *status)
{
  if (!status)
    return fail(cudaErrorInvalidValue);
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  auto it = stream ? s.captures.find(stream) : s.captures.end();
  *status = it == s.captures.end() ? cudaStreamCaptureStatusNone
            : it->second.invalid   ? cudaStreamCaptureStatusInvalidated
                                   : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *exec, cudaGraph_t graph, unsigned long long flags)
{
  if (!exec || !graph || flags != 0)
    return fail(cudaErrorInvalidValue);
  *exec = new CUgraphExec_st{graph->nodes};
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream)
{
  if (!exec)
    return fail(cudaErrorInvalidValue);
  if (!stream_valid(stream))
    return fail(cudaErrorInvalidResourceHandle);
  {
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    if (refuse_on_capture(s, stream)) /* no child graphs in this emulation */
      return fail(cudaErrorStreamCaptureUnsupported);
  }
  for (auto &n : exec->nodes)
    n();
  return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
  if (!graph)
    return fail(cudaErrorInvalidValue);
  delete graph;
  return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec)
{
  if (!exec)
    return fail(cudaErrorInvalidValue);
  delete exec;
  return cudaSuccess;
}

cudaError_t host_work(cudaStream_t stream, std::function<void()> work)
{
  if (capturing(stream))
    return record_node(stream, std::move(work));
  work();
  return cudaSuccess;
}

/* ---- errors ---- */

cudaError_t cudaGetLastError()
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  cudaError_t e = last_error;
  last_error = cudaSuccess;
  if (s.async_error != cudaSuccess) { /* a kernel failure; cleared here (see docs) */
    e = s.async_error;
    s.failure_text = "unspecified launch failure: " + s.async_report;
    s.async_error = cudaSuccess;
  }
  return e;
}

cudaError_t cudaPeekAtLastError()
{
  State &s = st();
  std::lock_guard<std::mutex> g(s.mu);
  if (s.async_error != cudaSuccess) {
    s.failure_text = "unspecified launch failure: " + s.async_report;
    return s.async_error;
  }
  return last_error;
}

const char *cudaGetErrorName(cudaError_t error)
{
  switch (error) {
#define UFO_EMU_NAME(e)                                                                            \
  case e:                                                                                          \
    return #e;
    UFO_EMU_NAME(cudaSuccess)
    UFO_EMU_NAME(cudaErrorInvalidValue)
    UFO_EMU_NAME(cudaErrorMemoryAllocation)
    UFO_EMU_NAME(cudaErrorInitializationError)
    UFO_EMU_NAME(cudaErrorInvalidConfiguration)
    UFO_EMU_NAME(cudaErrorInvalidPitchValue)
    UFO_EMU_NAME(cudaErrorInvalidDevicePointer)
    UFO_EMU_NAME(cudaErrorInvalidMemcpyDirection)
    UFO_EMU_NAME(cudaErrorNoDevice)
    UFO_EMU_NAME(cudaErrorInvalidDevice)
    UFO_EMU_NAME(cudaErrorInvalidResourceHandle)
    UFO_EMU_NAME(cudaErrorNotReady)
    UFO_EMU_NAME(cudaErrorIllegalAddress)
    UFO_EMU_NAME(cudaErrorLaunchOutOfResources)
    UFO_EMU_NAME(cudaErrorLaunchFailure)
    UFO_EMU_NAME(cudaErrorNotSupported)
    UFO_EMU_NAME(cudaErrorIllegalState)
    UFO_EMU_NAME(cudaErrorStreamCaptureUnsupported)
    UFO_EMU_NAME(cudaErrorStreamCaptureInvalidated)
    UFO_EMU_NAME(cudaErrorStreamCaptureUnmatched)
    UFO_EMU_NAME(cudaErrorStreamCaptureWrongThread)
    UFO_EMU_NAME(cudaErrorUnknown)
#undef UFO_EMU_NAME
  }
  return "cudaErrorUnknown";
}

/* cudaErrorLaunchFailure's string carries the report of the last failed kernel (kernel, block,
 * thread, what went wrong, seed), fetched with cudaGetLastError or cudaPeekAtLastError. */
const char *cudaGetErrorString(cudaError_t error)
{
  switch (error) {
  case cudaSuccess:
    return "no error";
  case cudaErrorInvalidValue:
    return "invalid argument";
  case cudaErrorMemoryAllocation:
    return "out of memory";
  case cudaErrorInitializationError:
    return "initialization error";
  case cudaErrorInvalidConfiguration:
    return "invalid configuration argument";
  case cudaErrorInvalidPitchValue:
    return "invalid pitch argument";
  case cudaErrorInvalidDevicePointer:
    return "invalid device pointer";
  case cudaErrorInvalidMemcpyDirection:
    return "invalid copy direction for memcpy";
  case cudaErrorNoDevice:
    return "no CUDA-capable device is detected";
  case cudaErrorInvalidDevice:
    return "invalid device ordinal";
  case cudaErrorInvalidResourceHandle:
    return "invalid resource handle";
  case cudaErrorNotReady:
    return "device not ready";
  case cudaErrorIllegalAddress:
    return "an illegal memory access was encountered";
  case cudaErrorLaunchOutOfResources:
    return "too many resources requested for launch";
  case cudaErrorLaunchFailure: {
    State &s = st();
    std::lock_guard<std::mutex> g(s.mu);
    if (s.async_error != cudaSuccess) /* not yet fetched: the report of the pending failure */
      s.failure_text = "unspecified launch failure: " + s.async_report;
    return s.failure_text.c_str(); /* valid until the next kernel failure is fetched */
  }
  case cudaErrorNotSupported:
    return "operation not supported";
  case cudaErrorIllegalState:
    return "the operation cannot be performed in the present state";
  case cudaErrorStreamCaptureUnsupported:
    return "operation not permitted when stream is capturing";
  case cudaErrorStreamCaptureInvalidated:
    return "operation failed due to a previous error during capture";
  case cudaErrorStreamCaptureUnmatched:
    return "operation would make the legacy stream depend on a capturing blocking stream";
  case cudaErrorStreamCaptureWrongThread:
    return "attempt to terminate a thread-local capture sequence from another thread";
  default:
    return "unknown error";
  }
}

/* ---- device ---- */

cudaError_t cudaGetDeviceCount(int *count)
{
  if (!count)
    return fail(cudaErrorInvalidValue);
  *count = st().no_device ? 0 : 1;
  return st().no_device ? fail(cudaErrorNoDevice) : cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
  if (st().no_device)
    return fail(cudaErrorNoDevice);
  return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice);
}

cudaError_t cudaGetDevice(int *device)
{
  if (!device)
    return fail(cudaErrorInvalidValue);
  if (st().no_device)
    return fail(cudaErrorNoDevice);
  *device = 0;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp *prop, int device)
{
  if (!prop)
    return fail(cudaErrorInvalidValue);
  if (st().no_device)
    return fail(cudaErrorNoDevice);
  if (device != 0)
    return fail(cudaErrorInvalidDevice);
  memset(prop, 0, sizeof *prop);
  /* an H100/H200-like sm_90 part; the limits are the ones the launch checks enforce */
  snprintf(prop->name, sizeof prop->name, "ufo CUDA emulation (CPU, sm_90 limits)");
  prop->totalGlobalMem = phys_bytes(_SC_PHYS_PAGES);
  prop->sharedMemPerBlock = SMEM_DEFAULT;
  prop->sharedMemPerBlockOptin = SMEM_OPTIN;
  prop->sharedMemPerMultiprocessor = 233472;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = 1024;
  prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 2147483647;
  prop->maxGridSize[1] = 65535;
  prop->maxGridSize[2] = 65535;
  prop->maxThreadsPerMultiProcessor = 2048;
  prop->totalConstMem = 65536;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = 132;
  prop->l2CacheSize = 50 * 1024 * 1024;
  return cudaSuccess;
}

} /* namespace ufo_emu */
