/* Attributes of the backends' hot arithmetic: loops the sanitizers leave alone, and helpers
 * always inlined into them. Plain C. */
#ifndef UFO_BACKEND_HOT_LOOP_H
#define UFO_BACKEND_HOT_LOOP_H

/* The hot arithmetic loops (select_math.h's lanes, cpu/gemm_rows.c's blocks, cpu/mask_vec.h's
 * register arithmetic) run over memory the ops' wrappers validated; UBSan's checks would stop their
 * vectorisation (10x slower in the sanitizer builds the tests run in). */
#if defined(__GNUC__) || defined(__clang__)
#define UFO_HOT_LOOP __attribute__((no_sanitize("address", "undefined")))
#else
#define UFO_HOT_LOOP
#endif

/* Small helpers of those loops: always inlined, so that a sanitizer build (which inlines less)
 * still vectorises the loops around them (a call per element made the argmax a fifth of a
 * sanitized decode step). */
#if defined(__GNUC__) || defined(__clang__)
#define UFO_HOT_INLINE UFO_HOT_LOOP __attribute__((always_inline))
#else
#define UFO_HOT_INLINE
#endif

#endif
