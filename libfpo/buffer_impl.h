/* Internal: the rollout buffer, read by the optimizer. */
#ifndef FPO_INTERNAL_BUFFER_IMPL_H
#define FPO_INTERNAL_BUFFER_IMPL_H

#include "fpo/buffer.h"
#include "alloc.h"
#include "error.h"
#include "objective.h"
#include "rng.h"

struct fpo_buffer {
    fpo_errbuf err;
    fpo_mem mem;
    fpo_buffer_config cfg;
    fpo_flow_config pairs; /* n_mc, t_dist, t_beta as the flow objective reads them */
    fpo_rng rng;     /* keyed: its counter numbers the steps added (fpo_rng_fork) */
    int steps;       /* filled so far */
    int has_last;    /* set_last_obs called since clear */
    size_t cap;      /* num_envs * horizon */
    float *obs;      /* [cap x obs_dim] */
    float *act;      /* [cap x act_dim] raw x_0 */
    float *rew;      /* [cap] */
    unsigned *flags; /* [cap] */
    float *final_obs;/* [cap x obs_dim], valid where flags != 0 */
    float *last_obs; /* [num_envs x obs_dim] */
    float *pair_t;   /* [cap x n_mc] */
    float *pair_eps; /* [cap x n_mc x act_dim] */
    float *path;     /* DPPO: [cap x (path_steps + 1) x act_dim] */
    int path_filled; /* steps whose chains were given (fpo_buffer_add_path) */
    /* Action chunks (fpo_buffer_enable_chunks): environment steps each stored
     * transition took, [cap]; NULL: every transition took the policy's chunk. */
    unsigned char *ksteps;
};

#endif
