/* Recorded data sets on disk as NumPy .npy files (format versions 1.0, 2.0
 * and 3.0): obs.npy (N x obs_dim), act.npy (N x act_dim) and
 * episode_ends.npy (E, the exclusive end row of every episode, increasing,
 * the last one N), the layout of diffusion-policy and DPPO data sets.
 *
 * The reader takes little-endian float32 ('<f4') and float64 ('<f8') arrays
 * (converted to float), and for integer files ('<i8', '<i4') 64-bit
 * integers; C order only; 1-D or 2-D. It never trusts the header: a bad
 * magic, a malformed or oversized header dictionary, an unsupported dtype,
 * Fortran order, a shape whose byte count overflows or exceeds the data
 * present, trailing garbage, or a non-finite float are each an error with a
 * message, never a crash. The writer writes version 1.0 '<f4' or '<i8'
 * files atomically (temporary file, rename). */
#ifndef FPO_EXAMPLES_DATASET_H
#define FPO_EXAMPLES_DATASET_H

#include <stddef.h>
#include <stdint.h>

#define DS_ERRLEN 256

typedef enum ds_kind { DS_FLOAT = 0, DS_INT = 1 } ds_kind;

typedef struct ds_array {
    int ndim;          /* 1 or 2 */
    int64_t shape[2];  /* shape[1] = 1 for a 1-D array */
    ds_kind kind;      /* DS_FLOAT: f holds the values; DS_INT: i does */
    float *f;
    int64_t *i;
} ds_array;

/* A message into err (printf format); returns -1. The readers' one way to fail. */
int ds_fail(char err[DS_ERRLEN], const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Largest element count the reader accepts (2^31 - 1 rows x columns). */
#define DS_MAX_ELEMENTS ((int64_t)1 << 31)

/* Parse n bytes of a .npy file into *out (allocated with malloc; free with
 * ds_array_free). want: the kind the caller needs (a float file is refused
 * where integers are wanted and the other way around). 0 or -1 with a
 * message in err. */
int ds_npy_parse(const void *buf, size_t n, ds_kind want, ds_array *out, char err[DS_ERRLEN]);
int ds_npy_read(const char *path, ds_kind want, ds_array *out, char err[DS_ERRLEN]);
void ds_array_free(ds_array *a);

/* Write rows x cols floats (ndim 2) or rows floats (ndim 1), or rows int64. */
int ds_npy_write_f32(const char *path, const float *x, int ndim, int64_t rows, int64_t cols,
                     char err[DS_ERRLEN]);
int ds_npy_write_i64(const char *path, const int64_t *x, int64_t n, char err[DS_ERRLEN]);
/* The bytes a version 1.0 file of these values would hold (malloc'd); for
 * tests and the fuzzer's corpus. */
void *ds_npy_encode_f32(const float *x, int ndim, int64_t rows, int64_t cols, size_t *n);

/* A data set: N rows of observations and actions, E episodes. */
typedef struct ds_dataset {
    int64_t n, episodes;
    int obs_dim, act_dim;
    float *obs, *act;
    int64_t *ends;
} ds_dataset;

/* DIR/obs.npy, DIR/act.npy, DIR/episode_ends.npy; obs_dim / act_dim 0 =
 * whatever the files have, else they must match. Checks that the row counts
 * agree and that episode_ends is increasing and ends at N. */
int ds_dataset_load(const char *dir, int obs_dim, int act_dim, ds_dataset *out,
                    char err[DS_ERRLEN]);
int ds_dataset_save(const char *dir, const ds_dataset *d, char err[DS_ERRLEN]);
void ds_dataset_free(ds_dataset *d);

/* What every loader checks of a data set (what: the name in messages): at
 * least one row, 1..65536 columns of each (equal to obs_dim / act_dim where
 * those are not 0), episode ends increasing to N, finite values. */
int ds_dataset_check(const ds_dataset *d, const char *what, int obs_dim, int act_dim,
                     char err[DS_ERRLEN]);

/* A data set from a directory of .npy files (ds_dataset_load) or an HDF5
 * file (ds_hdf5_load), whichever path names. obs_keys: HDF5 only, else
 * NULL. */
int ds_dataset_open(const char *path, const char *obs_keys, int obs_dim, int act_dim,
                    ds_dataset *out, char err[DS_ERRLEN]);

/* ---- HDF5 (examples/dataset_hdf5.c; meson -Dhdf5, libhdf5-dev) ----------
 *
 * Two layouts, told apart by what the file holds:
 * - robomimic: a group "data" of groups "demo_K" (taken in the order of K),
 *   each with "actions" (T x A) and a group "obs" of datasets (T or T x d).
 *   An observation row is the values of obs_keys ("a,b,c", in that order)
 *   side by side, or with obs_keys NULL those of every rank-1 and rank-2
 *   dataset of the first demo's "obs" in name order (images are left out).
 *   Every demo is one episode.
 * - D4RL: datasets "observations" (N x O) and "actions" (N x A) at the root;
 *   an episode ends after every row whose "terminals" or "timeouts" (both
 *   optional, bool or numbers) is set, and at N.
 * Numbers of any integer or float type are converted to float. libhdf5 is
 * not hardened against damaged files (bit flips crash or hang it), so the
 * file is read in a child process (fork) that sends the arrays back through
 * a pipe: a crash or a hang of libhdf5 (no answer within the time limit,
 * 300 s by default) is an error with a message, and everything received is
 * checked before use (bounded sizes, ds_dataset_check). */
int ds_is_hdf5(const char *path); /* 1: the file starts with the HDF5 signature */
int ds_hdf5_available(void);      /* 1: built with libhdf5 */
int ds_hdf5_load(const char *path, const char *obs_keys, int obs_dim, int act_dim,
                 ds_dataset *out, char err[DS_ERRLEN]);
/* For tests: the time limit (seconds; <= 0: the default) and a function the
 * child calls before it reads (NULL: none), e.g. one that crashes. */
void ds_hdf5_set_limits(int timeout_s, void (*child_hook)(void));

#endif
