/* Internal: the list of public structs that follow the sized-struct rules of
 * docs/abi.md. Includes nothing, so that abi_v1.c can expand it against the
 * frozen first-ABI headers and abi.c against the current ones.
 *
 * X(ID, type, direction): direction IN is a struct the caller fills and the
 * library reads (configs, tables); OUT one the library fills for the caller.
 * Append only: a struct added in a later release also gets a line in the
 * first-ABI table of abi_v1.c (its size there is the size it first shipped
 * with). */
#ifndef FPO_INTERNAL_ABI_STRUCTS_H
#define FPO_INTERNAL_ABI_STRUCTS_H

#define FPO_PUBLIC_STRUCTS(X)                           \
    X(ALLOCATOR, fpo_allocator, IN)                     \
    X(ENV_TABLE, fpo_env_table, IN)                     \
    X(VECENV_CONFIG, fpo_vecenv_config, IN)             \
    X(EPISODE_STATS, fpo_episode_stats, OUT)            \
    X(BUFFER_CONFIG, fpo_buffer_config, IN)             \
    X(BUFFER_VIEW, fpo_buffer_view, OUT)                \
    X(COLLECTIVE, fpo_collective, IN)                   \
    X(OPTIMIZER_CONFIG, fpo_optimizer_config, IN)       \
    X(UPDATE_STATS, fpo_update_stats, OUT)              \
    X(KEY_INFO, fpo_key_info, OUT)                      \
    X(POLICY_CONFIG, fpo_policy_config, IN)             \
    X(POLICY_INFO, fpo_policy_info, OUT)                \
    X(SAMPLER_CONFIG, fpo_sampler_config, IN)           \
    X(PROGRESS, fpo_progress, OUT)                      \
    X(TRAINER_CONFIG, fpo_trainer_config, IN)

#define FPO_STRUCT_ENUM_(id, type, dir) FPO_S_##id,
typedef enum fpo_struct_id {
    FPO_PUBLIC_STRUCTS(FPO_STRUCT_ENUM_) FPO_S_COUNT_
} fpo_struct_id;
#undef FPO_STRUCT_ENUM_

/* sizeof of each struct in the first ABI (LIBFPO_1, release 0.1.0), indexed by
 * fpo_struct_id; defined in abi_v1.c. */
extern const size_t fpo_abi_v1_size[FPO_S_COUNT_];

#endif
