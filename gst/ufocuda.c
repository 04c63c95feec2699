/* CUDA-memory input of the inference elements (ufocuda.h).
 *
 * Copyright (C) 2026 gst-ufo contributors
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "ufocuda.h"

#include <gst/cuda/cuda-gst.h>
#include <gst/cuda/gstcudaloader.h>
#include <ufo/ufo.h>

/* asks the pads' peers in one direction for a CUDA context; TRUE when one answered with one */
static gboolean query_peers(GstElement *element, GstPadDirection dir, GstQuery *query)
{
  gboolean found = FALSE;
  GList *pads = dir == GST_PAD_SRC ? element->srcpads : element->sinkpads;
  GST_OBJECT_LOCK(element);
  GList *copy = NULL;
  for (GList *l = pads; l; l = l->next)
    copy = g_list_prepend(copy, gst_object_ref(l->data));
  GST_OBJECT_UNLOCK(element);
  copy = g_list_reverse(copy);
  for (GList *l = copy; l && !found; l = l->next) {
    GstContext *ctxt = NULL;
    if (gst_pad_peer_query(GST_PAD(l->data), query)) {
      gst_query_parse_context(query, &ctxt);
      if (ctxt) {
        gst_element_set_context(element, ctxt); /* the element's set_context takes it */
        found = TRUE;
      }
    }
  }
  g_list_free_full(copy, gst_object_unref);
  return found;
}

gboolean gst_ufo_cuda_ensure_context(GstElement *element, gint gpu_id,
                                     gboolean (*has_context)(GstElement *element), gchar **why)
{
  *why = NULL;
  if (has_context(element))
    return TRUE;
  /* a context the pipeline has: downstream, upstream, then the application (need-context) */
  GstQuery *query = gst_query_new_context(GST_CUDA_CONTEXT_TYPE);
  if (!query_peers(element, GST_PAD_SRC, query) || !has_context(element))
    query_peers(element, GST_PAD_SINK, query);
  gst_query_unref(query);
  if (!has_context(element))
    gst_element_post_message(
        element, gst_message_new_need_context(GST_OBJECT(element), GST_CUDA_CONTEXT_TYPE));
  if (has_context(element))
    return TRUE;

  /* none: the engine's, for everyone */
  g_autoptr(GError) err = NULL;
  void *handle = ufo_cuda_device_context(gpu_id, &err);
  if (!handle) {
    *why = g_strdup(err->message);
    return FALSE;
  }
  /* GStreamer 1.22's context creation hangs a later call once cuInit has failed: try it first */
  CUdevice device = 0;
  if (!gst_cuda_load_library() || CuInit(0) != CUDA_SUCCESS ||
      CuDeviceGet(&device, gpu_id) != CUDA_SUCCESS) {
    *why = g_strdup("GStreamer's CUDA library could not use the CUDA driver (libcuda.so.1)");
    return FALSE;
  }
  GstCudaContext *wrapped = gst_cuda_context_new_wrapped((CUcontext)handle, device);
  if (!wrapped) {
    *why = g_strdup("GStreamer's CUDA library could not use the CUDA driver (libcuda.so.1)");
    return FALSE;
  }
  GstContext *context = gst_context_new_cuda_context(wrapped);
  gst_object_unref(wrapped);
  gst_element_set_context(element, context); /* the element's set_context takes it */
  gst_element_post_message(element, gst_message_new_have_context(GST_OBJECT(element), context));
  if (!has_context(element)) {
    *why = g_strdup_printf("the element did not take the CUDA context of GPU %d", gpu_id);
    return FALSE;
  }
  return TRUE;
}

gboolean gst_ufo_cuda_buffer_layout(GstBuffer *buf, const GstVideoInfo *info, void *engine_ctx,
                                    GstVideoInfo *layout, gboolean *in_context)
{
  *in_context = FALSE;
  if (gst_buffer_n_memory(buf) != 1)
    return FALSE;
  GstMemory *mem = gst_buffer_peek_memory(buf, 0);
  if (!gst_is_cuda_memory(mem))
    return FALSE;
  GstCudaMemory *cmem = GST_CUDA_MEMORY_CAST(mem);
  /* the caps' format and colorimetry, the memory's pitched planes */
  *layout = *info;
  for (guint i = 0; i < GST_VIDEO_MAX_PLANES; i++) {
    layout->offset[i] = cmem->info.offset[i];
    layout->stride[i] = cmem->info.stride[i];
  }
  layout->size = cmem->info.size;
  *in_context =
      engine_ctx && cmem->context && gst_cuda_context_get_handle(cmem->context) == engine_ctx;
  return TRUE;
}
