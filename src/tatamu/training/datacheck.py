"""Checking a pair (x, labels) before training or evaluating on it: refuse what cannot work.

The book's loop trusted its data; a learner's own data arrives channels-last, as uint8, with a
NaN or with labels as floats, and surfaced as a wrong shape deep in a layer or a NaN loss
reported as a learning rate too high. Each check here names what is wrong and the fix.
"""

from __future__ import annotations

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import DataError
from ..i18n import _
from ..losses import check_labels
from ..validate import all_finite, channels_last_hint


def check_data(model, data, what: str):
    """Refuse training/evaluation data the model cannot use, with the reason and the fix."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise DataError(_("{what} must be a pair (x, labels); got {type}",
                          what=what, type=type(data).__name__))
    x, labels = data
    if not hasattr(x, "shape") or not hasattr(labels, "shape"):
        raise DataError(_("{what}: x and labels must be arrays (use np.asarray)", what=what))
    if len(x) == 0:
        raise DataError(_("{what} is empty (0 samples)", what=what))
    if x.dtype.kind != "f":
        raise DataError(
            _("{what}: images have dtype {dtype}; convert with x.astype(np.float32) / 255",
              what=what, dtype=x.dtype)
        )
    expected = model.input_shape
    if tuple(x.shape[1:]) != expected:
        hint = ""
        if x.ndim == len(expected) + 1:
            hint = channels_last_hint(x.shape, expected[0], expected[1:])
        elif x.ndim == len(expected):
            hint = _(" A channel axis is missing: use x[:, None].")
        raise DataError(
            _("{what}: the model takes samples of shape {expected}; got x of shape "
              "{shape}.{hint}", what=what, expected=expected, shape=x.shape, hint=hint)
        )
    if len(labels) != len(x):
        raise DataError(_("{what}: {n_x} images but {n_labels} labels",
                          what=what, n_x=len(x), n_labels=len(labels)))
    if not all_finite(x):
        raise DataError(_("{what} contains NaN or inf values; clean the data before training",
                          what=what))
    check_labels(labels, len(x), model.num_classes)
    if labels.ndim == 2:
        _check_label_rows(labels, what)
    return x, labels


def _check_label_rows(labels, what: str) -> None:
    """One-hot (or probability) labels: numbers >= 0 with rows summing to 1.

    A NaN label would otherwise surface as a NaN loss, reported as a learning rate too high.
    """
    t = as_numpy(labels)
    if t.dtype.kind not in "biuf":
        raise DataError(_("{what}: one-hot labels must be numbers; got dtype {dtype}",
                          what=what, dtype=t.dtype))
    if not all_finite(t):
        raise DataError(_("{what}: the one-hot labels contain NaN or inf; clean the labels",
                          what=what))
    sums = t.sum(axis=1, dtype=np.float64)
    bad = np.flatnonzero((t < 0).any(axis=1) | (np.abs(sums - 1) > 1e-3))
    if bad.size:
        raise DataError(
            _("{what}: one-hot labels must be >= 0 with each row summing to 1; row {bad} is "
              "{tolist}. Integer class indices (N,) work too",
              what=what, bad=bad[0], tolist=t[bad[0]].tolist())
        )


