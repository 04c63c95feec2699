/* Parsing of decoded texts, byte for byte like the original's Python (inference spec §7.1,
 * §7.2, §8 item 25; segmentation spec §2.5, §6.10). */
#include "tasks.h"

#include <string.h>

gboolean ufo_parse_int(const char *s, int64_t *out)
{
  /* s.replace(' ', '') then int(): int() also strips other ASCII whitespace */
  char buf[64];
  size_t n = 0;
  for (const char *p = s; *p; p++) {
    if (*p == ' ')
      continue;
    if (n + 1 >= sizeof(buf))
      return FALSE; /* longer than any int64 */
    buf[n++] = *p;
  }
  buf[n] = '\0';
  const char *p = buf, *end = buf + n;
  while (p < end && g_ascii_isspace(*p))
    p++;
  while (end > p && g_ascii_isspace(end[-1]))
    end--;
  gboolean neg = FALSE;
  if (p < end && (*p == '+' || *p == '-'))
    neg = *p++ == '-';
  if (p >= end || !g_ascii_isdigit(*p))
    return FALSE;
  uint64_t v = 0;
  gboolean prev_us = FALSE;
  for (; p < end; p++) {
    if (*p == '_') {
      if (prev_us)
        return FALSE; /* "1__0" */
      prev_us = TRUE;
      continue;
    }
    if (!g_ascii_isdigit(*p))
      return FALSE;
    prev_us = FALSE;
    v = v * 10 + (uint64_t)(*p - '0');
    if (v > (uint64_t)G_MAXINT64)
      return FALSE;
  }
  if (prev_us)
    return FALSE; /* trailing underscore */
  *out = neg ? -(int64_t)v : (int64_t)v;
  return TRUE;
}

/* text.split(',') into at most max_parts borrowed pieces; returns the total number of parts */
static int split_commas(const char *text, const char **start, size_t *len, int max_parts)
{
  int n = 0;
  const char *p = text;
  for (;;) {
    const char *c = strchr(p, ',');
    const size_t l = c ? (size_t)(c - p) : strlen(p);
    if (n < max_parts) {
      start[n] = p;
      len[n] = l;
    }
    n++;
    if (!c)
      return n;
    p = c + 1;
  }
}

static int label_index(const UfoLabelSet *labels, const char *s, size_t len)
{
  for (int i = 0; labels && i < labels->n; i++)
    if (strlen(labels->names[i]) == len && memcmp(labels->names[i], s, len) == 0)
      return i;
  return -1;
}

static gboolean parse_field(const char *s, size_t len, int64_t *v)
{
  char *tmp = g_strndup(s, len);
  const gboolean ok = ufo_parse_int(tmp, v);
  g_free(tmp);
  return ok;
}

gboolean ufo_parse_detection(const char *text, const UfoLabelSet *labels, int *label, int64_t v[4])
{
  const char *part[5];
  size_t len[5];
  if (!text || split_commas(text, part, len, 5) < 5)
    return FALSE; /* len(parts) >= 5 */
  if (len[0] == 10 && memcmp(part[0], "background", 10) == 0)
    return FALSE;
  const int l = label_index(labels, part[0], len[0]); /* exact match, no strip */
  if (l < 0)
    return FALSE;
  for (int k = 0; k < 4; k++)
    if (!parse_field(part[k + 1], len[k + 1], &v[k]))
      return FALSE; /* e.g. "d;e" */
  *label = l;
  return TRUE;
}

gboolean ufo_parse_grounding(const char *text, int64_t v[4])
{
  const char *part[4];
  size_t len[4];
  if (!text || split_commas(text, part, len, 4) < 4)
    return FALSE;
  for (int k = 0; k < 4; k++)
    if (!parse_field(part[k], len[k], &v[k]))
      return FALSE;
  return TRUE;
}

int ufo_parse_seg_label(const char *text, const UfoLabelSet *labels, gboolean semantic)
{
  if (!text || !strstr(text, "<MASK>"))
    return -1;
  const char *part[1];
  size_t len[1];
  split_commas(text, part, len, 1);
  if (!semantic && len[0] == 10 && memcmp(part[0], "background", 10) == 0)
    return -1;
  return label_index(labels, part[0], len[0]);
}

/* Index order by descending score; ties keep the lower index (torch.topk leaves it open). */
int *ufo_order_by_score(const float *score, int n)
{
  int *o = g_new(int, MAX(n, 1));
  for (int i = 0; i < n; i++)
    o[i] = i;
  for (int a = 1; a < n; a++) {
    const int k = o[a];
    int b = a;
    while (b > 0 && score[o[b - 1]] < score[k]) {
      o[b] = o[b - 1];
      b--;
    }
    o[b] = k;
  }
  return o;
}

UfoObject *ufo_result_append_objects(UfoResult *res, int n)
{
  if (n <= 0)
    return res->objects ? res->objects + res->n_objects : NULL;
  res->objects = g_renew(UfoObject, res->objects, res->n_objects + n);
  UfoObject *o = res->objects + res->n_objects;
  memset(o, 0, sizeof(UfoObject) * n);
  res->n_objects += n;
  return o;
}
