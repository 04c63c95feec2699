/* GStreamer's CUDA library (libgstcuda-1.0, 1.22) on the fake CUDA driver (fakecuda/, found
 * through LD_LIBRARY_PATH): loading, own and wrapped contexts, the buffer pool, CPU and CUDA maps
 * of CUDAMemory, and the driver's pointer checks. */
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>
#include <gst/cuda/cuda-gst.h>
#include <gst/cuda/gstcudabufferpool.h>
#include <gst/cuda/gstcudacontext.h>
#include <gst/cuda/gstcudaloader.h>
#include <gst/cuda/gstcudamemory.h>

#include <string.h>

#include "fake_cuda_driver.h"

#define FAKE_PITCH 512 /* pitch of cuMemAllocPitch in the fake for rows up to 512 bytes */

/* Stands in for a context handle made elsewhere; the driver never dereferences it. */
static int foreign_context;

static void load_cuda(void)
{
  fail_unless(gst_cuda_load_library(), "gst_cuda_load_library failed: fake libcuda.so.1 missing?");
  gst_cuda_memory_init_once(); /* registers the allocator the pool looks up */
}

/* Bytes per row and rows of one plane. */
static void plane_dims(const GstVideoInfo *info, guint plane, gsize *row_bytes, guint *rows)
{
  gint comp[GST_VIDEO_MAX_COMPONENTS];
  gst_video_format_info_component(info->finfo, plane, comp);
  *row_bytes =
      (gsize)GST_VIDEO_INFO_COMP_WIDTH(info, comp[0]) * GST_VIDEO_INFO_COMP_PSTRIDE(info, comp[0]);
  *rows = GST_VIDEO_INFO_COMP_HEIGHT(info, comp[0]);
}

static guint8 pattern(guint plane, gsize x, guint y)
{
  return (guint8)(plane * 61 + y * 7 + x * 3 + 1);
}

/* Checks the device bytes of cmem (mapped at dev) against the pattern, with plane 0's first byte
 * of each row replaced by first_byte when first_byte >= 0. */
static void check_device_bytes(const GstCudaMemory *cmem, const guint8 *dev,
                               const GstVideoInfo *info, gint first_byte)
{
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(info); p++) {
    gsize row_bytes;
    guint rows;
    plane_dims(info, p, &row_bytes, &rows);
    for (guint y = 0; y < rows; y++) {
      const guint8 *row = dev + cmem->info.offset[p] + (gsize)y * cmem->info.stride[p];
      for (gsize x = 0; x < row_bytes; x++) {
        guint8 want = (p == 0 && x == 0 && first_byte >= 0) ? (guint8)first_byte : pattern(p, x, y);
        if (row[x] != want)
          fail("plane %u row %u byte %" G_GSIZE_FORMAT ": %u, expected %u", p, y, x, row[x], want);
      }
    }
  }
}

static GstCaps *cuda_caps(const gchar *format)
{
  return gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, format, "width", G_TYPE_INT,
                             100, "height", G_TYPE_INT, 62, "framerate", GST_TYPE_FRACTION, 30, 1,
                             NULL);
}

/* Pool buffers of one format on ctx: pitched CUDA memory; CPU write then CUDA read, CUDA write
 * then CPU read, and a device-to-device copy, each checked byte by byte and by the counters. */
static void check_pool(GstCudaContext *ctx, const gchar *format)
{
  GstCaps *caps = cuda_caps(format);
  gst_caps_set_features(caps, 0, gst_caps_features_new(GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY, NULL));
  GstVideoInfo info;
  fail_unless(gst_video_info_from_caps(&info, caps));

  GstBufferPool *pool = gst_cuda_buffer_pool_new(ctx);
  fail_unless(pool != NULL);
  GstStructure *config = gst_buffer_pool_get_config(pool);
  gst_buffer_pool_config_set_params(config, caps, GST_VIDEO_INFO_SIZE(&info), 0, 0);
  gst_buffer_pool_config_add_option(config, GST_BUFFER_POOL_OPTION_VIDEO_META);
  fail_unless(gst_buffer_pool_set_config(pool, config), "%s: set_config failed", format);
  fail_unless(gst_buffer_pool_set_active(pool, TRUE));

  GstBuffer *buf = NULL;
  fail_unless_equals_int(gst_buffer_pool_acquire_buffer(pool, &buf, NULL), GST_FLOW_OK);
  fail_unless_equals_int(gst_buffer_n_memory(buf), 1);
  GstMemory *mem = gst_buffer_peek_memory(buf, 0);
  fail_unless(gst_is_cuda_memory(mem));
  GstCudaMemory *cmem = GST_CUDA_MEMORY_CAST(mem);
  fail_unless(cmem->context == ctx);
  fail_unless(ufo_fake_cuda_live_allocations() >= 1);

  /* pitched: every plane's stride is the driver's pitch, not the row width */
  GstVideoMeta *meta = gst_buffer_get_video_meta(buf);
  fail_unless(meta != NULL);
  for (guint p = 0; p < GST_VIDEO_INFO_N_PLANES(&info); p++) {
    fail_unless_equals_int(cmem->info.stride[p], FAKE_PITCH);
    fail_unless(cmem->info.stride[p] != GST_VIDEO_INFO_PLANE_STRIDE(&info, p));
    fail_unless_equals_int(meta->stride[p], cmem->info.stride[p]);
    fail_unless_equals_uint64(meta->offset[p], cmem->info.offset[p]);
  }
  /* bytes of one full transfer: the caps' row width times the allocated rows */
  const guint64 full =
      (guint64)GST_VIDEO_INFO_PLANE_STRIDE(&info, 0) * (cmem->info.size / cmem->info.stride[0]);

  /* CPU write (staging memory), then a CUDA read: the upload happens at the CUDA map */
  ufo_fake_cuda_reset_counters();
  GstVideoFrame frame;
  fail_unless(gst_video_frame_map(&frame, &info, buf, GST_MAP_WRITE));
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES(&frame); p++) {
    gsize row_bytes;
    guint rows;
    plane_dims(&info, p, &row_bytes, &rows);
    guint8 *d = GST_VIDEO_FRAME_PLANE_DATA(&frame, p);
    for (guint y = 0; y < rows; y++)
      for (gsize x = 0; x < row_bytes; x++)
        d[(gsize)y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, p) + x] = pattern(p, x, y);
  }
  gst_video_frame_unmap(&frame);
  /* the first CPU map downloaded the (uninitialised) device memory; nothing uploaded yet */
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_DEVICE_TO_HOST), full);
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_HOST_TO_DEVICE), 0);

  GstMapInfo map;
  fail_unless(gst_memory_map(mem, &map, GST_MAP_READ | GST_MAP_CUDA));
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_HOST_TO_DEVICE), full);
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_DEVICE_TO_DEVICE), 0);
  check_device_bytes(cmem, map.data, &info, -1);
  gst_memory_unmap(mem, &map);

  /* a second CUDA map copies nothing */
  ufo_fake_cuda_reset_counters();
  fail_unless(gst_memory_map(mem, &map, GST_MAP_READ | GST_MAP_CUDA));
  gst_memory_unmap(mem, &map);
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_HOST_TO_DEVICE), 0);
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_DEVICE_TO_HOST), 0);

  /* CUDA write, then a CPU read: downloaded at the CPU map */
  fail_unless(gst_memory_map(mem, &map, GST_MAP_WRITE | GST_MAP_CUDA));
  for (gint y = 0; y < GST_VIDEO_INFO_COMP_HEIGHT(&info, 0); y++)
    map.data[cmem->info.offset[0] + (gsize)y * cmem->info.stride[0]] = 0xEE;
  gst_memory_unmap(mem, &map);
  fail_unless(gst_video_frame_map(&frame, &info, buf, GST_MAP_READ));
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_DEVICE_TO_HOST), full);
  const guint8 *y0 = GST_VIDEO_FRAME_PLANE_DATA(&frame, 0);
  fail_unless_equals_int(y0[0], 0xEE);
  fail_unless_equals_int(y0[1], pattern(0, 1, 0));
  fail_unless_equals_int(y0[GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0) * 5], 0xEE);
  gst_video_frame_unmap(&frame);

  /* gst_memory_copy: a device-to-device copy into new CUDA memory */
  ufo_fake_cuda_reset_counters();
  GstMemory *copy = gst_memory_copy(mem, 0, -1);
  fail_unless(copy != NULL && gst_is_cuda_memory(copy));
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_DEVICE_TO_DEVICE), full);
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_HOST_TO_DEVICE), 0);
  fail_unless(gst_memory_map(copy, &map, GST_MAP_READ | GST_MAP_CUDA));
  check_device_bytes(GST_CUDA_MEMORY_CAST(copy), map.data, &info, 0xEE);
  gst_memory_unmap(copy, &map);
  gst_memory_unref(copy);

  gst_buffer_unref(buf);
  fail_unless(gst_buffer_pool_set_active(pool, FALSE));
  gst_object_unref(pool);
  gst_caps_unref(caps);
  /* every pool buffer and the copy freed their device memory */
  fail_unless_equals_uint64(ufo_fake_cuda_live_allocations(), 0);
}

GST_START_TEST(test_load_library)
{
  load_cuda();
  fail_unless(gst_cuda_load_library()); /* a second call is a no-op */
  fail_unless_equals_int(CuInit(0), CUDA_SUCCESS);
  int count = -1, version = 0;
  fail_unless_equals_int(CuDeviceGetCount(&count), CUDA_SUCCESS);
  fail_unless_equals_int(count, 1);
  fail_unless_equals_int(CuDriverGetVersion(&version), CUDA_SUCCESS);
  fail_unless_equals_int(version, 12000);
  char name[8];
  fail_unless_equals_int(CuDeviceGetName(name, sizeof(name), 0), CUDA_SUCCESS);
  fail_unless_equals_string(name, "UFO fak"); /* truncated to the buffer */
  const char *s = NULL;
  fail_unless_equals_int(CuGetErrorName(CUDA_ERROR_NOT_SUPPORTED, &s), CUDA_SUCCESS);
  fail_unless_equals_string(s, "CUDA_ERROR_NOT_SUPPORTED");
  fail_unless_equals_int(CuGetErrorName((CUresult)12345, &s), CUDA_SUCCESS);
  fail_unless_equals_string(s, "CUDA_ERROR_UNKNOWN");
  CUmodule module = NULL;
  fail_unless_equals_int(CuModuleLoadData(&module, "x"), CUDA_ERROR_NOT_SUPPORTED);
}
GST_END_TEST;

GST_START_TEST(test_context)
{
  load_cuda();
  GstCudaContext *ctx = gst_cuda_context_new(0);
  fail_unless(ctx != NULL);
  fail_unless(gst_cuda_context_get_handle(ctx) != NULL);
  fail_unless_equals_int(gst_cuda_context_get_texture_alignment(ctx), 512);
  guint dev = 99;
  g_object_get(ctx, "cuda-device-id", &dev, NULL);
  fail_unless_equals_int(dev, 0);

  /* gst_cuda_context_new leaves no context current */
  CUcontext cur = NULL;
  fail_unless_equals_int(CuCtxPopCurrent(&cur), CUDA_ERROR_INVALID_CONTEXT);
  fail_unless(gst_cuda_context_push(ctx));
  fail_unless_equals_int(CuCtxPopCurrent(&cur), CUDA_SUCCESS);
  fail_unless(cur == gst_cuda_context_get_handle(ctx));
  fail_unless(gst_cuda_context_push(ctx));
  fail_unless(gst_cuda_context_pop(NULL));
  fail_if(gst_cuda_context_pop(NULL));

  /* a device the driver does not have */
  fail_unless(gst_cuda_context_new(5) == NULL);
  gst_object_unref(ctx);
}
GST_END_TEST;

GST_START_TEST(test_context_wrapped)
{
  load_cuda();
  GstCudaContext *own = gst_cuda_context_new(0); /* a peer for the wrapped one */
  fail_unless(own != NULL);
  CUcontext handle = (CUcontext)&foreign_context;
  GstCudaContext *wrapped = gst_cuda_context_new_wrapped(handle, 0);
  fail_unless(wrapped != NULL);
  fail_unless(gst_cuda_context_get_handle(wrapped) == handle);
  fail_unless(gst_cuda_context_push(wrapped));
  fail_unless(gst_cuda_context_push(own));
  CUcontext cur = NULL;
  fail_unless(gst_cuda_context_pop(&cur));
  fail_unless(cur == gst_cuda_context_get_handle(own));
  fail_unless(gst_cuda_context_pop(&cur));
  fail_unless(cur == handle);

  /* memory on the foreign handle */
  GstAllocator *alloc = gst_allocator_find(GST_CUDA_MEMORY_TYPE_NAME);
  fail_unless(alloc != NULL);
  GstVideoInfo info;
  gst_video_info_set_format(&info, GST_VIDEO_FORMAT_RGBA, 16, 8);
  GstMemory *mem = gst_cuda_allocator_alloc(GST_CUDA_ALLOCATOR(alloc), wrapped, &info);
  fail_unless(mem != NULL && gst_is_cuda_memory(mem));
  fail_unless(GST_CUDA_MEMORY_CAST(mem)->context == wrapped);
  gst_memory_unref(mem);
  gst_object_unref(alloc);

  /* not owned: unref does not destroy the handle (the driver would refuse it) */
  gst_object_unref(wrapped);
  gst_object_unref(own);
  fail_unless_equals_uint64(ufo_fake_cuda_live_allocations(), 0);
}
GST_END_TEST;

GST_START_TEST(test_pool_nv12)
{
  load_cuda();
  GstCudaContext *ctx = gst_cuda_context_new(0);
  fail_unless(ctx != NULL);
  check_pool(ctx, "NV12");
  gst_object_unref(ctx);
}
GST_END_TEST;

GST_START_TEST(test_pool_rgba)
{
  load_cuda();
  GstCudaContext *ctx = gst_cuda_context_new(0);
  fail_unless(ctx != NULL);
  check_pool(ctx, "RGBA");
  gst_object_unref(ctx);
}
GST_END_TEST;

GST_START_TEST(test_pool_wrapped)
{
  load_cuda();
  GstCudaContext *ctx = gst_cuda_context_new_wrapped((CUcontext)&foreign_context, 0);
  fail_unless(ctx != NULL);
  check_pool(ctx, "NV12");
  check_pool(ctx, "RGBA");
  gst_object_unref(ctx);
}
GST_END_TEST;

GST_START_TEST(test_pointer_checks)
{
  load_cuda();
  GstCudaContext *ctx = gst_cuda_context_new(0);
  fail_unless(ctx != NULL);

  /* memory calls need a current context */
  CUdeviceptr d = 0;
  fail_unless_equals_int(CuMemAlloc(&d, 1000), CUDA_ERROR_INVALID_CONTEXT);

  fail_unless(gst_cuda_context_push(ctx));
  fail_unless_equals_int(CuMemFree((CUdeviceptr)0xdead0000), CUDA_ERROR_INVALID_VALUE);
  fail_unless_equals_int(CuMemAlloc(&d, 1000), CUDA_SUCCESS);
  fail_unless(d % 256 == 0);
  fail_unless_equals_int(CuMemFree(d + 16), CUDA_ERROR_INVALID_VALUE); /* not a base */

  /* 2D copies: ranges past the allocation fail, in range succeed */
  guint8 host[1000];
  memset(host, 7, sizeof(host));
  CUDA_MEMCPY2D cp;
  memset(&cp, 0, sizeof(cp));
  cp.srcMemoryType = CU_MEMORYTYPE_HOST;
  cp.srcHost = host;
  cp.srcPitch = 100;
  cp.dstMemoryType = CU_MEMORYTYPE_DEVICE;
  cp.dstDevice = d;
  cp.dstPitch = 100;
  cp.WidthInBytes = 100;
  cp.Height = 10;
  ufo_fake_cuda_reset_counters();
  fail_unless_equals_int(CuMemcpy2D(&cp), CUDA_SUCCESS);
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_HOST_TO_DEVICE), 1000);
  cp.dstY = 1; /* last row ends 100 bytes past the allocation */
  fail_unless_equals_int(CuMemcpy2D(&cp), CUDA_ERROR_INVALID_VALUE);
  cp.dstY = 0;
  cp.dstDevice = (CUdeviceptr)host; /* host memory passed as device memory */
  fail_unless_equals_int(CuMemcpy2DAsync(&cp, NULL), CUDA_ERROR_INVALID_VALUE);
  cp.dstDevice = d;
  cp.dstMemoryType = CU_MEMORYTYPE_ARRAY;
  fail_unless_equals_int(CuMemcpy2D(&cp), CUDA_ERROR_NOT_SUPPORTED);
  fail_unless_equals_uint64(ufo_fake_cuda_bytes(UFO_FAKE_CUDA_HOST_TO_DEVICE), 1000);

  /* streams */
  CUstream stream = NULL;
  fail_unless_equals_int(CuStreamCreate(&stream, 0), CUDA_SUCCESS);
  fail_unless_equals_int(CuStreamSynchronize(stream), CUDA_SUCCESS);
  fail_unless_equals_int(CuStreamDestroy(stream), CUDA_SUCCESS);

  fail_unless_equals_int(CuMemFree(d), CUDA_SUCCESS);
  fail_unless_equals_int(CuMemFree(d), CUDA_ERROR_INVALID_VALUE); /* double free */
  fail_unless(gst_cuda_context_pop(NULL));
  fail_unless_equals_uint64(ufo_fake_cuda_live_allocations(), 0);
  gst_object_unref(ctx);
}
GST_END_TEST;

static Suite *fake_cuda_suite(void)
{
  Suite *s = suite_create("fakecuda");
  TCase *tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_load_library);
  tcase_add_test(tc, test_context);
  tcase_add_test(tc, test_context_wrapped);
  tcase_add_test(tc, test_pool_nv12);
  tcase_add_test(tc, test_pool_rgba);
  tcase_add_test(tc, test_pool_wrapped);
  tcase_add_test(tc, test_pointer_checks);
  return s;
}

GST_CHECK_MAIN(fake_cuda);
