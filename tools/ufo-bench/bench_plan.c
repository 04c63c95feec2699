/* ufo-bench --plan trained (bench_plan.h). The rule, per task, of what a trained model decodes:
 *  - detection: one grid in 100, at least 7 (COCO's mean of 7.3 objects per image), decodes a
 *    whole box text `label,x,y,w,h` [SEP] (inference §7.1); every other grid `background` [SEP];
 *  - instance: the same grids decode `label , <MASK>×16` [SEP] (seg §2.3), the others
 *    `background` [SEP];
 *  - semantic: every grid decodes `label , <MASK>×16` [SEP] (a class map covers the image);
 *  - caption: a 9-word caption [SEP]; grounding: a box `x1,y1,x2,y2` [SEP] (inference §7.2).
 * Labels cycle through the task's label set; margins are large so the plan wins every step.
 * Planted steps also get the per-step margins of the beam fixtures (docs/reference.md "Planted
 * plan": 0.05·t + 0.0073·t²): with one margin per sequence every beam that leaves the plan pays
 * exactly that margin, candidates tie in float, and how a top-k orders ties (unspecified in
 * PyTorch) would decide how many steps beam search runs. tools/reference/ufo_plans.py
 * trained_plan is the same plan. */
#include "bench_plan.h"

#include "model/model.h"

#include <string.h>

/* the word pieces of text, without [CLS] and [SEP] */
static GArray *pieces(const UfoTokenizer *tok, const char *text, GError **error)
{
  GArray *ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
  if (!ufo_tokenizer_encode(tok, text, 512, ids, error)) {
    g_array_unref(ids);
    return NULL;
  }
  g_array_remove_index(ids, ids->len - 1); /* [SEP] */
  g_array_remove_index(ids, 0);            /* [CLS] */
  return ids;
}

/* sequence s decodes text (then, for masks, ", <MASK>×16") and [SEP] */
static gboolean plant(BenchPlan *p, const UfoTokenizer *tok, int s, const char *text,
                      gboolean masks, GError **error)
{
  g_autoptr(GArray) ids = pieces(tok, text, error);
  if (!ids)
    return FALSE;
  const UfoTokenIds *named = ufo_tokenizer_ids(tok); /* the model's own ids, by name */
  if (masks) {
    if (named->comma >= 0)
      g_array_append_val(ids, named->comma);
    for (int i = 0; i < 16; i++)
      g_array_append_val(ids, named->mask);
  }
  g_array_append_val(ids, named->sep);
  int32_t *row = p->tokens + (size_t)s * p->plan.max_len;
  float *sm = p->step_margin + (size_t)s * p->plan.max_len;
  for (guint t = 0; t < ids->len && (int)t < p->plan.max_len; t++) {
    row[t] = g_array_index(ids, int32_t, t);
    sm[t] = 0.05f * (float)t + 0.0073f * (float)t * (float)t; /* float32, as ufo_plans.py */
  }
  p->margin[s] = 20.f;
  return TRUE;
}

gboolean bench_plan_make(const UfoModel *model, UfoTask task, int n_seq, const char *kind,
                         BenchPlan *out, GError **error)
{
  memset(out, 0, sizeof *out);
  if (g_strcmp0(kind, "trained") != 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown plan '%s' (trained, worst)", kind);
    return FALSE;
  }
  const UfoTaskConfig *tc = &model->cfg.tasks[task];
  const UfoLabelSet *labels = tc->label_set[0] ? ufo_model_label_set(model, tc->label_set) : NULL;
  if (tc->label_set[0] && (!labels || labels->n < 1)) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_MODEL, "the model has no label set '%s'",
                tc->label_set);
    return FALSE;
  }
  const int T = tc->max_length, nb = tc->num_bins;
  out->plan.n_seq = n_seq;
  out->plan.max_len = T;
  out->tokens = g_new(int32_t, (size_t)n_seq * T);
  out->margin = g_new0(float, n_seq);
  out->step_margin = g_new0(float, (size_t)n_seq *T);
  for (size_t i = 0; i < (size_t)n_seq * T; i++)
    out->tokens[i] = -1;
  out->plan.tokens = out->tokens;
  out->plan.margin = out->margin;
  out->plan.step_margin = out->step_margin;
  const UfoTokenizer *tok = model->tokenizer;
  gboolean ok = TRUE;
  if (task == UFO_TASK_CAPTION || task == UFO_TASK_GROUNDING) {
    g_autofree char *box = g_strdup_printf("%d,%d,%d,%d", nb / 3, nb / 4, 2 * nb / 3, 3 * nb / 4);
    for (int s = 0; ok && s < n_seq; s++)
      ok =
          plant(out, tok, s,
                task == UFO_TASK_CAPTION ? "a man riding a brown horse along the sandy beach" : box,
                FALSE, error);
    out->n_decoding = n_seq;
    return ok;
  }
  /* grid tasks: which grids hold an object */
  const int every = task == UFO_TASK_SEMANTIC ? 1 : MIN(100, MAX(1, n_seq / 7));
  for (int s = 0; ok && s < n_seq; s++) {
    const char *label = labels->names[(s / every) % labels->n];
    if (s % every != 0) {
      ok = plant(out, tok, s, "background", FALSE, error);
      continue;
    }
    out->n_decoding++;
    if (task == UFO_TASK_DETECTION) { /* §7.1: centre offsets from the grid and size, in bins */
      g_autofree char *text =
          g_strdup_printf("%s,%d,%d,%d,%d", label, nb / 2, nb / 2, nb / 10, nb / 8);
      ok = plant(out, tok, s, text, FALSE, error);
    } else {
      ok = plant(out, tok, s, label, TRUE, error);
    }
  }
  return ok;
}

void bench_plan_clear(BenchPlan *p)
{
  g_clear_pointer(&p->tokens, g_free);
  g_clear_pointer(&p->margin, g_free);
  g_clear_pointer(&p->step_margin, g_free);
}
