/* Segmentation mask ops (backend.h mask_logits, mask_threshold, mask_probs, mask_semantic;
 * seg §2.6-§2.9, §3.5-§3.6) where the feature map lives: the mask product through the GEMM
 * wrapper (gemm.cu) into a scratch matrix, then the pixel shuffle; bilinear taps, blend and
 * sigmoid per output pixel with the CPU's arithmetic (backend/mask_math.h, up to the fused
 * multiply-adds of the GPU). Only bits (warp ballots, 64 pixels a word), per-object sums and
 * counts, the boxes' probabilities or the uint16 class map are copied to the host. The
 * foreground sums are in double but in the block's order, so an instance score may differ from
 * the CPU's in the last float bit; pixels whose probability lies within rounding of the
 * threshold may fall on the other side. */
#include "cuda_priv.h"

#include "../mask_math.h"

#include <math.h>
#include <string.h>

namespace UFO_CUDA_NS
{

#define THREADS 256

/* A device buffer as a tensor view (rows, cols), so the GEMM wrapper can write into scratch. */
static UfoView scratch_view(UfoTensor *t, float *data, int64_t rows, int64_t cols)
{
  memset(t, 0, sizeof *t);
  t->ndim = 2;
  t->ne[0] = rows;
  t->ne[1] = cols;
  t->ne[2] = t->ne[3] = 1;
  t->n = (size_t)(rows * cols);
  t->data = data;
  return (UfoView){t, 0, rows, cols, cols};
}

/* seg §2.7: U_m[4h + j/4][4w + j%4] = S[16m + j][h*wp + w] / sqrt(C), one item per u element */
__global__ void __launch_bounds__(THREADS)
    shuffle_kernel(float *__restrict__ u, int64_t ldu, const float *__restrict__ s, int64_t rows,
                   int64_t cols, int hp, int wp, float scale)
{
  const int64_t uh = 4 * (int64_t)hp, hw = (int64_t)hp * wp;
  UFO_CUDA_FOR_ITEMS(rows, cols)
  {
    const int64_t m = r / uh, rr = r - m * uh;
    const int64_t j = 4 * (rr % 4) + c % 4; /* sub-row rr%4, sub-column c%4 */
    u[r * ldu + c] = s[(16 * m + j) * hw + (rr / 4) * wp + c / 4] / scale;
  }
}

gboolean ufo_cuda_mask_logits(UfoCuda *cu, UfoView u, UfoView e, UfoView f, int hp, int wp,
                              GError **error)
{
  const int64_t rows = e.rows, hw = (int64_t)hp * wp;
  float *s = (float *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_MASK, (size_t)rows * hw * sizeof(float),
                                       error);
  if (s == NULL)
    return FALSE;
  /* seg §2.6: S (16n, hp*wp) = e · f^T, float32 */
  UfoTensor st;
  UfoGemm g;
  memset(&g, 0, sizeof g);
  g.a = e;
  g.b = f;
  g.trans_b = TRUE;
  g.c = scratch_view(&st, s, rows, hw);
  g.alpha = 1.f;
  g.batch = 1;
  if (!ufo_cuda_gemm(cu, &g, error))
    return FALSE;
  /* seg §6.3: divide by sqrt(embed_dim), a float32 scalar as PyTorch */
  const float scale = (float)sqrt((double)e.cols);
  UFO_LAUNCH(shuffle_kernel, ufo_cuda_blocks(cu, u.rows * u.cols, THREADS), THREADS, 0, cu->stream,
             ufo_cuda_ptr(u), u.ld, s, u.rows, u.cols, hp, wp, scale);
  return ufo_cuda_launched("mask_logits: shuffle_kernel", error);
}

/* P_m(y, x) of map um (uh, uw) at the output size (oh, ow) (seg §2.8) */
__device__ __forceinline__ float mask_prob(const float *um, int64_t ld, int uh, int uw, int oh,
                                           int ow, int y, int x)
{
  return ufo_mask_sigmoid(
      ufo_bilinear_at(um, ld, ufo_bilinear_tap(uh, oh, y), ufo_bilinear_tap(uw, ow, x)));
}

/* One block per (map, output row) task: 64-pixel words from warp ballots (two 32-bit halves,
 * the little-endian layout of the host's uint64 words), the row's foreground sum and count. */
__global__ void __launch_bounds__(THREADS)
    threshold_kernel(const float *__restrict__ u, int64_t ldu, int n, int uh, int uw, int oh,
                     int ow, float thr, unsigned *__restrict__ bits, double *__restrict__ part_sum,
                     int *__restrict__ part_cnt)
{
  UFO_SHARED(double, s_sum, [THREADS]);
  UFO_SHARED(int, s_cnt, [THREADS]);
  const int tid = threadIdx.x, lane = tid % 32;
  const int words = (ow + 63) / 64;
  for (int64_t t = blockIdx.x; t < (int64_t)n * oh; t += gridDim.x) {
    const int64_t m = t / oh;
    const int y = (int)(t - m * oh);
    const float *um = u + m * uh * ldu;
    unsigned *row = bits + t * 2 * words;
    double sum = 0.0;
    int cnt = 0;
    for (int x0 = 0; x0 < 64 * words; x0 += THREADS) { /* uniform: every lane votes */
      const int x = x0 + tid;
      bool on = false;
      if (x < ow) {
        const float p = mask_prob(um, ldu, uh, uw, oh, ow, y, x);
        on = p > thr; /* strict (seg §6.6) */
        if (on) {
          sum += p;
          cnt++;
        }
      }
      const unsigned b = __ballot_sync(0xffffffffu, on);
      if (lane == 0 && x < 64 * words)
        row[x / 32] = b;
    }
    s_sum[tid] = sum;
    s_cnt[tid] = cnt;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h >>= 1) {
      if (tid < h) {
        s_sum[tid] += s_sum[tid + h];
        s_cnt[tid] += s_cnt[tid + h];
      }
      __syncthreads();
    }
    if (tid == 0) {
      part_sum[t] = s_sum[0];
      part_cnt[t] = s_cnt[0];
    }
    __syncthreads(); /* the shared arrays are reused by the next task */
  }
}

/* Per map: the rows' partial sums and counts in row order (seg §2.9). */
__global__ void __launch_bounds__(THREADS)
    threshold_total_kernel(const double *__restrict__ part_sum, const int *__restrict__ part_cnt,
                           int n, int oh, double *__restrict__ sum, int64_t *__restrict__ count)
{
  for (int64_t m = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; m < n;
       m += (int64_t)gridDim.x * blockDim.x) {
    double s = 0.0;
    int64_t c = 0;
    for (int y = 0; y < oh; y++) {
      s += part_sum[m * oh + y];
      c += part_cnt[m * oh + y];
    }
    sum[m] = s;
    count[m] = c;
  }
}

/* Bytes rounded up to 16 (offsets inside one scratch buffer). */
static size_t align16(size_t b)
{
  return (b + 15) & ~(size_t)15;
}

static gboolean download(UfoCuda *cu, void *host, const void *dev, size_t bytes, const char *what,
                         GError **error)
{
  return ufo_cuda_ok(cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, cu->stream), what,
                     error);
}

gboolean ufo_cuda_mask_threshold(UfoCuda *cu, UfoView u, int n, int oh, int ow, float thr,
                                 uint64_t *bits, double *sum, int64_t *count, GError **error)
{
  const int uh = (int)(u.rows / n), words = (ow + 63) / 64;
  const size_t tasks = (size_t)n * oh;
  const size_t b_bits = align16(tasks * words * 8), b_psum = align16(tasks * sizeof(double));
  const size_t b_pcnt = align16(tasks * sizeof(int)), b_sum = align16((size_t)n * sizeof(double));
  char *buf = (char *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_MASK,
                                       b_bits + b_psum + b_pcnt + b_sum + (size_t)n * 8, error);
  if (buf == NULL)
    return FALSE;
  unsigned *d_bits = (unsigned *)buf;
  double *d_psum = (double *)(buf + b_bits);
  int *d_pcnt = (int *)(buf + b_bits + b_psum);
  double *d_sum = (double *)(buf + b_bits + b_psum + b_pcnt);
  int64_t *d_cnt = (int64_t *)(buf + b_bits + b_psum + b_pcnt + b_sum);
  const unsigned grid = (unsigned)MIN((int64_t)tasks, (int64_t)8 * cu->grid_cap);
  UFO_LAUNCH(threshold_kernel, grid, THREADS, 0, cu->stream, ufo_cuda_ptr(u), u.ld, n, uh,
             (int)u.cols, oh, ow, thr, d_bits, d_psum, d_pcnt);
  if (!ufo_cuda_launched("mask_threshold: threshold_kernel", error))
    return FALSE;
  UFO_LAUNCH(threshold_total_kernel, ufo_cuda_blocks(cu, n, THREADS), THREADS, 0, cu->stream,
             d_psum, d_pcnt, n, oh, d_sum, d_cnt);
  return ufo_cuda_launched("mask_threshold: threshold_total_kernel", error) &&
         download(cu, bits, d_bits, tasks * words * 8, "mask_threshold: bits", error) &&
         download(cu, sum, d_sum, (size_t)n * sizeof(double), "mask_threshold: sums", error) &&
         download(cu, count, d_cnt, (size_t)n * sizeof(int64_t), "mask_threshold: counts", error) &&
         ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "mask_threshold", error);
}

/* Box m of the crops (x, y, w, h; offset off[m] in prob, or in gray when prob is NULL: bytes,
 * mask_math.h ufo_mask_gray8): blockIdx.y strides over the maps. */
__global__ void __launch_bounds__(THREADS)
    probs_kernel(const float *__restrict__ u, int64_t ldu, int n, int uh, int uw, int oh, int ow,
                 const int32_t *__restrict__ box, const int64_t *__restrict__ off,
                 float *__restrict__ prob, uint8_t *__restrict__ gray)
{
  for (int64_t m = blockIdx.y; m < n; m += gridDim.y) {
    const int32_t *b = box + 4 * m;
    const int64_t total = (int64_t)b[2] * b[3];
    const float *um = u + m * uh * ldu;
    for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < total;
         i += (int64_t)gridDim.x * blockDim.x) {
      const int yy = (int)(i / b[2]), xx = (int)(i - (int64_t)yy * b[2]);
      const float pv = mask_prob(um, ldu, uh, uw, oh, ow, b[1] + yy, b[0] + xx);
      if (prob)
        prob[off[m] + i] = pv;
      else
        gray[off[m] + i] = ufo_mask_gray8(pv);
    }
  }
}

gboolean ufo_cuda_mask_probs(UfoCuda *cu, UfoView u, int n, int oh, int ow, const int32_t *box,
                             float *const *prob, uint8_t *const *gray, GError **error)
{
  const size_t px_bytes = prob ? sizeof(float) : 1;
  int64_t *off = g_new(int64_t, n);
  int64_t total = 0, widest = 1;
  for (int m = 0; m < n; m++) {
    off[m] = total;
    total += (int64_t)box[4 * m + 2] * box[4 * m + 3];
    widest = MAX(widest, (int64_t)box[4 * m + 2] * box[4 * m + 3]);
  }
  const size_t b_box = align16((size_t)n * 4 * sizeof(int32_t));
  const size_t b_off = align16((size_t)n * sizeof(int64_t));
  char *buf = (char *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_MASK,
                                       b_box + b_off + (size_t)total * px_bytes, error);
  gboolean ok = buf != NULL &&
                ufo_cuda_upload_bytes(cu, buf, box, (size_t)n * 4 * sizeof(int32_t),
                                      "mask_probs: boxes", error) &&
                ufo_cuda_upload_bytes(cu, buf + b_box, off, (size_t)n * sizeof(int64_t),
                                      "mask_probs: offsets", error);
  if (ok) {
    char *d_out = buf + b_box + b_off;
    const dim3 grid(ufo_cuda_blocks(cu, widest, THREADS), (unsigned)MIN(n, 65535));
    UFO_LAUNCH(probs_kernel, grid, THREADS, 0, cu->stream, ufo_cuda_ptr(u), u.ld, n,
               (int)(u.rows / n), (int)u.cols, oh, ow, (const int32_t *)buf,
               (const int64_t *)(buf + b_box), prob ? (float *)d_out : (float *)NULL,
               prob ? (uint8_t *)NULL : (uint8_t *)d_out);
    ok = ufo_cuda_launched("mask_probs: probs_kernel", error);
    for (int m = 0; ok && m < n; m++) /* each crop into its object's own buffer */
      ok = download(cu, prob ? (void *)prob[m] : (void *)gray[m], d_out + off[m] * px_bytes,
                    (size_t)box[4 * m + 2] * box[4 * m + 3] * px_bytes, "mask_probs", error);
    ok = ok && ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "mask_probs", error);
  }
  g_free(off); /* uploads from pageable memory return once staged */
  return ok;
}

/* One item per pixel: per slot the score-weighted sum of its maps' probabilities in order, then
 * the first slot with the largest sum > 0 (seg §3.6). */
__global__ void __launch_bounds__(THREADS)
    semantic_kernel(const float *__restrict__ u, int64_t ldu, int uh, int uw, int oh, int ow,
                    const float *__restrict__ score, const int32_t *__restrict__ slot_end,
                    const int32_t *__restrict__ slot_class, int n_slots,
                    unsigned short *__restrict__ labels)
{
  UFO_CUDA_FOR_ITEMS((int64_t)oh, (int64_t)ow)
  {
    const UfoBilinearTap ty = ufo_bilinear_tap(uh, oh, (int)r);
    const UfoBilinearTap tx = ufo_bilinear_tap(uw, ow, (int)c);
    float best_v = 0.f;
    int best = 0;
    for (int k = 0, m = 0; k < n_slots; k++) {
      float v = 0.f;
      for (; m < slot_end[k]; m++) /* seg §3.6: in the sorted grid order (seg §6.17) */
        v += score[m] * ufo_mask_sigmoid(ufo_bilinear_at(u + (int64_t)m * uh * ldu, ldu, ty, tx));
      if (v > best_v) { /* ties to the lowest class; all sums 0 → class 0 (seg §6.18) */
        best_v = v;
        best = slot_class[k];
      }
    }
    labels[r * ow + c] = (unsigned short)best;
  }
}

gboolean ufo_cuda_mask_semantic(UfoCuda *cu, UfoView u, int n, int oh, int ow, const float *score,
                                const int32_t *slot_end, const int32_t *slot_class, int n_slots,
                                uint16_t *labels, GError **error)
{
  const size_t b_score = align16((size_t)n * sizeof(float));
  const size_t b_slot = align16((size_t)n_slots * sizeof(int32_t));
  const size_t pix = (size_t)oh * ow;
  char *buf = (char *)ufo_cuda_scratch(cu, UFO_CUDA_SCRATCH_MASK,
                                       b_score + 2 * b_slot + pix * sizeof(uint16_t), error);
  if (buf == NULL ||
      !ufo_cuda_upload_bytes(cu, buf, score, (size_t)n * sizeof(float), "mask_semantic: scores",
                             error) ||
      !ufo_cuda_upload_bytes(cu, buf + b_score, slot_end, (size_t)n_slots * sizeof(int32_t),
                             "mask_semantic: slots", error) ||
      !ufo_cuda_upload_bytes(cu, buf + b_score + b_slot, slot_class,
                             (size_t)n_slots * sizeof(int32_t), "mask_semantic: classes", error))
    return FALSE;
  unsigned short *d_labels = (unsigned short *)(buf + b_score + 2 * b_slot);
  UFO_LAUNCH(semantic_kernel, ufo_cuda_blocks(cu, (int64_t)pix, THREADS), THREADS, 0, cu->stream,
             ufo_cuda_ptr(u), u.ld, (int)(u.rows / n), (int)u.cols, oh, ow, (const float *)buf,
             (const int32_t *)(buf + b_score), (const int32_t *)(buf + b_score + b_slot), n_slots,
             d_labels);
  return ufo_cuda_launched("mask_semantic: semantic_kernel", error) &&
         download(cu, labels, d_labels, pix * sizeof(uint16_t), "mask_semantic", error) &&
         ufo_cuda_ok(cudaStreamSynchronize(cu->stream), "mask_semantic", error);
}

} /* namespace UFO_CUDA_NS */
