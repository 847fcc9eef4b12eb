"""Memory: training memory per step, and predict's working memory as the data grows.

NumPy reports its array allocations to ``tracemalloc``, so tatamu's memory is measured by
tracing them (exact, and blind to other processes). PyTorch's allocator is invisible to
tracemalloc: the side-by-side inference figure samples the anonymous resident memory
(``RssAnon``, every millisecond) in a fresh process per framework instead. The plain RSS
high-water mark (VmHWM) is recorded too, but it also counts the pages of the libraries'
code that a run happens to touch (hundreds of MB for torch, varying from run to run).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path

import numpy as np

from tatamu.models import deep_convnet, simple_convnet
from tatamu.optim import Adam

MiB = 2**20


def _traced() -> int:
    return tracemalloc.get_traced_memory()[0]


def training_step_memory(build, batch: int = 100) -> dict:
    """Bytes of parameters, of what is held between steps, and the peak during one step."""
    rng = np.random.default_rng(0)
    x = rng.random((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, batch)
    tracemalloc.start()
    try:
        start = _traced()
        model, opt = build(rng=0), Adam()
        params = _traced() - start

        def step():
            model.gradient(x, y)
            opt.step(model.params(), model.grads())

        step()  # creates gradients, Adam's state, every layer's backward cache
        held = _traced() - start - params
        tracemalloc.reset_peak()
        step()
        peak = tracemalloc.get_traced_memory()[1] - start - params
    finally:
        tracemalloc.stop()
    grads = sum(g.nbytes for g in model.grads().values())
    return {"params": params, "grads": grads, "optimizer_state": 3 * params,  # Adam m, v, scratch
            "held_between_steps": held, "peak_in_step_above_params": peak,
            "caches": held - grads - 3 * params}


def training_memory() -> dict:
    return {"SimpleConvNet": training_step_memory(simple_convnet),
            "DeepConvNet": training_step_memory(deep_convnet)}


def _image_memmap(folder: str, n: int, source: np.ndarray) -> np.memmap:
    """An (n, 1, 28, 28) float32 .npy memmap on disk, filled by tiling ``source``."""
    path = os.path.join(folder, f"images_{n}.npy")
    mm = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(n, *source.shape[1:]))
    for start in range(0, n, len(source)):
        stop = min(n, start + len(source))
        mm[start:stop] = source[: stop - start]
    mm.flush()
    del mm
    return np.load(path, mmap_mode="r")


def predict_memory(x_test: np.ndarray, sizes: list[int]) -> dict:
    """Traced peak above the loaded model while predicting N images read from a memmap.

    ``working`` leaves out the (N, 10) result, which grows with N by necessity (40 B/image).
    """
    model = simple_convnet(rng=0)
    model.predict(x_test[:1000])  # warm-up outside the trace
    results = {}
    with tempfile.TemporaryDirectory(prefix="tatamu-bench-") as folder:
        for n in sizes:
            images = _image_memmap(folder, n, x_test)
            tracemalloc.start()
            try:
                start = _traced()
                t = time.perf_counter()
                probs = model.predict(images)
                seconds = time.perf_counter() - t
                peak = tracemalloc.get_traced_memory()[1] - start
            finally:
                tracemalloc.stop()
            results[str(n)] = {"peak": peak, "output": probs.nbytes,
                               "working": peak - probs.nbytes, "seconds": seconds,
                               "chunk": model.chunk_size()}
            del images, probs
    return results


def traced_predict_peak(model, x) -> int:
    """Peak traced bytes above the start while predicting ``x`` (in memory)."""
    tracemalloc.start()
    try:
        start = _traced()
        model.predict(x)
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


# -- resident memory, one fresh process per framework ---------------------------------------
def _status(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise OSError(f"{field} not in /proc/self/status")


class _AnonSampler(threading.Thread):
    """Polls the anonymous resident memory (RssAnon: heap and mmap'd arrays, not the
    file-backed pages of torch's or NumPy's libraries) every millisecond; keeps the maximum."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peak, self._stop_event = _status("RssAnon"), threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(0.001):
            self.peak = max(self.peak, _status("RssAnon"))

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return max(self.peak, _status("RssAnon"))


def rss_predict(framework: str, repeats: int = 5) -> dict:
    """In this (fresh) process: resident memory above the loaded model while predicting the
    10,000 test images, after a warm-up on one chunk (kernels and allocator initialised); then
    the seconds of ``repeats`` more predictions (``seconds``), with no other library's threads
    in the process.

    Two peaks: ``peak_above`` from the level after the warm-up, and ``peak_above_loaded``
    from the level before it, sampled through warm-up and run. The second is the one a user
    sees: memory the allocator keeps from the warm-up for the chunks after it (tatamu's
    predict asks glibc to keep a chunk's freed memory, ``model._keep_freed_chunks``) is
    already in the first's baseline, which then reads ~0.
    """
    from tatamu.datasets import load_mnist

    _, (x, _) = load_mnist()
    model = simple_convnet(rng=0)
    chunk = model.chunk_size()
    if framework == "torch":
        import torch

        from .cases import predict_torch
        from .twins import model_twin

        twin, xt = model_twin(model).eval(), torch.from_numpy(x)

        def predict(images):
            return predict_torch(twin, images, chunk)

        run, warm = (lambda: predict(xt)), (lambda: predict(xt[:chunk]))
    else:
        run, warm = (lambda: model.predict(x)), (lambda: model.predict(x[:chunk]))
    loaded_anon = _status("RssAnon")
    whole = _AnonSampler()  # warm-up and run
    whole.start()
    warm()
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before_rss, before_anon = _status("VmRSS"), _status("RssAnon")
    sampler = _AnonSampler()
    sampler.start()
    run()
    peak_anon = sampler.stop()
    peak_whole = whole.stop()
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return {"anon_before": before_anon, "peak_above": peak_anon - before_anon,
            "anon_loaded": loaded_anon, "peak_above_loaded": peak_whole - loaded_anon,
            "rss_before": before_rss, "hwm_above": _status("VmHWM") - before_rss,
            "seconds": seconds}


def rss_predict_subprocess(framework: str) -> dict:
    """:func:`rss_predict` in a fresh interpreter (same environment), so earlier work and
    the other framework leave no high-water mark behind."""
    out = subprocess.run([sys.executable, "-m", "benchmarks.worker", "--rss", framework],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def in_mib(n: float) -> float:
    return n / MiB
