/* Character classes of the BERT normalizer and pre-tokenizer, exactly as HuggingFace tokenizers
 * decides them (crate unicode_categories 0.1.1 plus Rust's char::is_whitespace). See
 * docs/tokenizer.md. */
#ifndef UFO_TEXT_UNICODE_H
#define UFO_TEXT_UNICODE_H

#include <glib.h>
#include <stddef.h>

typedef struct {
  gunichar lo, hi; /* inclusive */
} UfoCharRange;

/* Generated tables (unicode_tables.c). */
extern const UfoCharRange ufo_text_format_ranges[];
extern const size_t ufo_text_format_ranges_len;
extern const UfoCharRange ufo_text_nonspacing_ranges[];
extern const size_t ufo_text_nonspacing_ranges_len;
extern const UfoCharRange ufo_text_punct_ranges[];
extern const size_t ufo_text_punct_ranges_len;

/* Rust char::is_whitespace (Unicode White_Space property). */
gboolean ufo_text_is_whitespace(gunichar c);
/* BertNormalizer is_control: Cc, Cf or Co, but not \t \n \r. */
gboolean ufo_text_is_control(gunichar c);
/* Mn, non-spacing mark (dropped after NFD when stripping accents). */
gboolean ufo_text_is_nonspacing_mark(gunichar c);
/* BertPreTokenizer punctuation: ASCII punctuation or a P* category. */
gboolean ufo_text_is_punct(gunichar c);
/* BertNormalizer is_chinese_char: the CJK ideograph blocks that get spaces around them. */
gboolean ufo_text_is_chinese(gunichar c);

#endif
