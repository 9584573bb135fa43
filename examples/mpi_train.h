/* fpo-train across processes. Built with meson -Dmpi=enabled, fpo-train
 * initializes MPI itself (mpirun -np N fpo-train ..., or alone as a
 * singleton), trains one rank per process through libfpo_mpi's collective
 * and agrees with the other ranks on failures before training starts.
 * Without MPI every function here is a no-op for rank 0 of 1. */
#ifndef FPO_EXAMPLES_MPI_TRAIN_H
#define FPO_EXAMPLES_MPI_TRAIN_H

#include <fpo/fpo.h>

/* MPI_Init_thread (FUNNELED) and, with more than one rank, the collective;
 * 0 or non-zero after printing why. */
int train_mpi_init(int *argc, char ***argv);
/* Free the collective and MPI_Finalize. */
void train_mpi_finish(void);
int train_rank(void);
int train_ranks(void);
/* The collective for fpo_trainer_config (NULL with one rank). */
const fpo_collective *train_collective(void);
/* Every rank calls it at the same point: non-zero iff ok on all ranks. */
int train_all_ok(int ok);
/* After a failed libfpo call: if the failure came from MPI itself (other
 * ranks may be blocked in a collective), print it and MPI_Abort the job. */
void train_abort_if_comm_failed(int rc);
/* Monotonic clock, seconds. */
double train_now(void);
/* Rank 0: allreduce calls, bytes and time over a training of `seconds`. */
void train_mpi_report(double seconds);

#endif
