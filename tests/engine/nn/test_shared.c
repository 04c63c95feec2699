/* One weight copy per model and device (nn/vit.h ufo_vit_acquire, nn/vit_shared.c): two UfoVits
 * acquired on two backends of one kind hold the same weight tensors (one registry entry), run the
 * forward at the same time on two threads (text, image and grid passes, decode steps with a
 * permuting reorder) and give bit for bit the logits of a UfoVit alone with weights of its own;
 * the entry goes with the last UfoVit, freed in either order; a backend of another memory is
 * refused. --backend=NAME (cpu, cpu-ref, cuda-emu, cuda: backend_by_name.h), --precision=bf16
 * (the derived bf16 weight data made by whichever thread needs it first; exit 77 where the backend
 * has no bf16). */
#include "backend_by_name.h"
#include "nn/vit_internal.h"

#include <math.h>
#include <string.h>

#define STEPS 3
#define ROWS 4

static const char *backend_name = "cpu";
static UfoPrecision precision = UFO_PRECISION_FP32;

typedef struct {
  UfoModel *model;
  UfoBackend *be;
  UfoVit *vit;
  float *logits; /* (STEPS, ROWS, V) */
  gboolean check_prepare;
  GError *error;
} Run;

static UfoBackend *backend(void)
{
  g_autoptr(GError) err = NULL;
  UfoBackend *be = ufo_test_backend_new(backend_name, &err);
  if (be == NULL) /* no backend (e.g. no usable CUDA device) fails, never a skip */
    g_error("%s: %s", backend_name, err->message);
  if (!ufo_backend_set_precision(be, precision, &err)) {
    if (g_error_matches(err, UFO_ERROR, UFO_ERROR_UNSUPPORTED)) { /* bf16 where it has none */
      g_print("skip: %s\n", err->message);
      ufo_backend_free(be);
      exit(77);
    }
    g_error("%s: %s", backend_name, err->message);
  }
  return be;
}

/* the forward on run->vit: grid rows decoded with a beam-style permutation after step 0 */
static gpointer forward(gpointer data)
{
  Run *r = data;
  const UfoConfig *cfg = &r->model->cfg;
  const int S = 224, gw = 2 * (S / cfg->patch_size / cfg->window_size), Q = gw * gw;
  const int V = cfg->vocab_size;
  g_autofree float *img = g_new(float, 3 * S * S);
  g_autofree float *ref = g_new(float, 2 * Q);
  for (int i = 0; i < 3 * S * S; i++)
    img[i] = sinf((float)i * 0.01f);
  for (int q = 0; q < Q; q++) {
    ref[2 * q] = ((float)(q % gw) + 0.5f) / (float)gw;
    ref[2 * q + 1] = ((float)(q / gw) + 0.5f) / (float)gw;
  }
  int32_t ids[8] = {101, 2000, 2001, 1010, 2003, 102, 0, 0};
  uint8_t masked[8] = {0, 0, 0, 0, 0, 0, 1, 1};
  r->logits = g_new(float, (size_t)STEPS *ROWS *V);
  UfoVitState *st = ufo_vit_state_new(r->vit, &r->error);
  const int32_t perm[ROWS] = {1, 0, 0, 2}; /* repeats and moves: through the reorder scratch */
  gboolean ok = st && ufo_vit_text_pass(st, ids, masked, 8, &r->error) &&
                ufo_vit_image_pass(st, img, S, S, ref, Q, gw, gw, FALSE, &r->error) &&
                ufo_vit_grid_pass(st, &r->error) &&
                ufo_vit_decode_begin(st, TRUE, MAX(Q, ROWS), STEPS, &r->error);
  UfoDecoder d = ufo_vit_decoder(st);
  for (int t = 0; ok && t < STEPS; t++) {
    int32_t tok[ROWS];
    for (int i = 0; i < ROWS; i++)
      tok[i] = t == 0 ? 101 : 1000 + 37 * i + 11 * t;
    ok = d.step(d.ctx, tok, ROWS, t, r->logits + (size_t)t * ROWS * V, NULL, &r->error) &&
         (t > 0 || d.reorder(d.ctx, perm, ROWS, &r->error));
  }
  /* greedy decoding prepares no permutation scratch: a permuting reorder is refused */
  if (ok && r->check_prepare) {
    ok = ufo_vit_decode_prepare(st, TRUE, MAX(Q, ROWS), STEPS, FALSE, &r->error);
    d = ufo_vit_decoder(st);
    const int32_t compact[2] = {1, 3};
    int32_t tok[ROWS] = {101, 101, 101, 101};
    g_assert_true(ok && d.step(d.ctx, tok, ROWS, 0, NULL, NULL, &r->error) &&
                  d.reorder(d.ctx, compact, 2, &r->error));
    g_assert_false(d.reorder(d.ctx, perm, 2, &r->error));
    g_assert_error(r->error, UFO_ERROR, UFO_ERROR_INVALID);
    g_clear_error(&r->error);
  }
  ufo_vit_state_free(st);
  return NULL;
}

static void check_same(const Run *a, const Run *b)
{
  g_assert_no_error(a->error);
  g_assert_no_error(b->error);
  size_t n = (size_t)STEPS * ROWS * a->model->cfg.vocab_size;
  g_assert_cmpmem(a->logits, n * sizeof(float), b->logits, n * sizeof(float));
}

static void test_shared(void)
{
  g_autoptr(GError) err = NULL;
  UfoModel *model = ufo_model_new_random("tiny", 5, &err);
  g_assert_no_error(err);
  int copies0;
  size_t bytes0;
  ufo_vit_shared_stats(&copies0, &bytes0);

  /* alone: weights of its own (ufo_vit_new) */
  Run alone = {model, backend(), .check_prepare = TRUE};
  alone.vit = ufo_vit_new(model, alone.be, &err);
  g_assert_no_error(err);
  forward(&alone);
  g_assert_no_error(alone.error);

  for (int order = 0; order < 2; order++) {
    Run run[2] = {{model, backend()}, {model, backend()}};
    for (int i = 0; i < 2; i++) {
      run[i].vit = ufo_vit_acquire(model, run[i].be, &err);
      g_assert_no_error(err);
    }
    int copies;
    size_t bytes;
    ufo_vit_shared_stats(&copies, &bytes);
    const gboolean sharing = run[0].be->ops->new_peer != NULL;
    if (sharing) {
      g_assert_cmpint(copies, ==, copies0 + 1);
      g_assert_cmpuint(bytes, ==, bytes0 + ufo_vit_weight_bytes(alone.vit));
      g_assert_true(run[0].vit->word_emb == run[1].vit->word_emb);
      g_assert_true(run[0].vit->layers[0].qkv_w == run[1].vit->layers[0].qkv_w);
      g_assert_true(run[0].vit->be == run[0].be && run[1].vit->be == run[1].be);
    } else {
      g_test_message("%s: no new_peer, each UfoVit has its own weights", backend_name);
    }
    g_assert_cmpuint(ufo_vit_weight_bytes(run[0].vit), ==, ufo_vit_weight_bytes(alone.vit));
    GThread *th[2];
    for (int i = 0; i < 2; i++)
      th[i] = g_thread_new("forward", forward, &run[i]);
    for (int i = 0; i < 2; i++) {
      g_thread_join(th[i]);
      check_same(&run[i], &alone);
    }
    /* either order; the first free leaves the weights to the second */
    for (int k = 0; k < 2; k++) {
      Run *r = &run[k ^ order];
      ufo_vit_free(r->vit);
      ufo_backend_free(r->be);
      g_free(r->logits);
      ufo_vit_shared_stats(&copies, NULL);
      g_assert_cmpint(copies, ==, k == 0 && sharing ? copies0 + 1 : copies0);
    }
  }

  /* sharing with another memory is refused (the CPU's host memory vs. the named backend's) */
  if (strcmp(backend_name, "cpu") != 0) {
    UfoBackend *cpu = ufo_backend_cpu_new(1, &err);
    g_assert_no_error(err);
    g_assert_null(ufo_vit_new_sharing(alone.vit, cpu, &err));
    g_assert_error(err, UFO_ERROR, UFO_ERROR_INVALID);
    g_clear_error(&err);
    ufo_backend_free(cpu);
  }
  ufo_vit_free(alone.vit);
  ufo_backend_free(alone.be);
  g_free(alone.logits);
  ufo_model_unref(model);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  for (int i = 1; i < argc; i++) {
    if (g_str_has_prefix(argv[i], "--backend="))
      backend_name = argv[i] + strlen("--backend=");
    else if (strcmp(argv[i], "--precision=bf16") == 0)
      precision = UFO_PRECISION_BF16;
  }
  g_test_add_func("/nn/shared-weights", test_shared);
  return g_test_run();
}
