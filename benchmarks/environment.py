"""The environment of a benchmark process: its thread count, and OpenBLAS left to pick its kernel.

Thread variables must be set before NumPy (OpenBLAS) and torch load, so every timed process is
started with them in its environment rather than changing them from inside.
"""

from __future__ import annotations

import os

#: Thread-count variables read by OpenBLAS, OpenMP (torch) and MKL when they load.
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: Set on some machines to pin OpenBLAS to an old kernel or a wrong cache size; dropped for
#: the benchmark process only (never for tests or CI), and the kernel used is reported.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def worker_env(threads: int) -> dict[str, str]:
    """This process's environment without the OpenBLAS overrides, with ``threads`` threads."""
    env = {k: v for k, v in os.environ.items() if k not in OPENBLAS_OVERRIDES}
    env.update({name: str(threads) for name in THREAD_VARS})
    return env
