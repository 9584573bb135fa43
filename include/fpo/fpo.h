/* libfpo umbrella header: include this one.
 *
 * Handles: fpo_policy (policy.h), fpo_sampler (sampler.h), fpo_buffer
 * (buffer.h), fpo_optimizer (optimizer.h), fpo_vecenv with the host
 * environment table (env.h), and fpo_trainer (trainer.h), the loop that
 * ties them together; pretraining on recorded data (pretrain.h). Errors and allocators: common.h. Training across
 * processes: collective.h (and fpo/mpi.h from libfpo_mpi). */
#ifndef FPO_FPO_H
#define FPO_FPO_H

#include "fpo/version.h"
#include "fpo/common.h"
#include "fpo/collective.h"
#include "fpo/policy.h"
#include "fpo/sampler.h"
#include "fpo/buffer.h"
#include "fpo/optimizer.h"
#include "fpo/env.h"
#include "fpo/trainer.h"
#include "fpo/export.h"
#include "fpo/pretrain.h"

#endif
