/* libFuzzer target for the policy checkpoint parser (fpo_policy_load_mem).
 *
 * Each input is tried twice: as given (almost always stopped by the CRC-32)
 * and with its last four bytes replaced by the CRC of the rest, so that
 * mutations reach the header and array parsing behind the checksum. A load
 * must either fail with FPO_EFORMAT, FPO_EVERSION or FPO_ENOMEM and leave
 * *out NULL, or succeed with a policy whose saved form is a fixed point of
 * load/save and that acts without letting a NaN out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fpo/fpo.h"

static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int b = 0; b < 8; b++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void check_loaded(fpo_policy *p, const uint8_t *data, size_t size)
{
    size_t n = 0;
    if (fpo_policy_save_mem(p, NULL, 0, &n) != FPO_OK || n != size)
        abort();
    /* The format has a little slack (widths past the layer count, the
     * writer's version), so the bytes need not come back identical; but the
     * saved form must be a fixed point: it loads, and saves to itself. */
    uint8_t *again = malloc(n), *third = malloc(n);
    fpo_policy *q = NULL;
    if (!again || !third || fpo_policy_save_mem(p, again, n, &n) != FPO_OK ||
        fpo_policy_load_mem(&q, again, n, NULL) != FPO_OK ||
        fpo_policy_save_mem(q, third, n, &n) != FPO_OK || memcmp(again, third, n) != 0)
        abort();
    fpo_policy_destroy(q);
    free(again);
    free(third);
    fpo_policy_info info = {sizeof info};
    if (fpo_policy_get_info(p, &info) != FPO_OK)
        abort();
    if (info.obs_dim > 256 || info.act_dim > 64 || info.actor_params + info.critic_params > 200000)
        return; /* acting on big networks is slow, not interesting */
    fpo_sampler_config sc;
    fpo_sampler_config_init(&sc);
    sc.steps = 2;
    fpo_sampler *s;
    if (fpo_sampler_create(&s, p, &sc) != FPO_OK)
        return;
    float *obs = calloc((size_t)info.obs_dim, sizeof(float));
    float *act = calloc((size_t)info.act_dim, sizeof(float));
    float v;
    if (obs && act) {
        int rc = fpo_sampler_act(s, p, obs, 1, act, NULL);
        if (rc != FPO_OK && rc != FPO_ENONFINITE)
            abort();
        for (int i = 0; rc == FPO_OK && i < info.act_dim; i++)
            if (!(act[i] == act[i])) /* NaN escaped the finiteness check */
                abort();
        /* finite but huge weights can overflow: that must be reported */
        rc = fpo_sampler_value(s, p, obs, 1, &v);
        if ((rc != FPO_OK && rc != FPO_ENONFINITE) || (rc == FPO_OK && !(v - v == 0.0f)))
            abort();
    }
    free(obs);
    free(act);
    fpo_sampler_destroy(s);
}

static void one(const uint8_t *data, size_t size)
{
    fpo_policy *p = (fpo_policy *)&p; /* poison: must become NULL on failure */
    int rc = fpo_policy_load_mem(&p, data, size, NULL);
    if (rc == FPO_OK) {
        if (!p)
            abort();
        check_loaded(p, data, size);
        fpo_policy_destroy(p);
        return;
    }
    if (p != NULL || (rc != FPO_EFORMAT && rc != FPO_EVERSION && rc != FPO_ENOMEM))
        abort();
    if (fpo_last_errmsg()[0] == '\0')
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    one(data, size);
    if (size >= 20) {
        uint8_t *c = malloc(size);
        if (!c)
            return 0;
        memcpy(c, data, size);
        uint32_t crc = crc32_ieee(c, size - 4);
        c[size - 4] = (uint8_t)crc;
        c[size - 3] = (uint8_t)(crc >> 8);
        c[size - 2] = (uint8_t)(crc >> 16);
        c[size - 1] = (uint8_t)(crc >> 24);
        one(c, size);
        free(c);
    }
    return 0;
}
