/* Observation statistics (obsstats.h). */
#include "obsstats.h"

#include <math.h>
#include <string.h>

#include "coll.h"
#include "fpo/common.h"
#include "util.h"

int fpo_obsstats_init(fpo_obsstats *s, const fpo_mem *mem, int dim, int enabled, float clip)
{
    size_t d = (size_t)dim;
    memset(s, 0, sizeof *s);
    s->dim = dim;
    s->enabled = enabled;
    s->clip = clip;
    s->mean = fpo_mem_calloc(mem, d, sizeof(double));
    s->m2 = fpo_mem_calloc(mem, d, sizeof(double));
    s->pmean = fpo_mem_calloc(mem, d, sizeof(double));
    s->pm2 = fpo_mem_calloc(mem, d, sizeof(double));
    s->norm_mean = fpo_mem_calloc(mem, d, sizeof(float));
    s->norm_inv_std = fpo_mem_calloc(mem, d, sizeof(float));
    if (!s->mean || !s->m2 || !s->pmean || !s->pm2 || !s->norm_mean || !s->norm_inv_std)
        return FPO_ENOMEM;
    fpo_obsstats_refresh(s);
    return FPO_OK;
}

void fpo_obsstats_free(fpo_obsstats *s, const fpo_mem *mem)
{
    fpo_mem_free(mem, s->mean);
    fpo_mem_free(mem, s->m2);
    fpo_mem_free(mem, s->pmean);
    fpo_mem_free(mem, s->pm2);
    fpo_mem_free(mem, s->norm_mean);
    fpo_mem_free(mem, s->norm_inv_std);
    memset(s, 0, sizeof *s);
}

static void refresh_norm(fpo_obsstats *s)
{
    for (int i = 0; i < s->dim; i++) {
        double var = s->count > 0 ? s->m2[i] / (double)s->count : 1.0;
        s->norm_mean[i] = s->count > 0 ? (float)s->mean[i] : 0.0f;
        s->norm_inv_std[i] = (float)(1.0 / sqrt(var + 1e-8));
    }
}

void fpo_obsstats_copy(fpo_obsstats *dst, const fpo_obsstats *src)
{
    size_t d = (size_t)src->dim;
    memcpy(dst->mean, src->mean, d * sizeof(double));
    memcpy(dst->m2, src->m2, d * sizeof(double));
    memcpy(dst->pmean, src->pmean, d * sizeof(double));
    memcpy(dst->pm2, src->pm2, d * sizeof(double));
    dst->count = src->count;
    dst->pcount = src->pcount;
    refresh_norm(dst);
}

/* Chan et al.'s parallel merge of (n_b, mean_b, m2_b) into (n_a, mean_a, m2_a). */
static void chan_merge(double *mean_a, double *m2_a, int64_t n_a, const double *mean_b,
                       const double *m2_b, int64_t n_b, int d)
{
    double n = (double)(n_a + n_b);
    for (int i = 0; i < d; i++) {
        double delta = mean_b[i] - mean_a[i];
        mean_a[i] += delta * (double)n_b / n;
        m2_a[i] += m2_b[i] + delta * delta * (double)n_a * (double)n_b / n;
    }
}

size_t fpo_obsstats_accumulate(fpo_obsstats *s, const float *obs, int n)
{
    int d = s->dim;
    size_t total = (size_t)n * (size_t)d;
    size_t bad = fpo_first_nonfinite(obs, total);
    if (bad < total)
        return bad;
    /* Welford within the batch, exact in double, then merged at commit. */
    for (int r = 0; r < n; r++) {
        const float *o = obs + (size_t)r * (size_t)d;
        s->pcount++;
        double inv = 1.0 / (double)s->pcount;
        for (int i = 0; i < d; i++) {
            double delta = (double)o[i] - s->pmean[i];
            s->pmean[i] += delta * inv;
            s->pm2[i] += delta * ((double)o[i] - s->pmean[i]);
        }
    }
    return total;
}

void fpo_obsstats_commit(fpo_obsstats *s)
{
    if (s->pcount == 0 || !s->enabled) {
        s->pcount = 0;
        return;
    }
    int d = s->dim;
    chan_merge(s->mean, s->m2, s->count, s->pmean, s->pm2, s->pcount, d);
    s->count += s->pcount;
    s->pcount = 0;
    memset(s->pmean, 0, (size_t)d * sizeof(double));
    memset(s->pm2, 0, (size_t)d * sizeof(double));
    refresh_norm(s);
}

void fpo_obsstats_pending_export(const fpo_obsstats *s, double *out)
{
    size_t d = (size_t)s->dim;
    out[0] = (double)s->pcount;
    memcpy(out + 1, s->pmean, d * sizeof(double));
    memcpy(out + 1 + d, s->pm2, d * sizeof(double));
}

void fpo_obsstats_pending_merge(fpo_obsstats *s, const double *blocks, int n, size_t stride)
{
    int d = s->dim;
    int64_t count = 0;
    memset(s->pmean, 0, (size_t)d * sizeof(double));
    memset(s->pm2, 0, (size_t)d * sizeof(double));
    for (int k = 0; k < n; k++) {
        const double *b = blocks + (size_t)k * stride;
        int64_t nb = (int64_t)b[0];
        if (nb <= 0)
            continue;
        if (count == 0) {
            memcpy(s->pmean, b + 1, (size_t)d * sizeof(double));
            memcpy(s->pm2, b + 1 + d, (size_t)d * sizeof(double));
        } else {
            chan_merge(s->pmean, s->pm2, count, b + 1, b + 1 + d, nb, d);
        }
        count += nb;
    }
    s->pcount = count;
}

void fpo_obsstats_save(const fpo_obsstats *s, fpo_obsstats_snap *out)
{
    size_t d = (size_t)s->dim;
    memcpy(out->mean, s->mean, d * sizeof(double));
    memcpy(out->m2, s->m2, d * sizeof(double));
    out->count = s->count;
}

void fpo_obsstats_refresh(fpo_obsstats *s)
{
    size_t d = (size_t)s->dim;
    s->pcount = 0;
    memset(s->pmean, 0, d * sizeof(double));
    memset(s->pm2, 0, d * sizeof(double));
    refresh_norm(s);
}

void fpo_obsstats_restore(fpo_obsstats *s, const fpo_obsstats_snap *in)
{
    size_t d = (size_t)s->dim;
    if (in->mean != s->mean)
        memcpy(s->mean, in->mean, d * sizeof(double));
    if (in->m2 != s->m2)
        memcpy(s->m2, in->m2, d * sizeof(double));
    s->count = in->count;
    fpo_obsstats_refresh(s);
}

int fpo_obsstats_normalize(const fpo_obsstats *s, const float *obs, int n, float *out,
                           int stride)
{
    int d = s->dim;
    if (!fpo_all_finite(obs, (size_t)n * (size_t)d))
        return FPO_ENONFINITE;
    const float *mu = s->norm_mean, *is = s->norm_inv_std;
    float c = s->clip;
    for (int r = 0; r < n; r++) {
        const float *o = obs + (size_t)r * (size_t)d;
        float *y = out + (size_t)r * (size_t)stride;
        if (s->enabled) {
            for (int i = 0; i < d; i++) {
                float v = (o[i] - mu[i]) * is[i];
                y[i] = v < -c ? -c : (v > c ? c : v);
            }
        } else {
            memcpy(y, o, (size_t)d * sizeof(float));
        }
    }
    return FPO_OK;
}

uint32_t fpo_obsstats_fingerprint(const fpo_obsstats *s, uint32_t h)
{
    size_t d = (size_t)s->dim;
    h = fpo_fingerprint(h, s->mean, d * sizeof(double));
    h = fpo_fingerprint(h, s->m2, d * sizeof(double));
    return fpo_fingerprint(h, &s->count, sizeof s->count);
}
