"""A checkpoint trained here, once per session, for the tests of drawn digits and the page.

SimpleConvNet on the first 12,000 shipped MNIST training images, 2 epochs of Adam (about 20-30 s
on two shared cores; about 97% on the MNIST test set): good enough that a drawing it misreads
is the preprocessing's fault, quick enough for the default suite.
"""

from __future__ import annotations

import numpy as np
import pytest

import tatamu
from tatamu import models, optim
from tatamu.datasets import load_mnist
from tatamu.training import loop as train

TRAIN_IMAGES = 12_000


@pytest.fixture(scope="session")
def mnist_test_set():
    _, (x_test, y_test) = load_mnist()
    return x_test, y_test


@pytest.fixture(scope="session")
def digit_checkpoint(tmp_path_factory):
    """Path of a SimpleConvNet checkpoint trained on MNIST, with its dataset in the metadata."""
    (x, y), _ = load_mnist()
    model = models.simple_convnet((1, 28, 28), rng=0)
    train.fit(model, (x[:TRAIN_IMAGES], y[:TRAIN_IMAGES]), epochs=2, batch_size=50,
              optimizer=optim.Adam(lr=0.001), progress=False, seed=0)
    path = tmp_path_factory.mktemp("digits") / "mnist.npz"
    meta = {"dataset": "mnist", "class_names": [str(d) for d in range(10)]}
    tatamu.save(model, path, metadata=meta)
    return path


@pytest.fixture(scope="session")
def digit_model(digit_checkpoint):
    return tatamu.load(digit_checkpoint)


def first_correct(model, x: np.ndarray, y: np.ndarray, count: int) -> np.ndarray:
    """Indices of the first ``count`` test digits the model reads right as MNIST gives them."""
    right = np.flatnonzero(model.predict(x).argmax(axis=1) == y)
    return right[:count]


@pytest.fixture(scope="session")
def epoch_run(tmp_path_factory):
    """A run folder with epochs 0-2 saved: the check outside the project,
    ``tatamu train --limit 3000 --test-limit 500 --epochs 2 --validation 500 --out RUN``."""
    from tatamu.cli.app import main

    folder = tmp_path_factory.mktemp("epochs") / "RUN"
    status = main(["train", "--limit", "3000", "--test-limit", "500", "--epochs", "2",
                   "--validation", "500", "--quiet", "--out", str(folder)])
    assert status == 0
    return folder


@pytest.fixture(scope="session")
def other_run(tmp_path_factory):
    """A second, smaller run (seed 1, one epoch) to put beside ``epoch_run``."""
    from tatamu.cli.app import main

    folder = tmp_path_factory.mktemp("other") / "seed1"
    status = main(["train", "--limit", "600", "--test-limit", "100", "--epochs", "1",
                   "--seed", "1", "--quiet", "--out", str(folder)])
    assert status == 0
    return folder
