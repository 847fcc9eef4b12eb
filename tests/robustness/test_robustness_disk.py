"""Where files go: an output folder that cannot be written, a disk that fills, an existing run.

Tests run as root, where ``chmod`` does not stop a write, so "not writable" is a path running
through a regular file (``file.txt/sub``: even root cannot make that folder) or a simulated
``PermissionError``; "disk full" is ``OSError(ENOSPC)`` raised part-way through a write. The
promise checked each time: one clear message, the previous file whole, no temporary file left,
and the run resumable once the disk has room again.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import matplotlib.figure
import matplotlib.pyplot as plt
import numpy as np
import pytest
from cli_runner import run_cli
from robustness_helpers import one_error_line, tiny_data, tiny_model

import tatamu
from tatamu.checkpoint import store as checkpoint
from tatamu.cli.flags import cli_message
from tatamu.datasets import download
from tatamu.errors import CheckpointError, DownloadError
from tatamu.optim import Adam
from tatamu.training.loop import fit

TRAIN = ["train", "--limit", "40", "--test-limit", "20", "--epochs", "2", "--batch-size", "20",
         "--no-progress"]
FULL = OSError(errno.ENOSPC, "No space left on device")


def files_state(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (epochs/ too) and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def failing_savez_after(calls: int, exc: OSError = FULL):
    """np.savez that works ``calls`` times, then writes half an archive and raises ``exc``."""
    real = np.savez
    count = [0]

    def savez(file, **arrays):
        count[0] += 1
        if count[0] > calls:
            file.write(b"PK\x03\x04 half an archive")
            raise exc
        return real(file, **arrays)

    return savez


# -- a folder that cannot be written --------------------------------------------------------------
def test_saving_under_a_regular_file_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    with pytest.raises(CheckpointError, match="cannot write to folder") as info:
        tatamu.save(tiny_model(), blocker / "sub" / "m.npz")
    assert str(blocker / "sub") in str(info.value) and "writable folder (path)" in str(info.value)
    assert "writable folder (--out)" in cli_message(info.value)  # the CLI's words for the fix


def test_fit_into_an_unwritable_folder_fails_before_training(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(CheckpointError, match="cannot write"):
        fit(tiny_model(), tiny_data(), epochs=1, batch_size=4, optimizer=Adam(),
            progress=False, checkpoint_dir=blocker / "run")


def test_tatamu_train_out_under_a_file_exits_2(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    status, _, err = run_cli(*TRAIN, "--out", blocker / "sub")
    assert status == 2
    one_error_line(err, str(blocker / "sub"), "choose another --out")


def test_tatamu_train_into_a_folder_without_permission_exits_2(tmp_path, monkeypatch):
    real = Path.write_bytes

    def refuse(self, data):
        if self.name == ".tatamu-write-test":
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", refuse)
    status, _, err = run_cli(*TRAIN, "--out", tmp_path / "run")
    assert status == 2
    one_error_line(err, "Permission denied", "--out")


# -- a disk that fills ----------------------------------------------------------------------------
def test_a_disk_full_mid_save_keeps_the_old_checkpoint_and_leaves_no_temp_file(tmp_path,
                                                                              monkeypatch):
    path = tatamu.save(tiny_model(), tmp_path / "m.npz")
    before = path.read_bytes()
    monkeypatch.setattr(np, "savez", failing_savez_after(0))
    with pytest.raises(CheckpointError, match="No space left") as info:
        tatamu.save(tiny_model(seed=1), path, overwrite=True)
    assert "unchanged" in str(info.value)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


def test_a_disk_full_during_training_stops_it_and_the_run_resumes_exactly(tmp_path,
                                                                          monkeypatch):
    data, val = tiny_data(12), tiny_data(6, seed=1)

    def run(folder, **kwargs):
        model = tiny_model()
        fit(model, data, val, epochs=3, batch_size=5, optimizer=Adam(lr=1e-2), seed=4,
            progress=False, checkpoint_dir=folder, **kwargs)
        return model

    straight = run(tmp_path / "straight")
    folder = tmp_path / "full"
    # initial, epochs/epoch-001, last and best (epoch 1), epochs/epoch-002 are written; the
    # disk fills at epoch 2's last.npz
    monkeypatch.setattr(np, "savez", failing_savez_after(5))
    with pytest.raises(CheckpointError, match="No space left"):
        run(folder)
    monkeypatch.undo()
    assert sorted(name for name in files_state(folder) if not name.startswith("events.")) == [
        "best.npz", *(f"epochs/epoch-00{e}.npz" for e in range(3)), "initial.npz", "last.npz",
        "metrics.csv"]
    assert checkpoint.read(folder / "last.npz").meta["history"]["epoch"] == [1]
    resumed = run(folder, resume=True)  # room again
    for key, value in straight.params().items():
        np.testing.assert_array_equal(resumed.params()[key], value, err_msg=key)


@pytest.mark.parametrize("when", ["checkpoint", "history", "plot"])
def test_tatamu_train_on_a_full_disk_exits_2_with_one_line(tmp_path, monkeypatch, when):
    if when == "checkpoint":
        monkeypatch.setattr(np, "savez", failing_savez_after(2))
    elif when == "history":
        real = checkpoint.atomic_write

        def atomic_write(path, write):
            if path.name == "history.json":
                raise CheckpointError(f"could not write {path}: No space left on device (is "
                                      "the disk full?); any previous file there is unchanged")
            return real(path, write)

        monkeypatch.setattr(checkpoint, "atomic_write", atomic_write)
    else:
        def savefig(self, fname, *args, **kwargs):
            raise OSError(errno.ENOSPC, "No space left on device", str(fname))

        monkeypatch.setattr(matplotlib.figure.Figure, "savefig", savefig)
    folder = tmp_path / "run"
    status, _, err = run_cli(*TRAIN, "--out", folder)
    plt.close("all")  # plot_history leaves its figure open when savefig fails (plots.py)
    assert status == 2
    one_error_line(err, "No space left", "free some space" if when == "plot" else "disk full")
    assert not list(folder.glob(".*.tmp"))
    if (folder / "last.npz").exists():
        checkpoint.read(folder / "last.npz")


def test_a_disk_full_during_a_download_is_a_download_error(tmp_path, http_server, monkeypatch):
    http_server.routes["/m/f.gz"] = ("ok", b"\x1f\x8b" + bytes(5000))
    real_open = open

    class FullFile:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def fake_open(path, mode="r", *args, **kwargs):
        f = real_open(path, mode, *args, **kwargs)
        return FullFile(f) if str(path).endswith(".part") else f

    monkeypatch.setattr(download, "open", fake_open, raising=False)
    with pytest.raises(DownloadError, match="No space left"):
        download.download_file("f.gz", "0" * 64, tmp_path, [http_server.url + "/m"],
                               timeout=1, retries=0, backoff=0)


# -- an existing run folder -----------------------------------------------------------------------
@pytest.mark.parametrize("content", ["a run", "someone's file"], ids=["a-run", "a-user-file"])
def test_an_existing_non_empty_out_folder_is_never_touched_without_asking(tmp_path, content):
    folder = tmp_path / "run"
    if content == "a run":
        assert run_cli(*TRAIN, "--out", folder)[0] == 0
    else:
        folder.mkdir()
        (folder / "thesis.tex").write_text("do not lose me")
    before = files_state(folder)
    mtimes = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    status, _, err = run_cli(*TRAIN, "--out", folder)
    assert status == 2
    one_error_line(err, "not empty", "nothing was overwritten", "--resume", "--force")
    assert files_state(folder) == before
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == mtimes


def test_save_never_replaces_an_existing_file_unless_asked(tmp_path):
    path = tatamu.save(tiny_model(), tmp_path / "m.npz")
    before = path.read_bytes()
    with pytest.raises(CheckpointError, match="already exists.*overwrite=True"):
        tatamu.save(tiny_model(seed=1), path)
    assert path.read_bytes() == before


def test_stale_temp_files_are_removed_and_nothing_else(tmp_path):
    for name in (".last.npz.ab_12xyz.tmp", ".history.json.q9w8e7r6.tmp"):
        (tmp_path / name).write_bytes(b"half")
    keep = [".hidden.tmp", "notes.tmp", ".last.npz.tmp", "last.npz", ".x.toolongname.tmp"]
    for name in keep:
        (tmp_path / name).write_bytes(b"keep")
    removed = checkpoint.remove_stale_temp_files(tmp_path)
    assert sorted(p.name for p in removed) == [".history.json.q9w8e7r6.tmp",
                                               ".last.npz.ab_12xyz.tmp"]
    assert sorted(os.listdir(tmp_path)) == sorted(keep)
    assert checkpoint.remove_stale_temp_files(tmp_path / "absent") == []
