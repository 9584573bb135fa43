/* libfpo version: the single place the version is written.
 * meson.build reads these lines; fpo_version() returns FPO_VERSION at run time
 * so callers can compare the header they compiled against with the library. */
#ifndef FPO_VERSION_H
#define FPO_VERSION_H

#define FPO_VERSION_MAJOR 0
#define FPO_VERSION_MINOR 2
#define FPO_VERSION_PATCH 0

/* ABI major: the shared object's soversion and the version-script node
 * (LIBFPO_<FPO_ABI_MAJOR>). Bumped only by a deliberate ABI break. */
#define FPO_ABI_MAJOR 1

#define FPO_VERSION_STRING "0.2.0"

/* One integer, comparable with <: 0x00MMmmpp. */
#define FPO_VERSION \
    ((FPO_VERSION_MAJOR << 16) | (FPO_VERSION_MINOR << 8) | FPO_VERSION_PATCH)

#endif
