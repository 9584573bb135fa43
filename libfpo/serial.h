/* Internal: little-endian byte serialization and CRC-32 for checkpoints. */
#ifndef FPO_INTERNAL_SERIAL_H
#define FPO_INTERNAL_SERIAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "error.h"

/* ---- CRC-32 (IEEE 802.3, reflected), table built on first use ---------- */

static inline uint32_t crc32_update(uint32_t crc, const unsigned char *p, size_t n)
{
    /* Bitwise with a nibble table: small, no global mutable state. */
    static const uint32_t t[16] = {
        0x00000000u, 0x1db71064u, 0x3b6e20c8u, 0x26d930acu, 0x76dc4190u, 0x6b6b51f4u,
        0x4db26158u, 0x5005713cu, 0xedb88320u, 0xf00f9344u, 0xd6d6a3e8u, 0xcb61b38cu,
        0x9b64c2b0u, 0x86d3d2d4u, 0xa00ae278u, 0xbdbdf21cu};
    crc = ~crc;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ t[crc & 15u];
        crc = (crc >> 4) ^ t[crc & 15u];
    }
    return ~crc;
}

/* ---- little-endian writer / reader -------------------------------------- */

typedef struct wbuf {
    unsigned char *p; /* NULL: only count */
    size_t cap, len;
} wbuf;

static inline void put_bytes(wbuf *w, const void *src, size_t n)
{
    if (w->p && w->len + n <= w->cap)
        memcpy(w->p + w->len, src, n);
    w->len += n;
}

static inline void put_u32(wbuf *w, uint32_t v)
{
    unsigned char b[4] = {(unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 24)};
    put_bytes(w, b, 4);
}

static inline void put_u64(wbuf *w, uint64_t v)
{
    put_u32(w, (uint32_t)v);
    put_u32(w, (uint32_t)(v >> 32));
}

static inline void put_f32(wbuf *w, float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    put_u32(w, u);
}

static inline void put_f64(wbuf *w, double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    put_u64(w, u);
}

typedef struct rbuf {
    const unsigned char *p;
    size_t len, pos;
    int bad;
} rbuf;

static inline uint32_t get_u32(rbuf *r)
{
    if (r->bad || r->len - r->pos < 4) {
        r->bad = 1;
        return 0;
    }
    const unsigned char *b = r->p + r->pos;
    r->pos += 4;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t get_u64(rbuf *r)
{
    uint64_t lo = get_u32(r);
    return lo | (uint64_t)get_u32(r) << 32;
}

static inline float get_f32(rbuf *r)
{
    uint32_t u = get_u32(r);
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline double get_f64(rbuf *r)
{
    uint64_t u = get_u64(r);
    double d;
    memcpy(&d, &u, 8);
    return d;
}


/* Does the CRC-32 stored in the last 4 bytes of buf (n >= 4) match the
 * bytes before it? */
static inline int fpo_crc_ok(const unsigned char *buf, size_t n)
{
    uint32_t stored = (uint32_t)buf[n - 4] | (uint32_t)buf[n - 3] << 8 |
                      (uint32_t)buf[n - 2] << 16 | (uint32_t)buf[n - 1] << 24;
    return crc32_update(0, buf, n - 4) == stored;
}

/* Atomically replace path with the n bytes of buf: temp file in the same
 * directory, write, fsync, rename, fsync the directory. Returns FPO_OK or
 * FPO_EIO/FPO_ENOMEM with a message in err. */
int fpo_write_file_atomic(const char *path, const void *buf, size_t n, const fpo_mem *m,
                          fpo_errbuf *err);
/* Read a whole file into a block from m (*out, *n). */
int fpo_read_file(const char *path, void **out, size_t *n, const fpo_mem *m, fpo_errbuf *err);

#endif
