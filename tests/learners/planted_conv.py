"""Convolution with one planted mistake each (tests/test_checker.py expects each diagnosis).

Each class is the correct book-style Convolution of book_correct.py with one common mistake
written in, as a learner would make it.
"""

import numpy as np
from book_correct import Convolution, col2im, im2col, out_size


class FlippedKernel(Convolution):
    """A true convolution: the kernel rotated by 180 degrees (as scipy.signal.convolve2d)."""

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = out_size(H, FH, self.stride, self.pad)
        out_w = out_size(W, FW, self.stride, self.pad)
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W[:, :, ::-1, ::-1].reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)


class NoTranspose(Convolution):
    """Forgot the last transpose: the output stays (N, OH, OW, FN)."""

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = out_size(H, FH, self.stride, self.pad)
        out_w = out_size(W, FW, self.stride, self.pad)
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1)


class ReshapeNoTranspose(Convolution):
    """Reshaped straight to (N, FN, OH, OW): right shape, numbers in the wrong places."""

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = out_size(H, FH, self.stride, self.pad)
        out_w = out_size(W, FW, self.stride, self.pad)
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, FN, out_h, out_w)


class StrideIgnored(Convolution):
    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = out_size(H, FH, 1, self.pad)
        out_w = out_size(W, FW, 1, self.pad)
        col = im2col(x, FH, FW, 1, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)


class PaddingIgnored(Convolution):
    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = (H - FH) // self.stride + 1
        out_w = (W - FW) // self.stride + 1
        col = im2col(x, FH, FW, self.stride, 0)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)


def floor_im2col(input_data, filter_h, filter_w, stride=1, pad=0):
    """The book's im2col: floors a size that does not divide."""
    N, C, H, W = input_data.shape
    out_h = (H + 2 * pad - filter_h) // stride + 1
    out_w = (W + 2 * pad - filter_w) // stride + 1
    img = np.pad(input_data, [(0, 0), (0, 0), (pad, pad), (pad, pad)], "constant")
    col = np.zeros((N, C, filter_h, filter_w, out_h, out_w), dtype=input_data.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            col[:, :, y, x] = img[:, :, y:y + stride * out_h:stride, x:x + stride * out_w:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * out_h * out_w, -1)


class Floors(Convolution):
    """Floors where the size does not divide (the book's int()): rows silently dropped."""

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = 1 + int((H + 2 * self.pad - FH) / self.stride)
        out_w = 1 + int((W + 2 * self.pad - FW) / self.stride)
        col = floor_im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)


def overwriting_col2im(col, input_shape, filter_h, filter_w, stride=1, pad=0):
    """col2im with '=' where the book has '+=': overlapping windows overwrite each other."""
    N, C, H, W = input_shape
    out_h = out_size(H, filter_h, stride, pad)
    out_w = out_size(W, filter_w, stride, pad)
    col = col.reshape(N, out_h, out_w, C, filter_h, filter_w).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * pad + stride - 1, W + 2 * pad + stride - 1), dtype=col.dtype)
    for y in range(filter_h):
        for x in range(filter_w):
            img[:, :, y:y + stride * out_h:stride, x:x + stride * out_w:stride] = col[:, :, y, x]
    return img[:, :, pad:H + pad, pad:W + pad]


class Col2imOverwrites(Convolution):
    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return overwriting_col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class DWNotReshaped(Convolution):
    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout)  # left (C*FH*FW, FN)
        dcol = np.dot(dout, self.col_W.T)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class DWReshapedWithoutTranspose(Convolution):
    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class DbWrongAxis(Convolution):
    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=1)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class DoutNotTransposed(Convolution):
    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W.T)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class DWAccumulates(Convolution):
    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dx = super().backward(dout)
        if getattr(self, "_old", None) is not None:
            self.dW = self.dW + self._old
        self._old = self.dW
        return dx


class SlashDivision(Convolution):
    """OH with / instead of //: a float size."""

    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = 1 + (H + 2 * self.pad - FH) / self.stride
        out_w = 1 + (W + 2 * self.pad - FW) / self.stride
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W) + self.b
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)


class Float64Inside(Convolution):
    """np.zeros without dtype in col2im: dx becomes float64."""

    def backward(self, dout):
        return super().backward(dout).astype(np.float64)


class BiasMissing(Convolution):
    def forward(self, x):
        FN, C, FH, FW = self.W.shape
        N, C, H, W = x.shape
        out_h = out_size(H, FH, self.stride, self.pad)
        out_w = out_size(W, FW, self.stride, self.pad)
        col = im2col(x, FH, FW, self.stride, self.pad)
        col_W = self.W.reshape(FN, -1).T
        out = np.dot(col, col_W)
        self.x, self.col, self.col_W = x, col, col_W
        return out.reshape(N, out_h, out_w, -1).transpose(0, 3, 1, 2)


class HardCodedFloat32(Convolution):
    """works in float32 whatever it is given: a float64 network silently loses precision."""

    def forward(self, x):
        return super().forward(x.astype(np.float32))

    def backward(self, dout):
        return super().backward(dout).astype(np.float32)


class DcolWithoutTranspose(Convolution):
    """dcol = dout @ col_W (the .T forgotten): the shapes of the product do not fit."""

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, FN)
        self.db = np.sum(dout, axis=0)
        self.dW = np.dot(self.col.T, dout).transpose(1, 0).reshape(FN, C, FH, FW)
        dcol = np.dot(dout, self.col_W)
        return col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class BorderWindowsSkipped(Convolution):
    """backward leaves out the windows that hang over the padding ("they only see zeros")."""

    def backward(self, dout):
        FN, C, FH, FW = self.W.shape
        N, _, H, W = self.x.shape
        out_h, out_w = dout.shape[2:]
        keep = np.zeros((out_h, out_w), bool)
        for i in range(out_h):
            for j in range(out_w):
                top, left = i * self.stride - self.pad, j * self.stride - self.pad
                keep[i, j] = top >= 0 and left >= 0 and top + FH <= H and left + FW <= W
        dx = super().backward(dout)  # dW and db as they should be
        dcol = np.dot((dout * keep).transpose(0, 2, 3, 1).reshape(-1, FN), self.col_W.T)
        return dx * 0 + col2im(dcol, self.x.shape, FH, FW, self.stride, self.pad)


class FirstChannelOnly(Convolution):
    """dx written for channel 0 only: a loop over range(1) where range(C) belongs."""

    def backward(self, dout):
        dx = super().backward(dout)
        only = np.zeros_like(dx)
        only[:, :1] = dx[:, :1]
        return only


class DWMeanOverBatch(Convolution):
    """dW and db divided by the batch size: a mean where the book sums."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = self.dW / dout.shape[0]
        self.db = self.db / dout.shape[0]
        return dx
