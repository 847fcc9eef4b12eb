"""Dropout and Batch Normalization (the book's §6.4.3 and §6.3).

Both behave differently in training and in inference, following the ``training`` flag that
``model.train()`` / ``model.eval()`` set.
"""

from __future__ import annotations

import numpy as np

from ..backend.arrays import get_array_module, resolve_dtype
from ..errors import ConfigError
from ..i18n import _
from ..validate import as_rng, positive_int
from .base import Layer, check_input


class Dropout(Layer):
    """Zero each element with probability ``p`` while training (inverted dropout).

    Kept elements are scaled by 1/(1-p) during training, so inference is the identity. (The
    book scales at inference time instead, by (1-p); both give the same expected output, and
    this way a trained model needs no Dropout at prediction time at all, as in PyTorch.)

    Shapes: any; output shape = input shape.
    """

    cache_names = ("_mask", "_x_shape")

    def __init__(self, p: float = 0.5, *, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ConfigError(_("Dropout p must be in [0, 1); got {p!r}", p=p))
        self.p = p
        self.rng = as_rng(rng)
        # Cache for backward: the kept elements, already scaled by 1/(1-p) (None when nothing
        # was dropped), and the input's shape.
        self._mask = None
        self._x_shape = None

    def forward(self, x):
        check_input(self, x, (2, 3, 4, 5))
        if self.caching:
            self._x_shape, self._mask = x.shape, None
        if not self.training or self.p == 0.0:
            return x
        xp = get_array_module(x)
        # Random numbers are drawn on the CPU from the layer's Generator (reproducible on any
        # device), then moved to x's array module.
        keep = self.rng.random(x.shape, dtype=np.float32) >= self.p
        mask = xp.asarray(keep).astype(x.dtype) * x.dtype.type(1.0 / (1.0 - self.p))
        if self.caching:
            self._mask = mask
        return x * mask

    def backward(self, dout):
        self._check_dout(dout, self._cached(self._x_shape))
        return dout if self._mask is None else dout * self._mask


class _BatchNorm(Layer):
    """Normalise each channel over the batch (and spatial axes), then scale and shift.

    Parameters are ``gamma`` (scale) and ``beta`` (shift), the book's names; PyTorch calls
    them ``weight`` and ``bias``. Running statistics (buffers) follow PyTorch: exponential
    average with ``momentum`` and the unbiased variance.
    """

    cache_names = ("_xhat", "_inv_std", "_x_shape")

    param_names = ("gamma", "beta")
    buffer_names = ("running_mean", "running_var")
    _ndims: tuple[int, ...] = ()
    prefix = "bn"

    @classmethod
    def param_shapes(cls, config):
        """``gamma``, ``beta`` and the running mean and variance: (num_features,) each."""
        c = positive_int(config.get("num_features"), "num_features")
        return {name: (c,) for name in (*cls.param_names, *cls.buffer_names)}

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, *,
                 dtype=None) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.dtype = resolve_dtype(dtype)
        shapes = self.param_shapes(self.config())
        self.gamma = np.ones(shapes["gamma"], dtype=self.dtype)
        self.beta = np.zeros(shapes["beta"], dtype=self.dtype)
        self.running_mean = np.zeros(shapes["running_mean"], dtype=self.dtype)
        self.running_var = np.ones(shapes["running_var"], dtype=self.dtype)
        self.dgamma = self.dbeta = None
        # Cache for backward: normalised input, 1/std per channel, the input's shape.
        self._xhat = None
        self._inv_std = None
        self._x_shape = None

    def _axes(self, x):
        return (0, *range(2, x.ndim))  # every axis but the channel axis 1

    def _per_channel(self, v, ndim):
        return v.reshape((1, -1) + (1,) * (ndim - 2))  # (C,) -> (1, C, 1, ...) to broadcast

    def forward(self, x):
        check_input(self, x, self._ndims, self.num_features, self.dtype)
        axes = self._axes(x)
        if self.training:
            mean = x.mean(axis=axes)
            var = x.var(axis=axes)
            count = x.size // self.num_features
            if count < 2:
                raise ConfigError(
                    _("{label}: batch statistics need more than 1 value per channel in "
                      "training; got input shape {shape}. Use a larger batch or eval().",
                      label=self._label(), shape=x.shape)
                )
            m = self.dtype.type(self.momentum)
            self.running_mean *= 1 - m
            self.running_mean += m * mean
            self.running_var *= 1 - m
            self.running_var += m * var * self.dtype.type(count / (count - 1))  # unbiased
        else:
            mean, var = self.running_mean, self.running_var
        xp = get_array_module(x)
        inv_std = 1 / xp.sqrt(var + self.dtype.type(self.eps))
        xhat = (x - self._per_channel(mean, x.ndim)) * self._per_channel(inv_std, x.ndim)
        if self.caching:
            self._xhat, self._inv_std, self._x_shape = xhat, inv_std, x.shape
        return xhat * self._per_channel(self.gamma, x.ndim) + self._per_channel(self.beta, x.ndim)

    def backward(self, dout):
        xhat, inv_std = self._cached(self._xhat, self._inv_std)
        self._check_dout(dout, self._x_shape)
        axes = self._axes(dout)
        self.dbeta = dout.sum(axis=axes)
        self.dgamma = (dout * xhat).sum(axis=axes)
        dxhat = dout * self._per_channel(self.gamma, dout.ndim)
        scale = self._per_channel(inv_std, dout.ndim)
        if not self.training:
            return dxhat * scale  # running statistics are constants
        # Mean and variance depend on x too; the classic simplified form:
        # dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        mean_dxhat = dxhat.mean(axis=axes, keepdims=True)
        mean_dxhat_xhat = (dxhat * xhat).mean(axis=axes, keepdims=True)
        return scale * (dxhat - mean_dxhat - xhat * mean_dxhat_xhat)


class BatchNorm2D(_BatchNorm):
    """Batch normalisation per channel over (N, H, W). Shapes: x (N, C, H, W) -> same."""

    _ndims = (4,)


class BatchNorm1D(_BatchNorm):
    """Batch normalisation per feature over (N,) or (N, L). Shapes: (N, C) or (N, C, L) -> same."""

    _ndims = (2, 3)
