"""Checks for a learner's 1-D convolution: x (N, C, L), W (FN, C, FL), b (FN,) -> (N, FN, OL).

The DIVE INTO CODE sprint builds it first (``SimpleConv1d``, then ``Conv1d``) with two worked
examples: x = [1, 2, 3, 4], w = [3, 5, 7], b = [1] gives a = [35, 50], and with dout = [10, 20]
the gradients db = [30], dw = [50, 80, 110], dx = [30, 110, 170, 140]; two channels
[[1, 2, 3, 4], [2, 3, 4, 5]] with w = 1 everywhere and b = [1, 2, 3] give [[16, 22], [17, 23],
[18, 24]]. The expected numbers come from tatamu's ``Conv1D`` (itself checked against naive
loops and PyTorch); the diagnoses are the 2-D ones on an input of height 1.
"""

from __future__ import annotations

import numpy as np

from ...im2col import conv_output_size
from ...layers.conv import Conv1D
from ..gradcheck import check_layer
from .compare import LearnerError, grid, mismatch, same
from .conv_mistakes import backward_diagnosis, forward_diagnosis
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

COURSE_X, COURSE_W, COURSE_B, COURSE_DOUT = [1, 2, 3, 4], [3, 5, 7], [1], [10, 20]
COURSE_X2 = [[1, 2, 3, 4], [2, 3, 4, 5]]  # two channels; w = np.ones((3, 2, 3)), b = [1, 2, 3]

#: (x shape, W shape, stride, pad)
CONFIGS = [((2, 3, 9), (4, 3, 3), 1, 0), ((2, 2, 10), (3, 2, 4), 2, 1),
           ((3, 1, 7), (2, 1, 1), 1, 0), ((1, 2, 12), (2, 2, 5), 1, 2),
           ((2, 2, 11), (3, 2, 3), 2, 0),
           # one channel, one filter (the sprint's SimpleConv1d takes nothing else)
           ((2, 1, 9), (1, 1, 3), 1, 0), ((3, 1, 6), (1, 1, 2), 1, 0)]
UNEVEN = [((1, 1, 6), (1, 1, 3), 2, 0)]


def reference(W, b, stride, pad, rounding="strict") -> Conv1D:
    fn, c, fl = W.shape
    layer = Conv1D(c, fn, fl, stride, pad, rounding=rounding, dtype=np.float64)
    layer.W[...] = W
    layer.b[...] = b
    return layer


def _args(config):
    _, W_shape, s, p = config
    return W_shape, (W_shape[0],), s, p


def _case(h: Harness, salt: int, config):
    x_shape, W_shape, s, p = config
    rng = h.rng(salt)
    return (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
            rng.standard_normal(W_shape[0]), s, p)


def _first(h: Harness, config):
    return h.feasible([config, *CONFIGS], _args)[0][1]


def _lift(a):
    """(N, C, L) -> (N, C, 1, L), for the 2-D diagnoses (anything else as it is)."""
    return a[:, :, None, :] if isinstance(a, np.ndarray) and a.ndim == 3 else a


def course_example(h: Harness) -> Check:
    """the course's example: [1, 2, 3, 4] ⊛ [3, 5, 7] + 1 -> 35 50, and back from dout 10 20"""
    # backward: db = 30, dw = 50 80 110, dx = 30 110 170 140
    x = np.array(COURSE_X, np.float64)[None, None]  # (1, 1, 4)
    W, b = np.array(COURSE_W, np.float64)[None, None], np.array(COURSE_B, np.float64)
    ref = reference(W, b, 1, 0)
    want = ref.forward(x)
    layer = h.new(W, b, 1, 0)
    got = h.forward(layer, x)
    problem = mismatch(got, want, "a")
    if problem:
        if getattr(got, "size", 0) == want.size:
            problem += f"\nexpected {grid(want[0])}; got {grid(np.reshape(got, (1, -1)))}"
        return result(course_example.__doc__, problem,
                      forward_diagnosis(_lift(got), _lift(x), _lift(W), b, 1, 0))
    dout = np.array(COURSE_DOUT, np.float64)[None, None]
    dx = h.backward(layer, dout.copy())
    dx_ref = ref.backward(dout)
    problem = first_problem((getattr(layer, "db", None), ref.db, "db"),
                            (getattr(layer, "dW", None), ref.dW, "dw"), (dx, dx_ref, "dx"))
    return result(course_example.__doc__, problem and f"backward(dout = [10, 20]): {problem}",
                  backward_diagnosis(_lift(dx), _lift(getattr(layer, "dW", None)),
                                     getattr(layer, "db", None), _lift(x), _lift(W), b, 1, 0,
                                     _lift(dout)) if problem else "")


def course_channels(h: Harness) -> Check:
    """the course's two-channel example: w = 1, b = [1, 2, 3] -> 16 22 / 17 23 / 18 24"""
    x = np.array(COURSE_X2, np.float64)[None]  # (1, 2, 4)
    W, b = np.ones((3, 2, 3)), np.array([1.0, 2.0, 3.0])
    got = h.forward(h.new(W, b, 1, 0), x)
    want = reference(W, b, 1, 0).forward(x)
    problem = mismatch(got, want, "a")
    if problem and getattr(got, "size", 0) == want.size:
        problem += f"\nexpected {grid(want[0])}; got {grid(np.reshape(got, want.shape[1:]))}"
    return result(course_channels.__doc__, problem,
                  "each filter sums over every input channel: a[f, i] = sum over c and k of "
                  "x[c, i*S + k] * w[f, c, k] + b[f]" if problem else "")


def output_shapes(h: Harness) -> Check:
    """output shapes = (N, FN, OL), OL = (L + 2P - FL)/S + 1, over 20 lengths/strides/pads"""
    rng = np.random.default_rng(9)
    configs = []
    while len(configs) < 20:
        length, fl = int(rng.integers(3, 14)), int(rng.choice([1, 2, 3, 5]))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 3))
        if length + 2 * p - fl >= 0 and (length + 2 * p - fl) % s == 0:
            c, fn = (2, 3) if len(configs) % 2 else (1, 1)  # one channel too (SimpleConv1d)
            configs.append(((2, c, length), (fn, c, fl), s, p))
    data = h.rng(1)
    for _, (x_shape, W_shape, s, p) in h.feasible(configs, _args):
        where = f"x {x_shape}, W {W_shape}, stride {s}, pad {p}"
        try:
            got = h.forward(h.new(data.standard_normal(W_shape), np.zeros(W_shape[0]), s, p),
                            data.standard_normal(x_shape))
        except LearnerError as exc:
            return result(output_shapes.__doc__, f"{where}: {exc}", REFUSED_EVEN)
        ol = conv_output_size(x_shape[2], W_shape[2], s, p)
        got_shape = tuple(getattr(got, "shape", ()))
        if got_shape != (x_shape[0], W_shape[0], ol):
            return result(output_shapes.__doc__, (
                f"{where}: expected {(x_shape[0], W_shape[0], ol)} (OL = ({x_shape[2]} + 2*{p} "
                f"- {W_shape[2]})/{s} + 1 = {ol}); got {got_shape or type(got).__name__}"),
                _shape_hint(got_shape, x_shape, W_shape, s, p))
    return result(output_shapes.__doc__, None)


def _shape_hint(got, x_shape, W_shape, s, p) -> str:
    n, _, length = x_shape
    fn, _, fl = W_shape
    known = {(n, fn, (length + 2 * p - fl) + 1): "the stride is ignored in the output size",
             (n, fn, (length - fl) // s + 1): "the padding is ignored in the output size: "
                                              "OL = (L + 2*P - FL) // S + 1",
             (n, (length + 2 * p - fl) // s + 1, fn): "the output is (N, OL, FN): put the "
                                                      "filters on axis 1"}
    return known.get(tuple(got), "") if tuple(got) != (n, fn, (length + 2 * p - fl) // s + 1) \
        else ""


def uneven_sizes(h: Harness) -> Check:
    """a size that does not divide ((6 - 3)/2 + 1 = 2.5) is refused (or floored, as the book)"""
    rng = h.rng(2)
    cases = []
    for _, (x_shape, W_shape, s, p) in h.feasible(UNEVEN, _args):
        x, W, b = (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
                   rng.standard_normal(W_shape[0]))
        cases.append((lambda W=W, b=b, s=s, p=p: h.new(W, b, s, p), x,
                      lambda x=x, W=W, b=b, s=s, p=p: reference(W, b, s, p, "floor").forward(x),
                      f"x {x_shape}, W {W_shape}, stride {s}, pad {p}"))
    return uneven_check(h, uneven_name(h, "(6 - 3)/2 + 1 = 2.5"), cases)


def forward_random(h: Harness) -> Check:
    """forward equals tatamu's Conv1D on random inputs (7 lengths, strides, paddings)"""
    for i, config in h.feasible(CONFIGS, _args):
        x, W, b, s, p = _case(h, 10 + i, config)
        got = h.forward(h.new(W, b, s, p), x)
        problem = mismatch(got, reference(W, b, s, p).forward(x), "out")
        if problem:
            return result(forward_random.__doc__,
                          f"x {x.shape}, W {W.shape}, stride {s}, pad {p}: {problem}",
                          forward_diagnosis(_lift(got), _lift(x), _lift(W), b, s, p))
    return result(forward_random.__doc__, None)


def backward_random(h: Harness) -> Check:
    """backward dx, dW, db equal tatamu's Conv1D (random dout, overlapping windows too)"""
    for i, config in h.feasible(CONFIGS, _args):
        x, W, b, s, p = _case(h, 20 + i, config)
        layer, ref = h.new(W, b, s, p), reference(W, b, s, p)
        y, y_ref = h.forward(layer, x), ref.forward(x)
        if not same(y, y_ref):
            return result(backward_random.__doc__, "forward is wrong (see above): backward not "
                                                   "checked")
        dout = h.rng(30 + i).standard_normal(y_ref.shape)
        dx = h.backward(layer, dout.copy())
        dx_ref = ref.backward(dout)
        dW, db = getattr(layer, "dW", None), getattr(layer, "db", None)
        problem = first_problem((dx, dx_ref, "dx"), (dW, ref.dW, "dW"), (db, ref.db, "db"))
        if problem:
            args = (_lift(dx), _lift(dW), db, _lift(x), _lift(W), b, s, p, _lift(dout))
            check = result(backward_random.__doc__,
                           f"x {x.shape}, W {W.shape}, stride {s}, pad {p}: {problem}",
                           backward_diagnosis(*args, generic=False))
            name, got, want, batch = first_wrong(problem, (dx, dW, db),
                                                  (dx_ref, ref.dW, ref.db), len(x))
            check = located(check, name, got, want, Windows((1, W.shape[2]), s, p), batch)
            check.diagnosis = check.diagnosis or backward_diagnosis(*args)
            return check
    return result(backward_random.__doc__, None)


def numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients (dx, dW, db; random dout)"""
    x, W, b, s, p = _case(h, 40, _first(h, ((2, 2, 9), (3, 2, 3), 2, 1)))
    report = h.call(check_layer, h.new(W, b, s, p), x, what="the gradient check")
    return gradient_result(numerical.__doc__, report, Windows((1, W.shape[2]), s, p), len(x))


def leaves_inputs(h: Harness) -> Check:
    """forward leaves x and W unchanged; backward leaves dout unchanged"""
    x, W, b, s, p = _case(h, 50, _first(h, CONFIGS[1]))
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
                         for a in _case(h, 60, _first(h, CONFIGS[0])))
        layer = h.new(W, b, s, p)
        y = h.forward(layer, x)
        dx = h.backward(layer, np.ones(np.shape(y), dtype))
        return {"y": y, "dx": dx, "dW": getattr(layer, "dW", None),
                "db": getattr(layer, "db", None)}
    return dtype_check(keeps_dtype.__doc__, run)


def repeatable(h: Harness) -> Check:
    """backward twice with the same dout gives the same dx, dW, db (nothing accumulates)"""
    x, W, b, s, p = _case(h, 70, _first(h, CONFIGS[1]))
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


CHECKS = [course_example, course_channels, output_shapes, uneven_sizes, forward_random,
          backward_random, numerical, leaves_inputs, keeps_dtype, repeatable]
