"""Independent jobs, run on a local pool or on a Dask cluster; results as each one finishes.

A job is a picklable argument for a function importable by name (a submission to grade:
:func:`tatamu.learn.grading.job.grade_submission`; a training run:
:func:`tatamu.training.sweep.run_training`). The function starts the job's own process
(:mod:`tatamu.batch.child`) and returns a JSON-able result, so the same code runs the same way
on this machine and on any Dask worker:

* locally, ``jobs_at_once`` jobs at a time (each one a child process, watched by a thread);
* with ``cluster="tcp://HOST:8786"``, on the ``dask.distributed`` scheduler at that address
  (``pip install 'tatamu[cluster]'``): the workers' threads decide how many run at once. Workers
  need the same tatamu installed; jobs that write files (training runs) need a folder every
  worker sees at the same path.

Dask is imported only when a cluster is asked for. A Ctrl-C stops every local child (a training
run saves its checkpoint first) and cancels what the cluster has not started.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any

from .._version import __version__
from ..errors import ConfigError, Name
from . import child

#: Seconds to wait for the cluster's scheduler, and for its first worker.
CONNECT_TIMEOUT = 20.0
WORKER_TIMEOUT = 60.0


@dataclass
class Outcome:
    """One job's end: its index in the list given, and its result or the error that ended it."""

    index: int
    result: Any = None
    error: str | None = None  # "TypeError: ..." when the job function itself failed


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def run_jobs(function: Callable[[Any], Any], jobs: Sequence[Any], *,
             jobs_at_once: int | None = None, cluster: str | None = None,
             stop_grace: float = 0.0) -> Iterator[Outcome]:
    """Run ``function(job)`` for every job; yield an :class:`Outcome` as each one finishes.

    ``stop_grace``: on a Ctrl-C (or when the caller stops iterating), children get SIGINT and this
    many seconds to end before they are killed (0: killed at once).
    """
    if not jobs:
        return
    if cluster is not None:
        yield from _on_cluster(function, jobs, cluster)
        return
    child.allow_new()
    workers = jobs_at_once or default_jobs()
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tatamu-job")
    futures = {pool.submit(function, job): i for i, job in enumerate(jobs)}
    finished = False
    try:
        for future in as_completed(futures):
            yield _outcome(futures[future], future)
        finished = True
    finally:
        if not finished:  # a Ctrl-C, or the caller stopped: nothing new starts, children end
            for future in futures:
                future.cancel()
            child.stop_all(stop_grace)
        pool.shutdown(wait=True, cancel_futures=True)
        child.allow_new()


def _outcome(index: int, future) -> Outcome:
    try:
        return Outcome(index, result=future.result())
    except child.Stopped:
        raise KeyboardInterrupt from None
    except Exception as exc:  # the job function failed: that job's outcome, not the batch's end
        return Outcome(index, error=f"{type(exc).__name__}: {exc}")


# -- a Dask cluster ----------------------------------------------------------------------------
def connect(address: str):
    """A ``distributed.Client`` for the scheduler at ``address``, with at least one worker that
    runs this tatamu version; one-line errors for everything that can go wrong."""
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError("a cluster needs Dask's distributed scheduler: pip install "
                          "'tatamu[cluster]' (or leave out ", Name("cluster"),
                          " to run on this machine)", param="cluster") from None
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ConfigError(f"cannot reach a Dask scheduler at {address} ({exc}); start one with "
                          "'dask scheduler' and give the address it prints, such as "
                          "tcp://HOST:8786", param="cluster", value=address) from None
    try:
        client.wait_for_workers(1, timeout=WORKER_TIMEOUT)
        versions = client.run(_worker_version)
    except (OSError, TimeoutError) as exc:
        client.close()
        raise ConfigError(f"no Dask worker joined the scheduler at {address} within "
                          f"{WORKER_TIMEOUT:.0f} s ({type(exc).__name__}); start workers with "
                          f"'dask worker {address}'", param="cluster", value=address) from None
    wrong = {w: v for w, v in versions.items() if v != __version__}
    if wrong:
        client.close()
        worker, version = next(iter(wrong.items()))
        raise ConfigError(f"{len(wrong)} Dask worker(s) run another tatamu ({worker}: {version}; "
                          f"here: {__version__}); install the same tatamu on every worker",
                          param="cluster", value=address)
    return client


def _worker_version() -> str:
    """Runs on each worker: the tatamu it would use."""
    try:
        from tatamu._version import __version__ as version
    except ImportError:
        return "not installed"
    return version


def _on_cluster(function, jobs: Sequence[Any], address: str) -> Iterator[Outcome]:
    from distributed import as_completed as completed

    client = connect(address)
    futures = client.map(function, list(jobs), pure=False)
    index = {future.key: i for i, future in enumerate(futures)}
    try:
        for future in completed(futures, loop=client.loop):
            try:
                yield Outcome(index[future.key], result=future.result())
            except Exception as exc:  # the job failed on its worker (or the worker died)
                yield Outcome(index[future.key], error=f"{type(exc).__name__}: {exc}")
    finally:
        client.cancel(futures)
        client.close()
