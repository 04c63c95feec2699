/* Post-processing entry points that decode the ids with the tokenizer first (inference spec
 * §4.5: skip_special_tokens=True, clean-up on), then call the *_from_texts functions. */
#include "tasks.h"

char **ufo_task_decode_texts(const UfoTokenizer *tok, const int32_t *ids, int n_seq, int T)
{
  char **texts = g_new0(char *, (size_t)n_seq + 1); /* NULL-terminated: g_strfreev */
  for (int s = 0; s < n_seq; s++)
    texts[s] = ufo_tokenizer_decode(tok, ids + (size_t)s * T, (size_t)T, TRUE);
  return texts;
}

static gboolean check_tok(const UfoTokenizer *tok, GError **error)
{
  if (!tok) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "post-processing needs a tokenizer");
    return FALSE;
  }
  return TRUE;
}

gboolean ufo_task_postprocess_detection(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                        const UfoLabelSet *labels, const int32_t *ids,
                                        const float *first_prob, int n_seq, int T,
                                        const float *grid_ref, int in_w, int in_h, int orig_w,
                                        int orig_h, int max_detections, float nms_iou,
                                        UfoResult *res, GError **error)
{
  if (!check_tok(tok, error))
    return FALSE;
  g_auto(GStrv) texts = ufo_task_decode_texts(tok, ids, n_seq, T);
  return ufo_task_detection_from_texts(tc, labels, texts, first_prob, n_seq, grid_ref, in_w, in_h,
                                       orig_w, orig_h, max_detections, nms_iou, res, error);
}

gboolean ufo_task_postprocess_grounding(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                        const int32_t *ids, const float *first_prob, int T,
                                        int in_w, int in_h, int orig_w, int orig_h, UfoResult *res,
                                        GError **error)
{
  if (!check_tok(tok, error))
    return FALSE;
  g_auto(GStrv) texts = ufo_task_decode_texts(tok, ids, 1, T);
  return ufo_task_grounding_from_text(tc, texts[0], first_prob[0], in_w, in_h, orig_w, orig_h, res,
                                      error);
}

gboolean ufo_task_postprocess_caption(const UfoTokenizer *tok, const int32_t *ids, int T,
                                      UfoResult *res, GError **error)
{
  if (!check_tok(tok, error))
    return FALSE;
  res->task = UFO_TASK_CAPTION;
  g_free(res->caption);
  /* §7.3: the decoded best beam is the caption, nothing else */
  res->caption = ufo_tokenizer_decode(tok, ids, (size_t)T, TRUE);
  return TRUE;
}

gboolean ufo_task_postprocess_instance(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                       const UfoLabelSet *labels, const int32_t *ids,
                                       const float *first_prob, const float *feat, int n_seq, int T,
                                       const UfoFeatureMap *fm, int orig_w, int orig_h,
                                       float mask_threshold, int max_detections,
                                       UfoInstanceBoxes boxes, UfoMaskFormat format, UfoResult *res,
                                       GError **error)
{
  if (!check_tok(tok, error))
    return FALSE;
  g_auto(GStrv) texts = ufo_task_decode_texts(tok, ids, n_seq, T);
  return ufo_task_instance_masks(tc, labels, texts, ids, first_prob, feat, n_seq, T, fm, orig_w,
                                 orig_h, mask_threshold, max_detections, boxes, format, res, error);
}

gboolean ufo_task_postprocess_semantic(const UfoTaskConfig *tc, const UfoTokenizer *tok,
                                       const UfoLabelSet *labels, const int32_t *ids,
                                       const float *first_prob, const float *feat, int n_seq, int T,
                                       const UfoFeatureMap *fm, int orig_w, int orig_h,
                                       UfoResult *res, GError **error)
{
  if (!check_tok(tok, error))
    return FALSE;
  g_auto(GStrv) texts = ufo_task_decode_texts(tok, ids, n_seq, T);
  return ufo_task_semantic_masks(tc, labels, texts, ids, first_prob, feat, n_seq, T, fm, orig_w,
                                 orig_h, res, error);
}
