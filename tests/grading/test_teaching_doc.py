"""docs/guide/teaching.md stays true: every ``tatamu ...`` line of its shell blocks is a valid
command line, and its feedback page is what grading tests/grading/class/emi.py writes today
(compared with every number masked: the last digits of float32 sums may differ between
machines, the page's words and layout may not)."""

from __future__ import annotations

import re
import shlex
import shutil
from pathlib import Path

import pytest
from test_tutorial import code_blocks

from tatamu.cli import app as cli
from tatamu.learn.grading.grade import GradeSettings, grade_class

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "guide" / "teaching.md"


def test_its_shell_lines_are_valid_commands():
    parser = cli.build_parser()
    blocks = [b for b in code_blocks(DOC.read_text(encoding="utf-8")) if b["lang"] == "sh"]
    lines = [line for b in blocks for line in b["code"].splitlines()
             if line.startswith("tatamu ")]
    assert len(lines) >= 8
    for line in lines:
        try:
            parser.parse_args(shlex.split(line, comments=True)[1:])
        except (SystemExit, cli.UserError):
            pytest.fail(f"teaching.md: not a valid command line: {line}")


def masked(text: str) -> list[str]:
    return [re.sub(r"-?\d+(\.\d+)?(e[-+]\d+)?", "N", line).rstrip()
            for line in text.strip().splitlines()]


def test_its_feedback_page_is_what_grading_writes(tmp_path):
    text = DOC.read_text(encoding="utf-8")
    shown = text.split("````markdown\n", 1)[1].split("\n````", 1)[0]
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(ROOT / "tests" / "grading" / "class" / "emi.py", folder)
    grade_class(folder, tmp_path / "out", GradeSettings(["convolution", "pooling"],
                                                        timeout=60, jobs=1))
    page = (tmp_path / "out" / "feedback" / "emi.md").read_text()
    written = page[:page.index("## pooling")]
    assert masked(shown) == masked(written)
