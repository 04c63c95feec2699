/* A model with its own, smaller vocabulary (docs/model-format.md "Own vocabulary"): the rows S of
 * a model's word embeddings, with their tokens, make a model whose ids are positions in S. Its
 * decode logits must be exactly the full model's logits at the rows S (tied output head, same
 * arithmetic per element), its prompts must encode to the same tokens, and a vocabulary that
 * lacks a token the engine needs by name is refused with the token named. Tiny config, random
 * weights, fp32, on the backend named by --backend=NAME (cpu, cuda-emu, cuda). */
#include "backend_by_name.h"
#include "decode/decode.h"
#include "model/model.h"
#include "nn/vit.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STEPS 3

static const char *backend_name = "cpu";

/* The model whose vocabulary is the tokens rows[0..n) of full (ids = positions in rows): the
 * gathered embedding rows, every other weight borrowed from full (which must outlive it). */
static UfoModel *own_vocab_model(const UfoModel *full, const int32_t *rows, int n,
                                 gboolean with_labels, GError **error)
{
  UfoConfig cfg = full->cfg;
  cfg.vocab_size = n;
  g_autoptr(UfoModel) m = ufo_model_alloc(&cfg);
  m->w = full->w;
  const int C = cfg.embed_dim;
  float *emb = g_new(float, (size_t)n *C);
  GString *text = g_string_new(NULL);
  for (int i = 0; i < n; i++) {
    memcpy(emb + (size_t)i * C, full->w.word_emb + (size_t)rows[i] * C, sizeof(float) * C);
    g_string_append_printf(text, "%s\n", ufo_tokenizer_id_to_token(full->tokenizer, rows[i]));
  }
  g_ptr_array_add(m->owned, emb);
  m->w.word_emb = emb;
  gboolean ok = ufo_model_set_vocab(m, text->str, text->len, error) &&
                (!with_labels || ufo_model_add_embedded_text(m, error));
  g_string_free(text, TRUE);
  return ok ? g_steal_pointer(&m) : NULL;
}

static int cmp_id(gconstpointer a, gconstpointer b)
{
  const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
  return (x > y) - (x < y);
}

/* The kept rows: the tokens the engine needs by name, the prompt's and the decode inputs' (1000 ..
 * 1899), in ascending BERT order, so that <MASK> (30524) is last as in the full vocabulary. */
static int32_t *kept_rows(int *n)
{
  static const int32_t named[] = {0,    100,  101,  102,  2000, 2001,
                                  2002, 2003, 2004, 2005, 2006, 30524};
  GArray *a = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_array_append_vals(a, named, G_N_ELEMENTS(named));
  for (int32_t v = 1000; v < 1900; v++) /* includes "," (1010) and ";" (1025) of the prompt */
    g_array_append_val(a, v);
  g_array_sort(a, cmp_id);
  *n = (int)a->len;
  return (int32_t *)g_array_free(a, FALSE);
}

static int position(const int32_t *rows, int n, int32_t id)
{
  for (int i = 0; i < n; i++)
    if (rows[i] == id)
      return i;
  g_error("id %d is not kept", id);
  return -1;
}

/* text, image and grid passes, then STEPS decode steps of every grid; logits (STEPS, Q, V) */
static float *decode_logits(UfoModel *model, const int32_t *map, int n_map, int *Q_out)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  g_assert_no_error(err);
  UfoVit *vit = ufo_vit_new(model, be, &err);
  UfoVitState *st = ufo_vit_state_new(vit, &err);
  g_assert_no_error(err);
  const int S = 448, gw = 5 * (S / model->cfg.patch_size / model->cfg.window_size), Q = gw * gw;
  const int V = model->cfg.vocab_size;
  /* map (NULL: BERT ids) turns a BERT id into the model's id */
#define ID(x) (map ? position(map, n_map, (x)) : (x))
  float *img = g_new(float, 3 * S * S);
  for (int i = 0; i < 3 * S * S; i++)
    img[i] = sinf((float)i * 0.01f);
  float *ref = g_new(float, 2 * Q);
  for (int q = 0; q < Q; q++) { /* inference §5.5 */
    ref[2 * q] = ((float)(q % gw) + 0.5f) / (float)gw;
    ref[2 * q + 1] = ((float)(q / gw) + 0.5f) / (float)gw;
  }
  const int32_t bert[12] = {101, 2000, 2001, 2002, 1010, 2003, 2004, 2005, 1025, 2006, 102, 0};
  int32_t ids[12];
  for (int j = 0; j < 12; j++)
    ids[j] = ID(bert[j]);
  const uint8_t masked[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
  g_assert_true(ufo_vit_text_pass(st, ids, masked, 12, &err));
  g_assert_true(ufo_vit_image_pass(st, img, S, S, ref, Q, gw, gw, FALSE, &err));
  g_assert_true(ufo_vit_grid_pass(st, &err));
  g_assert_true(ufo_vit_decode_begin(st, TRUE, Q, STEPS, &err));
  g_assert_no_error(err);
  UfoDecoder d = ufo_vit_decoder(st);
  g_assert_cmpint(d.start_token, ==, ID(101)); /* [CLS], [SEP], [PAD] looked up by name */
  g_assert_cmpint(d.end_token, ==, ID(102));
  g_assert_cmpint(d.pad_token, ==, ID(0));
  float *all = g_new(float, (size_t)STEPS *Q *V);
  int32_t *tok = g_new(int32_t, Q);
  for (int t = 0; t < STEPS; t++) {
    for (int r = 0; r < Q; r++)
      tok[r] = t == 0 ? ID(101) : ID(1000 + (r * 7 + t * 13) % 900);
    g_assert_true(d.step(d.ctx, tok, Q, t, all + (size_t)t * Q * V, NULL, &err));
  }
#undef ID
  g_assert_no_error(err);
  g_free(tok);
  g_free(img);
  g_free(ref);
  ufo_vit_state_free(st);
  ufo_vit_free(vit);
  ufo_backend_free(be);
  *Q_out = Q;
  return all;
}

/* The own model's logits are the full model's at the kept rows. */
static void test_logits_are_kept_rows(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) full = ufo_model_new_random("tiny", 3, &err);
  g_assert_no_error(err);
  int n;
  g_autofree int32_t *rows = kept_rows(&n);
  g_autoptr(UfoModel) own = own_vocab_model(full, rows, n, TRUE, &err);
  g_assert_no_error(err);
  g_assert_cmpint(own->cfg.vocab_size, ==, n);
  int Q, Q2;
  g_autofree float *a = decode_logits(full, NULL, 0, &Q);
  g_autofree float *b = decode_logits(own, rows, n, &Q2);
  g_assert_cmpint(Q, ==, Q2);
  const int V = full->cfg.vocab_size;
  double worst = 0;
  for (int t = 0; t < STEPS; t++)
    for (int r = 0; r < Q; r++)
      for (int j = 0; j < n; j++) {
        const float x = a[((size_t)t * Q + r) * V + rows[j]], y = b[((size_t)t * Q + r) * n + j];
        worst = MAX(worst, fabs((double)x - y) / MAX(1.0, fabs((double)x)));
      }
  g_test_message("%s: worst relative difference %.3g over %d steps x %d rows x %d tokens",
                 backend_name, worst, STEPS, Q, n);
  /* the CPU computes every logit as one FMA chain whatever the row count (gemm_rows.c): equal;
   * elsewhere the two GEMMs may block differently, within float rounding */
  g_assert_cmpfloat(worst, <=, strcmp(backend_name, "cpu") == 0 ? 1e-6 : 1e-5);
}

/* A prompt encodes to the same tokens in the own vocabulary; a word outside it is [UNK]. */
static void test_prompt_same_tokens(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) full = ufo_model_new_random("tiny", 3, &err);
  static const char *const kept[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", ",",     ".",
                                     "and",   "what",  "the",   "rest",  "<MASK>"};
  int32_t rows[G_N_ELEMENTS(kept)];
  for (guint i = 0; i < G_N_ELEMENTS(kept); i++)
    g_assert_cmpint((rows[i] = ufo_tokenizer_token_to_id(full->tokenizer, kept[i])), >=, 0);
  qsort(rows, G_N_ELEMENTS(rows), sizeof(int32_t), cmp_id);
  g_autoptr(UfoModel) own = own_vocab_model(full, rows, G_N_ELEMENTS(rows), FALSE, &err);
  g_assert_no_error(err);
  const char *text = "And what, the rest. zebra";
  g_autoptr(GArray) a = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_autoptr(GArray) b = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_assert_true(ufo_tokenizer_encode(full->tokenizer, text, 64, a, &err));
  g_assert_true(ufo_tokenizer_encode(own->tokenizer, text, 64, b, &err));
  g_assert_no_error(err);
  static const char *const want[] = {"[CLS]", "and", "what",  ",",    "the",
                                     "rest",  ".",   "[UNK]", "[SEP]"};
  g_assert_cmpint(b->len, ==, G_N_ELEMENTS(want));
  for (guint i = 0; i < b->len; i++) {
    g_assert_cmpstr(ufo_tokenizer_id_to_token(own->tokenizer, g_array_index(b, int32_t, i)), ==,
                    want[i]);
    if (i != 7) /* the full vocabulary has "zebra" */
      g_assert_cmpstr(ufo_tokenizer_id_to_token(full->tokenizer, g_array_index(a, int32_t, i)), ==,
                      want[i]);
  }
  const UfoTokenIds *named = ufo_tokenizer_ids(own->tokenizer);
  g_assert_cmpstr(ufo_tokenizer_id_to_token(own->tokenizer, named->pad), ==, "[PAD]");
  g_assert_cmpstr(ufo_tokenizer_id_to_token(own->tokenizer, named->unk), ==, "[UNK]");
  g_assert_cmpstr(ufo_tokenizer_id_to_token(own->tokenizer, named->cls), ==, "[CLS]");
  g_assert_cmpstr(ufo_tokenizer_id_to_token(own->tokenizer, named->sep), ==, "[SEP]");
  g_assert_cmpstr(ufo_tokenizer_id_to_token(own->tokenizer, named->comma), ==, ",");
  g_assert_cmpint(named->mask, ==, G_N_ELEMENTS(rows) - 1);
  g_autofree char *back =
      ufo_tokenizer_decode(own->tokenizer, (const int32_t *)b->data, b->len, TRUE);
  g_assert_cmpstr(back, ==, "and what, the rest.");
}

/* A vocabulary without [PAD], or without <MASK> while a segmentation task is enabled, is refused
 * naming the token. */
static void test_missing_named_tokens(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) full = ufo_model_new_random("tiny", 3, &err);
  static const int32_t no_pad[] = {100, 101, 102, 30524};
  g_assert_null(own_vocab_model(full, no_pad, G_N_ELEMENTS(no_pad), FALSE, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_FORMAT);
  g_assert_nonnull(strstr(err->message, "no [PAD] token"));
  g_clear_error(&err);
  static const int32_t no_mask[] = {0, 100, 101, 102};
  g_assert_true(full->cfg.tasks[UFO_TASK_INSTANCE].enabled);
  g_assert_null(own_vocab_model(full, no_mask, G_N_ELEMENTS(no_mask), FALSE, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_FORMAT);
  g_assert_nonnull(strstr(err->message, "no <MASK> token, which task instance needs"));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
  g_test_add_func("/nn/own-vocab/logits-are-kept-rows", test_logits_are_kept_rows);
  g_test_add_func("/nn/own-vocab/prompt-same-tokens", test_prompt_same_tokens);
  g_test_add_func("/nn/own-vocab/missing-named-tokens", test_missing_named_tokens);
  return g_test_run();
}
