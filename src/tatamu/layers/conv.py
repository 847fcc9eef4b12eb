"""Convolution layers (the book's ``Convolution``, §7.4.3): im2col, then one matrix product.

Like the book and PyTorch, this is *cross-correlation*: the filter slides over the input as
it is, without the flip that the mathematical convolution applies. A learned filter does not
care (it would simply learn the flipped values), but a learner checking a hand example against
``scipy.signal.convolve2d`` will see the kernel rotated by 180°; use ``correlate2d`` instead.

``Conv1D`` is a thin wrapper: it views (N, C, L) as (N, C, 1, L) and runs ``Conv2D``'s math, so
there is one implementation to test and to make fast.
"""

from __future__ import annotations

import numpy as np

from ..backend.arrays import get_array_module, resolve_dtype
from ..errors import ConfigError
from ..i18n import _
from ..im2col import (
    Rounding,
    add_windows,
    padding_pairs,
    pair,
    spatial_args,
    window_view,
)
from ..padding import check_padding_mode, pad, pad_adjoint
from ..validate import as_rng, int_at_least, positive_int
from . import winograd
from .base import Layer, check_input, window_scratch_size
from .init import init_weight
from .layout import axis_order, empty_ordered
from .window import WindowGeometry

#: The Winograd path needs at least this many input channels (see Conv2D._winograd_applies).
WINOGRAD_MIN_CHANNELS = 4


class Conv2D(Layer):
    """Read book.py first; this is the same plus groups, dilation, padding modes, made fast.

    2-D convolution over (N, C, H, W), the book's ``Convolution`` (``layers/book.py``: im2col,
    one product ``col @ col_W``, col2im) plus: the im2col matrix stored transposed (``col_t``,
    so the copy runs along whole rows and backward is one product per group), ``groups``,
    ``dilation``, padding modes and asymmetric padding, a ``rounding`` choice, the window
    settled once (``self.window``), and the product written straight into NCHW without the
    final transpose. tests/test_fastpaths.py holds the two equal.

    Parameters
    ----------
    in_channels, out_channels : ``C`` and ``FN``.
    kernel_size, stride, dilation : int or (h, w) pair.
    padding : int, (h, w) pair, ``"valid"`` (no padding) or ``"same"`` (output size = input size;
        stride 1 only; an odd total puts the extra row/column at the bottom/right, as PyTorch).
    groups : split channels into groups convolved separately (``groups=C`` is depthwise).
    padding_mode : ``"zeros"``, ``"reflect"``, ``"replicate"`` or ``"circular"``.
    rounding : what to do when the size does not divide: see :func:`tatamu.conv_output_size`.
    init : ``"he"`` (default), ``"glorot"``, ``"torch"`` or a float std (the book used 0.01).

    Attributes: ``W`` (FN, C/groups, FH, FW), ``b`` (FN,), gradients ``dW``, ``db``.

    Shapes
    ------
    x: (N, C, H, W) -> y: (N, FN, OH, OW), dtype kept (float32 by default).

    Book names: ``filter_num`` = out_channels, ``filter_size`` = kernel_size, ``pad`` = padding.
    """

    param_names = ("W", "b")
    cache_names = ("_col_t", "_x_shape", "_out_shape", "_tiles", "_U", "_x_order")
    prefix = "conv"
    feature_maps = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        rounding: Rounding = "strict",
        *,
        init: str | float = "he",
        rng: np.random.Generator | int | None = None,
        dtype=None,
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.bias = dilation, groups, bias
        self.padding_mode, self.rounding, self.init = padding_mode, rounding, init
        self.dtype = resolve_dtype(dtype)
        shapes = self.param_shapes(self.config())  # checks channels, groups and kernel_size
        # The window arguments settled once, in 2-D form (Conv1D overrides _window_args);
        # interop, the drawing page and the learner's tools read them here, as layer.window.
        self.window = WindowGeometry(*self._window_args(), rounding=rounding,
                                     dims=len(shapes["W"]) - 2)
        for values, what in ((self.window.kernel, "kernel_size"), (self.window.stride, "stride"),
                             (self.window.dilation, "dilation")):
            if min(values) < 1:  # else W's shape or he init fails with a numpy/zero-division error
                raise ConfigError(_("{what} must be >= 1; got {value!r}",
                                    what=what, value=getattr(self, what)))
        check_padding_mode(padding_mode, self.window.padding)

        fh, fw = self.window.kernel
        fan_in = in_channels // groups * fh * fw
        self.W = init_weight(shapes["W"], fan_in, out_channels * fh * fw // groups,
                             init, as_rng(rng), self.dtype)
        self.b = np.zeros(shapes["b"], dtype=self.dtype) if bias else None
        if not bias:
            self.param_names = ("W",)
        self.dW = self.db = None
        # Cache for backward: the im2col matrix (transposed, col_t), the input's and
        # output's shapes; on the Winograd path the transformed input tiles and kernel instead
        # of col_t.
        self._col_t = None
        self._x_shape = None
        self._out_shape = None
        self._tiles = None
        self._U = None
        self._x_order = None

    @classmethod
    def param_shapes(cls, config):
        """``W`` (FN, C/groups, *kernel) and ``b`` (FN,) (none with ``bias=False``)."""
        c = {"groups": 1, "bias": True, **config}
        fn = positive_int(c.get("out_channels"), "out_channels")
        ch = positive_int(c.get("in_channels"), "in_channels")
        groups = positive_int(c["groups"], "groups")
        if ch % groups or fn % groups:
            raise ConfigError(
                _("in_channels ({ch}) and out_channels ({fn}) must both be divisible by groups "
                  "({groups})", ch=ch, fn=fn, groups=groups), param="groups", value=groups)
        kernel = cls._kernel_dims_of(c.get("kernel_size"))
        for k in kernel:  # else W's shape or he init fails with a numpy/zero-division error
            int_at_least(k, "kernel_size")
        shapes = {"W": (fn, ch // groups, *kernel)}
        return {**shapes, "b": (fn,)} if c["bias"] else shapes

    @staticmethod
    def _kernel_dims_of(kernel_size) -> tuple[int, ...]:
        return pair(kernel_size, "kernel_size")  # (FH, FW)

    def scratch_size(self, input_shape):
        return window_scratch_size(input_shape[0], self.output_shape(input_shape),
                                   self.window.kernel)

    def forward(self, x):
        check_input(self, x, 4, self.in_channels, self.dtype)
        return self._forward4d(x)

    def backward(self, dout):
        self._check_dout(dout, self._cached(self._out_shape))
        if self._tiles is not None:
            return self._backward_winograd(dout)
        return self._backward4d(dout)

    # -- the math, on 4-D arrays (Conv1D reuses it on (N, C, 1, L)) --------------------------
    def _forward4d(self, x):
        xp = get_array_module(x)
        n, c, h, w = x.shape
        win = self.window
        out_h, out_w = win.output_size((h, w), layer=self._label())
        check_padding_mode(self.padding_mode, win.padding, (h, w))
        if self._winograd_applies(x):
            return self._forward_winograd(x, (out_h, out_w))
        self._tiles = self._U = None  # this forward's cache is col_t
        # The mode fills the requested padding only; a "ceil" window's overrun beyond it is
        # absent (zeros), not more reflected/replicated/wrapped pixels.
        padded = pad(pad(x, win.padding, self.padding_mode), win.overrun((h, w)))
        windows = window_view(padded, win.kernel, win.stride, win.dilation, (out_h, out_w))
        g, fn = self.groups, self.out_channels
        # im2col, stored transposed: col_t is the book's col (N*OH*OW, C*FH*FW) turned on its
        # side. Copying the windows in this order runs along whole OW rows (the book's order
        # copies FW pixels at a time: 3-8x slower here), and backward's products become one
        # big matrix product per group, whatever the batch size.
        # (N, C, OH, OW, FH, FW) -> (C, FH, FW, N, OH, OW) -> (G, C/G*FH*FW, N*OH*OW): one copy
        col_t = windows.transpose(1, 4, 5, 0, 2, 3).reshape(g, -1, n * out_h * out_w)
        w_col = self.W.reshape(g, fn // g, -1)  # (FN, C/G, FH, FW) -> (G, FN/G, C/G*FH*FW)
        # Each group convolves its own C/G channels (G = 1: the book's col @ W_col, transposed),
        # one product per group; the result is channel-major, (FN, N, OH, OW) in memory.
        # (G, FN/G, C/G*FH*FW) @ (G, C/G*FH*FW, N*OH*OW) -> (G, FN/G, N*OH*OW)
        out = xp.matmul(w_col, col_t)
        if self.b is not None:
            out += self.b.reshape(g, fn // g, 1)  # one bias per output channel
        if self.caching:
            self._col_t, self._x_shape = col_t, x.shape
            self._out_shape = (n, fn, out_h, out_w)
        # (G, FN/G, N*OH*OW) -> (FN, N, OH, OW) -> (N, FN, OH, OW): a view, no transpose copy.
        # The layers after keep this layout (layers/layout.py), so backward's dout comes back
        # channel-major and its (FN, N*OH*OW) matrix is a view too (a 1.25M-float copy saved
        # in DeepConvNet's conv1).
        return out.reshape(fn, n, out_h, out_w).transpose(1, 0, 2, 3)

    def _backward4d(self, dout):
        col_t, x_shape = self._cached(self._col_t, self._x_shape)
        xp = get_array_module(dout)
        n, fn, out_h, out_w = dout.shape
        g = self.groups
        # (N, FN, OH, OW) -> (FN, N, OH, OW) -> (G, FN/G, N*OH*OW): rows match w_col's,
        # columns match col_t's (a copy of dout, small next to col_t)
        dout_g = dout.transpose(1, 0, 2, 3).reshape(g, fn // g, -1)
        self.db = dout_g.sum(axis=2).reshape(fn) if self.b is not None else None
        # (G, FN/G, N*OH*OW) @ (G, N*OH*OW, C/G*FH*FW) -> (G, FN/G, C/G*FH*FW)
        dw = xp.matmul(dout_g, col_t.transpose(0, 2, 1))
        self.dW = dw.reshape(self.W.shape)  # (G, FN/G, C/G*FH*FW) -> (FN, C/G, FH, FW)
        if not self.needs_input_grad:
            return None
        w_col = self.W.reshape(g, fn // g, -1)  # (G, FN/G, C/G*FH*FW)
        # (G, C/G*FH*FW, FN/G) @ (G, FN/G, N*OH*OW) -> (G, C/G*FH*FW, N*OH*OW)
        dcol_t = xp.matmul(w_col.transpose(0, 2, 1), dout_g)
        _, c, h, w = x_shape
        win = self.window
        # col2im, channel-major like col_t: (G, C/G*FH*FW, N*OH*OW) -> (C, FH, FW, N, OH, OW)
        # -> (C, N, OH, OW, FH, FW), a view; add_windows adds its (i, j) slices into (C, N, ...)
        windows = dcol_t.reshape(c, *win.kernel, n, out_h, out_w).transpose(0, 3, 4, 5, 1, 2)
        (top, bottom), (left, right) = win.applied_padding((h, w))
        padded_shape = (c, n, h + top + bottom, w + left + right)
        # (C, N, Hp, Wp) -> (N, C, Hp, Wp), a view
        dpadded = add_windows(windows, padded_shape, win.stride, win.dilation).transpose(1, 0, 2, 3)
        dpadded = pad_adjoint(dpadded, win.overrun((h, w)))  # the overrun's zeros: no gradient
        # one copy back to plain NCHW memory for the layer below
        return xp.ascontiguousarray(pad_adjoint(dpadded, win.padding, self.padding_mode))

    # -- the Winograd path: 3x3, stride 1 (layers/winograd.py) -------------------------------
    def _winograd_applies(self, x) -> bool:
        """3x3 kernel, stride S equal to dilation D (1 and 1 usually), one group, zero
        padding, NumPy arrays.

        With S = D > 1 every tap of every window falls on the rows and columns that are a
        multiple of S in the padded input, so the layer is a stride-1, undilated convolution
        of that subsampled grid (a quarter of the input for S = 2).

        Below 4 input channels the 16 products have too little to sum over (C = 1 writes 16
        output-sized matrices for a 9-term sum: 6x slower than im2col) and im2col is used.
        CuPy arrays take the im2col path, whose GPU kernels exist.
        """
        win = self.window
        return (win.kernel == (3, 3) and win.stride == win.dilation and self.groups == 1
                and self.padding_mode == "zeros"
                and self.in_channels >= WINOGRAD_MIN_CHANNELS and get_array_module(x) is np)

    def _winograd_grid(self, hw, out_hw):
        """Where the stride-1 convolution of the grid reads ``x``: for each axis
        (first input index, number of inputs used, padding before them on the grid).

        Grid index g is padded index S*g, input index S*g - P; the first input on the grid is
        at g0 = ceil(P / S); the convolution reads grid indices 0 .. O + 1.
        """
        grid = []
        for size, (before, _after), step, out in zip(hw, self.window.padding, self.window.stride,
                                                out_hw, strict=True):
            g0 = -(-before // step)
            first = step * g0 - before
            used = max(0, min(-(-(size - first) // step), out + 2 - g0))
            grid.append((first, used, g0))
        return grid

    def _forward_winograd(self, x, out_hw):
        reuse, self._tiles, self._U = self._tiles, None, None  # a failure leaves no cache
        (r0, h_used, top), (c0, w_used, left) = self._winograd_grid(x.shape[2:], out_hw)
        (sh, sw) = self.window.stride
        # the inputs on the grid: all of x for stride 1, every S-th row and column else
        x_grid = x[:, :, r0 : r0 + sh * h_used : sh, c0 : c0 + sw * w_used : sw]
        U = winograd.kernel_transform(self.W)  # (FN, C, 3, 3) -> (16, C, FN)
        # (Hp, 2, Wp/2, N, C), in scratch memory: only this forward reads it
        xp = winograd.padded_input(x_grid, (top, left), out_hw, scratch=True)
        # the previous step's tiles are written over (the cache held them until now)
        y, tiles = winograd.forward(xp, U, out_hw, self.b, keep_tiles=self.caching,
                                    reuse=reuse)
        if self.caching:
            self._tiles, self._U, self._x_shape = tiles, U, x.shape
            self._x_order = axis_order(x)
            self._out_shape = (x.shape[0], self.out_channels, *out_hw)
        # (OH, OW, N, FN) -> (N, FN, OH, OW): a view; the memory stays HWNC, which the next
        # layers keep (elementwise results follow their input's layout) and the next
        # convolution reads without a transpose.
        return y.transpose(2, 3, 0, 1)

    def _backward_winograd(self, dout):
        n, c, h, w = self._x_shape
        out_hw = self._out_shape[2:]
        # (N, FN, OH, OW) -> (OH, OW, N, FN), a view (contiguous when dout is HWNC memory)
        dxq, dU, db = winograd.backward(dout.transpose(2, 3, 0, 1), self._tiles, self._U,
                                        need_dx=self.needs_input_grad)
        self.dW = winograd.kernel_transform_grad(dU)  # (16, C, FN) -> (FN, C, 3, 3)
        self.db = db if self.b is not None else None
        if dxq is None:
            return None
        (r0, h_used, top), (c0, w_used, left) = self._winograd_grid((h, w), out_hw)
        # dx in the layout x came in (HWNC after another Winograd layer, NCHW after others),
        # so that the layer below multiplies arrays of one layout (a ReLU's backward took
        # 2.3 ms instead of 0.5 on mixed ones); zeros only where inputs went unread.
        whole = self.window.stride == (1, 1) and (h_used, w_used) == (h, w)
        dx = empty_ordered(np, (n, c, h, w), self._x_order, dout.dtype, zeros=not whole)
        # Inputs off the grid (stride S = D > 1), or past the last window, never met the
        # kernel: their gradient stays zero.
        (sh, sw) = self.window.stride
        grid = dx[:, :, r0 : r0 + sh * h_used : sh, c0 : c0 + sw * w_used : sw]
        winograd.unpadded_gradient(dxq, (top, left), grid)
        return dx

    # -- geometry --------------------------------------------------------------------------
    def _window_args(self):
        k = pair(self.kernel_size, "kernel_size")
        d = pair(self.dilation, "dilation")
        s = pair(self.stride, "stride")
        return k, s, self._resolve_padding(self.padding, k, s, d, padding_pairs), d

    @staticmethod
    def _resolve_padding(padding, k, s, d, to_pairs):
        if padding == "valid":
            return tuple((0, 0) for _axis in k)
        if padding == "same":
            if any(si != 1 for si in s):
                raise ConfigError(
                    _("padding='same' needs stride 1 (as in PyTorch): with stride > 1 no "
                      "padding keeps the size; give an int padding instead.")
                )
            # total D*(K-1); an odd total puts the extra at the end, like PyTorch
            return tuple((di * (ki - 1) // 2, di * (ki - 1) - di * (ki - 1) // 2)
                         for ki, di in zip(k, d, strict=True))
        if isinstance(padding, str):
            raise ConfigError(_("padding must be an int, a pair, 'valid' or 'same'; got "
                                "{padding!r}", padding=padding))
        return to_pairs(padding)

    def output_shape(self, input_shape):
        c, h, w = input_shape
        out_h, out_w = self.window.output_size((h, w), layer=self._label())
        return (self.out_channels, out_h, out_w)


class Conv1D(Conv2D):
    """1-D convolution over (N, C, L), running Conv2D's math on (N, C, 1, L).

    Same arguments as :class:`Conv2D` with ints for kernel_size, stride, padding, dilation.
    ``W`` has shape (FN, C/groups, K) as in PyTorch's ``Conv1d``.

    Shapes
    ------
    x: (N, C, L) -> y: (N, FN, OL).
    """

    def forward(self, x):
        check_input(self, x, 3, self.in_channels, self.dtype)
        return self._forward4d(x[:, :, None, :])[:, :, 0, :]  # (N, C, L) -> (N, C, 1, L) -> ...

    def backward(self, dout):
        n, fn, _, length = self._cached(self._out_shape)
        self._check_dout(dout, (n, fn, length))
        dx = self._backward4d(dout[:, :, None, :])  # (N, FN, OL) -> (N, FN, 1, OL)
        return None if dx is None else dx[:, :, 0, :]

    def _window_args(self):
        if self.padding in ("valid", "same"):
            k, s, _, d = spatial_args(3, self.kernel_size, self.stride, 0, self.dilation)
            return k, s, self._resolve_padding(self.padding, k, s, d, None), d
        return spatial_args(3, self.kernel_size, self.stride, self.padding, self.dilation)

    @staticmethod
    def _kernel_dims_of(kernel_size) -> tuple[int, ...]:
        return spatial_args(3, kernel_size, 1, 0, 1)[0][1:]  # (1, K) -> (K,)

    def output_shape(self, input_shape):
        c, length = input_shape
        fn, _, out_l = super().output_shape((c, 1, length))
        return (fn, out_l)
