/* Element types of safetensors files and float32 <-> float16/bfloat16 conversion. */
#ifndef UFO_MODEL_DTYPE_H
#define UFO_MODEL_DTYPE_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
  UFO_DTYPE_F32 = 0,
  UFO_DTYPE_F16,
  UFO_DTYPE_BF16,
  UFO_DTYPE_F64,
  UFO_DTYPE_I64,
  UFO_DTYPE_I32,
  UFO_DTYPE_I16,
  UFO_DTYPE_I8,
  UFO_DTYPE_U8,
  UFO_DTYPE_BOOL,
  UFO_N_DTYPES
} UfoDType;

/* safetensors spelling: "F32", "F16", "BF16", "F64", "I64", ... */
const char *ufo_dtype_name(UfoDType dtype);
size_t ufo_dtype_size(UfoDType dtype);
gboolean ufo_dtype_from_name(const char *name, UfoDType *dtype);

float ufo_f16_to_f32(uint16_t h);
uint16_t ufo_f32_to_f16(float f); /* round to nearest even, overflow -> inf */
float ufo_bf16_to_f32(uint16_t h);
uint16_t ufo_f32_to_bf16(float f); /* round to nearest even (torch .to(bfloat16)) */

/* Converts n elements of src (F32/F16/BF16, any alignment, little-endian) to float32. */
void ufo_dtype_to_f32(UfoDType src_dtype, const void *src, float *dst, size_t n);
/* Converts n float32 values to dst_dtype (F32/F16/BF16), little-endian, any alignment. */
void ufo_dtype_from_f32(UfoDType dst_dtype, const float *src, void *dst, size_t n);

#endif
