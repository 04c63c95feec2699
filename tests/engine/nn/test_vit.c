/* UFO-ViT forward behaviour beyond the golden values (tiny config, random weights): decode-cache
 * reorder (in-place compaction, beam-style gathers with repeats, expansion to beams) gives the
 * same logits as the untouched rows of a plain run; argument errors are reported, not crashed
 * on; the feature map exists only when asked for; beam search selecting on the backend
 * (UfoDecoder.select_topk) decodes bit-identically to the host path and downloads O(rows·k);
 * token ids, cache indices and grid points go to the backend once, not once per layer. */
#include "decode/decode.h"
#include "model/model.h"
#include "nn/vit.h"

#include <math.h>
#include <string.h>

#define STEPS 4

typedef struct {
  UfoModel *model;
  UfoBackend *be;
  UfoVit *vit;
  UfoVitState *st;
  int Q, gw, S, V;
  float *img, *ref;
} Fx;

static void fx_init(Fx *f)
{
  g_autoptr(GError) err = NULL;
  f->model = ufo_model_new_random("tiny", 3, &err);
  g_assert_no_error(err);
  f->be = ufo_backend_cpu_new(2, &err);
  f->vit = ufo_vit_new(f->model, f->be, &err);
  f->st = ufo_vit_state_new(f->vit, &err);
  g_assert_no_error(err);
  const UfoConfig *cfg = &f->model->cfg;
  f->S = 448;
  f->V = cfg->vocab_size;
  f->gw = 5 * (f->S / cfg->patch_size / cfg->window_size);
  f->Q = f->gw * f->gw;
  f->img = g_new(float, 3 * f->S * f->S);
  for (int i = 0; i < 3 * f->S * f->S; i++)
    f->img[i] = sinf((float)i * 0.01f);
  f->ref = g_new(float, 2 * f->Q);
  for (int q = 0; q < f->Q; q++) { /* inference §5.5: ((gx + 0.5) / gw, (gy + 0.5) / gh) */
    f->ref[2 * q] = ((float)(q % f->gw) + 0.5f) / (float)f->gw;
    f->ref[2 * q + 1] = ((float)(q / f->gw) + 0.5f) / (float)f->gw;
  }
  int32_t ids[12] = {101, 2000, 2001, 2002, 1010, 2003, 2004, 2005, 1025, 2006, 102, 0};
  uint8_t masked[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};
  g_assert_true(ufo_vit_text_pass(f->st, ids, masked, 12, &err));
  g_assert_true(
      ufo_vit_image_pass(f->st, f->img, f->S, f->S, f->ref, f->Q, f->gw, f->gw, FALSE, &err));
  g_assert_true(ufo_vit_grid_pass(f->st, &err));
  g_assert_no_error(err);
}

static void fx_clear(Fx *f)
{
  ufo_vit_state_free(f->st);
  ufo_vit_free(f->vit);
  ufo_backend_free(f->be);
  ufo_model_unref(f->model);
  g_free(f->img);
  g_free(f->ref);
}

static int32_t token(int row, int t)
{
  return t == 0 ? 101 : 1000 + (row * 7 + t * 13) % 900;
}

/* plain run: logits[t][row] for all Q rows */
static float *plain_run(Fx *f)
{
  g_autoptr(GError) err = NULL;
  float *all = g_new(float, (size_t)STEPS * f->Q * f->V);
  int32_t *tok = g_new(int32_t, f->Q);
  g_assert_true(ufo_vit_decode_begin(f->st, TRUE, f->Q, STEPS, &err));
  UfoDecoder d = ufo_vit_decoder(f->st);
  for (int t = 0; t < STEPS; t++) {
    for (int r = 0; r < f->Q; r++)
      tok[r] = token(r, t);
    g_assert_true(d.step(d.ctx, tok, f->Q, t, all + (size_t)t * f->Q * f->V, NULL, &err));
  }
  g_assert_no_error(err);
  g_free(tok);
  return all;
}

static void expect_rows(Fx *f, const float *got, const float *plain_t, const int32_t *orig, int n)
{
  for (int i = 0; i < n; i++) {
    const float *a = got + (size_t)i * f->V, *b = plain_t + (size_t)orig[i] * f->V;
    double num = 0, den = 0;
    for (int v = 0; v < f->V; v++) {
      num += ((double)a[v] - b[v]) * ((double)a[v] - b[v]);
      den += (double)b[v] * b[v];
    }
    if (sqrt(num / den) > 1e-5)
      g_error("row %d (grid %d): relative L2 %.3g", i, orig[i], sqrt(num / den));
  }
}

/* steps 0..1 on every row, reorder to src, steps 2.. on the gathered rows */
static void reordered_run(Fx *f, const float *plain, const int32_t *src, int n)
{
  g_autoptr(GError) err = NULL;
  float *lg = g_new(float, (size_t)f->Q * f->V);
  int32_t *tok = g_new(int32_t, f->Q);
  g_assert_true(ufo_vit_decode_begin(f->st, TRUE, f->Q, STEPS, &err));
  UfoDecoder d = ufo_vit_decoder(f->st);
  for (int t = 0; t < STEPS; t++) {
    if (t == 2)
      g_assert_true(d.reorder(d.ctx, src, n, &err));
    int rows = t < 2 ? f->Q : n;
    for (int r = 0; r < rows; r++)
      tok[r] = token(t < 2 ? r : src[r], t);
    g_assert_true(d.step(d.ctx, tok, rows, t, lg, NULL, &err));
    g_assert_no_error(err);
    if (t >= 2)
      expect_rows(f, lg, plain + (size_t)t * f->Q * f->V, src, n);
  }
  g_free(lg);
  g_free(tok);
}

static void test_reorder(void)
{
  Fx f;
  fx_init(&f);
  float *plain = plain_run(&f);
  static const int32_t compact[] = {1, 3, 7, 50, 99};    /* src[i] >= i: in place */
  static const int32_t beams[] = {7, 7, 3, 99, 3, 0, 0}; /* repeats, backwards */
  reordered_run(&f, plain, compact, G_N_ELEMENTS(compact));
  reordered_run(&f, plain, beams, G_N_ELEMENTS(beams));

  /* expansion to 2 beams per grid before the first step (capacity 2Q) */
  g_autoptr(GError) err = NULL;
  int n = 2 * f.Q;
  int32_t *src = g_new(int32_t, n), *tok = g_new(int32_t, n);
  float *lg = g_new(float, (size_t)n *f.V);
  for (int i = 0; i < n; i++)
    src[i] = i / 2;
  g_assert_true(ufo_vit_decode_begin(f.st, TRUE, n, STEPS, &err));
  UfoDecoder d = ufo_vit_decoder(f.st);
  g_assert_true(d.reorder(d.ctx, src, n, &err));
  for (int t = 0; t < 2; t++) {
    for (int i = 0; i < n; i++)
      tok[i] = token(src[i], t);
    g_assert_true(d.step(d.ctx, tok, n, t, lg, NULL, &err));
    g_assert_no_error(err);
    expect_rows(&f, lg, plain + (size_t)t * f.Q * f.V, src, n);
  }
  g_free(src);
  g_free(tok);
  g_free(lg);
  g_free(plain);
  fx_clear(&f);
}

static void test_errors(void)
{
  Fx f;
  fx_init(&f);
  g_autoptr(GError) err = NULL;
  /* no feature map unless asked for */
  g_assert_null(ufo_vit_feature_map(f.st, NULL, NULL));
  float *x;
  size_t n;
  g_assert_false(ufo_vit_get_intermediate(f.st, "image.mean", &x, &n, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  /* image side not a multiple of 224 */
  g_assert_false(ufo_vit_image_pass(f.st, f.img, 200, 448, NULL, 0, 0, 0, FALSE, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_UNSUPPORTED);
  g_clear_error(&err);
  /* grid pass / decode need a successful image pass */
  g_assert_false(ufo_vit_grid_pass(f.st, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_true(ufo_vit_image_pass(f.st, f.img, f.S, f.S, NULL, 0, 0, 0, TRUE, &err));
  int hp, wp;
  g_assert_nonnull(ufo_vit_feature_map(f.st, &hp, &wp));
  g_assert_cmpint(hp, ==, 28);
  g_assert_false(ufo_vit_decode_begin(f.st, TRUE, 10, 5, &err)); /* no grid pass */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_true(ufo_vit_decode_begin(f.st, FALSE, 2, 3, &err));
  UfoDecoder d = ufo_vit_decoder(f.st);
  int32_t tok[2] = {101, 101}, bad[2] = {0, 5};
  float *lg = g_new(float, 2 * (size_t)f.V);
  g_assert_false(d.step(d.ctx, tok, 2, 1, lg, NULL, &err)); /* t must be 0 */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  g_assert_true(d.step(d.ctx, tok, 2, 0, lg, NULL, &err));
  g_assert_false(d.reorder(d.ctx, bad, 2, &err)); /* row 5 does not exist */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  g_clear_error(&err);
  int32_t oov[2] = {101, 99999};
  g_assert_false(d.step(d.ctx, oov, 2, 1, lg, NULL, &err)); /* token outside the vocabulary */
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  /* refused before the step's ops (a replayed step has no embed wrapper to refuse it) */
  g_assert_nonnull(strstr(err->message, "outside the vocabulary"));
  g_clear_error(&err);
  g_free(lg);
  /* a new text pass invalidates the image caches */
  int32_t ids[3] = {101, 2000, 2001};
  g_assert_true(ufo_vit_text_pass(f.st, ids, NULL, 3, &err));
  g_assert_false(ufo_vit_decode_begin(f.st, FALSE, 1, 3, &err));
  g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
  fx_clear(&f);
}

/* beam search from the image caches (caption style), on the backend or on the host */
static UfoDecodeOutput *beam_run(Fx *f, int K, float tau, const UfoPlantedPlan *plan,
                                 gboolean remote, uint64_t *down)
{
  g_autoptr(GError) err = NULL;
  g_assert_true(ufo_vit_decode_begin(f->st, FALSE, K, 8, &err));
  UfoDecoder d = ufo_vit_decoder(f->st);
  g_assert_nonnull(d.select_topk);
  if (!remote)
    d.select_topk = NULL;
  const uint64_t down0 = f->be->bytes_down;
  UfoDecodeOutput *o = ufo_decode_beam(&d, 1, K, 8, tau, 1.f, plan, TRUE, &err);
  g_assert_no_error(err);
  *down = f->be->bytes_down - down0;
  return o;
}

static void test_beam_select(void)
{
  Fx f;
  fx_init(&f);
  int32_t ptok[8] = {-1, 1037, -1, -1, 2001, -1, -1, -1};
  float pmargin[1] = {0.5f};
  const UfoPlantedPlan plan = {.tokens = ptok, .margin = pmargin, .n_seq = 1, .max_len = 8};
  for (int m = 0; m < 4; m++) {
    const int K = m & 1 ? 4 : 2;
    const float tau = m & 2 ? 0.8f : 1.f;
    uint64_t down_host, down_dev;
    g_autoptr(UfoDecodeOutput) host =
        beam_run(&f, K, tau, m == 3 ? &plan : NULL, FALSE, &down_host);
    g_autoptr(UfoDecodeOutput) dev = beam_run(&f, K, tau, m == 3 ? &plan : NULL, TRUE, &down_dev);
    const size_t n = (size_t)host->max_length;
    g_assert_cmpint(host->t_out, ==, dev->t_out);
    g_assert_cmpint(host->length[0], ==, dev->length[0]);
    g_assert_cmpmem(host->ids, 4 * n, dev->ids, 4 * n);
    g_assert_cmpmem(host->prob, 4 * n, dev->prob, 4 * n);
    g_assert_cmpmem(host->score, 4, dev->score, 4);
    g_assert_cmpmem(host->feat, 4 * n * f.model->cfg.embed_dim, dev->feat,
                    4 * n * f.model->cfg.embed_dim);
    /* per step: K rows of 2K candidates (8 bytes) and the K features, not K rows of logits */
    const uint64_t steps = (uint64_t)host->t_out + 1;
    g_assert_cmpuint(down_dev, <=, steps * K * (2 * K * 8 + 4 * (uint64_t)f.model->cfg.embed_dim));
    g_assert_cmpuint(down_host, >=, (uint64_t)host->t_out * K * f.V * 4);
    g_test_message("beam %d tau %g: %d tokens identical, %.1f KiB down (host path %.1f KiB)", K,
                   tau, host->length[0], down_dev / 1024.0, down_host / 1024.0);
  }
  fx_clear(&f);
}

/* Index and point operands are tensors uploaded once (backend.h typed tensors): bytes copied to
 * the backend per text pass, per frame, per decode step and per reorder do not grow with the
 * number of layers (before: the points, and the indices of every layer's gathers, went to a GPU
 * once per layer). */
static void test_uploads(void)
{
  Fx f;
  fx_init(&f);
  g_autoptr(GError) err = NULL;
  const uint64_t Q = (uint64_t)f.Q, S = (uint64_t)f.S;
  g_assert_cmpint(f.model->cfg.num_layers, >=, 2);
  uint64_t up0 = f.be->bytes_up;
  int32_t ids[5] = {101, 2000, 2001, 2002, 102};
  g_assert_true(ufo_vit_text_pass(f.st, ids, NULL, 5, &err));
  g_assert_cmpuint(f.be->bytes_up - up0, ==, 5 * 4 + 5 * 4); /* the ids and the mask */
  /* a frame: the image, the grid points (8 bytes) and slots (4 bytes) of the Q queries */
  up0 = f.be->bytes_up;
  g_assert_true(ufo_vit_image_pass(f.st, f.img, f.S, f.S, f.ref, f.Q, f.gw, f.gw, FALSE, &err));
  g_assert_true(ufo_vit_grid_pass(f.st, &err));
  g_assert_no_error(err);
  g_assert_cmpuint(f.be->bytes_up - up0, ==, 3 * S * S * 4 + Q * 12);
  g_test_message("frame: %.1f KiB up, of which %" G_GUINT64_FORMAT " B points and slots",
                 (f.be->bytes_up - up0) / 1024.0, Q * 12);
  /* decoding from the grid: nothing at begin, n ids per step, n sources per reorder */
  up0 = f.be->bytes_up;
  g_assert_true(ufo_vit_decode_begin(f.st, TRUE, f.Q, STEPS, &err));
  g_assert_cmpuint(f.be->bytes_up - up0, ==, 0);
  UfoDecoder d = ufo_vit_decoder(f.st);
  int32_t *tok = g_new(int32_t, f.Q), *src = g_new(int32_t, f.Q);
  for (int t = 0; t < 2; t++) {
    int n = t == 0 ? f.Q : f.Q / 2;
    for (int r = 0; r < n; r++)
      tok[r] = token(r, t);
    up0 = f.be->bytes_up;
    g_assert_true(d.step(d.ctx, tok, n, t, NULL, NULL, &err));
    g_assert_no_error(err);
    g_assert_cmpuint(f.be->bytes_up - up0, ==, (uint64_t)n * 4);
    if (t == 0) {
      for (int r = 0; r < f.Q / 2; r++)
        src[r] = f.Q - 1 - 2 * r; /* backwards: through the scratch, every layer's caches */
      up0 = f.be->bytes_up;
      g_assert_true(d.reorder(d.ctx, src, f.Q / 2, &err));
      g_assert_no_error(err);
      g_assert_cmpuint(f.be->bytes_up - up0, ==, (uint64_t)(f.Q / 2) * 4);
    }
  }
  g_test_message("decode: %d B up per step of %d rows, %d B per reorder (%d layers)", 4 * f.Q, f.Q,
                 4 * (f.Q / 2), f.model->cfg.num_layers);
  g_free(tok);
  g_free(src);
  fx_clear(&f);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/nn/vit/reorder", test_reorder);
  g_test_add_func("/nn/vit/errors", test_errors);
  g_test_add_func("/nn/vit/beam-select", test_beam_select);
  g_test_add_func("/nn/vit/uploads", test_uploads);
  return g_test_run();
}
