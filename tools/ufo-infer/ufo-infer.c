/* ufo-infer: run one UFO-ViT task on an image file and print the result as JSON.
 *
 *   ufo-infer --model models/ufo-demo.safetensors --task detection image.png
 *   ufo-infer --random tiny --seed 0 --task caption synthetic:224x224
 *   ufo-infer --model models/ufo-demo.safetensors --task semantic --label-map map.pgm image.png
 *   ufo-infer --model models/ufo-demo.safetensors --task grounding --list images.txt
 * With --list, every line of the file (IMAGE, or IMAGE<TAB>PROMPT) runs on the one loaded model
 * and session, and each result is one line of JSON, in order (JSON Lines).
 */
#include "ufo/ufo.h"
#include "../common/image_io.h"
#include "../common/result_json.h"
#include "../common/draw_result.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *opt_label_map, *opt_list;
static char *opt_model, *opt_random, *opt_draw, *opt_task = "detection", *opt_prompt,
                                                *opt_device = "cpu";
static char *opt_precision = "fp32", *opt_instance_boxes = "region";
static gint64 opt_seed;
static int opt_threads, opt_beam, opt_max_det;
static double opt_mask_thr = 0.5, opt_temperature, opt_length_penalty;
static gboolean opt_pretty;

static GOptionEntry entries[] = {
    {"model", 'm', 0, G_OPTION_ARG_FILENAME, &opt_model, "Model file (.safetensors)", "FILE"},
    {"random", 0, 0, G_OPTION_ARG_STRING, &opt_random,
     "Use deterministic random weights of a built-in config (tiny, vit-b, vit-l, vit-h)", "CONFIG"},
    {"seed", 0, 0, G_OPTION_ARG_INT64, &opt_seed, "Seed of the random weights (default 0)", "N"},
    {"task", 't', 0, G_OPTION_ARG_STRING, &opt_task,
     "detection, grounding, caption, instance or semantic", "TASK"},
    {"prompt", 'p', 0, G_OPTION_ARG_STRING, &opt_prompt, "Referring expression (grounding)",
     "TEXT"},
    {"device", 'd', 0, G_OPTION_ARG_STRING, &opt_device, "cpu, cuda or auto (default cpu)", "DEV"},
    {"threads", 'j', 0, G_OPTION_ARG_INT, &opt_threads, "CPU threads (0 = all cores)", "N"},
    {"precision", 0, 0, G_OPTION_ARG_STRING, &opt_precision,
     "Weight-GEMM precision: fp32 (default), bf16 (fp32 without AVX512-BF16/AMX) or auto (bf16 "
     "where native, else fp32)",
     "P"},
    {"beam-size", 0, 0, G_OPTION_ARG_INT, &opt_beam, "Beam size (0 = model default)", "N"},
    {"temperature", 0, 0, G_OPTION_ARG_DOUBLE, &opt_temperature,
     "Beam search: logits / T before the log-softmax (0 = the task's value)", "T"},
    {"length-penalty", 0, 0, G_OPTION_ARG_DOUBLE, &opt_length_penalty,
     "Beam search: hypothesis score sum / length^A (0 = the task's value)", "A"},
    {"max-detections", 0, 0, G_OPTION_ARG_INT, &opt_max_det, "Cap on objects (0 = default)", "N"},
    {"mask-threshold", 0, 0, G_OPTION_ARG_DOUBLE, &opt_mask_thr, "Mask probability threshold", "P"},
    {"instance-boxes", 0, 0, G_OPTION_ARG_STRING, &opt_instance_boxes,
     "Instance boxes: region (largest connected region of the mask, default) or mask (all of "
     "it, as the original's mask2bbox)",
     "MODE"},
    {"pretty", 0, 0, G_OPTION_ARG_NONE, &opt_pretty, "Indent the JSON", NULL},
    {"draw", 0, 0, G_OPTION_ARG_FILENAME, &opt_draw, "Also draw the result over the image (PNG)",
     "OUT.png"},
    {"label-map", 0, 0, G_OPTION_ARG_FILENAME, &opt_label_map,
     "Semantic task: also write the class index of every pixel (binary PGM, 8-bit, or 16-bit "
     "big-endian beyond 255 classes); with --list a path with one %d, the line's index",
     "OUT.pgm"},
    {"list", 0, 0, G_OPTION_ARG_FILENAME, &opt_list,
     "Run every image listed in FILE (a line each: IMAGE, or IMAGE<TAB>PROMPT) on one loaded "
     "model: one JSON line each, in order; a line that fails prints {\"image\", \"error\"}",
     "FILE"},
    {NULL}};

static gboolean parse_device(const char *s, UfoDevice *d, GError **error)
{
  if (g_strcmp0(s, "cpu") == 0)
    *d = UFO_DEVICE_CPU;
  else if (g_strcmp0(s, "cuda") == 0)
    *d = UFO_DEVICE_CUDA;
  else if (g_strcmp0(s, "auto") == 0)
    *d = UFO_DEVICE_AUTO;
  else {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown device '%s' (cpu, cuda, auto)", s);
    return FALSE;
  }
  return TRUE;
}

/* The semantic map as a binary PGM (P5): one class index a pixel, the label set's order. */
static gboolean write_label_map(const UfoSemanticMap *map, const char *path, GError **error)
{
  const gboolean wide = map->n_classes > 256;
  const size_t n = (size_t)map->width * map->height, bpp = wide ? 2 : 1;
  g_autofree char *header =
      g_strdup_printf("P5\n%d %d\n%d\n", map->width, map->height, wide ? 65535 : 255);
  const size_t hl = strlen(header);
  g_autofree guint8 *buf = g_try_malloc(hl + n * bpp);
  if (!buf) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_BACKEND, "out of memory for the label map");
    return FALSE;
  }
  memcpy(buf, header, hl);
  for (size_t i = 0; i < n; i++) {
    if (wide) {
      buf[hl + 2 * i] = (guint8)(map->labels[i] >> 8); /* PGM: most significant byte first */
      buf[hl + 2 * i + 1] = (guint8)(map->labels[i] & 0xff);
    } else {
      buf[hl + i] = (guint8)map->labels[i];
    }
  }
  GError *e = NULL;
  if (!g_file_set_contents(path, (const char *)buf, (gssize)(hl + n * bpp), &e)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_IO, "cannot write the label map: %s", e->message);
    g_error_free(e);
    return FALSE;
  }
  return TRUE;
}

/* "synthetic:WxH" gives the synthetic test image of docs/reference.md. */
static gboolean load_input(const char *arg, ToolImage *img, GError **error)
{
  int w, h;
  char end;
  if (g_str_has_prefix(arg, "synthetic:")) {
    /* a bad size is named, not reported as a file that cannot be opened */
    if (sscanf(arg + 10, "%dx%d%c", &w, &h, &end) != 2 || w < 1 || h < 1 || w > 16384 ||
        h > 16384) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                  "bad synthetic image size '%s' (expected synthetic:WxH, 1..16384 each)",
                  arg + 10);
      return FALSE;
    }
    tool_image_synthetic(w, h, img);
    return TRUE;
  }
  return tool_image_load(arg, img, error);
}

/* {"image": path, "error": message} on one line */
static void print_error_line(const char *image, const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "image");
  json_builder_add_string_value(b, image);
  json_builder_set_member_name(b, "error");
  json_builder_add_string_value(b, message);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *text = json_to_string(root, FALSE);
  printf("%s\n", text);
}

/* One image through the session: its JSON on stdout, the draw and the label map if asked for
 * (label_map: the path, or NULL). FALSE with error set on failure. */
static gboolean run_image(UfoSession *session, const ToolImage *img, const char *name,
                          const UfoRequest *req, const char *label_map, GError **error)
{
  UfoResult *res = NULL;
  if (!ufo_session_run(session, &img->image, req, &res, error))
    return FALSE;
  g_autofree char *json = tool_result_to_json(res, img->image.width, img->image.height,
                                              req->mask_threshold, opt_pretty && !opt_list);
  printf("%s\n", json);
  gboolean ok = TRUE;
  if (opt_draw && !tool_draw_result_png(&img->image, res, req->mask_threshold, opt_draw, error))
    ok = FALSE;
  if (ok && label_map) {
    if (!res->semantic) /* seg §0 item 6: no grid named a class */
      fprintf(stderr, "ufo-infer: %s: no grid named a class: no label map written\n", name);
    else if (!write_label_map(res->semantic, label_map, error))
      ok = FALSE;
  }
  ufo_result_free(res);
  return ok;
}

/* --list: every line of the file on one session; FALSE when a line failed (its error printed as
 * its JSON line) or the file cannot be read */
static gboolean run_list(UfoSession *session, const UfoRequest *req, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents(opt_list, &text, NULL, error))
    return FALSE;
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  gboolean all = TRUE;
  int index = 0;
  for (char **l = lines; *l; l++) {
    g_strchomp(*l);
    if (**l == '\0')
      continue;
    char *tab = strchr(*l, '\t');
    UfoRequest r = *req;
    if (tab) {
      *tab = '\0';
      r.prompt = tab + 1;
    }
    g_autofree char *map = NULL;
    if (opt_label_map) { /* validated: exactly one %d */
      g_autofree char *digits = g_strdup_printf("%d", index);
      const char *at = strstr(opt_label_map, "%d");
      map = g_strdup_printf("%.*s%s%s", (int)(at - opt_label_map), opt_label_map, digits, at + 2);
    }
    g_autoptr(GError) e = NULL;
    ToolImage img = {0};
    if (!load_input(*l, &img, &e) || !run_image(session, &img, *l, &r, map, &e)) {
      print_error_line(*l, e->message);
      all = FALSE;
    }
    tool_image_clear(&img);
    fflush(stdout);
    index++;
  }
  return all;
}

int main(int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) ctx =
      g_option_context_new("IMAGE — run a UFO-ViT task, print JSON (or --list FILE)");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc != (opt_list ? 1 : 2)) {
    fprintf(stderr, "ufo-infer: %s\n",
            error      ? error->message
            : opt_list ? "no IMAGE with --list (the images are the file's lines)"
                       : "exactly one IMAGE is needed");
    return 2;
  }
  if (opt_list && opt_draw) {
    fprintf(stderr, "ufo-infer: --draw takes one IMAGE, not --list\n");
    return 2;
  }
  if (opt_list && opt_label_map) {
    const char *at = strstr(opt_label_map, "%d");
    if (!at || strchr(at + 2, '%') || strchr(opt_label_map, '%') != at) {
      fprintf(stderr, "ufo-infer: with --list, --label-map needs one %%d (the line's index) and "
                      "no other %%\n");
      return 2;
    }
  }
  UfoRequest req = UFO_REQUEST_INIT;
  UfoSessionOptions opts = {0};
  if (!ufo_task_from_name(opt_task, &req.task, &error) ||
      !parse_device(opt_device, &opts.device, &error) ||
      !ufo_precision_from_name(opt_precision, &opts.precision, &error)) {
    fprintf(stderr, "ufo-infer: %s\n", error->message);
    return 2;
  }
  if (opt_label_map && req.task != UFO_TASK_SEMANTIC) {
    fprintf(stderr, "ufo-infer: --label-map needs --task semantic\n");
    return 2;
  }
  req.prompt = opt_prompt;
  if (g_strcmp0(opt_instance_boxes, "mask") == 0) {
    req.instance_boxes = UFO_INSTANCE_BOXES_MASK;
  } else if (g_strcmp0(opt_instance_boxes, "region") != 0) {
    fprintf(stderr, "ufo-infer: unknown --instance-boxes '%s' (region, mask)\n",
            opt_instance_boxes);
    return 2;
  }
  req.beam_size = opt_beam;
  req.temperature = (float)opt_temperature;
  req.length_penalty = (float)opt_length_penalty;
  req.max_detections = opt_max_det;
  req.mask_threshold = (float)opt_mask_thr;
  opts.threads = opt_threads;

  g_autoptr(UfoModel) model = NULL;
  if (opt_model)
    model = ufo_model_load(opt_model, &error);
  else if (opt_random)
    model = ufo_model_new_random(opt_random, (uint64_t)opt_seed, &error);
  else
    g_set_error(&error, UFO_ERROR, UFO_ERROR_INVALID, "give --model FILE or --random CONFIG");
  if (!model) {
    fprintf(stderr, "ufo-infer: %s\n", error->message);
    return 1;
  }
  /* one image: loaded before the session starts (a bad file costs no session) */
  ToolImage img = {0};
  if (!opt_list && !load_input(argv[1], &img, &error)) {
    fprintf(stderr, "ufo-infer: %s\n", error->message);
    return 1;
  }
  int rc = 1;
  g_autoptr(UfoSession) session = ufo_session_new(model, &opts, &error);
  if (session && opt_list)
    rc = run_list(session, &req, &error) ? 0 : 1;
  else if (session)
    rc = run_image(session, &img, argv[1], &req, opt_label_map, &error) ? 0 : 1;
  if (error)
    fprintf(stderr, "ufo-infer: %s\n", error->message);
  tool_image_clear(&img);
  return rc;
}
