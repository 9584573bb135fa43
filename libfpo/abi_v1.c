/* The first ABI's struct sizes. This file alone is compiled against the frozen
 * copy of release 0.1.0's headers (abi/v1/include, see libfpo/meson.build), so
 * sizeof below is that release's sizeof on the architecture being built. */
#include <stddef.h>

#include <fpo/fpo.h>

#include "abi_structs.h"

#if FPO_VERSION_MAJOR != 0 || FPO_VERSION_MINOR != 1
#error "abi_v1.c must be compiled against the frozen first-ABI headers (abi/v1/include)"
#endif

#define FPO_V1_SIZE_(id, type, dir) sizeof(type),
const size_t fpo_abi_v1_size[FPO_S_COUNT_] = {
    FPO_PUBLIC_STRUCTS(FPO_V1_SIZE_)};
