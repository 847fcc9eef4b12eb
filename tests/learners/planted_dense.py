"""Affine, Relu and SoftmaxWithLoss with one planted mistake each (see tests/test_checker.py)."""

import numpy as np
from book_correct import Affine, Relu, SoftmaxWithLoss, cross_entropy_error


class AffineShapeNotRestored(Affine):
    def backward(self, dout):
        dx = np.dot(dout, self.W.T)
        self.dW = np.dot(self.x.T, dout)
        self.db = np.sum(dout, axis=0)
        return dx


class AffineDWTransposed(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.dW = np.dot(dout.T, self.x)
        return dx


class AffineDbWrongAxis(Affine):
    def backward(self, dout):
        dx = super().backward(dout)
        self.db = np.sum(dout, axis=1)
        return dx


class ReluZeroesDout(Relu):
    """the book's own Relu.backward: writes into the caller's dout."""

    def backward(self, dout):
        dout[self.mask] = 0
        return dout


class ReluZeroesX(Relu):
    """out = x is no copy: forward zeroes the caller's x."""

    def forward(self, x):
        self.mask = (x <= 0)
        out = x
        out[self.mask] = 0
        return out


class ReluMaskChangedInBackward(Relu):
    """backward updates the cached mask in place, so a second backward differs."""

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        self.mask |= dx < 0
        return dx


class ReluInvertedMask(Relu):
    def backward(self, dout):
        dx = dout.copy()
        dx[~self.mask] = 0
        return dx


def naive_softmax(x):
    return np.exp(x) / np.sum(np.exp(x), axis=-1, keepdims=True)


class SoftmaxOverflows(SoftmaxWithLoss):
    """softmax without subtracting the maximum: exp(1000) = inf."""

    def forward(self, x, t):
        self.t = t
        self.y = naive_softmax(x)  # RuntimeWarning: overflow (tatamu check reports, not warns)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss


class SoftmaxNotDividedByBatch(SoftmaxWithLoss):
    def backward(self, dout=1):
        return super().backward(dout) * self.t.shape[0]


class SoftmaxOneHotOnly(SoftmaxWithLoss):
    def forward(self, x, t):
        self.t = t
        self.y = x - x.max(axis=1, keepdims=True)
        self.y = np.exp(self.y) / np.exp(self.y).sum(axis=1, keepdims=True)
        self.loss = -np.sum(t * np.log(self.y + 1e-7)) / x.shape[0]
        return self.loss

    def backward(self, dout=1):
        return (self.y - self.t) / self.t.shape[0]


class AffineNoFlatten(Affine):
    """works for (N, D) only: a pooled (N, C, H, W) input reaches np.dot unflattened."""

    def forward(self, x):
        self.original_x_shape = x.shape
        self.x = x
        return np.dot(x, self.W) + self.b


class SoftmaxLossSummed(SoftmaxWithLoss):
    def forward(self, x, t):
        return super().forward(x, t) * x.shape[0]


class SoftmaxWrongAxis(SoftmaxWithLoss):
    def forward(self, x, t):
        self.t = t
        e = np.exp(x - x.max(axis=0, keepdims=True))
        self.y = e / e.sum(axis=0, keepdims=True)
        self.loss = cross_entropy_error(self.y, self.t)
        return self.loss


class ReluIgnoresMask(Relu):
    def backward(self, dout):
        return dout.copy()


class SoftmaxDividedByTSize(SoftmaxWithLoss):
    def backward(self, dout=1):
        return (self.y - self.t) / self.t.size
