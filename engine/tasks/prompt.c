/* Task prompt strings (inference spec §4.1, §3.1 step 4; segmentation spec §1.3). */
#include "prompt.h"

#include <string.h>

/* Python string.punctuation */
static const char punctuation[] = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

char *ufo_clean_caption(const char *text)
{
  if (!text)
    return g_strdup("");
  /* 1. strip leading / trailing whitespace */
  const char *b = text, *e = text + strlen(text);
  while (b < e && g_ascii_isspace(*b))
    b++;
  while (e > b && g_ascii_isspace(e[-1]))
    e--;
  /* 2. delete every punctuation character */
  GString *s = g_string_sized_new((gsize)(e - b));
  for (const char *p = b; p < e; p++)
    if (!strchr(punctuation, *p) || *p == '\0')
      g_string_append_c(s, *p);
  /* 3. runs of two or more whitespace characters become one space (a single tab stays) */
  GString *c = g_string_sized_new(s->len);
  for (gsize i = 0; i < s->len;) {
    gsize j = i;
    while (j < s->len && g_ascii_isspace(s->str[j]))
      j++;
    if (j - i >= 2) {
      g_string_append_c(c, ' ');
      i = j;
    } else {
      g_string_append_c(c, s->str[i]);
      i++;
    }
  }
  g_string_free(s, TRUE);
  /* 4. lowercase */
  char *low = g_utf8_strdown(c->str, (gssize)c->len);
  g_string_free(c, TRUE);
  return low;
}

static gboolean need_labels(UfoTask task, int n_labels, GError **error)
{
  if (n_labels <= 0) {
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "the %s prompt needs a non-empty label set",
                ufo_task_name(task));
    return FALSE;
  }
  return TRUE;
}

static void append_joined(GString *s, const char *const *labels, int n)
{
  for (int i = 0; i < n; i++) {
    if (i)
      g_string_append_c(s, ','); /* bare comma, no space */
    g_string_append(s, labels[i]);
  }
}

char *ufo_prompt_build(UfoTask task, const char *const *labels, int n_labels, int num_bins,
                       const char *text, GError **error)
{
  GString *s;
  switch (task) {
  case UFO_TASK_DETECTION:
    if (!need_labels(task, n_labels, error))
      return NULL;
    s = g_string_new("Task: detection; Class: ");
    append_joined(s, labels, n_labels);
    g_string_append_printf(s, ",background; Bin: 0 to %d", num_bins);
    return g_string_free(s, FALSE);
  case UFO_TASK_GROUNDING: {
    char *clean = ufo_clean_caption(text);
    if (!text || clean[0] == '\0') {
      g_free(clean);
      g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
                  "grounding needs a referring expression (prompt is %s)",
                  text ? "empty after removing punctuation" : "missing");
      return NULL;
    }
    char *p = g_strdup_printf("Task: grounding; Description: %s", clean);
    g_free(clean);
    return p;
  }
  case UFO_TASK_CAPTION:
    return g_strdup("Task: caption; Give a caption for this image:");
  case UFO_TASK_INSTANCE:
  case UFO_TASK_SEMANTIC:
    if (!need_labels(task, n_labels, error))
      return NULL;
    s = g_string_new(task == UFO_TASK_INSTANCE ? "Task: instance_segmentation; Class: "
                                               : "Task: semantic_segmentation; Class: ");
    append_joined(s, labels, n_labels);
    g_string_append_c(s, '.');
    return g_string_free(s, FALSE);
  default:
    g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID, "unknown task %d", (int)task);
    return NULL;
  }
}
