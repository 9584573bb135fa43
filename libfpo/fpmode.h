/* Internal: the floating-point mode the library's own kernels run in.
 *
 * Denormal (subnormal) floats cost a microcode assist per operation on
 * x86: in long training runs small gradients and Adam moments drift into
 * that range and the update's GEMMs slowed down 4-10x (docs/benchmarks.md,
 * "Long runs slowed down"). So every public function that runs the library's
 * kernels (the update, the sampler, pretraining) turns on flush-to-zero and
 * denormals-are-zero for its own duration and gives the caller's mode back
 * before it returns, on every path:
 *
 *     fpo_fpmode saved = fpo_fpmode_enter();
 *     int rc = work(...);
 *     fpo_fpmode_leave(saved);
 *
 * Only those two bits are added; the caller's rounding mode and exception
 * masks stay as they are. The pool's workers take the mode of the caller of
 * each fpo_pool_run (pool.c), so a parallel kernel runs in the same mode on
 * every thread, and a host's environment callbacks, which vecenv runs
 * outside any enter/leave, see the host's own mode on every thread.
 *
 * x86-64: MXCSR's FTZ (bit 15) and DAZ (bit 6). AArch64: FPCR.FZ (bit 24),
 * which flushes inputs and outputs alike. Elsewhere both calls do nothing
 * and denormals keep their IEEE meaning. */
#ifndef FPO_INTERNAL_FPMODE_H
#define FPO_INTERNAL_FPMODE_H

#include <stdint.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <xmmintrin.h>
#define FPO_FPMODE_FLUSH_ 0x8040u /* FTZ | DAZ */
#define FPO_FPMODE_STATUS_ 0x3Fu /* the sticky exception flags */
typedef unsigned fpo_fpmode;
static inline fpo_fpmode fpo_fpmode_get(void) { return _mm_getcsr(); }
static inline void fpo_fpmode_set(fpo_fpmode m) { _mm_setcsr(m); }
#elif defined(__aarch64__) && (defined(__GNUC__) || defined(__clang__))
#define FPO_FPMODE_FLUSH_ (UINT64_C(1) << 24) /* FPCR.FZ */
#define FPO_FPMODE_STATUS_ 0u /* the flags live in FPSR, untouched */
typedef uint64_t fpo_fpmode;
static inline fpo_fpmode fpo_fpmode_get(void)
{
    uint64_t v;
    __asm__ __volatile__("mrs %0, fpcr" : "=r"(v));
    return v;
}
static inline void fpo_fpmode_set(fpo_fpmode m) { __asm__ __volatile__("msr fpcr, %0" : : "r"(m)); }
#else
#define FPO_FPMODE_FLUSH_ 0u
#define FPO_FPMODE_STATUS_ 0u
typedef unsigned fpo_fpmode;
static inline fpo_fpmode fpo_fpmode_get(void) { return 0u; }
static inline void fpo_fpmode_set(fpo_fpmode m) { (void)m; }
#endif

/* Whether this platform flushes denormals in the library's kernels. */
#define FPO_FPMODE_FLUSHES (FPO_FPMODE_FLUSH_ != 0u)

/* Turns flushing on; returns the caller's mode for fpo_fpmode_leave. Writes
 * the control register only when a bit changes (a write is not free). */
static inline fpo_fpmode fpo_fpmode_enter(void)
{
    fpo_fpmode m = fpo_fpmode_get();
    if ((m & FPO_FPMODE_FLUSH_) != FPO_FPMODE_FLUSH_)
        fpo_fpmode_set(m | FPO_FPMODE_FLUSH_);
    return m;
}

/* Takes the control bits of m (the caller's saved mode, or another thread's),
 * keeping this thread's exception flags. Writes only on a change. */
static inline void fpo_fpmode_adopt(fpo_fpmode m)
{
    fpo_fpmode cur = fpo_fpmode_get();
    if ((cur ^ m) & ~(fpo_fpmode)FPO_FPMODE_STATUS_)
        fpo_fpmode_set((m & ~(fpo_fpmode)FPO_FPMODE_STATUS_) | (cur & FPO_FPMODE_STATUS_));
}

/* Gives the caller's control bits back; the exception flags the work raised
 * stay raised, as after any other function. */
static inline void fpo_fpmode_leave(fpo_fpmode saved) { fpo_fpmode_adopt(saved); }

#endif
