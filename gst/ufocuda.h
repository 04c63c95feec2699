/* CUDA-memory input of the inference elements (docs/elements.md "CUDA memory"): the CUDA context
 * an element shares with GStreamer's CUDA elements (nvh264dec, cudaupload, cudaconvert) and how
 * a frame in CUDA memory reaches the engine. Built with the GStreamer CUDA library
 * (gst-plugins-bad's libgstcuda-1.0, meson option gst_cuda); GST_UFO_HAVE_CUDA_MEMORY says so.
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef GST_UFO_CUDA_H
#define GST_UFO_CUDA_H

#ifdef GST_UFO_HAVE_CUDA_MEMORY

#include <gst/cuda/gstcudacontext.h>
#include <gst/cuda/gstcudamemory.h>
#include <gst/cuda/gstcudautils.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

/* The formats the elements take in CUDA memory. */
#define GST_UFO_CUDA_CAPS                                                                          \
  GST_VIDEO_CAPS_MAKE_WITH_FEATURES(GST_CAPS_FEATURE_MEMORY_CUDA_MEMORY,                           \
                                    "{ RGBA, BGRA, RGBx, BGRx, I420, NV12 }")

/* Gives the element (through gst_element_set_context, which it handles with
 * gst_cuda_handle_set_context) the pipeline's CUDA context for GPU gpu_id: one a neighbour or
 * the application already has (context query, need-context message); else the engine's own
 * context of that GPU (ufo_cuda_device_context, the primary context), wrapped and announced
 * (have-context), so that upstream CUDA elements allocate their frames where the engine reads
 * them without a copy. has_context tells whether the element holds one. FALSE where there is
 * none: no usable GPU, or no CUDA driver for GStreamer's CUDA library; *why says why. */
gboolean gst_ufo_cuda_ensure_context(GstElement *element, gint gpu_id,
                                     gboolean (*has_context)(GstElement *element), gchar **why);

/* Where a buffer's frame is: FALSE for system memory. TRUE for CUDA memory, with *layout = info
 * with the memory's plane offsets and strides (its pitched layout), and *in_context = whether
 * the memory is in the CUDA context engine_ctx (a CUcontext; NULL = none), i.e. whether the
 * engine can read it in place. */
gboolean gst_ufo_cuda_buffer_layout(GstBuffer *buf, const GstVideoInfo *info, void *engine_ctx,
                                    GstVideoInfo *layout, gboolean *in_context);

G_END_DECLS

#endif /* GST_UFO_HAVE_CUDA_MEMORY */

#endif
