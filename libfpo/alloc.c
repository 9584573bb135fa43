#include "alloc.h"

#include "abi.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *sys_alloc(void *user, size_t size, size_t align)
{
    void *p = NULL;
    (void)user;
    if (posix_memalign(&p, align, size) != 0)
        return NULL;
    return p;
}

static void sys_free(void *user, void *p)
{
    (void)user;
    free(p);
}

int fpo_mem_init(fpo_mem *out, const fpo_allocator *user, fpo_errbuf *err)
{
    out->alloc = sys_alloc;
    out->free = sys_free;
    out->user = NULL;
    if (!user)
        return FPO_OK;
    fpo_allocator a;
    int rc = fpo_struct_in(err, FPO_S_ALLOCATOR, &a, sizeof a, user);
    if (rc)
        return rc;
    if (!a.alloc && !a.free)
        return FPO_OK;
    if (!a.alloc || !a.free)
        return fpo_fail(err, FPO_EINVAL,
                        "fpo_allocator needs both alloc and free (or neither, for the system's)");
    out->alloc = a.alloc;
    out->free = a.free;
    out->user = a.user;
    return FPO_OK;
}

void *fpo_mem_calloc(const fpo_mem *m, size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t n = count * size;
    if (n == 0)
        n = 1;
    /* Round up so vector loops may read a whole line past the end safely. */
    if (n > SIZE_MAX - FPO_ALIGN)
        return NULL;
    n = (n + FPO_ALIGN - 1) & ~(size_t)(FPO_ALIGN - 1);
    void *p = m->alloc(m->user, n, FPO_ALIGN);
    if (p)
        memset(p, 0, n);
    return p;
}

void fpo_mem_free(const fpo_mem *m, void *p)
{
    if (p)
        m->free(m->user, p);
}
