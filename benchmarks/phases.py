"""Where a training step's time goes, at 1 and at 2 threads: ``python -m benchmarks.phases``.

A step of ``fit`` has a parallel part (each shard's forward, loss and backward on its own
thread, ``ShardRunner.run``) and a part between shards (adding the replicas' gradients, the
optimizer's update). Amdahl's law then bounds the 2-thread gain: with a fraction ``f`` of the
1-thread step outside the shards, the gain is at most ``1 / (f + (1 - f) / 2)``. This prints
the wall and CPU milliseconds of each phase (median over steps), the gain of each, and that
bound, so the second core's loss can be read off: serial work, or shards that do not halve.

Each thread count runs in its own process with the benchmark environment (``environment``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phases")
    parser.add_argument("--net", choices=("simple", "deep"), default="simple")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--threads", type=int, help="internal: measure in this process")
    args = parser.parse_args(argv)
    if args.threads:
        print(json.dumps(measure(args.net, args.threads, args.steps)))
        return 0
    runs = {}
    for threads in (1, 2):
        cmd = [sys.executable, "-m", "benchmarks.phases", "--net", args.net, "--steps",
               str(args.steps), "--threads", str(threads)]
        done = subprocess.run(cmd, env=worker_env(threads), check=True, capture_output=True,
                              text=True, cwd=Path(__file__).resolve().parent.parent)
        runs[threads] = json.loads(done.stdout.strip().splitlines()[-1])
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
