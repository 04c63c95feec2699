/* A task's preprocessing parameters (inference spec §3, segmentation spec §2.1, §3.1). */
#include "preprocess.h"

void ufo_task_prep_params(const UfoTaskConfig *tc, const float mean[3], const float std[3],
                          UfoPrepParams *p)
{
  p->size = tc->input_size;
  p->resize = tc->resize == UFO_RESIZE_BICUBIC ? UFO_PREP_BICUBIC_PIL
              : tc->resize_float               ? UFO_PREP_LINEAR_F32
                                               : UFO_PREP_LINEAR_U8;
  for (int c = 0; c < 3; c++) {
    p->mean[c] = mean[c];
    p->std[c] = std[c];
  }
}

gboolean ufo_preprocess(const UfoImage *image, const UfoTaskConfig *tc, const float mean[3],
                        const float std[3], float *out, GError **error)
{
  if (tc->input_size <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "task input size %d is not positive",
                tc->input_size);
    return FALSE;
  }
  UfoPrepParams p;
  ufo_task_prep_params(tc, mean, std, &p);
  return ufo_preprocess_host(image, &p, out, (size_t)p.size * p.size, error);
}
