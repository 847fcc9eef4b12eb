"""A real Dask cluster on 127.0.0.1 for the tests: ``dask scheduler`` and ``dask worker`` as
separate processes, on free ports, in bounded time, always torn down.

Skipped (not failed) where Dask's distributed scheduler is not installed: it is the optional
``tatamu[cluster]`` extra (the ``test`` extra installs it).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_TIMEOUT = 60.0  # seconds for the scheduler to listen and the workers to join


def dask_command() -> list[str]:
    """The ``dask`` command of this Python (its venv's bin), or skip."""
    pytest.importorskip("distributed", reason="Dask's distributed scheduler is not installed "
                                              "(pip install 'tatamu[cluster]')")
    beside = Path(sys.executable).with_name("dask")
    found = str(beside) if beside.exists() else shutil.which("dask")
    if not found:
        pytest.skip("the 'dask' command is not installed")
    return [found]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def local_cluster(tmp: Path, workers: int = 1, threads: int = 2) -> Iterator[str]:
    """Start a scheduler and ``workers`` worker processes of ``threads`` threads each; yield
    the scheduler's address (tcp://127.0.0.1:PORT); kill them all at the end."""
    dask = dask_command()
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs, procs = [], []

    def start(args: list[str], name: str) -> None:
        log = open(tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed at teardown
        logs.append(log)
        procs.append(subprocess.Popen([*dask, *args], stdout=log, stderr=subprocess.STDOUT,
                                      cwd=tmp, start_new_session=True))

    try:
        start(["scheduler", "--host", "127.0.0.1", "--port", str(port),
               "--no-dashboard"], "scheduler")
        _wait_listening(port, procs[0], tmp / "scheduler.log")
        for i in range(workers):
            start(["worker", address, "--nthreads", str(threads), "--host", "127.0.0.1",
                   "--no-dashboard", "--name", f"test-worker-{i}"],
                  f"worker-{i}")
        _wait_workers(address, workers)
        yield address
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        for log in logs:
            log.close()


def _wait_listening(port: int, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"dask scheduler ended: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"dask scheduler not listening after {START_TIMEOUT} s")


def _wait_workers(address: str, count: int) -> None:
    from distributed import Client

    with Client(address, timeout=START_TIMEOUT) as client:
        client.wait_for_workers(count, timeout=START_TIMEOUT)
