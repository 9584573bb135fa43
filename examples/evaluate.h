/* Evaluation of a policy on an example task: shared by the example programs. */
#ifndef FPO_EXAMPLE_EVALUATE_H
#define FPO_EXAMPLE_EVALUATE_H

#include <fpo/fpo.h>

#include "tasks/task.h"

typedef struct eval_result {
    int episodes;
    double mean_return, std_return, mean_length;
    int successes; /* episodes in which a step reported FPO_STEP_SUCCESS */
} eval_result;

/* Run `episodes` episodes (one per environment instance, in parallel on
 * `threads`) with sampler settings sc (max_batch and seed are set here).
 * Returns 0 or a negative FPO_E* code; err receives a message. */
int evaluate_policy(const task_info *task, void *user, const fpo_policy *p,
                    const fpo_sampler_config *sc, int episodes, int threads, uint64_t seed,
                    eval_result *out, char *err, size_t errlen);

#endif
