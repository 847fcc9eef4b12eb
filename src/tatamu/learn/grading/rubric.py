"""Points per check, from a small rubric file (TOML or JSON); without one, a point a check.

A check is named ``KIND: CHECK NAME`` (``convolution: forward matches the seeds' worked
example``), as in grades.csv's columns. A rubric gives points by patterns (``*`` any text,
case ignored; the first pattern that matches wins)::

    default = 1            # points of a check no pattern names
    note = "full"          # a NOTE (a departure the book itself makes) earns full points;
                           # "none": a NOTE earns nothing (tatamu's conventions are required)
    [points]
    "convolution: forward*" = 2
    "*float32*" = 0        # not graded

The same in JSON: ``{"default": 1, "note": "full", "points": {"convolution: forward*": 2}}``.
A pattern that names no check is reported, so a typo does not pass unseen.
"""

from __future__ import annotations

import fnmatch
import json
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ConfigError

NOTE_POLICIES = ("full", "none")


@dataclass(frozen=True)
class Rubric:
    """How many points each check is worth, and what a NOTE earns."""

    default: float = 1.0
    note: str = "full"
    points: tuple[tuple[str, float], ...] = ()  # (pattern, points), in the file's order
    source: str = "the default rubric (1 point per check)"
    used: set = field(default_factory=set, compare=False)  # patterns that matched a check

    def worth(self, column: str) -> float:
        """The points of the check named ``column`` (``"KIND: NAME"``)."""
        for pattern, points in self.points:
            if fnmatch.fnmatchcase(column.lower(), pattern.lower()):
                self.used.add(pattern)
                return points
        return self.default

    def earned(self, column: str, status: str) -> float:
        """Points for a check that ended ``status`` (pass, fail, note)."""
        if status == "pass" or (status == "note" and self.note == "full"):
            return self.worth(column)
        return 0.0

    def unused(self) -> list[str]:
        """The patterns that matched no check so far."""
        return [p for p, _ in self.points if p not in self.used]


def load(path: str | Path | None) -> Rubric:
    """The rubric in ``path`` (.toml or .json), or the default one; one-line errors."""
    if path is None:
        return Rubric()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read the rubric {path}: {exc.strerror or exc}",
                          param="rubric", value=str(path)) from None
    try:
        document = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise ConfigError(f"the rubric {path} is not valid {kind}: {exc}", param="rubric",
                          value=str(path)) from None
    return parse(document, str(path))


def parse(document: object, source: str) -> Rubric:
    """A rubric from its parsed file; every mistake named with the key that holds it."""
    if not isinstance(document, dict):
        raise _bad(source, "must be a table of settings (default, note, points)")
    unknown = sorted(set(document) - {"default", "note", "points"})
    if unknown:
        raise _bad(source, f"has unknown settings {', '.join(unknown)}; the settings are "
                           "default, note and points")
    default = _points(document.get("default", 1), source, "default")
    note = document.get("note", "full")
    if note not in NOTE_POLICIES:
        raise _bad(source, f"note = {note!r}: choose \"full\" (a NOTE costs nothing) or "
                           "\"none\" (a NOTE earns no points)")
    table = document.get("points", {})
    if not isinstance(table, dict):
        raise _bad(source, "points must be a table of \"pattern\" = points")
    points = tuple((str(p), _points(v, source, f"points.{p!r}")) for p, v in table.items())
    return Rubric(default, note, points, source)


def _points(value: object, source: str, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(
            value) or value < 0:
        raise _bad(source, f"{key} = {value!r}: points must be a number >= 0")
    return float(value)


def _bad(source: str, what: str) -> ConfigError:
    return ConfigError(f"the rubric {source} {what}", param="rubric", value=source)


def format_points(value: float) -> str:
    """``2`` for 2.0, ``1.5`` for 1.5."""
    return f"{value:g}"
