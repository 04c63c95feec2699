/* BERT pre-tokenizer and WordPiece model (HuggingFace BertPreTokenizer + WordPiece). */
#include "text/tokenizer-private.h"
#include "text/unicode.h"

#include <string.h>

/* inference spec §4.2: words longer than 100 characters become [UNK]. */
#define MAX_CHARS_PER_WORD 100

static int32_t vocab_lookup(const UfoTokenizer *tok, const char *piece)
{
  gpointer v = g_hash_table_lookup(tok->ids, piece);
  if (!v)
    return -1;
  int32_t id = GPOINTER_TO_INT(v) - 1;
  /* added tokens ([DEC], [ENC], <MASK>) live outside the WordPiece vocabulary */
  return (tok->flags[id] & UFO_TOKEN_FLAG_ADDED) ? -1 : id;
}

/* Greedy longest-match-first WordPiece of one word; the whole word is [UNK] when it is too long
 * or some position has no matching piece. */
static void wordpiece_word(const UfoTokenizer *tok, const char *word, size_t len, GArray *ids,
                           GString *scratch)
{
  if (g_utf8_strlen(word, (gssize)len) > MAX_CHARS_PER_WORD) {
    g_array_append_val(ids, tok->unk);
    return;
  }
  guint first = ids->len;
  size_t start = 0;
  while (start < len) {
    size_t end = len;
    int32_t found = -1;
    while (start < end) {
      g_string_truncate(scratch, 0);
      if (start > 0)
        g_string_append(scratch, "##"); /* continuation pieces carry the ## prefix */
      g_string_append_len(scratch, word + start, (gssize)(end - start));
      found = vocab_lookup(tok, scratch->str);
      if (found >= 0)
        break;
      /* shorten by one character */
      end = (size_t)(g_utf8_find_prev_char(word + start, word + end) - word);
    }
    if (found < 0) {
      g_array_set_size(ids, first);
      g_array_append_val(ids, tok->unk);
      return;
    }
    g_array_append_val(ids, found);
    start = end;
  }
}

void ufo_text_pretokenize(const char *text, size_t len, UfoTextWordFunc fn, void *data)
{
  const char *end = text + len;
  const char *word = NULL; /* start of the current word, NULL between words */
  for (const char *p = text; p < end;) {
    gunichar c = g_utf8_get_char(p);
    const char *next = g_utf8_next_char(p);
    gboolean ws = ufo_text_is_whitespace(c);
    gboolean punct = !ws && ufo_text_is_punct(c);
    if ((ws || punct) && word) {
      fn(word, (size_t)(p - word), data);
      word = NULL;
    }
    if (punct)
      fn(p, (size_t)(next - p), data); /* each punctuation character is its own word */
    else if (!ws && !word)
      word = p;
    p = next;
  }
  if (word)
    fn(word, (size_t)(end - word), data);
}

typedef struct {
  const UfoTokenizer *tok;
  GArray *ids;
  GString *scratch;
} WordPieceState;

static void wordpiece_cb(const char *word, size_t len, void *data)
{
  WordPieceState *st = data;
  wordpiece_word(st->tok, word, len, st->ids, st->scratch);
}

void ufo_text_wordpiece_append(const UfoTokenizer *tok, const char *text, size_t len, GArray *ids)
{
  WordPieceState st = {tok, ids, g_string_sized_new(64)};
  ufo_text_pretokenize(text, len, wordpiece_cb, &st);
  g_string_free(st.scratch, TRUE);
}
