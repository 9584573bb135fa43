/* HDF5 data sets in the robomimic and D4RL layouts (dataset.h), through
 * libhdf5 when meson found it (-Dhdf5, DS_HAVE_HDF5).
 *
 * libhdf5 is not a hardened parser: random bit flips of a small file crash it
 * (SIGSEGV) or hang it now and then (4 of the 1500 reads of
 * tests/test_dataset_hdf5.c). So the file is read in a child process
 * (fork), which sends the arrays back through a pipe; a
 * crash, a hang (no answer within the time limit) or a malformed answer of
 * the child is an error with a message here, never a crash of the host. The
 * parent trusts nothing it receives: sizes are bounded before anything is
 * allocated, and the data set is checked like a .npy one (finite values,
 * episode ends increasing to N) by ds_dataset_check. */
#include "dataset.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int ds_is_hdf5(const char *path)
{
    static const unsigned char sig[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    unsigned char b[8];
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    int ok = fread(b, 1, 8, f) == 8 && memcmp(b, sig, 8) == 0;
    fclose(f);
    return ok;
}

#ifndef DS_HAVE_HDF5

int ds_hdf5_available(void) { return 0; }

void ds_hdf5_set_limits(int timeout_s, void (*child_hook)(void))
{
    (void)timeout_s;
    (void)child_hook;
}

int ds_hdf5_load(const char *path, const char *obs_keys, int obs_dim, int act_dim,
                 ds_dataset *out, char err[DS_ERRLEN])
{
    (void)obs_keys;
    (void)obs_dim;
    (void)act_dim;
    memset(out, 0, sizeof *out);
    return ds_fail(err, "%s: an HDF5 file, but this build has no HDF5 support (install "
                        "libhdf5-dev and configure with meson -Dhdf5=enabled)", path);
}

#else

#include <errno.h>
#include <hdf5.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* H5Literate's link-info type changed in 1.12 (H5Literate2); Debian 12 ships 1.10. */
#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t ds_link_info;
#define DS_LITERATE H5Literate2
#else
typedef H5L_info_t ds_link_info;
#define DS_LITERATE H5Literate
#endif

static int g_timeout_s = 300;
static void (*g_child_hook)(void);

int ds_hdf5_available(void) { return 1; }

void ds_hdf5_set_limits(int timeout_s, void (*child_hook)(void))
{
    g_timeout_s = timeout_s > 0 ? timeout_s : 300;
    g_child_hook = child_hook;
}

/* ---- the child: libhdf5 ---------------------------------------------------- */

/* A dataset of rank 1 or 2 as floats (rank 1: one column). Integer, float and
 * enum (h5py's bool) element types; anything else is refused. */
static int read_matrix(hid_t loc, const char *name, const char *where, int64_t *rows,
                       int64_t *cols, float **out, char err[DS_ERRLEN])
{
    *out = NULL;
    if (H5Lexists(loc, name, H5P_DEFAULT) <= 0)
        return ds_fail(err, "%s: no dataset '%s'", where, name);
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0)
        return ds_fail(err, "%s: '%s' is not a readable dataset", where, name);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d), mt = -1;
    int rc = -1;
    hsize_t dims[2] = {0, 1};
    int rank = s >= 0 ? H5Sget_simple_extent_ndims(s) : -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    if (rank < 1 || rank > 2) {
        ds_fail(err, "%s: '%s' has rank %d, expected 1 or 2", where, name, rank);
        goto done;
    }
    if (H5Sget_simple_extent_dims(s, dims, NULL) < 0 || dims[1] < 1 || dims[1] > 65536 ||
        dims[0] > (hsize_t)(DS_MAX_ELEMENTS / (int64_t)dims[1])) {
        ds_fail(err, "%s: '%s' has a bad shape", where, name);
        goto done;
    }
    size_t count = (size_t)dims[0] * (size_t)dims[1];
    float *x = malloc((count ? count : 1) * sizeof *x);
    if (!x) {
        ds_fail(err, "%s: out of memory for '%s'", where, name);
        goto done;
    }
    if (cls == H5T_INTEGER || cls == H5T_FLOAT) {
        rc = H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x) < 0 ? -1 : 0;
    } else if (cls == H5T_ENUM && H5Tget_size(t) == 1) { /* h5py's bool: raw 0 / 1 bytes */
        unsigned char *b = malloc(count ? count : 1);
        mt = H5Tget_native_type(t, H5T_DIR_DEFAULT);
        rc = b && mt >= 0 && H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, b) >= 0 ? 0 : -1;
        for (size_t k = 0; rc == 0 && k < count; k++)
            x[k] = (float)b[k];
        free(b);
    } else {
        free(x);
        ds_fail(err, "%s: '%s' holds neither numbers nor booleans", where, name);
        goto done;
    }
    if (rc) {
        free(x);
        ds_fail(err, "%s: reading '%s' failed (libhdf5)", where, name);
        goto done;
    }
    *rows = (int64_t)dims[0];
    *cols = (int64_t)dims[1];
    *out = x;
done:
    if (mt >= 0)
        H5Tclose(mt);
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    return rc;
}

/* A growing float array. */
typedef struct fbuf {
    float *x;
    size_t n, cap;
} fbuf;

/* Room for n more floats at the end (NULL: too large, or out of memory). */
static float *fbuf_extend(fbuf *b, size_t n)
{
    if (n > (size_t)DS_MAX_ELEMENTS - b->n)
        return NULL;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n)
            cap *= 2;
        float *y = realloc(b->x, cap * sizeof *y);
        if (!y)
            return NULL;
        b->x = y;
        b->cap = cap;
    }
    b->n += n;
    return b->x + b->n - n;
}

/* D4RL: observations (N x O), actions (N x A), and optional terminals and
 * timeouts (N): an episode ends after every row with either set, and at N. */
static int read_d4rl(hid_t f, const char *path, ds_dataset *d, char err[DS_ERRLEN])
{
    int64_t no, o, na, a, nt, ct;
    if (read_matrix(f, "observations", path, &no, &o, &d->obs, err) ||
        read_matrix(f, "actions", path, &na, &a, &d->act, err))
        return -1;
    if (no != na)
        return ds_fail(err, "%s: 'observations' has %lld rows, 'actions' %lld", path,
                       (long long)no, (long long)na);
    d->n = no;
    d->obs_dim = (int)o;
    d->act_dim = (int)a;
    d->ends = malloc((size_t)(no + 1) * sizeof *d->ends);
    unsigned char *end = calloc((size_t)no + 1, 1);
    if (!d->ends || !end) {
        free(end);
        return ds_fail(err, "%s: out of memory", path);
    }
    static const char *const flags[2] = {"terminals", "timeouts"};
    for (int k = 0; k < 2; k++) {
        if (H5Lexists(f, flags[k], H5P_DEFAULT) <= 0)
            continue;
        float *v;
        if (read_matrix(f, flags[k], path, &nt, &ct, &v, err)) {
            free(end);
            return -1;
        }
        if (nt != no || ct != 1) {
            free(v);
            free(end);
            return ds_fail(err, "%s: '%s' has %lld x %lld values, expected %lld", path, flags[k],
                           (long long)nt, (long long)ct, (long long)no);
        }
        for (int64_t r = 0; r < no; r++)
            end[r] |= v[r] != 0.0f;
        free(v);
    }
    int64_t e = 0;
    for (int64_t r = 0; r < no; r++)
        if (end[r] || r == no - 1)
            d->ends[e++] = r + 1;
    d->episodes = e;
    free(end);
    return 0;
}

/* The names of a group's members, in the group's name order (malloc'd). */
typedef struct names {
    char **s;
    int n, cap;
} names;

static int names_push(names *nm, const char *name)
{
    if (nm->n == nm->cap) {
        int cap = nm->cap ? 2 * nm->cap : 16;
        char **s = realloc(nm->s, (size_t)cap * sizeof *s);
        if (!s)
            return -1;
        nm->s = s;
        nm->cap = cap;
    }
    if (!(nm->s[nm->n] = strdup(name)))
        return -1;
    nm->n++;
    return 0;
}

static herr_t collect(hid_t g, const char *name, const ds_link_info *info, void *u)
{
    (void)g;
    (void)info;
    return names_push(u, name);
}

static void names_free(names *nm)
{
    for (int k = 0; k < nm->n; k++)
        free(nm->s[k]);
    free(nm->s);
    memset(nm, 0, sizeof *nm);
}

static int list_group(hid_t g, names *nm)
{
    memset(nm, 0, sizeof *nm);
    hsize_t idx = 0;
    if (DS_LITERATE(g, H5_INDEX_NAME, H5_ITER_INC, &idx, collect, nm) < 0) {
        names_free(nm);
        return -1;
    }
    return 0;
}

/* demo_K: K, or -1 for another name. */
static long demo_index(const char *s)
{
    if (strncmp(s, "demo_", 5) != 0 || s[5] < '0' || s[5] > '9')
        return -1;
    char *end;
    errno = 0;
    long k = strtol(s + 5, &end, 10);
    return *end || errno || k < 0 ? -1 : k;
}

static int by_demo_index(const void *a, const void *b)
{
    long x = demo_index(*(char *const *)a), y = demo_index(*(char *const *)b);
    return (x > y) - (x < y);
}

/* One key of a comma-separated list, or NULL at its end. */
static const char *next_key(const char **p, char *out, size_t cap)
{
    const char *s = *p;
    while (*s == ',')
        s++;
    if (!*s)
        return NULL;
    size_t n = strcspn(s, ",");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    *p = s + strcspn(s, ",");
    return out;
}

/* Every rank-1 and rank-2 dataset of the group og, in name order (images,
 * rank 4, are left out). */
static int low_dim_keys(hid_t og, const char *where, names *keys, char err[DS_ERRLEN])
{
    names all;
    if (list_group(og, &all))
        return ds_fail(err, "%s: cannot list 'obs'", where);
    int rc = 0;
    for (int j = 0; rc == 0 && j < all.n; j++) {
        hid_t ds = H5Dopen2(og, all.s[j], H5P_DEFAULT);
        hid_t sp = ds >= 0 ? H5Dget_space(ds) : -1;
        int r = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
        if (sp >= 0)
            H5Sclose(sp);
        if (ds >= 0)
            H5Dclose(ds);
        if ((r == 1 || r == 2) && names_push(keys, all.s[j]))
            rc = ds_fail(err, "%s: out of memory", where);
    }
    names_free(&all);
    if (rc == 0 && keys->n == 0)
        rc = ds_fail(err, "%s: 'obs' holds no dataset of rank 1 or 2", where);
    return rc;
}

/* One demo (the group g, its observations og): its actions appended to ab
 * and the keys' values, side by side, to ob as its observation rows; *t its
 * steps. *obs_dim and *act_dim: 0 before the first demo (then set here),
 * else what this demo must match. */
static int read_demo(hid_t g, hid_t og, const names *keys, const char *where, fbuf *ob,
                     fbuf *ab, int *obs_dim, int *act_dim, int64_t *t, char err[DS_ERRLEN])
{
    int64_t a;
    float *act;
    if (read_matrix(g, "actions", where, t, &a, &act, err))
        return -1;
    int rc = -1, row = 0;
    float **cols = calloc((size_t)keys->n, sizeof *cols);
    int64_t *width = calloc((size_t)keys->n, sizeof *width);
    if (!cols || !width) {
        ds_fail(err, "%s: out of memory", where);
        goto out;
    }
    if (*t < 1 || (*act_dim && a != *act_dim)) {
        ds_fail(err, "%s: 'actions' has %lld x %lld values (the first demo: %d columns)", where,
                (long long)*t, (long long)a, *act_dim);
        goto out;
    }
    for (int j = 0; j < keys->n; j++) {
        int64_t tr;
        if (read_matrix(og, keys->s[j], where, &tr, &width[j], &cols[j], err))
            goto out;
        if (tr != *t) {
            ds_fail(err, "%s: obs/%s has %lld rows, 'actions' %lld", where, keys->s[j],
                    (long long)tr, (long long)*t);
            goto out;
        }
        if (row + width[j] > 65536) {
            ds_fail(err, "%s: the observation keys are wider than 65536", where);
            goto out;
        }
        row += (int)width[j];
    }
    if (*obs_dim && row != *obs_dim) {
        ds_fail(err, "%s: observation rows of %d values, the first demo's of %d", where, row,
                *obs_dim);
        goto out;
    }
    float *o = fbuf_extend(ob, (size_t)(*t * row));
    float *ac = o ? fbuf_extend(ab, (size_t)(*t * a)) : NULL;
    if (!ac) {
        ds_fail(err, "%s: too large, or out of memory", where);
        goto out;
    }
    for (int64_t r = 0; r < *t; r++)
        for (int j = 0; j < keys->n; j++)
            for (int64_t q = 0; q < width[j]; q++)
                *o++ = cols[j][r * width[j] + q];
    memcpy(ac, act, (size_t)(*t * a) * sizeof *ac);
    *obs_dim = row;
    *act_dim = (int)a;
    rc = 0;
out:
    for (int j = 0; cols && j < keys->n; j++)
        free(cols[j]);
    free(cols);
    free(width);
    free(act);
    return rc;
}

/* robomimic: data/demo_K (in the order of K), each with actions (T x A) and
 * obs/KEY (T or T x d). The observation row is the keys' values side by side:
 * obs_keys' order, or those of low_dim_keys of the first demo. Every demo is
 * one episode. */
static int read_robomimic(hid_t f, const char *path, const char *obs_keys, ds_dataset *d,
                          char err[DS_ERRLEN])
{
    hid_t data = H5Gopen2(f, "data", H5P_DEFAULT);
    if (data < 0)
        return ds_fail(err, "%s: 'data' is not a group", path);
    int rc = -1;
    names demos = {0}, keys = {0};
    fbuf ob = {0}, ab = {0};
    int64_t *ends = NULL;
    if (list_group(data, &demos)) {
        ds_fail(err, "%s: cannot list the group 'data'", path);
        goto done;
    }
    int nd = 0;
    for (int k = 0; k < demos.n; k++)
        if (demo_index(demos.s[k]) >= 0)
            demos.s[nd++] = demos.s[k];
        else
            free(demos.s[k]);
    demos.n = nd;
    if (nd == 0) {
        ds_fail(err, "%s: the group 'data' holds no demo_K groups", path);
        goto done;
    }
    qsort(demos.s, (size_t)nd, sizeof *demos.s, by_demo_index);
    if (!(ends = malloc((size_t)nd * sizeof *ends))) {
        ds_fail(err, "%s: out of memory", path);
        goto done;
    }
    if (obs_keys) {
        char key[256];
        const char *p = obs_keys;
        while (next_key(&p, key, sizeof key))
            if (names_push(&keys, key)) {
                ds_fail(err, "%s: out of memory", path);
                goto done;
            }
        if (keys.n == 0) {
            ds_fail(err, "%s: the observation key list '%s' is empty", path, obs_keys);
            goto done;
        }
    }
    int obs_dim = 0, act_dim = 0;
    int64_t n = 0;
    for (int k = 0; k < nd; k++) {
        char where[512];
        snprintf(where, sizeof where, "%s: data/%s", path, demos.s[k]);
        hid_t g = H5Gopen2(data, demos.s[k], H5P_DEFAULT);
        hid_t og = g >= 0 && H5Lexists(g, "obs", H5P_DEFAULT) > 0
                       ? H5Gopen2(g, "obs", H5P_DEFAULT)
                       : -1;
        int64_t t = 0;
        int bad;
        if (g < 0)
            bad = ds_fail(err, "%s is not a group", where);
        else if (og < 0)
            bad = ds_fail(err, "%s: no group 'obs'", where);
        else /* without obs_keys: the first demo's low-dimensional keys */
            bad = (keys.n == 0 && low_dim_keys(og, where, &keys, err)) ||
                  read_demo(g, og, &keys, where, &ob, &ab, &obs_dim, &act_dim, &t, err);
        if (og >= 0)
            H5Gclose(og);
        if (g >= 0)
            H5Gclose(g);
        if (bad)
            goto done;
        n += t;
        ends[k] = n;
    }
    d->n = n;
    d->episodes = nd;
    d->obs_dim = obs_dim;
    d->act_dim = act_dim;
    d->obs = ob.x;
    d->act = ab.x;
    d->ends = ends;
    ob.x = ab.x = NULL;
    ends = NULL;
    rc = 0;
done:
    free(ob.x);
    free(ab.x);
    free(ends);
    names_free(&demos);
    names_free(&keys);
    H5Gclose(data);
    return rc;
}

static int read_file(const char *path, const char *obs_keys, ds_dataset *d, char err[DS_ERRLEN])
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* libhdf5 prints its error stack otherwise */
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return ds_fail(err, "%s: libhdf5 cannot open it (not HDF5, or damaged)", path);
    int rc;
    if (H5Lexists(f, "data", H5P_DEFAULT) > 0)
        rc = read_robomimic(f, path, obs_keys, d, err);
    else if (H5Lexists(f, "observations", H5P_DEFAULT) > 0)
        rc = obs_keys ? ds_fail(err, "%s: observation keys are for robomimic files (a 'data' "
                                     "group); this one has the D4RL layout", path)
                      : read_d4rl(f, path, d, err);
    else
        rc = ds_fail(err, "%s: neither a robomimic file (group 'data') nor a D4RL one "
                          "(datasets 'observations' and 'actions')", path);
    H5Fclose(f);
    return rc;
}

/* ---- the pipe between them ------------------------------------------------- */

typedef struct wire {
    int32_t status, obs_dim, act_dim, pad;
    int64_t n, episodes;
    char err[DS_ERRLEN];
} wire;

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void child(int fd, const char *path, const char *obs_keys)
{
    if (g_child_hook)
        g_child_hook();
    ds_dataset d;
    memset(&d, 0, sizeof d);
    wire w;
    memset(&w, 0, sizeof w);
    w.status = read_file(path, obs_keys, &d, w.err);
    if (w.status == 0) {
        w.n = d.n;
        w.episodes = d.episodes;
        w.obs_dim = d.obs_dim;
        w.act_dim = d.act_dim;
    }
    int rc = write_all(fd, &w, sizeof w);
    if (!rc && w.status == 0)
        rc = write_all(fd, d.obs, (size_t)d.n * (size_t)d.obs_dim * sizeof(float)) ||
             write_all(fd, d.act, (size_t)d.n * (size_t)d.act_dim * sizeof(float)) ||
             write_all(fd, d.ends, (size_t)d.episodes * sizeof(int64_t));
    _exit(rc ? 1 : 0); /* no atexit handlers of the host in the child */
}

/* Read n bytes, waiting at most until the deadline (CLOCK_MONOTONIC seconds). */
static int read_all(int fd, void *p, size_t n, double deadline)
{
    char *c = p;
    while (n) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        double left = deadline - ((double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec);
        if (left <= 0)
            return -2;
        struct pollfd pf = {fd, POLLIN, 0};
        int pr = poll(&pf, 1, left > 1e6 ? 1000000000 : (int)(left * 1000.0) + 1);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0)
            return -2;
        if (pr < 0)
            return -1;
        ssize_t r = read(fd, c, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        c += r;
        n -= (size_t)r;
    }
    return 0;
}

int ds_hdf5_load(const char *path, const char *obs_keys, int obs_dim, int act_dim,
                 ds_dataset *out, char err[DS_ERRLEN])
{
    memset(out, 0, sizeof *out);
    int fd[2];
    if (pipe(fd) != 0)
        return ds_fail(err, "%s: pipe: %s", path, strerror(errno));
    fflush(NULL); /* nothing buffered is written twice */
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return ds_fail(err, "%s: fork: %s", path, strerror(errno));
    }
    if (pid == 0) {
        close(fd[0]);
        child(fd[1], path, obs_keys);
    }
    close(fd[1]);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double deadline = (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec + g_timeout_s;
    wire w;
    int rc = read_all(fd[0], &w, sizeof w, deadline);
    if (rc == 0 && w.status != 0) {
        w.err[DS_ERRLEN - 1] = '\0';
        ds_fail(err, "%s", w.err[0] ? w.err : "the HDF5 reader failed");
        rc = -3; /* the child's own message */
    } else if (rc == 0) {
        if (w.n < 1 || w.episodes < 1 || w.episodes > w.n || w.obs_dim < 1 ||
            w.obs_dim > 65536 || w.act_dim < 1 || w.act_dim > 65536 ||
            w.n > DS_MAX_ELEMENTS / w.obs_dim || w.n > DS_MAX_ELEMENTS / w.act_dim) {
            ds_fail(err, "%s: the HDF5 reader sent a bad shape", path);
            rc = -3;
        } else {
            out->n = w.n;
            out->episodes = w.episodes;
            out->obs_dim = w.obs_dim;
            out->act_dim = w.act_dim;
            out->obs = malloc((size_t)w.n * (size_t)w.obs_dim * sizeof(float));
            out->act = malloc((size_t)w.n * (size_t)w.act_dim * sizeof(float));
            out->ends = malloc((size_t)w.episodes * sizeof(int64_t));
            if (!out->obs || !out->act || !out->ends) {
                ds_fail(err, "%s: out of memory", path);
                rc = -3;
            } else if ((rc = read_all(fd[0], out->obs, (size_t)w.n * (size_t)w.obs_dim * 4,
                                      deadline)) == 0 &&
                       (rc = read_all(fd[0], out->act, (size_t)w.n * (size_t)w.act_dim * 4,
                                      deadline)) == 0) {
                rc = read_all(fd[0], out->ends, (size_t)w.episodes * 8, deadline);
            }
        }
    }
    close(fd[0]);
    if (rc == -2) /* no answer in time: the reader hangs */
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (rc == -2) {
        ds_fail(err, "%s: libhdf5 did not finish reading it within %d s (a damaged file?)", path,
                g_timeout_s);
    } else if (WIFSIGNALED(st)) {
        ds_fail(err, "%s: libhdf5 crashed reading it (signal %d): the file is damaged", path,
                WTERMSIG(st));
        rc = -1;
    } else if (rc == -1) {
        ds_fail(err, "%s: the HDF5 reader stopped early (exit status %d)", path,
                WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    if (rc) {
        ds_dataset_free(out);
        return -1;
    }
    return ds_dataset_check(out, path, obs_dim, act_dim, err) ? (ds_dataset_free(out), -1) : 0;
}

#endif
