/* examples/humanoid-eval: the program (path in $HUMANOID_EVAL) is run on
 * tiny FPO and Gaussian PPO policies trained here for two iterations, and its
 * numbers are checked against humanoid_summary over the same episodes run by
 * this test through the task's table and a sampler (the episode and noise
 * seeds the program documents); its per-episode CSV against the records; its
 * output against itself for other thread counts; the text and CSV forms
 * against the JSON; and its errors for bad command lines, unreadable files
 * and a policy whose sizes do not fit the task. Tests that need the model pass
 * without checking anything when libmujoco-samples is not installed. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mujoco/humanoid.h"
#include "task.h"
#include "testutil.h"

#define DEBIAN_MODEL "/usr/share/mujoco/model/humanoid/humanoid.xml"

static char dir[256];                 /* scratch directory of this process */
static char flow_path[300], gauss_path[300], small_path[300], junk_path[300];

static const char *prog(void)
{
    const char *p = getenv("HUMANOID_EVAL");
    ck_assert_msg(p && *p, "HUMANOID_EVAL is not set (run through meson test)");
    return p;
}

static int have_model(void)
{
    return access(DEBIAN_MODEL, R_OK) == 0;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(fread(b, 1, (size_t)n, f), (size_t)n);
    b[n] = 0;
    fclose(f);
    return b;
}

/* Run the program with args (NULL-terminated, without argv[0]); stdout and
 * stderr are returned (malloc'ed), the exit status is the result. */
static int run(char **out, char **err, const char *const *args)
{
    char op[320], ep[320];
    snprintf(op, sizeof op, "%s/stdout", dir);
    snprintf(ep, sizeof ep, "%s/stderr", dir);
    const char *argv[32];
    int n = 0;
    argv[n++] = prog();
    for (; args[n - 1]; n++) {
        ck_assert_int_lt(n, 31);
        argv[n] = args[n - 1];
    }
    argv[n] = NULL;
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        int fo = open(op, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(ep, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st), "%s did not exit normally", argv[0]);
    char *o = slurp(op), *e = slurp(ep);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WEXITSTATUS(st);
}

/* The number after "key": in a one-line JSON object (NaN for null); the key
 * must be present. */
static double jnum(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = strstr(json, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, json);
    p += strlen(pat);
    if (!strncmp(p, "null", 4))
        return NAN;
    char *end;
    double v = strtod(p, &end);
    ck_assert_msg(end != p, "%s is not a number in %s", key, json);
    return v;
}

static void expect_eq_num(double got, double want, const char *what)
{
    if (isnan(want)) {
        ck_assert_msg(isnan(got), "%s: got %.9g, want NaN/null", what, got);
        return;
    }
    /* the program prints 6 significant digits */
    ck_assert_msg(fabs(got - want) <= 1e-5 * fmax(1.0, fabs(want)), "%s: got %.9g, want %.9g",
                  what, got, want);
}

/* ---- fixtures: tiny policies --------------------------------------------------- */

static void train_tiny(fpo_algo algo, const char *path)
{
    const task_info *t = task_find("humanoid-root-goal");
    ck_assert_ptr_nonnull(t);
    void *user = NULL;
    char err[512];
    ck_assert_msg(t->open(&user, NULL, err, sizeof err) == 0, "open: %s", err);
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.kind = algo == FPO_ALGO_FPO ? FPO_POLICY_FLOW : FPO_POLICY_GAUSSIAN;
    pc.actor_layers = 2;
    pc.critic_layers = 2;
    for (int i = 0; i < FPO_MAX_LAYERS; i++)
        pc.actor_hidden[i] = pc.critic_hidden[i] = 16;
    fpo_optimizer_config oc;
    fpo_optimizer_config_init(&oc, algo);
    oc.epochs = 1;
    oc.minibatches = 2;
    fpo_trainer_config tc;
    fpo_trainer_config_init(&tc);
    tc.env = t->table;
    tc.env_user = user;
    tc.num_envs = 4;
    tc.horizon = 32;
    tc.n_mc = 2;
    tc.seed = 3;
    tc.policy = &pc;
    tc.optimizer = &oc;
    fpo_trainer *tr;
    ck_assert_msg(fpo_trainer_create(&tr, &tc) == 0, "%s", fpo_last_errmsg());
    ck_assert_msg(fpo_trainer_run(tr, 256) == 0, "%s", fpo_trainer_errmsg(tr));
    ck_assert_int_eq(fpo_policy_save(fpo_trainer_policy(tr), path), 0);
    fpo_trainer_destroy(tr);
    t->close(user);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/test_humanoid_eval.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(flow_path, sizeof flow_path, "%s/flow.fpo", dir);
    snprintf(gauss_path, sizeof gauss_path, "%s/gauss.fpo", dir);
    snprintf(small_path, sizeof small_path, "%s/small.fpo", dir);
    snprintf(junk_path, sizeof junk_path, "%s/junk.fpo", dir);
    /* a valid policy of the wrong size: 3 observations, 1 action */
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.obs_dim = 3;
    pc.act_dim = 1;
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), 0);
    ck_assert_int_eq(fpo_policy_save(p, small_path), 0);
    fpo_policy_destroy(p);
    FILE *f = fopen(junk_path, "w");
    ck_assert_ptr_nonnull(f);
    fputs("this is not a policy\n", f);
    fclose(f);
    if (have_model()) {
        train_tiny(FPO_ALGO_FPO, flow_path);
        train_tiny(FPO_ALGO_PPO, gauss_path);
    }
}

static void teardown(void)
{
    const char *names[] = {"flow.fpo", "gauss.fpo", "small.fpo", "junk.fpo", "stdout", "stderr",
                           "episodes.csv"};
    char p[320];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* ---- the reference: the same episodes, run here ---------------------------------- */

typedef struct ref {
    humanoid_summary s;
    humanoid_episode ep[64];
    long long walk_ok, stand_ok;
    double ret;
} ref;

static void run_reference(const char *task, const char *policy, int sampled, uint64_t seed,
                          int n, ref *r)
{
    ck_assert_int_le(n, 64);
    memset(r, 0, sizeof *r);
    humanoid_summary_init(&r->s);
    const task_info *t = task_find(task ? task : "humanoid-root-goal");
    ck_assert_ptr_nonnull(t);
    void *user = NULL;
    char err[512];
    ck_assert_msg(t->open(&user, NULL, err, sizeof err) == 0, "open: %s", err);
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_load(&p, policy, NULL), 0);
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    ck_assert_int_eq(fpo_policy_get_sampler_defaults(p, &sc), 0);
    sc.deterministic = !sampled;
    sc.init_noise = sampled ? FPO_NOISE_RANDOM : FPO_NOISE_ZERO;
    if (!sampled)
        sc.sde_noise = 0.0f;
    sc.max_batch = 1;
    fpo_sampler *s;
    ck_assert_int_eq(fpo_sampler_create(&s, p, &sc), 0);
    void *env;
    ck_assert_int_eq(t->table->create(user, 0, &env), 0);
    for (int i = 0; i < n; i++) {
        uint64_t es = seed * 1000003ull + (uint64_t)i; /* documented in the usage text */
        if (sampled)
            ck_assert_int_eq(fpo_sampler_reseed(s, es ^ 0x9e3779b97f4a7c15ull), 0);
        float obs[HUMANOID_OBS_DIM], act[HUMANOID_ACT_DIM], rew;
        unsigned fl = 0;
        double ret = 0.0;
        ck_assert_int_eq(t->table->reset(user, env, es, obs), 0);
        while (!fl) {
            ck_assert_int_eq(fpo_sampler_act(s, p, obs, 1, act, NULL), 0);
            ck_assert_int_eq(t->table->step(user, env, act, obs, &rew, &fl), 0);
            ret += rew;
        }
        humanoid_episode *e = &r->ep[i];
        ck_assert_int_eq(humanoid_env_episode(env, 1, e), 0);
        ck_assert_close(e->ret, ret, 1e-4);
        humanoid_summary_add(&r->s, e);
        if (e->stand)
            r->stand_ok += humanoid_episode_success(e);
        else
            r->walk_ok += humanoid_episode_success(e);
        r->ret += e->ret;
    }
    t->table->destroy(user, env);
    fpo_sampler_destroy(s);
    fpo_policy_destroy(p);
    t->close(user);
}

static void check_json_against(const char *json, const ref *r, int n)
{
    const humanoid_summary *s = &r->s;
    expect_eq_num(jnum(json, "episodes"), n, "episodes");
    expect_eq_num(jnum(json, "successes"), (double)s->successes, "successes");
    expect_eq_num(jnum(json, "success_rate"), humanoid_summary_success_rate(s), "success_rate");
    expect_eq_num(jnum(json, "walk_episodes"), (double)s->walk_episodes, "walk_episodes");
    expect_eq_num(jnum(json, "stand_episodes"), (double)s->stand_episodes, "stand_episodes");
    expect_eq_num(jnum(json, "walk_successes"), (double)r->walk_ok, "walk_successes");
    expect_eq_num(jnum(json, "stand_successes"), (double)r->stand_ok, "stand_successes");
    expect_eq_num(jnum(json, "mean_alive_steps"), humanoid_summary_mean_alive(s),
                  "mean_alive_steps");
    expect_eq_num(jnum(json, "mean_final_distance"), humanoid_summary_mean_distance(s),
                  "mean_final_distance");
    expect_eq_num(jnum(json, "goals_reached"), (double)s->goals_reached, "goals_reached");
    expect_eq_num(jnum(json, "goals_per_episode"), (double)s->goals_reached / n,
                  "goals_per_episode");
    expect_eq_num(jnum(json, "mean_return"), r->ret / n, "mean_return");
    expect_eq_num(jnum(json, "behind"), (double)s->behind, "behind");
    expect_eq_num(jnum(json, "left"), (double)s->left, "left");
    expect_eq_num(jnum(json, "right"), (double)s->right, "right");
    expect_eq_num(jnum(json, "no_turn"), (double)s->no_turn, "no_turn");
    expect_eq_num(jnum(json, "left_fraction"), humanoid_summary_left_fraction(s),
                  "left_fraction");
}

/* Per-episode CSV: steps, alive steps, goals, final distance, turn of each
 * episode as in the reference's records. */
static void check_episodes_csv(const char *path, const ref *r, int n, uint64_t seed)
{
    char *csv = slurp(path);
    char *line = strtok(csv, "\n");
    ck_assert_ptr_nonnull(line);
    ck_assert(!strncmp(line, "episode,reset_seed,steps,alive_steps,", 37));
    for (int i = 0; i < n; i++) {
        line = strtok(NULL, "\n");
        ck_assert_msg(line != NULL, "episode %d missing", i);
        long long idx;
        unsigned long long rs;
        int steps, alive, term, trunc, goals, stand, behind, turn;
        double ret, vcmd, d0, b0, dfin;
        ck_assert_int_eq(sscanf(line, "%lld,%llu,%d,%d,%d,%d,%d,%lf,%d,%lf,%lf,%lf,%lf,%*f,%d,%d",
                                &idx, &rs, &steps, &alive, &term, &trunc, &goals, &ret, &stand,
                                &vcmd, &d0, &b0, &dfin, &behind, &turn),
                         15);
        const humanoid_episode *e = &r->ep[i];
        ck_assert_int_eq(idx, i);
        ck_assert_uint_eq(rs, seed * 1000003ull + (uint64_t)i);
        ck_assert_int_eq(steps, e->steps);
        ck_assert_int_eq(alive, e->alive_steps);
        ck_assert_int_eq(term, e->terminated);
        ck_assert_int_eq(trunc, e->truncated);
        ck_assert_int_eq(goals, e->goals_reached);
        ck_assert_int_eq(stand, e->stand);
        ck_assert_int_eq(behind, e->behind);
        ck_assert_int_eq(turn, e->turn);
        ck_assert_close(ret, e->ret, 1e-7);
        ck_assert_close(d0, e->initial_distance, 1e-7);
        ck_assert_close(b0, e->initial_bearing, 1e-7);
        ck_assert_close(dfin, e->final_distance, 1e-7);
    }
    ck_assert_ptr_null(strtok(NULL, "\n"));
    free(csv);
}

/* task: NULL for the default (no --task), else passed as --task. */
static void agree_case(const char *policy, int sampled, const char *kind, const char *task)
{
    const int n = 24;
    const uint64_t seed = 7;
    char csvp[320];
    snprintf(csvp, sizeof csvp, "%s/episodes.csv", dir);
    char *out, *err;
    const char *args[14];
    int k = 0;
    if (task) {
        args[k++] = "--task";
        args[k++] = task;
    }
    args[k++] = "--episodes";
    args[k++] = "24";
    args[k++] = "--seed";
    args[k++] = "7";
    args[k++] = "--json";
    args[k++] = "--episodes-csv";
    args[k++] = csvp;
    if (sampled)
        args[k++] = "--sampled";
    args[k++] = policy;
    args[k] = NULL;
    int rc = run(&out, &err, args);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, err);
    ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "not one line: %s", out);
    char want[64];
    snprintf(want, sizeof want, "\"kind\":\"%s\"", kind);
    ck_assert_msg(strstr(out, want), "%s not in %s", want, out);
    ck_assert(strstr(out, sampled ? "\"mode\":\"sampled\"" : "\"mode\":\"deterministic\""));
    ref r;
    run_reference(task, policy, sampled, seed, n, &r);
    check_json_against(out, &r, n);
    check_episodes_csv(csvp, &r, n, seed);
    /* the tiny policies fall: the episodes must differ in length and
     * include goals behind, or the comparison checks too little */
    int lo = r.ep[0].steps, hi = r.ep[0].steps;
    for (int i = 1; i < n; i++) {
        lo = r.ep[i].steps < lo ? r.ep[i].steps : lo;
        hi = r.ep[i].steps > hi ? r.ep[i].steps : hi;
    }
    ck_assert_int_lt(lo, hi);
    ck_assert_int_gt(r.s.behind, 0);
    ck_assert_int_gt(r.s.walk_episodes, 0);
    free(out);
    free(err);
}

START_TEST(flow_deterministic_agrees_with_summary)
{
    if (!have_model())
        return;
    agree_case(flow_path, 0, "flow", NULL);
}
END_TEST

/* --task humanoid-root-goal-pd evaluates on the PD task: its numbers are the
 * PD reference's, which differ from the torque task's for the same policy. */
START_TEST(pd_task_agrees_with_summary)
{
    if (!have_model())
        return;
    agree_case(flow_path, 0, "flow", "humanoid-root-goal-pd");
    agree_case(gauss_path, 1, "Gaussian", "humanoid-root-goal-pd");
    ref a, b;
    run_reference("humanoid-root-goal-pd", flow_path, 0, 7, 24, &a);
    run_reference(NULL, flow_path, 0, 7, 24, &b);
    ck_assert(a.ret != b.ret);
}
END_TEST

START_TEST(flow_sampled_agrees_with_summary)
{
    if (!have_model())
        return;
    agree_case(flow_path, 1, "flow", NULL);
}
END_TEST

START_TEST(gaussian_agrees_with_summary)
{
    if (!have_model())
        return;
    agree_case(gauss_path, 0, "Gaussian", NULL);
    agree_case(gauss_path, 1, "Gaussian", NULL);
}
END_TEST

/* Deterministic and sampled actions differ (the sampled flag does something),
 * and the numbers do not depend on --threads. */
START_TEST(threads_do_not_matter)
{
    if (!have_model())
        return;
    for (int sampled = 0; sampled < 2; sampled++) {
        char *o1, *o3;
        const char *a1[] = {"--episodes", "10", "--json", "--threads", "1", flow_path, NULL,
                            NULL};
        const char *a3[] = {"--episodes", "10", "--json", "--threads", "3", flow_path, NULL,
                            NULL};
        if (sampled) {
            a1[5] = a3[5] = "--sampled";
            a1[6] = a3[6] = flow_path;
        }
        ck_assert_int_eq(run(&o1, NULL, a1), 0);
        ck_assert_int_eq(run(&o3, NULL, a3), 0);
        ck_assert_str_eq(o1, o3);
        free(o1);
        free(o3);
    }
    char *od, *os;
    const char *ad[] = {"--episodes", "10", "--json", flow_path, NULL};
    const char *as[] = {"--episodes", "10", "--json", "--sampled", flow_path, NULL};
    ck_assert_int_eq(run(&od, NULL, ad), 0);
    ck_assert_int_eq(run(&os, NULL, as), 0);
    ck_assert(jnum(od, "mean_alive_steps") != jnum(os, "mean_alive_steps"));
    free(od);
    free(os);
}
END_TEST

/* The text report and the CSV line carry the JSON's numbers. */
START_TEST(text_and_csv_match_json)
{
    if (!have_model())
        return;
    char *js, *tx, *cs;
    const char *aj[] = {"--episodes", "12", "--seed", "3", "--json", gauss_path, NULL};
    const char *at[] = {"--episodes", "12", "--seed", "3", gauss_path, NULL};
    const char *ac[] = {"--episodes", "12", "--seed", "3", "--csv", gauss_path, NULL};
    ck_assert_int_eq(run(&js, NULL, aj), 0);
    ck_assert_int_eq(run(&tx, NULL, at), 0);
    ck_assert_int_eq(run(&cs, NULL, ac), 0);
    /* text */
    char want[160];
    snprintf(want, sizeof want, "alive steps           %.1f mean", jnum(js, "mean_alive_steps"));
    ck_assert_msg(strstr(tx, want), "'%s' not in:\n%s", want, tx);
    snprintf(want, sizeof want, "success rate          %.1f%% (%.0f/12;",
             100 * jnum(js, "success_rate"), jnum(js, "successes"));
    ck_assert_msg(strstr(tx, want), "'%s' not in:\n%s", want, tx);
    snprintf(want, sizeof want, "first goal behind     %.0f episodes: left %.0f", jnum(js, "behind"),
             jnum(js, "left"));
    ck_assert_msg(strstr(tx, want), "'%s' not in:\n%s", want, tx);
    ck_assert(strstr(tx, "Gaussian policy, 12 episodes, seed 3, deterministic actions"));
    /* CSV: header + one line, same fields as the JSON, same values */
    char *nl = strchr(cs, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = 0;
    char *data = nl + 1;
    ck_assert_int_eq((int)strlen(data) > 0 && data[strlen(data) - 1] == '\n', 1);
    data[strlen(data) - 1] = 0;
    ck_assert_ptr_null(strchr(data, '\n'));
    char *hs, *ds, *h = strtok_r(cs, ",", &hs), *d = strtok_r(data, ",", &ds);
    int fields = 0;
    while (h && d) {
        char pat[64];
        snprintf(pat, sizeof pat, "\"%s\":", h);
        ck_assert_msg(strstr(js, pat), "CSV field %s not in the JSON", h);
        if (fields >= 3) /* after policy, kind, mode: numbers */
            expect_eq_num(strtod(d, NULL), jnum(js, h), h);
        fields++;
        h = strtok_r(NULL, ",", &hs);
        d = strtok_r(NULL, ",", &ds);
    }
    ck_assert_ptr_null(h);
    ck_assert_ptr_null(d);
    ck_assert_int_eq(fields, 25);
    free(js);
    free(tx);
    free(cs);
}
END_TEST

static void expect_error(int code, const char *needle, const char *const *args)
{
    char *out, *err;
    int rc = run(&out, &err, args);
    ck_assert_msg(rc == code, "exit %d (want %d) for %s; stderr: %s", rc, code, args[0], err);
    ck_assert_msg(strstr(err, needle), "'%s' not in stderr: %s", needle, err);
    ck_assert_str_eq(out, "");
    free(out);
    free(err);
}

START_TEST(bad_input)
{
    const char *a1[] = {"--bogus", small_path, NULL};
    expect_error(2, "unknown option '--bogus'", a1);
    const char *a2[] = {"--episodes", NULL};
    expect_error(2, "--episodes needs a value", a2);
    const char *a3[] = {"--episodes", "0", small_path, NULL};
    expect_error(2, "--episodes wants an integer", a3);
    const char *a4[] = {"--episodes", "12x", small_path, NULL};
    expect_error(2, "--episodes wants an integer", a4);
    const char *a5[] = {"--seed", "-1", small_path, NULL};
    expect_error(2, "--seed wants an integer", a5);
    const char *a6[] = {"--threads", "0", small_path, NULL};
    expect_error(2, "--threads wants an integer", a6);
    const char *a7[] = {NULL};
    expect_error(2, "no policy file given", a7);
    const char *a8[] = {small_path, junk_path, NULL};
    expect_error(2, "exactly one policy file", a8);
    const char *a9[] = {"--json", "--csv", small_path, NULL};
    expect_error(2, "exclude each other", a9);
    const char *a9b[] = {"--task", "cheetah-run", small_path, NULL};
    expect_error(2, "--task wants humanoid-root-goal or humanoid-root-goal-pd", a9b);
    char missing[320];
    snprintf(missing, sizeof missing, "%s/missing.fpo", dir);
    const char *a10[] = {missing, NULL};
    expect_error(1, "cannot open", a10);
    const char *a11[] = {dir, NULL};
    expect_error(1, "not a regular file", a11);
    const char *a12[] = {junk_path, NULL};
    expect_error(1, "cannot load the policy", a12);
    const char *a13[] = {small_path, NULL};
    expect_error(1, "3 observations and 1 actions; humanoid-root-goal has 71 and 21", a13);
    /* --help succeeds */
    char *out;
    const char *ah[] = {"--help", NULL};
    ck_assert_int_eq(run(&out, NULL, ah), 0);
    ck_assert(strstr(out, "usage: humanoid-eval"));
    free(out);
}
END_TEST

START_TEST(bad_model_dir_and_episodes_csv)
{
    if (!have_model())
        return;
    /* a --model-dir without humanoid.xml falls back to the installed model */
    char *out, *err;
    const char *a1[] = {"--episodes", "2", "--json", "--model-dir", dir, flow_path, NULL};
    ck_assert_int_eq(run(&out, &err, a1), 0);
    free(out);
    free(err);
    char bad[320];
    snprintf(bad, sizeof bad, "%s/no/such/dir/episodes.csv", dir);
    const char *a2[] = {"--episodes", "2", "--episodes-csv", bad, flow_path, NULL};
    ck_assert_int_eq(run(&out, &err, a2), 1);
    ck_assert_msg(strstr(err, "cannot write"), "%s", err);
    free(out);
    free(err);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("humanoid_eval");
    TCase *tc = tcase_create("program");
    tcase_add_unchecked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, flow_deterministic_agrees_with_summary);
    tcase_add_test(tc, pd_task_agrees_with_summary);
    tcase_add_test(tc, flow_sampled_agrees_with_summary);
    tcase_add_test(tc, gaussian_agrees_with_summary);
    tcase_add_test(tc, threads_do_not_matter);
    tcase_add_test(tc, text_and_csv_match_json);
    tcase_add_test(tc, bad_input);
    tcase_add_test(tc, bad_model_dir_and_episodes_csv);
    suite_add_tcase(s, tc);
    return s;
}
