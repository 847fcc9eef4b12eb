"""``threads=N`` is the process's whole CPU budget (issue 25's decision), read from inside fit.

- 1: BLAS gets 1 thread (OpenBLAS otherwise keeps a second thread of its own);
- N with the batch split into N shards: BLAS gets 1 thread per shard;
- N with one shard (a model training with BatchNorm): BLAS gets all N;
- shards x BLAS threads never exceed N; the limits are lifted when fit returns.

The count is read with threadpoolctl by a tiny layer, during forward, on every shard's thread,
and by a callback between steps.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import tatamu
from tatamu.layers import BatchNorm2D, Conv2D, Flatten, Layer, Linear, ReLU
from tatamu.optim import SGD
from tatamu.training.loop import fit
from tatamu.training.progress import Callback


def blas_threads() -> int | None:
    counts = [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
    return counts[0] if counts else None


def reachable(n: int) -> int:
    """What this BLAS gives when asked for n threads (a 1-core machine may cap it)."""
    with threadpool_limits(limits=n, user_api="blas"):
        return blas_threads()


class ReadBlasThreads(Layer):
    """Passes x through; records (thread name, BLAS threads) at every training forward."""

    seen: list = []

    def forward(self, x):
        if self.training:
            type(self).seen.append((threading.current_thread().name, blas_threads()))
        return x

    def backward(self, dout):
        return dout


class ReadBetweenSteps(Callback):
    def __init__(self):
        self.seen = []

    def on_batch_end(self, epoch, batch, logs):
        self.seen.append(blas_threads())


def _model(batchnorm: bool):
    layers = [Conv2D(1, 4, 3, padding=1, rng=0)]
    if batchnorm:
        layers.append(BatchNorm2D(4))
    layers += [ReLU(), ReadBlasThreads(), Flatten(), Linear(4 * 6 * 6, 3, rng=0)]
    return tatamu.Sequential(layers, input_shape=(1, 6, 6))


@pytest.mark.skipif(blas_threads() is None, reason="threadpoolctl sees no BLAS")
@pytest.mark.parametrize("threads, batchnorm, shards, blas", [
    (1, False, 1, 1), (2, False, 2, 1), (3, False, 3, 1), (2, True, 1, 2), (1, True, 1, 1),
])
def test_fit_gives_blas_what_the_shards_leave(threads, batchnorm, shards, blas):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((24, 1, 6, 6)).astype(np.float32)
    y = rng.integers(0, 3, 24)
    before = blas_threads()
    ReadBlasThreads.seen = []
    reader = ReadBetweenSteps()
    fit(_model(batchnorm), (x, y), epochs=1, batch_size=12, optimizer=SGD(lr=0.01),
        threads=threads, progress=False, callbacks=[reader])
    expected = reachable(blas)
    assert {count for _, count in ReadBlasThreads.seen} == {expected}
    assert len({name for name, _ in ReadBlasThreads.seen}) == shards
    assert set(reader.seen) == {expected}
    assert shards * blas <= threads
    assert blas_threads() == before  # lifted when fit returns
