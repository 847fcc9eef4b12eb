"""No subnormal numbers anywhere in a long training run (issue 12, item 3).

A float32 below 1.18e-38 (the smallest *normal* number) is "subnormal", and x86 processors
compute with subnormals many times slower. They creep in where something decays for hundreds
of steps without being refreshed: Adam's ``m`` (x0.9 a step) and the velocity of Momentum
wherever a gradient stays exactly 0 (the inputs of a ReLU unit that never fires), RMSprop's
``h``, and softmax probabilities of very confident logits. Before the fix, this run had
thousands of subnormal entries in ``m/linear1.W`` after ~700 steps and in ``dlogits`` later.

The run below is small (16x16 crops of 256 MNIST digits, batch 32), long (1,200 steps) and
counts subnormals after every step in every parameter, gradient, optimizer state array,
activation, input gradient, softmax probability and the gradient of the loss.
"""

from __future__ import annotations

import numpy as np
import pytest

from tatamu import layers as tl
from tatamu.datasets import load_mnist
from tatamu.losses import SoftmaxCrossEntropy
from tatamu.model import Sequential
from tatamu.optim import Adam, make_optimizer

STEPS = 1200
BATCH = 32


def subnormal_count(a) -> int:
    """How many entries of ``a`` are nonzero and smaller in magnitude than the smallest normal."""
    if a is None or a.dtype.kind != "f":
        return 0
    magnitude = np.abs(a)
    return int(np.count_nonzero((magnitude > 0) & (magnitude < np.finfo(a.dtype).tiny)))


@pytest.fixture(scope="module")
def digits():
    (x, y), _ = load_mnist()
    return np.ascontiguousarray(x[:256, :, 6:22, 6:22]), y[:256]  # centre 16x16 crops


def small_convnet(rng) -> Sequential:
    return Sequential([tl.Conv2D(1, 8, 3, rng=rng), tl.ReLU(), tl.MaxPool2D(2),
                       tl.Linear(8 * 7 * 7, 32, rng=rng), tl.ReLU(), tl.Linear(32, 10, rng=rng)],
                      input_shape=(1, 16, 16))


def train_and_count(model, opt, x, y, rng) -> dict[str, int]:
    """Train STEPS steps; return {array name: most subnormals it held after any step}."""
    worst: dict[str, int] = {}

    def note(name, a):
        count = subnormal_count(a)
        if count:
            worst[name] = max(worst.get(name, 0), count)

    loss_fn = SoftmaxCrossEntropy()
    for _ in range(STEPS):
        idx = rng.choice(len(x), BATCH, replace=False)
        h = x[idx]
        for layer in model:
            h = layer.forward(h)
            note(f"activation {layer.name}", h)
        loss_fn.forward(h, y[idx])
        note("softmax probabilities", loss_fn._probs)
        d = loss_fn.backward()
        note("dlogits", d)
        for layer in reversed(list(model)):
            d = layer.backward(d)
            note(f"dx {layer.name}", d)
        opt.step(model.params(), model.grads())
        for name, a in model.params().items():
            note(f"param {name}", a)
        for name, a in model.grads().items():
            note(f"grad {name}", a)
        for key, a in opt.state_dict().items():
            note(f"state {key}", a)
    return worst


@pytest.mark.parametrize(("name", "kwargs"), [
    ("adam", {"lr": 0.01}),
    ("momentum", {"lr": 0.1}),
    ("nesterov", {"lr": 0.1}),
    ("rmsprop", {"lr": 0.01, "alpha": 0.9}),  # alpha 0.9: h decays as fast as Adam's m
])
def test_a_long_run_makes_no_subnormal_numbers(digits, name, kwargs):
    x, y = digits
    rng = np.random.default_rng(12)
    model = small_convnet(rng)
    worst = train_and_count(model, make_optimizer(name, **kwargs), x, y, rng)
    assert worst == {}, f"subnormal entries (most after any step): {worst}"


def test_confident_logits_give_no_subnormal_probabilities_or_gradients():
    # gaps of 90-200: exp(-90) = 8e-40 is subnormal in float32
    logits = np.array([[100.0, 0.0, -100.0], [0.0, 10.0, 100.0]], dtype=np.float32)
    loss_fn = SoftmaxCrossEntropy()
    loss = loss_fn.forward(logits, np.array([0, 0]))
    dlogits = loss_fn.backward()
    assert subnormal_count(loss_fn._probs) == 0 and subnormal_count(dlogits) == 0
    # the confident mistake keeps its exact loss: -log softmax = 100 for sample 1, 0 for 0
    assert loss == pytest.approx(50.0, rel=1e-6)
    np.testing.assert_array_equal(dlogits, np.float32([[0, 0, 0], [-0.5, 0, 0.5]]))


@pytest.mark.torch
def test_flushed_adam_state_still_matches_torch():
    """Flushing only zeroes entries below ~1e-31: 1,000 steps (m is flushed every 151) with
    half of the gradient 0 from step 5 on stay within float32 rounding of torch; torch's
    exp_avg holds subnormals by then (0.9**800 * 0.1 < 1.18e-38)."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    p0 = rng.standard_normal(64).astype(np.float32)
    grads = rng.standard_normal((1000, 64)).astype(np.float32)
    grads[5:, 32:] = 0.0  # these entries only decay from here on
    p = p0.copy()
    opt = Adam(lr=0.01)
    tp = torch.tensor(p0.copy(), requires_grad=True)
    topt = torch.optim.Adam([tp], lr=0.01)
    for g in grads:
        opt.step({"w": p}, {"w": g})
        tp.grad = torch.from_numpy(g.copy())
        topt.step()
    m, torch_m = opt.state_dict()["m/w"], topt.state[tp]["exp_avg"].numpy()
    assert subnormal_count(torch_m) > 0 and subnormal_count(m) == 0  # torch keeps subnormals
    np.testing.assert_allclose(m, torch_m, rtol=2e-5, atol=1e-30)  # ... that flushing zeroed
    v, torch_v = opt.state_dict()["v/w"], topt.state[tp]["exp_avg_sq"].numpy()
    np.testing.assert_allclose(v, torch_v, rtol=2e-5, atol=1e-27)  # v's floor: ~1e-31/(1-b2)
    np.testing.assert_allclose(p, tp.detach().numpy(), rtol=2e-5, atol=2e-6)
