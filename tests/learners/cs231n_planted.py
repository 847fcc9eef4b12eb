"""CS231n function pairs with one planted mistake each, on the naive loops of
cs231n_correct.py (tests/test_check_profiles.py expects each diagnosis, as in the book's form).
Each pair is named by its suffix: conv_forward_flipped / conv_backward_flipped, ..."""

import numpy as np
from cs231n_correct import (
    affine_backward,
    affine_forward,
    conv_backward_naive,
    conv_forward_naive,
    max_pool_forward_naive,
    relu_forward,
)


def conv_forward_flipped(x, w, b, conv_param):
    out, _ = conv_forward_naive(x, w[:, :, ::-1, ::-1], b, conv_param)
    return out, (x, w, b, conv_param)


def conv_backward_flipped(dout, cache):
    return conv_backward_naive(dout, cache)


def conv_forward_nostride(x, w, b, conv_param):
    return conv_forward_naive(x, w, b, {**conv_param, "stride": 1})


def conv_backward_nostride(dout, cache):
    return conv_backward_naive(dout, cache)


def conv_forward_nopad(x, w, b, conv_param):
    out, _ = conv_forward_naive(x, w, b, {**conv_param, "pad": 0})
    return out, (x, w, b, conv_param)


def conv_backward_nopad(dout, cache):
    return conv_backward_naive(dout, cache)


def conv_forward_overwrite(x, w, b, conv_param):
    return conv_forward_naive(x, w, b, conv_param)


def conv_backward_overwrite(dout, cache):
    """dx_pad[...] = where += belongs: each window overwrites what the one before wrote."""
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)
    db = np.sum(dout, axis=(0, 2, 3))
    for n in range(N):
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                hs, ws = i * stride, j * stride
                window = x_pad[n, :, hs:hs + HH, ws:ws + WW]
                dw += dout[n, :, i, j][:, None, None, None] * window
                dx_pad[n, :, hs:hs + HH, ws:ws + WW] = np.tensordot(dout[n, :, i, j], w, 1)
    return dx_pad[:, :, pad:pad + H, pad:pad + W], dw, db


def conv_forward_dbaxis(x, w, b, conv_param):
    return conv_forward_naive(x, w, b, conv_param)


def conv_backward_dbaxis(dout, cache):
    dx, dw, _ = conv_backward_naive(dout, cache)
    return dx, dw, np.sum(dout, axis=(1, 2, 3))


def conv_forward_mean(x, w, b, conv_param):
    return conv_forward_naive(x, w, b, conv_param)


def conv_backward_mean(dout, cache):
    dx, dw, db = conv_backward_naive(dout, cache)
    return dx, dw / dout.shape[0], db


def max_pool_forward_spread(x, pool_param):
    return max_pool_forward_naive(x, pool_param)


def max_pool_backward_spread(dout, cache):
    x, pool_param = cache
    ph, pw, stride = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw] += (
                dout[:, :, i, j][:, :, None, None] / (ph * pw))
    return dx


def max_pool_forward_first(x, pool_param):
    return max_pool_forward_naive(x, pool_param)


def max_pool_backward_first(dout, cache):
    x, pool_param = cache
    stride = pool_param["stride"]
    dx = np.zeros_like(x)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            dx[:, :, i * stride, j * stride] += dout[:, :, i, j]
    return dx


def affine_forward_transposed(x, w, b):
    return affine_forward(x, w, b)


def affine_backward_transposed(dout, cache):
    dx, dw, db = affine_backward(dout, cache)
    return dx, dw.T, db


def relu_forward_nomask(x):
    return relu_forward(x)


def relu_backward_nomask(dout, cache):
    return dout
