"""accuracy, confusion_matrix and per-class accuracy on hand-made inputs with known answers."""

from __future__ import annotations

import numpy as np
import pytest

from tatamu.errors import ShapeError
from tatamu.training.metrics import accuracy, confusion_matrix, per_class_accuracy

# Five samples, three classes, worked out by hand:
#   true:      0  1  2  2  1
#   predicted: 0  2  2  1  1   -> 3 of 5 right
LABELS = np.array([0, 1, 2, 2, 1])
PRED = np.array([0, 2, 2, 1, 1])
SCORES = np.array([  # argmax = PRED
    [0.9, 0.05, 0.05],
    [0.1, 0.3, 0.6],
    [0.0, 0.2, 0.8],
    [0.3, 0.4, 0.3],
    [0.2, 0.7, 0.1],
])
MATRIX = np.array([  # rows: true class, columns: predicted
    [1, 0, 0],
    [0, 1, 1],
    [0, 1, 1],
])


def test_accuracy_on_class_indices_scores_and_one_hot():
    assert accuracy(PRED, LABELS) == 3 / 5
    assert accuracy(SCORES, LABELS) == 3 / 5
    assert accuracy(SCORES, np.eye(3)[LABELS]) == 3 / 5
    assert accuracy(LABELS, LABELS) == 1.0
    assert isinstance(accuracy(PRED, LABELS), float)


def test_accuracy_counts_every_sample_of_an_odd_sized_set():
    # 1,001 samples: the last one is the only wrong one. A loop that drops the partial last
    # batch of 100 would report 1.0.
    labels = np.arange(1001) % 10
    pred = labels.copy()
    pred[-1] = (pred[-1] + 1) % 10
    assert accuracy(pred, labels) == 1000 / 1001


def test_accuracy_refuses_mismatched_or_empty_inputs():
    with pytest.raises(ShapeError, match="4 predictions for 5 labels"):
        accuracy(PRED[:4], LABELS)
    with pytest.raises(ShapeError, match="zero samples"):
        accuracy(np.array([], dtype=np.int64), np.array([], dtype=np.int64))


def test_confusion_matrix_by_hand():
    np.testing.assert_array_equal(confusion_matrix(PRED, LABELS), MATRIX)
    np.testing.assert_array_equal(confusion_matrix(SCORES, LABELS, 3), MATRIX)
    padded = confusion_matrix(PRED, LABELS, num_classes=5)
    assert padded.shape == (5, 5)
    np.testing.assert_array_equal(padded[:3, :3], MATRIX)
    assert padded[3:].sum() == 0 and padded[:, 3:].sum() == 0


def test_confusion_matrix_matches_a_naive_loop(rng):
    labels = rng.integers(0, 7, size=500)
    pred = rng.integers(0, 7, size=500)
    naive = np.zeros((7, 7), dtype=np.int64)
    for t, p in zip(labels, pred, strict=True):
        naive[t, p] += 1
    matrix = confusion_matrix(pred, labels, 7)
    np.testing.assert_array_equal(matrix, naive)
    assert matrix.sum() == 500
    assert np.trace(matrix) / 500 == accuracy(pred, labels)


def test_per_class_accuracy_by_hand_with_an_absent_class():
    matrix = np.array([[2, 0, 0], [1, 3, 0], [0, 0, 0]])
    result = per_class_accuracy(matrix)
    np.testing.assert_array_equal(result[:2], [1.0, 0.75])
    assert np.isnan(result[2])  # no samples of class 2: undefined, not 0 and no warning
    np.testing.assert_array_equal(per_class_accuracy(MATRIX), [1.0, 0.5, 0.5])
