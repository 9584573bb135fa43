/* Policy checkpoints: a versioned, little-endian, CRC-32-checked byte
 * format (docs/checkpoint.md), saved atomically. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fpo/sampler.h"
#include "internal.h"
#include "policy_impl.h"
#include "serial.h"
#include "util.h"

#define CKPT_MAGIC "FPOPOLCY"
#define CKPT_FORMAT 2u /* 1: development layout without the sampler settings */
/* Format 3 = 2 plus the action chunk (a u32 after the seed). Written only for
 * chunk > 1, so a policy without chunks is saved byte for byte as before and
 * readers of format 2 keep loading it. */
#define CKPT_FORMAT_CHUNK 3u


/* ---- the format ------------------------------------------------------------ */

static void serialize(const fpo_policy *p, wbuf *w)
{
    const fpo_policy_config *c = &p->cfg;
    int chunked = c->chunk > 1;
    put_bytes(w, CKPT_MAGIC, 8);
    put_u32(w, chunked ? CKPT_FORMAT_CHUNK : CKPT_FORMAT);
    put_u32(w, FPO_VERSION);
    put_u32(w, (uint32_t)c->kind);
    put_u32(w, (uint32_t)c->obs_dim);
    put_u32(w, (uint32_t)c->act_dim);
    put_u32(w, (uint32_t)c->actor_layers);
    for (int i = 0; i < FPO_MAX_LAYERS; i++)
        put_u32(w, (uint32_t)(i < c->actor_layers ? c->actor_hidden[i] : 0));
    put_u32(w, (uint32_t)c->actor_activation);
    put_u32(w, (uint32_t)c->critic_layers);
    for (int i = 0; i < FPO_MAX_LAYERS; i++)
        put_u32(w, (uint32_t)(i < c->critic_layers ? c->critic_hidden[i] : 0));
    put_u32(w, (uint32_t)c->critic_activation);
    put_u32(w, (uint32_t)c->time_embedding);
    put_u32(w, (uint32_t)c->std_mode);
    put_u32(w, (uint32_t)c->squash);
    put_u32(w, (uint32_t)c->normalize_obs);
    put_f32(w, c->flow_output_scale);
    put_f32(w, c->init_std);
    put_f32(w, c->min_std);
    put_f32(w, c->obs_clip);
    put_f32(w, c->raw_clip);
    put_u64(w, c->seed);
    if (chunked)
        put_u32(w, (uint32_t)c->chunk);
    for (int i = 0; i < c->act_dim; i++)
        put_f32(w, p->act_low[i]);
    for (int i = 0; i < c->act_dim; i++)
        put_f32(w, p->act_high[i]);
    put_u64(w, (uint64_t)p->obs.count);
    for (int i = 0; i < c->obs_dim; i++)
        put_f64(w, p->obs.mean[i]);
    for (int i = 0; i < c->obs_dim; i++)
        put_f64(w, p->obs.m2[i]);
    put_u32(w, (uint32_t)p->ds_integrator);
    put_u32(w, (uint32_t)p->ds_steps);
    put_u32(w, (uint32_t)p->ds_init_noise);
    put_u32(w, (uint32_t)p->ds_deterministic);
    put_f32(w, p->ds_sde_noise);
    put_u64(w, (uint64_t)p->n_params);
    for (size_t i = 0; i < p->n_params; i++)
        put_f32(w, p->params[i]);
    uint32_t crc = w->p && w->len <= w->cap ? crc32_update(0, w->p, w->len) : 0;
    put_u32(w, crc);
}

int fpo_policy_save_mem(const fpo_policy *p, void *buf, size_t cap, size_t *size)
{
    if (!p)
        return FPO_NULL_ARG("p");
    if (!size)
        return fpo_fail(NULL, FPO_EINVAL, "fpo_policy_save_mem: size is NULL");
    wbuf w = {NULL, 0, 0};
    serialize(p, &w);
    *size = w.len;
    if (!buf)
        return FPO_OK;
    if (cap < w.len)
        return fpo_fail(NULL, FPO_ESIZE, "fpo_policy_save_mem: cap is %zu, the checkpoint needs %zu "
                        "bytes", cap, w.len);
    wbuf w2 = {buf, cap, 0};
    serialize(p, &w2);
    return FPO_OK;
}

static int deserialize(fpo_policy **out, const unsigned char *buf, size_t n, const fpo_mem *mem)
{
    fpo_errbuf *e = NULL; /* the thread's buffer: loads have no handle */
    if (n < 8 + 4 + 4 || memcmp(buf, CKPT_MAGIC, 8) != 0)
        return fpo_fail(e, FPO_EFORMAT, "not a libfpo policy checkpoint (bad magic)");
    if (!fpo_crc_ok(buf, n))
        return fpo_fail(e, FPO_EFORMAT, "checkpoint checksum mismatch (corrupted or truncated)");
    rbuf r = {buf, n - 4, 8, 0};
    uint32_t format = get_u32(&r);
    if (format != CKPT_FORMAT && format != CKPT_FORMAT_CHUNK)
        return fpo_fail(e, FPO_EVERSION,
                        "checkpoint format %u is not supported (this library reads %u and %u)",
                        format, CKPT_FORMAT, CKPT_FORMAT_CHUNK);
    (void)get_u32(&r); /* library version that wrote it: informational */
    fpo_policy_config c;
    fpo_policy_config_init(&c);
    c.kind = (fpo_policy_kind)get_u32(&r);
    c.obs_dim = (int)get_u32(&r);
    c.act_dim = (int)get_u32(&r);
    c.actor_layers = (int)get_u32(&r);
    for (int i = 0; i < FPO_MAX_LAYERS; i++)
        c.actor_hidden[i] = (int)get_u32(&r);
    c.actor_activation = (fpo_activation)get_u32(&r);
    c.critic_layers = (int)get_u32(&r);
    for (int i = 0; i < FPO_MAX_LAYERS; i++)
        c.critic_hidden[i] = (int)get_u32(&r);
    c.critic_activation = (fpo_activation)get_u32(&r);
    c.time_embedding = (fpo_time_embedding)get_u32(&r);
    c.std_mode = (fpo_std_mode)get_u32(&r);
    c.squash = (fpo_squash)get_u32(&r);
    c.normalize_obs = (int)get_u32(&r);
    c.flow_output_scale = get_f32(&r);
    c.init_std = get_f32(&r);
    c.min_std = get_f32(&r);
    c.obs_clip = get_f32(&r);
    c.raw_clip = get_f32(&r);
    c.seed = get_u64(&r);
    if (format == CKPT_FORMAT_CHUNK) {
        uint32_t h = get_u32(&r);
        /* Format 3 exists for chunks only; the range is the policy's check. */
        c.chunk = h < 2 ? -1 : (int64_t)h;
    }
    if (r.bad)
        return fpo_fail(e, FPO_EFORMAT, "checkpoint header is truncated");
    /* Validate sizes before reading arrays sized by them. */
    if (c.obs_dim < 1 || c.obs_dim > 65536 || c.act_dim < 1 || c.act_dim > 65536 ||
        c.chunk < 0 || c.chunk > FPO_MAX_CHUNK || (int64_t)c.act_dim * fpo_policy_chunk_of(&c) > 65536)
        return fpo_fail(e, FPO_EFORMAT, "checkpoint has invalid dimensions");
    size_t need = (size_t)c.act_dim * 8 + 8 + (size_t)c.obs_dim * 16 + 8;
    if (r.len - r.pos < need)
        return fpo_fail(e, FPO_EFORMAT, "checkpoint is truncated");
    /* The parameters the header implies must fit in the bytes that are left
     * before anything is allocated or initialized for them: a short file
     * claiming a huge network would otherwise cost gigabytes and seconds. */
    {
        fpo_mlp ma, mc;
        int emb;
        size_t n_std;
        if (fpo_policy_shapes(&c, &ma, &mc, &emb, &n_std) != FPO_OK)
            return fpo_fail(e, FPO_EFORMAT, "checkpoint has an invalid network shape");
        if (ma.n_params + mc.n_params + n_std > (r.len - r.pos - need) / 4)
            return fpo_fail(e, FPO_EFORMAT, "checkpoint is shorter than its networks");
    }
    float *low = fpo_mem_calloc(mem, (size_t)c.act_dim * 2, sizeof(float));
    if (!low)
        return fpo_fail(e, FPO_ENOMEM, "out of memory");
    float *high = low + c.act_dim;
    for (int i = 0; i < c.act_dim; i++)
        low[i] = get_f32(&r);
    for (int i = 0; i < c.act_dim; i++)
        high[i] = get_f32(&r);
    c.action_low = low;
    c.action_high = high;
    fpo_policy *p;
    int rc = fpo_policy_create_internal(&p, &c, mem, e);
    fpo_mem_free(mem, low);
    if (rc) {
        if (rc == FPO_ENOMEM)
            return rc;
        char why[FPO_ERRMSG_LEN]; /* copy: the message is formatted into the same buffer */
        snprintf(why, sizeof why, "%s", fpo_last_errmsg());
        return fpo_fail(e, FPO_EFORMAT, "checkpoint configuration: %s", why);
    }
    uint64_t count = get_u64(&r);
    if (!r.bad && count > (uint64_t)INT64_MAX) {
        fpo_policy_destroy(p);
        return fpo_fail(e, FPO_EFORMAT,
                        "checkpoint has invalid observation statistics: sample count %llu "
                        "exceeds 2^63 - 1", (unsigned long long)count);
    }
    p->obs.count = (int64_t)count;
    for (int i = 0; i < c.obs_dim; i++)
        p->obs.mean[i] = get_f64(&r);
    for (int i = 0; i < c.obs_dim; i++)
        p->obs.m2[i] = get_f64(&r);
    uint32_t ds_integ = get_u32(&r), ds_steps = get_u32(&r), ds_noise = get_u32(&r),
             ds_det = get_u32(&r);
    float ds_sde = get_f32(&r);
    if (r.bad || ds_integ > FPO_INTEGRATOR_MIDPOINT || ds_steps < 1 || ds_steps > 1000 ||
        ds_noise > FPO_NOISE_ZERO || ds_det > 1 || !isfinite(ds_sde) || ds_sde < 0.0f) {
        fpo_policy_destroy(p);
        return fpo_fail(e, FPO_EFORMAT, "checkpoint has invalid sampler defaults");
    }
    p->ds_integrator = (int)ds_integ;
    p->ds_steps = (int)ds_steps;
    p->ds_init_noise = (int)ds_noise;
    p->ds_deterministic = (int)ds_det;
    p->ds_sde_noise = ds_sde;
    uint64_t np = get_u64(&r);
    if (r.bad || p->obs.count < 0 || np != p->n_params || (r.len - r.pos) / 4 < np ||
        (r.len - r.pos) != np * 4) {
        fpo_policy_destroy(p);
        return fpo_fail(e, FPO_EFORMAT, "checkpoint parameter block does not match its header");
    }
    for (size_t i = 0; i < p->n_params; i++)
        p->params[i] = get_f32(&r);
    for (int i = 0; i < c.obs_dim; i++)
        if (!isfinite(p->obs.mean[i]) || !isfinite(p->obs.m2[i]) || p->obs.m2[i] < 0) {
            fpo_policy_destroy(p);
            return fpo_fail(e, FPO_EFORMAT, "checkpoint has invalid observation statistics");
        }
    if (!fpo_all_finite(p->params, p->n_params)) {
        fpo_policy_destroy(p);
        return fpo_fail(e, FPO_EFORMAT, "checkpoint has non-finite parameters");
    }
    /* The statistics are taken as stored, bit for bit, and only their float
     * copies are derived, so save(load(f)) == f. (Loading them as pending
     * and merging into empty statistics computed mean + delta * n / n,
     * which moved the mean by an ulp in about half of the files.) */
    fpo_obsstats_refresh(&p->obs);
    /* Finite statistics can still overflow when narrowed to float: such a
     * policy could never act. */
    for (int i = 0; i < c.obs_dim; i++)
        if (!isfinite(p->obs.mean[i]) || !isfinite(p->obs.m2[i]) || !isfinite(p->obs.norm_mean[i]) ||
            !isfinite(p->obs.norm_inv_std[i]) || !(p->obs.norm_inv_std[i] > 0.0f)) {
            fpo_policy_destroy(p);
            return fpo_fail(e, FPO_EFORMAT, "checkpoint observation statistics overflow");
        }
    *out = p;
    return FPO_OK;
}

int fpo_policy_load_mem(fpo_policy **out, const void *buf, size_t size,
                        const fpo_allocator *allocator)
{
    fpo_mem mem;
    int rc;
    if (!out)
        return fpo_fail(NULL, FPO_EINVAL, "out is NULL");
    *out = NULL;
    if (!buf)
        return fpo_fail(NULL, FPO_EINVAL, "buf is NULL");
    if ((rc = fpo_mem_init(&mem, allocator, NULL)))
        return rc;
    return deserialize(out, buf, size, &mem);
}

int fpo_write_file_atomic(const char *path, const void *buf, size_t n, const fpo_mem *m,
                          fpo_errbuf *e)
{
    size_t plen = strlen(path);
    char *tmp = fpo_mem_calloc(m, plen + 16, 1);
    if (!tmp)
        return fpo_fail(e, FPO_ENOMEM, "out of memory");
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int err = errno;
        fpo_mem_free(m, tmp);
        return fpo_fail(e, FPO_EIO, "cannot create a temporary file next to %s: %s", path,
                        strerror(err));
    }
    const unsigned char *b = buf;
    size_t off = 0;
    int rc = FPO_OK;
    while (off < n) {
        ssize_t k = write(fd, b + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            rc = fpo_fail(e, FPO_EIO, "writing %s failed: %s", tmp,
                          k < 0 ? strerror(errno) : "no space written");
            break;
        }
        off += (size_t)k;
    }
    if (rc == FPO_OK && fsync(fd) != 0)
        rc = fpo_fail(e, FPO_EIO, "fsync of %s failed: %s", tmp, strerror(errno));
    if (close(fd) != 0 && rc == FPO_OK)
        rc = fpo_fail(e, FPO_EIO, "closing %s failed: %s", tmp, strerror(errno));
    if (rc == FPO_OK && rename(tmp, path) != 0)
        rc = fpo_fail(e, FPO_EIO, "renaming %s to %s failed: %s", tmp, path, strerror(errno));
    if (rc != FPO_OK) {
        unlink(tmp); /* the previous file at path, if any, is untouched */
    } else {
        /* Make the rename itself durable. */
        char *slash = strrchr(tmp, '/');
        const char *dir = ".";
        if (slash) {
            *slash = '\0';
            dir = slash == tmp ? "/" : tmp;
        }
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    fpo_mem_free(m, tmp);
    return rc;
}

int fpo_read_file(const char *path, void **out, size_t *n, const fpo_mem *m, fpo_errbuf *e)
{
    *out = NULL;
    *n = 0;
    /* O_NONBLOCK: opening a FIFO for reading otherwise waits for a writer,
     * forever. Only regular files are read (a directory's or device's seek
     * "size" can be 2^31 or 2^63: a huge allocation); the flag is cleared
     * before reading. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return fpo_fail(e, FPO_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return fpo_fail(e, FPO_EIO, "cannot stat %s: %s", path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode)) {
        const char *what = S_ISFIFO(sb.st_mode) ? "a named pipe (FIFO)"
                         : S_ISDIR(sb.st_mode)  ? "a directory"
                         : S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode) ? "a device"
                         : S_ISSOCK(sb.st_mode) ? "a socket" : "of another kind";
        close(fd);
        return fpo_fail(e, FPO_EIO, "%s is not a regular file: it is %s", path, what);
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int err = errno;
        close(fd);
        return fpo_fail(e, FPO_EIO, "cannot set %s to blocking reads: %s", path, strerror(err));
    }
    if (sb.st_size < 0 || (uintmax_t)sb.st_size > (uintmax_t)SIZE_MAX - 1) {
        close(fd);
        return fpo_fail(e, FPO_EIO, "cannot determine the size of %s", path);
    }
    size_t len = (size_t)sb.st_size;
    /* One spare byte: a file that grew since fstat is reported, not truncated. */
    unsigned char *buf = fpo_mem_calloc(m, len + 1, 1);
    if (!buf) {
        close(fd);
        return fpo_fail(e, FPO_ENOMEM, "out of memory reading %s", path);
    }
    size_t got = 0;
    int err = 0;
    while (got < len + 1) {
        ssize_t r = read(fd, buf + got, len + 1 - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            err = errno;
            break;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (err || got != len) {
        fpo_mem_free(m, buf);
        if (err)
            return fpo_fail(e, FPO_EIO, "reading %s failed: %s", path, strerror(err));
        return fpo_fail(e, FPO_EIO, "reading %s failed: it changed size while being read", path);
    }
    *out = buf;
    *n = len;
    return FPO_OK;
}

int fpo_policy_save(const fpo_policy *p, const char *path)
{
    if (!p)
        return FPO_NULL_ARG("p");
    fpo_errbuf *e = (fpo_errbuf *)&p->err; /* the message buffer is not policy state */
    if (!path)
        return fpo_fail(e, FPO_EINVAL, "path is NULL");
    size_t n;
    fpo_policy_save_mem(p, NULL, 0, &n);
    const fpo_mem *m = &p->mem;
    unsigned char *buf = fpo_mem_calloc(m, n, 1);
    if (!buf)
        return fpo_fail(e, FPO_ENOMEM, "out of memory serializing the policy");
    fpo_policy_save_mem(p, buf, n, &n);
    int rc = fpo_write_file_atomic(path, buf, n, m, e);
    fpo_mem_free(m, buf);
    return rc;
}

int fpo_policy_load(fpo_policy **out, const char *path, const fpo_allocator *allocator)
{
    if (out)
        *out = NULL;
    if (!out || !path)
        return fpo_fail(NULL, FPO_EINVAL, "out or path is NULL");
    fpo_mem mem;
    int rc;
    if ((rc = fpo_mem_init(&mem, allocator, NULL)))
        return rc;
    void *buf;
    size_t len;
    rc = fpo_read_file(path, &buf, &len, &mem, NULL);
    if (rc)
        return rc;
    rc = fpo_policy_load_mem(out, buf, len, allocator);
    fpo_mem_free(&mem, buf);
    return rc;
}
