"""``tatamu sweep``: seeds and recipes read, one run folder per (command, seed) trained side by
side, the table's mean ± sd (recomputed here from each run's history), a rerun that skips
finished runs and resumes interrupted ones, ``make reproduce``'s recipe, and mistakes refused
before anything is trained."""

from __future__ import annotations

import json
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_runner import run_cli

from tatamu.errors import ConfigError
from tatamu.training.sweep import load_recipe, parse_seeds

ROOT = Path(__file__).parents[1]
TINY = ["--epochs", "1", "--limit", "300", "--test-limit", "100", "--batch-size", "50"]


@pytest.mark.parametrize("text, seeds", [("0-2", (0, 1, 2)), ("0,3,5", (0, 3, 5)),
                                         ("0-1,4", (0, 1, 4)), ("7", (7,))])
def test_seeds_are_numbers_and_ranges(text, seeds):
    assert parse_seeds(text) == seeds


@pytest.mark.parametrize("text", ["2-0", "a", "0-", "-1"])
def test_bad_seeds_are_refused(text):
    with pytest.raises(ConfigError, match="give numbers and ranges"):
        parse_seeds(text)


def test_a_recipe_names_commands_with_their_seeds_and_reads_the_environment(tmp_path,
                                                                              monkeypatch):
    monkeypatch.setenv("DATA_HERE", "/data/fashion")
    recipe = tmp_path / "r.toml"
    recipe.write_text('seeds = "0-1"\n[[command]]\nname = "a"\ntrain = "--epochs 2"\n'
                      '[[command]]\nname = "b"\ntrain = "--data-root ${DATA_HERE}"\n'
                      'seeds = "5"\n')
    a, b = load_recipe(recipe)
    assert (a.name, a.options, a.seeds) == ("a", ("--epochs", "2"), (0, 1))
    assert (b.name, b.options, b.seeds) == ("b", ("--data-root", "/data/fashion"), (5,))


@pytest.mark.parametrize("text, words", [
    ('[[command]]\nname = "a"\ntrain = "--root ${NOT_SET_ANYWHERE}"\n', "NOT_SET_ANYWHERE"),
    ('[[command]]\nname = "a"\n[[command]]\nname = "a"\n', "must be unique"),
    ('[[command]]\nname = "a"\ntrain = "--seed 3"\n', "--seed is the sweep's to set"),
    ('[[command]]\nname = "../up"\n', "must be unique, of letters"),
    ('seeds = "0"\n', "needs [[command]] tables"),
])
def test_a_bad_recipe_is_one_line(tmp_path, text, words):
    recipe = tmp_path / "r.toml"
    recipe.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_recipe(recipe)
    assert words in str(caught.value) and "\n" not in str(caught.value)


def last_accuracy(folder: Path) -> float:
    """The test accuracy after the run's last epoch, from its history.json."""
    return json.loads((folder / "history.json").read_text())["test_accuracy"][-1]


def test_a_sweep_of_two_seeds_trains_two_runs_and_prints_their_mean_and_sd(tmp_path):
    out = tmp_path / "sweep"
    status, table, err = run_cli("sweep", "--seeds", "0-1", "--out", out, "--jobs", "2",
                                 "--no-progress", "--", *TINY)
    assert status == 0, err
    accuracies = [100 * last_accuracy(out / f"seed-{s}") for s in (0, 1)]
    mean, sd = statistics.fmean(accuracies), statistics.stdev(accuracies)
    row = table.splitlines()[2]  # tatamu runs' table: the header, a rule, then the row
    assert row.startswith("seed-0 (2 seeds: 0,1)") and f"{mean:.2f} ± {sd:.2f}" in row
    for seed in (0, 1):  # each run is tatamu train's, with its seed and one thread
        plan = json.loads((out / f"seed-{seed}" / "plan.json").read_text())
        assert (plan["seed"], plan["threads"], plan["epochs"]) == (seed, 1, 1)
        assert "epoch 1/1" in (out / "logs" / f"seed-{seed}.log").read_text()
    # rerun: nothing left to train; one more seed: only it
    status, _, err = run_cli("sweep", "--seeds", "0-1", "--out", out, "--no-progress", "--",
                             *TINY)
    assert status == 0 and "0 run(s) trained now, 2 already finished" in err
    status, table, err = run_cli("sweep", "--seeds", "0-2", "--out", out, "--no-progress",
                                 "--", *TINY)
    assert status == 0 and "1 run(s) trained now, 2 already finished" in err
    assert "(3 seeds: 0,1,2)" in table


def test_other_options_in_the_same_folder_are_refused(tmp_path):
    out = tmp_path / "sweep"
    assert run_cli("sweep", "--out", out, "--no-progress", "--", *TINY)[0] == 0
    status, _, err = run_cli("sweep", "--out", out, "--", *TINY, "--lr", "0.01")
    assert status == 2 and "choose another --out" in err


@pytest.mark.parametrize("options, words", [
    (["--seed", "3"], "--seed is the sweep's to set"),
    (["--epochs", "zero"], "expected a whole number"),
    (["--model", "conv1d"], "mnist1d"),  # the plan's own check, before any run starts
])
def test_bad_training_options_are_refused_before_anything_is_written(tmp_path, options, words):
    out = tmp_path / "sweep"
    status, _, err = run_cli("sweep", "--seeds", "0-1", "--out", out, "--", *options)
    assert status == 2 and words in err, err
    assert not out.exists()


def test_a_folder_of_other_files_is_refused(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    status, _, err = run_cli("sweep", "--out", tmp_path, "--", *TINY)
    assert status == 2 and "did not write" in err
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_ctrl_c_saves_each_run_and_a_rerun_resumes_them(tmp_path):
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "tatamu", "sweep", "--seeds", "0-1", "--out", str(out),
               "--jobs", "2", "--no-progress", "--", "--epochs", "3", "--limit", "2000",
               "--test-limit", "100"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "seed-0" / "last.npz").exists() and time.monotonic() < deadline:
        time.sleep(0.2)  # the first epoch's checkpoint: a run under way
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "run the same command again" in err
    histories = [json.loads((out / f"seed-{s}" / "history.json").read_text()) for s in (0, 1)]
    assert all(h["stop_reason"] == "interrupted" for h in histories)
    status, table, err = run_cli("sweep", "--dry-run", "--seeds", "0-1", "--out", out, "--",
                                 "--epochs", "3", "--limit", "2000", "--test-limit", "100")
    assert [line.split()[1] for line in table.splitlines()] == ["resume", "resume"]
    status, table, err = run_cli("sweep", "--seeds", "0-1", "--out", out, "--no-progress",
                                 "--", "--epochs", "3", "--limit", "2000", "--test-limit",
                                 "100")
    assert status == 0 and "2 run(s) trained now" in err
    for seed in (0, 1):
        history = json.loads((out / f"seed-{seed}" / "history.json").read_text())
        assert history["epoch"] == [1, 2, 3] and history["stop_reason"] != "interrupted"
        log = (out / "logs" / f"seed-{seed}.log").read_text()
        assert log.count("=== ") == 2 and "--resume" in log  # the start, then the resume


def test_make_reproduces_recipe_reads_and_every_command_passes_trains_checks(tmp_path,
                                                                           monkeypatch):
    monkeypatch.setenv("FASHION_ROOT", str(tmp_path / "fashion"))
    status, out, err = run_cli("sweep", "--recipe", ROOT / "scripts" / "reproduce.toml",
                               "--out", tmp_path / "reproduce", "--dry-run")
    assert status == 0, err
    lines = out.splitlines()
    assert len(lines) == sum(len(c.seeds) for c in load_recipe(
        ROOT / "scripts" / "reproduce.toml"))
    assert all(" new " in line and "tatamu train" in line for line in lines)
    assert "--recipe scripts/reproduce.toml" in (ROOT / "Makefile").read_text()


@pytest.mark.slow
def test_a_sweep_on_a_dask_cluster_gives_the_same_table(tmp_path):
    sys.path.insert(0, str(Path(__file__).parent / "grading"))
    from dask_cluster import local_cluster

    local, remote = tmp_path / "local", tmp_path / "remote"
    status, table_local, err = run_cli("sweep", "--seeds", "0-1", "--out", local,
                                       "--no-progress", "--", *TINY)
    assert status == 0, err
    with local_cluster(tmp_path, workers=1, threads=2) as address:
        status, table_remote, err = run_cli("sweep", "--seeds", "0-1", "--out", remote,
                                            "--cluster", address, "--no-progress", "--",
                                            *TINY)
    assert status == 0, err
    for seed in (0, 1):
        assert last_accuracy(local / f"seed-{seed}") == last_accuracy(remote / f"seed-{seed}")
    columns = table_local.splitlines()[0]
    test_acc = slice(columns.index("test acc"), columns.index("wall time"))
    assert [line[test_acc] for line in table_local.splitlines()] == \
        [line[test_acc] for line in table_remote.splitlines()]
