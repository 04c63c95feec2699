/* The engine's own vocabulary and label lists (engine/data, UFO_DATA_DIR) for the tests that
 * link libufo's tokenizer. */
#ifndef UFO_TESTS_ENGINE_DATA_H
#define UFO_TESTS_ENGINE_DATA_H

#include "text/tokenizer.h"

#include <glib.h>

/* engine/data/labels/<name>, one name a line (g_strfreev) */
static inline char **engine_data_labels(const char *name, int *n)
{
  g_autofree char *path = g_build_filename(UFO_DATA_DIR, "labels", name, NULL);
  g_autofree char *txt = NULL;
  g_assert_true(g_file_get_contents(path, &txt, NULL, NULL));
  g_strchomp(txt);
  char **lines = g_strsplit(txt, "\n", -1);
  *n = (int)g_strv_length(lines);
  return lines;
}

/* the BERT vocabulary engine/data/vocab.txt */
static inline UfoTokenizer *engine_data_tokenizer(void)
{
  g_autofree char *path = g_build_filename(UFO_DATA_DIR, "vocab.txt", NULL);
  g_autofree char *txt = NULL;
  gsize len;
  g_assert_true(g_file_get_contents(path, &txt, &len, NULL));
  GError *err = NULL;
  UfoTokenizer *tok = ufo_tokenizer_new(txt, len, &err);
  g_assert_no_error(err);
  return tok;
}

#endif
