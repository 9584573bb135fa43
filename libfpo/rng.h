/* Internal: counter-based random numbers (Philox4x32-10, Salmon et al. 2011).
 *
 * A generator is a plain struct: copy it by value to fork a sequence, keep
 * one per thread. Each (seed, stream) pair selects an independent stream:
 * the seed is the Philox key and the stream id fills the upper 64 bits of
 * the 128-bit counter, so streams never overlap (each has 2^64 blocks). */
#ifndef FPO_INTERNAL_RNG_H
#define FPO_INTERNAL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct fpo_rng {
    uint64_t key;    /* Philox key (the seed)                      */
    uint64_t stream; /* upper half of the counter                  */
    uint64_t ctr;    /* index of the next block to generate        */
    uint32_t buf[4]; /* current block                              */
    unsigned pos;    /* next unused word of buf (4 = empty)        */
} fpo_rng;

void fpo_rng_init(fpo_rng *r, uint64_t seed, uint64_t stream);
uint32_t fpo_rng_u32(fpo_rng *r);
uint64_t fpo_rng_u64(fpo_rng *r);
/* Uniform on [0, 1), 24 random bits. */
float fpo_rng_uniform(fpo_rng *r);
/* Uniform integer in [0, n), unbiased (Lemire's method). n == 0 returns 0. */
uint32_t fpo_rng_below(fpo_rng *r, uint32_t n);
void fpo_rng_uniform_fill(fpo_rng *r, float *out, size_t n);
/* Standard normal samples (Box-Muller, computed in double). */
void fpo_rng_normal(fpo_rng *r, float *out, size_t n);

/* Keyed draws: numbers for item `index` (an environment, a batch row) at
 * draw number base->ctr of a keyed generator `base` (made with
 * fpo_rng_init, then used only through this function; the caller
 * increments base->ctr after each batch). out is an independent stream of
 * 2^32 blocks that depends only on (base key, base stream, index, draw), so
 * an item's numbers do not depend on which other items share its batch, or
 * on the process that draws them. Distinct (index, draw) pairs never
 * overlap for index < 2^48 and draw < 2^48, and never overlap a stream
 * used directly (the key differs). */
void fpo_rng_fork(fpo_rng *out, const fpo_rng *base, uint64_t index);

/* The raw block function: out = Philox4x32-10(ctr, key). Exposed for tests
 * (Random123 known-answer vectors) and for stateless per-index draws. */
void fpo_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#endif
