/* Internal: the host's collective (fpo/collective.h) as the optimizer and
 * trainer use it. A handle without a collective gets a single-process
 * fpo_coll (rank 0 of 1) whose sums do nothing, so the same code runs
 * with and without one. */
#ifndef FPO_INTERNAL_COLL_H
#define FPO_INTERNAL_COLL_H

#include <stddef.h>
#include <stdint.h>

#include "fpo/collective.h"
#include "error.h"

typedef struct fpo_coll {
    fpo_collective t; /* the host's table (copied); callbacks NULL if none */
    int rank, size;   /* 0 and 1 without a collective */
} fpo_coll;

/* Where this rank's environments sit among all ranks'. */
typedef struct fpo_layout {
    int env_offset;  /* global index of this rank's environment 0 */
    int global_envs; /* environments over all ranks */
} fpo_layout;

/* Validate and copy a host table (NULL: single process). FPO_EINVAL,
 * FPO_EVERSION or FPO_ERANGE with a message in err. */
int fpo_coll_init(fpo_coll *out, const fpo_collective *c, fpo_errbuf *err);

/* Does the handle have other ranks to talk to? (size 1 still calls.) */
static inline int fpo_coll_on(const fpo_coll *c) { return c->t.allreduce_sum_f64 != NULL; }

/* In-place sums over ranks; FPO_ECALLBACK naming `what` when the callback
 * fails. No-ops without a collective. */
int fpo_coll_sum_f32(const fpo_coll *c, fpo_errbuf *err, float *buf, size_t n, const char *what);
int fpo_coll_sum_f64(const fpo_coll *c, fpo_errbuf *err, double *buf, size_t n,
                     const char *what);

/* A sum over ranks of buf[0, n) that also carries every rank's outcome:
 * the slot buf[rank * stride] is set to 1 if local_rc != 0, else 0 (the
 * caller zeroed the others). The sum is made even when this rank failed,
 * so that the others learn of it. Returns local_rc where it failed, else
 * FPO_ECALLBACK naming `what` if the sum failed, else FPO_EREMOTE ("<failed>
 * failed on rank q", the first rank whose slot is set), else FPO_OK.
 * Without a collective returns local_rc. */
int fpo_coll_sum_outcome(const fpo_coll *c, fpo_errbuf *err, double *buf, size_t n,
                         size_t stride, int local_rc, const char *what, const char *failed);

/* Doubles of scratch the functions below need (the handle allocates them
 * before its first collective call). */
static inline size_t fpo_coll_scratch_doubles(const fpo_coll *c)
{
    return 4 * (size_t)c->size + 8;
}

/* Agree on the outcome of a phase that can fail on some ranks only, and
 * check that all ranks hold the same state: every rank passes its own
 * result and a fingerprint of its state. Returns local_rc where it failed;
 * FPO_EREMOTE (naming the first rank that failed) where it did not but
 * another did; FPO_EMISMATCH (naming `what` and a rank that differs) when
 * all succeeded but fingerprints differ; FPO_ECALLBACK if the sum failed.
 * One sum of 2 * size doubles. Without a collective returns local_rc. */
int fpo_coll_agree(const fpo_coll *c, fpo_errbuf *err, double *scratch, int local_rc,
                   uint32_t fingerprint, const char *what);

/* Create-time handshake: gathers every rank's num_envs, horizon and
 * configuration fingerprint; fails identically on all ranks
 * (FPO_EMISMATCH, FPO_ERANGE) when horizons or fingerprints differ, two
 * ranks claim the same rank number or the global batch is too large.
 * Without a collective: offset 0, global_envs = num_envs. */
int fpo_coll_handshake(const fpo_coll *c, fpo_errbuf *err, double *scratch, int num_envs,
                       int horizon, uint32_t fingerprint, fpo_layout *out);

/* 32-bit FNV-1a over 32-bit words (bytes rounded down to whole words,
 * the tail byte-wise); chain calls by passing the previous result. */
uint32_t fpo_fingerprint(uint32_t h, const void *data, size_t bytes);
#define FPO_FINGERPRINT_INIT 2166136261u

#endif
