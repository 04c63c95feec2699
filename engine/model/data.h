/* Data embedded into libufo at build time by engine/data/embed.py: the vocabulary
 * (engine/data/vocab.txt, one token a line) and the label sets (engine/data/labels/<name>.txt). */
#ifndef UFO_MODEL_DATA_H
#define UFO_MODEL_DATA_H

#include <stddef.h>

const char *ufo_data_vocab(size_t *len);
/* NULL (and *len = 0) for an unknown set; names: "coco", "ade20k". */
const char *ufo_data_labels(const char *name, size_t *len);
/* The i-th embedded label-set name, NULL past the end. */
const char *ufo_data_label_set_name(int i);

#endif
