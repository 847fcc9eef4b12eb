"""Import paths from before the package was regrouped (issue 21) keep working.

README, the tutorials and users' notebooks say ``from tatamu.train import fit``,
``tatamu.gradcheck``, ``%load_ext tatamu.notebook``... Those modules now live in the folder of
their concern (``training/``, ``learn/``, ``cli/``). Rather than leave a shim file at the root for
each (the root is meant to show the design), one finder on ``sys.meta_path`` answers an old name
with the module that now holds it: the same module object, so ``tatamu.train.fit is
tatamu.training.loop.fit``. Nothing here is imported until somebody asks for an old name.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: old public module -> where it lives now (a package maps its submodules too)
MOVED = {
    "tatamu.train": "tatamu.training.loop",
    "tatamu.parallel": "tatamu.training.shards",
    "tatamu.gradcheck": "tatamu.learn.gradcheck",
    "tatamu.explain": "tatamu.learn.explain",
    "tatamu.checker": "tatamu.learn.checker",
    "tatamu.images": "tatamu.digits.images",
    "tatamu.notebook": "tatamu.cli.notebook",
}


def new_name(name: str) -> str | None:
    """Where the module once called ``name`` lives now (None: it never moved)."""
    for old, new in MOVED.items():
        if name == old or name.startswith(old + "."):
            return new + name[len(old):]
    return None


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers an old module name with the module object that now holds its code."""

    def find_spec(self, name, path=None, target=None):
        target = new_name(name)
        # an old name whose new home does not exist is not ours to answer (find_spec says None)
        if target is None:
            return None
        try:
            if importlib.util.find_spec(target) is None:
                return None
        except (ImportError, AttributeError):  # e.g. a name below a module that is no package
            return None
        return importlib.util.spec_from_loader(name, self)

    def create_module(self, spec):
        module = importlib.import_module(new_name(spec.name))
        # the import system writes the alias's spec onto the module it gets back; keep the
        # real one so the module still knows where its file is
        self._real_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self._real_spec  # already executed under its real name


def install() -> None:
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        # first: a stale folder of the old name (left by an older install) must not win
        sys.meta_path.insert(0, MovedModuleFinder())
