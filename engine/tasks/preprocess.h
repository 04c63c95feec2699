/* Image preprocessing (inference spec §3, segmentation spec §2.1/§3.1): any UfoImage → packed
 * RGB → resize exactly like the original (OpenCV INTER_LINEAR on uint8 or float32, or PIL BICUBIC
 * on uint8) → (x − mean) / std → planar float32 (3, S, S).
 *
 * The resize kernels work on packed pixels with `cn` interleaved channels; each channel is resized
 * independently, so channel order (BGR in the original, RGB here) does not change the result. */
#ifndef UFO_TASKS_PREPROCESS_H
#define UFO_TASKS_PREPROCESS_H

#include <stddef.h>
#include <stdint.h>

#include "ufo/ufo.h"
#include "model/config.h"

/* cv2.resize(INTER_LINEAR) on uint8: OpenCV's fixed-point path (11-bit coefficients, half-pixel
 * centres, vector rounding of the vertical pass). src (sh, sw, cn) with row stride sstride bytes,
 * dst (dh, dw, cn) packed. */
void ufo_resize_linear_u8(const uint8_t *src, int sw, int sh, size_t sstride, int cn, uint8_t *dst,
                          int dw, int dh);
/* cv2.resize(INTER_LINEAR) on float32 (instance segmentation, seg spec §6.14): the IPP path of
 * OpenCV (double-precision coordinates). src/dst packed (h, w, cn). */
void ufo_resize_linear_f32(const float *src, int sw, int sh, int cn, float *dst, int dw, int dh);
/* PIL Image.resize(BICUBIC) on uint8 (a = −0.5, antialiased support when downscaling, 22-bit
 * fixed-point coefficients, rounding to uint8 after each pass). */
void ufo_resize_bicubic_pil_u8(const uint8_t *src, int sw, int sh, size_t sstride, int cn,
                               uint8_t *dst, int dw, int dh);

/* Packs any UfoImage into RGB uint8 (h, w, 3). FALSE + error on a bad image. */
gboolean ufo_image_to_rgb(const UfoImage *image, uint8_t *rgb, GError **error);

/* Full preprocessing for one task: out (3, S, S) float32 planar RGB with S = tc->input_size,
 * normalised with mean/std (RGB order). Errors: zero-size or NULL image, unknown format. */
gboolean ufo_preprocess(const UfoImage *image, const UfoTaskConfig *tc, const float mean[3],
                        const float std[3], float *out, GError **error);

#endif
