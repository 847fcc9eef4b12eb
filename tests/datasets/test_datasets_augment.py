"""Data augmentation (tatamu.datasets.augment): worked examples by hand, a naive per-pixel
bilinear reference, PyTorch's grid_sample as an oracle, seeded repeatability, and resume
exactness of a run trained with augmentation (interrupted mid-epoch, compared bit for bit with
an uninterrupted run computed here).
"""

from __future__ import annotations

import math
import os
import signal
import time

import numpy as np
import pytest
from cli_runner import run_cli
from torch_oracle import import_torch

from tatamu import Sequential
from tatamu.checkpoint import store as checkpoint
from tatamu.datasets import Augment
from tatamu.datasets.augment import elastic_displacements, resolve, roll, warp
from tatamu.errors import CheckpointError, ConfigError
from tatamu.layers import Conv2D, Linear, MaxPool2D, ReLU
from tatamu.optim import Adam
from tatamu.training.loop import fit
from tatamu.training.progress import Callback

SHAPE = (1, 8, 8)


def naive_warp(x, theta):
    """The obvious loops: for each output pixel, bilinear read at theta @ (row, col, 1)."""
    n, c, h, w = x.shape
    out = np.zeros(x.shape, np.float64)

    def pixel(i, ch, r, q):  # zero outside the image
        return float(x[i, ch, r, q]) if 0 <= r < h and 0 <= q < w else 0.0

    for i in range(n):
        for r in range(h):
            for q in range(w):
                sr, sq = theta[i] @ np.array([r, q, 1.0])
                r0, q0 = math.floor(sr), math.floor(sq)
                a, b = sr - r0, sq - q0
                for ch in range(c):
                    out[i, ch, r, q] = ((1 - a) * (1 - b) * pixel(i, ch, r0, q0)
                                        + (1 - a) * b * pixel(i, ch, r0, q0 + 1)
                                        + a * (1 - b) * pixel(i, ch, r0 + 1, q0)
                                        + a * b * pixel(i, ch, r0 + 1, q0 + 1))
    return out


# -- worked examples ----------------------------------------------------------------------------
def test_a_one_pixel_shift_to_the_right_of_a_known_image():
    x = np.array([[1, 2, 3],
                  [4, 5, 6],
                  [7, 8, 9]], np.float32)[None, None]
    # Each output pixel reads the pixel one column to its left: the image moves right by one.
    theta = np.array([[[1, 0, 0], [0, 1, -1]]], float)
    expected = np.array([[0, 1, 2],
                         [0, 4, 5],
                         [0, 7, 8]], np.float32)
    np.testing.assert_array_equal(warp(x, theta)[0, 0], expected)


def test_half_a_pixel_down_averages_each_pixel_with_the_one_above():
    x = np.array([[2, 4],
                  [6, 8]], np.float32)[None, None]
    theta = np.array([[[1, 0, -0.5], [0, 1, 0]]], float)
    expected = np.array([[1, 2],  # half of (0 above the image) + half of (2, 4)
                         [4, 6]], np.float32)
    np.testing.assert_array_equal(warp(x, theta)[0, 0], expected)


def test_a_quarter_turn_matches_numpys_rot90():
    rng = np.random.default_rng(0)
    x = rng.random((2, 3, 5, 5), dtype=np.float32)
    aug = Augment(shift=0, rotation=0, scale=0)
    theta = aug.random_matrices(2, 5, 5, rng)  # identity maps; now turn them by hand
    turn = Augment(shift=0, rotation=90, scale=0)

    class Quarter:  # a Generator stand-in that always draws the largest angle, zoom 1, no shift
        def uniform(self, low, high, size):
            return np.full(size, float(high)) if low != high else np.full(size, float(low))

    theta = turn.random_matrices(2, 5, 5, Quarter())
    # Rows point down, so a positive angle turns the picture clockwise as it is displayed.
    np.testing.assert_allclose(warp(x, theta), np.rot90(x, k=-1, axes=(2, 3)), atol=1e-6)


def test_one_dimensional_signals_are_rolled_circularly():
    x = np.arange(10, dtype=np.float32).reshape(2, 1, 5)
    out = roll(x, np.array([1, -2]))
    np.testing.assert_array_equal(out[0, 0], [4, 0, 1, 2, 3])
    np.testing.assert_array_equal(out[1, 0], [7, 8, 9, 5, 6])


# -- references ---------------------------------------------------------------------------------
def test_warp_equals_the_naive_loops_for_random_maps_and_elastic_fields():
    rng = np.random.default_rng(1)
    x = rng.random((3, 2, 7, 6), dtype=np.float32)
    aug = Augment(shift=3, rotation=30, scale=0.3)
    theta = aug.random_matrices(3, 7, 6, rng)
    np.testing.assert_allclose(warp(x, theta), naive_warp(x, theta), rtol=1e-5, atol=1e-6)
    disp = elastic_displacements(3, 7, 6, 1.5, 2.0, rng)
    moved = theta.copy()
    # A constant displacement is a change of offset: the naive loop can check it exactly.
    constant = np.broadcast_to(disp[:, :, :1, :1], disp.shape)
    moved[:, :, 2] += disp[:, :, 0, 0]
    np.testing.assert_allclose(warp(x, theta, constant), naive_warp(x, moved), rtol=1e-5,
                               atol=1e-6)


@pytest.mark.torch
def test_warp_matches_torch_grid_sample():
    torch = import_torch()
    rng = np.random.default_rng(2)
    x = rng.random((4, 3, 9, 11), dtype=np.float32)
    theta = Augment(shift=2, rotation=15, scale=0.2).random_matrices(4, 9, 11, rng)
    rows, cols = np.meshgrid(np.arange(9), np.arange(11), indexing="ij")
    source = np.einsum("nij,jhw->nihw", theta, np.stack([rows, cols, np.ones_like(rows)]))
    # grid_sample wants (x, y) = (col, row) scaled to [-1, 1] (align_corners: pixel centres).
    grid = np.stack([2 * source[:, 1] / 10 - 1, 2 * source[:, 0] / 8 - 1], axis=-1)
    expected = torch.nn.functional.grid_sample(
        torch.from_numpy(x), torch.from_numpy(grid.astype(np.float32)), mode="bilinear",
        padding_mode="zeros", align_corners=True).numpy()
    np.testing.assert_allclose(warp(x, theta), expected, rtol=1e-5, atol=1e-5)


# -- properties ---------------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_and_dtype_are_kept_and_the_input_is_not_modified(dtype):
    x = np.random.default_rng(0).random((5, 2, 12, 10)).astype(dtype)
    before = x.copy()
    out = Augment(elastic=1.0, flip=True).for_batch(x, seed=0, epoch=1, batch=0)
    assert out.shape == x.shape and out.dtype == dtype
    np.testing.assert_array_equal(x, before)
    assert not np.array_equal(out, x)


def test_zero_amplitudes_are_the_identity():
    x = np.random.default_rng(0).random((6, 1, 28, 28), dtype=np.float32)
    out = Augment(shift=0, rotation=0, scale=0, elastic=0).for_batch(x, 3, 2, 1)
    np.testing.assert_array_equal(out, x)
    still = Augment(shift=0, rotation=0, scale=0)
    np.testing.assert_array_equal(still.for_batch(x[:, :, 0], 3, 2, 1), x[:, :, 0])


def test_same_seed_epoch_and_batch_give_the_same_images_and_others_differ():
    x = np.random.default_rng(0).random((4, 1, 16, 16), dtype=np.float32)
    aug = Augment(elastic=1.0)
    a = aug.for_batch(x, seed=5, epoch=2, batch=7)
    np.testing.assert_array_equal(a, aug.for_batch(x, seed=5, epoch=2, batch=7))
    for other in ((6, 2, 7), (5, 3, 7), (5, 2, 8)):
        assert not np.array_equal(a, aug.for_batch(x, *other))


def test_shifts_stay_within_their_amplitude():
    # A single bright pixel in the middle may land anywhere within +-2 pixels, never further.
    x = np.zeros((200, 1, 15, 15), np.float32)
    x[:, 0, 7, 7] = 1
    out = Augment(shift=2, rotation=0, scale=0).for_batch(x, 0, 1, 0)
    rows, cols = np.nonzero(out[:, 0].sum(axis=0))
    assert rows.min() >= 5 and rows.max() <= 9 and cols.min() >= 5 and cols.max() <= 9
    np.testing.assert_allclose(out.sum(axis=(1, 2, 3)), 1, rtol=1e-5)  # bilinear keeps mass


def test_elastic_field_has_the_asked_rms_length():
    disp = elastic_displacements(200, 28, 28, 2.0, 4.0, np.random.default_rng(0))
    inner = disp[:, :, 10:18, 10:18]  # away from the border, where the blur is full
    assert np.sqrt(np.mean(inner ** 2)) == pytest.approx(2.0, rel=0.15)


# -- configuration ------------------------------------------------------------------------------
def test_parse_config_and_resolve():
    assert Augment.parse("default") == Augment()
    a = Augment.parse("shift=3, rotation=0, flip=1")
    assert a == Augment(shift=3, rotation=0, flip=True)
    assert Augment.from_config(a.config()) == a
    assert resolve(None) is None and resolve(False) is None and resolve(True) == Augment()
    assert resolve({"shift": 1}) == Augment(shift=1)


@pytest.mark.parametrize("bad, match", [
    ("shift", "NAME=NUMBER"), ("shift=x", "NAME=NUMBER"), ("size=2", "unknown"),
    ("shift=-1", ">= 0"), ("scale=1", "below 1"), ("rotation=nan", ">= 0"),
])
def test_bad_settings_are_refused_with_the_fix(bad, match):
    with pytest.raises(ConfigError, match=match):
        Augment.parse(bad)


def test_signals_refuse_image_only_settings():
    with pytest.raises(ConfigError, match="only shifted"):
        resolve(True, np.zeros((2, 1, 40), np.float32))
    assert resolve("shift=5,rotation=0,scale=0", np.zeros((2, 1, 40), np.float32)).shift == 5


def test_cli_refuses_a_bad_spec_in_one_line_before_making_a_run_folder(tmp_path):
    status, _, err = run_cli("train", "--augment", "tilt=3", "--out", tmp_path / "run")
    assert status == 2 and "unknown augmentation settings" in err
    assert len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


# -- training with augmentation -----------------------------------------------------------------
def tiny_net(seed: int = 0) -> Sequential:
    return Sequential([Conv2D(1, 4, 3, rng=seed), ReLU(), MaxPool2D(2), Linear(36, 3, rng=seed)],
                      SHAPE)


def make_data(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, *SHAPE), dtype=np.float32)
    labels = rng.integers(0, 3, size=n)
    for i, label in enumerate(labels):
        x[i, 0, 2 * label : 2 * label + 3] += 1.0  # the label is where the bright band is
    return x, labels


class Interrupt(Callback):
    """Presses Ctrl-C after batch ``batch`` of ``epoch``."""

    def __init__(self, epoch: int, batch: int) -> None:
        self.at = (epoch, batch)

    def on_batch_end(self, epoch, batch, logs):
        if (epoch, batch) == self.at:
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.01)


def train(folder, *, augment, resume=False, callbacks=None, model_seed=0, data=None):
    model, opt = tiny_net(model_seed), Adam(lr=5e-3)
    data = data if data is not None else make_data(40)
    history = fit(model, data, make_data(12, seed=1), epochs=3, batch_size=7, optimizer=opt,
                  seed=4, callbacks=callbacks, progress=False, checkpoint_dir=folder,
                  resume=resume, augment=augment, threads=1)
    return model, opt, history


def test_labels_and_training_data_are_untouched_and_augmentation_changes_training(tmp_path):
    x, labels = make_data(40)
    x0, labels0 = x.copy(), labels.copy()
    m_aug, _, h_aug = train(tmp_path / "a", augment=Augment(shift=1.5), data=(x, labels))
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(labels, labels0)
    m_plain, _, h_plain = train(tmp_path / "b", augment=None, data=(x, labels))
    assert h_aug.train_loss != h_plain.train_loss
    assert not np.array_equal(m_aug.params()["conv1.W"], m_plain.params()["conv1.W"])


def test_resume_mid_epoch_with_augmentation_equals_an_uninterrupted_run(tmp_path):
    aug = Augment(shift=1.5, rotation=20, scale=0.2, elastic=0.5)
    m_a, o_a, h_a = train(tmp_path / "a", augment=aug)

    folder = tmp_path / "b"
    _, _, h_i = train(folder, augment=aug, callbacks=[Interrupt(epoch=2, batch=2)])
    assert h_i.stop_reason == "interrupted"
    saved = checkpoint.read(folder / "last.npz")
    assert saved.meta["train_state"]["position"] == {"epoch": 2, "batch": 3}
    assert saved.meta["train_state"]["augment"] == aug.config()

    # augment=None on resume: the run's own augmentation comes back from last.npz.
    m_b, o_b, h_b = train(folder, augment=None, resume=True, model_seed=42)
    assert h_b.stop_reason == "completed"
    for key, value in m_a.params().items():
        np.testing.assert_array_equal(m_b.params()[key], value, err_msg=key)
    for key, value in o_a.state_dict().items():
        np.testing.assert_array_equal(o_b.state_dict()[key], value, err_msg=key)
    for key in ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert getattr(h_b, key) == getattr(h_a, key), key


def test_a_damaged_augment_entry_is_a_checkpoint_error(tmp_path):
    folder = tmp_path / "run"
    train(folder, augment=Augment(), callbacks=[Interrupt(epoch=1, batch=1)])
    path = folder / "last.npz"
    saved = checkpoint.read(path)
    assert saved.meta["train_state"]["augment"] == Augment().config()
    meta = {k: v for k, v in saved.meta.items() if k != "model"}
    meta["train_state"] = {**meta["train_state"], "augment": {"shift": "two"}}
    checkpoint.save(saved.model, path, metadata=meta, overwrite=True)
    with pytest.raises(CheckpointError, match="damaged"):
        train(folder, augment=None, resume=True)


def test_fit_refuses_image_settings_on_signals_before_writing_anything(tmp_path):
    from tatamu.layers import Conv1D, Flatten

    model = Sequential([Conv1D(1, 2, 3, rng=0), Flatten(), Linear(2 * 6, 3, rng=1)], (1, 8))
    x = np.random.default_rng(0).random((10, 1, 8), dtype=np.float32)
    with pytest.raises(ConfigError, match="only shifted"):
        fit(model, (x, np.zeros(10, int)), epochs=1, batch_size=5, optimizer=Adam(),
            progress=False, checkpoint_dir=tmp_path / "run", augment=True)
    assert not (tmp_path / "run").exists() or not any((tmp_path / "run").iterdir())
