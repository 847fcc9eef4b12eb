"""The exceptions tatamu raises for things a user can cause.

Every error a user can cause is a ``TatamuError``, so the CLI can print its one-line message
without a traceback (exit status 2) and tell it apart from a bug in tatamu (exit status 1).
Each subclass is also the built-in exception a Python user would expect (``ValueError`` for a
bad shape, ``OSError`` for a download), so ``except ValueError`` keeps working.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping

_NO_VALUE = object()  # spell(name) without a value


class TatamuError(Exception):
    """Base class of every error a user can cause; the message says what was wrong and the fix."""


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


# -- naming a parameter in a message ------------------------------------------------------------
# A message's fix names a parameter the way the caller spells it: ``lr=0.01`` from Python,
# ``--lr 0.01`` from the command line. The library always calls :func:`spell`; the CLI installs
# its table of flag names with :func:`spelled_as`, so no message is ever rewritten afterwards.
_SPELLING: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "tatamu_spelling", default=None)


def spell(name: str, value: object = _NO_VALUE, *, words: str | None = None) -> str:
    """``name`` (and ``value``) as the caller writes it: ``lr=0.01`` or ``--lr 0.01``.

    ``words``: what to say instead where no flag stands for ``name`` (a Python caller reads
    "run folder" better than the name of a parameter it never passed).

    >>> spell("rounding", "floor")
    'rounding="floor"'
    >>> with spelled_as({"rounding": "--rounding"}):
    ...     spell("rounding", "floor")
    '--rounding floor'
    """
    flags = _SPELLING.get()
    if flags is not None and name in flags:
        return flags[name] if value is _NO_VALUE else f"{flags[name]} {value}"
    if words is not None or value is _NO_VALUE:
        return words or name
    return f"{name}={value!r}".replace("'", '"') if isinstance(value, str) else f"{name}={value}"


@contextlib.contextmanager
def spelled_as(flags: Mapping[str, str]) -> Iterator[None]:
    """Within the block, :func:`spell` names parameters by ``flags`` (parameter -> flag)."""
    token = _SPELLING.set(flags)
    try:
        yield
    finally:
        _SPELLING.reset(token)
