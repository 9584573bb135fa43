/* Internal: small helpers shared by every module. */
#ifndef FPO_INTERNAL_UTIL_H
#define FPO_INTERNAL_UTIL_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "abi.h"
#include "error.h"

/* Every bit an environment step may report (any other is an error), and
 * the bits that end an episode. */
#define FPO_STEP_ALL_ (FPO_STEP_TERMINATED | FPO_STEP_TRUNCATED | FPO_STEP_SUCCESS)
#define FPO_STEP_ENDED_ (FPO_STEP_TERMINATED | FPO_STEP_TRUNCATED)

/* Copy a caller's config over the library's defaults by the rules of abi.h:
 * init_call fills dst with the defaults, then the caller's struct_size bytes
 * are checked and copied. ID is the fpo_struct_id without FPO_S_. */
#define FPO_COPY_CONFIG(err, ID, dst, src, init_call) \
    ((void)(init_call), fpo_struct_in((err), FPO_S_##ID, (dst), sizeof *(dst), (src)))

/* A NULL argument of a public function, reported with the function's name in
 * the calling thread's message (fpo_last_errmsg()): a NULL handle has no
 * buffer of its own. */
#define FPO_NULL_ARG(what) fpo_fail(NULL, FPO_EINVAL, "%s: " what " is NULL", __func__)

static inline int fpo_all_finite(const float *x, size_t n)
{
    /* Sum of x*0 is NaN iff some x is NaN or Inf; vectorizes, no branches. */
    float acc = 0.0f;
    for (size_t i = 0; i < n; i++)
        acc += x[i] * 0.0f;
    return acc == 0.0f;
}

static inline size_t fpo_first_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return i;
    return n;
}

double fpo_now_seconds(void);

#endif
