#include "result_json.h"

#include <json-glib/json-glib.h>

/* COCO uncompressed RLE of the full-image binary mask: column-major run lengths, starting with a
 * run of zeros (pycocotools convention). */
static void add_mask_rle(JsonBuilder *b, const UfoMask *m, int width, int height, float thr)
{
  json_builder_set_member_name(b, "rle");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "size");
  json_builder_begin_array(b);
  json_builder_add_int_value(b, height);
  json_builder_add_int_value(b, width);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "counts");
  json_builder_begin_array(b);
  int cur = 0;
  gint64 run = 0;
  for (int x = 0; x < width; x++) {
    for (int y = 0; y < height; y++) {
      int v = 0;
      int mx = x - m->x, my = y - m->y;
      if (mx >= 0 && my >= 0 && mx < m->width && my < m->height)
        v = m->prob[(size_t)my * m->width + mx] > thr;
      if (v != cur) {
        json_builder_add_int_value(b, run);
        run = 0;
        cur = v;
      }
      run++;
    }
  }
  json_builder_add_int_value(b, run);
  json_builder_end_array(b);
  json_builder_end_object(b);
}

char *tool_result_to_json(const UfoResult *res, int width, int height, float mask_threshold,
                          gboolean pretty)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "task");
  json_builder_add_string_value(b, ufo_task_name(res->task));
  json_builder_set_member_name(b, "width");
  json_builder_add_int_value(b, width);
  json_builder_set_member_name(b, "height");
  json_builder_add_int_value(b, height);
  json_builder_set_member_name(b, "objects");
  json_builder_begin_array(b);
  for (int i = 0; i < res->n_objects; i++) {
    const UfoObject *o = &res->objects[i];
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "label_id");
    json_builder_add_int_value(b, o->label_id);
    json_builder_set_member_name(b, "label");
    json_builder_add_string_value(b, o->label ? o->label : "");
    json_builder_set_member_name(b, "score");
    json_builder_add_double_value(b, o->score);
    json_builder_set_member_name(b, "box");
    json_builder_begin_array(b);
    json_builder_add_double_value(b, o->x1);
    json_builder_add_double_value(b, o->y1);
    json_builder_add_double_value(b, o->x2);
    json_builder_add_double_value(b, o->y2);
    json_builder_end_array(b);
    if (o->mask) {
      json_builder_set_member_name(b, "mask");
      json_builder_begin_object(b);
      add_mask_rle(b, o->mask, width, height, mask_threshold);
      json_builder_end_object(b);
    }
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  if (res->caption) {
    json_builder_set_member_name(b, "caption");
    json_builder_add_string_value(b, res->caption);
  }
  if (res->semantic) {
    const UfoSemanticMap *s = res->semantic;
    /* per-class pixel counts: compact and enough to compare with the reference */
    g_autofree gint64 *counts = g_new0(gint64, s->n_classes > 0 ? s->n_classes : 1);
    for (size_t i = 0; i < (size_t)s->width * s->height; i++)
      if (s->labels[i] < s->n_classes)
        counts[s->labels[i]]++;
    json_builder_set_member_name(b, "semantic");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "class_pixels");
    json_builder_begin_object(b);
    for (int c = 0; c < s->n_classes; c++) {
      if (!counts[c])
        continue;
      json_builder_set_member_name(b, s->class_names ? s->class_names[c] : "?");
      json_builder_add_int_value(b, counts[c]);
    }
    json_builder_end_object(b);
    json_builder_end_object(b);
  }
  json_builder_set_member_name(b, "timing_ms");
  json_builder_begin_object(b);
  const struct {
    const char *name;
    double v;
  } t[] = {{"preprocess", res->ms_preprocess}, {"text", res->ms_text},   {"image", res->ms_image},
           {"grid", res->ms_grid},             {"decode", res->ms_decode}, {"post", res->ms_post}};
  for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
    json_builder_set_member_name(b, t[i].name);
    json_builder_add_double_value(b, t[i].v);
  }
  json_builder_end_object(b);
  json_builder_end_object(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  json_generator_set_root(gen, root);
  json_generator_set_pretty(gen, pretty);
  return json_generator_to_data(gen, NULL);
}
