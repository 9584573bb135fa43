/* Internal: allocation through an optional user allocator. */
#ifndef FPO_INTERNAL_ALLOC_H
#define FPO_INTERNAL_ALLOC_H

#include <stddef.h>

#include "error.h"
#include "fpo/common.h"

/* Alignment of every block libfpo allocates (one cache line, AVX-512 safe). */
#define FPO_ALIGN 64

/* A resolved allocator: either the user's or the C library's. Copied into
 * each handle at create time so the caller's struct need not outlive it. */
typedef struct fpo_mem {
    void *(*alloc)(void *user, size_t size, size_t align);
    void (*free)(void *user, void *ptr);
    void *user;
} fpo_mem;

/* Resolve a user allocator (NULL, or with NULL members = system allocator).
 * Returns FPO_EINVAL if struct_size is too small or only one of alloc/free
 * is given. */
/* The handle's allocator: the system's for user == NULL. A malformed
 * fpo_allocator fails with a message in err (NULL: the thread's). */
int fpo_mem_init(fpo_mem *out, const fpo_allocator *user, fpo_errbuf *err);

/* FPO_ALIGN-aligned, zero-filled block of size bytes (size 0 -> 1 byte).
 * NULL on failure or overflow. */
void *fpo_mem_calloc(const fpo_mem *m, size_t count, size_t size);
void fpo_mem_free(const fpo_mem *m, void *p);

#endif
