"""Where a training step's time goes, at 1 and at 2 threads: ``python -m benchmarks.phases``.

A step of ``fit`` has a parallel part (each shard's forward, loss and backward on its own
thread, ``ShardRunner.run``) and a part between shards (adding the replicas' gradients, the
optimizer's update). Amdahl's law then bounds the 2-thread gain: with a fraction ``f`` of the
1-thread step outside the shards, the gain is at most ``1 / (f + (1 - f) / 2)``. This prints
the wall and CPU milliseconds of each phase (median over steps), the gain of each, and that
bound, so the second core's loss can be read off: serial work, or shards that do not halve.

Each thread count runs in its own process with the benchmark environment (``environment``).

``--concurrent`` prints where the second core's time goes at 2 threads, layer by layer: the
thread CPU milliseconds of one shard (a batch of 50) alone, then while a second shard runs on
another thread, and that shard's wall milliseconds. CPU above "alone" is the two cores getting
in each other's way (memory and caches); wall above CPU is a thread waiting (the GIL, the other
thread's end of step).

``--layers`` prints instead where a 1-thread step goes layer by layer, tatamu beside PyTorch
(the twin, weights copied): the CPU milliseconds of each layer's forward and backward (median
over steps), each library in its own process. PyTorch's are read with module hooks; its first
convolution's backward is reported inside the layer above it (autograd runs the weight
gradient of a layer whose input needs none where the hook does not see it).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

from .environment import worker_env

PHASES = ("shards", "sum grads", "optimizer")


def measure(net: str, threads: int, steps: int) -> dict[str, dict[str, float]]:
    import numpy as np

    from tatamu.datasets import load_mnist
    from tatamu.models import deep_convnet, simple_convnet
    from tatamu.optim import Adam
    from tatamu.training.shards import ShardRunner

    (x, y), _ = load_mnist()
    model = (simple_convnet if net == "simple" else deep_convnet)(rng=0)
    opt, rng = Adam(lr=1e-3), np.random.default_rng(0)
    wall: dict[str, list[float]] = {p: [] for p in PHASES}
    cpu: dict[str, list[float]] = {p: [] for p in PHASES}

    def shard(replica, start, stop):
        loss = replica.loss_fn.forward(replica.forward(xb[start:stop]), yb[start:stop])
        replica.backward(replica.loss_fn.backward((stop - start) / len(xb)))
        return loss

    with ShardRunner(model, threads) as runner:
        for step in range(steps + 3):  # 3 warm-up steps
            idx = rng.permutation(len(x))[:100]
            xb, yb = x[idx], y[idx]
            marks = [(time.perf_counter(), time.process_time())]
            used = len(runner.run(shard, len(xb)))
            marks.append((time.perf_counter(), time.process_time()))
            grads = runner.summed_grads(used)
            marks.append((time.perf_counter(), time.process_time()))
            opt.step(model.params(), grads)
            marks.append((time.perf_counter(), time.process_time()))
            if step >= 3:
                for k, phase in enumerate(PHASES):
                    wall[phase].append(marks[k + 1][0] - marks[k][0])
                    cpu[phase].append(marks[k + 1][1] - marks[k][1])
    return {p: {"wall_ms": 1e3 * statistics.median(wall[p]),
                "cpu_ms": 1e3 * statistics.median(cpu[p])} for p in PHASES}


def layer_times(net: str, lib: str, steps: int) -> dict[str, float]:
    """CPU ms of each layer's forward ("name f") and backward ("name b") at 1 thread, median."""
    import numpy as np

    from tatamu.models import deep_convnet, simple_convnet

    model = (simple_convnet if net == "simple" else deep_convnet)(rng=0)
    rng = np.random.default_rng(0)
    x = rng.random((100, *model.input_shape), dtype=np.float32)
    y = rng.integers(0, 10, 100)
    times: dict[str, list[float]] = {}
    clock = time.process_time
    if lib == "torch":
        return _torch_layer_times(model, x, y, steps)
    for _ in range(steps + 3):
        h = x
        for name, layer in model.layers.items():
            start = clock()
            h = layer.forward(h)
            times.setdefault(f"{name} f", []).append(clock() - start)
        model.loss_fn.forward(h, y)
        d = model.loss_fn.backward()
        for name, layer in reversed(model.layers.items()):
            start = clock()
            d = layer.backward(d)
            times.setdefault(f"{name} b", []).append(clock() - start)
    return {k: 1e3 * statistics.median(v[3:]) for k, v in times.items()}


def _torch_layer_times(model, x, y, steps: int) -> dict[str, float]:
    import torch
    from torch.nn import functional as F

    from .twins import model_twin

    torch.set_num_threads(1)
    twin = model_twin(model)
    # the twin's modules line up with tatamu's layers, plus an nn.Flatten before the first
    # Linear (tatamu's Linear flattens (N, C, H, W) itself)
    names = iter(model.layers)
    labels = ["flatten" if type(m).__name__ == "Flatten" else next(names) for m in twin]
    times: dict[str, list[float]] = {}
    started: dict[str, float] = {}
    clock = time.process_time

    def hooks(label):
        def pre(_m, _i):
            started[label + " f"] = clock()

        def post(_m, _i, _o):
            times.setdefault(label + " f", []).append(clock() - started[label + " f"])

        def bpre(_m, _g):
            started[label + " b"] = clock()

        def bpost(_m, _gi, _go):
            times.setdefault(label + " b", []).append(clock() - started[label + " b"])
        return pre, post, bpre, bpost

    for label, module in zip(labels, twin, strict=True):
        pre, post, bpre, bpost = hooks(label)
        module.register_forward_pre_hook(pre)
        module.register_forward_hook(post)
        module.register_full_backward_pre_hook(bpre)
        module.register_full_backward_hook(bpost)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the first layer's backward hook warning
        for _ in range(steps + 3):
            twin.zero_grad(set_to_none=True)
            F.cross_entropy(twin(xt), yt).backward()
    return {k: 1e3 * statistics.median(v[3:]) for k, v in times.items()}


def concurrent_times(net: str, steps: int) -> dict[str, dict[str, float]]:
    """Per layer: thread CPU ms of a 50-image shard alone ("alone"), and with a second shard
    running at the same time on another thread ("cpu", "wall"); medians over steps."""
    import threading

    import numpy as np
    from threadpoolctl import threadpool_limits

    from tatamu.models import deep_convnet, simple_convnet

    build = simple_convnet if net == "simple" else deep_convnet
    rng = np.random.default_rng(0)
    x = rng.random((50, *build(rng=0).input_shape), dtype=np.float32)
    y = rng.integers(0, 10, 50)

    def shard(model, times, barrier=None):
        for _ in range(steps + 3):
            if barrier is not None:
                barrier.wait()  # both shards start each step together, as in fit
            h = x
            for name, layer in model.layers.items():
                h = timed(times, name + " f", layer.forward, h)
            model.loss_fn.forward(h, y)
            h = model.loss_fn.backward()
            for name, layer in reversed(model.layers.items()):
                h = timed(times, name + " b", layer.backward, h)

    def timed(times, key, call, h):
        cpu, wall = time.thread_time(), time.perf_counter()
        h = call(h)
        times.setdefault(key, []).append((time.thread_time() - cpu, time.perf_counter() - wall))
        return h

    with threadpool_limits(1, user_api="blas"):
        alone: dict[str, list] = {}
        shard(build(rng=0).train(), alone)
        first: dict[str, list] = {}
        barrier = threading.Barrier(2)
        other = threading.Thread(target=shard, args=(build(rng=0).train(), {}, barrier))
        other.start()
        shard(build(rng=0).train(), first, barrier)
        other.join()

    def med(values, k):
        return 1e3 * statistics.median(v[k] for v in values[3:])

    return {key: {"alone": med(alone[key], 0), "cpu": med(first[key], 0),
                  "wall": med(first[key], 1)} for key in alone}


def _in_fresh_process(threads: int, *args: str):
    """This module run with ``args`` in a new interpreter with the benchmark environment for
    ``threads``; the JSON on its last line of output."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.phases", *args],
                          env=worker_env(threads), check=True, capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent)
    return json.loads(done.stdout.strip().splitlines()[-1])


def print_concurrent(net: str, steps: int) -> None:
    rows = _in_fresh_process(2, "--net", net, "--steps", str(steps), "--concurrent-of")
    print(f"{net}: one shard of 50 images, ms per layer (median of {steps} steps): thread CPU "
          "alone; thread CPU and wall while a second shard runs")
    print(f"  {'layer':12s} {'alone':>7s} {'cpu':>7s} {'wall':>7s}")
    totals = {"alone": 0.0, "cpu": 0.0, "wall": 0.0}
    for key, row in rows.items():
        for k in totals:
            totals[k] += row[k]
        if row["alone"] >= 0.3 or row["wall"] >= 0.3:
            print(f"  {key:12s} {row['alone']:7.2f} {row['cpu']:7.2f} {row['wall']:7.2f}")
    print(f"  {'all layers':12s} {totals['alone']:7.2f} {totals['cpu']:7.2f} {totals['wall']:7.2f}"
          f"   (layers under 0.3 ms not listed)")


def print_layers(net: str, steps: int) -> None:
    runs = {}
    for lib in ("tatamu", "torch"):
        runs[lib] = _in_fresh_process(1, "--net", net, "--steps", str(steps), "--layers-of", lib)
    ours, theirs = runs["tatamu"], runs["torch"]
    print(f"{net} step at 1 thread, batch 100: CPU ms per layer (median of {steps} steps)")
    print(f"  {'layer':12s} {'tatamu':>8s} {'PyTorch':>8s} {'ratio':>6s}")
    for key in list(ours) + [k for k in theirs if k not in ours]:
        a, b = ours.get(key), theirs.get(key)
        ratio = f"{a / b:6.2f}" if a is not None and b else ""
        print(f"  {key:12s} {a if a is not None else float('nan'):8.2f} "
              f"{b if b is not None else float('nan'):8.2f} {ratio}")
    total_a, total_b = sum(ours.values()), sum(theirs.values())
    print(f"  {'all layers':12s} {total_a:8.2f} {total_b:8.2f} {total_a / total_b:6.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phases")
    parser.add_argument("--net", choices=("simple", "deep"), default="simple")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, help="internal: measure in this process")
    parser.add_argument("--layers", action="store_true",
                        help="per-layer CPU time at 1 thread, tatamu beside PyTorch")
    parser.add_argument("--layers-of", choices=("tatamu", "torch"), help="internal")
    parser.add_argument("--concurrent", action="store_true",
                        help="per layer at 2 threads: a shard alone and beside a second one")
    parser.add_argument("--concurrent-of", action="store_true", help="internal")
    args = parser.parse_args(argv)
    if args.concurrent_of:
        print(json.dumps(concurrent_times(args.net, args.steps)))
        return 0
    if args.concurrent:
        print_concurrent(args.net, args.steps)
        return 0
    if args.layers_of:
        print(json.dumps(layer_times(args.net, args.layers_of, args.steps)))
        return 0
    if args.layers:
        print_layers(args.net, args.steps)
        return 0
    if args.threads:
        print(json.dumps(measure(args.net, args.threads, args.steps)))
        return 0
    runs = {}
    for threads in (1, 2):
        runs[threads] = _in_fresh_process(threads, "--net", args.net, "--steps",
                                          str(args.steps), "--threads", str(threads))
    one, two = runs[1], runs[2]
    total1 = sum(p["wall_ms"] for p in one.values())
    total2 = sum(p["wall_ms"] for p in two.values())
    print(f"{args.net} step, batch 100 (median wall ms; CPU ms of the process)")
    for phase in PHASES:
        a, b = one[phase], two[phase]
        print(f"  {phase:10s} 1 thread {a['wall_ms']:7.2f} ({a['cpu_ms']:6.2f})   2 threads "
              f"{b['wall_ms']:7.2f} ({b['cpu_ms']:6.2f})   gain {a['wall_ms'] / b['wall_ms']:.2f}")
    # the serial share from CPU time at 1 thread: on a shared machine far steadier than wall
    cpu1 = sum(p["cpu_ms"] for p in one.values())
    serial = (one["sum grads"]["cpu_ms"] + one["optimizer"]["cpu_ms"]) / cpu1
    print(f"  step       1 thread {total1:7.2f}            2 threads {total2:7.2f}"
          f"            gain {total1 / total2:.2f}")
    print(f"  outside the shards at 1 thread (CPU): {serial:.1%}; Amdahl's bound on the gain if "
          f"only that stayed serial: {1 / (serial + (1 - serial) / 2):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
