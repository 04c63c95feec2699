/* Frame preprocessing on the device (backend.h preprocess, ../preprocess.h; inference §3.1,
 * §3.2; segmentation §6.14): the frame's planes are copied as they are into a device byte
 * buffer (the only host -> device copy of a frame), converted to packed RGB uint8, resized and
 * normalised into the (3, S*S) output. The resize tables are built on the host by the same code
 * as the host path (ufo_lin_table_*, ufo_pil_table) and uploaded once per frame geometry.
 *
 * The frame goes through pinned staging buffers (two, used in turn): the host packs its planes
 * into one, and one asynchronous copy takes it to the device, so the call returns as soon as the
 * work is enqueued and the copy runs at full DMA speed (a pageable copy is staged by the driver
 * synchronously, row by row for 2-D copies). A staging buffer is written again only after the
 * event recorded behind its last copy (two frames earlier) has completed; the emulation reports a
 * host write into a buffer whose copy is still in flight. Where pinned memory cannot be had, the
 * frame is copied straight from its pageable buffer, as before. A frame already in device memory
 * of the session's context (UFO_MEMORY_CUDA, context.cu) is converted where it is: no copy.
 *
 * Every kernel reproduces the host functions' arithmetic operation for operation, so results are
 * bit-identical: the Y'CbCr conversion and both uint8 resizes are integer fixed point; the
 * float32 resize evaluates the same double products and sums with explicit rounding (no fused
 * multiply-add: __dmul_rn/__dadd_rn on the GPU, stores through volatile in the emulation,
 * whose host compiler may contract C++ expressions); the normalisation is one float subtraction
 * and one IEEE division, as the host's table. */
#include "cuda_priv.h"

extern "C" {
#include "../preprocess.h"
}

#include <string.h>

#ifdef UFO_CUDA_EMU
/* Struct parameters without pointers, for the emulation's launch check (emu_runtime.h). */
template <class F> static inline void ufo_emu_pointers(const UfoYuvCoefs &, F &&)
{
}
#endif

namespace UFO_CUDA_NS
{

#define THREADS 256

/* The state of one preprocessor (backend.h prep_new): device buffers grown on demand and the
 * tables of the last geometry. */
#define STAGES 2 /* pinned staging buffers, used in turn */

typedef struct {
  uint8_t *frame, *rgb, *tmp;
  int32_t *tab;
  size_t frame_cap, rgb_cap, tmp_cap, tab_cap;
  /* pinned staging: buffers, their sizes, the event behind each one's last copy (recorded:
   * staged_used), the next one to use; no_pinned once cudaMallocHost has failed */
  uint8_t *stage[STAGES];
  size_t stage_cap[STAGES];
  cudaEvent_t staged[STAGES];
  gboolean staged_used[STAGES];
  int next_stage;
  gboolean no_pinned;
  /* geometry the tables were built for (resize -1: none) */
  int sw, sh, S, resize;
  int ksx, ksy;        /* PIL taps per output sample, x and y */
  int y_first, y_last; /* PIL horizontal-first: source rows the horizontal pass covers */
  gboolean hfirst;     /* PIL pass order */
} CudaPrep;

/* mean and std per RGB channel, by value */
typedef struct {
  float mean[3], std[3];
} Norm;

#ifdef UFO_CUDA_EMU
template <class F> static inline void ufo_emu_pointers(const Norm &, F &&)
{
}
#endif

/* §3.2: (x - mean) / std in float32, a true division (the host's table entry) */
__device__ __forceinline__ float normalise(float v, int ch, const Norm &n)
{
  return (v - n.mean[ch]) / n.std[ch];
}

/* double products and sums rounded one by one, never fused (the host path's C arithmetic) */
__device__ __forceinline__ double mul_rn(double a, double b)
{
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  volatile double p = a * b;
  return p;
#endif
}

__device__ __forceinline__ double add_rn(double a, double b)
{
#ifdef __CUDA_ARCH__
  return __dadd_rn(a, b);
#else
  volatile double s = a + b;
  return s;
#endif
}

/* ---- frame -> packed RGB uint8 (ufo_image_to_rgb) ---- */

__global__ void __launch_bounds__(THREADS)
    packed_rgb_kernel(uint8_t *__restrict__ rgb, const uint8_t *__restrict__ src, int64_t stride,
                      int h, int w, int bpp, int i0, int i1, int i2)
{
  UFO_CUDA_FOR_ITEMS((int64_t)h, (int64_t)w)
  {
    const uint8_t *s = src + r * stride + c * bpp;
    uint8_t *d = rgb + (r * w + c) * 3;
    d[0] = s[i0];
    d[1] = s[i1];
    d[2] = s[i2];
  }
}

/* 4:2:0 -> RGB, chroma sample (x/2, y/2), 16.16 fixed point (preprocess.h ufo_yuv_pixel) */
__global__ void __launch_bounds__(THREADS)
    yuv_rgb_kernel(uint8_t *__restrict__ rgb, const uint8_t *__restrict__ yp, int64_t ystride,
                   const uint8_t *__restrict__ up, int64_t ustride, const uint8_t *__restrict__ vp,
                   int64_t vstride, int step, int h, int w, UfoYuvCoefs k)
{
  UFO_CUDA_FOR_ITEMS((int64_t)h, (int64_t)w)
  {
    const int64_t cx = (c / 2) * step;
    const int32_t du = up[(r / 2) * ustride + cx] - 128, dv = vp[(r / 2) * vstride + cx] - 128;
    const int32_t yy = (yp[r * ystride + c] - k.yoff) * k.cy + 32768;
    const int32_t v[3] = {(yy + k.crv * dv) >> 16, (yy - k.cgu * du - k.cgv * dv) >> 16,
                          (yy + k.cbu * du) >> 16};
    uint8_t *d = rgb + (r * w + c) * 3;
    for (int ch = 0; ch < 3; ch++)
      d[ch] = (uint8_t)min(max(v[ch], 0), 255);
  }
}

/* ---- cv2 INTER_LINEAR on uint8 (resize_cv.c ufo_resize_linear_u8), fused with §3.2 ----
 * tables: i0, i1, w0, w1 of S entries each, x then y */

__global__ void __launch_bounds__(THREADS)
    linear_u8_kernel(float *__restrict__ out, int64_t ld, const uint8_t *__restrict__ rgb, int sw,
                     const int32_t *__restrict__ tx, const int32_t *__restrict__ ty, int S, Norm nm)
{
  UFO_CUDA_FOR_ITEMS((int64_t)S, (int64_t)S)
  {
    const int x0 = tx[c] * 3, x1 = tx[S + c] * 3, a0 = tx[2 * S + c], a1 = tx[3 * S + c];
    const int b0 = ty[2 * S + r], b1 = ty[3 * S + r];
    const uint8_t *s0 = rgb + (int64_t)ty[r] * sw * 3, *s1 = rgb + (int64_t)ty[S + r] * sw * 3;
    for (int ch = 0; ch < 3; ch++) {
      /* horizontal: exact int32 with 11-bit weights */
      const int32_t h0 = s0[x0 + ch] * a0 + s0[x1 + ch] * a1;
      const int32_t h1 = s1[x0 + ch] * a0 + s1[x1 + ch] * a1;
      /* OpenCV's SIMD vertical pass: (S >> 4) * beta >> 16 per row, then (sum + 2) >> 2 */
      int v = (((h0 >> 4) * b0) >> 16) + (((h1 >> 4) * b1) >> 16);
      v = min(max((v + 2) >> 2, 0), 255);
      out[ch * ld + r * S + c] = normalise((float)v, ch, nm);
    }
  }
}

/* ---- cv2 INTER_LINEAR on float32 (resize_cv.c ufo_resize_linear_f32), fused with §3.2 ----
 * tables: i0, i1, float bits of the fraction, S entries each, x then y */

/* the horizontal pass of one source row at output column c: p0·(1 − f) + p1·f in double */
__device__ __forceinline__ float linear_f32_h(const uint8_t *row, int x0, int x1, double f)
{
  return (float)add_rn(mul_rn((double)(float)row[x0], 1.0 - f), mul_rn((double)(float)row[x1], f));
}

__global__ void __launch_bounds__(THREADS)
    linear_f32_kernel(float *__restrict__ out, int64_t ld, const uint8_t *__restrict__ rgb, int sw,
                      const int32_t *__restrict__ tx, const int32_t *__restrict__ ty, int S,
                      Norm nm)
{
  UFO_CUDA_FOR_ITEMS((int64_t)S, (int64_t)S)
  {
    const int x0 = tx[c] * 3, x1 = tx[S + c] * 3;
    const double fx = (double)__int_as_float(tx[2 * S + c]);
    const double fy = (double)__int_as_float(ty[2 * S + r]);
    const uint8_t *s0 = rgb + (int64_t)ty[r] * sw * 3, *s1 = rgb + (int64_t)ty[S + r] * sw * 3;
    for (int ch = 0; ch < 3; ch++) {
      const float h0 = linear_f32_h(s0, x0 + ch, x1 + ch, fx);
      const float h1 = linear_f32_h(s1, x0 + ch, x1 + ch, fx);
      /* vertical: p0 + f·(p1 − p0), the difference in float, the rest in double */
      const float diff = h1 - h0;
      const float v = (float)add_rn((double)h0, mul_rn(fy, (double)diff));
      out[ch * ld + r * S + c] = normalise(v, ch, nm);
    }
  }
}

/* ---- PIL BICUBIC on uint8 (resize_pil.c), the last pass fused with §3.2 ----
 * tables: xmin, xcount (S each) and the (S, ksize) weights, x then y */

__device__ __forceinline__ int pil_clip8(int32_t in)
{
  if (in >= (1 << UFO_PIL_PRECISION_BITS << 8))
    return 255;
  if (in <= 0)
    return 0;
  return in >> UFO_PIL_PRECISION_BITS;
}

/* horizontal pass over rows x dw outputs of 3 channels; src rows sstride bytes apart. OUT: the
 * normalised planar output (rows = S, dw = S), else packed uint8 dst (rows, dw, 3). */
template <bool OUT>
__global__ void __launch_bounds__(THREADS)
    pil_hpass_kernel(uint8_t *__restrict__ dst, float *__restrict__ out, int64_t ld,
                     const uint8_t *__restrict__ src, int64_t sstride, int rows, int dw,
                     const int32_t *__restrict__ tab, int ksize, Norm nm)
{
  UFO_CUDA_FOR_ITEMS((int64_t)rows, (int64_t)dw)
  {
    const int n = tab[dw + c];
    const int32_t *k = tab + 2 * dw + c * ksize;
    const uint8_t *p = src + r * sstride + (int64_t)tab[c] * 3;
    for (int ch = 0; ch < 3; ch++) {
      int32_t acc = 1 << (UFO_PIL_PRECISION_BITS - 1); /* rounding offset */
      for (int x = 0; x < n; x++)
        acc += p[x * 3 + ch] * k[x];
      const int v = pil_clip8(acc);
      if (OUT)
        out[ch * ld + r * dw + c] = normalise((float)v, ch, nm);
      else
        dst[(r * dw + c) * 3 + ch] = (uint8_t)v;
    }
  }
}

/* vertical pass: dh output rows of rw bytes; output row yy blends src rows tab.xmin[yy] - row0
 * ... (sstride bytes apart). OUT: the normalised planar output (rw = 3·S), else packed dst. */
template <bool OUT>
__global__ void __launch_bounds__(THREADS)
    pil_vpass_kernel(uint8_t *__restrict__ dst, float *__restrict__ out, int64_t ld,
                     const uint8_t *__restrict__ src, int64_t sstride, int row0, int dh, int rw,
                     const int32_t *__restrict__ tab, int ksize, Norm nm)
{
  UFO_CUDA_FOR_ITEMS((int64_t)dh, (int64_t)rw)
  {
    const int n = tab[dh + r];
    const int32_t *k = tab + 2 * dh + r * ksize;
    const uint8_t *base = src + (int64_t)(tab[r] - row0) * sstride + c;
    int32_t acc = 1 << (UFO_PIL_PRECISION_BITS - 1);
    for (int y = 0; y < n; y++)
      acc += base[y * sstride] * k[y];
    const int v = pil_clip8(acc);
    if (OUT) {
      const int S = rw / 3, ch = (int)(c % 3);
      out[ch * ld + r * S + c / 3] = normalise((float)v, ch, nm);
    } else {
      dst[r * rw + c] = (uint8_t)v;
    }
  }
}

/* ---- host side ---- */

void ufo_cuda_prep_free(UfoCuda *cu, void *state)
{
  CudaPrep *pp = (CudaPrep *)state;
  (void)cudaStreamSynchronize(cu->stream); /* enqueued kernels may still read the buffers */
  for (int i = 0; i < STAGES; i++) {
    if (pp->staged[i])
      (void)cudaEventDestroy(pp->staged[i]);
    (void)cudaFreeHost(pp->stage[i]);
  }
  (void)cudaFree(pp->frame);
  (void)cudaFree(pp->rgb);
  (void)cudaFree(pp->tmp);
  (void)cudaFree(pp->tab);
  g_free(pp);
}

void *ufo_cuda_prep_new(UfoCuda *cu, GError **error)
{
  CudaPrep *pp = g_new0(CudaPrep, 1);
  pp->resize = -1;
  for (int i = 0; i < STAGES; i++)
    if (!ufo_cuda_ok(cudaEventCreateWithFlags(&pp->staged[i], cudaEventDisableTiming),
                     "preprocess: staging event", error)) {
      ufo_cuda_prep_free(cu, pp);
      return NULL;
    }
  return pp;
}

/* *buf of at least bytes (stream-ordered: the old one is freed after the work that reads it) */
template <typename T>
static gboolean ensure(UfoCuda *cu, T **buf, size_t *cap, size_t bytes, const char *what,
                       GError **error)
{
  if (*cap >= bytes)
    return TRUE;
  if (*buf) {
    if (!ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "preprocess", error))
      return FALSE;
    (void)cudaFree(*buf);
    *buf = NULL;
    *cap = 0;
  }
  void *p = ufo_cuda_malloc(cu, bytes, what, error);
  if (p == NULL)
    return FALSE;
  *buf = (T *)p;
  *cap = bytes;
  return TRUE;
}

/* rows of width bytes, pitch apart, packed into dst; returns the byte after them */
static uint8_t *pack_rows(uint8_t *dst, const uint8_t *src, size_t pitch, size_t width, size_t rows)
{
  if (pitch == width) {
    memcpy(dst, src, width * rows);
    return dst + width * rows;
  }
  for (size_t r = 0; r < rows; r++, dst += width)
    memcpy(dst, src + r * pitch, width);
  return dst;
}

/* A staging buffer of at least bytes, free to write (its last copy done): 1 and stage[*k]; 0
 * where pinned memory cannot be had (the caller copies from pageable memory); -1 on an error. */
static int take_stage(UfoCuda *cu, CudaPrep *pp, size_t bytes, int *k, GError **error)
{
  if (pp->no_pinned)
    return 0;
  const int i = pp->next_stage;
  /* the copy that last read it, two frames ago, must be over before the host writes it */
  if (pp->staged_used[i] &&
      !ufo_cuda_ok(cudaEventSynchronize(pp->staged[i]), "preprocess: staging", error))
    return -1;
  /* every buffer grows at once, so that a prepared session's later frames of the same size
   * allocate nothing (cudaFreeHost waits for the copies out of a buffer) */
  const gboolean grow = pp->stage_cap[i] < bytes;
  for (int j = 0; grow && j < STAGES; j++) {
    if (pp->stage_cap[j] >= bytes)
      continue;
    (void)cudaFreeHost(pp->stage[j]);
    pp->stage[j] = NULL;
    pp->stage_cap[j] = 0;
    if (cudaMallocHost(&pp->stage[j], bytes) != cudaSuccess) {
      (void)cudaGetLastError(); /* not an error of the frame: copy it as it is */
      pp->stage[j] = NULL;
      pp->no_pinned = TRUE;
      return 0;
    }
    pp->stage_cap[j] = bytes;
    if (cu->allocs)
      (*cu->allocs)++;
  }
  pp->next_stage = (i + 1) % STAGES;
  *k = i;
  return 1;
}

/* The frame's planes, rows packed, into pp->frame: through a pinned staging buffer (one host
 * pack, one asynchronous copy), else straight from the frame's memory. */
static gboolean upload_frame(UfoCuda *cu, CudaPrep *pp, const UfoImage *im, GError **error)
{
  /* host memory, as the image says (device memory would be read on the host: a crash) */
  int bpp, idx[3];
  const int n_planes = ufo_image_packed_layout(im->format, &bpp, idx) ? 1
                       : im->format == UFO_PIXEL_I420                 ? 3
                                                                      : 2;
  const uint8_t *ptrs[3] = {im->data, im->planes[0], im->planes[1]};
  for (int i = 0; i < n_planes; i++)
    if (ufo_cuda_pointer_is_device(cu, ptrs[i])) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                  "preprocess: the image's pixels are in CUDA device memory but it says host "
                  "memory (set UfoImage.memory to UFO_MEMORY_CUDA)");
      return FALSE;
    }
  const size_t w = (size_t)im->width, h = (size_t)im->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  const size_t bytes = ufo_image_bytes(im);
  if (!ensure(cu, &pp->frame, &pp->frame_cap, bytes, "preprocess: frame", error))
    return FALSE;
  int k = -1;
  const int staged = take_stage(cu, pp, bytes, &k, error);
  if (staged < 0)
    return FALSE;
  if (staged) {
    uint8_t *d = pp->stage[k];
    if (ufo_image_packed_layout(im->format, &bpp, idx)) {
      d = pack_rows(d, im->data, im->stride, w * bpp, h);
    } else {
      d = pack_rows(d, im->data, im->stride, w, h);
      if (im->format == UFO_PIXEL_I420) {
        d = pack_rows(d, im->planes[0], im->plane_stride[0], cw, ch);
        d = pack_rows(d, im->planes[1], im->plane_stride[1], cw, ch);
      } else {
        d = pack_rows(d, im->planes[0], im->plane_stride[0], 2 * cw, ch);
      }
    }
    (void)d; /* = stage + bytes: ufo_image_bytes' layout */
    pp->staged_used[k] = TRUE;
    return ufo_cuda_ok(
               cudaMemcpyAsync(pp->frame, pp->stage[k], bytes, cudaMemcpyHostToDevice, cu->stream),
               "preprocess: frame upload", error) &&
           ufo_cuda_ok(cudaEventRecord(pp->staged[k], cu->stream), "preprocess: staging event",
                       error);
  }

  const cudaMemcpyKind kind = cudaMemcpyHostToDevice;
  if (ufo_image_packed_layout(im->format, &bpp, idx))
    return ufo_cuda_ok(
        cudaMemcpy2DAsync(pp->frame, w * bpp, im->data, im->stride, w * bpp, h, kind, cu->stream),
        "preprocess: frame upload", error);
  uint8_t *c0 = pp->frame + w * h;
  cudaError_t st = cudaMemcpy2DAsync(pp->frame, w, im->data, im->stride, w, h, kind, cu->stream);
  if (st == cudaSuccess && im->format == UFO_PIXEL_I420) {
    st = cudaMemcpy2DAsync(c0, cw, im->planes[0], im->plane_stride[0], cw, ch, kind, cu->stream);
    if (st == cudaSuccess)
      st = cudaMemcpy2DAsync(c0 + cw * ch, cw, im->planes[1], im->plane_stride[1], cw, ch, kind,
                             cu->stream);
  } else if (st == cudaSuccess) {
    st = cudaMemcpy2DAsync(c0, 2 * cw, im->planes[0], im->plane_stride[0], 2 * cw, ch, kind,
                           cu->stream);
  }
  return ufo_cuda_ok(st, "preprocess: frame upload", error);
}

/* Where the conversion reads the frame: its planes and strides in device memory (the packed copy
 * in pp->frame, or the image itself when it is in UFO_MEMORY_CUDA). */
typedef struct {
  const uint8_t *p[3]; /* packed: p[0]; YUV: Y, U, V (NV12: V = U + 1) */
  int64_t stride[3];
} Planes;

/* the planes of the packed copy upload_frame made (ufo_image_bytes' layout) */
static Planes packed_planes(const CudaPrep *pp, const UfoImage *im)
{
  const int64_t w = im->width, h = im->height, cw = (w + 1) / 2, ch = (h + 1) / 2;
  int bpp, idx[3];
  Planes f = {{pp->frame, NULL, NULL}, {w, 0, 0}};
  if (ufo_image_packed_layout(im->format, &bpp, idx)) {
    f.stride[0] = w * bpp;
    return f;
  }
  const uint8_t *c0 = pp->frame + w * h;
  const gboolean nv12 = im->format == UFO_PIXEL_NV12;
  f.p[1] = c0;
  f.p[2] = nv12 ? c0 + 1 : c0 + cw * ch;
  f.stride[1] = f.stride[2] = nv12 ? 2 * cw : cw;
  return f;
}

/* the planes of an image in UFO_MEMORY_CUDA, each checked to be memory of the session's
 * context */
static gboolean device_planes(UfoCuda *cu, const UfoImage *im, Planes *f, GError **error)
{
  int bpp, idx[3];
  const gboolean packed = ufo_image_packed_layout(im->format, &bpp, idx);
  const gboolean nv12 = im->format == UFO_PIXEL_NV12;
  f->p[0] = im->data;
  f->stride[0] = (int64_t)im->stride;
  f->p[1] = packed ? NULL : im->planes[0];
  f->stride[1] = packed ? 0 : (int64_t)im->plane_stride[0];
  f->p[2] = packed ? NULL : nv12 ? im->planes[0] + 1 : im->planes[1];
  f->stride[2] = packed ? 0 : (int64_t)im->plane_stride[nv12 ? 0 : 1];
  static const char *what[3] = {"preprocess: the image's first plane",
                                "preprocess: the image's U plane",
                                "preprocess: the image's V plane"};
  for (int i = 0; i < (packed ? 1 : nv12 ? 2 : 3); i++)
    if (!ufo_cuda_check_device_pointer(cu, f->p[i], what[i], error))
      return FALSE;
  return TRUE;
}

static gboolean to_rgb(UfoCuda *cu, CudaPrep *pp, const UfoImage *im, const Planes &f,
                       GError **error)
{
  const int w = im->width, h = im->height;
  if (!ensure(cu, &pp->rgb, &pp->rgb_cap, (size_t)w * h * 3, "preprocess: RGB image", error))
    return FALSE;
  const unsigned blocks = ufo_cuda_blocks(cu, (int64_t)w * h, THREADS);
  int bpp, idx[3];
  if (ufo_image_packed_layout(im->format, &bpp, idx)) {
    UFO_LAUNCH(packed_rgb_kernel, blocks, THREADS, 0, cu->stream, pp->rgb, f.p[0], f.stride[0], h,
               w, bpp, idx[0], idx[1], idx[2]);
    return ufo_cuda_launched("preprocess: packed_rgb_kernel", error);
  }
  UfoYuvCoefs k;
  ufo_yuv_coefs(im->matrix, im->range, &k);
  UFO_LAUNCH(yuv_rgb_kernel, blocks, THREADS, 0, cu->stream, pp->rgb, f.p[0], f.stride[0], f.p[1],
             f.stride[1], f.p[2], f.stride[2], im->format == UFO_PIXEL_NV12 ? 2 : 1, h, w, k);
  return ufo_cuda_launched("preprocess: yuv_rgb_kernel", error);
}

/* appends n int32 (or float bits) to the host table */
static void put(GArray *a, const void *v, int n)
{
  g_array_append_vals(a, v, (guint)n);
}

static void put16(GArray *a, const int16_t *v, int n)
{
  for (int i = 0; i < n; i++) {
    int32_t x = v[i];
    g_array_append_val(a, x);
  }
}

/* The tables of (sw, sh) -> (S, S) for p->resize, built on the host and uploaded (once per
 * geometry). */
static gboolean tables(UfoCuda *cu, CudaPrep *pp, int sw, int sh, const UfoPrepParams *p,
                       GError **error)
{
  const int S = p->size;
  if (pp->resize == (int)p->resize && pp->sw == sw && pp->sh == sh && pp->S == S)
    return TRUE;
  GArray *a = g_array_new(FALSE, FALSE, sizeof(int32_t));
  if (p->resize == UFO_PREP_LINEAR_U8) {
    UfoLinTable tx, ty;
    ufo_lin_table_u8(&tx, sw, S, TRUE);
    ufo_lin_table_u8(&ty, sh, S, FALSE);
    const UfoLinTable *t[2] = {&tx, &ty};
    for (int i = 0; i < 2; i++) {
      put(a, t[i]->i0, S);
      put(a, t[i]->i1, S);
      put16(a, t[i]->w0, S);
      put16(a, t[i]->w1, S);
    }
    ufo_lin_table_free(&tx);
    ufo_lin_table_free(&ty);
  } else if (p->resize == UFO_PREP_LINEAR_F32) {
    UfoLinTable tx, ty;
    ufo_lin_table_f32(&tx, sw, S);
    ufo_lin_table_f32(&ty, sh, S);
    const UfoLinTable *t[2] = {&tx, &ty};
    for (int i = 0; i < 2; i++) {
      put(a, t[i]->i0, S);
      put(a, t[i]->i1, S);
      put(a, t[i]->f, S); /* float bits */
    }
    ufo_lin_table_free(&tx);
    ufo_lin_table_free(&ty);
  } else {
    UfoPilTable tx, ty;
    ufo_pil_table(&tx, sw, S);
    ufo_pil_table(&ty, sh, S);
    const UfoPilTable *t[2] = {&tx, &ty};
    for (int i = 0; i < 2; i++) {
      put(a, t[i]->xmin, S);
      put(a, t[i]->xcount, S);
      put(a, t[i]->k, S * t[i]->ksize);
    }
    pp->ksx = tx.ksize;
    pp->ksy = ty.ksize;
    pp->hfirst = ufo_pil_horizontal_first(sw, sh, S, S);
    pp->y_first = ty.xmin[0];
    pp->y_last = ty.xmin[S - 1] + ty.xcount[S - 1];
    ufo_pil_table_free(&tx);
    ufo_pil_table_free(&ty);
  }
  const size_t bytes = (size_t)a->len * sizeof(int32_t);
  pp->resize = -1;
  gboolean ok =
      ensure(cu, &pp->tab, &pp->tab_cap, bytes, "preprocess: resize tables", error) &&
      ufo_cuda_upload_bytes(cu, pp->tab, a->data, bytes, "preprocess: resize tables", error);
  g_array_free(a, TRUE);
  if (ok) {
    pp->resize = (int)p->resize;
    pp->sw = sw;
    pp->sh = sh;
    pp->S = S;
  }
  return ok;
}

static gboolean bicubic_pil(UfoCuda *cu, CudaPrep *pp, int sw, float *out, int64_t ld, int S,
                            const Norm &nm, GError **error)
{
  const int32_t *tx = pp->tab, *ty = pp->tab + 2 * S + (size_t)S * pp->ksx;
  const int64_t sstride = (int64_t)sw * 3;
  if (pp->hfirst) {
    /* only the source rows the vertical pass reads go through the horizontal pass */
    const int rows = pp->y_last - pp->y_first;
    if (!ensure(cu, &pp->tmp, &pp->tmp_cap, (size_t)rows * S * 3, "preprocess: resize", error))
      return FALSE;
    UFO_LAUNCH((pil_hpass_kernel<false>), ufo_cuda_blocks(cu, (int64_t)rows * S, THREADS), THREADS,
               0, cu->stream, pp->tmp, (float *)NULL, (int64_t)0,
               pp->rgb + (size_t)pp->y_first * sstride, sstride, rows, S, tx, pp->ksx, nm);
    if (!ufo_cuda_launched("preprocess: pil_hpass_kernel", error))
      return FALSE;
    UFO_LAUNCH((pil_vpass_kernel<true>), ufo_cuda_blocks(cu, (int64_t)S * S * 3, THREADS), THREADS,
               0, cu->stream, (uint8_t *)NULL, out, ld, (const uint8_t *)pp->tmp, (int64_t)S * 3,
               pp->y_first, S, 3 * S, ty, pp->ksy, nm);
    return ufo_cuda_launched("preprocess: pil_vpass_kernel", error);
  }
  if (!ensure(cu, &pp->tmp, &pp->tmp_cap, (size_t)S * sstride, "preprocess: resize", error))
    return FALSE;
  UFO_LAUNCH((pil_vpass_kernel<false>), ufo_cuda_blocks(cu, (int64_t)S * sstride, THREADS), THREADS,
             0, cu->stream, pp->tmp, (float *)NULL, (int64_t)0, (const uint8_t *)pp->rgb, sstride,
             0, S, (int)sstride, ty, pp->ksy, nm);
  if (!ufo_cuda_launched("preprocess: pil_vpass_kernel", error))
    return FALSE;
  UFO_LAUNCH((pil_hpass_kernel<true>), ufo_cuda_blocks(cu, (int64_t)S * S, THREADS), THREADS, 0,
             cu->stream, (uint8_t *)NULL, out, ld, (const uint8_t *)pp->tmp, sstride, S, S, tx,
             pp->ksx, nm);
  return ufo_cuda_launched("preprocess: pil_hpass_kernel", error);
}

gboolean ufo_cuda_preprocess(UfoCuda *cu, void *state, UfoView y, const UfoImage *image,
                             const UfoPrepParams *p, GError **error)
{
  CudaPrep *pp = (CudaPrep *)state;
  const int sw = image->width, sh = image->height, S = p->size;
  Planes f;
  if (image->memory == UFO_MEMORY_CUDA) {
    if (!device_planes(cu, image, &f, error)) /* read in place: no copy */
      return FALSE;
  } else {
    if (!upload_frame(cu, pp, image, error))
      return FALSE;
    f = packed_planes(pp, image);
  }
  if (!to_rgb(cu, pp, image, f, error) || !tables(cu, pp, sw, sh, p, error))
    return FALSE;
  Norm nm;
  memcpy(nm.mean, p->mean, sizeof nm.mean);
  memcpy(nm.std, p->std, sizeof nm.std);
  float *out = ufo_cuda_ptr(y);
  const unsigned blocks = ufo_cuda_blocks(cu, (int64_t)S * S, THREADS);
  switch (p->resize) {
  case UFO_PREP_LINEAR_U8:
    UFO_LAUNCH(linear_u8_kernel, blocks, THREADS, 0, cu->stream, out, y.ld,
               (const uint8_t *)pp->rgb, sw, (const int32_t *)pp->tab,
               (const int32_t *)pp->tab + 4 * S, S, nm);
    return ufo_cuda_launched("preprocess: linear_u8_kernel", error);
  case UFO_PREP_LINEAR_F32:
    UFO_LAUNCH(linear_f32_kernel, blocks, THREADS, 0, cu->stream, out, y.ld,
               (const uint8_t *)pp->rgb, sw, (const int32_t *)pp->tab,
               (const int32_t *)pp->tab + 3 * S, S, nm);
    return ufo_cuda_launched("preprocess: linear_f32_kernel", error);
  default:
    return bicubic_pil(cu, pp, sw, out, y.ld, S, nm, error);
  }
}

} /* namespace UFO_CUDA_NS */
