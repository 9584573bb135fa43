"""libfpo: Python bindings (ctypes, standard library only) for libfpo, the C
library for Flow Policy Optimization (FPO) and Gaussian PPO.

The shared library is found through ``$FPO_LIBRARY`` (a path to
libfpo.so.1), else where ``pkg-config fpo`` points (fpo.pc's libdir or -L
directories), else ``ctypes.util.find_library("fpo")``; if none works,
importing this package raises ImportError.

Overview::

    import libfpo

    class Pendulum(libfpo.Env):
        obs_dim, act_dim = 3, 1
        action_low, action_high = [-2.0], [2.0]
        def reset(self, seed): ...            # -> obs
        def step(self, action): ...           # -> (obs, reward, terminated, truncated)

    with libfpo.Trainer(Pendulum, algo="fpo", num_envs=8, horizon=32) as t:
        t.run(100000, progress=lambda p: print(p.iteration, p.mean_return))
        t.policy.save("pendulum.fpo")

    policy = libfpo.Policy.load("pendulum.fpo")
    sampler = libfpo.Sampler(policy, deterministic=True)
    action = sampler.act([1.0, 0.0, 0.0])

Classes: :class:`Policy`, :class:`Sampler`, :class:`Trainer`,
:class:`Optimizer` (``Trainer.optimizer``), :class:`VecEnv`, :class:`Env`
(the environment protocol).  Errors are :class:`FpoError` subclasses that
carry the FPO_E* ``code``, ``strerror`` and the handle's ``errmsg``.

numpy is optional: numpy arrays are accepted wherever observations or
parameters are, and numpy inputs give numpy outputs.
"""

from . import _ffi
from ._arrays import HAVE_NUMPY
from ._core import (Env, EpisodeStats, KeyInfo, Optimizer, Policy, PolicyInfo, PretrainStats, Progress,
                    Record, Sampler, StepResult, Trainer, UpdateStats, VecEnv, optimizer_keys,
                    version, version_info, version_number)
from ._errors import (CallbackError, DivergedError, FileError, FormatError, FpoError,
                      InvalidArgumentError, MismatchError, NonFiniteError, OutOfMemoryError,
                      RangeError, RemoteError, SizeError, StateError, ThreadError,
                      UnknownKeyError, UnsupportedError, VersionError, strerror)

#: Path or name the shared library was loaded from.
library_path = _ffi.library_path

# Error codes (include/fpo/common.h).
OK = 0
EINVAL = -1
ENOMEM = -2
ERANGE = -3
ESIZE = -4
ENONFINITE = -5
ECALLBACK = -6
EIO = -7
EFORMAT = -8
EVERSION = -9
ESTATE = -10
EMISMATCH = -11
EDIVERGED = -12
EUNSUPPORTED = -13
ETHREAD = -14
EKEY = -15
EREMOTE = -16

# Step flags (what an environment's terminated / truncated become).
STEP_TERMINATED = _ffi.FPO_STEP_TERMINATED
STEP_TRUNCATED = _ffi.FPO_STEP_TRUNCATED
STEP_SUCCESS = _ffi.FPO_STEP_SUCCESS

__version__ = version()

__all__ = [
    "Env", "EpisodeStats", "KeyInfo", "Optimizer", "Policy", "PolicyInfo", "Progress",
    "Record", "Sampler", "StepResult", "Trainer", "UpdateStats", "VecEnv", "optimizer_keys",
    "version", "version_info", "version_number", "strerror", "library_path", "HAVE_NUMPY",
    "FpoError", "CallbackError", "DivergedError", "FileError", "FormatError",
    "InvalidArgumentError", "MismatchError", "NonFiniteError", "OutOfMemoryError",
    "RangeError", "RemoteError", "SizeError", "StateError", "ThreadError", "UnknownKeyError",
    "UnsupportedError", "VersionError",
    "OK", "EINVAL", "ENOMEM", "ERANGE", "ESIZE", "ENONFINITE", "ECALLBACK", "EIO", "EFORMAT",
    "EVERSION", "ESTATE", "EMISMATCH", "EDIVERGED", "EUNSUPPORTED", "ETHREAD", "EKEY",
    "EREMOTE",
    "STEP_TERMINATED", "STEP_TRUNCATED",
]
