"""Correct DIVE INTO CODE layers written in the other ways learners write them: other argument
names and orders, lower-case ``w``/``b`` with ``dw``/``db``, weights drawn in ``__init__``
without the initializer, filters kept as (FH, FW, C, F) as the lecture draws them, a bias of
shape (1, n), ``SimpleConv1d`` on one (L,) signal, a ``Conv1d`` that takes the batch, the full
``MaxPool2D(pool_h, pool_w, stride, pad)``.
Used by tests/test_check_profiles.py: everything here must pass, with no failures.
"""

import numpy as np


def out_len(n, f, p, s):
    if (n + 2 * p - f) % s:
        raise ValueError("the filter does not fit: (n + 2p - f) is not divisible by s")
    return (n + 2 * p - f) // s + 1


class Conv2d:
    """Square filters, channels first in the arguments, weights drawn here."""

    def __init__(self, input_channels, filter_num, filter_size, stride=1, pad=0,
                 initializer=None, optimizer=None):
        rng = np.random.default_rng(0)
        self.w = rng.standard_normal((filter_num, input_channels, filter_size, filter_size))
        self.b = np.zeros(filter_num)
        self.stride, self.pad, self.optimizer = stride, pad, optimizer

    def forward(self, x):
        f, c, k, _ = self.w.shape
        n, _, h, w = x.shape
        oh, ow = out_len(h, k, self.pad, self.stride), out_len(w, k, self.pad, self.stride)
        self.xp = np.pad(x, ((0, 0), (0, 0), (self.pad,) * 2, (self.pad,) * 2))
        self.x_shape = x.shape
        out = np.zeros((n, f, oh, ow), dtype=x.dtype)
        for i in range(oh):
            for j in range(ow):
                patch = self.xp[:, :, i * self.stride:i * self.stride + k,
                                j * self.stride:j * self.stride + k]
                out[:, :, i, j] = np.einsum("nckl,fckl->nf", patch, self.w)
        return out + self.b[:, None, None]

    def backward(self, dout):
        f, c, k, _ = self.w.shape
        dxp = np.zeros_like(self.xp)
        self.dw = np.zeros_like(self.w)
        self.db = dout.sum(axis=(0, 2, 3))
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                r, q = i * self.stride, j * self.stride
                patch = self.xp[:, :, r:r + k, q:q + k]
                self.dw += np.einsum("nf,nckl->fckl", dout[:, :, i, j], patch)
                dxp[:, :, r:r + k, q:q + k] += np.einsum("nf,fckl->nckl", dout[:, :, i, j],
                                                         self.w)
        h, w = self.x_shape[2:]
        if self.optimizer is not None:
            self.optimizer.update(self)
        return dxp[:, :, self.pad:self.pad + h, self.pad:self.pad + w]


class Conv2dHWCF:
    """Filters kept as (FH, FW, C, F), as the lecture's picture of a filter bank."""

    def __init__(self, F, C, FH, FW, S=1, P=0, initializer=None, optimizer=None):
        self.W = initializer.W(FH, FW, C, F)
        self.B = initializer.B(F)
        self.S, self.P, self.optimizer = S, P, optimizer

    def forward(self, X):
        FH, FW, C, F = self.W.shape
        N, _, H, W = X.shape
        OH, OW = out_len(H, FH, self.P, self.S), out_len(W, FW, self.P, self.S)
        self.Xp = np.pad(X, ((0, 0), (0, 0), (self.P,) * 2, (self.P,) * 2))
        self.X_shape = X.shape
        A = np.zeros((N, F, OH, OW), dtype=X.dtype)
        for i in range(OH):
            for j in range(OW):
                patch = self.Xp[:, :, i * self.S:i * self.S + FH, j * self.S:j * self.S + FW]
                A[:, :, i, j] = np.einsum("nchw,hwcf->nf", patch, self.W)
        return A + self.B[:, None, None]

    def backward(self, dA):
        FH, FW, C, F = self.W.shape
        dXp = np.zeros_like(self.Xp)
        self.dW = np.zeros_like(self.W)
        self.dB = dA.sum(axis=(0, 2, 3))
        for i in range(dA.shape[2]):
            for j in range(dA.shape[3]):
                r, q = i * self.S, j * self.S
                patch = self.Xp[:, :, r:r + FH, q:q + FW]
                self.dW += np.einsum("nf,nchw->hwcf", dA[:, :, i, j], patch)
                dXp[:, :, r:r + FH, q:q + FW] += np.einsum("nf,hwcf->nchw", dA[:, :, i, j],
                                                           self.W)
        H, W = self.X_shape[2:]
        self.optimizer.update(self)
        return dXp[:, :, self.P:self.P + H, self.P:self.P + W]


class SimpleConv1d:
    """One channel, one filter, one signal x (L,): the sprint's first 1-D layer."""

    def __init__(self, filter_size, initializer, optimizer):
        self.W = initializer.W(filter_size)
        self.B = initializer.B(1)
        self.optimizer = optimizer

    def forward(self, x):
        self.x = x
        size = len(self.W)
        n_out = len(x) - size + 1
        return np.array([x[i:i + size] @ self.W for i in range(n_out)]) + self.B

    def backward(self, delta_a):
        size = len(self.W)
        self.dB = np.array([delta_a.sum()])
        self.dW = np.array([delta_a @ self.x[k:k + len(delta_a)] for k in range(size)])
        delta_x = np.zeros_like(self.x)
        for i, d in enumerate(delta_a):
            delta_x[i:i + size] += d * self.W
        self.optimizer.update(self)
        return delta_x


class Conv1dMiniBatch:
    """The batch version: x (N, C, L)."""

    def __init__(self, n_filters, n_channels, kernel_size, stride, padding, initializer,
                 optimizer):
        self.W = initializer.W(n_filters, n_channels, kernel_size)
        self.B = initializer.B(n_filters)
        self.stride, self.padding, self.optimizer = stride, padding, optimizer

    def forward(self, x):
        f, c, k = self.W.shape
        self.xp = np.pad(x, ((0, 0), (0, 0), (self.padding,) * 2))
        self.length = x.shape[2]
        n_out = out_len(x.shape[2], k, self.padding, self.stride)
        out = np.zeros((x.shape[0], f, n_out), dtype=x.dtype)
        for i in range(n_out):
            s = i * self.stride
            out[:, :, i] = np.einsum("nck,fck->nf", self.xp[:, :, s:s + k], self.W)
        return out + self.B[:, None]

    def backward(self, dout):
        f, c, k = self.W.shape
        dxp = np.zeros_like(self.xp)
        self.dW = np.zeros_like(self.W)
        self.dB = dout.sum(axis=(0, 2))
        for i in range(dout.shape[2]):
            s = i * self.stride
            self.dW += np.einsum("nf,nck->fck", dout[:, :, i], self.xp[:, :, s:s + k])
            dxp[:, :, s:s + k] += np.einsum("nf,fck->nck", dout[:, :, i], self.W)
        self.optimizer.update(self)
        return dxp[:, :, self.padding:self.padding + self.length]


class MaxPool2D:
    def __init__(self, pool_h, pool_w, stride, pad):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad

    def forward(self, x):
        n, c, h, w = x.shape
        ph, pw, s, p = self.pool_h, self.pool_w, self.stride, self.pad
        oh, ow = out_len(h, ph, p, s), out_len(w, pw, p, s)
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
        self.x_shape = x.shape
        out = np.zeros((n, c, oh, ow), dtype=x.dtype)
        self.where = np.zeros((n, c, oh, ow), int)
        for i in range(oh):
            for j in range(ow):
                patch = self.xp[:, :, i * s:i * s + ph, j * s:j * s + pw].reshape(n, c, -1)
                self.where[:, :, i, j] = patch.argmax(axis=2)
                out[:, :, i, j] = patch.max(axis=2)
        return out

    def backward(self, dout):
        n, c, oh, ow = dout.shape
        pw, s, p = self.pool_w, self.stride, self.pad
        dxp = np.zeros(self.xp.shape, dtype=dout.dtype)
        rows, cols = np.divmod(self.where, pw)
        for i in range(oh):
            for j in range(ow):
                ni, ci = np.meshgrid(np.arange(n), np.arange(c), indexing="ij")
                np.add.at(dxp, (ni, ci, i * s + rows[:, :, i, j], j * s + cols[:, :, i, j]),
                          dout[:, :, i, j])
        h, w = self.x_shape[2:]
        return dxp[:, :, p:p + h, p:p + w]


class FC:
    """A bias of shape (1, n_nodes2)."""

    def __init__(self, n_nodes1, n_nodes2, initializer, optimizer):
        self.W = initializer.W(n_nodes1, n_nodes2)
        self.B = initializer.B(1, n_nodes2)
        self.optimizer = optimizer

    def forward(self, X):
        self.X = X
        return X @ self.W + self.B

    def backward(self, dA):
        self.dW = self.X.T @ dA
        self.dB = dA.sum(axis=0, keepdims=True)
        dZ = dA @ self.W.T
        self.optimizer.update(self)
        return dZ
