"""Which layers a learner's module holds, and in which course's form (the profile).

``find_layers`` asks the adapters in turn: a teacher's ``--adapter`` or the ``--profile``
named, else every built-in profile, most specific first (CS231n's function pairs, DIVE INTO
CODE's classes built with an initializer and an optimizer, then the book's classes), so a file
mixing forms has each layer read in its own.
"""

from __future__ import annotations

import inspect
import types

from .adapters import Adapter, Found, init_arguments, module_classes
from .cs231n import Cs231nProfile
from .dic import DicProfile
from .kinds import KINDS, detect_kind, kind_from_name
from .loading import LearnerCodeError

#: the book's argument -> the names learners give it (matched without regard to case)
ARGUMENT_NAMES = {"W": {"w", "weight", "weights", "filter", "filters", "kernel"},
                  "b": {"b", "bias", "biases"}, "stride": {"stride", "s", "strides"},
                  "pad": {"pad", "padding", "p"}, "pool_h": {"pool_h", "ph", "pool_height"},
                  "pool_w": {"pool_w", "pw", "pool_width"}}


class BookProfile(Adapter):
    """The book's form: ``Convolution(W, b, stride, pad)``, ``Pooling(pool_h, pool_w, stride,
    pad)``, ``Affine(W, b)``, ``Relu()``, ``SoftmaxWithLoss()``; gradients in ``dW``, ``db``.
    Arguments go by position, or by name when every one is found under a name of its own
    (``Convolution(W, b, pad=0, stride=1)``, another order)."""

    name = "book"

    def build(self, thing, kind, **geometry):
        named = init_arguments(thing)
        lower = {n.lower(): n for n in named}
        keywords = {}
        for arg, value in geometry.items():
            match = next((lower[n] for n in ARGUMENT_NAMES.get(arg, {arg.lower()})
                          if n in lower), None)
            if match is None:
                return super().build(thing, kind, **geometry)
            keywords[match] = value
        if list(keywords) == named[:len(keywords)]:
            return super().build(thing, kind, **geometry)  # the book's order: by position
        return thing(**keywords)

    def find(self, module, wanted, kind=None):
        classes = module_classes(module)
        if wanted is not None:
            cls = classes.get(wanted) or getattr(module, wanted, None)
            if not inspect.isclass(cls):
                return []
            found_kind, how = (kind, "as asked") if kind else detect_kind(cls)
            return [Found(wanted, cls, found_kind, how, self)]
        names = KINDS[kind][2] if kind else [n for k in KINDS.values() for n in k[2]]
        found = []
        for name in names:
            if name in classes:
                cls = classes[name]
                k, how = (kind, "as asked") if kind else detect_kind(cls)
                found.append(Found(name, cls, k, how, self))
        return found


#: The built-in forms, in the order auto-detection asks them (most specific first).
PROFILES: dict[str, Adapter] = {"cs231n": Cs231nProfile(), "dic": DicProfile(),
                                "book": BookProfile()}


def find_layers(module: types.ModuleType, wanted: str | None, kind: str | None, *,
                source: str, profile: str | None = None,
                adapter: Adapter | None = None) -> list[Found]:
    """The layers to check, each with the adapter that reads it; a one-line
    :class:`LearnerCodeError` when none (or not the one named) is found."""
    if adapter is not None:
        found = adapter.find(module, wanted, kind)
        if not found and wanted is not None and inspect.isclass(getattr(module, wanted, None)):
            cls = getattr(module, wanted)
            k, how = (kind, "as asked") if kind else (kind_from_name(wanted), "from its name")
            if k is None:
                k, how = detect_kind(cls)
            found = [Found(wanted, cls, k, how, adapter)]
    elif profile is not None:
        found = PROFILES[profile].find(module, wanted, kind)
    else:
        found, taken = [], set()
        for candidate in PROFILES.values():
            if wanted is not None and found:
                break  # the one named, read in the most specific form that claims it
            for layer in candidate.find(module, wanted, kind):
                if layer.name not in taken:
                    taken.add(layer.name)
                    found.append(layer)
    if found:
        return found
    raise LearnerCodeError(_nothing_found(module, wanted, source, profile),
                           status="not-found" if getattr(module, wanted or "", None) is None
                           else "error")


def _nothing_found(module, wanted, source: str, profile: str | None) -> str:
    classes = module_classes(module)
    listed = ", ".join(sorted(classes)) or "none"
    form = f" in the {profile} form" if profile else ""
    if wanted is None:
        return f"name the class to check: {source}:ClassName (classes in the file: {listed})"
    value = getattr(module, wanted, None)
    if value is None:
        return f"{source}: class {wanted} not found; classes in the file: {listed}"
    if not inspect.isclass(value):
        return f"{source}: {wanted} is not a class{form}; classes in the file: {listed}"
    return f"{source}: {wanted} is not a layer{form}; classes in the file: {listed}"
