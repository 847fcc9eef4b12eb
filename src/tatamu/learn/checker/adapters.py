"""Adapters: how one course's layers are found, built, run and read, so one set of checks
judges them all.

Every check speaks the book's language: build a convolution from ``W, b, stride, pad``, call
``forward(x)`` and ``backward(dout)``, read ``dW`` and ``db``. An adapter translates that into
a course's form (DIVE INTO CODE's ``Conv2d(FN, C, FH, FW, stride, padding, initializer,
optimizer)``, CS231n's ``conv_forward_naive(x, w, b, conv_param)``). The built-in profiles
(``book``, ``dic``, ``cs231n``) are adapters; a teacher adds a course with a small file of
four functions (:class:`FileAdapter`, documented in docs/guide/checker.md):

    build(thing, kind, **geometry) -> layer     # geometry: see GEOMETRY
    forward(layer, x) -> out                    # softmax: forward(layer, x, t) -> loss
    backward(layer, dout) -> dx
    gradients(layer) -> {"W": dW, "b": db}      # in the book's shapes
"""

from __future__ import annotations

import copy
import inspect
import types
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .loading import LearnerCodeError

#: What ``build`` is given, per kind (the book's constructor arguments, by name).
GEOMETRY = {
    "convolution": ("W", "b", "stride", "pad"),  # W (FN, C, FH, FW), b (FN,)
    "conv1d": ("W", "b", "stride", "pad"),  # W (FN, C, FL), b (FN,); x (N, C, L)
    "pooling": ("pool_h", "pool_w", "stride", "pad"),  # max pooling
    "affine": ("W", "b"),  # W (D, M), b (M,)
    "relu": (),
    "softmax": (),  # softmax with cross-entropy: forward(x, t) -> loss, backward(1) -> dx
}
#: The parameters each kind has, in the book's names.
PARAMS = {"convolution": ("W", "b"), "conv1d": ("W", "b"), "affine": ("W", "b")}


class Unsupported(Exception):
    """This course's layer cannot take that geometry (CS231n's pooling has no padding): the
    configurations that need it are skipped, and the report says so."""


@dataclass
class Found:
    """A layer found in the learner's module: its name there, the class or functions, its
    kind, how that was decided, and the adapter that runs it."""

    name: str
    thing: object
    kind: str
    how: str
    adapter: Adapter


class Adapter:
    """The book's form, and the base of every other: override what your course does
    differently. ``thing`` is what :meth:`find` returned for a layer (a class, or for
    function-style courses whatever they need, such as a pair of functions)."""

    name = "book"

    def find(self, module: types.ModuleType, wanted: str | None,
             kind: str | None = None) -> list[Found]:
        """The layers of ``module`` this adapter claims (``wanted``: only that name; ``kind``:
        only that kind, or every layer taken as that kind when named)."""
        return []

    def supports(self, thing, kind: str, geometry: dict) -> str | None:
        """None when ``build`` can make this geometry, else why not (one phrase)."""
        return None

    def supports_input(self, thing, kind: str, x_shape: tuple[int, ...]) -> str | None:
        """None when the layer takes an input of this shape, else why not (an affine layer
        that does not flatten (N, C, H, W) itself)."""
        return None

    def build(self, thing, kind: str, **geometry):
        return thing(*(geometry[k] for k in GEOMETRY[kind]))

    def forward(self, layer, x, *rest):
        return layer.forward(x, *rest)

    def backward(self, layer, dout):
        return layer.backward(dout)

    def parameters(self, layer) -> dict:
        """The arrays forward reads, in the book's names (changed in place by the numerical
        gradient, so they must be the layer's own, not copies)."""
        return {n: getattr(layer, n, None) for n in ("W", "b")}

    def gradients(self, layer) -> dict:
        return {n: getattr(layer, "d" + n, None) for n in ("W", "b")}

    def display(self, thing) -> str:
        """The name messages use for the layer's code (``Convolution``)."""
        return getattr(thing, "__name__", type(thing).__name__)

    def call_names(self, thing) -> tuple[str, str]:
        """How messages name the forward and backward calls."""
        name = self.display(thing)
        return f"{name}.forward", f"{name}.backward"


class View:
    """A learner's layer seen through its adapter with the book's interface: ``forward``,
    ``backward``, ``W``/``b`` and ``dW``/``db``, ``param_names`` (what the gradient check
    reads). Deep copies copy the layer and share the adapter."""

    def __init__(self, adapter: Adapter, layer, kind: str, name: str) -> None:
        self._adapter, self._layer, self._kind, self._name = adapter, layer, kind, name

    @property
    def layer(self):
        return self._layer

    @property
    def param_names(self) -> tuple[str, ...]:
        params = self._adapter.parameters(self._layer)
        return tuple(n for n in PARAMS.get(self._kind, ()) if params.get(n) is not None)

    def forward(self, x, *rest):
        return self._adapter.forward(self._layer, x, *rest)

    def backward(self, dout=1):
        return self._adapter.backward(self._layer, dout)

    def __getattr__(self, attr: str):
        # W, b, dW, db through the adapter (only called for names not set on the view)
        if attr.startswith("_"):
            raise AttributeError(attr)
        if attr in ("W", "b"):
            return self._adapter.parameters(self._layer).get(attr)
        if attr in ("dW", "db"):
            return self._adapter.gradients(self._layer).get(attr[1:])
        raise AttributeError(attr)

    def __deepcopy__(self, memo):
        return View(self._adapter, copy.deepcopy(self._layer, memo), self._kind, self._name)

    def __repr__(self) -> str:
        return f"<{self._name} through the {self._adapter.name} adapter>"


class FileAdapter(Adapter):
    """A teacher's adapter: a Python file with ``build``, ``forward``, ``backward`` and
    ``gradients`` (and optionally ``NAME``, ``CLASSES``, ``find``, ``supports``,
    ``parameters``), passed as ``tatamu check --adapter FILE.py``."""

    REQUIRED = ("build", "forward", "backward", "gradients")

    def __init__(self, module: types.ModuleType, path: str) -> None:
        missing = [n for n in self.REQUIRED if not callable(getattr(module, n, None))]
        if missing:
            raise LearnerCodeError(f"the adapter {path} lacks {', '.join(missing)}: an adapter "
                                   f"defines build(thing, kind, **geometry), forward(layer, x), "
                                   f"backward(layer, dout) and gradients(layer)")
        self.module = module
        self.name = str(getattr(module, "NAME", None) or _stem(path))

    def _hook(self, name: str) -> Callable | None:
        return getattr(self.module, name, None)

    def find(self, module, wanted, kind=None):
        if self._hook("find"):
            return [Found(name, thing, kind, "found by the adapter", self)
                    for name, thing, kind in self.module.find(module, wanted)]
        classes = getattr(self.module, "CLASSES", {})
        return [Found(name, getattr(module, name), k, f"{name} is a {k} in CLASSES", self)
                for name, k in classes.items()
                if hasattr(module, name) and wanted in (None, name) and kind in (None, k)]

    def supports(self, thing, kind, geometry):
        hook = self._hook("supports")
        return hook(thing, kind, **geometry) if hook else None

    def supports_input(self, thing, kind, x_shape):
        hook = self._hook("supports_input")
        return hook(thing, kind, tuple(x_shape)) if hook else None

    def build(self, thing, kind, **geometry):
        return self.module.build(thing, kind, **geometry)

    def forward(self, layer, x, *rest):
        return self.module.forward(layer, x, *rest)

    def backward(self, layer, dout):
        return self.module.backward(layer, dout)

    def parameters(self, layer):
        hook = self._hook("parameters")
        return dict(hook(layer)) if hook else super().parameters(layer)

    def gradients(self, layer):
        return dict(self.module.gradients(layer) or {})


def _stem(path: str) -> str:
    return Path(path).stem


def positional(fn) -> list[str]:
    """The names of ``fn``'s positional parameters, without ``self``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]


def module_classes(module: types.ModuleType) -> dict[str, type]:
    """The classes the module itself defines (not the ones it imports)."""
    return {n: v for n, v in vars(module).items() if inspect.isclass(v)
            and getattr(v, "__module__", None) == module.__name__}


def init_arguments(cls) -> list[str]:
    return positional(cls.__init__) if cls.__init__ is not object.__init__ else []
