/* libfpo: shared definitions for every public header.
 *
 * Conventions (see docs/design.md):
 *  - every function returns 0 (FPO_OK) or a negative FPO_E* code;
 *  - output parameters come first and are named out;
 *  - every struct begins with size_t struct_size, the caller's sizeof:
 *    configs get it from fpo_X_config_init(&cfg) (a macro that passes
 *    sizeof cfg); tables and output structs need it set by the caller, e.g.
 *    fpo_policy_info info = {sizeof info}; docs/abi.md has the rules;
 *  - the library never aborts, exits or prints. */
#ifndef FPO_COMMON_H
#define FPO_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "fpo/version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(FPO_BUILDING_DLL)
#define FPO_API __declspec(dllexport)
#elif defined(_WIN32) && defined(FPO_DLL)
#define FPO_API __declspec(dllimport)
#elif defined(__GNUC__) || defined(__clang__)
#define FPO_API __attribute__((visibility("default")))
#else
#define FPO_API
#endif

/* Error codes. Values are permanent: never renumbered, only appended. */
enum {
    FPO_OK = 0,
    FPO_EINVAL = -1,      /* an argument is NULL, malformed or inconsistent   */
    FPO_ENOMEM = -2,      /* an allocation failed                             */
    FPO_ERANGE = -3,      /* a number is outside its documented bounds        */
    FPO_ESIZE = -4,       /* a size or dimension does not match the handle    */
    FPO_ENONFINITE = -5,  /* NaN or Inf in an input, a callback output or loss*/
    FPO_ECALLBACK = -6,   /* a host callback returned an error                */
    FPO_EIO = -7,         /* reading or writing a file failed                 */
    FPO_EFORMAT = -8,     /* bytes are not a valid libfpo checkpoint          */
    FPO_EVERSION = -9,    /* a checkpoint or table version is not supported   */
    FPO_ESTATE = -10,     /* call made in the wrong order / state             */
    FPO_EMISMATCH = -11,  /* two handles or a checkpoint do not fit together  */
    FPO_EDIVERGED = -12,  /* an update produced non-finite values; rolled back*/
    FPO_EUNSUPPORTED = -13, /* valid request this build or object cannot do   */
    FPO_ETHREAD = -14,    /* creating or joining a worker thread failed       */
    FPO_EKEY = -15,       /* an unknown tunable key                           */
    FPO_EREMOTE = -16     /* the same collective call failed on another rank  */
};

/* A short, static, English description of an error code. Never NULL. */
FPO_API const char *fpo_strerror(int code);

/* The message of the last failure, on the calling thread, of a call that has
 * no handle to keep it: every fpo_*_create, fpo_*_config_init_sized,
 * fpo_policy_clone and fpo_policy_load*, and every call on a const handle
 * (getters such as fpo_policy_get_info: writing the handle would race with
 * other threads reading it). "" if none. Valid until the next such failure on
 * this thread. */
FPO_API const char *fpo_last_errmsg(void);

/* FPO_VERSION of the library actually linked (compare with the header's). */
FPO_API unsigned fpo_version(void);
/* "MAJOR.MINOR.PATCH" of the library actually linked. */
FPO_API const char *fpo_version_string(void);

/* Optional allocator, per handle. alloc must return memory aligned to at
 * least align (a power of two <= 4096) or NULL; free must accept NULL.
 * All functions are called from the thread calling into the handle. */
/* struct_size = sizeof(fpo_allocator) (docs/abi.md). */
typedef struct fpo_allocator {
    size_t struct_size;
    void *(*alloc)(void *user, size_t size, size_t align);
    void (*free)(void *user, void *ptr);
    void *user;
} fpo_allocator;

/* Hidden-layer activation functions. Values are permanent. */
typedef enum fpo_activation {
    FPO_ACT_SILU = 0,
    FPO_ACT_RELU = 1,
    FPO_ACT_TANH = 2
} fpo_activation;

/* Bits an environment step reports (env.h) and a buffer stores (buffer.h). */
#define FPO_STEP_TERMINATED 1u /* terminal state: the value after it is zero */
#define FPO_STEP_TRUNCATED 2u  /* time limit or similar: bootstrap from obs */
/* Optional: the task's goal was reached. May be set on any step of an
 * episode, with or without the bits above; an episode in which any step set
 * it counts once in fpo_episode_stats.successes. It neither ends the
 * episode nor enters the update (returns and GAE ignore it). */
#define FPO_STEP_SUCCESS 4u

/* Largest number of hidden layers any network may have. Frozen for ABI 1: it
 * sizes arrays in the middle of fpo_policy_config (docs/abi.md). */
#define FPO_MAX_LAYERS 8

#ifdef __cplusplus
}
#endif

#endif
