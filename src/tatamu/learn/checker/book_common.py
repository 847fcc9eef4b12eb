"""The book's ``common.util`` and ``common.functions``, for learners' files that import them.

A learner's layer file written along the book starts with ``from common.util import im2col,
col2im`` (and ``from common.functions import softmax, cross_entropy_error``). When their own
``common`` package is not next to the file, ``tatamu check`` makes these imports resolve to
this module: the book's functions with the book's signatures, on tatamu's im2col/col2im
(dtype kept, so a float32 layer stays float32).
"""

from __future__ import annotations

import numpy as np

from ...layers.book import col2im as col2im
from ...layers.book import im2col as im2col


def softmax(x):
    """The book's softmax: rows of a (N, K) array (or one vector), max subtracted first."""
    x = x - np.max(x, axis=-1, keepdims=True)  # exp never overflows
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


def cross_entropy_error(y, t):
    """The book's mean cross-entropy of probabilities y against one-hot or label t."""
    if y.ndim == 1:
        t = t.reshape(1, t.size)
        y = y.reshape(1, y.size)
    if t.size == y.size:  # one-hot -> labels
        t = t.argmax(axis=1)
    batch_size = y.shape[0]
    return -np.sum(np.log(y[np.arange(batch_size), t] + 1e-7)) / batch_size


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def relu(x):
    return np.maximum(0, x)


def softmax_loss(X, t):
    return cross_entropy_error(softmax(X), t)
