"""DIVE INTO CODE's form with a planted mistake: MaxPool2D spreads each gradient evenly over its
window (average pooling's backward) instead of sending it to the maximum."""

import numpy as np


class SimpleInitializer:
    def __init__(self, sigma):
        self.sigma = sigma

    def W(self, *shape):
        return self.sigma * np.random.randn(*shape)

    def B(self, *shape):
        return np.zeros(shape)


class SGD:
    def __init__(self, lr):
        self.lr = lr

    def update(self, layer):
        layer.W -= self.lr * layer.dW
        layer.B -= self.lr * layer.dB
        return layer


def output_size(n_in, f, p, s):
    if (n_in + 2 * p - f) % s:
        raise ValueError(f"({n_in} + 2*{p} - {f}) is not divisible by the stride {s}")
    return (n_in + 2 * p - f) // s + 1


class Conv2d:
    def __init__(self, F, C, FH, FW, P, S, initializer, optimizer):
        self.P, self.S = P, S
        self.optimizer = optimizer
        self.W = initializer.W(F, C, FH, FW)
        self.B = initializer.B(F)

    def forward(self, X):
        self.X = X
        N, C, H, W = X.shape
        F, _, FH, FW = self.W.shape
        OH, OW = output_size(H, FH, self.P, self.S), output_size(W, FW, self.P, self.S)
        self.Xp = np.pad(X, ((0, 0), (0, 0), (self.P, self.P), (self.P, self.P)))
        A = np.zeros((N, F, OH, OW), dtype=X.dtype)
        for i in range(OH):
            for j in range(OW):
                window = self.Xp[:, :, i * self.S:i * self.S + FH, j * self.S:j * self.S + FW]
                A[:, :, i, j] = np.tensordot(window, self.W, axes=([1, 2, 3], [1, 2, 3]))
        return A + self.B[None, :, None, None]

    def backward(self, dA):
        F, _, FH, FW = self.W.shape
        N, _, OH, OW = dA.shape
        dXp = np.zeros_like(self.Xp)
        self.dW = np.zeros_like(self.W)
        self.dB = dA.sum(axis=(0, 2, 3))
        for i in range(OH):
            for j in range(OW):
                hs, ws = i * self.S, j * self.S
                window = self.Xp[:, :, hs:hs + FH, ws:ws + FW]
                self.dW += np.tensordot(dA[:, :, i, j], window, axes=([0], [0]))
                dXp[:, :, hs:hs + FH, ws:ws + FW] += np.tensordot(dA[:, :, i, j], self.W,
                                                                  axes=([1], [0]))
        H, W = self.X.shape[2:]
        dX = dXp[:, :, self.P:self.P + H, self.P:self.P + W]
        self = self.optimizer.update(self)
        return dX


class MaxPool2D:
    def __init__(self, P):
        self.P = P

    def forward(self, X):
        N, C, H, W = X.shape
        P = self.P
        OH, OW = output_size(H, P, 0, P), output_size(W, P, 0, P)
        self.X = X
        windows = X[:, :, :OH * P, :OW * P].reshape(N, C, OH, P, OW, P)
        windows = windows.transpose(0, 1, 2, 4, 3, 5).reshape(N, C, OH, OW, P * P)
        self.arg = windows.argmax(axis=-1)
        return windows.max(axis=-1)

    def backward(self, dA):
        N, C, OH, OW = dA.shape
        P = self.P
        # every element of the window gets an equal share (average pooling's gradient)
        d = np.repeat(dA[..., None] / (P * P), P * P, axis=-1)
        d = d.reshape(N, C, OH, OW, P, P).transpose(0, 1, 2, 4, 3, 5)
        return d.reshape(N, C, OH * P, OW * P)
