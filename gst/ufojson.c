/* Frame metadata → gvametaconvert-style JSON, written straight into a GString.
 *
 * The document used to be built as a json-glib tree (JsonBuilder) and then serialised; at 20
 * objects a frame that was most of ufometapublish's cost on the streaming thread (allocations,
 * hash lookups, printf of every double). The writer below produces the same bytes as that
 * json-glib 1.6 code (tests/gst/json_reference.c keeps it as the oracle, tests/gst/test_dump.c
 * compares both), except where json-glib's output was not JSON: a double printed with an
 * exponent and no '.' (|v| >= 1e17) gets no ".0" ("1e+17", not "1e+17.0"), NaN and infinities
 * are null, and the control character 0x1f is escaped. */
#include "ufojson.h"
#include "ufomaskrle.h"

#include <gst/ufo/ufoanalyticsmeta.h>
#include <gst/ufo/ufometa.h>
#include <gst/video/video.h>
#include <math.h> /* isfinite, signbit, fabs: no libm */
#include <string.h>

#define APPEND_LIT(s, lit) g_string_append_len((s), (lit), sizeof(lit) - 1)

void ufo_json_append_string(GString *s, const gchar *str)
{
  if (!str) {
    APPEND_LIT(s, "null");
    return;
  }
  g_string_append_c(s, '"');
  const gchar *run = str; /* bytes copied as they are, in one go */
  for (const gchar *p = str; *p; p++) {
    const guchar c = (guchar)*p;
    if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
      continue;
    g_string_append_len(s, run, p - run);
    run = p + 1;
    switch (c) {
    case '"':
      APPEND_LIT(s, "\\\"");
      break;
    case '\\':
      APPEND_LIT(s, "\\\\");
      break;
    case '\b':
      APPEND_LIT(s, "\\b");
      break;
    case '\f':
      APPEND_LIT(s, "\\f");
      break;
    case '\n':
      APPEND_LIT(s, "\\n");
      break;
    case '\r':
      APPEND_LIT(s, "\\r");
      break;
    case '\t':
      APPEND_LIT(s, "\\t");
      break;
    default: {
      static const gchar hex[] = "0123456789abcdef";
      const gchar u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      g_string_append_len(s, u, 6);
      break;
    }
    }
  }
  g_string_append_len(s, run, strlen(run));
  g_string_append_c(s, '"');
}

void ufo_json_append_int(GString *s, gint64 v)
{
  gchar buf[24], *p = buf + sizeof buf;
  guint64 u = v < 0 ? (guint64)0 - (guint64)v : (guint64)v;
  do {
    *--p = (gchar)('0' + u % 10);
    u /= 10;
  } while (u);
  if (v < 0)
    *--p = '-';
  g_string_append_len(s, p, buf + sizeof buf - p);
}

#ifdef __SIZEOF_INT128__
/* The "%.17g" formatting of v for 1e-5 <= |v| < 1e16, exactly (correctly rounded, ties to even, as
 * glibc rounds), from v = m·2^q: N = round(|v|·10^(16-X)) is the 17-digit significand for the
 * decimal exponent X, all in 128-bit integers (m < 2^53, 10^21 < 2^70). FALSE outside that
 * range: the caller falls back to g_ascii_dtostr. */
static gboolean format_g17(gdouble v, gchar *out)
{
  const gdouble a = fabs(v);
  if (!(a >= 1e-5 && a < 1e16))
    return FALSE;
  guint64 bits;
  memcpy(&bits, &v, sizeof bits);
  const guint64 m = (bits & ((G_GUINT64_CONSTANT(1) << 52) - 1)) | (G_GUINT64_CONSTANT(1) << 52);
  const gint q = (gint)((bits >> 52) & 0x7ff) - 1075;
  const unsigned __int128 e16 = 10000000000000000ULL, e17 = e16 * 10;
  /* floor(log10(2^e2)), the decimal exponent or one less; the loop below settles it */
  const gint e2 = (gint)((bits >> 52) & 0x7ff) - 1023;
  gint x = (e2 * 78913) >> 18;
  unsigned __int128 n = 0;
  for (gint tries = 0;; tries++) {
    const gint p = 16 - x;
    if (p < 0 || p > 21 || tries == 4)
      return FALSE;
    static const guint64 pow10_u64[20] = {1ULL,
                                          10ULL,
                                          100ULL,
                                          1000ULL,
                                          10000ULL,
                                          100000ULL,
                                          1000000ULL,
                                          10000000ULL,
                                          100000000ULL,
                                          1000000000ULL,
                                          10000000000ULL,
                                          100000000000ULL,
                                          1000000000000ULL,
                                          10000000000000ULL,
                                          100000000000000ULL,
                                          1000000000000000ULL,
                                          10000000000000000ULL,
                                          100000000000000000ULL,
                                          1000000000000000000ULL,
                                          10000000000000000000ULL};
    const unsigned __int128 p10 =
        p < 20 ? pow10_u64[p] : (unsigned __int128)pow10_u64[19] * pow10_u64[p - 19];
    if (q >= 0) {
      n = ((unsigned __int128)m << q) * p10; /* |v| >= 2^52: p <= 1 */
    } else {
      const unsigned __int128 num = (unsigned __int128)m * p10;
      const unsigned __int128 half = (unsigned __int128)1 << (-q - 1);
      const unsigned __int128 rem = num & ((half << 1) - 1);
      n = num >> -q;
      if (rem > half || (rem == half && (n & 1)))
        n++;
    }
    if (n >= e17)
      x++;
    else if (n < e16)
      x--;
    else
      break;
  }
  gchar d[17];
  guint64 n64 = (guint64)n; /* < 10^17: 64-bit divisions from here */
  for (gint k = 16; k >= 0; k--) {
    d[k] = (gchar)('0' + (gint)(n64 % 10));
    n64 /= 10;
  }
  gint nd = 17; /* significant digits without trailing zeros */
  while (nd > 1 && d[nd - 1] == '0')
    nd--;
  gchar *o = out;
  if (v < 0)
    *o++ = '-';
  if (x < -4) { /* %g's exponential form: d.ddde-XX */
    *o++ = d[0];
    if (nd > 1) {
      *o++ = '.';
      memcpy(o, d + 1, nd - 1);
      o += nd - 1;
    }
    *o++ = 'e';
    *o++ = '-';
    *o++ = (gchar)('0' + (-x) / 10);
    *o++ = (gchar)('0' + (-x) % 10);
  } else if (x >= 0) { /* x <= 15 < 17: fixed, all integer digits among the 17 */
    memcpy(o, d, x + 1);
    o += x + 1;
    if (nd > x + 1) {
      *o++ = '.';
      memcpy(o, d + x + 1, nd - x - 1);
      o += nd - x - 1;
    }
  } else { /* 0.000ddd */
    *o++ = '0';
    *o++ = '.';
    for (gint k = 0; k < -x - 1; k++)
      *o++ = '0';
    memcpy(o, d, nd);
    o += nd;
  }
  *o = '\0';
  return TRUE;
}
#else
static gboolean format_g17(gdouble v, gchar *out)
{
  (void)v;
  (void)out;
  return FALSE;
}
#endif

void ufo_json_append_double(GString *s, gdouble v)
{
  if (!isfinite(v)) {
    APPEND_LIT(s, "null");
    return;
  }
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  guint64 bits;
  memcpy(&bits, &v, sizeof bits);
  if ((bits << 1) == 0) /* ±0 by its bits: a comparison says 0 for subnormals under DAZ */
    g_strlcpy(buf, bits ? "-0" : "0", sizeof buf);
  else if (!format_g17(v, buf))
    g_ascii_dtostr(buf, sizeof buf, v); /* "%.17g" in the C locale */
  g_string_append(s, buf);
  /* a double stays a double ("1.0", as json-glib writes it); "1e+17" is JSON as it is */
  if (!strpbrk(buf, ".eE"))
    APPEND_LIT(s, ".0");
}

static void add_object(GString *s, gboolean first, const gchar *label, gint label_id, gdouble score,
                       gdouble x, gdouble y, gdouble w, gdouble h, gint fw, gint fh, gint id,
                       gint64 producer, guint64 track_id, gboolean predicted)
{
  /* boxes clipped to the frame; bounding_box normalised to 0..1 as gvametaconvert does */
  gdouble x0 = CLAMP(x, 0, fw), y0 = CLAMP(y, 0, fh);
  gdouble x1 = CLAMP(x + w, 0, fw), y1 = CLAMP(y + h, 0, fh);
  if (!first)
    g_string_append_c(s, ',');
  APPEND_LIT(s, "{\"detection\":{\"bounding_box\":{\"x_min\":");
  ufo_json_append_double(s, x0 / fw);
  APPEND_LIT(s, ",\"y_min\":");
  ufo_json_append_double(s, y0 / fh);
  APPEND_LIT(s, ",\"x_max\":");
  ufo_json_append_double(s, x1 / fw);
  APPEND_LIT(s, ",\"y_max\":");
  ufo_json_append_double(s, y1 / fh);
  g_string_append_c(s, '}');
  if (score >= 0) {
    APPEND_LIT(s, ",\"confidence\":");
    ufo_json_append_double(s, score);
  }
  APPEND_LIT(s, ",\"label\":");
  ufo_json_append_string(s, label);
  APPEND_LIT(s, ",\"label_id\":");
  ufo_json_append_int(s, label_id);
  APPEND_LIT(s, "},\"roi_type\":");
  ufo_json_append_string(s, label);
  APPEND_LIT(s, ",\"x\":");
  ufo_json_append_int(s, (gint64)(x0 + 0.5));
  APPEND_LIT(s, ",\"y\":");
  ufo_json_append_int(s, (gint64)(y0 + 0.5));
  APPEND_LIT(s, ",\"w\":");
  ufo_json_append_int(s, (gint64)(x1 - x0 + 0.5));
  APPEND_LIT(s, ",\"h\":");
  ufo_json_append_int(s, (gint64)(y1 - y0 + 0.5));
  if (id >= 0) {
    APPEND_LIT(s, ",\"id\":");
    ufo_json_append_int(s, id);
  }
  if (producer >= 0) {
    APPEND_LIT(s, ",\"producer_id\":");
    ufo_json_append_int(s, producer);
  }
  if (track_id) {
    APPEND_LIT(s, ",\"object_id\":");
    ufo_json_append_int(s, (gint64)track_id);
  }
  if (predicted)
    APPEND_LIT(s, ",\"predicted\":true");
  /* the caller closes the object (after its mask_rle) */
}

/* Whether a frame of fw x fh has a COCO RLE: runs are 32-bit counts (pycocotools' too) */
static gboolean rle_frame_ok(gint fw, gint fh)
{
  return fw > 0 && fh > 0 && (guint64)fw * (guint64)fh <= G_MAXUINT32;
}

/* "mask_rle":{"size":[fh,fw],"counts":"..."} of counts */
static void append_rle(GString *s, const GArray *counts, gint fw, gint fh)
{
  APPEND_LIT(s, "\"mask_rle\":{\"size\":[");
  ufo_json_append_int(s, fh);
  g_string_append_c(s, ',');
  ufo_json_append_int(s, fw);
  APPEND_LIT(s, "],\"counts\":");
  GString *c = g_string_sized_new(4 * counts->len);
  ufo_mask_rle_append_string(c, counts); /* characters 48..111: '\\' (92) is escaped */
  ufo_json_append_string(s, c->str);
  g_string_free(c, TRUE);
  g_string_append_c(s, '}');
}

/* ,"semantic":[{"label_id","label","area","mask_rle"}...]: each class of the meta's semantic
 * map in the frame (COCO RLE), by increasing id */
static void add_semantic_rle(GString *s, const GstUfoMeta *m, gint fw, gint fh)
{
  GstVideoFormat format;
  gint mw, mh, stride;
  const guint8 *data;
  GstUfoRect rect;
  guint n_names;
  const gchar *const *names;
  if (!rle_frame_ok(fw, fh) ||
      !gst_ufo_meta_get_semantic_map(m, &format, &mw, &mh, &stride, &data, &rect, &n_names, &names))
    return;
  GArray *classes =
      ufo_class_rle(data, format == GST_VIDEO_FORMAT_GRAY16_LE, mw, mh, stride, &rect, fw, fh);
  APPEND_LIT(s, ",\"semantic\":[");
  for (guint k = 0; k < classes->len; k++) {
    const UfoClassRle *c = &g_array_index(classes, UfoClassRle, k);
    g_string_append(s, k ? ",{\"label_id\":" : "{\"label_id\":");
    ufo_json_append_int(s, c->class_id);
    APPEND_LIT(s, ",\"label\":");
    ufo_json_append_string(s, c->class_id < n_names ? names[c->class_id] : NULL);
    APPEND_LIT(s, ",\"area\":");
    ufo_json_append_int(s, (gint64)c->area);
    g_string_append_c(s, ',');
    append_rle(s, c->counts, fw, fh);
    g_string_append_c(s, '}');
  }
  g_string_append_c(s, ']');
  ufo_class_rle_free(classes);
}

/* ,"mask_rle":{"size":[fh,fw],"counts":"..."}: object index's mask in the frame (COCO RLE) */
static void add_mask_rle(GString *s, const GstUfoMeta *m, guint index, gint fw, gint fh,
                         guint inside_from)
{
  gint mw, mh, stride;
  const guint8 *data;
  GstUfoRect rect;
  if (!rle_frame_ok(fw, fh) || !gst_ufo_meta_get_mask(m, index, &mw, &mh, &stride, &data, &rect))
    return;
  GArray *counts = ufo_mask_rle_counts(data, mw, mh, stride, &rect, fw, fh, inside_from);
  g_string_append_c(s, ',');
  append_rle(s, counts, fw, fh);
  g_array_unref(counts);
}

/* "analytics":[{"version":1,"width","height","rules":[{"name","type":"line"|"zone","points":[[x,y]…],
 * line: "in","out","frame_in","frame_out"; zone: "occupancy","entered","left","frame_entered",
 * "frame_left"}],"events":[{"type","rule","object_id","direction" (lines),"label","label_id"}]}] */
static void add_analytics(GString *s, GstBuffer *buffer)
{
  gpointer state = NULL;
  GstMeta *meta;
  gboolean open = FALSE;
  while (
      (meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_ANALYTICS_META_API_TYPE))) {
    const GstUfoAnalyticsMeta *m = (const GstUfoAnalyticsMeta *)meta;
    if (!open)
      APPEND_LIT(s, ",\"analytics\":[");
    else
      g_string_append_c(s, ',');
    open = TRUE;
    APPEND_LIT(s, "{\"version\":1,\"width\":");
    ufo_json_append_int(s, m->width);
    APPEND_LIT(s, ",\"height\":");
    ufo_json_append_int(s, m->height);
    APPEND_LIT(s, ",\"rules\":[");
    GstUfoAnalyticsRule r;
    for (guint i = 0; gst_ufo_analytics_meta_get_rule(m, i, &r); i++) {
      const gboolean line = r.kind == GST_UFO_ANALYTICS_RULE_LINE;
      if (i > 0)
        g_string_append_c(s, ',');
      APPEND_LIT(s, "{\"name\":");
      ufo_json_append_string(s, r.name);
      if (line)
        APPEND_LIT(s, ",\"type\":\"line\",\"points\":[");
      else
        APPEND_LIT(s, ",\"type\":\"zone\",\"points\":[");
      for (guint k = 0; k < r.n_points; k++) {
        g_string_append(s, k > 0 ? ",[" : "[");
        ufo_json_append_double(s, r.points[2 * k]);
        g_string_append_c(s, ',');
        ufo_json_append_double(s, r.points[2 * k + 1]);
        g_string_append_c(s, ']');
      }
      g_string_append_c(s, ']');
      if (!line) {
        APPEND_LIT(s, ",\"occupancy\":");
        ufo_json_append_int(s, r.occupancy);
      }
      g_string_append(s, line ? ",\"in\":" : ",\"entered\":");
      ufo_json_append_int(s, (gint64)r.total_in);
      g_string_append(s, line ? ",\"out\":" : ",\"left\":");
      ufo_json_append_int(s, (gint64)r.total_out);
      g_string_append(s, line ? ",\"frame_in\":" : ",\"frame_entered\":");
      ufo_json_append_int(s, r.frame_in);
      g_string_append(s, line ? ",\"frame_out\":" : ",\"frame_left\":");
      ufo_json_append_int(s, r.frame_out);
      g_string_append_c(s, '}');
    }
    APPEND_LIT(s, "],\"events\":[");
    GstUfoAnalyticsEvent e;
    for (guint i = 0; gst_ufo_analytics_meta_get_event(m, i, &e); i++) {
      gst_ufo_analytics_meta_get_rule(m, e.rule, &r);
      if (i > 0)
        g_string_append_c(s, ',');
      APPEND_LIT(s, "{\"type\":");
      ufo_json_append_string(s, gst_ufo_analytics_event_type_get_name(e.type));
      APPEND_LIT(s, ",\"rule\":");
      ufo_json_append_string(s, r.name);
      APPEND_LIT(s, ",\"object_id\":");
      ufo_json_append_int(s, (gint64)e.track_id);
      if (e.direction)
        g_string_append(s, e.direction > 0 ? ",\"direction\":\"in\"" : ",\"direction\":\"out\"");
      if (e.label) {
        APPEND_LIT(s, ",\"label\":");
        ufo_json_append_string(s, e.label);
      }
      APPEND_LIT(s, ",\"label_id\":");
      ufo_json_append_int(s, e.label_id);
      g_string_append_c(s, '}');
    }
    APPEND_LIT(s, "]}");
  }
  if (open)
    g_string_append_c(s, ']');
}

void ufo_json_install_mask_properties(GObjectClass *klass, guint add_masks_id,
                                      guint mask_threshold_id)
{
  const GParamFlags flags = G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING;
  g_object_class_install_property(
      klass, add_masks_id,
      g_param_spec_boolean("add-masks", "Add masks",
                           "Add each instance mask to its object as \"mask_rle\" (COCO RLE in "
                           "frame pixels), and each semantic class to its producer's entry",
                           UFO_JSON_DEFAULT_MASKS, flags));
  g_object_class_install_property(
      klass, mask_threshold_id,
      g_param_spec_double("mask-threshold", "Mask threshold",
                          "Mask probability from which a pixel is inside in mask_rle", 0.0, 1.0,
                          UFO_JSON_DEFAULT_MASK_THRESHOLD, flags));
}

gchar *ufo_dump_frame_json(GstBuffer *buffer, gint width, gint height, const gchar *source,
                           JsonNode *tags)
{
  return ufo_dump_frame_json_with(buffer, width, height, source, tags, NULL);
}

gchar *ufo_dump_frame_json_with(GstBuffer *buffer, gint width, gint height, const gchar *source,
                                JsonNode *tags, const UfoJsonOptions *opts)
{
  const gboolean masks = opts && opts->masks;
  const guint inside_from = masks ? ufo_mask_rle_inside_from(opts->mask_threshold) : 0;
  GString *s = g_string_sized_new(1024); /* a queued document keeps its capacity */
  APPEND_LIT(s, "{\"objects\":[");
  gpointer state = NULL;
  GstMeta *meta;
  gboolean have_ufo = FALSE, first = TRUE;
  while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_META_API_TYPE))) {
    GstUfoMeta *m = (GstUfoMeta *)meta;
    have_ufo = TRUE;
    /* the meta's own frame size: it is kept right through videoscale */
    const gint fw = m->width > 0 ? m->width : width, fh = m->height > 0 ? m->height : height;
    for (guint i = 0; i < gst_ufo_meta_get_n_objects(m); i++) {
      GstUfoObject o;
      gst_ufo_meta_get_object(m, i, &o);
      add_object(s, first, o.label, o.label_id, o.score, o.x, o.y, o.w, o.h, fw, fh, o.roi_id,
                 m->producer_id, o.track_id,
                 (gst_ufo_meta_get_object_flags(m, i) & GST_UFO_OBJECT_FLAG_PREDICTED) != 0);
      if (masks)
        add_mask_rle(s, m, i, fw, fh, inside_from);
      g_string_append_c(s, '}');
      first = FALSE;
    }
  }
  if (!have_ufo) {
    state = NULL;
    while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state,
                                                    GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
      GstVideoRegionOfInterestMeta *roi = (GstVideoRegionOfInterestMeta *)meta;
      const GstStructure *det = gst_video_region_of_interest_meta_get_param(roi, "detection");
      gdouble score = -1;
      gint label_id = -1;
      guint producer = 0;
      gboolean has_producer = FALSE, predicted = FALSE;
      if (det) {
        gst_structure_get_double(det, "confidence", &score);
        gst_structure_get_int(det, "label_id", &label_id);
        has_producer = gst_structure_get_uint(det, "producer_id", &producer);
        gst_structure_get_boolean(det, "predicted", &predicted);
      }
      /* gvatrack's layout: an "object_id" structure with the track id in "id" */
      const GstStructure *oid = gst_video_region_of_interest_meta_get_param(roi, "object_id");
      gint track_id = 0;
      if (oid)
        gst_structure_get_int(oid, "id", &track_id);
      add_object(s, first, g_quark_to_string(roi->roi_type), label_id, score, roi->x, roi->y,
                 roi->w, roi->h, width, height, roi->id, has_producer ? (gint64)producer : -1,
                 track_id > 0 ? (guint64)track_id : 0, predicted);
      g_string_append_c(s, '}');
      first = FALSE;
    }
  }
  APPEND_LIT(s, "],\"resolution\":{\"width\":");
  ufo_json_append_int(s, width);
  APPEND_LIT(s, ",\"height\":");
  ufo_json_append_int(s, height);
  g_string_append_c(s, '}');
  if (GST_BUFFER_PTS_IS_VALID(buffer)) {
    APPEND_LIT(s, ",\"timestamp\":");
    ufo_json_append_int(s, (gint64)GST_BUFFER_PTS(buffer));
  }
  if (source) {
    APPEND_LIT(s, ",\"source\":");
    ufo_json_append_string(s, source);
  }
  if (tags) { /* user-given, any JSON: json-glib writes it */
    gchar *t = json_to_string(tags, FALSE);
    APPEND_LIT(s, ",\"tags\":");
    g_string_append(s, t);
    g_free(t);
  }
  if (have_ufo) {
    APPEND_LIT(s, ",\"ufo\":[");
    state = NULL;
    first = TRUE;
    while ((meta = gst_buffer_iterate_meta_filtered(buffer, &state, GST_UFO_META_API_TYPE))) {
      GstUfoMeta *m = (GstUfoMeta *)meta;
      g_string_append(s, first ? "{\"producer_id\":" : ",{\"producer_id\":");
      first = FALSE;
      ufo_json_append_int(s, m->producer_id);
      APPEND_LIT(s, ",\"task\":");
      ufo_json_append_string(s, g_quark_to_string(m->task));
      g_string_append(s, m->inferred ? ",\"inferred\":true" : ",\"inferred\":false");
      if (GST_CLOCK_TIME_IS_VALID(m->result_pts)) {
        APPEND_LIT(s, ",\"result_timestamp\":");
        ufo_json_append_int(s, (gint64)m->result_pts);
      }
      const gchar *caption = gst_ufo_meta_get_caption(m);
      if (caption) {
        APPEND_LIT(s, ",\"caption\":");
        ufo_json_append_string(s, caption);
      }
      const gchar *prompt = gst_ufo_meta_get_prompt(m);
      if (prompt) {
        APPEND_LIT(s, ",\"prompt\":");
        ufo_json_append_string(s, prompt);
      }
      if (masks)
        add_semantic_rle(s, m, m->width > 0 ? m->width : width, m->height > 0 ? m->height : height);
      g_string_append_c(s, '}');
    }
    g_string_append_c(s, ']');
  }
  add_analytics(s, buffer);
  g_string_append_c(s, '}');
  return g_string_free(s, FALSE);
}

/* anything to describe: objects, a caption, a semantic map, or ROI metas of other producers */
gboolean ufo_frame_has_results(GstBuffer *buf)
{
  gpointer state = NULL;
  GstMeta *m;
  while ((m = gst_buffer_iterate_meta_filtered(buf, &state, GST_UFO_META_API_TYPE))) {
    const GstUfoMeta *u = (const GstUfoMeta *)m;
    if (gst_ufo_meta_get_n_objects(u) > 0 || gst_ufo_meta_get_caption(u) ||
        gst_ufo_meta_get_semantic_map(u, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL))
      return TRUE;
  }
  state = NULL;
  if (gst_buffer_get_ufo_analytics_meta(buf))
    return TRUE; /* counts and events of ufoanalytics */
  return gst_buffer_iterate_meta_filtered(buf, &state,
                                          GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE) != NULL;
}
