"""Threads that split a batch (tatamu.parallel): the same numbers as one thread, every shard
accounted for, errors and settings handled.

The references here are single-threaded runs of the same library (the layers themselves are
checked against loops and PyTorch elsewhere): what is tested is that sharding changes nothing
but the order of additions.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from threadpoolctl import threadpool_info

import tatamu
from tatamu.errors import ConfigError
from tatamu.layers import BatchNorm1D, Layer, Linear, ReLU
from tatamu.model import Sequential
from tatamu.optim import SGD, Adam
from tatamu.training import shards as parallel
from tatamu.training.loop import evaluate, fit


def mnist_like(n, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.random((n, 1, 28, 28), dtype=np.float32), rng.integers(0, 10, n))


@given(n=st.integers(1, 500), shards=st.integers(1, 9))
def test_shard_bounds_cover_the_batch_in_order_with_no_empty_shard(n, shards):
    bounds = parallel.shard_bounds(n, shards)
    assert len(bounds) == min(n, shards)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a < b for a, b in bounds)
    assert all(b == c for (_, b), (c, _) in zip(bounds, bounds[1:], strict=False))
    sizes = [b - a for a, b in bounds]
    assert max(sizes) - min(sizes) <= 1  # balanced


@pytest.mark.parametrize("threads", [2, 3])
def test_shard_gradients_add_up_to_the_whole_batch_gradient(threads):
    x, y = mnist_like(37)  # 37 does not divide by 2 or 3: unequal shards are weighted right
    whole = tatamu.models.simple_convnet(rng=0)
    loss = whole.gradient(x, y)
    sharded = tatamu.models.simple_convnet(rng=0)
    with parallel.ShardRunner(sharded, threads) as runner:
        def shard(replica, a, b):
            part = replica.loss_fn.forward(replica.forward(x[a:b]), y[a:b])
            replica.backward(replica.loss_fn.backward((b - a) / len(x)))
            return part * (b - a) / len(x)

        results = runner.run(shard, len(x))
        grads = runner.summed_grads(len(results))
    assert len(results) == threads
    assert sum(r for _, _, r in results) == pytest.approx(loss, rel=1e-5)
    for name, g in whole.grads().items():
        np.testing.assert_allclose(grads[name], g, rtol=1e-4, atol=1e-6, err_msg=name)


def test_training_on_two_threads_follows_one_thread():
    x, y = mnist_like(300)
    weights = {}
    for threads in (1, 2):
        model = tatamu.models.simple_convnet(rng=1)
        fit(model, (x, y), epochs=2, batch_size=50, optimizer=Adam(lr=1e-3), seed=0,
            progress=False, threads=threads)
        weights[threads] = model.params()
    for name, w in weights[1].items():
        np.testing.assert_allclose(weights[2][name], w, rtol=1e-3, atol=1e-5, err_msg=name)


def test_a_sharded_run_with_dropout_is_reproducible_bit_for_bit():
    x, y = mnist_like(120)

    def run():
        model = tatamu.models.deep_convnet(rng=0)
        fit(model, (x, y), epochs=1, batch_size=40, optimizer=Adam(lr=1e-3), seed=3,
            progress=False, threads=2)
        return model.params()

    first, second = run(), run()
    for name, w in first.items():
        np.testing.assert_array_equal(second[name], w, err_msg=name)


def test_sharded_predict_and_evaluate_equal_one_thread():
    x, y = mnist_like(203)
    model = tatamu.models.simple_convnet(rng=0)
    one = model.predict(x, threads=1)
    np.testing.assert_allclose(model.predict(x, threads=2), one, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(model.predict(x, batch_size=17, threads=3), one, rtol=1e-5,
                               atol=1e-7)
    a, b = evaluate(model, (x, y), 64, threads=1), evaluate(model, (x, y), 64, threads=2)
    assert a["correct"] == b["correct"] and a["n"] == b["n"] == 203
    assert b["loss"] == pytest.approx(a["loss"], rel=1e-5)
    assert model.training  # the mode is restored


def test_blas_threads_are_restored_after_a_sharded_run():
    before = [i["num_threads"] for i in threadpool_info()]
    x, y = mnist_like(40)
    model = tatamu.models.simple_convnet(rng=0)
    fit(model, (x, y), epochs=1, batch_size=20, optimizer=SGD(lr=0.01), progress=False,
        threads=2)
    model.predict(x, threads=2)
    assert [i["num_threads"] for i in threadpool_info()] == before


class FailsOnMarker(Layer):
    """Raises for a batch that contains the marker value -1 (to fail one shard only)."""

    def forward(self, x):
        if (x == -1).any():
            raise ValueError("marker seen")
        return x

    def backward(self, dout):
        return dout


def test_an_error_in_another_shard_reaches_the_caller_after_all_shards_finish():
    model = Sequential([FailsOnMarker(), Linear(3, 2, rng=0)], (3,))
    x = np.zeros((10, 3), dtype=np.float32)
    x[9] = -1  # in the last shard, which runs on a worker thread
    with pytest.raises(ValueError, match="marker seen"):
        fit(model, (x, np.zeros(10, dtype=np.int64)), epochs=1, batch_size=10,
            optimizer=SGD(lr=0.1), progress=False, threads=2)


def test_batchnorm_models_train_on_one_thread_but_predict_on_many():
    model = Sequential([Linear(4, 8, rng=0), BatchNorm1D(8), ReLU(), Linear(8, 2, rng=1)], (4,))
    assert parallel.resolve_threads(4, model, training=True) == 1
    assert parallel.resolve_threads(4, model, training=False) == 4


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_a_bad_thread_count_is_refused(bad):
    model = tatamu.models.simple_convnet(rng=0)
    with pytest.raises(ConfigError, match="threads must be an int >= 1"):
        parallel.resolve_threads(bad, model, training=True)


def test_the_default_thread_count_follows_the_environment(monkeypatch):
    monkeypatch.delenv(parallel.THREADS_ENV, raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert parallel.default_threads() == 3
    monkeypatch.setenv(parallel.THREADS_ENV, "5")  # tatamu's own variable wins
    assert parallel.default_threads() == 5
    monkeypatch.delenv(parallel.THREADS_ENV)
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert parallel.default_threads() >= 1  # the cores this process may use
    for text in ("two", "0"):
        monkeypatch.setenv(parallel.THREADS_ENV, text)
        with pytest.raises(ConfigError, match=parallel.THREADS_ENV):
            parallel.default_threads()


def test_a_replica_shares_parameters_but_not_caches_or_generators():
    model = tatamu.models.deep_convnet(rng=0)
    twin = model.replica()
    for name, p in model.params().items():
        assert twin.params()[name] is p
    x, y = mnist_like(4)
    twin.gradient(x, y)
    # the twin's forward cached in the twin only (conv2 is 3x3: Winograd's tiles, not col_t)
    assert twin["conv2"]._tiles is not None
    assert model["conv2"]._tiles is None and model["conv2"]._col_t is None
    assert twin["dropout1"].rng is not model["dropout1"].rng


def test_resume_takes_the_thread_count_the_run_was_saved_with(tmp_path, monkeypatch):
    x, y = mnist_like(90)

    def run(folder, epochs, resume=False, threads=None):
        model = tatamu.models.deep_convnet(rng=0)  # Dropout: replica masks depend on threads
        fit(model, (x, y), epochs=epochs, batch_size=30, optimizer=Adam(lr=1e-3), seed=2,
            progress=False, checkpoint_dir=folder, resume=resume, threads=threads)
        return model.params()

    straight = run(tmp_path / "straight", 2, threads=2)
    run(tmp_path / "resumed", 1, threads=2)
    monkeypatch.setenv(parallel.THREADS_ENV, "1")  # the default now says 1 thread...
    resumed = run(tmp_path / "resumed", 2, resume=True)  # ...but the run was saved with 2
    for name, w in straight.items():
        np.testing.assert_array_equal(resumed[name], w, err_msg=name)
    saved = tatamu.checkpoint.read(tmp_path / "resumed" / "last.npz")
    assert saved.meta["train_state"]["threads"] == 2
