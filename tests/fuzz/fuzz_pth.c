/* libFuzzer target: the .pth reader of ufo-convert (tools/ufo-convert: the zip reader, the safe
 * unpickler, the checkpoint reader) and the conversion step after it, on arbitrary bytes. The
 * bytes are the mapped checkpoint file as ufo-convert's from_checkpoint sees it (the reader works
 * on a buffer, so no file is needed): ufo_checkpoint_read with the "backbone." prefix, both with
 * and without allow_unknown, then the tensors bound against the tiny config
 * (ufo_model_bind_tensors, which checks names, dtypes and shapes). Whatever the bytes, each call
 * must return a result or an error (never both, never neither), and nothing may crash, read out
 * of bounds, leak or run anything (the unpickler imports nothing: tests/data/convert/evil.pth).
 *
 * Seeds: tests/fuzz/corpus/pth (tests/fuzz/make_corpus.py). Fuzzing: docs/reliability.md. */
#include "checkpoint.h"
#include "model/model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_outcome(const char *what, gboolean ok, const GError *error)
{
  if (ok == (error != NULL)) {
    fprintf(stderr, "%s returned %s with %s error\n", what, ok ? "a result" : "nothing",
            error ? "an" : "no");
    abort(); /* a broken contract: the finding */
  }
}

/* What ufo-convert does with the tensors it read: bind them to a model of the config. */
static void bind(GPtrArray *tensors)
{
  static UfoConfig cfg;
  static gboolean have_cfg;
  if (!have_cfg && !(have_cfg = ufo_config_builtin("tiny", &cfg, NULL)))
    abort();
  UfoModel *m = ufo_model_alloc(&cfg);
  UfoTensorView *views = g_new0(UfoTensorView, tensors->len + 1);
  for (guint i = 0; i < tensors->len; i++) {
    UfoCkptTensor *t = g_ptr_array_index(tensors, i);
    views[i] = (UfoTensorView){t->name, t->dtype, t->ndim, t->shape, t->data};
  }
  GError *error = NULL;
  gboolean ok = ufo_model_bind_tensors(m, views, tensors->len, TRUE, &error);
  check_outcome("ufo_model_bind_tensors", ok, error);
  g_clear_error(&error);
  ufo_model_unref(m); /* before the tensors: the model borrowed their data */
  g_free(views);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  for (int allow_unknown = 0; allow_unknown < 2; allow_unknown++) {
    GError *error = NULL;
    guint skipped = 0;
    GPtrArray *tensors =
        ufo_checkpoint_read(data, size, "backbone.", allow_unknown, &skipped, &error);
    check_outcome("ufo_checkpoint_read", tensors != NULL, error);
    g_clear_error(&error);
    if (tensors) {
      bind(tensors);
      g_ptr_array_unref(tensors);
    }
  }
  return 0;
}
