"""A learner's correct layers in the DIVE INTO CODE sprint's form (written with loops, as many
do): ``Conv2d(F, C, FH, FW, P, S, initializer, optimizer)``, ``MaxPool2D(P)``, a ``Conv1d``
that takes one sample (C, L) at a time, ``FC(n_nodes1, n_nodes2, initializer, optimizer)`` and
``ReLU``; weights from ``initializer.W(...)``/``initializer.B(...)``, kept as ``W``/``B``,
gradients ``dW``/``dB``, and ``optimizer.update(self)`` at the end of ``backward``.
Used by tests/test_check_profiles.py: everything here must pass, with no notes.
"""

import numpy as np


class SimpleInitializer:
    def __init__(self, sigma):
        self.sigma = sigma

    def W(self, *shape):
        return self.sigma * np.random.randn(*shape)  # noqa: NPY002 - the course's code

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
        d = np.zeros((N, C, OH, OW, P * P), dtype=dA.dtype)
        np.put_along_axis(d, self.arg[..., None], dA[..., None], axis=-1)
        d = d.reshape(N, C, OH, OW, P, P).transpose(0, 1, 2, 4, 3, 5)
        return d.reshape(N, C, OH * P, OW * P)


class Conv1d:
    """One sample at a time: X (C, L) -> A (F, OL), as the sprint's first version."""

    def __init__(self, F, C, FL, P, S, initializer, optimizer):
        self.P, self.S = P, S
        self.optimizer = optimizer
        self.W = initializer.W(F, C, FL)
        self.B = initializer.B(F)

    def forward(self, X):
        F, C, FL = self.W.shape
        self.Xp = np.pad(X, ((0, 0), (self.P, self.P)))
        OL = output_size(X.shape[1], FL, self.P, self.S)
        A = np.zeros((F, OL), dtype=X.dtype)
        for i in range(OL):
            A[:, i] = np.tensordot(self.W, self.Xp[:, i * self.S:i * self.S + FL], axes=2)
        self.L = X.shape[1]
        return A + self.B[:, None]

    def backward(self, dA):
        F, C, FL = self.W.shape
        dXp = np.zeros_like(self.Xp)
        self.dW = np.zeros_like(self.W)
        self.dB = dA.sum(axis=1)
        for i in range(dA.shape[1]):
            s = i * self.S
            self.dW += dA[:, i][:, None, None] * self.Xp[None, :, s:s + FL]
            dXp[:, s:s + FL] += np.tensordot(dA[:, i], self.W, axes=1)
        self.optimizer.update(self)
        return dXp[:, self.P:self.P + self.L]


class FC:
    def __init__(self, n_nodes1, n_nodes2, initializer, optimizer):
        self.optimizer = optimizer
        self.W = initializer.W(n_nodes1, n_nodes2)
        self.B = initializer.B(n_nodes2)

    def forward(self, X):
        self.X = X
        return X @ self.W + self.B

    def backward(self, dA):
        self.dB = dA.sum(axis=0)
        self.dW = self.X.T @ dA
        dZ = dA @ self.W.T
        self = self.optimizer.update(self)
        return dZ


class ReLU:
    def forward(self, A):
        self.A = A
        return np.maximum(A, 0)

    def backward(self, dZ):
        return dZ * (self.A > 0)
