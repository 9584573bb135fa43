/* fpo-train across processes (mpi_train.h). */
#include "mpi_train.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

double train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#ifdef FPO_TRAIN_MPI
#include <mpi.h>

#include <fpo/mpi.h>

static int rank_, ranks_ = 1;
static fpo_collective mpi_coll_;  /* libfpo_mpi's */
static fpo_collective timed_;     /* what the trainer gets: mpi_coll_ with timers */
static int have_coll_;
static double seconds_, bytes_;
static long calls_;

static int timed_f32(void *user, float *buf, size_t n)
{
    (void)user;
    double t0 = MPI_Wtime();
    int rc = mpi_coll_.allreduce_sum_f32(mpi_coll_.user, buf, n);
    seconds_ += MPI_Wtime() - t0;
    calls_++;
    bytes_ += (double)n * sizeof(float);
    return rc;
}

static int timed_f64(void *user, double *buf, size_t n)
{
    (void)user;
    double t0 = MPI_Wtime();
    int rc = mpi_coll_.allreduce_sum_f64(mpi_coll_.user, buf, n);
    seconds_ += MPI_Wtime() - t0;
    calls_++;
    bytes_ += (double)n * sizeof(double);
    return rc;
}

int train_mpi_init(int *argc, char ***argv)
{
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "fpo-train: MPI_Init_thread failed\n");
        return 1;
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &ranks_);
    if (ranks_ == 1)
        return 0; /* a singleton trains exactly like the program without MPI */
    if (provided < MPI_THREAD_FUNNELED && rank_ == 0)
        fprintf(stderr, "fpo-train: warning: MPI provides thread level %d < FUNNELED\n", provided);
    mpi_coll_.struct_size = sizeof mpi_coll_;
    if (fpo_mpi_collective_create(&mpi_coll_, MPI_COMM_WORLD) != 0) {
        fprintf(stderr, "fpo-train: rank %d: %s\n", rank_, fpo_mpi_last_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    have_coll_ = 1;
    timed_ = mpi_coll_;
    timed_.user = NULL;
    timed_.allreduce_sum_f32 = timed_f32;
    timed_.allreduce_sum_f64 = timed_f64;
    return 0;
}

void train_mpi_finish(void)
{
    if (have_coll_)
        fpo_mpi_collective_destroy(&mpi_coll_);
    MPI_Finalize();
}

const fpo_collective *train_collective(void) { return have_coll_ ? &timed_ : NULL; }

int train_all_ok(int ok)
{
    if (ranks_ == 1)
        return ok;
    int all = 0;
    MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all;
}

void train_abort_if_comm_failed(int rc)
{
    if (ranks_ > 1 && rc == FPO_ECALLBACK && fpo_mpi_last_errmsg()[0]) {
        fprintf(stderr, "fpo-train: rank %d: MPI failed (%s); aborting the job\n", rank_,
                fpo_mpi_last_errmsg());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
}

void train_mpi_report(double seconds)
{
    if (ranks_ == 1 || rank_ != 0)
        return;
    printf("MPI: %d ranks; rank 0 made %ld allreduce calls (%.1f MB) and spent %.2f s in them "
           "(%.1f%% of %.2f s of training, waiting for other ranks included)\n",
           ranks_, calls_, bytes_ / 1e6, seconds_, 100.0 * seconds_ / (seconds > 0 ? seconds : 1),
           seconds);
}

#else /* one process */

int train_mpi_init(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}
void train_mpi_finish(void) {}
const fpo_collective *train_collective(void) { return NULL; }
int train_all_ok(int ok) { return ok; }
void train_abort_if_comm_failed(int rc) { (void)rc; }
void train_mpi_report(double seconds) { (void)seconds; }

#endif

int train_rank(void)
{
#ifdef FPO_TRAIN_MPI
    return rank_;
#else
    return 0;
#endif
}

int train_ranks(void)
{
#ifdef FPO_TRAIN_MPI
    return ranks_;
#else
    return 1;
#endif
}
