/* UFO tokenizer: vocabulary, added-token matching, encode with truncation. Inference spec §4.2. */
#include "text/tokenizer-private.h"
#include "text/normalize.h"
#include "ufo/ufo.h"

#include <string.h>

/* Special tokens of the HF tokenizer (BERT's five plus [DEC] and [ENC]): matched verbatim
 * (case-sensitive, before normalization) and dropped by decode(skip_special_tokens=True). */
static const char *const special_names[] = {"[PAD]",  "[UNK]", "[CLS]", "[SEP]",
                                            "[MASK]", "[DEC]", "[ENC]"};
/* Tokens added on top of the BERT vocabulary (not WordPiece pieces). */
static const char *const added_names[] = {"[DEC]", "[ENC]", "<MASK>"};

static gboolean parse_vocab(UfoTokenizer *tok, const char *vocab, size_t len, GError **error)
{
  if (!g_utf8_validate(vocab, (gssize)len, NULL)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "tokenizer vocabulary is not valid UTF-8");
    return FALSE;
  }
  /* one copy of the text holds every token, each line cut at its '\n' (and a '\r' before it) */
  tok->text = g_malloc(len + 1);
  memcpy(tok->text, vocab, len);
  tok->text[len] = '\0';
  char *p = tok->text, *end = tok->text + len;
  while (p < end) {
    char *nl = memchr(p, '\n', (size_t)(end - p));
    char *line_end = nl ? nl : end;
    size_t n = (size_t)(line_end - p);
    if (n > 0 && p[n - 1] == '\r')
      n--;
    p[n] = '\0';
    char *token = p;
    int32_t id = (int32_t)tok->tokens->len;
    g_ptr_array_add(tok->tokens, token);
    /* a repeated entry maps to its last id, like the HF vocabulary dict */
    g_hash_table_insert(tok->ids, token, GINT_TO_POINTER(id + 1));
    p = nl ? nl + 1 : end;
  }
  if (tok->tokens->len == 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "tokenizer vocabulary is empty");
    return FALSE;
  }
  return TRUE;
}

static int32_t require_token(const UfoTokenizer *tok, const char *name, GError **error)
{
  int32_t id = ufo_tokenizer_token_to_id(tok, name);
  if (id < 0)
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "tokenizer vocabulary has no %s token", name);
  return id;
}

UfoTokenizer *ufo_tokenizer_new(const char *vocab, size_t len, GError **error)
{
  if (!vocab || len == 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tokenizer vocabulary is empty");
    return NULL;
  }
  g_autoptr(UfoTokenizer) tok = g_new0(UfoTokenizer, 1);
  tok->tokens = g_ptr_array_new();
  tok->ids = g_hash_table_new(g_str_hash, g_str_equal);
  tok->mask_id = -1;
  if (!parse_vocab(tok, vocab, len, error))
    return NULL;
  tok->flags = g_new0(guint8, tok->tokens->len);
  if ((tok->unk = require_token(tok, "[UNK]", error)) < 0 ||
      (tok->cls = require_token(tok, "[CLS]", error)) < 0 ||
      (tok->sep = require_token(tok, "[SEP]", error)) < 0)
    return NULL;
  for (size_t i = 0; i < G_N_ELEMENTS(special_names); i++) {
    int32_t id = ufo_tokenizer_token_to_id(tok, special_names[i]);
    if (id >= 0) {
      tok->special_ids[tok->n_special++] = id;
      tok->flags[id] |= UFO_TOKEN_FLAG_SPECIAL;
    }
  }
  for (size_t i = 0; i < G_N_ELEMENTS(added_names); i++) {
    int32_t id = ufo_tokenizer_token_to_id(tok, added_names[i]);
    if (id >= 0)
      tok->flags[id] |= UFO_TOKEN_FLAG_ADDED;
  }
  /* <MASK> is an ordinary (normalized) added token: HF matches the normalized form of its
   * content, "<mask>", inside the normalized text (inference spec §4.2, add_tokens). */
  tok->mask_id = ufo_tokenizer_token_to_id(tok, "<MASK>");
  if (tok->mask_id >= 0) {
    tok->mask_norm = ufo_text_normalize("<MASK>", -1);
    if (!tok->mask_norm || !tok->mask_norm[0])
      tok->mask_id = -1;
  }
  tok->named = (UfoTokenIds){.unk = tok->unk,
                             .cls = tok->cls,
                             .sep = tok->sep,
                             .pad = ufo_tokenizer_token_to_id(tok, "[PAD]"),
                             .mask = tok->mask_id,
                             .comma = ufo_tokenizer_token_to_id(tok, ",")};
  return g_steal_pointer(&tok);
}

UfoTokenizer *ufo_tokenizer_new_from_file(const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GError) err = NULL;
  if (!g_file_get_contents(path, &data, &len, &err)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot read tokenizer vocabulary: %s",
                err->message);
    return NULL;
  }
  return ufo_tokenizer_new(data, len, error);
}

void ufo_tokenizer_free(UfoTokenizer *tok)
{
  if (!tok)
    return;
  if (tok->ids)
    g_hash_table_destroy(tok->ids);
  if (tok->tokens)
    g_ptr_array_unref(tok->tokens);
  g_free(tok->text);
  g_free(tok->flags);
  g_free(tok->mask_norm);
  g_free(tok);
}

int ufo_tokenizer_vocab_size(const UfoTokenizer *tok)
{
  return tok ? (int)tok->tokens->len : 0;
}

const UfoTokenIds *ufo_tokenizer_ids(const UfoTokenizer *tok)
{
  g_return_val_if_fail(tok != NULL, NULL);
  return &tok->named;
}

int32_t ufo_tokenizer_token_to_id(const UfoTokenizer *tok, const char *token)
{
  if (!tok || !token)
    return -1;
  gpointer v = g_hash_table_lookup(tok->ids, token);
  return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

const char *ufo_tokenizer_id_to_token(const UfoTokenizer *tok, int32_t id)
{
  if (!tok || id < 0 || (guint)id >= tok->tokens->len)
    return NULL;
  return g_ptr_array_index(tok->tokens, id);
}

gboolean ufo_tokenizer_is_special(const UfoTokenizer *tok, int32_t id)
{
  return tok && id >= 0 && (guint)id < tok->tokens->len &&
         (tok->flags[id] & UFO_TOKEN_FLAG_SPECIAL) != 0;
}

/* Leftmost special token at or after p; longest one if several start there. */
static const char *find_special(const UfoTokenizer *tok, const char *p, int32_t *id, size_t *len)
{
  for (; (p = strchr(p, '[')) != NULL; p++) {
    size_t best = 0;
    for (int i = 0; i < tok->n_special; i++) {
      const char *name = g_ptr_array_index(tok->tokens, tok->special_ids[i]);
      size_t n = strlen(name);
      if (n > best && strncmp(p, name, n) == 0) {
        best = n;
        *id = tok->special_ids[i];
      }
    }
    if (best) {
      *len = best;
      return p;
    }
  }
  return NULL;
}

/* One stretch of text between special tokens: normalize, split on <MASK>, WordPiece the rest. */
static void encode_segment(const UfoTokenizer *tok, const char *text, size_t len, GArray *ids)
{
  if (len == 0)
    return;
  g_autofree char *norm = ufo_text_normalize(text, (gssize)len);
  const char *p = norm;
  if (tok->mask_id >= 0) {
    size_t mlen = strlen(tok->mask_norm);
    const char *m;
    while ((m = strstr(p, tok->mask_norm)) != NULL) {
      ufo_text_wordpiece_append(tok, p, (size_t)(m - p), ids);
      g_array_append_val(ids, tok->mask_id);
      p = m + mlen;
    }
  }
  ufo_text_wordpiece_append(tok, p, strlen(p), ids);
}

gboolean ufo_tokenizer_encode(const UfoTokenizer *tok, const char *text, int max_len, GArray *ids,
                              GError **error)
{
  if (!tok || !text || !ids) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "tokenizer encode: NULL argument");
    return FALSE;
  }
  if (max_len < 2) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "tokenizer encode: max_len %d leaves no room for [CLS] and [SEP]", max_len);
    return FALSE;
  }
  const char *bad = NULL;
  if (!g_utf8_validate(text, -1, &bad)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "tokenizer encode: text is not valid UTF-8 (byte %td)", bad - text);
    return FALSE;
  }
  g_autoptr(GArray) pieces = g_array_new(FALSE, FALSE, sizeof(int32_t));
  const char *p = text;
  for (;;) {
    int32_t sid = -1;
    size_t slen = 0;
    const char *s = find_special(tok, p, &sid, &slen);
    encode_segment(tok, p, s ? (size_t)(s - p) : strlen(p), pieces);
    if (!s)
      break;
    g_array_append_val(pieces, sid);
    p = s + slen;
  }
  /* truncation=True, max_length=max_len: keep room for [CLS] and [SEP] (inference spec §4.2) */
  guint keep = MIN(pieces->len, (guint)max_len - 2);
  g_array_append_val(ids, tok->cls);
  g_array_append_vals(ids, pieces->data, keep);
  g_array_append_val(ids, tok->sep);
  return TRUE;
}
