"""DIVE INTO CODE layers with one planted mistake each (tests/test_check_profiles.py expects
each diagnosis, as in the book's form). Built on the im2col Conv2d and MaxPool2D of a learner
who followed the sprint's hints."""

import numpy as np


def im2col(X, FH, FW, S, P):
    N, C, H, W = X.shape
    OH, OW = (H + 2 * P - FH) // S + 1, (W + 2 * P - FW) // S + 1
    Xp = np.pad(X, ((0, 0), (0, 0), (P, P), (P, P)))
    col = np.zeros((N, C, FH, FW, OH, OW), dtype=X.dtype)
    for y in range(FH):
        for x in range(FW):
            col[:, :, y, x] = Xp[:, :, y:y + S * OH:S, x:x + S * OW:S]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(N * OH * OW, -1)


def col2im(col, X_shape, FH, FW, S, P, overwrite=False):
    N, C, H, W = X_shape
    OH, OW = (H + 2 * P - FH) // S + 1, (W + 2 * P - FW) // S + 1
    col = col.reshape(N, OH, OW, C, FH, FW).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((N, C, H + 2 * P + S - 1, W + 2 * P + S - 1), dtype=col.dtype)
    for y in range(FH):
        for x in range(FW):
            if overwrite:
                img[:, :, y:y + S * OH:S, x:x + S * OW:S] = col[:, :, y, x]
            else:
                img[:, :, y:y + S * OH:S, x:x + S * OW:S] += col[:, :, y, x]
    return img[:, :, P:H + P, P:W + P]


class Conv2d:
    def __init__(self, F, C, FH, FW, P, S, initializer, optimizer):
        self.P, self.S, self.optimizer = P, S, optimizer
        self.W = initializer.W(F, C, FH, FW)
        self.B = initializer.B(F)

    def sizes(self, X):
        F, C, FH, FW = self.W.shape
        N, _, H, W = X.shape
        if (H + 2 * self.P - FH) % self.S or (W + 2 * self.P - FW) % self.S:
            raise ValueError("the filter does not fit the input with this stride")
        return N, (H + 2 * self.P - FH) // self.S + 1, (W + 2 * self.P - FW) // self.S + 1

    def forward(self, X):
        F, C, FH, FW = self.W.shape
        N, OH, OW = self.sizes(X)
        self.X_shape = X.shape
        self.col = im2col(X, FH, FW, self.S, self.P)
        A = self.col @ self.W.reshape(F, -1).T + self.B
        return A.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)

    def backward(self, dA):
        F, C, FH, FW = self.W.shape
        dA = dA.transpose(0, 2, 3, 1).reshape(-1, F)
        self.dB = dA.sum(axis=0)
        self.dW = (self.col.T @ dA).T.reshape(F, C, FH, FW)
        dX = col2im(dA @ self.W.reshape(F, -1), self.X_shape, FH, FW, self.S, self.P)
        self.optimizer.update(self)
        return dX


class Conv2dFlipped(Conv2d):
    def forward(self, X):
        F, C, FH, FW = self.W.shape
        N, OH, OW = self.sizes(X)
        self.X_shape = X.shape
        self.col = im2col(X, FH, FW, self.S, self.P)
        A = self.col @ self.W[:, :, ::-1, ::-1].reshape(F, -1).T + self.B
        return A.reshape(N, OH, OW, F).transpose(0, 3, 1, 2)


class Conv2dNoTranspose(Conv2d):
    def forward(self, X):
        return super().forward(X).transpose(0, 2, 3, 1)


class Conv2dStrideIgnored(Conv2d):
    def forward(self, X):
        stride, self.S = self.S, 1
        try:
            return super().forward(X)
        finally:
            self.S = stride


class Conv2dPaddingIgnored(Conv2d):
    def forward(self, X):
        pad, self.P = self.P, 0
        try:
            return super().forward(X)
        finally:
            self.P = pad


class Conv2dCol2imOverwrites(Conv2d):
    def backward(self, dA):
        F, C, FH, FW = self.W.shape
        dA = dA.transpose(0, 2, 3, 1).reshape(-1, F)
        self.dB = dA.sum(axis=0)
        self.dW = (self.col.T @ dA).T.reshape(F, C, FH, FW)
        return col2im(dA @ self.W.reshape(F, -1), self.X_shape, FH, FW, self.S, self.P,
                      overwrite=True)


class Conv2dDWNotReshaped(Conv2d):
    def backward(self, dA):
        dX = super().backward(dA)
        F = self.W.shape[0]
        self.dW = self.col.T @ dA.transpose(0, 2, 3, 1).reshape(-1, F)  # (C*FH*FW, F)
        return dX


class Conv2dDBWrongAxis(Conv2d):
    def backward(self, dA):
        dX = super().backward(dA)
        self.dB = dA.transpose(0, 2, 3, 1).reshape(-1, self.W.shape[0]).sum(axis=1)
        return dX


class MaxPool2D:
    def __init__(self, P):
        self.P = P

    def forward(self, X):
        N, C, H, W = X.shape
        if H % self.P or W % self.P:
            raise ValueError("the pool does not fit")
        self.X_shape = X.shape
        col = im2col(X, self.P, self.P, self.P, 0).reshape(-1, self.P * self.P)
        self.arg_max = col.argmax(axis=1)
        return col.max(axis=1).reshape(N, H // self.P, W // self.P, C).transpose(0, 3, 1, 2)

    def route(self, dA):
        """(N*OH*OW*C, P*P): each window's row of gradients."""
        dmax = np.zeros((dA.size, self.P * self.P), dtype=dA.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max] = dA.transpose(0, 2, 3, 1).flatten()
        return dmax

    def backward(self, dA):
        dcol = self.route(dA).reshape(-1, self.X_shape[1] * self.P * self.P)
        return col2im(dcol, self.X_shape, self.P, self.P, self.P, 0)


class MaxPool2DSpread(MaxPool2D):
    def route(self, dA):
        flat = dA.transpose(0, 2, 3, 1).reshape(-1, 1)
        return np.repeat(flat / (self.P * self.P), self.P * self.P, axis=1)


class MaxPool2DFirstElement(MaxPool2D):
    def route(self, dA):
        dmax = np.zeros((dA.size, self.P * self.P), dtype=dA.dtype)
        dmax[:, 0] = dA.transpose(0, 2, 3, 1).flatten()
        return dmax


class MaxPool2DDoutNotTransposed(MaxPool2D):
    def route(self, dA):
        dmax = np.zeros((dA.size, self.P * self.P), dtype=dA.dtype)
        dmax[np.arange(self.arg_max.size), self.arg_max] = dA.flatten()
        return dmax


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
        self.optimizer.update(self)
        return dZ


class FCdWTransposed(FC):
    def backward(self, dA):
        dZ = super().backward(dA)
        self.dW = dA.T @ self.X
        return dZ


class Conv1d:
    def __init__(self, F, C, FL, S, P, initializer, optimizer):
        self.S, self.P, self.optimizer = S, P, optimizer
        self.W = initializer.W(F, C, FL)
        self.B = initializer.B(F)

    def forward(self, X):
        col = im2col(X[:, :, None, :], 1, self.W.shape[2], self.S, self.P)
        self.X_shape, self.col = X.shape, col
        F = self.W.shape[0]
        A = col @ self.W.reshape(F, -1).T + self.B
        return A.reshape(X.shape[0], -1, F).transpose(0, 2, 1)

    def backward(self, dA):
        F, C, FL = self.W.shape
        dA = dA.transpose(0, 2, 1).reshape(-1, F)
        self.dB = dA.sum(axis=0)
        self.dW = (self.col.T @ dA).T.reshape(F, C, FL)
        N, _, L = self.X_shape
        dX = col2im(dA @ self.W.reshape(F, -1), (N, C, 1, L), 1, FL, self.S, self.P)
        return dX[:, :, 0, :]


class Conv1dFlipped(Conv1d):
    def forward(self, X):
        W, self.W = self.W, self.W[:, :, ::-1]
        try:
            return super().forward(X)
        finally:
            self.W = W
