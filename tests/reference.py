"""Independent reference implementations: the obvious loops, written without im2col.

These are the "naive reference" oracle of STYLE.md §3.6. They share no code with tatamu: the
padding is rebuilt from index rules (not ``numpy.pad``), the output size is found by counting
window positions one by one (not by the formula), and every output pixel is computed in a
Python loop over output positions. They are slow and meant for small arrays only.

Also here: float64 central-difference gradients in the CS231n vector-Jacobian form, and the
relative error used to compare them.

Notation as in ``tatamu.im2col``: N batch, C channels, H/W/L sizes, FN filters, FH/FW kernel,
S stride, P padding, D dilation, OH/OW output size.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# -- geometry ------------------------------------------------------------------------------


def as_pairs(padding) -> tuple[tuple[int, int], tuple[int, int]]:
    """``P``, ``(PH, PW)`` or ``((top, bottom), (left, right))`` -> the explicit pairs."""
    if isinstance(padding, int):
        return (padding, padding), (padding, padding)
    first, second = padding
    if isinstance(first, int):
        return (first, first), (second, second)
    return (tuple(first), tuple(second))


def as_pair(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def count_windows(size: int, kernel: int, stride: int, before: int, after: int,
                  dilation: int = 1, rounding: str = "floor") -> int:
    """Number of window positions along one axis, found by walking the windows one by one.

    ``floor``: every window lies entirely inside the padded input.
    ``ceil``: those, plus one last partial window when the previous one left padded elements
    uncovered and the partial window starts inside the input or the left padding (PyTorch's
    rule). Returns 0 when not even one window fits.
    """
    padded = size + before + after
    span = dilation * (kernel - 1) + 1
    if span > padded:
        return 0
    count = 0
    start = 0
    while start + span <= padded:  # whole windows
        count += 1
        start += stride
    previous_end = start - stride + span  # exclusive end of the last whole window
    if rounding == "ceil" and previous_end < padded and start < size + before:
        count += 1
    return count


def source_index(i: int, size: int, mode: str) -> int | None:
    """Which input index the padded index ``i`` (may be < 0 or >= size) copies, or None."""
    if 0 <= i < size:
        return i
    if mode == "zeros":
        return None
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    if mode == "circular":
        return i % size
    if mode == "reflect":  # mirror about the edge pixel, which itself is not repeated
        return -i if i < 0 else 2 * (size - 1) - i
    raise ValueError(mode)


def pad_ref(x: np.ndarray, pads, mode: str = "zeros", value: float = 0.0) -> np.ndarray:
    """Pad the last two axes of (N, C, H, W) by ``((top, bottom), (left, right))``, by loops."""
    (top, bottom), (left, right) = pads
    n, c, h, w = x.shape
    out = np.full((n, c, h + top + bottom, w + left + right), value, dtype=x.dtype)
    for r in range(h + top + bottom):
        src_r = source_index(r - top, h, mode)
        if src_r is None:
            continue
        for q in range(w + left + right):
            src_q = source_index(q - left, w, mode)
            if src_q is not None:
                out[:, :, r, q] = x[:, :, src_r, src_q]
    return out


def same_pads(kernel: int, dilation: int = 1) -> tuple[int, int]:
    """'same' padding at stride 1: total D*(K-1), the odd one extra at the end (PyTorch)."""
    total = dilation * (kernel - 1)
    return total // 2, total - total // 2


# -- convolution -----------------------------------------------------------------------------


def conv2d_ref(x, W, b=None, stride=1, padding=0, dilation=1, groups=1,
               padding_mode="zeros", rounding="floor"):
    """Cross-correlation of (N, C, H, W) with (FN, C/groups, FH, FW), by loops.

    ``padding`` may be ``"same"``. With ``rounding="ceil"`` the part of a last window that
    lies beyond the padded input contributes nothing.
    """
    n, c, h, w = x.shape
    fn, cg, fh, fw = W.shape
    sh, sw = as_pair(stride)
    dh, dw = as_pair(dilation)
    if padding == "same":
        pads = (same_pads(fh, dh), same_pads(fw, dw))
    elif padding == "valid":
        pads = ((0, 0), (0, 0))
    else:
        pads = as_pairs(padding)
    (top, bottom), (left, right) = pads
    oh = count_windows(h, fh, sh, top, bottom, dh, rounding)
    ow = count_windows(w, fw, sw, left, right, dw, rounding)
    # Generous zero margin on the far side so partial 'ceil' windows read zeros.
    xp_ = pad_ref(x, pads, padding_mode)
    xp_ = np.concatenate([xp_, np.zeros((n, c, sh + dh * fh, xp_.shape[3]), x.dtype)], axis=2)
    xp_ = np.concatenate([xp_, np.zeros((n, c, xp_.shape[2], sw + dw * fw), x.dtype)], axis=3)
    out = np.zeros((n, fn, oh, ow), dtype=x.dtype)
    fn_per_group = fn // groups
    for i in range(oh):
        for j in range(ow):
            rows = i * sh + dh * np.arange(fh)
            cols = j * sw + dw * np.arange(fw)
            for f in range(fn):
                g = f // fn_per_group
                window = xp_[:, g * cg:(g + 1) * cg][:, :, rows][:, :, :, cols]  # (N, C/G, FH, FW)
                out[:, f, i, j] = (window * W[f]).sum(axis=(1, 2, 3))
    if b is not None:
        out += b[None, :, None, None]
    return out


def conv1d_ref(x, W, b=None, stride=1, padding=0, dilation=1, groups=1, padding_mode="zeros"):
    """1-D cross-correlation of (N, C, L) with (FN, C/groups, K), by loops over every index."""
    n, c, length = x.shape
    fn, cg, k = W.shape
    before, after = same_pads(k, dilation) if padding == "same" else as_pair(padding)
    ol = count_windows(length, k, stride, before, after, dilation)
    out = np.zeros((n, fn, ol), dtype=x.dtype)
    fn_per_group = fn // groups
    for s in range(n):
        for f in range(fn):
            g = f // fn_per_group
            for o in range(ol):
                total = 0.0 if b is None else float(b[f])
                for ci in range(cg):
                    for t in range(k):
                        src = source_index(o * stride + t * dilation - before, length,
                                           padding_mode)
                        if src is not None:
                            total += float(x[s, g * cg + ci, src]) * float(W[f, ci, t])
                out[s, f, o] = total
    return out


# -- pooling ---------------------------------------------------------------------------------


def _pool_windows(h, w, kernel, stride, padding, dilation, rounding):
    fh, fw = as_pair(kernel)
    sh, sw = as_pair(kernel if stride is None else stride)
    dh, dw = as_pair(dilation)
    (top, bottom), (left, right) = as_pairs(padding)
    oh = count_windows(h, fh, sh, top, bottom, dh, rounding)
    ow = count_windows(w, fw, sw, left, right, dw, rounding)
    for i in range(oh):
        for j in range(ow):
            rows = [i * sh - top + dh * t for t in range(fh)]
            cols = [j * sw - left + dw * t for t in range(fw)]
            yield i, j, oh, ow, rows, cols, (top, bottom, left, right)


def maxpool2d_ref(x, kernel, stride=None, padding=0, dilation=1, rounding="floor"):
    """Max over each window's real input pixels (padding never wins), by loops."""
    n, c, h, w = x.shape
    out = None
    for i, j, oh, ow, rows, cols, _ in _pool_windows(h, w, kernel, stride, padding, dilation,
                                                      rounding):
        if out is None:
            out = np.empty((n, c, oh, ow), dtype=x.dtype)
        inside = [(r, q) for r in rows for q in cols if 0 <= r < h and 0 <= q < w]
        out[:, :, i, j] = np.max(np.stack([x[:, :, r, q] for r, q in inside]), axis=0)
    return out


def avgpool2d_ref(x, kernel, stride=None, padding=0, count_include_pad=True, ceil=False):
    """Mean over each window, by loops, with PyTorch's divisor rule.

    The divisor counts the window's positions inside the *padded* input when
    ``count_include_pad`` (the overrun of a ``ceil`` window is never counted), otherwise only
    the real input pixels.
    """
    n, c, h, w = x.shape
    rounding = "ceil" if ceil else "floor"
    out = None
    for i, j, oh, ow, rows, cols, (top, bottom, left, right) in _pool_windows(
        h, w, kernel, stride, padding, 1, rounding
    ):
        if out is None:
            out = np.empty((n, c, oh, ow), dtype=x.dtype)
        total = np.zeros((n, c), dtype=x.dtype)
        real = in_padded = 0
        for r in rows:
            for q in cols:
                if -top <= r < h + bottom and -left <= q < w + right:
                    in_padded += 1
                if 0 <= r < h and 0 <= q < w:
                    real += 1
                    total += x[:, :, r, q]
        out[:, :, i, j] = total / (in_padded if count_include_pad else real)
    return out


# -- im2col ----------------------------------------------------------------------------------


def im2col_ref(x, kernel, stride=1, padding=0, dilation=1):
    """The im2col matrix (N*OH*OW, C*FH*FW) by loops: rows (n, oh, ow), columns (c, fh, fw)."""
    n, c, h, w = x.shape
    fh, fw = as_pair(kernel)
    sh, sw = as_pair(stride)
    dh, dw = as_pair(dilation)
    (top, bottom), (left, right) = as_pairs(padding)
    oh = count_windows(h, fh, sh, top, bottom, dh)
    ow = count_windows(w, fw, sw, left, right, dw)
    rows = []
    for s in range(n):
        for i in range(oh):
            for j in range(ow):
                row = []
                for ch in range(c):
                    for a in range(fh):
                        for bb in range(fw):
                            r = i * sh - top + a * dh
                            q = j * sw - left + bb * dw
                            inside = 0 <= r < h and 0 <= q < w
                            row.append(x[s, ch, r, q] if inside else 0.0)
                rows.append(row)
    return np.array(rows, dtype=x.dtype).reshape(n * oh * ow, c * fh * fw)


# -- gradients -------------------------------------------------------------------------------


def numerical_gradient(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar ``f()`` w.r.t. every element of ``x`` (in place).

    ``f`` reads ``x`` itself (a layer's input or parameter array), so ``x`` is perturbed in
    place and restored. ``x`` must be float64: float32 central differences are useless at 1e-6.
    """
    assert x.dtype == np.float64, "numerical gradients need float64"
    grad = np.zeros_like(x)
    flat = x.reshape(-1)  # a view: writes reach x
    gflat = grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        plus = f()
        flat[i] = old - eps
        minus = f()
        flat[i] = old
        gflat[i] = (plus - minus) / (2 * eps)
    return grad


def rel_error(analytic, numeric) -> float:
    """max |a - n| / max(max |a|, max |n|): the infinity-norm relative error."""
    analytic, numeric = np.asarray(analytic, float), np.asarray(numeric, float)
    scale = max(np.abs(analytic).max(initial=0.0), np.abs(numeric).max(initial=0.0), 1e-12)
    return float(np.abs(analytic - numeric).max(initial=0.0) / scale)


def vjp_objective(forward: Callable[[], np.ndarray], dout: np.ndarray) -> Callable[[], float]:
    """``f() = sum(forward() * dout)``: its gradient w.r.t. anything is backward(dout)."""
    return lambda: float(np.sum(forward() * dout))


def layer_gradient_errors(layer, x: np.ndarray, dout: np.ndarray,
                          before_forward: Callable[[], None] | None = None,
                          eps: float = 1e-6) -> dict[str, float]:
    """Relative errors of ``layer.backward(dout)`` against central differences, per array.

    Returns ``{"x": err, "W": err, ...}`` for the input and every parameter. The objective is
    ``sum(layer.forward(x) * dout)``. ``before_forward`` runs before every forward (to reseed
    Dropout's generator so its mask stays fixed).
    """
    def forward():
        if before_forward is not None:
            before_forward()
        return layer.forward(x)

    forward()
    dx = layer.backward(dout)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads().items()}}
    f = vjp_objective(forward, dout)
    errors = {"x": rel_error(analytic["x"], numerical_gradient(f, x, eps))}
    for name, param in layer.params().items():
        errors[name] = rel_error(analytic[name], numerical_gradient(f, param, eps))
    return errors
