/* ufometaconvert: UFO-ViT metadata → one JSON document per frame.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:element-ufometaconvert
 * @title: ufometaconvert
 *
 * Describes each frame's results (every #GstUfoMeta, or the #GstVideoRegionOfInterestMeta of
 * other producers when there is none) as one JSON document in DL Streamer's gvametaconvert
 * layout, the same one ufo-dump prints (one implementation, gst/ufojson.c): objects with
 * normalised and pixel boxes, label, confidence, ROI id, producer and, after ufotrack, the track
 * id (`object_id`) and `predicted`; resolution, timestamp, `source`, `tags`, and per producer
 * the task, whether the frame was inferred, caption and prompt. The documents are appended to
 * the file `location` (one line each) and/or posted on the bus as element messages named
 * `ufometaconvert` with a `json` string field. Buffers pass through untouched.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! \
 *     ufodetect model=ufo-demo.safetensors threshold=0.1 ! ufotrack ! \
 *     ufometaconvert location=tracks.jsonl source=in.mp4 ! fakesink
 * ]|
 *
 * Since: 0.1
 */
#include "ufometaconvert.h"

#include "ufojson.h"

#include <gst/ufo/ufoanalyticsmeta.h>

#include <gst/ufo/ufometa.h>
#include <stdio.h>

GST_DEBUG_CATEGORY_STATIC(ufometaconvert_debug);
#define GST_CAT_DEFAULT ufometaconvert_debug

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_SOURCE,
  PROP_TAGS,
  PROP_ADD_EMPTY_RESULTS,
  PROP_POST_MESSAGES,
  PROP_ADD_MASKS,
  PROP_MASK_THRESHOLD,
};

#define DEFAULT_LOCATION NULL
#define DEFAULT_SOURCE NULL
#define DEFAULT_TAGS NULL
#define DEFAULT_ADD_EMPTY_RESULTS FALSE
#define DEFAULT_POST_MESSAGES TRUE

struct _GstUfoMetaConvert {
  GstBaseTransform parent;

  /* properties, under the object lock */
  gchar *location;
  gchar *source;
  gchar *tags;
  gboolean add_empty_results;
  gboolean post_messages;
  UfoJsonOptions json; /* add-masks, mask-threshold */

  /* between start and stop */
  FILE *file;
  JsonNode *tags_node;
  gint width, height;
};

G_DEFINE_TYPE(GstUfoMetaConvert, gst_ufo_meta_convert, GST_TYPE_BASE_TRANSFORM)
GST_ELEMENT_REGISTER_DEFINE(ufometaconvert, "ufometaconvert", GST_RANK_NONE,
                            GST_TYPE_UFO_META_CONVERT);

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/x-raw(ANY)"));

static void gst_ufo_meta_convert_set_property(GObject *object, guint prop_id, const GValue *value,
                                              GParamSpec *pspec)
{
  GstUfoMetaConvert *self = GST_UFO_META_CONVERT(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_LOCATION:
    g_free(self->location);
    self->location = g_value_dup_string(value);
    break;
  case PROP_SOURCE:
    g_free(self->source);
    self->source = g_value_dup_string(value);
    break;
  case PROP_TAGS:
    g_free(self->tags);
    self->tags = g_value_dup_string(value);
    break;
  case PROP_ADD_EMPTY_RESULTS:
    self->add_empty_results = g_value_get_boolean(value);
    break;
  case PROP_ADD_MASKS:
    self->json.masks = g_value_get_boolean(value);
    break;
  case PROP_MASK_THRESHOLD:
    self->json.mask_threshold = g_value_get_double(value);
    break;
  case PROP_POST_MESSAGES:
    self->post_messages = g_value_get_boolean(value);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_ufo_meta_convert_get_property(GObject *object, guint prop_id, GValue *value,
                                              GParamSpec *pspec)
{
  GstUfoMetaConvert *self = GST_UFO_META_CONVERT(object);
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
  case PROP_LOCATION:
    g_value_set_string(value, self->location);
    break;
  case PROP_SOURCE:
    g_value_set_string(value, self->source);
    break;
  case PROP_TAGS:
    g_value_set_string(value, self->tags);
    break;
  case PROP_ADD_EMPTY_RESULTS:
    g_value_set_boolean(value, self->add_empty_results);
    break;
  case PROP_ADD_MASKS:
    g_value_set_boolean(value, self->json.masks);
    break;
  case PROP_MASK_THRESHOLD:
    g_value_set_double(value, self->json.mask_threshold);
    break;
  case PROP_POST_MESSAGES:
    g_value_set_boolean(value, self->post_messages);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
    break;
  }
  GST_OBJECT_UNLOCK(self);
}

static gboolean gst_ufo_meta_convert_stop(GstBaseTransform *trans)
{
  GstUfoMetaConvert *self = GST_UFO_META_CONVERT(trans);
  if (self->file) {
    fclose(self->file);
    self->file = NULL;
  }
  g_clear_pointer(&self->tags_node, json_node_unref);
  self->width = self->height = 0;
  return TRUE;
}

static gboolean gst_ufo_meta_convert_start(GstBaseTransform *trans)
{
  GstUfoMetaConvert *self = GST_UFO_META_CONVERT(trans);
  g_autoptr(GError) err = NULL;
  GST_OBJECT_LOCK(self);
  gchar *location = g_strdup(self->location), *tags = g_strdup(self->tags);
  GST_OBJECT_UNLOCK(self);
  if (tags && tags[0]) {
    self->tags_node = json_from_string(tags, &err);
    if (!self->tags_node || !JSON_NODE_HOLDS_OBJECT(self->tags_node))
      goto bad_tags;
  }
  if (location && location[0]) {
    self->file = fopen(location, "w");
    if (!self->file)
      goto no_file;
  }
  g_free(location);
  g_free(tags);
  return TRUE;

  /* ERRORS */
bad_tags:
  GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS,
                    ("The 'tags' property must be a JSON object, e.g. {\"camera\":\"gate\"}."),
                    ("tags='%s': %s", tags, err ? err->message : "not an object"));
  goto fail;
no_file:
  GST_ELEMENT_ERROR(self, RESOURCE, OPEN_WRITE,
                    ("Could not open file \"%s\" for writing.", location), GST_ERROR_SYSTEM);
  goto fail;
fail:
  g_free(location);
  g_free(tags);
  gst_ufo_meta_convert_stop(trans);
  return FALSE;
}

static gboolean gst_ufo_meta_convert_set_caps(GstBaseTransform *trans, GstCaps *incaps,
                                              GstCaps *outcaps)
{
  GstUfoMetaConvert *self = GST_UFO_META_CONVERT(trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps(&info, incaps))
    return FALSE;
  self->width = GST_VIDEO_INFO_WIDTH(&info);
  self->height = GST_VIDEO_INFO_HEIGHT(&info);
  return TRUE;
}

static GstFlowReturn gst_ufo_meta_convert_transform_ip(GstBaseTransform *trans, GstBuffer *buf)
{
  GstUfoMetaConvert *self = GST_UFO_META_CONVERT(trans);
  GST_OBJECT_LOCK(self);
  gchar *source = g_strdup(self->source);
  const gboolean add_empty = self->add_empty_results, post = self->post_messages;
  const UfoJsonOptions json_opts = self->json;
  GST_OBJECT_UNLOCK(self);
  GstFlowReturn ret = GST_FLOW_OK;
  if ((!self->file && !post) || (!add_empty && !ufo_frame_has_results(buf)))
    goto done;
  gchar *json =
      ufo_dump_frame_json_with(buf, self->width, self->height, source, self->tags_node, &json_opts);
  if (self->file &&
      (fputs(json, self->file) < 0 || fputc('\n', self->file) == EOF || fflush(self->file) != 0)) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Could not write the JSON document to the file."),
                      GST_ERROR_SYSTEM);
    ret = GST_FLOW_ERROR;
  } else if (post) {
    GstStructure *s = gst_structure_new("ufometaconvert", "json", G_TYPE_STRING, json, "timestamp",
                                        G_TYPE_UINT64, (guint64)GST_BUFFER_PTS(buf), NULL);
    gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), s));
  }
  g_free(json);
done:
  g_free(source);
  return ret;
}

static void gst_ufo_meta_convert_finalize(GObject *object)
{
  GstUfoMetaConvert *self = GST_UFO_META_CONVERT(object);
  gst_ufo_meta_convert_stop(GST_BASE_TRANSFORM(object));
  g_free(self->location);
  g_free(self->source);
  g_free(self->tags);
  G_OBJECT_CLASS(gst_ufo_meta_convert_parent_class)->finalize(object);
}

static void gst_ufo_meta_convert_class_init(GstUfoMetaConvertClass *klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS(klass);
  GstBaseTransformClass *bt_class = GST_BASE_TRANSFORM_CLASS(klass);
  gobject_class->set_property = gst_ufo_meta_convert_set_property;
  gobject_class->get_property = gst_ufo_meta_convert_get_property;
  gobject_class->finalize = gst_ufo_meta_convert_finalize;
  GST_DEBUG_CATEGORY_INIT(ufometaconvert_debug, "ufometaconvert", 0, "UFO-ViT metadata to JSON");

  /**
   * GstUfoMetaConvert:location:
   *
   * File the JSON documents are written to, one line each (created or truncated at start).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_LOCATION,
      g_param_spec_string(
          "location", "Location", "File to write one JSON line per frame to (NULL = no file)",
          DEFAULT_LOCATION, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoMetaConvert:source:
   *
   * Value of every document's "source" field (e.g. the input URI).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_SOURCE,
      g_param_spec_string(
          "source", "Source", "Value of the \"source\" field of every document (NULL = none)",
          DEFAULT_SOURCE, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoMetaConvert:tags:
   *
   * A JSON object copied into every document as "tags"; checked when the element starts.
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_TAGS,
      g_param_spec_string(
          "tags", "Tags", "JSON object copied into every document as \"tags\" (NULL = none)",
          DEFAULT_TAGS, G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY));
  /**
   * GstUfoMetaConvert:add-empty-results:
   *
   * Also describe frames without any result (no object, caption, map or ROI meta).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_ADD_EMPTY_RESULTS,
      g_param_spec_boolean("add-empty-results", "Add empty results",
                           "Also write a document for frames without any result",
                           DEFAULT_ADD_EMPTY_RESULTS,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));
  /**
   * GstUfoMetaConvert:post-messages:
   *
   * Post each document on the bus: an element message "ufometaconvert" with fields `json`
   * (string) and `timestamp` (buffer PTS, ns).
   *
   * Since: 0.1
   */
  g_object_class_install_property(
      gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean("post-messages", "Post messages",
                           "Post each document as an element message \"ufometaconvert\" "
                           "(fields json, timestamp)",
                           DEFAULT_POST_MESSAGES,
                           G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING));

  ufo_json_install_mask_properties(gobject_class, PROP_ADD_MASKS, PROP_MASK_THRESHOLD);

  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &src_template);
  gst_element_class_set_static_metadata(
      element_class, "UFO-ViT metadata to JSON", "Filter/Converter/Video",
      "Writes the UFO-ViT results of each frame (objects, track ids, captions) as one JSON "
      "document in DL Streamer's gvametaconvert layout, to a file and/or the bus",
      "gst-ufo contributors");

  bt_class->start = GST_DEBUG_FUNCPTR(gst_ufo_meta_convert_start);
  bt_class->stop = GST_DEBUG_FUNCPTR(gst_ufo_meta_convert_stop);
  bt_class->set_caps = GST_DEBUG_FUNCPTR(gst_ufo_meta_convert_set_caps);
  bt_class->transform_ip = GST_DEBUG_FUNCPTR(gst_ufo_meta_convert_transform_ip);
}

static void gst_ufo_meta_convert_init(GstUfoMetaConvert *self)
{
  self->location = g_strdup(DEFAULT_LOCATION);
  self->source = g_strdup(DEFAULT_SOURCE);
  self->tags = g_strdup(DEFAULT_TAGS);
  self->add_empty_results = DEFAULT_ADD_EMPTY_RESULTS;
  self->post_messages = DEFAULT_POST_MESSAGES;
  self->json = (UfoJsonOptions){UFO_JSON_DEFAULT_MASKS, UFO_JSON_DEFAULT_MASK_THRESHOLD};
  gst_base_transform_set_passthrough(GST_BASE_TRANSFORM(self), TRUE);
  gst_base_transform_set_qos_enabled(GST_BASE_TRANSFORM(self), FALSE);
}
