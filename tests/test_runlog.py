"""What a run writes for other tools (issue 24, items 1-2): metrics.csv, TensorBoard event files
read back by TensorBoard's own reader, and a checkpoint per epoch.

The module fixture is the check run outside the project:
``tatamu train --limit 3000 --test-limit 500 --epochs 2 --validation 500 --out RUN``."""

from __future__ import annotations

import csv
import io
import json
import math
import struct

import numpy as np
import pytest
from cli_runner import run_cli
from PIL import Image

from tatamu import Sequential
from tatamu.checkpoint import store as ckpt
from tatamu.layers import Conv2D, Flatten, Linear, ReLU
from tatamu.optim import Adam
from tatamu.training import run, runs, tensorboard
from tatamu.training.loop import fit
from tatamu.training.runlog import COLUMNS

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator")

CHECK = ["--limit", "3000", "--test-limit", "500", "--epochs", "2", "--validation", "500"]


def read_events(folder):
    acc = event_accumulator.EventAccumulator(str(folder), size_guidance={
        event_accumulator.SCALARS: 0, event_accumulator.IMAGES: 0})
    acc.Reload()
    return acc


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    folder = tmp_path_factory.mktemp("check") / "RUN"
    status, out, err = run_cli("train", *CHECK, "--out", folder, "--quiet")
    assert status == 0, err
    return folder


def test_crc32c_and_the_png_encoder_agree_with_their_standards():
    assert tensorboard.crc32c(b"123456789") == 0xE3069283  # the CRC-32C check value
    assert tensorboard.crc32c(b"") == 0
    frame = tensorboard.tfrecord(b"abc")
    length, = struct.unpack("<Q", frame[:8])
    assert length == 3 and frame[12:15] == b"abc" and len(frame) == 8 + 4 + 3 + 4
    rng = np.random.default_rng(0)
    for pixels in (rng.integers(0, 256, (5, 7), dtype=np.uint8),
                   rng.integers(0, 256, (4, 3, 3), dtype=np.uint8)):
        decoded = np.asarray(Image.open(io.BytesIO(tensorboard.png(pixels))))
        np.testing.assert_array_equal(decoded, pixels)


def test_the_filter_grid_is_each_filter_scaled_to_its_own_range():
    weights = np.arange(2 * 1 * 2 * 2, dtype=np.float32).reshape(2, 1, 2, 2)
    grid = tensorboard.filter_grid(weights, scale=1, gap=1)
    assert grid.shape == (2, 5)
    np.testing.assert_array_equal(grid[:, :2], [[0, 85], [170, 255]])
    np.testing.assert_array_equal(grid[:, 3:], [[0, 85], [170, 255]])
    assert tensorboard.filter_grid(np.ones((3, 2, 5)), scale=2).shape == (2, 34)  # 1-D filters


def test_metrics_csv_has_a_row_per_epoch_from_the_history(checked):
    history = json.loads((checked / run.HISTORY).read_text())
    rows = list(csv.DictReader(io.StringIO((checked / run.METRICS).read_text())))
    assert list(rows[0]) == list(COLUMNS)
    assert [int(r["epoch"]) for r in rows] == history["epoch"] == [1, 2]
    steps_per_epoch = math.ceil((3000 - 500) / 100)  # 2,500 training images, batches of 100
    assert [int(r["step"]) for r in rows] == [steps_per_epoch, 2 * steps_per_epoch]
    for column, key in COLUMNS.items():
        if key is None:
            continue
        for row, value in zip(rows, history[key], strict=True):
            assert row[column] == ("" if value is None else repr(float(value))
                                   if column != "epoch" else str(value)), column
    assert rows[0]["test_accuracy"] == "" and rows[1]["test_accuracy"] != ""  # at the end only


def test_tensorboard_reads_the_events(checked):
    history = json.loads((checked / run.HISTORY).read_text())
    acc = read_events(checked)
    tags = acc.Tags()
    steps_per_epoch = 25
    for column, key in (("loss", "train_loss"), ("val_accuracy", "val_accuracy"),
                        ("lr", "lr"), ("seconds", "wall_time")):
        events = acc.Scalars(f"epoch/{column}")
        assert [e.step for e in events] == [steps_per_epoch, 2 * steps_per_epoch]
        np.testing.assert_allclose([e.value for e in events], history[key], rtol=1e-6)
    test = acc.Scalars("epoch/test_accuracy")
    assert [(e.step, e.value) for e in test] == [(50, pytest.approx(history["test_accuracy"][1]))]
    assert [e.step for e in acc.Scalars("batch/loss")] == [50]  # every 50 steps
    # the first layer's filters at epochs 0, 1, 2: the weights of epochs/ drawn
    assert tags["images"] == ["filters/conv1"]
    images = acc.Images("filters/conv1")
    assert [e.step for e in images] == [0, 25, 50]
    for epoch, event in enumerate(images):
        weights = ckpt.load(checked / run.epoch_file(epoch)).layers["conv1"].W
        decoded = np.asarray(Image.open(io.BytesIO(event.encoded_image_string)))
        np.testing.assert_array_equal(decoded, tensorboard.filter_grid(weights))


def test_a_checkpoint_per_epoch(checked):
    files = run.epoch_files(checked)
    assert list(files) == [0, 1, 2]
    assert files[0].read_bytes() == (checked / run.INITIAL).read_bytes()
    last = ckpt.load(checked / run.LAST).params()
    for name, value in ckpt.load(files[2]).params().items():
        np.testing.assert_array_equal(value, last[name])
    assert ckpt.read_meta(files[1])["epoch"] == 1
    assert ckpt.read(files[1]).optimizer_state == {}  # weights only


def test_tatamu_runs_lists_the_checked_run(checked):
    status, out, err = run_cli("runs", checked.parent)
    assert status == 0, err
    summary = runs.summarise(checked)
    assert (summary.epochs_done, summary.epochs_planned, summary.state) == (2, 2, "finished")
    line = out.splitlines()[2]
    assert line.split()[:4] == ["RUN", "simple", "mnist", "2/2"]
    assert f"{100 * summary.test_accuracy:.2f}" in line
    assert f"{100 * summary.best_val_accuracy:.2f}" in line


def _tiny(tmp_path, epochs, **kwargs):
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 1, 6, 6), dtype=np.float32), rng.integers(0, 3, 40)
    model = Sequential([Conv2D(1, 4, 3, rng=0), ReLU(), Flatten(), Linear(64, 3, rng=1)],
                       (1, 6, 6))
    return fit(model, (x, y), (x[:10], y[:10]), epochs=epochs, batch_size=10,
               optimizer=Adam(), progress=False, checkpoint_dir=tmp_path, **kwargs)


def test_keep_epochs_keeps_the_newest_and_the_initial_weights(tmp_path):
    _tiny(tmp_path / "one", 4, keep_epochs=1)
    assert list(run.epoch_files(tmp_path / "one")) == [0, 4]
    _tiny(tmp_path / "none", 2, keep_epochs=0)
    assert not (tmp_path / "none" / run.EPOCHS).exists()
    status, _, err = run_cli("train", "--limit", "200", "--test-limit", "50", "--epochs", "3",
                             "--keep-epochs", "2", "--quiet", "--out", tmp_path / "cli")
    assert status == 0, err
    assert list(run.epoch_files(tmp_path / "cli")) == [0, 2, 3]
    assert json.loads((tmp_path / "cli" / run.PLAN).read_text())["keep_epochs"] == 2


def test_a_resume_continues_the_logs_and_drops_what_a_killed_process_wrote(tmp_path):
    _tiny(tmp_path, 1, log_every=1)
    # a process killed after epoch 1's checkpoints had logged batches of epoch 2 (steps 5-6)
    (first,) = tmp_path.glob(run.EVENTS_PREFIX + "*")
    with open(first, "ab") as f:
        for step in (5, 6):
            f.write(tensorboard.tfrecord(tensorboard.scalar_event("batch/loss", 99.0, step, 0)))
    history = _tiny(tmp_path, 2, log_every=1, resume=True)
    rows = list(csv.DictReader(io.StringIO((tmp_path / run.METRICS).read_text())))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    acc = read_events(tmp_path)
    losses = acc.Scalars("batch/loss")
    assert [e.step for e in losses] == list(range(1, 9)) and 99.0 not in [e.value for e in losses]
    assert [e.step for e in acc.Scalars("epoch/loss")] == [4, 8]
    np.testing.assert_allclose([e.value for e in acc.Scalars("epoch/loss")],
                               history.train_loss, rtol=1e-6)
    assert len(list(tmp_path.glob(run.EVENTS_PREFIX + "*"))) == 2  # one file per process
