"""What runs inside a submission's limited process: ``tatamu check --json`` for each kind.

Started by :mod:`tatamu.batch.start` (limits first) with the submission's scratch copy as the
working folder. For each kind asked, the file that holds it is checked by the machinery of
``tatamu check --json`` (:func:`tatamu.learn.checker.isolated.check_in_child`, here in this
already limited process) and the first layer of that kind found is kept, as one report::

    {"kind", "status", "reason", "target", "name", "profile", "how", "notes", "checks",
     "counts", "also", "notebook"}

``checks`` are ``tatamu check --json``'s (``name``, ``status`` pass/fail/note, ``detail``,
``diagnosis``, ``mismatch``); ``also`` names other layers of the kind that were not graded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def main(args: dict[str, Any], notes: list[str]) -> dict[str, Any]:
    """Check ``args["targets"][kind]`` (``{"file", "name"}``, the file in the working folder
    and the layer's class or function, None: the first of the kind) for each kind."""
    reports = {}
    for kind, target in args["targets"].items():
        try:
            reports[kind] = report_for(target, kind, profile=args.get("profile"),
                                       adapter=args.get("adapter"),
                                       cell_timeout=args.get("cell_timeout"))
        except MemoryError as exc:
            reports[kind] = {"kind": kind, "status": "memory", "checks": [],
                             "reason": f"ran out of its {args.get('memory_mb')} MB (the "
                                       f"--memory): MemoryError: {exc}"}
        except (Exception, SystemExit) as exc:  # the learner's code got past the checker
            reports[kind] = {"kind": kind, "status": "error", "checks": [],
                             "reason": f"{type(exc).__name__}: {exc}"}
    return {"reports": reports, "notes": notes}


def report_for(target: dict[str, str | None], kind: str, *, profile: str | None = None,
               adapter: str | None = None,
               cell_timeout: float | None = None) -> dict[str, Any]:
    """The layer ``target["name"]`` (or the first of ``kind``) in ``target["file"]``, checked
    as ``tatamu check --json`` does."""
    from ..checker.isolated import check_in_child

    file, name = str(target["file"]), target.get("name")
    shown = f"{file}:{name}" if name else file
    file_report = check_in_child({
        "source": str(Path(file).resolve()), "shown": file, "target": shown, "name": name,
        "kind": kind, "profile": profile, "rounding": "strict", "strict": False,
        "cell_timeout": cell_timeout, "adapter": adapter})
    target = shown
    report = {"kind": kind, "status": file_report["status"],
              "reason": file_report.get("reason") or "", "target": target, "checks": [],
              "notebook": file_report.get("notebook")}
    layers = file_report.get("layers") or []
    if report["status"] == "ok" and layers:
        first = layers[0]
        report.update(target=first.get("target", target), name=first.get("name", ""),
                      profile=first.get("profile"), how=first.get("how", ""),
                      notes=first.get("notes", []), checks=first.get("checks", []),
                      counts=first.get("counts", {}),
                      also=[layer.get("name", "") for layer in layers[1:]])
    elif report["status"] == "ok":
        report.update(status="not-found", reason=f"no {kind} layer in {target}")
    if report["status"] == "error" and "MemoryError" in report["reason"]:
        report["status"] = "memory"  # the learner's code ran out of the --memory limit
    return report
