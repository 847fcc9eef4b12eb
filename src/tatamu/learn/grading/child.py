"""What runs inside a submission's limited process: ``tatamu check --json`` for each kind.

Started by :mod:`tatamu.batch.start` (limits first) in the submission's scratch copy, with the
scratch copy as the working folder; returns ``{"reports": {kind: report}, "notes": [...]}``, each
report the object ``tatamu check --json`` prints for that file and kind.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def main(args: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Check each ``args["targets"][kind]`` (a file in the working folder) as that kind."""
    reports = {}
    for kind, target in args["targets"].items():
        reports[kind] = report_for(target, kind, profile=args.get("profile"),
                                   adapter=args.get("adapter"))
    return {"reports": reports, "notes": notes}


def report_for(target: str, kind: str, *, profile: str | None = None,
               adapter: str | None = None) -> dict[str, Any]:
    """``tatamu check --json TARGET --kind KIND``'s object, made in this process."""
    from ..checker import check_all
    from ..checker.loading import LearnerCodeError

    base = {"file": target, "target": target, "kind": kind, "profile": profile or "book"}
    try:
        reports = check_all(target, kind=kind)
    except LearnerCodeError as exc:
        return {**base, "status": _status_of(str(exc)), "reason": str(exc), "checks": [],
                "counts": {"pass": 0, "fail": 0, "note": 0}}
    report = reports[0]
    checks = [{"name": c.name, "status": "pass" if c.passed else "fail", "detail": c.detail,
               "diagnosis": c.diagnosis, "mismatch": None} for c in report.checks]
    counts = {s: sum(c["status"] == s for c in checks) for s in ("pass", "fail", "note")}
    return {**base, "target": f"{target}:{report.target.rpartition(':')[2]}",
            "file": str(Path(target)), "status": "ok", "reason": "", "checks": checks,
            "counts": counts}


def _status_of(message: str) -> str:
    if "SyntaxError" in message:
        return "syntax"
    if "MemoryError" in message:
        return "memory"
    if "not found" in message or "name the class" in message or "no such file" in message:
        return "not-found"
    return "error"
