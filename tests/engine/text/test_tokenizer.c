/* Tokenizer tests: every encode/decode fixture of tests/data/tokenizer (made with the HF
 * tokenizer, tools/reference/make_tokenizer_fixtures.py) plus hand-written cases. */
#include "text/normalize.h"
#include "text/tokenizer-private.h"
#include "text/tokenizer.h"
#include "ufo/ufo.h"

#include <json-glib/json-glib.h>
#include <string.h>

static UfoTokenizer *tok;

/* UFO_TOKENIZER_FIXTURES overrides the fixture directory (e.g. to try altered fixtures). */
static char *fixture_path(const char *name)
{
  const char *dir = g_getenv("UFO_TOKENIZER_FIXTURES");
  return g_build_filename(dir ? dir : TOKENIZER_FIXTURES_DIR, name, NULL);
}

/* Calls fn(object) for each line of a JSON-lines fixture; returns the number of lines. */
static int for_each_line(const char *name, void (*fn)(JsonObject *, int *), int *failures)
{
  g_autofree char *path = fixture_path(name);
  g_autofree char *data = NULL;
  g_autoptr(GError) error = NULL;
  g_assert_true(g_file_get_contents(path, &data, NULL, &error));
  g_assert_no_error(error);
  g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
  int n = 0;
  g_autoptr(JsonParser) parser = json_parser_new();
  for (char **l = lines; *l; l++) {
    if (!**l)
      continue;
    g_assert_true(json_parser_load_from_data(parser, *l, -1, &error));
    g_assert_no_error(error);
    fn(json_node_get_object(json_parser_get_root(parser)), failures);
    n++;
  }
  return n;
}

static GArray *ids_of(JsonObject *o)
{
  JsonArray *a = json_object_get_array_member(o, "ids");
  GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  for (guint i = 0; i < json_array_get_length(a); i++) {
    int32_t v = (int32_t)json_array_get_int_element(a, i);
    g_array_append_val(ids, v);
  }
  return ids;
}

static char *ids_str(const GArray *ids)
{
  GString *s = g_string_new("[");
  for (guint i = 0; i < ids->len && i < 40; i++)
    g_string_append_printf(s, "%s%d", i ? " " : "", g_array_index(ids, int32_t, i));
  g_string_append(s, ids->len > 40 ? " ...]" : "]");
  return g_string_free(s, FALSE);
}

static void check_encode(JsonObject *o, int *failures)
{
  const char *text = json_object_get_string_member(o, "text");
  g_autoptr(GArray) want = ids_of(o);
  g_autoptr(GArray) got = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_autoptr(GError) error = NULL;
  gboolean ok = ufo_tokenizer_encode(tok, text, 512, got, &error);
  if (!ok || got->len != want->len ||
      memcmp(got->data, want->data, want->len * sizeof(int32_t)) != 0) {
    g_autofree char *ws = ids_str(want);
    g_autofree char *gs = ids_str(got);
    if (*failures < 20)
      g_printerr("encode mismatch for \"%s\":\n  want %s\n  got  %s %s\n", text, ws, gs,
                 error ? error->message : "");
    (*failures)++;
  }
}

static void check_decode(JsonObject *o, int *failures)
{
  g_autoptr(GArray) ids = ids_of(o);
  const char *want[2] = {json_object_get_string_member(o, "keep"),
                         json_object_get_string_member(o, "skip")};
  /* decode_into reuses one buffer across every fixture: what an earlier, longer text left in it
   * must not show through */
  static GString *reused;
  if (!reused)
    reused = g_string_new("left over from no fixture at all, longer than most of them");
  for (int skip = 0; skip < 2; skip++) {
    g_autofree char *got =
        ufo_tokenizer_decode(tok, (const int32_t *)ids->data, ids->len, (gboolean)skip);
    ufo_tokenizer_decode_into(tok, (const int32_t *)ids->data, ids->len, (gboolean)skip, reused);
    if (strcmp(reused->str, got) != 0 || reused->len != strlen(got)) {
      if (*failures < 20)
        g_printerr("decode_into(skip=%d) \"%s\" differs from decode \"%s\"\n", skip, reused->str,
                   got);
      (*failures)++;
    }
    if (strcmp(got, want[skip]) != 0) {
      g_autofree char *is = ids_str(ids);
      if (*failures < 20)
        g_printerr("decode(skip=%d) mismatch for %s:\n  want \"%s\"\n  got  \"%s\"\n", skip, is,
                   want[skip], got);
      (*failures)++;
    }
  }
}

static void test_encode_fixtures(void)
{
  int failures = 0;
  int n = for_each_line("encode.jsonl", check_encode, &failures);
  g_print("# tokenizer encode fixtures: %d/%d match (%.2f%%)\n", n - failures, n,
          n ? 100.0 * (n - failures) / n : 0.0);
  g_assert_cmpint(n, >=, 2000);
  g_assert_cmpint(failures, ==, 0);
}

static void test_decode_fixtures(void)
{
  int failures = 0;
  int n = for_each_line("decode.jsonl", check_decode, &failures);
  g_print("# tokenizer decode fixtures: %d/%d match (%d sequences x skip_special true/false)\n",
          2 * n - failures, 2 * n, n);
  g_assert_cmpint(n, >=, 2000);
  g_assert_cmpint(failures, ==, 0);
}

static void count_word(const char *word, size_t len, void *data)
{
  (*(int *)data)++;
}

static gboolean is_cjk(gunichar c)
{
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
         (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
         (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static void append_hex(GString *s, const char *utf8)
{
  for (const unsigned char *p = (const unsigned char *)utf8; *p; p++)
    g_string_append_printf(s, "%02x", *p);
}

/* "HEX NORM_HEX WORDS" of one code point, as in codepoints.txt. */
static char *codepoint_line(gunichar c, const char *norm, int words)
{
  GString *s = g_string_new(NULL);
  g_string_append_printf(s, "%X ", c);
  if (*norm)
    append_hex(s, norm);
  else
    g_string_append_c(s, '-');
  g_string_append_printf(s, " %d", words);
  return g_string_free(s, FALSE);
}

/* Normalizer + pre-tokenizer on every code point against codepoints.txt: HF's results for the
 * code points that do not follow the three rules of make_tokenizer_fixtures.py (CJK ideograph
 * -> " c ", 3 words; private use -> "", 0 words; anything else -> c, 1 word). */
static void test_codepoints(void)
{
  g_autofree char *path = fixture_path("codepoints.txt");
  g_autofree char *data = NULL;
  g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
  g_autoptr(GHashTable) want = g_hash_table_new(NULL, NULL);
  g_auto(GStrv) lines = g_strsplit(data, "\n", -1);
  for (char **l = lines; *l; l++) {
    if (**l)
      g_hash_table_insert(want, GUINT_TO_POINTER(strtoul(*l, NULL, 16)), *l);
  }
  int checked = 0, failures = 0;
  for (gunichar c = 1; c < 0x110000; c++) {
    if (c >= 0xD800 && c <= 0xDFFF)
      continue;
    char ch[8] = {0};
    g_unichar_to_utf8(c, ch);
    g_autofree char *norm = ufo_text_normalize(ch, -1);
    g_autofree char *ctx = g_strconcat("a", norm, "a", NULL);
    int words = 0;
    if (*norm)
      ufo_text_pretokenize(ctx, strlen(ctx), count_word, &words);
    g_autofree char *got = codepoint_line(c, norm, words);
    g_autofree char *rule = NULL;
    const char *exp = g_hash_table_lookup(want, GUINT_TO_POINTER(c));
    if (!exp) {
      if (is_cjk(c)) {
        g_autofree char *spaced = g_strconcat(" ", ch, " ", NULL);
        rule = codepoint_line(c, spaced, 3);
      } else if ((c >= 0xE000 && c <= 0xF8FF) || (c >= 0xF0000 && c <= 0xFFFFD) ||
                 (c >= 0x100000 && c <= 0x10FFFD)) {
        rule = codepoint_line(c, "", 0);
      } else {
        rule = codepoint_line(c, ch, 1);
      }
      exp = rule;
    }
    if (strcmp(got, exp) != 0) {
      if (failures < 20)
        g_printerr("code point mismatch: want \"%s\", got \"%s\"\n", exp, got);
      failures++;
    }
    checked++;
  }
  g_print("# tokenizer code points: %d/%d match (%u listed exceptions)\n", checked - failures,
          checked, g_hash_table_size(want));
  g_assert_cmpint(checked, ==, 1112063);
  g_assert_cmpint(failures, ==, 0);
}

/* Hand-checked ids: vocab.txt line numbers (0-based) of the expected pieces. */
static void expect_encode(const char *text, int max_len, const int32_t *want, guint n)
{
  g_autoptr(GArray) got = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_autoptr(GError) error = NULL;
  g_assert_true(ufo_tokenizer_encode(tok, text, max_len, got, &error));
  g_assert_no_error(error);
  g_assert_cmpmem(got->data, got->len * sizeof(int32_t), want, n * sizeof(int32_t));
}

static void test_vocab(void)
{
  g_assert_cmpint(ufo_tokenizer_vocab_size(tok), ==, 30525);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "[PAD]"), ==, UFO_TOKEN_PAD);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "[UNK]"), ==, UFO_TOKEN_UNK);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "[CLS]"), ==, UFO_TOKEN_CLS);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "[SEP]"), ==, UFO_TOKEN_SEP);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "[MASK]"), ==, UFO_TOKEN_BERT_MASK);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, ","), ==, UFO_TOKEN_COMMA);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "##,"), ==, 29623);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "the"), ==, 1996);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "person"), ==, 2711);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "[DEC]"), ==, UFO_TOKEN_DEC);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "[ENC]"), ==, UFO_TOKEN_ENC);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "<MASK>"), ==, UFO_TOKEN_MASK);
  g_assert_cmpint(ufo_tokenizer_token_to_id(tok, "no-such-token"), ==, -1);
  g_assert_cmpstr(ufo_tokenizer_id_to_token(tok, 2711), ==, "person");
  g_assert_null(ufo_tokenizer_id_to_token(tok, 30525));
  g_assert_null(ufo_tokenizer_id_to_token(tok, -1));
  g_assert_true(ufo_tokenizer_is_special(tok, UFO_TOKEN_DEC));
  g_assert_true(ufo_tokenizer_is_special(tok, UFO_TOKEN_UNK));
  g_assert_false(ufo_tokenizer_is_special(tok, UFO_TOKEN_MASK));
  g_assert_false(ufo_tokenizer_is_special(tok, UFO_TOKEN_COMMA));
}

static void test_hand_encode(void)
{
  /* "Task: detection; Class: person," -> task : detection ; class : person , */
  static const int32_t det[] = {101, 4708, 1024, 10788, 1025, 2465, 1024, 2711, 1010, 102};
  expect_encode("Task: detection; Class: person,", 512, det, G_N_ELEMENTS(det));
  /* numbers split into pieces: 2240 -> 224 ##0 (inference spec §4.2) */
  static const int32_t bins[] = {101, 19711, 2692, 102};
  expect_encode("2240", 512, bins, G_N_ELEMENTS(bins));
  /* accents stripped, lowercased: "CAFÉ" -> cafe */
  static const int32_t cafe[] = {101, 7668, 102};
  expect_encode("CAF\xc3\x89", 512, cafe, G_N_ELEMENTS(cafe));
  /* added tokens: <MASK> (also as <mask>), [DEC] verbatim only; [dec] is text */
  static const int32_t added[] = {101, 30524, 30524, 30522, 1031, 11703, 1033, 102};
  expect_encode("<MASK><mask> [DEC] [dec]", 512, added, G_N_ELEMENTS(added));
  /* empty and whitespace-only text */
  static const int32_t empty[] = {101, 102};
  expect_encode("", 512, empty, 2);
  expect_encode(" \t\n", 512, empty, 2);
  /* truncation keeps max_len - 2 pieces */
  static const int32_t trunc[] = {101, 1037, 1038, 1039, 102};
  expect_encode("a b c d e", 5, trunc, G_N_ELEMENTS(trunc));
  expect_encode("a b c", 2, empty, 2);
  /* a word of 101 characters is [UNK]; 100 characters is still split into pieces */
  char word[102];
  memset(word, 'x', 101);
  word[101] = 0;
  static const int32_t unk[] = {101, 100, 102};
  expect_encode(word, 512, unk, G_N_ELEMENTS(unk));
  word[100] = 0;
  g_autoptr(GArray) got = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_assert_true(ufo_tokenizer_encode(tok, word, 512, got, NULL));
  g_assert_cmpuint(got->len, >, 3);
  g_assert_cmpint(g_array_index(got, int32_t, 1), !=, 100);
}

static void test_hand_decode(void)
{
  /* [CLS] person ##, 12 , car [SEP] -> "person, 12, car" */
  static const int32_t a[] = {101, 2711, 29623, 2260, 1010, 2482, 102};
  g_autofree char *s = ufo_tokenizer_decode(tok, a, G_N_ELEMENTS(a), TRUE);
  g_assert_cmpstr(s, ==, "person, 12, car");
  g_autofree char *k = ufo_tokenizer_decode(tok, a, G_N_ELEMENTS(a), FALSE);
  g_assert_cmpstr(k, ==, "[CLS] person, 12, car [SEP]");
  /* first token keeps its ##; out-of-range ids are dropped; <MASK> is not special */
  static const int32_t b[] = {29623, 99999, -5, 30524, 30524};
  g_autofree char *t = ufo_tokenizer_decode(tok, b, G_N_ELEMENTS(b), TRUE);
  g_assert_cmpstr(t, ==, "##, <MASK> <MASK>");
  /* "do not" survives; "it ' s" -> "it's" (inference spec §0 item 3) */
  static const int32_t c[] = {2079, 2025, 2009, 1005, 1055};
  g_autofree char *u = ufo_tokenizer_decode(tok, c, G_N_ELEMENTS(c), TRUE);
  g_assert_cmpstr(u, ==, "do not it's");
  g_autofree char *e = ufo_tokenizer_decode(tok, NULL, 0, TRUE);
  g_assert_cmpstr(e, ==, "");
}

static void test_invalid(void)
{
  static const char *const bad[] = {
      "\xff",     "abc\xc3",          "\xc3\x28",   "\xe2\x82", "\xed\xa0\x80", "\xf4\x90\x80\x80",
      "\xc0\xaf", "ok [SEP] \x80 ok", "<MASK>\xfe",
  };
  for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_autoptr(GError) error = NULL;
    g_assert_false(ufo_tokenizer_encode(tok, bad[i], 512, ids, &error));
    g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
    g_assert_nonnull(strstr(error->message, "UTF-8"));
    g_assert_cmpuint(ids->len, ==, 0);
  }
  g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_autoptr(GError) error = NULL;
  g_assert_false(ufo_tokenizer_encode(tok, "a", 1, ids, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&error);
  g_assert_false(ufo_tokenizer_encode(tok, NULL, 512, ids, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
}

/* Random bytes and random code points: encode never crashes, fails exactly on invalid UTF-8 and
 * otherwise returns in-range ids between [CLS] and [SEP]; decode accepts any id. */
static void test_random_input(void)
{
  g_autoptr(GRand) rng = g_rand_new_with_seed(1234);
  int valid = 0, invalid = 0;
  for (int i = 0; i < 3000; i++) {
    GString *s = g_string_new(NULL);
    int n = g_rand_int_range(rng, 0, 40);
    for (int j = 0; j < n; j++) {
      if (i % 2) {
        guint8 b = (guint8)g_rand_int_range(rng, 1, 256);
        g_string_append_c(s, (char)b);
      } else {
        gunichar c = (gunichar)g_rand_int_range(rng, 1, 0x110000);
        if (c < 0xD800 || c > 0xDFFF)
          g_string_append_unichar(s, c);
      }
    }
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_autoptr(GError) error = NULL;
    gboolean ok = ufo_tokenizer_encode(tok, s->str, 16, ids, &error);
    g_assert_cmpint(ok, ==, g_utf8_validate(s->str, -1, NULL));
    if (ok) {
      valid++;
      g_assert_cmpuint(ids->len, >=, 2);
      g_assert_cmpuint(ids->len, <=, 16);
      g_assert_cmpint(g_array_index(ids, int32_t, 0), ==, UFO_TOKEN_CLS);
      g_assert_cmpint(g_array_index(ids, int32_t, ids->len - 1), ==, UFO_TOKEN_SEP);
      for (guint k = 0; k < ids->len; k++)
        g_assert_nonnull(ufo_tokenizer_id_to_token(tok, g_array_index(ids, int32_t, k)));
    } else {
      invalid++;
      g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
    }
    g_string_free(s, TRUE);
    int32_t rid[8];
    for (int k = 0; k < 8; k++)
      rid[k] = (int32_t)g_rand_int_range(rng, -3, 30530);
    g_free(ufo_tokenizer_decode(tok, rid, 8, i % 2));
  }
  g_assert_cmpint(valid, >, 1000);
  g_assert_cmpint(invalid, >, 1000);
}

static void test_bad_vocab(void)
{
  g_autoptr(GError) error = NULL;
  g_assert_null(ufo_tokenizer_new("", 0, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&error);
  const char *no_unk = "[PAD]\n[CLS]\n[SEP]\na\n";
  g_assert_null(ufo_tokenizer_new(no_unk, strlen(no_unk), &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_FORMAT);
  g_assert_nonnull(strstr(error->message, "[UNK]"));
  g_clear_error(&error);
  g_assert_null(ufo_tokenizer_new("\xff\n", 2, &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_FORMAT);
  g_clear_error(&error);
  g_assert_null(ufo_tokenizer_new_from_file("/nonexistent/vocab.txt", &error));
  g_assert_error(error, UFO_ERROR, UFO_ERROR_IO);
  g_clear_error(&error);
  /* a tiny vocabulary without the added tokens still works (no trailing newline, CRLF) */
  const char *tiny = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nhello\r\n##s\r\n,";
  g_autoptr(UfoTokenizer) t = ufo_tokenizer_new(tiny, strlen(tiny), &error);
  g_assert_no_error(error);
  g_assert_cmpint(ufo_tokenizer_vocab_size(t), ==, 7);
  g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  g_assert_true(ufo_tokenizer_encode(t, "Hellos, <MASK> world", 512, ids, &error));
  static const int32_t want[] = {2, 4, 5, 6, 1, 1, 1, 1, 3}; /* < mask > world unknown */
  g_assert_cmpmem(ids->data, ids->len * sizeof(int32_t), want, sizeof(want));
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_autoptr(GError) error = NULL;
  tok = ufo_tokenizer_new_from_file(TOKENIZER_VOCAB, &error);
  if (!tok) {
    g_printerr("cannot load %s: %s\n", TOKENIZER_VOCAB, error->message);
    return 1;
  }
  g_test_add_func("/text/tokenizer/vocab", test_vocab);
  g_test_add_func("/text/tokenizer/encode-hand", test_hand_encode);
  g_test_add_func("/text/tokenizer/decode-hand", test_hand_decode);
  g_test_add_func("/text/tokenizer/invalid-utf8", test_invalid);
  g_test_add_func("/text/tokenizer/bad-vocab", test_bad_vocab);
  g_test_add_func("/text/tokenizer/random-input", test_random_input);
  g_test_add_func("/text/tokenizer/encode-fixtures", test_encode_fixtures);
  g_test_add_func("/text/tokenizer/decode-fixtures", test_decode_fixtures);
  g_test_add_func("/text/tokenizer/codepoints", test_codepoints);
  int rc = g_test_run();
  ufo_tokenizer_free(tok);
  return rc;
}
