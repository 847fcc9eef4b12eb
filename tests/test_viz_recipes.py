"""Pictures for the recipes: augmented digits and several runs' curves (tatamu.viz.recipes)."""

from __future__ import annotations

import numpy as np

from tatamu.datasets import Augment
from tatamu.viz import plot_augmented, plot_runs
from tatamu.viz.figure import DPI


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_plot_augmented_draws_each_image_and_its_copies(tmp_path):
    images = np.zeros((3, 1, 28, 28), np.float32)
    images[:, 0, 10:18, 12:16] = 1
    before = images.copy()
    path = plot_augmented(images, Augment(), tmp_path / "aug.png", copies=4)
    assert path == tmp_path / "aug.png"
    assert png_size(path) == (round((0.6 + 1.0 * 5) * DPI), round((0.6 + 1.25 * 3) * DPI))
    np.testing.assert_array_equal(images, before)


def test_plot_runs_draws_several_histories(tmp_path):
    runs = {"book": {"epoch": [1, 2], "val_accuracy": [0.97, 0.98]},
            "augment": {"epoch": [1, 2, 3], "val_accuracy": [0.96, None, 0.99]}}
    path = plot_runs(runs, tmp_path / "runs.png", title="SimpleConvNet", ymin=90)
    assert png_size(path) == (640, 400)
