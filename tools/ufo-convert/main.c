/* ufo-convert: official UFO-ViT PyTorch checkpoint (.pth) -> gst-ufo model bundle (.safetensors),
 * or a deterministic random model. Usage: docs/converting.md. */
#include "checkpoint.h"
#include "model/data.h"
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gboolean load_config(const char *arg, UfoConfig *cfg, GError **error)
{
  if (ufo_config_builtin(arg, cfg, NULL))
    return TRUE;
  if (arg[0] == '{')
    return ufo_config_parse(arg, cfg, error);
  g_autofree char *text = NULL;
  if (!g_file_test(arg, G_FILE_TEST_EXISTS)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "config '%s' is neither a built-in name (tiny, vit-b, vit-l, vit-h) nor a file",
                arg);
    return FALSE;
  }
  if (!g_file_get_contents(arg, &text, NULL, error))
    return FALSE;
  if (!ufo_config_parse(text, cfg, error)) {
    g_prefix_error(error, "%s: ", arg);
    return FALSE;
  }
  return TRUE;
}

/* The BERT vocab.txt has 30522 lines; UFO appends [DEC], [ENC] (and <MASK>) (inference §4.2). */
static char *complete_vocab(const char *text, gsize len, int vocab_size, GError **error)
{
  GString *v = g_string_new_len(text, (gssize)len);
  if (v->len && v->str[v->len - 1] != '\n')
    g_string_append_c(v, '\n');
  int lines = 0;
  for (gsize i = 0; i < v->len; i++)
    lines += v->str[i] == '\n';
  static const char *const added[] = {"[DEC]", "[ENC]", "<MASK>"};
  if (lines == 30522)
    for (int i = 0; lines < vocab_size && i < 3; i++, lines++)
      g_string_append_printf(v, "%s\n", added[i]);
  if (lines != vocab_size) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "vocabulary has %d lines; the config needs %d (or 30522 for the plain BERT file)",
                lines, vocab_size);
    g_string_free(v, TRUE);
    return NULL;
  }
  return g_string_free(v, FALSE);
}

static gboolean parse_dtype(const char *s, UfoDType *d, GError **error)
{
  if (!s || g_ascii_strcasecmp(s, "f32") == 0)
    *d = UFO_DTYPE_F32;
  else if (g_ascii_strcasecmp(s, "f16") == 0)
    *d = UFO_DTYPE_F16;
  else if (g_ascii_strcasecmp(s, "bf16") == 0)
    *d = UFO_DTYPE_BF16;
  else {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "--dtype must be f32, f16 or bf16, not '%s'",
                s);
    return FALSE;
  }
  return TRUE;
}

static UfoModel *from_checkpoint(const char *ckpt, const UfoConfig *cfg, const char *vocab_path,
                                 gboolean allow_unknown, GError **error)
{
  g_autoptr(GMappedFile) mf = g_mapped_file_new(ckpt, FALSE, error);
  if (!mf)
    return NULL;
  guint skipped = 0;
  g_autoptr(GPtrArray) tensors = ufo_checkpoint_read(
      (const uint8_t *)g_mapped_file_get_contents(mf), g_mapped_file_get_length(mf), "backbone.",
      allow_unknown, &skipped, error);
  if (!tensors) {
    g_prefix_error(error, "%s: ", ckpt);
    return NULL;
  }
  g_autoptr(UfoModel) m = ufo_model_alloc(cfg);
  g_autofree UfoTensorView *views = g_new0(UfoTensorView, tensors->len + 1);
  for (guint i = 0; i < tensors->len; i++) {
    UfoCkptTensor *t = g_ptr_array_index(tensors, i);
    views[i] = (UfoTensorView){t->name, t->dtype, t->ndim, t->shape, t->data};
  }
  /* borrow the float32 buffers, then hand them to the model: no second copy of the weights */
  if (!ufo_model_bind_tensors(m, views, tensors->len, TRUE, error)) {
    g_prefix_error(error, "%s: ", ckpt);
    return NULL;
  }
  for (guint i = 0; i < tensors->len; i++) {
    UfoCkptTensor *t = g_ptr_array_index(tensors, i);
    if (t->dtype == UFO_DTYPE_F32)
      g_ptr_array_add(m->owned, g_steal_pointer(&t->data));
  }
  g_autofree char *raw = NULL, *vocab = NULL;
  gsize len;
  if (vocab_path) {
    if (!g_file_get_contents(vocab_path, &raw, &len, error))
      return NULL;
  } else {
    const char *embedded = ufo_data_vocab(&len); /* engine/data/vocab.txt, 30525 lines */
    raw = g_strndup(embedded, len);
    /* a 30524-row model (single-task checkpoints) has no <MASK>: keep the first vocab_size lines */
    char *p = raw;
    for (int i = 0; i < cfg->vocab_size && p; i++)
      p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
    if (p)
      *p = '\0';
    len = strlen(raw);
  }
  if (!(vocab = complete_vocab(raw, len, cfg->vocab_size, error)) ||
      !ufo_model_set_vocab(m, vocab, strlen(vocab), error) ||
      !ufo_model_add_embedded_text(m, error))
    return NULL;
  printf("read %u backbone tensors from %s (%u other entries skipped)\n", tensors->len, ckpt,
         skipped);
  return g_steal_pointer(&m);
}

int main(int argc, char **argv)
{
  g_autofree char *ckpt = NULL, *config = NULL, *vocab = NULL, *output = NULL, *dtype_s = NULL,
                  *random_cfg = NULL, *print_cfg = NULL;
  gint64 seed = 0;
  gboolean allow_unknown = FALSE;
  GOptionEntry entries[] = {
      {"checkpoint", 0, 0, G_OPTION_ARG_FILENAME, &ckpt, "Official PyTorch checkpoint (.pth)",
       "FILE"},
      {"config", 0, 0, G_OPTION_ARG_STRING, &config,
       "Built-in config (tiny, vit-b, vit-l, vit-h) or a config JSON file", "NAME|FILE"},
      {"vocab", 0, 0, G_OPTION_ARG_FILENAME, &vocab,
       "Vocabulary, one token a line (BERT vocab.txt; [DEC] [ENC] <MASK> are appended to a "
       "30522-line file). Default: the embedded vocabulary",
       "FILE"},
      {"output", 'o', 0, G_OPTION_ARG_FILENAME, &output, "Output model bundle (.safetensors)",
       "FILE"},
      {"dtype", 0, 0, G_OPTION_ARG_STRING, &dtype_s, "Stored weight type: f32 (default), f16, bf16",
       "TYPE"},
      {"random", 0, 0, G_OPTION_ARG_STRING, &random_cfg,
       "Write a model with deterministic random weights (docs/weights-prng.md) for this config",
       "CONFIG"},
      {"seed", 0, 0, G_OPTION_ARG_INT64, &seed, "Seed for --random (default 0)", "N"},
      {"print-config", 0, 0, G_OPTION_ARG_STRING, &print_cfg,
       "Print a config's JSON (built-in name or file) and exit", "CONFIG"},
      {"allow-unknown-globals", 0, 0, G_OPTION_ARG_NONE, &allow_unknown,
       "Turn unknown pickle globals outside the state dict into inert placeholders instead of "
       "refusing the file (nothing is ever executed)",
       NULL},
      {NULL},
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- convert UFO-ViT checkpoints");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(
      ctx, "Examples:\n"
           "  ufo-convert --checkpoint ufo-vit-b-multi.pth --config vit-b --vocab vocab.txt "
           "-o ufo-vit-b.safetensors --dtype f16\n"
           "  ufo-convert --random tiny --seed 0 -o tiny.safetensors\n");
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err)) {
    fprintf(stderr, "ufo-convert: %s\n", err->message);
    return 2;
  }
  if (print_cfg) {
    UfoConfig cfg;
    if (!load_config(print_cfg, &cfg, &err)) {
      fprintf(stderr, "ufo-convert: %s\n", err->message);
      return 1;
    }
    g_autofree char *json = ufo_config_to_json(&cfg);
    printf("%s\n", json);
    return 0;
  }
  UfoDType dtype;
  if (!parse_dtype(dtype_s, &dtype, &err)) {
    fprintf(stderr, "ufo-convert: %s\n", err->message);
    return 2;
  }
  if (!output || (!ckpt == !random_cfg) || (ckpt && !config)) {
    fprintf(stderr, "ufo-convert: give -o and either --checkpoint with --config, or --random "
                    "(see --help)\n");
    return 2;
  }
  if (seed < 0) {
    fprintf(stderr, "ufo-convert: --seed must be non-negative\n");
    return 2;
  }

  g_autoptr(UfoModel) m = NULL;
  if (random_cfg) {
    UfoConfig cfg;
    g_autofree char *json = NULL;
    if (load_config(random_cfg, &cfg, &err)) {
      json = ufo_config_to_json(&cfg);
      m = ufo_model_new_random(json, (uint64_t)seed, &err);
    }
  } else {
    UfoConfig cfg;
    if (load_config(config, &cfg, &err))
      m = from_checkpoint(ckpt, &cfg, vocab, allow_unknown, &err);
  }
  if (!m || !ufo_model_save(m, output, dtype, &err)) {
    fprintf(stderr, "ufo-convert: %s\n", err ? err->message : "failed");
    return 1;
  }
  printf("wrote %s (config %s, %s weights)\n", output, m->cfg.name, ufo_dtype_name(dtype));
  return 0;
}
