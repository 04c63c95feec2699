/* One JSON object per frame in DL Streamer's gvametaconvert layout (anchors §6.3 item 4), shared by
 * tools/ufo-dump and the ufometaconvert element. */
#ifndef UFO_DUMP_JSON_H
#define UFO_DUMP_JSON_H

#include <gst/gst.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* {"objects":[{"detection":{"bounding_box":{x_min,y_min,x_max,y_max (0..1)},"confidence",
 *   "label","label_id"},"roi_type","x","y","w","h" (px),"id","producer_id","object_id" (track id,
 *   tracked objects only),"predicted" (true on boxes ufotrack predicted),"mask_rle" (with
 *   UfoJsonOptions.masks)}...],
 *  "resolution":{"width","height"},"timestamp" (PTS ns),"source","tags",
 *  "ufo":[{"producer_id","task","inferred","result_timestamp","caption"}...],
 *  "analytics":[{"version":1,"width","height","rules":[...],"events":[...]}] (ufoanalytics, only
 *  when a GstUfoAnalyticsMeta is attached; layout in docs/elements.md)}
 * Objects come from every GstUfoMeta; a buffer without one is described from its ROI metas.
 * width/height: frame size; source and tags may be NULL. Returns a newly allocated line
 * without the trailing newline. */
gchar *ufo_dump_frame_json(GstBuffer *buffer, gint width, gint height, const gchar *source,
                           JsonNode *tags);

/* What a document may add (ufometaconvert / ufometapublish add-masks, ufo-dump --masks):
 * masks: each object of a GstUfoMeta that has a mask gets "mask_rle":{"size":[h,w],"counts":"…"},
 * the mask in the meta's frame (w × h) as a COCO RLE (ufomaskrle.h), inside where its
 * probability is >= mask_threshold (as ufooverlay draws it); a producer with a semantic map gets
 * "semantic":[{"label_id","label","area","mask_rle"}...], each class present by increasing id.
 * Frames of no pixels or of more than 2^32 - 1 (beyond a 32-bit run) get neither. */
typedef struct {
  gboolean masks;
  gdouble mask_threshold;
} UfoJsonOptions;

/* The defaults of the elements' properties and of ufo-dump: no masks, threshold 0.5. */
#define UFO_JSON_DEFAULT_MASKS FALSE
#define UFO_JSON_DEFAULT_MASK_THRESHOLD 0.5

/* The properties of UfoJsonOptions on ufometaconvert and ufometapublish, with the ids given:
 * "add-masks" (boolean, FALSE) and "mask-threshold" (double 0..1, 0.5), both mutable in PLAYING. */
void ufo_json_install_mask_properties(GObjectClass *klass, guint add_masks_id,
                                      guint mask_threshold_id);

/* ufo_dump_frame_json with options (NULL: none). */
gchar *ufo_dump_frame_json_with(GstBuffer *buffer, gint width, gint height, const gchar *source,
                                JsonNode *tags, const UfoJsonOptions *opts);

/* The writer's pieces (tests/gst/test_dump.c checks them against json-glib): a string in quotes,
 * escaped as json-glib escapes it (\" \\ \b \f \n \r \t, other control characters and 0x7f as
 * \u00XX, everything else as it is; NULL is null); an integer; a double as printf's "%.17g" in the
 * C locale, with ".0" added when that has neither '.' nor an exponent, null when not finite. */
void ufo_json_append_string(GString *s, const gchar *str);
void ufo_json_append_int(GString *s, gint64 v);
void ufo_json_append_double(GString *s, gdouble v);

/* Whether the buffer has anything to describe: objects, a caption or a semantic map in a
 * GstUfoMeta, a GstUfoAnalyticsMeta, or ROI metas of other producers (ufometaconvert and
 * ufometapublish skip other frames unless add-empty-results). */
gboolean ufo_frame_has_results(GstBuffer *buf);

G_END_DECLS

#endif
