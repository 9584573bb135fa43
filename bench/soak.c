/* Soak: train for many iterations and watch resident memory, to show that a
 * long run does not grow. Run it plain, under an ASan build, and under
 * valgrind (bench/soak.sh does all three). Prints RSS every `every`
 * iterations and exits 1 if the RSS of the second half grew by more than
 * 1 MiB over its start (after warm-up), or on any library error. A third
 * argument "nogrowth-check" skips the RSS check (under valgrind the tool's
 * own memory grows; valgrind checks leaks and errors instead).
 * Usage: soak [iterations] [every] [nogrowth-check] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fpo/fpo.h>

#include "pendulum.h"

static long rss_kib(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 2000;
    int every = argc > 2 ? atoi(argv[2]) : 200;
    int check_growth = !(argc > 3 && strcmp(argv[3], "nogrowth-check") == 0);
    char err[256];
    void *user = NULL;
    if (task_pendulum.open(&user, NULL, err, sizeof err))
        return 1;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = task_pendulum.table;
    tc.env_user = user;
    tc.num_envs = 8;
    tc.horizon = 32;
    tc.threads = 2;
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.actor_layers = pc.critic_layers = 2;
    for (int i = 0; i < 2; i++)
        pc.actor_hidden[i] = pc.critic_hidden[i] = 64;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, FPO_ALGO_FPO);
    oc.epochs = 2;
    oc.minibatches = 4;
    oc.reward_scale = 0.1f;
    tc.policy = &pc;
    tc.optimizer = &oc;
    fpo_trainer *t;
    if (fpo_trainer_create(&t, &tc)) {
        fprintf(stderr, "soak: %s\n", fpo_last_errmsg());
        return 1;
    }
    char path[] = "/tmp/fpo_soak_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    long start = -1, peak = 0;
    int status = 0;
    for (int i = 1; i <= iters; i++) {
        fpo_progress pr = {sizeof pr};
        int rc = fpo_trainer_iterate(t, &pr);
        /* also exercise checkpoints: save every 10 iterations, restore now and then */
        if (rc == FPO_OK && i % 10 == 0)
            rc = fpo_trainer_save(t, path);
        if (rc == FPO_OK && i > 10 && i % 500 == 5)
            rc = fpo_trainer_restore(t, path);
        if (rc) {
            fprintf(stderr, "soak: iteration %d: %s: %s\n", i, fpo_strerror(rc),
                    fpo_trainer_errmsg(t));
            status = 1;
            break;
        }
        long r = rss_kib();
        if (i == iters / 2)
            start = r;
        if (i > iters / 2 && r > peak)
            peak = r;
        if (i % every == 0)
            printf("iteration %5d  env steps %8lld  return %9.2f  RSS %ld KiB\n", i,
                   (long long)pr.env_steps, pr.mean_return, r);
    }
    if (status == 0 && start > 0) {
        printf("RSS over the second half: %ld KiB at its start, %ld KiB peak\n", start, peak);
        if (check_growth && peak - start > 1024) {
            printf("soak: memory grew\n");
            status = 1;
        }
    }
    unlink(path);
    fpo_trainer_destroy(t);
    task_pendulum.close(user);
    return status;
}
