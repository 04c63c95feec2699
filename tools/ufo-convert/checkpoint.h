/* Tensors of a PyTorch checkpoint (torch.save zip archive: <prefix>/data.pkl +
 * <prefix>/data/<key>), read with the safe unpickler. Accepts an mmengine container ({"state_dict":
 * ..., "meta": ...}) or a bare state dict. */
#ifndef UFO_CONVERT_CHECKPOINT_H
#define UFO_CONVERT_CHECKPOINT_H

#include "model/dtype.h"

#include <glib.h>
#include <stdint.h>

typedef struct {
  char *name;
  UfoDType dtype; /* F32 (from F32/F16/BF16/F64 storages) or I64 (from I64/I32) */
  int ndim;
  int64_t shape[8];
  void *data; /* contiguous, row-major, owned */
} UfoCkptTensor;

/* Reads every tensor of the state dict whose name starts with `prefix` ("" = all) in file order;
 * *n_skipped counts the other entries. Returns UfoCkptTensor* (freed with the array). */
GPtrArray *ufo_checkpoint_read(const uint8_t *buf, size_t len, const char *prefix,
                               gboolean allow_unknown, guint *n_skipped, GError **error);

#endif
