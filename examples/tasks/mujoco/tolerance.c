/* dm_control's tolerance() in C: see tolerance.h. */
#include "tolerance.h"

#include <math.h>

#define TOL_PI 3.14159265358979323846

double tolerance_sigmoid(double d, tol_sigmoid sigmoid, double v)
{
    switch (sigmoid) {
    case TOL_GAUSSIAN:
        if (!(v > 0.0 && v < 1.0))
            return NAN;
        return exp(log(v) * d * d);
    case TOL_LINEAR: {
        if (!(v >= 0.0 && v < 1.0))
            return NAN;
        double z = d * (1.0 - v);
        return z < 1.0 ? 1.0 - z : 0.0;
    }
    case TOL_QUADRATIC: {
        if (!(v >= 0.0 && v < 1.0))
            return NAN;
        double z = d * sqrt(1.0 - v);
        return z < 1.0 ? 1.0 - z * z : 0.0;
    }
    case TOL_LONG_TAIL: {
        if (!(v > 0.0 && v < 1.0))
            return NAN;
        double z = d * sqrt(1.0 / v - 1.0);
        return 1.0 / (z * z + 1.0);
    }
    case TOL_HYPERBOLIC:
        if (!(v > 0.0 && v < 1.0))
            return NAN;
        return 1.0 / cosh(d * acosh(1.0 / v));
    case TOL_RECIPROCAL:
        if (!(v > 0.0 && v < 1.0))
            return NAN;
        return 1.0 / (d * (1.0 / v - 1.0) + 1.0);
    case TOL_COSINE: {
        if (!(v >= 0.0 && v < 1.0))
            return NAN;
        double z = d * acos(2.0 * v - 1.0) / TOL_PI;
        return z < 1.0 ? 0.5 * (1.0 + cos(TOL_PI * z)) : 0.0;
    }
    case TOL_TANH_SQUARED: {
        if (!(v > 0.0 && v < 1.0))
            return NAN;
        double t = tanh(d * atanh(sqrt(1.0 - v)));
        return 1.0 - t * t;
    }
    }
    return NAN;
}

double tolerance(double x, double lo, double hi, double margin, tol_sigmoid sigmoid,
                 double value_at_margin)
{
    if (isnan(x) || !(lo <= hi) || !(margin >= 0.0))
        return NAN;
    if (x >= lo && x <= hi)
        return 1.0;
    if (margin == 0.0)
        return 0.0;
    double d = (x < lo ? lo - x : x - hi) / margin;
    return tolerance_sigmoid(d, sigmoid, value_at_margin);
}
