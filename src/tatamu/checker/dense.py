"""Checks for a learner's ``Affine(W, b)``, ``Relu()`` and ``SoftmaxWithLoss()`` (the book's ch. 5).

Expected values: small examples worked by hand (written out below), tatamu's ``Linear``,
``ReLU`` and ``SoftmaxCrossEntropy``, and float64 numerical gradients.
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import check_layer, check_loss
from ..layers import Linear
from ..losses import SoftmaxCrossEntropy
from .compare import LearnerError, diagnose, mismatch, same
from .conv import dtype_check
from .harness import Harness, first_problem, result, unchanged
from .report import Check

# -- Affine ----------------------------------------------------------------------------------
# By hand: [1, 2] @ [[1, 2, 3], [4, 5, 6]] + 1 = [1 + 8 + 1, 2 + 10 + 1, 3 + 12 + 1]
HAND_X, HAND_W, HAND_B = [[1.0, 2.0]], [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], [1.0, 1.0, 1.0]
HAND_OUT = [[10.0, 13.0, 16.0]]
AFFINE_CASES = [((4, 6), (6, 3)), ((3, 2, 3, 3), (18, 5))]  # (x shape, W shape): 2-D and 4-D


def linear_ref(W, b) -> Linear:
    layer = Linear(*W.shape, dtype=np.float64)
    layer.W[...] = W
    layer.b[...] = b
    return layer


def affine_hand(h: Harness) -> Check:
    """a hand example: [1, 2] @ [[1, 2, 3], [4, 5, 6]] + 1 -> 10 13 16"""
    got = h.forward(h.new(np.array(HAND_W), np.array(HAND_B)), np.array(HAND_X))
    return result(affine_hand.__doc__, mismatch(got, HAND_OUT, "out"),
                  diagnose(got, [(lambda: np.array(HAND_OUT) - 1, "the bias is not added")]))


def affine_forward(h: Harness) -> Check:
    """forward equals tatamu's Linear on (N, D) and on (N, C, H, W) input (flattened)"""
    for i, (x_shape, W_shape) in enumerate(AFFINE_CASES):
        rng = h.rng(10 + i)
        x, W, b = (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
                   rng.standard_normal(W_shape[1]))
        try:
            got = h.forward(h.new(W, b), x)
        except LearnerError as exc:
            if len(x_shape) == 2:
                raise
            return result(affine_forward.__doc__, f"x {x_shape}, W {W_shape}: {exc}",
                          "a (N, C, H, W) input must be flattened to (N, C*H*W) first: "
                          "x = x.reshape(x.shape[0], -1), keeping x.shape for backward")
        problem = mismatch(got, linear_ref(W, b).forward(x), "out")
        if problem:
            return result(affine_forward.__doc__, f"x {x_shape}, W {W_shape}: {problem}",
                          "flatten the input first: x = x.reshape(x.shape[0], -1)"
                          if len(x_shape) > 2 else "")
    return result(affine_forward.__doc__, None)


def affine_backward(h: Harness) -> Check:
    """backward dx (in x's own shape), dW, db equal tatamu's Linear (random dout)"""
    for i, (x_shape, W_shape) in enumerate(AFFINE_CASES):
        rng = h.rng(20 + i)
        x, W, b = (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
                   rng.standard_normal(W_shape[1]))
        layer, ref = h.new(W, b), linear_ref(W, b)
        h.forward(layer, x)
        ref.forward(x)
        dout = rng.standard_normal((x_shape[0], W_shape[1]))
        dx = h.backward(layer, dout.copy())
        dx_ref = ref.backward(dout)
        dW, db = getattr(layer, "dW", None), getattr(layer, "db", None)
        problem = first_problem((dx, dx_ref, "dx"), (dW, ref.dW, "dW"), (db, ref.db, "db"))
        if problem:
            return result(affine_backward.__doc__, f"x {x_shape}, W {W_shape}: {problem}",
                          affine_diagnosis(dx, dW, db, x, dx_ref, ref, dout))
    return result(affine_backward.__doc__, None)


def affine_diagnosis(dx, dW, db, x, dx_ref, ref, dout) -> str:
    if getattr(dx, "shape", None) == dx_ref.reshape(len(x), -1).shape and x.ndim > 2:
        return ("dx is (N, D) but x was " + str(x.shape) + ": restore the input's shape, "
                "dx.reshape(*self.original_x_shape)")
    if not same(dx, dx_ref):
        return diagnose(dx, [(lambda: (dout @ ref.W).reshape(x.shape),
                              "dx must be dout @ W.T")])
    if not same(dW, ref.dW):
        if getattr(dW, "shape", None) == ref.dW.T.shape:
            return "dW is transposed: dW = x.T @ dout, shape (D, M) like W"
        return diagnose(dW, [(lambda: ref.dW / len(x), "dW is divided by the batch size")])
    if getattr(db, "shape", None) != ref.db.shape:
        return (f"db has shape {getattr(db, 'shape', None)}: it must be {ref.db.shape}, dout "
                f"summed over the batch: np.sum(dout, axis=0) (db summed over the wrong axis)")
    return diagnose(db, [(lambda: ref.db / len(x), "db is the mean over the batch; use the sum")])


def affine_numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients (dx, dW, db; random dout)"""
    rng = h.rng(40)
    layer = h.new(rng.standard_normal((12, 4)), rng.standard_normal(4))
    report = h.call(check_layer, layer, rng.standard_normal((3, 3, 2, 2)),
                    what="the gradient check")
    wrong = [e for e in report.errors if not e.passed]
    return result(affine_numerical.__doc__, "; ".join(str(e).strip() for e in wrong) or None)


def _leaves(h: Harness, name: str, layer, x) -> Check:
    x0 = x.copy()
    y = h.forward(layer, x)
    dout = h.rng(51).standard_normal(np.shape(y))
    d0 = dout.copy()
    h.backward(layer, dout)
    problem = unchanged(x0, x, "x") or unchanged(d0, dout, "dout")
    hint = ""
    if problem and problem.startswith("dout"):
        hint = ("backward wrote into dout (the book's Relu does dout[self.mask] = 0): the "
                "caller's array must stay as it was; dx = dout.copy(), then dx[self.mask] = 0")
    elif problem:
        hint = ("forward wrote into x (out = x is not a copy: out[mask] = 0 zeroes the "
                "caller's x); use out = x.copy()")
    return result(name, problem, hint)


def affine_leaves(h: Harness) -> Check:
    """forward leaves x unchanged; backward leaves dout unchanged"""
    rng = h.rng(50)
    return _leaves(h, affine_leaves.__doc__, h.new(rng.standard_normal((6, 3)), np.zeros(3)),
                   rng.standard_normal((4, 6)))


def affine_dtype(h: Harness) -> Check:
    """float32 in -> float32 out, dx, dW and db; float64 stays float64"""
    def run(dtype):
        rng = h.rng(60)
        layer = h.new(rng.standard_normal((6, 3)).astype(dtype), np.zeros(3, dtype))
        y = h.forward(layer, rng.standard_normal((4, 6)).astype(dtype))
        dx = h.backward(layer, np.ones(np.shape(y), dtype))
        return {"y": y, "dx": dx, "dW": getattr(layer, "dW", None),
                "db": getattr(layer, "db", None)}
    return dtype_check(affine_dtype.__doc__, run)


AFFINE_CHECKS = [affine_hand, affine_forward, affine_backward, affine_numerical, affine_leaves,
                 affine_dtype]


# -- ReLU ------------------------------------------------------------------------------------
def _relu_input(h: Harness, salt: int, shape=(2, 3, 4, 4)):
    x = h.rng(salt).standard_normal(shape)
    return np.where(np.abs(x) < 1e-3, 0.5, x)  # no value at the kink


def relu_hand(h: Harness) -> Check:
    """a hand example: [[1, -0.5], [-2, 3]] -> [[1, 0], [0, 3]]; backward passes where x > 0"""
    x = np.array([[1.0, -0.5], [-2.0, 3.0]])
    layer = h.new()
    got = h.forward(layer, x)
    problem = mismatch(got, [[1.0, 0.0], [0.0, 3.0]], "out")
    if problem:
        return result(relu_hand.__doc__, problem, diagnose(got, [
            (lambda: np.minimum(x, 0), "this is min(0, x): keep the positive values"),
            (lambda: x, "nothing is zeroed: out[self.mask] = 0 where x <= 0")]))
    dx = h.backward(layer, np.array([[5.0, 6.0], [7.0, 8.0]]))
    problem = mismatch(dx, [[5.0, 0.0], [0.0, 8.0]], "dx")
    return result(relu_hand.__doc__, problem and f"backward(dout = [[5, 6], [7, 8]]): {problem}",
                  diagnose(dx, [
                      (lambda: [[5.0, 6.0], [7.0, 8.0]], "backward ignores the mask: dx = dout "
                                                         "where x > 0, 0 elsewhere"),
                      (lambda: [[0.0, 6.0], [7.0, 0.0]], "the mask is inverted: the gradient "
                                                         "passes where x > 0"),
                      (lambda: [[1.0, 0.0], [0.0, 1.0]], "dx is the mask itself: multiply dout "
                                                         "by it")]))


def relu_random(h: Harness) -> Check:
    """forward max(0, x) and backward dout * (x > 0) on random (N, C, H, W) and (N, D)"""
    for salt, shape in ((10, (2, 3, 4, 4)), (11, (5, 7))):
        x = _relu_input(h, salt, shape)
        dout = h.rng(salt + 10).standard_normal(shape)
        layer = h.new()
        got = h.forward(layer, x)
        dx = h.backward(layer, dout.copy())
        problem = first_problem((got, np.maximum(x, 0), "out"), (dx, dout * (x > 0), "dx"))
        if problem:
            return result(relu_random.__doc__, f"x {shape}: {problem}", diagnose(dx, [
                (lambda x=x: (x > 0).astype(float), "dx is the mask itself: multiply dout by it"),
                (lambda dout=dout: dout, "backward ignores the mask: dx = dout where x > 0, 0 "
                                         "elsewhere"),
                (lambda x=x, dout=dout: dout * (x <= 0),
                 "the mask is inverted: the gradient passes where x > 0")]))
    return result(relu_random.__doc__, None)


def relu_numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients (random dout)"""
    report = h.call(check_layer, h.new(), _relu_input(h, 40, (2, 3, 3)),
                    what="the gradient check")
    wrong = [e for e in report.errors if not e.passed]
    return result(relu_numerical.__doc__, "; ".join(str(e).strip() for e in wrong) or None)


def relu_leaves(h: Harness) -> Check:
    """forward leaves x unchanged; backward leaves dout unchanged"""
    return _leaves(h, relu_leaves.__doc__, h.new(), _relu_input(h, 50))


def relu_dtype(h: Harness) -> Check:
    """float32 in -> float32 out and dx; float64 stays float64"""
    def run(dtype):
        layer = h.new()
        y = h.forward(layer, _relu_input(h, 60).astype(dtype))
        return {"y": y, "dx": h.backward(layer, np.ones(np.shape(y), dtype))}
    return dtype_check(relu_dtype.__doc__, run)


def relu_repeatable(h: Harness) -> Check:
    """backward twice with the same dout gives the same dx (the mask is not changed)"""
    x = _relu_input(h, 70)
    layer = h.new()
    h.forward(layer, x)
    dout = h.rng(71).standard_normal(x.shape)
    first = np.array(h.backward(layer, dout.copy()), dtype=np.float64, copy=True)
    problem = mismatch(h.backward(layer, dout.copy()), first, "dx")
    return result(relu_repeatable.__doc__, problem and f"second call: {problem}",
                  "backward changed the cached mask (or x): leave forward's cache as it was")


RELU_CHECKS = [relu_hand, relu_random, relu_numerical, relu_leaves, relu_dtype, relu_repeatable]


# -- SoftmaxWithLoss -------------------------------------------------------------------------
# By hand: softmax([1, 1, 1, 1]) = 1/4 each; loss = -log(1/4) = 1.386294; dx = (y - t) / 1
HAND_LOSS = float(np.log(4.0))
HAND_DX = [[-0.75, 0.25, 0.25, 0.25]]
LOSS_TOL = 1e-4  # the book's + 1e-7 inside the log moves the loss by about 1e-7 / p


INT_LABELS = ("integer labels (N,) are not handled; the book's chapter 7 trains with them: "
              "if t.size == y.size: t = t.argmax(axis=1), then pick y[np.arange(N), t]; in "
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
        return result(softmax_hand.__doc__, f"loss: expected {HAND_LOSS:.6f}, got {loss}",
                      loss_diagnosis(loss, HAND_LOSS, np.ones((1, 4)), np.array([0])))
    return result(softmax_hand.__doc__, mismatch(h.backward(layer, 1), HAND_DX, "dx"))


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
            return result(softmax_forward.__doc__, f"integer labels (N,): {exc}", INT_LABELS)
        want = SoftmaxCrossEntropy().forward(x, t)
        if got is None or not np.isclose(got, want, rtol=LOSS_TOL, atol=LOSS_TOL):
            hint = loss_diagnosis(got, want, x, t)
            if shift and (got is None or not np.isfinite(got)):
                hint = ("exp overflowed: subtract each row's maximum before np.exp "
                        "(x - x.max(axis=1, keepdims=True)); softmax does not change")
            elif labels == "integer":
                hint = INT_LABELS
            return result(softmax_forward.__doc__,
                          f"scores (4, 10){f' + {shift:g}' if shift else ''}, {labels} labels: "
                          f"expected loss {want:.6f}, got {got}", hint)
    return result(softmax_forward.__doc__, None)


def loss_diagnosis(got, want, x, t) -> str:
    """The known wrong losses: a sum over the batch, softmax down the wrong axis."""
    if got is None or not np.isfinite(got):
        return ""
    n = len(x)
    e = np.exp(x - x.max(axis=0, keepdims=True))
    down = e / e.sum(axis=0, keepdims=True)  # softmax over axis 0: the batch, not the classes
    if np.isclose(got, want * n, rtol=LOSS_TOL):
        return "the loss is the sum over the batch: divide by the batch size N (the mean)"
    if np.isclose(got, -np.log(down[np.arange(n), t] + 1e-7).mean(), rtol=LOSS_TOL):
        return ("softmax runs down the wrong axis (over the batch): each row, one sample's "
                "scores, must sum to 1: axis=1 (or -1) with keepdims=True")
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
            return result(softmax_backward.__doc__, f"integer labels (N,): {exc}", INT_LABELS)
        problem = mismatch(got, want, "dx")
        if problem:
            n = len(x)
            return result(softmax_backward.__doc__, f"{labels} labels: {problem}", diagnose(got, [
                (lambda want=want, n=n: want * n,
                 "dx is not divided by the batch size: dx = (self.y - self.t) / batch_size"),
                (lambda want=want, n=n: want / n, "dx is divided by the batch size twice"),
                (lambda want=want: -want, "the sign is flipped: dx = (y - t) / N"),
                (lambda x=x, t=t, n=n: (x - one_hot(t, x.shape[1])) / n,
                 "dx uses the scores, not the softmax probabilities: (y - t) / N"),
            ]))
    return result(softmax_backward.__doc__, None)


def softmax_numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients of the loss"""
    x, t = _loss_case(h, 40, n=3, k=5)
    report = h.call(check_loss, h.new(), x, one_hot(t, 5), what="the gradient check")
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
                  "the layer wrote into an array it was given; work on a copy")


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
