"""A learner's layer file with a training loop left at the top level: it never finishes.
``tatamu check`` must stop it and say where it was (tests/test_check_isolated.py)."""

import numpy as np


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        return np.where(self.mask, 0, x)

    def backward(self, dout):
        return np.where(self.mask, 0, dout)


def train():
    step = 0
    while True:  # "until it converges"
        step += 1


train()
