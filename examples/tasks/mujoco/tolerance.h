/* dm_control's rewards.tolerance() in C (see /work/shared/TASKS.md).
 *
 * tolerance(x, lo, hi, margin, sigmoid, v) is 1 when lo <= x <= hi (lo and
 * hi may be -INFINITY / INFINITY). Outside, with margin == 0 it is 0; with
 * margin > 0 and d = (distance from x to the nearer bound) / margin it is
 * sigmoid(d, v), where every sigmoid equals 1 at d = 0 and v at d = 1:
 *   gaussian      v^(d^2)                      (0 < v < 1)
 *   linear        max(0, 1 - d(1 - v))         (0 <= v < 1)
 *   quadratic     z = d sqrt(1 - v): 1 - z^2 if z < 1 else 0
 *   long_tail     1 / ((d sqrt(1/v - 1))^2 + 1)
 *   hyperbolic    1 / cosh(d acosh(1/v))
 *   reciprocal    1 / (d (1/v - 1) + 1)
 *   cosine        z = d acos(2v - 1)/pi: (1 + cos(pi z))/2 if z < 1 else 0
 *   tanh_squared  1 - tanh(d atanh(sqrt(1 - v)))^2
 * dm_control's default value_at_margin is 0.1 (TOL_VAM). A v outside the
 * sigmoid's domain, a negative margin, lo > hi or a NaN x give NaN. */
#ifndef FPO_EXAMPLE_TOLERANCE_H
#define FPO_EXAMPLE_TOLERANCE_H

typedef enum tol_sigmoid {
    TOL_GAUSSIAN = 0,
    TOL_LINEAR,
    TOL_QUADRATIC,
    TOL_LONG_TAIL,
    TOL_HYPERBOLIC,
    TOL_RECIPROCAL,
    TOL_COSINE,
    TOL_TANH_SQUARED
} tol_sigmoid;

#define TOL_VAM 0.1

double tolerance(double x, double lo, double hi, double margin, tol_sigmoid sigmoid,
                 double value_at_margin);

/* The sigmoid alone at scaled distance d >= 0. */
double tolerance_sigmoid(double d, tol_sigmoid sigmoid, double value_at_margin);

#endif
