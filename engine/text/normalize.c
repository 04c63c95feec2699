/* BERT uncased normalizer, in the order HuggingFace BertNormalizer applies its steps:
 * clean text, space around CJK ideographs, NFD + drop non-spacing marks, lowercase. */
#include "text/normalize.h"
#include "text/unicode.h"

#include <string.h>

/* U+11938 (Dives Akuru vowel sign O, Unicode 13) has a canonical decomposition in GLib, but not
 * in the older normalization tables of HF tokenizers 0.15, which leave it whole. It is swapped
 * for a private-use placeholder around NFD: private-use characters never survive clean_text. */
#define UNDECOMPOSED_CHAR 0x11938
#define PLACEHOLDER_CHAR 0xE000

/* Rust char::to_lowercase also lowercases the non-letters with a Lowercase mapping (Roman
 * numerals, circled letters), which g_unichar_tolower leaves alone. */
static gunichar to_lower(gunichar c)
{
  if (c >= 0x2160 && c <= 0x216F)
    return c + 0x10; /* U+2160..216F Roman numerals */
  if (c >= 0x24B6 && c <= 0x24CF)
    return c + 0x1A; /* U+24B6..24CF circled letters */
  return g_unichar_tolower(c);
}

/* Steps 1 and 2: drop NUL, U+FFFD and control characters, map whitespace to ' ', put spaces
 * around CJK ideographs (inference spec §4.2 "clean control characters, space around CJK"). */
static GString *clean_and_space_cjk(const char *text, gssize len)
{
  const char *end = text + len;
  GString *out = g_string_sized_new((gsize)len + 16);
  for (const char *p = text; p < end; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (c == 0 || c == 0xFFFD || ufo_text_is_control(c))
      continue;
    if (ufo_text_is_whitespace(c)) {
      g_string_append_c(out, ' ');
    } else if (ufo_text_is_chinese(c)) {
      g_string_append_c(out, ' ');
      g_string_append_unichar(out, c);
      g_string_append_c(out, ' ');
    } else {
      g_string_append_unichar(out, c == UNDECOMPOSED_CHAR ? PLACEHOLDER_CHAR : c);
    }
  }
  return out;
}

char *ufo_text_normalize(const char *text, gssize len)
{
  if (len < 0)
    len = (gssize)strlen(text);
  if (!g_utf8_validate(text, len, NULL))
    return NULL;
  GString *clean = clean_and_space_cjk(text, len);
  /* Step 3: strip accents = canonical decomposition (NFD), then drop Mn characters. */
  char *nfd = g_utf8_normalize(clean->str, (gssize)clean->len, G_NORMALIZE_NFD);
  g_string_free(clean, TRUE);
  if (!nfd)
    return g_strdup("");
  GString *out = g_string_sized_new(strlen(nfd));
  for (const char *p = nfd; *p; p = g_utf8_next_char(p)) {
    gunichar c = g_utf8_get_char(p);
    if (ufo_text_is_nonspacing_mark(c))
      continue;
    /* Step 4: per-character lowercase (Rust char::to_lowercase). Its only multi-character
     * result, U+0130 -> "i" U+0307, cannot occur here: NFD already split U+0130. */
    g_string_append_unichar(out, c == PLACEHOLDER_CHAR ? UNDECOMPOSED_CHAR : to_lower(c));
  }
  g_free(nfd);
  return g_string_free(out, FALSE);
}
