"""``grade_class``: a folder of submissions graded into an output folder; a rerun grades only
what is missing or changed.

    OUT/grades.csv               one row per submission (score, max_score, status, reason, checks)
        feedback/NAME.md         for the student: each check's verdict, numbers and diagnosis
        results/NAME.json        the same in Gradescope's results.json format
        summary.md, summary.png  the class: scores, the checks failed most, what could not run
        raw/NAME.json            what the checks found (kept: a rerun skips a submission whose
                                 files and options are unchanged; a new rubric re-scores them all
                                 without running anything)
        grade.json               the options of the last run (marks the folder as tatamu's)

Nothing is written in the submissions folder or the working folder: each submission runs in a
scratch copy (:mod:`tatamu.learn.grading.job`).
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..._version import __version__
from ...batch import engine
from ...errors import ConfigError, Name
from ..checker.kinds import KINDS, kind_from_name, resolve_kind
from ..checker.profiles import PROFILES
from . import gradebook, submissions
from .job import grade_submission
from .rubric import Rubric
from .rubric import load as load_rubric
from .summary import PICTURE, summary_markdown, summary_picture

MARKER = "grade.json"
RAW = "raw"
REFERENCE = ".reference"  # tatamu's own layers, checked for the list of checks (no student
#                          name starts with a dot: find() skips such entries)


@dataclass
class GradeSettings:
    """How a class is graded (``tatamu grade``'s options)."""

    kinds: list[str]
    profile: str | None = None
    adapter: Path | None = None
    file: str | None = None
    timeout: float = 60.0
    memory_mb: int = 2048
    cell_timeout: float | None = None  # a notebook cell's limit; None: a quarter of timeout
    rubric: Path | None = None
    jobs: int | None = None
    cluster: str | None = None

    def fingerprint_options(self) -> dict[str, Any]:
        """What changes a submission's checks (not the rubric: it only re-scores)."""
        adapter = self.adapter.read_bytes().hex() if self.adapter else None
        return {"kinds": self.kinds, "profile": self.profile, "adapter": adapter,
                "file": self.file, "timeout": self.timeout, "memory_mb": self.memory_mb,
                "cell_timeout": self.cell_limit, "tatamu": __version__}

    @property
    def cell_limit(self) -> float:
        """A notebook cell's seconds: a cell that trains is stopped and skipped, and what the
        other cells define is still checked within ``timeout``."""
        return self.cell_timeout if self.cell_timeout is not None else self.timeout / 4


@dataclass
class GradeResult:
    """What a run of :func:`grade_class` did."""

    out: Path
    graded: list[gradebook.Graded] = field(default_factory=list)
    ran: int = 0  # submissions checked in this run
    reused: int = 0  # unchanged since an earlier run: their checks were kept
    missing: list[str] = field(default_factory=list)  # not graded (an interrupted run)
    ignored: list[str] = field(default_factory=list)  # entries that are not submissions
    unused_patterns: list[str] = field(default_factory=list)
    interrupted: bool = False


def grade_class(folder: str | Path, out: str | Path, settings: GradeSettings, *,
                on_start: Callable[[int], None] | None = None,
                on_graded: Callable[[dict[str, Any]], None] | None = None) -> GradeResult:
    """Grade every submission in ``folder`` into ``out``; see the module's docstring.

    ``on_start(n)``: called with the number of submissions to check; ``on_graded(record)``
    after each one. A Ctrl-C keeps what was graded (``interrupted`` is then True).
    """
    folder, out = Path(folder), Path(out)
    settings = _checked(settings)
    rubric = load_rubric(settings.rubric)  # a bad rubric is refused before anything runs
    found, ignored = submissions.find(folder)
    if not found:
        shown = f" (only: {', '.join(ignored[:5])})" if ignored else " (it is empty)"
        raise ConfigError(f"no submissions in {folder}{shown}: give the folder holding a .py "
                          "file, a .ipynb notebook or a folder per student",
                          param="submissions", value=str(folder))
    _check_out(folder, out)
    out.mkdir(parents=True, exist_ok=True)
    gradebook.write_json(out / MARKER, _settings_json(folder, settings))
    options = settings.fingerprint_options()
    records, jobs = {}, []
    for sub in [_reference(), *found]:
        submissions.read(sub)
        job = make_job(sub, settings, submissions.fingerprint(sub, options))
        kept = _kept_record(out, sub.name, job["fingerprint"])
        if kept is not None:
            records[sub.name] = kept
        else:
            jobs.append(job)
    result = GradeResult(out, reused=len(records) - (REFERENCE in records), ignored=ignored)
    if on_start:
        on_start(len([j for j in jobs if j["name"] != REFERENCE]))
    try:
        for outcome in engine.run_jobs(grade_submission, jobs, jobs_at_once=settings.jobs,
                                       cluster=settings.cluster):
            job = jobs[outcome.index]
            record = outcome.result if outcome.error is None else _grader_failed(job, outcome)
            gradebook.write_json(_raw_path(out, job["name"]), record)
            records[job["name"]] = record
            if job["name"] != REFERENCE:
                result.ran += 1
                if on_graded:
                    on_graded(record)
    except KeyboardInterrupt:
        result.interrupted = True
    result.missing = [s.name for s in found if s.name not in records]
    result.graded = write_outputs(out, [records[s.name] for s in found if s.name in records],
                                  records.get(REFERENCE), settings, rubric, folder)
    result.unused_patterns = rubric.unused()
    return result


def make_job(sub: submissions.Submission, settings: GradeSettings,
             fingerprint: str) -> dict[str, Any]:
    """The job for one submission: its files, the file to check for each kind, the limits."""
    targets, missing = {}, {}
    for kind in settings.kinds:
        target, why = submissions.locate(sub, kind, kind_from_name, settings.file,
                                         tuple(KINDS[kind][2]))
        targets[kind] = target
        if target is None:
            missing[kind] = why
    adapter = (settings.adapter.name, settings.adapter.read_bytes()) if settings.adapter else None
    return {"name": sub.name, "fingerprint": fingerprint, "files": sub.files,
            "too_large": sub.too_large, "targets": targets, "missing": missing,
            "profile": settings.profile, "adapter": adapter, "timeout": settings.timeout,
            "memory_mb": settings.memory_mb, "cell_timeout": settings.cell_limit}


def write_outputs(out: Path, records: list[dict[str, Any]], reference: dict[str, Any] | None,
                  settings: GradeSettings, rubric: Rubric, folder: Path) -> list[gradebook.Graded]:
    """grades.csv, feedback/, results/, summary.md and summary.png from the records."""
    reference = expected_checks(reference, records, settings.kinds)
    graded = [gradebook.score(r, settings.kinds, reference, rubric) for r in records]
    check_columns = gradebook.columns(graded)
    gradebook.write_text(out / "grades.csv", gradebook.grades_csv(graded, check_columns))
    for g in graded:
        gradebook.write_text(out / "feedback" / f"{g.name}.md", gradebook.feedback(g))
        gradebook.write_json(out / "results" / f"{g.name}.json", gradebook.gradescope_results(g))
    where = (f"on the Dask cluster at {settings.cluster}" if settings.cluster else
             f"on this machine, {settings.jobs or engine.default_jobs()} at a time")
    text = summary_markdown(graded, rubric, {**_settings_json(folder, settings), "where": where},
                            isolation_lines(records, settings))
    gradebook.write_text(out / "summary.md", text)
    summary_picture(graded, out / PICTURE)
    return graded


def expected_checks(reference: dict[str, Any] | None, records: list[dict[str, Any]],
                    kinds: list[str]) -> dict[str, Any]:
    """The checks each kind has: those tatamu's own layers got (the reference), or, for a kind
    they lack (``conv1d``), every check the class's submissions got, in the order first seen."""
    reports = {}
    for kind in kinds:
        mine = ((reference or {}).get("reports", {}).get(kind) or {})
        if mine.get("status") == "ok" and mine.get("checks"):
            reports[kind] = {"checks": mine["checks"]}
            continue
        seen: dict[str, dict] = {}
        for record in records:
            report = record.get("reports", {}).get(kind) or {}
            if report.get("status") == "ok":
                for check in report.get("checks") or []:
                    seen.setdefault(str(check.get("name", "")), check)
        reports[kind] = {"checks": list(seen.values())}
    return {"reports": reports}


def isolation_lines(records: list[dict[str, Any]], settings: GradeSettings) -> list[str]:
    """What limited the submissions, and what could not be limited (said, never hidden)."""
    lines = [f"Each submission ran in a scratch copy of its own, in a process of its own with a "
             f"scrubbed environment, {settings.timeout:g} s of wall-clock and CPU time and "
             f"{settings.memory_mb} MB of address space; what it printed was kept to its first "
             "and last 64 kB."]
    notes: dict[str, int] = {}
    for record in records:
        for note in record.get("notes", []):
            notes[note] = notes.get(note, 0) + 1
    if not any("network" in n for n in notes) and any(r.get("reports") for r in records):
        lines.append("Network: cut off (each process in a network namespace of its own).")
    lines += [f"{note} for {n} submission(s)." for note, n in notes.items()]
    lines.append("These limits stop mistakes, not attacks: they are no security boundary. Grade "
                 "code from strangers inside a container or a virtual machine.")
    return lines


# -- checks on the options and folders ---------------------------------------------------------
def _checked(settings: GradeSettings) -> GradeSettings:
    if not settings.kinds:
        raise ConfigError("say which layers to check: ", Name("kinds", words="--kind KIND"),
                          f" ({', '.join(KINDS)})", param="kinds")
    settings.kinds = list(dict.fromkeys(resolve_kind(k) for k in settings.kinds))
    if settings.timeout <= 0 or settings.memory_mb < 64:
        raise ConfigError("the limits must be a positive --timeout and a --memory of at least "
                          "64 MB", param="timeout")
    if settings.profile is not None and settings.profile not in PROFILES:
        raise ConfigError(f"unknown profile {settings.profile!r}; choose one of "
                          f"{', '.join(PROFILES)} (or give a course's adapter file)",
                          param="profile", value=settings.profile)
    if settings.adapter is not None and not settings.adapter.is_file():
        raise ConfigError(f"no adapter file at {settings.adapter}", param="adapter",
                          value=str(settings.adapter))
    return settings


def _check_out(folder: Path, out: Path) -> None:
    """Refuse an output folder that would be graded, or that holds someone else's files."""
    f, o = folder.resolve(), out.resolve()
    if o == f or f in o.parents:
        raise ConfigError(f"the output folder {out} is inside the submissions folder {folder}, "
                          "where it would be graded as a submission; choose another ",
                          Name("out"), param="out", value=str(out))
    if o in f.parents:
        raise ConfigError(f"the submissions folder {folder} is inside the output folder {out}; "
                          "choose another ", Name("out"), param="out", value=str(out))
    if out.exists() and not out.is_dir():
        raise ConfigError(f"{out} is a file; choose a folder for ", Name("out"), param="out")
    if out.is_dir() and any(out.iterdir()) and not (out / MARKER).is_file():
        raise ConfigError(f"{out} holds files that tatamu grade did not write; nothing was "
                          "touched. Choose a new or empty ", Name("out"), param="out",
                          value=str(out))


def _settings_json(folder: Path, settings: GradeSettings) -> dict[str, Any]:
    return {"submissions": str(folder), "kinds": settings.kinds, "profile": settings.profile,
            "adapter": str(settings.adapter) if settings.adapter else None,
            "file": settings.file, "timeout": settings.timeout,
            "memory_mb": settings.memory_mb, "cell_timeout": settings.cell_limit,
            "rubric": str(settings.rubric) if settings.rubric else None,
            "cluster": settings.cluster, "tatamu": __version__,
            "date": _dt.datetime.now().isoformat(timespec="seconds")}


def _reference() -> submissions.Submission:
    """tatamu's book layers, checked like a submission: the list of checks each kind has."""
    from ...layers import book

    return submissions.Submission(REFERENCE, Path(book.__file__))


def _raw_path(out: Path, name: str) -> Path:
    return out / RAW / f"{name}.json"


def _kept_record(out: Path, name: str, fingerprint: str) -> dict[str, Any] | None:
    """The earlier record of this submission, if its files and options are unchanged."""
    path = _raw_path(out, name)
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = isinstance(record, dict) and record.get("fingerprint") == fingerprint
    return record if ok and isinstance(record.get("reports"), dict) else None


def _grader_failed(job: dict[str, Any], outcome: engine.Outcome) -> dict[str, Any]:
    """The record of a submission whose grading itself failed (a worker lost, a full disk)."""
    return {"submission": job["name"], "fingerprint": "", "status": "error",
            "reason": f"the grader could not run this submission: {outcome.error}",
            "reports": {}, "notes": [], "seconds": 0.0, "printed": 0, "output": ""}
