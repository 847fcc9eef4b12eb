"""Pooling layers (the book's ``Pooling``, §7.3 and §7.4.4): max or mean over each window.

Unlike the book, padding is honoured (as ``-inf`` for max pooling, so a border never wins;
as zeros for average pooling, counted or not by ``count_include_pad``), windows may overlap
(stride < kernel), and a size that does not divide is refused unless ``rounding`` says
otherwise. The 1-D layers view (N, C, L) as (N, C, 1, L) and run the 2-D code.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend.arrays import get_array_module
from ..errors import ConfigError
from ..i18n import _
from ..im2col import (
    Rounding,
    pair,
    spatial_args,
    window_offsets,
    window_view,
)
from ..padding import pad, pad_adjoint
from .base import Layer, check_input, window_scratch_size
from .layout import axis_order, dense_strides, ordered_view
from .window import WindowGeometry


class _Pool2D(Layer):
    """Shared geometry of the 2-D pools: kernel, stride (default: the kernel), padding."""

    cache_names = ("_x_shape",)
    prefix = "pool"
    feature_maps = True

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, rounding="strict"):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.rounding = dilation, rounding
        # The window arguments settled once, in 2-D form (the 1-D pools override
        # _window_args); interop and the learner's tools read them here, as layer.window.
        self.window = WindowGeometry(*self._window_args(), rounding=rounding,
                                     dims=1 if isinstance(self, _Pool1D) else 2)
        for (before, after), k in zip(self.window.padding, self.window.kernel, strict=True):
            if max(before, after) > k // 2:
                raise ConfigError(
                    _("{type}: padding must be at most half the kernel size (kernel {k}, "
                      "padding {max}), as in PyTorch: a window made mostly of padding has "
                      "nothing to pool.", type=type(self).__name__, k=k, max=max(before, after))
                )
        # Windows overlap when a step is shorter than a window's span; then input pixels
        # are shared and backward must add up their gradients instead of just writing them.
        self._overlapping = self.window.overlapping
        self._x_shape = None  # cache for backward: the input's shape

    def _window_args(self):
        k = pair(self.kernel_size, "kernel_size")
        s = k if self.stride is None else pair(self.stride, "stride")
        return spatial_args(4, k, s, self.padding, self.dilation)

    def _geometry(self, x_shape):
        """((OH, OW), applied padding) for an input of this shape."""
        win = self.window
        return win.output_size(x_shape[2:], layer=self._label()), win.applied_padding(x_shape[2:])

    def _padded_shape(self, x_shape, pads):
        (top, bottom), (left, right) = pads
        n, c, h, w = x_shape
        return (n, c, h + top + bottom, w + left + right)

    def forward(self, x):
        check_input(self, x, 4)
        return self._forward4d(x)

    def backward(self, dout):
        x_shape = self._cached(self._x_shape)
        (out_h, out_w), _ = self._geometry(x_shape)
        self._check_dout(dout, (*x_shape[:2], out_h, out_w))
        return self._backward4d(dout)

    def output_shape(self, input_shape):
        (out_h, out_w), _ = self._geometry((1, *input_shape))
        return (input_shape[0], out_h, out_w)

    def scratch_size(self, input_shape):
        return window_scratch_size(input_shape[0], self.output_shape(input_shape),
                                   self.window.kernel)


class MaxPool2D(_Pool2D):
    """Read book.py first; this is the same plus no im2col copy, dilation and overlaps.

    Max pooling over (N, C, H, W), the book's ``Pooling`` (``layers/book.py``: im2col, one
    window a row, each row's max; backward sends dout to each row's argmax and folds it with
    col2im) plus: no im2col copy (the FH*FW window elements are visited as strided slices of
    the input, the winner tracked as they go, and only while training; no col2im: backward
    scatters dout to the winners' flat positions in one pass), ``dilation``, overlapping
    windows, a ``rounding`` choice and a default stride equal to the kernel. The output and
    the gradient keep the input's memory layout (``layers/layout.py``). tests/test_fastpaths.py
    holds the two equal.

    ``stride=None`` means ``stride = kernel_size`` (non-overlapping windows). Gradient flows
    only to the first maximum of each window, as in PyTorch.

    Shapes
    ------
    x: (N, C, H, W) -> y: (N, C, OH, OW).
    """

    cache_names = ("_x_shape", "_winner", "_order")

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        dilation: int | tuple[int, int] = 1,
        rounding: Rounding = "strict",
    ) -> None:
        super().__init__(kernel_size, stride, padding, dilation, rounding)
        # cache for backward: where each window's winner lies (a flat position, see
        # _flat_positions), and the input's memory layout (layers/layout.py), which backward's
        # gradient keeps
        self._winner = None
        self._order = None
        self._corners = None  # not a cache: see _flat_positions

    def _forward4d(self, x):
        xp = get_array_module(x)
        out_hw, pads = self._geometry(x.shape)
        # -inf padding never wins a max, so the border acts as if it were absent.
        padded = pad(x, pads, "zeros", -np.inf)
        # The book copies every window into a row (im2col) and takes max/argmax of the rows.
        # The same result without the copy: visit the FH*FW window elements one at a time;
        # element k of every window is one strided (N, C, OH, OW) slice of the input.
        # Only backward needs the winners: in eval mode (caching off) they are not tracked.
        win = self.window
        index_type = np.min_scalar_type(win.kernel[0] * win.kernel[1])  # uint8 below 256
        for k, rows, cols in window_offsets(win.kernel, win.stride, win.dilation, out_hw):
            v = padded[:, :, rows, cols]  # (N, C, OH, OW)
            if k == 0:
                # in the input's memory layout (layers/layout.py): empty_like keeps the order
                # of v's axes in memory ("K"), where v.copy() would make it NCHW
                out = xp.empty_like(v)
                out[...] = v
                argmax = xp.zeros_like(out, dtype=index_type) if self.caching else None
                continue
            if argmax is not None:
                # Strictly greater: on a tie the earlier element stays the winner (the first
                # maximum, as argmax and PyTorch choose). k only grows, so the newest winner
                # has the largest index and maximum() records it without a masked write.
                xp.maximum(argmax, (v > out) * index_type.type(k), out=argmax)
            xp.maximum(out, v, out=out)
        if self.caching:
            # the positions are built here rather than in backward: the forward pass has time
            # to spare (~0.3x PyTorch's) and backward becomes a single scatter
            self._x_shape, self._order = x.shape, axis_order(padded)
            self._winner = self._flat_positions(argmax, padded.shape, self._order)
        return out

    def _backward4d(self, dout):
        winner, order = self._cached(self._winner, self._order)
        xp = get_array_module(dout)
        _, pads = self._geometry(self._x_shape)
        padded_shape = self._padded_shape(self._x_shape, pads)
        # (N, C, OH, OW) -> (N*C*OH*OW,) both, in the same order (1-D: add.at's fast path)
        winner = winner.reshape(-1)
        dout = dout.reshape(-1)
        flat = xp.zeros(math.prod(padded_shape), dtype=dout.dtype)
        if not self._overlapping:
            # Each output gradient goes to its window's winner; disjoint windows never share
            # a pixel, so one scatter writes them all (as PyTorch does with its indices).
            flat[winner] = dout
        elif xp is np:
            # Overlapping windows: a pixel can win several windows and its gradients must be
            # *added*; add.at sums repeated positions (a plain scatter keeps only the last).
            np.add.at(flat, winner, dout)
        else:  # CuPy: bincount sums the gradients landing on each position
            flat = xp.bincount(winner, weights=dout, minlength=flat.size).astype(dout.dtype)
        # the buffer seen as (N, C, Hp, Wp) in the forward input's layout, padding cropped off
        return pad_adjoint(ordered_view(flat, padded_shape, order), pads)

    def _flat_positions(self, argmax, padded_shape, order):
        """Each window's winner as a flat position in a dense buffer of the padded input's
        shape laid out in ``order``: the corner of its window plus the winner's offset in it.

        The corners depend only on the shapes and the layout, so they are computed once and
        kept (``_corners``) while those stay the same, as they do from step to step.

        Shapes: argmax (N, C, OH, OW), the winner's element k = i*FW + j -> same shape, intp.
        """
        xp = get_array_module(argmax)
        n, c, out_h, out_w = argmax.shape
        key = (xp.__name__, padded_shape, order, argmax.shape)
        sn, sc, sh, sw = dense_strides(padded_shape, order)
        win = self.window
        (fh, fw), (s_h, s_w), (d_h, d_w) = win.kernel, win.stride, win.dilation
        if self._corners is None or self._corners[0] != key:
            # window (n, c, oh, ow)'s top-left pixel, broadcast from (N,1,1,1) ... (OW,)
            corner = ((xp.arange(n) * sn).reshape(n, 1, 1, 1) + (xp.arange(c) * sc).reshape(c, 1, 1)
                      + (xp.arange(out_h) * (s_h * sh)).reshape(out_h, 1)
                      + xp.arange(out_w) * (s_w * sw))
            self._corners = (key, corner)
        # element k of a window lies i*D rows and j*D columns from its corner: (FH*FW,)
        offset = ((xp.arange(fh) * (d_h * sh)).reshape(fh, 1) + xp.arange(fw) * (d_w * sw))
        # int32 when it fits: take() from a small int32 table is ~10x faster than from intp
        offset = offset.reshape(-1).astype(np.int32 if math.prod(padded_shape) < 2**31 else np.intp)
        # (N, C, OH, OW) intp, C-contiguous like the corners
        return self._corners[1] + xp.take(offset, argmax)


class AvgPool2D(_Pool2D):
    """Average pooling over (N, C, H, W) windows.

    ``count_include_pad=True`` (PyTorch's default) divides by the whole window, padding
    included; ``False`` divides by the number of real input pixels in the window.

    Shapes
    ------
    x: (N, C, H, W) -> y: (N, C, OH, OW).
    """

    cache_names = ("_x_shape", "_divisor")

    def __init__(
        self,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] | None = None,
        padding: int | tuple[int, int] = 0,
        rounding: Rounding = "strict",
        count_include_pad: bool = True,
    ) -> None:
        super().__init__(kernel_size, stride, padding, 1, rounding)
        self.count_include_pad = count_include_pad
        self._divisor = None  # cache for backward: (OH, OW) count of each window

    def _counts(self, x, pads, out_hw):
        """How many pixels each window averages over, shape (OH, OW).

        Padding counts when ``count_include_pad``; the overrun of a ``ceil`` window never does
        (PyTorch's rule), so it is padded separately with zeros.
        """
        xp = get_array_module(x)
        ones = xp.ones((1, 1, *x.shape[2:]), dtype=x.dtype)
        if self.count_include_pad:
            overrun = self.window.overrun(x.shape[2:])
            ones = pad(pad(ones, self.window.padding, "zeros", 1.0), overrun, "zeros", 0.0)
        else:
            ones = pad(ones, pads, "zeros", 0.0)
        win = self.window
        return window_view(ones, win.kernel, win.stride, win.dilation, out_hw).sum(
            axis=(-2, -1))[0, 0]

    def _forward4d(self, x):
        out_hw, pads = self._geometry(x.shape)
        padded = pad(x, pads)
        # Sum the FH*FW strided slices (element k of every window) rather than reducing the
        # (..., FH, FW) window view: FH*FW fast passes instead of a reduction over tiny axes.
        win = self.window
        for k, rows, cols in window_offsets(win.kernel, win.stride, win.dilation, out_hw):
            if k == 0:
                out = padded[:, :, rows, cols].copy()  # (N, C, OH, OW)
            else:
                out += padded[:, :, rows, cols]
        divisor = self._counts(x, pads, out_hw)  # (OH, OW)
        out /= divisor  # (N, C, OH, OW)
        if self.caching:
            self._x_shape, self._divisor = x.shape, divisor
        return out

    def _backward4d(self, dout):
        divisor = self._cached(self._divisor)
        out_hw, pads = self._geometry(self._x_shape)
        xp = get_array_module(dout)
        share = dout / divisor  # (N, C, OH, OW): each pixel of a window gets an equal share
        dpadded = xp.zeros(self._padded_shape(self._x_shape, pads), dtype=dout.dtype)
        win = self.window
        for _index, rows, cols in window_offsets(win.kernel, win.stride, win.dilation, out_hw):
            if self._overlapping:
                dpadded[:, :, rows, cols] += share  # pixels shared by windows sum their shares
            else:
                dpadded[:, :, rows, cols] = share
        return pad_adjoint(dpadded, pads)


class _Pool1D:
    """Mixin: a 1-D pool runs the 2-D pool on (N, C, 1, L) with a (1, K) window."""

    def _window_args(self):
        k = self.kernel_size
        s = k if self.stride is None else self.stride
        return spatial_args(3, k, s, self.padding, self.dilation)

    def forward(self, x):
        check_input(self, x, 3)
        return self._forward4d(x[:, :, None, :])[:, :, 0, :]  # (N, C, L) -> (N, C, 1, L)

    def backward(self, dout):
        x_shape = self._cached(self._x_shape)
        (_, out_l), _ = self._geometry(x_shape)
        self._check_dout(dout, (x_shape[0], x_shape[1], out_l))
        return self._backward4d(dout[:, :, None, :])[:, :, 0, :]

    def output_shape(self, input_shape):
        c, length = input_shape
        (_, out_l), _ = self._geometry((1, c, 1, length))
        return (c, out_l)


class MaxPool1D(_Pool1D, MaxPool2D):
    """Max pooling over (N, C, L). Shapes: x (N, C, L) -> (N, C, OL)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0,
                 dilation: int = 1, rounding: Rounding = "strict") -> None:
        MaxPool2D.__init__(self, kernel_size, stride, padding, dilation, rounding)


class AvgPool1D(_Pool1D, AvgPool2D):
    """Average pooling over (N, C, L). Shapes: x (N, C, L) -> (N, C, OL)."""

    def __init__(self, kernel_size: int, stride: int | None = None, padding: int = 0,
                 rounding: Rounding = "strict", count_include_pad: bool = True) -> None:
        AvgPool2D.__init__(self, kernel_size, stride, padding, rounding, count_include_pad)


class GlobalAvgPool2D(Layer):
    """Mean over all of H and W: (N, C, H, W) -> (N, C), ready for a Linear layer."""

    cache_names = ("_x_shape",)
    prefix = "pool"

    def __init__(self) -> None:
        super().__init__()
        self._x_shape = None  # cache for backward: the input's shape

    def forward(self, x):
        check_input(self, x, 4)
        if self.caching:
            self._x_shape = x.shape
        return x.mean(axis=(2, 3))

    def backward(self, dout):
        n, c, h, w = self._cached(self._x_shape)
        self._check_dout(dout, (n, c))
        xp = get_array_module(dout)
        # (N, C) -> (N, C, H, W): every pixel had weight 1/(H*W) in the mean
        return xp.broadcast_to((dout / (h * w))[:, :, None, None], (n, c, h, w)).copy()

    def output_shape(self, input_shape):
        return (input_shape[0],)
