"""Running code that is not ours (a learner's file, a class's submissions) in a child process.

``run_isolated("package.module:function", payload)`` starts a fresh Python, calls
``function(payload)`` there and returns its (JSON) result as an :class:`Outcome`, or a
structured failure: ``"timeout"`` (with where the code was when it was stopped), ``"memory"``,
``"error"``. The child gets a wall-clock limit (kept by the parent), ``RLIMIT_AS`` and
``RLIMIT_CPU`` (set by the child on itself before it imports anything of size), a scrubbed
environment, a scratch working folder, stdin from /dev/null, and its stdout/stderr captured
and truncated, so nothing it prints reaches ours.

These limits keep a runaway loop or a huge array from hanging or swapping the machine. They
are **not a security boundary**: the code runs as the user, can read and write their files and
reach the network. Run only code you would run yourself.
"""

from __future__ import annotations

import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: What a child may write to stdout/stderr before the rest is cut (per stream).
OUTPUT_BYTES = 20_000
#: The largest file the child may write (its captured output included): 128 MiB.
FILE_BYTES = 128 * 2**20
#: Seconds the parent waits for the child's stack after asking for it, before killing it.
STACK_GRACE = 1.5

STATUSES = ("ok", "error", "timeout", "memory")


@dataclass(frozen=True)
class Limits:
    """How long and how much: ``timeout`` wall-clock seconds, ``memory_mb`` of address space
    (``None``: no limit). CPU time is held to the same seconds (plus a margin), so a child
    that ignores its signals still stops."""

    timeout: float = 60.0
    memory_mb: int | None = 2048

    def __post_init__(self) -> None:
        if not (self.timeout > 0 and math.isfinite(self.timeout)):
            raise ValueError(f"timeout must be a positive number of seconds; got {self.timeout}")
        if self.memory_mb is not None and self.memory_mb < 64:
            raise ValueError(f"memory_mb must be at least 64 (Python alone needs that); "
                             f"got {self.memory_mb}")


@dataclass(frozen=True)
class Frame:
    """One line of a stack: ``file``, ``line``, ``function``."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{Path(self.file).name}, line {self.line} (in {self.function})"


@dataclass
class Outcome:
    """What came back from the child.

    status : ``"ok"`` (``value`` is the function's result), ``"error"`` (the function raised,
        or the child died: ``reason`` says how), ``"timeout"`` or ``"memory"``.
    reason : one line for a person; None when ok.
    seconds : how long the child ran (wall clock).
    where : for a timeout or a crash, the innermost frame in one of ``watch``'s files (or the
        innermost frame at all), else None. ``stack`` is the whole sampled stack, innermost
        first.
    stdout, stderr : what the child printed, cut to :data:`OUTPUT_BYTES` each.
    """

    status: str
    value: Any = None
    reason: str | None = None
    seconds: float = 0.0
    where: Frame | None = None
    stack: list[Frame] = field(default_factory=list)
    stdout: str = ""
    stderr: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def run_isolated(function: str, payload: Any = None, *, limits: Limits | None = None,
                 workdir: str | os.PathLike | None = None,
                 watch: Iterable[str | os.PathLike] = ()) -> Outcome:
    """Call ``function(payload)`` in a child Python with ``limits``; never raises for the
    child's sake.

    Parameters
    ----------
    function : ``"package.module:function"``, importable in the child (tatamu's own or on the
        child's path). It takes the JSON-decoded ``payload`` and returns something JSON can
        write. It runs with ``workdir`` as the current folder.
    payload : any JSON value.
    workdir : the child's working folder; default a fresh scratch folder, removed afterwards.
    watch : files (or folders) whose frames count as "where it was" for a timeout: the
        learner's. Compiled code with a made-up file name (a notebook's ``work.ipynb [cell
        3]``) matches when the name starts with a watched path.
    """
    limits = limits or Limits()
    with tempfile.TemporaryDirectory(prefix="tatamu-isolate-") as control:
        control = Path(control)
        scratch = control / "scratch"
        scratch.mkdir()
        cwd = Path(workdir) if workdir is not None else scratch
        spec = {"function": function, "payload": payload, "timeout": limits.timeout,
                "memory_mb": limits.memory_mb, "path": [_package_root()]}
        (control / "spec.json").write_text(json.dumps(spec), encoding="utf-8")
        return _run_child(control, cwd, limits, [str(w) for w in watch])


def _run_child(control: Path, cwd: Path, limits: Limits, watch: list[str]) -> Outcome:
    out_path, err_path = control / "stdout.txt", control / "stderr.txt"
    start = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        # -I: none of the caller's PYTHON* settings or user site; this file runs as a script,
        # so the child imports nothing of size before it has limited itself
        child = subprocess.Popen(
            [sys.executable, "-I", "-u", str(Path(__file__).resolve()), str(control)],
            cwd=cwd, env=child_environment(cwd), stdin=subprocess.DEVNULL, stdout=out,
            stderr=err, start_new_session=True)  # its own group: grandchildren stop with it
        timed_out = False
        try:
            child.wait(timeout=limits.timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
            _sample_stack(child, control / "stack.txt")
        finally:
            _stop_group(child)
    seconds = time.monotonic() - start
    stdout, stderr = _read_cut(out_path), _read_cut(err_path)
    stack = parse_stack(_read_text(control / "stack.txt"))
    result = None if timed_out else _read_result(control / "result.json")
    if result is not None and result.get("stack"):  # where the function raised
        stack = [Frame(str(f), int(n), str(fn)) for f, n, fn in result["stack"]]
    where = innermost(stack, watch)
    common = {"seconds": seconds, "stdout": stdout, "stderr": stderr, "stack": stack,
              "where": where}
    if timed_out:
        return Outcome("timeout", reason=timeout_reason(seconds, where), **common)
    if result is not None:
        status = result.get("status")
        if status == "ok":
            return Outcome("ok", value=result.get("value"), **common)
        reason = str(result.get("reason"))
        if where is not None:
            reason += f" (at {where})"
        return Outcome(status if status in STATUSES else "error", reason=reason, **common)
    status, reason = _death(child.returncode, stderr, limits, where)
    return Outcome(status, reason=reason, **common)


def child_environment(cwd: Path) -> dict[str, str]:
    """A scrubbed environment: no secrets or settings of the caller's, BLAS on one thread,
    HOME and TMPDIR in the scratch folder."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd),
           "TMPDIR": str(cwd), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "MPLBACKEND": "Agg",
           # one thread: a BLAS pool reserves address space per thread (RLIMIT_AS) and
           # would make CPU time outrun the wall clock
           "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    if "SYSTEMROOT" in os.environ:  # pragma: no cover - Windows only
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


def _package_root() -> str:
    """The folder holding ``tatamu/``: put on the child's path, so the child imports this
    tatamu however the parent found it."""
    return str(Path(__file__).resolve().parents[2])


def _sample_stack(child: subprocess.Popen, stack_file: Path) -> None:
    """Ask the child for its stack (SIGUSR1: faulthandler writes it, even inside C code) and
    wait until it is written, or STACK_GRACE seconds."""
    try:
        os.kill(child.pid, signal.SIGUSR1)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + STACK_GRACE
    size = -1
    while time.monotonic() < deadline and child.poll() is None:
        time.sleep(0.05)
        now = stack_file.stat().st_size if stack_file.exists() else 0
        if now and now == size:
            return  # written and no longer growing
        size = now


def _stop_group(child: subprocess.Popen) -> None:
    """Kill the child's process group (the child and anything it started) and reap it."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    child.wait()


def _read_cut(path: Path, limit: int = OUTPUT_BYTES) -> str:
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)
            rest = os.fstat(f.fileno()).st_size - limit
    except OSError:
        return ""
    text = data[:limit].decode("utf-8", errors="replace")
    return text + (f"\n[... {rest} more bytes cut]" if rest > 0 else "")


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _read_result(path: Path) -> dict | None:
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return result if isinstance(result, dict) else None


_FRAME = re.compile(r'^\s*File "(?P<file>.*)", line (?P<line>\d+) in (?P<function>.*)$')


def parse_stack(text: str) -> list[Frame]:
    """faulthandler's dump (most recent call first) -> frames, the first thread's only."""
    frames = []
    for line in text.splitlines():
        if frames and not line.startswith(" "):  # the next thread's header
            break
        match = _FRAME.match(line)
        if match:
            frames.append(Frame(match["file"], int(match["line"]), match["function"].strip()))
    return frames


def innermost(stack: list[Frame], watch: Iterable[str]) -> Frame | None:
    """The innermost frame in a watched file (a path, a folder, or a prefix of a made-up
    name such as ``work.ipynb [cell 3]``); None without watched files or stack."""
    places = [str(Path(w).resolve()) for w in watch]
    for frame in stack:
        name = frame.file
        resolved = str(Path(name).resolve()) if not name.startswith("<") else name
        if any(resolved == p or resolved.startswith(p + os.sep) or resolved.startswith(p + " ")
               or name.startswith(p) for p in places):
            return frame
    return None


def timeout_reason(seconds: float, where: Frame | None) -> str:
    place = f"; it was at {where}" if where else ""
    return (f"stopped after {seconds:.1f} s: it was still running{place} (a loop that never "
            f"ends, or training at the top level? give more time with --timeout)")


def _death(returncode: int, stderr: str, limits: Limits, where: Frame | None):
    """(status, reason) for a child that left no result."""
    place = f" at {where}" if where else ""
    signum = -returncode if returncode < 0 else None
    memory_words = ("MemoryError", "Cannot allocate memory", "bad_alloc", "Unable to allocate")
    if limits.memory_mb is not None and any(w in stderr for w in memory_words):
        return "memory", (f"ran out of its {limits.memory_mb} MB of memory{place} (give more "
                          f"with --memory)")
    if signum == signal.SIGXCPU:
        return "timeout", (f"used its {limits.timeout:g} s of CPU time{place} (give more with "
                           f"--timeout)")
    if signum == signal.SIGKILL:
        return "memory", (f"was killed (SIGKILL, most likely the system's out-of-memory "
                          f"killer){place}; give less data or a lower --memory")
    if signum is not None:
        name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ \
            else str(signum)
        return "error", f"the process died with signal {name}{place}"
    last = next((line for line in reversed(stderr.splitlines()) if line.strip()), "")
    return "error", (f"the process exited with status {returncode} before reporting"
                     + (f": {last.strip()}" if last else "") + place)


# -- the child ------------------------------------------------------------------------------
def _child_main(control: str) -> int:
    """In the child: limits first, then the function, then its result as JSON."""
    control_dir = Path(control)
    spec = json.loads((control_dir / "spec.json").read_text(encoding="utf-8"))
    _limit_self(spec["timeout"], spec["memory_mb"])
    sys.path[:0] = spec["path"]
    stack_file = open(control_dir / "stack.txt", "w")  # noqa: SIM115 - open until exit
    import faulthandler

    faulthandler.register(signal.SIGUSR1, file=stack_file, all_threads=True)
    faulthandler.enable(file=stack_file)  # a segfault in C code leaves its stack too
    signal.signal(signal.SIGXCPU, _cpu_spent)
    try:
        result = {"status": "ok", "value": _call(spec["function"], spec["payload"])}
        text = json.dumps(result)
    except MemoryError as exc:
        text = json.dumps({"status": "memory", "stack": _frames(exc), "reason": (
            f"ran out of its {spec['memory_mb']} MB of memory (MemoryError; give more with "
            f"--memory)")})
    except BaseException as exc:  # noqa: BLE001 - anything at all becomes one line
        text = json.dumps({"status": "error", "stack": _frames(exc),
                           "reason": f"{type(exc).__name__}: {exc}"})
    tmp = control_dir / "result.json.tmp"
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(control_dir / "result.json")  # whole or absent, never half-written
    return 0


def _frames(exc: BaseException) -> list[list]:
    """The exception's traceback as [file, line, function], innermost first."""
    import traceback

    return [[f.filename, f.lineno, f.name]
            for f in reversed(traceback.extract_tb(exc.__traceback__))]


def _limit_self(timeout: float, memory_mb: int | None) -> None:
    import resource

    cpu = math.ceil(timeout) + 2  # the parent's wall clock normally stops it first
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 3))
    if memory_mb is not None:
        size = int(memory_mb) * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (size, size))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_BYTES, FILE_BYTES))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past FILE_BYTES fails, not kills


def _cpu_spent(signum, frame):
    raise TimeoutError("used all its CPU time (RLIMIT_CPU)")


def _call(function: str, payload: Any) -> Any:
    import importlib

    module_name, _, name = function.partition(":")
    target = importlib.import_module(module_name)
    for part in name.split("."):
        target = getattr(target, part)
    return target(payload)


def run_script(payload: dict) -> None:
    """Runs the Python file ``payload["path"]`` as ``python FILE`` would (``__main__``, its
    folder first on ``sys.path``, ``sys.argv`` = ``[path, *payload.get("argv", [])]``)."""
    import runpy

    path = str(Path(payload["path"]).resolve())
    sys.argv = [path, *payload.get("argv", [])]
    sys.path.insert(0, str(Path(path).parent))
    runpy.run_path(path, run_name="__main__")


def echo(payload: Any) -> Any:
    """Returns ``payload``: the smallest function to run isolated (tests, a health check)."""
    return payload


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1]))
