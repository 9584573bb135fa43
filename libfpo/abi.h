/* Internal: the sized-struct rules of docs/abi.md, applied in one place.
 *
 * Every public struct begins with size_t struct_size, the caller's sizeof.
 * - A caller's struct smaller than the first ABI's is refused (it was never
 *   initialized, or it is not the struct it claims to be).
 * - Configs and tables read in (fpo_struct_in): an older, smaller struct gets
 *   the library's defaults for the fields it lacks; a newer, larger one is
 *   accepted when every byte the library does not know is zero (fields left
 *   at their zero default) and refused with FPO_EVERSION, naming the struct,
 *   when one is not: a setting is never dropped silently.
 * - Structs written out (fpo_struct_out): the library writes only the
 *   caller's struct_size bytes, zero-fills a newer caller's unknown tail and
 *   keeps its struct_size.
 * - Sized inits (fpo_struct_init): defaults into the caller's size, never past
 *   it. */
#ifndef FPO_INTERNAL_ABI_H
#define FPO_INTERNAL_ABI_H

#include <stddef.h>

#include "abi_structs.h"
#include "error.h"
#include "fpo/fpo.h"

/* "fpo_policy_config", ... */
const char *fpo_struct_name(fpo_struct_id id);

/* Copy the caller's struct src (its struct_size bytes) over dst, which holds
 * the library's defaults and is dst_size bytes; dst->struct_size becomes
 * dst_size. */
int fpo_struct_in(fpo_errbuf *err, fpo_struct_id id, void *dst, size_t dst_size,
                  const void *src);

/* The rule itself, for a struct named name whose first release had v1 bytes
 * (fpo_struct_in passes the public structs' own; tests pass their own). */
int fpo_struct_copy_in(fpo_errbuf *err, const char *name, size_t v1, void *dst, size_t dst_size,
                       const void *src);

/* Copy the library's src (src_size bytes) into the caller's dst. */
int fpo_struct_out(fpo_errbuf *err, fpo_struct_id id, void *dst, const void *src,
                   size_t src_size);

/* The rule for a struct written out, named name, whose first release had
 * v1 bytes (fpo_struct_out passes the public structs' own). */
int fpo_struct_copy_out(fpo_errbuf *err, const char *name, size_t v1, void *dst, const void *src,
                        size_t src_size);

/* The body of a sized init: defaults (known bytes, struct_size ignored) into
 * cfg, which has size bytes. FPO_EINVAL (and nothing written) when cfg is
 * NULL or size is below the first ABI's size. */
int fpo_struct_init(fpo_struct_id id, void *cfg, size_t size, const void *defaults,
                    size_t known);

/* The same for a struct named name whose first release had first bytes (the
 * structs added after the first ABI: export and pretraining configs). */
int fpo_struct_copy_init(const char *name, size_t first, void *cfg, size_t size,
                         const void *defaults, size_t known);

/* The first ABI's size of a struct: what a legacy init writes. */
static inline size_t fpo_struct_v1_size(fpo_struct_id id) { return fpo_abi_v1_size[id]; }

/* Defines the LIBFPO_1.1 sized init fpo_NAME_init_sized (fill_defaults(cfg)
 * writes the library's defaults into a whole struct) and the LIBFPO_1 entry
 * point fpo_NAME_init, which writes the first ABI's size only. */
#define FPO_DEFINE_CONFIG_INIT(name, ID, fill_defaults)                               \
    int name##_init_sized(name *cfg, size_t size)                                    \
    {                                                                                \
        name d;                                                                      \
        fill_defaults(&d);                                                           \
        return fpo_struct_init(FPO_S_##ID, cfg, size, &d, sizeof d);                 \
    }                                                                                \
    FPO_API void(name##_init)(name * cfg);                                           \
    void(name##_init)(name * cfg) { (void)name##_init_sized(cfg, fpo_struct_v1_size(FPO_S_##ID)); }

#endif
