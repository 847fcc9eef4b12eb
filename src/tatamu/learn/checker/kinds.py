"""The kinds of layer ``tatamu check`` knows: what each is, its checks, its usual names, and how
a class's kind is told from its ``__init__`` and ``forward`` arguments or its name."""

from __future__ import annotations

from .adapters import init_arguments, positional
from .affine import AFFINE_CHECKS
from .conv import CHECKS as CONV_CHECKS
from .conv1d import CHECKS as CONV1D_CHECKS
from .loading import LearnerCodeError
from .pool import CHECKS as POOL_CHECKS
from .relu import RELU_CHECKS
from .softmax import SOFTMAX_CHECKS

#: kind -> (what it is, the checks, the usual class names)
KINDS = {
    "convolution": ("Convolution(W, b, stride, pad)", CONV_CHECKS,
                    ["Convolution", "Conv", "Conv2D", "Conv2d"]),
    "conv1d": ("Conv1d(W, b, stride, pad): x (N, C, L), W (FN, C, FL)", CONV1D_CHECKS,
               ["Conv1d", "Conv1D", "SimpleConv1d"]),
    "pooling": ("Pooling(pool_h, pool_w, stride, pad), max pooling", POOL_CHECKS,
                ["Pooling", "MaxPooling", "Pool", "MaxPool2D", "MaxPool2d"]),
    "affine": ("Affine(W, b)", AFFINE_CHECKS, ["Affine", "Linear", "Dense"]),
    "relu": ("Relu()", RELU_CHECKS, ["Relu", "ReLU"]),
    "softmax": ("SoftmaxWithLoss() with forward(x, t) and backward(dout=1)",
                SOFTMAX_CHECKS, ["SoftmaxWithLoss", "SoftmaxCrossEntropy"]),
}
ALIASES = {"conv": "convolution", "conv2d": "convolution", "pool": "pooling",
           "maxpool": "pooling", "maxpool2d": "pooling", "linear": "affine", "dense": "affine",
           "fc": "affine", "softmaxwithloss": "softmax", "loss": "softmax"}


def resolve_kind(kind: str) -> str:
    key = kind.lower().replace("-", "").replace("_", "")
    key = ALIASES.get(key, key)
    if key not in KINDS:
        raise LearnerCodeError(f"unknown kind {kind!r}; choose one of {', '.join(KINDS)}")
    return key


def detect_kind(cls: type) -> tuple[str, str]:
    """(kind, how it was told) from ``__init__``'s and ``forward``'s arguments, else the name."""
    named = init_arguments(cls)
    forward = positional(getattr(cls, "forward", None))
    shown = f"__init__({', '.join(named)})"
    init = [a.lower() for a in named]
    if {"pool_h", "pool_w"} <= set(init) or (init[:2] and all("pool" in a for a in init[:2])):
        return "pooling", f"detected from {shown}"
    if len(init) >= 3 and init[:2] in (["w", "b"], ["weight", "bias"]):
        return "convolution", f"detected from {shown}"
    if len(init) == 2 and init in (["w", "b"], ["weight", "bias"]):
        return "affine", f"detected from {shown}"
    if len(forward) >= 2:
        return "softmax", f"detected from forward({', '.join(forward)})"
    kind = kind_from_name(cls.__name__)
    if kind:
        return kind, f"detected from the class name {cls.__name__}"
    raise LearnerCodeError(
        f"cannot tell what kind of layer {cls.__name__} is (from {shown} and its name); "
        f"say it with --kind ({', '.join(KINDS)})")


def kind_from_name(name: str) -> str | None:
    """The kind whose usual name the class name holds, the longest match first (``Conv1d``
    is a conv1d, not a ``Conv``)."""
    lower = name.lower()
    usual = sorted(((n.lower(), kind) for kind, (_, _, names) in KINDS.items() for n in names),
                   key=lambda pair: -len(pair[0]))
    return next((kind for n, kind in usual if n in lower), None)
