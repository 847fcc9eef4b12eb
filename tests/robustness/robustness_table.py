"""Count and check the table of docs/robustness.md: the figures the guide quotes come from here.

    .venv/bin/python tests/robustness/robustness_table.py        # counts and the README sentence
    .venv/bin/python tests/robustness/robustness_table.py --run  # also runs every cited test

A row of the table is a markdown line ``| kind | bad input or fault | tatamu's answer | proof |``
whose kind is ``input`` (a bad input tried), ``fault`` (a fault injected: a kill, a full disk, a
failing server, a simulated bug) or ``fuzz`` (a fuzzer); the proof cell lists pytest node ids in
backticks. ``test_robustness_table.py`` checks that every cited test exists in the default suite
(not slow, not xfail) and that the doc's summary sentence matches these counts.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "robustness.md"
KINDS = ("input", "fault", "fuzz")
DEFAULT_EXAMPLES, LONG_EXAMPLES = 100, 5000  # as in test_robustness_fuzz.py


@dataclass(frozen=True)
class Row:
    kind: str
    what: str
    answer: str
    tests: tuple[str, ...]


def rows(text: str | None = None) -> list[Row]:
    """The table rows of docs/robustness.md, in order."""
    text = DOC.read_text(encoding="utf-8") if text is None else text
    found = []
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip().strip("|"))]
        if line.startswith("|") and len(cells) == 4 and cells[0] in KINDS:
            tests = tuple(re.findall(r"`(tests/[^`]+::[^`]+)`", cells[3]))
            found.append(Row(cells[0], cells[1], cells[2], tests))
    return found


def counts(table: list[Row]) -> dict[str, int]:
    out = {kind: sum(r.kind == kind for r in table) for kind in KINDS}
    out["tests"] = len({t for r in table for t in r.tests})
    return out


def summary(c: dict[str, int]) -> str:
    """The sentence at the top of docs/robustness.md and in docs/guide/robustness.md."""
    return (f"{c['input']} bad inputs tried and {c['fault']} faults injected (kills at random "
            f"moments and mid-write, full disks, unwritable folders, failing servers), each "
            f"proved by a test in the default suite ({c['tests']} tests): 0 tracebacks, "
            f"0 runs lost. {c['fuzz']} fuzzers add {DEFAULT_EXAMPLES} random and mutated files "
            f"each per run ({LONG_EXAMPLES:,} with make test-slow).")


def run_cited(table: list[Row]) -> int:
    """Run every cited test; pytest's exit status."""
    tests = sorted({t for r in table for t in r.tests})
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.call([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                            *tests], cwd=ROOT, env=env)


def main(argv: list[str]) -> int:
    table = rows()
    c = counts(table)
    print(f"rows: {len(table)} ({c['input']} inputs, {c['fault']} faults, {c['fuzz']} fuzzers), "
          f"{c['tests']} distinct tests cited")
    print(summary(c))
    return run_cited(table) if "--run" in argv else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
