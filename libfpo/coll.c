/* The host's collective as the optimizer and trainer use it (coll.h). */
#include "coll.h"

#include "abi.h"

#include <string.h>

/* Largest transition count of one update over all ranks: indices are int. */
#define FPO_MAX_GLOBAL_BATCH (1 << 30)

int fpo_coll_init(fpo_coll *out, const fpo_collective *c, fpo_errbuf *err)
{
    memset(out, 0, sizeof *out);
    out->rank = 0;
    out->size = 1;
    if (!c)
        return FPO_OK;
    fpo_collective t;
    memset(&t, 0, sizeof t);
    int rc = fpo_struct_in(err, FPO_S_COLLECTIVE, &t, sizeof t, c);
    if (rc)
        return rc;
    if (t.version < 1 || t.version > FPO_COLLECTIVE_VERSION)
        return fpo_fail(err, FPO_EVERSION,
                        "collective table version %d is not supported (1 to %d)", t.version,
                        FPO_COLLECTIVE_VERSION);
    c = &t;
    if (!c->allreduce_sum_f32 || !c->allreduce_sum_f64)
        return fpo_fail(err, FPO_EINVAL, "the collective table needs both allreduce callbacks");
    if (c->size < 1 || c->size > (1 << 24) || c->rank < 0 || c->rank >= c->size)
        return fpo_fail(err, FPO_ERANGE,
                        "collective rank %d / size %d: need 1 <= size <= 2^24, 0 <= rank < size",
                        c->rank, c->size);
    out->t = t;
    out->rank = c->rank;
    out->size = c->size;
    return FPO_OK;
}

int fpo_coll_sum_f32(const fpo_coll *c, fpo_errbuf *err, float *buf, size_t n, const char *what)
{
    if (!fpo_coll_on(c))
        return FPO_OK;
    int rc = c->t.allreduce_sum_f32(c->t.user, buf, n);
    if (rc)
        return fpo_fail(err, FPO_ECALLBACK,
                        "collective allreduce_sum_f32 of %zu floats (%s) failed: callback returned %d",
                        n, what, rc);
    return FPO_OK;
}

int fpo_coll_sum_f64(const fpo_coll *c, fpo_errbuf *err, double *buf, size_t n,
                     const char *what)
{
    if (!fpo_coll_on(c))
        return FPO_OK;
    int rc = c->t.allreduce_sum_f64(c->t.user, buf, n);
    if (rc)
        return fpo_fail(err, FPO_ECALLBACK,
                        "collective allreduce_sum_f64 of %zu doubles (%s) failed: callback returned %d",
                        n, what, rc);
    return FPO_OK;
}

int fpo_coll_sum_outcome(const fpo_coll *c, fpo_errbuf *err, double *buf, size_t n,
                         size_t stride, int local_rc, const char *what, const char *failed)
{
    if (!fpo_coll_on(c))
        return local_rc;
    size_t P = (size_t)c->size;
    buf[(size_t)c->rank * stride] = local_rc ? 1.0 : 0.0;
    /* On a local failure err keeps this rank's own message. */
    int cb = fpo_coll_sum_f64(c, local_rc ? NULL : err, buf, n, what);
    if (local_rc)
        return local_rc;
    if (cb)
        return cb;
    for (size_t q = 0; q < P; q++)
        if (buf[q * stride] != 0.0)
            return fpo_fail(err, FPO_EREMOTE, "%s failed on rank %zu", failed, q);
    return FPO_OK;
}

int fpo_coll_agree(const fpo_coll *c, fpo_errbuf *err, double *scratch, int local_rc,
                   uint32_t fingerprint, const char *what)
{
    if (!fpo_coll_on(c))
        return local_rc;
    size_t P = (size_t)c->size, r = (size_t)c->rank;
    /* Slots [0, P): failure flags; [P, 2P): fingerprints. A sum of one
     * non-zero value and zeros is exact, so this is an all-gather. */
    memset(scratch, 0, 2 * P * sizeof(double));
    scratch[P + r] = (double)fingerprint;
    int rc = fpo_coll_sum_outcome(c, err, scratch, 2 * P, 1, local_rc, what, what);
    if (rc)
        return rc;
    for (size_t q = 0; q < P; q++)
        if (scratch[P + q] != (double)fingerprint)
            return fpo_fail(err, FPO_EMISMATCH,
                            "%s: rank %zu holds another state than rank %zu (were all ranks "
                            "given the same configuration and seed?)",
                            what, q, r);
    return FPO_OK;
}

int fpo_coll_handshake(const fpo_coll *c, fpo_errbuf *err, double *scratch, int num_envs,
                       int horizon, uint32_t fingerprint, fpo_layout *out)
{
    out->env_offset = 0;
    out->global_envs = num_envs;
    if (!fpo_coll_on(c))
        return FPO_OK;
    size_t P = (size_t)c->size, r = (size_t)c->rank;
    /* Per rank: a marker (exactly 1 if one process claims the rank), its
     * environments, horizon and fingerprint. */
    memset(scratch, 0, 4 * P * sizeof(double));
    scratch[4 * r] = 1.0;
    scratch[4 * r + 1] = num_envs;
    scratch[4 * r + 2] = horizon;
    scratch[4 * r + 3] = (double)fingerprint;
    int rc = fpo_coll_sum_f64(c, err, scratch, 4 * P, "create handshake");
    if (rc)
        return rc;
    double total = 0.0, offset = 0.0;
    for (size_t q = 0; q < P; q++) {
        const double *s = scratch + 4 * q;
        if (s[0] != 1.0)
            return fpo_fail(err, FPO_EINVAL,
                            "collective: %g processes claim rank %zu of %zu (check rank and size)",
                            s[0], q, P);
        if (s[2] != horizon)
            return fpo_fail(err, FPO_EMISMATCH, "rank %zu has horizon %g, rank %zu has %d", q,
                            s[2], r, horizon);
        if (s[3] != (double)fingerprint)
            return fpo_fail(err, FPO_EMISMATCH,
                            "rank %zu was configured differently from rank %zu (settings and "
                            "seeds must agree on all ranks)",
                            q, r);
        if (q < r)
            offset += s[1];
        total += s[1];
    }
    if (total * horizon > FPO_MAX_GLOBAL_BATCH)
        return fpo_fail(err, FPO_ERANGE,
                        "%g environments x horizon %d over all ranks exceed 2^30 transitions",
                        total, horizon);
    out->env_offset = (int)offset;
    out->global_envs = (int)total;
    return FPO_OK;
}

uint32_t fpo_fingerprint(uint32_t h, const void *data, size_t bytes)
{
    const unsigned char *p = data;
    size_t words = bytes / 4;
    for (size_t i = 0; i < words; i++) {
        uint32_t w;
        memcpy(&w, p + 4 * i, 4);
        h = (h ^ w) * 16777619u;
    }
    for (size_t i = 4 * words; i < bytes; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}
