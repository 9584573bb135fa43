/* MPI_Allreduce cost by message size, as libfpo's training uses it: an
 * in-place float sum through libfpo_mpi's collective (the callbacks the
 * trainer calls), and MPI_Allreduce itself beside it. Run with
 *   mpirun -np 2 build/bench/bench_allreduce [SECONDS_PER_SIZE]
 * (as root on this machine: --allow-run-as-root --oversubscribe; see
 * bench/mpi_scaling.sh). For each size: blocks of back-to-back calls after a
 * barrier, the per-call time of each block taken as the slowest rank's, and
 * the median over blocks (and the best block). Then a fit of
 * t = alpha + beta * bytes: alpha from the median of the sizes up to 64
 * bytes, beta the slope between 1 MiB and 16 MiB, once from the medians and
 * once from the best blocks. docs/scaling.md explains how to use them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mpi.h>

#include "fpo/mpi.h"

#define BLOCKS 9

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over BLOCKS of the per-call time (slowest rank) of `calls` calls;
 * *best gets the fastest block (on a machine shared with other work the
 * median includes waiting for a descheduled rank, the best block much less). */
static double time_calls(const fpo_collective *c, int raw, float *buf, size_t n, int calls,
                         double *best)
{
    double t[BLOCKS];
    for (int b = 0; b < BLOCKS; b++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int k = 0; k < calls; k++) {
            int rc = raw ? MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM,
                                         MPI_COMM_WORLD)
                         : c->allreduce_sum_f32(c->user, buf, n);
            if (rc) {
                fprintf(stderr, "allreduce failed: %s\n", fpo_mpi_last_errmsg());
                MPI_Abort(MPI_COMM_WORLD, 1);
            }
        }
        double dt = (MPI_Wtime() - t0) / calls, slowest;
        MPI_Allreduce(&dt, &slowest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        t[b] = slowest;
    }
    qsort(t, BLOCKS, sizeof t[0], cmp_double);
    if (best)
        *best = t[0];
    return t[BLOCKS / 2];
}

int main(int argc, char **argv)
{
    int provided, rank, size;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    double budget = argc > 1 ? atof(argv[1]) : 0.3; /* seconds per size and variant */
    fpo_collective c = {sizeof c};
    if (fpo_mpi_collective_create(&c, MPI_COMM_WORLD) != 0) {
        fprintf(stderr, "%s\n", fpo_mpi_last_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const size_t max_floats = (size_t)1 << 22; /* 16 MiB */
    float *buf = malloc(max_floats * sizeof(float));
    for (size_t i = 0; i < max_floats; i++)
        buf[i] = 1e-6f * (float)(i % 1000);
    if (rank == 0) {
        printf("MPI_Allreduce (in-place float sum), %d ranks, median of %d blocks\n", size,
               BLOCKS);
        printf("%12s %14s %14s %14s %12s\n", "bytes", "libfpo_mpi us", "(best block)",
               "MPI itself us", "GB/s");
    }
    double small[8], small_b[8], t1m = 0, t16m = 0, b1m = 0, b16m = 0;
    int n_small = 0;
    for (size_t n = 1; n <= max_floats; n *= 4) {
        /* calibrate the block length on a few calls */
        double probe = time_calls(&c, 0, buf, n, 2, NULL);
        int calls = (int)fmax(1.0, fmin(1e5, budget / BLOCKS / fmax(probe, 1e-7)));
        MPI_Bcast(&calls, 1, MPI_INT, 0, MPI_COMM_WORLD);
        double bf, tf = time_calls(&c, 0, buf, n, calls, &bf);
        double tm = time_calls(&c, 1, buf, n, calls, NULL);
        size_t bytes = n * sizeof(float);
        if (rank == 0)
            printf("%12zu %14.2f %14.2f %14.2f %12.3f\n", bytes, 1e6 * tf, 1e6 * bf, 1e6 * tm,
                   bytes / tf / 1e9);
        if (bytes <= 64 && n_small < 8) {
            small_b[n_small] = bf;
            small[n_small++] = tf;
        }
        if (bytes == (size_t)1 << 20)
            t1m = tf, b1m = bf;
        if (bytes == (size_t)1 << 24)
            t16m = tf, b16m = bf;
        fflush(stdout);
    }
    if (rank == 0) {
        qsort(small, (size_t)n_small, sizeof small[0], cmp_double);
        qsort(small_b, (size_t)n_small, sizeof small_b[0], cmp_double);
        double span = (double)((1 << 24) - (1 << 20));
        double alpha = small[n_small / 2], beta = (t16m - t1m) / span;
        double alpha_b = small_b[n_small / 2], beta_b = (b16m - b1m) / span;
        printf("fit (medians):     alpha = %.2f us, beta = %.3f ns/byte (%.2f GB/s)\n",
               1e6 * alpha, 1e9 * beta, 1.0 / beta / 1e9);
        printf("fit (best blocks): alpha = %.2f us, beta = %.3f ns/byte (%.2f GB/s)\n",
               1e6 * alpha_b, 1e9 * beta_b, 1.0 / beta_b / 1e9);
    }
    free(buf);
    fpo_mpi_collective_destroy(&c);
    MPI_Finalize();
    return 0;
}
