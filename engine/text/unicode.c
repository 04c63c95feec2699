/* Character classes of the BERT normalizer / pre-tokenizer (HuggingFace tokenizers semantics). */
#include "text/unicode.h"

static gboolean in_ranges(gunichar c, const UfoCharRange *r, size_t n)
{
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (c < r[mid].lo)
      hi = mid;
    else if (c > r[mid].hi)
      lo = mid + 1;
    else
      return TRUE;
  }
  return FALSE;
}

gboolean ufo_text_is_whitespace(gunichar c)
{
  /* Unicode White_Space property (stable since Unicode 6.3, when U+180E left it). */
  return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
         (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F ||
         c == 0x3000;
}

gboolean ufo_text_is_control(gunichar c)
{
  if (c == '\t' || c == '\n' || c == '\r')
    return FALSE; /* counted as whitespace instead */
  /* Cc */
  if (c < 0x20 || (c >= 0x7F && c <= 0x9F))
    return TRUE;
  /* Co: the three private-use areas */
  if ((c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) ||
      (c >= 0x100000 && c <= 0x10FFFD))
    return TRUE;
  /* Cf (unassigned code points, Cn, are not control for the crate) */
  return in_ranges(c, ufo_text_format_ranges, ufo_text_format_ranges_len);
}

gboolean ufo_text_is_nonspacing_mark(gunichar c)
{
  return c >= 0x300 && in_ranges(c, ufo_text_nonspacing_ranges, ufo_text_nonspacing_ranges_len);
}

gboolean ufo_text_is_punct(gunichar c)
{
  if (c < 0x80)
    return g_ascii_ispunct((gchar)c); /* ASCII punctuation: also $ + < = > ^ ` | ~ */
  return in_ranges(c, ufo_text_punct_ranges, ufo_text_punct_ranges_len);
}

gboolean ufo_text_is_chinese(gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}
