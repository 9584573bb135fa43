/* libFuzzer target for the .npy reader of the examples' data sets
 * (examples/dataset.c, ds_npy_parse): every input, read as floats and as
 * integers, must either fail with a message or give an array whose size
 * the input holds, with finite floats. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "dataset.h"

static void one(const uint8_t *data, size_t size, ds_kind kind)
{
    char err[DS_ERRLEN];
    err[0] = '\0';
    ds_array a;
    if (ds_npy_parse(data, size, kind, &a, err) != 0) {
        if (err[0] == '\0' || a.f || a.i)
            abort();
        return;
    }
    if ((a.ndim != 1 && a.ndim != 2) || a.shape[0] < 0 || a.shape[1] < 0 || a.kind != kind)
        abort();
    int64_t count = a.shape[0] * a.shape[1];
    if (count > (int64_t)size)
        abort(); /* every element takes at least 4 bytes of the input */
    for (int64_t q = 0; kind == DS_FLOAT && q < count; q++)
        if (!isfinite(a.f[q]))
            abort();
    ds_array_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size, DS_FLOAT);
    one(data, size, DS_INT);
    return 0;
}
