/* fpo-export: write a saved policy as one dependency-free C file.
 *
 *   fpo-export POLICY --out NAME [--sampler euler|heun|midpoint] [--steps K]
 *              [--deterministic] [--name IDENT]
 *
 * writes NAME.h and NAME.c (fpo_policy_export_c, fpo/export.h). The
 * sampler and steps default to the settings saved with the policy;
 * --deterministic makes act ignore its noise argument. --name sets the
 * identifier prefix when the last component of NAME is not a C identifier. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fpo/fpo.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: fpo-export POLICY --out NAME [--sampler euler|heun|midpoint] "
               "[--steps K] [--deterministic] [--name IDENT]\n"
               "Writes NAME.h and NAME.c: the policy's actor as C99 with no dependencies\n"
               "(docs/embedding.md, \"Deploying without libfpo\").\n");
}

int main(int argc, char **argv)
{
    const char *policy_path = NULL, *out = NULL;
    fpo_export_config cfg;
    if (fpo_export_config_init(&cfg) != FPO_OK) {
        fprintf(stderr, "fpo-export: %s\n", fpo_last_errmsg());
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_value = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--out") && has_value) {
            out = argv[++i];
        } else if (!strcmp(a, "--name") && has_value) {
            cfg.name = argv[++i];
        } else if (!strcmp(a, "--sampler") && has_value) {
            const char *s = argv[++i];
            if (!strcmp(s, "euler"))
                cfg.integrator = FPO_INTEGRATOR_EULER;
            else if (!strcmp(s, "heun"))
                cfg.integrator = FPO_INTEGRATOR_HEUN;
            else if (!strcmp(s, "midpoint"))
                cfg.integrator = FPO_INTEGRATOR_MIDPOINT;
            else {
                fprintf(stderr, "fpo-export: --sampler must be euler, heun or midpoint, got %s\n", s);
                return 2;
            }
        } else if (!strcmp(a, "--steps") && has_value) {
            char *end;
            long k = strtol(argv[++i], &end, 10);
            if (*end || end == argv[i] || k < 1 || k > 1000) {
                fprintf(stderr, "fpo-export: --steps must be an integer in [1, 1000], got %s\n",
                        argv[i]);
                return 2;
            }
            cfg.steps = (int)k;
        } else if (!strcmp(a, "--deterministic")) {
            cfg.deterministic = 1;
        } else if (a[0] == '-' || policy_path) {
            fprintf(stderr, "fpo-export: unexpected argument %s\n", a);
            usage(stderr);
            return 2;
        } else {
            policy_path = a;
        }
    }
    if (!policy_path || !out) {
        usage(stderr);
        return 2;
    }
    fpo_policy *p;
    if (fpo_policy_load(&p, policy_path, NULL) != FPO_OK) {
        fprintf(stderr, "fpo-export: %s: %s\n", policy_path, fpo_last_errmsg());
        return 1;
    }
    int rc = fpo_policy_export_c(p, out, &cfg);
    if (rc != FPO_OK)
        fprintf(stderr, "fpo-export: %s\n", fpo_last_errmsg());
    else
        printf("wrote %s.h and %s.c\n", out, out);
    fpo_policy_destroy(p);
    return rc == FPO_OK ? 0 : 1;
}
