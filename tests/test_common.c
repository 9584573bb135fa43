#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"
#include "alloc.h"
#include "error.h"
#include "testutil.h"

START_TEST(version_matches_header)
{
    ck_assert_uint_eq(fpo_version(), FPO_VERSION);
    ck_assert_str_eq(fpo_version_string(), FPO_VERSION_STRING);
}
END_TEST

START_TEST(strerror_covers_every_code)
{
    for (int c = 0; c >= FPO_EREMOTE; c--) {
        const char *s = fpo_strerror(c);
        ck_assert_ptr_nonnull(s);
        ck_assert_str_ne(s, "unknown error code");
    }
    ck_assert_str_eq(fpo_strerror(-999), "unknown error code");
    ck_assert_str_eq(fpo_strerror(5), "unknown error code");
}
END_TEST

START_TEST(fail_formats_message)
{
    fpo_errbuf e;
    fpo_err_clear(&e);
    ck_assert_int_eq(fpo_fail(&e, FPO_ERANGE, "x=%d", 7), FPO_ERANGE);
    ck_assert_str_eq(fpo_err_get(&e), "x=7");
    ck_assert_int_eq(fpo_fail(NULL, FPO_EINVAL, "ignored"), FPO_EINVAL);
}
END_TEST

static int n_alloc, n_free;
static void *count_alloc(void *u, size_t size, size_t align)
{
    (void)u;
    n_alloc++;
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}
static void count_free(void *u, void *p)
{
    (void)u;
    if (p)
        n_free++;
    free(p);
}

START_TEST(allocator_is_used_and_validated)
{
    fpo_allocator a = {sizeof a, count_alloc, count_free, NULL};
    fpo_mem m;
    ck_assert_int_eq(fpo_mem_init(&m, &a, NULL), FPO_OK);
    n_alloc = n_free = 0;
    void *p = fpo_mem_calloc(&m, 10, 3);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq((uintptr_t)p % FPO_ALIGN, 0);
    ck_assert_int_eq(((unsigned char *)p)[29], 0);
    fpo_mem_free(&m, p);
    ck_assert_int_eq(n_alloc, 1);
    ck_assert_int_eq(n_free, 1);
    ck_assert_ptr_null(fpo_mem_calloc(&m, SIZE_MAX / 2, 4));

    fpo_allocator half = {sizeof half, count_alloc, NULL, NULL};
    ck_assert_int_eq(fpo_mem_init(&m, &half, NULL), FPO_EINVAL);
    fpo_allocator small = {4, count_alloc, count_free, NULL};
    ck_assert_int_eq(fpo_mem_init(&m, &small, NULL), FPO_EINVAL);
    ck_assert_int_eq(fpo_mem_init(&m, NULL, NULL), FPO_OK);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, version_matches_header);
    tcase_add_test(tc, strerror_covers_every_code);
    tcase_add_test(tc, fail_formats_message);
    tcase_add_test(tc, allocator_is_used_and_validated);
    suite_add_tcase(s, tc);
    return s;
}
