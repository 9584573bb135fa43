/* humanoid_pilot: how long the untrained humanoid stays up under each
 * actuation, through the tasks' own tables (docs/results.md,
 * "humanoid-root-goal-pd"). For humanoid-root-goal (torques) and
 * humanoid-root-goal-pd (PD targets) and for action noise std SD in
 * {0, 0.3, 1}: EPISODES episodes (reset seeds 1..EPISODES), every action
 * component clip(SD x N(0, 1), -1, 1) from a fixed-seed generator (SD 0:
 * zero actions, i.e. the motors off, or the standing pose held by PD); prints
 * the mean number of steps before the episode ends (a fall: head below .9 m;
 * 400 = truncation).
 *
 * Usage: humanoid_pilot [episodes (default 20)] */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "mujoco/humanoid.h"
#include "task.h"

static uint64_t next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double normal(uint64_t *s) /* Box-Muller */
{
    double u1 = ((double)(next(s) >> 11) + 1.0) / 9007199254740993.0;
    double u2 = (double)(next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

int main(int argc, char **argv)
{
    int episodes = argc > 1 ? atoi(argv[1]) : 20;
    if (episodes < 1 || episodes > 100000) {
        fprintf(stderr, "usage: humanoid_pilot [episodes (1..100000)]\n");
        return 2;
    }
    static const char *const tasks[] = {"humanoid-root-goal", "humanoid-root-goal-pd"};
    static const double sds[] = {0.0, 0.3, 1.0};
    printf("%-22s %5s %s\n", "task", "sd", "mean steps up (of 400)");
    for (int t = 0; t < 2; t++) {
        const task_info *ti = task_find(tasks[t]);
        char err[512] = "";
        void *user = NULL, *env = NULL;
        if (!ti || ti->open(&user, NULL, err, sizeof err) != 0) {
            fprintf(stderr, "humanoid_pilot: cannot open %s: %s\n", tasks[t], err);
            return 1;
        }
        const fpo_env_table *tb = ti->table;
        if (tb->create(user, 0, &env) != 0) {
            fprintf(stderr, "humanoid_pilot: cannot create an instance of %s\n", tasks[t]);
            ti->close(user);
            return 1;
        }
        for (int k = 0; k < 3; k++) {
            uint64_t rng = 12345;
            long long total = 0;
            for (int e = 1; e <= episodes; e++) {
                float obs[HUMANOID_OBS_DIM], act[HUMANOID_ACT_DIM], r;
                unsigned f = 0;
                if (tb->reset(user, env, (uint64_t)e, obs) != 0) {
                    fprintf(stderr, "humanoid_pilot: reset failed\n");
                    return 1;
                }
                int steps = 0;
                while (!f) {
                    for (int i = 0; i < HUMANOID_ACT_DIM; i++) {
                        double a = sds[k] * normal(&rng);
                        act[i] = (float)(a < -1.0 ? -1.0 : (a > 1.0 ? 1.0 : a));
                    }
                    if (tb->step(user, env, act, obs, &r, &f) != 0) {
                        fprintf(stderr, "humanoid_pilot: step failed\n");
                        return 1;
                    }
                    steps++;
                }
                total += steps;
            }
            printf("%-22s %5.1f %.1f\n", tasks[t], sds[k], (double)total / episodes);
        }
        tb->destroy(user, env);
        ti->close(user);
    }
    return 0;
}
