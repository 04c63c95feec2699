/* UFO-ViT configuration: the "ufo.config" JSON of a model file (docs/model-format.md).
 * Inference spec §1 (architecture, per-task settings). */
#ifndef UFO_MODEL_CONFIG_H
#define UFO_MODEL_CONFIG_H

#include "ufo/ufo.h"

#define UFO_MAX_LAYERS 64

typedef enum { UFO_RESIZE_BILINEAR = 0, UFO_RESIZE_BICUBIC } UfoResizeKind;
typedef enum { UFO_NMS_NONE = 0, UFO_NMS_SOFT, UFO_NMS_MATRIX } UfoNmsKind;

typedef struct {
  gboolean enabled;       /* the model file offers this task */
  int input_size;         /* square input side in px, multiple of 224 */
  UfoResizeKind resize;   /* bilinear = cv2 INTER_LINEAR, bicubic = PIL BICUBIC (spec §3.1) */
  gboolean resize_float;  /* TRUE: resize float32 pixels (instance), FALSE: uint8 (spec seg §6.14) */
  int grid_per_window;    /* grid queries per window side (5); 0 = no grid pass */
  int num_bins;           /* box coordinate bins (detection 2240, grounding 448) */
  int max_length;         /* decode steps */
  int beam_size;          /* 1 = greedy */
  float temperature;      /* beam search only */
  float alpha;            /* beam length penalty */
  UfoNmsKind nms;
  float nms_iou;          /* soft-NMS IoU threshold (0.5) */
  float nms_min_score;    /* soft-NMS min score (1e-3) */
  float nms_sigma;        /* matrix NMS gaussian sigma (2.0) */
  float nms_filter;       /* matrix NMS filter threshold (0.05) */
  int max_per_img;        /* detection: parsed detections kept before NMS (100) */
  char label_set[32];     /* key into ufo.labels.* ("coco", "ade20k"); "" = none */
} UfoTaskConfig;

typedef struct {
  char name[32];          /* "vit-b", "tiny", or the model's own name */
  int embed_dim;          /* C */
  int num_heads;          /* nh */
  int head_dim;           /* d = C / nh */
  int ffn_dim;            /* 4C */
  int num_layers;         /* NL */
  gboolean is_global[UFO_MAX_LAYERS]; /* window_size == 0 for this layer */
  int n_mean;             /* |M| */
  int mean_layers[UFO_MAX_LAYERS];    /* M, ascending */
  int window_size;        /* 14 */
  int patch_size;         /* 16 */
  int img_size;           /* pos_embed table side in px (1120 -> 70x70) */
  int vocab_size;         /* rows of embed.word_embeddings: 30525 (BERT's), or fewer with the
                             model's own vocabulary (docs/model-format.md) */
  int max_position;       /* 512 */
  float ln_eps;           /* 1e-6 */
  float text_ln_eps;      /* 1e-12 */
  float pixel_mean[3];    /* RGB */
  float pixel_std[3];
  UfoTaskConfig tasks[UFO_N_TASKS];
} UfoConfig;

/* Parses and validates a config JSON (all sizes positive and consistent). */
gboolean ufo_config_parse(const char *json, UfoConfig *cfg, GError **error);
/* Fills cfg with a built-in config: "tiny", "vit-b", "vit-l", "vit-h". */
gboolean ufo_config_builtin(const char *name, UfoConfig *cfg, GError **error);
/* Serialises cfg to the JSON accepted by ufo_config_parse (caller frees). */
char *ufo_config_to_json(const UfoConfig *cfg);

#endif
