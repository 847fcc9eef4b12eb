"""Softmax with cross-entropy loss (the book's ``SoftmaxWithLoss``, §5.6.3).

Kept outside the model, as the book's ``last_layer``: ``forward(logits, labels) -> loss`` and
``backward() -> dlogits``. The softmax is computed from the log-sum-exp with the row maximum
subtracted, so no logit is too large (no overflow) and no probability underflows to log(0).
Probabilities too small to matter are set to exactly 0 (see ``_negligible_log``).
"""

from __future__ import annotations

import math

import numpy as np

from .backend.arrays import get_array_module
from .errors import ShapeError, StateError
from .i18n import _


class SoftmaxCrossEntropy:
    """Read book.py first; this is the same plus log-sum-exp, so no 1e-7 in the log.

    Mean cross-entropy of softmax(logits) against integer or one-hot labels: the book's
    ``SoftmaxWithLoss``, computed from the log-sum-exp instead of ``log(y + 1e-7)``.

    Shapes
    ------
    logits: (N, K) float; labels: (N,) integers in [0, K) or (N, K) one-hot / probabilities.
    forward -> a Python float; backward(dout=1.0) -> dlogits (N, K), the logits' dtype.
    """

    def __init__(self) -> None:
        # Cache for backward: softmax probabilities and the target distribution (or indices).
        self._probs = None
        self._labels = None

    def __call__(self, logits, labels) -> float:
        return self.forward(logits, labels)

    def forward(self, logits, labels) -> float:
        xp = get_array_module(logits)
        if getattr(logits, "ndim", None) != 2 or logits.dtype.kind != "f":
            raise ShapeError(
                _("SoftmaxCrossEntropy: logits must be a float array (N, classes); got "
                  "{shape} {dtype}",
                  shape=getattr(logits, 'shape', type(logits).__name__),
                  dtype=getattr(logits, 'dtype', ''))
            )
        n, k = logits.shape
        labels = check_labels(labels, n, k)
        if get_array_module(labels) is not xp:  # labels stay on the host; logits may not
            labels = xp.asarray(labels)
        shifted = logits - logits.max(axis=1, keepdims=True)  # largest logit becomes 0
        floor = logits.dtype.type(_negligible_log(logits.dtype))
        # exp(shifted) <= exp(floor) ~ 1e-31 adds nothing to a sum >= 1: clip it there, so
        # exp() never makes subnormal numbers (see _negligible_log)
        log_z = xp.log(xp.exp(xp.maximum(shifted, floor)).sum(axis=1, keepdims=True))  # (N, 1)
        log_probs = shifted - log_z  # (N, K), exact: the loss of a confident mistake stays big
        if labels.ndim == 1:
            picked = xp.take_along_axis(log_probs, labels[:, None], axis=1)  # (N, 1)
            loss = -picked.sum() / n
        else:
            loss = -(labels * log_probs).sum() / n
        probs = xp.exp(xp.maximum(log_probs, floor))
        probs *= log_probs > floor  # negligible probabilities are exactly 0, not subnormal
        self._probs, self._labels = probs, labels
        return float(loss)

    def backward(self, dout: float = 1.0):
        if self._probs is None:
            raise StateError(_("SoftmaxCrossEntropy.backward() called before forward()"))
        probs, labels = self._probs, self._labels
        xp = get_array_module(probs)
        n = probs.shape[0]
        if labels.ndim == 1:
            target = (labels[:, None] == xp.arange(probs.shape[1])).astype(probs.dtype)
        else:
            target = labels.astype(probs.dtype)
        # d(mean loss)/d(logits) = (softmax - target) / N
        return (probs - target) * probs.dtype.type(dout / n)


def _negligible_log(dtype) -> float:
    """log of the probability below which softmax outputs are set to 0 (float32: ~ -71).

    A confident network gives logit gaps of 90 and more, and exp(-90) = 8e-40 is a
    *subnormal* float32 (below the smallest normal number, 1.18e-38): x86 processors compute
    with those many times slower, and ``(probs - target) / N`` would carry them into every
    gradient of backward. A probability below ``2**23`` times the smallest normal number
    (~1e-31) moves no weight, so it is made exactly 0, which is what it rounds to anyway
    next to the others; the margin keeps ``probs / N`` and the products after it normal.
    """
    return math.log(2.0**23 * float(np.finfo(dtype).tiny))


def check_labels(labels, n: int, num_classes: int):
    """Return ``labels`` if they fit N samples of ``num_classes`` classes, else say what is wrong.

    Integer labels (N,) must lie in [0, num_classes); one-hot / probability labels (N, K) must
    match the logits' shape. Float labels that hold whole numbers are a common mistake (labels
    loaded as float): they are refused with the fix rather than silently cast.
    """
    xp = get_array_module(labels)
    if not hasattr(labels, "ndim"):
        labels = xp.asarray(labels)
    if labels.ndim == 1:
        if labels.dtype.kind not in "iu":
            raise ShapeError(
                _("labels (N,) must be integers; got dtype {dtype}. Convert with "
                  "labels.astype(np.int64).", dtype=labels.dtype)
            )
        if labels.shape[0] != n:
            raise ShapeError(_("got {shape} labels for {n} samples", shape=labels.shape[0], n=n))
        if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= num_classes):
            raise ShapeError(
                _("labels must be in [0, {num_classes}) for {num_classes} classes; got values "
                  "from {min} to {max}. Check the dataset's labels or the model's number of "
                  "classes.",
                  num_classes=num_classes, min=int(labels.min()), max=int(labels.max()))
            )
        return labels
    if labels.ndim == 2 and labels.shape == (n, num_classes):
        return labels
    raise ShapeError(
        _("labels must be (N,) class indices or (N, {num_classes}) one-hot for logits of shape "
          "({n}, {num_classes}); got shape {shape}",
          num_classes=num_classes, n=n, shape=labels.shape)
    )

