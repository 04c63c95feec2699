/* CUDA emulation: stackful fibers for the CUDA threads of a block (docs/cuda-emulation.md,
 * "Scheduler"). x86-64: a hand-written switch of the callee-saved registers (no system call,
 * a few ns); other targets: ucontext. AddressSanitizer is told about every switch. */
#ifndef UFO_CUDA_EMU_FIBER_H
#define UFO_CUDA_EMU_FIBER_H

#include <stddef.h>

namespace ufo_emu
{
namespace detail
{

struct FiberCtx {
  void *sp;    /* saved stack pointer (x86-64) or ucontext_t * (fallback) */
  char *stack; /* usable stack [stack, stack + size) */
  size_t size;
  void *asan_fake; /* ASan fake stack of this fiber while it is switched out */
  char *dirty;     /* ASan: [dirty, stack + size) holds the poisoned frames of an exited fiber */
};

/* A stack of fiber_stack_size() bytes below which one guard page faults on overflow. */
char *fiber_stack_alloc();
void fiber_stack_free(char *stack);
size_t fiber_stack_size();
/* Tell ASan the stack holds no poisoned frames (after fibers were abandoned on it). */
void fiber_stack_clean(char *stack);

/* The scheduler side of one OS thread. */
struct FiberHost {
  void *sp;
  const void *bottom; /* the OS thread's stack, for ASan, learnt at the first switch */
  size_t size;
  void *asan_fake;
};

/* Make ctx start fn(arg) on its stack at its next resume. */
void fiber_init(FiberCtx *ctx, void (*fn)(void *), void *arg);
/* Scheduler -> fiber; returns when the fiber yields or exits. */
void fiber_resume(FiberHost *host, FiberCtx *ctx);
/* Fiber -> scheduler; returns when the scheduler resumes this fiber. */
void fiber_yield(FiberHost *host, FiberCtx *ctx);
/* First statement of a fiber's function, and its way out (never returns; not declared
 * [[noreturn]]: ASan's no-return hook must not run on a fiber stack). */
void fiber_started(FiberHost *host);
void fiber_exit(FiberHost *host, FiberCtx *ctx);

} /* namespace detail */
} /* namespace ufo_emu */

#endif
