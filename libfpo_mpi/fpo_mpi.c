/* libfpo_mpi: fpo_collective over MPI_Allreduce (fpo/mpi.h). */
#include "fpo/mpi.h"

#include <limits.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STATE_MAGIC 0x66706f6d7069ull /* "fpompi" */

/* What a collective's user pointer holds. */
typedef struct mpi_state {
    uint64_t magic;
    MPI_Comm comm; /* private duplicate of the program's communicator */
} mpi_state;

static _Thread_local char last_err[256];

const char *fpo_mpi_last_errmsg(void)
{
    return last_err;
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_err, sizeof last_err, fmt, ap);
    va_end(ap);
    return code;
}

/* "MPI_Allreduce: MPI_ERR_...: text" for an MPI return code. */
static int mpi_fail(int code, int rc, const char *what)
{
    char text[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        snprintf(text, sizeof text, "MPI error %d", rc);
    return fail(code, "%s failed: %s", what, text);
}

/* In-place sum in pieces of at most INT_MAX elements (MPI counts are int).
 * Returns 0 or the MPI error code (never 0 on failure). */
static int allreduce(void *user, void *buf, size_t n, MPI_Datatype type, size_t elem)
{
    mpi_state *s = user;
    if (!s || s->magic != STATE_MAGIC || (!buf && n)) {
        fail(-1, "allreduce: not a collective made by fpo_mpi_collective_create");
        return -1;
    }
    char *p = buf;
    while (n > 0) {
        int count = n > (size_t)INT_MAX ? INT_MAX : (int)n;
        int rc = MPI_Allreduce(MPI_IN_PLACE, p, count, type, MPI_SUM, s->comm);
        if (rc != MPI_SUCCESS) {
            mpi_fail(-1, rc, "MPI_Allreduce");
            return rc;
        }
        p += (size_t)count * elem;
        n -= (size_t)count;
    }
    return 0;
}

static int sum_f32(void *user, float *buf, size_t n)
{
    return allreduce(user, buf, n, MPI_FLOAT, sizeof(float));
}

static int sum_f64(void *user, double *buf, size_t n)
{
    return allreduce(user, buf, n, MPI_DOUBLE, sizeof(double));
}

int fpo_mpi_collective_create(fpo_collective *out, MPI_Comm comm)
{
    if (!out)
        return fail(FPO_EINVAL, "fpo_mpi_collective_create: out is NULL");
    /* Version 1 of the table is the smallest that holds every member. */
    if (out->struct_size < offsetof(fpo_collective, allreduce_sum_f64) + sizeof(void (*)(void)))
        return fail(FPO_EINVAL,
                    "fpo_mpi_collective_create: out->struct_size %zu is too small; set it to "
                    "sizeof(fpo_collective)",
                    out->struct_size);
    if (comm == MPI_COMM_NULL)
        return fail(FPO_EINVAL, "fpo_mpi_collective_create: comm is MPI_COMM_NULL");
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (!init || fin)
        return fail(FPO_ESTATE, "fpo_mpi_collective_create: MPI is %s",
                    fin ? "already finalized" : "not initialized (call MPI_Init first)");
    mpi_state *s = calloc(1, sizeof *s);
    if (!s)
        return fail(FPO_ENOMEM, "fpo_mpi_collective_create: out of memory");
    s->magic = STATE_MAGIC;
    int rank = 0, size = 0, rc;
    if ((rc = MPI_Comm_dup(comm, &s->comm)) != MPI_SUCCESS) {
        free(s);
        return mpi_fail(FPO_ECALLBACK, rc, "MPI_Comm_dup");
    }
    if ((rc = MPI_Comm_set_errhandler(s->comm, MPI_ERRORS_RETURN)) != MPI_SUCCESS ||
        (rc = MPI_Comm_rank(s->comm, &rank)) != MPI_SUCCESS ||
        (rc = MPI_Comm_size(s->comm, &size)) != MPI_SUCCESS) {
        MPI_Comm_free(&s->comm);
        free(s);
        return mpi_fail(FPO_ECALLBACK, rc, "querying the communicator");
    }
    fpo_collective c;
    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    c.version = FPO_COLLECTIVE_VERSION;
    c.rank = rank;
    c.size = size;
    c.user = s;
    c.allreduce_sum_f32 = sum_f32;
    c.allreduce_sum_f64 = sum_f64;
    size_t n = out->struct_size < sizeof c ? out->struct_size : sizeof c;
    memcpy((char *)out + sizeof(size_t), (char *)&c + sizeof(size_t), n - sizeof(size_t));
    last_err[0] = '\0';
    return FPO_OK;
}

void fpo_mpi_collective_destroy(fpo_collective *c)
{
    if (!c || c->struct_size < offsetof(fpo_collective, allreduce_sum_f64) + sizeof(void (*)(void)) ||
        c->allreduce_sum_f32 != sum_f32)
        return;
    mpi_state *s = c->user;
    if (s && s->magic == STATE_MAGIC) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin)
            MPI_Comm_free(&s->comm);
        s->magic = 0;
        free(s);
    }
    c->user = NULL;
    c->allreduce_sum_f32 = NULL;
    c->allreduce_sum_f64 = NULL;
}
