"""The book's layers, written the book's way: read this file first (ゼロから作るDeep Learning 7章).

Everything chapter 7 builds is here, top to bottom, without leaving the file: the output-size
formula (eq. 7.1), ``im2col`` and ``col2im`` as the book's ``common/util.py`` writes them (one
strided slice per filter position), then ``Convolution`` and ``Pooling`` on top of them
(``common/layers.py``: forward unfolds every window into a row and takes *one* matrix product,
or each row's max; backward folds the gradient back with ``col2im``), and ``Affine``, ``Relu``
and ``SoftmaxWithLoss``, which complete the book's network. ``Conv2D``, ``MaxPool2D``,
``Linear``, ``ReLU`` and ``SoftmaxCrossEntropy`` elsewhere in tatamu are the same math made
faster and more general, and tests/test_fastpaths.py holds them equal to these.

Differences from the book, each for a reason:
- a size that does not divide is refused (:func:`output_size`; the book's ``int()`` silently
  drops the last rows); ``im2col``/``col2im`` themselves still floor, as the book's do, for a
  learner's code that calls them;
- the layers keep W's float dtype (float32 when W is a list or integers, or ``dtype=``), and
  every array they make has the input's dtype (the book's ``np.zeros`` is float64): a float32
  network stays float32;
- ``Relu.backward`` copies ``dout`` before zeroing it (the book writes into the caller's array);
- ``Pooling`` pads with ``-inf`` so a border never wins a max (the book pads with 0);
- arrays are made with ``xp`` (NumPy, or CuPy for arrays on a GPU) where the book says ``np``;
- they obey tatamu's Layer contract (``params()``, ``grads()``, ``train()``/``eval()``, a
  declared cache, input checks with clear messages), so they sit in a ``Sequential``.

Notation: N batch, C channels, H/W height/width, FN filters, FH/FW filter size, OH/OW output
size, P pad, S stride. The imports are absolute so that this file also runs when copied next
to a learner's code.
"""

from __future__ import annotations

import numpy as np

from tatamu.backend.arrays import get_array_module, resolve_dtype
from tatamu.errors import ConfigError, Fix, ShapeError, StateError
from tatamu.i18n import _, ngettext
from tatamu.layers.base import Layer, check_input


# -- the output size: the book's eq. 7.1 ------------------------------------------------------
def output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0, *,
                where: str = "", axis: str = "H") -> int:
    """``OH = (H + 2P - FH) / S + 1``: how many positions a window takes along one axis.

    The book writes ``1 + int((H + 2*pad - FH) / stride)``; where the windows do not tile the
    padded input exactly, ``int()`` drops the last rows unseen. Here that is refused, with the
    nearest ``pad`` that fits. ``where`` and ``axis`` name the layer and axis in the message.

    >>> output_size(4, 3), output_size(28, 5, stride=1, pad=2), output_size(7, 3, stride=2)
    (2, 28, 3)
    """
    room = input_size + 2 * pad - filter_size  # how far the window slides along this axis
    if room < 0:
        raise ConfigError(_("{where}the window ({filter_size} along {axis}) is larger than "
                            "{axis}={input_size} + 2*pad {pad}: use a larger input or more pad",
                            where=where, filter_size=filter_size, axis=axis,
                            input_size=input_size, pad=pad), param="pad", value=pad)
    if room % stride:
        # 2*pad moves room by 2 a step: with an even stride no pad may fit
        fits = [Fix("pad", p) for p in range(pad + 1, pad + stride + 1)
                if (input_size + 2 * p - filter_size) % stride == 0][:1]
        unseen = room % stride
        dropped = (ngettext("the book's int() would drop the last {n} row unseen",
                            "the book's int() would drop the last {n} rows unseen", unseen)
                   if axis == "H" else
                   ngettext("the book's int() would drop the last {n} column unseen",
                            "the book's int() would drop the last {n} columns unseen", unseen))
        raise ConfigError(
            _("{where}output size along {axis} does not divide: ({axis}={input_size} + 2*{pad} "
              "- {filter_size}) / {stride} + 1 = {size:.3g} ({dropped}). Fix: ", where=where,
              axis=axis, input_size=input_size, pad=pad, filter_size=filter_size, stride=stride,
              size=room / stride + 1, dropped=dropped),
            *fits, *[_(" or ")] * len(fits), _("another stride or filter size"), param="pad",
            value=pad)
    return room // stride + 1


# -- the book's common/util.py: im2col and col2im, with the book's signatures ----------------
def im2col(input_data, filter_h, filter_w, stride=1, pad=0, *, pad_value=0.0):
    """Unfold every FH x FW window of the input into one row of a matrix (the book's §7.4.3).

    Shapes: input_data (N, C, H, W) -> col (N*OH*OW, C*FH*FW); rows run over (N, OH, OW), the
    columns of a row over (C, FH, FW). Like the book, a size that does not divide is floored
    (the layers below refuse it first). ``pad_value`` is tatamu's (``-inf`` for max pooling).
    """
    xp = get_array_module(input_data)  # NumPy, or CuPy for an array on a GPU
    N, C, H, W = input_data.shape  # (N, C, H, W)
    out_h = (H + 2 * pad - filter_h) // stride + 1  # OH: eq. 7.1, floored as the book does
    out_w = (W + 2 * pad - filter_w) // stride + 1  # OW
    # (N, C, H, W) -> (N, C, H + 2P, W + 2P)
    img = xp.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant",
                 constant_values=pad_value)
    # (N, C, FH, FW, OH, OW): col[n, c, y, x] is element (y, x) of every window of image n, c
    col = xp.zeros((N, C, filter_h, filter_w, out_h, out_w), dtype=input_data.dtype)
    # Not one window at a time but one filter position (y, x) at a time: the pixels under
    # position (y, x) of every window form a strided grid, one slice (N, C, OH, OW) of img.
    for y in range(filter_h):  # FH filter rows
        y_max = y + stride * out_h  # the slice y, y+S, ... stops before y_max: OH rows
        for x in range(filter_w):  # FW filter columns
            x_max = x + stride * out_w  # OW columns
            col[:, :, y, x, :, :] = img[:, :, y:y_max:stride, x:x_max:stride]  # (N, C, OH, OW)
    # (N, C, FH, FW, OH, OW) -> (N, OH, OW, C, FH, FW) -> (N*OH*OW, C*FH*FW): a window a row
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


def col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """Fold the rows back onto the input, *adding* where windows overlap (backward's im2col).

    Not the inverse of im2col: a pixel seen by several windows gets the sum of their values,
    which is exactly its gradient. The padding is cropped off.

    Shapes: col (N*OH*OW, C*FH*FW) -> (N, C, H, W) = input_shape.
    """
    xp = get_array_module(col)  # NumPy, or CuPy for an array on a GPU
    N, C, H, W = input_shape  # (N, C, H, W): the shape to fold back into
    out_h = (H + 2 * pad - filter_h) // stride + 1  # OH, as im2col computed it
    out_w = (W + 2 * pad - filter_w) // stride + 1  # OW
    # (N*OH*OW, C*FH*FW) -> (N, OH, OW, C, FH, FW) -> (N, C, FH, FW, OH, OW), im2col undone
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    # (N, C, H + 2P + S - 1, W + 2P + S - 1): the book's S - 1 spare rows and columns (the
    # slices below stay inside H + 2P; the spares are cropped off with the padding)
    img = xp.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(filter_h):  # FH filter rows
        y_max = y + stride * out_h  # OH rows, every S-th from y
        for x in range(filter_w):  # FW filter columns
            x_max = x + stride * out_w  # OW columns, every S-th from x
            # += (not =): a pixel under several windows collects every window's share
            img[:, :, y:y_max:stride, x:x_max:stride] += col[:, :, y, x, :, :]  # (N, C, OH, OW)
    return img[:, :, pad:H + pad, pad:W + pad]  # crop the padding -> (N, C, H, W)


# -- the layers (the book's common/layers.py) ---------------------------------------------------
def _params(W, b, dtype):
    """W and b as arrays of one float dtype: ``dtype`` if given, else W's own float dtype (the
    array is kept, not copied, so a caller holding it, like the book's ``network.params``, sees
    every update), else float32 (W given as a list or as integers)."""
    if dtype is None and getattr(W, "dtype", np.dtype(int)).kind == "f":
        dtype = W.dtype
    dtype = resolve_dtype(dtype)
    xp = get_array_module(W) if hasattr(W, "dtype") else np
    return xp.asarray(W, dtype=dtype), xp.asarray(b, dtype=dtype)


def _nested_shape(value) -> tuple[int, ...]:
    """The shape of a nested list (a weight in a config) read from its first elements, so a
    checkpoint's guard learns it without building the array."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0] if value else None
    return tuple(shape)


class Convolution(Layer):
    """The book's ``Convolution(W, b, stride=1, pad=0)``: im2col, then one matrix product.

    Shapes
    ------
    W: (FN, C, FH, FW), b: (FN,); x: (N, C, H, W) -> out: (N, FN, OH, OW),
    OH = (H + 2*pad - FH) / stride + 1 (refused when it does not divide).

    Example
    -------
    >>> x = np.array([[[[1, 2, 3, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 3, 0, 1]]]], np.float32)
    >>> W = np.array([[[[2, 0, 1], [0, 1, 2], [1, 0, 2]]]], np.float32)
    >>> Convolution(W, np.zeros(1)).forward(x)[0, 0].tolist()  # the book's Fig. 7-3
    [[15.0, 16.0], [6.0, 15.0]]
    """

    prefix = "conv"  # named conv1, conv2... in a Sequential, like Conv2D
    feature_maps = True  # its outputs are drawn by tatamu show feature-maps

    param_names = ("W", "b")
    cache_names = ("_x", "_col", "_col_W")

    def __init__(self, W, b, stride: int = 1, pad: int = 0, *, dtype=None) -> None:
        super().__init__()
        self.W, self.b = _params(W, b, dtype)  # (FN, C, FH, FW), (FN,)
        if self.W.ndim != 4 or self.b.shape != self.W.shape[:1]:
            raise ConfigError(_("Convolution: W must be (FN, C, FH, FW) and b (FN,); got W "
                                "{W_shape}, b {b_shape}", W_shape=self.W.shape,
                                b_shape=self.b.shape))
        self.stride, self.pad, self.dtype = stride, pad, self.W.dtype
        self.dW = self.db = None
        # Cache for backward (the book's self.x, self.col, self.col_W).
        self._x = self._col = self._col_W = None

    def forward(self, x):
        check_input(self, x, 4, self.W.shape[1], self.dtype)
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape  # W is the width here; the weights are always self.W
        out_h, out_w = self.output_shape(x.shape[1:])[1:]
        col = im2col(x, FH, FW, self.stride, self.pad)  # (N*OH*OW, C*FH*FW)
        col_W = self.W.reshape(FN, -1).T  # (FN, C, FH, FW) -> (C*FH*FW, FN)
        out = col @ col_W + self.b  # (N*OH*OW, C*FH*FW) @ (C*FH*FW, FN) -> (N*OH*OW, FN)
        # (N*OH*OW, FN) -> (N, OH, OW, FN) -> (N, FN, OH, OW)
        out = out.reshape(N, out_h, out_w, FN).transpose(0, 3, 1, 2)
        if self.caching:
            self._x, self._col, self._col_W = x, col, col_W
        return out

    def backward(self, dout):
        x, col, col_W = self._cached(self._x, self._col, self._col_W)
        FN, C, FH, FW = self.W.shape
        self._check_dout(dout, (x.shape[0], FN, *self.output_shape(x.shape[1:])[1:]))
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)  # (N, FN, OH, OW) -> (N*OH*OW, FN)
        self.db = dout.sum(axis=0)  # (N*OH*OW, FN) -> (FN,)
        self.dW = col.T @ dout  # (C*FH*FW, N*OH*OW) @ (N*OH*OW, FN) -> (C*FH*FW, FN)
        # (C*FH*FW, FN) -> (FN, C*FH*FW) -> (FN, C, FH, FW)
        self.dW = self.dW.transpose(1, 0).reshape(FN, C, FH, FW)
        if not self.needs_input_grad:
            return None
        dcol = dout @ col_W.T  # (N*OH*OW, FN) @ (FN, C*FH*FW) -> (N*OH*OW, C*FH*FW)
        return col2im(dcol, x.shape, FH, FW, self.stride, self.pad)  # -> (N, C, H, W)

    def output_shape(self, input_shape):
        """(FN, OH, OW) for one sample (C, H, W), by :func:`output_size` (eq. 7.1)."""
        _, FH, FW = self.W.shape[1:]
        where = f"{self._label()}: "
        out_h = output_size(input_shape[1], FH, self.stride, self.pad, where=where, axis="H")
        out_w = output_size(input_shape[2], FW, self.stride, self.pad, where=where, axis="W")
        return (self.W.shape[0], out_h, out_w)

    @classmethod
    def param_shapes(cls, config):
        """The shapes of W and b as the config lists them (the weights are its arguments)."""
        return {"W": _nested_shape(config["W"]), "b": _nested_shape(config["b"])}

    def config(self):
        """The weights are the constructor's arguments here, so they are the config."""
        return {"W": self.W.tolist(), "b": self.b.tolist(), "stride": self.stride,
                "pad": self.pad, "dtype": str(self.dtype)}

    def __repr__(self):
        return f"Convolution(W{self.W.shape}, b{self.b.shape}, stride={self.stride}, " \
               f"pad={self.pad})"


class Pooling(Layer):
    """The book's ``Pooling(pool_h, pool_w, stride=2, pad=0)``: im2col, then each row's max.

    Shapes
    ------
    x: (N, C, H, W) -> out: (N, C, OH, OW), OH = (H + 2*pad - pool_h) / stride + 1.

    Example
    -------
    >>> x = np.array([[[[1, 2, 1, 0], [0, 1, 2, 3], [3, 0, 1, 2], [2, 4, 0, 1]]]], np.float32)
    >>> Pooling(2, 2).forward(x)[0, 0].tolist()  # the book's Fig. 7-14
    [[2.0, 3.0], [4.0, 2.0]]
    """

    prefix = "pool"
    feature_maps = True

    cache_names = ("_x", "_arg_max")

    def __init__(self, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0) -> None:
        super().__init__()
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad
        if isinstance(pad, int) and pad > min(pool_h, pool_w) // 2:
            raise ConfigError(_("Pooling: pad must be at most half the window "
                                "({pool_h}x{pool_w}); got pad={pad}: a window made mostly of "
                                "padding has no max", pool_h=pool_h, pool_w=pool_w, pad=pad))
        # Cache for backward (the book's self.x, self.arg_max).
        self._x = self._arg_max = None

    def forward(self, x):
        check_input(self, x, 4)
        N, C, H, W = x.shape
        _, out_h, out_w = self.output_shape(x.shape[1:])
        # -inf padding never wins a max: the border acts as if it were absent (as in PyTorch)
        col = im2col(x, self.pool_h, self.pool_w, self.stride, self.pad,
                     pad_value=-np.inf)  # (N*OH*OW, C*PH*PW)
        col = col.reshape(-1, self.pool_h * self.pool_w)  # -> (N*OH*OW*C, PH*PW): one window a row
        arg_max = col.argmax(axis=1)  # (N*OH*OW*C,): the first maximum, as PyTorch
        out = col.max(axis=1)  # (N*OH*OW*C,)
        out = out.reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)  # -> (N, C, OH, OW)
        if self.caching:
            self._x, self._arg_max = x, arg_max
        return out

    def backward(self, dout):
        x, arg_max = self._cached(self._x, self._arg_max)
        self._check_dout(dout, (x.shape[0], *self.output_shape(x.shape[1:])))
        xp = get_array_module(dout)
        dout = dout.transpose(0, 2, 3, 1)  # (N, C, OH, OW) -> (N, OH, OW, C), col's row order
        pool_size = self.pool_h * self.pool_w
        dmax = xp.zeros((dout.size, pool_size), dtype=dout.dtype)  # (N*OH*OW*C, PH*PW)
        # each window's gradient goes to its maximum only; the rest of the window gets 0
        dmax[xp.arange(arg_max.size), arg_max] = dout.reshape(-1)
        dcol = dmax.reshape(-1, x.shape[1] * pool_size)  # -> (N*OH*OW, C*PH*PW)
        return col2im(dcol, x.shape, self.pool_h, self.pool_w, self.stride, self.pad)

    def output_shape(self, input_shape):
        """(C, OH, OW) for one sample (C, H, W), by :func:`output_size` (eq. 7.1)."""
        where = f"{self._label()}: "
        out_h = output_size(input_shape[1], self.pool_h, self.stride, self.pad, where=where,
                            axis="H")
        out_w = output_size(input_shape[2], self.pool_w, self.stride, self.pad, where=where,
                            axis="W")
        return (input_shape[0], out_h, out_w)


class Affine(Layer):
    """The book's ``Affine(W, b)``: ``x @ W + b``, flattening (N, ...) to (N, D) first.

    Shapes: W (D, M), b (M,); x (N, D) or (N, C, H, W) with C*H*W = D -> out (N, M);
    backward returns dx in x's own shape (the book's ``dx.reshape(*self.original_x_shape)``).
    """

    prefix = "linear"  # the book's Affine is tatamu's Linear

    param_names = ("W", "b")
    cache_names = ("_x", "_x_shape")

    def __init__(self, W, b, *, dtype=None) -> None:
        super().__init__()
        self.W, self.b = _params(W, b, dtype)  # (D, M), (M,)
        if self.W.ndim != 2 or self.b.shape != self.W.shape[1:]:
            raise ConfigError(_("Affine: W must be (D, M) and b (M,); got W {W_shape}, b {b_shape}",
                                W_shape=self.W.shape, b_shape=self.b.shape))
        self.dtype = self.W.dtype
        self.dW = self.db = None
        self._x = self._x_shape = None  # cache: x as (N, D), and x's own shape

    def forward(self, x):
        check_input(self, x, (2, 3, 4, 5), dtype=self.dtype)
        if int(np.prod(x.shape[1:])) != self.W.shape[0]:
            raise ShapeError(_("{label}: x {shape} has {features} features per sample; W "
                               "{W_shape} expects {expected}", label=self._label(), shape=x.shape,
                               features=int(np.prod(x.shape[1:])), W_shape=self.W.shape,
                               expected=self.W.shape[0]))
        x2 = x.reshape(x.shape[0], -1)  # (N, C, H, W) -> (N, D)
        if self.caching:
            self._x, self._x_shape = x2, x.shape
        return x2 @ self.W + self.b  # (N, D) @ (D, M) -> (N, M)

    def backward(self, dout):
        x, x_shape = self._cached(self._x, self._x_shape)
        self._check_dout(dout, (x.shape[0], self.W.shape[1]))
        self.dW = x.T @ dout  # (D, N) @ (N, M) -> (D, M)
        self.db = dout.sum(axis=0)  # (N, M) -> (M,)
        if not self.needs_input_grad:
            return None
        return (dout @ self.W.T).reshape(x_shape)  # (N, M) @ (M, D) -> (N, D) -> x's shape

    def output_shape(self, input_shape):
        return (self.W.shape[1],)

    @classmethod
    def param_shapes(cls, config):
        return {"W": _nested_shape(config["W"]), "b": _nested_shape(config["b"])}

    def config(self):
        return {"W": self.W.tolist(), "b": self.b.tolist(), "dtype": str(self.dtype)}

    def __repr__(self):
        return f"Affine(W{self.W.shape}, b{self.b.shape})"


class Relu(Layer):
    """The book's ``Relu``: ``max(0, x)``; the gradient passes where x > 0."""

    cache_names = ("_mask",)

    def __init__(self) -> None:
        super().__init__()
        self._mask = None  # cache: True where x <= 0 (the book's self.mask)

    def forward(self, x):
        check_input(self, x, (2, 3, 4, 5))
        mask = x <= 0
        out = x.copy()  # never write into the caller's x
        out[mask] = 0
        if self.caching:
            self._mask = mask
        return out

    def backward(self, dout):
        mask = self._cached(self._mask)
        self._check_dout(dout, mask.shape)
        dx = dout.copy()  # the book zeroes dout itself, corrupting the caller's array
        dx[mask] = 0
        return dx


class SoftmaxWithLoss:
    """The book's ``SoftmaxWithLoss``: softmax, then the mean cross-entropy error.

    ``forward(x, t) -> loss`` with t one-hot (N, K) or labels (N,); ``backward(dout=1) -> dx``
    = (softmax(x) - t) / N. Not a layer of the model: the book's ``last_layer``.
    """

    def __init__(self) -> None:
        self.loss = None
        self.y = None  # softmax output (N, K)
        self.t = None  # the labels as given

    def forward(self, x, t):
        xp = get_array_module(x)
        if getattr(x, "ndim", None) != 2:
            raise ShapeError(_("SoftmaxWithLoss: x must be (N, K) scores; got {shape}",
                               shape=getattr(x, 'shape', type(x).__name__)))
        e = xp.exp(x - x.max(axis=1, keepdims=True))  # minus the row max: exp never overflows
        self.t, self.y = t, e / e.sum(axis=1, keepdims=True)  # (N, K)
        labels = t.argmax(axis=1) if t.size == self.y.size else t  # one-hot -> (N,)
        n = x.shape[0]
        # the book's cross_entropy_error; + 1e-7 keeps log(0) finite
        self.loss = -xp.log(self.y[xp.arange(n), labels] + 1e-7).sum() / n
        return self.loss

    def backward(self, dout=1):
        if self.y is None:
            raise StateError(_("SoftmaxWithLoss.backward() called before forward()"))
        n = self.y.shape[0]
        dx = self.y.copy()  # (N, K)
        if self.t.size == self.y.size:  # one-hot labels
            dx -= self.t
        else:
            dx[get_array_module(dx).arange(n), self.t] -= 1
        return dx * dx.dtype.type(dout / n)
