"""Loading a learner's class from ``FILE.py:ClassName`` (or ``package.module:ClassName``).

Loading a file *runs* it, as ``python FILE.py`` would (except for its ``if __name__ ==
"__main__":`` block). Its folder goes on ``sys.path`` while it loads and runs, so its own
imports work; ``from common.util import im2col, col2im`` resolves to the learner's ``common``
package when there is one, else to :mod:`tatamu.checker.book_common` (the book's functions).
Everything is put back afterwards: ``sys.path``, and the modules the file brought in.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import inspect
import sys
import types
from pathlib import Path

from ..errors import TatamuError
from .compare import describe


class LearnerCodeError(TatamuError, ImportError):
    """The learner's file or class could not be loaded (the message says why, in one line)."""


def parse_target(target: str) -> tuple[str, str | None]:
    """``"dir/my_layers.py:Convolution"`` -> ``("dir/my_layers.py", "Convolution")``."""
    source, sep, name = target.rpartition(":")
    if not sep or not name.isidentifier() or not source:
        return target, None  # no class named: the kind's usual name is looked for
    return source, name


@contextlib.contextmanager
def learner_environment(folder: Path | None):
    """``folder`` on sys.path and the book's ``common`` available; undone on exit."""
    saved_path = list(sys.path)
    before = set(sys.modules)
    notes: list[str] = []
    if folder is not None:
        sys.path.insert(0, str(folder))
        sys.path.insert(1, str(folder.parent))  # the book's sys.path.append(os.pardir)
    shim = None
    if "common" not in sys.modules and importlib.util.find_spec("common") is None:
        shim = _install_common()
        notes.append("'common' (the book's package) is not next to the file: common.util, "
                     "common.functions and common.layers are tatamu's book-compatible versions")
    try:
        yield notes
    finally:
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            module = sys.modules.get(name)
            origin = getattr(module, "__file__", None) or ""
            if name.startswith(("_tatamu_learner", "common")) or (
                    folder is not None and origin.startswith(str(folder))):
                del sys.modules[name]
        if shim:
            for name in shim:
                sys.modules.pop(name, None)


def _install_common() -> list[str]:
    from ..layers import book
    from . import book_common

    package = types.ModuleType("common")
    package.__path__ = []  # a package: "common.util" can be imported from it
    package.util = package.functions = book_common
    package.layers = book
    modules = {"common": package, "common.util": book_common, "common.functions": book_common,
               "common.layers": book}
    sys.modules.update(modules)
    return list(modules)


def load_module(source: str) -> tuple[types.ModuleType, list[Path]]:
    """Import a ``.py`` file (run it) or a module by dotted name; one-line errors."""
    path = Path(source)
    if source.endswith(".py") or path.exists() or "/" in source or "\\" in source:
        if not path.is_file():
            raise LearnerCodeError(f"no such file: {source} (give FILE.py:ClassName)")
        name = f"_tatamu_learner_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        files = [path]
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            raise LearnerCodeError(f"could not import {path.name}: SyntaxError: {exc.msg} "
                                   f"({Path(exc.filename or path).name}, line {exc.lineno})"
                                   ) from None
        except (Exception, SystemExit) as exc:  # anything the learner's file raised
            raise LearnerCodeError(f"could not import {path.name}: "
                                   f"{describe(exc, [path])}") from None
        return module, files
    try:
        module = importlib.import_module(source)
    except (Exception, SystemExit) as exc:
        raise LearnerCodeError(f"could not import module {source}: {type(exc).__name__}: "
                               f"{exc}") from None
    return module, [Path(module.__file__)] if getattr(module, "__file__", None) else []


def find_class(module: types.ModuleType, name: str | None, source: str,
               default_names: list[str]) -> type:
    """The class ``name`` in ``module``; without a name, the one class matching a kind."""
    classes = {n: v for n, v in vars(module).items() if inspect.isclass(v)
               and getattr(v, "__module__", None) == module.__name__}
    if name is None:
        found = [n for n in default_names if n in classes]
        if len(found) == 1:
            return classes[found[0]]
        raise LearnerCodeError(f"name the class to check: {source}:ClassName (classes in the "
                               f"file: {', '.join(sorted(classes)) or 'none'})")
    value = getattr(module, name, None)
    if not inspect.isclass(value):
        what = "is not a class" if value is not None else "not found"
        raise LearnerCodeError(f"{source}: class {name} {what}; classes in the file: "
                               f"{', '.join(sorted(classes)) or 'none'}")
    return value
