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

typedef struct _UfoVit UfoVit; /* weights on a device + the backend that computes with them */
typedef struct _UfoVitState
    UfoVitState; /* one frame: activations, KV caches (reused across frames) */

/* The model's weights uploaded to be (on the CPU: aliasing the model's memory), computed on be.
 * A reference to the model is taken. */
UfoVit *ufo_vit_new(const UfoModel *model, UfoBackend *be, GError **error);
/* A UfoVit computing on be with the weight tensors of `weights` (no copy): be must share their
 * memory (backend.h ufo_backend_shares_memory), and `weights` must outlive the result. UfoVits
 * sharing weights may run at the same time on different threads, each on its own backend. */
UfoVit *ufo_vit_new_sharing(const UfoVit *weights, UfoBackend *be, GError **error);
/* The model's weights on be's device, uploaded once per (model, backend kind, device) in the
 * process and shared by every UfoVit acquired for them (vit_shared.c): a process-wide registry,
 * refcounted under a lock, whose entry owns the weights on a backend of its own
 * (UfoBackendOps.new_peer) and goes away with the last UfoVit freed. The result computes on be
 * (each session its own backend: stream, thread pool, scratch), so sessions run concurrently.
 * A backend without new_peer gets its own copy (ufo_vit_new). */
UfoVit *ufo_vit_acquire(UfoModel *model, UfoBackend *be, GError **error);
/* Frees a UfoVit; its weights go with it unless they are another's (new_sharing) or still used
 * by another acquired UfoVit. */
void ufo_vit_free(UfoVit *vit);
/* Bytes of the weight tensors the UfoVit computes with (shared or not). */
size_t ufo_vit_weight_bytes(const UfoVit *vit);
/* The registry (ufo_vit_acquire): weight copies held and their bytes, over all models and
 * devices (either pointer may be NULL). */
void ufo_vit_shared_stats(int *copies, size_t *bytes);

UfoVitState *ufo_vit_state_new(UfoVit *vit, GError **error);
void ufo_vit_state_free(UfoVitState *st);
/* Bytes of the state's tensors and host buffers as sized so far (activations, caches, scratch). */
size_t ufo_vit_state_bytes(const UfoVitState *st);
/* Graphs of the image and grid passes (backend/graph.h) recorded and launched so far. */
void ufo_vit_graph_counts(const UfoVitState *st, unsigned *recorded, unsigned *launched);
/* Graphs of decode steps (one per step index and row count) recorded and launched so far. */
void ufo_vit_decode_graph_counts(const UfoVitState *st, unsigned *recorded, unsigned *launched);

/* inference §4.3-4.4, §5.3: ids/masked of length T (already without the last column);
 * masked[j] != 0 hides key j (ids == [SEP] are hidden too). */
gboolean ufo_vit_text_pass(UfoVitState *st, const int32_t *ids, const uint8_t *masked, int T,
                           GError **e);
/* The image pass's input tensor for an H x W image, as a (3, H*W) view (row c = channel c):
 * where the backend's preprocess op writes the frame (backend/preprocess.h) before
 * ufo_vit_image_pass runs with img NULL. Allocated here when the size changes. */
gboolean ufo_vit_image_input(UfoVitState *st, int H, int W, UfoView *img, GError **e);
/* §5.2, §5.4: img is the normalised float32 RGB image (3, H, W) on the host, uploaded; or NULL:
 * the image is already in the input tensor (ufo_vit_image_input with the same H, W). H and W
 * multiples of 224 (of patch * window). grid_ref: Q (x, y) reference points, q = gy * grid_w +
 * gx (NULL, 0 when there is no grid pass). want_feature_map: keep the mean-layer feature map. */
gboolean ufo_vit_image_pass(UfoVitState *st, const float *img, int H, int W, const float *grid_ref,
                            int Q, int grid_h, int grid_w, gboolean want_feature_map, GError **e);
/* §5.5: grid queries through the window layers (global layers skipped). */
gboolean ufo_vit_grid_pass(UfoVitState *st, GError **e);
/* Prepares decode caches for a capacity of n_rows rows (e.g. sequences x beams) and at most
 * max_length steps, with the scratch of a permuting reorder when n_rows > 1 (all sized here:
 * nothing is allocated later, inside the steps): from the grid caches (the live rows are the Q
 * grids in q order; global layers skipped: detection/segmentation) or from the image caches
 * (all n_rows rows are live and see the whole image, all layers: caption/grounding). The
 * decoder's reorder may then expand (beams), permute or compact the live rows within the
 * capacity. */
gboolean ufo_vit_decode_begin(UfoVitState *st, gboolean from_grid, int n_rows, int max_length,
                              GError **e);
/* decode_begin; permuting FALSE: reorders only compact (src[i] >= i, greedy decoding), so the
 * permutation scratch (one layer's cache: 115 MB for ViT-B detection at 1120) is not reserved
 * and a permuting reorder is an error. */
gboolean ufo_vit_decode_prepare(UfoVitState *st, gboolean from_grid, int n_rows, int max_length,
                                gboolean permuting, GError **e);
/* A batch of frames decoded together (grid tasks: every grid row attends only to its own
 * grid's K/V and its own tokens, so rows of different frames share the steps). After frame b's
 * grid pass (b = 0, 1, .. in order; b = 0 starts a batch), its Q grids' K/V go to rows
 * b·Q .. b·Q + Q − 1 of decode caches with a capacity of n_rows rows (n_frames · Q · beams),
 * allocated at b = 0. The frames must share the grid (same input size). */
gboolean ufo_vit_decode_stash_grid(UfoVitState *st, int b, int n_rows, GError **e);
/* decode_prepare from the grid for the n_frames stashed frames: n_frames · Q live rows in frame
 * order, frame b's grid q at row b·Q + q; n_rows as given to the stash. */
gboolean ufo_vit_decode_prepare_stashed(UfoVitState *st, int n_frames, int n_rows, int max_length,
                                        gboolean permuting, GError **e);
/* engine/decode/decode.h: step (t must be the number of steps already taken) + reorder. */
/* After decode_begin / decode_prepare, before the first step: keeps the decode features on the
 * backend in a history of rows · max_length rows (allocated here, never inside a step); the
 * decoder then has keep_feat (decode.h), each step appending its live rows. */
gboolean ufo_vit_decode_keep_features(UfoVitState *st, GError **e);
/* Sizes the buffers of draft passes (UfoDecoder.step_ahead) for up to rows rows × positions now,
 * so that no pass allocates (prepared sessions allocate nothing while they run). */
gboolean ufo_vit_decode_reserve_ahead(UfoVitState *st, int64_t rows, GError **e);
UfoDecoder ufo_vit_decoder(UfoVitState *st);
/* Mean-layer feature map (Hp*Wp, C) where the forward left it, on the backend (seg §2.2; the
 * mask ops read it there, engine/tasks); FALSE unless the last image pass had
 * want_feature_map. The view stays valid until the next image pass. */
gboolean ufo_vit_feature_map_view(UfoVitState *st, UfoView *map, int *hp, int *wp);
/* Keeps frame b of n_frames' feature map (after its image pass with want_feature_map) in the
 * state's batch store, b = 0, 1, .. in order; the view of frame b stays valid until the next
 * stash of frame 0. */
gboolean ufo_vit_stash_feature_map(UfoVitState *st, int b, int n_frames, GError **e);
gboolean ufo_vit_stashed_feature_map_view(UfoVitState *st, int b, UfoView *map, int *hp, int *wp);
/* The state's slots for the mask batches' tensors (engine/tasks UfoFeatureMap keep_e, keep_u)
 * and its host buffer for the instance masks' bits (keep_bits): kept, grown to the largest
 * batch or frame, freed with the state. */
void ufo_vit_mask_tensors(UfoVitState *st, UfoTensor ***e, UfoTensor ***u, GByteArray **bits);
/* The last decoding's feature history (the rows in use, (n, C)) when it was kept, FALSE (hist
 * zeroed) otherwise; *idx: the state's i32 tensor for the mask batches' history rows. */
gboolean ufo_vit_feature_history(UfoVitState *st, UfoView *hist, UfoTensor ***idx);
/* The same map copied to the host on the first call after an image pass (tests, tools); NULL
 * unless the last image pass had want_feature_map, or when the copy fails. */
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
