/* fpo_policy_export_c: the exported C file against fpo_sampler_act.
 *
 * For flow and Gaussian policies of several shapes (random, and briefly
 * trained on the toy environment), export, compile the file and a harness
 * with $FPO_EXPORT_CC (default cc) -std=c99 -Wall -Wextra -pedantic -Werror,
 * run it (through $FPO_EXPORT_RUN, e.g. qemu-arm, when set) on 1000 random
 * observations, and compare with the library:
 *  - noise NULL against a sampler with deterministic = 1 (flow: x_1 = 0;
 *    Gaussian: the mean);
 *  - given noise against a sampler with random initial noise, fed the same
 *    noise: the test draws, before each call, exactly the normals the
 *    sampler is about to draw (a copy of its stream, forked for row 0, as
 *    sampler.c does).
 * Tolerance: max |difference| of the actions <= 1e-5 x the action range.
 * Each file is built three times: as exported (on x86-64 with AVX2, its
 * AVX2 copy runs), with NAME_NO_DISPATCH (the 4-float SIMD version) and
 * with NAME_NO_SIMD (portable C); all three must give the same floats.
 * Then bad input. Usage: test_export WORKDIR. Exit 0 pass, 1 fail, 77 skip
 * (no compiler). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fpo/fpo.h"
#include "internal.h"
#include "rng.h"
#include "toyenv.h"

#define N_OBS 1000
#define N_VARIANTS 3

static int failures;
static const char *workdir;
static double worst_rel;

#define CHECK(cond, ...)                                  \
    do {                                                  \
        if (!(cond)) {                                    \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
            fprintf(stderr, __VA_ARGS__);                 \
            fprintf(stderr, "\n");                        \
            failures++;                                   \
        }                                                 \
    } while (0)

static float uniform(fpo_rng *r, float lo, float hi)
{
    return lo + (hi - lo) * fpo_rng_uniform(r);
}

/* Random parameters (biases too, so no layer is trivially zero) and
 * observation statistics with non-trivial mean and spread. */
static void randomize(fpo_policy *p, uint64_t seed)
{
    fpo_policy_info info = {sizeof info};
    fpo_policy_get_info(p, &info);
    fpo_rng r;
    fpo_rng_init(&r, seed, 7);
    float *w = malloc(info.actor_params * sizeof *w);
    fpo_policy_get_params(p, FPO_NET_ACTOR, w, info.actor_params);
    for (size_t i = 0; i < info.actor_params; i++)
        w[i] = w[i] * uniform(&r, 0.5f, 2.0f) + uniform(&r, -0.1f, 0.1f);
    fpo_policy_set_params(p, FPO_NET_ACTOR, w, info.actor_params);
    free(w);
    int od = info.obs_dim;
    float *obs = malloc((size_t)od * 256 * sizeof *obs);
    for (int i = 0; i < 256 * od; i++)
        obs[i] = uniform(&r, -3.0f, 3.0f) * (float)(1 + i % od) + (float)(i % od);
    fpo_policy_obs_accumulate(p, obs, 256);
    fpo_policy_obs_commit(p);
    free(obs);
}

static fpo_policy *train_briefly(fpo_policy_config *pc)
{
    static toy e;
    toy_init(&e, pc->obs_dim, pc->act_dim);
    static fpo_env_table tab;
    tab = toy_table(&e);
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, pc->kind == FPO_POLICY_FLOW ? FPO_ALGO_FPO : FPO_ALGO_PPO);
    oc.minibatches = 2;
    oc.epochs = 2;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = &tab;
    tc.env_user = &e;
    tc.num_envs = 4;
    tc.horizon = 16;
    tc.n_mc = 2;
    tc.threads = 1;
    tc.policy = pc;
    tc.optimizer = &oc;
    fpo_trainer *t;
    if (fpo_trainer_create(&t, &tc) != FPO_OK) {
        fprintf(stderr, "trainer: %s\n", fpo_last_errmsg());
        return NULL;
    }
    for (int i = 0; i < 3; i++) {
        fpo_progress pr = {sizeof pr};
        if (fpo_trainer_iterate(t, &pr) != FPO_OK)
            fprintf(stderr, "iterate: %s\n", fpo_trainer_errmsg(t));
    }
    fpo_policy *p = NULL;
    fpo_policy_clone(&p, fpo_trainer_policy(t));
    fpo_trainer_destroy(t);
    return p;
}

static int run_cmd(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0)
        fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

/* Export p as NAME (cfg), compile, run on obs/noise; compare with the
 * library's sampler (integrator and steps as exported). */
static void check_case(const char *name, fpo_policy *p, const fpo_export_config *cfg_in,
                       uint64_t seed)
{
    fpo_policy_info info = {sizeof info};
    fpo_policy_get_info(p, &info);
    fpo_policy_config pcfg;
    fpo_policy_config_init(&pcfg);
    CHECK(fpo_policy_get_config(p, &pcfg) == FPO_OK, "%s: get_config: %s", name, fpo_last_errmsg());
    /* The floats of one query's action: a chunk's whole vector. */
    int od = info.obs_dim, ad = info.act_dim * (pcfg.chunk > 1 ? (int)pcfg.chunk : 1);
    fpo_export_config cfg = *cfg_in;
    char path[1024], cmd[4096];
    snprintf(path, sizeof path, "%s/%s", workdir, name);
    int rc = fpo_policy_export_c(p, path, &cfg);
    CHECK(rc == FPO_OK, "%s: export: %s", name, fpo_last_errmsg());
    if (rc)
        return;

    /* The harness. */
    char upper[64];
    size_t nl = strlen(name);
    for (size_t i = 0; i <= nl && i < sizeof upper; i++)
        upper[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 32 : name[i]);
    snprintf(path, sizeof path, "%s/%s_main.c", workdir, name);
    FILE *f = fopen(path, "w");
    fprintf(f,
            "#include <stdio.h>\n#include \"%s.h\"\n"
            "#define N %d\n"
            "static float obs[N * %d], noise[N * %d], out[2 * N * %d], scratch[%s_SCRATCH_FLOATS];\n"
            "int main(int argc, char **argv)\n{\n    int i;\n    FILE *f;\n"
            "    if (argc != 3 || !(f = fopen(argv[1], \"rb\")))\n        return 3;\n"
            "    if (fread(obs, sizeof obs, 1, f) != 1 || fread(noise, sizeof noise, 1, f) != 1)\n"
            "        return 4;\n    fclose(f);\n"
            "    for (i = 0; i < N; i++) {\n"
            "        if (%s_act(obs + i * %d, NULL, out + i * %d, scratch))\n            return 5;\n"
            "        if (%s_act(obs + i * %d, noise + i * %d, out + (N + i) * %d, scratch))\n"
            "            return 6;\n    }\n"
            "    if (!(f = fopen(argv[2], \"wb\")) || fwrite(out, sizeof out, 1, f) != 1)\n"
            "        return 7;\n    return fclose(f) ? 8 : 0;\n}\n",
            name, N_OBS, od, ad, ad, upper, name, od, ad, name, od, ad, ad);
    fclose(f);

    /* Three builds: as exported, without the AVX2 copy (x86-64), and with
     * portable C only; they must give the same floats. */
    const char *cc = getenv("FPO_EXPORT_CC");
    const char *runner = getenv("FPO_EXPORT_RUN");
    static const char *const variant[N_VARIANTS] = {"", "_NO_DISPATCH", "_NO_SIMD"};
    for (int v = 0; v < N_VARIANTS; v++) {
        char def[96] = "";
        if (*variant[v])
            snprintf(def, sizeof def, "-D%s%s", upper, variant[v]);
        snprintf(cmd, sizeof cmd,
                 "%s -std=c99 -Wall -Wextra -pedantic -Werror -O2 %s -o %s/%s_bin%d %s/%s.c "
                 "%s/%s_main.c -lm",
                 cc && *cc ? cc : "cc", def, workdir, name, v, workdir, name, workdir, name);
        if (run_cmd(cmd)) {
            failures++;
            return;
        }
    }

    /* Observations and noise; the reference actions. */
    float *obs = malloc(sizeof(float) * N_OBS * (size_t)od);
    float *noise = malloc(sizeof(float) * N_OBS * (size_t)ad);
    float *ref = malloc(sizeof(float) * 2 * N_OBS * (size_t)ad);
    float *got = malloc(sizeof(float) * 2 * N_OBS * (size_t)ad);
    float *other = malloc(sizeof(float) * 2 * N_OBS * (size_t)ad);
    float *mean = malloc(sizeof(float) * (size_t)od), *sd = malloc(sizeof(float) * (size_t)od);
    fpo_policy_obs_stats(p, mean, sd);
    fpo_rng r;
    fpo_rng_init(&r, seed, 11);
    for (int i = 0; i < N_OBS * od; i++) /* mostly inside, some beyond the clip */
        obs[i] = mean[i % od] + sd[i % od] * uniform(&r, -4.0f, 4.0f) *
                                    (i % 97 == 0 ? 5.0f : 1.0f);
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    fpo_policy_get_sampler_defaults(p, &sc);
    if (cfg.integrator >= 0)
        sc.integrator = (fpo_integrator)cfg.integrator;
    if (cfg.steps > 0)
        sc.steps = cfg.steps;
    sc.sde_noise = 0.0f;
    sc.deterministic = 1;
    sc.seed = seed;
    fpo_sampler *s;
    rc = fpo_sampler_create(&s, p, &sc);
    CHECK(rc == FPO_OK, "%s: sampler: %s", name, fpo_last_errmsg());
    for (int i = 0; i < N_OBS && rc == FPO_OK; i++)
        rc = fpo_sampler_act(s, p, obs + (size_t)i * (size_t)od, 1, ref + (size_t)i * (size_t)ad,
                             NULL);
    sc.deterministic = cfg.deterministic;
    sc.init_noise = FPO_NOISE_RANDOM;
    fpo_sampler_reconfigure(s, &sc);
    for (int i = 0; i < N_OBS && rc == FPO_OK; i++) {
        /* The normals this call will draw: sampler.c's fork_rows for row 0. */
        fpo_rng base = *fpo_sampler_rng(s), row;
        fpo_rng_fork(&row, &base, 0);
        fpo_rng_normal(&row, noise + (size_t)i * (size_t)ad, (size_t)ad);
        rc = fpo_sampler_act(s, p, obs + (size_t)i * (size_t)od, 1,
                             ref + (size_t)(N_OBS + i) * (size_t)ad, NULL);
    }
    CHECK(rc == FPO_OK, "%s: act: %s", name, fpo_sampler_errmsg(s));
    fpo_sampler_destroy(s);

    snprintf(path, sizeof path, "%s/%s_in.bin", workdir, name);
    f = fopen(path, "wb");
    fwrite(obs, sizeof(float), (size_t)N_OBS * (size_t)od, f);
    fwrite(noise, sizeof(float), (size_t)N_OBS * (size_t)ad, f);
    fclose(f);
    int ran = 1;
    for (int v = N_VARIANTS - 1; v >= 0 && ran; v--) { /* the exported build last: got */
        snprintf(cmd, sizeof cmd, "%s %s/%s_bin%d %s/%s_in.bin %s/%s_out.bin",
                 runner ? runner : "", workdir, name, v, workdir, name, workdir, name);
        ran = run_cmd(cmd) == 0;
        if (!ran)
            break;
        snprintf(path, sizeof path, "%s/%s_out.bin", workdir, name);
        f = fopen(path, "rb");
        size_t k = f ? fread(got, sizeof(float), 2 * (size_t)N_OBS * (size_t)ad, f) : 0;
        if (f)
            fclose(f);
        CHECK(k == 2 * (size_t)N_OBS * (size_t)ad, "%s: short output (build %d)", name, v);
        if (v == N_VARIANTS - 1)
            memcpy(other, got, sizeof(float) * 2 * N_OBS * (size_t)ad);
        else
            CHECK(memcmp(other, got, sizeof(float) * 2 * N_OBS * (size_t)ad) == 0,
                  "%s: the build with %s%s differs from the portable C one", name,
                  *variant[v] ? upper : "no macro", variant[v]);
    }
    if (ran) {
        double d[2] = {0, 0};
        for (int h = 0; h < 2; h++)
            for (int i = 0; i < N_OBS * ad; i++) {
                size_t j = (size_t)h * N_OBS * (size_t)ad + (size_t)i;
                double range = 2.0; /* default bounds */
                double e = fabs((double)got[j] - (double)ref[j]) / range;
                if (!(e <= d[h]))
                    d[h] = e;
            }
        printf("%-14s max |export - fpo_sampler_act| / action range: deterministic %.2e, "
               "given noise %.2e\n", name, d[0], d[1]);
        for (int h = 0; h < 2; h++)
            if (d[h] > worst_rel)
                worst_rel = d[h];
        CHECK(d[0] <= 1e-5 && d[1] <= 1e-5, "%s: export differs from the library", name);
    } else {
        failures++;
    }
    free(obs);
    free(noise);
    free(ref);
    free(got);
    free(other);
    free(mean);
    free(sd);
}

static fpo_policy *make(fpo_policy_config *pc, uint64_t seed)
{
    fpo_policy *p;
    if (fpo_policy_create(&p, pc) != FPO_OK) {
        fprintf(stderr, "policy: %s\n", fpo_last_errmsg());
        exit(1);
    }
    randomize(p, seed);
    return p;
}

static void bad_input(void)
{
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.obs_dim = 3;
    pc.act_dim = 2;
    fpo_policy *p;
    fpo_policy_create(&p, &pc);
    fpo_export_config c;
    CHECK(fpo_export_config_init_sized(NULL, sizeof c) == FPO_EINVAL, "init NULL");
    CHECK(fpo_export_config_init_sized(&c, 4) == FPO_EINVAL, "init small");
    CHECK(fpo_export_config_init(&c) == FPO_OK, "init");
    CHECK(c.integrator == -1 && c.steps == 0 && c.deterministic == 0 && !c.name, "defaults");
    char path[1024];
    snprintf(path, sizeof path, "%s/bad", workdir);
    CHECK(fpo_policy_export_c(NULL, path, &c) == FPO_EINVAL, "NULL policy");
    CHECK(strstr(fpo_last_errmsg(), "is NULL") != NULL, "message: %s", fpo_last_errmsg());
    CHECK(fpo_policy_export_c(p, NULL, &c) == FPO_EINVAL, "NULL path");
    CHECK(fpo_policy_export_c(p, path, NULL) == FPO_EINVAL, "NULL cfg");
    c.integrator = 3;
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_ERANGE, "bad integrator");
    CHECK(strstr(fpo_last_errmsg(), "integrator") != NULL, "message: %s", fpo_last_errmsg());
    c.integrator = -2;
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_ERANGE, "bad integrator -2");
    c.integrator = -1;
    c.steps = 1001;
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_ERANGE, "bad steps");
    c.steps = -1;
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_ERANGE, "bad steps -1");
    c.steps = 0;
    c.deterministic = 2;
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_ERANGE, "bad deterministic");
    c.deterministic = 0;
    c.name = "1abc";
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_EINVAL, "bad name");
    c.name = "a-b";
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_EINVAL, "bad name");
    c.name = NULL;
    snprintf(path, sizeof path, "%s/my-policy", workdir);
    CHECK(fpo_policy_export_c(p, path, &c) == FPO_EINVAL, "path not an identifier");
    CHECK(strstr(fpo_last_errmsg(), "fpo_export_config.name") != NULL, "message: %s",
          fpo_last_errmsg());
    c.name = "ok_name";
    CHECK(fpo_policy_export_c(p, "/nonexistent-dir-fpo/x/policy", &c) == FPO_EIO,
          "unwritable directory");
    CHECK(strstr(fpo_last_errmsg(), "nonexistent") != NULL, "message: %s", fpo_last_errmsg());
    /* A newer caller's struct with a setting this library lacks. */
    struct {
        fpo_export_config c;
        int future;
    } big;
    memset(&big, 0, sizeof big);
    fpo_export_config_init_sized(&big.c, sizeof big);
    big.c.name = "ok_name";
    big.future = 1;
    snprintf(path, sizeof path, "%s/ok_name", workdir);
    CHECK(fpo_policy_export_c(p, path, &big.c) == FPO_EVERSION, "non-zero unknown tail");
    big.future = 0;
    CHECK(fpo_policy_export_c(p, path, &big.c) == FPO_OK, "zero unknown tail: %s",
          fpo_last_errmsg());
    fpo_policy_destroy(p);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_export WORKDIR\n");
        return 1;
    }
    workdir = argv[1];
    mkdir(workdir, 0700);
    const char *cc = getenv("FPO_EXPORT_CC");
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s --version >/dev/null 2>&1", cc && *cc ? cc : "cc");
    if (system(cmd) != 0) {
        printf("no C compiler (%s): skipped\n", cc && *cc ? cc : "cc");
        return 77;
    }
    fpo_export_config ec;
    fpo_export_config_init(&ec);
    fpo_policy_config pc;

    /* 1. The reference actor: 4x32 SiLU, obs 17, act 6, Euler 10. */
    fpo_policy_config_init(&pc);
    pc.obs_dim = 17;
    pc.act_dim = 6;
    pc.seed = 1;
    fpo_policy *p = make(&pc, 1);
    check_case("flow4x32", p, &ec, 101);
    /* The same, exported deterministic: noise is ignored (compare both
     * halves with the zero-noise sampler: the sampler's deterministic). */
    fpo_export_config det = ec;
    det.deterministic = 1;
    check_case("flow4x32det", p, &det, 102);
    fpo_policy_destroy(p);

    /* 2. 2x64 tanh, raw time, no normalization, clip squash, bounds, Heun 5. */
    fpo_policy_config_init(&pc);
    pc.obs_dim = 3;
    pc.act_dim = 1;
    pc.actor_layers = 2;
    pc.actor_hidden[0] = pc.actor_hidden[1] = 64;
    pc.actor_activation = FPO_ACT_TANH;
    pc.time_embedding = FPO_TIME_RAW;
    pc.normalize_obs = 0;
    pc.squash = FPO_SQUASH_CLIP;
    float lo1[1] = {-2.0f}, hi1[1] = {2.0f};
    pc.action_low = lo1;
    pc.action_high = hi1;
    pc.seed = 2;
    p = make(&pc, 2);
    fpo_export_config e2 = ec;
    e2.integrator = FPO_INTEGRATOR_HEUN;
    e2.steps = 5;
    check_case("flow2x64", p, &e2, 103);
    fpo_policy_destroy(p);

    /* 3. No hidden layer, ReLU (unused), midpoint 3, raw_clip 0. */
    fpo_policy_config_init(&pc);
    pc.obs_dim = 5;
    pc.act_dim = 2;
    pc.actor_layers = 0;
    pc.raw_clip = 0.0f;
    pc.seed = 3;
    p = make(&pc, 3);
    fpo_export_config e3 = ec;
    e3.integrator = FPO_INTEGRATOR_MIDPOINT;
    e3.steps = 3;
    check_case("flow_linear", p, &e3, 104);
    fpo_policy_destroy(p);

    /* 4. Widths 16, 80 (two full blocks of 32 and a rest), 8; ReLU; midpoint. */
    fpo_policy_config_init(&pc);
    pc.obs_dim = 7;
    pc.act_dim = 3;
    pc.actor_layers = 3;
    pc.actor_hidden[0] = 16;
    pc.actor_hidden[1] = 80;
    pc.actor_hidden[2] = 8;
    pc.actor_activation = FPO_ACT_RELU;
    float lo3[3] = {-1.0f, 0.0f, -5.0f}, hi3[3] = {1.0f, 0.5f, 3.0f};
    pc.action_low = lo3;
    pc.action_high = hi3;
    pc.seed = 4;
    p = make(&pc, 4);
    fpo_export_config e4 = ec;
    e4.integrator = FPO_INTEGRATOR_MIDPOINT;
    e4.steps = 4;
    check_case("flow_wide", p, &e4, 105);
    fpo_policy_destroy(p);

    /* 4b. SiLU with widths that leave vector and scalar tails (20 and 45,
     * act 5), Heun 3: the SiLU fused into the vector blocks and their tails. */
    fpo_policy_config_init(&pc);
    pc.obs_dim = 9;
    pc.act_dim = 5;
    pc.actor_layers = 2;
    pc.actor_hidden[0] = 20;
    pc.actor_hidden[1] = 45;
    pc.seed = 12;
    p = make(&pc, 12);
    fpo_export_config e4b = ec;
    e4b.integrator = FPO_INTEGRATOR_HEUN;
    e4b.steps = 3;
    check_case("flow_tails", p, &e4b, 111);
    fpo_policy_destroy(p);

    /* 4c-4d. Action chunks: 4 actions of 2 per query with bounds that
     * differ per dimension (a chunk repeats them), and a Gaussian chunk of 3. */
    fpo_policy_config_init(&pc);
    pc.obs_dim = 5;
    pc.act_dim = 2;
    pc.chunk = 4;
    float loc[2] = {-1.0f, -0.5f}, hic[2] = {1.0f, 1.5f};
    pc.action_low = loc;
    pc.action_high = hic;
    pc.seed = 13;
    p = make(&pc, 13);
    check_case("flow_chunk", p, &ec, 112);
    fpo_policy_destroy(p);
    pc.kind = FPO_POLICY_GAUSSIAN;
    pc.chunk = 3;
    pc.std_mode = FPO_STD_STATE_DEPENDENT;
    p = make(&pc, 14);
    check_case("gauss_chunk", p, &ec, 113);
    fpo_policy_destroy(p);

    /* 5-7. Gaussian: state-independent, state-dependent, fixed std. */
    fpo_policy_config_init(&pc);
    pc.kind = FPO_POLICY_GAUSSIAN;
    pc.obs_dim = 4;
    pc.act_dim = 2;
    pc.actor_layers = 2;
    pc.seed = 5;
    p = make(&pc, 5);
    check_case("gauss_indep", p, &ec, 106);
    fpo_policy_destroy(p);
    pc.std_mode = FPO_STD_STATE_DEPENDENT;
    pc.actor_layers = 1;
    pc.actor_hidden[0] = 16;
    pc.actor_activation = FPO_ACT_TANH;
    pc.obs_dim = 6;
    pc.act_dim = 3;
    p = make(&pc, 6);
    check_case("gauss_dep", p, &ec, 107);
    fpo_policy_destroy(p);
    pc.std_mode = FPO_STD_FIXED;
    pc.init_std = 0.3f;
    pc.actor_layers = 0;
    pc.normalize_obs = 0;
    p = make(&pc, 7);
    check_case("gauss_fixed", p, &ec, 108);
    fpo_policy_destroy(p);

    /* 8-9. Briefly trained on the toy environment. */
    fpo_policy_config_init(&pc);
    pc.obs_dim = 4;
    pc.act_dim = 2;
    pc.critic_layers = 1;
    pc.critic_hidden[0] = 16;
    p = train_briefly(&pc);
    CHECK(p != NULL, "training the flow policy");
    if (p) {
        check_case("flow_trained", p, &ec, 109);
        fpo_policy_destroy(p);
    }
    pc.kind = FPO_POLICY_GAUSSIAN;
    p = train_briefly(&pc);
    CHECK(p != NULL, "training the Gaussian policy");
    if (p) {
        check_case("gauss_trained", p, &ec, 110);
        fpo_policy_destroy(p);
    }

    bad_input();
    printf("worst max |difference| / action range over all cases: %.2e (tolerance 1e-5)\n",
           worst_rel);
    if (failures)
        printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
