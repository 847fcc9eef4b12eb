"""``tatamu grade`` on a class of its own (tests/grading/class/): correct submissions, planted
mistakes and every misbehaviour a grader must survive, each becoming its row with a status and
a one-line reason; the gradebook's files; nothing written outside the scratch copies; a rerun
grades only what is missing; a Ctrl-C keeps what was graded.

The scores are recomputed here from the checks' verdicts (a point per check; a NOTE earns it),
never typed in.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from cli_runner import run_cli

from tatamu.learn.grading.grade import GradeSettings, grade_class

CLASS = Path(__file__).parent / "class"
KINDS = ["convolution", "pooling"]
#: Small enough for a busy machine, large enough for every correct submission.
TIMEOUT, MEMORY = 10.0, 1024


def snapshot(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder``: its bytes' hash and modification time."""
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),
                                                p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def scratch_folders() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("tatamu-grade-*")}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole class graded once, from an empty working folder; what was on disk around it
    before and after."""
    work = tmp_path_factory.mktemp("cwd")
    out = tmp_path_factory.mktemp("grades") / "out"
    home_file = Path.home() / ".mao-rc"
    # scratch copies go to a temp folder of this test's own: on a shared machine another
    # process's grading may make and remove tatamu-grade-* folders in /tmp meanwhile
    saved_tmpdir = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(tmp_path_factory.mktemp("scratch"))
    tempfile.tempdir = None  # gettempdir() reads TMPDIR again
    before = {"class": snapshot(CLASS), "parent": sorted(os.listdir(CLASS.parent)),
              "scratch": scratch_folders(), "home_file": home_file.exists()}
    cwd = os.getcwd()
    os.chdir(work)
    try:
        result = grade_class(CLASS, out, GradeSettings(KINDS, timeout=TIMEOUT,
                                                       memory_mb=MEMORY, jobs=2))
        scratch_after = scratch_folders()
    finally:
        os.chdir(cwd)
        if saved_tmpdir is None:
            os.environ.pop("TMPDIR", None)
        else:
            os.environ["TMPDIR"] = saved_tmpdir
        tempfile.tempdir = None
    after = {"class": snapshot(CLASS), "parent": sorted(os.listdir(CLASS.parent)),
             "scratch": scratch_after, "home_file": home_file.exists(),
             "cwd": sorted(os.listdir(work))}
    records = {p.stem: json.loads(p.read_text()) for p in (out / "raw").glob("*.json")}
    return result, out, records, before, after


def rows_of(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "grades.csv", newline="") as f:
        return {row["submission"]: row for row in csv.DictReader(f)}


def verdicts(record: dict, kind: str) -> list[str]:
    return [c["status"] for c in record["reports"][kind].get("checks", [])]


# -- every submission becomes a row --------------------------------------------------------------
def test_every_submission_is_a_row_and_other_entries_are_ignored(graded):
    result, out, records, *_ = graded
    expected = sorted(p.stem if p.is_file() else p.name for p in CLASS.iterdir()
                      if p.suffix in (".py", ".ipynb") or p.is_dir())
    assert sorted(rows_of(out)) == expected
    assert result.ignored == ["README.txt"]
    assert not result.interrupted and result.ran == len(expected)


@pytest.mark.parametrize("name", ["anna", "ben", "chika", "dai", "kei", "mao", "pico", "quinn",
                                  "ryo", "saki"])
def test_correct_code_gets_full_marks_notes_included(graded, name):
    _, out, records, *_ = graded
    row = rows_of(out)[name]
    assert row["status"] == "ok", row["reason"]
    assert float(row["score"]) == float(row["max_score"]) > 0
    for kind in KINDS:
        assert "fail" not in verdicts(records[name], kind)


def test_the_books_code_as_printed_has_notes_and_full_marks(graded):
    _, out, records, *_ = graded
    notes = sum(verdicts(records["ben"], kind).count("note") for kind in KINDS)
    assert notes >= 3  # floored sizes, float64 out, max-pooling padded with 0
    assert "NOTE" in (out / "feedback" / "ben.md").read_text()


@pytest.mark.parametrize("name, profile, layers", [
    ("pico", "dic", ["Conv2d", "MaxPool2D"]),
    ("quinn", "cs231n", ["conv_forward_naive", "max_pool_forward_naive"]),
    ("dai", "book", ["Convolution", "Pooling"]),
])
def test_each_courses_form_is_read_as_that_course_writes_it(graded, name, profile, layers):
    _, _, records, *_ = graded
    reports = records[name]["reports"]
    assert [reports[k]["profile"] for k in KINDS] == [profile, profile]
    assert [reports[k]["name"] for k in KINDS] == layers


def test_a_check_a_courses_form_cannot_take_earns_its_points(graded):
    _, out, records, *_ = graded
    quinn = records["quinn"]["reports"]["pooling"]
    reference = json.loads((out / "raw" / ".reference.json").read_text())
    missing = ({c["name"] for c in reference["reports"]["pooling"]["checks"]}
               - {c["name"] for c in quinn["checks"]})
    assert missing and any("not checked in this form" in n for n in quinn["notes"])
    feedback = (out / "feedback" / "quinn.md").read_text()
    assert "| N/A |" in feedback and "Not applicable to your course's form" in feedback


def test_a_notebooks_failing_cells_are_skipped_and_said(graded):
    _, out, records, *_ = graded
    notebook = records["dai"]["reports"]["convolution"]["notebook"]
    assert [c["cell"] for c in notebook["failed_cells"]] == [3, 7]
    feedback = (out / "feedback" / "dai.md").read_text()
    assert "Cell 3 failed and was skipped" in feedback and "`%matplotlib inline`" in feedback


def test_a_notebook_that_also_trains_is_checked_its_training_cell_stopped(graded):
    _, out, records, *_ = graded
    notebook = records["saki"]["reports"]["convolution"]["notebook"]
    assert [c["cell"] for c in notebook["failed_cells"]] == [6]
    assert "--cell-timeout" in notebook["failed_cells"][0]["error"]
    assert records["saki"]["seconds"] < TIMEOUT


def test_a_folder_whose_files_import_each_other_is_graded(graded):
    _, _, records, *_ = graded
    assert records["chika"]["reports"]["convolution"]["target"].startswith("layers.py")


@pytest.mark.parametrize("name, kind, diagnosis", [
    ("emi", "convolution", "col2im overwrites where windows overlap"),
    ("fumi", "convolution", "without transpose(1, 0) first"),
    ("rin", "pooling", "spread evenly over the window"),
])
def test_a_planted_mistake_loses_points_with_its_diagnosis(graded, name, kind, diagnosis):
    _, out, records, *_ = graded
    row = rows_of(out)[name]
    assert row["status"] == "ok" and 0 < float(row["score"]) < float(row["max_score"])
    failed = [c for c in records[name]["reports"][kind]["checks"] if c["status"] == "fail"]
    assert any(diagnosis in (c["diagnosis"] or "") for c in failed)
    feedback = (out / "feedback" / f"{name}.md").read_text()
    assert "### FAIL" in feedback and diagnosis in feedback
    assert "expected" in feedback and "got" in feedback  # the first mismatch, in numbers


@pytest.mark.parametrize("name, status, words", [
    ("goro", "error", ["FileNotFoundError", "goro.py, line 5"]),
    ("hana", "timeout", [f"stopped after {TIMEOUT:g} s", "hana.py, line"]),
    ("ichiro", "memory", [f"{MEMORY} MB", "MemoryError"]),
    ("jun", "syntax", ["SyntaxError", "line 6"]),
    ("nao", "not-found", ["MyLayer"]),
    ("sora", "crash", ["exit status 0"]),
    ("taro", "crash", ["SIGSEGV", "taro.py, line 5"]),
])
def test_each_misbehaviour_is_its_rows_status_and_one_line_reason(graded, name, status, words):
    _, out, *_ = graded
    row = rows_of(out)[name]
    assert row["status"] == status, row["reason"]
    assert all(w in row["reason"] for w in words), row["reason"]
    assert "\n" not in row["reason"] and float(row["score"]) == 0
    assert float(row["max_score"]) == float(rows_of(out)["anna"]["max_score"])


def test_a_notebook_that_is_not_json_is_a_row_with_a_reason(graded):
    _, out, *_ = graded
    row = rows_of(out)["oto"]
    assert row["status"] == "error" and float(row["score"]) == 0
    assert "oto.ipynb is not a notebook" in row["reason"]


def test_hundreds_of_mb_printed_are_measured_cut_and_do_not_stop_the_checks(graded):
    _, out, records, *_ = graded
    kei = records["kei"]
    assert kei["printed"] > 190 * 10**6
    assert kei["output"].startswith("debug 0000000") and "debug 0199999" in kei["output"]
    assert len(kei["output"]) < 5000
    assert "What your code printed" in (out / "feedback" / "kei.md").read_text()


def test_the_network_is_cut_off_or_the_summary_says_it_was_not(graded):
    _, out, records, *_ = graded
    notes = records["ryo"]["notes"]
    summary = (out / "summary.md").read_text()
    if any(n.startswith("network not cut off") for n in notes):
        assert "network not cut off" in summary
    else:
        assert "online: False" in records["ryo"]["output"]
        assert "Network: cut off" in summary


# -- nothing written outside the scratch copies --------------------------------------------------
def test_nothing_is_written_in_the_submissions_the_working_folder_or_home(graded):
    _, out, _, before, after = graded
    assert after["class"] == before["class"]
    assert after["parent"] == before["parent"]  # mao's '../mao-was-here.txt' went elsewhere
    assert after["cwd"] == []
    assert after["home_file"] == before["home_file"]  # mao's '~/.mao-rc' too
    assert after["scratch"] <= before["scratch"]  # every scratch copy removed
    assert not after["scratch"]
    assert sorted(p.name for p in out.iterdir()) == [
        "feedback", "grade.json", "grades.csv", "raw", "results", "summary.md", "summary.png"]


# -- the gradebook -------------------------------------------------------------------------------
def test_scores_are_the_verdicts_counted_a_point_a_check(graded):
    """A point for each pass or note, and for each check of tatamu's own layers (the
    reference) that the submission's course form cannot take."""
    _, out, records, *_ = graded
    reference = records[".reference"]
    expected = {k: {c["name"] for c in reference["reports"][k]["checks"]} for k in KINDS}
    most = sum(len(names) for names in expected.values())
    for name, row in rows_of(out).items():
        record = records[name]
        earned = 0
        for k in KINDS:
            if record["reports"][k].get("status") != "ok":
                continue
            earned += sum(v in ("pass", "note") for v in verdicts(record, k))
            earned += len(expected[k] - {c["name"] for c in record["reports"][k]["checks"]})
        assert float(row["score"]) == earned, name
        assert float(row["max_score"]) == most, name
        checks = [v for col, v in row.items() if ": " in col]
        assert sum(float(v) for v in checks if v) == earned


def test_results_json_is_gradescopes_format(graded):
    _, out, *_ = graded
    for path in (out / "results").glob("*.json"):
        result = json.loads(path.read_text())
        assert set(result) >= {"score", "tests", "output", "execution_time"}
        assert result["score"] == pytest.approx(sum(t["score"] for t in result["tests"]))
        for test in result["tests"]:
            assert set(test) >= {"name", "score", "max_score", "status", "output"}
            assert test["status"] in ("passed", "failed")
            assert 0 <= test["score"] <= test["max_score"]
    goro = json.loads((out / "results" / "goro.json").read_text())
    assert "FileNotFoundError" in goro["output"] and goro["score"] == 0


def test_the_summary_names_the_checks_failed_most_and_what_could_not_run(graded):
    _, out, records, *_ = graded
    summary = (out / "summary.md").read_text()
    failed, ran = {}, {}
    students = [r for name, r in records.items() if name != ".reference"]
    for record in students:
        for kind in KINDS:
            for c in record["reports"].get(kind, {}).get("checks", []):
                column = f"{kind}: {c['name']}"
                ran[column] = ran.get(column, 0) + 1
                failed[column] = failed.get(column, 0) + (c["status"] == "fail")
    most = max(failed, key=lambda col: (failed[col], [-ord(ch) for ch in col]))
    section = summary.split("## Checks the class failed most")[1].split("##")[0]
    first_row = [line for line in section.splitlines() if line.startswith("| ")][2]
    assert first_row.split(" | ")[1] == f"{failed[most]} of {ran[most]}"
    for name in ("goro", "hana", "ichiro", "jun", "nao", "oto", "sora", "taro"):  # not "ok"
        assert f"| {name} |" in summary
    assert "no security boundary" in summary
    from PIL import Image

    with Image.open(out / "summary.png") as picture:
        assert picture.size == (1100, 420)


# -- reruns and Ctrl-C ---------------------------------------------------------------------------
@pytest.fixture
def small_class(tmp_path):
    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("anna.py", "ben.py", "jun.py"):
        shutil.copy(CLASS / name, folder / name)
    return folder


def settings(**more) -> GradeSettings:
    return GradeSettings(KINDS, timeout=TIMEOUT * 3, memory_mb=MEMORY, jobs=2, **more)


def test_a_rerun_grades_only_what_is_missing_or_changed(small_class, tmp_path):
    out = tmp_path / "out"
    first = grade_class(small_class, out, settings())
    csv_first = (out / "grades.csv").read_text()
    again = grade_class(small_class, out, settings())
    assert (first.ran, again.ran, again.reused) == (3, 0, 3)
    assert (out / "grades.csv").read_text() == csv_first
    shutil.copy(CLASS / "emi.py", small_class / "jun.py")  # jun hands in a corrected file
    third = grade_class(small_class, out, settings())
    assert (third.ran, third.reused) == (1, 2)
    assert rows_of(out)["jun"]["status"] == "ok"


def test_a_new_rubric_rescores_without_running_anything(small_class, tmp_path):
    out = tmp_path / "out"
    grade_class(small_class, out, settings())
    rubric = tmp_path / "strict.toml"
    rubric.write_text('note = "none"\n[points]\n"convolution: *" = 2\n')
    before = rows_of(out)
    again = grade_class(small_class, out, settings(rubric=rubric))
    assert again.ran == 0
    records = {n: json.loads((out / "raw" / f"{n}.json").read_text()) for n in before}
    for name, row in rows_of(out).items():
        expected = sum((2 if kind == "convolution" else 1) * (v == "pass")
                       for kind in KINDS for v in verdicts(records[name], kind))
        assert float(row["score"]) == expected
    ben = rows_of(out)["ben"]  # the book's code: its notes now cost their points
    assert float(ben["score"]) < float(ben["max_score"])
    assert float(before["ben"]["score"]) == float(before["ben"]["max_score"])


def test_ctrl_c_keeps_the_rows_graded_and_a_rerun_grades_the_rest(small_class, tmp_path):
    out = tmp_path / "out"
    seen = []

    def interrupt_after_the_first(record):
        seen.append(record["submission"])
        raise KeyboardInterrupt

    result = grade_class(small_class, out, settings(), on_graded=interrupt_after_the_first)
    assert result.interrupted and len(seen) == 1
    assert list(rows_of(out)) == seen and sorted(result.missing) == sorted(
        {"anna", "ben", "jun"} - set(seen))
    rest = grade_class(small_class, out, settings())
    assert (rest.ran, rest.reused) == (2, 1) and len(rows_of(out)) == 3


# -- the command ---------------------------------------------------------------------------------
def test_the_command_grades_and_exits_0(small_class, tmp_path):
    status, out, err = run_cli("grade", small_class, "--kind", "conv,pool", "--out",
                               tmp_path / "out", "--jobs", "2", "--timeout", TIMEOUT * 3,
                               "--no-progress")
    assert status == 0, err
    assert "3 submission(s) graded" in out and "1 syntax" in out


@pytest.mark.parametrize("args, words", [
    (["--kind", "conv", "--out", "{class}/grades"], "inside the submissions folder"),
    (["--kind", "convolutoin", "--out", "{tmp}/out"], "unknown kind 'convolutoin'"),
    (["--kind", "conv", "--out", "{tmp}/out", "--rubric", "{tmp}/nowhere.toml"],
     "cannot read the rubric"),
    (["--kind", "conv", "--out", "{tmp}/taken"], "holds files that tatamu grade did not write"),
    (["--out", "{tmp}/out"], "the following arguments are required: --kind"),
    (["--kind", "conv", "--out", "{tmp}/out", "--timeout", "0"], "must be a positive number"),
])
def test_bad_arguments_are_one_line_and_exit_2(small_class, tmp_path, args, words):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "thesis.tex").write_text("mine")
    args = [a.format(**{"class": small_class, "tmp": tmp_path}) for a in args]
    status, out, err = run_cli("grade", small_class, *args)
    assert status == 2 and words in err and err.count("\n") == 1, err
    assert (tmp_path / "taken" / "thesis.tex").read_text() == "mine"
    assert not (small_class / "grades").exists()


def test_a_missing_submissions_folder_is_one_line(tmp_path):
    status, _, err = run_cli("grade", tmp_path / "nowhere", "--kind", "conv", "--out",
                             tmp_path / "out")
    assert status == 2 and "is not a folder" in err


def test_a_folder_without_submissions_is_one_line_and_nothing_is_written(tmp_path):
    (tmp_path / "class").mkdir()
    (tmp_path / "class" / "notes.txt").write_text("hi")
    status, _, err = run_cli("grade", tmp_path / "class", "--kind", "conv", "--out",
                             tmp_path / "out")
    assert status == 2 and "no submissions in" in err and "(only: notes.txt)" in err
    assert not (tmp_path / "out").exists()


def test_help_says_the_limits_are_not_a_security_boundary():
    status, out, _ = run_cli("grade", "--help")
    assert status == 0 and "NOT a security boundary" in out and "container" in out


def test_a_teachers_adapter_reads_a_course_of_its_own(tmp_path):
    learners = Path(__file__).parents[1] / "learners"
    folder = tmp_path / "class"
    folder.mkdir()
    source = (learners / "mycourse_layers.py").read_text()
    (folder / "right.py").write_text(source)
    # the same course, its MyConv forgetting the bias (the planted class renamed)
    (folder / "wrong.py").write_text(source.replace("class MyConv:", "class Base:").replace(
        "class MyConvForgetsBias(MyConv):", "class MyConv(Base):"))
    out = tmp_path / "out"
    result = grade_class(folder, out, GradeSettings(
        ["convolution"], adapter=learners / "mycourse_adapter.py", timeout=TIMEOUT * 3,
        memory_mb=MEMORY, jobs=2))
    rows = rows_of(out)
    assert result.ran == 2 and [rows[n]["status"] for n in ("right", "wrong")] == ["ok", "ok"]
    assert float(rows["right"]["score"]) == float(rows["right"]["max_score"])
    assert float(rows["wrong"]["score"]) < float(rows["wrong"]["max_score"])
    right = json.loads((out / "raw" / "right.json").read_text())["reports"]["convolution"]
    assert (right["profile"], right["name"]) == ("mycourse", "MyConv")


def test_file_names_the_file_of_every_folder_submission(tmp_path):
    folder = tmp_path / "class"
    shutil.copytree(CLASS / "chika", folder / "chika")
    (folder / "chika" / "old_attempt.py").write_text("class Convolution:\n    pass\n")
    out = tmp_path / "out"
    grade_class(folder, out, settings(file="layers.py"))
    assert rows_of(out)["chika"]["status"] == "ok"
    grade_class(folder, tmp_path / "out2", settings(file="final.py"))
    row = rows_of(tmp_path / "out2")["chika"]
    assert row["status"] == "not-found" and "no file final.py in the folder" in row["reason"]


def test_ctrl_c_in_the_command_stops_a_running_check_at_once(tmp_path):
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "class"
    folder.mkdir()
    for name in ("anna.py", "hana.py"):  # hana never ends; its --timeout is far away
        shutil.copy(CLASS / name, folder / name)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "tatamu", "grade", str(folder), "--kind",
                             "conv,pool", "--out", str(out), "--jobs", "2", "--timeout", "300",
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while not (out / "raw" / "anna.json").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    before = scratch_folders()
    begun = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and time.monotonic() - begun < 30
    assert "1 graded, 1 not yet" in err and "Run the same command again" in err
    assert list(rows_of(out)) == ["anna"]
    assert not (scratch_folders() & before)  # hana's scratch copy removed, its process gone


def test_a_kind_tatamus_book_layers_lack_takes_its_checks_from_the_class(tmp_path):
    """conv1d has no class in tatamu.layers.book: its columns (and every row's maximum) come
    from the submissions that could be checked."""
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(Path(__file__).parents[1] / "learners" / "dic_correct.py", folder / "uma.py")
    shutil.copy(CLASS / "jun.py", folder / "vic.py")
    out = tmp_path / "out"
    grade_class(folder, out, GradeSettings(["conv1d"], timeout=TIMEOUT * 3, memory_mb=MEMORY,
                                           jobs=2))
    rows = rows_of(out)
    uma = json.loads((out / "raw" / "uma.json").read_text())["reports"]["conv1d"]
    assert rows["uma"]["status"] == "ok" and rows["vic"]["status"] == "syntax"
    assert float(rows["vic"]["max_score"]) == float(rows["uma"]["max_score"]) == len(
        uma["checks"])
