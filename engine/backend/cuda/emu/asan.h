/* CUDA emulation: whether AddressSanitizer instruments this build (UFO_EMU_ASAN), its interface
 * when it does, and poisoning helpers that are no-ops when it does not (fiber.cc, sched.cc). */
#ifndef UFO_CUDA_EMU_ASAN_H
#define UFO_CUDA_EMU_ASAN_H

#include <stddef.h>

#if defined(__SANITIZE_ADDRESS__)
#define UFO_EMU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UFO_EMU_ASAN 1
#endif
#endif

#ifdef UFO_EMU_ASAN
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#endif

namespace ufo_emu
{
namespace detail
{

/* [p, p + n) unaddressable / addressable again for ASan */
static inline void mem_poison(const void *p, size_t n)
{
#ifdef UFO_EMU_ASAN
  __asan_poison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}

static inline void mem_unpoison(const void *p, size_t n)
{
#ifdef UFO_EMU_ASAN
  __asan_unpoison_memory_region(p, n);
#else
  (void)p, (void)n;
#endif
}

} /* namespace detail */
} /* namespace ufo_emu */

#endif
