/* A main() for the fuzz targets in builds without libFuzzer: runs every file given (directories:
 * every file in them) through LLVMFuzzerTestOneInput once. meson runs the seed corpus this way in
 * every test build, so the corpus stays a regression test under ASan/UBSan. */
#include <glib.h>
#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
  gchar *data = NULL;
  gsize len = 0;
  GError *error = NULL;
  if (!g_file_get_contents(path, &data, &len, &error)) {
    fprintf(stderr, "%s\n", error->message);
    g_error_free(error);
    return 1;
  }
  LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  g_free(data);
  return 0;
}

int main(int argc, char **argv)
{
  int n = 0, bad = 0;
  for (int i = 1; i < argc; i++) {
    if (!g_file_test(argv[i], G_FILE_TEST_IS_DIR)) {
      bad += run_file(argv[i]);
      n++;
      continue;
    }
    GDir *dir = g_dir_open(argv[i], 0, NULL);
    for (const char *f; dir && (f = g_dir_read_name(dir));) {
      gchar *path = g_build_filename(argv[i], f, NULL);
      bad += run_file(path);
      n++;
      g_free(path);
    }
    if (dir)
      g_dir_close(dir);
  }
  printf("%d inputs run, %d unreadable\n", n, bad);
  return n == 0 || bad ? 1 : 0;
}
