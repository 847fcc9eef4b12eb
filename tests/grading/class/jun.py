"""A syntax error: a colon missing after the class line."""

import numpy as np


class Convolution
    def __init__(self, W, b, stride=1, pad=0):
        self.W = W
