"""The one contract every layer obeys (the book's §5.4: each layer a class with forward/backward).

Because every layer looks the same from outside, the model, the optimizers and the checkpoint
code never special-case one:

- ``forward(x) -> y`` and ``backward(dout) -> dx`` sit side by side in each class;
- parameters are attributes named in ``param_names`` (``W``, ``b``) and their gradients are
  ``d`` + name (``dW``, ``db``); ``params()`` and ``grads()`` return dicts with the same keys;
- state that is saved but not trained (BatchNorm's running statistics) is named in
  ``buffer_names``;
- what backward needs is cached in ``_``-prefixed attributes declared in ``__init__``, only
  while ``caching`` is on (``train()`` turns it on, ``eval()`` off, so prediction keeps nothing);
- ``backward`` never writes into ``dout`` or the cache, and keeps the input's dtype.

Adding a layer touches only its own file: defining a subclass registers it by class name in
:data:`LAYER_CLASSES` (so a checkpoint naming it can be loaded), and the class itself says how
``Sequential`` names it (``prefix``), whether viz draws its outputs (``feature_maps``), which
arrays a given config makes (:meth:`Layer.param_shapes`, also what the checkpoint guard reads
before building anything) and how much scratch memory a forward needs (:meth:`Layer.scratch_size`).
"""

from __future__ import annotations

import inspect
import math
from typing import Any, ClassVar

import numpy as np

from ..errors import ShapeError, StateError
from ..i18n import _
from ..validate import channels_last_hint

LAYOUTS = {2: "(N, features)", 3: "(N, C, L)", 4: "(N, C, H, W)"}

#: Every layer class by its ``layer_type`` (the class name), filled as classes are defined:
#: what ``Sequential.from_config`` and checkpoints rebuild models from.
LAYER_CLASSES: dict[str, type[Layer]] = {}


class Layer:
    """Base class: the shared contract. Subclasses define ``forward`` and ``backward``."""

    #: Trainable parameters, e.g. ``("W", "b")``; the gradient of ``X`` is attribute ``dX``.
    param_names: tuple[str, ...] = ()
    #: Saved, untrained state, e.g. ``("running_mean", "running_var")``.
    buffer_names: tuple[str, ...] = ()
    #: What backward needs, kept by forward while ``caching`` (e.g. ``("_col_t", "_x_shape")``);
    #: ``eval()`` clears it, so a backward can never use an older batch's values.
    cache_names: tuple[str, ...] = ()
    #: Derived names in a Sequential are prefix + a count: ``conv1``; "" means the class name
    #: in lower case (``relu1``).
    prefix: ClassVar[str] = ""
    #: Whether the outputs are feature maps (C, H, W) or (C, L) worth drawing as pictures.
    feature_maps: ClassVar[bool] = False
    #: The name saved in checkpoints, set when the class is defined: the class name, or
    #: ``module.QualName`` when another module's class already holds that name.
    layer_type: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Register every public layer class, so that a checkpoint can name it."""
        super().__init_subclass__(**kwargs)
        if cls.__name__.startswith("_"):
            return  # a shared base (_Pool2D), never built by name
        name = cls.__name__
        held = LAYER_CLASSES.get(name)
        if held is not None and (held.__module__, held.__qualname__) != (
                cls.__module__, cls.__qualname__):
            name = f"{cls.__module__}.{cls.__qualname__}"  # e.g. a learner's own "ReLU"
        cls.layer_type = name
        LAYER_CLASSES[name] = cls  # a re-run definition (a notebook cell) replaces itself

    @classmethod
    def param_shapes(cls, config: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        """The shape of every parameter and buffer a layer built from ``config`` holds.

        ``config`` is what :meth:`config` returns (the constructor's arguments). One method
        for both users: ``__init__`` allocates these shapes, and a checkpoint's guard adds
        them up *before* building a model from a file, so a forged file cannot make tatamu
        allocate gigabytes. Raises ``ConfigError`` for a config that cannot work. Layers
        without arrays keep this default.
        """
        return {}

    def scratch_size(self, input_shape: tuple[int, ...]) -> int:
        """Elements of working memory one sample needs in forward beyond input and output.

        For windowed layers the unfolded windows (im2col); ``Sequential.predict`` sizes its
        chunks from this. ``input_shape`` leaves out the batch axis.
        """
        return 0

    def __init__(self) -> None:
        self.training = True  # Dropout and BatchNorm behave differently in training
        self.caching = True  # keep what backward needs; off in eval() so predict stores nothing
        self.needs_input_grad = True  # a first layer may skip computing dx (nobody reads it)
        self.name: str | None = None  # set by Sequential ("conv1"); used in error messages

    def __call__(self, x):
        return self.forward(x)

    def forward(self, x):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    def backward(self, dout):  # pragma: no cover - every subclass overrides it
        raise NotImplementedError

    # -- the contract -----------------------------------------------------------------------
    def params(self) -> dict[str, Any]:
        """The trainable arrays, keyed by attribute name (``{"W": ..., "b": ...}``)."""
        return {n: getattr(self, n) for n in self.param_names}

    def grads(self) -> dict[str, Any]:
        """The gradients from the last backward, keyed like :meth:`params`."""
        return {n: getattr(self, "d" + n) for n in self.param_names}

    def buffers(self) -> dict[str, Any]:
        """Saved but untrained arrays (running statistics), keyed by attribute name."""
        return {n: getattr(self, n) for n in self.buffer_names}

    def train(self, mode: bool = True) -> Layer:
        """Training mode: Dropout drops, BatchNorm uses batch statistics, forward caches."""
        self.training = mode
        self.caching = mode
        if not mode:
            for name in self.cache_names:
                setattr(self, name, None)
        return self

    def eval(self) -> Layer:
        """Inference mode: deterministic, and forward caches nothing."""
        return self.train(False)

    def to(self, device: str) -> Layer:
        """Move parameters, their gradients and buffers to ``device`` ("cpu" or "cuda[:N]").

        Replaces the attributes (a NumPy array cannot become a CuPy one in place), so anyone
        holding the old arrays must ask :meth:`params` again; the cache is cleared, since it
        holds arrays of the old device. Usually called through ``Sequential.to``.
        """
        from ..backend.arrays import parse_device, to_device

        device = parse_device(device)
        for name in self.param_names:
            setattr(self, name, to_device(getattr(self, name), device))
            if getattr(self, "d" + name, None) is not None:
                setattr(self, "d" + name, to_device(getattr(self, "d" + name), device))
        for name in self.buffer_names:
            setattr(self, name, to_device(getattr(self, name), device))
        for name in self.cache_names:
            setattr(self, name, None)
        return self

    def config(self) -> dict[str, Any]:
        """The constructor arguments as JSON-friendly values, to rebuild the layer.

        Read from attributes of the same names, so a layer stores each argument under its name.
        ``rng`` is not part of the config (weights are saved, not re-drawn).
        """
        cfg: dict[str, Any] = {}
        for name in inspect.signature(type(self).__init__).parameters:
            if name in ("self", "rng"):
                continue
            value = getattr(self, name)
            if name == "dtype":
                value = str(np.dtype(value))
            elif isinstance(value, tuple):
                value = [list(v) if isinstance(v, tuple) else v for v in value]
            cfg[name] = value
        return cfg

    def output_shape(self, input_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one output sample given one input sample's shape (batch axis left out)."""
        return tuple(input_shape)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "dtype")
        return f"{type(self).__name__}({args})"

    def _repr_html_(self) -> str:
        """A notebook's view: the settings, then each parameter's shape, dtype and size."""
        from ..display import table_html

        rows = [(k, repr(v), "") for k, v in self.config().items()]
        for name, value in self.params().items():
            rows.append((name, f"{tuple(value.shape)} {value.dtype}", f"{value.size:,}"))
        total = sum(v.size for v in self.params().values())
        caption = type(self).__name__ + (f" {self.name}" if self.name else "")
        return table_html((_("setting / parameter"), _("value / shape"), _("params")), rows,
                          caption=caption, footer=_("parameters: {count:,}", count=total),
                          numeric=(2,))

    # -- helpers for subclasses -------------------------------------------------------------
    def _label(self) -> str:
        return self.name or type(self).__name__

    def _cached(self, *values):
        """Return the cached values, or say clearly that forward() has not run."""
        if any(v is None for v in values):
            raise StateError(
                _("{label}.backward() called before forward() (or after a forward in eval mode, "
                  "which caches nothing): run forward(x) in training mode first, or call "
                  "layer.train().", label=self._label())
            )
        return values if len(values) > 1 else values[0]

    def _check_dout(self, dout, expected_shape: tuple[int, ...]) -> None:
        if getattr(dout, "shape", None) != tuple(expected_shape):
            raise ShapeError(
                _("{label}.backward(): dout has shape {shape}, but forward() returned shape "
                  "{expected_shape}; dout must match it.",
                  label=self._label(), shape=getattr(dout, 'shape', None),
                  expected_shape=tuple(expected_shape))
            )


def check_input(
    layer: Layer,
    x,
    ndim: int | tuple[int, ...],
    channels: int | None = None,
    dtype: np.dtype | None = None,
) -> None:
    """Refuse an input a layer cannot use, saying what was wrong and how to fix it.

    Checks the array type, floating dtype (equal to the layer's ``dtype`` when given), ndim,
    and the channel axis 1 (NCHW). When the *last* axis has the expected channel count instead,
    the message says the input looks like NHWC and shows the transpose.
    """
    label = layer._label()
    if not hasattr(x, "ndim") or not hasattr(x, "dtype"):
        raise ShapeError(_("{label}: expected an array, got {type}; use np.asarray(x)",
                           label=label, type=type(x).__name__))
    if x.dtype.kind != "f":
        raise ShapeError(
            _("{label}: input has dtype {dtype}; layers compute in floating point. Convert with "
              "x.astype(np.float32) (and scale images to [0, 1] with / 255).",
              label=label, dtype=x.dtype)
        )
    if dtype is not None and x.dtype != dtype:
        raise ShapeError(
            _("{label}: input is {dtype} but the layer's parameters are {param_dtype}; cast the "
              "input with x.astype(np.{param_dtype}) or build the layer with dtype=np.{dtype}.",
              label=label, dtype=x.dtype, param_dtype=dtype)
        )
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in allowed:
        layouts = " or ".join(LAYOUTS.get(n, f"{n}-D") for n in allowed)
        hint = ""
        if x.ndim == min(allowed) - 1:
            hint = _(" A single sample? Add the batch axis with x[None].")
        raise ShapeError(_("{label}: expected {layouts}; got shape {shape}.{hint}",
                           label=label, layouts=layouts, shape=x.shape, hint=hint))
    if channels is not None and x.shape[1] != channels:
        hint = channels_last_hint(x.shape, channels)
        raise ShapeError(
            _("{label}: expected {channels} channels on axis 1 of {layouts}; got shape "
              "{shape}.{hint}",
              label=label, channels=channels, layouts=LAYOUTS[x.ndim], shape=x.shape, hint=hint)
        )


def is_random(layer: Layer) -> bool:
    """Whether ``layer`` draws random numbers (Dropout): it holds a Generator in ``rng``.

    Such layers get their own Generator per replica and per epoch, and their states are saved
    for an exact resume.
    """
    return isinstance(getattr(layer, "rng", None), np.random.Generator)


def window_scratch_size(channels: int, output_shape: tuple[int, ...],
                        kernel_size: tuple[int, ...]) -> int:
    """Elements of one sample's unfolded windows (im2col): one ``C*FH*FW`` row per output
    position. Shapes: output_shape (FN, OH, OW) or (FN, OL) for one sample.
    """
    return math.prod(output_shape[1:]) * channels * math.prod(kernel_size)
