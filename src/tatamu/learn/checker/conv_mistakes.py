"""The known wrong answers of a Convolution, computed, so a mismatch can be named.

Each diagnosis computes what a common mistake would output (a flipped kernel, a missing
transpose, a col2im that overwrites...) with tatamu's own layers and im2col, and says which one
the learner's array equals. The right answers come from :func:`reference` (tatamu's ``Conv2D``).
"""

from __future__ import annotations

import numpy as np

from ...im2col import im2col
from ...layers import Conv2D
from .compare import diagnose, same


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


def backward_diagnosis(dx, dW, db, x, W, b, s, p, dout, generic: bool = True) -> str:
    """The known mistake behind a wrong dx, dW or db; with ``generic``, the right formula when
    none matches (else "")."""
    text = _backward_diagnosis(dx, dW, db, x, W, b, s, p, dout)
    if text or not generic:
        return text
    if not same(dx, _dx(x, W, b, s, p, dout)):
        return ("dx = col2im(dout_matrix @ col_W.T, x.shape, FH, FW, stride, pad), where "
                "dout_matrix = dout.transpose(0, 2, 3, 1).reshape(-1, FN)")
    if not same(dW, _dW(x, W, b, s, p, dout)):
        return ("dW = (col.T @ dout_matrix).transpose(1, 0).reshape(FN, C, FH, FW) with the col "
                "cached by forward")
    return "db must be dout summed over N, OH and OW: np.sum(dout, axis=(0, 2, 3))"


def _backward_diagnosis(dx, dW, db, x, W, b, s, p, dout) -> str:
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
        return text
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
        ])
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
    ])


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

