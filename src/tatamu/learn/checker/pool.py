"""Checks for a learner's max ``Pooling(pool_h, pool_w, stride, pad)``.

Expected values: the book's max-pooling figure (Fig. 7-14: 1 2 1 0 / 0 1 2 3 / 3 0 1 2 /
2 4 0 1 -> 2 3 / 4 2), the size formula, tatamu's ``MaxPool2D`` and numerical gradients.
Inputs are continuous random numbers (no ties); where the window is padded they are positive,
so padding with 0 (the book) or with -inf (tatamu, PyTorch) gives the same maxima.
"""

from __future__ import annotations

import numpy as np

from ...im2col import conv_output_size, im2col
from ...layers import AvgPool2D, MaxPool2D
from ..explain import POOL_INPUT
from ..gradcheck import check_layer
from .adapters import Unsupported
from .compare import LearnerError, diagnose, grid, mismatch, num, same
from .conv_mistakes import fold_overwriting
from .harness import (
    REFUSED_EVEN,
    Harness,
    dtype_check,
    gradient_result,
    inputs_check,
    located,
    note,
    result,
    uneven_check,
    uneven_name,
)
from .locate import Windows
from .report import Check

POOL_OUT = [[2, 3], [4, 2]]  # the book's Fig. 7-14

#: (x shape, pool_h, pool_w, stride, pad): the usual 2x2/2, non-square, overlapping, padded
CONFIGS = [
    ((2, 3, 8, 8), 2, 2, 2, 0),
    ((2, 2, 6, 9), 2, 3, 2, 0),
    ((2, 2, 7, 7), 3, 3, 2, 0),
    ((1, 2, 6, 6), 3, 3, 1, 1),
    ((2, 1, 9, 9), 3, 3, 3, 0),
    ((2, 2, 5, 5), 2, 2, 1, 0),
]
UNEVEN = [((1, 1, 5, 5), 2, 2, 2, 0), ((2, 2, 7, 6), 3, 3, 2, 1)]


def reference(ph, pw, stride, pad, rounding="strict"):
    return MaxPool2D((ph, pw), stride, pad, rounding=rounding)


def _input(h: Harness, salt: int, shape, pad):
    x = h.rng(salt).standard_normal(shape)
    return np.abs(x) + 0.1 if pad else x  # positive where padded: 0 and -inf padding agree


def forward_diagnosis(got, x, ph, pw, s, p) -> str:
    want = reference(ph, pw, s, p, "floor").forward(x)
    return diagnose(got, [
        (lambda: want.transpose(0, 2, 3, 1),
         "the output is (N, OH, OW, C): finish with out.reshape(N, out_h, out_w, C)"
         ".transpose(0, 3, 1, 2)"),
        (lambda: want.transpose(0, 2, 3, 1).reshape(want.shape),
         "the maxima were reshaped straight to (N, C, OH, OW): their order is (N, OH, OW, C); "
         "reshape to (N, out_h, out_w, C) and transpose(0, 3, 1, 2)"),
        (lambda: AvgPool2D((ph, pw), s, p, rounding="floor").forward(x),
         "this is average pooling: take np.max of each row, not the mean"),
        (lambda: -reference(ph, pw, s, p, "floor").forward(-x),
         "this is the minimum of each window: use np.max"),
        (lambda: reference(ph, pw, 1, p, "floor").forward(x), "the stride is ignored"),
        (lambda: reference(ph, pw, ph, p, "floor").forward(x),
         "the stride is taken as pool_h: use self.stride"),
        (lambda: reference(ph, pw, s, 0, "floor").forward(x), "the padding is ignored"),
    ])


def book_figure(h: Harness) -> Check:
    """the book's max-pooling figure: 2x2 windows, stride 2 -> 2 3 / 4 2"""
    x = POOL_INPUT[None, None].copy()
    got = h.forward(h.new(2, 2, 2, 0), x)
    problem = mismatch(got, np.array(POOL_OUT, np.float64)[None, None], "out")
    if problem and getattr(got, "size", 0) == 4:
        problem += f"\nexpected {grid(POOL_OUT)}; got {grid(np.asarray(got).reshape(2, 2))}"
    return result(book_figure.__doc__, problem,
                  forward_diagnosis(got, x, 2, 2, 2, 0) if problem else "")


def output_shapes(h: Harness) -> Check:
    """output shapes = (N, C, OH, OW), OH = (H + 2P - PH)/S + 1, over 30 windows/strides/pads"""
    rng = np.random.default_rng(8)
    tried = attempts = 0
    while tried < 30 and attempts < 3000:
        attempts += 1
        H, W = (int(v) for v in rng.integers(2, 11, 2))
        ph, pw = (int(v) for v in rng.integers(1, 5, 2))
        s, p = int(rng.integers(1, 4)), int(rng.integers(0, 2))
        if p > min(ph, pw) // 2 or any((n + 2 * p - k) < 0 or (n + 2 * p - k) % s
                                       for n, k in ((H, ph), (W, pw))):
            continue
        if not h.can(ph, pw, s, p):
            continue
        tried += 1
        x_shape = (2, 3, H, W)
        where = f"x {x_shape}, pool {ph}x{pw}, stride {s}, pad {p}"
        try:
            got = h.forward(h.new(ph, pw, s, p), _input(h, tried, x_shape, p))
        except LearnerError as exc:
            return result(output_shapes.__doc__, f"{where}: {exc}", REFUSED_EVEN)
        oh, ow = conv_output_size(H, ph, s, p), conv_output_size(W, pw, s, p)
        got_shape = tuple(getattr(got, "shape", ()))
        if got_shape != (2, 3, oh, ow):
            text = pool_shape_diagnosis(got_shape, x_shape, ph, pw, s, p)
            return result(output_shapes.__doc__, (
                f"{where}: expected {(2, 3, oh, ow)} "
                f"(OH = ({H} + 2*{p} - {ph})/{s} + 1 = {oh}, OW = ({W} + 2*{p} - {pw})/{s} + 1 "
                f"= {ow}); got {got_shape or type(got).__name__}"), text)
    if not tried:
        raise Unsupported(h.skipped[-1] if h.skipped else "no window size could be built")
    return result(output_shapes.__doc__, None)


def pool_shape_diagnosis(got_shape, x_shape, ph, pw, s, p) -> str:
    n, c, H, W = x_shape

    def size(length, k, st, pad):
        return (length + 2 * pad - k) // st + 1

    oh, ow = size(H, ph, s, p), size(W, pw, s, p)
    known = [
        ((n, oh, ow, c), "the output is (N, OH, OW, C): the last transpose(0, 3, 1, 2) is "
                         "missing"),
        ((n, c, size(H, ph, 1, p), size(W, pw, 1, p)), "the stride is ignored"),
        ((n, c, size(H, ph, ph, p), size(W, pw, pw, p)),
         "the stride is taken as the window size: use self.stride"),
        ((n, c, size(H, ph, s, 0), size(W, pw, s, 0)),
         "the padding is ignored in the output size: OH = (H + 2*pad - pool_h) // stride + 1"),
        ((n, c, ow, oh), "OH and OW are swapped"),
    ]
    return next((text for shape, text in known
                 if tuple(got_shape) == shape and shape != (n, c, oh, ow)), "")


def _args(config):
    return config[1:]


def _case(h: Harness, *options):
    """The first (layer arguments, x shape) the course can build."""
    args = h.pick(*(a for a, _ in options))
    return args, dict(options)[args]


def uneven_sizes(h: Harness) -> Check:
    """a size that does not divide ((5 - 2)/2 + 1 = 2.5) is refused (or floored, as the book)"""
    cases = []
    for i, (shape, ph, pw, s, p) in h.feasible(UNEVEN, _args):
        x = _input(h, 80 + i, shape, p)
        cases.append((
            lambda ph=ph, pw=pw, s=s, p=p: h.new(ph, pw, s, p), x,
            lambda x=x, ph=ph, pw=pw, s=s, p=p: reference(ph, pw, s, p, "floor").forward(x),
            f"x {shape}, pool {ph}x{pw}, stride {s}, pad {p}"))
    return uneven_check(h, uneven_name(h, "(5 - 2)/2 + 1 = 2.5"), cases)


def forward_random(h: Harness) -> Check:
    """forward equals tatamu's MaxPool2D on random inputs (6 window shapes, strides, pads)"""
    for i, (shape, ph, pw, s, p) in h.feasible(CONFIGS, _args):
        x = _input(h, 10 + i, shape, p)
        got = h.forward(h.new(ph, pw, s, p), x)
        problem = mismatch(got, reference(ph, pw, s, p).forward(x), "out")
        if problem:
            return result(forward_random.__doc__,
                          f"x {shape}, pool {ph}x{pw}, stride {s}, pad {p}: {problem}",
                          forward_diagnosis(got, x, ph, pw, s, p))
    return result(forward_random.__doc__, None)


def backward_random(h: Harness) -> Check:
    """backward sends each window's dout to its maximum, as tatamu's MaxPool2D (random dout)"""
    for i, (shape, ph, pw, s, p) in h.feasible(CONFIGS, _args):
        x = _input(h, 20 + i, shape, p)
        layer = h.new(ph, pw, s, p)
        y = h.forward(layer, x)
        ref = reference(ph, pw, s, p)
        y_ref = ref.forward(x)
        if not same(y, y_ref):
            return result(backward_random.__doc__, "forward is wrong (see above): backward "
                                                   "not checked")
        dout = h.rng(30 + i).standard_normal(y_ref.shape)
        dx = h.backward(layer, dout.copy())
        problem = mismatch(dx, ref.backward(dout), "dx")
        if problem:
            overlapping = diagnose(dx, [(lambda x=x, ph=ph, pw=pw, s=s, p=p, dout=dout:
                                         overwriting_backward(x, ph, pw, s, p, dout),
                                         "col2im overwrites where windows overlap: a pixel in "
                                         "several windows must get the sum of their gradients "
                                         "(img[...] += col[...], not =)")])
            check = result(backward_random.__doc__,
                           f"x {shape}, pool {ph}x{pw}, stride {s}, pad {p}: {problem}",
                           overlapping or backward_diagnosis(h) or (
                               "dx must hold each window's dout at the window's maximum (the "
                               "first one on a tie), summed where windows overlap"))
            return located(check, "dx", dx, ref.backward(dout), Windows((ph, pw), s, p))
    return result(backward_random.__doc__, None)


def overwriting_backward(x, ph, pw, s, p, dout):
    """The right gradient folded by a col2im that overwrites instead of adding."""
    col = im2col(x, (ph, pw), s, p, pad_value=-np.inf)  # (N*OH*OW, C*PH*PW)
    n, c = x.shape[:2]
    rows = col.reshape(-1, ph * pw)  # (N*OH*OW*C, PH*PW)
    dmax = np.zeros_like(rows)
    dmax[np.arange(len(rows)), rows.argmax(axis=1)] = dout.transpose(0, 2, 3, 1).reshape(-1)
    return fold_overwriting(dmax.reshape(-1, c * ph * pw), x.shape, ph, pw, s, p, dout.shape[2:])


def backward_diagnosis(h: Harness) -> str:
    """Look at where the gradient went, on disjoint 2x2 windows (each pixel in one window)."""
    n, c, oh, ow, k = 2, 3, 3, 4, 2
    x = h.rng(90).standard_normal((n, c, oh * k, ow * k))
    dout = h.rng(91).uniform(1, 2, (n, c, oh, ow))  # distinct, non-zero
    layer = h.new(k, k, k, 0)
    h.forward(layer, x)
    dx = h.backward(layer, dout.copy())
    if getattr(dx, "shape", None) != x.shape:
        return f"dx must have x's shape {x.shape}; got {getattr(dx, 'shape', None)}"
    # (N, C, OH*2, OW*2) -> (N, C, OH, OW, 2*2): one row per window
    rows = np.asarray(dx, np.float64).reshape(n, c, oh, k, ow, k).transpose(0, 1, 2, 4, 3, 5)
    rows = rows.reshape(n, c, oh, ow, k * k)
    xs = x.reshape(n, c, oh, k, ow, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh, ow, k * k)
    hit = rows != 0
    if hit.all():
        if np.allclose(rows, dout[..., None]):
            return ("every element of the window gets the gradient: only the maximum reached "
                    "the output, so only it gets dout (dmax[np.arange(...), arg_max] = dout)")
        if np.allclose(rows, dout[..., None] / (k * k)):
            return ("the gradient is spread evenly over the window (average pooling's "
                    "backward): max pooling sends it all to the maximum")
        return "every element of the window gets some gradient: only the maximum should"
    if (hit.sum(axis=-1) == 1).all():
        where = hit.argmax(axis=-1)
        best = xs.argmax(axis=-1)
        if (where != best).any():
            a = tuple(int(i) for i in np.argwhere(where != best)[0])
            return (f"the gradient goes to one element per window, but not to its maximum: "
                    f"window {list(a)} has its max {num(xs[a][best[a]])} at element "
                    f"{int(best[a])} (row-major), the gradient went to element {int(where[a])} "
                    f"(x = {num(xs[a][where[a]])}); arg_max must index the same rows as "
                    f"col.reshape(-1, pool_h*pool_w)")
        got = rows.max(axis=-1) + rows.min(axis=-1)  # the one non-zero value of each window
        if np.allclose(np.sort(got.ravel()), np.sort(dout.ravel())):
            return ("each maximum gets a gradient, but another window's: dout must be "
                    "transposed to (N, OH, OW, C) before it is flattened, like the maxima")
        return "each maximum gets a gradient of the wrong size: it must be that window's dout"
    return ""


ZERO_PAD_NOTE = (
    "the book pads with 0 (np.pad in its im2col): where every number under a window is "
    "negative, the maximum is the padding's 0, a number that is not in the input. The book's "
    "networks pool after ReLU (nothing below 0) and without padding, so it never shows there; it "
    "bites for padded pooling of numbers that can be negative. PyTorch and tatamu pad max "
    "pooling with -inf: np.pad(..., constant_values=-np.inf)")


def padding_value(h: Harness) -> Check:
    """padded windows take the maximum of the input alone (padding counts as -inf)"""
    if not h.can(3, 3, 2, 1):
        raise Unsupported(h.skipped[-1])
    x = -(np.abs(h.rng(85).standard_normal((2, 2, 7, 7))) + 0.1)  # every number negative
    got = h.forward(h.new(3, 3, 2, 1), x)
    problem = mismatch(got, reference(3, 3, 2, 1).forward(x), "out")
    if problem is None:
        return result(padding_value.__doc__, None)
    cols = im2col(x, (3, 3), 2, 1)  # padded with 0, as the book's im2col: (N*OH*OW, C*3*3)
    n, c = x.shape[:2]
    zero_padded = cols.reshape(n, 4, 4, c, 9).max(axis=-1).transpose(0, 3, 1, 2)
    if same(got, zero_padded):
        return note(padding_value.__doc__, f"negative inputs, pool 3x3, stride 2, pad 1: "
                                           f"{problem} (the padding's 0 won)", ZERO_PAD_NOTE)
    return result(padding_value.__doc__, f"negative inputs, pool 3x3, stride 2, pad 1: {problem}",
                  forward_diagnosis(got, x, 3, 3, 2, 1))


def numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients (random dout)"""
    args, shape = _case(h, ((3, 3, 2, 1), (2, 2, 7, 7)), ((3, 3, 2, 0), (2, 2, 7, 7)),
                        ((2, 2, 2, 0), (2, 2, 6, 6)))  # overlapping, padded windows if it can
    x = _input(h, 40, shape, 1)
    x = x if args[3] else x - 0.6  # unpadded: negative numbers too
    report = h.call(check_layer, h.new(*args), x, what="the gradient check")
    return gradient_result(numerical.__doc__, report, Windows(args[:2], args[2], args[3]))


def leaves_inputs(h: Harness) -> Check:
    """forward leaves x unchanged; backward leaves dout unchanged"""
    args, shape = _case(h, ((3, 3, 2, 0), (2, 2, 7, 7)), ((2, 2, 2, 0), (2, 2, 6, 6)))
    x = _input(h, 50, shape, 0)
    layer = h.new(*args)
    x0 = x.copy()
    y = h.forward(layer, x)
    dout = h.rng(51).standard_normal(np.shape(y))
    d0 = dout.copy()
    h.backward(layer, dout)
    return inputs_check(leaves_inputs.__doc__, x0, x, d0, dout)


def keeps_dtype(h: Harness) -> Check:
    """float32 in -> float32 out and dx; float64 stays float64"""
    def run(dtype):
        x = _input(h, 60, (2, 2, 6, 6), 0).astype(dtype)
        layer = h.new(2, 2, 2, 0)
        y = h.forward(layer, x)
        return {"y": y, "dx": h.backward(layer, np.ones(np.shape(y), dtype))}
    return dtype_check(keeps_dtype.__doc__, run)


def repeatable(h: Harness) -> Check:
    """backward twice with the same dout gives the same dx"""
    args, shape = _case(h, ((3, 3, 2, 0), (2, 2, 7, 7)), ((2, 2, 2, 0), (2, 2, 6, 6)))
    x = _input(h, 70, shape, 0)
    layer = h.new(*args)
    y = h.forward(layer, x)
    dout = h.rng(71).standard_normal(np.shape(y))
    first = np.array(h.backward(layer, dout.copy()), dtype=np.float64, copy=True)
    problem = mismatch(h.backward(layer, dout.copy()), first, "dx")
    return result(repeatable.__doc__, problem and f"second call: {problem}",
                  "backward changed what forward cached (arg_max, x): work on copies")


CHECKS = [book_figure, output_shapes, uneven_sizes, forward_random, backward_random,
          padding_value, numerical, leaves_inputs, keeps_dtype, repeatable]
