/* Internal: small helpers shared by every module. */
#ifndef FPO_INTERNAL_UTIL_H
#define FPO_INTERNAL_UTIL_H

#include <math.h>
#include <stddef.h>
#include <string.h>

#include "error.h"

/* Every bit an environment step may report (any other is an error), and
 * the bits that end an episode. */
#define FPO_STEP_ALL_ (FPO_STEP_TERMINATED | FPO_STEP_TRUNCATED | FPO_STEP_SUCCESS)
#define FPO_STEP_ENDED_ (FPO_STEP_TERMINATED | FPO_STEP_TRUNCATED)

/* Copy a growable config: defaults first, then the min(struct_size, sizeof)
 * bytes the caller knows about. Older callers (smaller struct_size) get
 * defaults for the appended fields; newer ones have their extra tail ignored.
 * Returns FPO_EINVAL for NULL or a struct_size too small to hold the size. */
#define FPO_COPY_CONFIG(err, dst, src, init_call)                                   \
    (!(src) ? fpo_fail((err), FPO_EINVAL, "config is NULL")                        \
     : (src)->struct_size < sizeof(size_t)                                          \
         ? fpo_fail((err), FPO_EINVAL, "config struct_size %zu is too small; call " \
                                       "the config_init function first",            \
                    (size_t)(src)->struct_size)                                     \
         : (init_call, memcpy((dst), (src), (src)->struct_size < sizeof *(dst)      \
                                               ? (src)->struct_size                 \
                                               : sizeof *(dst)),                    \
            (dst)->struct_size = sizeof *(dst), FPO_OK))

/* Same for output structs the caller sizes: write only what it has room for
 * and keep its struct_size. FPO_EINVAL if dst is NULL or struct_size is 0. */
static inline int fpo_copy_out(void *dst, const void *src, size_t src_size)
{
    size_t dst_size;
    if (!dst)
        return FPO_EINVAL;
    memcpy(&dst_size, dst, sizeof dst_size);
    if (dst_size < sizeof(size_t))
        return FPO_EINVAL;
    memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t),
           (dst_size < src_size ? dst_size : src_size) - sizeof(size_t));
    return FPO_OK;
}

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
