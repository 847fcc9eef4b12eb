"""What ``tatamu check`` found: one :class:`Check` per property, gathered in a :class:`CheckReport`.

A check passes or fails; a failure shows the first mismatch in numbers (``detail``) and, when
the wrong numbers match a known mistake, what that mistake is and how to fix it (``diagnosis``).
The text is in the current language (:mod:`tatamu.i18n`); a check's ``name`` stays English,
since it is also the check's key (``report["output shapes"]``), and is translated where shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...i18n import _, ngettext, pad_columns, text_width


@dataclass
class Check:
    """One property of the learner's layer, tested."""

    name: str
    passed: bool
    detail: str = ""  # the first mismatch, in numbers
    diagnosis: str = ""  # the likely mistake and its fix

    def lines(self) -> list[str]:
        width = max(text_width(_("PASS")), text_width(_("FAIL")))  # the names start in one column
        verdict = pad_columns(_("PASS") if self.passed else _("FAIL"), width)
        out = [f"  {verdict}  {_(self.name)}"]  # the name is English data, shown translated
        if self.detail:
            out += [f"        {line}" for line in self.detail.splitlines()]
        if self.diagnosis:
            out += [_("        diagnosis: {diagnosis}", diagnosis=self.diagnosis)]
        return out


@dataclass
class CheckReport:
    """Every check run on one class: ``passed`` when all of them passed."""

    target: str  # "my_layers.py:Convolution"
    kind: str  # "convolution", "pooling", "affine", "relu", "softmax"
    how: str = ""  # how the kind was decided
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    def __getitem__(self, name: str) -> Check:
        """The check whose name starts with ``name``."""
        for c in self.checks:
            if c.name.startswith(name):
                return c
        raise KeyError(name)

    def diagnoses(self) -> list[str]:
        return [c.diagnosis for c in self.checks if c.diagnosis]

    def __str__(self) -> str:
        how = f" ({self.how})" if self.how else ""
        lines = [f"tatamu check {self.target}: {self.kind}{how}"]
        lines += [_("  note: {note}", note=n) for n in self.notes]
        for c in self.checks:
            lines += c.lines()
        n_failed = len(self.failed)
        lines.append(ngettext("{n} check: {passed} passed, {failed} failed",
                              "{n} checks: {passed} passed, {failed} failed", len(self.checks),
                              passed=len(self.checks) - n_failed, failed=n_failed)
                     + ("" if n_failed else _(" - all good")))
        return "\n".join(lines)
