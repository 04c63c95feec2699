/* BERT uncased normalizer (HuggingFace BertNormalizer with clean_text, handle_chinese_chars,
 * strip_accents and lowercase all on). Inference spec §4.2. */
#ifndef UFO_TEXT_NORMALIZE_H
#define UFO_TEXT_NORMALIZE_H

#include <glib.h>

/* text: valid UTF-8 of len bytes (len < 0: NUL-terminated). Returns the normalized string (never
 * NULL for valid UTF-8; NULL only if text is not valid UTF-8). Free with g_free. */
char *ufo_text_normalize(const char *text, gssize len);

#endif
