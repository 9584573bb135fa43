/* A program as it was built against release 0.1.0: compiled with the frozen
 * headers of abi/v1/include, so every fpo_X_config_init below is the LIBFPO_1
 * function and every struct has the first ABI's size. tests/abi/check_compat.sh
 * runs it on the current library (the old-binary / new-library case).
 *
 * Each struct the library writes is followed by a canary; the program fails
 * if the library wrote past the struct it was given, or if training fails. */
#include <stdio.h>
#include <string.h>

#include <fpo/fpo.h>

#define CANARY 64
#define FILL 0x5A

static int canary_ok(const unsigned char *c, const char *what)
{
    for (int i = 0; i < CANARY; i++)
        if (c[i] != FILL) {
            fprintf(stderr, "old_client: the library wrote past %s (byte %d)\n", what, i);
            return 0;
        }
    return 1;
}

#define WITH_CANARY(T) struct { T s; unsigned char canary[CANARY]; }

/* A one-dimensional task: reward -(x - 0.5)^2, episodes of 20 steps. */
typedef struct inst { float x; int t; } inst;
static inst insts[4];
static int env_create(void *user, int index, void **env)
{
    (void)user;
    *env = &insts[index];
    return 0;
}
static int env_reset(void *user, void *env, uint64_t seed, float *obs)
{
    (void)user;
    inst *s = env;
    s->x = (float)(seed % 7) / 7.0f - 0.5f;
    s->t = 0;
    obs[0] = s->x;
    return 0;
}
static int env_step(void *user, void *env, const float *act, float *obs, float *rew,
                    unsigned *flags)
{
    (void)user;
    inst *s = env;
    s->x += 0.1f * act[0];
    obs[0] = s->x;
    *rew = -(s->x - 0.5f) * (s->x - 0.5f);
    *flags = ++s->t >= 20 ? FPO_STEP_TRUNCATED : 0;
    return 0;
}

int main(void)
{
    int ok = 1;
    WITH_CANARY(fpo_policy_config) pc;
    WITH_CANARY(fpo_sampler_config) sc;
    WITH_CANARY(fpo_buffer_config) bc;
    WITH_CANARY(fpo_optimizer_config) oc;
    WITH_CANARY(fpo_vecenv_config) vc;
    WITH_CANARY(fpo_trainer_config) tc;
    memset(&pc, FILL, sizeof pc);
    memset(&sc, FILL, sizeof sc);
    memset(&bc, FILL, sizeof bc);
    memset(&oc, FILL, sizeof oc);
    memset(&vc, FILL, sizeof vc);
    memset(&tc, FILL, sizeof tc);
    fpo_policy_config_init(&pc.s);
    fpo_sampler_config_init(&sc.s);
    fpo_buffer_config_init(&bc.s);
    fpo_optimizer_config_init(&oc.s, FPO_ALGO_FPO);
    fpo_vecenv_config_init(&vc.s);
    fpo_trainer_config_init(&tc.s);
    ok &= canary_ok(pc.canary, "fpo_policy_config (init)");
    ok &= canary_ok(sc.canary, "fpo_sampler_config (init)");
    ok &= canary_ok(bc.canary, "fpo_buffer_config (init)");
    ok &= canary_ok(oc.canary, "fpo_optimizer_config (init)");
    ok &= canary_ok(vc.canary, "fpo_vecenv_config (init)");
    ok &= canary_ok(tc.canary, "fpo_trainer_config (init)");
    if (tc.s.struct_size != sizeof tc.s || pc.s.struct_size != sizeof pc.s) {
        fprintf(stderr, "old_client: init set struct_size %zu / %zu, expected %zu / %zu\n",
                tc.s.struct_size, pc.s.struct_size, sizeof tc.s, sizeof pc.s);
        ok = 0;
    }

    static const fpo_env_table table = {sizeof table, FPO_ENV_TABLE_VERSION, 1, 1, NULL, NULL,
                                        env_create, env_reset, env_step, NULL};
    pc.s.actor_hidden[0] = pc.s.actor_hidden[1] = 16;
    pc.s.critic_layers = 2;
    pc.s.critic_hidden[0] = pc.s.critic_hidden[1] = 32;
    oc.s.minibatches = 2;
    oc.s.epochs = 2;
    tc.s.env = &table;
    tc.s.num_envs = 4;
    tc.s.horizon = 16;
    tc.s.seed = 3;
    tc.s.policy = &pc.s;
    tc.s.optimizer = &oc.s;
    tc.s.sampler = &sc.s;
    fpo_trainer *t = NULL;
    int rc = fpo_trainer_create(&t, &tc.s);
    if (rc) {
        fprintf(stderr, "old_client: fpo_trainer_create: %s: %s\n", fpo_strerror(rc),
                fpo_last_errmsg());
        return 1;
    }
    for (int it = 0; it < 3 && ok; it++) {
        WITH_CANARY(fpo_progress) pr;
        memset(&pr, FILL, sizeof pr);
        pr.s.struct_size = sizeof pr.s;
        if ((rc = fpo_trainer_iterate(t, &pr.s))) {
            fprintf(stderr, "old_client: iterate: %s\n", fpo_trainer_errmsg(t));
            ok = 0;
        }
        ok &= canary_ok(pr.canary, "fpo_progress");
        ok &= pr.s.iteration == it + 1 && pr.s.update && pr.s.update->steps == 4;
    }
    WITH_CANARY(fpo_policy_info) info;
    memset(&info, FILL, sizeof info);
    info.s.struct_size = sizeof info.s;
    ok &= fpo_policy_get_info(fpo_trainer_policy(t), &info.s) == 0;
    ok &= canary_ok(info.canary, "fpo_policy_info");
    ok &= info.s.obs_dim == 1 && info.s.act_dim == 1;
    WITH_CANARY(fpo_policy_config) got;
    memset(&got, FILL, sizeof got);
    got.s.struct_size = sizeof got.s;
    ok &= fpo_policy_get_config(fpo_trainer_policy(t), &got.s) == 0;
    ok &= canary_ok(got.canary, "fpo_policy_config (get)");
    ok &= got.s.actor_hidden[0] == 16;
    fpo_trainer_destroy(t);
    printf("old_client: built against libfpo %s headers, ran on libfpo %s: %s\n",
           FPO_VERSION_STRING, fpo_version_string(), ok ? "ok" : "FAILED");
    return ok ? 0 : 1;
}
