/* ufodetect: UFO-ViT detection, grounding and captioning.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-ufodetect
 * @title: ufodetect
 *
 * Runs a UFO-ViT model on each frame (or every Nth, see #GstUfoInfer:inference-interval) and
 * attaches the results as a #GstUfoMeta plus one #GstVideoRegionOfInterestMeta per object. The
 * pixels pass through untouched.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! \
 *     ufodetect model=ufo-vit-b.safetensors threshold=0.4 ! ufooverlay ! videoconvert !
 * autovideosink
 * ]|
 *
 * Since: 0.1
 */
#include "ufodetect.h"

GST_DEBUG_CATEGORY_STATIC(ufodetect_debug);

enum {
  PROP_0,
  PROP_TASK,
  PROP_PROMPT,
};

#define DEFAULT_TASK GST_UFO_DETECT_TASK_DETECTION
#define DEFAULT_PROMPT NULL

struct _GstUfoDetect {
  GstUfoInfer parent;
};

G_DEFINE_TYPE(GstUfoDetect, gst_ufo_detect, GST_TYPE_UFO_INFER)
GST_ELEMENT_REGISTER_DEFINE(ufodetect, "ufodetect", GST_RANK_NONE, GST_TYPE_UFO_DETECT);

static void gst_ufo_detect_set_property(GObject *object, guint prop_id, const GValue *value,
                                        GParamSpec *pspec)
{
  GstUfoInfer *infer = GST_UFO_INFER(object);
  switch (prop_id) {
  case PROP_TASK:
    gst_ufo_infer_set_task(infer, (UfoTask)g_value_get_enum(value));
    break;
  case PROP_PROMPT:
    gst_ufo_infer_set_prompt(infer, g_value_get_string(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_ufo_detect_get_property(GObject *object, guint prop_id, GValue *value,
                                        GParamSpec *pspec)
{
  GstUfoInfer *infer = GST_UFO_INFER(object);
  switch (prop_id) {
  case PROP_TASK:
    g_value_set_enum(value, (gint)gst_ufo_infer_get_task(infer));
    break;
  case PROP_PROMPT:
    g_value_take_string(value, gst_ufo_infer_dup_prompt(infer));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_ufo_detect_class_init(GstUfoDetectClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = gst_ufo_detect_set_property;
  gobject_class->get_property = gst_ufo_detect_get_property;
  GST_DEBUG_CATEGORY_INIT(ufodetect_debug, "ufodetect", 0, "UFO-ViT detection element");
  GST_UFO_INFER_CLASS(klass)->debug = ufodetect_debug;

  /**
   * GstUfoDetect:task:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TASK,
      g_param_spec_enum("task", "Task",
                        "What to infer: detection, grounding (needs 'prompt') or "
                        "caption",
                        GST_TYPE_UFO_DETECT_TASK, DEFAULT_TASK,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoDetect:prompt:
   *
   * Referring expression for task=grounding. May change while PLAYING; the new text is used
   * from the next inferred frame on, and is recorded in that frame's #GstUfoMeta.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_PROMPT,
      g_param_spec_string("prompt", "Prompt",
                          "Text to ground (task=grounding, required); UTF-8, takes effect on the "
                          "next inferred frame",
                          DEFAULT_PROMPT,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata(
      element_class, "UFO-ViT detector", "Filter/Analyzer/Video",
      "Detects objects, grounds a text prompt or captions frames with a UFO-ViT model and "
      "attaches the results as metadata",
      "gst-ufo contributors");
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_DETECT_TASK, 0);
}

static void gst_ufo_detect_init(GstUfoDetect *self)
{
  gst_ufo_infer_set_task(GST_UFO_INFER(self), (UfoTask)DEFAULT_TASK);
}
