"""Kill a training run for real, at random moments and mid-checkpoint, then resume it.

Each test starts ``train_worker.py`` (a tiny ``fit`` with checkpoints, or tatamu's own
``tatamu train``) as a subprocess, interrupts it with SIGKILL, SIGTERM or SIGINT at a seeded
random moment or while a checkpoint's temporary file is being written, and then checks:

1. every checkpoint left in the run folder loads whole, and one being replaced when the process
   died is byte for byte the previous file;
2. resuming (``--resume``; a fresh start if the run died before its first ``last.npz``) ends
   with parameters, BatchNorm statistics, Adam state and history bit-identical to a run never
   interrupted, and leaves no temporary file behind.

Single-threaded BLAS in the subprocesses makes every run compute the same bits. Every
subprocess is bounded by a timeout and killed at teardown.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tatamu.checkpoint import store as checkpoint
from tatamu.training.run import is_run_file

WORKER = Path(__file__).with_name("train_worker.py")
TIMEOUT = 90  # seconds: the bound on every subprocess (they take about 1 s)
STEP_SLEEP = 0.02  # seconds after each step: a 3-epoch run lasts about 0.5 s
SLOW_WRITE = 0.01  # seconds after each sixteenth of a checkpoint: writes last about 0.16 s
CHECKPOINTS = ("initial.npz", "last.npz", "best.npz")
#: History fields equal bit for bit between runs (times are not).
COMPARED = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr")
CLI_TRAIN = ["train", "--limit", "300", "--test-limit", "100", "--epochs", "2",
             "--batch-size", "50", "--no-progress"]


def worker_env(**slow) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "TATAMU_DEBUG"}
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    for key, value in slow.items():
        env[f"TATAMU_TEST_{key.upper()}"] = str(value)
    return env


def start(*args, **slow) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(WORKER), *map(str, args)], env=worker_env(**slow),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(proc: subprocess.Popen) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"the run did not finish within {TIMEOUT} s:\n{err}")
    return proc.returncode, out, err


def run(*args, **slow) -> tuple[int, str, str]:
    return finish(start(*args, **slow))


def wait_for(proc: subprocess.Popen, condition, what: str):
    """Poll ``condition()`` every millisecond until it is true; fail if the run ends first."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc.poll() is not None:
            status, out, err = finish(proc)
            pytest.fail(f"the run ended (status {status}) before {what}:\n{out}\n{err}")
        time.sleep(0.001)
    proc.kill()
    pytest.fail(f"no {what} within {TIMEOUT} s")


def temp_files(folder: Path, name: str = "*") -> list[Path]:
    """Temporary files of atomic writes (``.last.npz.abc123.tmp``)."""
    return sorted(folder.glob(f".{name}.*.tmp"))


def final_state(folder: Path) -> dict[str, object]:
    """What a finished run is: every array in last.npz, and the per-epoch history."""
    ckpt = checkpoint.read(folder / "last.npz")
    state: dict[str, object] = {f"param/{k}": v for k, v in ckpt.model.params().items()}
    state.update({f"buffer/{k}": v for k, v in ckpt.model.buffers().items()})
    state.update({f"optim/{k}": v for k, v in ckpt.optimizer_state.items()})
    state.update({f"history/{k}": ckpt.meta["history"][k] for k in COMPARED})
    return state


def assert_same_run(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key, value in a.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(b[key], value, err_msg=key)  # bit for bit
        else:
            assert b[key] == value, key


def assert_left_whole(folder: Path) -> dict[str, bytes]:
    """Every checkpoint in ``folder`` loads whole; only a run's files and temp files are there
    (running.json too: a killed process cannot remove it)."""
    names = {p.name for p in folder.iterdir()} - {p.name for p in temp_files(folder)}
    assert all(is_run_file(name) for name in names), names
    for name in CHECKPOINTS:
        if (folder / name).exists():
            checkpoint.read(folder / name)
    return {p.name: p.read_bytes() for p in folder.glob("*.npz")}


def resume_and_check(folder: Path, reference: dict) -> None:
    """Resume the run (or start it afresh if it died before its first last.npz) and compare."""
    args = ["fit", folder] + (["--resume"] if (folder / "last.npz").exists() else [])
    status, out, err = run(*args)
    assert status == 0, err
    assert "stop_reason=completed" in out
    assert temp_files(folder) == []  # the killed run's temporary file was cleared away
    assert_same_run(reference, final_state(folder))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """The uninterrupted run every interrupted-and-resumed one must equal."""
    folder = tmp_path_factory.mktemp("reference") / "run"
    status, _, err = run("fit", folder)
    assert status == 0, err
    return final_state(folder)


# -- SIGKILL / SIGTERM at random moments ----------------------------------------------------------
@pytest.mark.parametrize(("sig", "seed"), [(signal.SIGKILL, 0), (signal.SIGKILL, 1),
                                           (signal.SIGKILL, 2), (signal.SIGTERM, 3)],
                         ids=["sigkill-0", "sigkill-1", "sigkill-2", "sigterm-3"])
def test_killed_at_a_random_moment_resume_reaches_the_uninterrupted_weights(tmp_path, reference,
                                                                            sig, seed):
    folder = tmp_path / "run"
    proc = start("fit", folder, step_sleep=STEP_SLEEP)
    wait_for(proc, lambda: (folder / "initial.npz").exists(), "initial.npz")
    time.sleep(random.Random(seed).uniform(0.0, 0.5))  # somewhere in the ~0.5 s of training
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(sig)
    status, _, _ = finish(proc)
    assert status == -sig
    assert_left_whole(folder)
    resume_and_check(folder, reference)


# -- SIGKILL in the middle of writing a checkpoint ------------------------------------------------
WRITES = {
    # target file: (it must already exist when its rewrite is caught, id)
    "initial": ("initial.npz", False),
    "first-last": ("last.npz", False),
    "later-last": ("last.npz", True),
    "best": ("best.npz", True),
}


@pytest.mark.parametrize("write", list(WRITES), ids=list(WRITES))
def test_sigkill_mid_checkpoint_write_keeps_the_previous_file_whole(tmp_path, reference, write):
    name, replacing = WRITES[write]
    folder = tmp_path / "run"
    proc = start("fit", folder, slow_write=SLOW_WRITE)

    def caught():
        temps = temp_files(folder, name)
        return temps if temps and (folder / name).exists() == replacing else None

    temps = wait_for(proc, caught, f"a write of {name}")
    before = (folder / name).read_bytes() if replacing else None
    time.sleep(random.Random(write).uniform(0.0, 0.08))  # within the ~0.16 s write
    proc.kill()
    assert finish(proc)[0] == -signal.SIGKILL
    files = assert_left_whole(folder)
    if temps[0].exists():  # killed mid-write: the file being replaced is untouched
        assert files.get(name) == before
    resume_and_check(folder, reference)


# -- SIGINT (Ctrl-C): a clean stop at a batch boundary --------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_ctrl_c_at_a_random_moment_saves_a_batch_boundary_and_resumes_exactly(tmp_path,
                                                                              reference, seed):
    folder = tmp_path / "run"
    proc = start("fit", folder, step_sleep=STEP_SLEEP)
    wait_for(proc, lambda: (folder / "initial.npz").exists(), "initial.npz")
    time.sleep(random.Random(seed).uniform(0.0, 0.4))
    assert proc.poll() is None, "the run finished before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    status, out, err = finish(proc)
    assert status == 130, err
    assert "Traceback" not in err
    assert "stop_reason=interrupted" in out and "resume" in err
    position = checkpoint.read(folder / "last.npz").meta["train_state"]["position"]
    assert 1 <= position["epoch"] <= 3 and 0 <= position["batch"] <= 7
    assert temp_files(folder) == []
    resume_and_check(folder, reference)


def test_ctrl_c_during_a_checkpoint_write_lets_the_write_finish(tmp_path, reference):
    folder = tmp_path / "run"
    proc = start("fit", folder, slow_write=SLOW_WRITE)
    wait_for(proc, lambda: temp_files(folder, "last.npz"), "a write of last.npz")
    proc.send_signal(signal.SIGINT)  # deferred: honoured at the next batch boundary
    status, out, err = finish(proc)
    assert status == 130, err
    assert "Traceback" not in err and "stop_reason=interrupted" in out
    assert temp_files(folder) == []
    assert_left_whole(folder)
    resume_and_check(folder, reference)


def test_a_second_ctrl_c_stops_at_once_and_leaves_the_last_checkpoint_whole(tmp_path, reference):
    folder = tmp_path / "run"
    proc = start("fit", folder, step_sleep=0.1)  # a press lands inside a step
    wait_for(proc, lambda: (folder / "last.npz").exists(), "the first last.npz")
    before = (folder / "last.npz").read_bytes()
    for _ in range(2):
        proc.send_signal(signal.SIGINT)
        time.sleep(0.02)  # two separate presses (signals sent together can coalesce)
    status, _, err = finish(proc)
    assert status == 130, err
    assert "Traceback" not in err
    assert (folder / "last.npz").read_bytes() == before or "saved" in err
    assert_left_whole(folder)
    resume_and_check(folder, reference)


# -- the same through `tatamu train` --------------------------------------------------------------
@pytest.fixture(scope="module")
def cli_reference(tmp_path_factory) -> dict:
    folder = tmp_path_factory.mktemp("cli-reference") / "run"
    status, _, err = run("cli", *CLI_TRAIN, "--out", folder)
    assert status == 0, err
    return final_state(folder)


def cli_resume_and_check(folder: Path, reference: dict) -> None:
    status, out, err = run("cli", *CLI_TRAIN, "--resume", "--out", folder)
    assert status == 0, err
    assert "after 2 epochs" in out
    assert temp_files(folder) == []
    assert_same_run(reference, final_state(folder))


def test_tatamu_train_killed_mid_checkpoint_resumes_to_the_same_weights(tmp_path, cli_reference):
    folder = tmp_path / "run"
    proc = start("cli", *CLI_TRAIN, "--out", folder, slow_write=0.02)

    def caught():  # the epoch-2 rewrite of last.npz
        return (folder / "last.npz").exists() and temp_files(folder, "last.npz")

    wait_for(proc, caught, "the second write of last.npz")
    before = (folder / "last.npz").read_bytes()
    proc.kill()
    assert finish(proc)[0] == -signal.SIGKILL
    assert assert_left_whole(folder)["last.npz"] == before
    status, _, err = run("cli", *CLI_TRAIN, "--out", folder)  # no --resume: refused, untouched
    assert status == 2
    assert "already exists" in err and "--resume" in err
    assert (folder / "last.npz").read_bytes() == before
    cli_resume_and_check(folder, cli_reference)


def test_tatamu_train_ctrl_c_exits_130_and_resumes_to_the_same_weights(tmp_path, cli_reference):
    folder = tmp_path / "run"
    proc = start("cli", *CLI_TRAIN, "--out", folder, step_sleep=STEP_SLEEP)
    wait_for(proc, lambda: (folder / "last.npz").exists(), "the first last.npz")
    proc.send_signal(signal.SIGINT)
    status, _, err = finish(proc)
    assert status == 130
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("tatamu: interrupted during epoch ") and "--resume" in last, err
    assert_left_whole(folder)
    cli_resume_and_check(folder, cli_reference)
