/* Kernels per decode step on the emulated CUDA backend (ufo_cuda_emu_launches), tiny config at
 * precision bf16: with few rows (≤ 16) a step is the token embedding (embed, add, layer_norm),
 * per processed layer four fused linears (backend.h UfoLinear: LN1 + q + K/V slot, proj +
 * residual, LN2 + fc1 + GELU, fc2 + residual) and its attention, the mean layers' accumulation
 * and the tied logits (a to_bf16 launch; the GEMM itself is cuBLASLt's kernel on the GPU, host
 * work in the emulation): nothing else (no other to_bf16, no separate layer_norm or gelu). The
 * same step of 17 rows runs the composed ops, so it launches more (docs/performance.md,
 * section 6). A draft pass (UfoDecoder.step_ahead) of P positions launches what a step of its
 * P·n rows does, whatever P: one embedding, per layer the linears, ONE copy of the positions'
 * K/V into the cache (a 2-D memcpy, not a kernel) and ONE causal attention, the means; then
 * per position the selection's two kernels (docs/performance.md, section 10). */
#include "backend_by_name.h"
#include "decode/decode.h"
#include "model/model.h"
#include "nn/vit.h"

#include <math.h>

typedef struct {
  UfoModel *model;
  UfoBackend *be;
  UfoVit *vit;
  UfoVitState *st;
} Fx;

static void fx_init(Fx *f)
{
  g_autoptr(GError) err = NULL;
  f->model = ufo_model_new_random("tiny", 5, &err);
  g_assert_no_error(err);
  f->be = ufo_backend_cuda_emu_new(&err);
  g_assert_no_error(err);
  g_assert_true(ufo_backend_set_precision(f->be, UFO_PRECISION_BF16, &err));
  f->vit = ufo_vit_new(f->model, f->be, &err);
  f->st = ufo_vit_state_new(f->vit, &err);
  g_assert_no_error(err);
}

static void fx_clear(Fx *f)
{
  ufo_vit_state_free(f->st);
  ufo_vit_free(f->vit);
  ufo_backend_free(f->be);
  ufo_model_unref(f->model);
}

/* The launches of decode step 1 over n rows (step 0 first: lazy copies and scratch happen
 * there), from the grid's rows or from the whole image; P > 1: of a draft pass of P positions
 * from step 1 instead (its logits are the selection's, not counted) */
static uint64_t step_launches(Fx *f, gboolean from_grid, int n, int P)
{
  g_autoptr(GError) err = NULL;
  const UfoConfig *cfg = &f->model->cfg;
  const int S = 224, gw = 5 * (S / cfg->patch_size / cfg->window_size), Q = gw * gw;
  g_autofree float *img = g_new(float, 3 * S * S);
  for (int i = 0; i < 3 * S * S; i++)
    img[i] = sinf((float)i * 0.01f);
  g_autofree float *ref = g_new(float, 2 * Q);
  for (int q = 0; q < Q; q++) {
    ref[2 * q] = ((float)(q % gw) + 0.5f) / (float)gw;
    ref[2 * q + 1] = ((float)(q / gw) + 0.5f) / (float)gw;
  }
  g_assert_cmpint(n, <=, Q);
  const int32_t ids[4] = {101, 2000, 2001, 102};
  const uint8_t masked[4] = {0, 0, 0, 1};
  g_assert_true(ufo_vit_text_pass(f->st, ids, masked, 4, &err));
  gboolean ok = ufo_vit_image_pass(f->st, img, S, S, ref, Q, gw, gw, FALSE, &err);
  g_assert_no_error(err);
  g_assert_true(ok);
  g_assert_true(!from_grid || ufo_vit_grid_pass(f->st, &err));
  g_assert_true(ufo_vit_decode_begin(f->st, from_grid, from_grid ? Q : n, 1 + MAX(P, 1), &err));
  g_assert_no_error(err);
  UfoDecoder d = ufo_vit_decoder(f->st);
  g_autofree int32_t *tok = g_new(int32_t, MAX(Q, n * P));
  g_autofree int32_t *keep = g_new(int32_t, n);
  for (int q = 0; q < MAX(Q, n * P); q++)
    tok[q] = 1000 + (q * 7) % 900;
  for (int i = 0; i < n; i++)
    keep[i] = i;
  g_assert_true(d.step(d.ctx, tok, from_grid ? Q : n, 0, NULL, NULL, &err));
  g_assert_true(!from_grid || d.reorder(d.ctx, keep, n, &err)); /* the grids that go on */
  g_assert_no_error(err);
  if (P > 1) { /* the pass's buffers first, as sessions reserve them before the decode */
    g_assert_true(ufo_vit_decode_reserve_ahead(f->st, (int64_t)n * P, &err));
    g_assert_no_error(err);
  }
  const uint64_t before = ufo_cuda_emu_launches();
  g_autofree int32_t *sel = g_new(int32_t, MAX(n * P, 1));
  g_autofree float *prob = g_new(float, MAX(n * P, 1));
  gboolean ok2 = P > 1 ? d.step_ahead(d.ctx, tok, n, 1, P, NULL, NULL, sel, prob, &err)
                       : d.step(d.ctx, tok, n, 1, NULL, NULL, &err);
  g_assert_no_error(err);
  g_assert_true(ok2);
  return ufo_cuda_emu_launches() - before;
}

static void test_step_launches(void)
{
  const UfoConfig *cfg = NULL;
  for (int grid = 1; grid >= 0; grid--) {
    Fx f;
    fx_init(&f);
    cfg = &f.model->cfg;
    /* processed layers: all of them from the image, the window layers from the grid (inference
     * §8.16); mean layers: those among them */
    int layers = 0, means = 0;
    for (int l = 0; l < cfg->num_layers; l++) {
      if (grid && cfg->is_global[l])
        continue;
      layers++;
      for (int i = 0; i < cfg->n_mean; i++)
        means += cfg->mean_layers[i] == l;
    }
    const uint64_t fused = step_launches(&f, grid, 4, 0);
    fx_clear(&f);
    fx_init(&f);
    const uint64_t composed = step_launches(&f, grid, 17, 0);
    fx_clear(&f);
    uint64_t pass[2];
    for (int k = 0; k < 2; k++) { /* 16 rows (fused linears) as 4 x 4 and as 2 x 8 */
      fx_init(&f);
      pass[k] = step_launches(&f, grid, k ? 2 : 4, k ? 8 : 4);
      fx_clear(&f);
    }
    g_print("# %s rows: a step of 4 rows %llu launches, of 17 rows %llu (%d layers, %d mean)\n",
            grid ? "grid" : "image", (unsigned long long)fused, (unsigned long long)composed,
            layers, means);
    /* embed + add + layer_norm; 4 linears + attention per layer; the means; the logits'
     * to_bf16 */
    g_assert_cmpuint(fused, ==, 3 + 5 * (uint64_t)layers + (uint64_t)means + 1);
    g_assert_cmpuint(composed, >, fused + 4 * (uint64_t)layers);
    g_print("# %s rows: a pass of 4 rows x 4 positions %llu launches, of 2 x 8 %llu\n",
            grid ? "grid" : "image", (unsigned long long)pass[0], (unsigned long long)pass[1]);
    /* embed + add + layer_norm; per layer 4 linears and the attention (from the image, 16
     * rows: the shared image keys' tile kernel, then the row kernel, as a step of 16 rows); the
     * means; per position its logits' to_bf16 and its argmax (the selection inside the pass).
     * The K/V copy is one cudaMemcpy2DAsync per layer, not a kernel. */
    const uint64_t attention = grid ? 1 : 2;
    const uint64_t body = 3 + (4 + attention) * (uint64_t)layers + (uint64_t)means;
    g_assert_cmpuint(pass[0], ==, body + 2 * 4);
    g_assert_cmpuint(pass[1], ==, body + 2 * 8);
  }
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/nn/step-launches", test_step_launches);
  return g_test_run();
}
