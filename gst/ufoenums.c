/* Enum types of the ufo elements' properties. */
#include "ufoenums.h"

#define DEFINE_ENUM(func, name, ...)                                                               \
  GType func(void)                                                                                 \
  {                                                                                                \
    static gsize type = 0;                                                                         \
    static const GEnumValue values[] = {__VA_ARGS__, {0, NULL, NULL}};                             \
    if (g_once_init_enter(&type)) {                                                                \
      GType t = g_enum_register_static(name, values);                                              \
      g_once_init_leave(&type, t);                                                                 \
    }                                                                                              \
    return type;                                                                                   \
  }

DEFINE_ENUM(gst_ufo_device_get_type, "GstUfoDevice",
            {GST_UFO_DEVICE_AUTO, "CUDA when a usable GPU exists, else CPU", "auto"},
            {GST_UFO_DEVICE_CPU, "CPU (OpenBLAS + threads)", "cpu"},
            {GST_UFO_DEVICE_CUDA, "CUDA GPU (error when none is usable)", "cuda"})

DEFINE_ENUM(
    gst_ufo_precision_get_type, "GstUfoPrecision",
    {GST_UFO_PRECISION_FP32, "float32 throughout", "fp32"},
    {GST_UFO_PRECISION_BF16,
     "bfloat16 inputs, float32 sums in the weight GEMMs (CPU: fp32 without AVX512-BF16/AMX)",
     "bf16"},
    {GST_UFO_PRECISION_AUTO,
     "bf16 where the device runs it natively (CPU: AVX512-BF16/AMX; CUDA), else fp32", "auto"})

DEFINE_ENUM(gst_ufo_late_frames_get_type, "GstUfoLateFrames",
            {GST_UFO_LATE_FRAMES_PROCESS, "Run inference on every frame, however late", "process"},
            {GST_UFO_LATE_FRAMES_SKIP_INFERENCE,
             "Pass late frames on without new inference (live sources)", "skip-inference"},
            {GST_UFO_LATE_FRAMES_DROP, "Drop late frames (base-class QoS)", "drop"})

DEFINE_ENUM(gst_ufo_detect_task_get_type, "GstUfoDetectTask",
            {GST_UFO_DETECT_TASK_DETECTION, "Object detection over the model's label set",
             "detection"},
            {GST_UFO_DETECT_TASK_GROUNDING, "Boxes for the referring expression in 'prompt'",
             "grounding"},
            {GST_UFO_DETECT_TASK_CAPTION, "One caption per frame", "caption"})

DEFINE_ENUM(gst_ufo_seg_task_get_type, "GstUfoSegTask",
            {GST_UFO_SEG_TASK_INSTANCE, "Instance segmentation: boxes plus masks", "instance"},
            {GST_UFO_SEG_TASK_SEMANTIC, "Semantic segmentation: one class per pixel", "semantic"})

DEFINE_ENUM(gst_ufo_instance_boxes_get_type, "GstUfoInstanceBoxes",
            {GST_UFO_INSTANCE_BOXES_REGION,
             "Box of the mask's largest connected region (tight on the object)", "region"},
            {GST_UFO_INSTANCE_BOXES_MASK,
             "Box of every mask pixel, stray fragments included (the original's mask2bbox)",
             "mask"})

DEFINE_ENUM(gst_ufo_color_by_get_type, "GstUfoColorBy",
            {GST_UFO_COLOR_BY_CLASS, "Colour per class (label id)", "class"},
            {GST_UFO_COLOR_BY_TRACK, "Colour per track id (class when untracked)", "track"},
            {GST_UFO_COLOR_BY_PRODUCER, "Colour per producer unique-id", "producer"})

GType gst_ufo_sources_get_type(void)
{
  static gsize type = 0;
  static const GFlagsValue values[] = {
      {GST_UFO_SOURCES_UFO, "GstUfoMeta of ufo elements", "ufo"},
      {GST_UFO_SOURCES_ROI, "GstVideoRegionOfInterestMeta of other producers", "roi"},
      {0, NULL, NULL}};
  if (g_once_init_enter(&type)) {
    GType t = g_flags_register_static("GstUfoSources", values);
    g_once_init_leave(&type, t);
  }
  return type;
}
