"""``tatamu train --resume``: a run continues the plan it was started with (issue 12, item 2).

The plan (model, dataset, epochs, batch size, optimizer, seed, limits, threads...) is saved in
the run folder; resuming needs only the folder, ends at the planned epoch with the weights an
uninterrupted run reaches (computed here, on this machine), refuses an option that contradicts
the plan, extends a run given more epochs, and leaves a finished run untouched. Tiny runs: 100
MNIST images (MNIST-1D signals in the subprocess test), batches of 25, two threads fixed so
every run does the same arithmetic.
"""

from __future__ import annotations

import json
import shlex
import shutil
import signal
from pathlib import Path

import pytest
from cli_runner import run_cli
from test_robustness_kill import assert_same_run, final_state, finish, start, wait_for

from tatamu.checkpoint import store as checkpoint
from tatamu.training.plan import PlanConflict, TrainingPlan

TINY = ["--limit", "100", "--test-limit", "50", "--batch-size", "25", "--threads", "2"]


def files_state(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``folder`` (epochs/ too): its bytes and modification time."""
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file()}


def one_error_line(err: str, *phrases: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("tatamu: error: "), err
    for phrase in phrases:
        assert phrase in lines[0], lines[0]
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    """A finished one-epoch run."""
    folder = tmp_path_factory.mktemp("finished") / "run"
    status, _, err = run_cli("train", *TINY, "--epochs", "1", "--no-progress", "--out", folder)
    assert status == 0, err
    return folder


def copy_of(folder: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(folder, copy)
    return copy


# -- the plan ------------------------------------------------------------------------------------
def test_the_run_folder_remembers_the_plan(finished):
    plan = json.loads((finished / "plan.json").read_text())
    assert plan["model"] == "simple" and plan["dataset"] == "mnist"
    assert (plan["epochs"], plan["batch_size"], plan["limit"], plan["test_limit"]) == (1, 25, 100,
                                                                                       50)
    assert (plan["optimizer"], plan["seed"], plan["threads"], plan["schedule"]) == ("adam", 0, 2,
                                                                                    "none")
    # 100 training images hold out no validation split by default (1 in 12 is under 10)
    assert (plan["validation"], plan["test_every_epoch"]) == (0, False)
    assert TrainingPlan.from_json(plan) == TrainingPlan(epochs=1, batch_size=25, limit=100,
                                                        test_limit=50, threads=2, validation=0)


def test_the_plan_refuses_what_contradicts_it_and_extends_with_more_epochs():
    plan = TrainingPlan(epochs=3, schedule="cosine", lr=0.01)
    assert plan.continued_with({"epochs": 3, "lr": 0.01}) == plan
    longer = plan.continued_with({"epochs": 6})
    assert longer.epochs == 6 and longer.schedule_epochs == 3  # the schedule keeps its span
    assert plan.build_schedule(plan.build_optimizer()).T_max == 3
    for given in ({"epochs": 2}, {"lr": 0.1}, {"seed": 1}, {"model": "lenet5"}):
        with pytest.raises(PlanConflict) as info:
            plan.continued_with(given)
        assert info.value.name in given and info.value.given == next(iter(given.values()))
    with pytest.raises(PlanConflict, match=r"weight_decay=0.5"):
        plan.continued_with({"weight_decay": 0.5})  # planned without: "started without"


def test_the_plan_keeps_the_data_folder_absolute_so_a_resume_elsewhere_finds_it(tmp_path,
                                                                               monkeypatch):
    monkeypatch.chdir(tmp_path)
    plan = TrainingPlan(data_root="data")
    assert plan.data_root == str(tmp_path / "data")
    assert plan.continued_with({"data_root": "./data"}) == plan  # the same folder, said again
    with pytest.raises(PlanConflict, match="data_root"):
        plan.continued_with({"data_root": "other"})


def test_the_plan_decides_the_model_for_the_dataset_and_refuses_a_misfit():
    assert TrainingPlan(dataset="mnist1d").model == "conv1d"
    assert TrainingPlan().model == "simple"
    with pytest.raises(ValueError, match="does not fit"):
        TrainingPlan(model="conv1d", dataset="mnist")
    assert TrainingPlan(epochs=9, schedule="step").build_schedule(
        TrainingPlan().build_optimizer()).step_size == 3


# -- resuming through the CLI --------------------------------------------------------------------
def test_ctrl_c_mid_epoch_then_resume_by_folder_alone_reaches_the_uninterrupted_weights(
        tmp_path):
    argv = ["train", "--dataset", "mnist1d", *TINY, "--epochs", "3", "--no-progress"]
    straight = tmp_path / "straight"
    status, _, err = finish(start("cli", *argv, "--out", straight))
    assert status == 0, err

    folder = tmp_path / "run"
    proc = start("cli", *argv, "--out", folder, step_sleep=0.05)
    wait_for(proc, lambda: (folder / "last.npz").exists(), "the first last.npz")
    proc.send_signal(signal.SIGINT)  # honoured after the next step: inside epoch 2
    status, _, err = finish(proc)
    assert status == 130, err
    position = checkpoint.read(folder / "last.npz").meta["train_state"]["position"]
    assert position["epoch"] == 2 and position["batch"] >= 1, position  # mid-epoch
    last = err.splitlines()[-1]
    assert last.startswith("tatamu: interrupted during epoch 2;"), err
    assert "resume=True" not in last
    command = last.split("To continue, type: ")[1]
    assert shlex.split(command) == ["tatamu", "train", "--resume", str(folder)]

    status, out, err = finish(start("cli", *shlex.split(command)[1:]))  # exactly what it said
    assert status == 0, err
    assert "after 3 epochs" in out
    assert_same_run(final_state(straight), final_state(folder))


def test_resuming_a_finished_run_says_so_and_changes_nothing(finished):
    before = files_state(finished)
    for argv in (["--resume", finished], ["--out", finished, "--resume"],
                 ["--resume", finished, "--epochs", "1", "--batch-size", "25"]):
        status, out, err = run_cli("train", *argv)
        assert status == 0, err
        assert "is finished: 1 of 1 epochs trained" in out and "nothing was changed" in out
        assert f"tatamu train --resume {finished} --epochs 2" in out
        assert files_state(finished) == before  # bytes and modification times


@pytest.mark.parametrize(("option", "value", "planned"), [
    ("--batch-size", "20", "--batch-size 25"), ("--epochs", "0", None),
    ("--lr", "0.01", "without --lr"), ("--model", "lenet5", "--model simple"),
    ("--limit", "200", "--limit 100"), ("--seed", "3", "--seed 0"),
    ("--threads", "1", "--threads 2")])
def test_an_option_that_contradicts_the_plan_is_refused_naming_both_values(finished, option,
                                                                           value, planned):
    before = files_state(finished)
    status, _, err = run_cli("train", "--resume", finished, option, value)
    assert status == 2
    if planned is not None:
        one_error_line(err, planned, f"{option} {value}", "contradicts")
    assert files_state(finished) == before


def test_fewer_epochs_than_planned_is_refused_with_the_way_to_extend(tmp_path, finished):
    folder = copy_of(finished, tmp_path)
    status, _, err = run_cli("train", "--resume", folder, "--epochs", "2")
    assert status == 0, err
    before = files_state(folder)
    status, _, err = run_cli("train", "--resume", folder, "--epochs", "1")
    assert status == 2
    one_error_line(err, "--epochs 2", "--epochs 1", "more than 2 epochs")
    assert files_state(folder) == before


def test_more_epochs_extend_a_finished_run_to_the_weights_of_a_longer_run(tmp_path, finished):
    folder = copy_of(finished, tmp_path)
    status, out, err = run_cli("train", "--resume", folder, "--epochs", "2", "--no-progress")
    assert status == 0, err
    assert "after 2 epochs" in out
    assert json.loads((folder / "plan.json").read_text())["epochs"] == 2
    history = json.loads((folder / "history.json").read_text())
    assert history["epoch"] == [1, 2] and history["stop_reason"] == "completed"
    straight = tmp_path / "straight"
    status, _, err = run_cli("train", *TINY, "--epochs", "2", "--quiet", "--out", straight)
    assert status == 0, err
    assert_same_run(final_state(straight), final_state(folder))


def test_a_run_folder_from_before_plan_json_resumes_by_its_recorded_command(tmp_path, finished):
    folder = copy_of(finished, tmp_path)
    (folder / "plan.json").unlink()
    status, out, err = run_cli("train", "--resume", folder, "--epochs", "2", "--quiet")
    assert status == 0, err
    plan = json.loads((folder / "plan.json").read_text())
    assert (plan["epochs"], plan["limit"], plan["batch_size"]) == (2, 100, 25)


def test_a_run_stopped_before_its_first_checkpoint_resumes_by_starting_its_plan(tmp_path,
                                                                              finished):
    folder = copy_of(finished, tmp_path)
    for name in ("last.npz", "best.npz", "history.json", "curves.png"):
        (folder / name).unlink(missing_ok=True)  # (no best.npz: nothing held out to choose by)
    status, out, err = run_cli("train", "--resume", folder, "--no-progress")
    assert status == 0, err
    assert "starting its plan" in err and "after 1 epoch" in out
    assert_same_run(final_state(finished), final_state(folder))


def test_resume_needs_a_run_and_names_one_folder(tmp_path, finished):
    status, _, err = run_cli("train", "--resume", tmp_path / "nothing")
    assert status == 2
    one_error_line(err, "nothing to resume", "without --resume")
    status, _, err = run_cli("train", "--resume", finished, "--out", tmp_path / "other")
    assert status == 2
    one_error_line(err, "two runs")


# -- what a run prints ---------------------------------------------------------------------------
def test_no_progress_prints_one_line_per_epoch_and_quiet_prints_nothing(tmp_path):
    status, out, err = run_cli("train", *TINY, "--epochs", "2", "--no-progress",
                               "--out", tmp_path / "a")
    assert status == 0, err
    epochs = [line for line in err.splitlines() if line.startswith("epoch ")]
    assert [line.split(":")[0] for line in epochs] == ["epoch 1/2", "epoch 2/2"]
    # no validation split (100 images): no val_ figures; the test set measured at the end only
    assert not any("val_acc" in line for line in epochs)
    assert "test_acc" in epochs[-1] and "test_acc" not in epochs[0]
    status, out, err = run_cli("train", *TINY, "--epochs", "1", "--quiet", "--out", tmp_path / "b")
    assert (status, out, err) == (0, "", "")


def test_help_gives_every_option_its_meaning_and_default():
    status, out, _ = run_cli("train", "--help")
    assert status == 0
    text = " ".join(out.split())
    for phrase in ("--epochs N passes over the training set (default: 5)",
                   "--batch-size N samples per training step (default: 100)",
                   "(default: adam)", "(default: none)", "(default: 0)", "--resume [RUN_DIR]",
                   "--quiet", "extends the run"):
        assert phrase in text, phrase
    options = [word for word in out.split() if word.startswith("--")]
    assert {"--model", "--dataset", "--lr", "--limit", "--threads", "--data-root"} <= set(options)


def test_a_damaged_plan_is_one_line_and_changes_nothing(tmp_path, finished):
    folder = copy_of(finished, tmp_path)
    for text, phrase in (("{not json", "not readable JSON"), ('{"epochs": "five"}', "damaged"),
                         ('{"colour": "red"}', "colour"), ("[1, 2]", "not the run's plan")):
        (folder / "plan.json").write_text(text)
        before = files_state(folder)
        status, _, err = run_cli("train", "--resume", folder, "--epochs", "3")
        assert status == 2
        one_error_line(err, phrase)
        assert files_state(folder) == before
