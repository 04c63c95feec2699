/* libFuzzer target: the tokenizer and the prompt path (engine/text, engine/tasks/prompt*.c,
 * ufo_model_check_prompt) on arbitrary bytes, taken as a grounding referring expression (the
 * `prompt` property of ufodetect; up to the first NUL byte, as a C string arrives) against the
 * vocabulary of the tiny random model (the embedded BERT vocabulary plus [DEC] [ENC] <MASK>):
 *   - ufo_tokenizer_encode without and with truncation, and ufo_tokenizer_decode of the ids;
 *   - ufo_clean_caption, ufo_prompt_build (grounding) and ufo_prompt_encode, as ufo_session_run
 *     does before the text pass;
 *   - ufo_model_check_prompt (grounding), which must agree with that path: it accepts exactly the
 *     expressions the run would accept, with the same token count.
 * Every call returns a result or an error (never both, never neither); nothing may crash, read out
 * of bounds or leak.
 *
 * Seeds: tests/fuzz/corpus/prompt (tests/fuzz/make_corpus.py). Fuzzing: docs/reliability.md. */
#include "model/model.h"
#include "tasks/prompt.h"
#include "text/tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
  fprintf(stderr, "%s\n", what);
  abort(); /* a broken contract: the finding */
}

static void check_outcome(const char *what, gboolean ok, const GError *error)
{
  if (ok == (error != NULL)) {
    fprintf(stderr, "%s returned %s with %s error\n", what, ok ? "a result" : "nothing",
            error ? "an" : "no");
    abort();
  }
}

static UfoModel *tiny_model(void)
{
  static UfoModel *model; /* made once: kept for the life of the process */
  if (!model) {
    GError *error = NULL;
    model = ufo_model_new_random("tiny", 0, &error);
    if (!model) {
      fprintf(stderr, "tiny model: %s\n", error->message);
      abort(); /* the harness itself cannot run: not a finding */
    }
  }
  return model;
}

/* Plain tokenization and the decode of its ids. */
static void tokenize(const UfoTokenizer *tok, const char *text)
{
  static const int max_lens[] = {G_MAXINT / 2, 16}; /* whole, and truncated as HF does */
  GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  for (size_t k = 0; k < G_N_ELEMENTS(max_lens); k++) {
    GError *error = NULL;
    g_array_set_size(ids, 0);
    gboolean ok = ufo_tokenizer_encode(tok, text, max_lens[k], ids, &error);
    check_outcome("ufo_tokenizer_encode", ok, error);
    g_clear_error(&error);
    if (!ok)
      continue;
    if (ids->len < 2 || ids->len > (guint)max_lens[k])
      fail("ufo_tokenizer_encode: token count outside 2..max_len");
    for (guint i = 0; i < ids->len; i++) {
      int32_t id = g_array_index(ids, int32_t, i);
      if (id < 0 || id >= ufo_tokenizer_vocab_size(tok))
        fail("ufo_tokenizer_encode: id outside the vocabulary");
    }
    for (int skip = 0; skip < 2; skip++)
      g_free(ufo_tokenizer_decode(tok, (const int32_t *)ids->data, ids->len, skip));
  }
  g_array_unref(ids);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  UfoModel *model = tiny_model();
  char *text = g_strndup((const char *)data, size); /* up to the first NUL, as a C string */
  tokenize(model->tokenizer, text);
  g_free(ufo_clean_caption(text));

  /* the run's path: prompt string, then ids and key mask */
  const int limit = ufo_prompt_max_tokens(model->cfg.max_position);
  GError *error = NULL;
  char *prompt = ufo_prompt_build(UFO_TASK_GROUNDING, NULL, 0, 0, text, &error);
  check_outcome("ufo_prompt_build", prompt != NULL, error);
  g_clear_error(&error);
  gboolean run_ok = FALSE;
  guint run_tokens = 0;
  if (prompt) {
    GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    GArray *mask = g_array_new(FALSE, FALSE, sizeof(uint8_t));
    run_ok =
        ufo_prompt_encode(model->tokenizer, UFO_TASK_GROUNDING, prompt, limit, ids, mask, &error);
    check_outcome("ufo_prompt_encode", run_ok, error);
    g_clear_error(&error);
    if (run_ok && (ids->len != mask->len || ids->len + 1 > (guint)limit))
      fail("ufo_prompt_encode: ids and mask differ in length or exceed the limit");
    run_tokens = ids->len + 1; /* the dropped [SEP] */
    g_array_unref(ids);
    g_array_unref(mask);
    g_free(prompt);
  }

  /* the element's check before the first frame must agree with the run */
  int n_tokens = -1, max_tokens = -1;
  gboolean ok =
      ufo_model_check_prompt(model, UFO_TASK_GROUNDING, text, &n_tokens, &max_tokens, &error);
  check_outcome("ufo_model_check_prompt", ok, error);
  g_clear_error(&error);
  if (ok != run_ok || max_tokens != limit || (ok && (guint)n_tokens != run_tokens))
    fail("ufo_model_check_prompt disagrees with the run's prompt encoding");
  g_free(text);
  return 0;
}
