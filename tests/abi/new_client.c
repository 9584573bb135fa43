/* A program built against the current headers: its fpo_X_config_init calls
 * are the sized inits of LIBFPO_1.1. tests/abi/check_compat.sh runs it on the
 * current library (it works) and on a library of the first ABI, whose only
 * version node is LIBFPO_1 (the dynamic loader refuses to start it, naming
 * the missing node: the new-binary / old-library case). */
#include <stdio.h>

#include <fpo/fpo.h>

int main(void)
{
    fpo_policy_config pc;
    int rc = fpo_policy_config_init(&pc);
    pc.obs_dim = 2;
    pc.act_dim = 1;
    fpo_policy *p = NULL;
    if (!rc)
        rc = fpo_policy_create(&p, &pc);
    if (rc) {
        fprintf(stderr, "new_client: %s: %s\n", fpo_strerror(rc), fpo_last_errmsg());
        return 1;
    }
    fpo_policy_destroy(p);
    printf("new_client: built against libfpo %s headers, ran on libfpo %s, %d tunable keys: ok\n",
           FPO_VERSION_STRING, fpo_version_string(), fpo_optimizer_key_count());
    return 0;
}
