"""The CLI's words for the library's parameters: one table, ``batch_size`` -> ``--batch-size``.

Library errors name the Python argument that would fix them (``overwrite=True``) as data
(:class:`tatamu.errors.Fix`); the CLI prints them with :func:`cli_message`, which writes each
fix as the flag a command-line user types (``--force``). No message is rewritten by pattern,
and the library never names a flag.
"""

from __future__ import annotations

from collections.abc import Container

from .errors import UNSET, Fix, Name, TatamuError

#: Python argument -> the ``tatamu`` option that sets it.
FLAGS: dict[str, str] = {
    "overwrite": "--force",
    "download": "--download",
    "root": "--data-root",
    "path": "--out",
    "checkpoint_dir": "--out",
    "out": "--out",
    "resume": "--resume",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "num_train": "--limit",
    "limit": "--limit",
    "early_stopping": "--early-stopping",
    "threads": "--threads",
    "seed": "--seed",
    "lr": "--lr",
    "dataset": "--dataset",
    "layer": "--layer",
    "kernel_size": "--kernel",
    "stride": "--stride",
    "padding": "--padding",
    "dilation": "--dilation",
    "rounding": "--rounding",
    "device": "--device",
}


def flag(param: str, dests: Container[str] | None = None) -> str | None:
    """The option for a Python argument, or None when the CLI has none.

    ``dests``: the argparse destinations of the command that ran (``vars(args)``); an option
    that command does not have is None too (``tatamu summary`` has no ``--kernel``).
    """
    option = FLAGS.get(param)
    if option is None or (dests is not None and dest(option) not in dests):
        return None
    return option


def dest(option: str) -> str:
    """argparse's attribute for an option: ``--batch-size`` -> ``batch_size``."""
    return option.lstrip("-").replace("-", "_")


def write_fix(fix: Fix, dests: Container[str] | None = None) -> str:
    """A fix in the CLI's words: ``--force``, ``--batch-size 5``, ``without --resume``.

    A parameter without an option keeps its Python form (``rounding="floor"``).
    """
    option = flag(fix.param, dests)
    if option is None:
        return fix.python()
    if isinstance(fix, Name) or fix.value is UNSET or fix.value is True:
        return option
    if fix.value is False:
        return f"without {option}"
    return f"{option} {fix.value}"


def cli_message(error: BaseException, dests: Container[str] | None = None) -> str:
    """The error's message as the CLI prints it: every fix written as an option.

    ``dests``: ``vars(args)`` of the command that ran, so only its own options are named.
    """
    if isinstance(error, TatamuError):
        return error.render(lambda fix: write_fix(fix, dests))
    return str(error)
