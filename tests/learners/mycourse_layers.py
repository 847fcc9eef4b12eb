"""A learner's layers in a form no built-in profile reads (a made-up course, PyTorch-like):
``MyConv(in_ch, out_ch, kernel, stride, padding)`` called as ``layer(x)``, backward as
``layer.grad(dout)``, parameters ``weight``/``bias``, gradients ``weight_grad``/``bias_grad``.
tests/learners/mycourse_adapter.py teaches ``tatamu check`` this form."""

import numpy as np


class MyConv:
    def __init__(self, in_ch, out_ch, kernel, stride=1, padding=0):
        kh, kw = kernel
        self.weight = np.zeros((out_ch, in_ch, kh, kw))
        self.bias = np.zeros(out_ch)
        self.stride, self.padding = stride, padding

    def __call__(self, x):
        f, c, kh, kw = self.weight.shape
        s, p = self.stride, self.padding
        if (x.shape[2] + 2 * p - kh) % s or (x.shape[3] + 2 * p - kw) % s:
            raise ValueError("the kernel does not fit")
        oh, ow = (x.shape[2] + 2 * p - kh) // s + 1, (x.shape[3] + 2 * p - kw) // s + 1
        self.xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        self.shape = x.shape
        y = np.zeros((x.shape[0], f, oh, ow), dtype=x.dtype)
        for i in range(oh):
            for j in range(ow):
                y[:, :, i, j] = np.einsum("nchw,fchw->nf",
                                          self.xp[:, :, i * s:i * s + kh, j * s:j * s + kw],
                                          self.weight)
        return y + self.bias[:, None, None]

    def grad(self, dy):
        f, c, kh, kw = self.weight.shape
        s, p = self.stride, self.padding
        dxp = np.zeros_like(self.xp)
        self.weight_grad = np.zeros_like(self.weight)
        self.bias_grad = dy.sum(axis=(0, 2, 3))
        for i in range(dy.shape[2]):
            for j in range(dy.shape[3]):
                window = (slice(None), slice(None), slice(i * s, i * s + kh),
                          slice(j * s, j * s + kw))
                self.weight_grad += np.einsum("nf,nchw->fchw", dy[:, :, i, j], self.xp[window])
                dxp[window] += np.einsum("nf,fchw->nchw", dy[:, :, i, j], self.weight)
        return dxp[:, :, p:p + self.shape[2], p:p + self.shape[3]]


class MyConvForgetsBias(MyConv):
    def __call__(self, x):
        return super().__call__(x) - self.bias[:, None, None]
