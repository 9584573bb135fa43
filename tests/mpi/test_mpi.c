/* Data-parallel training over Open MPI (libfpo_mpi), run by meson test as
 *   mpirun -np 2 test_mpi          (tests/mpi/run_mpi.sh adds the flags)
 * Checked, for FPO, FPO++ (per-sample ratios, SDE noise) and Gaussian PPO:
 *  (a) after 4 updates the parameters of both ranks are bit-identical (and
 *      the global statistics both report are the same);
 *  (b) 2 ranks x B environments give what 1 rank x 2B does (rank 0 trains
 *      that single-process run itself, without the collective): the same
 *      episodes before the first update, and parameters that agree to
 *      1e-6 of their largest magnitude after one update and 1e-5 after
 *      three (float summation order; the justification and the measured
 *      differences are in tests/test_collective.c); also 3 + 5 environments
 *      against 8;
 *  (c) an environment failure on rank 1 is FPO_ECALLBACK there and
 *      FPO_EREMOTE on rank 0, and training goes on;
 *  (d) fpo_mpi_collective_create's argument checks.
 * Prints one line per comparison; exit 0 only if every check passed on
 * every rank. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "fpo/fpo.h"
#include "fpo/mpi.h"
#include "toyenv.h"

#define OD 3
#define AD 2
#define TOL_ONE_UPDATE 1e-6
#define TOL_THREE_UPDATES 1e-5

static int rank_, failures_;

#define CHECK(cond, ...)                                                        \
    do {                                                                        \
        if (!(cond)) {                                                          \
            failures_++;                                                        \
            fprintf(stderr, "rank %d: FAIL %s:%d: %s: ", rank_, __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                       \
            fputc('\n', stderr);                                                \
        }                                                                       \
    } while (0)

typedef struct run {
    toy e;
    fpo_env_table tab;
    fpo_trainer *t;
    size_t np;
    float *after1, *after3; /* parameters after iterations 1 and 3 */
    fpo_episode_stats ep1;  /* episodes of iteration 1 */
    fpo_update_stats up1;
    int rc[4];
} run;

enum { VARIANT_FPO, VARIANT_FPO_PLUS, VARIANT_PPO };
static const char *const variant_name[] = {"FPO", "FPO++ per-sample + SDE noise", "PPO"};

static int make(run *r, int variant, int num_envs, const fpo_collective *coll, long fail_step_at)
{
    memset(r, 0, sizeof *r);
    toy_init(&r->e, OD, AD);
    r->tab = toy_table(&r->e);
    fpo_algo algo = variant == VARIANT_PPO ? FPO_ALGO_PPO : FPO_ALGO_FPO;
    fpo_policy_config pc;
    toy_policy_config(&pc, algo == FPO_ALGO_FPO ? FPO_POLICY_FLOW : FPO_POLICY_GAUSSIAN, OD, AD);
    pc.actor_hidden[0] = pc.actor_hidden[1] = 16;
    pc.critic_hidden[0] = pc.critic_hidden[1] = 16;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    oc.epochs = 2;
    oc.minibatches = 3;
    oc.lr = 1e-3f;
    if (variant == VARIANT_FPO_PLUS)
        oc.ratio_mode = FPO_RATIO_PER_SAMPLE;
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    if (variant == VARIANT_FPO_PLUS)
        sc.sde_noise = 0.3f;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &r->tab;
    tc.env_user = &r->e;
    tc.num_envs = num_envs;
    tc.horizon = 8;
    tc.n_mc = 3;
    tc.seed = 11;
    tc.policy = &pc;
    tc.optimizer = &oc;
    tc.sampler = &sc;
    tc.collective = coll;
    int rc = fpo_trainer_create(&r->t, &tc);
    if (rc)
        return rc;
    atomic_store(&r->e.fail_step_at, fail_step_at);
    fpo_policy_info info = {sizeof info};
    fpo_policy_get_info(fpo_trainer_policy(r->t), &info);
    r->np = info.actor_params + info.critic_params;
    r->after1 = malloc(r->np * sizeof(float));
    r->after3 = malloc(r->np * sizeof(float));
    return r->after1 && r->after3 ? FPO_OK : FPO_ENOMEM;
}

/* Four iterations; parameters kept after the first and the third. */
static void train(run *r)
{
    for (int it = 0; it < 4; it++) {
        fpo_progress pr = {sizeof pr};
        r->rc[it] = fpo_trainer_iterate(r->t, &pr);
        if (r->rc[it])
            continue;
        if (it == 0) {
            r->ep1 = *pr.episodes;
            r->up1 = *pr.update;
        }
        float *dst = it == 0 ? r->after1 : it == 2 ? r->after3 : NULL;
        if (dst)
            fpo_policy_get_params(fpo_trainer_policy(r->t), FPO_NET_ALL, dst, r->np);
    }
}

static void done(run *r)
{
    fpo_trainer_destroy(r->t);
    free(r->after1);
    free(r->after3);
}

static double rel_diff(const float *a, const float *b, size_t n)
{
    double d = 0, s = 1e-3;
    for (size_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - b[i]));
        s = fmax(s, fabs((double)b[i]));
    }
    return d / s;
}

/* Parameters of rank 1 equal to rank 0's, bit for bit (checked on rank 0). */
static int same_on_all_ranks(const float *p, size_t n)
{
    int size;
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int same = 1;
    if (rank_ == 0) {
        float *other = malloc(n * sizeof(float));
        for (int q = 1; q < size; q++) {
            MPI_Recv(other, (int)n, MPI_FLOAT, q, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            same &= memcmp(other, p, n * sizeof(float)) == 0;
        }
        free(other);
    } else {
        MPI_Send(p, (int)n, MPI_FLOAT, 0, 7, MPI_COMM_WORLD);
    }
    MPI_Bcast(&same, 1, MPI_INT, 0, MPI_COMM_WORLD);
    return same;
}

static void compare(const fpo_collective *coll, int variant, const int *envs)
{
    int size = coll->size, total = 0;
    for (int q = 0; q < size; q++)
        total += envs[q];
    run r;
    int rc = make(&r, variant, envs[rank_], coll, 0);
    CHECK(rc == FPO_OK, "create: %s", fpo_last_errmsg());
    if (rc)
        return;
    train(&r);
    for (int it = 0; it < 4; it++)
        CHECK(r.rc[it] == FPO_OK, "iteration %d: %s", it + 1, fpo_trainer_errmsg(r.t));
    /* (a) bit-identical on all ranks, after one and after four updates */
    float *last = malloc(r.np * sizeof(float));
    fpo_policy_get_params(fpo_trainer_policy(r.t), FPO_NET_ALL, last, r.np);
    CHECK(same_on_all_ranks(r.after1, r.np), "%s: parameters differ across ranks after 1 update",
          variant_name[variant]);
    CHECK(same_on_all_ranks(last, r.np), "%s: parameters differ across ranks after 4 updates",
          variant_name[variant]);
    CHECK(fpo_trainer_env_steps(r.t) == 4LL * total * 8, "global env steps %lld",
          (long long)fpo_trainer_env_steps(r.t));
    double mine[2] = {r.up1.policy_loss, r.ep1.mean_return}, lo[2], hi[2];
    MPI_Allreduce(mine, lo, 2, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(mine, hi, 2, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    CHECK(lo[0] == hi[0] && lo[1] == hi[1], "ranks report different global statistics");
    /* (b) rank 0: the same training in one process with all environments */
    if (rank_ == 0) {
        run one;
        rc = make(&one, variant, total, NULL, 0);
        CHECK(rc == FPO_OK, "single-process create: %s", fpo_last_errmsg());
        if (!rc) {
            train(&one);
            CHECK(one.rc[0] == FPO_OK && one.rc[2] == FPO_OK, "single-process run failed");
            CHECK(one.ep1.episodes == r.ep1.episodes, "episodes %lld vs %lld",
                  (long long)one.ep1.episodes, (long long)r.ep1.episodes);
            CHECK(fabs(one.ep1.mean_return - r.ep1.mean_return) <= 1e-12 * fabs(one.ep1.mean_return),
                  "first rollout: mean return %.17g vs %.17g", one.ep1.mean_return,
                  r.ep1.mean_return);
            double d1 = rel_diff(r.after1, one.after1, r.np);
            double d3 = rel_diff(r.after3, one.after3, r.np);
            printf("mpi: %s, %d ranks (%d", variant_name[variant], size, envs[0]);
            for (int q = 1; q < size; q++)
                printf("+%d", envs[q]);
            printf(" envs) vs 1 process x %d: max relative parameter difference %.3g after 1 "
                   "update (tolerance %g), %.3g after 3 (tolerance %g)\n",
                   total, d1, TOL_ONE_UPDATE, d3, TOL_THREE_UPDATES);
            CHECK(d1 <= TOL_ONE_UPDATE, "after 1 update: %g", d1);
            CHECK(d3 <= TOL_THREE_UPDATES, "after 3 updates: %g", d3);
            /* not vacuous: training moved the parameters far beyond that */
            run fresh;
            make(&fresh, variant, total, NULL, 0);
            float *p0 = malloc(r.np * sizeof(float));
            fpo_policy_get_params(fpo_trainer_policy(fresh.t), FPO_NET_ALL, p0, r.np);
            CHECK(rel_diff(p0, one.after1, r.np) > 20 * TOL_ONE_UPDATE, "the update did not move");
            free(p0);
            done(&fresh);
        }
        done(&one);
    }
    free(last);
    done(&r);
}

static void agreed_failure(const fpo_collective *coll)
{
    run r;
    /* rank 1's host fails on a step call of the second rollout */
    int rc = make(&r, VARIANT_FPO, 4, coll, rank_ == 1 ? 4 * 8 + 5 : 0);
    CHECK(rc == FPO_OK, "create: %s", fpo_last_errmsg());
    if (rc)
        return;
    train(&r);
    CHECK(r.rc[0] == FPO_OK, "iteration 1: %d", r.rc[0]);
    CHECK(r.rc[1] == (rank_ == 1 ? FPO_ECALLBACK : FPO_EREMOTE), "iteration 2 returned %d: %s",
          r.rc[1], fpo_trainer_errmsg(r.t));
    CHECK(r.rc[2] == FPO_OK && r.rc[3] == FPO_OK, "training did not go on: %d %d", r.rc[2],
          r.rc[3]);
    float *last = malloc(r.np * sizeof(float));
    fpo_policy_get_params(fpo_trainer_policy(r.t), FPO_NET_ALL, last, r.np);
    CHECK(same_on_all_ranks(last, r.np), "parameters differ after the agreed failure");
    free(last);
    done(&r);
}

static void api_checks(void)
{
    fpo_collective c = {sizeof c};
    CHECK(fpo_mpi_collective_create(NULL, MPI_COMM_WORLD) == FPO_EINVAL, "NULL out");
    CHECK(fpo_mpi_last_errmsg()[0] != '\0', "no message");
    fpo_collective small = {0};
    CHECK(fpo_mpi_collective_create(&small, MPI_COMM_WORLD) == FPO_EINVAL, "struct_size 0");
    CHECK(fpo_mpi_collective_create(&c, MPI_COMM_NULL) == FPO_EINVAL, "MPI_COMM_NULL");
    CHECK(c.user == NULL && c.allreduce_sum_f32 == NULL, "out written on failure");
    fpo_mpi_collective_destroy(NULL);
    fpo_mpi_collective_destroy(&c); /* not one of ours: ignored */
    /* a collective over MPI_COMM_SELF: size 1, sums are the identity */
    CHECK(fpo_mpi_collective_create(&c, MPI_COMM_SELF) == FPO_OK, "%s", fpo_mpi_last_errmsg());
    CHECK(c.size == 1 && c.rank == 0 && c.version == FPO_COLLECTIVE_VERSION, "self: %d of %d",
          c.rank, c.size);
    double x[3] = {1.5, -2, 3};
    CHECK(c.allreduce_sum_f64(c.user, x, 3) == 0 && x[0] == 1.5 && x[1] == -2, "self sum");
    fpo_mpi_collective_destroy(&c);
    CHECK(c.allreduce_sum_f32 == NULL, "destroy did not clear the table");
    fpo_mpi_collective_destroy(&c); /* twice is fine */
}

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    int size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size != 2) {
        if (rank_ == 0)
            fprintf(stderr, "test_mpi: run with mpirun -np 2 (got %d ranks)\n", size);
        MPI_Finalize();
        return 77;
    }
    fpo_collective coll = {sizeof coll};
    if (fpo_mpi_collective_create(&coll, MPI_COMM_WORLD) != 0) {
        fprintf(stderr, "rank %d: %s\n", rank_, fpo_mpi_last_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    CHECK(coll.rank == rank_ && coll.size == 2, "collective rank %d size %d", coll.rank, coll.size);
    const int even[2] = {4, 4}, uneven[2] = {3, 5};
    for (int v = 0; v < 3; v++)
        compare(&coll, v, even);
    compare(&coll, VARIANT_FPO, uneven);
    agreed_failure(&coll);
    api_checks();
    fpo_mpi_collective_destroy(&coll);
    int all = 0;
    MPI_Allreduce(&failures_, &all, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank_ == 0)
        printf("mpi: %s (%d failed checks over both ranks)\n", all ? "FAILED" : "all checks passed",
               all);
    MPI_Finalize();
    return all ? 1 : 0;
}
