"""The optimizer step and the gradient sum shared between threads give the same bits.

With ``threads > 1``, ``fit`` hands each thread a contiguous part of every large parameter
to update (``Optimizer.step(..., runner=)``) and of every large gradient to add
(``ShardRunner.summed_grads``). The arithmetic is elementwise, so the result must equal the
one-thread result exactly, for every optimizer, with clipping and weight decay too.
"""

from __future__ import annotations

import numpy as np
import pytest

from tatamu import layers as tl
from tatamu.model import Sequential
from tatamu.optim import make_optimizer
from tatamu.parallel import PARALLEL_MIN_SIZE, ShardRunner

CONFIGS = [
    ("sgd", {"lr": 0.1}), ("momentum", {"lr": 0.05}), ("nesterov", {"lr": 0.05}),
    ("adagrad", {"lr": 0.1}), ("rmsprop", {"lr": 0.01, "alpha": 0.9}),
    ("adam", {"lr": 0.01, "weight_decay": 0.1, "clip_grad_norm": 5.0}),
    ("adamw", {"lr": 0.01, "clip_grad_value": 0.5}),
]


def small_model(rng) -> Sequential:
    # linear1.W has 300 * 250 = 75,000 elements: above PARALLEL_MIN_SIZE, so it is split
    return Sequential([tl.Linear(300, 250, rng=rng), tl.ReLU(), tl.Linear(250, 10, rng=rng)],
                      input_shape=(300,))


@pytest.mark.parametrize(("name", "kwargs"), CONFIGS)
def test_threaded_update_equals_one_thread_bit_for_bit(name, kwargs):
    rng = np.random.default_rng(0)
    serial, threaded = small_model(rng), small_model(np.random.default_rng(0))
    assert serial.params()["linear1.W"].size > PARALLEL_MIN_SIZE
    opt_serial, opt_threaded = make_optimizer(name, **kwargs), make_optimizer(name, **kwargs)
    with ShardRunner(threaded, 2) as runner:
        for _ in range(5):
            grads = {k: rng.standard_normal(p.shape).astype(p.dtype)
                     for k, p in serial.params().items()}
            grads["linear1.W"][:, :100] = 0.0  # state that only decays, flushed on schedule
            opt_serial.step(serial.params(), grads)
            opt_threaded.step(threaded.params(), {k: g.copy() for k, g in grads.items()},
                              runner=runner)
    for k, p in serial.params().items():
        np.testing.assert_array_equal(threaded.params()[k], p, err_msg=k)
    for k, a in opt_serial.state_dict().items():
        np.testing.assert_array_equal(opt_threaded.state_dict()[k], a, err_msg=k)


def test_summed_grads_in_parts_equal_the_plain_sum():
    rng = np.random.default_rng(1)
    model = small_model(rng)
    x = rng.standard_normal((8, 300)).astype(np.float32)
    with ShardRunner(model, 2) as runner:
        for replica in runner.replicas:
            replica.gradient(x, np.arange(8) % 10)
        expected = {k: g + runner.replicas[1].grads()[k] for k, g in model.grads().items()}
        summed = runner.summed_grads(2)
    for k, g in expected.items():
        np.testing.assert_array_equal(summed[k], g, err_msg=k)
