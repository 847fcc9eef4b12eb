"""``python -m benchmarks``: run the worker once per thread count and print the tables.

See the package docstring (``benchmarks/__init__.py``) for what is measured and how.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .environment import OPENBLAS_OVERRIDES, worker_env
from .epochs import train_epochs
from .report import render
from .worker import CASES

RESULTS = Path(__file__).resolve().parent / "results"
#: The cases that run each library in its own fresh processes (epochs.py), and their net.
FRESH = {"train": "simple", "deep": "deep"}


def run_worker(threads: int, quick: bool, only: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        cmd = [sys.executable, "-m", "benchmarks.worker", "--threads", str(threads),
               "--only", only, "--out", out.name] + (["--quick"] if quick else [])
        subprocess.run(cmd, env=worker_env(threads), check=True,
                       cwd=Path(__file__).resolve().parent.parent)
        return json.loads(Path(out.name).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="tatamu vs PyTorch, interleaved, at 1 and 2 threads (see benchmarks/).")
    parser.add_argument("--quick", action="store_true",
                        help="short run: fewer repetitions; the epoch is extrapolated from "
                             "40 steps and the memmap has 100,000 images")
    parser.add_argument("--threads", type=int, action="append",
                        help="thread count (repeatable; default: 1 and 2)")
    parser.add_argument("--json", type=Path, help="where to write the results "
                        "(default: benchmarks/results/<time>.json)")
    parser.add_argument("--only", default=",".join(CASES),
                        help=f"comma-separated subset of {','.join(CASES)}")
    args = parser.parse_args(argv)
    unknown = set(args.only.split(",")) - set(CASES)
    if unknown:
        parser.error(f"unknown benchmark(s) {sorted(unknown)}; choose from {CASES}")
    saved = {k: os.environ.get(k) for k in OPENBLAS_OVERRIDES if os.environ.get(k)}
    runs = []
    for i, threads in enumerate(args.threads or [1, 2]):
        # Memory does not depend on threads: measured in the first run only.
        only = args.only if i == 0 else ",".join(
            c for c in args.only.split(",") if c != "memory") or "gemm"
        cases = [c for c in only.split(",") if c not in FRESH]
        # train, deep: each library in its own fresh processes; the rest in one worker process
        run = run_worker(threads, args.quick, ",".join(cases) or "gemm")
        for case, net in FRESH.items():
            if case in only.split(","):
                run[case] = train_epochs(threads, args.quick,
                                         lambda msg: print(msg, file=sys.stderr, flush=True),
                                         net=net)
        print(render(run) + "\n", flush=True)
        runs.append(run)
    path = args.json or RESULTS / time.strftime("%Y%m%d-%H%M%S.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"argv": sys.argv[1:], "dropped_env": saved, "runs": runs},
                               indent=1))
    print(f"results written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
