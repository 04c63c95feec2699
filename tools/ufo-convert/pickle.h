/* A minimal, safe unpickler for torch.save'd state dicts. It builds plain values (None, bool, int,
 * float, str/bytes, tuple, list, dict) and recognises only the callables torch.save of a state dict
 * (or an mmengine checkpoint holding one) uses: collections.OrderedDict,
 * torch._utils._rebuild_tensor_v2, _rebuild_parameter(_with_state), the torch.*Storage types and
 * _codecs.encode. Nothing is ever imported or executed: any other global or opcode is refused with
 * an error naming it (or, with allow_unknown, becomes an inert placeholder object). */
#ifndef UFO_CONVERT_PICKLE_H
#define UFO_CONVERT_PICKLE_H

#include "model/dtype.h"

#include <glib.h>
#include <stdint.h>

typedef enum {
  UFO_PK_NONE,
  UFO_PK_BOOL,
  UFO_PK_INT,
  UFO_PK_FLOAT,
  UFO_PK_STR,     /* str or bytes: s, len */
  UFO_PK_TUPLE,   /* items */
  UFO_PK_LIST,    /* items */
  UFO_PK_DICT,    /* keys, items (insertion order) */
  UFO_PK_GLOBAL,  /* a recognised callable or class: s = "module name" */
  UFO_PK_STORAGE, /* persistent id ('storage', type, key, location, numel) */
  UFO_PK_TENSOR,  /* _rebuild_tensor_v2 result */
  UFO_PK_OPAQUE,  /* an unknown global or its result (allow_unknown only): s = name */
  UFO_PK_MARK,    /* internal */
} UfoPkType;

typedef struct _UfoPkObj UfoPkObj;
struct _UfoPkObj {
  UfoPkType type;
  int64_t i;               /* INT, BOOL */
  double f;                /* FLOAT */
  char *s;                 /* STR (NUL-terminated copy), GLOBAL/OPAQUE name */
  size_t len;              /* STR length */
  GPtrArray *items, *keys; /* TUPLE/LIST/DICT (borrowed objects, owned by the unpickler) */
  /* STORAGE */
  UfoDType dtype;
  char *key;
  int64_t numel;
  /* TENSOR */
  UfoPkObj *storage;
  int64_t offset;
  int ndim;
  int64_t shape[8], stride[8];
};

typedef struct _UfoUnpickler UfoUnpickler;

/* Parses a pickle; the result and every object are owned by *out_unpickler (free with
 * ufo_unpickler_free). */
UfoPkObj *ufo_unpickle(const uint8_t *data, size_t len, gboolean allow_unknown,
                       UfoUnpickler **out_unpickler, GError **error);
void ufo_unpickler_free(UfoUnpickler *u);
/* DICT lookup by string key; NULL when absent. */
UfoPkObj *ufo_pk_dict_get(const UfoPkObj *dict, const char *key);

#endif
