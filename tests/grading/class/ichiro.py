"""Memory that grows without end: every step's activations kept in a list."""

import numpy as np

history = []
while True:
    history.append(np.ones((1000, 1000)))
