/* Prompt → text ids and key mask (inference spec §4.2, §4.3). */
#include "prompt.h"

int ufo_prompt_max_tokens(int max_position)
{
  return MIN(UFO_PROMPT_MAX_TOKENS, max_position);
}

gboolean ufo_prompt_encode(const UfoTokenizer *tok, UfoTask task, const char *prompt,
                           int max_tokens, GArray *ids, GArray *mask, GError **error)
{
  g_array_set_size(ids, 0);
  g_array_set_size(mask, 0);
  if (!tok || !prompt) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "prompt encoding needs a tokenizer and text");
    return FALSE;
  }
  /* tokenize without truncation first, so that an over-long prompt is reported, not cut */
  if (!ufo_tokenizer_encode(tok, prompt, G_MAXINT / 2, ids, error))
    return FALSE;
  if (ids->len > (guint)max_tokens) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_UNSUPPORTED,
                "the %s prompt is too long: it has %u tokens and the model's text context takes "
                "at most %d (shorten the prompt)",
                ufo_task_name(task), ids->len, max_tokens);
    g_array_set_size(ids, 0);
    return FALSE;
  }
  /* §4.3: drop the LAST column (the [SEP] of a single prompt); any [SEP] left is masked */
  g_array_set_size(ids, ids->len - 1);
  g_array_set_size(mask, ids->len);
  const int32_t sep = ufo_tokenizer_ids(tok)->sep;
  for (guint i = 0; i < ids->len; i++)
    g_array_index(mask, uint8_t, i) = g_array_index(ids, int32_t, i) == sep;
  return TRUE;
}
