/* ufoseg: UFO-ViT instance and semantic segmentation.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-ufoseg
 * @title: ufoseg
 *
 * Runs UFO-ViT segmentation and attaches a #GstUfoMeta: for task=instance, objects with a
 * GRAY8 probability mask each (and one ROI meta per object); for task=semantic, a class-id map.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! ufoseg model=ufo-vit-b.safetensors task=semantic ! \
 *     ufooverlay semantic-alpha=0.4 ! videoconvert ! autovideosink
 * ]|
 *
 * Since: 0.1
 */
#include "ufoseg.h"

GST_DEBUG_CATEGORY_STATIC(ufoseg_debug);

enum {
  PROP_0,
  PROP_TASK,
  PROP_MASK_THRESHOLD,
  PROP_INSTANCE_BOXES,
};

#define DEFAULT_TASK GST_UFO_SEG_TASK_INSTANCE
#define DEFAULT_MASK_THRESHOLD GST_UFO_DEFAULT_MASK_THRESHOLD
#define DEFAULT_INSTANCE_BOXES GST_UFO_INSTANCE_BOXES_REGION

struct _GstUfoSeg {
  GstUfoInfer parent;
};

G_DEFINE_TYPE(GstUfoSeg, gst_ufo_seg, GST_TYPE_UFO_INFER)
GST_ELEMENT_REGISTER_DEFINE(ufoseg, "ufoseg", GST_RANK_NONE, GST_TYPE_UFO_SEG);

static void gst_ufo_seg_set_property(GObject *object, guint prop_id, const GValue *value,
                                     GParamSpec *pspec)
{
  GstUfoInfer *infer = GST_UFO_INFER(object);
  switch (prop_id) {
  case PROP_TASK:
    gst_ufo_infer_set_task(infer, (UfoTask)g_value_get_enum(value));
    break;
  case PROP_MASK_THRESHOLD:
    gst_ufo_infer_set_mask_threshold(infer, g_value_get_double(value));
    break;
  case PROP_INSTANCE_BOXES:
    gst_ufo_infer_set_instance_boxes(infer, (UfoInstanceBoxes)g_value_get_enum(value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_ufo_seg_get_property(GObject *object, guint prop_id, GValue *value,
                                     GParamSpec *pspec)
{
  GstUfoInfer *infer = GST_UFO_INFER(object);
  switch (prop_id) {
  case PROP_TASK:
    g_value_set_enum(value, (gint)gst_ufo_infer_get_task(infer));
    break;
  case PROP_MASK_THRESHOLD:
    g_value_set_double(value, gst_ufo_infer_get_mask_threshold(infer));
    break;
  case PROP_INSTANCE_BOXES:
    g_value_set_enum(value, (gint)gst_ufo_infer_get_instance_boxes(infer));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
}

static void gst_ufo_seg_class_init(GstUfoSegClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->set_property = gst_ufo_seg_set_property;
  gobject_class->get_property = gst_ufo_seg_get_property;
  GST_DEBUG_CATEGORY_INIT(ufoseg_debug, "ufoseg", 0, "UFO-ViT segmentation element");
  GST_UFO_INFER_CLASS(klass)->debug = ufoseg_debug;

  /**
   * GstUfoSeg:task:
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TASK,
      g_param_spec_enum("task", "Task",
                        "What to infer: instance (boxes + masks) or semantic "
                        "(class per pixel)",
                        GST_TYPE_UFO_SEG_TASK, DEFAULT_TASK,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoSeg:mask-threshold:
   *
   * Probability above which a pixel belongs to an instance when the engine derives boxes
   * from masks. Masks are stored in full (0..255) in the metadata.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_MASK_THRESHOLD,
      g_param_spec_double("mask-threshold", "Mask threshold",
                          "Mask probability threshold, 0..1 (probabilities are kept in full in "
                          "the metadata)",
                          0.0, 1.0, DEFAULT_MASK_THRESHOLD,
                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING |
                              GST_PARAM_CONTROLLABLE));

  /**
   * GstUfoSeg:instance-boxes:
   *
   * Where task=instance takes each object's box from: the largest connected region of its
   * binary mask (tight on the object), or every mask pixel as the original code's mask2bbox
   * (a stray mask fragment widens the box). The mask itself is kept whole either way.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_INSTANCE_BOXES,
      g_param_spec_enum("instance-boxes", "Instance boxes",
                        "Instance box from the mask's largest connected region (region) or from "
                        "all its pixels as the original code (mask)",
                        GST_TYPE_UFO_INSTANCE_BOXES, DEFAULT_INSTANCE_BOXES,
                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  gst_element_class_set_static_metadata(
      element_class, "UFO-ViT segmenter", "Filter/Analyzer/Video",
      "Instance or semantic segmentation with a UFO-ViT model; results attached as metadata",
      "gst-ufo contributors");
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_SEG_TASK, 0);
  gst_type_mark_as_plugin_api(GST_TYPE_UFO_INSTANCE_BOXES, 0);
}

static void gst_ufo_seg_init(GstUfoSeg *self)
{
  gst_ufo_infer_set_task(GST_UFO_INFER(self), (UfoTask)DEFAULT_TASK);
}
