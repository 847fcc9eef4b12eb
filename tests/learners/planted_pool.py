"""Pooling with one planted mistake each (tests/test_checker.py expects each diagnosis)."""

import numpy as np
from book_correct import Pooling, col2im, im2col, out_size


def _windows(layer, x):
    N, C, H, W = x.shape
    out_h = out_size(H, layer.pool_h, layer.stride, layer.pad)
    out_w = out_size(W, layer.pool_w, layer.stride, layer.pad)
    col = im2col(x, layer.pool_h, layer.pool_w, layer.stride, layer.pad)
    return col.reshape(-1, layer.pool_h * layer.pool_w), N, C, out_h, out_w


class GradientToEveryElement(Pooling):
    """backward gives each window's dout to all of its elements."""

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.repeat(dout.reshape(-1, 1), pool_size, axis=1)
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


class GradientSpreadEvenly(Pooling):
    """backward of average pooling: dout / window size to every element."""

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.repeat(dout.reshape(-1, 1), pool_size, axis=1) / pool_size
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


class GradientToWrongElement(Pooling):
    """forward keeps the index of the minimum: the gradient goes to the wrong element."""

    def forward(self, x):
        out = super().forward(x)
        col, *_ = _windows(self, x)
        self.arg_max = np.argmin(col, axis=1)
        return out


class GradientToFirstElement(Pooling):
    """backward sends every window's gradient to its first (top-left) element."""

    def backward(self, dout):
        self.arg_max = np.zeros_like(self.arg_max)
        return super().backward(dout)


class DoutNotTransposed(Pooling):
    def backward(self, dout):
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        N, C, out_h, out_w = dout.shape
        dcol = dmax.reshape(N * out_h * out_w, -1)
        return col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride, self.pad)


class ForwardNoTranspose(Pooling):
    def forward(self, x):
        col, N, C, out_h, out_w = _windows(self, x)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        return np.max(col, axis=1).reshape(N, C, out_h, out_w)


class MeanNotMax(Pooling):
    def forward(self, x):
        col, N, C, out_h, out_w = _windows(self, x)
        self.x, self.arg_max = x, np.argmax(col, axis=1)
        return np.mean(col, axis=1).reshape(N, out_h, out_w, C).transpose(0, 3, 1, 2)


class StrideIsPoolSize(Pooling):
    """uses pool_h as the stride (right for the usual 2x2/2, wrong otherwise)."""

    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        super().__init__(pool_h, pool_w, pool_h, pad)


def overwriting_col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    N, C, H, W = input_shape
    out_h = out_size(H, filter_h, stride, pad)
    out_w = out_size(W, filter_w, stride, pad)
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            img[:, :, y:y + stride * out_h:stride, x:x + stride * out_w:stride] = col[:, :, y, x]
    return img[:, :, pad:H + pad, pad:W + pad]


class Col2imOverwrites(Pooling):
    """right for 2x2 windows with stride 2; wrong where windows overlap."""

    def backward(self, dout):
        dout = dout.transpose(0, 2, 3, 1)
        pool_size = self.pool_h * self.pool_w
        dmax = np.zeros((dout.size, pool_size), dtype=dout.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max.flatten()] = dout.flatten()
        dcol = dmax.reshape(dout.shape[0] * dout.shape[1] * dout.shape[2], -1)
        return overwriting_col2im(dcol, self.x.shape, self.pool_h, self.pool_w, self.stride,
                                  self.pad)


class StrideIgnored(Pooling):
    """slides the window one pixel at a time whatever the stride."""

    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        super().__init__(pool_h, pool_w, 1, pad)


class PaddingIgnored(Pooling):
    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        super().__init__(pool_h, pool_w, stride, 0)
