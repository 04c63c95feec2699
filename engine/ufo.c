/* libufo: error domain, task and precision names, logging, result lifetime. */
#include "ufo/ufo.h"
#include "log.h"

#include <stdarg.h>

G_DEFINE_QUARK(ufo - error - quark, ufo_error)

static const char *const task_names[UFO_N_TASKS] = {
    [UFO_TASK_DETECTION] = "detection", [UFO_TASK_GROUNDING] = "grounding",
    [UFO_TASK_CAPTION] = "caption",     [UFO_TASK_INSTANCE] = "instance",
    [UFO_TASK_SEMANTIC] = "semantic",
};

const char *ufo_task_name(UfoTask task)
{
  return (task >= 0 && task < UFO_N_TASKS) ? task_names[task] : "unknown";
}

gboolean ufo_task_from_name(const char *name, UfoTask *task, GError **error)
{
  for (int i = 0; name && i < UFO_N_TASKS; i++) {
    if (g_strcmp0(name, task_names[i]) == 0) {
      *task = (UfoTask)i;
      return TRUE;
    }
  }
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
              "unknown task '%s' (expected detection, grounding, caption, instance or semantic)",
              name ? name : "(null)");
  return FALSE;
}

static const char *const precision_names[UFO_N_PRECISIONS] = {"fp32", "bf16", "auto"};

const char *ufo_precision_name(UfoPrecision precision)
{
  return (precision >= 0 && precision < UFO_N_PRECISIONS) ? precision_names[precision] : "unknown";
}

gboolean ufo_precision_from_name(const char *name, UfoPrecision *precision, GError **error)
{
  for (int i = 0; name && i < UFO_N_PRECISIONS; i++) {
    if (g_strcmp0(name, precision_names[i]) == 0) {
      *precision = (UfoPrecision)i;
      return TRUE;
    }
  }
  g_set_error(error, UFO_ERROR, UFO_ERROR_INVALID,
              "unknown precision '%s' (expected fp32, bf16 or auto)", name ? name : "(null)");
  return FALSE;
}

static UfoLogFunc log_func;
static void *log_data;

void ufo_log_set(UfoLogFunc func, void *user_data)
{
  log_func = func;
  log_data = user_data;
}

void ufo_log(int level, const char *fmt, ...)
{
  if (!log_func)
    return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  log_func(level, msg, log_data);
  g_free(msg);
}

void ufo_result_free(UfoResult *result)
{
  if (!result)
    return;
  for (int i = 0; i < result->n_objects; i++) {
    UfoMask *mask = result->objects[i].mask;
    if (mask) {
      g_free(mask->prob);
      g_free(mask->gray);
      g_free(mask);
    }
  }
  g_free(result->objects);
  g_free(result->caption);
  if (result->semantic) {
    g_free(result->semantic->labels);
    g_free(result->semantic);
  }
  g_free(result->ms_decode_step);
  g_free(result);
}
