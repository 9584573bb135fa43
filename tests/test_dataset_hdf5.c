/* examples/dataset_hdf5.c: robomimic and D4RL files written here with
 * libhdf5, read back; the errors; a reader that crashes or hangs in its child
 * process; and every truncation and a sweep of bit flips of a compressed
 * file, none of which may crash the caller. Built only with libhdf5. */
#include <check.h>
#include <hdf5.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dataset.h"
#include "testutil.h"

static void put(hid_t loc, const char *name, hid_t ftype, hid_t mtype, int rank,
                hsize_t d0, hsize_t d1, const void *x, int gzip)
{
    hsize_t dims[4] = {d0, d1, 4, 3};
    hid_t s = H5Screate_simple(rank, dims, NULL);
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    if (gzip) {
        hsize_t chunk[2] = {d0 > 4 ? 4 : d0, d1};
        H5Pset_chunk(pl, rank, chunk);
        H5Pset_deflate(pl, 4);
    }
    hid_t d = H5Dcreate2(loc, name, ftype, s, H5P_DEFAULT, pl, H5P_DEFAULT);
    ck_assert_int_ge(d, 0);
    ck_assert_int_ge(H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, x), 0);
    H5Dclose(d);
    H5Pclose(pl);
    H5Sclose(s);
}

/* A new empty file named from the template (its XXXXXX replaced). */
static void temp_file(char *path)
{
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

/* h5py's bool: an enum of int8 with FALSE = 0, TRUE = 1. */
static hid_t bool_type(void)
{
    hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    signed char v = 0;
    H5Tenum_insert(t, "FALSE", &v);
    v = 1;
    H5Tenum_insert(t, "TRUE", &v);
    return t;
}

/* D4RL: 10 rows, obs float64 10 x 3, actions float32 10 x 2, terminals (bool)
 * set at row 3, timeouts (uint8) at row 6: episodes end at 4, 7, 10. */
static void write_d4rl(const char *path, int flags, int gzip, double nan_at)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    ck_assert_int_ge(f, 0);
    double obs[30];
    float act[20];
    for (int i = 0; i < 30; i++)
        obs[i] = i / 7.0;
    if (nan_at >= 0)
        obs[(int)nan_at] = NAN;
    for (int i = 0; i < 20; i++)
        act[i] = -(float)i / 3.0f;
    put(f, "observations", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 2, 10, 3, obs, gzip);
    put(f, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, 10, 2, act, gzip);
    if (flags) {
        signed char term[10] = {0};
        unsigned char tout[10] = {0};
        term[3] = 1;
        tout[6] = 1;
        hid_t bt = bool_type();
        put(f, "terminals", bt, bt, 1, 10, 1, term, 0);
        H5Tclose(bt);
        put(f, "timeouts", H5T_STD_U8LE, H5T_NATIVE_UCHAR, 1, 10, 1, tout, 0);
    }
    H5Fclose(f);
}

START_TEST(d4rl_layout)
{
    char path[] = "/tmp/fpo_h5_XXXXXX";
    temp_file(path);
    char err[DS_ERRLEN];
    ds_dataset d;
    write_d4rl(path, 1, 0, -1);
    ck_assert(ds_is_hdf5(path));
    ck_assert_msg(ds_dataset_open(path, NULL, 3, 2, &d, err) == 0, "%s", err);
    ck_assert_int_eq(d.n, 10);
    ck_assert_int_eq(d.obs_dim, 3);
    ck_assert_int_eq(d.act_dim, 2);
    ck_assert_int_eq(d.episodes, 3);
    ck_assert_int_eq(d.ends[0], 4);
    ck_assert_int_eq(d.ends[1], 7);
    ck_assert_int_eq(d.ends[2], 10);
    for (int i = 0; i < 30; i++)
        ck_assert_float_eq(d.obs[i], (float)(i / 7.0));
    for (int i = 0; i < 20; i++)
        ck_assert_float_eq(d.act[i], -(float)i / 3.0f);
    ds_dataset_free(&d);
    /* Without terminals and timeouts: one episode. Compressed: the same values. */
    write_d4rl(path, 0, 1, -1);
    ck_assert_msg(ds_dataset_open(path, NULL, 0, 0, &d, err) == 0, "%s", err);
    ck_assert_int_eq(d.episodes, 1);
    ck_assert_int_eq(d.ends[0], 10);
    ck_assert_float_eq(d.obs[29], (float)(29 / 7.0));
    ds_dataset_free(&d);
    /* The task's sizes must match; NaN is named by row and column; keys are
     * for robomimic files. */
    ck_assert_int_eq(ds_dataset_open(path, NULL, 4, 2, &d, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "columns"));
    ck_assert_int_eq(ds_dataset_open(path, "a,b", 0, 0, &d, err), -1);
    ck_assert_ptr_nonnull(strstr(err, "D4RL"));
    write_d4rl(path, 1, 0, 3 * 5 + 2);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "row 5, column 2"), "%s", err);
    ck_assert_ptr_null(d.obs);
    remove(path);
}
END_TEST

/* robomimic: demos 10, 0 and 2 (taken as 0, 2, 10) of 3, 2 and 4 steps; obs
 * keys b_pos (T x 2), a_flag (T) and image (T x 2 x 4 x 3, left out). */
static void write_robomimic(const char *path, int bad_rows)
{
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t data = H5Gcreate2(f, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hid_t mask = H5Gcreate2(f, "mask", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(mask);
    const int ids[3] = {10, 0, 2}, len[3] = {4, 3, 2};
    for (int k = 0; k < 3; k++) {
        char name[32];
        snprintf(name, sizeof name, "demo_%d", ids[k]);
        hid_t g = H5Gcreate2(data, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        hid_t og = H5Gcreate2(g, "obs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        int T = len[k];
        float act[8], pos[8], flag[4], img[4 * 2 * 4 * 3] = {0};
        for (int t = 0; t < T; t++) {
            /* values that say where they came from: demo * 100 + step */
            act[2 * t] = (float)(ids[k] * 100 + t);
            act[2 * t + 1] = -act[2 * t];
            pos[2 * t] = act[2 * t] + 0.25f;
            pos[2 * t + 1] = act[2 * t] + 0.5f;
            flag[t] = (float)(t % 2);
        }
        put(g, "actions", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, (hsize_t)T, 2, act, 0);
        put(og, "b_pos", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2,
            (hsize_t)(bad_rows && k == 2 ? T - 1 : T), 2, pos, 0);
        put(og, "a_flag", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, (hsize_t)T, 1, flag, 0);
        put(og, "image", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, (hsize_t)T, 2, img, 0);
        H5Gclose(og);
        H5Gclose(g);
    }
    H5Gclose(data);
    H5Fclose(f);
}

START_TEST(robomimic_layout)
{
    char path[] = "/tmp/fpo_h5_XXXXXX";
    temp_file(path);
    char err[DS_ERRLEN];
    ds_dataset d;
    write_robomimic(path, 0);
    /* Default keys: a_flag then b_pos (name order), no image. */
    ck_assert_msg(ds_dataset_open(path, NULL, 3, 2, &d, err) == 0, "%s", err);
    ck_assert_int_eq(d.n, 9);
    ck_assert_int_eq(d.episodes, 3);
    ck_assert_int_eq(d.ends[0], 3);
    ck_assert_int_eq(d.ends[1], 5);
    ck_assert_int_eq(d.ends[2], 9);
    const int demo_of_row[9] = {0, 0, 0, 2, 2, 10, 10, 10, 10};
    const int step_of_row[9] = {0, 1, 2, 0, 1, 0, 1, 2, 3};
    for (int r = 0; r < 9; r++) {
        float a = (float)(demo_of_row[r] * 100 + step_of_row[r]);
        ck_assert_float_eq(d.act[2 * r], a);
        ck_assert_float_eq(d.act[2 * r + 1], -a);
        ck_assert_float_eq(d.obs[3 * r], (float)(step_of_row[r] % 2));
        ck_assert_float_eq(d.obs[3 * r + 1], a + 0.25f);
        ck_assert_float_eq(d.obs[3 * r + 2], a + 0.5f);
    }
    ds_dataset_free(&d);
    /* Keys in the caller's order. */
    ck_assert_msg(ds_dataset_open(path, "b_pos,a_flag", 0, 0, &d, err) == 0, "%s", err);
    ck_assert_int_eq(d.obs_dim, 3);
    ck_assert_float_eq(d.obs[3 * 4], 201.25f);
    ck_assert_float_eq(d.obs[3 * 4 + 2], 1.0f);
    ds_dataset_free(&d);
    ck_assert_int_eq(ds_dataset_open(path, "b_pos,nope", 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "'nope'") && strstr(err, "demo_0"), "%s", err);
    ck_assert_int_eq(ds_dataset_open(path, "image", 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "rank 4"), "%s", err);
    ck_assert_int_eq(ds_dataset_open(path, ",", 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "empty"), "%s", err);
    /* A demo whose observations and actions disagree. */
    write_robomimic(path, 1);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "data/demo_2:") && strstr(err, "rows"), "%s", err);
    /* Neither layout; not HDF5 at all. */
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    float x[2] = {1, 2};
    put(f, "something", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1, 2, 1, x, 0);
    H5Fclose(f);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "neither a robomimic"), "%s", err);
    FILE *t = fopen(path, "w");
    fputs("not hdf5", t);
    fclose(t);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "neither a directory"), "%s", err);
    remove(path);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "No such file"), "%s", err);
}
END_TEST

static void crash_hook(void) { raise(SIGSEGV); }
static void hang_hook(void) { sleep(30); }
static void quit_hook(void) { _exit(3); }

START_TEST(reader_crash_and_hang)
{
    char path[] = "/tmp/fpo_h5_XXXXXX";
    temp_file(path);
    write_d4rl(path, 1, 0, -1);
    char err[DS_ERRLEN];
    ds_dataset d;
    ds_hdf5_set_limits(0, crash_hook);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    /* signal 11, or 6 where a sanitizer turns the SIGSEGV into an abort */
    ck_assert_msg(strstr(err, "crashed") && strstr(err, "(signal "), "%s", err);
    ds_hdf5_set_limits(1, hang_hook);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "within 1 s"), "%s", err);
    ds_hdf5_set_limits(0, quit_hook);
    ck_assert_int_eq(ds_dataset_open(path, NULL, 0, 0, &d, err), -1);
    ck_assert_msg(strstr(err, "stopped early (exit status 3)"), "%s", err);
    ck_assert_ptr_null(d.obs);
    ds_hdf5_set_limits(0, NULL);
    ck_assert_msg(ds_dataset_open(path, NULL, 0, 0, &d, err) == 0, "%s", err);
    ds_dataset_free(&d);
    remove(path);
}
END_TEST

START_TEST(truncations_and_bit_flips)
{
    char path[] = "/tmp/fpo_h5_XXXXXX", cut[64];
    temp_file(path);
    snprintf(cut, sizeof cut, "%s.cut", path);
    write_d4rl(path, 1, 1, -1);
    FILE *f = fopen(path, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *good = malloc((size_t)n), *b = malloc((size_t)n);
    ck_assert_int_eq(fread(good, 1, (size_t)n, f), n);
    fclose(f);
    char err[DS_ERRLEN];
    ds_dataset d;
    ds_hdf5_set_limits(20, NULL);
    /* Every 64th truncation, and the last bytes one by one. */
    for (long k = 8; k < n; k += k < n - 16 ? 64 : 1) {
        f = fopen(cut, "wb");
        fwrite(good, 1, (size_t)k, f);
        fclose(f);
        err[0] = '\0';
        ck_assert_msg(ds_hdf5_load(cut, NULL, 0, 0, &d, err) == -1, "prefix %ld parsed", k);
        ck_assert_msg(err[0] != '\0', "prefix %ld: no message", k);
    }
    /* Random flips of 1-4 bits: each load fails with a message or gives a
     * data set that passes the checks. */
    unsigned seed = 12345;
    int parsed = 0, failed = 0, contained = 0;
    for (int trial = 0; trial < 1500; trial++) {
        memcpy(b, good, (size_t)n);
        int flips = 1 + (int)(rand_r(&seed) % 4);
        for (int q = 0; q < flips; q++)
            b[rand_r(&seed) % (unsigned)n] ^= (unsigned char)(1u << (rand_r(&seed) % 8));
        f = fopen(cut, "wb");
        fwrite(b, 1, (size_t)n, f);
        fclose(f);
        err[0] = '\0';
        if (ds_hdf5_load(cut, NULL, 0, 0, &d, err) == 0) {
            parsed++;
            ck_assert_int_eq(ds_dataset_check(&d, cut, 0, 0, err), 0);
            ds_dataset_free(&d);
        } else {
            failed++;
            ck_assert_msg(err[0] != '\0', "trial %d: no message", trial);
            ck_assert_ptr_null(d.obs);
            contained += strstr(err, "crashed") || strstr(err, "did not finish");
        }
    }
    /* The crashes and hangs of libhdf5 that the child process contained. */
    printf("bit flips: %d parsed, %d failed (%d crashed or hung libhdf5)\n", parsed, failed,
           contained);
    ck_assert_int_gt(parsed, 0);
    ck_assert_int_gt(failed, 0);
    ds_hdf5_set_limits(0, NULL);
    free(good);
    free(b);
    remove(cut);
    remove(path);
}
END_TEST

Suite *fpo_test_suite(void)
{
    Suite *s = suite_create("dataset_hdf5");
    TCase *tc = tcase_create("hdf5");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, d4rl_layout);
    tcase_add_test(tc, robomimic_layout);
    tcase_add_test(tc, reader_crash_and_hang);
    tcase_add_test(tc, truncations_and_bit_flips);
    suite_add_tcase(s, tc);
    return s;
}
