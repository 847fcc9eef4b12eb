"""The stand-ins a course's layer is built with, and its arrays read in the book's layout.

:class:`KnownArrays` is an initializer that answers any method with the array the checks need;
:class:`RecordingOptimizer` records each call and changes nothing. After ``__init__``,
:func:`set_array` puts the checks' numbers where the layer keeps its weights (its attribute
name, its layout: ``(FH, FW, C, F)``, a bias ``(1, F)``), and :func:`get_array` /
:func:`gradient` read them back as views in the book's layout.
"""

from __future__ import annotations

import numpy as np

WEIGHT_ATTRS = ("W", "w", "weight", "weights", "Weight", "filter", "filters", "kernel", "K")
BIAS_ATTRS = ("B", "b", "bias", "biases", "Bias")
WEIGHT_GRADS = ("dW", "dw", "d_W", "d_w", "dweight", "dWeight", "dweights", "grad_W", "dK",
                "dfilter")
BIAS_GRADS = ("dB", "db", "d_B", "d_b", "dbias", "dBias", "grad_B", "grad_b")
class KnownArrays:
    """An initializer that answers any method (``W``, ``B``, ``B_zeros``, ``init_W``...) with
    the array the checks need, in the shape asked: the weights when the size is theirs, else
    the bias, else zeros. ``calls`` records (method, shape)."""

    def __init__(self, W: np.ndarray | None, b: np.ndarray | None) -> None:
        self._W, self._b = W, b
        self.calls: list[tuple[str, tuple[int, ...]]] = []

    def __getattr__(self, method: str):
        if method.startswith("__"):
            raise AttributeError(method)

        def answer(*args, **kwargs):
            shape = _shape_of(args, kwargs)
            self.calls.append((method, shape))
            return self._array(method, shape)
        return answer

    def _array(self, method: str, shape: tuple[int, ...]) -> np.ndarray:
        size = int(np.prod(shape)) if shape else 1
        bias_like = "b" in method.lower() and "w" not in method.lower()
        order = [self._b, self._W] if bias_like else [self._W, self._b]
        for array in order:
            if array is not None and array.size == size:
                return _in_shape(array, shape).copy()
        return np.zeros(shape)


def _shape_of(args, kwargs) -> tuple[int, ...]:
    """The shape an initializer call asks for: ``W(3, 2, 3, 3)`` or ``W((3, 2, 3, 3))``; other
    arguments (a sigma, a name) are not sizes."""
    sizes = []
    for a in list(args) + [v for k, v in kwargs.items() if "shape" in k or "size" in k
                           or k.startswith("n")]:
        if isinstance(a, (tuple, list)) and all(isinstance(v, (int, np.integer)) for v in a):
            sizes.extend(int(v) for v in a)
        elif isinstance(a, (int, np.integer)) and not isinstance(a, bool):
            sizes.append(int(a))
    return tuple(sizes)


def _in_shape(array: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``array`` in ``shape``: itself, a permutation of its axes when the sizes are all
    different (``(FH, FW, C, FN)``), else reshaped (``(1, FN)`` for a bias)."""
    if tuple(array.shape) == tuple(shape) or not shape:
        return array if shape else array.reshape(())
    axes = permutation(array.shape, shape)
    return array.transpose(axes) if axes is not None else array.reshape(shape)


def permutation(have, want, greedy: bool = False) -> tuple[int, ...] | None:
    """The axes that turn shape ``have`` into ``want``, when the sizes tell them apart (or,
    ``greedy``, taking equal sizes in order: (5, 2, 3, 3) -> (3, 3, 2, 5) is (2, 3, 1, 0))."""
    if len(have) != len(want) or sorted(have) != sorted(want):
        return None
    if len(set(have)) != len(have) and not greedy:
        return None
    free = list(range(len(have)))
    axes = []
    for size in want:
        axis = next(a for a in free if have[a] == size)
        free.remove(axis)
        axes.append(axis)
    return tuple(axes)


class RecordingOptimizer:
    """An optimizer whose every method (``update(layer)``...) records the call, changes
    nothing, and returns its first argument (so ``self = self.optimizer.update(self)``
    works)."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattr__(self, method: str):
        if method.startswith("__"):
            raise AttributeError(method)

        def record(*args, **kwargs):
            self.calls.append(method)
            return args[0] if args else None
        return record


def set_array(layer, names, value: np.ndarray, what: str,
              axes: tuple[int, ...] | None = None) -> None:
    """Put the checks' ``value`` where the layer keeps its ``what`` (its own attribute name and
    layout: ``W`` or ``w``, ``(FN, C, FH, FW)`` or ``(FH, FW, C, FN)``, a bias ``(1, FN)``),
    and remember the layout (``_tatamu_layout``) to read it back in the book's."""
    attrs = vars(layer)
    for name in names:
        have = attrs.get(name)
        if not (isinstance(have, np.ndarray) and have.size == value.size):
            continue
        if axes is not None and value.transpose(axes).shape == have.shape:
            layout = ("axes", tuple(axes))  # the class's own layout, found by a probe
        elif have.shape == value.shape:
            layout = None
        elif permutation(value.shape, have.shape) is not None:
            layout = ("axes", permutation(value.shape, have.shape))
        else:
            layout = ("shape", tuple(value.shape))
        setattr(layer, name, np.ascontiguousarray(to_theirs(value, layout, have.shape)))
        layer.__dict__.setdefault("_tatamu_layout", {})[name] = layout
        return
    for name in names:  # none made yet: the book's name, the book's shape
        if name in attrs and attrs[name] is None:
            setattr(layer, name, value.copy())
            return
    if what == "bias":
        return  # a layer without a bias: its checks say so
    raise ValueError(f"no {what} array found on the layer after __init__ (looked for "
                     f"{', '.join(names[:4])}...): keep them as self.W, as the course does")


def to_theirs(value: np.ndarray, layout, shape) -> np.ndarray:
    if layout is None:
        return value
    return value.transpose(layout[1]) if layout[0] == "axes" else value.reshape(shape)


def to_book(value: np.ndarray, layout) -> np.ndarray:
    """Their array in the book's layout: a view, so writes reach theirs."""
    if layout is None:
        return value
    if layout[0] == "axes":
        return value.transpose(np.argsort(layout[1]))
    return value.reshape(layout[1])


def get_array(layer, names):
    """The layer's own array seen in the book's shape (a view: writes reach the layer)."""
    for name in names:
        value = getattr(layer, name, None) if name in vars(layer) else None
        if isinstance(value, np.ndarray):
            return to_book(value, getattr(layer, "_tatamu_layout", {}).get(name))
    return None


def gradient(layer, grad_names, param_names):
    """The layer's gradient (``dW``, ``dw``...) in the book's layout when its parameter is
    kept in another (and the gradient has the parameter's shape)."""
    layouts = getattr(layer, "_tatamu_layout", {})
    param = next((p for p in param_names if p in vars(layer)
                  and isinstance(vars(layer)[p], np.ndarray)), None)
    for name in grad_names:
        value = getattr(layer, name, None)
        if value is None:
            continue
        layout = layouts.get(param) if param else None
        if layout is not None and np.shape(value) == np.shape(getattr(layer, param)):
            return to_book(np.asarray(value), layout)
        return value
    return None
