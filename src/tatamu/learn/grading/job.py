"""One submission graded: a scratch copy, a limited process, and the record of what happened.

:func:`grade_submission` runs wherever the engine puts it (a thread here, a Dask worker there).
It writes the submission's files into a fresh scratch folder, runs
:mod:`tatamu.learn.grading.child` there through :mod:`tatamu.batch.start` (CPU time, memory and
file-size limits, no network where the OS allows), with a scrubbed environment and the wall-clock
limit, then deletes the scratch folder. What the submission writes lands in the scratch copy;
what it prints is kept (its first and last 64 kB) and measured. Whatever happens, one record
comes back: a status (:data:`STATUSES`), a one-line reason and, when the checks ran, their
reports. Nothing here raises for anything a submission does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from ...batch import child, start
from ..isolate import innermost, parse_stack

#: What a submission's row may say. The first six are ``tatamu check --json``'s own.
STATUSES = {
    "ok": "checked",
    "error": "its code raised an error while loading",
    "timeout": "did not finish within the time limit",
    "memory": "used more memory than allowed",
    "syntax": "has a syntax error",
    "not-found": "the layer was not found",
    "crash": "its process ended without a result",
    "too-large": "the submission is too large to copy",
}
#: Limits that are always set: a file written at import stops growing here.
FILE_LIMIT_MB = 64
#: How much of what a submission printed is shown in its record: lines at each end, their width.
SHOWN_LINES, SHOWN_WIDTH = 10, 160


def scrubbed_environment(scratch: Path) -> dict[str, str]:
    """The only variables a submission sees: no tokens, no proxies, no paths of the grader's."""
    home = scratch / "home"
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home), "TMPDIR": str(scratch / "tmp"),
        "XDG_CACHE_HOME": str(home / ".cache"), "MPLCONFIGDIR": str(home / ".matplotlib"),
        "MPLBACKEND": "Agg", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
        # one thread each: N submissions at once share the cores instead of fighting for them
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
        "TATAMU_NUM_THREADS": "1",
    }


def grade_submission(job: dict[str, Any]) -> dict[str, Any]:
    """Grade one submission; ``job`` as made by :func:`tatamu.learn.grading.grade.make_job`.

    Returns the record: ``submission``, ``fingerprint``, ``status``, ``reason``, ``reports``
    (kind -> ``tatamu check --json`` object), ``notes``, ``seconds``, ``printed`` (bytes) and
    ``output`` (the start and end of what it printed).
    """
    record = {"submission": job["name"], "fingerprint": job["fingerprint"], "status": "ok",
              "reason": "", "reports": {}, "notes": [], "seconds": 0.0, "printed": 0,
              "output": "", "host": socket.gethostname()}
    if job.get("too_large"):
        return {**record, "status": "too-large",
                "reason": "the submission holds more than 64 MB; remove data files from it"}
    targets = {k: t for k, t in job["targets"].items() if t is not None}
    for kind, why in job["missing"].items():
        record["reports"][kind] = {"kind": kind, "status": "not-found", "reason": why,
                                   "checks": []}
    if not targets:
        return _summed(record)
    scratch = Path(tempfile.mkdtemp(prefix="tatamu-grade-"))
    try:
        work = _write_copy(scratch, job)
        outcome = child.run_child(_command(job, targets, scratch), cwd=work,
                                  env=scrubbed_environment(scratch),
                                  wall_limit=job["timeout"], result=True,
                                  dump_signal=signal.SIGUSR1)
    except child.Stopped:
        raise
    except OSError as exc:  # the grader's machine refused (disk full...): this row says so
        return {**record, "status": "error", "reason": f"could not run the check: {exc}"}
    finally:
        _remove(scratch)
    return _summed(_read_outcome(record, outcome, job, work))


def _write_copy(scratch: Path, job: dict[str, Any]) -> Path:
    """The submission's files under scratch/work (the working folder), the adapter beside."""
    work = scratch / "work"
    for folder in (work, scratch / "home", scratch / "tmp"):
        folder.mkdir()
    for name, data in job["files"]:
        path = work / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    if job.get("adapter"):
        name, data = job["adapter"]
        (scratch / "adapter").mkdir()
        (scratch / "adapter" / name).write_bytes(data)
    return work


def _command(job: dict[str, Any], targets: dict[str, str], scratch: Path) -> list[str]:
    adapter = str(scratch / "adapter" / job["adapter"][0]) if job.get("adapter") else None
    spec = {
        "limits": {"cpu_seconds": job["timeout"], "memory_mb": job["memory_mb"],
                   "file_mb": FILE_LIMIT_MB, "network": False},
        "entry": "tatamu.learn.grading.child:main",
        "args": {"targets": targets, "profile": job.get("profile"), "adapter": adapter,
                 "timeout": job["timeout"], "memory_mb": job["memory_mb"],
                 "cell_timeout": job.get("cell_timeout")},
    }
    # -I: no user site, no PYTHON* variables, the working folder not on sys.path first;
    # -B: no __pycache__ written into the copy
    return [sys.executable, "-I", "-B", start.__file__, json.dumps(spec)]


def _read_outcome(record: dict[str, Any], outcome: child.ChildResult, job: dict[str, Any],
                  work: Path) -> dict[str, Any]:
    record.update(seconds=round(outcome.seconds, 3), printed=outcome.stdout.total,
                  output=_shown(outcome.stdout))
    result = None
    if outcome.result is not None and not outcome.result_overflow:
        try:
            result = json.loads(outcome.result)
        except ValueError:
            result = None
    if isinstance(result, dict) and isinstance(result.get("reports"), dict):
        record["reports"].update(result["reports"])
        record["notes"] = [str(n) for n in result.get("notes", [])]
        return record
    printed, dump = _split_dump(outcome.stderr.text())
    status, reason = _failure(outcome, job, _last_line(printed), _where(dump, work))
    record["status"], record["reason"] = status, reason
    for kind in job["targets"]:
        if job["targets"][kind] is not None:
            record["reports"][kind] = {"kind": kind, "status": status, "reason": reason,
                                       "checks": []}
    return record


def _failure(outcome: child.ChildResult, job: dict[str, Any], last: str,
             where: str | None) -> tuple[str, str]:
    """Status and reason for a process that gave no result (``last``: the last line it wrote
    to stderr; ``where``: where its code was)."""
    at = f"; it was at {where}" if where else ""
    if outcome.timed_out or outcome.signal_name == "SIGXCPU":
        what = "" if outcome.timed_out else " of CPU time"
        return "timeout", (f"stopped after {job['timeout']:g} s{what} (the --timeout){at}: a "
                           "loop that never ends, or a training run left at the top level?")
    if "MemoryError" in last or "Cannot allocate memory" in last or "bad_alloc" in last:
        return "memory", f"used more than {job['memory_mb']} MB (the --memory): {last}"
    if outcome.signal_name:
        return "crash", f"its process was ended by {outcome.signal_name}" + (
            f": {last}" if last else "") + at
    return "crash", (f"its process ended (exit status {outcome.returncode}) before the checks "
                     "gave a result" + (f": {last}" if last else "; did it call exit()?"))


#: How faulthandler's dump begins (a crash, or the SIGUSR1 sent when time is up).
DUMP_STARTS = ("Fatal Python error", "Current thread", "Stack (most recent call first)")


def _split_dump(stderr: str) -> tuple[str, str]:
    """stderr as (what the code wrote, the stack faulthandler wrote last)."""
    marks = [i for i in (stderr.rfind(m) for m in DUMP_STARTS) if i >= 0]
    first_of_last = min((i for i in marks if i >= max(marks, default=0) - 200), default=-1)
    return (stderr, "") if first_of_last < 0 else (stderr[:first_of_last], stderr[first_of_last:])


def _where(dump: str, work: Path) -> str | None:
    """The innermost line of the submission's own code in a faulthandler dump."""
    frames = parse_stack(dump[dump.find("\n") + 1:]) if dump else []  # past the header
    frame = innermost(frames, [str(work)])
    return None if frame is None else f"{Path(frame.file).name}, line {frame.line} (in " \
                                      f"{frame.function})"


def _summed(record: dict[str, Any]) -> dict[str, Any]:
    """The row's status: ok when every kind was checked, else the first kind's that was not."""
    if record["status"] != "ok":
        return record
    failed = [(k, r) for k, r in record["reports"].items() if r.get("status") != "ok"]
    if failed:
        reasons = {r.get("reason", "") for _, r in failed}
        kind, report = failed[0]
        record["status"] = report.get("status") or "error"
        reason = report.get("reason") or STATUSES.get(record["status"], "")
        record["reason"] = reason if len(failed) == len(record["reports"]) and \
            len(reasons) == 1 else f"{kind}: {reason}"
    return record


def _shown(kept: child.Kept) -> str:
    """The first and last :data:`SHOWN_LINES` lines of what was printed, each cut short."""
    lines = kept.text().splitlines()
    if len(lines) > 2 * SHOWN_LINES:
        lines = [*lines[:SHOWN_LINES], "[...]", *lines[-SHOWN_LINES:]]
    return "\n".join(line if len(line) <= SHOWN_WIDTH else line[:SHOWN_WIDTH] + " [...]"
                     for line in lines)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def _remove(scratch: Path) -> None:
    """Delete the scratch folder, also what a submission made read-only."""
    def unlock(function, path, _):
        try:
            os.chmod(os.path.dirname(path), stat.S_IRWXU)
            os.chmod(path, stat.S_IRWXU)
            function(path)
        except OSError:
            pass
    if sys.version_info >= (3, 12):
        shutil.rmtree(scratch, onexc=unlock)
    else:
        shutil.rmtree(scratch, onerror=unlock)
