/* Internals shared by the tokenizer's source files (engine/text only). */
#ifndef UFO_TEXT_TOKENIZER_PRIVATE_H
#define UFO_TEXT_TOKENIZER_PRIVATE_H

#include "text/tokenizer.h"

/* Per-id flags. */
enum {
  UFO_TOKEN_FLAG_SPECIAL = 1 << 0, /* skipped by decode(skip_special), matched in raw text */
  UFO_TOKEN_FLAG_ADDED = 1 << 1,   /* added token: not part of the WordPiece vocabulary */
};

#define UFO_TOKENIZER_MAX_SPECIAL 8

struct _UfoTokenizer {
  char *text;        /* the vocabulary's lines, each cut by a NUL: every token's bytes (owned) */
  GPtrArray *tokens; /* id -> token string (borrowed from text) */
  GHashTable *ids;   /* token string (borrowed from text) -> id + 1 */
  guint8 *flags;     /* id -> UFO_TOKEN_FLAG_* */
  int32_t unk, cls, sep;
  UfoTokenIds named; /* ufo_tokenizer_ids */
  /* Special tokens matched case-sensitively in the raw text (inference spec §4.2). */
  int n_special;
  int32_t special_ids[UFO_TOKENIZER_MAX_SPECIAL];
  /* The ordinary added token <MASK>: matched in the normalized text as its normalized form. */
  int32_t mask_id; /* -1 if the vocabulary has no <MASK> */
  char *mask_norm; /* "<mask>" */
};

/* BertPreTokenizer on normalized text: split on whitespace (dropped) and isolate every
 * punctuation character; fn is called for each word in order. */
typedef void (*UfoTextWordFunc)(const char *word, size_t len, void *data);
void ufo_text_pretokenize(const char *text, size_t len, UfoTextWordFunc fn, void *data);

/* Pre-tokenize one normalized piece (split on whitespace, isolate punctuation) and append the
 * WordPiece ids of each word to ids. */
void ufo_text_wordpiece_append(const UfoTokenizer *tok, const char *text, size_t len, GArray *ids);

#endif
