/* examples/curve.[ch]: the peak and the end of a learning curve, checked on
 * hand-made curves. */
#include <math.h>

#include "curve.h"
#include "testutil.h"

START_TEST(peak_and_end_by_hand)
{
    /* Rises to 500 at x = 3, falls to 390: 0.78 of the best, so it fell
     * (more than 20% below); to 410 it would not have (0.82). */
    double x[] = {1, 2, 3, 4, 5};
    double y[] = {100, 300, 500, 450, 390};
    curve_peak c;
    curve_peak_find(x, y, 5, 0.2, &c);
    ck_assert_int_eq(c.have, 1);
    ck_assert_close(c.best, 500, 0);
    ck_assert_close(c.best_x, 3, 0);
    ck_assert_close(c.final, 390, 0);
    ck_assert_close(c.final_x, 5, 0);
    ck_assert_int_eq(c.fell, 1);
    y[4] = 410;
    curve_peak_find(x, y, 5, 0.2, &c);
    ck_assert_int_eq(c.fell, 0);
    ck_assert_close(c.final, 410, 0);
    /* A curve still rising, or flat at its peak: no drop. */
    double up[] = {1, 2, 3, 4, 5};
    curve_peak_find(x, up, 5, 0.2, &c);
    ck_assert_int_eq(c.fell, 0);
    ck_assert_close(c.final, 5, 0);
    ck_assert_close(c.best, 5, 0);
    ck_assert_close(c.best_x, 5, 0);
    /* The first of equal peaks. */
    double flat[] = {7, 9, 9, 9, 8};
    curve_peak_find(x, flat, 5, 0.2, &c);
    ck_assert_close(c.best_x, 2, 0);
    ck_assert_int_eq(c.fell, 0);
}
END_TEST

START_TEST(negative_returns_and_gaps)
{
    /* Pendulum-like returns: best -150, final -200 is a drop of 50, more
     * than 20% of |best| = 30. */
    double x[] = {1, 2, 3, 4, 5, 6};
    double y[] = {NAN, -900, -150, INFINITY, -200, NAN};
    curve_peak c;
    curve_peak_find(x, y, 6, 0.2, &c);
    ck_assert_int_eq(c.have, 1);
    ck_assert_close(c.best, -150, 0);
    ck_assert_close(c.best_x, 3, 0);
    ck_assert_close(c.final, -200, 0);
    ck_assert_close(c.final_x, 5, 0); /* the NaN after it is skipped */
    ck_assert_int_eq(c.fell, 1);
    y[4] = -170; /* 20 < 30 */
    curve_peak_find(x, y, 6, 0.2, &c);
    ck_assert_int_eq(c.fell, 0);
    /* Nothing finite, or nothing at all. */
    double none[] = {NAN, NAN};
    curve_peak_find(x, none, 2, 0.2, &c);
    ck_assert_int_eq(c.have, 0);
    ck_assert_int_eq(c.fell, 0);
    curve_peak_find(x, y, 0, 0.2, &c);
    ck_assert_int_eq(c.have, 0);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("curve");
    TCase *tc = tcase_create("curve");
    tcase_add_test(tc, peak_and_end_by_hand);
    tcase_add_test(tc, negative_returns_and_gaps);
    suite_add_tcase(s, tc);
    return s;
}
