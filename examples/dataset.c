/* NumPy .npy data sets (dataset.h). The format: "\x93NUMPY", a major and a
 * minor version byte, the header length (2 bytes little-endian in 1.0, 4 in
 * 2.0 and 3.0), then that many bytes of a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (100, 3), } padded with
 * spaces and a newline, then the data. */
#include "dataset.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NPY_MAX_HEADER 65536

int ds_fail(char err[DS_ERRLEN], const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, DS_ERRLEN, fmt, ap);
    va_end(ap);
    return -1;
}

void ds_array_free(ds_array *a)
{
    if (!a)
        return;
    free(a->f);
    free(a->i);
    memset(a, 0, sizeof *a);
}

/* ---- the header dictionary ------------------------------------------------ */

typedef struct hdr {
    const char *s;
    size_t n, pos;
} hdr;

static void skip_ws(hdr *h)
{
    while (h->pos < h->n && (h->s[h->pos] == ' ' || h->s[h->pos] == '\t' ||
                             h->s[h->pos] == '\n' || h->s[h->pos] == '\r'))
        h->pos++;
}

static int eat(hdr *h, char c)
{
    skip_ws(h);
    if (h->pos < h->n && h->s[h->pos] == c) {
        h->pos++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...") without escapes, into out (cap bytes). */
static int string_lit(hdr *h, char *out, size_t cap)
{
    skip_ws(h);
    if (h->pos >= h->n || (h->s[h->pos] != '\'' && h->s[h->pos] != '"'))
        return 0;
    char q = h->s[h->pos++];
    size_t k = 0;
    while (h->pos < h->n && h->s[h->pos] != q) {
        if (h->s[h->pos] == '\\' || k + 1 >= cap)
            return 0;
        out[k++] = h->s[h->pos++];
    }
    if (h->pos >= h->n)
        return 0;
    h->pos++;
    out[k] = '\0';
    return 1;
}

static int word(hdr *h, const char *w)
{
    skip_ws(h);
    size_t l = strlen(w);
    if (h->n - h->pos >= l && memcmp(h->s + h->pos, w, l) == 0) {
        h->pos += l;
        return 1;
    }
    return 0;
}

/* A non-negative decimal integer below 2^62 (Python may write a trailing L
 * in old files). */
static int integer(hdr *h, int64_t *v)
{
    skip_ws(h);
    int64_t x = 0;
    size_t start = h->pos;
    while (h->pos < h->n && h->s[h->pos] >= '0' && h->s[h->pos] <= '9') {
        if (x > ((int64_t)1 << 62) / 10)
            return 0;
        x = x * 10 + (h->s[h->pos++] - '0');
    }
    if (h->pos == start)
        return 0;
    if (h->pos < h->n && h->s[h->pos] == 'L')
        h->pos++;
    *v = x;
    return 1;
}

typedef struct npy_meta {
    char descr[16];
    int fortran;
    int ndim;
    int64_t shape[2];
} npy_meta;

static int parse_dict(const char *s, size_t n, npy_meta *m, char err[DS_ERRLEN])
{
    hdr h = {s, n, 0};
    int have_descr = 0, have_fortran = 0, have_shape = 0;
    if (!eat(&h, '{'))
        return ds_fail(err, "the header is not a dictionary ('{' expected)");
    for (;;) {
        if (eat(&h, '}'))
            break;
        char key[32];
        if (!string_lit(&h, key, sizeof key) || !eat(&h, ':'))
            return ds_fail(err, "malformed header dictionary near byte %zu", h.pos);
        if (!strcmp(key, "descr")) {
            if (have_descr++ || !string_lit(&h, m->descr, sizeof m->descr))
                return ds_fail(err, "header: 'descr' is not a short string, or repeated");
        } else if (!strcmp(key, "fortran_order")) {
            if (have_fortran++)
                return ds_fail(err, "header: 'fortran_order' repeated");
            if (word(&h, "False"))
                m->fortran = 0;
            else if (word(&h, "True"))
                m->fortran = 1;
            else
                return ds_fail(err, "header: 'fortran_order' is not True or False");
        } else if (!strcmp(key, "shape")) {
            if (have_shape++ || !eat(&h, '('))
                return ds_fail(err, "header: 'shape' is not a tuple, or repeated");
            m->ndim = 0;
            while (!eat(&h, ')')) {
                int64_t v;
                if (m->ndim >= 2)
                    return ds_fail(err, "header: more than 2 dimensions (only 1-D and 2-D arrays)");
                if (!integer(&h, &v))
                    return ds_fail(err, "header: a shape entry is not a non-negative integer "
                                        "below 2^62");
                m->shape[m->ndim++] = v;
                if (!eat(&h, ',')) {
                    if (!eat(&h, ')'))
                        return ds_fail(err, "header: malformed shape tuple");
                    break;
                }
            }
        } else {
            return ds_fail(err, "header: unknown key '%s'", key);
        }
        if (!eat(&h, ',')) {
            if (!eat(&h, '}'))
                return ds_fail(err, "malformed header dictionary near byte %zu", h.pos);
            break;
        }
    }
    skip_ws(&h);
    if (h.pos != h.n)
        return ds_fail(err, "header: bytes after the dictionary");
    if (!have_descr || !have_fortran || !have_shape)
        return ds_fail(err, "header: 'descr', 'fortran_order' and 'shape' are all required");
    return 0;
}

/* ---- parse ---------------------------------------------------------------- */

static uint32_t rd_le(const unsigned char *p, int bytes)
{
    uint32_t v = 0;
    for (int i = bytes - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int ds_npy_parse(const void *buf, size_t n, ds_kind want, ds_array *out, char err[DS_ERRLEN])
{
    const unsigned char *b = buf;
    memset(out, 0, sizeof *out);
    if (!buf || n < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
        return ds_fail(err, "not a .npy file (bad magic)");
    int major = b[6], minor = b[7];
    size_t lenbytes;
    if (major == 1)
        lenbytes = 2;
    else if (major == 2 || major == 3)
        lenbytes = 4;
    else
        return ds_fail(err, ".npy format version %d.%d is not supported", major, minor);
    if (n < 8 + lenbytes)
        return ds_fail(err, "truncated .npy header");
    size_t hl = rd_le(b + 8, (int)lenbytes), off = 8 + lenbytes;
    if (hl > NPY_MAX_HEADER)
        return ds_fail(err, ".npy header of %zu bytes is larger than %d", hl, NPY_MAX_HEADER);
    if (n - off < hl)
        return ds_fail(err, "truncated .npy header (%zu of %zu bytes)", n - off, hl);
    npy_meta m;
    memset(&m, 0, sizeof m);
    if (parse_dict((const char *)b + off, hl, &m, err))
        return -1;
    off += hl;
    if (m.fortran)
        return ds_fail(err, "Fortran-ordered arrays are not supported (save with C order)");
    if (m.ndim < 1 || m.ndim > 2)
        return ds_fail(err, "only 1-D and 2-D arrays are supported (got %d dimensions)", m.ndim);
    int isz;
    ds_kind kind;
    if (!strcmp(m.descr, "<f4"))
        isz = 4, kind = DS_FLOAT;
    else if (!strcmp(m.descr, "<f8"))
        isz = 8, kind = DS_FLOAT;
    else if (!strcmp(m.descr, "<i8"))
        isz = 8, kind = DS_INT;
    else if (!strcmp(m.descr, "<i4"))
        isz = 4, kind = DS_INT;
    else
        return ds_fail(err, "dtype '%s' is not supported (little-endian float32/float64, or "
                            "int32/int64 for indices)", m.descr);
    if (kind != want)
        return ds_fail(err, "dtype '%s' where %s are expected", m.descr,
                       want == DS_FLOAT ? "floats" : "integers");
    int64_t rows = m.shape[0], cols = m.ndim == 2 ? m.shape[1] : 1;
    if (cols != 0 && rows > DS_MAX_ELEMENTS / cols)
        return ds_fail(err, "shape (%lld, %lld) is too large", (long long)rows, (long long)cols);
    int64_t count = rows * cols;
    if (count > DS_MAX_ELEMENTS)
        return ds_fail(err, "shape (%lld, %lld) is too large", (long long)rows, (long long)cols);
    size_t bytes = (size_t)count * (size_t)isz;
    if (n - off < bytes)
        return ds_fail(err, "truncated data: the shape needs %zu bytes, the file has %zu", bytes,
                       n - off);
    if (n - off > bytes)
        return ds_fail(err, "%zu bytes after the data", n - off - bytes);
    const unsigned char *d = b + off;
    out->ndim = m.ndim;
    out->shape[0] = rows;
    out->shape[1] = cols;
    out->kind = kind;
    size_t alloc_n = count > 0 ? (size_t)count : 1;
    if (kind == DS_FLOAT) {
        out->f = malloc(alloc_n * sizeof(float));
        if (!out->f)
            return ds_fail(err, "out of memory for %lld floats", (long long)count);
        for (int64_t q = 0; q < count; q++) {
            float v;
            if (isz == 4) {
                uint32_t u = rd_le(d + 4 * q, 4);
                memcpy(&v, &u, 4);
            } else {
                uint64_t u = (uint64_t)rd_le(d + 8 * q + 4, 4) << 32 | rd_le(d + 8 * q, 4);
                double x;
                memcpy(&x, &u, 8);
                v = (float)x;
            }
            if (!isfinite(v)) {
                ds_array_free(out);
                return ds_fail(err, "element %lld (row %lld) is not finite as a float",
                               (long long)q, (long long)(q / (cols ? cols : 1)));
            }
            out->f[q] = v;
        }
    } else {
        out->i = malloc(alloc_n * sizeof(int64_t));
        if (!out->i)
            return ds_fail(err, "out of memory for %lld integers", (long long)count);
        for (int64_t q = 0; q < count; q++) {
            if (isz == 8) {
                uint64_t u = (uint64_t)rd_le(d + 8 * q + 4, 4) << 32 | rd_le(d + 8 * q, 4);
                out->i[q] = (int64_t)u;
            } else {
                out->i[q] = (int32_t)rd_le(d + 4 * q, 4);
            }
        }
    }
    return 0;
}

int ds_npy_read(const char *path, ds_kind want, ds_array *out, char err[DS_ERRLEN])
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return ds_fail(err, "%s: %s", path, strerror(errno));
    /* At most the header and DS_MAX_ELEMENTS 8-byte items, plus one byte to
     * notice trailing data. */
    size_t cap = 1 << 16, n = 0;
    size_t limit = NPY_MAX_HEADER + 16 + (size_t)DS_MAX_ELEMENTS * 8 + 1;
    unsigned char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return ds_fail(err, "%s: out of memory", path);
    }
    for (;;) {
        if (n == cap) {
            if (cap >= limit) {
                free(buf);
                fclose(f);
                return ds_fail(err, "%s: larger than any array this reader accepts", path);
            }
            size_t nc = cap * 2 < limit ? cap * 2 : limit;
            unsigned char *nb = realloc(buf, nc);
            if (!nb) {
                free(buf);
                fclose(f);
                return ds_fail(err, "%s: out of memory", path);
            }
            buf = nb;
            cap = nc;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return ds_fail(err, "%s: read error", path);
    }
    char e2[DS_ERRLEN];
    int rc = ds_npy_parse(buf, n, want, out, e2);
    free(buf);
    if (rc)
        return ds_fail(err, "%s: %s", path, e2);
    return 0;
}

/* ---- write ---------------------------------------------------------------- */

static void *encode(const char *descr, const void *x, int isz, int ndim, int64_t rows,
                    int64_t cols, size_t *n)
{
    char dict[160];
    int dl;
    if (ndim == 1)
        dl = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,), }",
                      descr, (long long)rows);
    else
        dl = snprintf(dict, sizeof dict,
                      "{'descr': '%s', 'fortran_order': False, 'shape': (%lld, %lld), }", descr,
                      (long long)rows, (long long)cols);
    /* Total header (magic .. newline) a multiple of 64 bytes. */
    size_t hl = (size_t)dl + 1, pre = 10;
    size_t pad = (64 - (pre + hl) % 64) % 64;
    hl += pad;
    size_t count = (size_t)rows * (size_t)(ndim == 1 ? 1 : cols);
    size_t total = pre + hl + count * (size_t)isz;
    unsigned char *b = malloc(total ? total : 1);
    if (!b)
        return NULL;
    memcpy(b, "\x93NUMPY\x01\x00", 8);
    b[8] = (unsigned char)(hl & 0xff);
    b[9] = (unsigned char)(hl >> 8);
    memcpy(b + pre, dict, (size_t)dl);
    memset(b + pre + dl, ' ', pad);
    b[pre + hl - 1] = '\n';
    unsigned char *d = b + pre + hl;
    const unsigned char *src = x;
    for (size_t q = 0; q < count; q++) {
        /* Little-endian bytes of each item, whatever the host's order. */
        uint64_t u = 0;
        if (isz == 4) {
            uint32_t v;
            memcpy(&v, src + 4 * q, 4);
            u = v;
        } else {
            memcpy(&u, src + 8 * q, 8);
        }
        for (int k = 0; k < isz; k++)
            d[(size_t)isz * q + (size_t)k] = (unsigned char)(u >> (8 * k));
    }
    *n = total;
    return b;
}

void *ds_npy_encode_f32(const float *x, int ndim, int64_t rows, int64_t cols, size_t *n)
{
    return encode("<f4", x, 4, ndim, rows, cols, n);
}

static int write_atomic(const char *path, const void *b, size_t n, char err[DS_ERRLEN])
{
    char tmp[4096];
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
        return ds_fail(err, "%s: path too long", path);
    FILE *f = fopen(tmp, "wb");
    if (!f)
        return ds_fail(err, "%s: %s", tmp, strerror(errno));
    int ok = fwrite(b, 1, n, f) == n;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return ds_fail(err, "%s: write failed: %s", path, strerror(errno));
    }
    return 0;
}

int ds_npy_write_f32(const char *path, const float *x, int ndim, int64_t rows, int64_t cols,
                     char err[DS_ERRLEN])
{
    if ((ndim != 1 && ndim != 2) || rows < 0 || cols < 0 ||
        (ndim == 2 && cols > 0 && rows > DS_MAX_ELEMENTS / cols) || rows > DS_MAX_ELEMENTS)
        return ds_fail(err, "%s: bad shape", path);
    size_t n;
    void *b = encode("<f4", x, 4, ndim, rows, cols, &n);
    if (!b)
        return ds_fail(err, "%s: out of memory", path);
    int rc = write_atomic(path, b, n, err);
    free(b);
    return rc;
}

int ds_npy_write_i64(const char *path, const int64_t *x, int64_t n_, char err[DS_ERRLEN])
{
    if (n_ < 0 || n_ > DS_MAX_ELEMENTS)
        return ds_fail(err, "%s: bad shape", path);
    size_t n;
    void *b = encode("<i8", x, 8, 1, n_, 1, &n);
    if (!b)
        return ds_fail(err, "%s: out of memory", path);
    int rc = write_atomic(path, b, n, err);
    free(b);
    return rc;
}

/* ---- data sets ------------------------------------------------------------ */

void ds_dataset_free(ds_dataset *d)
{
    if (!d)
        return;
    free(d->obs);
    free(d->act);
    free(d->ends);
    memset(d, 0, sizeof *d);
}

static int join(char *out, size_t cap, const char *dir, const char *name)
{
    return snprintf(out, cap, "%s/%s", dir, name) < (int)cap ? 0 : -1;
}

int ds_dataset_check(const ds_dataset *d, const char *what, int obs_dim, int act_dim,
                     char err[DS_ERRLEN])
{
    if (d->n < 1)
        return ds_fail(err, "%s: no rows", what);
    if (d->obs_dim < 1 || d->obs_dim > 65536 || (obs_dim && d->obs_dim != obs_dim))
        return ds_fail(err, "%s: observations of %d columns, expected %d", what, d->obs_dim,
                       obs_dim);
    if (d->act_dim < 1 || d->act_dim > 65536 || (act_dim && d->act_dim != act_dim))
        return ds_fail(err, "%s: actions of %d columns, expected %d", what, d->act_dim, act_dim);
    int64_t prev = 0;
    for (int64_t k = 0; k < d->episodes; k++) {
        if (d->ends[k] <= prev || d->ends[k] > d->n)
            return ds_fail(err,
                           "%s: episode_ends[%lld] = %lld: must increase, from above 0 to %lld",
                           what, (long long)k, (long long)d->ends[k], (long long)d->n);
        prev = d->ends[k];
    }
    if (prev != d->n)
        return ds_fail(err, "%s: the last episode ends at row %lld, but there are %lld rows", what,
                       (long long)prev, (long long)d->n);
    for (int64_t q = 0; q < d->n * d->obs_dim; q++)
        if (!isfinite(d->obs[q]))
            return ds_fail(err, "%s: observation row %lld, column %lld is %g", what,
                           (long long)(q / d->obs_dim), (long long)(q % d->obs_dim),
                           (double)d->obs[q]);
    for (int64_t q = 0; q < d->n * d->act_dim; q++)
        if (!isfinite(d->act[q]))
            return ds_fail(err, "%s: action row %lld, column %lld is %g", what,
                           (long long)(q / d->act_dim), (long long)(q % d->act_dim),
                           (double)d->act[q]);
    return 0;
}

int ds_dataset_open(const char *path, const char *obs_keys, int obs_dim, int act_dim,
                    ds_dataset *out, char err[DS_ERRLEN])
{
    memset(out, 0, sizeof *out);
    struct stat st;
    if (stat(path, &st) != 0)
        return ds_fail(err, "%s: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        if (obs_keys)
            return ds_fail(err, "%s: observation keys are for HDF5 files (robomimic), not a "
                                "directory of .npy files", path);
        return ds_dataset_load(path, obs_dim, act_dim, out, err);
    }
    if (!ds_is_hdf5(path))
        return ds_fail(err, "%s: neither a directory of .npy files nor an HDF5 file", path);
    return ds_hdf5_load(path, obs_keys, obs_dim, act_dim, out, err);
}

int ds_dataset_load(const char *dir, int obs_dim, int act_dim, ds_dataset *out,
                    char err[DS_ERRLEN])
{
    memset(out, 0, sizeof *out);
    char p[3][4096];
    if (join(p[0], sizeof p[0], dir, "obs.npy") || join(p[1], sizeof p[1], dir, "act.npy") ||
        join(p[2], sizeof p[2], dir, "episode_ends.npy"))
        return ds_fail(err, "%s: path too long", dir);
    ds_array o, a, e;
    memset(&a, 0, sizeof a);
    memset(&e, 0, sizeof e);
    if (ds_npy_read(p[0], DS_FLOAT, &o, err))
        return -1;
    if (ds_npy_read(p[1], DS_FLOAT, &a, err) || ds_npy_read(p[2], DS_INT, &e, err))
        goto bad;
    if (o.ndim != 2 || a.ndim != 2) {
        ds_fail(err, "%s: obs.npy and act.npy must be 2-D (rows x dimensions)", dir);
        goto bad;
    }
    if (o.shape[0] != a.shape[0]) {
        ds_fail(err, "%s: obs.npy has %lld rows, act.npy %lld", dir, (long long)o.shape[0],
                (long long)a.shape[0]);
        goto bad;
    }
    if (e.ndim != 1) {
        ds_fail(err, "%s: episode_ends.npy must be 1-D", dir);
        goto bad;
    }
    out->n = o.shape[0];
    out->episodes = e.shape[0];
    out->obs_dim = o.shape[1] <= 65536 ? (int)o.shape[1] : 0;
    out->act_dim = a.shape[1] <= 65536 ? (int)a.shape[1] : 0;
    out->obs = o.f;
    out->act = a.f;
    out->ends = e.i;
    if (ds_dataset_check(out, dir, obs_dim, act_dim, err)) {
        ds_dataset_free(out);
        return -1;
    }
    return 0;
bad:
    ds_array_free(&o);
    ds_array_free(&a);
    ds_array_free(&e);
    return -1;
}

int ds_dataset_save(const char *dir, const ds_dataset *d, char err[DS_ERRLEN])
{
    char p[4096];
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return ds_fail(err, "%s: %s", dir, strerror(errno));
    if (join(p, sizeof p, dir, "obs.npy") ||
        ds_npy_write_f32(p, d->obs, 2, d->n, d->obs_dim, err))
        return -1;
    if (join(p, sizeof p, dir, "act.npy") ||
        ds_npy_write_f32(p, d->act, 2, d->n, d->act_dim, err))
        return -1;
    if (join(p, sizeof p, dir, "episode_ends.npy") ||
        ds_npy_write_i64(p, d->ends, d->episodes, err))
        return -1;
    return 0;
}
