#include "rng.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void fpo_philox4x32(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)PHILOX_M0 * c0;
        uint64_t p1 = (uint64_t)PHILOX_M1 * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c1 = (uint32_t)p1;
        c3 = (uint32_t)p0;
        c0 = n0;
        c2 = n2;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

/* splitmix64's finalizer: a bijection, so distinct streams give distinct keys. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

void fpo_rng_fork(fpo_rng *out, const fpo_rng *base, uint64_t index)
{
    uint64_t draw = base->ctr;
    /* 128-bit counter = [block: 32 | draw low: 32 | index: 48 | draw high: 16]. */
    uint64_t stream = (index & 0xffffffffffffull) | (draw >> 32) << 48;
    fpo_rng_init(out, base->key ^ mix64(base->stream), stream);
    out->ctr = draw << 32;
}

void fpo_rng_init(fpo_rng *r, uint64_t seed, uint64_t stream)
{
    r->key = seed;
    r->stream = stream;
    r->ctr = 0;
    r->buf[0] = r->buf[1] = r->buf[2] = r->buf[3] = 0;
    r->pos = 4;
}

static void refill(fpo_rng *r)
{
    uint32_t c[4] = {(uint32_t)r->ctr, (uint32_t)(r->ctr >> 32), (uint32_t)r->stream,
                     (uint32_t)(r->stream >> 32)};
    uint32_t k[2] = {(uint32_t)r->key, (uint32_t)(r->key >> 32)};
    fpo_philox4x32(c, k, r->buf);
    r->ctr++;
    r->pos = 0;
}

uint32_t fpo_rng_u32(fpo_rng *r)
{
    if (r->pos >= 4)
        refill(r);
    return r->buf[r->pos++];
}

uint64_t fpo_rng_u64(fpo_rng *r)
{
    uint64_t lo = fpo_rng_u32(r);
    uint64_t hi = fpo_rng_u32(r);
    return lo | hi << 32;
}

float fpo_rng_uniform(fpo_rng *r)
{
    /* Top 24 bits: every value is exactly representable, so 1.0 never occurs. */
    return (float)(fpo_rng_u32(r) >> 8) * 0x1p-24f;
}

uint32_t fpo_rng_below(fpo_rng *r, uint32_t n)
{
    if (n == 0)
        return 0;
    uint64_t m = (uint64_t)fpo_rng_u32(r) * n;
    uint32_t lo = (uint32_t)m;
    if (lo < n) {
        /* Reject the (2^32 mod n) low values that would bias the result. */
        uint32_t t = (uint32_t)(-n) % n;
        while (lo < t) {
            m = (uint64_t)fpo_rng_u32(r) * n;
            lo = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

void fpo_rng_uniform_fill(fpo_rng *r, float *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = fpo_rng_uniform(r);
}

void fpo_rng_normal(fpo_rng *r, float *out, size_t n)
{
    static const double two_pi = 6.283185307179586476925286766559;
    for (size_t i = 0; i < n; i += 2) {
        /* u1 in (0, 1] so log is finite; 32-bit resolution keeps the tail
         * reaching about 6.6 sigma. */
        double u1 = ((double)fpo_rng_u32(r) + 1.0) * 0x1p-32;
        double u2 = (double)fpo_rng_u32(r) * 0x1p-32;
        double rad = sqrt(-2.0 * log(u1));
        out[i] = (float)(rad * cos(two_pi * u2));
        if (i + 1 < n)
            out[i + 1] = (float)(rad * sin(two_pi * u2));
    }
}
