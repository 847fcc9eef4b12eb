"""The exceptions tatamu raises for things a user can cause, and the fixes they carry.

Every error a user can cause is a ``TatamuError``, so the CLI can print its one-line message
without a traceback (exit status 2) and tell it apart from a bug in tatamu (exit status 1).
Each subclass is also the built-in exception a Python user would expect (``ValueError`` for a
bad shape, ``OSError`` for a download), so ``except ValueError`` keeps working.

An error also says, as data, which parameter was wrong (``param``, ``value``) and which
settings would fix it (``fixes``, each a :class:`Fix`). The message names a fix in Python's
words (``overwrite=True``); :meth:`TatamuError.render` writes the same message in other words,
so the CLI turns ``overwrite=True`` into ``--force`` from one table (:mod:`tatamu.cli.flags`)
instead of rewriting the text.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: A Fix's ``value`` when it has none: "set this parameter" (``root=`` a folder).
UNSET: Any = type("Unset", (), {"__repr__": lambda self: "UNSET"})()


@dataclass(frozen=True)
class Fix:
    """One way out of an error: give the Python argument ``param`` the value ``value``.

    ``words``: what a Python user reads instead, where no argument of theirs stands for
    ``param`` ("the same 500 samples" for the CLI's ``--limit 500``); the CLI still writes the
    option.
    """

    param: str
    value: Any = UNSET
    words: str | None = field(default=None, compare=False)

    def python(self) -> str:
        """How a Python user writes it: ``overwrite=True``, ``rounding="floor"``, ``root=``."""
        if self.words is not None:
            return self.words
        if self.value is UNSET:
            return f"{self.param}="
        value = f'"{self.value}"' if isinstance(self.value, str) else repr(self.value)
        return f"{self.param}={value}"


@dataclass(frozen=True)
class Name(Fix):
    """A parameter named in a message, not a fix: ``Name("batch_size")`` ("batch_size must be
    an int >= 1"), or with the value it has: ``Name("batch_size", 25)`` ("the run was started
    with batch_size=25", from the CLI "--batch-size 25").

    >>> error = ConfigError("the run was started with ", Name("batch_size", 25), "; ",
    ...                     Name("batch_size", 20), " contradicts its plan")
    >>> str(error)
    'the run was started with batch_size=25; batch_size=20 contradicts its plan'
    >>> error.fixes
    ()
    >>> str(ConfigError("choose another ", Name("out", words="run folder")))
    'choose another run folder'
    """

    def python(self) -> str:
        if self.words is None and self.value is UNSET:
            return self.param
        return super().python()


#: Writes one Fix (or Name) into a message (:func:`python` for Python users; the CLI has its
#: own, :func:`tatamu.cli.flags.write_fix`).
FixWriter = Callable[[Fix], str]


def python(fix: Fix) -> str:
    """A fix or name as a Python user writes it (the default wording of every message)."""
    return fix.python()


class TatamuError(Exception):
    """Base class of every error a user can cause; the message says what was wrong and the fix.

    Parameters
    ----------
    *parts : the message: text, and :class:`Fix` objects where a fix is named in it
        (``CheckpointError(f"{path} exists; pass ", Fix("overwrite", True), " to replace it")``),
        :class:`Name` objects where a parameter is.
    param, value : the parameter that was wrong and the value it had, when one was.
    """

    def __new__(cls, *parts: str | Fix, param: str | None = None, value: Any = UNSET):
        # The built-in bases (OSError) see only the rendered text, never the keywords.
        return super().__new__(cls, _render(parts, python))

    def __init__(self, *parts: str | Fix, param: str | None = None, value: Any = UNSET) -> None:
        super().__init__(_render(parts, python))
        self.parts: tuple[str | Fix, ...] = parts
        self.param = param
        self.value = value

    @property
    def fixes(self) -> tuple[Fix, ...]:
        """The fixes the message names, in order."""
        return tuple(p for p in self.parts if isinstance(p, Fix) and not isinstance(p, Name))

    def render(self, write_fix: FixWriter | None = None) -> str:
        """The message with each fix written by ``write_fix`` (``str(error)`` uses Python's)."""
        return _render(self.parts, write_fix or python)


def _render(parts: tuple, write_fix: FixWriter) -> str:
    return "".join(write_fix(p) if isinstance(p, Fix) else str(p) for p in parts)


class ConfigError(TatamuError, ValueError):
    """A layer, model or optimizer argument that cannot work (a size that does not divide, ...)."""


class ShapeError(TatamuError, ValueError):
    """An array of the wrong ndim, shape, channel count or dtype reached a layer."""


class StateError(TatamuError, RuntimeError):
    """A call in the wrong order, such as ``backward()`` before ``forward()``."""


class DataError(TatamuError, ValueError):
    """A dataset or input file that is missing, truncated, corrupt or of the wrong kind."""


class DownloadError(TatamuError, OSError):
    """A download that failed on every mirror (HTTP errors, truncation, wrong checksum)."""


class CheckpointError(TatamuError, ValueError):
    """A checkpoint that is corrupt, truncated, foreign, pickled or from another architecture."""


class DeviceError(TatamuError, RuntimeError):
    """A device that cannot be used here: CuPy not installed, no CUDA GPU, no such GPU."""
