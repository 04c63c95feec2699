/* Task prompts (inference spec §4.1, §3.1 step 4; segmentation spec §1.3) and the text ids /
 * key mask fed to the network (inference spec §4.3). */
#ifndef UFO_TASKS_PROMPT_H
#define UFO_TASKS_PROMPT_H

#include "ufo/ufo.h"
#include "text/tokenizer.h"

#define UFO_PROMPT_MAX_TOKENS 512 /* max_position_embeddings; the original truncates here */

/* mmdet CleanCaption: strip → delete string.punctuation → collapse runs of >= 2 whitespace
 * characters into one space → lowercase (ASCII whitespace; lowercase via g_utf8_strdown). */
char *ufo_clean_caption(const char *text);

/* The prompt string of a task:
 *   detection: "Task: detection; Class: a,b,...,background; Bin: 0 to <num_bins>"
 *   grounding: "Task: grounding; Description: <CleanCaption(text)>"
 *   caption:   "Task: caption; Give a caption for this image:"
 *   instance / semantic: "Task: instance_segmentation; Class: a,b,...,z." (resp. semantic_...)
 * labels (n_labels) are needed by detection / instance / semantic; text by grounding (an empty
 * or all-punctuation expression is an error). Caller g_free()s. */
char *ufo_prompt_build(UfoTask task, const char *const *labels, int n_labels, int num_bins,
                       const char *text, GError **error);

/* The most tokens a prompt of a model with max_position text positions may have:
 * MIN(UFO_PROMPT_MAX_TOKENS, max_position). */
int ufo_prompt_max_tokens(int max_position);

/* Tokenizes a prompt ([CLS] pieces [SEP]), refuses one longer than max_tokens tokens
 * (UFO_ERROR_UNSUPPORTED naming the task, the count and the limit), drops the last column and
 * builds the key mask (1 = ignored: any [SEP] left). ids: int32 GArray, mask: uint8 GArray; both
 * are cleared first. */
gboolean ufo_prompt_encode(const UfoTokenizer *tok, UfoTask task, const char *prompt,
                           int max_tokens, GArray *ids, GArray *mask, GError **error);

#endif
