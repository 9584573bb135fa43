/* libfpo: data-parallel training across processes, through a host-supplied
 * collective.
 *
 * libfpo itself never talks to a network or to MPI. A host that trains on
 * several processes ("ranks") hands the optimizer or the trainer a
 * function table that sums arrays over all ranks (MPI_Allreduce with
 * MPI_SUM, NCCL, a shared-memory barrier, ...); libfpo_mpi (fpo/mpi.h,
 * built with meson -Dmpi=enabled) provides one for MPI. With it:
 *
 *  - every rank steps its own num_envs environments and keeps its own
 *    rollouts; environment i of rank r is the global environment
 *    (num_envs of ranks 0..r-1) + i, and its episode seeds, rollout noise
 *    and (t, eps) pairs depend only on that global index, so a run on
 *    2 ranks x B environments computes what 1 rank x 2B would, up to the
 *    order of floating-point sums;
 *  - observation statistics are merged over ranks (exact parallel Welford,
 *    in rank order), minibatches are drawn from the global transitions,
 *    advantages normalized with global statistics, and the gradient of
 *    every minibatch is summed over ranks before clipping, the divergence
 *    guard and Adam, so every rank holds bit-identical parameters;
 *  - the statistics the optimizer and trainer report are global.
 *
 * Every create, update, iterate and run call of a handle with a collective
 * is a collective operation: all ranks must make the same calls in the same
 * order, with the same configuration (seeds included; num_envs may differ).
 * Failures that depend on data (an environment error or NaN on one rank,
 * a non-finite value in an update) are agreed on: every rank returns an
 * error from the same call (FPO_EREMOTE on the ranks where nothing failed)
 * and the handles stay usable. Argument errors (NULL pointers, bad sizes)
 * are reported on the rank that made them only; the others then wait in the
 * next collective, so a host should end the job when a call fails with
 * anything but FPO_EREMOTE or the agreed error (MPI_Abort).
 *
 * Threads: the callbacks are called only on the thread that called into
 * the libfpo handle, never on libfpo's worker threads (MPI_THREAD_FUNNELED
 * is enough when that is the main thread). */
#ifndef FPO_COLLECTIVE_H
#define FPO_COLLECTIVE_H

#include "fpo/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Current version of the table layout; older versions keep working. */
#define FPO_COLLECTIVE_VERSION 1

/* The function table. libfpo copies it when a handle is created; user must
 * stay valid while the handle lives. Both callbacks are required.
 *
 * allreduce_sum_*: replace buf[0..n) on every rank by its elementwise sum
 * over all ranks, and return 0, or non-zero on failure (reported as
 * FPO_ECALLBACK). The result must be bit-identical on every rank, which
 * MPI_Allreduce(MPI_IN_PLACE, ..., MPI_SUM) gives in Open MPI and MPICH;
 * libfpo checks a fingerprint of the parameters after every update and
 * fails with FPO_EMISMATCH if the ranks ever disagree. libfpo also uses the
 * sums as an exact all-gather (each rank fills its own slot of a zeroed
 * array). With size == 1 the callbacks are still called and may do
 * nothing. */
/* A table the host fills: struct_size = sizeof table, version = FPO_COLLECTIVE_VERSION of
 * the headers it is built against (docs/abi.md). */
typedef struct fpo_collective {
    size_t struct_size;
    int version; /* FPO_COLLECTIVE_VERSION the host was written for */
    int rank;    /* this process, 0 <= rank < size */
    int size;    /* number of processes, 1 to 2^24 */
    void *user;  /* passed to every callback */
    int (*allreduce_sum_f32)(void *user, float *buf, size_t n);
    int (*allreduce_sum_f64)(void *user, double *buf, size_t n);
} fpo_collective;

#ifdef __cplusplus
}
#endif

#endif
