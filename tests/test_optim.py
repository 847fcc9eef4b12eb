"""Tests for tatamu.optim: every optimizer against torch.optim, hand-written closed forms, the
in-place / dtype / name-keyed contract, clipping, schedules, exact resumption and errors.

The oracles are independent of the code under test: PyTorch (skipped without it) and update
formulas written out by hand in float64 from the papers and the book (section 6.1).
"""

from __future__ import annotations

import doctest
import importlib
import json
import math
import zlib

import numpy as np
import pytest

from tatamu.errors import CheckpointError, ConfigError, ShapeError, StateError
from tatamu.optim import (
    OPTIMIZERS,
    SGD,
    Adam,
    AdamW,
    CosineLR,
    Momentum,
    Nesterov,
    StepLR,
    make_optimizer,
    optimizer_from_config,
)

# Tolerances against torch after N_STEPS steps: the same formulas, rounded in another order.
# rtol is ~16 ulp; atol is ~8 ulp of the O(1) parameters, for elements that cancel near zero.
F32_RTOL, F32_ATOL = 2e-6, 1e-6
F64_RTOL, F64_ATOL = 4e-15, 2e-15
# Closed forms are written in float64 and compared to a float64 run.
CLOSED_RTOL, CLOSED_ATOL = 1e-12, 1e-14
# Learning rates from a schedule vs torch's (recursive for cosine) ones.
LR_RTOL, LR_ATOL = 1e-10, 1e-15
N_STEPS = 8
SHAPES = {"conv1.W": (4, 1, 3, 3), "conv1.b": (4,), "affine1.W": (36, 5), "affine1.b": (5,)}

# (tatamu name, kwargs given to both libraries); torch's class and extra kwargs are in TWIN.
CASES = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.05, "weight_decay": 0.1}),
    ("momentum", {"lr": 0.05}),
    ("momentum", {"lr": 0.02, "momentum": 0.5, "weight_decay": 0.01}),
    ("nesterov", {"lr": 0.05}),
    ("nesterov", {"lr": 0.02, "momentum": 0.7, "weight_decay": 0.01}),
    ("adagrad", {"lr": 0.1}),
    ("adagrad", {"lr": 0.05, "eps": 1e-6, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01}),
    ("rmsprop", {"lr": 0.003, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1}),
    ("adam", {"lr": 0.01}),
    ("adam", {"lr": 0.003, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adamw", {"lr": 0.01}),
    ("adamw", {"lr": 0.003, "betas": (0.5, 0.9), "eps": 1e-6, "weight_decay": 0.3}),
]
TWIN = {
    "sgd": ("SGD", {}),
    "momentum": ("SGD", {"momentum": 0.9}),
    "nesterov": ("SGD", {"momentum": 0.9, "nesterov": True}),
    "adagrad": ("Adagrad", {}),
    "rmsprop": ("RMSprop", {}),
    "adam": ("Adam", {}),
    "adamw": ("AdamW", {}),
}
# Our state -> torch's name for it.
TORCH_STATE = {
    "sgd": {},
    "momentum": {"v": "momentum_buffer"},
    "nesterov": {"v": "momentum_buffer"},
    "adagrad": {"h": "sum"},
    "rmsprop": {"h": "square_avg"},
    "adam": {"m": "exp_avg", "v": "exp_avg_sq"},
    "adamw": {"m": "exp_avg", "v": "exp_avg_sq"},
}
# One stateful, non-default configuration of each optimizer for the contract tests.
EACH = {name: kwargs for name, kwargs in reversed(CASES)}


def tolerances(dtype: np.dtype) -> dict[str, float]:
    if np.dtype(dtype) == np.float32:
        return {"rtol": F32_RTOL, "atol": F32_ATOL}
    return {"rtol": F64_RTOL, "atol": F64_ATOL}


def make_params(rng: np.random.Generator, dtype=np.float32) -> dict[str, np.ndarray]:
    return {k: rng.standard_normal(s).astype(dtype) for k, s in SHAPES.items()}


def make_grad_seq(rng: np.random.Generator, n: int = N_STEPS, dtype=np.float32, scale=1.0):
    # Mixed magnitudes per element, so adaptive optimizers see small and large gradients.
    return [{k: (scale * rng.standard_normal(s) * rng.uniform(0.01, 3.0, s)).astype(dtype)
             for k, s in SHAPES.items()} for _ in range(n)]


def run(opt, params, grad_seq):
    """Steps ``opt`` on copies of ``params``; returns the final copies."""
    params = {k: v.copy() for k, v in params.items()}
    for grads in grad_seq:
        opt.step(params, grads)
    return params


@pytest.fixture
def rng(request) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(request.node.name.encode()))


@pytest.fixture
def torch():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(1)
    return torch


def run_torch(torch, name, kwargs, params, grad_seq, *, clip_norm=None, clip_value=None):
    cls_name, extra = TWIN[name]
    tp = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in params.items()}
    opt = getattr(torch.optim, cls_name)(list(tp.values()), **{**extra, **kwargs})
    for grads in grad_seq:
        for k, t in tp.items():
            t.grad = torch.tensor(grads[k].copy())
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(list(tp.values()), clip_norm)
        if clip_value is not None:
            torch.nn.utils.clip_grad_value_(list(tp.values()), clip_value)
        opt.step()
    return {k: t.detach().numpy() for k, t in tp.items()}, opt, tp


# -- against PyTorch ---------------------------------------------------------------------------
@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_matches_torch(torch, rng, name, kwargs, dtype):
    params, grad_seq = make_params(rng, dtype), make_grad_seq(rng, dtype=dtype)
    ours = run(make_optimizer(name, **kwargs), params, grad_seq)
    theirs, _, _ = run_torch(torch, name, kwargs, params, grad_seq)
    for k in SHAPES:
        np.testing.assert_allclose(ours[k], theirs[k], **tolerances(dtype), err_msg=k)


@pytest.mark.torch
@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_state_matches_torch_state(torch, rng, name, kwargs):
    """Saved moments are torch's: m = exp_avg, v = exp_avg_sq, h = sum / square_avg, and the
    book's velocity is -lr times torch's momentum buffer."""
    params, grad_seq = make_params(rng, np.float64), make_grad_seq(rng, dtype=np.float64)
    opt = make_optimizer(name, **kwargs)
    run(opt, params, grad_seq)
    _, topt, tp = run_torch(torch, name, kwargs, params, grad_seq)
    ours = opt.state_dict()
    scale = -opt.lr if name in ("momentum", "nesterov") else 1.0
    for k, t in tp.items():
        for kind, torch_key in TORCH_STATE[name].items():
            expected = scale * topt.state[t][torch_key].numpy()
            np.testing.assert_allclose(ours[f"{kind}/{k}"], expected, **tolerances(np.float64),
                                       err_msg=f"{kind}/{k}")
    assert int(ours["t"]) == N_STEPS


@pytest.mark.torch
@pytest.mark.parametrize("name", ["sgd", "momentum", "adam", "adamw"])
@pytest.mark.parametrize(("clip", "max_value"), [("norm", 1.0), ("norm", 1e6), ("value", 0.5)])
def test_clipping_matches_torch(torch, rng, name, clip, max_value):
    params, grad_seq = make_params(rng), make_grad_seq(rng, scale=3.0)
    before = [{k: g.copy() for k, g in grads.items()} for grads in grad_seq]
    kwargs = {"lr": 0.01, "weight_decay": 0.05}
    opt = make_optimizer(name, **kwargs, **{f"clip_grad_{clip}": max_value})
    ours = run(opt, params, grad_seq)
    theirs, _, _ = run_torch(torch, name, kwargs, params, grad_seq,
                             **{f"clip_{clip}": max_value})
    for k in SHAPES:
        np.testing.assert_allclose(ours[k], theirs[k], **tolerances(np.float32), err_msg=k)
    for grads, saved in zip(grad_seq, before, strict=True):
        for k in SHAPES:
            np.testing.assert_array_equal(grads[k], saved[k])  # clipped a copy, not the grads


# -- against closed forms written by hand (float64) -----------------------------------------
P0 = np.array([1.0, -2.0, 0.5])
G1 = np.array([0.5, 0.25, -4.0])
G2 = np.array([-1.0, 0.125, 2.0])


def two_steps(opt):
    p = P0.copy()
    opt.step({"w": p}, {"w": G1.copy()})
    p1 = p.copy()
    opt.step({"w": p}, {"w": G2.copy()})
    return p1, p


def test_sgd_closed_form():
    p1, p2 = two_steps(SGD(lr=0.1))
    np.testing.assert_allclose(p1, [0.95, -2.025, 0.9], rtol=CLOSED_RTOL)
    np.testing.assert_allclose(p2, [1.05, -2.0375, 0.7], rtol=CLOSED_RTOL)


def test_momentum_closed_form_book():
    # The book, section 6.1.4: v <- a*v - lr*g; W <- W + v.
    lr, a = 0.1, 0.9
    v1 = -lr * G1
    v2 = a * v1 - lr * G2
    p1, p2 = two_steps(Momentum(lr=lr, momentum=a))
    np.testing.assert_allclose(p1, P0 + v1, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
    np.testing.assert_allclose(p2, P0 + v1 + v2, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


def test_momentum_keeps_the_books_velocity_when_lr_changes():
    """Documented difference from torch: after lr changes, v still holds old-lr steps."""
    opt = Momentum(lr=0.1, momentum=0.9)
    p = P0.copy()
    opt.step({"w": p}, {"w": G1})
    opt.lr = 0.01
    opt.step({"w": p}, {"w": G2})
    v1 = -0.1 * G1
    v2 = 0.9 * v1 - 0.01 * G2  # torch would give 0.01 * (0.9 * G1 + G2) instead
    np.testing.assert_allclose(p, P0 + v1 + v2, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


def test_nesterov_closed_form():
    # Sutskever et al. / PyTorch in velocity form: v <- mu*v - lr*g; p <- p + mu*v - lr*g.
    lr, mu = 0.1, 0.9
    v1 = -lr * G1
    p1 = P0 + mu * v1 - lr * G1
    v2 = mu * v1 - lr * G2
    p2 = p1 + mu * v2 - lr * G2
    q1, q2 = two_steps(Nesterov(lr=lr, momentum=mu))
    np.testing.assert_allclose(q1, p1, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)
    np.testing.assert_allclose(q2, p2, rtol=CLOSED_RTOL, atol=CLOSED_ATOL)


def test_adagrad_closed_form():
    lr, eps = 0.5, 1e-10
    p1 = P0 - lr * G1 / (np.sqrt(G1**2) + eps)
    p2 = p1 - lr * G2 / (np.sqrt(G1**2 + G2**2) + eps)
    q1, q2 = two_steps(make_optimizer("adagrad", lr=lr))
    np.testing.assert_allclose(q1, p1, rtol=CLOSED_RTOL)
    np.testing.assert_allclose(q2, p2, rtol=CLOSED_RTOL)


def test_rmsprop_closed_form():
    lr, a, eps = 0.01, 0.99, 1e-8
    h1 = (1 - a) * G1**2
    h2 = a * h1 + (1 - a) * G2**2
    p1 = P0 - lr * G1 / (np.sqrt(h1) + eps)
    p2 = p1 - lr * G2 / (np.sqrt(h2) + eps)
    q1, q2 = two_steps(make_optimizer("rmsprop", lr=lr))
    np.testing.assert_allclose(q1, p1, rtol=CLOSED_RTOL)
    np.testing.assert_allclose(q2, p2, rtol=CLOSED_RTOL)


def adam_reference(wd_coupled=0.0, wd_decoupled=0.0):
    """Kingma & Ba, Algorithm 1, unrolled for two steps, with PyTorch's weight decays."""
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-8
    p, m, v, out = P0.copy(), 0.0, 0.0, []
    for t, g in enumerate([G1, G2], start=1):
        g = g + wd_coupled * p
        p = p * (1 - lr * wd_decoupled)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        p = p - lr * m_hat / (np.sqrt(v_hat) + eps)
        out.append(p)
    return out


def test_adam_first_step_is_lr_times_sign():
    # Bias correction makes m_hat = g and v_hat = g*g on step 1, so p moves by lr*sign(g).
    p1, _ = two_steps(Adam(lr=0.01))
    np.testing.assert_allclose(p1, P0 - 0.01 * np.sign(G1), rtol=1e-7)


def test_adam_adds_eps_after_the_bias_corrected_root():
    # With |g| == eps, torch's sqrt(v_hat) + eps = 2|g| halves the first step; the book's
    # sqrt(v) + eps (before correction) would give lr * sqrt(0.001) / 0.1 / (sqrt(0.001) + 1).
    p = np.array([0.0, 0.0])
    Adam(lr=0.1, eps=1e-8).step({"w": p}, {"w": np.array([1e-8, -1e-8])})
    np.testing.assert_allclose(p, [-0.05, 0.05], rtol=1e-9)


@pytest.mark.parametrize(("opt", "ref"), [
    (Adam(lr=0.01), adam_reference()),
    (Adam(lr=0.01, weight_decay=0.1), adam_reference(wd_coupled=0.1)),
    (AdamW(lr=0.01, weight_decay=0.1), adam_reference(wd_decoupled=0.1)),
])
def test_adam_closed_form(opt, ref):
    q1, q2 = two_steps(opt)
    np.testing.assert_allclose(q1, ref[0], rtol=CLOSED_RTOL)
    np.testing.assert_allclose(q2, ref[1], rtol=CLOSED_RTOL)


def test_clip_grad_norm_closed_form():
    # Global norm over both gradients is 5 (3-4-5); max 1 scales both by 1/(5 + 1e-6).
    p, q = np.zeros(1), np.zeros(1)
    SGD(lr=1.0, clip_grad_norm=1.0).step({"a": p, "b": q}, {"a": np.array([3.0]),
                                                            "b": np.array([4.0])})
    np.testing.assert_allclose([p[0], q[0]], [-3 / (5 + 1e-6), -4 / (5 + 1e-6)], rtol=1e-15)


# -- the contract: in place, dtype, grads untouched, state by name ------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("clip", [{}, {"clip_grad_norm": 0.5}, {"clip_grad_value": 0.1}])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_in_place_dtype_and_grads_untouched(rng, name, dtype, clip):
    opt = make_optimizer(name, **EACH[name], **clip)
    params = make_params(rng, dtype)
    ids = {k: id(v) for k, v in params.items()}
    before = {k: v.copy() for k, v in params.items()}
    for grads in make_grad_seq(rng, n=3, dtype=dtype):
        saved = {k: g.copy() for k, g in grads.items()}
        opt.step(params, grads)
        for k in SHAPES:
            np.testing.assert_array_equal(grads[k], saved[k])
    for k, p in params.items():
        assert id(p) == ids[k] and p.dtype == dtype
        assert not np.array_equal(p, before[k])
    for key, arr in opt.state_dict().items():
        if "/" in key:
            assert arr.dtype == dtype, key


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_is_keyed_by_parameter_name(rng, name):
    """Same names in another order, in fresh dicts, give the same update; keys say the names."""
    params, grad_seq = make_params(rng), make_grad_seq(rng, n=4)
    expected = run(make_optimizer(name, **EACH[name]), params, grad_seq)
    opt = make_optimizer(name, **EACH[name])
    shuffled = {k: v.copy() for k, v in params.items()}
    for i, grads in enumerate(grad_seq):
        order = list(SHAPES)[i % 4:] + list(SHAPES)[:i % 4]
        opt.step({k: shuffled[k] for k in order}, {k: grads[k] for k in reversed(order)})
    for k in SHAPES:
        np.testing.assert_array_equal(shuffled[k], expected[k])
    keys = set(opt.state_dict())
    assert keys == {"t", "lr"} | {f"{s}/{k}" for s in opt.state_names for k in SHAPES}


def test_loaded_state_follows_the_parameter_dtype(rng):
    """State saved from float64 parameters is cast on first use (as after a device move)."""
    params64 = make_params(rng, np.float64)
    opt = Adam()
    opt.step(params64, make_grad_seq(rng, n=1, dtype=np.float64)[0])
    opt32 = Adam()
    opt32.load_state_dict(opt.state_dict())
    params32 = {k: v.astype(np.float32) for k, v in params64.items()}
    opt32.step(params32, make_grad_seq(rng, n=1)[0])
    assert all(a.dtype == np.float32 for a in opt32.state_dict().values() if a.ndim)


@pytest.mark.parametrize("module", ["sgd", "adaptive", "schedule", "factory"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"tatamu.optim.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


def test_hyper_parameters_are_python_floats():
    # A numpy.float64 lr must not promote float32 math; the constructor stores a Python float.
    opt = Adam(lr=np.float64(1e-3), betas=(np.float64(0.9), 0.999))
    assert type(opt.lr) is float and all(type(b) is float for b in opt.betas)


# -- saving and resuming ------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_resume_from_npz_is_bit_identical(rng, tmp_path, name):
    kwargs = {**EACH[name], "clip_grad_norm": 2.0}
    params, grad_seq = make_params(rng), make_grad_seq(rng, n=5)
    straight = run(make_optimizer(name, **kwargs), params, grad_seq)

    first = make_optimizer(name, **kwargs)
    resumed = run(first, params, grad_seq[:3])
    first.lr *= 0.5  # a schedule's change must be saved too
    np.savez(tmp_path / "opt.npz", **first.state_dict())
    second = make_optimizer(name, **kwargs)
    with np.load(tmp_path / "opt.npz", allow_pickle=False) as f:
        second.load_state_dict(f)
    assert second.lr == first.lr and second.t == 3
    second.lr = first.lr * 2  # undo, so the run equals the uninterrupted one
    for grads in grad_seq[3:]:
        second.step(resumed, grads)
    for k in SHAPES:
        np.testing.assert_array_equal(resumed[k], straight[k])


def test_state_dict_is_a_snapshot(rng):
    opt, params = Adam(), make_params(rng)
    opt.step(params, make_grad_seq(rng, n=1)[0])
    saved = opt.state_dict()
    m = saved["m/conv1.W"].copy()
    opt.step(params, make_grad_seq(rng, n=1)[0])
    np.testing.assert_array_equal(saved["m/conv1.W"], m)
    assert saved["t"].shape == () and saved["t"].dtype == np.int64
    assert saved["lr"].shape == () and saved["lr"].dtype == np.float64


def test_load_state_dict_rejects_foreign_state(rng):
    adam = Adam()
    params = make_params(rng)
    adam.step(params, make_grad_seq(rng, n=1)[0])
    with pytest.raises(CheckpointError, match=r"unexpected key 'm/.*another optimizer"):
        Momentum().load_state_dict(adam.state_dict())
    with pytest.raises(CheckpointError, match=r"lacks \['t'\]"):
        Adam().load_state_dict({"lr": np.asarray(0.1)})
    partial = {k: v for k, v in adam.state_dict().items() if not k.startswith("v/")}
    with pytest.raises(CheckpointError, match="incomplete"):
        Adam().load_state_dict(partial)


def test_loaded_state_must_fit_the_parameters(rng):
    adam = Adam()
    adam.step(make_params(rng), make_grad_seq(rng, n=1)[0])
    other = Adam()
    other.load_state_dict(adam.state_dict())
    params = make_params(rng)
    params["conv1.W"] = np.zeros((8, 1, 3, 3), np.float32)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    with pytest.raises(CheckpointError, match=r"m/conv1.W has shape \(4, 1, 3, 3\)"):
        other.step(params, grads)
    other.load_state_dict(adam.state_dict())
    del params["conv1.W"], grads["conv1.W"]
    with pytest.raises(CheckpointError, match=r"state for unknown \['conv1.W'\]"):
        other.step(params, grads)


# -- config and factory -------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_config_round_trip(rng, name, kwargs):
    opt = make_optimizer(name, **kwargs, clip_grad_value=1.5)
    cfg = json.loads(json.dumps(opt.config()))
    assert cfg["name"] == name
    twin = optimizer_from_config(cfg)
    assert type(twin) is type(opt) and twin.config() == opt.config()
    params, grad_seq = make_params(rng), make_grad_seq(rng, n=3)
    for k, arr in run(twin, params, grad_seq).items():
        np.testing.assert_array_equal(arr, run(make_optimizer(name, **kwargs,
                                                              clip_grad_value=1.5),
                                               params, grad_seq)[k])


def test_config_reports_the_constructor_lr_after_a_schedule():
    opt = SGD(lr=0.1)
    sched = CosineLR(opt, T_max=2)
    sched.step()
    sched.step()
    assert opt.lr == 0.0 and opt.config()["lr"] == 0.1
    optimizer_from_config(opt.config())  # lr = 0 would be refused


def test_defaults_are_pytorch_defaults():
    assert make_optimizer("adam").config() == {
        "name": "adam", "lr": 1e-3, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
        "clip_grad_norm": None, "clip_grad_value": None}
    assert make_optimizer("AdamW").weight_decay == 0.01
    assert make_optimizer("rmsprop").config()["alpha"] == 0.99
    assert make_optimizer("adagrad").config()["eps"] == 1e-10
    assert make_optimizer("momentum").config()["momentum"] == 0.9


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="'adamax'.*sgd, momentum, nesterov, adagrad, rmsprop, "
                                          "adam, adamw"):
        make_optimizer("adamax")
    with pytest.raises(ConfigError, match="Adam takes no argument momentum; its arguments are: lr"):
        make_optimizer("adam", momentum=0.9)
    with pytest.raises(ConfigError, match="needs a 'name'"):
        optimizer_from_config({"lr": 0.1})


@pytest.mark.parametrize(("name", "kwargs", "message"), [
    ("sgd", {"lr": 0.0}, "lr must be > 0; got 0.0"),
    ("sgd", {"lr": -0.1}, "lr must be > 0"),
    ("adam", {"lr": float("nan")}, "lr must be finite; got nan"),
    ("adam", {"lr": float("inf")}, "lr must be finite"),
    ("adam", {"lr": "0.1"}, "lr must be a real number; got '0.1'"),
    ("adam", {"lr": True}, "lr must be a real number"),
    ("adam", {"betas": (1.0, 0.999)}, r"betas\[0\] must be in \[0, 1\); got 1.0"),
    ("adamw", {"betas": (0.9, -0.1)}, r"betas\[1\] must be in \[0, 1\)"),
    ("adam", {"betas": (0.9,)}, "betas must be a pair"),
    ("adam", {"eps": 0.0}, "eps must be > 0"),
    ("rmsprop", {"eps": float("nan")}, "eps must be finite"),
    ("rmsprop", {"alpha": 1.0}, r"alpha must be in \[0, 1\)"),
    ("momentum", {"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
    ("nesterov", {"momentum": -0.5}, r"momentum must be in \[0, 1\)"),
    ("sgd", {"weight_decay": -1e-4}, "weight_decay must be >= 0"),
    ("adagrad", {"clip_grad_norm": 0.0}, "clip_grad_norm must be > 0"),
    ("adam", {"clip_grad_norm": 1.0, "clip_grad_value": 1.0}, "not both"),
])
def test_bad_hyper_parameters(name, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        make_optimizer(name, **kwargs)


def test_mismatched_keys_name_them(rng):
    params = make_params(rng)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    grads["conv2.W"] = grads.pop("conv1.W")
    with pytest.raises(ConfigError, match=r"no gradient for \['conv1.W'\]; gradients without a "
                                          r"parameter: \['conv2.W'\]"):
        Adam().step(params, grads)


def test_bad_gradients(rng):
    params = make_params(rng)
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    opt = Adam()
    with pytest.raises(StateError, match="'conv1.b' is None: call backward"):
        opt.step(params, {**grads, "conv1.b": None})
    with pytest.raises(ShapeError, match=r"'conv1.b' is float64\[4\] but the parameter is "
                                         r"float32\[4\]"):
        opt.step(params, {**grads, "conv1.b": np.zeros(4)})
    with pytest.raises(ShapeError, match=r"'conv1.b' is float32\[5\]"):
        opt.step(params, {**grads, "conv1.b": np.zeros(5, np.float32)})
    assert opt.t == 0 and opt.state_dict().keys() == {"t", "lr"}  # failed steps change nothing


# -- schedules ----------------------------------------------------------------------------------
def torch_lrs(torch, make_sched, epochs, lr=0.1):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    sched = make_sched(torch.optim.lr_scheduler, opt)
    lrs = [opt.param_groups[0]["lr"]]
    for _ in range(epochs):
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    return lrs


def our_lrs(sched_cls, epochs, lr=0.1, **kwargs):
    opt = SGD(lr=lr)
    sched = sched_cls(opt, **kwargs)
    lrs = [opt.lr]
    for _ in range(epochs):
        sched.step()
        lrs.append(opt.lr)
    return lrs


@pytest.mark.torch
def test_step_lr_matches_torch(torch):
    ours = our_lrs(StepLR, 20, step_size=3, gamma=0.5)
    theirs = torch_lrs(torch, lambda s, o: s.StepLR(o, step_size=3, gamma=0.5), 20)
    np.testing.assert_allclose(ours, theirs, rtol=LR_RTOL, atol=LR_ATOL)
    assert ours[:7] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025]


@pytest.mark.torch
@pytest.mark.parametrize("eta_min", [0.0, 0.01])
def test_cosine_lr_matches_torch(torch, eta_min):
    ours = our_lrs(CosineLR, 25, T_max=7, eta_min=eta_min)
    theirs = torch_lrs(torch, lambda s, o: s.CosineAnnealingLR(o, T_max=7, eta_min=eta_min), 25)
    np.testing.assert_allclose(ours, theirs, rtol=LR_RTOL, atol=LR_ATOL)
    assert ours[7] == pytest.approx(eta_min, abs=1e-15) and ours[0] == 0.1


@pytest.mark.torch
def test_warmup_matches_torch_sequential_lr(torch):
    def make(s, o):
        return s.SequentialLR(o, [s.LinearLR(o, start_factor=0.25, total_iters=4),
                                  s.CosineAnnealingLR(o, T_max=10)], milestones=[4])

    ours = our_lrs(CosineLR, 16, T_max=10, warmup_epochs=4, warmup_start_factor=0.25)
    np.testing.assert_allclose(ours, torch_lrs(torch, make, 16), rtol=LR_RTOL, atol=LR_ATOL)
    assert ours[:5] == pytest.approx([0.025, 0.04375, 0.0625, 0.08125, 0.1])


def test_cosine_closed_form():
    lrs = our_lrs(CosineLR, 4, lr=1.0, T_max=4)
    np.testing.assert_allclose(lrs, [1.0, (1 + math.sqrt(0.5)) / 2, 0.5,
                                     (1 - math.sqrt(0.5)) / 2, 0.0], atol=1e-15)


def test_schedule_state_round_trip(tmp_path):
    straight = our_lrs(CosineLR, 9, T_max=6, eta_min=0.001, warmup_epochs=2)
    opt = SGD(lr=0.1)
    sched = CosineLR(opt, T_max=6, eta_min=0.001, warmup_epochs=2)
    for _ in range(4):
        sched.step()
    np.savez(tmp_path / "s.npz", **sched.state_dict())
    opt2 = SGD(lr=0.5)
    sched2 = CosineLR(opt2, T_max=6, eta_min=0.001, warmup_epochs=2)
    with np.load(tmp_path / "s.npz", allow_pickle=False) as f:
        sched2.load_state_dict(f)
    resumed = [opt2.lr]
    for _ in range(5):
        sched2.step()
        resumed.append(opt2.lr)
    assert resumed == straight[4:]


@pytest.mark.parametrize(("make", "message"), [
    (lambda o: StepLR(o, step_size=0), "step_size must be an int >= 1"),
    (lambda o: StepLR(o, step_size=2.5), "step_size must be an int"),
    (lambda o: StepLR(o, step_size=2, gamma=0.0), "gamma must be > 0"),
    (lambda o: CosineLR(o, T_max=0), "T_max must be an int >= 1"),
    (lambda o: CosineLR(o, T_max=5, eta_min=-1.0), "eta_min must be >= 0"),
    (lambda o: CosineLR(o, T_max=5, warmup_epochs=-1), "warmup_epochs must be an int >= 0"),
    (lambda o: CosineLR(o, T_max=5, warmup_start_factor=2.0), r"warmup_start_factor .* \(0, 1\]"),
])
def test_bad_schedule_arguments(make, message):
    with pytest.raises(ConfigError, match=message):
        make(SGD(lr=0.1))


# -- CuPy ---------------------------------------------------------------------------------------
@pytest.mark.gpu
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_cupy_matches_numpy(rng, name):
    cp = pytest.importorskip("cupy")
    params, grad_seq = make_params(rng), make_grad_seq(rng, n=4)
    expected = run(make_optimizer(name, **EACH[name]), params, grad_seq)
    opt = make_optimizer(name, **EACH[name])
    gpu = {k: cp.asarray(v) for k, v in params.items()}
    for grads in grad_seq[:2]:
        opt.step(gpu, {k: cp.asarray(g) for k, g in grads.items()})
    state = opt.state_dict()  # NumPy arrays, resumable on either device
    assert all(isinstance(a, np.ndarray) for a in state.values())
    opt2 = make_optimizer(name, **EACH[name])
    opt2.load_state_dict(state)
    for grads in grad_seq[2:]:
        opt2.step(gpu, {k: cp.asarray(g) for k, g in grads.items()})
    for k in SHAPES:
        np.testing.assert_allclose(cp.asnumpy(gpu[k]), expected[k], **tolerances(np.float32))
