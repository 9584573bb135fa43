// C++ smoke test: the public API used from C++11 against the shared library.
// Creates a flow policy, a sampler, acts on one observation, destroys both.
#include <cmath>
#include <cstdio>
#include <vector>

#include <fpo/fpo.h>

#define CHECK(call)                                                        \
    do {                                                                   \
        int rc_ = (call);                                                  \
        if (rc_ != FPO_OK) {                                               \
            std::fprintf(stderr, "%s:%d: %s -> %d (%s)\n", __FILE__,       \
                         __LINE__, #call, rc_, fpo_strerror(rc_));         \
            return 1;                                                      \
        }                                                                  \
    } while (0)

int main()
{
    if (fpo_version() != FPO_VERSION) {
        std::fprintf(stderr, "header version %x, library %x\n", FPO_VERSION, fpo_version());
        return 1;
    }

    const int obs_dim = 3, act_dim = 2;
    const float low[act_dim] = {-2.0f, 0.0f}, high[act_dim] = {2.0f, 1.0f};

    fpo_policy_config pcfg;
    fpo_policy_config_init(&pcfg);
    pcfg.kind = FPO_POLICY_FLOW;
    pcfg.obs_dim = obs_dim;
    pcfg.act_dim = act_dim;
    pcfg.action_low = low;
    pcfg.action_high = high;
    pcfg.seed = 7;

    fpo_policy *policy = nullptr;
    CHECK(fpo_policy_create(&policy, &pcfg));

    fpo_sampler_config scfg;
    fpo_sampler_config_init(&scfg);
    scfg.integrator = FPO_INTEGRATOR_HEUN;
    scfg.steps = 8;
    scfg.seed = 11;

    fpo_sampler *sampler = nullptr;
    CHECK(fpo_sampler_create(&sampler, policy, &scfg));

    std::vector<float> obs = {0.1f, -0.5f, 2.0f};
    std::vector<float> action(act_dim), raw(act_dim);
    CHECK(fpo_sampler_act(sampler, policy, obs.data(), 1, action.data(), raw.data()));
    float value = 0.0f;
    CHECK(fpo_sampler_value(sampler, policy, obs.data(), 1, &value));

    for (int i = 0; i < act_dim; i++) {
        if (!std::isfinite(action[i]) || action[i] < low[i] || action[i] > high[i]) {
            std::fprintf(stderr, "action[%d] = %g outside [%g, %g]\n", i, action[i], low[i], high[i]);
            return 1;
        }
    }
    if (!std::isfinite(value)) {
        std::fprintf(stderr, "value %g\n", value);
        return 1;
    }
    // Errors come back as codes, not exceptions or aborts.
    if (fpo_sampler_act(sampler, policy, nullptr, 1, action.data(), nullptr) != FPO_EINVAL) {
        std::fprintf(stderr, "NULL obs was not rejected with FPO_EINVAL\n");
        return 1;
    }

    fpo_sampler_destroy(sampler);
    fpo_policy_destroy(policy);
    fpo_sampler_destroy(nullptr);
    fpo_policy_destroy(nullptr);
    std::printf("libfpo %s from C++: action (%g, %g), value %g\n", fpo_version_string(),
                action[0], action[1], value);
    return 0;
}
