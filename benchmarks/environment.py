"""The environment of a benchmark process: its thread count, and OpenBLAS left to pick its kernel.

Thread variables must be set before NumPy (OpenBLAS) and torch load, so every timed process is
started with them in its environment rather than changing them from inside. Each process reports
the machine and the thread pools it actually ran with (:func:`machine_info`,
:func:`blas_threadpools`), read here so that the case runners need not import each other.
"""

from __future__ import annotations

import os
import platform

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


def machine_info() -> dict:
    """The CPU's model name, the core count and the Python version."""
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version()}


def blas_threadpools() -> list[dict]:
    """threadpoolctl's view of the loaded BLAS and OpenMP libraries (kernel = architecture)."""
    from threadpoolctl import threadpool_info

    keys = ("user_api", "internal_api", "version", "architecture", "num_threads",
            "threading_layer")
    return [{k: pool.get(k) for k in keys} for pool in threadpool_info()]
