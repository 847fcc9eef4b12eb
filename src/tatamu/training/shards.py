"""Threads for one batch: split it into shards and run each shard on its own core.

This is data parallelism inside one process. It pays because NumPy releases the GIL inside its
loops, copies and BLAS calls, which is where a step spends its time: with two shards on this
project's 2-core machine a SimpleConvNet training step at batch 100 went from 24 to 14 ms and a
DeepConvNet step from 192 to 98 ms (``benchmarks/README.md``). BLAS is held to one thread while
the shards run: two shards each asking OpenBLAS for two threads only queued behind each other
(no gain at all, measured).

Shard 0 runs on the calling thread with the model itself; every other shard runs on a
*replica* (:meth:`tatamu.model.Sequential.replica`): the same parameter arrays, its own caches
and gradients, so no two threads ever write the same array.

    batch (N, ...) ──split──> shard 0 (model)      forward, backward ─┐
                              shard 1 (replica 1)  forward, backward ─┴─> gradients added
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from typing import Any

import numpy as np

from ..backend.arrays import as_numpy, get_array_module
from ..errors import ConfigError, TatamuError
from ..i18n import _
from ..layers.base import is_random
from ..validate import positive_int
from .metrics import class_indices

#: Environment variable that sets the default thread count (else OMP_NUM_THREADS, else cores).
THREADS_ENV = "TATAMU_NUM_THREADS"


def default_threads() -> int:
    """The thread count used when none is given.

    ``TATAMU_NUM_THREADS`` if set, else ``OMP_NUM_THREADS`` (the variable that already tells
    NumPy's BLAS and PyTorch how many cores to use), else the cores this process may run on.
    """
    for var in (THREADS_ENV, "OMP_NUM_THREADS"):
        text = os.environ.get(var, "").strip()
        if text:
            try:
                value = int(text)
            except ValueError:
                raise ConfigError(_("{var}={text!r} is not a whole number of threads; set it to "
                                    "e.g. 2, or unset it", var=var, text=text)) from None
            if value < 1:
                raise ConfigError(_("{var}={text!r}: the thread count must be >= 1",
                                    var=var, text=text))
            return value
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no sched_getaffinity
        return os.cpu_count() or 1


def thread_budget(threads: int | None) -> int:
    """The process's whole CPU budget: ``threads``, or :func:`default_threads` for None.

    ``--threads N`` / ``threads=N`` means this many cores for everything the process runs:
    the shards of a batch *times* the BLAS threads of each never exceed it (see
    :class:`ShardRunner`).
    """
    return default_threads() if threads is None else positive_int(threads, "threads")


def resolve_threads(threads: int | None, model, *, training: bool) -> int:
    """How many shards to run for ``model``: ``threads`` or the default, checked.

    One thread where sharding would change the result or cannot help: a model training with
    BatchNorm (its statistics are over the whole batch, and its running averages are shared
    state), and a model whose arrays live on a GPU (CuPy runs the batch in one go).
    """
    if threads is None:
        threads = default_threads()
    threads = positive_int(threads, "threads")  # None was the default, resolved above
    params = list(model.params().values())
    if params and get_array_module(params[0]) is not np:
        return 1
    if training and model.buffers():
        return 1
    return int(threads)


def shard_bounds(n: int, shards: int) -> list[tuple[int, int]]:
    """``shards`` contiguous (start, stop) ranges covering ``range(n)``, none empty.

    >>> shard_bounds(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    """
    shards = max(1, min(shards, n))
    size, extra = divmod(n, shards)
    bounds, start = [], 0
    for k in range(shards):
        stop = start + size + (1 if k < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


class ShardRunner:
    """Run a function on the shards of a batch, one thread per shard (use as a context manager).

    Parameters
    ----------
    model : the Sequential whose replicas the shards use; put it in the mode wanted (train or
        eval) before entering: replicas copy the mode.
    threads : the number of shards (already resolved, see :func:`resolve_threads`).
    budget : the process's CPU budget (:func:`thread_budget`; default ``threads``). While the
        runner is entered, BLAS gets ``budget // threads`` threads: 1 per shard when the batch
        is split, all of them when one shard does the work (a model training with BatchNorm),
        and 1 with a budget of 1 (OpenBLAS otherwise keeps a second thread of its own, which
        spins for a core on a busy machine: an MNIST-1D epoch took 28.5 s instead of 1.5 s).

    With one shard nothing is started, so the arithmetic is exactly the single-threaded one.
    """

    def __init__(self, model, threads: int, budget: int | None = None) -> None:
        self.model = model
        self.threads = threads
        self.budget = max(threads, threads if budget is None else budget)
        self.blas_threads = self.budget // threads  # shards x BLAS threads <= budget
        self.replicas = [model]
        self._used = 1  # shards of the last batch
        self._pool: ThreadPoolExecutor | None = None
        self._blas_limits = None

    def __enter__(self) -> ShardRunner:
        from threadpoolctl import threadpool_limits

        if self.threads > 1:
            self.replicas = [self.model] + [self.model.replica()
                                            for _ in range(self.threads - 1)]
            self._pool = ThreadPoolExecutor(self.threads - 1, thread_name_prefix="tatamu-shard")
        self._blas_limits = threadpool_limits(limits=self.blas_threads, user_api="blas")
        return self

    def __exit__(self, *exc) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        if self._blas_limits is not None:
            self._blas_limits.restore_original_limits()
            self._blas_limits = None
        self.replicas = [self.model]

    def run(self, fn: Callable[[Any, int, int], Any], n: int) -> list[tuple[int, int, Any]]:
        """``fn(replica, start, stop)`` for each shard of ``range(n)``; [(start, stop, result)].

        Shard 0 runs here, the others on the pool; every shard has finished when this returns
        (also when one raised: the first error is raised after all are done). A tatamu error
        (a wrong shape, say) is raised as the whole batch on one thread raises it, so its
        message names the shapes the caller passed.
        """
        bounds = shard_bounds(n, len(self.replicas))
        # NumPy's error state (np.errstate) belongs to a thread: the workers take the caller's
        errors = np.geterr()

        def in_caller_errstate(replica, start, stop):
            with np.errstate(**errors):
                return fn(replica, start, stop)

        futures = [self._pool.submit(in_caller_errstate, self.replicas[k], start, stop)
                   for k, (start, stop) in enumerate(bounds[1:], start=1)]
        try:
            try:
                first = fn(self.replicas[0], *bounds[0])
            finally:
                wait(futures)
            results = [first] + [f.result() for f in futures]
        except TatamuError as shard_error:
            if len(bounds) == 1:
                raise
            # A shard's message would name the shard's shape (6, 3, 8, 8), not the user's
            # (12, 3, 8, 8): run the whole batch on this thread for the error it raises.
            try:
                fn(self.model, 0, n)
            except TatamuError as whole_batch_error:
                raise whole_batch_error from None
            raise shard_error
        return [(start, stop, r) for (start, stop), r in zip(bounds, results, strict=True)]

    def loss_and_predictions(self, x, labels, *, backward: bool = False):
        """The batch's mean loss and predicted classes (N,), the batch split over the shards.

        Each shard's loss counts with its share n_k / N of the batch, and with ``backward`` its
        backward pass starts from that share, so the shards' losses add up to the batch's mean
        loss and their gradients (:meth:`summed_grads`) to the gradient of that mean. A NaN or
        infinite loss skips backward; the caller reports it (not NumPy's RuntimeWarnings).

        Shapes: x (N, *input_shape), labels (N,) or (N, K) -> (float, (N,) int)
        """
        n = len(x)

        def shard(replica, start, stop):
            share = (stop - start) / n
            # errstate belongs to a thread: each shard sets its own
            with np.errstate(**({"over": "ignore", "invalid": "ignore", "divide": "ignore"}
                                if backward else {})):
                logits = replica.forward(x[start:stop])
                loss = replica.loss_fn.forward(logits, labels[start:stop])
                if backward and math.isfinite(loss):
                    replica.backward(replica.loss_fn.backward(share))
            return loss * share, class_indices(as_numpy(logits))

        results = self.run(shard, n)
        self._used = len(results)
        loss = sum(shard_loss for _, _, (shard_loss, _) in results)
        return loss, np.concatenate([predicted for _, _, (_, predicted) in results])

    def summed_grads(self, used: int | None = None) -> dict[str, Any]:
        """The model's gradients with those of replicas ``1 .. used-1`` added in (in place).

        ``used`` defaults to the shards of the last :meth:`loss_and_predictions`.
        """
        used = self._used if used is None else used
        grads = self.model.grads()
        for replica in self.replicas[1:used]:
            for name, g in replica.grads().items():
                grads[name] += g
        return grads

    def seed_replicas(self, seed: int, epoch: int, batch: int) -> None:
        """Give each replica's random layers (Dropout) a Generator from (seed, epoch, batch).

        The model's own layers keep their Generators (saved in checkpoints for resume); the
        replicas' are derived afresh each step, so a resumed run draws the same masks.
        """
        for k, replica in enumerate(self.replicas[1:], start=1):
            seed_random_layers(replica, seed, epoch, batch, shard=k)


def seed_random_layers(model, *key: int, shard: int | None = None) -> None:
    """Give each random layer (Dropout) of ``model`` a Generator from ``key`` + its index.

    Then the masks depend only on where training is, not on what ran before: what makes a
    resumed run draw the masks an uninterrupted one draws.
    """
    for index, layer in enumerate(model):
        if is_random(layer):
            tail = (index,) if shard is None else (index, shard)
            layer.rng = np.random.default_rng([*key, *tail])
