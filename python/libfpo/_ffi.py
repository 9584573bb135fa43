"""Low-level ctypes layer: loading the shared library, struct layouts, prototypes.

Everything here mirrors ``include/fpo/*.h`` one to one.  The structures are
declared in header order with the same C types (enums are ``int``), so that
``ctypes.sizeof`` equals the C ``sizeof``; the test suite checks this against
the ``struct_size`` that the library's ``fpo_*_config_init`` functions write
and against how many bytes the ``fpo_*_get_*`` output calls fill in.

Nothing in this module is public API; use the classes in :mod:`libfpo`.
"""

import ctypes
import ctypes.util
import os
import subprocess
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_float, c_int,
                    c_int64, c_size_t, c_uint, c_uint64, c_void_p)

# ---- constants (include/fpo/common.h, env.h) ---------------------------------

FPO_MAX_LAYERS = 8
FPO_STEP_TERMINATED = 1
FPO_STEP_TRUNCATED = 2
FPO_STEP_SUCCESS = 4
FPO_ENV_TABLE_VERSION = 1

ERROR_NAMES = {
    0: "FPO_OK",
    -1: "FPO_EINVAL",
    -2: "FPO_ENOMEM",
    -3: "FPO_ERANGE",
    -4: "FPO_ESIZE",
    -5: "FPO_ENONFINITE",
    -6: "FPO_ECALLBACK",
    -7: "FPO_EIO",
    -8: "FPO_EFORMAT",
    -9: "FPO_EVERSION",
    -10: "FPO_ESTATE",
    -11: "FPO_EMISMATCH",
    -12: "FPO_EDIVERGED",
    -13: "FPO_EUNSUPPORTED",
    -14: "FPO_ETHREAD",
    -15: "FPO_EKEY",
    -16: "FPO_EREMOTE",
}

# Enum values by name, per C enum (all permanent in the headers).
ENUMS = {
    "kind": {"flow": 0, "gaussian": 1},
    "activation": {"silu": 0, "relu": 1, "tanh": 2},
    "std_mode": {"state_independent": 0, "state_dependent": 1, "fixed": 2},
    "squash": {"tanh": 0, "clip": 1},
    "time_embedding": {"sinusoidal": 0, "raw": 1},
    "net": {"actor": 0, "critic": 1, "all": 2},
    "integrator": {"euler": 0, "heun": 1, "midpoint": 2, "auto": 3},
    "init_noise": {"random": 0, "zero": 1},
    "t_dist": {"grid": 0, "uniform": 1, "beta": 2},
    "lr_schedule": {"default": 0, "constant": 1, "linear": 2},
    "algo": {"fpo": 0, "ppo": 1, "dppo": 2},
    "cfm_loss": {"eps": 0, "u": 1, "elbo": 2},
    "ratio_mode": {"averaged": 0, "per_sample": 1},
    "value_type": {"float": 0, "int": 1},
}

# ---- structures --------------------------------------------------------------

FloatPtr = POINTER(c_float)


class fpo_allocator(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("alloc", c_void_p),
                ("free", c_void_p),
                ("user", c_void_p)]


class fpo_policy_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("kind", c_int),
                ("obs_dim", c_int),
                ("act_dim", c_int),
                ("actor_layers", c_int),
                ("actor_hidden", c_int * FPO_MAX_LAYERS),
                ("actor_activation", c_int),
                ("critic_layers", c_int),
                ("critic_hidden", c_int * FPO_MAX_LAYERS),
                ("critic_activation", c_int),
                ("flow_output_scale", c_float),
                ("time_embedding", c_int),
                ("std_mode", c_int),
                ("init_std", c_float),
                ("min_std", c_float),
                ("squash", c_int),
                ("action_low", FloatPtr),
                ("action_high", FloatPtr),
                ("normalize_obs", c_int),
                ("obs_clip", c_float),
                ("seed", c_uint64),
                ("allocator", c_void_p),
                ("raw_clip", c_float),
                ("chunk", c_int64)]  # since LIBFPO_1.1 (0.2.0): actions per query


class fpo_policy_info(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("kind", c_int),
                ("obs_dim", c_int),
                ("act_dim", c_int),
                ("actor_params", c_size_t),
                ("critic_params", c_size_t),
                ("obs_count", c_int64)]


class fpo_export_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("name", c_char_p),
                ("integrator", c_int),
                ("steps", c_int),
                ("deterministic", c_int)]


class fpo_sampler_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("integrator", c_int),
                ("steps", c_int),
                ("init_noise", c_int),
                ("sde_noise", c_float),
                ("deterministic", c_int),
                ("max_batch", c_int),
                ("seed", c_uint64),
                ("allocator", c_void_p),
                ("row_offset", c_int),
                ("record_path", c_int64),
                ("noise_corr", c_float)]  # since 0.2.0


class fpo_buffer_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("num_envs", c_int),
                ("horizon", c_int),
                ("obs_dim", c_int),
                ("act_dim", c_int),
                ("n_mc", c_int),
                ("t_dist", c_int),
                ("t_beta", c_float),
                ("seed", c_uint64),
                ("allocator", c_void_p),
                ("env_offset", c_int),
                ("path_steps", c_int64)]


class fpo_optimizer_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("algo", c_int),
                ("lr", c_float),
                ("adam_beta1", c_float),
                ("adam_beta2", c_float),
                ("adam_eps", c_float),
                ("weight_decay", c_float),
                ("max_grad_norm", c_float),
                ("clip_eps", c_float),
                ("gamma", c_float),
                ("gae_lambda", c_float),
                ("reward_scale", c_float),
                ("value_coef", c_float),
                ("entropy_coef", c_float),
                ("epochs", c_int),
                ("minibatches", c_int),
                ("cfm_loss", c_int),
                ("ratio_mode", c_int),
                ("ratio_clamp", c_float),
                ("aspo", c_int),
                ("normalize_advantages", c_int),
                ("threads", c_int),
                ("seed", c_uint64),
                ("allocator", c_void_p),
                ("collective", c_void_p),
                ("bound_coef", c_float),
                ("bound", c_float),
                ("spike_clip", c_float),
                ("anchor_coef", c_float),
                ("dppo_sigma", c_float),
                ("dppo_final_half", c_int),
                ("anchor_drift", c_float),
                ("cfm_clamp", c_float)]


class fpo_update_stats(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("policy_loss", c_double),
                ("value_loss", c_double),
                ("entropy", c_double),
                ("cfm_loss", c_double),
                ("ratio_mean", c_double),
                ("ratio_max", c_double),
                ("ratio_min", c_double),
                ("clip_fraction", c_double),
                ("approx_kl", c_double),
                ("grad_norm", c_double),
                ("explained_variance", c_double),
                ("adv_mean", c_double),
                ("adv_std", c_double),
                ("steps", c_int64),
                ("skipped_steps", c_int64),
                ("rollbacks", c_int64),
                ("lr", c_double),
                ("spike_steps", c_int64),
                ("bound_fraction", c_double),
                ("cfm_loss_old", c_double),
                ("cfm_loss_max", c_double),
                ("anchor_coef", c_double),
                ("cfm_above_clamp", c_double),
                ("actor_grad_norm", c_double),
                ("critic_grad_norm", c_double)]


class fpo_key_info(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("name", c_char_p),
                ("type", c_int),
                ("min", c_double),
                ("max", c_double)]


# Environment callbacks (env.h).  Pointer arguments that the callbacks write
# through are typed POINTER(...) so they can be indexed; void* arguments
# arrive as int or None.
ENV_CREATE_FN = CFUNCTYPE(c_int, c_void_p, c_int, POINTER(c_void_p))
ENV_RESET_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, c_uint64, FloatPtr)
ENV_STEP_FN = CFUNCTYPE(c_int, c_void_p, c_void_p, FloatPtr, FloatPtr, FloatPtr, POINTER(c_uint))
ENV_DESTROY_FN = CFUNCTYPE(None, c_void_p, c_void_p)


class fpo_env_table(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("version", c_int),
                ("obs_dim", c_int),
                ("act_dim", c_int),
                ("action_low", FloatPtr),
                ("action_high", FloatPtr),
                ("create", ENV_CREATE_FN),
                ("reset", ENV_RESET_FN),
                ("step", ENV_STEP_FN),
                ("destroy", ENV_DESTROY_FN)]


class fpo_vecenv_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("table", POINTER(fpo_env_table)),
                ("user", c_void_p),
                ("num_envs", c_int),
                ("threads", c_int),
                ("seed", c_uint64),
                ("allocator", c_void_p),
                ("env_offset", c_int)]


class fpo_episode_stats(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("episodes", c_int64),
                ("mean_return", c_double),
                ("mean_length", c_double),
                ("min_return", c_double),
                ("max_return", c_double),
                ("successes", c_int64)]


class fpo_progress(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("iteration", c_int64),
                ("env_steps", c_int64),
                ("total_steps", c_int64),
                ("mean_return", c_double),
                ("rollout_seconds", c_double),
                ("update_seconds", c_double),
                ("elapsed_seconds", c_double),
                # owned by the trainer, valid until its next iteration
                ("episodes", POINTER(fpo_episode_stats)),
                ("update", POINTER(fpo_update_stats))]


PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, POINTER(fpo_progress))


class fpo_trainer_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("env", POINTER(fpo_env_table)),
                ("env_user", c_void_p),
                ("num_envs", c_int),
                ("horizon", c_int),
                ("threads", c_int),
                ("seed", c_uint64),
                ("policy", POINTER(fpo_policy_config)),
                ("sampler", POINTER(fpo_sampler_config)),
                ("optimizer", POINTER(fpo_optimizer_config)),
                ("n_mc", c_int),
                ("t_dist", c_int),
                ("progress", PROGRESS_FN),
                ("progress_user", c_void_p),
                ("allocator", c_void_p),
                ("collective", c_void_p),
                ("guard", c_int),
                ("guard_max_rollbacks", c_int),
                ("lr_schedule", c_int),
                ("init_policy", c_void_p),
                ("critic_warmup", c_int)]


# pretrain.h
PRETRAIN_PROGRESS_FN = CFUNCTYPE(c_int, c_void_p, c_int, c_double, c_double)


class fpo_pretrain_config(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("epochs", c_int),
                ("minibatch", c_int),
                ("lr", c_float),
                ("weight_decay", c_float),
                ("max_grad_norm", c_float),
                ("holdout", c_float),
                ("seed", c_uint64),
                ("n_mc", c_int),
                ("t_dist", c_int),
                ("cfm_loss", c_int),
                ("update_obs_stats", c_int),
                ("progress", PRETRAIN_PROGRESS_FN),
                ("progress_user", c_void_p)]


class fpo_pretrain_stats(Structure):
    _fields_ = [("struct_size", c_size_t),
                ("epochs", c_int),
                ("stopped", c_int),
                ("n_train", c_int64),
                ("n_val", c_int64),
                ("steps", c_int64),
                ("first_train_loss", c_double),
                ("train_loss", c_double),
                ("first_val_loss", c_double),
                ("val_loss", c_double)]


# ---- loading -----------------------------------------------------------------

ABI_MAJOR = 1  # the soname this binding speaks: libfpo.so.1


def _pkg_config_candidates():
    """Paths of libfpo.so.N in the directories pkg-config names for fpo (its
    libdir variable, then its -L flags: an uninstalled fpo.pc has only those),
    honouring PKG_CONFIG_PATH. Empty without pkg-config or fpo.pc."""
    dirs = []
    for args in (["--variable=libdir"], ["--libs-only-L"]):
        try:
            out = subprocess.run(["pkg-config"] + args + ["fpo"], capture_output=True,
                                 text=True, timeout=10)
        except (OSError, subprocess.SubprocessError):
            return []
        if out.returncode != 0:
            return []
        for word in out.stdout.split():
            d = word[2:] if word.startswith("-L") else word
            if d and d not in dirs:
                dirs.append(d)
    name = "libfpo.so.%d" % ABI_MAJOR
    return [os.path.join(d, name) for d in dirs if os.path.exists(os.path.join(d, name))]


def _load_library():
    """Open libfpo: $FPO_LIBRARY, else where pkg-config's fpo.pc says, else
    ctypes.util.find_library('fpo')."""
    path = os.environ.get("FPO_LIBRARY")
    if path:
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            raise ImportError("libfpo: FPO_LIBRARY=%r could not be loaded: %s" % (path, exc)) from exc
    for path in _pkg_config_candidates():
        try:
            return ctypes.CDLL(path), path
        except OSError as exc:
            raise ImportError("libfpo: pkg-config's fpo.pc points to %r, which could not be "
                              "loaded: %s" % (path, exc)) from exc
    name = ctypes.util.find_library("fpo")
    if name:
        try:
            return ctypes.CDLL(name), name
        except OSError as exc:
            raise ImportError("libfpo: found %r but could not load it: %s" % (name, exc)) from exc
    raise ImportError(
        "libfpo: the shared library was not found. Set FPO_LIBRARY to the path of "
        "libfpo.so.1 (e.g. <builddir>/libfpo/libfpo.so.1), or PKG_CONFIG_PATH to the "
        "directory of an installed fpo.pc (<prefix>/lib/<arch>/pkgconfig), or install "
        "libfpo where the dynamic linker finds it (ldconfig, LD_LIBRARY_PATH).")


lib, library_path = _load_library()

_H = c_void_p  # every opaque handle


def _proto(name, restype, *argtypes):
    try:
        fn = getattr(lib, name)
    except AttributeError as exc:
        raise ImportError("libfpo: %s does not export %s (library too old?)" % (library_path, name)) from exc
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


P = POINTER
# common.h
_proto("fpo_strerror", c_char_p, c_int)
_proto("fpo_version", c_uint)
_proto("fpo_version_string", c_char_p)
# policy.h
_proto("fpo_policy_config_init_sized", c_int, c_void_p, c_size_t)
_proto("fpo_policy_create", c_int, P(_H), P(fpo_policy_config))
_proto("fpo_policy_clone", c_int, P(_H), _H)
_proto("fpo_policy_destroy", None, _H)
_proto("fpo_policy_errmsg", c_char_p, _H)
_proto("fpo_policy_get_info", c_int, _H, P(fpo_policy_info))
_proto("fpo_policy_get_config", c_int, _H, P(fpo_policy_config))
_proto("fpo_policy_get_params", c_int, _H, c_int, FloatPtr, c_size_t)
_proto("fpo_policy_set_params", c_int, _H, c_int, FloatPtr, c_size_t)
_proto("fpo_policy_obs_accumulate", c_int, _H, FloatPtr, c_int)
_proto("fpo_policy_obs_commit", c_int, _H)
_proto("fpo_policy_obs_stats", c_int, _H, FloatPtr, FloatPtr)
_proto("fpo_policy_save", c_int, _H, c_char_p)
_proto("fpo_export_config_init_sized", c_int, c_void_p, c_size_t)
_proto("fpo_policy_export_c", c_int, _H, c_char_p, P(fpo_export_config))
_proto("fpo_policy_load", c_int, P(_H), c_char_p, c_void_p)
_proto("fpo_policy_save_mem", c_int, _H, c_void_p, c_size_t, P(c_size_t))
_proto("fpo_policy_load_mem", c_int, P(_H), c_void_p, c_size_t, c_void_p)
_proto("fpo_last_errmsg", c_char_p)
# sampler.h
_proto("fpo_sampler_config_init_sized", c_int, c_void_p, c_size_t)
_proto("fpo_sampler_create", c_int, P(_H), _H, P(fpo_sampler_config))
_proto("fpo_sampler_destroy", None, _H)
_proto("fpo_sampler_errmsg", c_char_p, _H)
_proto("fpo_sampler_reconfigure", c_int, _H, P(fpo_sampler_config))
_proto("fpo_sampler_reseed", c_int, _H, c_uint64)
_proto("fpo_sampler_act", c_int, _H, _H, FloatPtr, c_int, FloatPtr, FloatPtr)
_proto("fpo_sampler_value", c_int, _H, _H, FloatPtr, c_int, FloatPtr)
# buffer.h (only the config, for the layout checks)
_proto("fpo_buffer_config_init_sized", c_int, c_void_p, c_size_t)
# optimizer.h
_proto("fpo_optimizer_config_init_sized", c_int, c_void_p, c_size_t, c_int)
_proto("fpo_optimizer_key_count", c_int)
_proto("fpo_optimizer_errmsg", c_char_p, _H)
_proto("fpo_optimizer_set", c_int, _H, c_int, c_double)
_proto("fpo_optimizer_get", c_int, _H, c_int, P(c_double))
_proto("fpo_optimizer_key_info", c_int, c_int, P(fpo_key_info))
_proto("fpo_optimizer_step_count", c_int64, _H)
# env.h
_proto("fpo_vecenv_config_init_sized", c_int, c_void_p, c_size_t)
_proto("fpo_vecenv_create", c_int, P(_H), P(fpo_vecenv_config))
_proto("fpo_vecenv_destroy", None, _H)
_proto("fpo_vecenv_errmsg", c_char_p, _H)
_proto("fpo_vecenv_num_envs", c_int, _H)
_proto("fpo_vecenv_obs_dim", c_int, _H)
_proto("fpo_vecenv_act_dim", c_int, _H)
_proto("fpo_vecenv_reset", c_int, _H, FloatPtr)
_proto("fpo_vecenv_step", c_int, _H, FloatPtr, FloatPtr, FloatPtr, P(c_uint), FloatPtr)
_proto("fpo_vecenv_take_episode_stats", c_int, _H, P(fpo_episode_stats))
# trainer.h
_proto("fpo_trainer_config_init_sized", c_int, c_void_p, c_size_t)
_proto("fpo_trainer_create", c_int, P(_H), P(fpo_trainer_config))
_proto("fpo_trainer_destroy", None, _H)
_proto("fpo_trainer_errmsg", c_char_p, _H)
_proto("fpo_trainer_iterate", c_int, _H, P(fpo_progress))
_proto("fpo_trainer_run", c_int, _H, c_int64)
_proto("fpo_trainer_policy", _H, _H)
_proto("fpo_trainer_optimizer", _H, _H)
_proto("fpo_trainer_env_steps", c_int64, _H)
_proto("fpo_trainer_save", c_int, _H, c_char_p)
_proto("fpo_trainer_restore", c_int, _H, c_char_p)
# pretrain.h
_proto("fpo_pretrain_config_init_sized", c_int, c_void_p, c_size_t)
_proto("fpo_policy_pretrain", c_int, _H, P(fpo_pretrain_config), FloatPtr, FloatPtr, c_int64,
       P(fpo_pretrain_stats))
del P

# ---- config initialisation -----------------------------------------------------

# The sized inits (LIBFPO_1.1) write exactly the size they are given: the
# library's defaults for the fields it knows, zeros for any it does not (a
# library older than these layouts), and struct_size = our sizeof.
_CONFIG_INITS = {
    fpo_policy_config: lib.fpo_policy_config_init_sized,
    fpo_sampler_config: lib.fpo_sampler_config_init_sized,
    fpo_buffer_config: lib.fpo_buffer_config_init_sized,
    fpo_optimizer_config: lib.fpo_optimizer_config_init_sized,
    fpo_vecenv_config: lib.fpo_vecenv_config_init_sized,
    fpo_trainer_config: lib.fpo_trainer_config_init_sized,
    fpo_export_config: lib.fpo_export_config_init_sized,
    fpo_pretrain_config: lib.fpo_pretrain_config_init_sized,
}


def config_init(cls, *args):
    """Return ``(cfg, size)``: a ``cls`` filled by the library's sized init
    and its size (``cfg.struct_size``)."""
    cfg = cls()
    size = ctypes.sizeof(cls)
    rc = _CONFIG_INITS[cls](ctypes.byref(cfg), size, *args)
    if rc != 0:
        msg = lib.fpo_last_errmsg()
        raise RuntimeError("libfpo: %s init failed (%d): %s"
                           % (cls.__name__, rc, msg.decode() if msg else "no message"))
    return cfg, size


def new_out(cls):
    """An output struct with struct_size set (for the fpo_*_get_* calls)."""
    s = cls()
    s.struct_size = ctypes.sizeof(cls)
    return s


def text(b):
    """A C string (bytes or None) as str."""
    return b.decode("utf-8", "replace") if b else ""
