/* One weight copy per (model, backend kind, device) in the process (vit.h ufo_vit_acquire,
 * architecture.md §3): a registry of entries, each owning the model's weights uploaded to a
 * backend of its own (UfoBackendOps.new_peer: one CPU thread, or one stream on the GPU) and
 * counting the UfoVits that compute with them. Sessions keep their own backend for execution;
 * only the weight tensors are shared. Entries are found, created, counted and removed under one
 * lock; a weight upload happens under it too (the first session of a model on a device). */
#include "vit_internal.h"

struct _VitShared {
  const UfoModel *model;    /* key: the model (a reference is held by weights) ... */
  const UfoBackendOps *ops; /* ... the backend kind ... */
  int memory;               /* ... and the device (UfoBackend.memory) */
  UfoBackend *be;           /* owns the weight tensors */
  UfoVit *weights;
  int users;
};

static GMutex lock;
static GPtrArray *entries; /* of VitShared (a handful: models x devices) */

static VitShared *find(const UfoModel *model, const UfoBackend *be)
{
  for (guint i = 0; entries && i < entries->len; i++) {
    VitShared *e = entries->pdata[i];
    if (e->model == model && e->ops == be->ops && e->memory == be->memory)
      return e;
  }
  return NULL;
}

/* (under lock) a new entry: the weights on a peer of be, uploaded completely before any other
 * backend (another stream) reads them */
static VitShared *entry_new(UfoModel *model, UfoBackend *be, GError **error)
{
  UfoBackend *owner = ufo_backend_new_peer(be, error);
  if (owner == NULL)
    return NULL;
  UfoVit *w = ufo_vit_new(model, owner, error);
  if (w == NULL || !ufo_backend_synchronize(owner, error)) {
    ufo_vit_free(w);
    ufo_backend_free(owner);
    return NULL;
  }
  VitShared *e = g_new0(VitShared, 1);
  *e = (VitShared){.model = model, .ops = be->ops, .memory = be->memory, .be = owner, .weights = w};
  if (entries == NULL)
    entries = g_ptr_array_new();
  g_ptr_array_add(entries, e);
  return e;
}

UfoVit *ufo_vit_acquire(UfoModel *model, UfoBackend *be, GError **error)
{
  if (be->ops->new_peer == NULL) /* no sharing on this backend: a copy of its own */
    return ufo_vit_new(model, be, error);
  g_mutex_lock(&lock);
  VitShared *e = find(model, be);
  if (e == NULL)
    e = entry_new(model, be, error);
  UfoVit *vit = e ? ufo_vit_new_sharing(e->weights, be, error) : NULL;
  if (vit) {
    vit->shared = e;
    e->users++;
  } else if (e && e->users == 0) { /* made for nothing */
    g_ptr_array_remove_fast(entries, e);
    ufo_vit_free(e->weights);
    ufo_backend_free(e->be);
    g_free(e);
  }
  g_mutex_unlock(&lock);
  return vit;
}

void ufo_vit_shared_release(VitShared *e)
{
  g_mutex_lock(&lock);
  gboolean last = --e->users == 0;
  if (last)
    g_ptr_array_remove_fast(entries, e);
  if (last && entries->len == 0)
    g_clear_pointer(&entries, g_ptr_array_unref);
  g_mutex_unlock(&lock);
  if (!last)
    return;
  /* no UfoVit uses them any more: the sessions' backends are gone or drained */
  ufo_vit_free(e->weights);
  ufo_backend_free(e->be);
  g_free(e);
}

void ufo_vit_shared_stats(int *copies, size_t *bytes)
{
  int n = 0;
  size_t b = 0;
  g_mutex_lock(&lock);
  for (guint i = 0; entries && i < entries->len; i++, n++)
    b += ufo_vit_weight_bytes(((VitShared *)entries->pdata[i])->weights);
  g_mutex_unlock(&lock);
  if (copies)
    *copies = n;
  if (bytes)
    *bytes = b;
}
