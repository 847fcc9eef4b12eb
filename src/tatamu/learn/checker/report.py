"""What ``tatamu check`` found: one :class:`Check` per property, gathered in a :class:`CheckReport`
per layer, and the layers of one file in a :class:`FileReport` (what ``--json`` prints).

A check ends PASS, FAIL (wrong numbers: the first mismatch in ``detail``, the mistake it
matches in ``diagnosis``, where the wrong numbers lie in ``mismatch``) or NOTE (a departure
the book itself makes, such as flooring a size that does not divide: right by the book, not by
tatamu's conventions; ``strict`` turns notes into failures).

The text is in the current language (:mod:`tatamu.i18n`); a check's ``name`` stays English,
since it is also the check's key (``report["output shapes"]``, the ``--json`` output), and is
translated where it is shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...i18n import N_, _, ngettext, pad_columns, text_width

VERDICTS = ("pass", "fail", "note")
#: How each verdict is printed (translated where shown).
VERDICT_WORDS = {"pass": N_("PASS"), "fail": N_("FAIL"), "note": N_("NOTE")}
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
            raise ValueError(_("a check's status is one of {verdicts}; got {status!r}",
                               verdicts=VERDICTS, status=self.status))

    @property
    def passed(self) -> bool:
        """Not failed: a pass or a note."""
        return self.status != "fail"

    def lines(self) -> list[str]:
        width = max(text_width(_(word)) for word in VERDICT_WORDS.values())
        verdict = pad_columns(_(VERDICT_WORDS[self.status]), max(width, 4))
        out = [f"  {verdict}  {shown_name(self.name)}"]  # English data, shown translated
        out += [f"        {line}" for line in self.detail.splitlines()]
        if self.mismatch:
            out += [f"        {line}" for line in self.mismatch.splitlines()]
        if self.diagnosis:
            out += [_("        meaning: {text}", text=self.diagnosis) if self.status == "note"
                    else _("        diagnosis: {text}", text=self.diagnosis)]
        return out

    def to_dict(self, prefix: str = "") -> dict:
        return {"name": prefix + self.name, "status": self.status, "detail": self.detail,
                "diagnosis": self.diagnosis or None, "mismatch": self.mismatch or None}

    @classmethod
    def from_dict(cls, data: dict) -> Check:
        return cls(data["name"], data["status"], data.get("detail") or "",
                   data.get("diagnosis") or "", data.get("mismatch") or "")


#: Check names made from a template, their numbers filled in (``uneven_name``).
NAME_TEMPLATES = (
    N_("a size that does not divide ({sizes}) is floored (--rounding floor)"),
    N_("a size that does not divide ({sizes}) is refused (or floored, as the book does)"),
)


def shown_name(name: str) -> str:
    """A check's name (English, as data) as a reader reads it: translated, a templated name's
    numbers kept, a ``"layer: "`` or ``"kind: "`` prefix left as it is.

    >>> shown_name("convolution: a size that does not divide (7/2) is floored (--rounding floor)")
    'convolution: a size that does not divide (7/2) is floored (--rounding floor)'
    """
    text = _(name)
    if text != name:
        return text
    for template in NAME_TEMPLATES:
        head, _field, tail = template.partition("{sizes}")
        if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
            return _(template, sizes=name[len(head):len(name) - len(tail)])
    prefix, sep, rest = name.partition(": ")
    return prefix + sep + shown_name(rest) if sep and rest else name


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
        text = ngettext("{n} check: {passed} passed", "{n} checks: {passed} passed",
                        len(self.checks), passed=n["pass"])
        if n["note"]:
            text += ngettext(", {n} note", ", {n} notes", n["note"])
        text += _(", {failed} failed", failed=n["fail"])
        if not n["fail"]:
            text += _(" - all good") if not n["note"] else _(" - right by the book")
        return text

    def __str__(self) -> str:
        how = f" ({self.how})" if self.how else ""
        profile = f" [{self.profile}]" if self.profile != "book" else ""
        lines = [f"tatamu check {self.target}: {self.kind}{profile}{how}"]
        lines += [_("  note: {note}", note=n) for n in self.notes]
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
            raise ValueError(_("a file's status is one of {statuses}; got {status!r}",
                               statuses=STATUSES, status=self.status))

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
            text += "\n\n" + (_("{count} layers checked: {failed} failed", count=len(self.layers),
                                failed=", ".join(failed)) if failed else
                              _("{count} layers checked: all good", count=len(self.layers)))
            if noted:
                text += _(" ({layers} with notes)", layers=", ".join(noted))
        return text


def notebook_lines(notebook: dict) -> list[str]:
    """The skipped lines and failed cells of a notebook, one line each."""
    lines = []
    for skipped in notebook.get("skipped_cells", []):
        lines.append(_("  skipped: cell {cell}, line {line}: {source} ({why})",
                       cell=skipped["cell"], line=skipped["line"], source=skipped["source"],
                       why=_(skipped["why"])))
    for failed in notebook.get("failed_cells", []):
        lines.append(_("  cell {cell} failed and was skipped: {error}", cell=failed["cell"],
                       error=failed["error"]))
    return lines
