"""The exceptions tatamu raises for things a user can cause.

Every error a user can cause is a ``TatamuError``, so the CLI can print its one-line message
without a traceback (exit status 2) and tell it apart from a bug in tatamu (exit status 1).
Each subclass is also the built-in exception a Python user would expect (``ValueError`` for a
bad shape, ``OSError`` for a download), so ``except ValueError`` keeps working.
"""

from __future__ import annotations


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


class DeviceError(TatamuError, RuntimeError):
    """A device that cannot be used here: CuPy not installed, no CUDA GPU, no such GPU."""

    def __init__(self, message: str, *, param: str | None = None, value=None) -> None:
        super().__init__(message)
        self.param = param  # which setting was wrong ("device"), for the CLI's flag names
        self.value = value
