/* The former json-glib implementation of ufo_dump_frame_json (test oracle, json_reference.c). */
#ifndef UFO_JSON_REFERENCE_H
#define UFO_JSON_REFERENCE_H

#include <gst/gst.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gchar *ufo_dump_frame_json_reference(GstBuffer *buffer, gint width, gint height,
                                     const gchar *source, JsonNode *tags);

G_END_DECLS

#endif
