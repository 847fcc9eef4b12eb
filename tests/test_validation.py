"""The validation split (issue 24, item 3): held out of the training data by the seed, every class
keeping its share; it chooses best.npz and early stopping, and the test set chooses nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from cli_runner import run_cli

from tatamu import Sequential
from tatamu.checkpoint import store as ckpt
from tatamu.errors import ConfigError
from tatamu.layers import Linear, ReLU
from tatamu.optim import Adam
from tatamu.training.loop import fit
from tatamu.training.plan import PlanConflict, TrainingPlan
from tatamu.training.validation import default_size, hold_out


def blobs(n: int, seed: int, classes: int = 3):
    """``n`` points of ``classes`` Gaussian blobs in 6-D, uneven class sizes."""
    rng = np.random.default_rng(seed)
    labels = rng.choice(classes, size=n, p=np.linspace(1, 2, classes) / np.linspace(
        1, 2, classes).sum())
    centres = rng.normal(0, 2, (classes, 6))
    x = (centres[labels] + rng.normal(0, 1.5, (n, 6))).astype(np.float32)
    return x, labels


def test_the_default_is_the_classic_one_in_twelve_and_none_for_tiny_data():
    assert default_size(60_000) == 5_000  # MNIST: 55,000 + 5,000
    assert default_size(3_000) == 250
    assert default_size(120) == 10 and default_size(100) == 0  # under one per class: no split


def test_hold_out_is_stratified_seeded_and_disjoint():
    x, labels = blobs(503, seed=1)
    (xt, yt), (xv, yv) = hold_out(x, labels, 50, seed=7)
    assert len(xv) == 50 and len(xt) == 453
    # every class keeps its share: floor(50 * n_c / n) or one more (largest remainders)
    for c in range(3):
        share = 50 * np.sum(labels == c) / len(labels)
        assert np.floor(share) <= np.sum(yv == c) <= np.ceil(share)
    # disjoint, together the whole set, in the data's order
    rows = {tuple(r) for r in x}
    assert {tuple(r) for r in xt} | {tuple(r) for r in xv} == rows
    assert not {tuple(r) for r in xt} & {tuple(r) for r in xv}
    index = {tuple(r): i for i, r in enumerate(x)}
    assert np.all(np.diff([index[tuple(r)] for r in xv]) > 0)
    # the seed fixes it; another seed holds out others
    np.testing.assert_array_equal(hold_out(x, labels, 50, seed=7)[1][0], xv)
    assert not np.array_equal(hold_out(x, labels, 50, seed=8)[1][0], xv)
    with pytest.raises(ConfigError, match="every one of the 503"):
        hold_out(x, labels, 503, seed=0)


def _train(folder, test_data, **kwargs):
    x, labels = blobs(300, seed=2)
    (xt, yt), val = hold_out(x, labels, 60, seed=0)
    model = Sequential([Linear(6, 16, rng=0), ReLU(), Linear(16, 3, rng=1)], (6,))
    history = fit(model, (xt, yt), val, test_data=test_data, epochs=6, batch_size=20,
                  optimizer=Adam(lr=0.05), progress=False, checkpoint_dir=folder, **kwargs)
    return model, history


def test_the_test_set_chooses_nothing(tmp_path):
    """Two runs alike but for their test sets (one with its labels scrambled) choose the same
    best epoch, stop at the same epoch and reach the same weights: only test_* differ."""
    x, labels = blobs(200, seed=3)
    scrambled = (x, np.roll(labels, 1))
    runs = [_train(tmp_path / name, test, test_every_epoch=True, early_stopping=2)
            for name, test in (("a", (x, labels)), ("b", scrambled))]
    (model_a, a), (model_b, b) = runs
    assert a.epoch == b.epoch and a.val_accuracy == b.val_accuracy
    assert a.stop_reason == b.stop_reason
    assert a.test_accuracy != b.test_accuracy  # the test sets did differ, and were measured
    for key, value in model_a.params().items():
        np.testing.assert_array_equal(model_b.params()[key], value)
    best_a, best_b = (ckpt.read(tmp_path / n / "best.npz").meta["history"]["epoch"][-1]
                      for n in "ab")
    assert best_a == best_b == int(np.argmax(a.val_accuracy)) + 1


def test_the_test_set_is_measured_at_the_end_unless_asked_every_epoch(tmp_path):
    x, labels = blobs(200, seed=3)
    _, history = _train(tmp_path / "end", (x, labels))
    assert history.test_accuracy[:-1] == [None] * 5 and history.test_accuracy[-1] is not None
    assert all(a is not None for a in history.val_accuracy)
    _, every = _train(tmp_path / "every", (x, labels), test_every_epoch=True)
    assert all(a is not None for a in every.test_accuracy)
    assert every.test_accuracy[-1] == history.test_accuracy[-1]  # the same weights, measured


def test_early_stopping_without_a_validation_split_is_refused(tmp_path):
    x, labels = blobs(100, seed=4)
    model = Sequential([Linear(6, 3, rng=0)], (6,))
    with pytest.raises(ConfigError, match="watches the validation loss"):
        fit(model, (x, labels), None, test_data=(x, labels), epochs=2, batch_size=10,
            optimizer=Adam(), early_stopping=1, progress=False)
    with pytest.raises(ConfigError, match="validation=0 holds none out"):
        TrainingPlan(validation=0, early_stopping=2)
    status, out, err = run_cli("train", "--limit", "100", "--validation", "0",
                               "--early-stopping", "2", "--out", tmp_path / "r")
    assert status == 2 and len(err.splitlines()) == 1
    assert "--early-stopping 2 watches the validation loss, and --validation 0" in err
    assert not (tmp_path / "r").exists()  # refused before any folder is made
    status, _, err = run_cli("train", "--limit", "100", "--validation", "100",
                             "--out", tmp_path / "r")
    assert status == 2 and "--validation 100 would hold out every one of the --limit 100" in err


def test_the_plan_records_the_split_and_resume_keeps_it(tmp_path):
    folder = tmp_path / "r"
    args = ["--limit", "150", "--test-limit", "40", "--batch-size", "30", "--threads", "1",
            "--quiet"]
    status, _, err = run_cli("train", *args, "--epochs", "1", "--validation", "30",
                             "--out", folder)
    assert status == 0, err
    plan = json.loads((folder / "plan.json").read_text())
    assert (plan["validation"], plan["test_every_epoch"]) == (30, False)
    assert ckpt.read_meta(folder / "last.npz")["validation"] == 30
    status, _, err = run_cli("train", "--resume", folder, "--validation", "20")
    assert status == 2 and "--validation 30" in err and "--validation 20" in err
    status, _, err = run_cli("train", "--resume", folder, "--test-every-epoch")
    assert status == 2 and "the run was started without --test-every-epoch;" in err
    status, _, err = run_cli("train", "--resume", folder, "--epochs", "2", "--quiet")
    assert status == 0, err
    history = json.loads((folder / "history.json").read_text())
    assert history["epoch"] == [1, 2] and None not in history["val_accuracy"]
    # each epoch's figure is on the same 30 images: a multiple of 1/30
    assert all(abs(a * 30 - round(a * 30)) < 1e-9 for a in history["val_accuracy"])


def test_a_plan_from_before_validation_splits_continues_as_it_was_started():
    old = TrainingPlan(epochs=2).to_json()
    for key in ("validation", "test_every_epoch"):
        del old[key]
    plan = TrainingPlan.from_json(old)
    assert (plan.validation, plan.test_every_epoch) == (0, True)
    with pytest.raises(ConfigError, match="early stopping watched the test set"):
        TrainingPlan.from_json({**old, "early_stopping": 2})
    with pytest.raises(PlanConflict, match="validation"):
        plan.continued_with({"validation": 500})


def _as_before_validation_splits(folder):
    """Make a run folder look as tatamu train left it before validation splits: no plan.json,
    no "validation" in last.npz, the test set's figures recorded as val_*."""
    (folder / "plan.json").unlink()
    path = folder / "last.npz"
    with np.load(path) as archive:
        arrays = dict(archive)
    meta = json.loads(arrays["meta"].tobytes())
    for key in ("validation", "test_every_epoch"):
        meta.pop(key)
    at = meta["command"].index("--validation")  # an option that did not exist then
    del meta["command"][at : at + 2]
    history = meta["history"]
    history["val_loss"], history["val_accuracy"] = history.pop("test_loss"), history.pop(
        "test_accuracy")
    for key in ("wall_time",):
        history.pop(key)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    return history


def test_a_run_from_before_validation_splits_resumes_as_it_was_started(tmp_path):
    folder = tmp_path / "old"
    status, _, err = run_cli("train", "--limit", "150", "--test-limit", "40", "--batch-size",
                             "30", "--epochs", "1", "--validation", "0", "--threads", "1",
                             "--quiet", "--out", folder)
    assert status == 0, err
    old = _as_before_validation_splits(folder)
    (folder / "history.json").unlink()
    status, out, err = run_cli("runs", tmp_path, "--csv")
    assert status == 0 and float(out.splitlines()[1].split(",")[11]) == pytest.approx(
        old["val_accuracy"][0], abs=1e-6)  # listed as test accuracy
    status, _, err = run_cli("train", "--resume", folder, "--epochs", "2", "--quiet")
    assert status == 0, err
    plan = json.loads((folder / "plan.json").read_text())
    assert (plan["validation"], plan["test_every_epoch"]) == (0, True)  # as it was started
    history = json.loads((folder / "history.json").read_text())
    assert history["test_accuracy"][0] == old["val_accuracy"][0]  # what it was: the test set
    assert history["val_accuracy"] == [None, None] and history["test_accuracy"][1] is not None
