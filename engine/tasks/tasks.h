/* Per-task post-processing: decoded sequences → UfoResult objects in input-image pixels
 * (inference spec §7, segmentation spec §2.5–§2.11, §3.4–§3.6).
 *
 * Shapes (n_seq sequences of row stride T):
 *   ids        (n_seq, T)  int32, tokens after [CLS]; trailing [SEP]/[PAD] are ignored
 *   first_prob (n_seq)     probability of each sequence's first generated token
 *   grid_ref   (n_seq, 2)  (x, y) grid centre normalised to the network input
 *   feat       (n_seq, T, C) decode features, feat[t] predicted ids[t] (seg §6.1)
 *   image_feat (Hp·Wp, C)  mean-layer image features, row-major patches (seg §2.2): on the
 *                          host, or where the forward left them (UfoFeatureMap: the mask ops
 *                          run on that backend and only bits, crops and class maps come back)
 * in_w/in_h: network input size (resized image); orig_w/orig_h: the caller's image size.
 *
 * Every function appends to `res` (res->objects / caption / semantic; the caller owns res and
 * frees it with ufo_result_free) and returns FALSE with a UFO_ERROR on bad arguments. Label
 * strings in the objects point into `labels` (owned by the model). */
#ifndef UFO_TASKS_TASKS_H
#define UFO_TASKS_TASKS_H

#include "ufo/ufo.h"
#include "model/config.h"
#include "model/model.h"
#include "text/tokenizer.h"
#include "backend/backend.h"

/* ---- text parsing (parse.c) ------------------------------------------------------------- */

/* Python int(s.replace(' ', '')): optional surrounding whitespace, sign, ASCII digits with single
 * underscores between digits. FALSE when Python would raise (or beyond int64, where the
 * original fails building its tensor). */
gboolean ufo_parse_int(const char *s, int64_t *out);
/* Detection text (§7.1 step 2): "<class>,v1,v2,v3,v4[,...]" with class an exact label (not
 * "background"). Fills label index and v[4]; FALSE when the text is rejected. */
gboolean ufo_parse_detection(const char *text, const UfoLabelSet *labels, int *label, int64_t v[4]);
/* Grounding text (§7.2): "v0,v1,v2,v3[,...]"; FALSE (→ zero box) on fewer fields or bad ints. */
gboolean ufo_parse_grounding(const char *text, int64_t v[4]);
/* Segmentation head (seg §2.5 step 4): text.split(',')[0] is a label and the text contains
 * "<MASK>". Instance (semantic FALSE): "background" is the negative answer and never a label.
 * Semantic: any label, "background" included when the label set has it as a class (the demo's
 * shapes-semantic, class 0; ADE20K has no such name). Returns the label index or -1. */
int ufo_parse_seg_label(const char *text, const UfoLabelSet *labels, gboolean semantic);

/* Indices by descending score, ties keeping the lower index (torch.topk / sort leave tie order
 * unspecified). g_free the result. */
int *ufo_order_by_score(const float *score, int n);

/* Grows res->objects by n zeroed objects and returns the first new one (NULL when n <= 0 and
 * res has no objects). */
UfoObject *ufo_result_append_objects(UfoResult *res, int n);

/* ---- NMS (nms.c) ----------------------------------------------------------------------- */

/* mmcv batched_nms(boxes, scores, labels, soft_nms linear): class offsets label·(max + 1) added
 * in float32, then softnms_cpu. boxes (n, 4) xyxy. Writes the selected original indices to keep
 * and their decayed scores to out_scores (selection order); returns how many. */
int ufo_batched_soft_nms(const float *boxes, const float *scores, const int *labels, int n,
                         float iou_thr, float min_score, int *keep, float *out_scores);
/* mmdet mask_matrix_nms (gaussian kernel, same-class decay) given precomputed areas (n) and
 * pairwise intersections inter (n, n) (pixel counts) of masks already sorted by descending
 * score. Decays scores in place, keeps s >= filter_thr, sorts again (stable). Writes the kept
 * positions to keep and returns how many. */
int ufo_matrix_nms(const float *area, const float *inter, const int *labels, float *scores, int n,
                   float sigma, float filter_thr, int *keep);

/* ---- masks (masks.c): the host reference of the mask ops (backend.h mask_*) ------------- */

/* For each of n objects, S = E·Fᵀ / sqrt(C) (host_blas.h: one sgemm per UFO_MASK_LOGITS_GROUP
 * objects, mask_math.h), then the 4×4 pixel shuffle (token j → sub-row j/4, sub-col j%4): E (16n,
 * C), F (Hp·Wp, C) → U (n·4·Hp, 4·Wp) logits, object after object (seg §2.6, §2.7). */
void ufo_mask_logits(const float *E, int n, const float *F, int Hp, int Wp, int C, float *U);
/* torch.nn.functional.interpolate(bilinear, align_corners=False) of one (ih, iw) map to
 * (oh, ow), float32 (seg §2.8). */
void ufo_resize_bilinear_torch(const float *in, int iw, int ih, float *out, int ow, int oh);
/* The same, output rows [y0, y1) only, written to out (y1 − y0, ow). */
void ufo_resize_bilinear_torch_rows(const float *in, int iw, int ih, float *out, int ow, int oh,
                                    int y0, int y1);
/* One grid's mask at the original resolution: ufo_mask_logits → bilinear to (oh, ow) →
 * sigmoid. U: scratch (16·Hp·Wp); P: (oh, ow) probabilities. */
void ufo_mask_probs(const float *E, const float *F, int Hp, int Wp, int C, int ow, int oh, float *U,
                    float *P);
/* The same from one object's logits U (4·Hp, 4·Wp). */
void ufo_mask_probs_of_logits(const float *U, int Hp, int Wp, int ow, int oh, float *P);
/* Gathers the feature rows of the first `want` <MASK> ids (mask_token) of row `ids` (length T)
 * into E (want, C); returns how many <MASK> ids the row holds in total. */
int ufo_mask_gather(const int32_t *ids, const float *feat, int T, int C, int want,
                    int32_t mask_token, float *E);
/* The reference's sigmoid 1 / (1 + exp(−x)) in float: exactly 0 below ≈ −88.7 (seg §0 item 2). */
float ufo_sigmoid_ref(float x);

/* The mean-layer feature map on a backend (seg §2.2): map is (hp·wp, C), row-major patches. */
typedef struct {
  UfoView map;
  int hp, wp;
  /* The id of <MASK> in the decoded ids (the model's vocabulary): the states that predicted it
   * are the mask features (seg §6.1). */
  int32_t mask_token;
  /* Optional (NULL: each batch allocates and frees its own): tensors of the caller's that the
   * mask batches use for e and u, grown to the largest batch and kept (a session's state, so
   * that frames of a prepared task allocate nothing). */
  UfoTensor **keep_e, **keep_u;
  /* Optional (NULL: allocated per frame): the caller's host buffer for the instance masks' bits
   * (one map per valid grid at the original resolution), grown to the largest frame and kept, so
   * that no frame touches fresh pages for them (a session's state). */
  GByteArray *keep_bits;
  /* Optional (hist.t NULL: the tasks' host feat is used): the decode features kept on the same
   * backend, rows (n, C) of a feature history, and hist_row (n_seq, T) the history row of
   * feat[q][t] (decode.h feat_row); the mask batches then gather their object features there
   * (gather_rows) and the tasks' feat may be NULL. keep_idx: as keep_e, for the (cap·16) i32
   * row indices (NULL: each batch allocates its own). */
  UfoView hist;
  const int32_t *hist_row;
  UfoTensor **keep_idx;
} UfoFeatureMap;

/* fm over a host feature map (Hp·Wp, C): a one-thread CPU backend using image_feat in place;
 * release with ufo_mask_host_map_free. */
gboolean ufo_mask_host_map(const float *image_feat, int Hp, int Wp, int C, int32_t mask_token,
                           UfoFeatureMap *fm, GError **error);
void ufo_mask_host_map_free(UfoFeatureMap *fm);

/* Mask maps of up to cap objects on the feature map's backend: ufo_mask_batch_set fills object
 * i's 16 features (host_e (cap·16, C), or host_idx (cap·16) history rows when fm->hist is
 * set), then ufo_mask_batch_logits uploads the first n objects' rows (or gathers them from the
 * history) and computes their logit maps u (n·4hp, 4wp) with the mask_logits op (seg
 * §2.6-§2.7). */
typedef struct {
  UfoBackend *be;
  const UfoFeatureMap *fm;
  int cap;
  UfoTensor *e, *u;
  gboolean kept; /* e and u are the feature map's keep_e, keep_u (not freed by clear) */
  float *host_e;
  UfoTensor *idx;    /* (cap·16) i32, with fm->hist */
  gboolean kept_idx; /* idx is the feature map's keep_idx */
  int32_t *host_idx; /* (cap·16) history rows, with fm->hist */
} UfoMaskBatch;
gboolean ufo_mask_batch_init(UfoMaskBatch *b, const UfoFeatureMap *fm, int cap, GError **error);
/* Object i of the batch = the first 16 <MASK> features of sequence q: ids row q (length T) and
 * feat (n_seq, T, C) host features, or the history rows fm->hist_row (feat unused). */
void ufo_mask_batch_set(UfoMaskBatch *b, int i, const int32_t *ids, const float *feat, int q,
                        int T);
gboolean ufo_mask_batch_logits(UfoMaskBatch *b, int n, UfoView *u, GError **error);
void ufo_mask_batch_clear(UfoMaskBatch *b);

/* ---- tasks (detection.c, grounding.c, caption.c, instance.c, semantic.c) -------------- */

/* Detection (§7.1): sort by first_prob, parse up to tc->max_per_img texts, boxes in float32,
 * clamp in input pixels, ÷ scale factor, class-aware soft-NMS (tc->nms_iou unless nms_iou > 0,
 * tc->nms_min_score), then at most max_detections (> 0) objects. */
gboolean ufo_task_detection_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                       char *const *texts, const float *first_prob, int n_seq,
                                       const float *grid_ref, int in_w, int in_h, int orig_w,
                                       int orig_h, int max_detections, float nms_iou,
                                       UfoResult *res, GError **error);
/* Grounding (§7.2, §0 item 4): one object; the zero box when the text does not parse. Its score
 * is first_prob (the original has none); label_id −1, label NULL. */
gboolean ufo_task_grounding_from_text(const UfoTaskConfig *tc, const char *text, float first_prob,
                                      int in_w, int in_h, int orig_w, int orig_h, UfoResult *res,
                                      GError **error);
/* Instance segmentation (seg §2.5–§2.11): exactly 16 <MASK> ids, label match, masks streamed one
 * grid at a time at the original resolution, P > mask_threshold (0.5 when <= 0), rescoring by
 * the mean foreground probability, matrix NMS (tc->nms_sigma, tc->nms_filter), boxes from the
 * binary mask (`boxes`: its largest 8-connected region, or every foreground pixel as the
 * original's mask2bbox; x_max + 1, y_max + 1), masks cropped to the box of all their pixels.
 * max_detections > 0 caps the output after NMS (the original has no cap). The masks come back
 * as `format` says (UfoMask.prob or UfoMask.gray). */
gboolean ufo_task_instance_masks(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                 char *const *texts, const int32_t *ids, const float *first_prob,
                                 const float *feat, int n_seq, int T, const UfoFeatureMap *fm,
                                 int orig_w, int orig_h, float mask_threshold, int max_detections,
                                 UfoInstanceBoxes boxes, UfoMaskFormat format, UfoResult *res,
                                 GError **error);
/* The same with the feature map on the host: the mask ops run on a one-thread CPU backend that
 * uses image_feat in place (the fixture tests). */
gboolean ufo_task_instance_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                      char *const *texts, const int32_t *ids,
                                      const float *first_prob, const float *feat, int n_seq, int T,
                                      int32_t mask_token, const float *image_feat, int Hp, int Wp,
                                      int C, int orig_w, int orig_h, float mask_threshold,
                                      int max_detections, UfoInstanceBoxes boxes, UfoResult *res,
                                      GError **error);
/* Semantic segmentation (seg §3.4–§3.6): the first 16 <MASK> ids of each grid whose label
 * matches (grids with fewer are skipped; the original would crash), score = first_prob,
 * L[c] = Σ score·P, argmax with ties to the lowest class. With no valid grid res->semantic
 * stays NULL (the original crashes; the engine returns an empty result, seg §0 item 6). */
gboolean ufo_task_semantic_masks(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                 char *const *texts, const int32_t *ids, const float *first_prob,
                                 const float *feat, int n_seq, int T, const UfoFeatureMap *fm,
                                 int orig_w, int orig_h, UfoResult *res, GError **error);
/* The same with the feature map on the host (as ufo_task_instance_from_texts). */
gboolean ufo_task_semantic_from_texts(const UfoTaskConfig *tc, const UfoLabelSet *labels,
                                      char *const *texts, const int32_t *ids,
                                      const float *first_prob, const float *feat, int n_seq, int T,
                                      int32_t mask_token, const float *image_feat, int Hp, int Wp,
                                      int C, int orig_w, int orig_h, UfoResult *res,
                                      GError **error);

/* ---- the whole answers before a mask run, as token pieces (answers.c) ------------------- */

/* The pieces of the label set's names (seg §2.3), for the decoder's draft lead (decode.h
 * UfoDecodeDraft): a guess of when a grid's next token is the comma. */
typedef struct _UfoAnswerPieces UfoAnswerPieces;
UfoAnswerPieces *ufo_answer_pieces_new(const UfoLabelSet *labels, const UfoTokenizer *tok);
void ufo_answer_pieces_free(UfoAnswerPieces *a);
/* TRUE when ids[0..n) are the pieces of an answer and begin no longer one. */
gboolean ufo_answer_pieces_whole(const UfoAnswerPieces *a, const int32_t *ids, int n);

/* ---- first tokens that end a grid's answer (dead_heads.c) ---------------------------------- */

/* TRUE when no answer that begins with token id can be kept by detection, instance or
 * semantic post-processing with this label set (its head can be none of the names; with
 * drop_background, detection and instance, `background` never counts as one). */
gboolean ufo_task_dead_first(const UfoTokenizer *tok, const UfoLabelSet *labels,
                             gboolean drop_background, int32_t id);
/* ufo_task_dead_first of every id below vocab (NULL labels: none), for decode.h
 * UfoDecoder.end_first; free with g_free. */
uint8_t *ufo_task_dead_first_table(const UfoTokenizer *tok, const UfoLabelSet *labels,
                                   gboolean drop_background, int vocab);

/* ---- the same, decoding the ids with the tokenizer first (tasks_text.c) ---------------- */

/* Decodes row s of ids (stride T) with skip_special_tokens=True and clean-up (inference §4.5). */
char **ufo_task_decode_texts(const UfoTokenizer *tok, const int32_t *ids, int n_seq, int T);

gboolean ufo_task_postprocess_detection(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                        const UfoLabelSet *labels, const int32_t *ids,
                                        const float *first_prob, int n_seq, int T,
                                        const float *grid_ref, int in_w, int in_h, int orig_w,
                                        int orig_h, int max_detections, float nms_iou,
                                        UfoResult *res, GError **error);
gboolean ufo_task_postprocess_grounding(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                        const int32_t *ids, const float *first_prob, int T,
                                        int in_w, int in_h, int orig_w, int orig_h, UfoResult *res,
                                        GError **error);
/* Caption (§7.3): res->caption = decode(ids row 0). */
gboolean ufo_task_postprocess_caption(const UfoTokenizer *tok, const int32_t *ids, int T,
                                      UfoResult *res, GError **error);
gboolean ufo_task_postprocess_instance(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                       const UfoLabelSet *labels, const int32_t *ids,
                                       const float *first_prob, const float *feat, int n_seq, int T,
                                       const UfoFeatureMap *fm, int orig_w, int orig_h,
                                       float mask_threshold, int max_detections,
                                       UfoInstanceBoxes boxes, UfoMaskFormat format, UfoResult *res,
                                       GError **error);
gboolean ufo_task_postprocess_semantic(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                       const UfoLabelSet *labels, const int32_t *ids,
                                       const float *first_prob, const float *feat, int n_seq, int T,
                                       const UfoFeatureMap *fm, int orig_w, int orig_h,
                                       UfoResult *res, GError **error);

#endif
