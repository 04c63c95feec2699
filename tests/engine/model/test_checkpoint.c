/* ufo-convert internals: the safe unpickler on hand-assembled pickles (opcodes per CPython
 * pickletools), the checkpoint reader on tests/data/convert/small.pth (values in make_pth.py),
 * the refusal of tests/data/convert/evil.pth, and a byte-flip fuzz loop (must never crash). */
#include "checkpoint.h"
#include "pickle.h"
#include "zip.h"

#include "ufo/ufo.h"

#include <string.h>

#define DATA_DIR UFO_SOURCE_ROOT "/tests/data/convert/"

static UfoPkObj *unpickle(const char *bytes, size_t len, UfoUnpickler **u, GError **err)
{
  return ufo_unpickle((const uint8_t *)bytes, len, FALSE, u, err);
}

static void expect_refused(const char *bytes, size_t len, const char *want)
{
  UfoUnpickler *u = NULL;
  g_autoptr(GError) err = NULL;
  g_assert_null(unpickle(bytes, len, &u, &err));
  g_assert_null(u);
  g_assert_nonnull(err);
  if (!strstr(err->message, want))
    g_error("message '%s' lacks '%s'", err->message, want);
}

static void test_values(void)
{
  /* {'a': 1, 'b': [-2, 1.5, 'x'], 'c': (None, True), 'd': -1099511627776} */
  static const char p[] = /* pickletools.optimize(pickle.dumps(..., protocol=2)), octal escapes */
      "\200\002}(X\001\000\000\000aK\001X\001\000\000\000b](J\376\377\377\377G\077\370"
      "\000\000\000\000\000\000X\001\000\000\000xeX\001\000\000\000cN\210\206X\001\000"
      "\000\000d\212\006\000\000\000\000\000\377u.";
  UfoUnpickler *u = NULL;
  g_autoptr(GError) err = NULL;
  UfoPkObj *root = unpickle(p, sizeof p - 1, &u, &err);
  g_assert_no_error(err);
  g_assert_cmpint(root->type, ==, UFO_PK_DICT);
  g_assert_cmpint(ufo_pk_dict_get(root, "a")->i, ==, 1);
  UfoPkObj *b = ufo_pk_dict_get(root, "b");
  g_assert_cmpint(b->type, ==, UFO_PK_LIST);
  g_assert_cmpuint(b->items->len, ==, 3);
  g_assert_cmpint(((UfoPkObj *)b->items->pdata[0])->i, ==, -2);
  g_assert_cmpfloat(((UfoPkObj *)b->items->pdata[1])->f, ==, 1.5);
  g_assert_cmpstr(((UfoPkObj *)b->items->pdata[2])->s, ==, "x");
  UfoPkObj *c = ufo_pk_dict_get(root, "c");
  g_assert_cmpint(c->type, ==, UFO_PK_TUPLE);
  g_assert_cmpint(((UfoPkObj *)c->items->pdata[1])->i, ==, 1);
  g_assert_cmpint(ufo_pk_dict_get(root, "d")->i, ==, -1099511627776LL);
  ufo_unpickler_free(u);
}

static void test_refusals(void)
{
  expect_refused("\x80\x02\x63os\nsystem\nX\x02\x00\x00\x00lsR.", 23,
                 "refusing global 'os.system'");
  expect_refused("\x80\x02\x63posix\nsystem\n.", 17, "refusing global 'posix.system'");
  expect_refused("\x80\x02\x63\x62uiltins\neval\n.", 18, "refusing global 'builtins.eval'");
  /* STACK_GLOBAL of subprocess.Popen */
  expect_refused("\x80\x04\x8c\x0asubprocess\x8c\x05Popen\x93.", 22,
                 "refusing global 'subprocess.Popen'");
  expect_refused("\x80\x02(i__main__\nX\n.", 16, "refusing opcode 0x69 ('i')");
  expect_refused("\x80\x02}q\x00", 5, "data ends without STOP");
  expect_refused("\x80\x02X\xff\xff\xff\x7f", 8, "truncated data");
  expect_refused("\x80\x02h\x05.", 5, "memo entry 5 is undefined");
  expect_refused("\x80\x02s.", 4, "stack underflow");
  expect_refused("\x80\x02K\x01K\x02.", 7, "stack holds 2 values at STOP");
  expect_refused("\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01.", 15, "wider than 64");
  /* a storage type is not something to call */
  expect_refused("\x80\x02\x63torch\nFloatStorage\n)R.", 24, "cannot be called");
}

static GBytes *read_data(const char *name)
{
  g_autofree char *path = g_strconcat(DATA_DIR, name, NULL);
  char *data;
  gsize len;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  return g_bytes_new_take(data, len);
}

static UfoCkptTensor *find(GPtrArray *ts, const char *name)
{
  for (guint i = 0; i < ts->len; i++)
    if (strcmp(((UfoCkptTensor *)ts->pdata[i])->name, name) == 0)
      return ts->pdata[i];
  g_error("no tensor %s", name);
  return NULL;
}

static void test_small_pth(void)
{
  g_autoptr(GBytes) b = read_data("small.pth");
  g_autoptr(GError) err = NULL;
  guint skipped = 0;
  g_autoptr(GPtrArray) ts = ufo_checkpoint_read(g_bytes_get_data(b, NULL), g_bytes_get_size(b),
                                                "backbone.", FALSE, &skipped, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(ts->len, ==, 4);
  g_assert_cmpuint(skipped, ==, 1);
  UfoCkptTensor *a = find(ts, "backbone.a");
  g_assert_cmpint(a->dtype, ==, UFO_DTYPE_F32);
  g_assert_cmpint(a->ndim, ==, 2);
  g_assert_cmpint(a->shape[1], ==, 3);
  const float want_a[6] = {0, 0.25f, 0.5f, 0.75f, 1, 1.25f};
  g_assert_cmpmem(a->data, 24, want_a, 24);
  /* transposed view of arange(6).reshape(2, 3): rows (0, 3), (1, 4), (2, 5) */
  UfoCkptTensor *t = find(ts, "backbone.b");
  g_assert_cmpint(t->shape[0], ==, 3);
  const float want_b[6] = {0, 3, 1, 4, 2, 5};
  g_assert_cmpmem(t->data, 24, want_b, 24);
  UfoCkptTensor *c = find(ts, "backbone.c");
  g_assert_cmpfloat(((float *)c->data)[0], ==, -1.5f);
  g_assert_cmpfloat(((float *)c->data)[1], ==, 2.25f);
  UfoCkptTensor *ids = find(ts, "backbone.ids");
  g_assert_cmpint(ids->dtype, ==, UFO_DTYPE_I64);
  g_assert_cmpint(((int64_t *)ids->data)[3], ==, 3);
  g_clear_pointer(&ts, g_ptr_array_unref);

  /* all keys */
  ts = ufo_checkpoint_read(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "", FALSE, &skipped,
                           &err);
  g_assert_no_error(err);
  g_assert_cmpuint(ts->len, ==, 5);
  g_assert_cmpfloat(((float *)find(ts, "head.w")->data)[0], ==, 7.0f);
}

static void test_evil_pth(void)
{
  g_autoptr(GBytes) b = read_data("evil.pth");
  g_autoptr(GError) err = NULL;
  guint skipped;
  g_assert_null(ufo_checkpoint_read(g_bytes_get_data(b, NULL), g_bytes_get_size(b), "backbone.",
                                    FALSE, &skipped, &err));
  /* pickle spells os.system as posix.system on Linux */
  g_assert_true(strstr(err->message, "refusing global 'posix.system'") ||
                strstr(err->message, "refusing global 'os.system'"));
}

static void test_zip_errors(void)
{
  g_autoptr(GError) err = NULL;
  g_assert_null(ufo_zip_open((const uint8_t *)"PK", 2, &err));
  g_assert_nonnull(strstr(err->message, "too short"));
  g_clear_error(&err);
  uint8_t junk[100] = {0};
  g_assert_null(ufo_zip_open(junk, sizeof junk, &err));
  g_assert_nonnull(strstr(err->message, "no end-of-central-directory record"));
  g_clear_error(&err);
  /* CRC-32 of "123456789" is 0xCBF43926 (the standard check value) */
  g_assert_cmphex(ufo_crc32((const uint8_t *)"123456789", 9), ==, 0xCBF43926u);
  /* a flipped data byte is caught by the CRC */
  g_autoptr(GBytes) b = read_data("small.pth");
  g_autofree uint8_t *buf = g_memdup2(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
  guint skipped;
  buf[100] ^= 1; /* inside data.pkl, which starts after the first local header */
  g_assert_null(ufo_checkpoint_read(buf, g_bytes_get_size(b), "backbone.", FALSE, &skipped, &err));
  g_assert_nonnull(strstr(err->message, "CRC-32 mismatch"));
}

static void test_fuzz(void)
{
  g_autoptr(GBytes) b = read_data("small.pth");
  size_t len = g_bytes_get_size(b);
  g_autofree uint8_t *buf = g_malloc(len);
  GRand *rand = g_rand_new_with_seed(99);
  int ok = 0;
  for (int it = 0; it < 400; it++) {
    memcpy(buf, g_bytes_get_data(b, NULL), len);
    size_t n = len;
    int flips = g_rand_int_range(rand, 1, 6);
    for (int f = 0; f < flips; f++)
      buf[g_rand_int_range(rand, 0, (gint32)len)] ^= (uint8_t)g_rand_int_range(rand, 1, 256);
    if (it % 4 == 3)
      n = (size_t)g_rand_int_range(rand, 0, (gint32)len);
    GError *err = NULL;
    guint skipped;
    GPtrArray *ts = ufo_checkpoint_read(buf, n, "", it % 2, &skipped, &err);
    g_assert_true((ts == NULL) != (err == NULL));
    if (ts) {
      ok++;
      g_ptr_array_unref(ts);
    } else {
      g_error_free(err);
    }
  }
  g_rand_free(rand);
  g_test_message("fuzz: %d of 400 mutated checkpoints read", ok);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/model/checkpoint/pickle-values", test_values);
  g_test_add_func("/model/checkpoint/pickle-refusals", test_refusals);
  g_test_add_func("/model/checkpoint/small-pth", test_small_pth);
  g_test_add_func("/model/checkpoint/evil-pth", test_evil_pth);
  g_test_add_func("/model/checkpoint/zip-errors", test_zip_errors);
  g_test_add_func("/model/checkpoint/fuzz", test_fuzz);
  return g_test_run();
}
