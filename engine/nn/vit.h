/* The UFO-ViT forward, written once against the ops API (backend/backend.h): text pass, image
 * pass, grid pass and decode steps with KV caches (inference spec §5, §6.1; segmentation spec
 * §2.2-§2.3). The session code calls these in order for one frame:
 *   text_pass (when the prompt changes) -> image_pass -> [grid_pass] -> decode_begin -> decoder.
 */
#ifndef UFO_NN_VIT_H
#define UFO_NN_VIT_H

#include "ufo/ufo.h"
#include "backend/backend.h"
#include "decode/decode.h"

typedef struct _UfoVit UfoVit; /* weights uploaded to one backend (shared per session) */
typedef struct _UfoVitState
    UfoVitState; /* one frame: activations, KV caches (reused across frames) */

/* The model must outlive the UfoVit (a reference is taken). */
UfoVit *ufo_vit_new(const UfoModel *model, UfoBackend *be, GError **error);
void ufo_vit_free(UfoVit *vit);
UfoVitState *ufo_vit_state_new(UfoVit *vit, GError **error);
void ufo_vit_state_free(UfoVitState *st);

/* inference §4.3-4.4, §5.3: ids/masked of length T (already without the last column);
 * masked[j] != 0 hides key j (ids == [SEP] are hidden too). */
gboolean ufo_vit_text_pass(UfoVitState *st, const int32_t *ids, const uint8_t *masked, int T,
                           GError **e);
/* §5.2, §5.4: img is the normalised float32 RGB image (3, H, W) on the host, H and W multiples
 * of 224 (of patch * window). grid_ref: Q (x, y) reference points, q = gy * grid_w + gx (NULL,
 * 0 when there is no grid pass). want_feature_map: keep the mean-layer feature map. */
gboolean ufo_vit_image_pass(UfoVitState *st, const float *img, int H, int W, const float *grid_ref,
                            int Q, int grid_h, int grid_w, gboolean want_feature_map, GError **e);
/* §5.5: grid queries through the window layers (global layers skipped). */
gboolean ufo_vit_grid_pass(UfoVitState *st, GError **e);
/* Prepares decode caches for a capacity of n_rows rows (e.g. sequences x beams) and at most
 * max_length steps: from the grid caches (the live rows are the Q grids in q order; global
 * layers skipped: detection/segmentation) or from the image caches (all n_rows rows are live
 * and see the whole image, all layers: caption/grounding). The decoder's reorder may then
 * expand (beams), permute or compact the live rows within the capacity. */
gboolean ufo_vit_decode_begin(UfoVitState *st, gboolean from_grid, int n_rows, int max_length,
                              GError **e);
/* engine/decode/decode.h: step (t must be the number of steps already taken) + reorder. */
UfoDecoder ufo_vit_decoder(UfoVitState *st);
/* Mean-layer feature map (Hp*Wp, C) on the host (segmentation mask retrieval); NULL unless the
 * last image pass had want_feature_map. */
const float *ufo_vit_feature_map(UfoVitState *st, int *hp, int *wp);

/* Named intermediates for golden tests: "patch_embed" (patches + position), "image.layer<l>.out",
 * "image.mean", "text.layer0.out", "grid.pos", "grid.feat<l>", "grid.layer<l>.out": host
 * copies, row-major, image maps (Hp*Wp, C) unpartitioned, grids (Q, C) in q order. Kept only
 * after ufo_vit_state_keep_intermediates(st, TRUE) (off by default). */
void ufo_vit_state_keep_intermediates(UfoVitState *st, gboolean keep);
/* *data is a new copy (g_free); FALSE when the intermediate was not kept. */
gboolean ufo_vit_get_intermediate(UfoVitState *st, const char *name, float **data, size_t *n,
                                  GError **e);

#endif
