/* The "ufo" plugin: ufodetect, ufoseg, ufooverlay, ufotrack, ufometaconvert, ufometapublish,
 * ufoanalytics.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
/**
 * SECTION:plugin-ufo
 *
 * UFO-ViT perception in GStreamer: detection, grounding, captioning and segmentation as
 * in-place analyzers that attach #GstUfoMeta, and an overlay that draws them.
 *
 * Since: 0.1
 */
#include "ufoanalytics.h"
#include "ufodetect.h"
#include "ufometaconvert.h"
#include "ufometapublish.h"
#include "ufoseg.h"
#include "ufotrack.h"
#ifdef GST_UFO_HAVE_OVERLAY
#include "ufooverlay.h" /* not built with -Doverlay=disabled */
#endif

GST_DEBUG_CATEGORY_STATIC(ufoengine_debug);

/* Engine log callback → the "ufoengine" category (its threshold decides what is shown). */
static void engine_log(int level, const char *message, void *user_data)
{
  static const GstDebugLevel map[] = {GST_LEVEL_ERROR, GST_LEVEL_WARNING, GST_LEVEL_INFO,
                                      GST_LEVEL_DEBUG};
  GstDebugLevel l = map[CLAMP(level, 0, 3)];
  GST_CAT_LEVEL_LOG(ufoengine_debug, l, NULL, "%s", message);
}

static gboolean plugin_init(GstPlugin *plugin)
{
  GST_DEBUG_CATEGORY_INIT(ufoengine_debug, "ufoengine", 0, "UFO-ViT inference engine (libufo)");
  ufo_log_set(engine_log, NULL);
  gboolean ret = FALSE;
  ret |= GST_ELEMENT_REGISTER(ufodetect, plugin);
  ret |= GST_ELEMENT_REGISTER(ufoseg, plugin);
#ifdef GST_UFO_HAVE_OVERLAY
  ret |= GST_ELEMENT_REGISTER(ufooverlay, plugin);
#endif
  ret |= GST_ELEMENT_REGISTER(ufotrack, plugin);
  ret |= GST_ELEMENT_REGISTER(ufometaconvert, plugin);
  ret |= GST_ELEMENT_REGISTER(ufometapublish, plugin);
  ret |= GST_ELEMENT_REGISTER(ufoanalytics, plugin);
  return ret;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, ufo,
                  "UFO-ViT detection, grounding, captioning and segmentation", plugin_init, VERSION,
                  "LGPL", PACKAGE, "https://github.com/nnnth/UFO")
