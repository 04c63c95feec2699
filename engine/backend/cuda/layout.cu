/* Data movement (backend.h; semantics of cpu/layout.c): window partition/unpartition
 * (inference §5.1), row gathers (embedding lookup, KV-cache reorder and in-place compaction) and
 * patch extraction for the patch-embedding GEMM (§5.2). Grid-stride loops over the output's
 * rows * cols items in int64; row indices are i32 tensors already on the device. */
#include "cuda_priv.h"

namespace UFO_CUDA_NS
{

#define THREADS 256

/* ---- window partition ---- */

/* Row of the (h*w) map for partitioned row r: window (wy, wx) row-major over windows, token
 * (ty, tx) row-major inside the window (inference §5.1). In 32 bits (the host checks h·w <
 * 2^31): a 64-bit division costs several times a 32-bit one on the GPU, and this runs for every
 * element of every window layer's input and output. per = ws², nwx = w / ws. */
__device__ __forceinline__ int64_t window_src_row(int64_t r, int w, unsigned ws, unsigned per,
                                                  unsigned nwx)
{
  const unsigned ur = (unsigned)r, win = ur / per, t = ur - win * per;
  const unsigned wy = win / nwx, wx = win - wy * nwx, ty = t / ws, tx = t - ty * ws;
  return (int64_t)(wy * ws + ty) * w + (wx * ws + tx);
}

__global__ void __launch_bounds__(THREADS)
    partition_kernel(float *__restrict__ y, int64_t ldy, const float *__restrict__ x, int64_t ldx,
                     int64_t rows, int64_t cols, int w, int ws, int inverse)
{
  const unsigned uws = (unsigned)ws, per = uws * uws, nwx = (unsigned)w / uws;
  UFO_CUDA_FOR_ITEMS(rows, cols)
  {
    int64_t s = window_src_row(r, w, uws, per, nwx);
    y[(inverse ? s : r) * ldy + c] = x[(inverse ? r : s) * ldx + c];
  }
}

gboolean ufo_cuda_window_partition(UfoCuda *cu, UfoView y, UfoView x, int h, int w, int ws,
                                   gboolean inverse, GError **error)
{
  int64_t rows = (int64_t)h * w;
  if (rows > INT32_MAX) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "window_partition: a %dx%d token grid is over 2^31 tokens", h, w);
    return FALSE;
  }
  UFO_LAUNCH(partition_kernel, ufo_cuda_blocks(cu, rows * x.cols, THREADS), THREADS, 0, cu->stream,
             ufo_cuda_ptr(y), y.ld, ufo_cuda_ptr(x), x.ld, rows, x.cols, w, ws, inverse ? 1 : 0);
  return ufo_cuda_launched(inverse ? "window_unpartition: partition_kernel"
                                   : "window_partition: partition_kernel",
                           error);
}

/* ---- row gather ---- */

/* y row r = x row idx[r] (idx NULL: r) */
__global__ void __launch_bounds__(THREADS)
    gather_kernel(float *__restrict__ y, int64_t ldy, const float *__restrict__ x, int64_t ldx,
                  const int32_t *__restrict__ idx, int64_t rows, int64_t cols)
{
  UFO_CUDA_FOR_ITEMS(rows, cols)
  y[r * ldy + c] = x[(idx ? (int64_t)idx[r] : r) * ldx + c];
}

/* Whether two views' element spans in one tensor intersect. */
static gboolean overlap(UfoView a, UfoView b)
{
  if (a.t != b.t)
    return FALSE;
  size_t a_end = a.off + (size_t)((a.rows - 1) * a.ld + a.cols);
  size_t b_end = b.off + (size_t)((b.rows - 1) * b.ld + b.cols);
  return a.off < b_end && b.off < a_end;
}

gboolean ufo_cuda_gather_rows(UfoCuda *cu, UfoView y, UfoView x, UfoView idx, GError **error)
{
  if (idx.t == NULL && ufo_cuda_ptr(y) == ufo_cuda_ptr(x) && y.ld == x.ld)
    return TRUE;                            /* identity in place */
  const int32_t *didx = ufo_cuda_iptr(idx); /* a (rows, 1) column, ld 1; NULL: identity */
  /* in place (compaction: idx[i] >= i): the threads of a kernel run in no order, so rows that
   * are still to be read could be overwritten: gather into scratch, then copy over y */
  gboolean through = overlap(y, x);
  float *dst = ufo_cuda_ptr(y);
  int64_t ldd = y.ld;
  if (through) {
    dst = (float *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_TEMP,
                                    (size_t)(y.rows * y.cols) * sizeof(float), error);
    ldd = y.cols;
    if (dst == NULL)
      return FALSE;
  }
  UFO_LAUNCH(gather_kernel, ufo_cuda_blocks(cu, y.rows * y.cols, THREADS), THREADS, 0, cu->stream,
             dst, ldd, ufo_cuda_ptr(x), x.ld, didx, y.rows, y.cols);
  if (!ufo_cuda_launched("gather_rows: gather_kernel", error))
    return FALSE;
  if (!through)
    return TRUE;
  return ufo_cuda_ok(cudaMemcpy2DAsync(ufo_cuda_ptr(y), (size_t)y.ld * sizeof(float), dst,
                                       (size_t)ldd * sizeof(float), (size_t)y.cols * sizeof(float),
                                       (size_t)y.rows, cudaMemcpyDeviceToDevice, cu->stream),
                     "gather_rows: cudaMemcpy2DAsync", error);
}

/* ---- patches: inference §5.2, Conv2d(k = s = P) as a GEMM ---- */

/* y row r = patch (py, px) row-major, column c*P*P + ky*P + kx of the (3, H, W) image x */
__global__ void __launch_bounds__(THREADS)
    patchify_kernel(float *__restrict__ y, int64_t ldy, const float *__restrict__ x, int64_t ldx,
                    int64_t rows, int h, int w, int p)
{
  const unsigned wp = (unsigned)(w / p), up = (unsigned)p, pp = up * up;
  int64_t cols = 3 * (int64_t)pp;
  UFO_CUDA_FOR_ITEMS(rows, cols)
  {
    /* 32-bit divisions (the host checks rows < 2^31; c < 3·p²) */
    const unsigned ur = (unsigned)r, uc = (unsigned)c;
    const unsigned py = ur / wp, px = ur - py * wp, ch = uc / pp, k = uc - ch * pp;
    const unsigned ky = k / up, kx = k - ky * up;
    y[r * ldy + c] = x[((int64_t)ch * h + (int64_t)py * p + ky) * ldx + (int64_t)px * p + kx];
  }
}

gboolean ufo_cuda_patchify(UfoCuda *cu, UfoView y, UfoView x, int h, int w, int p, GError **error)
{
  int64_t rows = (int64_t)(h / p) * (w / p);
  if (rows > INT32_MAX || (int64_t)p * p > INT32_MAX / 3) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "patchify: a %dx%d image in %d-pixel patches is over 2^31 patches", h, w, p);
    return FALSE;
  }
  UFO_LAUNCH(patchify_kernel, ufo_cuda_blocks(cu, rows * 3 * p * p, THREADS), THREADS, 0,
             cu->stream, ufo_cuda_ptr(y), y.ld, ufo_cuda_ptr(x), x.ld, rows, h, w, p);
  return ufo_cuda_launched("patchify: patchify_kernel", error);
}

} /* namespace UFO_CUDA_NS */
