/* Enum types of the ufo elements' properties (registered with dash-case nicks). */
#ifndef GST_UFO_ENUMS_H
#define GST_UFO_ENUMS_H

#include <gst/gst.h>

G_BEGIN_DECLS

/* Values equal UfoDevice. */
typedef enum {
  GST_UFO_DEVICE_AUTO = 0,
  GST_UFO_DEVICE_CPU = 1,
  GST_UFO_DEVICE_CUDA = 2,
} GstUfoDevice;

/* Values equal UfoPrecision. */
typedef enum {
  GST_UFO_PRECISION_FP32 = 0,
  GST_UFO_PRECISION_BF16 = 1,
  GST_UFO_PRECISION_AUTO = 2,
} GstUfoPrecision;

typedef enum {
  GST_UFO_LATE_FRAMES_PROCESS = 0,
  GST_UFO_LATE_FRAMES_SKIP_INFERENCE = 1,
  GST_UFO_LATE_FRAMES_DROP = 2,
} GstUfoLateFrames;

/* Values equal UfoTask. */
typedef enum {
  GST_UFO_DETECT_TASK_DETECTION = 0,
  GST_UFO_DETECT_TASK_GROUNDING = 1,
  GST_UFO_DETECT_TASK_CAPTION = 2,
} GstUfoDetectTask;

typedef enum {
  GST_UFO_SEG_TASK_INSTANCE = 3,
  GST_UFO_SEG_TASK_SEMANTIC = 4,
} GstUfoSegTask;

/* ufoseg instance-boxes; values equal UfoInstanceBoxes. */
typedef enum {
  GST_UFO_INSTANCE_BOXES_REGION = 0,
  GST_UFO_INSTANCE_BOXES_MASK = 1,
} GstUfoInstanceBoxes;

/* ufooverlay color-by: where palette colours come from. */
typedef enum {
  GST_UFO_COLOR_BY_CLASS = 0,
  GST_UFO_COLOR_BY_TRACK = 1,
  GST_UFO_COLOR_BY_PRODUCER = 2,
} GstUfoColorBy;

/* ufooverlay sources: which metas are read (analytics needs GStreamer >= 1.24: not offered). */
typedef enum {
  GST_UFO_SOURCES_UFO = 1 << 0,
  GST_UFO_SOURCES_ROI = 1 << 1,
} GstUfoSources;

GType gst_ufo_device_get_type(void);
GType gst_ufo_precision_get_type(void);
GType gst_ufo_late_frames_get_type(void);
GType gst_ufo_detect_task_get_type(void);
GType gst_ufo_seg_task_get_type(void);
GType gst_ufo_instance_boxes_get_type(void);
GType gst_ufo_color_by_get_type(void);
GType gst_ufo_sources_get_type(void);
#define GST_TYPE_UFO_COLOR_BY (gst_ufo_color_by_get_type())
#define GST_TYPE_UFO_SOURCES (gst_ufo_sources_get_type())
#define GST_TYPE_UFO_DEVICE (gst_ufo_device_get_type())
#define GST_TYPE_UFO_PRECISION (gst_ufo_precision_get_type())
#define GST_TYPE_UFO_LATE_FRAMES (gst_ufo_late_frames_get_type())
#define GST_TYPE_UFO_DETECT_TASK (gst_ufo_detect_task_get_type())
#define GST_TYPE_UFO_SEG_TASK (gst_ufo_seg_task_get_type())
#define GST_TYPE_UFO_INSTANCE_BOXES (gst_ufo_instance_boxes_get_type())

G_END_DECLS

#endif
