"""``tatamu check work.ipynb[:Name]``: code cells run in order, magics and shell lines skipped
and listed, a failing cell reported by its number and skipped, the rest still checked; what is
not a notebook is one line, exit 2 (tests/learners/*_notebook.ipynb)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_runner import run_cli

from tatamu.learn.checker import check_target
from tatamu.learn.checker.notebook import NotebookRun, python_of

LEARNERS = Path(__file__).parent / "learners"
BOOK_NB = str(LEARNERS / "book_notebook.ipynb")
DIC_NB = str(LEARNERS / "dic_notebook.ipynb")


def test_a_book_notebook_runs_around_its_magics_and_failing_cells():
    status, out, err = run_cli("check", BOOK_NB, "--json")
    assert status == 0, err
    report = json.loads(out)
    assert [la["name"] for la in report["layers"]] == ["Convolution", "Relu"]
    assert report["counts"]["fail"] == 0 and report["counts"]["note"] == 2
    skipped = {(s["cell"], s["line"], s["source"]) for s in report["notebook"]["skipped_cells"]}
    assert skipped == {(2, 1, "%matplotlib inline"), (2, 3, "!pip install numpy"),
                       (5, 1, "%%bash"), (6, 1, "%%time"), (8, 1, "np.maximum?"),
                       (8, 2, "files = !ls"), (9, 2, "%time print('epoch', epoch)")}
    failed = {f["cell"]: f["error"] for f in report["notebook"]["failed_cells"]}
    assert sorted(failed) == [3, 6, 10]
    assert failed[3].startswith("ModuleNotFoundError: No module named 'tensorflow'")
    assert "book_notebook.ipynb [cell 3], line 2" in failed[3]
    assert failed[6].startswith("NameError") and "line 4" in failed[6]
    assert failed[10].startswith("SyntaxError")
    # the %%time cell's Python ran (its print is in the output) before its last line failed
    assert "(1, 1, 2, 2)" in report["output"]["stdout"]


def test_the_text_report_lists_what_was_skipped_and_what_failed():
    status, out, _ = run_cli("check", f"{BOOK_NB}:Relu")
    assert status == 0
    assert "  skipped: cell 2, line 1: %matplotlib inline (IPython magic)" in out
    assert "  cell 3 failed and was skipped: ModuleNotFoundError" in out
    assert "book_notebook.ipynb:Relu: relu" in out


def test_a_notebook_that_never_ends_is_stopped_at_its_cell():
    status, out, err = run_cli("check", DIC_NB, "--timeout", "4")
    assert status == 2 and out == ""
    assert "dic_notebook.ipynb [cell 8], line " in err and "--cell-timeout" in err
    assert len(err.strip().splitlines()) == 1


def test_cell_timeout_skips_a_long_cell_and_checks_the_rest():
    status, out, err = run_cli("check", DIC_NB, "--cell-timeout", "1.5", "--json")
    assert status == 0, err
    report = json.loads(out)
    assert report["profile"] == "dic"
    assert [la["name"] for la in report["layers"]] == ["Conv2d", "MaxPool2D"]
    failed = {f["cell"]: f["error"] for f in report["notebook"]["failed_cells"]}
    assert sorted(failed) == [3, 8]
    assert failed[8].startswith("stopped after 1.5 s (--cell-timeout) at line")


def test_a_missing_class_in_a_notebook_names_the_failed_cells(tmp_path):
    path = tmp_path / "broken.ipynb"
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import numpy as np\n", "class Relu(\n"]}]}))
    status, out, err = run_cli("check", f"{path}:Relu", "--json")
    assert status == 2
    report = json.loads(out)
    assert report["status"] == "not-found"
    assert "cells that failed and were skipped: 1" in report["reason"]
    assert report["notebook"]["failed_cells"][0]["error"].startswith("SyntaxError")


@pytest.mark.parametrize("content, words", [
    (b"", "is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b'{"cells": [', "not JSON"),
    (b'{"metadata": {}}', "not a Jupyter notebook"),
    (b"\xff\xfe\xfa", "not UTF-8"),
])
def test_what_is_not_a_notebook_is_one_line_and_exit_2(tmp_path, content, words):
    path = tmp_path / "work.ipynb"
    path.write_bytes(content)
    status, out, err = run_cli("check", f"{path}:Conv")
    assert status == 2 and out == ""
    assert err.startswith("tatamu: error: ") and words in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_python_lines_that_look_like_magics_stay_python():
    run = NotebookRun(Path("x.ipynb"))
    source = 'n = 3\nmessage = ("%d items"\n           % n)\nok = n != 2\n'
    assert python_of(1, source, run) == source and run.skipped == []
    code = python_of(2, "if True:\n    !ls\n    x = 1\n", run)
    assert code == "if True:\n    pass\n    x = 1\n"
    assert run.skipped == [{"cell": 2, "line": 2, "source": "!ls", "why": "shell command"}]


def test_in_process_the_notebook_namespace_is_undone():
    import sys

    before = set(sys.modules)
    report = check_target(f"{BOOK_NB}:Relu")
    assert report.layers[0].passed
    assert not any(m.startswith(("_tatamu_notebook", "common")) for m in set(sys.modules) - before)
