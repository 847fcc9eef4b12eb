"""A training loop left at the top level: it never ends (the grader must stop it)."""

import numpy as np


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x):
        return x


class Pooling:
    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        self.pool_h, self.pool_w, self.stride, self.pad = pool_h, pool_w, stride, pad


loss, step = 1.0, 0
while loss > 0:  # "train until the loss is zero"
    loss = 1.0 / (2.0 + np.sin(step))
    step += 1
