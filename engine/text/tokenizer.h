/* BERT uncased WordPiece tokenizer with the three added tokens of UFO
 * ([DEC]=30522, [ENC]=30523, <MASK>=30524). Inference spec §4.2, §4.5.
 * A model may carry its own, smaller vocabulary (docs/model-format.md): the engine never uses
 * fixed ids, it looks the tokens it needs up by name (ufo_tokenizer_ids). */
#ifndef UFO_TEXT_TOKENIZER_H
#define UFO_TEXT_TOKENIZER_H

#include <glib.h>
#include <stdint.h>

/* Ids in the BERT vocabulary (engine/data/vocab.txt) only: tests and tools that build token
 * sequences for that vocabulary use them; the engine uses ufo_tokenizer_ids(). */
#define UFO_TOKEN_PAD 0
#define UFO_TOKEN_UNK 100
#define UFO_TOKEN_CLS 101
#define UFO_TOKEN_SEP 102
#define UFO_TOKEN_BERT_MASK 103
#define UFO_TOKEN_COMMA 1010
#define UFO_TOKEN_DEC 30522
#define UFO_TOKEN_ENC 30523
#define UFO_TOKEN_MASK 30524

typedef struct _UfoTokenizer UfoTokenizer;

/* The ids of the tokens the engine uses, looked up by name in the vocabulary. */
typedef struct {
  int32_t unk, cls, sep; /* [UNK] [CLS] [SEP]: every vocabulary has them */
  int32_t pad;           /* [PAD] (beam search pads finished hypotheses), -1 if absent */
  int32_t mask;          /* <MASK> (segmentation, seg spec §1), -1 if absent */
  int32_t comma;         /* "," (the grid tasks' separator, §7.1), -1 if absent */
} UfoTokenIds;

/* vocab: one token per line (line index = id), as vocab.txt plus the added tokens. */
UfoTokenizer *ufo_tokenizer_new(const char *vocab, size_t len, GError **error);
/* Same, reading the vocabulary from a file (e.g. engine/data/vocab.txt). */
UfoTokenizer *ufo_tokenizer_new_from_file(const char *path, GError **error);
void ufo_tokenizer_free(UfoTokenizer *tok);
int ufo_tokenizer_vocab_size(const UfoTokenizer *tok);
/* The named ids of tok's vocabulary (never NULL for a tokenizer). */
const UfoTokenIds *ufo_tokenizer_ids(const UfoTokenizer *tok);
/* Id of an exact token string, -1 if absent. */
int32_t ufo_tokenizer_token_to_id(const UfoTokenizer *tok, const char *token);
const char *ufo_tokenizer_id_to_token(const UfoTokenizer *tok, int32_t id);
/* TRUE for the special ids ([PAD] [UNK] [CLS] [SEP] [MASK] [DEC] [ENC]); <MASK> is not special. */
gboolean ufo_tokenizer_is_special(const UfoTokenizer *tok, int32_t id);
/* HF BertTokenizerFast(text, truncation=True, max_length=max_len): [CLS] pieces [SEP] appended to
 * ids (int32). Added tokens ("[DEC]", "[ENC]", "<MASK>") are matched as HF does. max_len >= 2.
 * Text that is not valid UTF-8 gives FALSE with UFO_ERROR_INVALID (ids left unchanged). */
gboolean ufo_tokenizer_encode(const UfoTokenizer *tok, const char *text, int max_len, GArray *ids,
                              GError **error);
/* HF decode(ids, skip_special_tokens=skip_special) with clean_up_tokenization_spaces=True.
 * Ids outside the vocabulary are dropped. Never NULL; free with g_free. */
char *ufo_tokenizer_decode(const UfoTokenizer *tok, const int32_t *ids, size_t n,
                           gboolean skip_special);
/* The same text written into out (replacing what it held): for callers that decode many short
 * sequences with one buffer. */
void ufo_tokenizer_decode_into(const UfoTokenizer *tok, const int32_t *ids, size_t n,
                               gboolean skip_special, GString *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoTokenizer, ufo_tokenizer_free)

#endif
