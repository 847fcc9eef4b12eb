"""``tatamu check`` with the learner's code in a child process (see :mod:`tatamu.learn.isolate`).

:func:`check_isolated` sends the target and options to :func:`check_in_child`, which loads the
learner's file (or notebook) there, runs every check and returns the
:class:`~tatamu.learn.checker.report.FileReport` as JSON. A file that never finishes, eats all
memory or kills its interpreter comes back as a report with ``status`` ``"timeout"``,
``"memory"`` or ``"error"`` and a one-line ``reason`` naming where it was. Nothing the
learner's code prints reaches our stdout; it comes back cut, in ``output``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ..isolate import Limits, run_isolated
from . import check_target
from .loading import LearnerCodeError, parse_target
from .report import FileReport


def check_isolated(target: str, *, name: str | None = None, kind: str | None = None,
                   profile: str | None = None, adapter: str | None = None,
                   rounding: str = "strict", strict: bool = False,
                   cell_timeout: float | None = None,
                   limits: Limits | None = None) -> FileReport:
    """Check ``target`` (``FILE.py[:Name]``, ``FILE.ipynb[:Name]`` or ``module:Name``) in a
    child process with ``limits``; never raises for what the learner's code does."""
    limits = limits or Limits()
    source, named = parse_target(target)
    shown = source
    path = Path(source)
    is_file = path.suffix in (".py", ".ipynb") or path.exists()
    if is_file:  # the child runs in a scratch folder: it needs the absolute path
        source = str(path.resolve())
    payload = {"source": source, "shown": shown, "target": target, "name": name or named,
               "kind": kind, "profile": profile, "rounding": rounding, "strict": strict,
               "cell_timeout": cell_timeout,
               "adapter": str(Path(adapter).resolve()) if adapter else None}
    watch = [str(Path(source).parent)] if is_file else []
    if adapter:
        watch.append(payload["adapter"])
    outcome = run_isolated("tatamu.learn.checker.isolated:check_in_child", payload,
                           limits=limits, watch=watch)
    output = {"stdout": outcome.stdout, "stderr": outcome.stderr}
    if outcome.ok:
        report = FileReport.from_dict(outcome.value)
    else:
        reason = one_line(outcome.reason or "")
        running = running_check(outcome.stack)
        if running and outcome.status == "timeout":
            reason += f"; tatamu was running the check '{running}'"
        if outcome.status == "timeout" and path.suffix == ".ipynb":
            reason += "; or stop a notebook's long cells with --cell-timeout SECONDS"
        report = FileReport(shown, target, outcome.status, reason, strict=strict)
    report.seconds = outcome.seconds
    report.output = output
    if outcome.where is not None and report.where is None:
        report.where = str(outcome.where)
    return report


def check_in_child(payload: dict) -> dict:
    """In the child: load and check; a loading error becomes a report with its status."""
    report = FileReport(payload["shown"], payload["target"], strict=payload["strict"])
    try:
        report = check_target(
            payload["source"], payload["name"], payload["kind"], rounding=payload["rounding"],
            profile=payload["profile"], adapter=payload["adapter"], strict=payload["strict"],
            shown=payload["shown"], target_shown=payload["target"],
            cell_timeout=payload.get("cell_timeout"))
    except LearnerCodeError as exc:
        report.status = exc.status
        report.reason = one_line(str(exc))
        report.notebook = getattr(exc, "notebook", None)
    return report.to_dict()


def running_check(stack) -> str | None:
    """The title of the check that was running (the frame called by harness._run_one)."""
    for inner, outer in zip(stack, stack[1:], strict=False):
        if outer.function == "_run_one" and Path(inner.file).parent == Path(__file__).parent:
            module = sys.modules.get(f"{__package__}.{Path(inner.file).stem}")
            check = getattr(module, inner.function, None)
            doc = getattr(check, "__doc__", None)
            return doc.strip().splitlines()[0] if doc else inner.function
    return None


def one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return "; ".join(lines) if lines else text

