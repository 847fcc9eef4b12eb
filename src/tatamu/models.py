"""Ready-made networks: the book's SimpleConvNet (ch. 7) and DeepConvNet (ch. 8), LeNet-5, and
a 1-D ConvNet for MNIST-1D.

Each builder grows the network layer by layer and asks each new layer for its output shape
(which goes through ``conv_output_size``), so the size of every fully connected layer is
derived, never computed by hand as the book's ``pool_output_size`` was.
"""

from __future__ import annotations

import math

import numpy as np

from .backend.arrays import resolve_dtype
from .layers import (
    AvgPool2D,
    Conv1D,
    Conv2D,
    Dropout,
    Flatten,
    Layer,
    Linear,
    MaxPool2D,
    ReLU,
    Tanh,
)
from .model import Sequential
from .validate import as_rng


class _Stack:
    """Collects layers while tracking the current sample shape (for derived sizes)."""

    def __init__(self, input_shape, rng, dtype) -> None:
        self.input_shape = tuple(input_shape)
        self.shape = self.input_shape
        self.rng = as_rng(rng)
        self.dtype = resolve_dtype(dtype)
        self.layers: list[Layer] = []

    @property
    def channels(self) -> int:
        return self.shape[0]

    @property
    def features(self) -> int:
        return math.prod(self.shape)

    def add(self, layer: Layer) -> _Stack:
        self.shape = tuple(layer.output_shape(self.shape))
        self.layers.append(layer)
        return self

    def build(self) -> Sequential:
        return Sequential(self.layers, self.input_shape)


def simple_convnet(
    input_shape: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    *,
    filters: int = 30,
    kernel_size: int = 5,
    padding: int = 0,
    stride: int = 1,
    hidden: int = 100,
    init: str | float = "he",
    rng: np.random.Generator | int | None = None,
    dtype=None,
) -> Sequential:
    """The book's SimpleConvNet (§7.5): conv 30@5x5 → ReLU → max-pool 2 → Linear 100 → ReLU →
    Linear 10. 433,890 parameters for 1x28x28 MNIST.

    Book names: ``conv_param={'filter_num': filters, 'filter_size': kernel_size, 'pad':
    padding, 'stride': stride}``, ``hidden_size=hidden``, ``output_size=num_classes``. The book
    draws weights with std 0.01 (``init=0.01`` reproduces it); He init (the default) trains
    faster.
    """
    s = _Stack(input_shape, rng, dtype)
    kw = {"init": init, "rng": s.rng, "dtype": s.dtype}
    s.add(Conv2D(s.channels, filters, kernel_size, stride, padding, **kw))
    s.add(ReLU()).add(MaxPool2D(2))
    s.add(Linear(s.features, hidden, **kw)).add(ReLU())
    s.add(Linear(s.features, num_classes, **kw))
    return s.build()


def deep_convnet(
    input_shape: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    *,
    hidden: int = 50,
    dropout: float = 0.5,
    rng: np.random.Generator | int | None = None,
    dtype=None,
) -> Sequential:
    """The book's DeepConvNet (§8.1): six 3x3 convolutions (16, 16, 32, 32, 64, 64 filters)
    with ReLU, a max-pool after each pair, Linear 50 → ReLU → Dropout → Linear 10 → Dropout;
    He initialisation. About 99.4% on MNIST in the book.

    The fourth convolution pads by 2, as in the book, which makes its map 16x16 (pooled to 8).
    The last Dropout acts on the logits, also as in the book.
    """
    s = _Stack(input_shape, rng, dtype)
    kw = {"init": "he", "rng": s.rng, "dtype": s.dtype}
    for filters, paddings in ((16, (1, 1)), (32, (1, 2)), (64, (1, 1))):
        for pad in paddings:
            s.add(Conv2D(s.channels, filters, 3, padding=pad, **kw)).add(ReLU())
        s.add(MaxPool2D(2))
    s.add(Linear(s.features, hidden, **kw)).add(ReLU()).add(Dropout(dropout, rng=s.rng))
    s.add(Linear(s.features, num_classes, **kw)).add(Dropout(dropout, rng=s.rng))
    return s.build()


def lenet5(
    input_shape: tuple[int, int, int] = (1, 28, 28),
    num_classes: int = 10,
    *,
    rng: np.random.Generator | int | None = None,
    dtype=None,
) -> Sequential:
    """LeNet-5 (LeCun et al. 1998) for 28x28 input: conv 6@5x5 pad 2 → tanh → avg-pool 2 →
    conv 16@5x5 → tanh → avg-pool 2 → Linear 120 → tanh → Linear 84 → tanh → Linear 10.
    61,706 parameters for 1x28x28 (the padding makes 28x28 act like the paper's 32x32).
    """
    s = _Stack(input_shape, rng, dtype)
    kw = {"init": "glorot", "rng": s.rng, "dtype": s.dtype}
    s.add(Conv2D(s.channels, 6, 5, padding=2, **kw)).add(Tanh()).add(AvgPool2D(2))
    s.add(Conv2D(s.channels, 16, 5, **kw)).add(Tanh()).add(AvgPool2D(2))
    s.add(Flatten())
    s.add(Linear(s.features, 120, **kw)).add(Tanh())
    s.add(Linear(s.features, 84, **kw)).add(Tanh())
    s.add(Linear(s.features, num_classes, **kw))
    return s.build()


def conv1d_net(
    input_shape: tuple[int, int] = (1, 40),
    num_classes: int = 10,
    *,
    channels: int = 25,
    rng: np.random.Generator | int | None = None,
    dtype=None,
) -> Sequential:
    """The CNN of the MNIST-1D paper (Greydanus 2020): three Conv1D (k5 s2, k3 s2, k3 s2,
    padding 1, 25 channels) with ReLU, then Linear to 10 classes. About 94% on MNIST-1D.

    The paper's PyTorch code floors sizes that do not divide (40 → 19.5 → 19); this builder
    says so explicitly with ``rounding="floor"`` instead of relying on a silent rule.
    """
    s = _Stack(input_shape, rng, dtype)
    kw = {"init": "he", "rng": s.rng, "dtype": s.dtype, "rounding": "floor"}
    s.add(Conv1D(s.channels, channels, 5, stride=2, padding=1, **kw)).add(ReLU())
    s.add(Conv1D(s.channels, channels, 3, stride=2, padding=1, **kw)).add(ReLU())
    s.add(Conv1D(s.channels, channels, 3, stride=2, padding=1, **kw)).add(ReLU())
    s.add(Flatten()).add(Linear(s.features, num_classes, init="he", rng=s.rng, dtype=s.dtype))
    return s.build()


#: Builders by the names the CLI and checkpoints use.
MODELS = {
    "simple": simple_convnet,
    "deep": deep_convnet,
    "lenet5": lenet5,
    "conv1d": conv1d_net,
}
