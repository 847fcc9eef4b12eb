"""One command in its own process: its output kept within bounds, a wall-clock limit, and a way
to stop every child at once.

Each job of :mod:`tatamu.batch.engine` (a submission graded, a training run) is a child process
started here. The child gets a session of its own, so what it starts (a learner's code may fork)
is stopped with it, and a Ctrl-C in the terminal reaches only the parent, which then decides how
children end (:func:`stop_all`: a training run is asked to save its checkpoint first).

Output is read as it comes (a child that prints hundreds of MB never fills the pipe and never
fills memory): the first and the last :data:`KEEP` bytes of each stream are kept, with the total.
A child may also write its result to a private pipe (``result=True``), apart from anything its
code prints.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Bytes kept from the start and from the end of each output stream.
KEEP = 64 * 1024
#: The most a child's result may be (a grading report is a few kB).
RESULT_LIMIT = 16 * 1024 * 1024
#: Seconds the output is still read after the child ended (what it started may hold the pipe).
DRAIN_AFTER_EXIT = 1.0
#: Seconds a child that timed out gets to write where it was (``dump_signal``) before the kill.
DUMP_GRACE = 1.0


class Stopped(RuntimeError):
    """No new child is started: every job is being stopped (a Ctrl-C)."""


@dataclass
class Kept:
    """A stream's first and last bytes, and how many there were in all."""

    limit: int = KEEP
    head: bytearray = field(default_factory=bytearray)
    tail: bytearray = field(default_factory=bytearray)
    total: int = 0

    def add(self, data: bytes) -> None:
        self.total += len(data)
        room = self.limit - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > self.limit:
                del self.tail[: len(self.tail) - self.limit]

    @property
    def cut(self) -> int:
        """Bytes in the middle that were not kept."""
        return self.total - len(self.head) - len(self.tail)

    def text(self) -> str:
        """What was kept, as text, with a line where bytes were cut out."""
        head = self.head.decode("utf-8", "replace")
        if not self.tail:
            return head
        marker = f"\n[... {self.cut:,} bytes not kept ...]\n" if self.cut else ""
        return head + marker + self.tail.decode("utf-8", "replace")


@dataclass
class ChildResult:
    """How a child ended and what it wrote."""

    returncode: int  # negative: ended by that signal (-9 SIGKILL, -24 SIGXCPU)
    seconds: float  # wall-clock time
    timed_out: bool  # stopped at the wall-clock limit
    stdout: Kept
    stderr: Kept
    result: bytes | None = None  # what it wrote to its result pipe (None: nothing)
    result_overflow: bool = False  # the result was larger than RESULT_LIMIT

    @property
    def signal_name(self) -> str | None:
        if self.returncode >= 0:
            return None
        try:
            return signal.Signals(-self.returncode).name
        except ValueError:
            return f"signal {-self.returncode}"


# -- every live child, so that a Ctrl-C stops them all ----------------------------------------
_lock = threading.Lock()
_live: set[subprocess.Popen] = set()
_stopping = threading.Event()


def stop_all(grace: float = 0.0) -> None:
    """Stop every child started here, and start no new one until :func:`allow_new`.

    ``grace`` > 0: each child is first sent SIGINT (a training run saves its checkpoint, as on a
    Ctrl-C) and given that many seconds; whatever is left is killed.
    """
    _stopping.set()
    with _lock:
        children = list(_live)
    if grace > 0:
        for proc in children:
            _signal_group(proc, signal.SIGINT)
        deadline = time.monotonic() + grace
        for proc in children:
            try:
                proc.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    for proc in children:
        _signal_group(proc, signal.SIGKILL)


def allow_new() -> None:
    """Children may be started again (a new batch of jobs begins)."""
    _stopping.clear()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)  # the child leads its own session, so its group is its pid
    except (ProcessLookupError, PermissionError):
        pass


# -- one child ---------------------------------------------------------------------------------
def run_child(argv: Sequence[str], *, cwd: str | os.PathLike | None = None,
              env: dict[str, str] | None = None, wall_limit: float | None = None,
              keep: int = KEEP, result: bool = False,
              dump_signal: int | None = None) -> ChildResult:
    """Run ``argv`` to its end (or to ``wall_limit`` seconds) and return how it went.

    ``result``: the child gets a private pipe; its write end's number is appended to ``argv``
    (``--result-fd N``) and what it writes there comes back as ``ChildResult.result``.
    ``dump_signal``: sent to a child that ran out of time, which then has :data:`DUMP_GRACE`
    seconds to write where it was (:mod:`tatamu.batch.start` writes its stack to stderr on
    SIGUSR1) before it is killed. Whatever the child started is killed with it when it ends.
    """
    if _stopping.is_set():
        raise Stopped("jobs are being stopped")
    argv, pass_fds, result_read = list(argv), (), None
    if result:
        result_read, result_write = os.pipe()
        argv += ["--result-fd", str(result_write)]
        pass_fds = (result_write,)
    start = time.monotonic()
    try:
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, pass_fds=pass_fds)
    finally:
        for fd in pass_fds:
            os.close(fd)  # only the child writes; its end closing is the result's EOF
    with _lock:
        _live.add(proc)
    out, err, got = Kept(keep), Kept(keep), Kept(RESULT_LIMIT)
    streams = {proc.stdout.fileno(): out, proc.stderr.fileno(): err}
    if result_read is not None:
        streams[result_read] = got
    try:
        timed_out = _read_until_done(proc, streams, start, wall_limit, dump_signal)
    finally:
        _signal_group(proc, signal.SIGKILL)  # what it left running (a forked learner's code)
        proc.wait()
        with _lock:
            _live.discard(proc)
        proc.stdout.close()
        proc.stderr.close()
        if result_read is not None:
            os.close(result_read)
    return ChildResult(
        returncode=proc.returncode, seconds=time.monotonic() - start, timed_out=timed_out,
        stdout=out, stderr=err, result=bytes(got.head) if got.total else None,
        result_overflow=got.total > RESULT_LIMIT)


def _read_until_done(proc, streams: dict[int, Kept], start: float, wall_limit: float | None,
                     dump_signal: int | None) -> bool:
    """Read every stream until each ends or the child ended a moment ago; True if the wall
    limit stopped it."""
    timed_out, ended_at, kill_at = False, None, None
    with selectors.DefaultSelector() as selector:
        for fd in streams:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            now = time.monotonic()
            if ended_at is None and proc.poll() is not None:
                ended_at = now
            if ended_at is not None and now - ended_at > DRAIN_AFTER_EXIT:
                break  # something it started holds the pipe open; it is killed next
            if not timed_out and wall_limit is not None and now - start > wall_limit:
                timed_out, kill_at = True, now
                if dump_signal is not None and proc.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(proc.pid, dump_signal)  # "where are you?", then the kill
                    kill_at = now + DUMP_GRACE
            if kill_at is not None and now >= kill_at:
                kill_at = None
                _signal_group(proc, signal.SIGKILL)
            for key, _ in selector.select(timeout=0.2):
                data = os.read(key.fd, 65536)
                if data:
                    streams[key.fd].add(data)
                else:
                    selector.unregister(key.fd)
    return timed_out


def run_command(job: dict) -> dict:
    """A job that is one command, for :func:`tatamu.batch.engine.run_jobs` (here or on a Dask
    worker): ``{"argv": [...], "cwd": None, "env_add": {}, "wall_limit": None, "log": None}``.

    ``argv[0] == "python"`` means the Python that runs this (a worker's own); ``env_add``:
    variables set on top of the environment where it runs. With ``log`` (a path), what the
    command printed is added there (its first and last bytes), after a line naming it. Returns
    ``{"returncode", "seconds", "timed_out", "stdout", "stderr"}``, the output as text.
    """
    import sys

    argv = list(job["argv"])
    if argv[0] == "python":
        argv[0] = sys.executable
    env = {**os.environ, **job["env_add"]} if job.get("env_add") else None
    out = run_child(argv, cwd=job.get("cwd"), env=env, wall_limit=job.get("wall_limit"))
    stdout, stderr = out.stdout.text(), out.stderr.text()
    if job.get("log"):
        import shlex

        with open(job["log"], "a", encoding="utf-8") as log:  # a resumed run's follows its start
            log.write(f"=== {shlex.join(job['argv'])} (exit status {out.returncode}, "
                      f"{out.seconds:.1f} s)\n")
            for text in (stdout, stderr):
                log.write(text + ("\n" if text and not text.endswith("\n") else ""))
    return {"returncode": out.returncode, "seconds": round(out.seconds, 3),
            "timed_out": out.timed_out, "stdout": stdout, "stderr": stderr}
