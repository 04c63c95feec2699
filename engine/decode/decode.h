/* Greedy and beam-search decoding (inference spec §6), independent of the backend: the model
 * side is reached through UfoDecoder. Finished sequences leave the batch (compaction) through
 * UfoDecoder.reorder, so cost follows the number of live sequences. */
#ifndef UFO_DECODE_DECODE_H
#define UFO_DECODE_DECODE_H

#include "ufo/ufo.h"

typedef struct {
  /* One decode step for the n rows currently live. tokens[i] is row i's input token, t the
   * step index (position id). Writes logits (n, vocab) and, when feat != NULL, the mean-layer
   * token feature (n, feat_dim), both host float32. */
  gboolean (*step)(void *ctx, const int32_t *tokens, int n, int t, float *logits, float *feat,
                   GError **error);
  /* Reorders the decode caches: new row i = old row src[i], for i < n_new (gather; rows may
   * repeat, for beam search). */
  gboolean (*reorder)(void *ctx, const int32_t *src, int n_new, GError **error);
  void *ctx;
  int vocab_size;
  int feat_dim;
} UfoDecoder;

#endif
