/* Helpers shared by greedy.c and beam.c (not part of the decode contract). */
#ifndef UFO_DECODE_PRIV_H
#define UFO_DECODE_PRIV_H

#include "decode.h"

/* Validates the decoder and the sizes; FALSE + UFO_ERROR_INVALID naming the problem. */
gboolean ufo_decode_check_args(const UfoDecoder *dec, int n_seq, int max_length, gboolean with_feat,
                               GError **error);

#endif
