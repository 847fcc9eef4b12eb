"""Crashes when loaded: reads a weights file that only exists on the student's machine."""

import numpy as np

W = np.load("my_trained_weights.npy")


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W, self.b, self.stride, self.pad = W, b, stride, pad
