/* libFuzzer target: the model-file reader, ufo_model_load (safetensors framing and JSON header,
 * metadata, format version, config, tensor binding against the config, vocabulary, label sets;
 * docs/model-format.md) on arbitrary bytes. Whatever the bytes, it must return a model or an
 * error (never both, never neither), and never crash, read out of bounds or leak.
 *
 * The bytes are handed over as a file (a memfd named by /proc/self/fd/N) because the public
 * loader maps a path. Seeds: tests/fuzz/corpus/model-file (tests/fuzz/make_corpus.py).
 * Fuzzing build and run: docs/reliability.md ("Fuzzing the model-file reader"). */
#include "ufo/ufo.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  int fd = memfd_create("ufo-fuzz-model", MFD_CLOEXEC);
  if (fd < 0) {
    perror("memfd_create");
    abort(); /* the harness itself cannot run: not a finding about the reader */
  }
  for (size_t done = 0; done < size;) {
    ssize_t n = write(fd, data + done, size - done);
    if (n <= 0) {
      perror("write");
      abort();
    }
    done += (size_t)n;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  GError *error = NULL;
  UfoModel *model = ufo_model_load(path, &error);
  if ((model == NULL) == (error == NULL)) {
    fprintf(stderr, "ufo_model_load returned %s with %s error\n", model ? "a model" : "NULL",
            error ? "an" : "no");
    abort();
  }
  if (model)
    ufo_model_unref(model);
  g_clear_error(&error);
  close(fd);
  return 0;
}
