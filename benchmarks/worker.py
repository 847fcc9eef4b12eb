"""One benchmark process at one thread count: ``python -m benchmarks.worker --threads N``.

Started by ``python -m benchmarks`` with the thread environment variables already set, so
they are in place before NumPy (and OpenBLAS) load. Writes its results as JSON.
"""

from __future__ import annotations

import argparse
import ctypes
import glob
import json
import os
import sys
import time

from .environment import blas_threadpools, machine_info

CASES = ("gemm", "train", "deep", "predict", "layers", "memory")


def blas_info() -> dict:
    """Which BLAS NumPy uses, which kernel it picked for this CPU, and its thread count."""
    import numpy as np

    info: dict = {"numpy": np.__version__}
    try:
        deps = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info.update(name=deps.get("name"), version=deps.get("version"),
                    config=deps.get("openblas configuration"))
    except Exception as exc:  # noqa: BLE001 - informational only
        info["config_error"] = repr(exc)
    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), os.pardir, "numpy.libs",
                                  "*openblas*"))
    if libs:  # scipy-openblas wheels prefix their symbols; ask the library itself
        lib = ctypes.CDLL(libs[0])
        for key, symbol, restype in (("kernel", "scipy_openblas_get_corename64_", ctypes.c_char_p),
                                     ("threads", "scipy_openblas_get_num_threads64_",
                                      ctypes.c_int)):
            fn = getattr(lib, symbol, None)
            if fn is not None:
                fn.restype = restype
                value = fn()
                info[key] = value.decode() if isinstance(value, bytes) else value
    return info


def run(threads: int, quick: bool, only: tuple[str, ...], progress) -> dict:
    import numpy as np
    import torch

    from tatamu.datasets import load_mnist

    from . import cases, memory

    torch.set_num_threads(threads)
    results: dict = {"threads": threads, "quick": quick, "blas": blas_info(),
                     "threadpools": blas_threadpools(),
                     "torch": {"version": torch.__version__, "threads": torch.get_num_threads(),
                               "mkldnn": torch.backends.mkldnn.is_available()},
                     "machine": machine_info(), "load": list(os.getloadavg()),
                     "env": {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS",
                                                             "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                                                             "OPENBLAS_CORETYPE",
                                                             "OPENBLAS_L2_SIZE")}}
    data = load_mnist()
    reps = 3 if quick else 5
    steps = {
        "gemm": lambda: cases.gemm(quick),
        "predict": lambda: _predict(data, quick, reps, cases, memory),
        "layers": lambda: cases.layers(quick),
        "memory": lambda: {"training": memory.training_memory(),
                           "predict": memory.predict_memory(
                               data[1][0], [10_000, 100_000 if quick else 1_000_000])},
    }
    for name in CASES:
        if name in only and name in steps:  # train, deep: their own processes (epochs.py)
            progress(f"[{threads} thread(s)] {name} ...")
            start = time.perf_counter()
            results[name] = steps[name]()
            results[name + "_seconds"] = time.perf_counter() - start
    del np
    return results


def _predict(data, quick, reps, cases, memory) -> dict:
    from tatamu.models import simple_convnet

    from .timing import compare

    result = cases.predict_simple(data, quick, reps)
    result["traced_peak"] = memory.traced_predict_peak(simple_convnet(rng=0), data[1][0])
    # Each library also in its own fresh processes, alternating (tatamu, torch, torch, tatamu):
    # in this worker PyTorch's OpenMP threads keep spinning after each of its calls while
    # tatamu's shard threads run (at 2 threads: 500 ms against 350 alone, issue 25).
    runs = {"tatamu": [], "torch": []}
    for order in (("tatamu", "torch"), ("torch", "tatamu")):
        for fw in order:
            runs[fw].append(memory.rss_predict_subprocess(fw))
    result["rss"] = {fw: runs[fw][0] for fw in runs}
    result["fresh"] = compare(*(sum((r["seconds"] for r in runs[fw]), []) for fw in runs))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default=",".join(CASES))
    parser.add_argument("--out", help="write the JSON here (default: stdout)")
    parser.add_argument("--rss", choices=("tatamu", "torch"),
                        help="internal: measure predict's RSS peak for one framework")
    args = parser.parse_args(argv)
    if args.rss:
        from .memory import rss_predict

        print(json.dumps(rss_predict(args.rss)))
        return 0
    only = tuple(name.strip() for name in args.only.split(","))
    results = run(args.threads, args.quick, only,
                  lambda msg: print(msg, file=sys.stderr, flush=True))
    text = json.dumps(results, indent=1)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
