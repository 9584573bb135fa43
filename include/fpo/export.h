/* libfpo: exporting a policy as one dependency-free C file.
 *
 * fpo_policy_export_c writes PATH.h and PATH.c: C99 that includes nothing
 * but <stddef.h>, <stdint.h> and <math.h>, allocates nothing, writes no
 * globals and does not need libfpo. They hold the actor's weights as
 * static const float arrays, the observation normalization, the chosen
 * sampler loop with a fixed step count (flow) or the mean and standard
 * deviation (Gaussian), the clamp, squash and action bounds, and
 *
 *   int NAME_act(const float *obs, const float *noise_or_NULL,
 *                float *action, float *scratch);
 *
 * with NAME_OBS_DIM, NAME_CHUNK, NAME_ACT_DIM, NAME_NOISE_FLOATS and
 * NAME_SCRATCH_FLOATS as macros. A policy with action chunks returns its
 * whole chunk, NAME_CHUNK x NAME_ACT_DIM floats, as fpo_sampler_act does. It computes what fpo_sampler_act computes
 * for one observation with the same integrator and steps: noise_or_NULL is
 * the initial point x_1 of a flow (NULL: x_1 = 0, FPO_NOISE_ZERO) or the
 * standard normal draw of a Gaussian (NULL: the mean). The sampler's SDE
 * noise is not exported. The value network is not exported.
 * docs/embedding.md ("Deploying without libfpo") has the details, the
 * measured agreement with fpo_sampler_act and sizes on microcontrollers. */
#ifndef FPO_EXPORT_H
#define FPO_EXPORT_H

#include "fpo/common.h"
#include "fpo/policy.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fpo_export_config {
    size_t struct_size;
    /* Prefix of every identifier in the generated files: a letter, then
     * letters, digits or '_', at most 64 characters. NULL (default): the
     * last component of the path. */
    const char *name;
    /* Flow policies: an fpo_integrator, or -1 (default) for the policy's
     * deployment setting (fpo_policy_get_sampler_defaults). */
    int integrator;
    /* Flow policies: integration steps 1..1000, or 0 (default) for the
     * policy's deployment setting. */
    int steps;
    /* 0 (default): act uses noise_or_NULL when it is not NULL. 1: act
     * ignores it (flow: x_1 = 0; Gaussian: the mean), NAME_NOISE_FLOATS 0. */
    int deterministic;
} fpo_export_config;

/* Fill *cfg with the defaults, for a struct of size bytes (pass sizeof *cfg),
 * and set cfg->struct_size = size (docs/abi.md). FPO_EINVAL for NULL or a
 * size below the first release's. Since LIBFPO_1.1. */
FPO_API int fpo_export_config_init_sized(fpo_export_config *cfg, size_t size);
#define fpo_export_config_init(cfg) fpo_export_config_init_sized((cfg), sizeof *(cfg))

/* Write path + ".h" and path + ".c" (each atomically: a temporary file in
 * the same directory, fsync, rename; PATH.c is written first, and it refuses
 * to compile with a PATH.h of another export). The actor must have finite
 * parameters and statistics. Errors: FPO_EINVAL (NULL argument, a name that
 * is not an identifier), FPO_ERANGE (integrator, steps, deterministic),
 * FPO_ENONFINITE, FPO_ENOMEM, FPO_EIO; the message is in fpo_last_errmsg().
 * Since LIBFPO_1.1. */
FPO_API int fpo_policy_export_c(const fpo_policy *p, const char *path,
                                const fpo_export_config *cfg);

#ifdef __cplusplus
}
#endif

#endif
