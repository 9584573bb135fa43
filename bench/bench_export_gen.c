/* Makes bench_export's policy: the reference actor of bench_act (4x32 SiLU,
 * obs 17, act 6), with random biases and observation statistics so no
 * layer is trivial, saved as OUT.fpo and exported (Euler, 10 steps) as
 * OUT.h / OUT.c. Usage: bench_export_gen OUT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/fpo.h>

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.obs_dim = 17;
    pc.act_dim = 6;
    pc.seed = 42;
    fpo_policy *p;
    if (fpo_policy_create(&p, &pc))
        return 1;
    fpo_policy_info info = {sizeof info};
    fpo_policy_get_info(p, &info);
    float *w = malloc(info.actor_params * sizeof *w);
    fpo_policy_get_params(p, FPO_NET_ACTOR, w, info.actor_params);
    srand(1);
    for (size_t i = 0; i < info.actor_params; i++)
        w[i] += 0.1f * ((float)rand() / (float)RAND_MAX - 0.5f);
    fpo_policy_set_params(p, FPO_NET_ACTOR, w, info.actor_params);
    free(w);
    float obs[17 * 64];
    for (int i = 0; i < 17 * 64; i++)
        obs[i] = (float)(i % 17) + 2.0f * ((float)rand() / (float)RAND_MAX - 0.5f);
    fpo_policy_obs_accumulate(p, obs, 64);
    fpo_policy_obs_commit(p);
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    fpo_policy_get_sampler_defaults(p, &sc);
    sc.integrator = FPO_INTEGRATOR_EULER;
    sc.steps = 10;
    fpo_policy_set_sampler_defaults(p, &sc);
    char path[4096];
    snprintf(path, sizeof path, "%s.fpo", argv[1]);
    fpo_export_config ec;
    fpo_export_config_init(&ec);
    ec.name = "benchpol";
    int rc = fpo_policy_save(p, path);
    if (rc == FPO_OK)
        rc = fpo_policy_export_c(p, argv[1], &ec);
    if (rc)
        fprintf(stderr, "bench_export_gen: %s\n", fpo_last_errmsg());
    fpo_policy_destroy(p);
    return rc ? 1 : 0;
}
