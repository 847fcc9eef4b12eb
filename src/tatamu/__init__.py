"""tatamu (畳む, "to fold"): convolutional neural networks from scratch on NumPy."""

__version__ = "0.1.0"
