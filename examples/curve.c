/* See curve.h. */
#include "curve.h"

#include <math.h>
#include <string.h>

void curve_peak_find(const double *x, const double *y, int n, double frac, curve_peak *out)
{
    memset(out, 0, sizeof *out);
    for (int i = 0; i < n; i++) {
        if (!isfinite(y[i]))
            continue;
        if (!out->have || y[i] > out->best) {
            out->best = y[i];
            out->best_x = x[i];
        }
        out->final = y[i];
        out->final_x = x[i];
        out->have = 1;
    }
    out->fell = out->have && out->best - out->final > frac * fabs(out->best);
}
