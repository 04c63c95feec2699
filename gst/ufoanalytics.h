/* ufoanalytics: line crossings and zone occupancy of tracked objects. */
#ifndef GST_UFO_ANALYTICS_H
#define GST_UFO_ANALYTICS_H

#include <gst/base/gstbasetransform.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_UFO_ANALYTICS (gst_ufo_analytics_get_type())
G_DECLARE_FINAL_TYPE(GstUfoAnalytics, gst_ufo_analytics, GST, UFO_ANALYTICS, GstBaseTransform)
GST_ELEMENT_REGISTER_DECLARE(ufoanalytics);

/**
 * GstUfoAnalyticsAnchor:
 * @GST_UFO_ANALYTICS_ANCHOR_BOTTOM_CENTER: the middle of the bottom edge of the box (feet)
 * @GST_UFO_ANALYTICS_ANCHOR_CENTER: the centre of the box
 *
 * The point of an object's box that crosses lines and lies in zones.
 *
 * Since: 0.1
 */
typedef enum {
  GST_UFO_ANALYTICS_ANCHOR_BOTTOM_CENTER = 0,
  GST_UFO_ANALYTICS_ANCHOR_CENTER = 1,
} GstUfoAnalyticsAnchor;

GType gst_ufo_analytics_anchor_get_type(void);
#define GST_TYPE_UFO_ANALYTICS_ANCHOR (gst_ufo_analytics_anchor_get_type())

G_END_DECLS

#endif
