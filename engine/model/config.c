/* UFO-ViT config: built-in configs, JSON parsing with validation, JSON writer.
 * Key reference: docs/model-format.md "Config JSON"; values: inference spec §1, segmentation §1. */
#include "config.h"

#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

/* ---------------------------------------------------------------- built-in configs */

static void task_defaults(UfoTaskConfig *t, UfoTask task)
{
  memset(t, 0, sizeof *t);
  t->resize = UFO_RESIZE_BILINEAR;
  t->beam_size = 1;
  /* beam settings of the original's heads (inference §1.2): the detection head's constructor
   * defaults are τ 0.3, α 10.0; the other heads' 1.0 / 1.0 (caption's config sets its own) */
  t->temperature = task == UFO_TASK_DETECTION ? 0.3f : 1.0f;
  t->alpha = task == UFO_TASK_DETECTION ? 10.0f : 1.0f;
  t->nms = UFO_NMS_NONE;
  t->nms_iou = 0.5f;        /* mmcv soft_nms iou_threshold (inference §1.2) */
  t->nms_min_score = 1e-3f; /* mmcv soft_nms min_score default */
  t->nms_sigma = 2.0f;      /* matrix NMS sigma (segmentation §1) */
  t->nms_filter = 0.05f;    /* matrix NMS filter_thr (segmentation §1) */
  t->max_per_img = 100;
}

/* Per-task settings shared by every built-in config; det_size/seg sizes differ per config. */
static void builtin_tasks(UfoConfig *cfg, int det_size, int sem_size)
{
  UfoTaskConfig *t;
  for (int i = 0; i < UFO_N_TASKS; i++)
    task_defaults(&cfg->tasks[i], (UfoTask)i);

  /* inference §1.2, detection column */
  t = &cfg->tasks[UFO_TASK_DETECTION];
  t->enabled = TRUE;
  t->input_size = det_size;
  t->grid_per_window = 5;
  t->num_bins = 2 * det_size; /* base_img_size * 2 */
  t->max_length = 30;
  t->nms = UFO_NMS_SOFT;
  g_strlcpy(t->label_set, "coco", sizeof t->label_set);

  /* inference §1.2, grounding column */
  t = &cfg->tasks[UFO_TASK_GROUNDING];
  t->enabled = TRUE;
  t->input_size = 224;
  t->resize = UFO_RESIZE_BICUBIC;
  t->num_bins = 448;
  t->max_length = 20;

  /* inference §1.2, caption (multi-task) column */
  t = &cfg->tasks[UFO_TASK_CAPTION];
  t->enabled = TRUE;
  t->input_size = 224;
  t->resize = UFO_RESIZE_BICUBIC;
  t->max_length = 20;
  t->beam_size = 2;
  t->temperature = 1.0f;
  t->alpha = 0.7f;

  /* segmentation §1, instance column: float resize, matrix NMS */
  t = &cfg->tasks[UFO_TASK_INSTANCE];
  t->enabled = TRUE;
  t->input_size = det_size;
  t->resize_float = TRUE;
  t->grid_per_window = 5;
  t->max_length = 30;
  t->nms = UFO_NMS_MATRIX;
  g_strlcpy(t->label_set, "coco", sizeof t->label_set);

  /* segmentation §1, semantic column */
  t = &cfg->tasks[UFO_TASK_SEMANTIC];
  t->enabled = TRUE;
  t->input_size = sem_size;
  t->grid_per_window = 5;
  t->max_length = 30;
  g_strlcpy(t->label_set, "ade20k", sizeof t->label_set);
}

static void builtin_arch(UfoConfig *cfg, const char *name, int C, int nh, int NL, const int *global,
                         int n_global, int n_mean, int img_size)
{
  memset(cfg, 0, sizeof *cfg);
  g_strlcpy(cfg->name, name, sizeof cfg->name);
  cfg->embed_dim = C;
  cfg->num_heads = nh;
  cfg->head_dim = C / nh;
  cfg->ffn_dim = 4 * C;
  cfg->num_layers = NL;
  for (int i = 0; i < n_global; i++)
    cfg->is_global[global[i]] = TRUE;
  /* inference §1.1: the extra 'win' layers at the end (six for B/L/H) are the mean layers */
  cfg->n_mean = n_mean;
  for (int i = 0; i < n_mean; i++)
    cfg->mean_layers[i] = NL - n_mean + i;
  cfg->window_size = 14;
  cfg->patch_size = 16;
  cfg->img_size = img_size;
  cfg->vocab_size = 30525;
  cfg->max_position = 512;
  cfg->ln_eps = 1e-6f;
  cfg->text_ln_eps = 1e-12f;
  const float mean[3] = {123.675f, 116.28f, 103.53f}, std[3] = {58.395f, 57.12f, 57.375f};
  memcpy(cfg->pixel_mean, mean, sizeof mean);
  memcpy(cfg->pixel_std, std, sizeof std);
}

gboolean ufo_config_builtin(const char *name, UfoConfig *cfg, GError **error)
{
  if (g_strcmp0(name, "vit-b") == 0) {
    builtin_arch(cfg, name, 768, 12, 18, (const int[]){2, 5, 8, 11}, 4, 6, 1120);
    builtin_tasks(cfg, 1120, 672);
  } else if (g_strcmp0(name, "vit-l") == 0) {
    builtin_arch(cfg, name, 1024, 16, 30, (const int[]){5, 11, 17, 23}, 4, 6, 1120);
    builtin_tasks(cfg, 1120, 672);
  } else if (g_strcmp0(name, "vit-h") == 0) {
    builtin_arch(cfg, name, 1280, 16, 38, (const int[]){7, 15, 23, 31}, 4, 6, 1120);
    builtin_tasks(cfg, 1120, 672);
  } else if (g_strcmp0(name, "tiny") == 0) {
    builtin_arch(cfg, name, 64, 2, 6, (const int[]){1, 3}, 2, 2, 448);
    builtin_tasks(cfg, 448, 224);
  } else {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                "unknown built-in config '%s' (expected tiny, vit-b, vit-l or vit-h)",
                name ? name : "(null)");
    return FALSE;
  }
  return TRUE;
}

/* ---------------------------------------------------------------- JSON parsing */

typedef struct {
  JsonObject *obj;
  const char *where; /* "" or "tasks.detection." for messages */
  GError **error;
} Reader;

static gboolean fail(Reader *r, const char *key, const char *fmt, const char *detail)
{
  g_set_error(r->error, UFO_ERROR, UFO_ERROR_FORMAT, "config key '%s%s': %s%s", r->where, key, fmt,
              detail ? detail : "");
  return FALSE;
}

static JsonNode *member(Reader *r, const char *key, gboolean required, gboolean *ok)
{
  JsonNode *n = json_object_get_member(r->obj, key);
  if (!n && required)
    *ok = fail(r, key, "missing", NULL);
  return n;
}

static gboolean get_int(Reader *r, const char *key, gboolean required, int lo, int hi, int *out)
{
  gboolean ok = TRUE;
  JsonNode *n = member(r, key, required, &ok);
  if (!n)
    return ok;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
    return fail(r, key, "expected an integer", NULL);
  gint64 v = json_node_get_int(n);
  if (v < lo || v > hi) {
    g_autofree char *d = g_strdup_printf(" (got %" G_GINT64_FORMAT ", allowed %d..%d)", v, lo, hi);
    return fail(r, key, "out of range", d);
  }
  *out = (int)v;
  return TRUE;
}

static gboolean node_number(JsonNode *n, double *out)
{
  if (!JSON_NODE_HOLDS_VALUE(n))
    return FALSE;
  GType t = json_node_get_value_type(n);
  if (t == G_TYPE_INT64)
    *out = (double)json_node_get_int(n);
  else if (t == G_TYPE_DOUBLE)
    *out = json_node_get_double(n);
  else
    return FALSE;
  return TRUE;
}

/* Accepts lo < v <= hi (open_lo) or lo <= v <= hi. */
static gboolean get_float(Reader *r, const char *key, gboolean required, double lo,
                          gboolean open_lo, double hi, float *out)
{
  gboolean ok = TRUE;
  JsonNode *n = member(r, key, required, &ok);
  if (!n)
    return ok;
  double v;
  if (!node_number(n, &v))
    return fail(r, key, "expected a number", NULL);
  if (!(open_lo ? v > lo : v >= lo) || !(v <= hi)) {
    g_autofree char *d =
        g_strdup_printf(" (got %g, allowed %s%g..%g]", v, open_lo ? "(" : "[", lo, hi);
    return fail(r, key, "out of range", d);
  }
  *out = (float)v;
  return TRUE;
}

static gboolean get_bool(Reader *r, const char *key, gboolean *out)
{
  gboolean ok = TRUE;
  JsonNode *n = member(r, key, FALSE, &ok);
  if (!n)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
    return fail(r, key, "expected true or false", NULL);
  *out = json_node_get_boolean(n);
  return TRUE;
}

static gboolean get_string(Reader *r, const char *key, gboolean required, const char **out)
{
  gboolean ok = TRUE;
  JsonNode *n = member(r, key, required, &ok);
  if (!n)
    return ok;
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return fail(r, key, "expected a string", NULL);
  *out = json_node_get_string(n);
  return TRUE;
}

/* An array of integers in [lo, hi], strictly ascending (so also without duplicates). */
static gboolean get_index_list(Reader *r, const char *key, int lo, int hi, int *out, int *n_out)
{
  gboolean ok = TRUE;
  JsonNode *n = member(r, key, TRUE, &ok);
  if (!n)
    return ok;
  if (!JSON_NODE_HOLDS_ARRAY(n))
    return fail(r, key, "expected an array of layer indexes", NULL);
  JsonArray *a = json_node_get_array(n);
  guint len = json_array_get_length(a);
  if (len > UFO_MAX_LAYERS)
    return fail(r, key, "too many entries", NULL);
  for (guint i = 0; i < len; i++) {
    JsonNode *e = json_array_get_element(a, i);
    if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_INT64)
      return fail(r, key, "expected an array of layer indexes", NULL);
    gint64 v = json_node_get_int(e);
    if (v < lo || v > hi) {
      g_autofree char *d =
          g_strdup_printf(" (entry %u is %" G_GINT64_FORMAT ", allowed %d..%d)", i, v, lo, hi);
      return fail(r, key, "layer index out of range", d);
    }
    if (i > 0 && v <= out[i - 1])
      return fail(r, key, "indexes must be strictly ascending (no duplicates)", NULL);
    out[i] = (int)v;
  }
  *n_out = (int)len;
  return TRUE;
}

static gboolean get_rgb(Reader *r, const char *key, gboolean positive, float *out)
{
  gboolean ok = TRUE;
  JsonNode *n = member(r, key, TRUE, &ok);
  if (!n)
    return ok;
  if (!JSON_NODE_HOLDS_ARRAY(n) || json_array_get_length(json_node_get_array(n)) != 3)
    return fail(r, key, "expected an array of 3 numbers (R, G, B)", NULL);
  for (guint i = 0; i < 3; i++) {
    double v;
    if (!node_number(json_array_get_element(json_node_get_array(n), i), &v))
      return fail(r, key, "expected an array of 3 numbers (R, G, B)", NULL);
    if (positive ? !(v > 0 && v < 1e6) : !(v > -1e6 && v < 1e6))
      return fail(r, key, positive ? "values must be positive and finite" : "values must be finite",
                  NULL);
    out[i] = (float)v;
  }
  return TRUE;
}

static gboolean check_keys(Reader *r, const char *const *allowed)
{
  g_autoptr(GList) names = json_object_get_members(r->obj);
  for (GList *l = names; l; l = l->next) {
    gboolean known = FALSE;
    for (int i = 0; allowed[i] && !known; i++)
      known = strcmp(allowed[i], l->data) == 0;
    if (!known)
      return fail(r, l->data, "unknown key", NULL);
  }
  return TRUE;
}

static const char *const task_keys[] = {
    "input_size", "resize",     "resize_float", "grid_per_window",
    "num_bins",   "max_length", "beam_size",    "temperature",
    "alpha",      "nms",        "nms_iou",      "nms_min_score",
    "nms_sigma",  "nms_filter", "max_per_img",  "label_set",
    NULL};

static gboolean parse_task(JsonObject *obj, UfoTask task, UfoConfig *cfg, GError **error)
{
  g_autofree char *where = g_strdup_printf("tasks.%s.", ufo_task_name(task));
  Reader r = {obj, where, error};
  UfoTaskConfig *t = &cfg->tasks[task];
  task_defaults(t, task);
  t->enabled = TRUE;
  const char *resize = "bilinear", *nms = "none", *label_set = "";
  if (!check_keys(&r, task_keys) ||
      !get_int(&r, "input_size", TRUE, 224, 224 * 64, &t->input_size) ||
      !get_string(&r, "resize", FALSE, &resize) ||
      !get_bool(&r, "resize_float", &t->resize_float) ||
      !get_int(&r, "grid_per_window", FALSE, 0, cfg->window_size, &t->grid_per_window) ||
      !get_int(&r, "num_bins", FALSE, 0, 1 << 20, &t->num_bins) ||
      !get_int(&r, "max_length", TRUE, 1, cfg->max_position, &t->max_length) ||
      !get_int(&r, "beam_size", FALSE, 1, 64, &t->beam_size) ||
      !get_float(&r, "temperature", FALSE, 0, TRUE, 1e6, &t->temperature) ||
      !get_float(&r, "alpha", FALSE, -1e6, FALSE, 1e6, &t->alpha) ||
      !get_string(&r, "nms", FALSE, &nms) ||
      !get_float(&r, "nms_iou", FALSE, 0, TRUE, 1, &t->nms_iou) ||
      !get_float(&r, "nms_min_score", FALSE, 0, FALSE, 1, &t->nms_min_score) ||
      !get_float(&r, "nms_sigma", FALSE, 0, TRUE, 1e6, &t->nms_sigma) ||
      !get_float(&r, "nms_filter", FALSE, 0, FALSE, 1, &t->nms_filter) ||
      !get_int(&r, "max_per_img", FALSE, 1, 1 << 20, &t->max_per_img) ||
      !get_string(&r, "label_set", FALSE, &label_set))
    return FALSE;

  if (t->input_size % 224 != 0)
    return fail(&r, "input_size", "must be a multiple of 224", NULL);
  if (strcmp(resize, "bilinear") == 0)
    t->resize = UFO_RESIZE_BILINEAR;
  else if (strcmp(resize, "bicubic") == 0)
    t->resize = UFO_RESIZE_BICUBIC;
  else
    return fail(&r, "resize", "expected \"bilinear\" or \"bicubic\"", NULL);
  if (strcmp(nms, "none") == 0)
    t->nms = UFO_NMS_NONE;
  else if (strcmp(nms, "soft") == 0)
    t->nms = UFO_NMS_SOFT;
  else if (strcmp(nms, "matrix") == 0)
    t->nms = UFO_NMS_MATRIX;
  else
    return fail(&r, "nms", "expected \"none\", \"soft\" or \"matrix\"", NULL);
  size_t ll = strlen(label_set);
  if (ll >= sizeof t->label_set)
    return fail(&r, "label_set", "name too long", NULL);
  for (size_t i = 0; i < ll; i++)
    if (!g_ascii_isalnum(label_set[i]) && label_set[i] != '_' && label_set[i] != '-')
      return fail(&r, "label_set", "name may hold only letters, digits, '_' and '-'", NULL);
  g_strlcpy(t->label_set, label_set, sizeof t->label_set);

  /* task-specific requirements (inference §1.2, segmentation §1) */
  gboolean boxes = task == UFO_TASK_DETECTION || task == UFO_TASK_GROUNDING;
  gboolean classes =
      task == UFO_TASK_DETECTION || task == UFO_TASK_INSTANCE || task == UFO_TASK_SEMANTIC;
  gboolean grids =
      task == UFO_TASK_DETECTION || task == UFO_TASK_INSTANCE || task == UFO_TASK_SEMANTIC;
  if (boxes && t->num_bins < 1)
    return fail(&r, "num_bins", "must be positive for this task", NULL);
  if (classes && ll == 0)
    return fail(&r, "label_set", "required for this task", NULL);
  if (grids && t->grid_per_window < 1)
    return fail(&r, "grid_per_window", "must be positive for this task", NULL);
  /* segmentation §1: the <MASK> token must be in the vocabulary (ufo_model_set_vocab checks) */
  return TRUE;
}

static const char *const top_keys[] = {
    "name",       "embed_dim",     "num_heads",    "head_dim",    "ffn_dim",
    "num_layers", "global_layers", "mean_layers",  "window_size", "patch_size",
    "img_size",   "vocab_size",    "max_position", "ln_eps",      "text_ln_eps",
    "pixel_mean", "pixel_std",     "tasks",        NULL};

static gboolean parse_root(JsonObject *obj, UfoConfig *cfg, GError **error)
{
  Reader r = {obj, "", error};
  const char *name = "custom";
  int head_dim = 0, global[UFO_MAX_LAYERS], n_global = 0;
  memset(cfg, 0, sizeof *cfg);
  if (!check_keys(&r, top_keys) || !get_string(&r, "name", FALSE, &name) ||
      !get_int(&r, "embed_dim", TRUE, 1, 1 << 16, &cfg->embed_dim) ||
      !get_int(&r, "num_heads", TRUE, 1, 1024, &cfg->num_heads) ||
      !get_int(&r, "head_dim", FALSE, 1, 1 << 16, &head_dim) ||
      !get_int(&r, "ffn_dim", TRUE, 1, 1 << 18, &cfg->ffn_dim) ||
      !get_int(&r, "num_layers", TRUE, 1, UFO_MAX_LAYERS, &cfg->num_layers) ||
      !get_index_list(&r, "global_layers", 0, cfg->num_layers - 1, global, &n_global) ||
      !get_index_list(&r, "mean_layers", 0, cfg->num_layers - 1, cfg->mean_layers, &cfg->n_mean) ||
      !get_int(&r, "window_size", TRUE, 1, 1024, &cfg->window_size) ||
      !get_int(&r, "patch_size", TRUE, 1, 1024, &cfg->patch_size) ||
      !get_int(&r, "img_size", TRUE, 1, 1 << 16, &cfg->img_size) ||
      !get_int(&r, "vocab_size", TRUE, 4, 1 << 22, &cfg->vocab_size) ||
      !get_int(&r, "max_position", TRUE, 1, 1 << 16, &cfg->max_position) ||
      !get_float(&r, "ln_eps", TRUE, 0, TRUE, 1, &cfg->ln_eps) ||
      !get_float(&r, "text_ln_eps", TRUE, 0, TRUE, 1, &cfg->text_ln_eps) ||
      !get_rgb(&r, "pixel_mean", FALSE, cfg->pixel_mean) ||
      !get_rgb(&r, "pixel_std", TRUE, cfg->pixel_std))
    return FALSE;

  if (strlen(name) == 0 || strlen(name) >= sizeof cfg->name)
    return fail(&r, "name", "must be 1 to 31 characters", NULL);
  g_strlcpy(cfg->name, name, sizeof cfg->name);
  if (cfg->embed_dim % cfg->num_heads != 0)
    return fail(&r, "num_heads", "must divide embed_dim", NULL);
  cfg->head_dim = cfg->embed_dim / cfg->num_heads;
  if (head_dim != 0 && head_dim != cfg->head_dim)
    return fail(&r, "head_dim", "must equal embed_dim / num_heads", NULL);
  for (int i = 0; i < n_global; i++)
    cfg->is_global[global[i]] = TRUE;
  if (cfg->n_mean < 1)
    return fail(&r, "mean_layers", "must name at least one layer", NULL);
  if (cfg->img_size % cfg->patch_size != 0)
    return fail(&r, "img_size", "must be a multiple of patch_size", NULL);
  if (224 % (cfg->patch_size * cfg->window_size) != 0)
    return fail(&r, "window_size", "", "window_size * patch_size must divide 224");
  if (cfg->img_size / cfg->patch_size < cfg->window_size)
    return fail(&r, "img_size", "must hold at least one window", NULL);

  JsonNode *tn = json_object_get_member(obj, "tasks");
  if (!tn || !JSON_NODE_HOLDS_OBJECT(tn))
    return fail(&r, "tasks", tn ? "expected an object" : "missing", NULL);
  JsonObject *tasks = json_node_get_object(tn);
  Reader tr = {tasks, "tasks.", error};
  const char *names[UFO_N_TASKS + 1];
  for (int i = 0; i < UFO_N_TASKS; i++)
    names[i] = ufo_task_name((UfoTask)i);
  names[UFO_N_TASKS] = NULL;
  if (!check_keys(&tr, names))
    return FALSE;
  int n_enabled = 0;
  for (int i = 0; i < UFO_N_TASKS; i++) {
    JsonNode *n = json_object_get_member(tasks, names[i]);
    task_defaults(&cfg->tasks[i], (UfoTask)i);
    if (!n)
      continue;
    if (!JSON_NODE_HOLDS_OBJECT(n))
      return fail(&tr, names[i], "expected an object", NULL);
    if (!parse_task(json_node_get_object(n), (UfoTask)i, cfg, error))
      return FALSE;
    n_enabled++;
  }
  if (n_enabled == 0)
    return fail(&r, "tasks", "must enable at least one task", NULL);
  /* inference §6.1: grid rows skip the global layers, so their decode-step mean is over the
   * window layers of mean_layers; without one a grid task would have no feature */
  gboolean window_mean = FALSE;
  for (int k = 0; k < cfg->n_mean; k++)
    window_mean |= !cfg->is_global[cfg->mean_layers[k]];
  for (int i = 0; i < UFO_N_TASKS && !window_mean; i++)
    if (cfg->tasks[i].enabled && cfg->tasks[i].grid_per_window > 0) {
      g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT,
                  "config key 'mean_layers': lists only global layers, which the decode steps "
                  "of the grid task '%s' skip; include at least one window layer",
                  names[i]);
      return FALSE;
    }
  return TRUE;
}

gboolean ufo_config_parse(const char *json, UfoConfig *cfg, GError **error)
{
  g_autoptr(JsonParser) parser = json_parser_new();
  GError *jerr = NULL;
  if (!json || !json_parser_load_from_data(parser, json, -1, &jerr)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "config is not valid JSON: %s",
                jerr ? jerr->message : "(null)");
    g_clear_error(&jerr);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_FORMAT, "config JSON must be an object");
    return FALSE;
  }
  UfoConfig tmp;
  if (!parse_root(json_node_get_object(root), &tmp, error))
    return FALSE;
  *cfg = tmp;
  return TRUE;
}

/* ---------------------------------------------------------------- JSON writer */

/* The shortest decimal that reads back as the same float32 ("1e-06", "0.7", "123.675"). */
static void append_float(GString *out, float v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  for (int prec = 1; prec <= 9; prec++) {
    char fmt[8];
    g_snprintf(fmt, sizeof fmt, "%%.%dg", prec);
    g_ascii_formatd(buf, sizeof buf, fmt, (double)v); /* locale-independent '.' */
    /* plain notation where it reads naturally (10.0, not 1e+01) */
    gboolean plain_ok = strchr(buf, 'e') == NULL || fabsf(v) < 1e-4f || fabsf(v) >= 1e15f;
    if ((float)g_ascii_strtod(buf, NULL) == v && (plain_ok || prec == 9))
      break;
  }
  g_string_append(out, buf);
  if (!strpbrk(buf, ".eEn")) /* keep it a JSON number that reads as a float: 1 -> 1.0 */
    g_string_append(out, ".0");
}

static void append_string(GString *out, const char *s)
{
  g_string_append_c(out, '"');
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\')
      g_string_append_printf(out, "\\%c", *p);
    else if (*p < 0x20)
      g_string_append_printf(out, "\\u%04x", *p);
    else
      g_string_append_c(out, (char)*p);
  }
  g_string_append_c(out, '"');
}

static void key(GString *out, const char *k)
{
  if (out->len > 0 && out->str[out->len - 1] != '{')
    g_string_append(out, ", ");
  g_string_append_printf(out, "\"%s\": ", k);
}

char *ufo_config_to_json(const UfoConfig *cfg)
{
  static const char *const resize_names[] = {"bilinear", "bicubic"};
  static const char *const nms_names[] = {"none", "soft", "matrix"};
  GString *o = g_string_new("{");
  key(o, "name");
  append_string(o, cfg->name);
  key(o, "embed_dim");
  g_string_append_printf(o, "%d", cfg->embed_dim);
  key(o, "num_heads");
  g_string_append_printf(o, "%d", cfg->num_heads);
  key(o, "head_dim");
  g_string_append_printf(o, "%d", cfg->head_dim);
  key(o, "ffn_dim");
  g_string_append_printf(o, "%d", cfg->ffn_dim);
  key(o, "num_layers");
  g_string_append_printf(o, "%d", cfg->num_layers);
  key(o, "global_layers");
  g_string_append_c(o, '[');
  for (int i = 0, n = 0; i < cfg->num_layers && i < UFO_MAX_LAYERS; i++)
    if (cfg->is_global[i])
      g_string_append_printf(o, "%s%d", n++ ? ", " : "", i);
  g_string_append(o, "]");
  key(o, "mean_layers");
  g_string_append_c(o, '[');
  for (int i = 0; i < cfg->n_mean; i++)
    g_string_append_printf(o, "%s%d", i ? ", " : "", cfg->mean_layers[i]);
  g_string_append(o, "]");
  const struct {
    const char *k;
    int v;
  } ints[] = {{"window_size", cfg->window_size},
              {"patch_size", cfg->patch_size},
              {"img_size", cfg->img_size},
              {"vocab_size", cfg->vocab_size},
              {"max_position", cfg->max_position}};
  for (size_t i = 0; i < G_N_ELEMENTS(ints); i++) {
    key(o, ints[i].k);
    g_string_append_printf(o, "%d", ints[i].v);
  }
  key(o, "ln_eps");
  append_float(o, cfg->ln_eps);
  key(o, "text_ln_eps");
  append_float(o, cfg->text_ln_eps);
  for (int k = 0; k < 2; k++) {
    key(o, k ? "pixel_std" : "pixel_mean");
    g_string_append_c(o, '[');
    for (int i = 0; i < 3; i++) {
      if (i)
        g_string_append(o, ", ");
      append_float(o, k ? cfg->pixel_std[i] : cfg->pixel_mean[i]);
    }
    g_string_append_c(o, ']');
  }
  key(o, "tasks");
  g_string_append_c(o, '{');
  for (int i = 0; i < UFO_N_TASKS; i++) {
    const UfoTaskConfig *t = &cfg->tasks[i];
    if (!t->enabled)
      continue;
    key(o, ufo_task_name((UfoTask)i));
    g_string_append_printf(o,
                           "{\"input_size\": %d, \"resize\": \"%s\", \"resize_float\": %s, "
                           "\"grid_per_window\": %d, \"num_bins\": %d, \"max_length\": %d, "
                           "\"beam_size\": %d",
                           t->input_size, resize_names[t->resize == UFO_RESIZE_BICUBIC],
                           t->resize_float ? "true" : "false", t->grid_per_window, t->num_bins,
                           t->max_length, t->beam_size);
    key(o, "temperature");
    append_float(o, t->temperature);
    key(o, "alpha");
    append_float(o, t->alpha);
    key(o, "nms");
    append_string(o, nms_names[(unsigned)t->nms <= UFO_NMS_MATRIX ? t->nms : 0]);
    key(o, "nms_iou");
    append_float(o, t->nms_iou);
    key(o, "nms_min_score");
    append_float(o, t->nms_min_score);
    key(o, "nms_sigma");
    append_float(o, t->nms_sigma);
    key(o, "nms_filter");
    append_float(o, t->nms_filter);
    key(o, "max_per_img");
    g_string_append_printf(o, "%d", t->max_per_img);
    key(o, "label_set");
    append_string(o, t->label_set);
    g_string_append_c(o, '}');
  }
  g_string_append(o, "}}");
  return g_string_free(o, FALSE);
}
