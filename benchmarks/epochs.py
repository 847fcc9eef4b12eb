"""The ``train`` and ``deep`` cases: epochs of SimpleConvNet (``train``) and several hundred
DeepConvNet steps (``deep``), each library in its own fresh process.

Why fresh processes: inside one process PyTorch's thread pool and NumPy's (OpenBLAS, tatamu's
shards) disturb each other (PyTorch's 2-thread epoch was ~30% slower there than on its own),
and a long run is what a user does: later epochs can be slower than the first (subnormal
numbers in the optimizer state made tatamu's fifth epoch 1.5x its first on an Intel Xeon), so
the epochs are timed one by one and the slowdown from the first to the last is reported.

Three sides, as three kinds of process:

- ``tatamu``: ``tatamu.training.loop.fit``, one call per epoch, the optimizer carried over;
- ``torch`` (the *twin*): the same weights (copied from tatamu's), the same batch order and the
  loop ``fit`` performs, reading the loss and the number of correct answers every step;
- ``torch-plain``: PyTorch as users write it: the model's own default initialisation,
  ``torch.randperm``, int64 labels, and nothing else per step. This is the faster PyTorch (it
  ran 3.6 s an epoch where the twin ran 4.5-5 s in issue 25), so the ratio against it is the
  one that counts.

Parent side: :func:`train_epochs` starts ``python -m benchmarks.epochs --net simple|deep --lib
...`` rotating the order of the libraries every round, each with the thread environment of
``benchmarks.environment``. Child side (:func:`main`): loads MNIST, builds the net from seed 0,
and trains ``--epochs`` epochs of the first ``--images`` training images at batch 100 with Adam
(lr 1e-3), timing each epoch. It prints one JSON line: the epoch times and the BLAS actually
running.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .environment import blas_threadpools, machine_info, worker_env

BATCH = 100
LR = 1e-3
LIBS = ("tatamu", "torch", "torch-plain")


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


def _build(net: str):
    from tatamu.models import deep_convnet, simple_convnet

    return (simple_convnet if net == "simple" else deep_convnet)(rng=0)


def _tatamu_epochs(net, x, y, epochs: int, threads: int) -> list[tuple[float, float]]:
    from tatamu.optim import Adam
    from tatamu.training.loop import fit

    model, opt = _build(net), Adam(lr=LR)
    seconds: list[tuple[float, float]] = []
    for epoch in range(1, epochs + 1):
        with _EpochClock(seconds):
            fit(model, (x, y), epochs=1, batch_size=BATCH, optimizer=opt, seed=epoch,
                progress=False, threads=threads)
    return seconds


def _torch_epochs(net, x, y, epochs: int, threads: int, plain: bool = False):
    import torch

    from .twins import model_twin

    torch.set_num_threads(threads)
    model = model_twin(_build(net))
    if plain:  # PyTorch's own default initialisation, as a user's model has
        torch.manual_seed(0)
        for module in model.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype("int64"))
    seconds: list[tuple[float, float]] = []
    for epoch in range(1, epochs + 1):
        with _EpochClock(seconds):
            (_plain_epoch if plain else _torch_epoch)(model, opt, xt, yt, epoch)
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


def _plain_epoch(model, opt, xt, yt, epoch: int) -> None:
    """One epoch as a PyTorch user writes it: randperm, and nothing read back per step."""
    import torch
    from torch.nn import functional as F

    model.train()
    order = torch.randperm(len(xt))
    for first in range(0, len(xt), BATCH):
        idx = order[first : first + BATCH]
        opt.zero_grad()
        F.cross_entropy(model(xt[idx]), yt[idx]).backward()
        opt.step()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.epochs")
    parser.add_argument("--net", choices=("simple", "deep"), default="simple")
    parser.add_argument("--lib", choices=LIBS, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--images", type=int, default=20_000)
    args = parser.parse_args(argv)
    from tatamu.datasets import load_mnist

    (x, y), _ = load_mnist()
    x, y = x[: args.images], y[: args.images]
    if args.lib == "tatamu":
        seconds = _tatamu_epochs(args.net, x, y, args.epochs, args.threads)
    else:
        seconds = _torch_epochs(args.net, x, y, args.epochs, args.threads,
                                plain=args.lib == "torch-plain")
    print(json.dumps({"lib": args.lib, "net": args.net, "threads": args.threads,
                      "seconds": [wall for wall, _ in seconds],
                      "cpu_seconds": [cpu for _, cpu in seconds],
                      "machine": machine_info(), "threadpools": blas_threadpools()}))
    return 0


def _child(net: str, lib: str, threads: int, epochs: int, images: int) -> dict:
    cmd = [sys.executable, "-m", "benchmarks.epochs", "--net", net, "--lib", lib,
           "--threads", str(threads), "--epochs", str(epochs), "--images", str(images)]
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


#: (epochs, images, processes per library) of each case, full and --quick. ``deep``: 100 steps
#: an epoch, so its full run times 300 steps after a first epoch of 100 in each process.
SIZES = {"simple": {False: (4, 20_000, 2), True: (3, 6_000, 1)},
         "deep": {False: (4, 10_000, 2), True: (2, 5_000, 1)}}


def train_epochs(threads: int, quick: bool, progress=print, net: str = "simple") -> dict:
    """Fresh tatamu, twin and plain-torch processes in rotating order; one case's result."""
    epochs, images, rounds = SIZES[net][quick]
    seconds: dict[str, list[list[float]]] = {lib: [] for lib in LIBS}
    cpu: dict[str, list[list[float]]] = {lib: [] for lib in LIBS}
    info: dict = {}
    for r in range(rounds):
        for lib in LIBS[r % 3:] + LIBS[: r % 3]:
            progress(f"[{threads} thread(s)] {net}: {lib} process {r + 1}/{rounds}, "
                     f"{epochs} epochs of {images:,} images ...")
            out = _child(net, lib, threads, epochs, images)
            seconds[lib].append(out["seconds"])
            cpu[lib].append(out["cpu_seconds"])
            info.setdefault("machine", out["machine"])
            info.setdefault("threadpools", {})[lib] = out["threadpools"]
    result = {lib: summarise(seconds[lib], cpu[lib]) for lib in seconds}
    result.update(info, net=net, epochs=epochs, images=images, processes=rounds,
                  steps_per_epoch=images // BATCH, load=_load(),
                  ratio=result["tatamu"]["epoch_mean"] / result["torch"]["epoch_mean"],
                  ratio_plain=result["tatamu"]["epoch_mean"]
                  / result["torch-plain"]["epoch_mean"])
    return result


def _load() -> list[float] | None:
    """The 1, 5 and 15 minute load averages when the case finished (None where unknown)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
