/* The peak and the end of a learning curve, for fpo-train's closing report:
 * a run that peaks and then falls is a failure even when an early policy was
 * good, so the example trainer says so. Not part of libfpo. */
#ifndef FPO_EXAMPLE_CURVE_H
#define FPO_EXAMPLE_CURVE_H

typedef struct curve_peak {
    int have;       /* 0: the curve has no finite point (nothing else is set) */
    double best;    /* the highest y */
    double best_x;  /* the x of its first occurrence */
    double final;   /* the last finite y */
    double final_x; /* and its x */
    int fell;       /* best - final > frac x |best|: the run ended below its peak by more
                     * than the share frac of the peak's size (for positive
                     * returns: final < (1 - frac) x best) */
} curve_peak;

/* Scans n points (x[i], y[i]); points whose y is NaN or infinite are
 * skipped. frac >= 0. */
void curve_peak_find(const double *x, const double *y, int n, double frac, curve_peak *out);

#endif
