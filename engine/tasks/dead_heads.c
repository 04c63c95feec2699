/* First tokens after which no answer of a grid task can be kept (inference spec §7.1 step 2,
 * segmentation spec §2.5 step 4, §3.4): detection, instance and semantic segmentation keep a grid
 * only when its text's head, text.split(',')[0], is exactly one of the label set's names (and, for
 * detection and instance, not `background`). The head begins with the first token's text: the
 * decoded text of a whole answer begins with that of its first token (ufo_tokenizer_decode:
 * later tokens are joined after it, `##` pieces glued to it, the clean-ups only remove spaces
 * before later tokens). So when no name that may be kept begins with it (or it holds a comma and
 * the head before it is no such name), every answer beginning with it is dropped, whatever the
 * grid emits next: greedy decoding can end the grid there (decode.h UfoDecoder.end_first) with
 * the same results. The trained models answer `background` then [SEP] for most grids (detection:
 * 618 of 625 at 1120²): their second step over every grid goes. */
#include "tasks.h"

#include <string.h>

/* a name that may be kept begins with s (n bytes) */
static gboolean some_name_begins(const UfoLabelSet *labels, gboolean drop_background, const char *s,
                                 size_t n)
{
  for (int i = 0; i < labels->n; i++) {
    const char *name = labels->names[i];
    if (drop_background && strcmp(name, "background") == 0)
      continue; /* never kept (§7.1: parts[0] != 'background') */
    if (strlen(name) >= n && memcmp(name, s, n) == 0)
      return TRUE;
  }
  return FALSE;
}

/* a name that may be kept is exactly s (n bytes) */
static gboolean some_name_is(const UfoLabelSet *labels, gboolean drop_background, const char *s,
                             size_t n)
{
  if (drop_background && n == 10 && memcmp(s, "background", 10) == 0)
    return FALSE;
  for (int i = 0; i < labels->n; i++)
    if (strlen(labels->names[i]) == n && memcmp(labels->names[i], s, n) == 0)
      return TRUE;
  return FALSE;
}

/* ufo_task_dead_first with the decoded text written into buf */
static gboolean dead_first(const UfoTokenizer *tok, const UfoLabelSet *labels,
                           gboolean drop_background, int32_t id, GString *buf)
{
  if (ufo_tokenizer_is_special(tok, id))
    return FALSE; /* decodes to nothing: the head is still open */
  ufo_tokenizer_decode_into(tok, &id, 1, TRUE, buf);
  const char *text = buf->str;
  if (text[0] == '\0')
    return FALSE;
  const char *comma = strchr(text, ',');
  if (comma) /* the head is complete */
    return !some_name_is(labels, drop_background, text, (size_t)(comma - text));
  return !some_name_begins(labels, drop_background, text, buf->len);
}

gboolean ufo_task_dead_first(const UfoTokenizer *tok, const UfoLabelSet *labels,
                             gboolean drop_background, int32_t id)
{
  GString *buf = g_string_sized_new(32);
  const gboolean dead = dead_first(tok, labels, drop_background, id, buf);
  g_string_free(buf, TRUE);
  return dead;
}

uint8_t *ufo_task_dead_first_table(const UfoTokenizer *tok, const UfoLabelSet *labels,
                                   gboolean drop_background, int vocab)
{
  uint8_t *dead = g_new0(uint8_t, MAX(vocab, 1));
  GString *buf = g_string_sized_new(64); /* one buffer for every id's text */
  for (int32_t id = 0; labels && id < vocab; id++)
    dead[id] = (uint8_t)dead_first(tok, labels, drop_background, id, buf);
  g_string_free(buf, TRUE);
  return dead;
}
