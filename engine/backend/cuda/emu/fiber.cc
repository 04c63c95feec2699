/* CUDA emulation: fiber stacks and context switches (fiber.h, docs/cuda-emulation.md). */
#include "fiber.h"
#include "asan.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace ufo_emu
{
namespace detail
{

/* CUDA threads run shallow kernels; ASan's red zones make frames several times larger. */
#ifdef UFO_EMU_ASAN
static const size_t STACK_SIZE = 256 * 1024;
#else
static const size_t STACK_SIZE = 64 * 1024;
#endif

size_t fiber_stack_size()
{
  return STACK_SIZE;
}

char *fiber_stack_alloc()
{
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  void *p =
      mmap(NULL, STACK_SIZE + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED)
    return NULL;
  mprotect(p, page, PROT_NONE); /* guard page: a stack overflow faults instead of corrupting */
  return (char *)p + page;
}

void fiber_stack_free(char *stack)
{
  /* ASan keeps the shadow of unmapped memory: red zones left by exited fibers would poison the
   * next mapping at this address (a pool of another OS thread, after this one ended) */
  fiber_stack_clean(stack);
  size_t page = (size_t)sysconf(_SC_PAGESIZE);
  munmap(stack - page, STACK_SIZE + page);
}

void fiber_stack_clean(char *stack)
{
#ifdef UFO_EMU_ASAN
  __asan_unpoison_memory_region(stack, STACK_SIZE);
#else
  (void)stack;
#endif
}

static inline void asan_start(void **fake_save, const void *bottom, size_t size)
{
#ifdef UFO_EMU_ASAN
  __sanitizer_start_switch_fiber(fake_save, bottom, size);
#else
  (void)fake_save, (void)bottom, (void)size;
#endif
}

static inline void asan_finish(void *fake_save, const void **bottom_old, size_t *size_old)
{
#ifdef UFO_EMU_ASAN
  __sanitizer_finish_switch_fiber(fake_save, bottom_old, size_old);
#else
  (void)fake_save, (void)bottom_old, (void)size_old;
#endif
}

#if defined(__x86_64__)

/* swap(save, next): push the callee-saved registers, store rsp in *save, load next, pop, ret.
 * boot: first return target of a new fiber: fn (r13) (arg (r12)) on a 16-byte aligned stack. */
extern "C" void ufo_emu_fiber_swap(void **save, void *next);
extern "C" void ufo_emu_fiber_boot();
asm(R"(
  .text
  .globl ufo_emu_fiber_swap
  .hidden ufo_emu_fiber_swap
  .type ufo_emu_fiber_swap,@function
  .p2align 4
ufo_emu_fiber_swap:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
  .size ufo_emu_fiber_swap,.-ufo_emu_fiber_swap

  .globl ufo_emu_fiber_boot
  .hidden ufo_emu_fiber_boot
  .type ufo_emu_fiber_boot,@function
  .p2align 4
ufo_emu_fiber_boot:
  movq %r12, %rdi
  callq *%r13
  ud2
  .size ufo_emu_fiber_boot,.-ufo_emu_fiber_boot
)");

/* The frames that were live when the previous fiber on this stack exited never returned, so
 * their ASan red zones are still poisoned: clear them before the stack is reused. */
static void clean_exited(FiberCtx *ctx)
{
#ifdef UFO_EMU_ASAN
  if (ctx->dirty) {
    char *lo = ctx->dirty < ctx->stack ? ctx->stack : ctx->dirty;
    __asan_unpoison_memory_region(lo, (size_t)(ctx->stack + ctx->size - lo));
  }
#endif
  ctx->dirty = NULL;
}

void fiber_init(FiberCtx *ctx, void (*fn)(void *), void *arg)
{
  clean_exited(ctx);
  uintptr_t top = ((uintptr_t)(ctx->stack + ctx->size)) & ~(uintptr_t)15;
  void **sp = (void **)(top - 72); /* sp = 8 mod 16: after 6 pops and ret, rsp is 16-aligned */
  sp[0] = 0;                       /* r15 */
  sp[1] = 0;                       /* r14 */
  sp[2] = (void *)fn;              /* r13 */
  sp[3] = arg;                     /* r12 */
  sp[4] = 0;                       /* rbx */
  sp[5] = 0;                       /* rbp: ends frame-pointer stack walks */
  sp[6] = (void *)&ufo_emu_fiber_boot;
  ctx->sp = sp;
  ctx->asan_fake = NULL;
}

static inline void swap_to(void **save, void *next)
{
  ufo_emu_fiber_swap(save, next);
}

#else /* ucontext fallback */

struct UcFiber {
  ucontext_t uc;
  void (*fn)(void *);
  void *arg;
};

static void uc_boot(unsigned hi, unsigned lo)
{
  UcFiber *f = (UcFiber *)(((uintptr_t)hi << 32) | lo);
  f->fn(f->arg);
  abort(); /* fibers leave through fiber_exit */
}

void fiber_init(FiberCtx *ctx, void (*fn)(void *), void *arg)
{
  clean_exited(ctx);
  UcFiber *f = (UcFiber *)ctx->sp;
  if (!f) {
    f = (UcFiber *)calloc(1, sizeof *f);
    if (!f)
      abort();
  }
  getcontext(&f->uc);
  f->uc.uc_stack.ss_sp = ctx->stack;
  f->uc.uc_stack.ss_size = ctx->size;
  f->uc.uc_link = NULL;
  f->fn = fn;
  f->arg = arg;
  uintptr_t p = (uintptr_t)f;
  makecontext(&f->uc, (void (*)())uc_boot, 2, (unsigned)(p >> 32), (unsigned)p);
  ctx->sp = f;
  ctx->asan_fake = NULL;
}

#endif

void fiber_resume(FiberHost *host, FiberCtx *ctx)
{
  asan_start(&host->asan_fake, ctx->stack, ctx->size);
#if defined(__x86_64__)
  swap_to(&host->sp, ctx->sp);
#else
  static thread_local ucontext_t host_uc;
  host->sp = &host_uc;
  swapcontext(&host_uc, &((UcFiber *)ctx->sp)->uc);
#endif
  asan_finish(host->asan_fake, NULL, NULL);
}

void fiber_yield(FiberHost *host, FiberCtx *ctx)
{
  asan_start(&ctx->asan_fake, host->bottom, host->size);
#if defined(__x86_64__)
  swap_to(&ctx->sp, host->sp);
#else
  swapcontext(&((UcFiber *)ctx->sp)->uc, (ucontext_t *)host->sp);
#endif
  asan_finish(ctx->asan_fake, &host->bottom, &host->size);
}

void fiber_started(FiberHost *host)
{
  asan_finish(NULL, &host->bottom, &host->size);
}

void fiber_exit(FiberHost *host, FiberCtx *ctx)
{
  /* everything from a little below this frame to the top stays poisoned (see clean_exited) */
  ctx->dirty = (char *)__builtin_frame_address(0) - 1024;
  asan_start(NULL, host->bottom, host->size); /* NULL: this fiber's fake stack is released */
#if defined(__x86_64__)
  void *dead;
  swap_to(&dead, host->sp);
#else
  setcontext((ucontext_t *)host->sp);
#endif
  abort(); /* never resumed */
}

} /* namespace detail */
} /* namespace ufo_emu */
