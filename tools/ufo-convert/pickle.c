/* Safe unpickler (pickle.h). Opcode semantics: CPython Lib/pickletools.py (protocols 0-5);
 * torch persistent ids and tensor rebuild: torch/serialization.py, torch/_utils.py. */
#include "pickle.h"

#include "ufo/ufo.h"

#include <string.h>

struct _UfoUnpickler {
  GPtrArray *objs; /* every object, freed at the end */
  GPtrArray *stack;
  GPtrArray *marks; /* stack heights (as pointers) */
  GHashTable *memo; /* index -> object */
  gboolean allow_unknown;
};

static void obj_free(gpointer p)
{
  UfoPkObj *o = p;
  g_free(o->s);
  g_free(o->key);
  if (o->items)
    g_ptr_array_unref(o->items);
  if (o->keys)
    g_ptr_array_unref(o->keys);
  g_free(o);
}

void ufo_unpickler_free(UfoUnpickler *u)
{
  if (!u)
    return;
  g_ptr_array_unref(u->objs);
  g_ptr_array_unref(u->stack);
  g_ptr_array_unref(u->marks);
  g_hash_table_unref(u->memo);
  g_free(u);
}

static UfoPkObj *new_obj(UfoUnpickler *u, UfoPkType type)
{
  UfoPkObj *o = g_new0(UfoPkObj, 1);
  o->type = type;
  if (type == UFO_PK_TUPLE || type == UFO_PK_LIST || type == UFO_PK_DICT)
    o->items = g_ptr_array_new();
  if (type == UFO_PK_DICT)
    o->keys = g_ptr_array_new();
  g_ptr_array_add(u->objs, o);
  return o;
}

UfoPkObj *ufo_pk_dict_get(const UfoPkObj *d, const char *key)
{
  if (!d || d->type != UFO_PK_DICT)
    return NULL;
  for (guint i = 0; i < d->keys->len; i++) {
    const UfoPkObj *k = g_ptr_array_index(d->keys, i);
    if (k->type == UFO_PK_STR && strcmp(k->s, key) == 0)
      return g_ptr_array_index(d->items, i);
  }
  return NULL;
}

/* ------------------------------------------------------------ recognised globals */

static const struct {
  const char *name;
  UfoDType dtype;
} storages[] = {
    {"torch FloatStorage", UFO_DTYPE_F32},     {"torch HalfStorage", UFO_DTYPE_F16},
    {"torch BFloat16Storage", UFO_DTYPE_BF16}, {"torch DoubleStorage", UFO_DTYPE_F64},
    {"torch LongStorage", UFO_DTYPE_I64},      {"torch IntStorage", UFO_DTYPE_I32},
    {"torch ShortStorage", UFO_DTYPE_I16},     {"torch CharStorage", UFO_DTYPE_I8},
    {"torch ByteStorage", UFO_DTYPE_U8},       {"torch BoolStorage", UFO_DTYPE_BOOL},
};

static const char *const callables[] = {
    "collections OrderedDict",
    "torch._utils _rebuild_tensor_v2",
    "torch._utils _rebuild_parameter",
    "torch._utils _rebuild_parameter_with_state",
    "_codecs encode",
    NULL,
};

static gboolean known_global(const char *name)
{
  for (size_t i = 0; i < G_N_ELEMENTS(storages); i++)
    if (strcmp(storages[i].name, name) == 0)
      return TRUE;
  for (int i = 0; callables[i]; i++)
    if (strcmp(callables[i], name) == 0)
      return TRUE;
  return FALSE;
}

/* ------------------------------------------------------------ helpers */

typedef struct {
  const uint8_t *start, *p, *end;
  UfoUnpickler *u;
  GError **error;
} Ctx;

static gboolean perr(Ctx *c, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static gboolean perr(Ctx *c, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_set_error(c->error, UFO_ERROR, UFO_ERROR_FORMAT, "pickle: %s", msg);
  return FALSE;
}

static gboolean need(Ctx *c, uint64_t n)
{
  if ((uint64_t)(c->end - c->p) < n)
    return perr(c, "truncated data");
  return TRUE;
}

static uint64_t le(const uint8_t *p, int n)
{
  uint64_t v = 0;
  for (int i = n - 1; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

static void push(Ctx *c, UfoPkObj *o)
{
  g_ptr_array_add(c->u->stack, o);
}

/* The top of the stack above the last MARK, or NULL (error set) when there is none. */
static UfoPkObj *top(Ctx *c)
{
  GPtrArray *s = c->u->stack;
  guint floor =
      c->u->marks->len ? GPOINTER_TO_UINT(g_ptr_array_index(c->u->marks, c->u->marks->len - 1)) : 0;
  if (s->len <= floor) {
    perr(c, "stack underflow");
    return NULL;
  }
  return g_ptr_array_index(s, s->len - 1);
}

static UfoPkObj *pop(Ctx *c)
{
  if (!top(c))
    return NULL;
  return g_ptr_array_steal_index(c->u->stack, c->u->stack->len - 1);
}

/* Pops everything above the last MARK into a new array (and drops the mark). */
static GPtrArray *pop_mark(Ctx *c)
{
  if (c->u->marks->len == 0) {
    perr(c, "MARK expected");
    return NULL;
  }
  guint h = GPOINTER_TO_UINT(g_ptr_array_steal_index(c->u->marks, c->u->marks->len - 1));
  GPtrArray *items = g_ptr_array_new();
  for (guint i = h; i < c->u->stack->len; i++)
    g_ptr_array_add(items, g_ptr_array_index(c->u->stack, i));
  g_ptr_array_set_size(c->u->stack, h);
  return items;
}

static UfoPkObj *new_str(Ctx *c, const uint8_t *s, uint64_t n)
{
  UfoPkObj *o = new_obj(c->u, UFO_PK_STR);
  o->s = g_strndup((const char *)s, n);
  o->len = n;
  return o;
}

static gboolean read_str(Ctx *c, int lenbytes)
{
  if (!need(c, lenbytes))
    return FALSE;
  uint64_t n = le(c->p, lenbytes);
  c->p += lenbytes;
  if (!need(c, n))
    return FALSE;
  push(c, new_str(c, c->p, n));
  c->p += n;
  return TRUE;
}

static gboolean int_of(const UfoPkObj *o, int64_t *v)
{
  if (!o || (o->type != UFO_PK_INT && o->type != UFO_PK_BOOL))
    return FALSE;
  *v = o->i;
  return TRUE;
}

static gboolean int_tuple(const UfoPkObj *o, int64_t *out, int *n)
{
  if (!o || o->type != UFO_PK_TUPLE || o->items->len > 8)
    return FALSE;
  for (guint i = 0; i < o->items->len; i++)
    if (!int_of(g_ptr_array_index(o->items, i), &out[i]))
      return FALSE;
  *n = (int)o->items->len;
  return TRUE;
}

/* ------------------------------------------------------------ calls */

static gboolean do_global(Ctx *c, const char *module, const char *name)
{
  g_autofree char *full = g_strdup_printf("%s %s", module, name);
  UfoPkObj *o;
  if (known_global(full)) {
    o = new_obj(c->u, UFO_PK_GLOBAL);
  } else if (c->u->allow_unknown) {
    o = new_obj(c->u, UFO_PK_OPAQUE);
  } else {
    return perr(c,
                "refusing global '%s.%s': not used by torch.save of a state dict "
                "(the file may be malicious; nothing was executed)",
                module, name);
  }
  o->s = g_steal_pointer(&full);
  push(c, o);
  return TRUE;
}

/* persistent_load: ('storage', <torch.XStorage>, key, location, numel) */
static gboolean do_persid(Ctx *c)
{
  UfoPkObj *pid = pop(c);
  if (!pid)
    return FALSE;
  if (pid->type != UFO_PK_TUPLE || pid->items->len != 5)
    return perr(c, "persistent id is not a 5-tuple ('storage', type, key, location, numel)");
  UfoPkObj *tag = g_ptr_array_index(pid->items, 0), *type = g_ptr_array_index(pid->items, 1),
           *key = g_ptr_array_index(pid->items, 2), *num = g_ptr_array_index(pid->items, 4);
  if (tag->type != UFO_PK_STR || strcmp(tag->s, "storage") != 0 || key->type != UFO_PK_STR ||
      type->type != UFO_PK_GLOBAL)
    return perr(c, "unsupported persistent id");
  UfoPkObj *st = new_obj(c->u, UFO_PK_STORAGE);
  gboolean found = FALSE;
  for (size_t i = 0; i < G_N_ELEMENTS(storages) && !found; i++)
    if (strcmp(storages[i].name, type->s) == 0) {
      st->dtype = storages[i].dtype;
      found = TRUE;
    }
  if (!found)
    return perr(c, "persistent id names '%s', not a storage type", type->s);
  if (!int_of(num, &st->numel) || st->numel < 0)
    return perr(c, "bad storage element count");
  st->key = g_strdup(key->s);
  push(c, st);
  return TRUE;
}

static gboolean do_reduce(Ctx *c)
{
  UfoPkObj *args = pop(c), *fn = args ? pop(c) : NULL;
  if (!fn)
    return FALSE;
  if (args->type != UFO_PK_TUPLE)
    return perr(c, "REDUCE arguments are not a tuple");
  if (fn->type == UFO_PK_OPAQUE) {
    UfoPkObj *o = new_obj(c->u, UFO_PK_OPAQUE);
    o->s = g_strdup(fn->s);
    push(c, o);
    return TRUE;
  }
  if (fn->type != UFO_PK_GLOBAL)
    return perr(c, "REDUCE on a value that is not a recognised callable");
  GPtrArray *a = args->items;
  if (strcmp(fn->s, "collections OrderedDict") == 0) {
    if (a->len != 0)
      return perr(c, "OrderedDict() with arguments is not supported");
    push(c, new_obj(c->u, UFO_PK_DICT));
    return TRUE;
  }
  if (strcmp(fn->s, "torch._utils _rebuild_tensor_v2") == 0) {
    /* (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]) */
    UfoPkObj *t = new_obj(c->u, UFO_PK_TENSOR);
    if (a->len < 4 || ((UfoPkObj *)g_ptr_array_index(a, 0))->type != UFO_PK_STORAGE ||
        !int_of(g_ptr_array_index(a, 1), &t->offset) ||
        !int_tuple(g_ptr_array_index(a, 2), t->shape, &t->ndim))
      return perr(c, "bad _rebuild_tensor_v2 arguments");
    int nstride;
    if (!int_tuple(g_ptr_array_index(a, 3), t->stride, &nstride) || nstride != t->ndim)
      return perr(c, "bad _rebuild_tensor_v2 stride");
    t->storage = g_ptr_array_index(a, 0);
    push(c, t);
    return TRUE;
  }
  if (g_str_has_prefix(fn->s, "torch._utils _rebuild_parameter")) {
    /* (data, requires_grad, backward_hooks[, state]) -> data */
    if (a->len < 3 || ((UfoPkObj *)g_ptr_array_index(a, 0))->type != UFO_PK_TENSOR)
      return perr(c, "bad _rebuild_parameter arguments");
    push(c, g_ptr_array_index(a, 0));
    return TRUE;
  }
  if (strcmp(fn->s, "_codecs encode") == 0) {
    /* protocol-2 bytes: encode(str, 'latin1'); code points < 256 map to single bytes */
    UfoPkObj *s = a->len == 2 ? g_ptr_array_index(a, 0) : NULL;
    if (!s || s->type != UFO_PK_STR)
      return perr(c, "bad _codecs.encode arguments");
    GByteArray *b = g_byte_array_new();
    for (const char *p = s->s; *p; p = g_utf8_next_char(p)) {
      gunichar ch = g_utf8_get_char_validated(p, -1);
      if (ch > 255) {
        g_byte_array_unref(b);
        return perr(c, "_codecs.encode of a non-latin1 string");
      }
      guint8 byte = (guint8)ch;
      g_byte_array_append(b, &byte, 1);
    }
    push(c, new_str(c, b->data, b->len));
    g_byte_array_unref(b);
    return TRUE;
  }
  return perr(c, "'%s' cannot be called", fn->s); /* storage types are not callable here */
}

static gboolean set_items(Ctx *c, UfoPkObj *d, GPtrArray *kv)
{
  if (kv->len % 2)
    return perr(c, "SETITEMS with an odd number of values");
  if (d->type == UFO_PK_OPAQUE)
    return TRUE;
  if (d->type != UFO_PK_DICT)
    return perr(c, "SETITEM(S) on a value that is not a dict");
  for (guint i = 0; i < kv->len; i += 2) {
    g_ptr_array_add(d->keys, g_ptr_array_index(kv, i));
    g_ptr_array_add(d->items, g_ptr_array_index(kv, i + 1));
  }
  return TRUE;
}

static gboolean append_items(Ctx *c, UfoPkObj *l, GPtrArray *v)
{
  if (l->type == UFO_PK_OPAQUE)
    return TRUE;
  if (l->type != UFO_PK_LIST)
    return perr(c, "APPEND(S) on a value that is not a list");
  for (guint i = 0; i < v->len; i++)
    g_ptr_array_add(l->items, g_ptr_array_index(v, i));
  return TRUE;
}

static UfoPkObj *make_tuple(Ctx *c, GPtrArray *items)
{
  UfoPkObj *t = new_obj(c->u, UFO_PK_TUPLE);
  for (guint i = 0; i < items->len; i++)
    g_ptr_array_add(t->items, g_ptr_array_index(items, i));
  return t;
}

/* ------------------------------------------------------------ main loop */

static gboolean step(Ctx *c, gboolean *stop)
{
  uint8_t op = *c->p++;
  UfoPkObj *o, *a, *b;
  switch (op) {
  case 0x80: /* PROTO */
    if (!need(c, 1))
      return FALSE;
    if (*c->p > 5)
      return perr(c, "unsupported protocol %d", *c->p);
    c->p++;
    return TRUE;
  case 0x95: /* FRAME: a length hint only */
    if (!need(c, 8))
      return FALSE;
    c->p += 8;
    return TRUE;
  case '.': /* STOP */
    *stop = TRUE;
    return TRUE;
  case '(': /* MARK */
    g_ptr_array_add(c->u->marks, GUINT_TO_POINTER(c->u->stack->len));
    return TRUE;
  case '}': /* EMPTY_DICT */
    push(c, new_obj(c->u, UFO_PK_DICT));
    return TRUE;
  case ']': /* EMPTY_LIST */
    push(c, new_obj(c->u, UFO_PK_LIST));
    return TRUE;
  case ')': /* EMPTY_TUPLE */
    push(c, new_obj(c->u, UFO_PK_TUPLE));
    return TRUE;
  case 'N': /* NONE */
    push(c, new_obj(c->u, UFO_PK_NONE));
    return TRUE;
  case 0x88: /* NEWTRUE */
  case 0x89: /* NEWFALSE */
    o = new_obj(c->u, UFO_PK_BOOL);
    o->i = op == 0x88;
    push(c, o);
    return TRUE;
  case 'K': /* BININT1 */
  case 'M': /* BININT2 */
  case 'J': /* BININT (signed 32) */ {
    int n = op == 'K' ? 1 : op == 'M' ? 2 : 4;
    if (!need(c, n))
      return FALSE;
    o = new_obj(c->u, UFO_PK_INT);
    o->i = n == 4 ? (int64_t)(int32_t)le(c->p, 4) : (int64_t)le(c->p, n);
    c->p += n;
    push(c, o);
    return TRUE;
  }
  case 0x8a: /* LONG1: little-endian two's complement of n <= 8 bytes */ {
    if (!need(c, 1))
      return FALSE;
    int n = *c->p++;
    if (n > 8)
      return perr(c, "integer wider than 64 bits");
    if (!need(c, n))
      return FALSE;
    uint64_t v = le(c->p, n);
    if (n > 0 && n < 8 && (c->p[n - 1] & 0x80))
      v |= ~(uint64_t)0 << (8 * n); /* sign extension */
    c->p += n;
    o = new_obj(c->u, UFO_PK_INT);
    o->i = (int64_t)v;
    push(c, o);
    return TRUE;
  }
  case 'G': /* BINFLOAT: big-endian double */ {
    if (!need(c, 8))
      return FALSE;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
      v = (v << 8) | c->p[i];
    c->p += 8;
    o = new_obj(c->u, UFO_PK_FLOAT);
    memcpy(&o->f, &v, 8);
    push(c, o);
    return TRUE;
  }
  case 'X': /* BINUNICODE */
  case 'T': /* BINSTRING */
  case 'B': /* BINBYTES */
    return read_str(c, 4);
  case 0x8c: /* SHORT_BINUNICODE */
  case 'U':  /* SHORT_BINSTRING */
  case 'C':  /* SHORT_BINBYTES */
    return read_str(c, 1);
  case 0x8d: /* BINUNICODE8 */
  case 0x8e: /* BINBYTES8 */
    return read_str(c, 8);
  case 'q': /* BINPUT */
  case 'r': /* LONG_BINPUT */
  case 0x94: /* MEMOIZE */ {
    uint64_t idx;
    if (op == 0x94) {
      idx = g_hash_table_size(c->u->memo);
    } else {
      int n = op == 'q' ? 1 : 4;
      if (!need(c, n))
        return FALSE;
      idx = le(c->p, n);
      c->p += n;
    }
    if (!(o = top(c)))
      return FALSE;
    g_hash_table_insert(c->u->memo, GSIZE_TO_POINTER((gsize)idx), o);
    return TRUE;
  }
  case 'h': /* BINGET */
  case 'j': /* LONG_BINGET */ {
    int n = op == 'h' ? 1 : 4;
    if (!need(c, n))
      return FALSE;
    uint64_t idx = le(c->p, n);
    c->p += n;
    o = g_hash_table_lookup(c->u->memo, GSIZE_TO_POINTER((gsize)idx));
    if (!o)
      return perr(c, "memo entry %" G_GUINT64_FORMAT " is undefined", idx);
    push(c, o);
    return TRUE;
  }
  case 'c': /* GLOBAL "module\nname\n" */ {
    const uint8_t *nl1 = memchr(c->p, '\n', (size_t)(c->end - c->p));
    const uint8_t *nl2 = nl1 ? memchr(nl1 + 1, '\n', (size_t)(c->end - nl1 - 1)) : NULL;
    if (!nl2)
      return perr(c, "truncated GLOBAL");
    g_autofree char *mod = g_strndup((const char *)c->p, (gsize)(nl1 - c->p));
    g_autofree char *name = g_strndup((const char *)nl1 + 1, (gsize)(nl2 - nl1 - 1));
    c->p = nl2 + 1;
    return do_global(c, mod, name);
  }
  case 0x93: /* STACK_GLOBAL */
    b = pop(c);
    a = b ? pop(c) : NULL;
    if (!a)
      return FALSE;
    if (a->type != UFO_PK_STR || b->type != UFO_PK_STR)
      return perr(c, "STACK_GLOBAL needs two strings");
    return do_global(c, a->s, b->s);
  case 'Q': /* BINPERSID */
    return do_persid(c);
  case 'R': /* REDUCE */
    return do_reduce(c);
  case 't': /* TUPLE */ {
    GPtrArray *items = pop_mark(c);
    if (!items)
      return FALSE;
    push(c, make_tuple(c, items));
    g_ptr_array_unref(items);
    return TRUE;
  }
  case 0x85: /* TUPLE1 */
  case 0x86: /* TUPLE2 */
  case 0x87: /* TUPLE3 */ {
    int n = op - 0x84;
    GPtrArray *items = g_ptr_array_new();
    g_ptr_array_set_size(items, n);
    for (int i = n - 1; i >= 0; i--) {
      if (!(o = pop(c))) {
        g_ptr_array_unref(items);
        return FALSE;
      }
      items->pdata[i] = o;
    }
    push(c, make_tuple(c, items));
    g_ptr_array_unref(items);
    return TRUE;
  }
  case 'l': /* LIST */
  case 'd': /* DICT */ {
    GPtrArray *items = pop_mark(c);
    if (!items)
      return FALSE;
    o = new_obj(c->u, op == 'l' ? UFO_PK_LIST : UFO_PK_DICT);
    gboolean ok = op == 'l' ? append_items(c, o, items) : set_items(c, o, items);
    g_ptr_array_unref(items);
    push(c, o);
    return ok;
  }
  case 'a': /* APPEND */
    b = pop(c);
    a = b ? top(c) : NULL;
    if (!a)
      return FALSE;
    {
      GPtrArray *one = g_ptr_array_new();
      g_ptr_array_add(one, b);
      gboolean ok = append_items(c, a, one);
      g_ptr_array_unref(one);
      return ok;
    }
  case 'e': /* APPENDS */
  case 'u': /* SETITEMS */ {
    GPtrArray *items = pop_mark(c);
    if (!items)
      return FALSE;
    a = top(c);
    gboolean ok = a && (op == 'e' ? append_items(c, a, items) : set_items(c, a, items));
    g_ptr_array_unref(items);
    return ok;
  }
  case 's': /* SETITEM */ {
    UfoPkObj *v = pop(c), *k = v ? pop(c) : NULL, *d = k ? top(c) : NULL;
    if (!d)
      return FALSE;
    GPtrArray *kv = g_ptr_array_new();
    g_ptr_array_add(kv, k);
    g_ptr_array_add(kv, v);
    gboolean ok = set_items(c, d, kv);
    g_ptr_array_unref(kv);
    return ok;
  }
  case 'b': /* BUILD: object state (OrderedDict _metadata etc.) is not needed: dropped */
    if (!pop(c) || !top(c))
      return FALSE;
    return TRUE;
  case '0': /* POP */
    return pop(c) != NULL;
  case '2': /* DUP */
    if (!(o = top(c)))
      return FALSE;
    push(c, o);
    return TRUE;
  default:
    return perr(c,
                "refusing opcode 0x%02x ('%c') at offset %td: not used by torch.save of a "
                "state dict",
                op, g_ascii_isprint(op) ? op : '?', c->p - 1 - c->start);
  }
}

UfoPkObj *ufo_unpickle(const uint8_t *data, size_t len, gboolean allow_unknown, UfoUnpickler **out,
                       GError **error)
{
  UfoUnpickler *u = g_new0(UfoUnpickler, 1);
  u->objs = g_ptr_array_new_with_free_func(obj_free);
  u->stack = g_ptr_array_new();
  u->marks = g_ptr_array_new();
  u->memo = g_hash_table_new(NULL, NULL);
  u->allow_unknown = allow_unknown;
  Ctx c = {data, data, data + len, u, error};
  gboolean stop = FALSE;
  while (!stop) {
    if (c.p >= c.end) {
      perr(&c, "data ends without STOP");
      break;
    }
    if (!step(&c, &stop))
      break;
  }
  UfoPkObj *result = NULL;
  if (stop) {
    if (u->stack->len != 1 || u->marks->len != 0)
      perr(&c, "stack holds %u values at STOP, expected 1", u->stack->len);
    else
      result = g_ptr_array_index(u->stack, 0);
  }
  if (!result) {
    ufo_unpickler_free(u);
    u = NULL;
  }
  *out = u;
  return result;
}
