/* Internal: allocation-free MLP inference without BLIS (see mlp_direct.c). */
#ifndef FPO_INTERNAL_MLP_DIRECT_H
#define FPO_INTERNAL_MLP_DIRECT_H

#include "mlp.h"

/* Floats of scratch fpo_mlp_forward_direct needs for batch rows. */
size_t fpo_mlp_direct_scratch_floats(const fpo_mlp *m, int batch);
/* Same result as fpo_mlp_forward with cache == NULL (up to summation order),
 * with plain loops: no allocation, no BLIS. */
void fpo_mlp_forward_direct(const fpo_mlp *m, const float *params, const float *x, int batch,
                            float *y, float *scratch);

#endif
