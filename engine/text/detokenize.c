/* decode(ids, skip_special_tokens, clean_up_tokenization_spaces=True) of the HF fast tokenizer:
 * the Rust WordPiece decoder (with its per-token clean-up), then transformers' string clean-up.
 * Inference spec §4.5 and §0 item 3; segmentation spec §0 item 5. */
#include "text/tokenizer-private.h"

#include <string.h>

/* Replace every non-overlapping occurrence in s from byte start on, scanning left to right
 * (Python/Rust str.replace on that part). */
static void replace_all(GString *s, size_t start, const char *from, const char *to)
{
  const char *hit = strstr(s->str + start, from);
  if (!hit)
    return;
  size_t flen = strlen(from);
  GString *out = g_string_sized_new(s->len - start);
  const char *p = s->str + start;
  for (; hit; hit = strstr(p, from)) {
    g_string_append_len(out, p, hit - p);
    g_string_append(out, to);
    p = hit + flen;
  }
  g_string_append(out, p);
  g_string_truncate(s, start);
  g_string_append_len(s, out->str, (gssize)out->len);
  g_string_free(out, TRUE);
}

/* Rust WordPiece decoder clean-up, applied to each token (with its leading space) on its own:
 * that is why " do not" can never fire (inference spec §0 item 3). */
static void cleanup_token(GString *t, size_t start)
{
  static const char *const rules[][2] = {
      {" .", "."},   {" ?", "?"},     {" !", "!"},     {" ,", ","},
      {" ' ", "'"},  {" n't", "n't"}, {" 'm", "'m"},   {" do not", " don't"},
      {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(rules); i++)
    replace_all(t, start, rules[i][0], rules[i][1]);
}

/* transformers clean_up_tokenization on the whole decoded string. */
static void cleanup_string(GString *s)
{
  static const char *const rules[][2] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  };
  for (size_t i = 0; i < G_N_ELEMENTS(rules); i++)
    replace_all(s, 0, rules[i][0], rules[i][1]);
}

void ufo_tokenizer_decode_into(const UfoTokenizer *tok, const int32_t *ids, size_t n,
                               gboolean skip_special, GString *out)
{
  g_string_truncate(out, 0);
  if (!tok || (!ids && n > 0))
    return;
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    const char *token = ufo_tokenizer_id_to_token(tok, ids[i]);
    if (!token)
      continue; /* unknown id: dropped, as the HF decoder does */
    if (skip_special && (tok->flags[ids[i]] & UFO_TOKEN_FLAG_SPECIAL))
      continue;
    const size_t start = out->len; /* this token's text, cleaned up on its own */
    /* §4.5: "##x" is glued to the previous token; every other token after the first gets a
     * space. The first kept token keeps its "##" (§0 item 3). */
    if (kept > 0 && g_str_has_prefix(token, "##")) {
      g_string_append(out, token + 2);
    } else {
      if (kept > 0)
        g_string_append_c(out, ' ');
      g_string_append(out, token);
    }
    cleanup_token(out, start);
    kept++;
  }
  cleanup_string(out);
}

char *ufo_tokenizer_decode(const UfoTokenizer *tok, const int32_t *ids, size_t n,
                           gboolean skip_special)
{
  GString *out = g_string_new(NULL);
  ufo_tokenizer_decode_into(tok, ids, n, skip_special, out);
  return g_string_free(out, FALSE);
}
