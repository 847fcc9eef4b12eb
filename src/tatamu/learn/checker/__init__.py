"""``tatamu check``: is a learner's own layer right? (their Convolution, Pooling, Affine, ...)

A learner following the book writes ``Convolution(W, b, stride, pad)``, ``Pooling(pool_h,
pool_w, stride, pad)``, ``Affine(W, b)``, ``Relu()`` and ``SoftmaxWithLoss()`` with
``forward``/``backward`` and gradients in ``dW``/``db``. The checker runs their class against
the seeds' worked figures, the size formula, tatamu's layers and numerical gradients, prints
each check as PASS/FAIL with the first mismatch in numbers, and names the common mistake when
the wrong numbers match one (a flipped kernel, a missing transpose, col2im that overwrites...).

>>> from tatamu.learn.checker import check_class
>>> from tatamu.layers import book
>>> check_class(book.Pooling).passed
True
"""

from __future__ import annotations

import inspect
from pathlib import Path

from ...i18n import N_, _
from . import affine, conv, pool, relu, softmax
from .harness import ROUNDINGS, Harness, run_checks
from .loading import (
    COMMON_NOTE,
    LearnerCodeError,
    find_classes,
    learner_environment,
    load_module,
    parse_target,
)
from .report import Check, CheckReport

#: kind -> (what it is, the checks, the arguments it is built with, usual class names)
KINDS = {
    "convolution": ("Convolution(W, b, stride, pad)", conv.CHECKS, ["Convolution", "Conv"]),
    "pooling": (N_("Pooling(pool_h, pool_w, stride, pad), max pooling"), pool.CHECKS,
                ["Pooling", "MaxPooling", "Pool"]),
    "affine": ("Affine(W, b)", affine.AFFINE_CHECKS, ["Affine", "Linear", "Dense"]),
    "relu": ("Relu()", relu.RELU_CHECKS, ["Relu", "ReLU"]),
    "softmax": (N_("SoftmaxWithLoss() with forward(x, t) and backward(dout=1)"),
                softmax.SOFTMAX_CHECKS, ["SoftmaxWithLoss", "SoftmaxCrossEntropy"]),
}
ALIASES = {"conv": "convolution", "pool": "pooling", "maxpool": "pooling", "linear": "affine",
           "dense": "affine", "softmaxwithloss": "softmax", "loss": "softmax"}


def resolve_kind(kind: str) -> str:
    key = kind.lower().replace("-", "").replace("_", "")
    key = ALIASES.get(key, key)
    if key not in KINDS:
        raise LearnerCodeError(_("unknown kind {kind!r}; choose one of {kinds}",
                                 kind=kind, kinds=', '.join(KINDS)))
    return key


def _positional(fn) -> list[str]:
    """The names of ``fn``'s positional parameters, without ``self``."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "self"]


def detect_kind(cls: type) -> tuple[str, str]:
    """(kind, how it was told) from ``__init__``'s and ``forward``'s arguments, else the name."""
    named = _positional(cls.__init__) if cls.__init__ is not object.__init__ else []
    forward = _positional(getattr(cls, "forward", None))
    shown = f"__init__({', '.join(named)})"
    init = [a.lower() for a in named]
    if {"pool_h", "pool_w"} <= set(init) or (init[:2] and all("pool" in a for a in init[:2])):
        return "pooling", _("detected from {shown}", shown=shown)
    if len(init) >= 3 and init[:2] in (["w", "b"], ["weight", "bias"]):
        return "convolution", _("detected from {shown}", shown=shown)
    if len(init) == 2 and init in (["w", "b"], ["weight", "bias"]):
        return "affine", _("detected from {shown}", shown=shown)
    if len(forward) >= 2:
        return "softmax", _("detected from forward({forward})", forward=", ".join(forward))
    name = cls.__name__.lower()
    for kind, (_what, _checks, names) in KINDS.items():
        if any(n.lower() in name for n in names):
            return kind, _("detected from the class name {cls}", cls=cls.__name__)
    raise LearnerCodeError(
        _("cannot tell what kind of layer {cls} is (from {shown} and its name); say it with "
          "--kind ({kinds})", cls=cls.__name__, shown=shown, kinds=', '.join(KINDS)))


def check_class(cls: type, kind: str | None = None, *, rounding: str = "strict",
                files: list[Path] | None = None, target: str | None = None) -> CheckReport:
    """Run every check of ``kind`` (detected when None) on a book-style layer class.

    ``rounding``: what a size that does not divide must give: ``"strict"`` a refusal (an
    exception, as tatamu), ``"floor"`` the book's floored output.
    """
    if rounding not in ROUNDINGS:
        raise LearnerCodeError(_("rounding must be one of {roundings}; got {rounding!r}",
                                 roundings=ROUNDINGS, rounding=rounding))
    if kind is None:
        kind, how = detect_kind(cls)
    else:
        kind, how = resolve_kind(kind), _("as asked")
    _what, checks, _names = KINDS[kind]
    if files is None:
        source = inspect.getsourcefile(cls) if hasattr(cls, "__module__") else None
        files = [Path(source)] if source else []
    harness = Harness(cls, files, rounding)
    report = CheckReport(target or cls.__name__, kind, how)
    report.checks = run_checks(harness, checks)
    return report


def check_file(target: str, class_name: str | None = None, kind: str | None = None, *,
               rounding: str = "strict") -> CheckReport:
    """Load ``FILE.py:ClassName`` (runs the file) and check the class; see :func:`check_class`.

    ``target`` may also be ``FILE.py`` with ``class_name`` given (or a file with one class of a
    layer's usual name), or a module's dotted name (``tatamu.layers.book:Convolution``). Raises
    :class:`LearnerCodeError` (one line) when the file cannot be imported or has no such class.
    """
    return _check_source(target, class_name, kind, rounding, every=False)[0]


def check_all(target: str, kind: str | None = None, *,
              rounding: str = "strict") -> list[CheckReport]:
    """Check every class of ``FILE.py`` named like a layer (``Convolution``, ``Pooling``,
    ``Affine``, ``Relu``, ``SoftmaxWithLoss``...; the book's common/layers.py has them all),
    or only the class named in ``FILE.py:ClassName``. One report per class."""
    return _check_source(target, None, kind, rounding, every=True)


def _check_source(target, class_name, kind, rounding, every: bool) -> list[CheckReport]:
    source, name = parse_target(target)
    name = class_name or name
    path = Path(source)
    folder = path.resolve().parent if path.suffix == ".py" or path.exists() else None
    wanted = resolve_kind(kind) if kind else None
    reports = []
    with learner_environment(folder) as common:
        module, files = load_module(source)
        defaults = KINDS[wanted][2] if wanted else [n for k in KINDS.values() for n in k[2]]
        if folder is not None:
            files = [*files, folder]  # the helpers it imports from beside it are theirs too
        for cls in find_classes(module, name, source, defaults, every):
            report = check_class(cls, wanted, rounding=rounding, files=files,
                                 target=f"{source}:{cls.__name__}")
            if common.used:
                report.notes.append(_(COMMON_NOTE))
            reports.append(report)
    return reports


__all__ = ["KINDS", "Check", "CheckReport", "LearnerCodeError", "check_all", "check_class",
           "check_file", "detect_kind", "resolve_kind"]
