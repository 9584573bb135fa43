"""Tests of the libfpo Python binding (unittest, standard library only).

Run with the shared library named by FPO_LIBRARY and python/ on PYTHONPATH:

    FPO_LIBRARY=build/libfpo/libfpo.so.1 PYTHONPATH=python \\
        python3 -m unittest discover -s python/tests -v

`meson test --suite bindings` runs it against the package as `pip install`
installs it (tests/python_installed.sh). Without python/ on PYTHONPATH and no
installed package, the source tree next to this file is used.
"""

import array
import ctypes
import math
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
try:  # the installed package, or python/ on PYTHONPATH
    import libfpo  # noqa: E402
    _found = hasattr(libfpo, "Trainer")  # not the C sources' libfpo/ directory
except ModuleNotFoundError:
    _found = False
if not _found:  # the source tree next to this file
    sys.modules.pop("libfpo", None)
    sys.path.insert(0, os.path.dirname(HERE))
    import libfpo  # noqa: E402
from libfpo import _ffi  # noqa: E402

try:
    import numpy
except ImportError:
    numpy = None

TIMINGS = {}


def tearDownModule():
    if TIMINGS:
        sys.stderr.write("\ntimings: " + ", ".join("%s %.2fs" % kv for kv in TIMINGS.items())
                         + "\n")


# ---- a pure-Python Pendulum (gym Pendulum-v1 dynamics, /work/shared/TASKS.md) ----

class Pendulum(libfpo.Env):
    """theta'' = 3g/(2l) sin th + 3/(m l^2) u; g = 10, m = l = 1, dt = .05."""

    obs_dim, act_dim = 3, 1
    action_low, action_high = [-2.0], [2.0]
    max_steps = 200

    def reset(self, seed):
        rng = random.Random(seed)
        self.th = rng.uniform(-math.pi, math.pi)
        self.thdot = rng.uniform(-1.0, 1.0)
        self.t = 0
        return self._obs()

    def _obs(self):
        return [math.cos(self.th), math.sin(self.th), self.thdot]

    def step(self, action):
        g, m, l, dt = 10.0, 1.0, 1.0, 0.05
        u = min(2.0, max(-2.0, action[0]))
        an = (self.th + math.pi) % (2.0 * math.pi) - math.pi
        cost = an * an + 0.1 * self.thdot * self.thdot + 0.001 * u * u
        thdot = self.thdot + (3.0 * g / (2.0 * l) * math.sin(self.th) + 3.0 / (m * l * l) * u) * dt
        self.thdot = min(8.0, max(-8.0, thdot))
        self.th += self.thdot * dt
        self.t += 1
        return self._obs(), -cost, False, self.t >= self.max_steps


SMALL_NETS = dict(actor_hidden=[64, 64], actor_activation="tanh",
                  critic_hidden=[64, 64], critic_activation="tanh")
PENDULUM_OPT = dict(lr=1e-3, epochs=10, minibatches=4, gamma=0.99, gae_lambda=0.95,
                    reward_scale=0.1, entropy_coef=0.0)


def pendulum_trainer(algo="fpo", seed=1, num_envs=8, horizon=32, env=Pendulum, **kw):
    opt = dict(PENDULUM_OPT, clip_eps=0.2 if algo == "ppo" else 0.05)
    opt.update(kw.pop("optimizer", {}))
    return libfpo.Trainer(env, algo=algo, num_envs=num_envs, horizon=horizon, seed=seed,
                          policy=dict(SMALL_NETS), optimizer=opt, **kw)


def c_min_size(call, cls):
    """The smallest struct_size an output call accepts (the first ABI's sizeof
    of cls's C struct, docs/abi.md), and a check that a call with struct_size
    = ctypes.sizeof(cls) writes nothing past it."""
    n = ctypes.sizeof(cls)
    buf = ctypes.create_string_buffer(b"\xa5" * (n + 64), n + 64)
    ctypes.c_size_t.from_buffer(buf).value = n
    rc = call(ctypes.cast(buf, ctypes.POINTER(cls)))
    if rc:
        raise AssertionError("call failed with %d" % rc)
    if buf.raw[n:] != b"\xa5" * 64:
        raise AssertionError("the library wrote past struct_size %d" % n)
    lo, hi = ctypes.sizeof(ctypes.c_size_t), n  # refused at lo - 1 .. accepted at hi
    while lo < hi:
        mid = (lo + hi) // 2
        b = ctypes.create_string_buffer(n + 64)
        ctypes.c_size_t.from_buffer(b).value = mid
        if call(ctypes.cast(b, ctypes.POINTER(cls))) == 0:
            hi = mid
        else:
            lo = mid + 1
    return lo


def read_layouts(path):
    """{struct: (size_bits, [(member, offset_bits, size_bits)])} from a layout
    file of tests/check_struct_growth.py, and its architecture."""
    structs, cur, arch = {}, None, ""
    with open(path) as f:
        for line in f:
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            if w[0] == "arch":
                arch = w[1] if len(w) > 1 else ""
            elif w[0] == "struct":
                cur = w[1]
                structs[cur] = (int(w[2]), [])
            else:
                structs[cur][1].append((w[0], int(w[1]), int(w[2])))
    return structs, arch


V1_LAYOUTS = os.path.join(HERE, "..", "..", "abi", "v1", "layout.txt")


def ctypes_layout(cls):
    return [(name, getattr(cls, name).offset * 8, getattr(cls, name).size * 8)
            for name, _ in cls._fields_]


class VersionTest(unittest.TestCase):
    def test_version_matches_header(self):
        header = os.path.join(HERE, "..", "..", "include", "fpo", "version.h")
        with open(header) as f:
            text = f.read()
        major, minor, patch = (int(re.search(r"#define FPO_VERSION_%s (\d+)" % k, text).group(1))
                               for k in ("MAJOR", "MINOR", "PATCH"))
        string = re.search(r'#define FPO_VERSION_STRING "([^"]+)"', text).group(1)
        self.assertEqual(libfpo.version(), "%d.%d.%d" % (major, minor, patch))
        self.assertEqual(libfpo.version(), string)
        self.assertEqual(libfpo.__version__, string)
        self.assertEqual(libfpo.version_number(), (major << 16) | (minor << 8) | patch)
        self.assertEqual(libfpo.version_info(), (major, minor, patch))

    def test_strerror(self):
        self.assertIn("callback", libfpo.strerror(libfpo.ECALLBACK))
        self.assertTrue(libfpo.strerror(-9999))  # never NULL


class LayoutTest(unittest.TestCase):
    """The ctypes Structures must match the C layouts byte for byte."""

    def test_layouts_match_the_c_structs(self):
        # Every ctypes Structure against the C layout from the library's DWARF
        # (FPO_LAYOUTS, written by the build with abidw) or, without it, the
        # frozen first-ABI layouts (x86-64 only).
        path = os.environ.get("FPO_LAYOUTS") or V1_LAYOUTS
        layouts, arch = read_layouts(path)
        if arch and "x86_64" not in arch and path == V1_LAYOUTS:
            self.skipTest("frozen layouts are for %s" % arch)
        # The buffer view and the collective table are not wrapped by the
        # binding (no Python API hands them out); every other struct is.
        unwrapped = {"fpo_buffer_view", "fpo_collective"}
        checked = 0
        for name, (size, members) in layouts.items():
            cls = getattr(_ffi, name, None)
            if name in unwrapped and cls is None:
                continue
            self.assertIsNotNone(cls, "the binding has no %s" % name)
            with self.subTest(name):
                self.assertEqual(ctypes.sizeof(cls) * 8, size)
                self.assertEqual(ctypes_layout(cls), members)
                checked += 1
        self.assertGreaterEqual(checked, 13)

    def test_config_inits_fill_our_size(self):
        cases = [(_ffi.fpo_policy_config, ()), (_ffi.fpo_sampler_config, ()),
                 (_ffi.fpo_buffer_config, ()), (_ffi.fpo_optimizer_config, (0,)),
                 (_ffi.fpo_optimizer_config, (1,)), (_ffi.fpo_vecenv_config, ()),
                 (_ffi.fpo_trainer_config, ()), (_ffi.fpo_export_config, ()),
                 (_ffi.fpo_pretrain_config, ())]
        for cls, args in cases:
            with self.subTest(cls.__name__):
                cfg, size = _ffi.config_init(cls, *args)
                self.assertEqual(size, ctypes.sizeof(cls))
                self.assertEqual(cfg.struct_size, ctypes.sizeof(cls))

    def test_sized_init_never_writes_past_the_size(self):
        # A larger struct (a newer binding): the library's defaults, then zeros
        # for the fields it does not know, and nothing past the size given.
        lib = _ffi.lib
        n = ctypes.sizeof(_ffi.fpo_trainer_config)
        buf = ctypes.create_string_buffer(b"\xa5" * (n + 64))
        self.assertEqual(lib.fpo_trainer_config_init_sized(buf, n + 32), 0)
        raw = buf.raw
        self.assertEqual(ctypes.c_size_t.from_buffer_copy(raw[:8]).value, n + 32)
        self.assertEqual(raw[n:n + 32], bytes(32))
        self.assertEqual(raw[n + 32:n + 64], b"\xa5" * 32)
        # Below any release's size: refused with a message, nothing written.
        small = ctypes.create_string_buffer(b"\xa5" * 16)
        self.assertEqual(lib.fpo_trainer_config_init_sized(small, 16), -1)
        self.assertIn("fpo_trainer_config", _ffi.text(lib.fpo_last_errmsg()))
        self.assertEqual(small.raw[:16], b"\xa5" * 16)

    def test_newer_struct_tail_zero_accepted_nonzero_refused(self):
        # The binding of a newer libfpo passes a larger policy config; a field
        # this library does not know is accepted at zero and refused otherwise.
        lib = _ffi.lib
        n = ctypes.sizeof(_ffi.fpo_policy_config)

        class Newer(ctypes.Structure):
            _fields_ = [("c", _ffi.fpo_policy_config), ("future", ctypes.c_double)]

        cfg = Newer()
        self.assertEqual(lib.fpo_policy_config_init_sized(ctypes.byref(cfg), ctypes.sizeof(cfg)), 0)
        self.assertEqual(cfg.c.struct_size, ctypes.sizeof(Newer))
        self.assertGreater(ctypes.sizeof(Newer), n)
        cfg.c.obs_dim, cfg.c.act_dim = 3, 1
        h = ctypes.c_void_p()
        self.assertEqual(lib.fpo_policy_create(ctypes.byref(h), ctypes.byref(cfg.c)), 0)
        lib.fpo_policy_destroy(h)
        cfg.future = 2.0
        self.assertEqual(lib.fpo_policy_create(ctypes.byref(h), ctypes.byref(cfg.c)), -9)
        self.assertIn("fpo_policy_config", _ffi.text(lib.fpo_last_errmsg()))
        self.assertEqual(lib.fpo_optimizer_key_count(), len(libfpo.optimizer_keys()))

    def test_output_struct_sizes(self):
        # Each getter accepts exactly the structs of the first ABI's size or
        # larger, and writes nothing past the size it is given.
        v1 = {k: v[0] // 8 for k, v in read_layouts(V1_LAYOUTS)[0].items()}
        lib = _ffi.lib
        p = libfpo.Policy(3, 1)
        venv = libfpo.VecEnv(Pendulum, num_envs=2)
        t = pendulum_trainer(num_envs=2, horizon=8)
        calls = [(lambda o: lib.fpo_policy_get_info(p._handle, o), _ffi.fpo_policy_info),
                 (lambda o: lib.fpo_policy_get_config(p._handle, o), _ffi.fpo_policy_config),
                 (lambda o: lib.fpo_optimizer_key_info(0, o), _ffi.fpo_key_info),
                 (lambda o: lib.fpo_vecenv_take_episode_stats(venv._handle, o),
                  _ffi.fpo_episode_stats),
                 (lambda o: lib.fpo_trainer_iterate(t._handle, o), _ffi.fpo_progress)]
        for call, cls in calls:
            with self.subTest(cls.__name__):
                self.assertEqual(c_min_size(call, cls), v1[cls.__name__])
        # the nested structs carry their C sizes
        out = _ffi.new_out(_ffi.fpo_progress)
        self.assertEqual(lib.fpo_trainer_iterate(t._handle, ctypes.byref(out)), 0)
        self.assertEqual(out.episodes.contents.struct_size, ctypes.sizeof(_ffi.fpo_episode_stats))
        self.assertEqual(out.update.contents.struct_size, ctypes.sizeof(_ffi.fpo_update_stats))
        # the update stats are what fpo_optimizer_update writes (copy_out extent)
        self.assertEqual(out.update.contents.steps, 10 * 4)  # epochs x minibatches
        self.assertGreater(out.iteration, 1)
        self.assertEqual(out.env_steps, out.iteration * 2 * 8)

    def test_defaults_read_at_the_right_offsets(self):
        cfg, _ = _ffi.config_init(_ffi.fpo_policy_config)
        self.assertEqual(cfg.kind, 0)
        self.assertEqual((cfg.actor_layers, list(cfg.actor_hidden)[:4]), (4, [32] * 4))
        self.assertEqual((cfg.critic_layers, list(cfg.critic_hidden)[:5]), (5, [256] * 5))
        self.assertAlmostEqual(cfg.flow_output_scale, 0.25)
        self.assertAlmostEqual(cfg.init_std, 1.0)
        self.assertAlmostEqual(cfg.min_std, 1e-3, places=6)
        self.assertEqual(cfg.normalize_obs, 1)
        self.assertAlmostEqual(cfg.obs_clip, 10.0)
        self.assertAlmostEqual(cfg.raw_clip, 3.0)
        self.assertFalse(cfg.action_low)
        s, _ = _ffi.config_init(_ffi.fpo_sampler_config)
        self.assertEqual((s.integrator, s.steps, s.init_noise, s.deterministic, s.max_batch),
                         (3, 10, 0, 0, 1))  # integrator AUTO (midpoint; Euler for DPPO)
        o, _ = _ffi.config_init(_ffi.fpo_optimizer_config, 0)
        self.assertEqual(o.algo, 0)
        self.assertAlmostEqual(o.lr, 3e-4, places=8)
        self.assertAlmostEqual(o.adam_beta2, 0.999, places=6)
        self.assertAlmostEqual(o.clip_eps, 0.05, places=6)
        self.assertAlmostEqual(o.gamma, 0.995, places=6)
        self.assertAlmostEqual(o.reward_scale, 10.0)
        self.assertEqual((o.epochs, o.minibatches, o.normalize_advantages, o.threads), (2, 8, 1, 1))
        self.assertEqual((o.ratio_mode, o.aspo), (1, 1))
        self.assertAlmostEqual(o.ratio_clamp, 5.0)
        self.assertAlmostEqual(o.bound_coef, 0.0)
        self.assertAlmostEqual(o.bound, 3.0)
        self.assertAlmostEqual(o.spike_clip, 4.0)
        self.assertAlmostEqual(o.anchor_coef, 0.1, places=6)
        o, _ = _ffi.config_init(_ffi.fpo_optimizer_config, 1)
        self.assertEqual(o.algo, 1)
        self.assertAlmostEqual(o.clip_eps, 0.1, places=6)
        self.assertAlmostEqual(o.entropy_coef, 0.01, places=6)
        t, _ = _ffi.config_init(_ffi.fpo_trainer_config)
        self.assertEqual((t.num_envs, t.horizon, t.threads, t.n_mc, t.t_dist), (16, 64, 1, 8, 1))
        self.assertFalse(t.env)
        self.assertFalse(t.progress)

    def test_policy_config_round_trip(self):
        opts = dict(kind="gaussian", actor_hidden=[7, 9, 11], actor_activation="relu",
                    critic_hidden=[13, 15], critic_activation="tanh", flow_output_scale=0.5,
                    time_embedding="raw", std_mode="state_dependent", init_std=0.7,
                    min_std=0.01, squash="clip", normalize_obs=False, obs_clip=5.0, seed=77,
                    raw_clip=2.5)
        p = libfpo.Policy(5, 2, **opts)
        got = p.config
        self.assertEqual(got["obs_dim"], 5)
        self.assertEqual(got["act_dim"], 2)
        self.assertEqual(got["actor_layers"], 3)
        self.assertEqual(got["critic_layers"], 2)
        for k, v in opts.items():
            with self.subTest(k):
                if isinstance(v, float):
                    self.assertAlmostEqual(got[k], v, places=6)
                else:
                    self.assertEqual(got[k], int(v) if isinstance(v, bool) else v)
        info = p.info
        self.assertEqual((info.kind, info.obs_dim, info.act_dim, info.obs_count),
                         ("gaussian", 5, 2, 0))
        # actor 5-7-9-11-(2 mean + 2 std head), critic 5-13-15-1
        self.assertEqual(info.critic_params, 5 * 13 + 13 + 13 * 15 + 15 + 15 + 1)


class PolicyTest(unittest.TestCase):
    def test_params_clone_and_bytes(self):
        p = libfpo.Policy(3, 1, seed=3, actor_hidden=16, critic_hidden=[8])
        self.assertEqual(p.config["actor_hidden"], [16] * 4)
        self.assertEqual(p.config["critic_hidden"], [8])
        n = p.param_count()
        self.assertEqual(n, p.param_count("actor") + p.param_count("critic"))
        params = p.get_params()
        self.assertIsInstance(params, array.array)
        self.assertEqual(len(params), n)
        q = p.clone()
        self.assertEqual(q.get_params(), params)
        new = array.array("f", [0.001 * i for i in range(p.param_count("critic"))])
        q.set_params(new, net="critic")
        self.assertEqual(q.get_params("critic"), new)
        self.assertEqual(p.get_params("critic"), params[p.param_count("actor"):])  # p untouched
        q.set_params([float(v) for v in params])  # plain list
        self.assertEqual(q.get_params(), params)
        r = libfpo.Policy.from_bytes(p.to_bytes())
        self.assertEqual(r.get_params(), params)
        with self.assertRaises(libfpo.FpoError) as cm:
            q.set_params([0.0] * 3)
        self.assertIn(cm.exception.code, (libfpo.ESIZE, libfpo.EINVAL))
        self.assertTrue(cm.exception.errmsg)

    def test_obs_statistics(self):
        p = libfpo.Policy(2, 1)
        p.obs_accumulate([[1.0, 10.0], [3.0, 30.0]])
        p.obs_commit()
        mean, std = p.obs_stats()
        self.assertAlmostEqual(mean[0], 2.0, places=5)
        self.assertAlmostEqual(mean[1], 20.0, places=4)
        self.assertEqual(p.info.obs_count, 2)

    def test_bad_options(self):
        with self.assertRaises(TypeError):
            libfpo.Policy(3, 1, no_such_option=1)
        with self.assertRaises(ValueError):
            libfpo.Policy(3, 1, kind="diffusion")
        with self.assertRaises(libfpo.FpoError) as cm:
            libfpo.Policy(0, 1)
        self.assertIn(cm.exception.code, (libfpo.EINVAL, libfpo.ERANGE))

    def test_load_errors(self):
        with tempfile.TemporaryDirectory() as d:
            with self.assertRaises(libfpo.FileError) as cm:
                libfpo.Policy.load(os.path.join(d, "missing.fpo"))
            self.assertEqual(cm.exception.code, libfpo.EIO)
            bad = os.path.join(d, "bad.fpo")
            with open(bad, "wb") as f:
                f.write(b"not a checkpoint at all" * 10)
            with self.assertRaises(libfpo.FormatError) as cm:
                libfpo.Policy.load(bad)
            self.assertTrue(cm.exception.errmsg)
        with self.assertRaises(libfpo.FpoError):
            libfpo.Policy.from_bytes(b"\0" * 64)

    def test_closed_handles(self):
        p = libfpo.Policy(3, 1)
        p.close()
        with self.assertRaises(ValueError):
            p.get_params()
        t = pendulum_trainer(num_envs=2, horizon=8)
        pol = t.policy
        pol.get_params()
        t.close()
        with self.assertRaises(ValueError):
            pol.get_params()


class SamplerTest(unittest.TestCase):
    def test_shapes(self):
        p = libfpo.Policy(3, 2, action_low=[-2, 0], action_high=[2, 5], seed=2)
        s = libfpo.Sampler(p, max_batch=4, seed=1)
        a = s.act([0.1, 0.2, 0.3])
        self.assertIsInstance(a, list)
        self.assertEqual(len(a), 2)
        self.assertTrue(-2 <= a[0] <= 2 and 0 <= a[1] <= 5)
        batch = [[0.1 * i, 0.2, -0.3] for i in range(10)]  # > max_batch: chunked
        acts = s.act(batch)
        self.assertEqual((len(acts), len(acts[0])), (10, 2))
        flat = array.array("f", [v for row in batch for v in row])
        fa = s.act(flat)
        self.assertIsInstance(fa, array.array)
        self.assertEqual(len(fa), 20)
        acts, raw = s.act(batch, raw=True)
        self.assertEqual(len(raw), 10)
        v = s.value([0.1, 0.2, 0.3])
        self.assertIsInstance(v, float)
        vs = s.value(batch)
        self.assertEqual(len(vs), 10)
        self.assertAlmostEqual(vs[0], s.value(batch[0]), places=5)
        with self.assertRaises(ValueError):
            s.act([1.0, 2.0])

    def test_action_chunks(self):
        p = libfpo.Policy(3, 2, action_low=[-2, 0], action_high=[2, 5], seed=2, chunk=4)
        self.assertEqual(p.chunk, 4)
        self.assertEqual(p.config["chunk"], 4)
        s = libfpo.Sampler(p, max_batch=2, seed=1)
        a = s.act([0.1, 0.2, 0.3])
        self.assertEqual(len(a), 8)  # the whole chunk: 4 actions of 2
        for j in range(4):
            self.assertTrue(-2 <= a[2 * j] <= 2 and 0 <= a[2 * j + 1] <= 5)
        self.assertEqual(libfpo.Policy(3, 2).chunk, 1)
        self.assertEqual(libfpo.Policy.from_bytes(p.to_bytes()).chunk, 4)
        with self.assertRaises(libfpo.RangeError):
            libfpo.Policy(3, 2, chunk=65)

    def test_deterministic_is_deterministic(self):
        for kind in ("flow", "gaussian"):
            p = libfpo.Policy(3, 1, kind=kind, seed=5)
            s1 = libfpo.Sampler(p, deterministic=True, seed=1)
            s2 = libfpo.Sampler(p, deterministic=True, seed=2)
            obs = [0.3, -0.2, 0.5]
            self.assertEqual(s1.act(obs), s2.act(obs))
            r = libfpo.Sampler(p, seed=9)
            first = [r.act(obs) for _ in range(5)]
            self.assertGreater(len(set(tuple(a) for a in first)), 1)  # random draws differ
            r.reseed(9)
            self.assertEqual([r.act(obs) for _ in range(5)], first)

    def test_correlated_noise(self):
        # noise_corr: the same first draw as fresh noise, then a different one
        # (the row's noise carries over); reseed restarts the row's process.
        p = libfpo.Policy(3, 1, seed=5)
        obs = [0.3, -0.2, 0.5]
        fresh = libfpo.Sampler(p, seed=9)
        held = libfpo.Sampler(p, seed=9, noise_corr=0.9)
        self.assertEqual(held.act(obs), fresh.act(obs))
        second = held.act(obs)
        self.assertNotEqual(second, fresh.act(obs))
        held.reseed(9)
        held.act(obs)
        self.assertEqual(held.act(obs), second)
        with self.assertRaises(libfpo.RangeError) as cm:
            libfpo.Sampler(p, noise_corr=1.0)
        self.assertIn("noise_corr", str(cm.exception))

    def test_nonfinite_observation(self):
        p = libfpo.Policy(3, 1)
        s = libfpo.Sampler(p)
        with self.assertRaises(libfpo.NonFiniteError) as cm:
            s.act([float("nan"), 0.0, 0.0])
        e = cm.exception
        self.assertEqual(e.code, libfpo.ENONFINITE)
        self.assertEqual(e.name, "FPO_ENONFINITE")
        self.assertEqual(e.function, "fpo_sampler_act")
        self.assertTrue(e.errmsg)
        self.assertIn(e.errmsg, str(e))
        self.assertEqual(len(s.act([0.0, 0.0, 0.0])), 1)  # still usable


class TrainingTest(unittest.TestCase):
    def test_ppo_pendulum_improves(self):
        t0 = time.time()
        t = pendulum_trainer("ppo", seed=1)
        seen = []
        t.run(30000, progress=seen.append)
        TIMINGS["ppo pendulum 30k"] = time.time() - t0
        self.assertGreaterEqual(t.env_steps, 30000)
        self.assertEqual(seen[-1].env_steps, t.env_steps)
        self.assertEqual(seen[-1].total_steps, 30000)
        self.assertEqual([p.iteration for p in seen], list(range(1, len(seen) + 1)))
        returns = [p.episodes.mean_return for p in seen if p.episodes.episodes > 0]
        self.assertGreaterEqual(len(returns), 10)
        first, last = sum(returns[:3]) / 3, sum(returns[-3:]) / 3
        # untrained: about -1200; 30k steps of PPO reach about -250 .. -550
        self.assertGreater(last, first + 300, "returns %s" % returns)
        self.assertEqual(t.policy.kind, "gaussian")
        self.assertGreater(seen[-1].update.entropy, -10)

    def test_fpo_pendulum_runs(self):
        t0 = time.time()
        t = pendulum_trainer("fpo", seed=2, n_mc=8)
        seen = []
        t.run(12000, progress=seen.append)
        TIMINGS["fpo pendulum 12k"] = time.time() - t0
        self.assertEqual(t.policy.kind, "flow")
        for p in seen:
            u = p.update
            for v in (u.ratio_mean, u.ratio_min, u.ratio_max, u.cfm_loss, u.policy_loss,
                      u.value_loss, u.approx_kl, u.clip_fraction):
                self.assertTrue(math.isfinite(v), p)
            self.assertTrue(u.ratio_min <= u.ratio_mean <= u.ratio_max)
            self.assertTrue(0.5 < u.ratio_mean < 2.0)
            self.assertGreater(u.cfm_loss, 0.0)
            self.assertEqual(u.skipped_steps, 0)
        self.assertEqual(seen[0].update.steps, 10 * 4)
        self.assertEqual(t.optimizer.step_count, len(seen) * 10 * 4)

    def test_chunked_trainer_runs(self):
        t = libfpo.Trainer(Pendulum, algo="ppo", num_envs=4, horizon=8, seed=3,
                           policy=dict(SMALL_NETS, chunk=4), optimizer=dict(PENDULUM_OPT))
        t.run(4 * 8 * 4)
        self.assertEqual(t.env_steps, 4 * 8 * 4)  # 4 environment steps per query
        self.assertEqual(t.policy.chunk, 4)

    def test_iterate_progress_and_stop(self):
        t = pendulum_trainer("fpo", num_envs=2, horizon=16)
        p = t.iterate()
        self.assertIsInstance(p, libfpo.Progress)
        self.assertEqual((p.iteration, p.env_steps, p.total_steps), (1, 32, 0))
        self.assertIsInstance(p.update, libfpo.UpdateStats)
        self.assertIn("ratio_mean", p.as_dict()["update"])
        calls = []
        t.run(10 ** 6, progress=lambda pr: calls.append(pr.iteration) or True)  # stop at once
        self.assertEqual(calls, [2])
        self.assertEqual(t.env_steps, 64)

        def bad(pr):
            raise ZeroDivisionError("from progress")
        with self.assertRaises(ZeroDivisionError):
            t.run(10 ** 6, progress=bad)
        self.assertEqual(t.env_steps, 96)
        t.run(t.env_steps + 32)  # no callback: fine
        self.assertEqual(t.env_steps, 128)

    def test_save_reload_identical_actions(self):
        for algo in ("fpo", "ppo", "dppo"):
            with self.subTest(algo):
                t = pendulum_trainer(algo, num_envs=4, horizon=32)
                t.run(512)
                pol = t.policy
                self.assertGreater(pol.info.obs_count, 0)
                with tempfile.TemporaryDirectory() as d:
                    path = os.path.join(d, "pendulum.fpo")
                    pol.save(path)
                    loaded = libfpo.Policy.load(path)
                self.assertEqual(loaded.get_params(), pol.get_params())
                self.assertEqual(loaded.obs_stats(), pol.obs_stats())
                rng = random.Random(4)
                obs = [[math.cos(a), math.sin(a), rng.uniform(-8, 8)]
                       for a in (rng.uniform(-math.pi, math.pi) for _ in range(50))]
                s1 = libfpo.Sampler(pol, deterministic=True, max_batch=50)
                s2 = libfpo.Sampler(loaded, deterministic=True, max_batch=50)
                a1, a2 = s1.act(obs), s2.act(obs)
                self.assertEqual(a1, a2)
                self.assertGreater(len(set(a[0] for a in a1)), 10)  # not a constant policy
                self.assertEqual(s1.value(obs), s2.value(obs))
                # a sampler made for one policy acts with another of the same shape
                self.assertEqual(s1.act(obs, policy=loaded), a1)
                # and the policy keeps working after the trainer moves on
                t.iterate()
                self.assertNotEqual(t.policy.get_params(), loaded.get_params())

    def test_trainer_checkpoint(self):
        t = pendulum_trainer("fpo", num_envs=2, horizon=16, seed=3)
        t.run(64)
        t.optimizer["lr"] = 7e-4
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "trainer.ckpt")
            t.save(path)
            u = pendulum_trainer("fpo", num_envs=2, horizon=16, seed=3)
            u.restore(path)
            self.assertEqual(u.env_steps, 64)
            self.assertEqual(u.policy.get_params(), t.policy.get_params())
            self.assertAlmostEqual(u.optimizer["lr"], 7e-4, places=8)
            other = pendulum_trainer("fpo", num_envs=3, horizon=16, seed=3)
            with self.assertRaises(libfpo.FpoError) as cm:
                other.restore(path)
            self.assertEqual(cm.exception.code, libfpo.EMISMATCH)
            self.assertEqual(other.env_steps, 0)
        u.iterate()
        self.assertEqual(u.env_steps, 96)

    def test_optimizer_keys(self):
        keys = libfpo.Optimizer.keys()
        for k in ("lr", "clip_eps", "epochs", "minibatches", "gamma", "ratio_clamp"):
            self.assertIn(k, keys)
        self.assertEqual(libfpo.Optimizer.key_info("epochs").type, "int")
        self.assertEqual(libfpo.Optimizer.key_info("lr").type, "float")
        t = pendulum_trainer("ppo", num_envs=2, horizon=16)
        o = t.optimizer
        self.assertAlmostEqual(o["lr"], 1e-3, places=7)
        self.assertEqual(o.get("epochs"), 10)
        self.assertIsInstance(o.get("epochs"), int)
        o["lr"] = 5e-4
        o.set("epochs", 3)
        self.assertAlmostEqual(o.get("lr"), 5e-4, places=8)
        self.assertEqual(o["epochs"], 3)
        self.assertEqual(set(o.as_dict()), set(keys))
        t.iterate()
        self.assertEqual(o.step_count, 3 * 4)
        with self.assertRaises(libfpo.RangeError) as cm:
            o["lr"] = 5.0
        self.assertIn("lr", cm.exception.errmsg)
        with self.assertRaises(libfpo.RangeError):
            o["epochs"] = 2.5
        with self.assertRaises(libfpo.UnknownKeyError):
            o["learning_rate"] = 1.0

    def test_python_threads_in_callbacks(self):
        # libfpo's worker threads call into Python: ctypes takes the GIL.
        t = pendulum_trainer("fpo", num_envs=4, horizon=16, threads=2)
        p = t.iterate()
        self.assertEqual(p.env_steps, 64)
        self.assertEqual(len(t.envs), 4)


class FailingPendulum(Pendulum):
    """Fails on demand: mode is 'raise', 'nan_obs', 'nan_reward', 'short_obs',
    'bad_return', 'interrupt' or None, checked from step number fail_after."""

    mode = None
    fail_after = 5

    def step(self, action):
        obs, r, term, trunc = super().step(action)
        if self.mode is None or self.t < FailingPendulum.fail_after:
            return obs, r, term, trunc
        mode = FailingPendulum.mode
        if mode == "raise":
            raise RuntimeError("boom in the simulator")
        if mode == "nan_obs":
            return [float("nan"), 0.0, 0.0], r, term, trunc
        if mode == "nan_reward":
            return obs, float("inf"), term, trunc
        if mode == "short_obs":
            return obs[:2], r, term, trunc
        if mode == "bad_return":
            return obs
        if mode == "interrupt":
            raise KeyboardInterrupt
        return obs, r, term, trunc


class ErrorTest(unittest.TestCase):
    def setUp(self):
        FailingPendulum.mode = None
        self.t = pendulum_trainer("fpo", num_envs=2, horizon=16, env=FailingPendulum)
        self.t.iterate()

    def tearDown(self):
        FailingPendulum.mode = None

    def assert_usable_after(self, before_params, before_steps):
        t = self.t
        self.assertEqual(t.policy.get_params(), before_params)  # iteration discarded
        self.assertEqual(t.env_steps, before_steps)
        FailingPendulum.mode = None
        p = t.iterate()
        self.assertEqual(t.env_steps, before_steps + 32)
        self.assertTrue(math.isfinite(p.update.ratio_mean))

    def test_exception_in_step(self):
        t = self.t
        before, steps = t.policy.get_params(), t.env_steps
        FailingPendulum.mode = "raise"
        with self.assertRaises(libfpo.CallbackError) as cm:
            t.iterate()
        e = cm.exception
        self.assertEqual(e.code, libfpo.ECALLBACK)
        self.assertIsInstance(e, libfpo.FpoError)
        self.assertIn("step", e.errmsg)
        self.assertIsInstance(e.__cause__, RuntimeError)
        self.assertIn("boom in the simulator", str(e))
        self.assertIn("env.step", str(e))
        self.assert_usable_after(before, steps)

    def test_exception_in_step_during_run(self):
        FailingPendulum.mode = "raise"
        with self.assertRaises(libfpo.CallbackError) as cm:
            self.t.run(10 ** 6)
        self.assertEqual(cm.exception.function, "fpo_trainer_run")
        self.assertIsInstance(cm.exception.__cause__, RuntimeError)

    def test_nan_observation(self):
        before, steps = self.t.policy.get_params(), self.t.env_steps
        FailingPendulum.mode = "nan_obs"
        with self.assertRaises(libfpo.NonFiniteError) as cm:
            self.t.iterate()
        self.assertEqual(cm.exception.code, libfpo.ENONFINITE)
        self.assertIn("NaN", cm.exception.errmsg)
        self.assert_usable_after(before, steps)

    def test_nan_reward(self):
        FailingPendulum.mode = "nan_reward"
        with self.assertRaises(libfpo.NonFiniteError) as cm:
            self.t.iterate()
        self.assertIn("reward", cm.exception.errmsg)

    def test_malformed_step_results(self):
        for mode, cause in (("short_obs", ValueError), ("bad_return", TypeError)):
            with self.subTest(mode):
                before, steps = self.t.policy.get_params(), self.t.env_steps
                FailingPendulum.mode = mode
                with self.assertRaises(libfpo.CallbackError) as cm:
                    self.t.iterate()
                self.assertIsInstance(cm.exception.__cause__, cause)
                self.assert_usable_after(before, steps)

    def test_keyboard_interrupt_propagates_unwrapped(self):
        FailingPendulum.mode = "interrupt"
        with self.assertRaises(KeyboardInterrupt):
            self.t.iterate()
        FailingPendulum.mode = None
        self.t.iterate()

    def test_exception_in_reset_and_create(self):
        class BadReset(Pendulum):
            def reset(self, seed):
                raise OSError("no simulator")
        with self.assertRaises(libfpo.CallbackError) as cm:
            pendulum_trainer(env=BadReset, num_envs=2, horizon=4).iterate()
        self.assertIsInstance(cm.exception.__cause__, OSError)
        self.assertIn("reset", cm.exception.errmsg)

        class BadInit(Pendulum):
            def __init__(self):
                raise MemoryError("cannot make it")
        with self.assertRaises(libfpo.CallbackError) as cm:
            pendulum_trainer(env=BadInit, num_envs=2, horizon=4)
        self.assertIsInstance(cm.exception.__cause__, MemoryError)

    def test_bad_trainer_options(self):
        with self.assertRaises(TypeError):
            pendulum_trainer(bogus=1)
        with self.assertRaises(TypeError):
            pendulum_trainer(policy=dict(obs_dim=4))
        with self.assertRaises(libfpo.FpoError) as cm:
            pendulum_trainer(num_envs=0)
        self.assertEqual(cm.exception.code, libfpo.ERANGE)


class VecEnvTest(unittest.TestCase):
    def test_evaluate_with_sampler(self):
        venv = libfpo.VecEnv(Pendulum, num_envs=3, seed=7)
        self.assertEqual(len(venv.envs), 3)
        policy = libfpo.Policy(3, 1, kind="gaussian", action_low=[-2], action_high=[2])
        s = libfpo.Sampler(policy, deterministic=True, max_batch=3)
        obs = venv.reset()
        self.assertEqual(len(obs), 3)
        total = [0.0] * 3
        for i in range(200):
            r = venv.step(s.act(obs))
            obs = r.obs
            total = [a + b for a, b in zip(total, r.rewards)]
        self.assertEqual(r.truncated, [True] * 3)
        self.assertEqual(r.terminated, [False] * 3)
        self.assertTrue(all(f is not None for f in r.final_obs))
        st = venv.episode_stats()
        self.assertEqual(st.episodes, 3)
        self.assertEqual(st.mean_length, 200)
        self.assertAlmostEqual(st.mean_return, sum(total) / 3, delta=1e-2 * abs(st.mean_return))
        self.assertEqual(venv.episode_stats().episodes, 0)

    def test_errors_and_reset_required(self):
        FailingPendulum.mode, FailingPendulum.fail_after = "nan_obs", 1
        try:
            venv = libfpo.VecEnv(FailingPendulum, num_envs=2)
            venv.reset()
            with self.assertRaises(libfpo.NonFiniteError):
                venv.step([[0.0], [0.0]])
            with self.assertRaises(libfpo.StateError):
                venv.step([[0.0], [0.0]])
            FailingPendulum.mode = None
            venv.reset()
            venv.step([[0.0], [0.0]])
        finally:
            FailingPendulum.mode, FailingPendulum.fail_after = None, 5

    def test_dims_from_instance(self):
        class Dyn:
            def __init__(self):
                self.obs_dim, self.act_dim = 2, 1
                self.closed = False

            def reset(self, seed):
                return [0.0, 1.0]

            def step(self, action):
                return [action[0], 1.0], 1.0, True, False

            def close(self):
                self.closed = True
        venv = libfpo.VecEnv(Dyn, num_envs=2)
        envs = venv.envs
        venv.reset()
        r = venv.step([[0.5], [-0.5]])
        self.assertEqual(r.terminated, [True, True])
        self.assertEqual([f[0] for f in r.final_obs], [0.5, -0.5])
        self.assertEqual(r.obs, [[0.0, 1.0], [0.0, 1.0]])  # auto-reset
        venv.close()
        self.assertTrue(all(e.closed for e in envs))

    def test_success_flag(self):
        class Goal:
            obs_dim, act_dim = 1, 1

            def reset(self, seed):
                self.t = 0
                return [0.0]

            def step(self, action):  # 3-step episodes; success when the action is positive
                self.t += 1
                return [float(self.t)], 0.0, False, self.t >= 3, action[0] > 0
        venv = libfpo.VecEnv(Goal, num_envs=2)
        venv.reset()
        for _ in range(3):
            venv.step([[0.5], [-0.5]])
        st = venv.episode_stats()
        self.assertEqual((st.episodes, st.successes), (2, 1))
        self.assertEqual(libfpo.STEP_SUCCESS, 4)


def linear_rows(n, seed=3):
    """n rows of obs in [-1, 1]^2 and act = 0.8 obs_0 - 0.3 + noise."""
    rng = random.Random(seed)
    obs, act = [], []
    for _ in range(n):
        o = [rng.uniform(-1, 1), rng.uniform(-1, 1)]
        obs.append(o)
        act.append([0.8 * o[0] - 0.3 + 0.05 * rng.gauss(0, 1)])
    return obs, act


class PretrainTest(unittest.TestCase):
    def test_flow_loss_falls_and_callback(self):
        obs, act = linear_rows(400)
        p = libfpo.Policy(2, 1, actor_hidden=[32, 32], seed=1)
        seen = []
        st = p.pretrain(obs, act, epochs=40, minibatch=32,
                        progress=lambda e, tr, va: seen.append((e, tr, va)))
        self.assertIsInstance(st, libfpo.PretrainStats)
        self.assertEqual((st.epochs, st.stopped, st.n_train, st.n_val), (40, 0, 360, 40))
        self.assertEqual([e for e, _, _ in seen], list(range(1, 41)))
        self.assertEqual(seen[-1][2], st.val_loss)
        self.assertLess(st.val_loss, 0.5 * st.first_val_loss)
        self.assertEqual(p.info.obs_count, 360)
        # flat input of the same rows: the same bits (deterministic for a seed)
        q = libfpo.Policy(2, 1, actor_hidden=[32, 32], seed=1)
        st2 = q.pretrain([x for r in obs for x in r], [x for r in act for x in r], epochs=40,
                         minibatch=32)
        self.assertEqual(st2.val_loss, st.val_loss)
        self.assertEqual(p.get_params().tobytes(), q.get_params().tobytes())
        # the callback stops, or raises through
        r = libfpo.Policy(2, 1, seed=2)
        self.assertEqual(r.pretrain(obs, act, epochs=9, progress=lambda e, *_: e == 2).stopped, 1)

        def boom(*_):
            raise KeyError("stop here")
        with self.assertRaises(KeyError):
            r.pretrain(obs, act, epochs=3, progress=boom)

    def test_gaussian_and_options(self):
        obs, act = linear_rows(600)
        p = libfpo.Policy(2, 1, kind="gaussian", seed=1)
        st = p.pretrain(obs, act, epochs=30, lr=3e-3, holdout=0.0, minibatch=100)
        self.assertEqual(st.n_val, 0)
        self.assertTrue(math.isnan(st.val_loss))
        self.assertLess(st.train_loss, st.first_train_loss)
        s = libfpo.Sampler(p, deterministic=True)
        _, raw = s.act([0.5, 0.0], raw=True)
        self.assertAlmostEqual(raw[0], 0.1, delta=0.15)
        f = libfpo.Policy(2, 1, seed=1)
        st = f.pretrain(obs, act, epochs=2, cfm_loss="elbo", t_dist="uniform", n_mc=4)
        self.assertTrue(math.isfinite(st.val_loss))

    def test_errors(self):
        obs, act = linear_rows(50)
        p = libfpo.Policy(2, 1, seed=1)
        bad = [list(r) for r in obs]
        bad[7][1] = float("nan")
        with self.assertRaises(libfpo.NonFiniteError) as cm:
            p.pretrain(bad, act, epochs=1)
        self.assertIn("obs row 7, column 1", cm.exception.errmsg)
        with self.assertRaises(libfpo.RangeError):
            p.pretrain(obs, act, epochs=0)
        with self.assertRaises(libfpo.RangeError):
            p.pretrain(obs[:1], act[:1], epochs=1)
        with self.assertRaises(ValueError):
            p.pretrain(obs, act[:10], epochs=1)
        with self.assertRaises(ValueError):
            p.pretrain([1.0, 2.0, 3.0], act[:1])
        with self.assertRaises(TypeError):
            p.pretrain(obs, act, epoch=3)
        with self.assertRaises(ValueError):
            p.pretrain(obs, act, cfm_loss="nope")

    def test_trainer_init_policy_and_critic_warmup(self):
        obs = [[math.cos(a), math.sin(a), 0.0] for a in (0.1 * i for i in range(200))]
        act = [[0.1 * o[1]] for o in obs]
        p = libfpo.Policy(3, 1, seed=1, **SMALL_NETS)
        p.pretrain(obs, act, epochs=2)
        t = pendulum_trainer(num_envs=2, horizon=16, init_policy=p, critic_warmup=1)
        self.assertEqual(t.policy.get_params().tobytes(), p.get_params().tobytes())
        before = t.policy.get_params("actor").tobytes()
        self.assertEqual(t.iterate().update.ratio_max, 1.0)  # critic only
        self.assertEqual(t.policy.get_params("actor").tobytes(), before)
        t.iterate()
        self.assertNotEqual(t.policy.get_params("actor").tobytes(), before)
        small = libfpo.Policy(3, 1, seed=1)
        with self.assertRaises(libfpo.MismatchError):
            pendulum_trainer(num_envs=2, horizon=16, init_policy=small)

    @unittest.skipIf(numpy is None, "numpy is not installed")
    def test_numpy_arrays(self):
        obs, act = linear_rows(200)
        p = libfpo.Policy(2, 1, seed=1)
        q = libfpo.Policy(2, 1, seed=1)
        a = p.pretrain(numpy.asarray(obs), numpy.asarray(act, dtype=numpy.float64), epochs=3)
        b = q.pretrain(obs, act, epochs=3)
        self.assertEqual(a.val_loss, b.val_loss)


@unittest.skipIf(numpy is None, "numpy is not installed")
class NumpyTest(unittest.TestCase):
    def test_numpy_in_numpy_out(self):
        p = libfpo.Policy(3, 2, seed=1)
        s = libfpo.Sampler(p, deterministic=True, max_batch=8)
        obs = numpy.random.default_rng(0).normal(size=(20, 3))  # float64, chunked
        a = s.act(obs)
        self.assertIsInstance(a, numpy.ndarray)
        self.assertEqual((a.shape, a.dtype), ((20, 2), numpy.float32))
        self.assertEqual(a.tolist(), s.act(obs.tolist()))
        one = s.act(obs[0])
        self.assertEqual(one.shape, (2,))
        self.assertEqual(one.tolist(), a[0].tolist())
        v = s.value(obs)
        self.assertEqual(v.shape, (20,))
        self.assertIsInstance(s.value(obs[0]), float)
        params = numpy.frombuffer(p.get_params(), dtype=numpy.float32) * 0.5
        p.set_params(params)
        self.assertTrue(numpy.array_equal(numpy.frombuffer(p.get_params(), numpy.float32), params))
        a2 = s.act(obs[:, :][::2])  # non-contiguous view
        self.assertEqual(a2.shape, (10, 2))

    def test_env_returning_numpy(self):
        class NpPendulum(Pendulum):
            def reset(self, seed):
                return numpy.asarray(super().reset(seed), dtype=numpy.float64)

            def step(self, action):
                o, r, te, tr = super().step(action)
                return numpy.asarray(o, dtype=numpy.float32), numpy.float32(r), te, tr
        t = pendulum_trainer(env=NpPendulum, num_envs=2, horizon=16)
        self.assertTrue(math.isfinite(t.iterate().update.value_loss))


class LoadingTest(unittest.TestCase):
    def test_missing_library_is_a_clear_import_error(self):
        env = dict(os.environ, FPO_LIBRARY="/nonexistent/libfpo.so.1",
                   PYTHONPATH=os.path.dirname(HERE))
        r = subprocess.run([sys.executable, "-c", "import libfpo"], env=env,
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("FPO_LIBRARY", r.stderr)


class CreateErrorMessageTest(unittest.TestCase):
    """A failed create carries the library's message (fpo_last_errmsg), not
    "the library reports no message" (issue #19)."""

    def assert_message(self, cm, *words):
        err = cm.exception
        self.assertTrue(err.errmsg, "empty errmsg: %s" % err)
        for w in words:
            self.assertIn(w, err.errmsg)
            self.assertIn(w, str(err))
        self.assertNotIn("reports no message", str(err))

    def test_policy_create(self):
        with self.assertRaises(libfpo.RangeError) as cm:
            libfpo.Policy(0, 1)
        self.assert_message(cm, "obs_dim")
        with self.assertRaises(libfpo.RangeError) as cm:
            libfpo.Policy(3, 1, kind="gaussian", min_std=0.0)
        self.assert_message(cm, "min_std")

    def test_sampler_create(self):
        p = libfpo.Policy(3, 1)
        with self.assertRaises(libfpo.RangeError) as cm:
            libfpo.Sampler(p, steps=0)
        self.assert_message(cm, "steps")
        with self.assertRaises(libfpo.RangeError) as cm:
            libfpo.Sampler(p, max_batch=0)
        self.assert_message(cm, "max_batch")

    def test_vecenv_create(self):
        with self.assertRaises(libfpo.RangeError) as cm:
            libfpo.VecEnv(Pendulum, num_envs=0)
        self.assert_message(cm, "num_envs")

    def test_trainer_create(self):
        with self.assertRaises(libfpo.FpoError) as cm:
            pendulum_trainer(num_envs=2, horizon=0)
        self.assert_message(cm, "horizon")

    def test_load_from_fifo(self):
        if not hasattr(os, "mkfifo"):
            self.skipTest("no FIFOs here")
        # In a child: a regression would block in open() forever.
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "pipe")
            os.mkfifo(path)
            code = ("import libfpo\n"
                    "try:\n"
                    "    libfpo.Policy.load(%r)\n"
                    "except libfpo.FileError as e:\n"
                    "    print('EIO' if e.code == libfpo.EIO else 'code', e.errmsg)\n" % path)
            r = subprocess.run([sys.executable, "-c", code], env=os.environ.copy(),
                               capture_output=True, text=True, timeout=60)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertTrue(r.stdout.startswith("EIO"), r.stdout)
            self.assertIn("named pipe", r.stdout)


if __name__ == "__main__":
    unittest.main()
