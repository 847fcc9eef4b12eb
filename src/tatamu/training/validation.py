"""The validation split: training images held out to choose by, so the test set chooses nothing.

Not in the book, which evaluated the test set after every epoch, and which later tatamu used to
pick ``best.npz`` and to stop early: choosing on the test set makes the chosen epoch look
better than it is. Here ``N`` training images are held out (Keras's ``validation_split``; the
classic MNIST split is 55,000 + 5,000), chosen by the run's seed and stratified: every class
keeps its share of the training set, so a held-out set of 500 MNIST images has about 50 of
each digit. The test set is measured at the end (and after each epoch only if asked).
"""

from __future__ import annotations

import numpy as np

from ..errors import ConfigError, Name
from .metrics import class_indices

#: The classic split: 5,000 of MNIST's 60,000 training images held out (1 in 12).
DEFAULT_FRACTION = 5_000 / 60_000
#: Fewer held-out images than this many per class make a validation accuracy too coarse to
#: choose by (one image is 10 points of 10): the default is then no split.
MIN_PER_CLASS = 1
#: Which stream of the run's seed draws the split (the weights and batch order use others).
SPLIT_STREAM = 24


def default_size(num_train: int, num_classes: int = 10) -> int:
    """The validation images held out of ``num_train`` by default: 1 in 12 (MNIST's 5,000 of
    60,000), or 0 when that would give fewer than one per class."""
    size = int(num_train * DEFAULT_FRACTION)
    return size if size >= MIN_PER_CLASS * num_classes else 0


def hold_out(x: np.ndarray, labels: np.ndarray, count: int, seed: int):
    """Split ``(x, labels)`` into ``((x_train, y_train), (x_val, y_val))`` with ``count``
    validation samples, stratified by class and drawn from ``seed``; both keep the data's order.

    Shapes: x (N, ...) -> (N - count, ...) and (count, ...); labels likewise.
    """
    n = len(x)
    if count >= n:
        raise ConfigError(Name("validation", count), f" would hold out every one of the {n:,} "
                          f"training samples; give fewer than {n:,} (or 0 for no validation "
                          "split)", param="validation", value=count)
    if count == 0:
        return (x, labels), (x[:0], labels[:0])
    classes = class_indices(labels)
    kinds, sizes = np.unique(classes, return_counts=True)
    # Largest remainders: each class gets floor(count * share), the leftovers go to the classes
    # whose exact share lost most to the floor (ties: the smaller class index).
    exact = count * sizes / n
    quota = np.floor(exact).astype(np.int64)
    leftover = count - int(quota.sum())
    quota[np.argsort(-(exact - quota), kind="stable")[:leftover]] += 1
    rng = np.random.default_rng([seed, SPLIT_STREAM])
    chosen = [rng.choice(np.flatnonzero(classes == kind), size=q, replace=False)
              for kind, q in zip(kinds, quota, strict=True)]
    held = np.zeros(n, dtype=bool)
    held[np.concatenate(chosen)] = True
    return (x[~held], labels[~held]), (x[held], labels[held])
