"""The layers: each a class with ``forward`` and ``backward`` side by side (see ``base.py``)."""

from ..losses import SoftmaxCrossEntropy as SoftmaxCrossEntropy
from ..losses import SoftmaxWithLoss as SoftmaxWithLoss
from .activation import LeakyReLU as LeakyReLU
from .activation import ReLU as ReLU
from .activation import Sigmoid as Sigmoid
from .activation import Tanh as Tanh
from .base import Layer as Layer
from .conv import Conv1D as Conv1D
from .conv import Conv2D as Conv2D
from .linear import Affine as Affine
from .linear import Linear as Linear
from .pooling import AvgPool1D as AvgPool1D
from .pooling import AvgPool2D as AvgPool2D
from .pooling import GlobalAvgPool2D as GlobalAvgPool2D
from .pooling import MaxPool1D as MaxPool1D
from .pooling import MaxPool2D as MaxPool2D
from .regularization import BatchNorm1D as BatchNorm1D
from .regularization import BatchNorm2D as BatchNorm2D
from .regularization import Dropout as Dropout
from .shape import Flatten as Flatten

#: Every layer class by name, for rebuilding a model from its saved config.
LAYER_CLASSES = {
    cls.__name__: cls
    for cls in (
        Conv1D, Conv2D, Linear, Flatten, ReLU, LeakyReLU, Sigmoid, Tanh, Dropout,
        MaxPool1D, MaxPool2D, AvgPool1D, AvgPool2D, GlobalAvgPool2D, BatchNorm1D, BatchNorm2D,
    )
}
