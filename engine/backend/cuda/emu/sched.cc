/* CUDA emulation: the block scheduler (docs/cuda-emulation.md, "Scheduler", "Warps", "Errors").
 *
 * A launch runs its blocks one after another on the calling OS thread. Each CUDA thread of a block
 * is a fiber. A phase is the stretch between two __syncthreads: the ready fibers are picked in a
 * random order (seeded per block from UFO_EMU_SEED and the launch number) and each runs until it
 * reaches a barrier, waits in a warp collective or returns. The phase ends when no fiber is ready;
 * then every live fiber must wait at the same __syncthreads (else: barrier divergence) and none in
 * a warp collective (else: a lane named in the mask never arrived). Warp collectives are lock-step:
 * each lane deposits its operand and waits; the last lane of the mask to arrive computes every
 * lane's result and wakes the others. An error stops the launch: the block's remaining fibers are
 * abandoned (their stacks are pooled and cleaned before reuse) and the report becomes the
 * launch's cudaErrorLaunchFailure. */
#include "asan.h"
#include "emu_priv.h"
#include "fiber.h"

#include <memory>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <vector>

namespace ufo_emu
{

__thread uint3 threadIdx;
__thread uint3 blockIdx;
__thread uint3 blockDim;
__thread uint3 gridDim;

namespace detail
{

bool racecheck_on = false;

enum State { ST_READY, ST_BARRIER, ST_WARP, ST_EXITED, ST_ABORTED };
enum Kind { K_SHFL, K_VOTE, K_SYNCWARP, K_MMA };

struct Thread {
  FiberCtx ctx;
  State state;
  unsigned lin; /* linear index x + y * bx + z * bx * by; lane = lin % 32 */
  uint3 tid;
  const char *what, *file; /* where it waits */
  int line;
};

struct LaneSlot {
  uint64_t v; /* shuffle operand / vote predicate */
  int sub, arg, width;
  unsigned mma[10]; /* a[4], b[2], c[4] (as bits) */
  uint64_t r;       /* result */
  float d[4];       /* mma result */
};

struct Group { /* one pending collective of a warp; groups of one warp have disjoint masks */
  unsigned mask, arrived;
  Kind kind;
  const char *what, *file;
  int line;
};

struct Warp {
  unsigned exists, exited;
  int ngroups;
  uint32_t epoch; /* completed collectives (racecheck: ordering inside the warp) */
  Group groups[32];
  LaneSlot lane[32];
};

/* A UFO_SHARED variable of the running launch: its place in the arena and where it is declared. */
struct StaticVar {
  const void *site;
  size_t off, bytes;
  const char *name, *file;
  int line;
};

struct Runner {
  FiberHost host = {};
  std::vector<Thread> threads;
  std::vector<char *> stacks;
  bool stacks_dirty = false;
  std::vector<unsigned> ready;
  std::vector<Warp> warps;
  /* the block's shared memory: [0, smem) the launch's dynamic shared memory, from
   * static_base(smem) the UFO_SHARED variables in order of first use, each followed by a red
   * zone; every byte outside them is poisoned for ASan */
  char *arena = nullptr;
  size_t arena_cap = 0;
  std::vector<StaticVar> statics;
  size_t static_next = 0, static_bytes = 0;
  const Launch *launch = nullptr;
  Thread *cur = nullptr;
  bool in_block = false;
  uint64_t rng = 0;
  bool failed = false;
  std::string report;
  unsigned nwaiting = 0;
  uint64_t seed = 0, launch_no = 0;
  uint3 bidx = {0, 0, 0};
  /* racecheck shadow of the shared memory (arena offsets), per byte */
  bool race = false;
  uint32_t phase_stamp = 0; /* phases of all launches (shadow entries never need clearing) */
  unsigned block_phase = 0; /* phase number inside the running block, for reports */
  std::vector<unsigned char> snap;
  std::vector<uint32_t> sh_phase, sh_epoch, at_phase;
  std::vector<uint16_t> sh_tid;

  ~Runner();
};

/* ---- the shared-memory arena ---- */

static const size_t STATIC_SMEM_LIMIT = 48 * 1024; /* what a kernel may declare, on every GPU */
static const size_t SMEM_REDZONE = 64;             /* after the dynamic part and each variable */
static const size_t MAX_STATIC_VARS = 64;
static const size_t MAX_STATIC_ALIGN = 128;

static size_t round_up(size_t n, size_t a)
{
  return (n + a - 1) / a * a;
}

static size_t static_base(size_t smem)
{
  return round_up(smem, 128) + SMEM_REDZONE;
}

/* room for any static layout the limits allow */
static size_t arena_need(size_t smem)
{
  return static_base(smem) + STATIC_SMEM_LIMIT +
         MAX_STATIC_VARS * (MAX_STATIC_ALIGN + SMEM_REDZONE);
}

Runner::~Runner()
{
  for (char *s : stacks)
    fiber_stack_free(s);
  if (arena)
    mem_unpoison(arena, arena_cap);
  free(arena);
}

static thread_local std::unique_ptr<Runner> tl_owner;
static __thread Runner *tl_cur; /* the runner of the launch running on this OS thread */

static uint64_t splitmix(uint64_t *s)
{
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static std::string vfmt(const char *fmt, va_list ap)
{
  char buf[1024];
  vsnprintf(buf, sizeof buf, fmt, ap);
  return buf;
}

/* Record the first error of the launch with its context. */
static void record(Runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void record(Runner *r, const char *fmt, ...)
{
  if (r->failed)
    return;
  va_list ap;
  va_start(ap, fmt);
  std::string msg = vfmt(fmt, ap);
  va_end(ap);
  const Launch &l = *r->launch;
  char ctx[512];
  snprintf(ctx, sizeof ctx,
           "kernel %s, grid (%u,%u,%u), block (%u,%u,%u), in block (%u,%u,%u): ", l.name, l.grid.x,
           l.grid.y, l.grid.z, l.block.x, l.block.y, l.block.z, r->bidx.x, r->bidx.y, r->bidx.z);
  char tail[160];
  snprintf(tail, sizeof tail, " [emulation order seed UFO_EMU_SEED=%llu, launch #%llu]",
           (unsigned long long)r->seed, (unsigned long long)r->launch_no);
  r->report = std::string(ctx) + msg + tail;
  r->failed = true;
}

static std::string thread_name(Runner *r, unsigned lin)
{
  const Thread &t = r->threads[lin];
  char b[64];
  snprintf(b, sizeof b, "thread (%u,%u,%u)", t.tid.x, t.tid.y, t.tid.z);
  return b;
}

/* An error found by a CUDA thread: record it and leave for good (the fiber is abandoned; it never
 * returns, but is not declared [[noreturn]]: ASan's no-return hook must not run on a fiber). */
static void thread_fail(Runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void thread_fail(Runner *r, const char *fmt, ...)
{
  /* no heap objects on this stack: it is abandoned, their destructors would never run */
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  const uint3 &t = r->cur->tid;
  record(r, "thread (%u,%u,%u): %s", t.x, t.y, t.z, msg);
  r->cur->state = ST_ABORTED;
  fiber_yield(&r->host, &r->cur->ctx);
  abort(); /* an aborted fiber is never resumed */
}

static Runner *runner_in_kernel(const char *what)
{
  Runner *r = tl_cur;
  if (!r || !r->in_block) {
    fprintf(stderr, "ufo cuda emulation: %s called outside a kernel\n", what);
    abort(); /* a programming error in test code, not a runtime condition */
  }
  return r;
}

/* ---- racecheck: write-write conflicts on shared memory inside one phase ---- */

/* The snapshot is the arena as of the last attribution: race_range brings it up to date byte by
 * byte, so a full copy is needed only after the block-start fill. */
static void race_snap(Runner *r)
{
  memcpy(r->snap.data(), r->arena, r->launch->smem);
  for (const StaticVar &v : r->statics)
    memcpy(r->snap.data() + v.off, r->arena + v.off, v.bytes);
}

/* Attribute the bytes of [off, off + n) changed since the snapshot to the current thread (and
 * update the snapshot); a byte another thread changed in the same phase, with no warp collective
 * of a shared warp in between, is a race (recorded: FALSE). v: the static variable, or NULL for
 * dynamic memory. */
static bool race_range(Runner *r, Thread *t, size_t off, size_t n, const StaticVar *v)
{
  const unsigned char *a = (const unsigned char *)r->arena;
  unsigned char *s = r->snap.data();
  const Warp &w = r->warps[t->lin >> 5];
  for (size_t i = off; i < off + n; i += 64) {
    size_t k = off + n - i < 64 ? off + n - i : 64;
    if (memcmp(a + i, s + i, k) == 0)
      continue;
    for (size_t b = i; b < i + k; b++) {
      if (a[b] == s[b])
        continue;
      s[b] = a[b];
      if (r->at_phase[b] == r->phase_stamp)
        continue;
      if (r->sh_phase[b] == r->phase_stamp && r->sh_tid[b] != t->lin) {
        unsigned o = r->sh_tid[b];
        bool same_warp = (o >> 5) == (t->lin >> 5);
        if (!same_warp || r->sh_epoch[b] == w.epoch) {
          char where[256];
          if (v)
            snprintf(where, sizeof where, "static shared %s (%s:%d) byte offset %zu", v->name,
                     v->file, v->line, b - v->off);
          else
            snprintf(where, sizeof where, "dynamic shared byte offset %zu", b);
          record(r,
                 "shared-memory race: %s written by %s and by %s between the same two barriers "
                 "(phase %u of the block) with no synchronisation between them",
                 where, thread_name(r, o).c_str(), thread_name(r, t->lin).c_str(), r->block_phase);
          return false;
        }
      }
      r->sh_phase[b] = r->phase_stamp;
      r->sh_tid[b] = (uint16_t)t->lin;
      r->sh_epoch[b] = w.epoch;
    }
  }
  return true;
}

static void race_diff(Runner *r, Thread *t)
{
  if (!race_range(r, t, 0, r->launch->smem, nullptr))
    return;
  for (const StaticVar &v : r->statics)
    if (!race_range(r, t, v.off, v.bytes, &v))
      return;
}

void note_atomic(const void *p, size_t n)
{
  Runner *r = tl_cur;
  if (!r || !r->race || !r->in_block)
    return;
  const char *c = (const char *)p;
  if (c < r->arena || c + n > r->arena + r->arena_cap)
    return;
  for (size_t i = 0; i < n; i++)
    r->at_phase[(size_t)(c - r->arena) + i] = r->phase_stamp;
}

/* ---- barriers ---- */

void syncthreads(const char *file, int line)
{
  Runner *r = runner_in_kernel("__syncthreads");
  Thread *t = r->cur;
  t->state = ST_BARRIER;
  t->what = "__syncthreads";
  t->file = file;
  t->line = line;
  fiber_yield(&r->host, &t->ctx);
}

/* ---- warp collectives ---- */

static void compute(Runner *r, Warp &w, const Group &g)
{
  if (g.kind == K_SHFL) {
    for (unsigned m = g.mask; m; m &= m - 1) {
      unsigned l = (unsigned)__builtin_ctz(m);
      LaneSlot &s = w.lane[l];
      unsigned width = (unsigned)s.width;
      unsigned lo = l & ~(width - 1), hi = lo + width - 1; /* the lane's segment */
      long src = 0;
      bool valid = true;
      switch (s.sub) {
      case SHFL_IDX:
        src = (long)(lo | ((unsigned)s.arg & (width - 1)));
        break;
      case SHFL_UP:
        src = (long)l - s.arg;
        valid = src >= (long)lo;
        break;
      case SHFL_DOWN:
        src = (long)l + s.arg;
        valid = src <= (long)hi;
        break;
      default: /* SHFL_XOR: may read an earlier segment, not a later one (PTX shfl.bfly) */
        src = (long)(l ^ ((unsigned)s.arg & 31u));
        valid = src <= (long)hi;
        break;
      }
      if (!valid)
        s.r = s.v; /* out of the segment: the lane's own value */
      else if (g.mask >> src & 1u)
        s.r = w.lane[src].v;
      else
        s.r = ~0ull; /* source lane not taking part: undefined on the GPU; poison (NaN) here */
    }
    (void)r;
  } else if (g.kind == K_VOTE) {
    unsigned ballot = 0;
    for (unsigned m = g.mask; m; m &= m - 1) {
      unsigned l = (unsigned)__builtin_ctz(m);
      if (w.lane[l].v)
        ballot |= 1u << l;
    }
    for (unsigned m = g.mask; m; m &= m - 1) {
      unsigned l = (unsigned)__builtin_ctz(m);
      int sub = w.lane[l].sub;
      w.lane[l].r = sub == VOTE_BALLOT ? ballot
                    : sub == VOTE_ANY  ? (ballot != 0)
                                       : (ballot == g.mask);
    }
  } else if (g.kind == K_MMA) {
    /* PTX ISA "Matrix Fragments for mma.m16n8k16" (.bf16 A/B, .f32 C/D); see ../mma.cuh:
     * groupID = lane >> 2, tig = lane % 4;
     * A (16x16, row): a[0] = (g, 2t..2t+1), a[1] = (g+8, 2t..), a[2] = (g, 2t+8..),
     *                 a[3] = (g+8, 2t+8..), the lower column in the low 16 bits;
     * B (16x8, col):  b[0] = k (2t..2t+1) of column g, b[1] = k (2t+8..2t+9), low bits first;
     * C, D (16x8):    c[0..1] = (g, 2t..2t+1), c[2..3] = (g+8, 2t..2t+1). */
    float A[16][16], B[16][8], C[16][8];
    for (unsigned l = 0; l < 32; l++) {
      const unsigned *in = w.lane[l].mma;
      unsigned g8 = l >> 2, t2 = (l & 3) * 2;
      for (int h = 0; h < 2; h++) {
        A[g8][t2 + h] = bf16_bits_to_f32((uint16_t)(in[0] >> (16 * h)));
        A[g8 + 8][t2 + h] = bf16_bits_to_f32((uint16_t)(in[1] >> (16 * h)));
        A[g8][t2 + 8 + h] = bf16_bits_to_f32((uint16_t)(in[2] >> (16 * h)));
        A[g8 + 8][t2 + 8 + h] = bf16_bits_to_f32((uint16_t)(in[3] >> (16 * h)));
        B[t2 + h][g8] = bf16_bits_to_f32((uint16_t)(in[4] >> (16 * h)));
        B[t2 + 8 + h][g8] = bf16_bits_to_f32((uint16_t)(in[5] >> (16 * h)));
        C[g8][t2 + h] = bits_float(in[6 + h]);
        C[g8 + 8][t2 + h] = bits_float(in[8 + h]);
      }
    }
    for (unsigned l = 0; l < 32; l++) {
      unsigned g8 = l >> 2, t2 = (l & 3) * 2;
      for (int q = 0; q < 4; q++) {
        unsigned i = g8 + (q >= 2 ? 8 : 0), j = t2 + (q & 1);
        /* bf16 x bf16 products are exact in fp32; the sum is fp32, in k order (the tensor
         * core's internal order and precision are not modelled) */
        float acc = C[i][j];
        for (int k = 0; k < 16; k++)
          acc += A[i][k] * B[k][j];
        w.lane[l].d[q] = acc;
      }
    }
  }
}

/* The calling lane has filled its slot; returns when every lane of mask arrived and the results
 * are in the slots. */
static void collective(Runner *r, unsigned mask, Kind kind, const char *what, const char *file,
                       int line)
{
  Thread *t = r->cur;
  unsigned lane = t->lin & 31, base = t->lin & ~31u;
  Warp &w = r->warps[t->lin >> 5];
  unsigned eff = mask & w.exists; /* lanes beyond the block's last thread do not exist */
  if (!(eff >> lane & 1u))
    thread_fail(r, "%s at %s:%d: mask 0x%08x does not name the calling lane %u", what, file, line,
                mask, lane);
  if (kind == K_MMA && eff != 0xffffffffu)
    thread_fail(r, "%s at %s:%d needs all 32 lanes of the warp (mask 0x%08x, lanes 0x%08x exist)",
                what, file, line, mask, w.exists);
  /* Groups of different masks may overlap (lanes 0-15 in a shuffle of mask 0xffff while lanes
   * 16-31 wait in __syncwarp(0xffffffff)): a lane waits in one group at a time, and a group that
   * can never complete is reported when the phase ends. */
  Group *g = nullptr;
  for (int i = 0; i < w.ngroups; i++) {
    if (w.groups[i].mask == eff) {
      g = &w.groups[i];
      break;
    }
  }
  if (!g) {
    g = &w.groups[w.ngroups++];
    *g = Group{eff, 0, kind, what, file, line};
  } else if (g->kind != kind) {
    thread_fail(r, "%s at %s:%d while lanes 0x%08x of the same mask 0x%08x wait in %s at %s:%d",
                what, file, line, g->arrived, eff, g->what, g->file, g->line);
  }
  g->arrived |= 1u << lane;
  if (g->arrived != eff) {
    t->state = ST_WARP;
    t->what = what;
    t->file = file;
    t->line = line;
    r->nwaiting++;
    fiber_yield(&r->host, &t->ctx);
    return;
  }
  compute(r, w, *g);
  if (r->race) { /* writes before the collective belong to the older epoch */
    race_diff(r, t);
    if (r->failed) {
      t->state = ST_ABORTED;
      fiber_yield(&r->host, &t->ctx);
      abort();
    }
  }
  w.epoch++;
  for (unsigned m = eff & ~(1u << lane); m; m &= m - 1) {
    unsigned l = (unsigned)__builtin_ctz(m);
    r->threads[base + l].state = ST_READY;
    r->ready.push_back(base + l);
    r->nwaiting--;
  }
  *g = w.groups[--w.ngroups];
}

static void check_width(Runner *r, int width, const char *what, const char *file, int line)
{
  if (width < 1 || width > 32 || (width & (width - 1)))
    thread_fail(r, "%s at %s:%d: width %d is not a power of 2 in [1, 32]", what, file, line, width);
}

uint64_t shfl(unsigned mask, uint64_t v, int sub, int arg, int width, const char *what,
              const char *file, int line)
{
  Runner *r = runner_in_kernel(what);
  check_width(r, width, what, file, line);
  LaneSlot &s = r->warps[r->cur->lin >> 5].lane[r->cur->lin & 31];
  s.v = v;
  s.sub = sub;
  s.arg = arg;
  s.width = width;
  collective(r, mask, K_SHFL, what, file, line);
  return r->warps[r->cur->lin >> 5].lane[r->cur->lin & 31].r;
}

unsigned vote(unsigned mask, int pred, int sub, const char *what, const char *file, int line)
{
  Runner *r = runner_in_kernel(what);
  LaneSlot &s = r->warps[r->cur->lin >> 5].lane[r->cur->lin & 31];
  s.v = pred != 0;
  s.sub = sub;
  collective(r, mask, K_VOTE, what, file, line);
  return (unsigned)r->warps[r->cur->lin >> 5].lane[r->cur->lin & 31].r;
}

void syncwarp(unsigned mask, const char *file, int line)
{
  Runner *r = runner_in_kernel("__syncwarp");
  collective(r, mask, K_SYNCWARP, "__syncwarp", file, line);
}

unsigned activemask()
{
  Runner *r = runner_in_kernel("__activemask");
  const Warp &w = r->warps[r->cur->lin >> 5];
  return w.exists & ~w.exited;
}

void mma_bf16_m16n8k16(float d[4], const unsigned a[4], const unsigned b[2], const float c[4],
                       const char *file, int line)
{
  const char *what = "ufo_mma_bf16_m16n8k16";
  Runner *r = runner_in_kernel(what);
  LaneSlot &s = r->warps[r->cur->lin >> 5].lane[r->cur->lin & 31];
  for (int i = 0; i < 4; i++) {
    s.mma[i] = a[i];
    s.mma[6 + i] = float_bits(c[i]);
  }
  s.mma[4] = b[0];
  s.mma[5] = b[1];
  collective(r, 0xffffffffu, K_MMA, what, file, line);
  const LaneSlot &o = r->warps[r->cur->lin >> 5].lane[r->cur->lin & 31];
  for (int i = 0; i < 4; i++)
    d[i] = o.d[i];
}

void *dyn_smem()
{
  Runner *r = runner_in_kernel("UFO_DYN_SMEM");
  return r->arena;
}

void *static_smem(const void *site, size_t bytes, size_t align, const char *name, const char *file,
                  int line)
{
  Runner *r = runner_in_kernel("UFO_SHARED");
  for (const StaticVar &v : r->statics)
    if (v.site == site)
      return r->arena + v.off;
  /* first use in this launch: the limits the GPU checks at the launch, then a place */
  const Launch &l = *r->launch;
  size_t total = r->static_bytes + bytes, attr = 0;
  if (total > STATIC_SMEM_LIMIT) {
    thread_fail(r,
                "static shared memory: %s (%s:%d, %zu bytes) brings the kernel's static shared "
                "memory to %zu bytes, over the %zu a kernel may declare",
                name, file, line, bytes, total, STATIC_SMEM_LIMIT);
    return nullptr;
  }
  /* the GPU: dynamic <= the attribute, whose default is 48 KiB less the static part, and
   * static + the attribute <= the device's opt-in maximum */
  bool optin = dyn_smem_attribute(l.key, &attr);
  if (optin ? total + attr > SMEM_OPTIN : total + l.smem > SMEM_DEFAULT) {
    if (optin)
      thread_fail(r,
                  "shared memory: %zu bytes static (with %s at %s:%d) and the %zu dynamic of the "
                  "kernel's cudaFuncAttributeMaxDynamicSharedMemorySize exceed the %zu bytes a "
                  "block may use (set the attribute to at most the maximum less the static part)",
                  total, name, file, line, attr, SMEM_OPTIN);
    else
      thread_fail(
          r,
          "shared memory: %zu bytes static (with %s at %s:%d) and %zu dynamic exceed the "
          "%zu bytes a block may use without the cudaFuncAttributeMaxDynamicSharedMemorySize "
          "opt-in",
          total, name, file, line, l.smem, SMEM_DEFAULT);
    return nullptr;
  }
  if (r->statics.size() >= MAX_STATIC_VARS || align > MAX_STATIC_ALIGN) {
    thread_fail(r,
                "static shared memory: %s (%s:%d): the emulation holds at most %zu variables per "
                "kernel, aligned to at most %zu bytes",
                name, file, line, MAX_STATIC_VARS, MAX_STATIC_ALIGN);
    return nullptr;
  }
  size_t off = round_up(r->static_next, align < 16 ? 16 : align);
  mem_unpoison(r->arena + off, bytes);
  memset(r->arena + off, 0xff, bytes); /* poison: NaN floats, -1 integers */
  /* the fill is nobody's write: the race check must not give it to this thread */
  if (r->race)
    memset(r->snap.data() + off, 0xff, bytes);
  r->static_next = off + bytes + SMEM_REDZONE;
  r->static_bytes = total;
  r->statics.push_back(StaticVar{site, off, bytes, name, file, line});
  return r->arena + off;
}

/* ---- blocks ---- */

static void thread_main(void *arg)
{
  Thread *t = (Thread *)arg;
  Runner *r = tl_cur;
  fiber_started(&r->host);
  r->launch->invoke(r->launch->ctx);
  t->state = ST_EXITED;
  r->warps[t->lin >> 5].exited |= 1u << (t->lin & 31);
  fiber_exit(&r->host, &t->ctx);
}

static const char *state_text(Runner *r, unsigned lin, char *buf, size_t n)
{
  const Thread &t = r->threads[lin];
  if (t.state == ST_EXITED)
    snprintf(buf, n, "has returned");
  else
    snprintf(buf, n, "waits in %s at %s:%d", t.what, t.file, t.line);
  return buf;
}

/* No fiber is ready: the phase is over. FALSE (recorded) if it cannot end cleanly. */
static bool end_phase(Runner *r, unsigned n)
{
  char b1[256], b2[256];
  if (r->nwaiting) { /* a warp collective that cannot complete */
    for (unsigned i = 0; i < n; i++) {
      if (r->threads[i].state != ST_WARP)
        continue;
      const Warp &w = r->warps[i >> 5];
      for (int k = 0; k < w.ngroups; k++) {
        const Group &g = w.groups[k];
        if (!(g.mask >> (i & 31) & 1u))
          continue;
        unsigned missing = (unsigned)__builtin_ctz(g.mask & ~g.arrived);
        unsigned lin = (i & ~31u) + missing;
        record(r,
               "lanes 0x%08x of warp %u wait in %s at %s:%d (mask 0x%08x), but lane %u (%s) "
               "named in the mask never arrives: it %s",
               g.arrived, i >> 5, g.what, g.file, g.line, g.mask, missing,
               thread_name(r, lin).c_str(), state_text(r, lin, b1, sizeof b1));
        return false;
      }
    }
    record(r, "internal error: waiting lanes without a pending warp collective");
    return false;
  }
  int first = -1;
  for (unsigned i = 0; i < n; i++) {
    const Thread &t = r->threads[i];
    if (t.state != ST_BARRIER)
      continue;
    if (first < 0) {
      first = (int)i;
      continue;
    }
    const Thread &f = r->threads[first];
    if (t.line != f.line || strcmp(t.file, f.file) != 0) {
      record(r, "barrier divergence: %s %s, %s %s", thread_name(r, first).c_str(),
             state_text(r, first, b1, sizeof b1), thread_name(r, i).c_str(),
             state_text(r, i, b2, sizeof b2));
      return false;
    }
  }
  return true;
}

static bool run_block(Runner *r, const Launch &l, uint3 bidx)
{
  unsigned bx = l.block.x, by = l.block.y, n = l.block.x * l.block.y * l.block.z;
  r->bidx = bidx;
  blockIdx = bidx;
  while (r->stacks.size() < n) {
    char *s = fiber_stack_alloc();
    if (!s) {
      record(r, "out of memory for %u fiber stacks", n);
      return false;
    }
    r->stacks.push_back(s);
  }
  if (r->stacks_dirty) {
    for (char *s : r->stacks)
      fiber_stack_clean(s);
    r->stacks_dirty = false;
  }
  if (r->threads.size() < n) /* never shrinks: threads[i] keeps stacks[i] and its ASan state */
    r->threads.resize(n);
  unsigned nw = (n + 31) / 32;
  r->warps.resize(nw);
  for (unsigned w = 0; w < nw; w++) {
    unsigned have = n - w * 32;
    r->warps[w].exists = have >= 32 ? 0xffffffffu : (1u << have) - 1u;
    r->warps[w].exited = 0;
    r->warps[w].ngroups = 0;
    r->warps[w].epoch = 0;
  }
  if (l.smem)
    memset(r->arena, 0xff, l.smem); /* poison: NaN floats, -1 integers */
  for (const StaticVar &v : r->statics)
    memset(r->arena + v.off, 0xff, v.bytes);
  if (r->race)
    race_snap(r);
  uint64_t s = r->seed ^ (r->launch_no * 0x2545f4914f6cdd1dull) ^
               ((((uint64_t)bidx.z * l.grid.y + bidx.y) * l.grid.x + bidx.x) << 20);
  r->rng = splitmix(&s);
  r->ready.clear();
  for (unsigned i = 0; i < n; i++) {
    Thread &t = r->threads[i];
    t.ctx.stack = r->stacks[i];
    t.ctx.size = fiber_stack_size();
    fiber_init(&t.ctx, thread_main, &t);
    t.state = ST_READY;
    t.lin = i;
    t.tid = uint3{i % bx, (i / bx) % by, i / (bx * by)};
    r->ready.push_back(i);
  }
  unsigned live = n;
  r->nwaiting = 0;
  r->in_block = true;
  r->block_phase = 0;
  for (;;) {
    r->phase_stamp++;
    r->block_phase++;
    while (!r->ready.empty()) {
      size_t j = (size_t)(splitmix(&r->rng) % r->ready.size());
      unsigned i = r->ready[j];
      r->ready[j] = r->ready.back();
      r->ready.pop_back();
      Thread &t = r->threads[i];
      r->cur = &t;
      threadIdx = t.tid;
      fiber_resume(&r->host, &t.ctx);
      if (r->race && !r->failed)
        race_diff(r, &t);
      if (r->failed) {
        r->stacks_dirty = true;
        r->in_block = false;
        return false;
      }
      if (t.state == ST_EXITED)
        live--;
    }
    if (live == 0)
      break;
    if (!end_phase(r, n)) {
      r->stacks_dirty = true;
      r->in_block = false;
      return false;
    }
    for (unsigned i = 0; i < n; i++) {
      if (r->threads[i].state == ST_BARRIER) {
        r->threads[i].state = ST_READY;
        r->ready.push_back(i);
      }
    }
  }
  r->in_block = false;
  return true;
}

static cudaError_t check_config(const Launch &l)
{
  const dim3 &b = l.block, &g = l.grid;
  if (b.x < 1 || b.y < 1 || b.z < 1 || b.x > 1024 || b.y > 1024 || b.z > 64 ||
      (uint64_t)b.x * b.y * b.z > 1024)
    return cudaErrorInvalidConfiguration;
  if (g.x < 1 || g.y < 1 || g.z < 1 || g.x > 2147483647u || g.y > 65535 || g.z > 65535)
    return cudaErrorInvalidConfiguration;
  if (l.smem > dyn_smem_limit(l.key))
    return cudaErrorInvalidValue;
  if (!stream_valid(l.stream))
    return cudaErrorInvalidResourceHandle;
  return cudaSuccess;
}

void record_launch(const Launch &l, std::function<void()> replay)
{
  if (tl_cur && tl_cur->in_block) {
    set_last_error(cudaErrorNotSupported);
    return;
  }
  cudaError_t e = check_config(l);
  if (e == cudaSuccess)
    e = record_node(l.stream, std::move(replay));
  if (e != cudaSuccess)
    set_last_error(e);
}

void launch(const Launch &l)
{
  if (tl_cur && tl_cur->in_block) { /* a launch from inside a kernel (dynamic parallelism) */
    set_last_error(cudaErrorNotSupported);
    return;
  }
  cudaError_t e = check_config(l);
  if (e != cudaSuccess) {
    set_last_error(e);
    return;
  }
  if (!tl_owner)
    tl_owner.reset(new Runner());
  Runner *r = tl_owner.get();
  size_t need = round_up(arena_need(l.smem), 128);
  if (need > r->arena_cap) {
    char *a = (char *)aligned_alloc(128, need);
    if (!a) {
      set_last_error(cudaErrorLaunchOutOfResources);
      return;
    }
    if (r->arena)
      mem_unpoison(r->arena, r->arena_cap);
    free(r->arena);
    r->arena = a;
    r->arena_cap = need;
  }
  /* only the dynamic part is addressable until UFO_SHARED declarations are reached */
  mem_unpoison(r->arena, l.smem);
  mem_poison(r->arena + l.smem, r->arena_cap - l.smem);
  r->statics.clear();
  r->static_next = static_base(l.smem);
  r->static_bytes = 0;
  r->launch = &l;
  r->failed = false;
  r->report.clear();
  r->seed = seed_value();
  r->launch_no = next_launch_number();
  r->race = racecheck_on || racecheck_env();
  if (r->race && r->snap.size() < r->arena_cap) {
    r->snap.resize(r->arena_cap);
    r->sh_phase.assign(r->arena_cap, 0);
    r->sh_epoch.assign(r->arena_cap, 0);
    r->at_phase.assign(r->arena_cap, 0);
    r->sh_tid.assign(r->arena_cap, 0);
  }
  tl_cur = r;
  gridDim = uint3{l.grid.x, l.grid.y, l.grid.z};
  blockDim = uint3{l.block.x, l.block.y, l.block.z};
  bool ok = true;
  for (unsigned z = 0; ok && z < l.grid.z; z++)
    for (unsigned y = 0; ok && y < l.grid.y; y++)
      for (unsigned x = 0; ok && x < l.grid.x; x++)
        ok = run_block(r, l, uint3{x, y, z});
  tl_cur = nullptr;
  r->cur = nullptr;
  r->launch = nullptr;
  if (!ok)
    set_kernel_failure(r->report);
}

} /* namespace detail */
} /* namespace ufo_emu */
