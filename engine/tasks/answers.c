/* The token pieces of a task's class names, the answers before its mask run (seg §2.3: `<class>,`
 * then 16 × `<MASK>`), for the decoder's draft lead (decode.h UfoDecodeDraft lead_ready): a grid
 * whose tokens so far are one of them, and begin no longer one, should emit the comma next. A
 * guess only: the decoder checks every token it drafts. `background` (instance segmentation's
 * answer without an object, then `[SEP]`) is left out: such a grid would end at the pass's first
 * position and pay for all of them (measured: the demo's instance decode 8.1 → 17.2 ms); left
 * out, it ends with a step and the pass starts after it, as without the lead. */
#include "tasks.h"

struct _UfoAnswerPieces {
  GPtrArray *pieces; /* GArray of int32 per answer: its tokens without [CLS] and [SEP] */
};

UfoAnswerPieces *ufo_answer_pieces_new(const UfoLabelSet *labels, const UfoTokenizer *tok)
{
  UfoAnswerPieces *a = g_new0(UfoAnswerPieces, 1);
  a->pieces = g_ptr_array_new_with_free_func((GDestroyNotify)g_array_unref);
  for (int i = 0; labels && i < labels->n; i++) {
    const char *name = labels->names[i];
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    if (!ufo_tokenizer_encode(tok, name, 64, ids, NULL) || ids->len < 3)
      continue; /* not valid UTF-8 or no piece: never a whole answer */
    GArray *p = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_array_append_vals(p, &g_array_index(ids, int32_t, 1), ids->len - 2);
    g_ptr_array_add(a->pieces, p);
  }
  return a;
}

void ufo_answer_pieces_free(UfoAnswerPieces *a)
{
  if (!a)
    return;
  g_ptr_array_unref(a->pieces);
  g_free(a);
}

gboolean ufo_answer_pieces_whole(const UfoAnswerPieces *a, const int32_t *ids, int n)
{
  gboolean whole = FALSE;
  for (guint i = 0; a && n > 0 && i < a->pieces->len; i++) {
    const GArray *p = g_ptr_array_index(a->pieces, i);
    if (p->len < (guint)n || memcmp(p->data, ids, sizeof(int32_t) * (size_t)n) != 0)
      continue;
    if (p->len > (guint)n)
      return FALSE; /* a longer answer begins with these pieces */
    whole = TRUE;
  }
  return whole;
}
