"""Checks for a learner's ``SoftmaxWithLoss()`` (the book's §5.6.3): a hand example, tatamu's
``SoftmaxCrossEntropy`` with one-hot and integer labels and scores near +-1000 (overflow),
backward = (y - t) / N, numerical gradients of the loss.
"""

from __future__ import annotations

import numpy as np

from ...i18n import N_, _
from ...losses import SoftmaxCrossEntropy
from ..gradcheck import check_loss
from .compare import LearnerError, diagnose, mismatch
from .harness import Harness, dtype_check, result, unchanged
from .report import Check

# By hand: softmax([1, 1, 1, 1]) = 1/4 each; loss = -log(1/4) = 1.386294; dx = (y - t) / 1
HAND_LOSS = float(np.log(4.0))


HAND_DX = [[-0.75, 0.25, 0.25, 0.25]]


LOSS_TOL = 1e-4  # the book's + 1e-7 inside the log moves the loss by about 1e-7 / p


INT_LABELS = N_("integer labels (N,) are not handled; the book's chapter 7 trains with them: if "
                "t.size == y.size: t = t.argmax(axis=1), then pick y[np.arange(N), t]; in "
                "backward, dx = y.copy(); dx[np.arange(N), t] -= 1; dx /= N")


def one_hot(labels, k):
    return np.eye(k)[labels]


def _loss_case(h: Harness, salt: int, n=4, k=10, shift=0.0):
    rng = h.rng(salt)
    return rng.standard_normal((n, k)) + shift, rng.integers(0, k, n)


def _float(value):
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        return None


def softmax_hand(h: Harness) -> Check:
    """a hand example: scores [1, 1, 1, 1], label 0 -> loss log 4 = 1.386294, dx -0.75 0.25..."""
    layer = h.new()
    loss = _float(h.forward(layer, np.ones((1, 4)), one_hot([0], 4)))
    if loss is None or not np.isclose(loss, HAND_LOSS, rtol=LOSS_TOL):
        return result(softmax_hand.__doc__, _("loss: expected {hand_loss:.6f}, got {loss}",
                                              hand_loss=HAND_LOSS, loss=loss),
                      loss_diagnosis(loss, HAND_LOSS, np.ones((1, 4)), np.array([0])))
    dx = h.backward(layer, 1)
    return result(softmax_hand.__doc__, mismatch(dx, HAND_DX, "dx"),
                  dx_diagnosis(dx, np.array(HAND_DX), np.ones((1, 4)), np.array([0])))


def softmax_forward(h: Harness) -> Check:
    """loss equals tatamu's SoftmaxCrossEntropy: one-hot labels, integer labels, scores ~1000"""
    for salt, shift, labels in ((10, 0.0, "one-hot"), (11, 0.0, "integer"),
                                (12, 1000.0, "one-hot"), (13, -1000.0, "one-hot")):
        x, t = _loss_case(h, salt, shift=shift)
        t_given = one_hot(t, x.shape[1]) if labels == "one-hot" else t
        try:
            got = _float(h.forward(h.new(), x.copy(), t_given))
        except LearnerError as exc:
            if labels != "integer":
                raise
            return result(softmax_forward.__doc__, _("integer labels (N,): {error}", error=exc),
                          _(INT_LABELS))
        want = SoftmaxCrossEntropy().forward(x, t)
        if got is None or not np.isclose(got, want, rtol=LOSS_TOL, atol=LOSS_TOL):
            hint = loss_diagnosis(got, want, x, t)
            if shift and (got is None or not np.isfinite(got)):
                hint = (_("exp overflowed: subtract each row's maximum before np.exp (x - "
                          "x.max(axis=1, keepdims=True)); softmax does not change"))
            elif labels == "integer":
                hint = _(INT_LABELS)
            scores = f"(4, 10){f' + {shift:g}' if shift else ''}"
            return result(softmax_forward.__doc__, _(
                "scores {scores}, {labels} labels: expected loss {want:.6f}, got {got}",
                scores=scores, labels=_("integer") if labels == "integer" else labels,
                want=want, got=got), hint)
    return result(softmax_forward.__doc__, None)


def loss_diagnosis(got, want, x, t) -> str:
    """The known wrong losses: a sum over the batch, softmax down the wrong axis."""
    if got is None or not np.isfinite(got):
        return ""
    n = len(x)
    e = np.exp(x - x.max(axis=0, keepdims=True))
    down = e / e.sum(axis=0, keepdims=True)  # softmax over axis 0: the batch, not the classes
    if np.isclose(got, want * n, rtol=LOSS_TOL):
        return _("the loss is the sum over the batch: divide by the batch size N (the mean)")
    if np.isclose(got, -np.log(down[np.arange(n), t] + 1e-7).mean(), rtol=LOSS_TOL):
        return (_("softmax runs down the wrong axis (over the batch): each row, one sample's "
                  "scores, must sum to 1: axis=1 (or -1) with keepdims=True"))
    return ""


def softmax_backward(h: Harness) -> Check:
    """backward() = (softmax(x) - t) / N, for one-hot and integer labels"""
    for salt, labels in ((20, "one-hot"), (21, "integer")):
        x, t = _loss_case(h, salt)
        ref = SoftmaxCrossEntropy()
        ref.forward(x, t)
        want = ref.backward()
        layer = h.new()
        try:
            h.forward(layer, x.copy(), one_hot(t, x.shape[1]) if labels == "one-hot" else t)
            got = h.backward(layer, 1)
        except LearnerError as exc:
            if labels != "integer":
                raise
            return result(softmax_backward.__doc__, _("integer labels (N,): {error}", error=exc),
                          _(INT_LABELS))
        problem = mismatch(got, want, "dx")
        if problem:
            return result(softmax_backward.__doc__, _(
                "{labels} labels: {problem}", problem=problem,
                labels=_("integer") if labels == "integer" else labels),
                          dx_diagnosis(got, want, x, t))
    return result(softmax_backward.__doc__, None)


def dx_diagnosis(got, want, x, t) -> str:
    """The known wrong gradients of the loss, ``want`` being (softmax(x) - t) / N."""
    n, k = x.shape
    return diagnose(got, [
        (lambda: want * n,
         _("dx is not divided by the batch size: dx = (self.y - self.t) / batch_size")),
        (lambda: want / n, _("dx is divided by the batch size twice")),
        (lambda: want / k, _("dx is divided by t.size (N*K for one-hot labels): divide by the "
                             "batch size, t.shape[0]")),
        (lambda: -want, _("the sign is flipped: dx = (y - t) / N")),
        (lambda: (x - one_hot(t, k)) / n,
         _("dx uses the scores, not the softmax probabilities: (y - t) / N")),
    ])


def softmax_numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients of the loss"""
    x, t = _loss_case(h, 40, n=3, k=5)
    report = h.call(check_loss, h.new(), x, one_hot(t, 5), what=_("the gradient check"))
    wrong = [e for e in report.errors if not e.passed]
    return result(softmax_numerical.__doc__, "; ".join(str(e).strip() for e in wrong) or None)


def softmax_leaves(h: Harness) -> Check:
    """forward leaves the scores and labels unchanged"""
    x, t = _loss_case(h, 50)
    t1 = one_hot(t, x.shape[1])
    x0, t0 = x.copy(), t1.copy()
    layer = h.new()
    h.forward(layer, x, t1)
    h.backward(layer, 1)
    return result(softmax_leaves.__doc__, unchanged(x0, x, "x") or unchanged(t0, t1, "t"),
                  _("the layer wrote into an array it was given; work on a copy"))


def softmax_dtype(h: Harness) -> Check:
    """float32 scores -> float32 dx; float64 stays float64"""
    def run(dtype):
        x, t = _loss_case(h, 60)
        layer = h.new()
        h.forward(layer, x.astype(dtype), one_hot(t, x.shape[1]).astype(dtype))
        return {"dx": h.backward(layer, 1)}
    return dtype_check(softmax_dtype.__doc__, run)


SOFTMAX_CHECKS = [softmax_hand, softmax_forward, softmax_backward, softmax_numerical,
                  softmax_leaves, softmax_dtype]

