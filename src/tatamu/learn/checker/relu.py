"""Checks for a learner's ``Relu()`` (the book's §5.5.1): a hand example, random inputs,
numerical gradients, and the book's own slip: ``dout[self.mask] = 0`` writes into the caller's
array (and ``out = x`` followed by ``out[mask] = 0`` into the caller's input).
"""

from __future__ import annotations

import numpy as np

from ..gradcheck import check_layer
from .compare import diagnose, mismatch
from .harness import (
    Harness,
    dtype_check,
    first_problem,
    gradient_result,
    leaves_check,
    result,
)
from .report import Check


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
    return gradient_result(relu_numerical.__doc__, report)


def relu_leaves(h: Harness) -> Check:
    """forward leaves x unchanged; backward leaves dout unchanged"""
    return leaves_check(h, relu_leaves.__doc__, h.new(), _relu_input(h, 50))


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

