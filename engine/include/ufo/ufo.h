/* libufo — public API of the UFO-ViT inference engine.
 *
 * A UfoModel holds the weights and config of one model file; it is immutable after loading,
 * reference counted and safe to share between threads. A UfoSession owns a backend (CPU or
 * CUDA), scratch memory and KV caches; use one session per thread. Sessions of one model on one
 * device share a single copy of its weights. Every failure is reported
 * through a GError in the UFO_ERROR domain; the library never aborts.
 */
#ifndef UFO_UFO_H
#define UFO_UFO_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

G_BEGIN_DECLS

#define UFO_ERROR (ufo_error_quark())
GQuark ufo_error_quark(void);

typedef enum {
  UFO_ERROR_IO,          /* file missing or unreadable */
  UFO_ERROR_FORMAT,      /* malformed or truncated model file, bad metadata */
  UFO_ERROR_MODEL,       /* tensor missing, wrong dtype or shape for the config */
  UFO_ERROR_UNSUPPORTED, /* task, size or option this model/backend cannot do */
  UFO_ERROR_INVALID,     /* bad argument: empty prompt, zero-size image, ... */
  UFO_ERROR_BACKEND,     /* backend failure (out of memory, CUDA error) */
} UfoErrorCode;

typedef enum {
  UFO_TASK_DETECTION = 0,
  UFO_TASK_GROUNDING,
  UFO_TASK_CAPTION,
  UFO_TASK_INSTANCE,
  UFO_TASK_SEMANTIC,
  UFO_N_TASKS
} UfoTask;

/* "detection", "grounding", "caption", "instance", "semantic" */
const char *ufo_task_name(UfoTask task);
/* Returns FALSE (and sets error) for an unknown name. */
gboolean ufo_task_from_name(const char *name, UfoTask *task, GError **error);

typedef enum {
  UFO_PIXEL_RGB = 0, /* 3 bytes per pixel */
  UFO_PIXEL_BGR,
  UFO_PIXEL_RGBA, /* 4 bytes per pixel, alpha ignored */
  UFO_PIXEL_BGRA,
  UFO_PIXEL_RGBX,
  UFO_PIXEL_BGRX,
  /* planar YUV 4:2:0, 8 bits (GStreamer I420, NV12): a Y plane of width x height (data, stride)
   * and chroma planes of ceil(width/2) x ceil(height/2) samples; pixel (x, y) takes the chroma
   * sample (x/2, y/2) */
  UFO_PIXEL_I420, /* U plane (planes[0], plane_stride[0]), V plane (planes[1], plane_stride[1]) */
  UFO_PIXEL_NV12, /* one interleaved UV plane (planes[0], plane_stride[0]: U, V byte pairs) */
} UfoPixelFormat;

/* Y'CbCr -> R'G'B' matrix of the planar formats (the Kr, Kb of GStreamer's GstVideoColorMatrix
 * of the same name) */
typedef enum {
  UFO_COLOR_MATRIX_BT601 = 0,
  UFO_COLOR_MATRIX_BT709,
  UFO_COLOR_MATRIX_BT2020,
  UFO_COLOR_MATRIX_SMPTE240M,
  UFO_COLOR_MATRIX_FCC,
} UfoColorMatrix;

/* Y'CbCr quantisation range: limited (Y 16..235, C 16..240) or full (0..255) */
typedef enum { UFO_COLOR_RANGE_LIMITED = 0, UFO_COLOR_RANGE_FULL } UfoColorRange;

/* Where an image's pixels are (UfoImage.memory). */
typedef enum {
  UFO_MEMORY_HOST = 0, /* host memory (zero-initialised images) */
  /* Device memory of the session's GPU in the CUDA context ufo_session_get_cuda_context returns
   * (the device's primary context, the one the CUDA runtime uses): a CUDA session converts the
   * planes in place, without copying them. The work that wrote them must be complete when
   * ufo_session_run is called (the producer synchronised its stream), and they must stay
   * unchanged until it returns. Sessions without a CUDA device refuse such images
   * (UFO_ERROR_UNSUPPORTED). */
  UFO_MEMORY_CUDA,
} UfoMemory;

typedef struct {
  UfoPixelFormat format;
  int width, height;   /* pixels, > 0 */
  size_t stride;       /* bytes per row (planar formats: of the Y plane) */
  const uint8_t *data; /* borrowed (planar formats: the Y plane) */
  /* Planar formats only (packed formats ignore them; zero-initialise): the chroma planes
   * (borrowed), their bytes per row, and the conversion to RGB (zero: BT.601, limited range). */
  const uint8_t *planes[2];
  size_t plane_stride[2];
  UfoColorMatrix matrix;
  UfoColorRange range;
  UfoMemory memory; /* where data and planes point (zero: host memory); zero-initialise the
                     * whole struct before filling it */
} UfoImage;

/* Test hook ("planted plan", docs/reference.md): when set, at decode step t of sequence s the
 * logit of tokens[s * max_len + t] (if >= 0) is replaced by max(logits) + margin[s]
 * (+ step_margin[s * max_len + t] when step_margin is set). */
typedef struct {
  const int32_t *tokens; /* (n_seq, max_len), -1 = no forcing */
  const float *margin;   /* (n_seq) */
  int n_seq, max_len;
  const float *step_margin; /* (n_seq, max_len) or NULL */
} UfoPlantedPlan;

/* Boxes of instance-segmentation objects (docs/elements.md "Instance boxes"). */
typedef enum {
  /* the box of the mask's largest 8-connected region: tight on the object, not widened by stray
   * mask fragments (the default) */
  UFO_INSTANCE_BOXES_REGION = 0,
  /* the box of every foreground pixel (the original code's mask2bbox, seg §6.20) */
  UFO_INSTANCE_BOXES_MASK,
} UfoInstanceBoxes;

/* How instance masks come back (UfoMask). */
typedef enum {
  /* UfoMask.prob: float32 probabilities (the default) */
  UFO_MASK_FLOAT = 0,
  /* UfoMask.gray: each probability p as round-half-even(255 · clamp(p, 0, 1)) in a byte (NaN: 0),
   * GStreamer's GRAY8 probability masks; a quarter of the bytes, computed where the masks are */
  UFO_MASK_GRAY8,
} UfoMaskFormat;

typedef struct {
  UfoTask task;
  const char *prompt;         /* grounding: referring expression (required); others: NULL */
  int beam_size;              /* 0 = model default for the task */
  int max_detections;         /* 0 = model default (100 for detection); cap after NMS */
  float nms_iou;              /* <= 0 = model default */
  float mask_threshold;       /* <= 0 = 0.5 */
  const UfoPlantedPlan *plan; /* NULL except in tests */
  /* Beam search only (beam size > 1), 0 = the task's value in the model config (the original's
   * heads: detection 0.3 / 10.0, caption 1.0 / 0.7, others 1.0 / 1.0; docs/elements.md has the
   * published recipe). temperature: 0 or 1e-6..100; log-probabilities are of logits / temperature.
   * Hypotheses score sum / length^length_penalty (finite, |value| <= 100; an exact 0 cannot be
   * asked for: 1e-6 scores the same to float precision). */
  float temperature;
  float length_penalty;
  UfoInstanceBoxes instance_boxes; /* instance segmentation only */
  UfoMaskFormat mask_format;       /* instance segmentation only */
} UfoRequest;

#define UFO_REQUEST_INIT                                                                           \
  {                                                                                                \
    UFO_TASK_DETECTION, NULL, 0, 0, 0.f, 0.f, NULL, 0.f, 0.f, UFO_INSTANCE_BOXES_REGION,           \
        UFO_MASK_FLOAT                                                                             \
  }

typedef struct {
  int x, y, width, height; /* rectangle in input-image pixels the mask covers */
  float *prob;             /* (height, width) row-major sigmoid probabilities; NULL with gray */
  uint8_t *gray;           /* (height, width) the same as bytes (UFO_MASK_GRAY8), else NULL */
} UfoMask;

typedef struct {
  int label_id;      /* index in the task's label set */
  const char *label; /* owned by the model */
  float score;
  float x1, y1, x2, y2; /* box in input-image pixels */
  UfoMask *mask;        /* instance segmentation only, else NULL */
} UfoObject;

typedef struct {
  int width, height; /* input image size */
  uint16_t *labels;  /* (height, width) class ids */
  int n_classes;
  const char *const *class_names; /* owned by the model */
} UfoSemanticMap;

typedef struct {
  UfoTask task;
  int n_objects;
  UfoObject *objects;
  char *caption;            /* caption task, else NULL */
  UfoSemanticMap *semantic; /* semantic task, else NULL */
  /* Milliseconds per stage of the last run, for ufo-bench. */
  double ms_preprocess, ms_text, ms_image, ms_grid, ms_decode, ms_post;
  /* The device's own milliseconds for the stages before post-processing (CUDA: events around
   * each stage), without the host's time to enqueue the work; -1 where the backend has no device
   * clock (CPU: its stages are the host times above). */
  double device_ms_preprocess, device_ms_text, device_ms_image, device_ms_grid, device_ms_decode;
  int n_decode_steps;
  double *ms_decode_step; /* (n_decode_steps); the steps of a draft pass share its time evenly */
  int n_decode_passes;    /* step calls: steps alone, and draft passes of several steps
                             (segmentation's <MASK> runs, docs/performance.md section 10) */
  uint64_t decode_bytes_down; /* bytes the decode copied from the backend to the host */
  uint64_t bytes_down;        /* bytes the whole run copied from the backend to the host */
  /* frames that ran together (ufo_session_run_batch; 1 for ufo_session_run): the stage times
   * except ms_post, the decode steps and the byte counts are then the whole batch's */
  int batch_size;
} UfoResult;

void ufo_result_free(UfoResult *result);

typedef struct _UfoModel UfoModel;
typedef struct _UfoSession UfoSession;

/* Memory-maps and validates a .safetensors model bundle (docs/model-format.md). */
UfoModel *ufo_model_load(const char *path, GError **error);
/* A model with deterministic random weights (docs/weights-prng.md) for a built-in config name
 * ("tiny", "vit-b", "vit-l", "vit-h") or a config JSON string. */
UfoModel *ufo_model_new_random(const char *config, uint64_t seed, GError **error);
UfoModel *ufo_model_ref(UfoModel *model);
void ufo_model_unref(UfoModel *model);
gboolean ufo_model_supports_task(const UfoModel *model, UfoTask task);
/* Label names of a task's label set; NULL when the task has none. */
const char *const *ufo_model_get_labels(const UfoModel *model, UfoTask task, int *n_labels);

/* Checks the prompt of a task before any frame: the task's prompt string (for grounding
 * "Task: grounding; Description: " and the cleaned referring expression `prompt`; other tasks
 * ignore `prompt`) must fit the model's text context. Returns FALSE with UFO_ERROR_INVALID for a
 * missing or empty grounding expression, UFO_ERROR_UNSUPPORTED for a task the model lacks or a
 * prompt that is too long (the message names its token count and the limit). n_tokens and
 * max_tokens (both nullable) receive the prompt's token count ([CLS] and [SEP] included; 0 when
 * it was not tokenized) and the limit. ufo_session_run refuses the same prompts the same way. */
gboolean ufo_model_check_prompt(const UfoModel *model, UfoTask task, const char *prompt,
                                int *n_tokens, int *max_tokens, GError **error);

typedef enum { UFO_DEVICE_AUTO = 0, UFO_DEVICE_CPU, UFO_DEVICE_CUDA } UfoDevice;

/* Precision of the GEMMs against weight matrices (linear layers, tied-embedding logits).
 * FP32: everything in float32 (the default of zero-initialised options). BF16: those GEMMs round
 * both inputs to bfloat16 (round to nearest even) and accumulate in float32, and so do the
 * attention products (q·K^T, P·V) of the text, image and grid passes; every other op (layer norm,
 * softmax, decode steps' attention, GELU, residuals) stays float32. The CPU backend needs
 * AVX512-BF16 or AMX for it (elsewhere it computes fp32). AUTO: the session's backend picks,
 * once, when the session is made: bf16 where its bf16 path is native and faster (CPU: oneDNN
 * with AVX512-BF16 or AMX; CUDA: always), else fp32; ufo_session_get_precision says which, and
 * the choice is logged once per process and backend. Ask for FP32 where results must be
 * exactly the float32 ones (parity with the reference). */
typedef enum {
  UFO_PRECISION_FP32 = 0,
  UFO_PRECISION_BF16,
  UFO_PRECISION_AUTO,
  UFO_N_PRECISIONS
} UfoPrecision;

/* "fp32", "bf16", "auto" */
const char *ufo_precision_name(UfoPrecision precision);
/* Returns FALSE (and sets error) for an unknown name. */
gboolean ufo_precision_from_name(const char *name, UfoPrecision *precision, GError **error);

typedef struct {
  UfoDevice device;
  int gpu_id;
  int threads;            /* CPU worker threads, 0 = number of cores */
  UfoPrecision precision; /* weight GEMMs; 0 (zero-initialised options) = fp32 */
} UfoSessionOptions;

UfoSession *ufo_session_new(UfoModel *model, const UfoSessionOptions *options, GError **error);
void ufo_session_free(UfoSession *session);
/* The backend the session runs on: "cpu", "cuda" (after device auto: which one was picked). */
const char *ufo_session_get_backend_name(const UfoSession *session);
/* The CUDA context (a CUcontext) that the session's device memory lives in: the primary context
 * of its GPU. Images in UFO_MEMORY_CUDA must be memory of this context; other CUDA code (such as
 * GStreamer's CUDA elements, through gst_cuda_context_new_wrapped) can share it to hand frames
 * over without a copy. NULL for a session that does not run on a CUDA device. */
void *ufo_session_get_cuda_context(const UfoSession *session);
/* The CUDA context (a CUcontext) that CUDA sessions on GPU gpu_id use (its primary context), before
 * any session exists: for code that must share it early (GStreamer elements answer CUDA context
 * queries before their first frame). NULL with UFO_ERROR_UNSUPPORTED where the build has no
 * CUDA backend or the GPU is not usable. */
void *ufo_cuda_device_context(int gpu_id, GError **error);
/* The precision the session's weight GEMMs run in: UFO_PRECISION_FP32 or _BF16 (precision=auto
 * resolved; precision=bf16 on a CPU without native bf16 runs fp32). */
UfoPrecision ufo_session_get_precision(const UfoSession *session);
/* Memory of a session (either pointer may be NULL): weights_bytes, the model's weight tensors on
 * the session's device, held once per (model, device) in the process and shared by every
 * session of that model there (on the CPU they alias the model itself); state_bytes, this
 * session's own activations, KV caches and scratch as sized by the frames run so far. */
void ufo_session_get_memory(const UfoSession *session, size_t *weights_bytes, size_t *state_bytes);
/* Per-op profile of the session's backend since the last reset, as text (one line per op and
 * shape, heaviest first), or NULL unless UFO_PROFILE=1 was set when the session was made. Every
 * op is waited for, so the frame is slower while profiling. Free with g_free. */
char *ufo_session_profile_report(UfoSession *session, gboolean reset);
/* Sizes everything one frame of `task` needs on this session (activations, KV caches, decode
 * buffers, the backend's scratch, bf16 weight packs) by running one warm-up frame: a blank
 * image of the task's input size whose decoding runs every step at the largest sizes. After it,
 * frames of that task allocate no backend memory (ufo_session_get_allocations stays put), as
 * long as they keep the model's defaults for beam size and the input size's grid, frames are no
 * larger than the task's input size (the frame upload and the mask ops at the original
 * resolution grow with a larger one) and, for grounding, the prompt keeps its token count
 * (the text pass is sized by it). Another task's frame resizes the state for that task. A
 * session serves every task: prepare the ones it will run; unprepared tasks size themselves at
 * their first frame. */
gboolean ufo_session_prepare(UfoSession *session, UfoTask task, GError **error);
/* Backend memory allocations the session has made so far (tensors and the backend's own
 * buffers): constant over frames of a prepared task. */
uint64_t ufo_session_get_allocations(const UfoSession *session);
/* Backend graphs (CUDA graphs of the image and grid passes, replayed frame after frame of one
 * shape; docs/performance.md): how many the session recorded and how many times it launched
 * them so far. Both stay 0 on backends without graphs (the CPU) and with UFO_GRAPHS=0 in the
 * environment, which runs every op by itself. */
void ufo_session_get_graph_counts(const UfoSession *session, unsigned *recorded,
                                  unsigned *launched);
/* The same for decode steps: one graph per step index and row count (the steps of one task
 * repeat frame after frame), at most 64 kept, the least recently used given up first. */
void ufo_session_get_decode_graph_counts(const UfoSession *session, unsigned *recorded,
                                         unsigned *launched);
/* Runs one frame. On success *result is a new UfoResult (free with ufo_result_free). */
gboolean ufo_session_run(UfoSession *session, const UfoImage *image, const UfoRequest *request,
                         UfoResult **result, GError **error);

/* Runs n_images frames of one request together: every frame goes through preprocessing and
 * the image and grid passes, then the decode steps of all the frames' grids run as one batch
 * (detection, instance and semantic segmentation: a grid row attends only to its own grid and
 * tokens, so each frame's results are those of ufo_session_run on it, bit for bit on the CPU
 * backend); caption and grounding frames decode one after another. The frames may differ in
 * size and format. On success results[i] is a new UfoResult for images[i]; on failure every
 * results[i] is NULL and the error names the frame. Decode memory grows with the batch:
 * ufo_session_prepare_batch sizes it. */
gboolean ufo_session_run_batch(UfoSession *session, const UfoImage *images, int n_images,
                               const UfoRequest *request, UfoResult **results, GError **error);
/* ufo_session_prepare for batches of up to `batch` frames (ufo_session_run_batch). */
gboolean ufo_session_prepare_batch(UfoSession *session, UfoTask task, int batch, GError **error);

typedef void (*UfoLogFunc)(int level /* 0 error .. 3 debug */, const char *message,
                           void *user_data);
void ufo_log_set(UfoLogFunc func, void *user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoModel, ufo_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoSession, ufo_session_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(UfoResult, ufo_result_free)

G_END_DECLS

#endif
