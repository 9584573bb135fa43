/* The sized-struct rules of docs/abi.md (abi.h). */
#include "abi.h"

#include <string.h>

#define FPO_STRUCT_NAME_(id, type, dir) #type,
static const char *const struct_names[FPO_S_COUNT_] = {FPO_PUBLIC_STRUCTS(FPO_STRUCT_NAME_)};

const char *fpo_struct_name(fpo_struct_id id)
{
    return (unsigned)id < FPO_S_COUNT_ ? struct_names[id] : "struct";
}

static size_t read_size(const void *s)
{
    size_t n;
    memcpy(&n, s, sizeof n);
    return n;
}

/* First non-zero byte of p[from, to), or to. */
static size_t first_nonzero(const unsigned char *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i])
            return i;
    return to;
}

int fpo_struct_in(fpo_errbuf *err, fpo_struct_id id, void *dst, size_t dst_size,
                  const void *src)
{
    return fpo_struct_copy_in(err, fpo_struct_name(id), fpo_struct_v1_size(id), dst, dst_size,
                              src);
}

int fpo_struct_copy_in(fpo_errbuf *err, const char *name, size_t v1, void *dst, size_t dst_size,
                       const void *src)
{
    if (!src)
        return fpo_fail(err, FPO_EINVAL, "%s is NULL", name);
    size_t n = read_size(src);
    if (n < v1)
        return fpo_fail(err, FPO_EINVAL,
                        "%s.struct_size is %zu, below the smallest %s of any release (%zu): "
                        "initialize it with its init function or set struct_size = sizeof",
                        name, n, name, v1);
    if (n > dst_size) {
        size_t at = first_nonzero(src, dst_size, n);
        if (at < n)
            return fpo_fail(err, FPO_EVERSION,
                            "%s has %zu bytes, this libfpo (%s) knows %zu, and byte %zu of the "
                            "fields it does not know is not zero: the program sets a setting "
                            "this library does not have; use a newer libfpo",
                            name, n, fpo_version_string(), dst_size, at);
    }
    memcpy(dst, src, n < dst_size ? n : dst_size);
    memcpy(dst, &dst_size, sizeof dst_size);
    return FPO_OK;
}

int fpo_struct_out(fpo_errbuf *err, fpo_struct_id id, void *dst, const void *src,
                   size_t src_size)
{
    return fpo_struct_copy_out(err, fpo_struct_name(id), fpo_struct_v1_size(id), dst, src,
                               src_size);
}

int fpo_struct_copy_out(fpo_errbuf *err, const char *name, size_t v1, void *dst, const void *src,
                        size_t src_size)
{
    if (!dst)
        return fpo_fail(err, FPO_EINVAL, "the %s to fill is NULL", name);
    size_t n = read_size(dst);
    if (n < v1)
        return fpo_fail(err, FPO_EINVAL,
                        "%s.struct_size is %zu, below the smallest %s of any release (%zu): "
                        "set struct_size = sizeof(%s) before the call",
                        name, n, name, v1, name);
    size_t k = n < src_size ? n : src_size;
    memcpy((char *)dst + sizeof(size_t), (const char *)src + sizeof(size_t), k - sizeof(size_t));
    if (n > k)
        memset((char *)dst + k, 0, n - k);
    return FPO_OK;
}

int fpo_struct_init(fpo_struct_id id, void *cfg, size_t size, const void *defaults,
                    size_t known)
{
    return fpo_struct_copy_init(fpo_struct_name(id), fpo_struct_v1_size(id), cfg, size, defaults,
                                known);
}

int fpo_struct_copy_init(const char *name, size_t first, void *cfg, size_t size,
                         const void *defaults, size_t known)
{
    if (!cfg)
        return fpo_fail(NULL, FPO_EINVAL, "%s_init_sized: cfg is NULL", name);
    if (size < first)
        return fpo_fail(NULL, FPO_EINVAL,
                        "%s_init_sized: size %zu is below the smallest %s of any release (%zu); "
                        "pass sizeof *cfg", name, size, name, first);
    size_t k = size < known ? size : known;
    memcpy(cfg, defaults, k);
    if (size > k)
        memset((char *)cfg + k, 0, size - k);
    memcpy(cfg, &size, sizeof size);
    return FPO_OK;
}
