"""Window geometry: the output-size formula, im2col and col2im (the book's §7.4).

Notation used in every module of tatamu (the book's names):

    N        batch size              C        input channels
    H, W     input height and width  L        input length (1-D)
    FN       number of filters (output channels)
    FH, FW   filter (kernel) height and width
    S        stride                  P        padding          D   dilation
    OH, OW   output height and width
    col      the im2col matrix, shape (N*OH*OW, C*FH*FW)
    dout     upstream gradient; dx, dW, db the gradients of input, weights, bias

``conv_output_size`` is the one place where an output size is computed; every layer that
changes size calls it, so a size that does not divide is refused in the same words everywhere
instead of being silently rounded down as in the book's ``int(...)``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

from .backend.arrays import get_array_module
from .errors import ConfigError, Fix, Name, ShapeError
from .i18n import N_, _
from .padding import pad, pad_adjoint
from .validate import is_int

Rounding = Literal["strict", "floor", "ceil"]
ROUNDINGS = ("strict", "floor", "ceil")


def pair(value: int | tuple[int, int], name: str = "value") -> tuple[int, int]:
    """Return ``(value, value)`` for an int, or the pair itself, checking both are ints."""
    if is_int(value):
        return int(value), int(value)
    if isinstance(value, (tuple, list)) and len(value) == 2 and all(is_int(v) for v in value):
        return int(value[0]), int(value[1])
    raise ConfigError(_("{name} must be an int or a pair of ints; got {value!r}",
                        name=name, value=value), param=name, value=value)


def padding_pairs(padding: int | tuple, name: str = "padding") -> tuple[tuple[int, int], ...]:
    """Normalise 2-D padding to ``((top, bottom), (left, right))``.

    Accepts an int ``P`` (all sides), a pair ``(PH, PW)`` or the explicit pairs of pairs.
    """
    if (
        isinstance(padding, (tuple, list))
        and len(padding) == 2
        and all(isinstance(p, (tuple, list)) for p in padding)
    ):
        (top, bottom), (left, right) = pair(tuple(padding[0]), name), pair(tuple(padding[1]), name)
    else:
        ph, pw = pair(padding, name)
        top = bottom = ph
        left = right = pw
    if min(top, bottom, left, right) < 0:
        raise ConfigError(_("{name} must be >= 0; got {padding!r}", name=name, padding=padding))
    return (top, bottom), (left, right)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def conv_output_size(
    size: int,
    kernel_size: int,
    stride: int = 1,
    padding: int | tuple[int, int] = 0,
    dilation: int = 1,
    rounding: Rounding = "strict",
    *,
    layer: str | None = None,
    axis: str = "H",
) -> int:
    """Output size of a convolution or pooling window along one axis.

    ``O = (H + 2P - D*(K-1) - 1) / S + 1``, which is the book's ``OH = (H + 2P - FH)/S + 1``
    with a dilated kernel of effective size ``D*(K-1) + 1``.

    Parameters
    ----------
    size : input size ``H`` along this axis.
    kernel_size, stride, dilation : ``K``, ``S``, ``D``.
    padding : ``P`` on both sides, or ``(before, after)`` for asymmetric padding.
    rounding : ``"strict"`` (default) refuses a size that does not divide and says how to fix
        it; ``"floor"`` drops the incomplete last window as PyTorch does; ``"ceil"`` keeps a
        last, partial window (PyTorch's ``ceil_mode``), as long as it starts inside the input
        or the left padding.
    layer, axis : names used in error messages only.

    Examples
    --------
    >>> conv_output_size(7, 3, stride=2)
    3
    >>> conv_output_size(28, 5, stride=3, padding=2)
    10
    """
    where = f"{layer}: " if layer else ""
    for value, what, minimum in (
        (size, N_("input size"), 1),
        (kernel_size, "kernel_size", 1),
        (stride, "stride", 1),
        (dilation, "dilation", 1),
    ):
        if not is_int(value) or value < minimum:  # the axis too: "(H)", "(W)", "(L)"
            raise ConfigError(_("{where}{what} must be an int >= {minimum}; got {value!r} "
                                "({axis})", where=where, what=_(what), minimum=minimum,
                                value=value, axis=axis), param=what, value=value)
    before, after = pair(padding, "padding") if isinstance(padding, (tuple, list)) else (
        padding,
        padding,
    )
    if before < 0 or after < 0:
        raise ConfigError(_("{where}padding must be >= 0; got {padding!r}",
                            where=where, padding=padding))
    if rounding not in ROUNDINGS:
        raise ConfigError(_("{where}rounding must be one of {roundings}; got {rounding!r}",
                            where=where, roundings=ROUNDINGS, rounding=rounding))

    span = size + before + after - dilation * (kernel_size - 1) - 1  # room left to slide
    padded = size + before + after
    effective = dilation * (kernel_size - 1) + 1

    def formula() -> str:  # for the messages only: built when one is raised, not every call
        return _("({axis}={size} + {padding} padding - {span} kernel span) / stride {stride} + 1",
                 axis=axis, size=size, padding=before + after, span=effective, stride=stride)

    if span < 0:
        raise ConfigError(
            _("{where}the kernel (span {span}) is larger than the padded input along {axis} "
              "({padded} = {size} + padding {padding}): output size {formula} = {result} <= 0. "
              "Use a smaller ", where=where, span=effective, axis=axis, padded=padded,
              size=size, padding=before + after, formula=formula(),
              result=_fmt(span / stride + 1)),
            Name("kernel_size"), _(" or "), Name("dilation"), _(", more "), Name("padding"),
            _(", or a larger input."), param="size", value=size,
        )
    exact = span / stride + 1
    if span % stride == 0:
        return span // stride + 1
    if rounding == "floor":
        return span // stride + 1
    if rounding == "ceil":
        out = -(-span // stride) + 1
        # PyTorch's rule: the last window must start inside the input or the left padding.
        if (out - 1) * stride >= size + before:
            out -= 1
        return out
    # Suggest the nearest paddings that make the size divide (same padding on both sides).
    fixes: list = []
    for extra in range(1, 2 * stride + 1):
        total = before + after + extra
        if total % 2 == 0 and (size + total - effective) % stride == 0:
            fixes += [Fix("padding", total // 2), _(", or ")]
            break
    raise ConfigError(
        _("{where}output size along {axis} does not divide: {formula} = {result} (the last "
          "window would stick out by {overhang} of stride {stride}). Fix: ", where=where,
          axis=axis, formula=formula(), result=_fmt(exact), overhang=stride - span % stride,
          stride=stride),
        *fixes, Fix("rounding", "floor"),
        _(" (drop the incomplete last window, as PyTorch does) or "), Fix("rounding", "ceil"),
        _(" (keep a partial last window)."),
        param="rounding", value=rounding,
    )


def window_geometry(
    input_hw: tuple[int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    pads: tuple[tuple[int, int], ...],
    dilation: tuple[int, int],
    rounding: Rounding,
    *,
    layer: str | None = None,
) -> tuple[tuple[int, int], tuple[tuple[int, int], ...]]:
    """Output size ``(OH, OW)`` and the padding actually applied ``((t, b + e), (l, r + e))``.

    With ``rounding="ceil"`` the last window may overrun the padded input by ``e``; the
    overrun is added to the bottom/right padding so the strided windows never leave the array.
    """
    out, applied = [], []
    for axis, size, k, s, (before, after), d in zip(
        ("H", "W"), input_hw, kernel_size, stride, pads, dilation, strict=True
    ):
        o = conv_output_size(size, k, s, (before, after), d, rounding, layer=layer, axis=axis)
        overrun = max(0, (o - 1) * s + d * (k - 1) + 1 - (size + before + after))
        out.append(o)
        applied.append((before, after + overrun))
    return (out[0], out[1]), tuple(applied)


def spatial_args(ndim, kernel_size, stride, padding, dilation):
    """Normalise window arguments to their 2-D form for an input of ``ndim`` 3 or 4.

    A 1-D input (N, C, L) is treated as (N, C, 1, L) with a (1, K) kernel, so one
    implementation serves both (Conv1D runs Conv2D's math).
    Returns ``(kernel, stride, ((top, bottom), (left, right)), dilation)``.
    """
    if ndim == 3:
        pads = padding if isinstance(padding, (tuple, list)) else (padding, padding)
        return (
            (1, _int(kernel_size, "kernel_size")),
            (1, _int(stride, "stride")),
            ((0, 0), pair(tuple(pads), "padding")),
            (1, _int(dilation, "dilation")),
        )
    if ndim != 4:
        raise ShapeError(_("expected (N, C, H, W) or (N, C, L); got {ndim} dimensions", ndim=ndim))
    return (
        pair(kernel_size, "kernel_size"),
        pair(stride, "stride"),
        padding_pairs(padding),
        pair(dilation, "dilation"),
    )


def _int(value, name: str) -> int:
    if isinstance(value, (tuple, list)) and len(value) == 1:
        value = value[0]
    return pair(value, name)[0]


def im2col(
    x,
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple = 0,
    dilation: int | tuple[int, int] = 1,
    *,
    rounding: Rounding = "strict",
    pad_value: float = 0.0,
):
    """Unfold every window of ``x`` into one row of a matrix (the book's ``im2col``).

    A convolution then becomes a single matrix product ``col @ W_col``.

    Shapes
    ------
    x: (N, C, H, W) -> col: (N*OH*OW, C*FH*FW); or x: (N, C, L) -> (N*OL, C*K).
    Rows run over (N, OH, OW), columns over (C, FH, FW), the book's order.

    ``pad_value`` fills the padding (``-inf`` for max pooling). The dtype of ``x`` is kept.

    Examples
    --------
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> im2col(x, 3).shape
    (4, 9)
    """
    k, s, pads, d = spatial_args(x.ndim, kernel_size, stride, padding, dilation)
    x4 = x[:, :, None, :] if x.ndim == 3 else x  # (N, C, L) -> (N, C, 1, L)
    (out_h, out_w), applied = window_geometry(x4.shape[2:], k, s, pads, d, rounding)
    xp = get_array_module(x)
    if xp is not np:  # on a GPU: one kernel instead of pad + strided view + transpose copy
        from .backend import cuda_kernels

        return cuda_kernels.im2col(xp, x4, k, s, applied, d, (out_h, out_w), pad_value)
    padded = pad(x4, applied, "zeros", pad_value)
    windows = window_view(padded, k, s, d, (out_h, out_w))  # (N, C, OH, OW, FH, FW)
    n, c = x4.shape[:2]
    # (N, C, OH, OW, FH, FW) -> (N, OH, OW, C, FH, FW) -> (N*OH*OW, C*FH*FW): the one copy
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * out_h * out_w, c * k[0] * k[1])


def col2im(
    col,
    input_shape: tuple[int, ...],
    kernel_size: int | tuple[int, int],
    stride: int | tuple[int, int] = 1,
    padding: int | tuple = 0,
    dilation: int | tuple[int, int] = 1,
    *,
    rounding: Rounding = "strict",
):
    """Fold a column matrix back onto the input (the adjoint of :func:`im2col`).

    Every element of ``col`` is **added** to the input position it was copied from. Where
    windows overlap, one input pixel appears in several rows, so its values are summed: that
    is exactly what backpropagation needs (the gradient of a pixel is the sum over every window
    that saw it), and it is why col2im is *not* the inverse of im2col. For example, with the 3x3
    input ``arange(9)``, a 2x2 kernel and stride 1, the centre pixel 4 sits in all four windows,
    so ``col2im(im2col(x))`` gives ``16`` there, not ``4``; corners appear once and come back
    unchanged. Only for non-overlapping windows (stride >= kernel) is col2im an inverse.

    Shapes
    ------
    col: (N*OH*OW, C*FH*FW), input_shape (N, C, H, W) -> (N, C, H, W); or the 1-D forms.
    Padding is cropped off: what was added to padding is dropped.
    """
    k, s, pads, d = spatial_args(len(input_shape), kernel_size, stride, padding, dilation)
    n, c, h, w = (*input_shape[:2], 1, input_shape[2]) if len(input_shape) == 3 else input_shape
    (out_h, out_w), applied = window_geometry((h, w), k, s, pads, d, rounding)
    if col.shape != (n * out_h * out_w, c * k[0] * k[1]):
        raise ShapeError(
            _("col2im: col has shape {shape}; input_shape {input_shape} with this kernel needs "
              "({rows}, {cols})", shape=col.shape, input_shape=tuple(input_shape),
              rows=n * out_h * out_w, cols=c * k[0] * k[1])
        )
    xp = get_array_module(col)
    if xp is not np:  # on a GPU: one gathering kernel instead of a loop over window offsets
        from .backend import cuda_kernels

        dx = cuda_kernels.col2im(xp, col, (n, c, h, w), k, s, applied, d, (out_h, out_w))
        return dx.reshape(input_shape)
    # (N*OH*OW, C*FH*FW) -> (N, OH, OW, C, FH, FW) -> (N, C, OH, OW, FH, FW), a view
    windows = col.reshape(n, out_h, out_w, c, k[0], k[1]).transpose(0, 3, 1, 2, 4, 5)
    (top, bottom), (left, right) = applied
    padded_shape = (n, c, h + top + bottom, w + left + right)
    dx = pad_adjoint(add_windows(windows, padded_shape, s, d), applied)
    return dx.reshape(input_shape)


def window_view(padded, kernel: tuple[int, int], stride: tuple[int, int],
                dilation: tuple[int, int], out_hw: tuple[int, int]):
    """A strided *view* (N, C, OH, OW, FH, FW) of every window of an already padded input.

    No data is copied: ``sliding_window_view`` only changes strides, and stride and dilation
    are further slices (``[::S]``, ``[::D]``). ``window_view(...)[n, c, i, j]`` is the window
    under output pixel (i, j).
    """
    xp = get_array_module(padded)
    span_h = dilation[0] * (kernel[0] - 1) + 1
    span_w = dilation[1] * (kernel[1] - 1) + 1
    # (N, C, Hp, Wp) -> (N, C, Hp-span_h+1, Wp-span_w+1, span_h, span_w)
    views = xp.lib.stride_tricks.sliding_window_view(padded, (span_h, span_w), axis=(2, 3))
    out_h, out_w = out_hw
    return views[:, :, : (out_h - 1) * stride[0] + 1 : stride[0],
                 : (out_w - 1) * stride[1] + 1 : stride[1], :: dilation[0], :: dilation[1]]


def window_offsets(kernel: tuple[int, int], stride: tuple[int, int],
                   dilation: tuple[int, int], out_hw: tuple[int, int]):
    """Yield ``(k, rows, cols)`` for each kernel offset ``(i, j)``, ``k = i*FW + j`` in order.

    ``padded[:, :, rows, cols]`` is then an (N, C, OH, OW) view holding element ``(i, j)`` of
    every window: for a fixed offset the OH x OW windows touch a regular grid of the padded
    input. Pooling and col2im loop over these FH*FW slices instead of copying whole windows.
    """
    out_h, out_w = out_hw
    for i in range(kernel[0]):
        r0 = i * dilation[0]
        for j in range(kernel[1]):
            c0 = j * dilation[1]
            rows = slice(r0, r0 + stride[0] * (out_h - 1) + 1, stride[0])
            cols = slice(c0, c0 + stride[1] * (out_w - 1) + 1, stride[1])
            yield i * kernel[1] + j, rows, cols


def add_windows(windows, padded_shape: tuple[int, int, int, int], stride: tuple[int, int],
                dilation: tuple[int, int]):
    """The adjoint of :func:`window_view`: add every window back where it came from.

    ``windows`` is (N, C, OH, OW, FH, FW), any strides (a broadcast view is fine). Returns a new
    array of ``padded_shape``. It takes FH*FW strided slice-adds into one buffer: for a kernel
    offset (i, j), the OH x OW output pixels touch a regular grid of input pixels.
    """
    xp = get_array_module(windows)
    _, _, out_h, out_w, kh, kw = windows.shape
    padded = xp.zeros(padded_shape, dtype=windows.dtype)
    for k, rows, cols in window_offsets((kh, kw), stride, dilation, (out_h, out_w)):
        padded[:, :, rows, cols] += windows[..., k // kw, k % kw]
    return padded


__all__ = [
    "ROUNDINGS",
    "add_windows",
    "col2im",
    "conv_output_size",
    "im2col",
    "pair",
    "padding_pairs",
    "spatial_args",
    "window_geometry",
    "window_offsets",
    "window_view",
]
