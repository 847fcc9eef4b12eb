"""Checks for a learner's ``Convolution(W, b, stride, pad)`` and the mistakes they recognise.

Expected values come from the seeds' printed figures (4x4 ⊛ 3x3 -> 15 16 / 6 15, with bias 3,
with padding 1), tatamu's size formula, tatamu's ``Conv2D`` (itself tested against naive loops
and PyTorch) and float64 numerical gradients. When an output is wrong, the known wrong answers
are computed too (a flipped kernel, a missing transpose...) and the one it equals is named.
"""

from __future__ import annotations

import numpy as np

from ...im2col import conv_output_size
from ..explain import SEED_FILTER, SEED_INPUT
from ..gradcheck import check_layer
from .compare import LearnerError, grid, mismatch, same
from .conv_mistakes import (
    backward_diagnosis,
    forward_diagnosis,
    forward_ref,
    reference,
    shape_diagnosis,
)
from .harness import (
    REFUSED_EVEN,
    Harness,
    dtype_check,
    first_problem,
    first_wrong,
    gradient_result,
    inputs_check,
    located,
    result,
    uneven_check,
    uneven_name,
)
from .locate import Windows
from .report import Check

# The seeds' figures (ゼロから作るDeep Learning Fig. 7-3, 7-5, 7-6).
SEED_OUT = [[15, 16], [6, 15]]
SEED_OUT_BIAS3 = [[18, 19], [9, 18]]
SEED_OUT_PAD1 = [[7, 12, 10, 2], [4, 15, 16, 10], [10, 6, 15, 6], [8, 10, 4, 3]]

#: (x shape, W shape, stride, pad): non-square, 1x1, C > 1, N > 1, overlapping windows.
CONFIGS = [
    ((2, 3, 7, 7), (4, 3, 3, 3), 1, 0),
    ((2, 2, 6, 8), (3, 2, 3, 2), 1, 1),
    ((3, 2, 9, 7), (4, 2, 3, 3), 2, 1),
    ((2, 1, 5, 5), (2, 1, 1, 1), 1, 0),
    ((1, 3, 8, 8), (2, 3, 4, 4), 2, 1),
    ((2, 2, 7, 7), (3, 2, 5, 5), 2, 2),
    ((1, 2, 8, 11), (2, 2, 2, 2), 3, 0),
]
#: (x shape, W shape, stride, pad) whose size does not divide: (6 - 3)/2 + 1 = 2.5, ...
UNEVEN = [((1, 1, 6, 6), (1, 1, 3, 3), 2, 0), ((2, 2, 5, 8), (2, 2, 2, 2), 2, 1)]


# -- tatamu's answers, and the known wrong ones ----------------------------------------------


# -- the checks ------------------------------------------------------------------------------
def _seed(h: Harness, bias: float, pad: int, want, name: str) -> Check:
    x = SEED_INPUT[None, None].copy()  # (1, 1, 4, 4)
    W = SEED_FILTER[None, None].copy()  # (1, 1, 3, 3)
    b = np.array([bias])
    got = h.forward(h.new(W, b, 1, pad), x)
    problem = mismatch(got, np.array(want, np.float64)[None, None], "out")
    if problem and getattr(got, "size", 0) == np.size(want):
        problem += f"\nexpected {grid(want)}; got {grid(np.asarray(got).reshape(np.shape(want)))}"
    diagnosis = ""
    if problem:
        diagnosis = forward_diagnosis(got, x, W, b, 1, pad)
        if not diagnosis and pad and same(got, np.array(SEED_OUT_PAD1)[1:3, 1:3][None, None]):
            diagnosis = "the padding is ignored"
        if not diagnosis:
            shape = getattr(got, "shape", None)
            diagnosis = shape_diagnosis(shape, x.shape, W.shape, 1, pad) if shape else ""
    return result(name, problem, diagnosis)


def seed_example(h: Harness) -> Check:
    """the seeds' example: 4x4 ⊛ 3x3 -> 15 16 / 6 15"""
    return _seed(h, 0.0, 0, SEED_OUT, seed_example.__doc__)


def seed_example_bias(h: Harness) -> Check:
    """the seeds' example with bias 3 -> 18 19 / 9 18"""
    return _seed(h, 3.0, 0, SEED_OUT_BIAS3, seed_example_bias.__doc__)


def seed_example_padding(h: Harness) -> Check:
    """the seeds' example with padding 1 -> 7 12 10 2 / 4 15 16 10 / 10 6 15 6 / 8 10 4 3"""
    return _seed(h, 0.0, 1, SEED_OUT_PAD1, seed_example_padding.__doc__)


def shape_grid():
    """About 40 (x shape, W shape, stride, pad) whose sizes divide, sizes 3..10, kernels 1..5."""
    rng = np.random.default_rng(7)
    out = []
    while len(out) < 40:
        h, w = (int(v) for v in rng.integers(3, 11, 2))
        fh, fw = (int(v) for v in rng.choice([1, 2, 3, 5], 2))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if all((size + 2 * p - k) >= 0 and (size + 2 * p - k) % s == 0
               for size, k in ((h, fh), (w, fw))):
            out.append(((2, 2, h, w), (3, 2, fh, fw), s, p))
    return out


def output_shapes(h: Harness) -> Check:
    """output shapes = (N, FN, OH, OW), OH = (H + 2P - FH)/S + 1, over 40 sizes/strides/pads"""
    rng = h.rng(1)
    for _, (x_shape, W_shape, s, p) in h.feasible(shape_grid(), _args):
        x = rng.standard_normal(x_shape)
        W, b = rng.standard_normal(W_shape), np.zeros(W_shape[0])
        where = f"x {x_shape}, W {W_shape}, stride {s}, pad {p}"
        try:
            got = h.forward(h.new(W, b, s, p), x)
        except LearnerError as exc:
            return result(output_shapes.__doc__, f"{where}: {exc}", REFUSED_EVEN)
        oh = conv_output_size(x_shape[2], W_shape[2], s, p)
        ow = conv_output_size(x_shape[3], W_shape[3], s, p)
        want = (x_shape[0], W_shape[0], oh, ow)
        got_shape = tuple(getattr(got, "shape", ()))
        if got_shape != want:
            return result(output_shapes.__doc__, (
                f"{where}: expected {want} (OH = "
                f"({x_shape[2]} + 2*{p} - {W_shape[2]})/{s} + 1 = {oh}, OW = ({x_shape[3]} + "
                f"2*{p} - {W_shape[3]})/{s} + 1 = {ow}); got {got_shape or type(got).__name__}"),
                shape_diagnosis(got_shape, x_shape, W_shape, s, p))
    return result(output_shapes.__doc__, None)


def _args(config):
    x_shape, W_shape, s, p = config
    return W_shape, (W_shape[0],), s, p


def _first(h: Harness, config):
    """``config``, or the first of CONFIGS the course can build."""
    return h.feasible([config, *CONFIGS], _args)[0][1]


def uneven_sizes(h: Harness) -> Check:
    """a size that does not divide ((6 - 3)/2 + 1 = 2.5) is refused (or floored, as the book)"""
    rng = h.rng(2)
    cases = []
    for _, (x_shape, W_shape, s, p) in h.feasible(UNEVEN, _args):
        x, W, b = (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
                   rng.standard_normal(W_shape[0]))
        cases.append((lambda W=W, b=b, s=s, p=p: h.new(W, b, s, p), x,
                      lambda x=x, W=W, b=b, s=s, p=p: forward_ref(x, W, b, s, p, "floor"),
                      f"x {x_shape}, W {W_shape}, stride {s}, pad {p}"))
    return uneven_check(h, uneven_name(h, "(6 - 3)/2 + 1 = 2.5"), cases)


def _random_case(h: Harness, salt: int, config):
    x_shape, W_shape, s, p = config
    rng = h.rng(salt)
    return (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
            rng.standard_normal(W_shape[0]), s, p)


def forward_random(h: Harness) -> Check:
    """forward equals tatamu's Conv2D on random inputs (7 shapes, strides, paddings)"""
    for i, config in h.feasible(CONFIGS, _args):
        x, W, b, s, p = _random_case(h, 10 + i, config)
        got = h.forward(h.new(W, b, s, p), x)
        want = forward_ref(x, W, b, s, p)
        problem = mismatch(got, want, "out")
        if problem:
            diagnosis = forward_diagnosis(got, x, W, b, s, p) or shape_diagnosis(
                getattr(got, "shape", ()), x.shape, W.shape, s, p)
            return result(forward_random.__doc__,
                          f"x {x.shape}, W {W.shape}, stride {s}, pad {p}: {problem}", diagnosis)
    return result(forward_random.__doc__, None)


def backward_random(h: Harness) -> Check:
    """backward dx, dW, db equal tatamu's Conv2D (random dout, overlapping windows too)"""
    for i, config in h.feasible(CONFIGS, _args):
        x, W, b, s, p = _random_case(h, 20 + i, config)
        layer = h.new(W, b, s, p)
        y = h.forward(layer, x)
        ref = reference(x, W, b, s, p)
        y_ref = ref.forward(x)
        dout = h.rng(30 + i).standard_normal(y_ref.shape)
        if not same(y, y_ref):
            return result(backward_random.__doc__, "forward is wrong (see above): backward not "
                                                   "checked")
        dx = h.backward(layer, dout.copy())
        dx_ref = ref.backward(dout)
        dW, db = getattr(layer, "dW", None), getattr(layer, "db", None)
        problem = first_problem((dx, dx_ref, "dx"), (dW, ref.dW, "dW"), (db, ref.db, "db"))
        if problem:
            args = (dx, dW, db, x, W, b, s, p, dout)
            check = result(backward_random.__doc__,
                           f"x {x.shape}, W {W.shape}, stride {s}, pad {p}: {problem}",
                           backward_diagnosis(*args, generic=False))
            name, got, want, batch = first_wrong(problem, (dx, dW, db),
                                                  (dx_ref, ref.dW, ref.db), len(x))
            check = located(check, name, got, want, Windows(W.shape[2:], s, p), batch)
            check.diagnosis = check.diagnosis or backward_diagnosis(*args)
            return check
    return result(backward_random.__doc__, None)


def numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients (dx, dW, db; random dout)"""
    # 7x7, 3x3 windows, stride 2, pad 1: cells in one window and in two, on the border and not
    x, W, b, s, p = _random_case(h, 40, _first(h, ((2, 2, 7, 7), (3, 2, 3, 3), 2, 1)))
    layer = h.new(W, b, s, p)
    report = h.call(check_layer, layer, x, what="the gradient check")
    return gradient_result(numerical.__doc__, report, Windows(W.shape[2:], s, p), len(x))


def leaves_inputs(h: Harness) -> Check:
    """forward leaves x and W unchanged; backward leaves dout unchanged"""
    x, W, b, s, p = _random_case(h, 50, _first(h, CONFIGS[2]))
    layer = h.new(W, b, s, p)
    x0, W0 = x.copy(), np.array(getattr(layer, "W", W), dtype=np.float64)
    y = h.forward(layer, x)
    dout = h.rng(51).standard_normal(np.shape(y))
    d0 = dout.copy()
    h.backward(layer, dout)
    W1 = np.asarray(getattr(layer, "W", W0), np.float64)
    return inputs_check(leaves_inputs.__doc__, x0, x, d0, dout, [(W0, W1, "W")])


def keeps_dtype(h: Harness) -> Check:
    """float32 in -> float32 out, dx, dW and db; float64 stays float64"""
    def run(dtype):
        x, W, b, s, p = (a.astype(dtype) if isinstance(a, np.ndarray) else a
                         for a in _random_case(h, 60, _first(h, CONFIGS[1])))
        layer = h.new(W, b, s, p)
        y = h.forward(layer, x)
        dx = h.backward(layer, np.ones(np.shape(y), dtype))
        return {"y": y, "dx": dx, "dW": getattr(layer, "dW", None),
                "db": getattr(layer, "db", None)}
    return dtype_check(keeps_dtype.__doc__, run)


def repeatable(h: Harness) -> Check:
    """backward twice with the same dout gives the same dx, dW, db (nothing accumulates)"""
    x, W, b, s, p = _random_case(h, 70, _first(h, CONFIGS[4]))
    layer = h.new(W, b, s, p)
    y = h.forward(layer, x)
    dout = h.rng(71).standard_normal(np.shape(y))
    first = [np.array(v, dtype=np.float64, copy=True) for v in
             (h.backward(layer, dout.copy()), getattr(layer, "dW", 0), getattr(layer, "db", 0))]
    second = (h.backward(layer, dout.copy()), getattr(layer, "dW", 0), getattr(layer, "db", 0))
    problem = first_problem(*((g, w, name) for g, w, name in
                              zip(second, first, ("dx", "dW", "db"), strict=True)))
    return result(repeatable.__doc__, problem and f"second call: {problem}",
                  "a gradient is added to the previous call's (self.dW += ...) or backward "
                  "changed what forward cached: assign the gradients (self.dW = ...)")


CHECKS = [seed_example, seed_example_bias, seed_example_padding, output_shapes, uneven_sizes,
          forward_random, backward_random, numerical, leaves_inputs, keeps_dtype, repeatable]
