/* Frame preprocessing as a backend op (inference spec §3; segmentation spec §2.1, §3.1, §6.14):
 * a frame as it arrives (ufo.h UfoImage: packed RGB/BGR with or without a fourth byte, planar
 * I420/NV12) -> packed RGB uint8 -> the task's resize (OpenCV INTER_LINEAR on uint8 or float32,
 * or PIL BICUBIC on uint8) -> (x - mean) / std -> planar float32 (3, S, S) in a tensor.
 *
 * ufo_op_preprocess runs it on a backend: the frame's bytes are its only host -> backend copy
 * (counted in bytes_up), the resize tables are built on the host once per frame geometry and
 * kept in the UfoPreprocessor, and every backend computes bit-identically to the host functions
 * below (the CPU backend calls them; the CUDA kernels reproduce their integer and float
 * arithmetic operation for operation).
 *
 * The host functions are also the reference of the op tests and of tests/engine/tasks. */
#ifndef UFO_BACKEND_PREPROCESS_H
#define UFO_BACKEND_PREPROCESS_H

#include "backend.h"

#include <stddef.h>
#include <stdint.h>

/* The resize of a task (inference §3.1). */
typedef enum {
  UFO_PREP_LINEAR_U8 = 0, /* cv2.resize INTER_LINEAR on the uint8 image */
  UFO_PREP_LINEAR_F32,    /* cv2.resize INTER_LINEAR on the image as float32 (seg §6.14) */
  UFO_PREP_BICUBIC_PIL,   /* PIL Image.resize BICUBIC on uint8 (caption, grounding) */
  UFO_PREP_N_RESIZES
} UfoPrepResize;

struct _UfoPrepParams {
  int size; /* S: the output is (3, S, S) */
  UfoPrepResize resize;
  float mean[3], std[3]; /* per RGB channel (§3.2) */
};

/* Per-session frame state of a backend (device buffers for the frame, the RGB image and the
 * resize's intermediate, the resize tables of the last geometry). */
typedef struct _UfoPreprocessor UfoPreprocessor;

UfoPreprocessor *ufo_preprocessor_new(UfoBackend *be, GError **error);
void ufo_preprocessor_free(UfoPreprocessor *pp);

/* y (3, S*S) (row c = channel c, row-major S x S, any ld >= S*S) = the preprocessed image.
 * Checks the image (ufo_image_check), the parameters (S >= 1, a known resize) and y (a view of
 * the preprocessor's backend's memory, 3 x S*S, inside its tensor) before the backend runs;
 * counts the frame's bytes (ufo_image_bytes) in be->bytes_up. */
gboolean ufo_op_preprocess(UfoPreprocessor *pp, UfoView y, const UfoImage *image,
                           const UfoPrepParams *p, GError **error);

/* ---- host functions (preprocess_host.c, resize_cv.c, resize_pil.c) ---------------------- */

/* FALSE + UFO_ERROR_INVALID on a NULL image or data, an empty size, an unknown format, matrix
 * or range, a row stride shorter than a row, missing chroma planes. */
gboolean ufo_image_check(const UfoImage *image, GError **error);
/* Bytes a backend copies for a checked image: the rows of every plane, without row padding. */
size_t ufo_image_bytes(const UfoImage *image);
/* Packed formats: bytes per pixel and the byte offsets of R, G, B; FALSE for planar formats. */
gboolean ufo_image_packed_layout(UfoPixelFormat f, int *bpp, int idx[3]);

/* Y'CbCr -> RGB in 16.16 fixed point (ITU-R BT.601 §2.5 quantisation; the same integers as
 * the GStreamer elements' gst_ufo_yuv420_to_rgb), per pixel:
 *   yy = (Y - yoff) * cy + 2^15, du = U - 128, dv = V - 128,
 *   R = clamp((yy + crv*dv) >> 16), G = clamp((yy - cgu*du - cgv*dv) >> 16),
 *   B = clamp((yy + cbu*du) >> 16)   (arithmetic shift, clamp to 0..255). */
typedef struct {
  int32_t yoff, cy, crv, cbu, cgu, cgv;
} UfoYuvCoefs;
void ufo_yuv_coefs(UfoColorMatrix matrix, UfoColorRange range, UfoYuvCoefs *c);
static inline void ufo_yuv_pixel(const UfoYuvCoefs *c, int y, int u, int v, uint8_t rgb[3])
{
  const int32_t du = u - 128, dv = v - 128, yy = (y - c->yoff) * c->cy + 32768;
  const int32_t r = (yy + c->crv * dv) >> 16, g = (yy - c->cgu * du - c->cgv * dv) >> 16,
                b = (yy + c->cbu * du) >> 16;
  rgb[0] = (uint8_t)(r < 0 ? 0 : r > 255 ? 255 : r);
  rgb[1] = (uint8_t)(g < 0 ? 0 : g > 255 ? 255 : g);
  rgb[2] = (uint8_t)(b < 0 ? 0 : b > 255 ? 255 : b);
}

/* Any checked UfoImage -> packed RGB uint8 (h, w, 3); _rows: rows [r0, r1) only, rgb holding
 * row r0 first. */
void ufo_image_to_rgb(const UfoImage *image, uint8_t *rgb);
void ufo_image_to_rgb_rows(const UfoImage *image, uint8_t *rgb, int r0, int r1);

/* The whole host path: out (3, S*S) with rows ld floats apart. FALSE + error on a bad image
 * or parameters (as ufo_op_preprocess). */
gboolean ufo_preprocess_host(const UfoImage *image, const UfoPrepParams *p, float *out, size_t ld,
                             GError **error);
/* Output rows [y0, y1) of the S x S planes only (out still points at row 0 of each plane), from
 * the source rows they read (ufo_resize_source_rows): bit for bit those rows of the whole path,
 * so that bands of rows can run side by side. The image and p must have passed the checks of
 * ufo_preprocess_host. */
void ufo_preprocess_host_rows(const UfoImage *image, const UfoPrepParams *p, float *out, size_t ld,
                              int y0, int y1, void *scratch);
/* The bytes of scratch that ufo_preprocess_host_rows needs for rows [y0, y1) (scratch NULL: it
 * allocates them itself). */
size_t ufo_preprocess_host_scratch(const UfoImage *image, const UfoPrepParams *p, int y0, int y1);

/* cv2.resize(INTER_LINEAR) on uint8: OpenCV's fixed-point path (11-bit coefficients, half-pixel
 * centres, vector rounding of the vertical pass). src (sh, sw, cn) with row stride sstride bytes,
 * dst (dh, dw, cn) packed. */
void ufo_resize_linear_u8(const uint8_t *src, int sw, int sh, size_t sstride, int cn, uint8_t *dst,
                          int dw, int dh);
/* cv2.resize(INTER_LINEAR) on float32 (instance segmentation, seg spec §6.14): the IPP path of
 * OpenCV (double-precision coordinates). src/dst packed (h, w, cn). */
void ufo_resize_linear_f32(const float *src, int sw, int sh, int cn, float *dst, int dw, int dh);
/* PIL Image.resize(BICUBIC) on uint8 (a = -0.5, antialiased support when downscaling, 22-bit
 * fixed-point coefficients, rounding to uint8 after each pass). */
void ufo_resize_bicubic_pil_u8(const uint8_t *src, int sw, int sh, size_t sstride, int cn,
                               uint8_t *dst, int dw, int dh);
/* The three resizes for output rows [y0, y1) only: src points at source row row0 (it must hold
 * the rows ufo_resize_source_rows names), dst at output row y0; the results are those rows of
 * the whole resize, bit for bit. */
void ufo_resize_linear_u8_rows(const uint8_t *src, int row0, int sw, int sh, size_t sstride, int cn,
                               uint8_t *dst, int dw, int dh, int y0, int y1);
void ufo_resize_linear_f32_rows(const float *src, int row0, int sw, int sh, int cn, float *dst,
                                int dw, int dh, int y0, int y1);
void ufo_resize_bicubic_pil_u8_rows(const uint8_t *src, int row0, int sw, int sh, size_t sstride,
                                    int cn, uint8_t *dst, int dw, int dh, int y0, int y1);
/* The source rows [*r0, *r1) that output rows [y0, y1) of a resize from sh to dh rows read. */
void ufo_resize_source_rows(UfoPrepResize resize, int sh, int dh, int y0, int y1, int *r0, int *r1);

/* The resize tables of one axis, src -> dst samples (what the resizes above and the CUDA
 * kernels read). */
typedef struct {
  int n;            /* dst */
  int32_t *i0, *i1; /* (n) the two source indices, clamped to [0, src-1] */
  int16_t *w0, *w1; /* (n) uint8 path: 11-bit fixed-point weights */
  float *f;         /* (n) float path: the fraction (a float32, as OpenCV's IPP path) */
} UfoLinTable;
/* uint8 path; clamp_frac: the x axis zeroes the fraction outside the image, the y axis keeps it
 * and only clamps the indices (OpenCV resizeGeneric_). */
void ufo_lin_table_u8(UfoLinTable *t, int src, int dst, gboolean clamp_frac);
void ufo_lin_table_f32(UfoLinTable *t, int src, int dst);
void ufo_lin_table_free(UfoLinTable *t);

#define UFO_PIL_PRECISION_BITS (32 - 8 - 2)

typedef struct {
  int n, ksize;
  int32_t *xmin, *xcount; /* (n) first source index and number of taps */
  int32_t *k;             /* (n, ksize) fixed-point weights, UFO_PIL_PRECISION_BITS */
} UfoPilTable;
void ufo_pil_table(UfoPilTable *t, int in_size, int out_size);
void ufo_pil_table_free(UfoPilTable *t);
/* Pillow's pass order (resize_pil.c): FALSE when the vertical pass runs first. */
gboolean ufo_pil_horizontal_first(int sw, int sh, int dw, int dh);

#endif
