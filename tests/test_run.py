"""The run folder (tatamu.run): file names, creation, resolving a checkpoint, the training
state read back field by field, and how library messages name parameters (errors.Name/Fix)."""

from __future__ import annotations

import doctest
import math

import numpy as np
import pytest
import tatamu.explain

import tatamu.errors
from tatamu import Sequential
from tatamu.cli.flags import cli_message, write_fix
from tatamu.errors import CheckpointError, ConfigError, Fix, Name
from tatamu.layers import Linear
from tatamu.optim import Adam
from tatamu.training import run
from tatamu.training.history import HISTORY_LISTS
from tatamu.training.loop import fit
from tatamu.training.saved import check_resumable, read_saved_run
from tatamu.training.state import TrainState


def tiny_run(folder, epochs=1):
    rng = np.random.default_rng(0)
    x, y = rng.random((12, 4), dtype=np.float32), rng.integers(0, 3, 12)
    model = Sequential([Linear(4, 3, rng=0)], (4,))
    fit(model, (x, y), (x, y), epochs=epochs, batch_size=5, optimizer=Adam(), progress=False,
        checkpoint_dir=folder)
    return model


def test_the_doctests_of_errors_and_the_size_formula_hold():
    for module in (tatamu.errors, tatamu.explain):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0, module.__name__


def test_a_message_names_a_parameter_as_python_or_as_the_command_line_does():
    assert Fix("lr", 0.5).python() == "lr=0.5"
    assert Name("lr").python() == "lr" and Name("lr", 0.5).python() == "lr=0.5"
    assert Name("out", words="run folder").python() == "run folder"
    assert write_fix(Name("lr", 0.5)) == "--lr 0.5" and write_fix(Name("lr")) == "--lr"
    assert write_fix(Name("out", words="run folder"), {"--out"}) == "--out"
    # a command without the option keeps the Python words
    assert write_fix(Name("out", words="run folder"), {"--lr"}) == "run folder"
    assert write_fix(Name("early_stopping", 3), {"--early-stopping"}) == "--early-stopping 3"
    assert write_fix(Fix("num_train", 12, words="the same 12 samples"), {"--limit"}) == "--limit 12"
    assert write_fix(Fix("no_such_parameter", 1)) == "no_such_parameter=1"
    # one parameter, spelled differently by two commands: the running command's own option
    assert write_fix(Name("channels"), {"--channel"}) == "--channel"
    assert write_fix(Name("channels"), {"--channels"}) == "--channels"
    error = ConfigError("the run was started with ", Name("batch_size", 25), "; ",
                        Name("batch_size", 20), " contradicts its plan")
    assert str(error) == ("the run was started with batch_size=25; batch_size=20 contradicts "
                          "its plan")
    assert cli_message(error, {"--batch-size"}) == (
        "the run was started with --batch-size 25; --batch-size 20 contradicts its plan")


def test_a_run_folder_holds_the_files_it_names(tmp_path):
    tiny_run(tmp_path / "r")
    names = {p.name for p in (tmp_path / "r").iterdir()}
    assert names - {run.INITIAL, run.LAST, run.BEST, run.METRICS, run.EPOCHS} == {
        n for n in names if n.startswith(run.EVENTS_PREFIX)}
    assert all(run.is_run_file(name) for name in names)
    assert set(run.FILES) >= {run.PLAN, run.HISTORY, run.CURVES}
    assert list(run.epoch_files(tmp_path / "r")) == [0, 1]
    assert run.resolve_checkpoint(tmp_path / "r") == tmp_path / "r" / run.BEST
    (tmp_path / "r" / run.BEST).unlink()
    assert run.resolve_checkpoint(tmp_path / "r") == tmp_path / "r" / run.LAST
    assert run.resolve_checkpoint(tmp_path / "r" / run.INITIAL) == tmp_path / "r" / run.INITIAL
    with pytest.raises(ConfigError, match="no checkpoint file at"):
        run.resolve_checkpoint(tmp_path / "absent.npz")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="without best.npz or last.npz"):
        run.resolve_checkpoint(tmp_path / "empty")


def test_create_refuses_a_file_and_a_folder_in_use_and_touches_nothing(tmp_path):
    assert run.create(tmp_path / "new" / "run").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        run.create(tmp_path / "file")
    (tmp_path / "used").mkdir()
    (tmp_path / "used" / "notes.txt").write_text("mine")
    with pytest.raises(run.RunFolderExists) as info:
        run.create(tmp_path / "used")
    assert info.value.folder == tmp_path / "used"
    assert [p.name for p in (tmp_path / "used").iterdir()] == ["notes.txt"]
    assert run.create(tmp_path / "used", reuse=True) == tmp_path / "used"
    assert run.default_folder("simple", "mnist").parent.name == "runs"


def test_the_training_state_round_trips_and_damage_is_named():
    state = TrainState(seed=3, epoch=2, batch=4, best_val_accuracy=0.5, bad_epochs=1,
                           partial={"loss": 1.0, "correct": 3, "seen": 8, "time": 0.1},
                           batch_size=5, num_train=12, threads=2)
    document = state.to_json()
    assert document["position"] == {"epoch": 2, "batch": 4}
    assert document["best_val_loss"] is None  # inf is not JSON
    back = TrainState.from_json(document)
    assert back == state and math.isinf(back.best_val_loss)
    for damage, error in [({"position": {"epoch": 0, "batch": 0}}, ValueError),
                          ({"position": {"epoch": 1.5, "batch": 0}}, ValueError),
                          ({"seed": "zero"}, TypeError), ({"threads": 0}, ValueError),
                          ({"partial": {"loss": None}}, (KeyError, TypeError)),
                          ({"rng_states": [1]}, TypeError)]:
        with pytest.raises(error):
            TrainState.from_json({**document, **damage})


def test_a_saved_run_says_where_it_stands_and_restores_in_one_call(tmp_path):
    model = tiny_run(tmp_path / "r", epochs=2)
    saved = read_saved_run(tmp_path / "r")
    state = saved.state
    assert (state.epoch, state.batch, state.batch_size, state.num_train) == (3, 0, 5, 12)
    assert saved.history["epoch"] == [1, 2]
    for absent in (read_saved_run, check_resumable):
        with pytest.raises(CheckpointError, match="nothing to resume"):
            absent(tmp_path / "nothing")
    before = {k: v.copy() for k, v in model.params().items()}
    fresh = Sequential([Linear(4, 3, rng=9)], (4,))
    history, state = saved.restore(fresh, Adam(), None, batch_size=5, num_train=12)
    assert history.epoch == [1, 2] and history.stop_reason == "completed"
    for key, value in before.items():
        np.testing.assert_array_equal(fresh.params()[key], value)


def test_the_history_lists_are_one_fact():
    from dataclasses import fields

    from tatamu.training.loop import History

    lists = tuple(f.name for f in fields(History) if f.type.startswith("list"))
    assert lists == HISTORY_LISTS
