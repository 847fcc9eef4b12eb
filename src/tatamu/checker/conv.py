"""Checks for a learner's ``Convolution(W, b, stride, pad)`` and the mistakes they recognise.

Expected values come from the seeds' printed figures (4x4 ⊛ 3x3 -> 15 16 / 6 15, with bias 3,
with padding 1), tatamu's size formula, tatamu's ``Conv2D`` (itself tested against naive loops
and PyTorch) and float64 numerical gradients. When an output is wrong, the known wrong answers
are computed too (a flipped kernel, a missing transpose...) and the one it equals is named.
"""

from __future__ import annotations

import numpy as np

from ..explain import SEED_FILTER, SEED_INPUT
from ..gradcheck import check_layer
from ..im2col import conv_output_size, im2col
from ..layers import Conv2D
from .compare import LearnerError, diagnose, grid, mismatch, same
from .harness import Harness, first_problem, result, unchanged
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
REFUSED_EVEN = ("this size divides, so it has an output: are the stride and padding used "
                "the ones given to __init__ (self.stride, self.pad)?")
#: (x shape, W shape, stride, pad) whose size does not divide: (6 - 3)/2 + 1 = 2.5, ...
UNEVEN = [((1, 1, 6, 6), (1, 1, 3, 3), 2, 0), ((2, 2, 5, 8), (2, 2, 2, 2), 2, 1)]


# -- tatamu's answers, and the known wrong ones ----------------------------------------------
def reference(x, W, b, stride, pad, rounding="strict") -> Conv2D:
    """tatamu's Conv2D (float64) holding W and b; rounding 'floor' for the wrong answers."""
    fn, c, fh, fw = W.shape
    layer = Conv2D(c, fn, (fh, fw), stride, pad, rounding=rounding, dtype=np.float64)
    layer.W[...] = W
    layer.b[...] = b
    return layer


def forward_ref(x, W, b, stride, pad, rounding="strict"):
    return reference(x, W, b, stride, pad, rounding).forward(x)


def forward_diagnosis(got, x, W, b, stride, pad) -> str:
    fn = W.shape[0]
    want = forward_ref(x, W, b, stride, pad, "floor")
    n, _, oh, ow = want.shape

    def wrong_weight_order():
        # W.reshape(C*FH*FW, FN) instead of W.reshape(FN, -1).T: the filters' numbers mixed up
        col = im2col(x, W.shape[2:], stride, pad, rounding="floor")  # (N*OH*OW, C*FH*FW)
        out = col @ W.reshape(-1, fn) + b  # (N*OH*OW, FN)
        return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)

    return diagnose(got, [
        (lambda: forward_ref(x, W[:, :, ::-1, ::-1], b, stride, pad, "floor"),
         "the kernel is flipped (a true convolution, as scipy.signal.convolve2d does): CNNs "
         "and the book slide the filter as it is (cross-correlation); do not rotate W"),
        (lambda: want.transpose(0, 2, 3, 1),
         "the output is (N, OH, OW, FN): the last transpose is missing; finish with "
         "out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)"),
        (lambda: want.transpose(0, 2, 3, 1).reshape(want.shape),
         "the output was reshaped straight to (N, FN, OH, OW): the rows of col @ col_W are "
         "(N, OH, OW) and the columns FN, so reshape to (N, OH, OW, FN) and then "
         "transpose(0, 3, 1, 2)"),
        (lambda: want.transpose(0, 1, 3, 2),
         "OH and OW are swapped: transpose(0, 3, 1, 2) after reshape(N, out_h, out_w, -1)"),
        (lambda: forward_ref(x, W, b, 1, pad, "floor"),
         "the stride is ignored: pass self.stride to im2col and use it in OH, OW"),
        (lambda: forward_ref(x, W, b, stride, 0, "floor"),
         "the padding is ignored: pass self.pad to im2col (np.pad the input by pad on every "
         "side) and count 2*pad in OH, OW"),
        (lambda: want - b[None, :, None, None],
         "the bias is not added: out = np.dot(col, col_W) + self.b"),
        (wrong_weight_order,
         "the filters' numbers are mixed up: W.reshape(C*FH*FW, FN) is not the weight matrix; "
         "use col_W = self.W.reshape(FN, -1).T"),
        (lambda: forward_ref(x, W.reshape(fn, W.shape[2], W.shape[3], -1).transpose(0, 3, 1, 2),
                             b, stride, pad, "floor"),
         "im2col's columns are not in (C, FH, FW) order (the book's transpose(0, 4, 5, 1, 2, 3))"
         ", so they do not meet the right weights"),
    ])


def shape_diagnosis(got_shape, x_shape, W_shape, stride, pad) -> str:
    n, _, h, w = x_shape
    fn, _, fh, fw = W_shape

    def size(s, k, st, p):
        return (s + 2 * p - k) // st + 1

    oh, ow = size(h, fh, stride, pad), size(w, fw, stride, pad)
    known = [
        ((n, oh, ow, fn), "the output is (N, OH, OW, FN): the last transpose(0, 3, 1, 2) is "
                          "missing"),
        ((n, fn, size(h, fh, 1, pad), size(w, fw, 1, pad)),
         "the stride is ignored in the output size"),
        ((n, fn, size(h, fh, stride, 0), size(w, fw, stride, 0)),
         "the padding is ignored in the output size: OH = (H + 2*pad - FH) // stride + 1"),
        ((n, fn, (h + pad - fh) // stride + 1, (w + pad - fw) // stride + 1),
         "the padding is counted once: both sides are padded, so it is H + 2*pad"),
        ((n, fn, ow, oh), "OH and OW are swapped"),
        ((n, fn, size(h, fw, stride, pad), size(w, fh, stride, pad)),
         "FH and FW are swapped: W is (FN, C, FH, FW)"),
    ]
    for shape, text in known:
        if tuple(got_shape) == shape and shape != (n, fn, oh, ow):
            return text
    got_shape = tuple(got_shape)
    if len(got_shape) == 4 and got_shape[0] == n and got_shape[1] != fn:
        return (f"the output has {got_shape[1]} channels for {fn} filters: the -1 of "
                f"reshape(N, out_h, out_w, -1) took up a different number of windows than "
                f"OH*OW: im2col's stride/pad and the ones in the OH, OW formula differ")
    return ""


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
    for x_shape, W_shape, s, p in shape_grid():
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


def uneven_sizes(h: Harness) -> Check:
    """a size that does not divide ((6 - 3)/2 + 1 = 2.5) is refused (--rounding floor: floored)"""
    name = uneven_sizes.__doc__ if h.rounding == "strict" else \
        "a size that does not divide is floored as in the book (--rounding floor)"
    rng = h.rng(2)
    for x_shape, W_shape, s, p in UNEVEN:
        x, W, b = (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
                   rng.standard_normal(W_shape[0]))
        problem = uneven_outcome(h, lambda W=W, b=b, s=s, p=p: h.new(W, b, s, p), x,
                                 lambda x=x, W=W, b=b, s=s, p=p: forward_ref(x, W, b, s, p,
                                                                            "floor"),
                                 f"x {x_shape}, W {W_shape}, stride {s}, pad {p}")
        if problem:
            return result(name, *problem)
    return result(name, None)


def uneven_outcome(h: Harness, make, x, floor_ref, where: str):
    """None if the layer refuses (strict) or floors correctly (floor); else (problem, fix)."""
    try:
        layer = make()
        got = layer.forward(x)
    except Exception as exc:  # the learner refused (or crashed: told apart by the message)
        text = f"{type(exc).__name__}: {exc}"
        if h.rounding == "floor":
            return (f"{where}: raised {text}", "with --rounding floor the layer must floor "
                    "the output size as the book's // does")
        if any(word in str(exc) for word in ("reshape", "broadcast", "interpreted as an integer",
                                             "could not be broadcast")):
            return (f"{where}: crashed with {text}", "refuse a size that does not divide "
                    "with a clear ValueError before computing (check (H + 2*pad - FH) % "
                    "stride == 0)")
        return None
    want = floor_ref()
    if h.rounding == "floor":
        problem = mismatch(got, want, "out")
        return None if problem is None else (f"{where}: {problem}", "")
    shape = tuple(getattr(got, "shape", ()))
    refuse = ("raise a ValueError saying (H + 2*pad - FH) is not divisible by the stride (or "
              "run tatamu check --rounding floor to accept the book's flooring)")
    if shape != want.shape:
        return (f"{where}: returned {shape} without complaint (floored it would be "
                f"{want.shape})", f"a size that does not divide must be refused: {refuse}")
    return (f"{where}: returned {shape} without complaint",
            f"the output size is floored where it does not divide: the last input rows/columns "
            f"are silently ignored (the book's int() or //); {refuse}")


def _random_case(h: Harness, salt: int, config):
    x_shape, W_shape, s, p = config
    rng = h.rng(salt)
    return (rng.standard_normal(x_shape), rng.standard_normal(W_shape),
            rng.standard_normal(W_shape[0]), s, p)


def forward_random(h: Harness) -> Check:
    """forward equals tatamu's Conv2D on random inputs (7 shapes, strides, paddings)"""
    for i, config in enumerate(CONFIGS):
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
    for i, config in enumerate(CONFIGS):
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
            return result(backward_random.__doc__,
                          f"x {x.shape}, W {W.shape}, stride {s}, pad {p}: {problem}",
                          backward_diagnosis(dx, dW, db, x, W, b, s, p, dout))
    return result(backward_random.__doc__, None)


def backward_diagnosis(dx, dW, db, x, W, b, s, p, dout) -> str:
    fn, c, fh, fw = W.shape
    ref = reference(x, W, b, s, p)
    ref.forward(x)
    dx_ref = ref.backward(dout)
    n, _, oh, ow = dout.shape
    scrambled = dout.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)  # dout read without transpose
    if not same(dx, dx_ref):
        shape = getattr(dx, "shape", None)
        if shape == (n, c, x.shape[2] + 2 * p, x.shape[3] + 2 * p) and p:
            return ("dx still has the padding: col2im must cut it off, "
                    "img[:, :, pad:H + pad, pad:W + pad]")
        if shape == (n * oh * ow, c * fh * fw):
            return "backward returned dcol: fold it back to (N, C, H, W) with col2im"
        text = diagnose(dx, [
            (lambda: overwrite_col2im(dout, x.shape, W, s, p),
             "col2im overwrites where windows overlap: a pixel in several windows must get the "
             "sum of their gradients (img[...] += col[...], not =)"),
            (lambda: _dx(x, W[:, :, ::-1, ::-1], b, s, p, dout),
             "dx uses the flipped kernel: dcol = dout @ col_W.T with the same col_W as forward"),
            (lambda: _dx(x, W, b, s, p, scrambled),
             "dout was reshaped to (N*OH*OW, FN) without dout.transpose(0, 2, 3, 1) first"),
        ])
        return text or ("dx = col2im(dout_matrix @ col_W.T, x.shape, FH, FW, stride, pad), where "
                        "dout_matrix = dout.transpose(0, 2, 3, 1).reshape(-1, FN)")
    if not same(dW, ref.dW):
        shape = getattr(dW, "shape", None)
        if shape in ((c * fh * fw, fn), (fn, c * fh * fw)):
            return ("dW is not reshaped back to (FN, C, FH, FW): "
                    "self.dW = self.dW.transpose(1, 0).reshape(FN, C, FH, FW)")
        return diagnose(dW, [
            (lambda: ref.dW.reshape(fn, -1).T.reshape(fn, c, fh, fw),
             "dW was reshaped to (FN, C, FH, FW) without transpose(1, 0) first: col.T @ dout is "
             "(C*FH*FW, FN)"),
            (lambda: ref.dW[:, :, ::-1, ::-1], "dW is flipped: do not rotate the kernel"),
            (lambda: _dW(x, W, b, s, p, scrambled),
             "dout was reshaped to (N*OH*OW, FN) without dout.transpose(0, 2, 3, 1) first"),
            (lambda: ref.dW / n, "dW is divided by the batch size; the loss already averages"),
        ]) or ("dW = (col.T @ dout_matrix).transpose(1, 0).reshape(FN, C, FH, FW) with the col "
               "cached by forward")
    shape = getattr(db, "shape", None)
    if shape is not None and shape != (fn,):
        return (f"db has shape {shape}: it must be (FN,) = ({fn},), dout summed over N, OH and "
                f"OW: np.sum(dout, axis=0) on the (N*OH*OW, FN) matrix (db summed over the "
                f"wrong axis)")
    return diagnose(db, [
        (lambda: ref.db / (n * oh * ow), "db is the mean over N*OH*OW; it must be the sum"),
        (lambda: scrambled.sum(axis=(0, 2, 3)),
         "db summed dout reshaped without dout.transpose(0, 2, 3, 1) first (the wrong axis)"),
        (lambda: dout.sum(axis=(0, 1, 2))[:fn] if ow == fn else None,
         "db summed over the wrong axis: sum over N, OH and OW"),
    ]) or "db must be dout summed over N, OH and OW: np.sum(dout, axis=(0, 2, 3))"


def _dx(x, W, b, s, p, dout):
    ref = reference(x, W, b, s, p)
    ref.forward(x)
    return ref.backward(dout)


def _dW(x, W, b, s, p, dout):
    ref = reference(x, W, b, s, p)
    ref.forward(x)
    ref.backward(dout)
    return ref.dW


def overwrite_col2im(dout, x_shape, W, stride, pad):
    """The wrong dx of a col2im that assigns (=) instead of adding, for a convolution."""
    fn, _, fh, fw = W.shape
    dcol = dout.transpose(0, 2, 3, 1).reshape(-1, fn) @ W.reshape(fn, -1)  # (N*OH*OW, C*FH*FW)
    return fold_overwriting(dcol, x_shape, fh, fw, stride, pad, dout.shape[2:])


def fold_overwriting(dcol, x_shape, fh, fw, stride, pad, out_hw):
    """The book's col2im loop with '=' where it has '+=': overlapping windows overwrite."""
    n, c, h, w = x_shape
    oh, ow = out_hw
    col = dcol.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)  # (N, C, FH, FW, OH, OW)
    img = np.zeros((n, c, h + 2 * pad + stride - 1, w + 2 * pad + stride - 1))
    for y in range(fh):
        for x in range(fw):
            img[:, :, y:y + stride * oh:stride, x:x + stride * ow:stride] = col[:, :, y, x]
    return img[:, :, pad:h + pad, pad:w + pad]


def numerical(h: Harness) -> Check:
    """backward equals float64 numerical gradients (dx, dW, db; random dout)"""
    x, W, b, s, p = _random_case(h, 40, ((2, 2, 5, 5), (3, 2, 3, 3), 2, 1))
    layer = h.new(W, b, s, p)
    report = h.call(check_layer, layer, x, what="the gradient check")
    wrong = [e for e in report.errors if not e.passed]
    return result(numerical.__doc__, "; ".join(str(e).strip() for e in wrong) if wrong else None)


def leaves_inputs(h: Harness) -> Check:
    """forward leaves x and W unchanged; backward leaves dout unchanged"""
    x, W, b, s, p = _random_case(h, 50, CONFIGS[2])
    layer = h.new(W, b, s, p)
    x0, W0 = x.copy(), np.array(getattr(layer, "W", W), dtype=np.float64)
    y = h.forward(layer, x)
    dout = h.rng(51).standard_normal(np.shape(y))
    d0 = dout.copy()
    h.backward(layer, dout)
    problem = (unchanged(x0, x, "x") or unchanged(d0, dout, "dout")
               or unchanged(W0, np.asarray(getattr(layer, "W", W0), np.float64), "W"))
    return result(leaves_inputs.__doc__, problem,
                  "backward wrote into dout (e.g. dout[...] = 0 or dout -= ...): the caller's "
                  "array must stay as it was; work on a copy" if problem and "dout" in problem
                  else "the layer wrote into an array it was given; work on a copy")


def keeps_dtype(h: Harness) -> Check:
    """float32 in -> float32 out, dx, dW and db; float64 stays float64"""
    def run(dtype):
        x, W, b, s, p = (a.astype(dtype) if isinstance(a, np.ndarray) else a
                         for a in _random_case(h, 60, CONFIGS[1]))
        layer = h.new(W, b, s, p)
        y = h.forward(layer, x)
        dx = h.backward(layer, np.ones(np.shape(y), dtype))
        return {"y": y, "dx": dx, "dW": getattr(layer, "dW", None),
                "db": getattr(layer, "db", None)}
    return dtype_check(keeps_dtype.__doc__, run)


def dtype_check(name: str, run) -> Check:
    """``run(dtype)`` returns the layer's arrays for inputs of ``dtype``; each must keep it."""
    for dtype in (np.float32, np.float64):
        for what, value in run(dtype).items():
            got = getattr(value, "dtype", None)
            if got == dtype:
                continue
            if got == np.float64:
                hint = ("np.zeros(...) without dtype= makes float64 (the book's im2col and "
                        "col2im do): pass dtype=x.dtype, or use np.zeros_like")
            else:
                hint = (f"a {np.dtype(dtype)} input came back as {got}: is a dtype written into "
                        f"the code? use the input's, x.dtype")
            return result(name, f"{what} is {got} for a {np.dtype(dtype)} input", hint)
    return result(name, None)


def repeatable(h: Harness) -> Check:
    """backward twice with the same dout gives the same dx, dW, db (nothing accumulates)"""
    x, W, b, s, p = _random_case(h, 70, CONFIGS[4])
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
