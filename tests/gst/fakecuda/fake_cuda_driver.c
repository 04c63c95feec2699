/* Fake CUDA driver for tests on machines without a GPU: libcuda.so.1 with the driver-API symbols
 * that GStreamer 1.22's libgstcuda loads (gst_cuda_load_library), run on the host.
 *
 * Device memory is 256-byte aligned host memory kept in a table; a device pointer is a host
 * address. cuMemAllocPitch rounds the pitch up to 512 bytes. Copies are synchronous and every
 * device range must lie inside one allocation. Memory and stream calls need a current context,
 * as on real hardware. Interop, modules, kernels and textures return CUDA_ERROR_NOT_SUPPORTED.
 * UFO_FAKE_CUDA_DEVICES sets the device count (default 1, 0 makes cuInit fail).
 * Test hooks: fake_cuda_driver.h. */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fake_cuda_driver.h"

#define EXPORT __attribute__((visibility("default")))

/* Driver-API types, declared here with the x86-64 ABI of the real ones. */
typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef unsigned long long CUtexObject;
typedef void *CUcontext;
typedef void *CUstream;
typedef void *CUarray;
typedef void *CUmodule;
typedef void *CUfunction;
typedef void *CUgraphicsResource;

typedef struct {
  size_t srcXInBytes;
  size_t srcY;
  int srcMemoryType;
  const void *srcHost;
  CUdeviceptr srcDevice;
  CUarray srcArray;
  size_t srcPitch;
  size_t dstXInBytes;
  size_t dstY;
  int dstMemoryType;
  void *dstHost;
  CUdeviceptr dstDevice;
  CUarray dstArray;
  size_t dstPitch;
  size_t WidthInBytes;
  size_t Height;
} CUDA_MEMCPY2D;

_Static_assert(sizeof(CUDA_MEMCPY2D) == 128, "CUDA_MEMCPY2D layout");

enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_INITIALIZED = 3,
  CUDA_ERROR_NO_DEVICE = 100,
  CUDA_ERROR_INVALID_DEVICE = 101,
  CUDA_ERROR_INVALID_CONTEXT = 201,
  CUDA_ERROR_INVALID_HANDLE = 400,
  CUDA_ERROR_NOT_SUPPORTED = 801,
  CUDA_ERROR_UNKNOWN = 999,
};

enum {
  CU_MEMORYTYPE_HOST = 1,
  CU_MEMORYTYPE_DEVICE = 2,
  CU_MEMORYTYPE_ARRAY = 3,
  CU_MEMORYTYPE_UNIFIED = 4,
};

enum {
  CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT = 14,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR = 75,
  CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR = 76,
};

#define FAKE_ALIGN 256
#define FAKE_PITCH 512
#define FAKE_MAX_DEVICES 64
#define FAKE_CTX_STACK 128
#define FAKE_GARBAGE 0xA5 /* fill of new device memory, like uninitialised VRAM */

struct region {
  uintptr_t base;
  size_t size;
};

struct region_table {
  struct region *v;
  size_t n, cap;
};

struct handle_set {
  void **v;
  size_t n, cap;
};

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct region_table device_mem; /* cuMemAlloc, cuMemAllocPitch */
static struct region_table host_mem;   /* cuMemAllocHost */
static struct handle_set contexts;     /* made by cuCtxCreate */
static struct handle_set streams;      /* made by cuStreamCreate */
static unsigned long long copied[4];   /* indexed by UFO_FAKE_CUDA_* */
static int initialized;                /* cuInit succeeded; read atomically */
static int n_devices;

/* Per-thread stack of current contexts; handles are never dereferenced. */
static __thread CUcontext ctx_stack[FAKE_CTX_STACK];
static __thread int ctx_depth;

/* ---- helpers (callers hold fake_lock where tables are touched) ---- */

static int is_initialized(void)
{
  return __atomic_load_n(&initialized, __ATOMIC_ACQUIRE);
}

static int valid_device(CUdevice dev)
{
  return dev >= 0 && dev < n_devices;
}

static int parse_device_count(void)
{
  const char *s = getenv("UFO_FAKE_CUDA_DEVICES");
  if (!s || !*s)
    return 1;
  char *end = NULL;
  long v = strtol(s, &end, 10);
  if (*end != '\0' || v < 0 || v > FAKE_MAX_DEVICES)
    return 1;
  return (int)v;
}

static int region_add(struct region_table *t, uintptr_t base, size_t size)
{
  if (t->n == t->cap) {
    size_t cap = t->cap ? t->cap * 2 : 64;
    struct region *v = realloc(t->v, cap * sizeof(*v));
    if (!v)
      return 0;
    t->v = v;
    t->cap = cap;
  }
  t->v[t->n].base = base;
  t->v[t->n].size = size;
  t->n++;
  return 1;
}

/* Index of the region starting exactly at base, or -1. */
static long region_find_base(const struct region_table *t, uintptr_t base)
{
  for (size_t i = 0; i < t->n; i++)
    if (t->v[i].base == base)
      return (long)i;
  return -1;
}

/* Whether [start, start + len) lies inside one region. */
static int region_contains(const struct region_table *t, uintptr_t start, size_t len)
{
  for (size_t i = 0; i < t->n; i++) {
    const struct region *r = &t->v[i];
    if (start >= r->base && start - r->base <= r->size && len <= r->size - (start - r->base))
      return 1;
  }
  return 0;
}

/* Whether addr lies inside any region. */
static int region_hit(const struct region_table *t, uintptr_t addr)
{
  for (size_t i = 0; i < t->n; i++)
    if (addr >= t->v[i].base && addr - t->v[i].base < t->v[i].size)
      return 1;
  return 0;
}

static void region_remove_at(struct region_table *t, size_t i)
{
  t->v[i] = t->v[t->n - 1];
  t->n--;
}

static void region_free_all(struct region_table *t)
{
  for (size_t i = 0; i < t->n; i++)
    free((void *)t->v[i].base);
  free(t->v);
  t->v = NULL;
  t->n = t->cap = 0;
}

static int handle_add(struct handle_set *s, void *h)
{
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 16;
    void **v = realloc(s->v, cap * sizeof(*v));
    if (!v)
      return 0;
    s->v = v;
    s->cap = cap;
  }
  s->v[s->n++] = h;
  return 1;
}

static int handle_has(const struct handle_set *s, const void *h)
{
  for (size_t i = 0; i < s->n; i++)
    if (s->v[i] == h)
      return 1;
  return 0;
}

static int handle_remove(struct handle_set *s, const void *h)
{
  for (size_t i = 0; i < s->n; i++) {
    if (s->v[i] == h) {
      s->v[i] = s->v[s->n - 1];
      s->n--;
      return 1;
    }
  }
  return 0;
}

static void handle_free_all(struct handle_set *s)
{
  for (size_t i = 0; i < s->n; i++)
    free(s->v[i]);
  free(s->v);
  s->v = NULL;
  s->n = s->cap = 0;
}

/* Common checks of memory and stream calls. */
static CUresult need_context(void)
{
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  return ctx_depth > 0 ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

/* NULL and the special legacy / per-thread handles (1, 2) are the default stream. */
static int valid_stream(CUstream s)
{
  return (uintptr_t)s <= 2 || handle_has(&streams, s);
}

static CUresult alloc_aligned(size_t size, size_t *rounded, void **out)
{
  if (size == 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (size > SIZE_MAX - (FAKE_ALIGN - 1))
    return CUDA_ERROR_OUT_OF_MEMORY;
  *rounded = (size + FAKE_ALIGN - 1) / FAKE_ALIGN * FAKE_ALIGN;
  *out = aligned_alloc(FAKE_ALIGN, *rounded);
  return *out ? CUDA_SUCCESS : CUDA_ERROR_OUT_OF_MEMORY;
}

static CUresult device_alloc(CUdeviceptr *dptr, size_t size)
{
  size_t rounded = 0;
  void *p = NULL;
  CUresult r = alloc_aligned(size, &rounded, &p);
  if (r != CUDA_SUCCESS)
    return r;
  memset(p, FAKE_GARBAGE, rounded);
  pthread_mutex_lock(&fake_lock);
  int ok = region_add(&device_mem, (uintptr_t)p, size);
  pthread_mutex_unlock(&fake_lock);
  if (!ok) {
    free(p);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *dptr = (CUdeviceptr)(uintptr_t)p;
  return CUDA_SUCCESS;
}

/* One side of a 2D copy: first byte of the first row and whether it is device memory. */
static CUresult copy_side(int type, const void *host, CUdeviceptr dev, size_t x, size_t y,
                          size_t pitch, size_t width, size_t height, unsigned char **out,
                          int *is_device)
{
  size_t offset, extent, span;
  if (height > 1 && pitch < width)
    return CUDA_ERROR_INVALID_VALUE;
  if (__builtin_mul_overflow(y, pitch, &offset) || __builtin_add_overflow(offset, x, &offset) ||
      __builtin_mul_overflow(height - 1, pitch, &extent) ||
      __builtin_add_overflow(extent, width, &extent) ||
      __builtin_add_overflow(offset, extent, &span))
    return CUDA_ERROR_INVALID_VALUE;

  uintptr_t base;
  switch (type) {
  case CU_MEMORYTYPE_HOST:
    base = (uintptr_t)host;
    *is_device = 0;
    break;
  case CU_MEMORYTYPE_DEVICE:
    base = (uintptr_t)dev;
    *is_device = 1;
    break;
  case CU_MEMORYTYPE_UNIFIED:
    /* a tracked device address, or else a host address */
    base = (uintptr_t)dev;
    *is_device = region_hit(&device_mem, base);
    break;
  case CU_MEMORYTYPE_ARRAY:
    return CUDA_ERROR_NOT_SUPPORTED;
  default:
    return CUDA_ERROR_INVALID_VALUE;
  }
  uintptr_t end;
  if (base == 0 || __builtin_add_overflow(base, span, &end))
    return CUDA_ERROR_INVALID_VALUE;
  uintptr_t start = base + offset;
  if (*is_device && !region_contains(&device_mem, start, extent))
    return CUDA_ERROR_INVALID_VALUE;
  *out = (unsigned char *)start;
  return CUDA_SUCCESS;
}

static CUresult copy_2d(const CUDA_MEMCPY2D *p)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (!p)
    return CUDA_ERROR_INVALID_VALUE;
  if (p->WidthInBytes == 0 || p->Height == 0)
    return CUDA_SUCCESS;

  pthread_mutex_lock(&fake_lock);
  unsigned char *src = NULL, *dst = NULL;
  int src_dev = 0, dst_dev = 0;
  r = copy_side(p->srcMemoryType, p->srcHost, p->srcDevice, p->srcXInBytes, p->srcY, p->srcPitch,
                p->WidthInBytes, p->Height, &src, &src_dev);
  if (r == CUDA_SUCCESS)
    r = copy_side(p->dstMemoryType, p->dstHost, p->dstDevice, p->dstXInBytes, p->dstY, p->dstPitch,
                  p->WidthInBytes, p->Height, &dst, &dst_dev);
  if (r == CUDA_SUCCESS) {
    for (size_t row = 0; row < p->Height; row++)
      memmove(dst + row * p->dstPitch, src + row * p->srcPitch, p->WidthInBytes);
    int kind = src_dev ? (dst_dev ? UFO_FAKE_CUDA_DEVICE_TO_DEVICE : UFO_FAKE_CUDA_DEVICE_TO_HOST)
                       : (dst_dev ? UFO_FAKE_CUDA_HOST_TO_DEVICE : UFO_FAKE_CUDA_HOST_TO_HOST);
    copied[kind] += (unsigned long long)p->WidthInBytes * p->Height;
  }
  pthread_mutex_unlock(&fake_lock);
  return r;
}

/* ---- test hooks ---- */

EXPORT unsigned long long ufo_fake_cuda_bytes(int kind)
{
  if (kind < 0 || kind > UFO_FAKE_CUDA_HOST_TO_HOST)
    return 0;
  pthread_mutex_lock(&fake_lock);
  unsigned long long v = copied[kind];
  pthread_mutex_unlock(&fake_lock);
  return v;
}

EXPORT void ufo_fake_cuda_reset_counters(void)
{
  pthread_mutex_lock(&fake_lock);
  memset(copied, 0, sizeof(copied));
  pthread_mutex_unlock(&fake_lock);
}

EXPORT int ufo_fake_cuda_device_range(const void *p, size_t n)
{
  pthread_mutex_lock(&fake_lock);
  const int in = region_contains(&device_mem, (uintptr_t)p, n);
  pthread_mutex_unlock(&fake_lock);
  return in;
}

EXPORT unsigned long long ufo_fake_cuda_live_allocations(void)
{
  pthread_mutex_lock(&fake_lock);
  unsigned long long n = device_mem.n;
  pthread_mutex_unlock(&fake_lock);
  return n;
}

/* ---- initialisation, errors, version ---- */

EXPORT CUresult cuInit(unsigned int flags)
{
  if (flags != 0)
    return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&fake_lock);
  if (!initialized) {
    n_devices = parse_device_count();
    if (n_devices > 0)
      __atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
  }
  int ok = initialized;
  pthread_mutex_unlock(&fake_lock);
  return ok ? CUDA_SUCCESS : CUDA_ERROR_NO_DEVICE;
}

EXPORT CUresult cuDriverGetVersion(int *version)
{
  if (!version)
    return CUDA_ERROR_INVALID_VALUE;
  *version = 12000;
  return CUDA_SUCCESS;
}

static const struct {
  CUresult code;
  const char *name;
  const char *text;
} error_table[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_UNKNOWN, "CUDA_ERROR_UNKNOWN", "unknown error"},
};

static CUresult error_lookup(CUresult error, const char **str, int want_name)
{
  if (!str)
    return CUDA_ERROR_INVALID_VALUE;
  *str = "CUDA_ERROR_UNKNOWN";
  for (size_t i = 0; i < sizeof(error_table) / sizeof(error_table[0]); i++) {
    if (error_table[i].code == error) {
      *str = want_name ? error_table[i].name : error_table[i].text;
      break;
    }
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuGetErrorName(CUresult error, const char **str)
{
  return error_lookup(error, str, 1);
}

EXPORT CUresult cuGetErrorString(CUresult error, const char **str)
{
  return error_lookup(error, str, 0);
}

/* ---- devices ---- */

EXPORT CUresult cuDeviceGetCount(int *count)
{
  if (!count)
    return CUDA_ERROR_INVALID_VALUE;
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  *count = n_devices;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
  if (!device)
    return CUDA_ERROR_INVALID_VALUE;
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (!valid_device(ordinal))
    return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
  static const char fake_name[] = "UFO fake CUDA device (tests)";
  if (!name || len <= 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (!valid_device(dev))
    return CUDA_ERROR_INVALID_DEVICE;
  size_t n = sizeof(fake_name) - 1;
  if (n > (size_t)len - 1)
    n = (size_t)len - 1;
  memcpy(name, fake_name, n);
  name[n] = '\0';
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceGetAttribute(int *value, int attrib, CUdevice dev)
{
  if (!value)
    return CUDA_ERROR_INVALID_VALUE;
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (!valid_device(dev))
    return CUDA_ERROR_INVALID_DEVICE;
  switch (attrib) {
  case CU_DEVICE_ATTRIBUTE_TEXTURE_ALIGNMENT:
    *value = 512;
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
    *value = 9;
    break;
  case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
    *value = 0;
    break;
  default:
    *value = 0;
    break;
  }
  return CUDA_SUCCESS;
}

EXPORT CUresult cuDeviceCanAccessPeer(int *can_access, CUdevice dev, CUdevice peer)
{
  if (!can_access)
    return CUDA_ERROR_INVALID_VALUE;
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (!valid_device(dev) || !valid_device(peer))
    return CUDA_ERROR_INVALID_DEVICE;
  *can_access = 0;
  return CUDA_SUCCESS;
}

/* ---- contexts ---- */

static CUresult stack_push(CUcontext ctx)
{
  if (ctx_depth == FAKE_CTX_STACK)
    return CUDA_ERROR_OUT_OF_MEMORY;
  ctx_stack[ctx_depth++] = ctx;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxCreate_v2(CUcontext *pctx, unsigned int flags, CUdevice dev)
{
  if (!pctx)
    return CUDA_ERROR_INVALID_VALUE;
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (!valid_device(dev))
    return CUDA_ERROR_INVALID_DEVICE;
  if (ctx_depth == FAKE_CTX_STACK)
    return CUDA_ERROR_OUT_OF_MEMORY;
  CUdevice *ctx = malloc(sizeof(*ctx)); /* unique handle; holds the device */
  if (!ctx)
    return CUDA_ERROR_OUT_OF_MEMORY;
  *ctx = dev;
  pthread_mutex_lock(&fake_lock);
  int ok = handle_add(&contexts, ctx);
  pthread_mutex_unlock(&fake_lock);
  if (!ok) {
    free(ctx);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  stack_push(ctx); /* a new context is made current */
  *pctx = ctx;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxDestroy_v2(CUcontext ctx)
{
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (!ctx)
    return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&fake_lock);
  int found = handle_remove(&contexts, ctx);
  pthread_mutex_unlock(&fake_lock);
  if (!found)
    return CUDA_ERROR_INVALID_CONTEXT;
  /* drop it from this thread's stack, as the real driver does */
  int w = 0;
  for (int i = 0; i < ctx_depth; i++)
    if (ctx_stack[i] != ctx)
      ctx_stack[w++] = ctx_stack[i];
  ctx_depth = w;
  free(ctx);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (!ctx)
    return CUDA_ERROR_INVALID_CONTEXT;
  return stack_push(ctx);
}

EXPORT CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
  if (!is_initialized())
    return CUDA_ERROR_NOT_INITIALIZED;
  if (ctx_depth == 0)
    return CUDA_ERROR_INVALID_CONTEXT;
  CUcontext ctx = ctx_stack[--ctx_depth];
  ctx_stack[ctx_depth] = NULL;
  if (pctx)
    *pctx = ctx;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuCtxEnablePeerAccess(CUcontext peer, unsigned int flags)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuCtxDisablePeerAccess(CUcontext peer)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

/* ---- memory ---- */

EXPORT CUresult cuMemAlloc_v2(CUdeviceptr *dptr, size_t size)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (!dptr)
    return CUDA_ERROR_INVALID_VALUE;
  return device_alloc(dptr, size);
}

EXPORT CUresult cuMemAllocPitch_v2(CUdeviceptr *dptr, size_t *pitch, size_t width, size_t height,
                                   unsigned int element_size)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (!dptr || !pitch || width == 0 || height == 0)
    return CUDA_ERROR_INVALID_VALUE;
  if (element_size != 4 && element_size != 8 && element_size != 16)
    return CUDA_ERROR_INVALID_VALUE;
  if (width > SIZE_MAX - (FAKE_PITCH - 1))
    return CUDA_ERROR_OUT_OF_MEMORY;
  size_t p = (width + FAKE_PITCH - 1) / FAKE_PITCH * FAKE_PITCH;
  size_t size;
  if (__builtin_mul_overflow(p, height, &size))
    return CUDA_ERROR_OUT_OF_MEMORY;
  r = device_alloc(dptr, size);
  if (r == CUDA_SUCCESS)
    *pitch = p;
  return r;
}

EXPORT CUresult cuMemFree_v2(CUdeviceptr dptr)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (dptr == 0)
    return CUDA_SUCCESS; /* freeing NULL is a no-op */
  pthread_mutex_lock(&fake_lock);
  long i = region_find_base(&device_mem, (uintptr_t)dptr);
  if (i >= 0)
    region_remove_at(&device_mem, (size_t)i);
  pthread_mutex_unlock(&fake_lock);
  if (i < 0)
    return CUDA_ERROR_INVALID_VALUE;
  free((void *)(uintptr_t)dptr);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemAllocHost_v2(void **pp, size_t size)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (!pp)
    return CUDA_ERROR_INVALID_VALUE;
  size_t rounded = 0;
  void *p = NULL;
  r = alloc_aligned(size, &rounded, &p);
  if (r != CUDA_SUCCESS)
    return r;
  pthread_mutex_lock(&fake_lock);
  int ok = region_add(&host_mem, (uintptr_t)p, size);
  pthread_mutex_unlock(&fake_lock);
  if (!ok) {
    free(p);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *pp = p;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemFreeHost(void *p)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (!p)
    return CUDA_SUCCESS;
  pthread_mutex_lock(&fake_lock);
  long i = region_find_base(&host_mem, (uintptr_t)p);
  if (i >= 0)
    region_remove_at(&host_mem, (size_t)i);
  pthread_mutex_unlock(&fake_lock);
  if (i < 0)
    return CUDA_ERROR_INVALID_VALUE;
  free(p);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuMemcpy2D_v2(const CUDA_MEMCPY2D *p)
{
  return copy_2d(p);
}

EXPORT CUresult cuMemcpy2DAsync_v2(const CUDA_MEMCPY2D *p, CUstream stream)
{
  pthread_mutex_lock(&fake_lock);
  int ok = valid_stream(stream);
  pthread_mutex_unlock(&fake_lock);
  if (!ok)
    return CUDA_ERROR_INVALID_HANDLE;
  return copy_2d(p); /* synchronous */
}

/* ---- streams ---- */

EXPORT CUresult cuStreamCreate(CUstream *stream, unsigned int flags)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (!stream || flags > 1)
    return CUDA_ERROR_INVALID_VALUE;
  unsigned int *s = malloc(sizeof(*s)); /* unique handle; holds the flags */
  if (!s)
    return CUDA_ERROR_OUT_OF_MEMORY;
  *s = flags;
  pthread_mutex_lock(&fake_lock);
  int ok = handle_add(&streams, s);
  pthread_mutex_unlock(&fake_lock);
  if (!ok) {
    free(s);
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  *stream = s;
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamDestroy(CUstream stream)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  if (!stream)
    return CUDA_ERROR_INVALID_HANDLE;
  pthread_mutex_lock(&fake_lock);
  int found = handle_remove(&streams, stream);
  pthread_mutex_unlock(&fake_lock);
  if (!found)
    return CUDA_ERROR_INVALID_HANDLE;
  free(stream);
  return CUDA_SUCCESS;
}

EXPORT CUresult cuStreamSynchronize(CUstream stream)
{
  CUresult r = need_context();
  if (r != CUDA_SUCCESS)
    return r;
  pthread_mutex_lock(&fake_lock);
  int ok = valid_stream(stream);
  pthread_mutex_unlock(&fake_lock);
  return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_HANDLE;
}

/* ---- not supported: modules, kernels, textures, graphics interop ---- */

EXPORT CUresult cuModuleLoadData(CUmodule *module, const void *image)
{
  if (module)
    *module = NULL;
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuModuleUnload(CUmodule module)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuModuleGetFunction(CUfunction *func, CUmodule module, const char *name)
{
  if (func)
    *func = NULL;
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuLaunchKernel(CUfunction f, unsigned int grid_x, unsigned int grid_y,
                               unsigned int grid_z, unsigned int block_x, unsigned int block_y,
                               unsigned int block_z, unsigned int shared_bytes, CUstream stream,
                               void **params, void **extra)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuTexObjectCreate(CUtexObject *tex, const void *res_desc, const void *tex_desc,
                                  const void *view_desc)
{
  if (tex)
    *tex = 0;
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuTexObjectDestroy(CUtexObject tex)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsMapResources(unsigned int count, CUgraphicsResource *resources,
                                       CUstream stream)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsUnmapResources(unsigned int count, CUgraphicsResource *resources,
                                         CUstream stream)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsResourceSetMapFlags_v2(CUgraphicsResource resource, unsigned int flags)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsSubResourceGetMappedArray(CUarray *array, CUgraphicsResource resource,
                                                    unsigned int index, unsigned int level)
{
  if (array)
    *array = NULL;
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsResourceGetMappedPointer_v2(CUdeviceptr *dptr, size_t *size,
                                                      CUgraphicsResource resource)
{
  if (dptr)
    *dptr = 0;
  if (size)
    *size = 0;
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsUnregisterResource(CUgraphicsResource resource)
{
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsGLRegisterImage(CUgraphicsResource *resource, unsigned int image,
                                          unsigned int target, unsigned int flags)
{
  if (resource)
    *resource = NULL;
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGraphicsGLRegisterBuffer(CUgraphicsResource *resource, unsigned int buffer,
                                           unsigned int flags)
{
  if (resource)
    *resource = NULL;
  return CUDA_ERROR_NOT_SUPPORTED;
}

EXPORT CUresult cuGLGetDevices_v2(unsigned int *count, CUdevice *devices, unsigned int max_devices,
                                  int device_list)
{
  if (count)
    *count = 0;
  return CUDA_ERROR_NOT_SUPPORTED;
}

/* ---- unload: free what callers left ---- */

__attribute__((destructor)) static void fake_cuda_fini(void)
{
  pthread_mutex_lock(&fake_lock);
  region_free_all(&device_mem);
  region_free_all(&host_mem);
  handle_free_all(&contexts);
  handle_free_all(&streams);
  pthread_mutex_unlock(&fake_lock);
}
