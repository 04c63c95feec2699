/* Two engine results equal bit for bit (header-only, for the C tests): objects, boxes, scores,
 * masks, captions and semantic class maps. */
#ifndef UFO_TESTS_SAME_RESULT_H
#define UFO_TESTS_SAME_RESULT_H

#include "ufo/ufo.h"

/* bit for bit: objects, boxes, scores, masks, captions and class maps */
static inline void ufo_test_assert_same_result(const UfoResult *a, const UfoResult *b)
{
  g_assert_cmpint(a->task, ==, b->task);
  g_assert_cmpint(a->n_objects, ==, b->n_objects);
  for (int i = 0; i < a->n_objects; i++) {
    const UfoObject *x = &a->objects[i], *y = &b->objects[i];
    g_assert_cmpint(x->label_id, ==, y->label_id);
    g_assert_cmpmem(&x->score, 5 * sizeof(float), &y->score, 5 * sizeof(float));
    g_assert_true((x->mask == NULL) == (y->mask == NULL));
    if (x->mask) {
      g_assert_cmpmem(x->mask, 4 * sizeof(int), y->mask, 4 * sizeof(int));
      const size_t px = (size_t)x->mask->width * x->mask->height;
      g_assert_true((x->mask->prob == NULL) == (y->mask->prob == NULL));
      g_assert_true((x->mask->gray == NULL) == (y->mask->gray == NULL));
      if (x->mask->prob)
        g_assert_cmpmem(x->mask->prob, px * sizeof(float), y->mask->prob, px * sizeof(float));
      if (x->mask->gray)
        g_assert_cmpmem(x->mask->gray, px, y->mask->gray, px);
    }
  }
  g_assert_cmpstr(a->caption, ==, b->caption);
  g_assert_true((a->semantic == NULL) == (b->semantic == NULL));
  if (a->semantic) {
    g_assert_cmpint(a->semantic->width, ==, b->semantic->width);
    g_assert_cmpint(a->semantic->height, ==, b->semantic->height);
    g_assert_cmpmem(
        a->semantic->labels, (size_t)a->semantic->width * a->semantic->height * sizeof(uint16_t),
        b->semantic->labels, (size_t)b->semantic->width * b->semantic->height * sizeof(uint16_t));
  }
}

#endif
