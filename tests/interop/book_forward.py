"""The book's SimpleConvNet (ch07/simple_convnet.py) and DeepConvNet (ch08/deep_convnet.py)
forward passes, written here in plain NumPy float64, independently of tatamu.

They follow the book's ``predict(x)`` (``train_flg=False``): Convolution is cross-correlation
over (FN, C, FH, FW) filters with zero padding, Pooling is 2x2 max with stride 2, Affine is
``x.reshape(N, -1) @ W + b``, and the book's Dropout multiplies by (1 - 0.5) at prediction time.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

#: The book's DeepConvNet conv_param_1..6 paddings (all 3x3, stride 1).
DEEP_PADS = (1, 1, 1, 2, 1, 1)


def convolution(x, W, b, stride=1, pad=0):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    # (N, C, H', W', FH, FW) windows, every stride-th one
    win = sliding_window_view(x, W.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwij,fcij->nfhw", win, W) + b[None, :, None, None]


def pooling(x):
    n, c, h, w = x.shape
    x = x[:, :, : h // 2 * 2, : w // 2 * 2]  # the book's int() floors odd sizes
    return x.reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))


def affine(x, W, b):
    return x.reshape(len(x), -1) @ W + b


def relu(x):
    return np.maximum(x, 0)


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def simple_convnet_predict(p, x, stride=1, pad=0):
    x = pooling(relu(convolution(x, p["W1"], p["b1"], stride, pad)))
    return affine(relu(affine(x, p["W2"], p["b2"])), p["W3"], p["b3"])


def deep_convnet_predict(p, x, dropout_ratio=0.5):
    for i, pad in enumerate(DEEP_PADS, start=1):
        x = relu(convolution(x, p[f"W{i}"], p[f"b{i}"], 1, pad))
        if i % 2 == 0:
            x = pooling(x)
    x = relu(affine(x, p["W7"], p["b7"])) * (1.0 - dropout_ratio)
    return affine(x, p["W8"], p["b8"]) * (1.0 - dropout_ratio)


def simple_convnet_params(rng, channels=1, size=28, filters=30, kernel=5, hidden=100,
                          classes=10, pad=0):
    """Random float64 weights with the book's shapes and a spread that makes outputs vary."""
    pooled = (size + 2 * pad - kernel + 1) // 2
    return {
        "W1": rng.standard_normal((filters, channels, kernel, kernel)) * 0.3,
        "b1": rng.standard_normal(filters) * 0.1,
        "W2": rng.standard_normal((filters * pooled * pooled, hidden)) * 0.05,
        "b2": rng.standard_normal(hidden) * 0.1,
        "W3": rng.standard_normal((hidden, classes)) * 0.3,
        "b3": rng.standard_normal(classes) * 0.1,
    }


def deep_convnet_params(rng, hidden=50, classes=10):
    params, channels = {}, 1
    for i, filters in enumerate((16, 16, 32, 32, 64, 64), start=1):
        params[f"W{i}"] = rng.standard_normal((filters, channels, 3, 3)) * np.sqrt(
            2.0 / (channels * 9))
        params[f"b{i}"] = rng.standard_normal(filters) * 0.05
        channels = filters
    params["W7"] = rng.standard_normal((64 * 4 * 4, hidden)) * np.sqrt(2.0 / 1024)
    params["b7"] = rng.standard_normal(hidden) * 0.05
    params["W8"] = rng.standard_normal((hidden, classes)) * np.sqrt(2.0 / hidden)
    params["b8"] = rng.standard_normal(classes) * 0.5
    return params
