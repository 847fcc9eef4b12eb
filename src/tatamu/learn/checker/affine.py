"""Checks for a learner's ``Affine(W, b)`` (the book's §5.6.2): a hand example, tatamu's
``Linear`` on (N, D) and (N, C, H, W) inputs, numerical gradients, and the usual mistakes
(dx not in x's shape, dW transposed, db summed over the wrong axis, no flattening).
"""

from __future__ import annotations

import numpy as np

from ...layers import Linear
from ..gradcheck import check_layer
from .compare import LearnerError, diagnose, mismatch, same
from .harness import (
    Harness,
    dtype_check,
    first_problem,
    gradient_result,
    leaves_check,
    result,
)
from .report import Check

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
        if not h.takes(x_shape):
            continue
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
        if not h.takes(x_shape):
            continue
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
    x_shape = (3, 3, 2, 2) if h.takes((3, 3, 2, 2)) else (3, 12)
    report = h.call(check_layer, layer, rng.standard_normal(x_shape), what="the gradient check")
    return gradient_result(affine_numerical.__doc__, report, batch=x_shape[0])


def affine_leaves(h: Harness) -> Check:
    """forward leaves x unchanged; backward leaves dout unchanged"""
    rng = h.rng(50)
    return leaves_check(h, affine_leaves.__doc__, h.new(rng.standard_normal((6, 3)), np.zeros(3)),
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

