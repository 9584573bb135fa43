/* Internal: the trainer's exchanges over ranks (fpo/collective.h), kept in
 * exchange.c next to the optimizer's (declared in optimizer_impl.h, which
 * needs the optimizer's struct). Each takes the trainer's collective and
 * its exchange buffer of fpo_xchg_trainer_doubles() doubles, allocated
 * before the first collective call. Without a collective each is a no-op
 * that returns the local outcome, so trainer.c makes no collective call of
 * its own and reads the same with and without other ranks. */
#ifndef FPO_INTERNAL_EXCHANGE_H
#define FPO_INTERNAL_EXCHANGE_H

#include <stddef.h>
#include <stdint.h>

#include "fpo/trainer.h"
#include "coll.h"

/* Doubles of exchange buffer the trainer's exchanges need: per rank a status,
 * six episode statistics and its environment steps; the handshake's and the
 * agreement's scratch. */
size_t fpo_xchg_trainer_doubles(const fpo_coll *c);

/* fpo_trainer_create: the handshake (every rank's num_envs, horizon and
 * settings fingerprint; the layout of the environments over ranks), then
 * the agreement on the outcome of the whole create and on the parameters
 * every rank starts from (fingerprint: ignored when local_rc != 0).
 * Messages go to the thread's buffer (fpo_last_errmsg). */
int fpo_xchg_trainer_handshake(const fpo_coll *c, double *xb, int num_envs, int horizon,
                               uint32_t fingerprint, fpo_layout *out);
int fpo_xchg_trainer_agree(const fpo_coll *c, double *xb, int local_rc, uint32_t fingerprint);

/* After a rollout: every rank's outcome (local_rc), episode statistics and
 * environment steps in one exchange; *ep (this rank's, taken from the
 * environments) becomes the statistics of all ranks, merged in rank order,
 * and *env_steps the sum over ranks. Returns local_rc, or FPO_EREMOTE if
 * another rank failed, or FPO_ECALLBACK. */
int fpo_xchg_episode_stats(const fpo_coll *c, fpo_errbuf *err, double *xb, int local_rc,
                           fpo_episode_stats *ep, int64_t *env_steps);

/* fpo_trainer_run: *stop becomes 1 on every rank if any rank's progress
 * callback asked to stop. */
int fpo_xchg_stop_request(const fpo_coll *c, fpo_errbuf *err, double *xb, int *stop);

#endif
