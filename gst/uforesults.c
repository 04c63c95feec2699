/* Engine UfoResult → GstUfoResults with the class filter (gst/filter/) applied. */
#include "uforesults.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int by_score_desc(const void *a, const void *b)
{
  const UfoObject *x = *(const UfoObject *const *)a, *y = *(const UfoObject *const *)b;
  if (x->score != y->score)
    return (x->score < y->score) - (x->score > y->score);
  return (x > y) - (x < y); /* ties keep the engine's order */
}

static void add_mask(GstUfoResults *res, guint index, UfoMask *m)
{
  if (!m || !(m->prob || m->gray) || m->width <= 0 || m->height <= 0)
    return;
  const gsize n = (gsize)m->width * m->height;
  if (m->gray) { /* made by the engine (UFO_MASK_GRAY8): taken over as it is */
    GBytes *b = g_bytes_new_take(g_steal_pointer(&m->gray), n);
    GstUfoRect rect = {(gfloat)m->x, (gfloat)m->y, (gfloat)m->width, (gfloat)m->height};
    gst_ufo_results_set_mask(res, index, b, m->width, m->height, m->width, &rect);
    g_bytes_unref(b);
    return;
  }
  guint8 *px = g_malloc(n);
  guint8 *restrict out = px;
  const float *restrict prob = m->prob;
  for (gsize i = 0; i < n; i++) {
    /* probability 0..1 stored in full as 0..255 (anchors §6.3: GRAY8 probabilities), rounded
     * half to even as lrintf: adding and taking away 2^23 leaves the nearest integer of a
     * float in [0, 2^23) (one rounding, inline and vectorisable); NaN counts as 0 */
    float v = prob[i] > 0.f ? prob[i] : 0.f; /* (max and min as SIMD does them) */
    v = (v < 1.f ? v : 1.f) * 255.f;
    out[i] = (guint8)(gint)((v + 0x1p23f) - 0x1p23f);
  }
  GBytes *b = g_bytes_new_take(px, n);
  GstUfoRect rect = {(gfloat)m->x, (gfloat)m->y, (gfloat)m->width, (gfloat)m->height};
  gst_ufo_results_set_mask(res, index, b, m->width, m->height, m->width, &rect);
  g_bytes_unref(b);
}

static void add_semantic(GstUfoResults *res, const UfoSemanticMap *s)
{
  if (!s || !s->labels || s->width <= 0 || s->height <= 0)
    return;
  const gsize n = (gsize)s->width * s->height;
  const gboolean wide = s->n_classes > 256;
  GBytes *b;
  if (wide) {
    guint16 *px = g_new(guint16, n);
    for (gsize i = 0; i < n; i++)
      px[i] = GUINT16_TO_LE(s->labels[i]);
    b = g_bytes_new_take(px, n * 2);
  } else {
    guint8 *px = g_malloc(n);
    for (gsize i = 0; i < n; i++)
      px[i] = (guint8)s->labels[i];
    b = g_bytes_new_take(px, n);
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new();
  for (int i = 0; s->class_names && i < s->n_classes; i++)
    g_ptr_array_add(names, (gpointer)(s->class_names[i] ? s->class_names[i] : ""));
  g_ptr_array_add(names, NULL);
  GstUfoRect rect = {0, 0, (gfloat)s->width, (gfloat)s->height};
  gst_ufo_results_set_semantic_map(res, wide ? GST_VIDEO_FORMAT_GRAY16_LE : GST_VIDEO_FORMAT_GRAY8,
                                   b, s->width, s->height, wide ? s->width * 2 : s->width, &rect,
                                   (const gchar *const *)names->pdata);
  g_bytes_unref(b);
}

GstUfoResults *gst_ufo_results_from_engine(UfoResult *result, gint width, gint height,
                                           const GstUfoFilter *filter, const gchar *prompt)
{
  GstUfoResults *res = gst_ufo_results_new(width, height);
  if (result->n_objects > 0) {
    const UfoObject **keep = g_new(const UfoObject *, result->n_objects);
    guint n = 0;
    for (int i = 0; i < result->n_objects; i++) {
      const UfoObject *o = &result->objects[i];
      if (gst_ufo_filter_accepts(filter, o->label_id, o->label, o->score))
        keep[n++] = o;
    }
    qsort(keep, n, sizeof *keep, by_score_desc);
    if (filter->max_detections && n > filter->max_detections)
      n = filter->max_detections;
    for (guint i = 0; i < n; i++) {
      const UfoObject *o = keep[i];
      guint idx = gst_ufo_results_add_object(res, o->label_id, o->label, o->score, o->x1, o->y1,
                                             o->x2 - o->x1, o->y2 - o->y1);
      add_mask(res, idx, o->mask);
    }
    g_free(keep);
  }
  if (result->caption)
    gst_ufo_results_set_caption(res, result->caption);
  add_semantic(res, result->semantic);
  if (prompt)
    gst_ufo_results_set_prompt(res, prompt);
  return res;
}

static gboolean has_objects_task(GQuark task)
{
  const gchar *t = g_quark_to_string(task);
  return t && (!strcmp(t, "detection") || !strcmp(t, "grounding") || !strcmp(t, "instance"));
}

GstUfoMeta *gst_ufo_find_object_meta(GstBuffer *buf, gint unique_id)
{
  if (unique_id >= 0)
    return gst_buffer_get_ufo_meta_for_producer(buf, (guint)unique_id);
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_UFO_META_API_TYPE)))
    if (has_objects_task(((GstUfoMeta *)m)->task))
      return (GstUfoMeta *)m;
  return NULL;
}
