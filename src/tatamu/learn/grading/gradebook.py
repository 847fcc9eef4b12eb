"""A class's grades, written: grades.csv, each student's feedback, Gradescope's results.json.

Each record (what :func:`tatamu.learn.grading.job.grade_submission` returned) is scored with
the rubric into a :class:`Graded`: every check of every kind asked for, with its verdict and
points. A kind that could not be checked (its class missing, the file not loading) still lists
the checks it would have had (from tatamu's own layers, the reference), at 0 points, so every
row has the same columns and the same maximum.

Sentences a student reads are whole format strings, one each, so they can be translated.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .job import STATUSES
from .rubric import Rubric, format_points


def sentence(template: str, **values: Any) -> str:
    """A sentence a student reads: one whole format string, filled in (where a translation
    will be looked up, issue 26)."""
    return template.format(**values)


#: Verdicts as a student reads them.
VERDICTS = {"pass": "PASS", "fail": "FAIL", "note": "NOTE", "not run": "NOT RUN",
            "n/a": "N/A"}


@dataclass
class CheckResult:
    """One check of one kind, scored."""

    kind: str
    name: str
    status: str  # pass, fail, note; "not run" (the layer could not be checked); "n/a" (its
    #              course form cannot take this check: full points)
    earned: float
    worth: float
    detail: str = ""
    diagnosis: str = ""
    mismatch: Any = None

    @property
    def column(self) -> str:
        return column(self.kind, self.name)


@dataclass
class Graded:
    """One submission, scored."""

    name: str
    status: str
    reason: str
    checks: list[CheckResult] = field(default_factory=list)
    targets: dict[str, str] = field(default_factory=dict)  # kind -> what was checked
    record: dict[str, Any] = field(default_factory=dict)

    @property
    def score(self) -> float:
        return sum(c.earned for c in self.checks)

    @property
    def max_score(self) -> float:
        return sum(c.worth for c in self.checks)


def column(kind: str, name: str) -> str:
    """A check's name in grades.csv and in the rubric: ``"convolution: forward ..."``."""
    return f"{kind}: {name}"


def score(record: dict[str, Any], kinds: list[str], reference: dict[str, Any] | None,
          rubric: Rubric) -> Graded:
    """Score a record with the rubric. A kind that could not be checked gets the reference's
    checks, not run (0 points); a check the reference has but the submission's course form
    cannot take (CS231n's pooling has no padding) is not applicable and earns its points, so
    correct code in any form gets full marks and every row the same maximum."""
    graded = Graded(record["submission"], record["status"], record["reason"], record=record)
    for kind in kinds:
        report = record["reports"].get(kind) or {}
        expected = [str(c.get("name", "")) for c in
                    ((reference or {}).get("reports", {}).get(kind) or {}).get("checks") or []]
        checks = {str(c.get("name", "")): c for c in report.get("checks") or []}
        if report.get("status") != "ok" or not checks:
            graded.checks += [CheckResult(kind, name, "not run", 0.0,
                                          rubric.worth(column(kind, name))) for name in expected]
            continue
        graded.targets[kind] = str(report.get("target") or report.get("file") or "")
        why = "; ".join(n for n in report.get("notes", []) if "not checked" in n)
        for name in [*expected, *(n for n in checks if n not in expected)]:
            worth = rubric.worth(column(kind, name))
            check = checks.get(name)
            if check is None:
                graded.checks.append(CheckResult(kind, name, "n/a", worth, worth, why))
                continue
            status = str(check.get("status", "fail"))
            graded.checks.append(CheckResult(
                kind, name, status, rubric.earned(column(kind, name), status), worth,
                str(check.get("detail") or ""), str(check.get("diagnosis") or ""),
                check.get("mismatch")))
    return graded


def columns(graded: Iterable[Graded]) -> list[str]:
    """Every check column, in the order first seen (the reference's order, when it is first)."""
    seen: dict[str, None] = {}
    for g in graded:
        for check in g.checks:
            seen.setdefault(check.column, None)
    return list(seen)


# -- grades.csv --------------------------------------------------------------------------------
def grades_csv(graded: list[Graded], check_columns: list[str]) -> str:
    """One row per submission: submission, score, max_score, status, reason, then the points
    of each check (empty where a submission's profile has no such check)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", "status", "reason", *check_columns])
    for g in graded:
        earned = {c.column: format_points(c.earned) for c in g.checks}
        writer.writerow([g.name, format_points(g.score), format_points(g.max_score), g.status,
                         " ".join(g.reason.split()), *(earned.get(c, "") for c in check_columns)])
    return out.getvalue()


# -- Gradescope's results.json -----------------------------------------------------------------
def gradescope_results(g: Graded) -> dict[str, Any]:
    """The submission in Gradescope's autograder format (``score``, ``tests`` with ``name``,
    ``score``, ``max_score``, ``status``, ``output``), the feedback's words in each test."""
    tests = []
    for check in g.checks:
        tests.append({
            "name": check.column, "score": check.earned, "max_score": check.worth,
            "status": "passed" if check.earned >= check.worth and check.status != "not run"
            else "failed",
            "output": _check_text(check), "tags": [check.kind, check.status]})
    return {
        "score": g.score, "execution_time": round(float(g.record.get("seconds", 0.0))),
        "output": _overview(g), "output_format": "md", "test_output_format": "md",
        "test_name_format": "text", "visibility": "visible", "stdout_visibility": "hidden",
        "extra_data": {"status": g.status, "reason": g.reason, "max_score": g.max_score},
        "tests": tests,
    }


# -- feedback for the student ------------------------------------------------------------------
def feedback(g: Graded) -> str:
    """The student's page: the score, then each kind's checks with verdict, numbers, diagnosis."""
    lines = ["# " + sentence("Feedback for {name}", name=g.name), "", _overview(g), ""]
    lines += _notebook_lines(g)
    for kind in dict.fromkeys(c.kind for c in g.checks):
        checks = [c for c in g.checks if c.kind == kind]
        target = g.targets.get(kind)
        heading = f"{kind}: {target}" if target else kind
        lines += ["## " + heading, ""]
        if all(c.status == "not run" for c in checks):
            lines += [sentence("None of its {count} checks could run ({points} points): see "
                               "the reason above.", count=len(checks),
                               points=format_points(sum(c.worth for c in checks))), ""]
            continue
        lines += ["| verdict | check | points |", "|---|---|---|"]
        for c in checks:
            lines.append(f"| {VERDICTS[c.status]} | {_cell(c.name)} | "
                         + sentence("{earned} of {worth}", earned=format_points(c.earned),
                                    worth=format_points(c.worth)) + " |")
        lines.append("")
        for c in checks:
            if c.status in ("fail", "note", "n/a"):
                lines += [f"### {VERDICTS[c.status]}: {c.name}", "", _check_text(c), ""]
    printed = int(g.record.get("printed", 0))
    if printed:
        lines += ["## " + sentence("What your code printed"), "",
                  sentence("Your code printed {count:,} bytes while it was checked; its first "
                           "and last lines:", count=printed), "",
                  "```", g.record.get("output", ""), "```", ""]
    return "\n".join(lines)


def _notebook_lines(g: Graded) -> list[str]:
    """What was skipped in a notebook: magics and shell lines, cells that failed."""
    notebook = next((r.get("notebook") for r in g.record.get("reports", {}).values()
                     if r.get("notebook")), None)
    if not notebook:
        return []
    lines = ["## " + sentence("Your notebook"), ""]
    for cell in notebook.get("skipped_cells", []):
        lines.append("- " + sentence("Cell {cell}, line {line} was skipped ({why}): {source}",
                                     cell=cell.get("cell"), line=cell.get("line"),
                                     why=cell.get("why"), source=f"`{cell.get('source')}`"))
    for cell in notebook.get("failed_cells", []):
        lines.append("- " + sentence("Cell {cell} failed and was skipped; the other cells were "
                                     "still checked: {error}", cell=cell.get("cell"),
                                     error=cell.get("error")))
    return [*lines, ""]


def _overview(g: Graded) -> str:
    text = sentence("Score: {score} of {max_score} points.", score=format_points(g.score),
                    max_score=format_points(g.max_score))
    if g.status != "ok":
        text += "\n\n" + sentence("Your submission could not be checked completely ({status}: "
                                  "{what}): {reason}", status=g.status,
                                  what=STATUSES.get(g.status, ""), reason=g.reason)
    notes = [c for c in g.checks if c.status == "note"]
    if notes:
        text += "\n\n" + sentence("{count} note(s): your code departs from tatamu's conventions "
                                  "the way the book's own code does; see each NOTE below.",
                                  count=len(notes))
    return text


def _check_text(c: CheckResult) -> str:
    """A check's verdict for the student: what was found, in numbers, and the likely mistake."""
    if c.status == "not run":
        return sentence("Not run: the layer could not be checked (see the reason above).")
    if c.status == "n/a":
        return sentence("Not applicable to your course's form of the layer ({why}): full "
                        "points.", why=c.detail or "not checked in this form")
    parts = []
    if c.detail:
        parts.append("```\n" + c.detail.rstrip() + "\n```")
    if c.mismatch:
        first, _, rest = _mismatch(c.mismatch).partition("\n")
        parts.append(sentence("Where the numbers differ: {mismatch}", mismatch=first)
                     + (f"\n\n```\n{rest.rstrip()}\n```" if rest.strip() else ""))
    if c.diagnosis:
        parts.append(sentence("Likely mistake: {diagnosis}", diagnosis=c.diagnosis))
    if not parts and c.status == "pass":
        parts.append(sentence("Passed."))
    return "\n\n".join(parts)


def _mismatch(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


# -- writing -----------------------------------------------------------------------------------
def write_text(path: Path, text: str) -> None:
    """Write ``path`` whole or not at all (a Ctrl-C never leaves half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)


def write_json(path: Path, document: Any) -> None:
    write_text(path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
