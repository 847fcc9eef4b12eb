"""What ``tatamu check`` found: one :class:`Check` per property, gathered in a :class:`CheckReport`
per layer, and the layers of one file in a :class:`FileReport` (what ``--json`` prints).

A check ends PASS, FAIL (wrong numbers: the first mismatch in ``detail``, the mistake it
matches in ``diagnosis``, where the wrong numbers lie in ``mismatch``) or NOTE (a departure
the book itself makes, such as flooring a size that does not divide: right by the book, not by
tatamu's conventions; ``strict`` turns notes into failures).
"""

from __future__ import annotations

from dataclasses import dataclass, field

VERDICTS = ("pass", "fail", "note")
#: ``FileReport.status``: the checks ran ("ok"), or why they could not.
STATUSES = ("ok", "error", "timeout", "memory", "syntax", "not-found")


@dataclass
class Check:
    """One property of the learner's layer, tested."""

    name: str
    status: str  # "pass" | "fail" | "note"
    detail: str = ""  # the first mismatch, in numbers (or what the note is about)
    diagnosis: str = ""  # the likely mistake and its fix (or what the note means)
    mismatch: str = ""  # where the wrong numbers lie (a located gradient error), if known

    def __post_init__(self) -> None:
        if self.status not in VERDICTS:
            raise ValueError(f"a check's status is one of {VERDICTS}; got {self.status!r}")

    @property
    def passed(self) -> bool:
        """Not failed: a pass or a note."""
        return self.status != "fail"

    def lines(self) -> list[str]:
        out = [f"  {self.status.upper():4s}  {self.name}"]
        out += [f"        {line}" for line in self.detail.splitlines()]
        if self.mismatch:
            out += [f"        {line}" for line in self.mismatch.splitlines()]
        if self.diagnosis:
            label = "meaning" if self.status == "note" else "diagnosis"
            out += [f"        {label}: {self.diagnosis}"]
        return out

    def to_dict(self, prefix: str = "") -> dict:
        return {"name": prefix + self.name, "status": self.status, "detail": self.detail,
                "diagnosis": self.diagnosis or None, "mismatch": self.mismatch or None}

    @classmethod
    def from_dict(cls, data: dict) -> Check:
        return cls(data["name"], data["status"], data.get("detail") or "",
                   data.get("diagnosis") or "", data.get("mismatch") or "")


def count(checks: list[Check]) -> dict[str, int]:
    return {v: sum(c.status == v for c in checks) for v in VERDICTS}


def made_strict(check: Check) -> Check:
    """A note as a failure (``--strict``: tatamu's conventions, not the book's)."""
    if check.status != "note":
        return check
    return Check(check.name, "fail", check.detail, check.diagnosis, check.mismatch)


@dataclass
class CheckReport:
    """Every check run on one layer: ``passed`` when none failed (notes allowed)."""

    target: str  # "my_layers.py:Convolution"
    kind: str  # "convolution", "pooling", "affine", "relu", "softmax", ...
    how: str = ""  # how the kind was decided
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # about the file, not a check
    profile: str = "book"  # the course form it was read in
    name: str = ""  # the class or function name in the file

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if c.status == "fail"]

    @property
    def noted(self) -> list[Check]:
        return [c for c in self.checks if c.status == "note"]

    @property
    def counts(self) -> dict[str, int]:
        return count(self.checks)

    def __getitem__(self, name: str) -> Check:
        """The check whose name starts with ``name``."""
        for c in self.checks:
            if c.name.startswith(name):
                return c
        raise KeyError(name)

    def diagnoses(self) -> list[str]:
        return [c.diagnosis for c in self.checks if c.diagnosis]

    def strict(self) -> CheckReport:
        """The same report with every note a failure."""
        return CheckReport(self.target, self.kind, self.how, [made_strict(c) for c in
                                                              self.checks],
                           list(self.notes), self.profile, self.name)

    def summary(self) -> str:
        n = self.counts
        text = f"{len(self.checks)} checks: {n['pass']} passed"
        if n["note"]:
            text += f", {n['note']} note{'s' if n['note'] > 1 else ''}"
        text += f", {n['fail']} failed"
        if not n["fail"]:
            text += " - all good" if not n["note"] else " - right by the book"
        return text

    def __str__(self) -> str:
        how = f" ({self.how})" if self.how else ""
        profile = f" [{self.profile}]" if self.profile != "book" else ""
        lines = [f"tatamu check {self.target}: {self.kind}{profile}{how}"]
        lines += [f"  note: {n}" for n in self.notes]
        for c in self.checks:
            lines += c.lines()
        lines.append(self.summary())
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"name": self.name, "target": self.target, "kind": self.kind,
                "profile": self.profile, "how": self.how, "notes": list(self.notes),
                "checks": [c.to_dict() for c in self.checks], "counts": self.counts}

    @classmethod
    def from_dict(cls, data: dict) -> CheckReport:
        return cls(data["target"], data["kind"], data.get("how", ""),
                   [Check.from_dict(c) for c in data.get("checks", [])],
                   list(data.get("notes", [])), data.get("profile", "book"),
                   data.get("name", ""))


@dataclass
class FileReport:
    """Everything ``tatamu check`` found in one file: its layers' reports, or why none ran.

    ``status``: ``"ok"`` when the file loaded and its layers were checked (checks may still
    fail), else ``"error"``, ``"timeout"``, ``"memory"``, ``"syntax"`` or ``"not-found"``
    with ``reason`` (one line). :meth:`to_dict` is the ``--json`` object.
    """

    file: str
    target: str
    status: str = "ok"
    reason: str | None = None
    layers: list[CheckReport] = field(default_factory=list)
    notebook: dict | None = None  # {"skipped_cells": [...], "failed_cells": [...]}
    strict: bool = False
    seconds: float | None = None  # how long the learner's code and the checks ran
    output: dict | None = None  # {"stdout": ..., "stderr": ...}: what the code printed (cut)
    where: str | None = None  # a timeout's or crash's place: "conv.py, line 12 (in forward)"

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"a file's status is one of {STATUSES}; got {self.status!r}")

    @property
    def kind(self) -> str:
        kinds = {layer.kind for layer in self.layers}
        return kinds.pop() if len(kinds) == 1 else ("several" if kinds else "none")

    @property
    def profile(self) -> str:
        profiles = {layer.profile for layer in self.layers}
        return profiles.pop() if len(profiles) == 1 else ("mixed" if profiles else "none")

    @property
    def checks(self) -> list[Check]:
        """Every layer's checks; with several layers, each name starts with the layer's."""
        several = len(self.layers) > 1
        return [Check(f"{layer.name}: {c.name}" if several else c.name, c.status, c.detail,
                      c.diagnosis, c.mismatch)
                for layer in self.layers for c in layer.checks]

    @property
    def passed(self) -> bool:
        return self.status == "ok" and all(layer.passed for layer in self.layers)

    def exit_status(self) -> int:
        """0 nothing failed, 1 a check failed, 2 the code could not be loaded or run."""
        if self.status != "ok":
            return 2
        return 0 if self.passed else 1

    def to_dict(self) -> dict:
        data = {"file": self.file, "target": self.target, "kind": self.kind,
                "profile": self.profile, "status": self.status, "reason": self.reason,
                "checks": [c.to_dict() for c in self.checks], "counts": count(self.checks),
                "layers": [layer.to_dict() for layer in self.layers], "strict": self.strict,
                "seconds": None if self.seconds is None else round(self.seconds, 3),
                "where": self.where, "output": self.output}
        if self.notebook is not None:
            data["notebook"] = self.notebook
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FileReport:
        return cls(data["file"], data["target"], data.get("status", "ok"), data.get("reason"),
                   [CheckReport.from_dict(layer) for layer in data.get("layers", [])],
                   data.get("notebook"), bool(data.get("strict")), data.get("seconds"),
                   data.get("output"), data.get("where"))

    def __str__(self) -> str:
        """The text ``tatamu check`` prints (the one-line reason of a failure is the CLI's)."""
        parts = []
        if self.notebook:
            parts.append("\n".join(notebook_lines(self.notebook)))
        parts += [str(layer) for layer in self.layers]
        text = "\n\n".join(p for p in parts if p)
        if len(self.layers) > 1:
            failed = [layer.name for layer in self.layers if not layer.passed]
            noted = [layer.name for layer in self.layers if layer.passed and layer.noted]
            text += f"\n\n{len(self.layers)} layers checked: "
            text += f"{', '.join(failed)} failed" if failed else "all good"
            if noted:
                text += f" ({', '.join(noted)} with notes)"
        return text


def notebook_lines(notebook: dict) -> list[str]:
    """The skipped lines and failed cells of a notebook, one line each."""
    lines = []
    for skipped in notebook.get("skipped_cells", []):
        lines.append(f"  skipped: cell {skipped['cell']}, line {skipped['line']}: "
                     f"{skipped['source']} ({skipped['why']})")
    for failed in notebook.get("failed_cells", []):
        lines.append(f"  cell {failed['cell']} failed and was skipped: {failed['error']}")
    return lines
