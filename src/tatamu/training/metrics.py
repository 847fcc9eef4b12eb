"""Accuracy and the confusion matrix, counting every sample.

The book's ``accuracy()`` looped ``int(x.shape[0] / batch_size)`` times, silently dropping
the last partial batch while still dividing by the full count. These functions take
predictions for all samples at once (``Sequential.predict`` and ``evaluate`` batch for you).
"""

from __future__ import annotations

import numpy as np

from ..backend.arrays import as_numpy
from ..errors import ShapeError
from ..i18n import _


def class_indices(pred) -> np.ndarray:
    """Class indices (N,) from scores, probabilities or one-hot labels (N, K), or from
    indices (N,) as they are: the one place that decides which class a row means.
    """
    pred = as_numpy(pred)
    return pred.argmax(axis=1) if pred.ndim == 2 else pred



def accuracy(pred, labels) -> float:
    """Fraction of samples whose predicted class equals the label.

    ``pred`` is (N, classes) scores/probabilities or (N,) class indices; ``labels`` (N,) indices
    or (N, classes) one-hot.
    """
    pred, labels = class_indices(pred), class_indices(labels)
    if pred.shape != labels.shape:
        raise ShapeError(_("accuracy: {n_predictions} predictions for {n_labels} labels",
                           n_predictions=pred.shape[0], n_labels=labels.shape[0]))
    if pred.size == 0:
        raise ShapeError(_("accuracy of zero samples is undefined"))
    return float((pred == labels).mean())


def confusion_matrix(pred, labels, num_classes: int | None = None) -> np.ndarray:
    """``M[i, j]`` = how many samples of true class ``i`` were predicted as class ``j``."""
    pred, labels = class_indices(pred).astype(np.int64), class_indices(labels).astype(np.int64)
    if num_classes is None:
        num_classes = int(max(pred.max(initial=0), labels.max(initial=0))) + 1
    counts = np.bincount(labels * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)  # (K*K,) -> (K, K)


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Recall of each class from a confusion matrix (NaN for a class with no samples)."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)
