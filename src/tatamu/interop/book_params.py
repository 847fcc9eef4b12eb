"""The book's weights in tatamu: ``params.pkl`` of SimpleConvNet (ch. 7) or DeepConvNet (ch. 8).

The book keeps weights in a dict keyed by hand, ``W1, b1, W2, b2, ...``, numbered in the order
of the layers that have weights (its ``load_params`` re-links them by that order). tatamu's
names are derived from the layers (``conv1.W``), so the mapping is derived the same way: the
i-th layer with weights gets ``Wi`` and ``bi``. Both keep convolution filters as
(FN, C, FH, FW) and the Affine/Linear weight as (in, out), so no array is transposed.

One difference is folded into the weights: the book's ``Dropout`` multiplies by (1 - ratio) at
prediction time, tatamu's (like PyTorch's) divides by it while training instead. Scaling the
layer before each Dropout by (1 - ratio) gives the book's outputs exactly (ReLU, pooling and
flattening in between commute with a positive scale).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..backend.arrays import resolve_dtype
from ..errors import CheckpointError
from ..i18n import _
from ..layers import Conv2D, Dropout, Flatten, Linear, MaxPool2D, ReLU
from ..model import Sequential
from ..models import deep_convnet, simple_convnet
from .book_pickle import read_array_dict

#: The book's networks by the names the CLI uses, with the book's class name.
BOOK_MODELS = {"simple": "SimpleConvNet", "deep": "DeepConvNet"}
#: Layers between a weighted layer and a Dropout through which a positive scale passes.
_SCALE_COMMUTES = (ReLU, MaxPool2D, Flatten, Dropout)


@dataclass
class BookImport:
    """A model holding the book's weights, and what was done to them on the way."""

    model: Sequential
    notes: list[str] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)  # book key -> tatamu parameter name


def load_book_params(
    path: str | os.PathLike[str],
    model: str | Sequential = "simple",
    *,
    input_shape: tuple[int, int, int] | None = None,
    dtype=None,
) -> Sequential:
    """The book's ``params.pkl`` as a tatamu model, predicting as the book's network did.

    Parameters
    ----------
    path : a file written by the book's ``network.save_params("params.pkl")``; read with a
        restricted unpickler (:mod:`tatamu.interop.book_pickle`), never ``pickle.load``.
    model : ``"simple"`` (SimpleConvNet) or ``"deep"`` (DeepConvNet), whose filter counts,
        kernel size, hidden size and classes are read from the arrays' shapes; or a model you
        built (e.g. ``simple_convnet(padding=1)`` for a net trained with another conv_param).
    input_shape : (C, H, W) the network was trained on; default (C of W1, 28, 28).
    dtype : the model's dtype (float32 by default; the book's float64 arrays are converted).

    Raises ``CheckpointError`` naming the key and both shapes when the file does not fit.

    Examples
    --------
    >>> model = load_book_params("params.pkl", "simple")  # doctest: +SKIP
    >>> model.predict(x_test[:5]).argmax(axis=1)  # doctest: +SKIP
    """
    return import_book_params(path, model, input_shape=input_shape, dtype=dtype).model


def import_book_params(
    path: str | os.PathLike[str],
    model: str | Sequential = "simple",
    *,
    input_shape: tuple[int, int, int] | None = None,
    dtype=None,
) -> BookImport:
    """:func:`load_book_params`, also returning the notes (conversions) and the key mapping."""
    path = Path(path)
    arrays = read_array_dict(path)
    if isinstance(model, str):
        model = build_book_model(path, arrays, model, input_shape, dtype)
    names = book_names(model)
    _check_keys(path, arrays, names, model)
    notes = []
    target = model.params()
    dtypes = sorted({str(a.dtype) for a in arrays.values()})
    if dtypes != [str(model.dtype)]:
        notes.append(_("{dtypes} arrays converted to {dtype}", dtypes="/".join(dtypes),
                       dtype=model.dtype))
    for key, name in names.items():
        value = arrays[key]
        if value.shape != target[name].shape:
            raise CheckpointError(
                _("{path}: {key} has shape {shape}, but {name} of this {describe} needs "
                  "{expected}. Trained on another input size or conv_param? Pass --input C×H×W, "
                  "or build the model yourself and pass it.",
                  path=path, key=key, shape=value.shape, name=name, describe=_describe(model),
                  expected=target[name].shape)
            )
        if not np.all(np.isfinite(value)):
            raise CheckpointError(_("{path}: {key} contains NaN or inf; those weights are broken",
                                    path=path, key=key))
    for key, name in names.items():
        target[name][...] = arrays[key]
    notes += _fold_dropout(model)
    model.eval()
    return BookImport(model=model, notes=notes, names=names)


def book_names(model: Sequential) -> dict[str, str]:
    """The book's key for each parameter: the i-th layer with weights holds ``Wi`` and ``bi``."""
    names = {}
    index = 0
    for name, layer in model.layers.items():
        if layer.param_names:
            if set(layer.param_names) != {"W", "b"}:
                raise CheckpointError(
                    _("{name} ({type}) has parameters {param_names}; the book's networks have "
                      "only convolution and Affine layers with W and b",
                      name=name, type=type(layer).__name__, param_names=layer.param_names)
                )
            index += 1
            names[f"W{index}"] = f"{name}.W"
            names[f"b{index}"] = f"{name}.b"
    return names


def build_book_model(path: Path, arrays: dict[str, np.ndarray], which: str,
                     input_shape=None, dtype=None) -> Sequential:
    """The tatamu twin of the book's network, sized from the arrays' shapes."""
    if which not in BOOK_MODELS:
        raise CheckpointError(_("--model must be one of {book_models}; got {which!r}",
                                book_models=', '.join(BOOK_MODELS), which=which))
    last = 3 if which == "simple" else 8
    for key in ("W1", f"W{last - 1}", f"W{last}"):
        if key not in arrays:
            raise CheckpointError(
                _("{path} has no {key}, so it is not the book's {book_models} (its keys: "
                  "{arrays}){other_hint}",
                  path=path, key=key, book_models=BOOK_MODELS[which],
                  arrays=', '.join(sorted(arrays)) or 'none',
                  other_hint=_other_hint(which, arrays))
            )
    # the hidden size is read from the last Affine (hidden, classes), so that a wrong W2 or W7
    # is reported against the shape the rest of the file implies
    w1, w_hidden, w_out = arrays["W1"], arrays[f"W{last - 1}"], arrays[f"W{last}"]
    if w1.ndim != 4 or w_hidden.ndim != 2 or w_out.ndim != 2:
        raise CheckpointError(
            _("{path}: W1 has shape {shape}, W{last} {last_shape}: the book's {model} has 4-D "
              "filters and 2-D Affine weights{other_hint}",
              path=path, shape=w1.shape, last=last, last_shape=w_out.shape,
              model=BOOK_MODELS[which], other_hint=_other_hint(which, arrays))
        )
    shape = tuple(input_shape) if input_shape else (w1.shape[1], 28, 28)
    if len(shape) != 3 or shape[0] != w1.shape[1]:
        raise CheckpointError(
            _("{path}: W1 has shape {shape} (filters for {channels} channels), which does not fit "
              "the input shape {input_shape}; pass --input {channels}xHxW",
              path=path, shape=w1.shape, channels=w1.shape[1], input_shape=shape)
        )
    kw = {"input_shape": shape, "num_classes": int(w_out.shape[1]), "rng": 0,
          "dtype": resolve_dtype(dtype)}
    try:
        if which == "simple":
            fh, fw = w1.shape[2:]
            return simple_convnet(filters=int(w1.shape[0]), kernel_size=int(fh) if fh == fw
                                  else (int(fh), int(fw)), hidden=int(w_out.shape[0]), **kw)
        return deep_convnet(hidden=int(w_out.shape[0]), **kw)
    except ValueError as exc:  # ConfigError: a size that does not divide for this input
        raise CheckpointError(_("{path}: the book's {model} does not fit input {shape}: {exc}",
                                path=path, model=BOOK_MODELS[which], shape=shape,
                                exc=exc)) from None


def _check_keys(path: Path, arrays, names: dict[str, str], model: Sequential) -> None:
    missing = [k for k in names if k not in arrays]
    extra = sorted(set(arrays) - set(names))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        raise CheckpointError(
            _("{path}: keys do not match {describe} ({parts}); it needs exactly "
              "{names}{other_hint}",
              path=path, describe=_describe(model), parts='; '.join(parts),
              names=', '.join(names), other_hint=_other_hint(None, arrays))
        )


def _other_hint(which, arrays) -> str:
    if any(k.startswith(("gamma", "beta")) for k in arrays):
        return _(" (gamma/beta keys: a network with BatchNorm, which import-book does not read)")
    if which == "simple" and "W8" in arrays:
        return _(" (it has W8: try --model deep)")
    if which == "deep" and "W3" in arrays and "W4" not in arrays:
        return _(" (it has W1-W3 only: try --model simple)")
    return ""


def _describe(model: Sequential) -> str:
    shape = "x".join(str(s) for s in model.input_shape)
    return _("network for {shape} input", shape=shape)


def _fold_dropout(model: Sequential) -> list[str]:
    """Scale the weighted layer before each Dropout by (1 - p): the book's inference rule."""
    notes, owner = [], None
    for name, layer in model.layers.items():
        if isinstance(layer, (Conv2D, Linear)):
            owner = (name, layer)
        elif isinstance(layer, Dropout) and layer.p > 0:
            if owner is None:
                raise CheckpointError(
                    _("{name}: the book's Dropout scales at prediction time; tatamu can fold "
                      "that into the weights only through ReLU, pooling and flattening layers",
                      name=name)
                )
            keep = owner[1].W.dtype.type(1.0 - layer.p)
            owner[1].W *= keep
            owner[1].b *= keep
            notes.append(_("the book's Dropout scales by {keep:g} when predicting: folded into "
                           "{layer} (W and b x{keep:g})", keep=1 - layer.p, layer=owner[0]))
        elif not isinstance(layer, _SCALE_COMMUTES):
            owner = None
    return notes
