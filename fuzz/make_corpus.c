/* Writes the seed corpus for fuzz_checkpoint: a few valid policy checkpoints
 * of different kinds and shapes, and truncated copies of them.
 * Usage: make_corpus DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"

static int write_file(const char *dir, const char *name, const void *b, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "make_corpus: cannot write %s\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_corpus DIR\n");
        return 2;
    }
    static const struct {
        const char *name;
        fpo_policy_kind kind;
        int od, ad, al, ah, cl, ch;
        fpo_std_mode std;
        fpo_time_embedding temb;
        int norm;
    } specs[] = {
        {"flow_small", FPO_POLICY_FLOW, 2, 1, 1, 4, 1, 4, 0, FPO_TIME_SINUSOIDAL, 1},
        {"flow_raw_t", FPO_POLICY_FLOW, 3, 2, 2, 5, 0, 0, 0, FPO_TIME_RAW, 0},
        {"gauss_indep", FPO_POLICY_GAUSSIAN, 2, 2, 1, 3, 1, 3, FPO_STD_STATE_INDEPENDENT, 0, 1},
        {"gauss_dep", FPO_POLICY_GAUSSIAN, 1, 1, 2, 2, 1, 2, FPO_STD_STATE_DEPENDENT, 0, 1},
        {"gauss_fixed", FPO_POLICY_GAUSSIAN, 2, 1, 0, 0, 1, 2, FPO_STD_FIXED, 0, 0},
    };
    int bad = 0;
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        fpo_policy_config pc;
        fpo_policy_config_init(&pc);
        pc.kind = specs[i].kind;
        pc.obs_dim = specs[i].od;
        pc.act_dim = specs[i].ad;
        pc.actor_layers = specs[i].al;
        pc.critic_layers = specs[i].cl;
        for (int l = 0; l < FPO_MAX_LAYERS; l++) {
            pc.actor_hidden[l] = specs[i].ah;
            pc.critic_hidden[l] = specs[i].ch;
        }
        pc.std_mode = specs[i].std;
        pc.time_embedding = specs[i].temb;
        pc.normalize_obs = specs[i].norm;
        pc.seed = i;
        float lo[2] = {-2.0f, 0.0f}, hi[2] = {2.0f, 0.5f};
        pc.action_low = lo;
        pc.action_high = hi;
        fpo_policy *p;
        if (fpo_policy_create(&p, &pc) != FPO_OK) {
            fprintf(stderr, "make_corpus: cannot create %s\n", specs[i].name);
            return 1;
        }
        float obs[8] = {0.5f, -1.0f, 2.0f, 0.25f, 1.0f, 3.0f, -0.5f, 0.0f};
        fpo_policy_obs_accumulate(p, obs, 8 / specs[i].od > 2 ? 2 : 1);
        fpo_policy_obs_commit(p);
        size_t n;
        fpo_policy_save_mem(p, NULL, 0, &n);
        unsigned char *b = malloc(n);
        fpo_policy_save_mem(p, b, n, &n);
        char name[64];
        snprintf(name, sizeof name, "%s.ckpt", specs[i].name);
        bad |= write_file(argv[1], name, b, n);
        /* truncated copies: inside the header, inside the arrays */
        size_t cuts[2] = {n / 5, n - n / 4};
        for (int k = 0; k < 2; k++) {
            snprintf(name, sizeof name, "%s.cut%zu", specs[i].name, cuts[k]);
            bad |= write_file(argv[1], name, b, cuts[k]);
        }
        free(b);
        fpo_policy_destroy(p);
    }
    return bad;
}
