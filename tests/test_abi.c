/* The sized-struct rules of docs/abi.md, in one process: inits that never
 * write past the caller's struct, older and newer structs passed to creates
 * and getters, and the rule itself on a synthetic struct that grew. The
 * old-binary / new-library and new-binary / old-library cases with real
 * binaries are tests/abi/. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"
#include "fpo/fpo.h"
#include "testutil.h"
#include "toyenv.h"

/* The LIBFPO_1 entry points, as a binary built against release 0.1.0 calls
 * them (the current headers map these names to the sized inits). */
void(fpo_policy_config_init)(fpo_policy_config *cfg);
void(fpo_sampler_config_init)(fpo_sampler_config *cfg);
void(fpo_buffer_config_init)(fpo_buffer_config *cfg);
void(fpo_optimizer_config_init)(fpo_optimizer_config *cfg, fpo_algo algo);
void(fpo_vecenv_config_init)(fpo_vecenv_config *cfg);
void(fpo_trainer_config_init)(fpo_trainer_config *cfg);

#define GUARD 64
#define FILL 0xA5

/* A caller's struct of `size` bytes followed by GUARD bytes of canary, in a
 * heap block of exactly that size (ASan also sees a write past the end). */
typedef struct zone {
    unsigned char *p;
    size_t size;
} zone;

static zone zone_new(size_t size)
{
    zone z = {malloc(size + GUARD), size};
    ck_assert_ptr_nonnull(z.p);
    memset(z.p, FILL, size + GUARD);
    return z;
}

static int canary_intact(const zone *z)
{
    for (size_t i = 0; i < GUARD; i++)
        if (z->p[z->size + i] != FILL)
            return 0;
    return 1;
}

static size_t size_of(const void *s)
{
    size_t n;
    memcpy(&n, s, sizeof n);
    return n;
}

enum { I_POLICY, I_SAMPLER, I_BUFFER, I_OPTIMIZER, I_VECENV, I_TRAINER, N_INITS };
static const fpo_struct_id init_ids[N_INITS] = {
    FPO_S_POLICY_CONFIG, FPO_S_SAMPLER_CONFIG, FPO_S_BUFFER_CONFIG,
    FPO_S_OPTIMIZER_CONFIG, FPO_S_VECENV_CONFIG, FPO_S_TRAINER_CONFIG};
static const size_t init_sizes[N_INITS] = {
    sizeof(fpo_policy_config), sizeof(fpo_sampler_config), sizeof(fpo_buffer_config),
    sizeof(fpo_optimizer_config), sizeof(fpo_vecenv_config), sizeof(fpo_trainer_config)};

static void call_legacy(int i, void *p)
{
    switch (i) {
    case I_POLICY: (fpo_policy_config_init)(p); break;
    case I_SAMPLER: (fpo_sampler_config_init)(p); break;
    case I_BUFFER: (fpo_buffer_config_init)(p); break;
    case I_OPTIMIZER: (fpo_optimizer_config_init)(p, FPO_ALGO_FPO); break;
    case I_VECENV: (fpo_vecenv_config_init)(p); break;
    case I_TRAINER: (fpo_trainer_config_init)(p); break;
    }
}

static int call_sized(int i, void *p, size_t size)
{
    switch (i) {
    case I_POLICY: return fpo_policy_config_init_sized(p, size);
    case I_SAMPLER: return fpo_sampler_config_init_sized(p, size);
    case I_BUFFER: return fpo_buffer_config_init_sized(p, size);
    case I_OPTIMIZER: return fpo_optimizer_config_init_sized(p, size, FPO_ALGO_FPO);
    case I_VECENV: return fpo_vecenv_config_init_sized(p, size);
    case I_TRAINER: return fpo_trainer_config_init_sized(p, size);
    }
    return -100;
}

START_TEST(legacy_inits_write_the_first_abi_only)
{
    for (int i = 0; i < N_INITS; i++) {
        size_t v1 = fpo_struct_v1_size(init_ids[i]);
        ck_assert_uint_ge(v1, sizeof(size_t) + sizeof(int));
        ck_assert_uint_le(v1, init_sizes[i]);
        zone z = zone_new(v1);
        call_legacy(i, z.p);
        ck_assert_msg(canary_intact(&z), "%s: the LIBFPO_1 init wrote past the first ABI's size",
                      fpo_struct_name(init_ids[i]));
        ck_assert_uint_eq(size_of(z.p), v1);
        free(z.p);
    }
}
END_TEST

START_TEST(sized_inits_never_write_past_size)
{
    for (int i = 0; i < N_INITS; i++) {
        const char *name = fpo_struct_name(init_ids[i]);
        size_t v1 = fpo_struct_v1_size(init_ids[i]), n = init_sizes[i];
        const size_t sizes[] = {v1, n, n + 8, n + 40};
        for (int k = 0; k < 4; k++) {
            zone z = zone_new(sizes[k]);
            ck_assert_int_eq(call_sized(i, z.p, sizes[k]), FPO_OK);
            ck_assert_msg(canary_intact(&z), "%s: init of size %zu wrote past it", name, sizes[k]);
            ck_assert_uint_eq(size_of(z.p), sizes[k]);
            /* a newer caller's fields, unknown here, read as zero */
            for (size_t b = n; b < sizes[k]; b++)
                ck_assert_msg(z.p[b] == 0, "%s: tail byte %zu not zeroed", name, b);
            free(z.p);
        }
        /* below any release: refused, nothing written, a message */
        zone z = zone_new(v1 - 1);
        ck_assert_int_eq(call_sized(i, z.p, v1 - 1), FPO_EINVAL);
        for (size_t b = 0; b < v1 - 1 + GUARD; b++)
            ck_assert_msg(z.p[b] == FILL, "%s: a refused init wrote byte %zu", name, b);
        ck_assert(strstr(fpo_last_errmsg(), name) != NULL);
        free(z.p);
        ck_assert_int_eq(call_sized(i, NULL, n), FPO_EINVAL);
    }
}
END_TEST

/* The library's defaults are the same through every door. */
START_TEST(sized_and_legacy_inits_agree)
{
    for (int i = 0; i < N_INITS; i++) {
        size_t v1 = fpo_struct_v1_size(init_ids[i]), n = init_sizes[i];
        unsigned char *a = calloc(1, n), *b = calloc(1, n);
        call_legacy(i, a);
        ck_assert_int_eq(call_sized(i, b, n), FPO_OK);
        ck_assert_mem_eq(a + sizeof(size_t), b + sizeof(size_t), v1 - sizeof(size_t));
        free(a);
        free(b);
    }
}
END_TEST

/* ---- creates: newer callers' structs --------------------------------------- */

/* A trainer config as a newer program has it: the known struct and `extra`
 * bytes of fields this library does not know. */
typedef struct newer_trainer_config {
    fpo_trainer_config c;
    unsigned char extra[32];
} newer_trainer_config;

START_TEST(newer_structs_zero_tail_accepted_nonzero_refused)
{
    toy e;
    toy_init(&e, 3, 2);
    fpo_env_table tab = toy_table(&e);
    newer_trainer_config n;
    ck_assert_int_eq(fpo_trainer_config_init_sized(&n.c, sizeof n), FPO_OK);
    ck_assert_uint_eq(n.c.struct_size, sizeof n);
    for (size_t i = 0; i < sizeof n.extra; i++)
        ck_assert_int_eq(n.extra[i], 0);
    n.c.env = &tab;
    n.c.env_user = &e;
    n.c.num_envs = 2;
    n.c.horizon = 8;
    fpo_trainer *t = NULL;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_OK);
    fpo_trainer_destroy(t);

    /* a setting this library does not have: refused, naming the struct */
    n.extra[17] = 1;
    t = NULL;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_EVERSION);
    ck_assert_ptr_null(t);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_trainer_config") != NULL);
    n.extra[17] = 0;

    /* the same for a nested config and for the environment table */
    struct {
        fpo_policy_config c;
        double extra[2];
    } pc;
    fpo_policy_config_init_sized(&pc.c, sizeof pc);
    pc.extra[1] = 3.0;
    n.c.policy = &pc.c;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_EVERSION);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_policy_config") != NULL);
    pc.extra[1] = 0.0;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_OK);
    fpo_trainer_destroy(t);

    struct {
        fpo_env_table t;
        void (*future_callback)(void);
    } big = {tab, NULL};
    big.t.struct_size = sizeof big;
    n.c.env = &big.t;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_OK);
    fpo_trainer_destroy(t);
    big.future_callback = (void (*)(void))abort;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_EVERSION);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_env_table") != NULL);
    /* and the vecenv, which makes the same check */
    fpo_vecenv_config vc;
    fpo_vecenv_config_init(&vc);
    vc.table = &big.t;
    vc.user = &e;
    fpo_vecenv *v = NULL;
    ck_assert_int_eq(fpo_vecenv_create(&v, &vc), FPO_EVERSION);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_env_table") != NULL);

    /* too small: refused with a message, for every kind of struct */
    n.c.env = &tab;
    tab.struct_size = sizeof tab - 1;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_EINVAL);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_env_table") != NULL);
    tab.struct_size = sizeof tab;
    tab.version = FPO_ENV_TABLE_VERSION + 1;
    ck_assert_int_eq(fpo_trainer_create(&t, &n.c), FPO_EVERSION);
    ck_assert(strstr(fpo_last_errmsg(), "version") != NULL);
}
END_TEST

/* ---- getters: older and newer output structs -------------------------------- */

START_TEST(out_structs_respect_the_callers_size)
{
    fpo_policy_config pc;
    fpo_policy_config_init(&pc);
    pc.obs_dim = 3;
    pc.act_dim = 2;
    fpo_policy *p;
    ck_assert_int_eq(fpo_policy_create(&p, &pc), FPO_OK);
    size_t n = sizeof(fpo_policy_info);
    size_t v1 = fpo_struct_v1_size(FPO_S_POLICY_INFO);

    /* newer caller: the known part written, its own fields zeroed, nothing past */
    zone z = zone_new(n + 24);
    size_t big = n + 24;
    memcpy(z.p, &big, sizeof big);
    ck_assert_int_eq(fpo_policy_get_info(p, (fpo_policy_info *)(void *)z.p), FPO_OK);
    ck_assert(canary_intact(&z));
    ck_assert_uint_eq(size_of(z.p), big);
    fpo_policy_info info;
    memcpy(&info, z.p, sizeof info);
    ck_assert_int_eq(info.obs_dim, 3);
    for (size_t b = n; b < big; b++)
        ck_assert_int_eq(z.p[b], 0);
    free(z.p);

    /* the first ABI's size: nothing past it */
    z = zone_new(v1);
    memcpy(z.p, &v1, sizeof v1);
    ck_assert_int_eq(fpo_policy_get_info(p, (fpo_policy_info *)(void *)z.p), FPO_OK);
    ck_assert(canary_intact(&z));
    free(z.p);

    /* too small: refused, nothing written, a message */
    z = zone_new(v1 - 1);
    size_t small = v1 - 1;
    memcpy(z.p, &small, sizeof small);
    ck_assert_int_eq(fpo_policy_get_info(p, (fpo_policy_info *)(void *)z.p), FPO_EINVAL);
    for (size_t b = sizeof small; b < small + GUARD; b++)
        ck_assert_int_eq(z.p[b], FILL);
    ck_assert(strstr(fpo_last_errmsg(), "fpo_policy_info") != NULL);
    free(z.p);
    fpo_policy_destroy(p);
}
END_TEST

/* ---- the rule itself, on a struct that grew --------------------------------- */

/* Release 1 of a struct, and release 2 with a field appended past release
 * 1's sizeof, as abi.h's rules have it. */
typedef struct s_v1 {
    size_t struct_size;
    double a;
} s_v1;
typedef struct s_v2 {
    size_t struct_size;
    double a;
    double b; /* new in release 2: default 7 */
} s_v2;

START_TEST(an_older_struct_gets_the_new_defaults)
{
    ck_assert_uint_ge(offsetof(s_v2, b), sizeof(s_v1));
    s_v2 lib = {sizeof lib, 1.0, 7.0}; /* the library's defaults */
    s_v1 old = {sizeof old, 2.5};
    ck_assert_int_eq(fpo_struct_copy_in(NULL, "s", sizeof(s_v1), &lib, sizeof lib, &old), FPO_OK);
    ck_assert(lib.a == 2.5);
    ck_assert(lib.b == 7.0);
    ck_assert_uint_eq(lib.struct_size, sizeof lib);

    /* a newer caller (release 2) on a release-1 library: b = 0 is accepted
     * (the setting left at its zero default), b != 0 is refused */
    s_v1 lib1 = {sizeof lib1, 1.0};
    s_v2 newer = {sizeof newer, 3.0, 0.0};
    ck_assert_int_eq(fpo_struct_copy_in(NULL, "s", sizeof(s_v1), &lib1, sizeof lib1, &newer),
                     FPO_OK);
    ck_assert(lib1.a == 3.0);
    newer.b = 1.0;
    ck_assert_int_eq(fpo_struct_copy_in(NULL, "s", sizeof(s_v1), &lib1, sizeof lib1, &newer),
                     FPO_EVERSION);
    ck_assert(strstr(fpo_last_errmsg(), "s has 24 bytes") != NULL);

    /* smaller than release 1: refused */
    s_v1 tiny = {sizeof(size_t), 0.0};
    ck_assert_int_eq(fpo_struct_copy_in(NULL, "s", sizeof(s_v1), &lib, sizeof lib, &tiny),
                     FPO_EINVAL);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("abi");
    TCase *tc = tcase_create("sizes");
    tcase_add_test(tc, legacy_inits_write_the_first_abi_only);
    tcase_add_test(tc, sized_inits_never_write_past_size);
    tcase_add_test(tc, sized_and_legacy_inits_agree);
    tcase_add_test(tc, newer_structs_zero_tail_accepted_nonzero_refused);
    tcase_add_test(tc, out_structs_respect_the_callers_size);
    tcase_add_test(tc, an_older_struct_gets_the_new_defaults);
    suite_add_tcase(s, tc);
    return s;
}
