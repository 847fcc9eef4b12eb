"""``tatamu runs`` (tatamu.training.runs): run folders found, summarised from their own files,
runs that differ only by seed grouped as mean ± sd, the state of each, the table and the CSV.

Every expected figure is read back from the run's own history in the test (never typed)."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path

import pytest
from cli_runner import run_cli

from tatamu.checkpoint import store as ckpt
from tatamu.training import run, runs
from tatamu.training.history import upgrade_history

TINY = ["--limit", "120", "--test-limit", "60", "--batch-size", "30", "--epochs", "2",
        "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def sweep(tmp_path_factory) -> Path:
    """runs/lr/seed0, runs/lr/seed1 (differ only by seed), runs/other (another batch size)."""
    top = tmp_path_factory.mktemp("runs")
    for name, extra in (("lr/seed0", ["--seed", "0"]), ("lr/seed1", ["--seed", "1"]),
                        ("other", ["--batch-size", "40"])):
        status, _, err = run_cli("train", *TINY, *extra, "--out", top / name)
        assert status == 0, err
    (top / "notes").mkdir()  # not a run: never listed
    (top / "notes" / "todo.txt").write_text("x")
    return top


def history_of(folder: Path) -> dict:
    meta = ckpt.read_meta(folder / run.LAST)
    return upgrade_history(meta["history"], meta)


def test_find_runs_lists_every_run_folder_and_nothing_else(sweep):
    assert runs.find_runs([sweep]) == [sweep / "lr" / "seed0", sweep / "lr" / "seed1",
                                       sweep / "other"]
    assert runs.find_runs([sweep / "other"]) == [sweep / "other"]  # a run folder itself


def test_a_summary_is_the_runs_own_figures(sweep):
    folder = sweep / "lr" / "seed1"
    summary = runs.summarise(folder)
    history = history_of(folder)
    plan = json.loads((folder / run.PLAN).read_text())
    assert (summary.model, summary.dataset, summary.seed) == (plan["model"], plan["dataset"], 1)
    assert (summary.epochs_done, summary.epochs_planned) == (2, plan["epochs"])
    val = [a for a in history["val_accuracy"] if a is not None]
    test = [a for a in history["test_accuracy"] if a is not None]
    assert summary.last_val_accuracy == (val[-1] if val else None)
    assert summary.best_val_accuracy == (max(val) if val else None)
    assert summary.test_accuracy == (test[-1] if test else None)
    assert summary.test_accuracy is not None  # the test set is always measured at the end
    walls = [w if w is not None else t for w, t in zip(history["wall_time"],
                                                       history["epoch_time"], strict=True)]
    assert summary.wall_seconds == pytest.approx(sum(walls))
    assert summary.state == "finished"


def test_runs_that_differ_only_by_seed_are_one_row_with_mean_and_sample_sd(sweep):
    groups = runs.collect([sweep])
    assert [len(g.runs) for g in groups] == [2, 1]
    pair = groups[0]
    assert pair.name == "lr/seed0 (2 seeds: 0,1)"
    tests = [runs.summarise(sweep / "lr" / f"seed{s}").test_accuracy for s in (0, 1)]
    mean, sd = pair.mean_sd("test_accuracy")
    assert mean == pytest.approx(statistics.fmean(tests))
    assert sd == pytest.approx(statistics.stdev(tests))
    assert groups[1].mean_sd("test_accuracy")[1] is None  # one run: no sd
    assert [len(g.runs) for g in runs.collect([sweep], by_seed=False)] == [1, 1, 1]


def test_the_state_of_a_run(tmp_path, sweep):
    folder = tmp_path / "r"
    shutil.copytree(sweep / "other", folder)
    assert runs.run_state(folder) == "finished"
    marker = {"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}
    (folder / run.RUNNING).write_text(json.dumps(marker))
    assert runs.run_state(folder) == "running"
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    marker["pid"] = int(gone.stdout)  # a process that has ended: the run was killed
    (folder / run.RUNNING).write_text(json.dumps(marker))
    assert runs.run_state(folder) == "interrupted"
    (folder / run.RUNNING).unlink()
    for reason, state in (("interrupted", "interrupted"), ("diverged", "diverged"),
                          ("early_stopping", "finished")):
        history = json.loads((folder / run.HISTORY).read_text())
        (folder / run.HISTORY).write_text(json.dumps({**history, "stop_reason": reason}))
        assert runs.run_state(folder) == state
    (folder / run.HISTORY).unlink()  # killed before its end, from before running.json
    assert runs.run_state(folder) == "interrupted"
    (folder / run.LAST).write_bytes(b"not a checkpoint")
    assert [g.runs[0].state for g in runs.collect([folder])] == ["unreadable"]


def test_tatamu_runs_prints_a_table_and_csv_on_stdout_only(sweep):
    status, out, err = run_cli("runs", sweep)
    assert (status, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["run", "model", "dataset", "epochs"]
    pair = runs.collect([sweep])[0]
    mean, sd = pair.mean_sd("test_accuracy")
    assert f"{100 * mean:.2f} ± {100 * sd:.2f}" in lines[2]
    assert "2/2" in lines[2] and "finished" in lines[2]
    status, out, err = run_cli("runs", sweep, "--csv", "--each")
    assert (status, err) == (0, "")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [r["name"] for r in rows] == ["lr/seed0", "lr/seed1", "other"]
    for row in rows:
        summary = runs.summarise(Path(row["folders"]))
        assert float(row["test_accuracy"]) == pytest.approx(summary.test_accuracy, abs=1e-6)
        assert row["state"] == "finished" and row["epochs_done"] == "2"


def test_a_folder_that_is_not_there_is_one_line(tmp_path):
    status, out, err = run_cli("runs", tmp_path / "absent")
    assert status == 2 and out == ""
    assert err.startswith("tatamu: error: ") and len(err.splitlines()) == 1
    assert "is not a folder" in err
    status, out, err = run_cli("runs", tmp_path)  # a folder without runs
    assert (status, out) == (0, "") and "no runs" in err


def test_without_a_folder_it_looks_in_runs(tmp_path, monkeypatch, sweep):
    monkeypatch.chdir(tmp_path)
    status, _, err = run_cli("runs")
    assert status == 2 and "no folder runs here" in err and "tatamu runs DIR" in err
    shutil.copytree(sweep / "other", tmp_path / "runs" / "other")
    status, out, err = run_cli("runs")
    assert status == 0 and out.splitlines()[2].startswith("other ")


def test_a_run_from_before_validation_splits_reports_its_test_figures_as_test():
    meta = {"command": ["train", "--epochs", "2"],
            "history": {"epoch": [1, 2], "val_loss": [0.5, 0.4], "val_accuracy": [0.8, 0.9]}}
    history = upgrade_history(meta["history"], meta)
    assert history["test_accuracy"] == [0.8, 0.9] and history["val_accuracy"] == [None, None]
    fit_made = upgrade_history(meta["history"], {})  # fit(): its caller chose the data
    assert fit_made["val_accuracy"] == [0.8, 0.9] and fit_made["test_accuracy"] == [None, None]
    now = upgrade_history(meta["history"], {**meta, "validation": 500})
    assert now["val_accuracy"] == [0.8, 0.9]


def test_show_curves_overlays_runs(sweep, tmp_path):
    status, out, err = run_cli("show", "curves", sweep / "lr" / "seed0", sweep / "lr" / "seed1",
                               sweep / "other", "--out", tmp_path / "three.png")
    assert (status, err) == (0, "") and out.strip() == str(tmp_path / "three.png")
    from PIL import Image

    assert Image.open(tmp_path / "three.png").size == (640, 400)
    status, _, err = run_cli("show", "filters", sweep / "other", sweep / "other")
    assert status == 2 and "unrecognized arguments" in err  # only curves overlays runs
