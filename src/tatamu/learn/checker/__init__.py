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

from .adapters import Adapter, FileAdapter, Found, Unsupported
from .harness import ROUNDINGS, Harness, run_checks
from .kinds import ALIASES, KINDS, detect_kind, resolve_kind
from .loading import (
    COMMON_NOTE,
    LearnerCodeError,
    learner_environment,
    load_module,
    parse_target,
)
from .notebook import load_notebook
from .profiles import PROFILES, find_layers
from .report import Check, CheckReport, FileReport


def check_class(cls: type, kind: str | None = None, *, rounding: str = "strict",
                files: list[Path] | None = None, target: str | None = None,
                adapter: Adapter | None = None) -> CheckReport:
    """Run every check of ``kind`` (detected when None) on a book-style layer class (or one
    read through ``adapter``).

    ``rounding``: what a size that does not divide must give: ``"strict"`` a refusal (an
    exception, as tatamu) or the book's floored output (a note), ``"floor"`` the book's floored
    output only.
    """
    if kind is None:
        kind, how = detect_kind(cls)
    else:
        kind, how = resolve_kind(kind), "as asked"
    adapter = adapter or PROFILES["book"]
    found = Found(cls.__name__, cls, kind, how, adapter)
    return check_found(found, rounding=rounding, files=files, target=target)


def check_found(found: Found, *, rounding: str = "strict", files: list[Path] | None = None,
                target: str | None = None) -> CheckReport:
    """Run every check of ``found.kind`` on a layer :func:`find_layers` found."""
    if rounding not in ROUNDINGS:
        raise LearnerCodeError(f"rounding must be one of {ROUNDINGS}; got {rounding!r}")
    if files is None:
        source = inspect.getsourcefile(found.thing) if inspect.isclass(found.thing) else None
        files = [Path(source)] if source else []
    _, checks, _ = KINDS[found.kind]
    harness = Harness(found.thing, files, rounding, adapter=found.adapter, kind=found.kind,
                      name=found.adapter.display(found.thing))
    report = CheckReport(target or found.name, found.kind, found.how,
                         profile=found.adapter.name, name=found.name)
    report.checks = run_checks(harness, checks)
    report.notes += [f"not checked in this form: {reason}" for reason in harness.skipped]
    return report


def check_file(target: str, class_name: str | None = None, kind: str | None = None, *,
               rounding: str = "strict", profile: str | None = None,
               adapter: str | Adapter | None = None) -> CheckReport:
    """Load ``FILE.py:ClassName`` (runs the file) and check the class; see :func:`check_class`.

    ``target`` may also be ``FILE.py`` with ``class_name`` given (or a file with one class of a
    layer's usual name), or a module's dotted name (``tatamu.layers.book:Convolution``). Raises
    :class:`LearnerCodeError` (one line) when the file cannot be imported or has no such class.
    """
    report = check_target(target, class_name, kind, rounding=rounding, profile=profile,
                          adapter=adapter, every=False)
    return report.layers[0]


def check_all(target: str, kind: str | None = None, *, rounding: str = "strict",
              profile: str | None = None,
              adapter: str | Adapter | None = None) -> list[CheckReport]:
    """Check every layer of ``FILE.py`` (classes named like a layer: ``Convolution``,
    ``Pooling``, ``Affine``, ``Relu``, ``SoftmaxWithLoss``...; the book's common/layers.py has
    them all; other courses' forms too), or only the one named in ``FILE.py:Name``."""
    return check_target(target, None, kind, rounding=rounding, profile=profile,
                        adapter=adapter).layers


def check_target(target: str, name: str | None = None, kind: str | None = None, *,
                 rounding: str = "strict", profile: str | None = None,
                 adapter: str | Adapter | None = None, every: bool = True,
                 strict: bool = False, shown: str | None = None,
                 target_shown: str | None = None,
                 cell_timeout: float | None = None) -> FileReport:
    """Every layer of ``target`` checked, in this process (the CLI runs it in a child, see
    :mod:`tatamu.learn.checker.isolated`). Raises :class:`LearnerCodeError` when the file or
    the layer cannot be loaded.

    ``shown``, ``target_shown``: how messages name the file and the target (the child loads an
    absolute path but speaks of the one the user typed). ``cell_timeout``: a notebook cell
    running longer is stopped and reported as failed (None: no limit per cell).
    """
    source, named = parse_target(target)
    name = name or named
    shown = shown or source
    path = Path(source)
    folder = path.resolve().parent if path.suffix in (".py", ".ipynb") or path.exists() else None
    wanted = resolve_kind(kind) if kind else None
    if profile is not None and profile not in PROFILES:
        raise LearnerCodeError(f"unknown profile {profile!r}; choose one of "
                               f"{', '.join(PROFILES)} (or give a course's --adapter FILE.py)")
    report = FileReport(shown, target_shown or target, strict=strict)
    with learner_environment(folder) as common:
        chosen = load_adapter(adapter) if isinstance(adapter, str) else adapter
        if path.suffix == ".ipynb":
            module, run = load_notebook(path, cell_timeout)
            files = [*run.files, path]
            report.notebook = run.to_dict()
        else:
            module, files = load_module(source)
        if folder is not None:
            files = [*files, folder]  # the helpers it imports from beside it are theirs too
        try:
            found = find_layers(module, name, wanted, source=shown, profile=profile,
                                adapter=chosen)
        except LearnerCodeError as exc:
            failed = (report.notebook or {}).get("failed_cells")
            if not failed:
                raise
            cells = ", ".join(str(f["cell"]) for f in failed)
            error = LearnerCodeError(f"{exc} (cells that failed and were skipped: {cells})",
                                     status=exc.status)
            error.notebook = report.notebook  # why nothing was found: the cells that failed
            raise error from None
        if not every and name is None and len(found) > 1:
            raise LearnerCodeError(f"name the class to check: {shown}:ClassName (layers in "
                                   f"the file: {', '.join(f.name for f in found)})")
        for layer in found:
            checked = check_found(layer, rounding=rounding, files=files,
                                  target=f"{shown}:{layer.name}")
            if common.used:
                checked.notes.append(COMMON_NOTE)
            report.layers.append(checked.strict() if strict else checked)
    return report


def load_adapter(path: str) -> FileAdapter:
    """A teacher's adapter file (see :class:`FileAdapter`), imported (it runs)."""
    module, _ = load_module(path)
    return FileAdapter(module, path)


__all__ = ["KINDS", "ALIASES", "Adapter", "Check", "CheckReport", "FileReport",
           "LearnerCodeError", "Unsupported", "check_all", "check_class", "check_file",
           "check_found", "check_target", "detect_kind", "resolve_kind"]
