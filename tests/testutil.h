/* Shared helpers for the Check suites. Each test_*.c defines
 * Suite *fpo_test_suite(void); testutil.c supplies main(). */
#ifndef FPO_TESTUTIL_H
#define FPO_TESTUTIL_H

#include <check.h>
#include <math.h>

Suite *fpo_test_suite(void);

/* |a - b| <= tol * max(1, |a|, |b|) */
#define ck_assert_close(a, b, tol)                                              \
    do {                                                                        \
        double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol);          \
        double s_ = fmax(1.0, fmax(fabs(a_), fabs(b_)));                        \
        ck_assert_msg(fabs(a_ - b_) <= t_ * s_, "%s = %.9g, %s = %.9g (tol %g)", \
                      #a, a_, #b, b_, t_);                                      \
    } while (0)

#endif
