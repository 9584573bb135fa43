#include "evaluate.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int evaluate_policy(const task_info *task, void *user, const fpo_policy *p,
                    const fpo_sampler_config *sc_in, int episodes, int threads, uint64_t seed,
                    eval_result *out, char *err, size_t errlen)
{
    const fpo_env_table *tab = task->table;
    int n = episodes, od = tab->obs_dim, ad = tab->act_dim, rc;
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = tab;
    vc.user = user;
    vc.num_envs = n;
    vc.threads = threads;
    vc.seed = seed;
    fpo_vecenv *v = NULL;
    fpo_sampler *s = NULL;
    fpo_sampler_config sc = *sc_in;
    sc.max_batch = n;
    sc.seed = seed ^ 0x5eedull;
    /* A policy with action chunks gives H actions per query, run open loop. */
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    int H = fpo_policy_get_config(p, &pc) == FPO_OK && pc.chunk > 1 ? (int)pc.chunk : 1;
    float *obs = calloc((size_t)n * od, sizeof(float)),
          *act = calloc((size_t)n * (size_t)H * ad, sizeof(float)),
          *act1 = calloc((size_t)n * ad, sizeof(float));
    float *rew = calloc((size_t)n, sizeof(float));
    unsigned *fl = calloc((size_t)n, sizeof(unsigned));
    double *ret = calloc((size_t)n, sizeof(double)), *len = calloc((size_t)n, sizeof(double));
    char *done = calloc((size_t)n, 1), *succ = calloc((size_t)n, 1);
    if (!obs || !act || !act1 || !rew || !fl || !ret || !len || !done || !succ) {
        rc = FPO_ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    if ((rc = fpo_vecenv_create(&v, &vc))) {
        snprintf(err, errlen, "cannot create environments: %s", fpo_strerror(rc));
        goto out;
    }
    if ((rc = fpo_sampler_create(&s, p, &sc))) {
        snprintf(err, errlen, "cannot create sampler: %s", fpo_strerror(rc));
        goto out;
    }
    if ((rc = fpo_vecenv_reset(v, obs))) {
        snprintf(err, errlen, "%s", fpo_vecenv_errmsg(v));
        goto out;
    }
    for (int left = n; left > 0;) {
        if ((rc = fpo_sampler_act(s, p, obs, n, act, NULL))) {
            snprintf(err, errlen, "%s", fpo_sampler_errmsg(s));
            goto out;
        }
        for (int j = 0; j < H && left > 0; j++) {
            const float *a = act;
            if (H > 1) { /* action j of every environment's chunk */
                for (int i = 0; i < n; i++)
                    memcpy(act1 + (size_t)i * ad, act + ((size_t)i * H + j) * ad,
                           (size_t)ad * sizeof(float));
                a = act1;
            }
            if ((rc = fpo_vecenv_step(v, a, obs, rew, fl, NULL))) {
                snprintf(err, errlen, "%s", fpo_vecenv_errmsg(v));
                goto out;
            }
            for (int i = 0; i < n; i++) {
                if (done[i])
                    continue;
                ret[i] += rew[i];
                len[i] += 1;
                succ[i] |= (fl[i] & FPO_STEP_SUCCESS) != 0;
                if (fl[i] & (FPO_STEP_TERMINATED | FPO_STEP_TRUNCATED)) {
                    done[i] = 1;
                    left--;
                }
            }
        }
    }
    double m = 0, m2 = 0, ml = 0;
    out->successes = 0;
    for (int i = 0; i < n; i++) {
        out->successes += succ[i];
        m += ret[i];
        m2 += ret[i] * ret[i];
        ml += len[i];
    }
    out->episodes = n;
    out->mean_return = m / n;
    out->std_return = sqrt(fmax(0.0, m2 / n - (m / n) * (m / n)));
    out->mean_length = ml / n;
out:
    fpo_sampler_destroy(s);
    fpo_vecenv_destroy(v);
    free(obs);
    free(act);
    free(act1);
    free(rew);
    free(fl);
    free(ret);
    free(len);
    free(done);
    free(succ);
    return rc;
}
