/* A task's preprocessing (inference spec §3, segmentation spec §2.1/§3.1): which resize the
 * task's original used and the model's normalisation, as parameters of the backend op
 * (backend/preprocess.h: the host functions and the op ufo_op_preprocess). */
#ifndef UFO_TASKS_PREPROCESS_H
#define UFO_TASKS_PREPROCESS_H

#include "backend/preprocess.h"
#include "model/config.h"

/* §3.1: bicubic = PIL BICUBIC on uint8 (caption, grounding); bilinear = cv2 INTER_LINEAR on
 * uint8, or on float32 when the task resizes float pixels (instance, seg §6.14). */
void ufo_task_prep_params(const UfoTaskConfig *tc, const float mean[3], const float std[3],
                          UfoPrepParams *p);

/* The whole path on the host for one task: out (3, S, S) float32 planar RGB with
 * S = tc->input_size, normalised with mean/std (RGB order). Errors: zero-size or NULL image,
 * unknown format, S not positive. */
gboolean ufo_preprocess(const UfoImage *image, const UfoTaskConfig *tc, const float mean[3],
                        const float std[3], float *out, GError **error);

#endif
