/* Masks as COCO run-length encodings (the "mask_rle" of a frame's JSON, gst/ufojson.c): the
 * binary mask of a frame of fw × fh pixels in column-major order as alternating runs of 0s and
 * 1s, the first a run of 0s (possibly empty), in the compressed string form of pycocotools'
 * maskApi (rleToString): `{"size":[fh,fw],"counts":"..."}` decodes with pycocotools.mask.decode. */
#ifndef UFO_MASK_RLE_H
#define UFO_MASK_RLE_H

#include <gst/ufo/ufometa.h>

G_BEGIN_DECLS

/* The runs of a GRAY8 probability mask (mw × mh bytes, stride) stretched over rect of a frame of
 * fw × fh, as ufooverlay draws it: frame pixel (x, y) takes the mask byte at
 * (floor((x + 0.5 - rect.x) · mw / rect.w), floor((y + 0.5 - rect.y) · mh / rect.h)) (nearest,
 * pixel centres) and is inside when that byte is >= inside_from; pixels off the mask are
 * outside. Returns the counts (guint32) in column-major order, the first of 0s. */
GArray *ufo_mask_rle_counts(const guint8 *data, gint mw, gint mh, gint stride,
                            const GstUfoRect *rect, gint fw, gint fh, guint inside_from);

/* One class of a class map: its id, the pixels it covers and its runs (as ufo_mask_rle_counts). */
typedef struct {
  guint class_id;
  guint64 area;
  GArray *counts; /* guint32 */
} UfoClassRle;

/* The runs of every class present in a class map (GRAY8 or GRAY16_LE ids, mw × mh, stride)
 * stretched over rect of a frame of fw × fh, each frame pixel taking the id at its centre
 * (nearest, as ufo_mask_rle_counts); pixels off the map belong to no class. One pass over the
 * frame whatever the number of classes. Returns UfoClassRle by increasing id (free with
 * ufo_class_rle_free). */
GArray *ufo_class_rle(const guint8 *data, gboolean gray16, gint mw, gint mh, gint stride,
                      const GstUfoRect *rect, gint fw, gint fh);
void ufo_class_rle_free(GArray *classes);

/* Appends counts in pycocotools' compressed string form: each count, less the count two before it
 * from the third on, in 5-bit groups from the lowest, a continuation bit 0x20, plus 48. */
void ufo_mask_rle_append_string(GString *s, const GArray *counts);

/* The byte from which a probability byte is inside for a threshold in 0..1, as ufooverlay:
 * ceil(threshold · 255) (0.5 → 128). */
guint ufo_mask_rle_inside_from(gdouble threshold);

G_END_DECLS

#endif
