#include "error.h"

#include <stdarg.h>
#include <stdio.h>

#include "fpo/version.h"

/* Messages of failures that have no handle to hold them (creates, loads). */
static _Thread_local fpo_errbuf thread_err;

const char *fpo_last_errmsg(void)
{
    return thread_err.msg;
}

int fpo_fail(fpo_errbuf *e, int code, const char *fmt, ...)
{
    if (!e)
        e = &thread_err;
    {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *fpo_strerror(int code)
{
    switch (code) {
    case FPO_OK: return "success";
    case FPO_EINVAL: return "invalid argument";
    case FPO_ENOMEM: return "out of memory";
    case FPO_ERANGE: return "value out of range";
    case FPO_ESIZE: return "size or dimension mismatch";
    case FPO_ENONFINITE: return "non-finite value (NaN or Inf)";
    case FPO_ECALLBACK: return "host callback failed";
    case FPO_EIO: return "input/output error";
    case FPO_EFORMAT: return "invalid checkpoint format";
    case FPO_EVERSION: return "unsupported version";
    case FPO_ESTATE: return "call not valid in the current state";
    case FPO_EMISMATCH: return "handles or checkpoint do not match";
    case FPO_EDIVERGED: return "update diverged and was rolled back";
    case FPO_EUNSUPPORTED: return "unsupported operation";
    case FPO_ETHREAD: return "thread creation failed";
    case FPO_EKEY: return "unknown key";
    case FPO_EREMOTE: return "failed on another rank";
    default: return "unknown error code";
    }
}

unsigned fpo_version(void) { return FPO_VERSION; }
const char *fpo_version_string(void) { return FPO_VERSION_STRING; }
