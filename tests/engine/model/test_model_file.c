/* Model bundle tests: round trips in F32/F16/BF16, one test per kind of bad input (each error must
 * name the problem), and a fuzz loop over a small saved model (must never crash under ASan). */
#include "model/data.h"
#include "model/model.h"
#include "model/prng.h"
#include "model/safetensors.h"

#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

/* A small config (word embeddings 30525 x 8) so files stay near 1 MB. */
static const char *small_config =
    "{\"name\": \"small\", \"embed_dim\": 8, \"num_heads\": 2, \"ffn_dim\": 16, \"num_layers\": 2, "
    "\"global_layers\": [1], \"mean_layers\": [0, 1], \"window_size\": 14, \"patch_size\": 16, "
    "\"img_size\": 224, \"vocab_size\": 30525, \"max_position\": 16, \"ln_eps\": 1e-6, "
    "\"text_ln_eps\": 1e-12, \"pixel_mean\": [1, 2, 3], \"pixel_std\": [4, 5, 6], \"tasks\": {"
    "\"detection\": {\"input_size\": 224, \"grid_per_window\": 1, \"num_bins\": 448, "
    "\"max_length\": 4, \"nms\": \"soft\", \"label_set\": \"coco\"},"
    "\"caption\": {\"input_size\": 224, \"max_length\": 4, \"beam_size\": 2}}}";

static char *tmp_dir;

static char *tmp_path(const char *name)
{
  return g_build_filename(tmp_dir, name, NULL);
}

static GBytes *read_file(const char *path)
{
  char *data;
  gsize len;
  g_assert_true(g_file_get_contents(path, &data, &len, NULL));
  return g_bytes_new_take(data, len);
}

static void write_file(const char *path, const void *data, size_t len)
{
  g_assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

/* Loads path and expects failure with `code` and a message holding `want`. */
static void expect_load_error(const char *path, int code, const char *want)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) m = ufo_model_load(path, &err);
  if (m)
    g_error("%s loaded, expected an error with '%s'", path, want);
  g_assert_error(err, UFO_ERROR, code);
  if (!strstr(err->message, want))
    g_error("message '%s' lacks '%s'", err->message, want);
}

static char *save_small(const char *name, UfoDType dtype)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) m = ufo_model_new_random(small_config, 3, &err);
  g_assert_no_error(err);
  char *path = tmp_path(name);
  g_assert_true(ufo_model_save(m, path, dtype, &err));
  g_assert_no_error(err);
  return path;
}

/* Rewrites the JSON header of a saved file, replacing the first `from` by `to`. */
static char *edit_header(const char *src, const char *name, const char *from, const char *to)
{
  g_autoptr(GBytes) b = read_file(src);
  const uint8_t *d = g_bytes_get_data(b, NULL);
  size_t len = g_bytes_get_size(b);
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--)
    n = (n << 8) | d[i];
  g_autofree char *hdr = g_strndup((const char *)d + 8, n);
  char *at = strstr(hdr, from);
  if (!at)
    g_error("'%s' not in the header", from);
  g_autofree char *nh = g_strdup_printf("%.*s%s%s", (int)(at - hdr), hdr, to, at + strlen(from));
  uint64_t nn = strlen(nh);
  GByteArray *out = g_byte_array_new();
  for (int i = 0; i < 8; i++) {
    uint8_t c = (uint8_t)(nn >> (8 * i));
    g_byte_array_append(out, &c, 1);
  }
  g_byte_array_append(out, (const uint8_t *)nh, (guint)nn);
  g_byte_array_append(out, d + 8 + n, (guint)(len - 8 - n));
  char *path = tmp_path(name);
  write_file(path, out->data, out->len);
  g_byte_array_unref(out);
  return path;
}

static void assert_same_weights(const UfoModel *a, const UfoModel *b, double rel_tol,
                                double abs_tol)
{
  UfoWeights wa = a->w, wb = b->w;
  int n;
  g_autofree UfoTensorSpec *sa = ufo_model_tensor_specs(&a->cfg, &wa, &n);
  g_autofree UfoTensorSpec *sb = ufo_model_tensor_specs(&b->cfg, &wb, &n);
  for (int i = 0; i < n; i++) {
    if (sa[i].is_index)
      continue;
    size_t numel = 1;
    for (int d = 0; d < sa[i].ndim; d++)
      numel *= (size_t)sa[i].shape[d];
    const float *x = *sa[i].slot, *y = *sb[i].slot;
    if (rel_tol == 0) {
      if (memcmp(x, y, numel * 4) != 0)
        g_error("tensor %s differs", sa[i].name);
      continue;
    }
    for (size_t k = 0; k < numel; k++)
      if (fabsf(x[k] - y[k]) > rel_tol * fabsf(x[k]) + abs_tol)
        g_error("tensor %s [%zu]: %g vs %g", sa[i].name, k, x[k], y[k]);
  }
}

static void test_round_trip(void)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) ref = ufo_model_new_random("tiny", 0, &err);
  g_assert_no_error(err);
  /* the first qkv values of tiny equal the PRNG stream (weights-prng.md) */
  float first[64];
  ufo_prng_fill_tensor("backbone.layers.0.attn.qkv.weight", 0, (const int64_t[]){1, 64}, 2, first);
  g_assert_cmpmem(ref->w.layers[0].qkv_w, 16, first, 16);
  g_assert_cmpint(ref->w.layers[1].rel_pos_len, ==, 55); /* global: 2 * 28 - 1 */
  g_assert_cmpint(ref->w.layers[0].rel_pos_len, ==, 27);

  const UfoDType dtypes[] = {UFO_DTYPE_F32, UFO_DTYPE_F16, UFO_DTYPE_BF16};
  /* F16: 11-bit significand (rel. error <= 2^-11), subnormals below 2^-14 are spaced 2^-24
   * (abs. error <= 2^-25); BF16: 8 bits (<= 2^-8), same exponent range as F32 */
  const double tol[] = {0, 0x1p-11, 0x1p-8}, abs_tol[] = {0, 0x1p-25, 0};
  for (int i = 0; i < 3; i++) {
    g_autofree char *path = tmp_path("tiny.safetensors");
    g_assert_true(ufo_model_save(ref, path, dtypes[i], &err));
    g_assert_no_error(err);
    g_autoptr(UfoModel) m = ufo_model_load(path, &err);
    g_assert_no_error(err);
    g_assert_cmpmem(&m->cfg, sizeof m->cfg, &ref->cfg, sizeof ref->cfg);
    if (i == 0) {
      assert_same_weights(ref, m, 0, 0);
    } else {
      /* each value equals the dtype rounding of the original (exact), and is within tol */
      const float *x = ref->w.word_emb, *y = m->w.word_emb;
      for (size_t k = 0; k < (size_t)30525 * 64; k++) {
        float want =
            i == 1 ? ufo_f16_to_f32(ufo_f32_to_f16(x[k])) : ufo_bf16_to_f32(ufo_f32_to_bf16(x[k]));
        g_assert_cmpfloat(y[k], ==, want);
      }
      assert_same_weights(ref, m, tol[i], abs_tol[i]);
    }
    int n;
    const char *const *labels = ufo_model_get_labels(m, UFO_TASK_DETECTION, &n);
    g_assert_cmpint(n, ==, 80);
    g_assert_cmpstr(labels[0], ==, "person");
    g_assert_cmpstr(labels[79], ==, "toothbrush");
    g_assert_null(labels[80]);
    labels = ufo_model_get_labels(m, UFO_TASK_SEMANTIC, &n);
    g_assert_cmpint(n, ==, 150);
    g_assert_cmpstr(labels[0], ==, "wall");
    g_assert_null(ufo_model_get_labels(m, UFO_TASK_CAPTION, &n));
    g_assert_cmpint(n, ==, 0);
    g_assert_true(ufo_model_supports_task(m, UFO_TASK_GROUNDING));
    g_assert_cmpint(ufo_tokenizer_vocab_size(m->tokenizer), ==, 30525);
    g_assert_cmpint(ufo_tokenizer_token_to_id(m->tokenizer, "[DEC]"), ==, 30522);
    g_unlink(path);
  }
}

static void test_in_place_and_refcount(void)
{
  g_autoptr(GError) err = NULL;
  g_autofree char *path = save_small("small.safetensors", UFO_DTYPE_F32);
  UfoModel *m = ufo_model_load(path, &err);
  g_assert_no_error(err);
  /* F32 data is used in place from the mapping (no copy) */
  const char *base = g_mapped_file_get_contents(m->mapped);
  size_t len = g_mapped_file_get_length(m->mapped);
  g_assert_true((const char *)m->w.word_emb > base && (const char *)m->w.word_emb < base + len);
  g_assert_cmpuint(m->owned->len, ==, 0);
  g_assert_true(ufo_model_ref(m) == m);
  ufo_model_unref(m);
  g_assert_cmpint(m->w.layers[1].rel_pos_len, ==, 27); /* global at 224: 2 * 14 - 1 */
  g_assert_false(ufo_model_supports_task(m, UFO_TASK_SEMANTIC));
  ufo_model_unref(m);
}

static void test_random_errors(void)
{
  g_autoptr(GError) err = NULL;
  g_assert_null(ufo_model_new_random("vit-z", 0, &err));
  g_assert_nonnull(strstr(err->message, "unknown built-in config 'vit-z'"));
  g_clear_error(&err);
  g_assert_null(ufo_model_new_random("{\"embed_dim\": 8}", 0, &err));
  g_assert_nonnull(strstr(err->message, "'num_heads': missing"));
  g_clear_error(&err);
  /* a label set that is not embedded */
  g_autofree char *cfg = g_strdup(small_config);
  char *at = strstr(cfg, "\"coco\"");
  memcpy(at, "\"lvis\"", 6);
  g_assert_null(ufo_model_new_random(cfg, 0, &err));
  g_assert_nonnull(strstr(err->message, "no embedded label set 'lvis'"));
}

/* ---------------------------------------------------------------- bad container bytes */

static void test_short_files(void)
{
  g_autofree char *p = tmp_path("short.safetensors");
  write_file(p, "\x10\0\0", 3);
  expect_load_error(p, UFO_ERROR_FORMAT, "shorter than the 8-byte header length");
  /* header length past EOF */
  write_file(p, "\xe8\x03\0\0\0\0\0\0{}", 10);
  expect_load_error(p, UFO_ERROR_FORMAT, "header length 1000 is past the end of the file");
  /* header length 2^64 - 1 must not wrap */
  write_file(p, "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10);
  expect_load_error(p, UFO_ERROR_FORMAT, "header length 18446744073709551615 is past the end");
  /* 8 + N would wrap to a small value */
  write_file(p, "\xf9\xff\xff\xff\xff\xff\xff\xff{}", 10);
  expect_load_error(p, UFO_ERROR_FORMAT, "is past the end");
  write_file(p, "\x02\0\0\0\0\0\0\0[]", 10);
  expect_load_error(p, UFO_ERROR_FORMAT, "header is not a JSON object");
  g_autofree char *missing = tmp_path("does-not-exist.safetensors");
  expect_load_error(missing, UFO_ERROR_IO, "cannot open model file");
}

static void test_truncated(void)
{
  g_autofree char *src = save_small("trunc-src.safetensors", UFO_DTYPE_F32);
  g_autoptr(GBytes) b = read_file(src);
  g_autofree char *p = tmp_path("trunc.safetensors");
  write_file(p, g_bytes_get_data(b, NULL), g_bytes_get_size(b) - 4);
  expect_load_error(p, UFO_ERROR_FORMAT, "past the data section");
  /* cut inside the JSON header */
  write_file(p, g_bytes_get_data(b, NULL), 4000);
  expect_load_error(p, UFO_ERROR_FORMAT, "past the end of the file");
}

static void test_bad_header_json(void)
{
  g_autofree char *src = save_small("hdr-src.safetensors", UFO_DTYPE_F32);
  g_autofree char *p = NULL;
  p = edit_header(src, "h1.safetensors", "\"__metadata__\":{", "\"__metadata__\":{{");
  expect_load_error(p, UFO_ERROR_FORMAT, "header is not valid JSON");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "h2.safetensors", "\"__metadata__\":{", "\"__metadata__\":{\"x\":5,");
  expect_load_error(p, UFO_ERROR_FORMAT, "__metadata__ value of 'x' is not a string");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "h3.safetensors", "\"backbone.pos_embed\":{",
                  "\"backbone.ln\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                  "\"backbone.ln\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4]},"
                  "\"backbone.pos_embed\":{");
  expect_load_error(p, UFO_ERROR_FORMAT, "duplicate key 'backbone.ln'");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "h4.safetensors", "\"dtype\":\"F32\"", "\"dtype\":\"F33\"");
  expect_load_error(p, UFO_ERROR_FORMAT, "unknown dtype 'F33'");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "h5.safetensors", "\"shape\":[", "\"shape\":[-1,");
  expect_load_error(p, UFO_ERROR_FORMAT, "not a non-negative integer");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "h6.safetensors", "\"shape\":[",
                  "\"shape\":[4294967296,4294967296,4294967296,");
  expect_load_error(p, UFO_ERROR_FORMAT, "overflows");
  g_clear_pointer(&p, g_free);
}

static void test_bad_offsets(void)
{
  g_autofree char *src = save_small("off-src.safetensors", UFO_DTYPE_F32);
  g_autofree char *p = NULL;
  /* the first tensor is position_ids, I64 (1, 16): offsets [0, 128] */
  p = edit_header(src, "o1.safetensors", "\"data_offsets\":[0,128]", "\"data_offsets\":[128,0]");
  expect_load_error(p, UFO_ERROR_FORMAT, "are not ordered");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "o2.safetensors", "\"data_offsets\":[0,128]",
                  "\"data_offsets\":[99999999999,100000000127]");
  expect_load_error(p, UFO_ERROR_FORMAT, "past the data section");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "o3.safetensors", "\"data_offsets\":[0,128]",
                  "\"data_offsets\":[0,18446744073709551615]");
  expect_load_error(p, UFO_ERROR_FORMAT, "data_offsets");
  g_clear_pointer(&p, g_free);
  p = edit_header(src, "o4.safetensors", "\"data_offsets\":[0,128]", "\"data_offsets\":[0,120]");
  expect_load_error(p, UFO_ERROR_FORMAT, "span 120 bytes, but I64 [1, 16] needs 128");
  g_clear_pointer(&p, g_free);
  /* pos_embed (1, 14, 14, 8) F32 follows at [128, 6400]; move it onto position_ids */
  p = edit_header(src, "o5.safetensors", "\"data_offsets\":[128,6400]",
                  "\"data_offsets\":[64,6336]");
  expect_load_error(p, UFO_ERROR_FORMAT, "overlap");
  g_clear_pointer(&p, g_free);
}

/* ---------------------------------------------------------------- bad model contents */

typedef struct {
  const char *drop;                  /* tensor left out */
  const char *rename;                /* tensor renamed to "backbone.extra.weight" */
  const char *reshape;               /* tensor given shape [7] */
  const char *as_i32;                /* tensor stored as I32 */
  const char *drop_meta;             /* metadata key left out */
  const char *meta_key, *meta_value; /* metadata replaced */
} Mutation;

/* Writes the small model's tensors (random data) with one mutation. */
static char *write_mutated(const char *name, const Mutation *mu)
{
  UfoConfig cfg;
  g_assert_true(ufo_config_parse(small_config, &cfg, NULL));
  UfoWeights w;
  int n;
  g_autofree UfoTensorSpec *specs = ufo_model_tensor_specs(&cfg, &w, &n);
  g_autofree UfoStWriteTensor *t = g_new0(UfoStWriteTensor, n);
  g_autoptr(GPtrArray) bufs = g_ptr_array_new_with_free_func(g_free);
  int k = 0;
  for (int i = 0; i < n; i++) {
    if (g_strcmp0(mu->drop, specs[i].name) == 0)
      continue;
    UfoStWriteTensor *x = &t[k++];
    x->name = g_strcmp0(mu->rename, specs[i].name) == 0 ? "backbone.extra.weight" : specs[i].name;
    x->ndim = specs[i].ndim;
    memcpy(x->shape, specs[i].shape, sizeof specs[i].shape);
    if (g_strcmp0(mu->reshape, specs[i].name) == 0) {
      x->ndim = 1;
      x->shape[0] = 7;
    }
    size_t numel = 1;
    for (int d = 0; d < x->ndim; d++)
      numel *= (size_t)x->shape[d];
    x->dtype = x->src_dtype = specs[i].is_index ? UFO_DTYPE_I64 : UFO_DTYPE_F32;
    if (g_strcmp0(mu->as_i32, specs[i].name) == 0)
      x->dtype = x->src_dtype = UFO_DTYPE_I32;
    void *buf = g_malloc0(numel * 8);
    g_ptr_array_add(bufs, buf);
    x->data = buf;
  }
  size_t vlen;
  const char *vtext = ufo_data_vocab(&vlen);
  g_autofree char *vocab = g_strndup(vtext, vlen);
  const char *ctext = ufo_data_labels("coco", &vlen);
  g_autofree char *coco = g_strndup(ctext, vlen);
  const char *kv[][2] = {{"ufo.format", "1"},
                         {"ufo.config", small_config},
                         {"ufo.vocab", vocab},
                         {"ufo.labels.coco", coco}};
  g_autoptr(GPtrArray) meta = g_ptr_array_new();
  for (int i = 0; i < 4; i++) {
    if (g_strcmp0(mu->drop_meta, kv[i][0]) == 0)
      continue;
    g_ptr_array_add(meta, (gpointer)kv[i][0]);
    g_ptr_array_add(meta,
                    (gpointer)(g_strcmp0(mu->meta_key, kv[i][0]) == 0 ? mu->meta_value : kv[i][1]));
  }
  g_ptr_array_add(meta, NULL);
  char *path = tmp_path(name);
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_safetensors_write(path, t, (size_t)k, (const char *const *)meta->pdata, &err));
  return path;
}

static void check_mutation(Mutation mu, int code, const char *want)
{
  g_autofree char *p = write_mutated("mut.safetensors", &mu);
  expect_load_error(p, code, want);
}

static void test_bad_tensors(void)
{
  /* the unmutated file loads */
  Mutation none = {0};
  g_autofree char *ok = write_mutated("ok.safetensors", &none);
  g_autoptr(GError) err = NULL;
  g_autoptr(UfoModel) m = ufo_model_load(ok, &err);
  g_assert_no_error(err);

  check_mutation((Mutation){.drop = "backbone.layers.1.attn.rel_pos_w"}, UFO_ERROR_MODEL,
                 "missing tensor 'backbone.layers.1.attn.rel_pos_w'");
  check_mutation((Mutation){.reshape = "backbone.layers.0.attn.qkv.weight"}, UFO_ERROR_MODEL,
                 "tensor 'backbone.layers.0.attn.qkv.weight' has shape [7], expected [24, 8]");
  check_mutation((Mutation){.as_i32 = "backbone.layers.0.ln1.bias"}, UFO_ERROR_MODEL,
                 "tensor 'backbone.layers.0.ln1.bias' has dtype I32, expected F32, F16 or BF16");
  check_mutation((Mutation){.as_i32 = "backbone.embed.position_ids"}, UFO_ERROR_MODEL,
                 "tensor 'backbone.embed.position_ids' has dtype I32, expected I64");
  check_mutation((Mutation){.rename = "backbone.layers.1.ln2.bias"}, UFO_ERROR_MODEL,
                 "unknown tensor 'backbone.extra.weight'");
  /* position_ids may be absent */
  g_autofree char *p =
      write_mutated("nopos.safetensors", &(Mutation){.drop = "backbone.embed.position_ids"});
  g_autoptr(UfoModel) m2 = ufo_model_load(p, &err);
  g_assert_no_error(err);
}

static void test_bad_metadata(void)
{
  check_mutation((Mutation){.drop_meta = "ufo.vocab"}, UFO_ERROR_FORMAT,
                 "missing metadata 'ufo.vocab'");
  check_mutation((Mutation){.drop_meta = "ufo.format"}, UFO_ERROR_FORMAT,
                 "missing metadata 'ufo.format'");
  check_mutation((Mutation){.meta_key = "ufo.format", .meta_value = "2"}, UFO_ERROR_FORMAT,
                 "unsupported metadata 'ufo.format' = '2'");
  check_mutation((Mutation){.drop_meta = "ufo.config"}, UFO_ERROR_FORMAT,
                 "missing metadata 'ufo.config'");
  check_mutation((Mutation){.meta_key = "ufo.config", .meta_value = "{\"embed_dim\": 8,"},
                 UFO_ERROR_FORMAT, "metadata 'ufo.config': config is not valid JSON");
  check_mutation((Mutation){.drop_meta = "ufo.labels.coco"}, UFO_ERROR_FORMAT,
                 "missing label set 'ufo.labels.coco' (used by task detection)");
  check_mutation((Mutation){.meta_key = "ufo.labels.coco", .meta_value = "person\n\ncar\n"},
                 UFO_ERROR_FORMAT, "label set 'coco' has an empty or non-UTF-8 line");
  check_mutation((Mutation){.meta_key = "ufo.vocab", .meta_value = "[PAD]\nhello\n"},
                 UFO_ERROR_FORMAT, "vocabulary has 2 tokens, but config vocab_size is 30525");
  /* bad config values inside the file: heads that do not divide the width */
  g_autofree char *bad = g_strdup(small_config);
  char *at = strstr(bad, "\"num_heads\": 2");
  at[13] = '3';
  check_mutation((Mutation){.meta_key = "ufo.config", .meta_value = bad}, UFO_ERROR_FORMAT,
                 "config key 'num_heads': must divide embed_dim");
}

/* ---------------------------------------------------------------- fuzz */

static void test_fuzz(void)
{
  g_autofree char *src = save_small("fuzz-src.safetensors", UFO_DTYPE_F16);
  g_autoptr(GBytes) b = read_file(src);
  const uint8_t *orig = g_bytes_get_data(b, NULL);
  size_t len = g_bytes_get_size(b);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | orig[i];
  g_autofree uint8_t *buf = g_malloc(len);
  g_autofree char *p = tmp_path("fuzz.safetensors");
  GRand *rand = g_rand_new_with_seed(1234);
#if defined(__SANITIZE_ADDRESS__)
  int iterations = g_test_slow() ? 2000 : 120, loaded = 0; /* each load parses ~250 KB of JSON */
#else
  int iterations = g_test_slow() ? 2000 : 300, loaded = 0;
#endif
  for (int it = 0; it < iterations; it++) {
    memcpy(buf, orig, len);
    size_t n = len;
    int kind = g_rand_int_range(rand, 0, 5);
    int flips = g_rand_int_range(rand, 1, 9);
    for (int f = 0; f < flips; f++) {
      size_t at;
      if (kind == 0) /* length field and start of the JSON */
        at = (size_t)g_rand_int_range(rand, 0, 64);
      else if (kind == 1) /* tensor entries at the end of the header */
        at = (size_t)(8 + hlen - (uint64_t)g_rand_int_range(rand, 1, 6000));
      else /* anywhere */
        at = (size_t)g_rand_double_range(rand, 0, (double)len);
      buf[at] ^= (uint8_t)g_rand_int_range(rand, 1, 256);
    }
    if (kind == 3) /* truncation */
      n = (size_t)g_rand_double_range(rand, 0, (double)len);
    if (kind == 4) { /* a digit of some number in the header changed */
      for (int tries = 0; tries < 100; tries++) {
        size_t at = 8 + (size_t)g_rand_double_range(rand, (double)hlen - 6000, (double)hlen);
        if (g_ascii_isdigit(orig[at])) {
          buf[at] = (uint8_t)('0' + g_rand_int_range(rand, 0, 10));
          break;
        }
      }
    }
    write_file(p, buf, n);
    GError *err = NULL;
    UfoModel *m = ufo_model_load(p, &err);
    g_assert_true((m == NULL) != (err == NULL));
    if (m) {
      loaded++;
      ufo_model_unref(m);
    } else {
      g_assert_true(err->domain == UFO_ERROR && err->message[0]);
      g_error_free(err);
    }
  }
  g_rand_free(rand);
  g_test_message("fuzz: %d of %d mutated files loaded", loaded, iterations);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  tmp_dir = g_dir_make_tmp("ufo-model-XXXXXX", NULL);
  g_test_add_func("/model/file/round-trip", test_round_trip);
  g_test_add_func("/model/file/in-place", test_in_place_and_refcount);
  g_test_add_func("/model/file/random-errors", test_random_errors);
  g_test_add_func("/model/file/short", test_short_files);
  g_test_add_func("/model/file/truncated", test_truncated);
  g_test_add_func("/model/file/header-json", test_bad_header_json);
  g_test_add_func("/model/file/offsets", test_bad_offsets);
  g_test_add_func("/model/file/tensors", test_bad_tensors);
  g_test_add_func("/model/file/metadata", test_bad_metadata);
  g_test_add_func("/model/file/fuzz", test_fuzz);
  int rc = g_test_run();
  g_autoptr(GDir) dir = g_dir_open(tmp_dir, 0, NULL);
  for (const char *f; dir && (f = g_dir_read_name(dir));) {
    g_autofree char *path = tmp_path(f);
    g_unlink(path);
  }
  g_rmdir(tmp_dir);
  g_free(tmp_dir);
  return rc;
}
