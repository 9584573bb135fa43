"""The Pythonic API over the C handles: Policy, Sampler, Optimizer, VecEnv, Trainer."""

import array
import ctypes
import itertools
import os
import types
from ctypes import byref, c_double, c_float, c_size_t, c_uint, c_void_p

from . import _ffi
from ._arrays import CFloats, FloatPtr, is_float_buffer, is_ndarray, np, rows, write_floats
from ._errors import FpoError, make_error

lib = _ffi.lib


# ---- small helpers -------------------------------------------------------------

class Record(types.SimpleNamespace):
    """A plain record of values copied out of a C struct (attribute access,
    ``as_dict()``); nested structs become nested records."""

    def as_dict(self):
        return {k: (v.as_dict() if isinstance(v, Record) else v) for k, v in vars(self).items()}


class PolicyInfo(Record):
    """fpo_policy_info: kind, obs_dim, act_dim, actor_params, critic_params, obs_count."""


class UpdateStats(Record):
    """fpo_update_stats: what one optimizer update did (losses, ratio statistics, ...)."""


class EpisodeStats(Record):
    """fpo_episode_stats: episodes finished, mean/min/max return, mean length,
    successes (episodes in which step() reported success)."""


class Progress(Record):
    """fpo_progress: iteration, env_steps, total_steps, mean_return,
    rollout/update/elapsed seconds, episodes (:class:`EpisodeStats`) and update
    (:class:`UpdateStats`), copied when the record is made."""


class KeyInfo(Record):
    """fpo_key_info: key (the enum value), name, type ('float' or 'int'), min, max."""


class StepResult(Record):
    """VecEnv.step's result: obs, rewards, terminated, truncated, final_obs."""


class PretrainStats(Record):
    """fpo_pretrain_stats: epochs completed, stopped (by the progress callback),
    n_train, n_val, steps, first_train_loss, train_loss, first_val_loss and
    val_loss (NaN without a holdout)."""


_RECORD_TYPES = {
    _ffi.fpo_policy_info: PolicyInfo,
    _ffi.fpo_update_stats: UpdateStats,
    _ffi.fpo_episode_stats: EpisodeStats,
    _ffi.fpo_progress: Progress,
    _ffi.fpo_pretrain_stats: PretrainStats,
}


def _enum_name(group, value):
    for name, v in _ffi.ENUMS[group].items():
        if v == value:
            return name
    return value


def _enum_value(group, value, field):
    choices = _ffi.ENUMS[group]
    if isinstance(value, str):
        key = value.lower().replace("-", "_")
        if key not in choices:
            raise ValueError("%s must be one of %s, got %r" % (field, sorted(choices), value))
        return choices[key]
    if isinstance(value, bool) or int(value) != value:
        raise ValueError("%s must be one of %s, got %r" % (field, sorted(choices), value))
    return int(value)


def _record(struct, cls=None, enums=None):
    cls = cls or _RECORD_TYPES.get(type(struct), Record)
    enums = enums or {}
    out = {}
    for name, _t in struct._fields_:
        if name == "struct_size":
            continue
        v = getattr(struct, name)
        if isinstance(v, ctypes.Structure):
            v = _record(v)
        elif isinstance(v, ctypes._Pointer):  # a pointer to a struct: copy it now
            v = _record(v.contents) if v else None
        elif name in enums:
            v = _enum_name(enums[name], v)
        out[name] = v
    return cls(**out)


def _offset(ptr, n):
    """ptr + n floats."""
    return ctypes.cast(ctypes.cast(ptr, c_void_p).value + 4 * n, FloatPtr) if n else ptr


# Which config fields take enum names, and which int arrays size a layer count.
_POLICY_ENUMS = {"kind": "kind", "actor_activation": "activation",
                 "critic_activation": "activation", "time_embedding": "time_embedding",
                 "std_mode": "std_mode", "squash": "squash"}
_SAMPLER_ENUMS = {"integrator": "integrator", "init_noise": "init_noise"}
_OPTIMIZER_ENUMS = {"algo": "algo", "cfm_loss": "cfm_loss", "ratio_mode": "ratio_mode"}
_TRAINER_ENUMS = {"t_dist": "t_dist", "lr_schedule": "lr_schedule"}
_HIDDEN = {"actor_hidden": "actor_layers", "critic_hidden": "critic_layers"}
_FLOAT_VECTORS = ("action_low", "action_high")


def _fill(cfg, options, enums, what, settable):
    """Set fields of the ctypes config ``cfg`` from keyword ``options``.
    Returns objects that must stay alive as long as ``cfg`` is used."""
    keep = []
    types_ = dict(cfg._fields_)
    for key, val in options.items():
        if key not in settable:
            raise TypeError("unknown %s option %r; valid options: %s"
                            % (what, key, ", ".join(sorted(settable))))
        if key in enums:
            setattr(cfg, key, _enum_value(enums[key], val, key))
        elif key in _HIDDEN:
            arr = getattr(cfg, key)
            if isinstance(val, int):
                widths = [val] * _ffi.FPO_MAX_LAYERS
            else:
                widths = [int(w) for w in val]
                if len(widths) > _ffi.FPO_MAX_LAYERS:
                    raise ValueError("%s: at most %d layers" % (key, _ffi.FPO_MAX_LAYERS))
                if _HIDDEN[key] not in options:
                    setattr(cfg, _HIDDEN[key], len(widths))
            for i, w in enumerate(widths):
                arr[i] = w
        elif key in _FLOAT_VECTORS:
            if val is None:
                setattr(cfg, key, None)
            else:
                c = CFloats(val, key)
                keep.append(c)
                setattr(cfg, key, c.ptr)
        elif types_[key] is c_float:
            setattr(cfg, key, float(val))
        else:
            setattr(cfg, key, int(val))
    return keep


def _settable(cls, exclude=()):
    return frozenset(n for n, _t in cls._fields_
                     if n not in ("struct_size", "allocator") and n not in exclude)


_POLICY_OPTIONS = _settable(_ffi.fpo_policy_config)
_SAMPLER_OPTIONS = _settable(_ffi.fpo_sampler_config)
_OPTIMIZER_OPTIONS = _settable(_ffi.fpo_optimizer_config)
_TRAINER_OPTIONS = frozenset(("num_envs", "horizon", "threads", "seed", "n_mc", "t_dist", "lr_schedule",
                              "critic_warmup"))
_PRETRAIN_ENUMS = {"t_dist": "t_dist", "cfm_loss": "cfm_loss"}
_PRETRAIN_OPTIONS = _settable(_ffi.fpo_pretrain_config, ("progress", "progress_user"))


def policy_config(**options):
    """A filled ``fpo_policy_config`` and its keep-alive list (for advanced use)."""
    cfg, _ = _ffi.config_init(_ffi.fpo_policy_config)
    return cfg, _fill(cfg, options, _POLICY_ENUMS, "policy", _POLICY_OPTIONS)


def sampler_config(**options):
    cfg, _ = _ffi.config_init(_ffi.fpo_sampler_config)
    return cfg, _fill(cfg, options, _SAMPLER_ENUMS, "sampler", _SAMPLER_OPTIONS)


def optimizer_config(algo="fpo", **options):
    cfg, _ = _ffi.config_init(_ffi.fpo_optimizer_config, _enum_value("algo", algo, "algo"))
    opts = dict(options)
    opts.pop("algo", None)
    return cfg, _fill(cfg, opts, _OPTIMIZER_ENUMS, "optimizer", _OPTIMIZER_OPTIONS)


def _config_dict(cfg, enums):
    d = {}
    for name, _t in cfg._fields_:
        if name in ("struct_size", "allocator") or name in _FLOAT_VECTORS:
            continue
        v = getattr(cfg, name)
        if name in _HIDDEN:
            v = list(v)[:getattr(cfg, _HIDDEN[name])]
        elif name in enums:
            v = _enum_name(enums[name], v)
        d[name] = v
    return d


class _Handle:
    """Base for wrappers of an opaque C handle, owned or borrowed.

    An owned handle is destroyed by close() (or when garbage collected); a
    borrowed one (e.g. Trainer.policy) belongs to ``owner`` and becomes
    unusable when the owner is closed."""

    _destroy = None     # the C destroy function name
    _errmsg = None      # the C errmsg function name
    _what = "handle"

    def _init_handle(self, h, owner=None):
        self._h = h
        self._owner = owner

    @property
    def _handle(self):
        h = getattr(self, "_h", None)
        if not h:
            raise ValueError("this %s is closed" % self._what)
        if self._owner is not None and not self._owner._h:
            raise ValueError("the %s that owns this %s is closed"
                             % (self._owner._what, self._what))
        return h

    @property
    def closed(self):
        return not getattr(self, "_h", None) or (self._owner is not None and not self._owner._h)

    def errmsg(self):
        """The handle's message of its last failed call ("" if none)."""
        return _ffi.text(getattr(lib, self._errmsg)(self._handle))

    def _check(self, rc, function, detail=""):
        if rc:
            raise make_error(rc, function, _ffi.text(getattr(lib, self._errmsg)(self._h)), detail)

    def close(self):
        """Destroy the C object now (owned handles); further use raises ValueError."""
        h = getattr(self, "_h", None)
        self._h = None
        if h and self._owner is None and self._destroy:
            getattr(lib, self._destroy)(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def _last_errmsg(rc):
    """The message a failed create or load left in this thread's buffer
    (``fpo_last_errmsg``); read right after the call, before anything else
    can overwrite it."""
    return _ffi.text(lib.fpo_last_errmsg()) if rc else ""


def _check_plain(rc, function, errmsg="", detail=""):
    if rc:
        raise make_error(rc, function, errmsg, detail)


# ---- version ---------------------------------------------------------------------

def version():
    """The linked library's version string, e.g. "0.1.0" (fpo_version_string)."""
    return _ffi.text(lib.fpo_version_string())


def version_number():
    """The linked library's FPO_VERSION integer 0x00MMmmpp (fpo_version)."""
    return int(lib.fpo_version())


def version_info():
    """(major, minor, patch) of the linked library."""
    v = version_number()
    return (v >> 16) & 0xFF, (v >> 8) & 0xFF, v & 0xFF


# ---- Policy ------------------------------------------------------------------------

def _net(net):
    return _enum_value("net", net, "net")


def _batch(x, dim, what):
    """(CFloats, rows) of a batch of rows of ``dim`` floats: a 2-D array, a
    list of rows, or a flat sequence of rows * dim numbers."""
    r = rows(x)
    flat = r[1] if r is not None else x
    c = CFloats(flat, what)
    if r is not None and (r[0] == 0 or c.n != r[0] * dim):
        raise ValueError("%s must have rows of %d numbers" % (what, dim))
    if c.n % dim:
        raise ValueError("%s has %d numbers, not a multiple of %d" % (what, c.n, dim))
    return c, c.n // dim


class Policy(_Handle):
    """A flow or Gaussian policy with its value network (``fpo_policy``).

    ``Policy(obs_dim, act_dim, **options)`` creates one from
    ``fpo_policy_config`` defaults overridden by keyword options, which are the
    config's field names (see include/fpo/policy.h)::

        Policy(3, 1, kind="gaussian", actor_hidden=[64, 64], actor_activation="tanh",
               action_low=[-2], action_high=[2], seed=1)

    Enum fields take their names in lower case ("flow", "gaussian", "silu",
    "relu", "tanh", "state_independent", ...) or the C integer values.
    ``actor_hidden``/``critic_hidden`` take one width for every layer or a list
    of widths (which also sets the layer count unless given).

    Also: :meth:`load`, :meth:`from_bytes`, :meth:`clone`, :meth:`save`,
    :meth:`to_bytes`, :meth:`get_params`, :meth:`set_params`, :attr:`info`,
    :attr:`config`, and the observation normalization calls.
    """

    _destroy = "fpo_policy_destroy"
    _errmsg = "fpo_policy_errmsg"
    _what = "policy"

    def __init__(self, obs_dim, act_dim, **options):
        cfg, keep = policy_config(obs_dim=obs_dim, act_dim=act_dim, **options)
        h = c_void_p()
        rc = lib.fpo_policy_create(byref(h), byref(cfg))
        del keep
        _check_plain(rc, "fpo_policy_create", _last_errmsg(rc))
        self._init_handle(h.value)

    @classmethod
    def _wrap(cls, h, owner=None):
        self = cls.__new__(cls)
        self._init_handle(h, owner)
        return self

    # -- checkpoints
    @classmethod
    def load(cls, path):
        """Load a policy saved with :meth:`save` (``fpo_policy_load``)."""
        h = c_void_p()
        rc = lib.fpo_policy_load(byref(h), os.fsencode(path), None)
        _check_plain(rc, "fpo_policy_load", _last_errmsg(rc))
        return cls._wrap(h.value)

    @classmethod
    def from_bytes(cls, data):
        """Load a policy from checkpoint bytes made by :meth:`to_bytes`."""
        data = bytes(data)
        h = c_void_p()
        rc = lib.fpo_policy_load_mem(byref(h), data, len(data), None)
        _check_plain(rc, "fpo_policy_load_mem", _last_errmsg(rc))
        return cls._wrap(h.value)

    def save(self, path):
        """Write a checkpoint file (atomically: temp file, fsync, rename)."""
        self._check(lib.fpo_policy_save(self._handle, os.fsencode(path)), "fpo_policy_save")

    def export_c(self, path, name=None, integrator=None, steps=None, deterministic=False):
        """Write ``path + ".h"`` and ``path + ".c"``: the actor as one
        dependency-free C99 file (``fpo_policy_export_c``). ``integrator``
        ("euler", "heun", "midpoint") and ``steps`` default to the policy's
        deployment settings; ``name`` to the last component of ``path``."""
        cfg, _ = _ffi.config_init(_ffi.fpo_export_config)
        keep = os.fsencode(name) if name is not None else None
        cfg.name = keep
        if integrator is not None:
            cfg.integrator = {"euler": 0, "heun": 1, "midpoint": 2}[integrator]
        if steps is not None:
            cfg.steps = int(steps)
        cfg.deterministic = 1 if deterministic else 0
        rc = lib.fpo_policy_export_c(self._handle, os.fsencode(path), ctypes.byref(cfg))
        _check_plain(rc, "fpo_policy_export_c", _last_errmsg(rc))

    def pretrain(self, obs, act, progress=None, **options):
        """Fit the actor to recorded rows (``fpo_policy_pretrain``): a flow
        policy with the CFM loss FPO's ratio is built from, a Gaussian one by
        maximum likelihood; minibatch Adam, the training rows' observation
        statistics, a held-out share whose loss is reported per epoch.

        ``obs``: n x obs_dim, ``act``: n x act_dim raw actions (what
        ``Sampler.act(..., raw=True)`` and training store: before the squash),
        as 2-D numpy arrays, lists of rows, or flat sequences. ``options`` are
        fpo_pretrain_config fields: epochs, minibatch, lr, weight_decay,
        max_grad_norm, holdout, seed, n_mc, t_dist ("grid", "uniform",
        "beta"), cfm_loss ("eps", "u", "elbo"), update_obs_stats.
        ``progress(epoch, train_loss, val_loss)`` is called after every epoch;
        a truthy return stops (``stats.stopped``); an exception stops and is
        re-raised. Returns :class:`PretrainStats`."""
        info = self.info
        cobs, n = _batch(obs, info.obs_dim, "obs")
        cact, na = _batch(act, info.act_dim, "act")
        if na != n:
            raise ValueError("obs has %d rows, act %d" % (n, na))
        cfg, _ = _ffi.config_init(_ffi.fpo_pretrain_config)
        keep = _fill(cfg, options, _PRETRAIN_ENUMS, "pretrain", _PRETRAIN_OPTIONS)
        error = []

        def on_epoch(user, epoch, train, val):
            try:
                return 1 if progress(int(epoch), float(train), float(val)) else 0
            except BaseException as exc:
                error.append(exc)
                return 1

        fn = _ffi.PRETRAIN_PROGRESS_FN(on_epoch) if progress is not None else None
        if fn is not None:
            cfg.progress = fn
        out = _ffi.new_out(_ffi.fpo_pretrain_stats)
        rc = lib.fpo_policy_pretrain(self._handle, byref(cfg), cobs.ptr, cact.ptr, n, byref(out))
        del keep, fn
        if error:
            raise error[0]
        self._check(rc, "fpo_policy_pretrain")
        return _record(out, PretrainStats)

    def to_bytes(self):
        """The checkpoint as bytes (same format as :meth:`save`)."""
        h = self._handle
        size = c_size_t()
        self._check(lib.fpo_policy_save_mem(h, None, 0, byref(size)), "fpo_policy_save_mem")
        buf = ctypes.create_string_buffer(size.value)
        self._check(lib.fpo_policy_save_mem(h, buf, size.value, byref(size)),
                    "fpo_policy_save_mem")
        return buf.raw[:size.value]

    def clone(self):
        """A deep copy (parameters, statistics, configuration), owned by the caller."""
        h = c_void_p()
        self._check(lib.fpo_policy_clone(byref(h), self._handle), "fpo_policy_clone")
        return Policy._wrap(h.value)

    # -- introspection
    @property
    def info(self):
        """:class:`PolicyInfo` (kind as "flow"/"gaussian", sizes, parameter counts)."""
        out = _ffi.new_out(_ffi.fpo_policy_info)
        self._check(lib.fpo_policy_get_info(self._handle, byref(out)), "fpo_policy_get_info")
        return _record(out, PolicyInfo, {"kind": "kind"})

    @property
    def config(self):
        """The configuration the policy was made with, as a dict of option names
        (enum fields by name; action bounds are not reported by the library)."""
        out = _ffi.new_out(_ffi.fpo_policy_config)
        self._check(lib.fpo_policy_get_config(self._handle, byref(out)), "fpo_policy_get_config")
        return _config_dict(out, _POLICY_ENUMS)

    @property
    def obs_dim(self):
        return self.info.obs_dim

    @property
    def chunk(self):
        """Actions per query (``chunk=`` at creation; 1 without action chunks):
        a sampler returns ``chunk * act_dim`` values per observation."""
        return max(1, int(self.config.get("chunk", 1)))

    @property
    def act_dim(self):
        return self.info.act_dim

    @property
    def kind(self):
        """"flow" or "gaussian"."""
        return self.info.kind

    def param_count(self, net="all"):
        """Number of floats in ``net`` ("actor", "critic" or "all")."""
        i = self.info
        n = _net(net)
        return (i.actor_params, i.critic_params, i.actor_params + i.critic_params)[n]

    def get_params(self, net="all"):
        """A copy of the parameters of ``net`` as ``array('f')``
        (``numpy.frombuffer(a, numpy.float32)`` views it without copying)."""
        n = self.param_count(net)
        out = array.array("f", bytes(4 * n))
        c = CFloats(out)
        self._check(lib.fpo_policy_get_params(self._handle, _net(net), c.ptr, n),
                    "fpo_policy_get_params")
        return out

    def set_params(self, params, net="all"):
        """Overwrite the parameters of ``net`` (exactly param_count(net) floats)."""
        c = CFloats(params, "params")
        self._check(lib.fpo_policy_set_params(self._handle, _net(net), c.ptr, c.n),
                    "fpo_policy_set_params")

    # -- observation normalization
    def obs_accumulate(self, obs):
        """Gather a batch of raw observations (rows, or a flat float buffer) into
        the pending statistics."""
        od = self.obs_dim
        b = rows(obs)
        c = CFloats(b[1] if b else obs, "obs")
        if c.n % od:
            raise ValueError("obs has %d floats, not a multiple of obs_dim %d" % (c.n, od))
        self._check(lib.fpo_policy_obs_accumulate(self._handle, c.ptr, c.n // od),
                    "fpo_policy_obs_accumulate")

    def obs_commit(self):
        """Merge the pending statistics into those every computation uses."""
        self._check(lib.fpo_policy_obs_commit(self._handle), "fpo_policy_obs_commit")

    def obs_stats(self):
        """(mean, std) lists of the current observation statistics."""
        od = self.obs_dim
        mean, std = (c_float * od)(), (c_float * od)()
        self._check(lib.fpo_policy_obs_stats(self._handle, mean, std), "fpo_policy_obs_stats")
        return list(mean), list(std)

    def __repr__(self):
        if self.closed:
            return "<libfpo.Policy closed>"
        i = self.info
        return "<libfpo.Policy %s obs_dim=%d act_dim=%d params=%d+%d>" % (
            i.kind, i.obs_dim, i.act_dim, i.actor_params, i.critic_params)


# ---- Sampler ------------------------------------------------------------------------

class Sampler(_Handle):
    """Draws actions from a policy (``fpo_sampler``).

    ``Sampler(policy, **options)`` with the fields of ``fpo_sampler_config``:
    ``integrator`` ("auto", the default: midpoint; "euler", "heun", "midpoint"), ``steps``, ``init_noise``
    ("random", "zero"), ``sde_noise``, ``deterministic``, ``max_batch``,
    ``seed``, ``noise_corr`` (0 <= rho < 1: each row's noise carries over
    from one call to the next, AR(1); 0 draws it afresh).  A sampler keeps a reference to ``policy`` and acts with it
    unless another policy of the same shapes is passed to :meth:`act`.

    Shapes: one observation (obs_dim numbers) gives one action (a list of
    act_dim floats, or a 1-D numpy array for numpy input); a batch (a list of
    rows, or a 2-D numpy array) gives a list of rows / a 2-D array; a flat
    float32 buffer (``array('f')``) of n*obs_dim floats gives a flat
    ``array('f')`` of n*act_dim.  Batches larger than ``max_batch`` are acted
    on in chunks of max_batch.
    """

    _destroy = "fpo_sampler_destroy"
    _errmsg = "fpo_sampler_errmsg"
    _what = "sampler"

    def __init__(self, policy, **options):
        cfg, keep = sampler_config(**options)
        h = c_void_p()
        rc = lib.fpo_sampler_create(byref(h), policy._handle, byref(cfg))
        del keep
        _check_plain(rc, "fpo_sampler_create", _last_errmsg(rc))
        self._init_handle(h.value)
        self.policy = policy
        self.max_batch = cfg.max_batch
        info = policy.info
        # with action chunks a row is the whole chunk: chunk x act_dim values
        self._od, self._ad = info.obs_dim, info.act_dim * policy.chunk

    def reconfigure(self, **options):
        """Change integrator, steps, init_noise, sde_noise, deterministic or
        noise_corr (max_batch and seed are ignored by the library)."""
        cfg, keep = sampler_config(**options)
        self._check(lib.fpo_sampler_reconfigure(self._handle, byref(cfg)),
                    "fpo_sampler_reconfigure")

    def reseed(self, seed):
        """Restart the random stream (and the rows' correlated noise)."""
        self._check(lib.fpo_sampler_reseed(self._handle, int(seed)), "fpo_sampler_reseed")

    def _shape(self, obs):
        """(n, CFloats, form) with form in single / rows / ndarray / flat."""
        od = self._od
        b = rows(obs)
        if b is not None:
            n, flat = b
            c = CFloats(flat, "obs")
            if c.n != n * od:
                raise ValueError("every observation must have obs_dim=%d values" % od)
            return n, c, ("ndarray2" if is_ndarray(obs) else "rows")
        c = CFloats(obs, "obs")
        if c.n == od:
            return 1, c, ("ndarray1" if is_ndarray(obs) else "single")
        if is_float_buffer(obs) and c.n > 0 and c.n % od == 0:
            return c.n // od, c, "flat"
        raise ValueError("an observation has obs_dim=%d values, got %d" % (od, c.n))

    def _out(self, n, width, form):
        if form.startswith("ndarray"):
            a = np.empty(n * width, dtype=np.float32)
            return a, a.ctypes.data_as(FloatPtr)
        buf = (c_float * (n * width))()
        return buf, ctypes.cast(buf, FloatPtr)

    @staticmethod
    def _result(buf, n, width, form, scalar=False):
        if form == "ndarray1":
            return float(buf[0]) if scalar else buf
        if form == "ndarray2":
            return buf if scalar else buf.reshape(n, width)
        if form == "single":
            return buf[0] if scalar else buf[:width]
        if form == "rows":
            return buf[:n] if scalar else [buf[i * width:(i + 1) * width] for i in range(n)]
        return array.array("f", bytes(buf))  # flat

    def act(self, obs, policy=None, raw=False):
        """Actions for one observation or a batch (see the class docstring).

        Actions are squashed and mapped onto the policy's action bounds. With
        ``raw=True`` returns ``(actions, raw)`` where raw is the unbounded x_0
        the training data stores.  Non-finite observations raise
        :class:`NonFiniteError`."""
        p = policy if policy is not None else self.policy
        ph, sh = p._handle, self._handle
        n, c, form = self._shape(obs)
        ad, od, mb = self._ad, self._od, self.max_batch
        out, optr = self._out(n, ad, form)
        rbuf, rptr = self._out(n, ad, form) if raw else (None, None)
        for s in range(0, n, mb):
            k = min(mb, n - s)
            rc = lib.fpo_sampler_act(sh, ph, _offset(c.ptr, s * od), k, _offset(optr, s * ad),
                                     _offset(rptr, s * ad) if raw else None)
            self._check(rc, "fpo_sampler_act")
        acts = self._result(out, n, ad, form)
        return (acts, self._result(rbuf, n, ad, form)) if raw else acts

    def value(self, obs, policy=None):
        """State values V(o): a float for one observation, a list / array for a batch."""
        p = policy if policy is not None else self.policy
        ph, sh = p._handle, self._handle
        n, c, form = self._shape(obs)
        od, mb = self._od, self.max_batch
        out, optr = self._out(n, 1, form)
        for s in range(0, n, mb):
            k = min(mb, n - s)
            rc = lib.fpo_sampler_value(sh, ph, _offset(c.ptr, s * od), k, _offset(optr, s))
            self._check(rc, "fpo_sampler_value")
        return self._result(out, n, 1, form, scalar=True)


# ---- Optimizer ----------------------------------------------------------------------

_KEY_INFOS = None


def optimizer_keys():
    """Every tunable key the linked library knows, as :class:`KeyInfo` records
    (``fpo_optimizer_key_count`` of them, described by ``fpo_optimizer_key_info``)."""
    global _KEY_INFOS
    if _KEY_INFOS is None:
        infos = []
        for k in range(lib.fpo_optimizer_key_count()):
            out = _ffi.new_out(_ffi.fpo_key_info)
            if lib.fpo_optimizer_key_info(k, byref(out)) != 0:
                break
            infos.append(KeyInfo(key=k, name=_ffi.text(out.name),
                                 type=_enum_name("value_type", out.type),
                                 min=out.min, max=out.max))
        _KEY_INFOS = infos
    return list(_KEY_INFOS)


class Optimizer(_Handle):
    """The clipped update's tunables, by key name (``fpo_optimizer_set/get``).

    Obtained from :attr:`Trainer.optimizer`.  ``opt["lr"] = 1e-3``,
    ``opt.get("epochs")``, ``opt.keys()``, ``opt.as_dict()``; integer keys
    read back as int.  Out-of-bounds values raise :class:`RangeError`,
    unknown names :class:`UnknownKeyError`."""

    _errmsg = "fpo_optimizer_errmsg"
    _what = "optimizer"

    def __init__(self, *a, **k):
        raise TypeError("optimizers come from Trainer.optimizer")

    @classmethod
    def _wrap(cls, h, owner):
        self = cls.__new__(cls)
        self._init_handle(h, owner)
        return self

    @staticmethod
    def keys():
        """Names of the tunable keys."""
        return [k.name for k in optimizer_keys()]

    @staticmethod
    def key_info(name):
        """The :class:`KeyInfo` of a key name."""
        for k in optimizer_keys():
            if k.name == name:
                return k
        raise make_error(-15, "fpo_optimizer_key_info",
                         detail="unknown key %r; keys: %s" % (name, ", ".join(Optimizer.keys())))

    def get(self, name):
        info = self.key_info(name)
        v = c_double()
        self._check(lib.fpo_optimizer_get(self._handle, info.key, byref(v)), "fpo_optimizer_get")
        return int(v.value) if info.type == "int" else v.value

    def set(self, name, value):
        info = self.key_info(name)
        self._check(lib.fpo_optimizer_set(self._handle, info.key, float(value)),
                    "fpo_optimizer_set")

    __getitem__ = get
    __setitem__ = set

    def as_dict(self):
        """Every key with its current value."""
        return {name: self.get(name) for name in self.keys()}

    @property
    def step_count(self):
        """Adam steps taken so far."""
        return int(lib.fpo_optimizer_step_count(self._handle))


# ---- environments -------------------------------------------------------------------

class Env:
    """The protocol a Python environment follows (subclassing is optional).

    Attributes ``obs_dim`` and ``act_dim`` (ints) and optionally
    ``action_low``/``action_high`` (act_dim numbers; None = [-1, 1]), on the
    class or set by ``__init__``.  Methods:

    - ``reset(seed) -> obs``: start an episode, return obs_dim numbers.
    - ``step(action) -> (obs, reward, terminated, truncated)``: ``action`` is a
      list of act_dim floats within the bounds.  When the episode ends
      (terminated: a terminal state; truncated: a time limit), return its
      final observation; libfpo then calls ``reset`` itself.
    - ``close()`` (optional): called when the instance is destroyed.

    Exceptions raised by these methods are caught, make the C call fail with
    FPO_ECALLBACK, and are re-raised as the ``__cause__`` of a
    :class:`CallbackError` (KeyboardInterrupt and SystemExit propagate as
    they are).  NaN or Inf in an observation or reward raise
    :class:`NonFiniteError`.
    """

    obs_dim = None
    act_dim = None
    action_low = None
    action_high = None

    def reset(self, seed):
        raise NotImplementedError

    def step(self, action):
        raise NotImplementedError


class _PendingError:
    __slots__ = ("exc", "where")

    def __init__(self, exc, where):
        self.exc, self.where = exc, where


class _EnvBridge:
    """Turns a factory of Python environments into an ``fpo_env_table``.

    Holds the CFUNCTYPE callbacks, the bound arrays and the instances (keyed by
    the integer that C sees as ``void *env``), so all stay alive while the
    owning VecEnv/Trainer does.  Callbacks never let an exception through C:
    they record it and return 1."""

    def __init__(self, env, obs_dim=None, act_dim=None, action_low=None, action_high=None):
        if not callable(env):
            raise TypeError("env must be a class or a zero-argument callable making an "
                            "environment, got %r" % (env,))
        self._factory = env
        self._spare = []
        self._instances = {}
        self._ids = itertools.count(1)
        self.errors = []
        src = env
        if obs_dim is None:
            obs_dim = getattr(env, "obs_dim", None)
        if act_dim is None:
            act_dim = getattr(env, "act_dim", None)
        if obs_dim is None or act_dim is None:  # set by __init__: make one to look
            probe = env()
            self._spare.append(probe)
            src = probe
            obs_dim = obs_dim if obs_dim is not None else getattr(probe, "obs_dim", None)
            act_dim = act_dim if act_dim is not None else getattr(probe, "act_dim", None)
        if not isinstance(obs_dim, int) or not isinstance(act_dim, int):
            raise TypeError("the environment must define integer obs_dim and act_dim "
                            "(or pass obs_dim=, act_dim=)")
        if action_low is None:
            action_low = getattr(src, "action_low", None)
        if action_high is None:
            action_high = getattr(src, "action_high", None)
        self.obs_dim, self.act_dim = obs_dim, act_dim
        self.action_low = [float(v) for v in action_low] if action_low is not None else None
        self.action_high = [float(v) for v in action_high] if action_high is not None else None
        for b in (self.action_low, self.action_high):
            if b is not None and len(b) != act_dim:
                raise ValueError("action bounds need act_dim=%d values" % act_dim)

        self._cb = (_ffi.ENV_CREATE_FN(self._create), _ffi.ENV_RESET_FN(self._reset),
                    _ffi.ENV_STEP_FN(self._step), _ffi.ENV_DESTROY_FN(self._destroy))
        self._low = (c_float * act_dim)(*self.action_low) if self.action_low else None
        self._high = (c_float * act_dim)(*self.action_high) if self.action_high else None
        t = _ffi.fpo_env_table()
        t.struct_size = ctypes.sizeof(t)
        t.version = _ffi.FPO_ENV_TABLE_VERSION
        t.obs_dim, t.act_dim = obs_dim, act_dim
        t.action_low = ctypes.cast(self._low, FloatPtr) if self._low else None
        t.action_high = ctypes.cast(self._high, FloatPtr) if self._high else None
        t.create, t.reset, t.step, t.destroy = self._cb
        self.table = t

    def _fail(self, exc, where):
        self.errors.append(_PendingError(exc, where))

    def _create(self, user, index, out):
        try:
            inst = self._spare.pop() if self._spare else self._factory()
            hid = next(self._ids)
            self._instances[hid] = inst
            out[0] = hid
            return 0
        except BaseException as exc:
            self._fail(exc, "creating environment %d" % index)
            return 1

    def _reset(self, user, env, seed, obs):
        try:
            o = self._instances[env].reset(seed)
            write_floats(obs, o, self.obs_dim, "the observation from reset()")
            return 0
        except BaseException as exc:
            self._fail(exc, "env.reset")
            return 1

    def _step(self, user, env, action, obs, reward, flags):
        try:
            result = self._instances[env].step(action[:self.act_dim])
            try:
                if len(result) == 5:  # with the optional success flag
                    o, r, terminated, truncated, success = result
                else:
                    o, r, terminated, truncated = result
                    success = False
            except (TypeError, ValueError):
                raise TypeError("step() must return (obs, reward, terminated, truncated) or "
                                "(obs, reward, terminated, truncated, success), got %r"
                                % (result,)) from None
            write_floats(obs, o, self.obs_dim, "the observation from step()")
            reward[0] = float(r)
            flags[0] = ((_ffi.FPO_STEP_TERMINATED if terminated else 0)
                        | (_ffi.FPO_STEP_TRUNCATED if truncated else 0)
                        | (_ffi.FPO_STEP_SUCCESS if success else 0))
            return 0
        except BaseException as exc:
            self._fail(exc, "env.step")
            return 1

    def _destroy(self, user, env):
        try:
            inst = self._instances.pop(env, None)
            close = getattr(inst, "close", None)
            if close is not None:
                close()
        except BaseException as exc:  # destroy cannot fail in C; keep it for the record
            self._fail(exc, "env.close")

    @property
    def instances(self):
        """The live environment objects (in creation order)."""
        return [self._instances[k] for k in sorted(self._instances)]

    def raise_for(self, rc, function, errmsg, detail=""):
        """Raise the FpoError for a failed call, chained to a pending Python exception."""
        pending, self.errors = self.errors, []
        if not rc:
            return
        cause = pending[0] if pending else None
        if cause is not None and not isinstance(cause.exc, Exception):
            raise cause.exc  # KeyboardInterrupt, SystemExit: not ours to wrap
        if cause is not None:
            detail = "Python exception in %s: %s: %s" % (
                cause.where, type(cause.exc).__name__, cause.exc)
        err = make_error(rc, function, errmsg, detail)
        if cause is not None:
            raise err from cause.exc
        raise err


class VecEnv(_Handle):
    """A batch of Python environments stepped by libfpo (``fpo_vecenv``).

    ``VecEnv(env, num_envs=1, threads=1, seed=0)`` where ``env`` is a class or
    zero-argument factory (see :class:`Env`).  :meth:`reset` returns a list of
    observation rows, :meth:`step` a :class:`StepResult`; finished episodes
    are reset automatically.  Useful to evaluate a policy with a Sampler.
    """

    _destroy = "fpo_vecenv_destroy"
    _errmsg = "fpo_vecenv_errmsg"
    _what = "vecenv"

    def __init__(self, env, num_envs=1, threads=1, seed=0, obs_dim=None, act_dim=None,
                 action_low=None, action_high=None):
        self._h = None
        self._bridge = _EnvBridge(env, obs_dim, act_dim, action_low, action_high)
        cfg, _ = _ffi.config_init(_ffi.fpo_vecenv_config)
        cfg.table = ctypes.pointer(self._bridge.table)
        cfg.num_envs, cfg.threads, cfg.seed = int(num_envs), int(threads), int(seed)
        h = c_void_p()
        rc = lib.fpo_vecenv_create(byref(h), byref(cfg))
        self._bridge.raise_for(rc, "fpo_vecenv_create", _last_errmsg(rc))
        self._init_handle(h.value)
        self.num_envs = int(num_envs)
        self.obs_dim, self.act_dim = self._bridge.obs_dim, self._bridge.act_dim
        n, od = self.num_envs, self.obs_dim
        self._obs = (c_float * (n * od))()
        self._final = (c_float * (n * od))()
        self._rew = (c_float * n)()
        self._flags = (c_uint * n)()

    @property
    def envs(self):
        """The Python environment objects libfpo created."""
        return self._bridge.instances

    def _call(self, rc, function):
        self._bridge.raise_for(rc, function, _ffi.text(lib.fpo_vecenv_errmsg(self._h)))

    def _rows(self, buf):
        od = self.obs_dim
        return [buf[i * od:(i + 1) * od] for i in range(self.num_envs)]

    def reset(self):
        """Reset every instance; a list of num_envs observations."""
        self._call(lib.fpo_vecenv_reset(self._handle, self._obs), "fpo_vecenv_reset")
        return self._rows(self._obs)

    def step(self, actions):
        """Step every instance with ``actions`` (num_envs rows of act_dim).

        Returns StepResult(obs, rewards, terminated, truncated, final_obs):
        obs holds the reset observation where an episode ended, final_obs its
        last observation there (None elsewhere)."""
        b = rows(actions)
        c = CFloats(b[1] if b else actions, "actions")
        if c.n != self.num_envs * self.act_dim:
            raise ValueError("actions must be num_envs=%d x act_dim=%d"
                             % (self.num_envs, self.act_dim))
        self._call(lib.fpo_vecenv_step(self._handle, c.ptr, self._obs, self._rew, self._flags,
                                       self._final), "fpo_vecenv_step")
        fl = list(self._flags)
        final = self._rows(self._final)
        return StepResult(obs=self._rows(self._obs), rewards=list(self._rew),
                          terminated=[bool(f & _ffi.FPO_STEP_TERMINATED) for f in fl],
                          truncated=[bool(f & _ffi.FPO_STEP_TRUNCATED) for f in fl],
                          final_obs=[final[i] if fl[i] else None for i in range(len(fl))])

    def episode_stats(self):
        """:class:`EpisodeStats` of the episodes finished since the last call."""
        out = _ffi.new_out(_ffi.fpo_episode_stats)
        self._call(lib.fpo_vecenv_take_episode_stats(self._handle, byref(out)),
                   "fpo_vecenv_take_episode_stats")
        return _record(out, EpisodeStats)


# ---- Trainer ------------------------------------------------------------------------

class Trainer(_Handle):
    """The whole training loop (``fpo_trainer``) on Python environments.

    ::

        t = Trainer(PendulumEnv, algo="ppo", num_envs=8, horizon=32, seed=1,
                    policy=dict(actor_hidden=[64, 64], actor_activation="tanh"),
                    optimizer=dict(lr=1e-3, epochs=10, minibatches=4))
        t.run(30000, progress=lambda p: print(p.iteration, p.mean_return))
        t.policy.save("pendulum.fpo")

    Arguments:
        env: a class or zero-argument factory of environments (see :class:`Env`).
        algo: "fpo" (a flow policy), "ppo" (a Gaussian policy) or "dppo" (a flow
            policy trained with the denoising-MDP policy gradient).
        policy, sampler, optimizer: dicts of options for the component configs
            (field names of fpo_policy_config, fpo_sampler_config,
            fpo_optimizer_config).  The trainer fills in sizes, seeds, action
            bounds and threads itself.  With algo="ppo" the policy kind
            defaults to "gaussian".
        progress: the default progress callback of :meth:`run`.
        num_envs, horizon, threads, seed, n_mc, t_dist, lr_schedule, critic_warmup:
            fpo_trainer_config fields.
        init_policy: a :class:`Policy` to start from (e.g. after
            :meth:`Policy.pretrain`); it must have the networks the policy
            options give. Read at create only.
        obs_dim, act_dim, action_low, action_high: override what the env class says.

    Threads: keep ``threads=1`` (the default) with Python environments.
    libfpo would call the environment from its worker threads; ctypes takes
    the GIL for every callback, so that works, but the callbacks run one at a
    time anyway and the GIL hand-offs cost more than they save.  ``threads``
    also sets the update's threads, which do not involve Python, so
    ``threads > 1`` can still pay off when the update dominates.
    """

    _destroy = "fpo_trainer_destroy"
    _errmsg = "fpo_trainer_errmsg"
    _what = "trainer"

    def __init__(self, env, *, algo="fpo", policy=None, sampler=None, optimizer=None,
                 progress=None, obs_dim=None, act_dim=None, action_low=None,
                 action_high=None, init_policy=None, **options):
        self._h = None
        self._bridge = _EnvBridge(env, obs_dim, act_dim, action_low, action_high)
        algo_v = _enum_value("algo", algo, "algo")
        self.algo = _enum_name("algo", algo_v)
        popts = dict(policy or {})
        if "kind" not in popts:
            popts["kind"] = "gaussian" if algo_v == _ffi.ENUMS["algo"]["ppo"] else "flow"
        for k in ("obs_dim", "act_dim", "action_low", "action_high", "seed"):
            if k in popts:
                raise TypeError("policy option %r is set by the trainer from the env" % k)
        self._pcfg, k1 = policy_config(**popts)
        self._ocfg, k2 = optimizer_config(algo_v, **(optimizer or {}))
        self._scfg, k3 = sampler_config(**sampler) if sampler is not None else (None, [])
        self._keep = k1 + k2 + k3
        cfg, _ = _ffi.config_init(_ffi.fpo_trainer_config)
        self._keep += _fill(cfg, options, _TRAINER_ENUMS, "trainer", _TRAINER_OPTIONS)
        cfg.env = ctypes.pointer(self._bridge.table)
        cfg.policy = ctypes.pointer(self._pcfg)
        cfg.optimizer = ctypes.pointer(self._ocfg)
        cfg.sampler = ctypes.pointer(self._scfg) if self._scfg is not None else None
        if init_policy is not None:
            if not isinstance(init_policy, Policy):
                raise TypeError("init_policy must be a Policy")
            cfg.init_policy = init_policy._handle
        # The callback is fixed at create; it dispatches to the callable of the
        # current run() call.
        self._progress_default = progress
        self._progress_fn = None
        self._progress_error = None
        self._progress_c = _ffi.PROGRESS_FN(self._on_progress)
        cfg.progress = self._progress_c
        self._cfg = cfg
        self._policy = None
        self._optimizer = None
        h = c_void_p()
        rc = lib.fpo_trainer_create(byref(h), byref(cfg))
        self._bridge.raise_for(rc, "fpo_trainer_create", _last_errmsg(rc))
        self._init_handle(h.value)
        self.num_envs, self.horizon = cfg.num_envs, cfg.horizon

    def _call(self, rc, function):
        self._bridge.raise_for(rc, function, _ffi.text(lib.fpo_trainer_errmsg(self._h)))

    def _on_progress(self, user, pr):
        try:
            fn = self._progress_fn
            if fn is None:
                return 0
            return 1 if fn(_record(pr.contents, Progress)) else 0
        except BaseException as exc:
            self._progress_error = exc
            return 1

    def iterate(self):
        """One iteration (rollout of horizon steps in every env + update).

        Returns a :class:`Progress`.  On an environment error the iteration's
        data is discarded, the policy is unchanged and the environments are
        reset on the next call, so the trainer stays usable."""
        out = _ffi.new_out(_ffi.fpo_progress)
        self._call(lib.fpo_trainer_iterate(self._handle, byref(out)), "fpo_trainer_iterate")
        return _record(out, Progress)

    def run(self, total_steps, progress=None):
        """Iterate until the trainer has taken at least ``total_steps``
        environment steps in all (counted from creation, like fpo_trainer_run:
        ``run(n)`` twice does not train twice; use ``run(t.env_steps + n)``).

        ``progress(p)`` (or the constructor's) is called with a
        :class:`Progress` after every iteration; a truthy return stops the
        run; an exception stops it and is re-raised here."""
        fn = progress if progress is not None else self._progress_default
        self._progress_fn, self._progress_error = fn, None
        try:
            rc = lib.fpo_trainer_run(self._handle, int(total_steps))
        finally:
            self._progress_fn = None
        if self._progress_error is not None:
            exc, self._progress_error = self._progress_error, None
            self._bridge.errors = []
            raise exc
        self._call(rc, "fpo_trainer_run")

    def save(self, path):
        """Save everything training needs to continue (policy, optimizer state
        and tunables, random streams, counters) to ``path``, atomically
        (``fpo_trainer_save``).  Call between iterations."""
        self._call(lib.fpo_trainer_save(self._handle, os.fsencode(path)), "fpo_trainer_save")

    def restore(self, path):
        """Restore a state written by :meth:`save` into a trainer made with the
        same configuration (:class:`MismatchError` otherwise; the trainer is
        unchanged on any error).  Python environments cannot be saved: every
        environment starts a new episode at the next iteration."""
        self._call(lib.fpo_trainer_restore(self._handle, os.fsencode(path)),
                   "fpo_trainer_restore")

    @property
    def policy(self):
        """The trained :class:`Policy` (owned by the trainer; valid until close)."""
        if self._policy is None:
            self._policy = Policy._wrap(lib.fpo_trainer_policy(self._handle), owner=self)
        return self._policy

    @property
    def optimizer(self):
        """The trainer's :class:`Optimizer` (tunables by key name)."""
        if self._optimizer is None:
            self._optimizer = Optimizer._wrap(lib.fpo_trainer_optimizer(self._handle), owner=self)
        return self._optimizer

    @property
    def env_steps(self):
        """Environment steps taken so far."""
        return int(lib.fpo_trainer_env_steps(self._handle))

    @property
    def envs(self):
        """The Python environment objects libfpo created (for inspection)."""
        return self._bridge.instances


__all__ = ["Record", "PolicyInfo", "UpdateStats", "EpisodeStats", "Progress", "KeyInfo",
           "PretrainStats",
           "StepResult", "version", "version_number", "version_info", "Policy", "Sampler",
           "Optimizer", "optimizer_keys", "Env", "VecEnv", "Trainer", "FpoError"]
