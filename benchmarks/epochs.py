"""The ``train`` case: several epochs of SimpleConvNet, each library in its own fresh process.

Why fresh processes: inside one process PyTorch's thread pool and NumPy's (OpenBLAS, tatamu's
shards) disturb each other (PyTorch's 2-thread epoch was ~30% slower there than on its own),
and a long run is what a user does: later epochs can be slower than the first (subnormal
numbers in the optimizer state made tatamu's fifth epoch 1.5x its first on an Intel Xeon), so
the epochs are timed one by one and the slowdown from the first to the last is reported.

Parent side: :func:`train_epochs` starts ``python -m benchmarks.epochs --lib tatamu|torch``
alternately (tatamu, torch, torch, tatamu, ...), each with the thread environment of
``benchmarks.environment``. Child side (:func:`main`): loads MNIST, builds SimpleConvNet from
seed 0 (torch copies its weights), and trains ``--epochs`` epochs of the first ``--images``
training images at batch 100 with Adam (lr 1e-3), timing each epoch; tatamu through
``tatamu.train.fit`` (one call per epoch, the optimizer carried over), PyTorch through the loop
``fit`` performs. It prints one JSON line: the epoch times and the BLAS actually running.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .environment import blas_threadpools, machine_info, worker_env

BATCH = 100
LR = 1e-3


class _EpochClock:
    """Appends (wall seconds, CPU seconds of this process) of the ``with`` block to a list.

    CPU time is kept beside wall time because on a shared machine it is far steadier: at one
    thread it is what the epoch cost, whatever the other processes did meanwhile.
    """

    def __init__(self, out: list) -> None:
        self.out = out

    def __enter__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc) -> None:
        self.out.append((time.perf_counter() - self.wall, time.process_time() - self.cpu))


def _tatamu_epochs(x, y, epochs: int, threads: int) -> list[tuple[float, float]]:
    from tatamu.models import simple_convnet
    from tatamu.optim import Adam
    from tatamu.training.loop import fit

    model, opt = simple_convnet(rng=0), Adam(lr=LR)
    seconds: list[tuple[float, float]] = []
    for epoch in range(1, epochs + 1):
        with _EpochClock(seconds):
            fit(model, (x, y), epochs=1, batch_size=BATCH, optimizer=opt, seed=epoch,
                progress=False, threads=threads)
    return seconds


def _torch_epochs(x, y, epochs: int, threads: int) -> list[tuple[float, float]]:
    import torch

    from tatamu.models import simple_convnet

    from .twins import model_twin

    torch.set_num_threads(threads)
    model = model_twin(simple_convnet(rng=0))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    seconds: list[tuple[float, float]] = []
    for epoch in range(1, epochs + 1):
        with _EpochClock(seconds):
            _torch_epoch(model, opt, xt, yt, epoch)
    return seconds


def _torch_epoch(model, opt, xt, yt, epoch: int) -> None:
    """One epoch of the loop ``fit`` runs, with the permutation BatchLoader draws for
    (seed=epoch, epoch 0) of a one-epoch ``fit``."""
    import numpy as np
    import torch
    from torch.nn import functional as F

    order = torch.from_numpy(np.random.default_rng([epoch, 0]).permutation(len(xt)))
    model.train()
    for first in range(0, len(xt), BATCH):
        idx = order[first : first + BATCH]
        xb, yb = xt[idx], yt[idx]
        opt.zero_grad(set_to_none=True)
        logits = model(xb)
        loss = F.cross_entropy(logits, yb)
        loss.backward()
        opt.step()
        loss.item(), (logits.argmax(1) == yb).sum().item()  # fit reads both every step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.epochs")
    parser.add_argument("--lib", choices=("tatamu", "torch"), required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--images", type=int, default=20_000)
    args = parser.parse_args(argv)
    from tatamu.datasets import load_mnist

    (x, y), _ = load_mnist()
    x, y = x[: args.images], y[: args.images]
    run = _tatamu_epochs if args.lib == "tatamu" else _torch_epochs
    seconds = run(x, y, args.epochs, args.threads)
    print(json.dumps({"lib": args.lib, "threads": args.threads,
                      "seconds": [wall for wall, _ in seconds],
                      "cpu_seconds": [cpu for _, cpu in seconds],
                      "machine": machine_info(), "threadpools": blas_threadpools()}))
    return 0


def _child(lib: str, threads: int, epochs: int, images: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.epochs", "--lib", lib, "--threads", str(threads),
           "--epochs", str(epochs), "--images", str(images)]
    done = subprocess.run(cmd, env=worker_env(threads), check=True, capture_output=True,
                          text=True, cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(seconds: list[list[float]], cpu: list[list[float]]) -> dict:
    """Per process: mean of the timed epochs (all but the first, which warms caches and
    allocates the optimizer state) and last/first epoch; the median of each over processes.
    The same for CPU seconds (``cpu_*``)."""
    def timed(runs):
        return [statistics.fmean(s[1:]) if len(s) > 1 else s[0] for s in runs]

    slowdown = [s[-1] / s[0] for s in seconds]
    return {"epoch_mean": statistics.median(timed(seconds)), "epoch_means": timed(seconds),
            "slowdown": statistics.median(slowdown), "slowdowns": slowdown,
            "epoch_seconds": seconds, "cpu_epoch_mean": statistics.median(timed(cpu)),
            "cpu_slowdown": statistics.median([s[-1] / s[0] for s in cpu]),
            "cpu_epoch_seconds": cpu}


def train_epochs(threads: int, quick: bool, progress=print) -> dict:
    """Alternate fresh tatamu and torch processes; the ``train`` result for one thread count."""
    epochs, images, rounds = (3, 6_000, 1) if quick else (4, 20_000, 2)
    seconds: dict[str, list[list[float]]] = {"tatamu": [], "torch": []}
    cpu: dict[str, list[list[float]]] = {"tatamu": [], "torch": []}
    info: dict = {}
    for r in range(rounds):
        for lib in ("tatamu", "torch") if r % 2 == 0 else ("torch", "tatamu"):
            progress(f"[{threads} thread(s)] train: {lib} process {r + 1}/{rounds}, "
                     f"{epochs} epochs of {images:,} images ...")
            out = _child(lib, threads, epochs, images)
            seconds[lib].append(out["seconds"])
            cpu[lib].append(out["cpu_seconds"])
            info.setdefault("machine", out["machine"])
            info.setdefault("threadpools", {})[lib] = out["threadpools"]
    result = {lib: summarise(seconds[lib], cpu[lib]) for lib in seconds}
    result.update(info, epochs=epochs, images=images, processes=rounds,
                  ratio=result["tatamu"]["epoch_mean"] / result["torch"]["epoch_mean"])
    return result


if __name__ == "__main__":
    raise SystemExit(main())
