/* Internal: per-handle last-error messages. */
#ifndef FPO_INTERNAL_ERROR_H
#define FPO_INTERNAL_ERROR_H

#include "fpo/common.h"

#define FPO_ERRMSG_LEN 256

/* Embedded in every handle. Writing it is the only side effect of a failed
 * call besides the return code. */
typedef struct fpo_errbuf {
    char msg[FPO_ERRMSG_LEN];
} fpo_errbuf;

#if defined(__GNUC__)
#define FPO_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define FPO_PRINTF(a, b)
#endif

/* Format a message into e and return code, so callers can write
 *   return fpo_fail(&h->err, FPO_EINVAL, "obs_dim must be > 0, got %d", d);
 * e == NULL (no handle yet: creates, loads) writes the calling thread's
 * buffer that fpo_last_errmsg() returns. */
int fpo_fail(fpo_errbuf *e, int code, const char *fmt, ...) FPO_PRINTF(3, 4);
static inline void fpo_err_clear(fpo_errbuf *e) { if (e) e->msg[0] = '\0'; }
static inline const char *fpo_err_get(const fpo_errbuf *e) { return e ? e->msg : ""; }

#endif
