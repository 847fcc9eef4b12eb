"""``tatamu grade --cluster``: a real Dask scheduler and worker started by the test on 127.0.0.1
grade a class to the same gradebook as this machine's pool.

The fast test grades four submissions (a correct one, a planted mistake, a syntax error, a
crash); the slow one the whole class of tests/grading/class/, misbehaviours included.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from cli_runner import run_cli
from dask_cluster import local_cluster

CLASS = Path(__file__).parent / "class"


def comparable(out: Path) -> dict:
    """What must not depend on where grading ran: grades.csv, each feedback page, each
    Gradescope result except its timing. Where an endless loop was stopped is any line of the
    loop (it differs between two runs on one machine too): only its file is compared."""
    def text(path: Path) -> str:
        return re.sub(r"(it was at \S+, line )\d+", r"\1N", path.read_text())

    results = {}
    for path in sorted((out / "results").glob("*.json")):
        result = json.loads(text(path))
        result.pop("execution_time")
        results[path.stem] = result
    return {"grades.csv": text(out / "grades.csv"), "results": results,
            "feedback": {p.stem: text(p) for p in sorted((out / "feedback").glob("*.md"))}}


def grade(folder: Path, out: Path, *more: str) -> None:
    status, stdout, err = run_cli("grade", folder, "--kind", "convolution,pooling", "--out", out,
                                  "--timeout", "10", "--memory", "1024", "--no-progress", *more)
    assert status == 0, err


def test_a_small_class_on_a_dask_cluster_gets_the_same_grades(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("anna.py", "emi.py", "jun.py", "taro.py"):
        shutil.copy(CLASS / name, folder / name)
    grade(folder, tmp_path / "local", "--jobs", "2")
    with local_cluster(tmp_path, workers=1, threads=2) as address:
        grade(folder, tmp_path / "cluster", "--cluster", address)
    assert comparable(tmp_path / "cluster") == comparable(tmp_path / "local")
    settings = json.loads((tmp_path / "cluster" / "grade.json").read_text())
    assert settings["cluster"] == address
    assert "on the Dask cluster at " + address in (tmp_path / "cluster" / "summary.md").read_text()


@pytest.mark.slow
def test_the_whole_class_on_a_dask_cluster_gets_the_same_grades(tmp_path):
    grade(CLASS, tmp_path / "local", "--jobs", "2")
    with local_cluster(tmp_path, workers=2, threads=1) as address:
        grade(CLASS, tmp_path / "cluster", "--cluster", address)
    assert comparable(tmp_path / "cluster") == comparable(tmp_path / "local")
