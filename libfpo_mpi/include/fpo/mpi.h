/* libfpo_mpi: the collective of fpo/collective.h over MPI.
 *
 * A separate library (libfpo_mpi.so, pkg-config fpo-mpi), built only with
 * meson -Dmpi=enabled; libfpo itself never links or includes MPI. Typical
 * use, on every rank:
 *
 *   MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
 *   fpo_collective coll = {sizeof coll};
 *   if (fpo_mpi_collective_create(&coll, MPI_COMM_WORLD) != 0) ...
 *   fpo_trainer_config tc; fpo_trainer_config_init(&tc);
 *   tc.num_envs = 64;           // this rank's environments
 *   tc.collective = &coll;      // same seed and settings on every rank
 *   fpo_trainer_create(&t, &tc); fpo_trainer_run(t, steps);   // all ranks
 *   if (coll.rank == 0) fpo_policy_save(fpo_trainer_policy(t), "policy.fpo");
 *   fpo_trainer_destroy(t);
 *   fpo_mpi_collective_destroy(&coll);
 *   MPI_Finalize();
 *
 * The callbacks are called on the thread that calls into libfpo (never on
 * libfpo's worker threads), so MPI_THREAD_FUNNELED suffices when that is the
 * thread that initialized MPI; MPI_THREAD_SERIALIZED otherwise. */
#ifndef FPO_MPI_H
#define FPO_MPI_H

#include <mpi.h>

#include "fpo/collective.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ABI major of libfpo_mpi: its soversion and version-script node
 * (LIBFPO_MPI_<FPO_MPI_ABI_MAJOR>); independent of FPO_ABI_MAJOR. */
#define FPO_MPI_ABI_MAJOR 1

#if defined(__GNUC__) || defined(__clang__)
#define FPO_MPI_API __attribute__((visibility("default")))
#else
#define FPO_MPI_API
#endif

/* Make a collective over comm: out->rank and out->size are this process's
 * rank in comm and comm's size; the callbacks run MPI_Allreduce(MPI_IN_PLACE,
 * ..., MPI_SUM) on a private duplicate of comm (so libfpo's traffic never
 * matches the program's own messages) whose error handler returns errors
 * instead of aborting. A collective call over comm: every rank of comm must
 * make it. The caller sets out->struct_size first (fpo_collective c =
 * {sizeof c}); members beyond it are not written.
 * Returns 0, or FPO_EINVAL (out NULL, struct_size too small, comm is
 * MPI_COMM_NULL), FPO_ESTATE (MPI not initialized, or finalized),
 * FPO_ENOMEM, FPO_ECALLBACK (an MPI call failed); fpo_mpi_last_errmsg() says
 * why. On failure *out is unchanged. */
FPO_MPI_API int fpo_mpi_collective_create(fpo_collective *out, MPI_Comm comm);

/* Free what fpo_mpi_collective_create made (MPI_Comm_free of the duplicate:
 * call it on every rank, after destroying the libfpo handles that use it and
 * before MPI_Finalize; after MPI_Finalize only the memory is freed). Clears
 * the callbacks. Accepts NULL and tables it did not make or already freed. */
FPO_MPI_API void fpo_mpi_collective_destroy(fpo_collective *c);

/* The message of the last failure, on the calling thread, of
 * fpo_mpi_collective_create or of a callback (an allreduce that MPI failed,
 * with MPI's error string); "" if none. libfpo reports a failed callback as
 * FPO_ECALLBACK in the handle's message; this has MPI's side. */
FPO_MPI_API const char *fpo_mpi_last_errmsg(void);

#ifdef __cplusplus
}
#endif

#endif
