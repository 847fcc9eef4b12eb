"""The command line's error path, tried command by command.

Every user error: exit status 2 and exactly one stderr line ``tatamu: error: WHAT; FIX`` (the
last line; progress lines such as "loading mnist..." may come before it), never a traceback.
A bug in tatamu: exit status 1 and one line saying how to get its traceback and report it.
Ctrl-C: exit 130.
Each row of ``USER_ERRORS`` gives the phrases the line must hold: what was wrong, and the fix.
"""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cli_runner import run_cli
from robustness_helpers import one_error_line

import tatamu
import tatamu.cli.commands.size
import tatamu.cli.commands.summary
from tatamu.cli import app as cli
from tatamu.models import conv1d_net, simple_convnet


@pytest.fixture(scope="module")
def place(tmp_path_factory) -> Path:
    """Files for the commands to refuse: checkpoints, a picture, folders."""
    root = tmp_path_factory.mktemp("cli")
    tatamu.save(simple_convnet(rng=0), root / "no-dataset.npz")
    tatamu.save(conv1d_net(rng=0), root / "conv1d.npz", metadata={"dataset": "mnist1d"})
    np.save(root / "digit.npy", np.zeros((28, 28), np.float32))
    (root / "empty").mkdir()
    (root / "no-checkpoints").mkdir()
    (root / "no-checkpoints" / "notes.txt").write_text("hi")
    (root / "a-file").write_text("x")
    return root


USER_ERRORS = {
    # id: (argv with {p} for the fixture folder, phrases: what, fix)
    "epochs-0": ("train --epochs 0", ["--epochs", "at least 1"]),
    "lr-nan": ("train --lr nan", ["--lr", "positive number"]),
    "unknown-model": ("train --model resnet", ["invalid choice: 'resnet'", "choose from"]),
    "unknown-option": ("train --no-such-option", ["--no-such-option", "--help"]),
    "unknown-command": ("frobnicate", ["invalid choice", "choose from"]),
    "model-vs-dataset": ("train --model conv1d", ["does not fit --dataset mnist", "mnist1d"]),
    "resume-without-out": ("train --resume", ["--resume needs --out"]),
    "resume-nothing": ("train --resume --epochs 1 --no-progress --out {p}/empty",
                       ["nothing to resume", "without --resume"]),
    "out-is-a-file": ("train --out {p}/a-file", ["is a file", "not a folder"]),
    "no-dataset-there": ("train --data-root {p}/absent --out {p}/r1",
                         ["MNIST not found", "folder holding all four"]),
    "negative-weight-decay": ("train --weight-decay -1 --limit 10 --out {p}/r2",
                              ["weight_decay must be >= 0"]),
    "evaluate-missing": ("evaluate {p}/missing.npz", ["no checkpoint file at"]),
    "evaluate-empty-folder": ("evaluate {p}/no-checkpoints", ["without best.npz or last.npz"]),
    "evaluate-which-dataset": ("evaluate {p}/no-dataset.npz", ["which dataset", "--dataset"]),
    "evaluate-wrong-dataset": ("evaluate {p}/conv1d.npz --dataset mnist",
                               ["takes samples of shape (1, 40)"]),
    "predict-1d-model": ("predict {p}/conv1d.npz {p}/digit.npy", ["not images"]),
    "summary-unknown": ("summary resnet", ["neither a model name", "simple"]),
    "summary-input-word": ("summary simple --input one", ["--input takes numbers like 1,28,28"]),
    "summary-non-dividing": ("summary simple --input 1,27,27", ["does not divide", "rounding"]),
    "summary-zero-size": ("summary simple --input 1,0,28", ["must be an int >= 1"]),
    "summary-tiny-input": ("summary simple --input 1,2,2", ["larger than", "smaller kernel"]),
    "summary-huge-input": ("summary simple --input 1,100000,100000",
                           ["not enough memory", "--input"]),
    "size-non-dividing": ("size 10 --kernel 3 --stride 2", ["4.5", "--rounding floor"]),
    "size-three-sizes": ("size 1 2 3 --kernel 3", ["one size (H) or two"]),
    "size-stride-count": ("size 7 --kernel 3 --stride 1 2", ["--stride takes one value"]),
    "size-stride-0": ("size 7 --kernel 3 --stride 0", ["--stride", "at least 1"]),
    "size-kernel-0": ("size 7 --kernel 0", ["kernel_size must be an int >= 1"]),
    "size-kernel-too-big": ("size 3 --kernel 5", ["larger than", "smaller --kernel"]),
    "size-negative-padding": ("size 7 --kernel 3 --padding -1", ["padding must be >= 0"]),
    "explain-stride-0": ("explain conv --stride 0", ["--stride must be at least 1"]),
    "explain-bad-size": ("explain conv --input fivexfive", ["--input takes a size like 4x4"]),
    "explain-bad-values": ("explain conv --values 1,2,x", ["numbers separated by commas"]),
    "explain-non-dividing": ("explain conv --input 5x5 --kernel 2x2 --stride 2",
                             ["2.5", "--rounding floor"]),
    "explain-huge": ("explain im2col --channels 100000 --batch 100000 --input 28x28 "
                     "--kernel 3x3 --stride 1", ["not enough memory", "--channels"]),
    "show-missing": ("show filters {p}/missing.npz",
                     ["no checkpoint file at", ".npz file or a run"]),
    "show-unknown-layer": ("show filters {p}/no-dataset.npz --layer nope --out {p}/",
                           ["no layer 'nope'", "conv1"]),
    "show-channel-range": ("show dream {p}/no-dataset.npz --channel 999 --steps 1 --out {p}/",
                           ["30 channels (0 to 29)", "999"]),
}


@pytest.mark.parametrize("case", list(USER_ERRORS), ids=list(USER_ERRORS))
def test_a_user_error_is_one_line_saying_what_and_how_to_fix_exit_2(place, case):
    argv, phrases = USER_ERRORS[case]
    status, _, err = run_cli(*argv.format(p=place).split())
    assert status == 2, err
    one_error_line(err, *phrases)


#: Pictures ``tatamu predict`` cannot answer: one line each, exit 1 (issue 27: the other
#: pictures are still answered; 2 is for a bad command).
PICTURE_ERRORS = {
    "predict-missing-picture": ("predict {p}/no-dataset.npz {p}/absent.png", ["no image file"]),
    "predict-not-a-picture": ("predict {p}/no-dataset.npz {p}/a-file",
                              ["not an image", "PNG, JPEG"]),
}


@pytest.mark.parametrize("case", list(PICTURE_ERRORS), ids=list(PICTURE_ERRORS))
def test_a_picture_predict_cannot_read_is_one_line_exit_1(place, case):
    argv, phrases = PICTURE_ERRORS[case]
    status, out, err = run_cli(*argv.format(p=place).split())
    assert status == 1 and out == "", err
    one_error_line(err, *phrases)


def test_a_multi_line_library_message_becomes_one_line(monkeypatch):
    def fails(args):
        raise tatamu.errors.DataError("not found. Looked in:\n  /a: missing\n  /b: no such "
                                      "folder\nFix: pass --download")

    monkeypatch.setattr(tatamu.cli.commands.size, "run", fails)
    status, _, err = run_cli("size", "7", "--kernel", "3")
    assert status == 2
    assert one_error_line(err) == ("tatamu: error: not found. Looked in: /a: missing; "
                                   "/b: no such folder; Fix: pass --download")


@pytest.mark.parametrize(
    ("exc", "phrases"),
    [(OSError(errno.ENOSPC, "No space left on device", "run/curves.png"),
      ["run/curves.png: No space left on device", "free some space"]),
     (PermissionError(errno.EACCES, "Permission denied", "/srv/run"),
      ["/srv/run: Permission denied", "choose a folder you can write to"]),
     (OSError(errno.EROFS, "Read-only file system"), ["Read-only file system", "--out"]),
     (MemoryError("Unable to allocate 57.0 TiB"), ["not enough memory", "57.0 TiB"])],
    ids=["disk-full", "permission", "read-only", "memory"],
)
def test_the_machine_saying_no_is_a_user_error_not_a_bug(monkeypatch, exc, phrases):
    def fails(args):
        raise exc

    monkeypatch.setattr(tatamu.cli.commands.size, "run", fails)
    status, _, err = run_cli("size", "7", "--kernel", "3")
    assert status == 2
    assert "internal error" not in err
    one_error_line(err, *phrases)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), KeyError("conv1"),
                                 OSError(errno.EBADF, "Bad file descriptor"), ZeroDivisionError()],
                         ids=["runtime", "key", "other-oserror", "zero-division"])
def test_a_bug_is_one_line_saying_how_to_report_it_exit_1(monkeypatch, exc):
    def broken(args):
        raise exc

    monkeypatch.delenv("TATAMU_DEBUG", raising=False)
    monkeypatch.setattr(tatamu.cli.commands.summary, "run", broken)
    status, _, err = run_cli("summary", "simple")
    assert status == 1
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith("tatamu: internal error: " + type(exc).__name__)
    assert "TATAMU_DEBUG=1" in lines[0] and "the command that was run" in lines[0]
    assert "http" not in lines[0]


def test_ctrl_c_in_any_command_is_exit_130(monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(tatamu.cli.commands.summary, "run", interrupted)
    status, _, err = run_cli("summary", "simple")
    assert (status, err) == (130, "tatamu: interrupted\n")


def test_the_installed_command_prints_one_line_and_exits_2(place):
    script = Path(sys.executable).with_name("tatamu")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "tatamu"]
    result = subprocess.run([*command, "evaluate", str(place / "missing.npz")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    one_error_line(result.stderr, "no checkpoint file at")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("argv", [["size", "28", "--kernel", "5"], ["explain", "im2col"]],
                         ids=["short-output", "long-output"])
def test_a_reader_that_stops_reading_is_not_a_bug(argv):
    # `tatamu ... | head -1`: the pipe closes under tatamu, which stops quietly with the
    # status a shell gives a command stopped by SIGPIPE (it used to report an internal error)
    code = f"import sys; from tatamu.cli import main; sys.exit(main({argv!r}))"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    proc.stdout.close()  # before tatamu has printed anything: every write fails
    err = proc.stderr.read().decode()
    proc.stderr.close()
    assert proc.wait(timeout=60) == cli.EXIT_BROKEN_PIPE, err
    assert err == ""
