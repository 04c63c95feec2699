/* First tokens after which a grid's answer is never kept (engine/tasks/dead_heads.c), with the
 * BERT vocabulary and the COCO and ADE20K names:
 *  - prefix: the decoded text of [x, y] begins with that of [x], for every non-special id x
 *    and followers y of every kind (a `##` piece, a word, the comma, `<MASK>`, [SEP], [UNK]):
 *    the property the rule rests on;
 *  - hand cases: `background` ends detection and instance answers (not semantic ones with a
 *    `background` name), the first piece of every name does not, a comma ends unless a name is
 *    before it, special ids never end;
 *  - against the parsers: for every id the rule marks, answers that begin with it and go on as
 *    a kept answer would (`<x>, 10, 20, 30, 40`, `<x> <name>, ...`, `<x>##s, ...`, with a mask
 *    run) are dropped by ufo_parse_detection / ufo_parse_seg_label. */
#include "engine_data.h"
#include "post_fixture.h"
#include "tasks/tasks.h"

#include <string.h>

static int32_t id_of(const UfoTokenizer *tok, const char *t)
{
  int32_t id = ufo_tokenizer_token_to_id(tok, t);
  g_assert_cmpint(id, >=, 0);
  return id;
}

static int vocab_size(const UfoTokenizer *tok)
{
  int n = 0;
  while (ufo_tokenizer_id_to_token(tok, n))
    n++;
  return n;
}

static void test_prefix(void)
{
  g_autoptr(UfoTokenizer) tok = engine_data_tokenizer();
  const int V = vocab_size(tok);
  g_assert_cmpint(V, >, 30000);
  const int32_t follow[] = {id_of(tok, "##s"),    id_of(tok, "person"), id_of(tok, ","),
                            id_of(tok, "<MASK>"), id_of(tok, "[SEP]"),  id_of(tok, "[UNK]"),
                            id_of(tok, "'"),      id_of(tok, "."),      id_of(tok, "##ing")};
  for (int32_t x = 0; x < V; x++) {
    if (ufo_tokenizer_is_special(tok, x))
      continue;
    g_autofree char *one = ufo_tokenizer_decode(tok, &x, 1, TRUE);
    for (size_t k = 0; k < G_N_ELEMENTS(follow); k++) {
      const int32_t two[2] = {x, follow[k]};
      g_autofree char *both = ufo_tokenizer_decode(tok, two, 2, TRUE);
      if (!g_str_has_prefix(both, one))
        g_error("decode([%d, %d]) = \"%s\" does not begin with decode([%d]) = \"%s\"", x, follow[k],
                both, x, one);
    }
  }
}

static void test_hand(void)
{
  g_autoptr(UfoTokenizer) tok = engine_data_tokenizer();
  int n = 0;
  g_auto(GStrv) names = engine_data_labels("coco.txt", &n);
  UfoLabelSet coco = {"coco", n, names};
  const int32_t bg = id_of(tok, "background"), comma = id_of(tok, ",");
  g_assert_true(ufo_task_dead_first(tok, &coco, TRUE, bg));
  g_assert_true(ufo_task_dead_first(tok, &coco, FALSE, bg)); /* no COCO name is background */
  g_assert_true(ufo_task_dead_first(tok, &coco, TRUE, comma));
  g_assert_true(ufo_task_dead_first(tok, &coco, TRUE, id_of(tok, "<MASK>")));
  g_assert_true(ufo_task_dead_first(tok, &coco, TRUE, id_of(tok, "table"))); /* dining table */
  g_assert_false(ufo_task_dead_first(tok, &coco, TRUE, id_of(tok, "dining")));
  g_assert_false(ufo_task_dead_first(tok, &coco, TRUE, id_of(tok, "zebra")));
  g_assert_false(ufo_task_dead_first(tok, &coco, TRUE, id_of(tok, "traffic"))); /* light */
  g_assert_false(ufo_task_dead_first(tok, &coco, TRUE, id_of(tok, "[UNK]")));
  g_assert_false(ufo_task_dead_first(tok, &coco, TRUE, id_of(tok, "[SEP]")));
  /* the first piece of every name, whatever its split */
  for (int i = 0; i < n; i++) {
    g_autoptr(GArray) ids = g_array_new(FALSE, FALSE, sizeof(int32_t));
    g_assert_true(ufo_tokenizer_encode(tok, names[i], 64, ids, NULL));
    g_assert_cmpint(ids->len, >=, 3); /* [CLS] pieces [SEP] */
    g_assert_false(ufo_task_dead_first(tok, &coco, TRUE, g_array_index(ids, int32_t, 1)));
  }
  /* a label set with a background name: semantic may keep it, detection and instance never */
  char *with_bg_names[] = {"background", "wall", NULL};
  UfoLabelSet with_bg = {"bg", 2, with_bg_names};
  g_assert_false(ufo_task_dead_first(tok, &with_bg, FALSE, bg));
  g_assert_true(ufo_task_dead_first(tok, &with_bg, TRUE, bg));
  /* no names: every non-special first token ends */
  UfoLabelSet none = {"none", 0, with_bg_names};
  g_assert_true(ufo_task_dead_first(tok, &none, FALSE, id_of(tok, "wall")));
  g_autofree uint8_t *table = ufo_task_dead_first_table(tok, &coco, TRUE, 30525);
  g_assert_cmpint(table[bg], ==, 1);
  g_assert_cmpint(table[id_of(tok, "person")], ==, 0);
  /* the table (one text buffer for every id) says what each id's own call says */
  int marked = 0;
  for (int32_t id = 0; id < 30525; id++) {
    if (table[id] != (uint8_t)ufo_task_dead_first(tok, &coco, TRUE, id))
      g_error("table[%d] = %d differs from ufo_task_dead_first", id, table[id]);
    marked += table[id];
  }
  g_assert_cmpint(marked, >, 1000);
  g_assert_cmpint(marked, <, 30525);
  g_autofree uint8_t *empty = ufo_task_dead_first_table(tok, NULL, TRUE, 30525);
  g_assert_cmpint(empty[bg], ==, 0);
}

/* every text an answer that begins with x could decode to, in the shapes of kept answers */
static void check_dropped(const UfoTokenizer *tok, const UfoLabelSet *labels, gboolean semantic,
                          int32_t x)
{
  const char *name = labels->names[x % labels->n];
  g_autofree char *first = ufo_tokenizer_decode(tok, &x, 1, TRUE);
  /* the answer's text begins with first's text: what follows is glued or spaced */
  const char *tails[] = {"", " ", "s"};
  for (size_t k = 0; k < G_N_ELEMENTS(tails); k++) {
    g_autofree char *det =
        g_strdup_printf("%s%s%s, 10, 20, 30, 40", first, tails[k], k == 1 ? name : "");
    int label;
    int64_t v[4];
    if (!semantic && ufo_parse_detection(det, labels, &label, v))
      g_error("token %d (\"%s\") is marked, yet \"%s\" is kept", x, first, det);
    g_autofree char *seg =
        g_strdup_printf("%s%s%s, <MASK> <MASK>", first, tails[k], k == 1 ? name : "");
    if (ufo_parse_seg_label(seg, labels, semantic) >= 0)
      g_error("token %d (\"%s\") is marked, yet \"%s\" is kept", x, first, seg);
  }
}

static void test_parsers(gconstpointer data)
{
  const gboolean semantic = GPOINTER_TO_INT(data);
  g_autoptr(UfoTokenizer) tok = engine_data_tokenizer();
  int n = 0;
  g_auto(GStrv) names = engine_data_labels(semantic ? "ade20k.txt" : "coco.txt", &n);
  UfoLabelSet labels = {"set", n, names};
  const int V = vocab_size(tok);
  int dead = 0;
  for (int32_t x = 0; x < V; x++)
    if (ufo_task_dead_first(tok, &labels, !semantic, x)) {
      dead++;
      check_dropped(tok, &labels, semantic, x);
    }
  g_test_message("%d of %d first tokens end an answer", dead, V);
  g_assert_cmpint(dead, >, V / 2);
}

int main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/tasks/dead-heads/prefix", test_prefix);
  g_test_add_func("/tasks/dead-heads/hand", test_hand);
  g_test_add_data_func("/tasks/dead-heads/parsers/coco", GINT_TO_POINTER(0), test_parsers);
  g_test_add_data_func("/tasks/dead-heads/parsers/ade20k", GINT_TO_POINTER(1), test_parsers);
  return g_test_run();
}
