/* safetensors container: parser (validating, zero-copy) and streaming writer.
 *
 * Byte layout (https://github.com/huggingface/safetensors):
 *   [0, 8)          N, unsigned 64-bit little-endian: length of the JSON header
 *   [8, 8+N)        JSON object, UTF-8, may end in spaces:
 *                     "__metadata__": {"key": "string value", ...}       (optional)
 *                     "<tensor name>": {"dtype": "F32", "shape": [d0, ...],
 *                                       "data_offsets": [begin, end]}   (one per tensor)
 *   [8+N, EOF)      data section; a tensor's bytes are [8+N+begin, 8+N+end), row-major,
 *                   little-endian, end - begin = numel * dtype size.
 *
 * The parser checks, in this order, and fails with UFO_ERROR_FORMAT naming the first offender:
 * file at least 8 bytes; N <= file size - 8 (no overflow) and <= 100 MiB; JSON syntax; root is an
 * object; no duplicate keys; __metadata__ is an object of strings; per tensor: known dtype,
 * rank <= 8, non-negative dims, element count and byte size without overflow, begin <= end,
 * end <= data size, end - begin = byte size; no two tensors overlap.
 */
#ifndef UFO_MODEL_SAFETENSORS_H
#define UFO_MODEL_SAFETENSORS_H

#include "dtype.h"

#include <glib.h>
#include <stdint.h>

#define UFO_ST_MAX_DIMS 8
#define UFO_ST_MAX_HEADER (100u << 20)

typedef struct {
  char *name;
  UfoDType dtype;
  int ndim;
  int64_t shape[UFO_ST_MAX_DIMS];
  uint64_t numel;
  size_t nbytes;
  uint64_t offset;     /* from the start of the buffer */
  const uint8_t *data; /* buffer + offset (borrowed) */
} UfoStTensor;

typedef struct {
  GPtrArray *tensors;   /* UfoStTensor*, ordered by data offset */
  GHashTable *by_name;  /* name -> UfoStTensor* */
  GHashTable *metadata; /* key -> value (owned strings) */
} UfoSafetensors;

/* Parses buf (the whole file). Tensors point into buf, which must outlive the result. */
UfoSafetensors *ufo_safetensors_parse(const uint8_t *buf, size_t len, GError **error);
void ufo_safetensors_free(UfoSafetensors *st);
const UfoStTensor *ufo_safetensors_get(const UfoSafetensors *st, const char *name);
/* NULL when absent. */
const char *ufo_safetensors_meta(const UfoSafetensors *st, const char *key);
/* "[2304, 768]" (caller frees). */
char *ufo_shape_string(const int64_t *shape, int ndim);

typedef struct {
  const char *name;
  UfoDType dtype; /* stored dtype */
  int ndim;
  int64_t shape[UFO_ST_MAX_DIMS];
  UfoDType src_dtype; /* dtype of data: equal to dtype, or F32 converted to F16/BF16 on write */
  const void *data;   /* numel elements of src_dtype */
} UfoStWriteTensor;

/* Writes a safetensors file (through "path.tmp" renamed on success). meta: NULL-terminated
 * key, value, key, value, ..., NULL (may be NULL). Tensors are stored in the given order,
 * contiguous, the data section 8-byte aligned. */
gboolean ufo_safetensors_write(const char *path, const UfoStWriteTensor *tensors, size_t n,
                               const char *const *meta, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoSafetensors, ufo_safetensors_free)

#endif
