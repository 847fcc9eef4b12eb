"""Loading a learner's class from ``FILE.py:ClassName`` (or ``package.module:ClassName``).

Loading a file *runs* it, as ``python FILE.py`` would (except for its ``if __name__ ==
"__main__":`` block). Its folder, and the folder above (the book's
``sys.path.append(os.pardir)``), go on ``sys.path`` while it loads and runs, so its own
imports work. ``from common.util import im2col, col2im`` resolves to the learner's ``common``
package when there is one, else to :mod:`tatamu.learn.checker.book_common` (the book's functions
with the book's signatures). Afterwards ``sys.path`` and ``sys.modules`` are put back.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.abc
import importlib.util
import inspect
import sys
import types
from pathlib import Path

from ...errors import TatamuError
from .compare import describe


class LearnerCodeError(TatamuError, ImportError):
    """The learner's file or class could not be loaded (the message says why, in one line).

    ``status``: ``"syntax"`` (the file does not parse), ``"not-found"`` (no such file, class or
    function), or ``"error"`` (anything else: it raised while loading, it is not Python...).
    """

    def __new__(cls, *parts, status: str = "error", **kwargs):
        return super().__new__(cls, *parts, **kwargs)

    def __init__(self, *parts, status: str = "error", **kwargs) -> None:
        super().__init__(*parts, **kwargs)
        self.status = status


def parse_target(target: str) -> tuple[str, str | None]:
    """``"dir/my_layers.py:Convolution"`` -> ``("dir/my_layers.py", "Convolution")``."""
    source, sep, name = target.rpartition(":")
    if not sep or not name.isidentifier() or not source:
        return target, None  # no class named: the kind's usual name is looked for
    return source, name


COMMON_NOTE = ("the file imports the book's 'common' package and none is next to it: "
               "tatamu's book-compatible common.util/functions/layers were used")


class BookCommon(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``import common.util`` (and .functions, .layers) to the book's functions.

    Sits at the *end* of ``sys.meta_path``, so a real ``common`` package on the path (the
    book's repository next to the learner's file) always wins. ``used`` records what resolved
    here, so the report can say so.
    """

    def __init__(self) -> None:
        self.used: set[str] = set()

    def _targets(self):
        from ...layers import book
        from . import book_common

        return {"common": None, "common.util": book_common, "common.functions": book_common,
                "common.layers": book}

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self._targets():
            return None
        return importlib.util.spec_from_loader(fullname, self, is_package=fullname == "common")

    def create_module(self, spec):
        self.used.add(spec.name)
        module = types.ModuleType(spec.name)
        source = self._targets()[spec.name]
        if source is not None:  # a fresh module holding the public names (not a shared one)
            module.__dict__.update({k: v for k, v in vars(source).items()
                                    if not k.startswith("_")})
        return module

    def exec_module(self, module) -> None:
        return None


@contextlib.contextmanager
def learner_environment(folder: Path | None):
    """``folder`` on sys.path and the book's ``common`` available; undone on exit."""
    saved_path = list(sys.path)
    before = set(sys.modules)
    if folder is not None:
        sys.path.insert(0, str(folder))
        sys.path.insert(1, str(folder.parent))  # the book's sys.path.append(os.pardir)
    finder = BookCommon()
    sys.meta_path.append(finder)
    try:
        yield finder
    finally:
        sys.meta_path.remove(finder)
        sys.path[:] = saved_path
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules.get(name), "__file__", None) or ""
            if name.startswith(("_tatamu_learner", "_tatamu_notebook", "common")) or (
                    folder is not None and origin.startswith(str(folder))):
                del sys.modules[name]


def load_module(source: str) -> tuple[types.ModuleType, list[Path]]:
    """Import a ``.py`` file (run it) or a module by dotted name; one-line errors."""
    path = Path(source)
    if source.endswith(".py") or path.exists() or "/" in source or "\\" in source:
        if not path.is_file():
            raise LearnerCodeError(f"no such file: {source} (give FILE.py:ClassName)",
                                   status="not-found")
        _readable_python(path)
        name = f"_tatamu_learner_{abs(hash(str(path.resolve())))}"
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        files = [path]
        try:
            spec.loader.exec_module(module)
        except MemoryError:
            raise  # not the learner's mistake to report as one: out of memory, said as such
        except SyntaxError as exc:
            raise LearnerCodeError(f"could not import {path.name}: SyntaxError: {exc.msg} "
                                   f"({Path(exc.filename or path).name}, line {exc.lineno})",
                                   status="syntax") from None
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


def _readable_python(path: Path) -> None:
    """One line for what is not Python source at all: empty, or binary."""
    try:
        head = path.read_bytes()[:65536]
    except OSError as exc:
        raise LearnerCodeError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    if not head.strip():
        raise LearnerCodeError(f"{path.name} is empty: nothing to check")
    if b"\0" in head:
        raise LearnerCodeError(f"{path.name} is a binary file, not Python source")


def find_classes(module: types.ModuleType, name: str | None, source: str,
                 default_names: list[str], every: bool = False) -> list[type]:
    """The class ``name`` in ``module``; without a name, the classes named like a layer kind
    (all of them when ``every``, else exactly one)."""
    classes = {n: v for n, v in vars(module).items() if inspect.isclass(v)
               and getattr(v, "__module__", None) == module.__name__}
    listed = ", ".join(sorted(classes)) or "none"
    if name is None:
        found = [n for n in default_names if n in classes]
        if found and (every or len(found) == 1):
            return [classes[n] for n in found]
        raise LearnerCodeError(f"name the class to check: {source}:ClassName (classes in the "
                               f"file: {listed})")
    value = getattr(module, name, None)
    if not inspect.isclass(value):
        what = "is not a class" if value is not None else "not found"
        raise LearnerCodeError(f"{source}: class {name} {what}; classes in the file: {listed}")
    return [value]
