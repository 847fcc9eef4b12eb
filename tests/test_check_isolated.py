"""``tatamu check`` runs the learner's code in its own process (tatamu.learn.isolate): a file
that never ends is stopped and located, memory blown is one line, the learner's prints never
reach ``--json``'s stdout, and the JSON object keeps the schema the grader reads."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

from tatamu.learn.isolate import Limits, parse_stack, run_isolated

LEARNERS = Path(__file__).parent / "learners"


def learner(name: str) -> str:
    return str(LEARNERS / name)


def check_json(*argv) -> tuple[int, dict, str]:
    status, out, err = run_cli("check", *argv, "--json")
    return status, json.loads(out), err  # stdout is one JSON object and nothing else


# -- the JSON schema ---------------------------------------------------------------------------
TOP = {"file": str, "target": str, "kind": str, "profile": str, "status": str,
       "reason": (str, type(None)), "checks": list, "counts": dict, "layers": list}
CHECK = {"name": str, "status": str, "detail": str, "diagnosis": (str, type(None)),
         "mismatch": (str, type(None))}
LAYER = {"name": str, "target": str, "kind": str, "profile": str, "checks": list,
         "counts": dict, "notes": list}


def assert_schema(report: dict) -> None:
    for keys, obj in [(TOP, report), *((LAYER, layer) for layer in report["layers"]),
                      *((CHECK, c) for c in report["checks"])]:
        for key, kind in keys.items():
            assert key in obj, key
            assert isinstance(obj[key], kind), (key, obj[key])
    assert report["status"] in ("ok", "error", "timeout", "memory", "syntax", "not-found")
    for checks, counts in [(report["checks"], report["counts"]),
                           *((la["checks"], la["counts"]) for la in report["layers"])]:
        assert set(counts) == {"pass", "fail", "note"}
        for verdict in counts:
            assert counts[verdict] == sum(c["status"] == verdict for c in checks)
        assert all(c["status"] in ("pass", "fail", "note") for c in checks)
    assert len(report["checks"]) == sum(len(la["checks"]) for la in report["layers"])


def test_json_of_one_failing_layer():
    status, report, _ = check_json(f"{learner('planted_conv.py')}:Col2imOverwrites")
    assert status == 1
    assert_schema(report)
    assert report["status"] == "ok" and report["reason"] is None
    assert report["kind"] == "convolution" and report["profile"] == "book"
    assert report["target"].endswith("planted_conv.py:Col2imOverwrites")
    assert report["file"].endswith("planted_conv.py")
    assert report["counts"]["fail"] >= 1
    failed = [c for c in report["checks"] if c["status"] == "fail"]
    assert any("col2im overwrites" in (c["diagnosis"] or "") for c in failed)
    assert [c["name"] for c in report["checks"]] == [c["name"] for c in
                                                     report["layers"][0]["checks"]]


def test_json_of_a_file_of_several_layers_prefixes_the_names():
    status, report, _ = check_json(learner("book_verbatim.py"))
    assert status == 0
    assert_schema(report)
    assert report["kind"] == "several" and report["profile"] == "book"
    names = [la["name"] for la in report["layers"]]
    assert names == ["Convolution", "Pooling", "Affine", "Relu", "SoftmaxWithLoss"]
    expected = [f"{la['name']}: {c['name']}" for la in report["layers"] for c in la["checks"]]
    assert [c["name"] for c in report["checks"]] == expected
    assert report["counts"]["note"] == 6 and report["counts"]["fail"] == 0


def test_strict_json_turns_notes_into_failures():
    status, report, _ = check_json(learner("book_verbatim.py"), "--strict")
    assert status == 1 and report["strict"] is True
    assert report["counts"]["note"] == 0 and report["counts"]["fail"] == 6


def test_the_learners_prints_never_reach_stdout():
    status, out, err = run_cli("check", f"{learner('noisy.py')}:Relu", "--json")
    assert status == 0
    report = json.loads(out)
    assert "loading my layers" in report["output"]["stdout"]
    assert "forward (2, 3, 4, 4)" in report["output"]["stdout"]
    assert "a warning of mine" in report["output"]["stderr"]
    status, out, err = run_cli("check", f"{learner('noisy.py')}:Relu")
    assert status == 0 and "loading my layers" not in out + err
    assert "your code printed" in err


# -- stopped: time, memory, loading -----------------------------------------------------------
def test_a_file_that_never_ends_is_stopped_and_located():
    status, out, err = run_cli("check", learner("never_ends.py"), "--timeout", "3")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("tatamu: error: stopped after 3.")
    assert re.search(r"never_ends\.py, line 1[89] \(in train\)", err)  # the loop's lines
    status, report, err = check_json(learner("never_ends.py"), "--timeout", "3")
    assert status == 2 and report["status"] == "timeout"
    assert re.fullmatch(r"never_ends\.py, line 1[89] \(in train\)", report["where"])
    assert 3 <= report["seconds"] < 20 and report["checks"] == []


def test_memory_blown_is_one_line(tmp_path):
    path = tmp_path / "greedy.py"
    path.write_text("import numpy as np\nbig = np.ones((4096, 1024, 1024))  # 32 GiB\n")
    status, out, err = run_cli("check", f"{path}:Relu", "--memory", "400")
    assert status == 2 and out == ""
    assert len(err.strip().splitlines()) == 1
    assert "400 MB" in err and "greedy.py, line 2" in err
    _, report, _ = check_json(f"{path}:Relu", "--memory", "400")
    assert report["status"] == "memory"


@pytest.mark.parametrize("source, target, expected", [
    ("class Relu(:\n", "bad.py:Relu", "syntax"),
    ("class Relu:\n    pass\n", "bad.py:Conv", "not-found"),
    ("raise RuntimeError('no data here')\n", "bad.py:Relu", "error"),
    (None, "none.py:Relu", "not-found"),
    ("", "bad.py:Relu", "error"),
    ("\x00\x01\x02ELF", "bad.py:Relu", "error"),
])
def test_loading_failures_have_a_status_and_one_line(tmp_path, source, target, expected):
    if source is not None:
        (tmp_path / "bad.py").write_text(source)
    status, report, err = check_json(str(tmp_path / target))
    assert status == 2
    assert_schema(report)
    assert report["status"] == expected and report["reason"]
    assert "\n" not in report["reason"]
    assert err.startswith("tatamu: error: ") and len(err.strip().splitlines()) == 1


def test_help_says_the_limits_are_no_security_boundary():
    status, out, _ = run_cli("check", "--help")
    assert status == 0
    assert "--timeout" in out and "--memory" in out and "NOT a security boundary" in out


@pytest.mark.parametrize("argv", [["--timeout", "0"], ["--memory", "10"], ["--timeout", "x"]])
def test_bad_limits_are_refused(argv):
    status, out, err = run_cli("check", learner("noisy.py"), *argv)
    assert status == 2 and out == "" and "tatamu: error:" in err


# -- the isolation module itself ------------------------------------------------------------
def test_run_isolated_returns_the_functions_value():
    outcome = run_isolated("tatamu.learn.isolate:echo", {"a": [1, 2]})
    assert outcome.ok and outcome.value == {"a": [1, 2]} and outcome.reason is None


def test_the_child_runs_in_a_scratch_folder_with_a_scrubbed_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TATAMU_TEST_SECRET", "s3cret")
    script = tmp_path / "where.py"
    script.write_text("import os, sys\nprint(os.getcwd())\nprint(os.environ.get("
                      "'TATAMU_TEST_SECRET'))\nopen('made_here.txt', 'w').write('x')\n")
    outcome = run_isolated("tatamu.learn.isolate:run_script", {"path": str(script)})
    assert outcome.ok, outcome.reason
    cwd, secret = outcome.stdout.splitlines()[:2]
    assert secret == "None"
    assert Path(cwd) != Path(os.getcwd()) and Path(cwd) != tmp_path
    assert not Path(cwd).exists()  # the scratch folder is removed afterwards
    assert not (tmp_path / "made_here.txt").exists()


def test_output_is_cut(tmp_path):
    script = tmp_path / "chatty.py"
    script.write_text("print('x' * 1_000_000)\n")
    outcome = run_isolated("tatamu.learn.isolate:run_script", {"path": str(script)})
    assert outcome.ok
    assert len(outcome.stdout) < 30_000 and "more bytes cut" in outcome.stdout


def test_a_child_that_ignores_signals_and_sleeps_in_c_is_still_stopped(tmp_path):
    script = tmp_path / "stubborn.py"
    script.write_text("import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                      "time.sleep(600)\n")
    outcome = run_isolated("tatamu.learn.isolate:run_script", {"path": str(script)},
                           limits=Limits(timeout=1.5), watch=[tmp_path])
    assert outcome.status == "timeout"
    assert str(outcome.where) == "stubborn.py, line 3 (in <module>)"
    assert outcome.seconds < 10


def test_an_interpreter_that_dies_is_an_error(tmp_path):
    script = tmp_path / "dies.py"
    script.write_text("import os\nos._exit(7)\n")
    outcome = run_isolated("tatamu.learn.isolate:run_script", {"path": str(script)})
    assert outcome.status == "error" and "status 7" in outcome.reason


def test_limits_are_checked():
    with pytest.raises(ValueError, match="timeout"):
        Limits(timeout=0)
    with pytest.raises(ValueError, match="memory_mb"):
        Limits(memory_mb=1)


def test_parse_stack_reads_faulthandlers_dump():
    text = ('Current thread 0x00007f (most recent call first):\n'
            '  File "/x/conv.py", line 12 in forward\n'
            '  File "/x/run.py", line 3 in <module>\n\n'
            'Thread 0x00008f (most recent call first):\n'
            '  File "/y/other.py", line 1 in idle\n')
    stack = parse_stack(text)
    assert [(f.file, f.line, f.function) for f in stack] == [
        ("/x/conv.py", 12, "forward"), ("/x/run.py", 3, "<module>")]


def test_isolate_is_not_imported_with_heavy_modules():
    # the child imports isolate.py as a script before limiting itself: stdlib only
    source = (Path(__file__).parents[1] / "src/tatamu/learn/isolate.py").read_text()
    imports = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert all(line.split()[1].split(".")[0] in sys.stdlib_module_names | {"__future__"}
               for line in imports), imports


def test_a_layer_that_hangs_inside_a_check_names_the_check(tmp_path):
    path = tmp_path / "hangs.py"
    path.write_text(
        "from tatamu.layers.book import Relu as BookRelu\n\n\n"
        "class Relu(BookRelu):\n"
        "    def backward(self, dout):\n"
        "        if dout.ndim == 3:  # only in the gradient check's input\n"
        "            while True:\n"
        "                pass\n"
        "        return super().backward(dout)\n")
    status, _, err = run_cli("check", f"{path}:Relu", "--timeout", "6")
    assert status == 2
    assert re.search(r"hangs\.py, line [78] \(in backward\)", err)  # the loop's lines
    assert "the check 'backward equals float64 numerical gradients" in err
