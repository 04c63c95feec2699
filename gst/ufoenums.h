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

GType gst_ufo_device_get_type(void);
GType gst_ufo_late_frames_get_type(void);
GType gst_ufo_detect_task_get_type(void);
GType gst_ufo_seg_task_get_type(void);
#define GST_TYPE_UFO_DEVICE (gst_ufo_device_get_type())
#define GST_TYPE_UFO_LATE_FRAMES (gst_ufo_late_frames_get_type())
#define GST_TYPE_UFO_DETECT_TASK (gst_ufo_detect_task_get_type())
#define GST_TYPE_UFO_SEG_TASK (gst_ufo_seg_task_get_type())

G_END_DECLS

#endif
