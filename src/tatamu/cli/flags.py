"""The CLI's words for the library's parameters: one table, ``batch_size`` -> ``--batch-size``.

Library errors name the Python argument that would fix them (``overwrite=True``) as data
(:class:`tatamu.errors.Fix`); the CLI prints them with :func:`cli_message`, which writes each
fix as the flag a command-line user types (``--force``). No message is rewritten by pattern,
and the library never names a flag.
"""

from __future__ import annotations

from collections.abc import Container

from ..errors import UNSET, Fix, TatamuError

#: Python argument -> the ``tatamu`` option that sets it (or the options, where commands spell it
#: differently: the running command's own is used). A command that lacks the option names the
#: Python argument instead (:func:`flag`).
FLAGS: dict[str, str | tuple[str, ...]] = {
    # files and folders
    "overwrite": "--force",
    "download": "--download",
    "root": "--data-root",
    "data_root": "--data-root",
    "path": "--out",
    "checkpoint_dir": "--out",
    "out": "--out",
    # training (tatamu.training.plan.TrainingPlan, tatamu.training.loop.fit)
    "model": "--model",
    "dataset": "--dataset",
    "resume": "--resume",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "optimizer": "--optimizer",
    "lr": "--lr",
    "weight_decay": "--weight-decay",
    "schedule": "--schedule",
    "early_stopping": "--early-stopping",
    "seed": "--seed",
    "num_train": "--limit",
    "limit": "--limit",
    "test_limit": "--test-limit",
    "threads": "--threads",
    # sizes (tatamu size, tatamu explain, tatamu summary)
    "input": "--input",
    "kernel_size": "--kernel",
    "kernel": "--kernel",
    "stride": "--stride",
    "padding": "--padding",
    "dilation": "--dilation",
    "rounding": "--rounding",
    "values": "--values",
    "weights": "--filter-values",
    "bias": "--bias",
    "mode": "--mode",
    "channels": ("--channels", "--channel"),  # explain im2col's input channels, show dream's
    "batch": "--batch",
    "max_windows": "--max-windows",
    # pictures (tatamu show)
    "layer": "--layer",
    "image": "--image",
    "count": "--count",
    "target": "--class",
    "smooth": "--smooth",
    "steps": "--steps",
    "device": "--device",
    "augment": "--augment",
    "validation": "--validation",
    "test_every_epoch": "--test-every-epoch",
    "keep_epochs": "--keep-epochs",
    "log_every": "--log-every",
    # a class graded, runs swept (tatamu grade, tatamu sweep; tatamu.batch)
    "kinds": "--kind",
    "rubric": "--rubric",
    "adapter": "--adapter",
    "cluster": "--cluster",
    "jobs": "--jobs",
    "timeout": "--timeout",
    "memory_mb": "--memory",
    "cell_timeout": "--cell-timeout",
    "profile": "--profile",
    "seeds": "--seeds",
    "recipe": "--recipe",
}


def flag(param: str, options: Container[str] | None = None) -> str | None:
    """The option for a Python argument, or None when the CLI has none.

    ``options``: the option strings of the command that ran (:func:`tatamu.cli.app.main` reads them
    from its parser); an option that command does not have is None too (``tatamu summary`` has
    no ``--kernel``). None: every option in the table.
    """
    spellings = FLAGS.get(param, ())
    for option in (spellings,) if isinstance(spellings, str) else spellings:
        if options is None or option in options:
            return option
    return None


def write_fix(fix: Fix, options: Container[str] | None = None) -> str:
    """A fix in the CLI's words: ``--force``, ``--batch-size 5``, ``without --resume``.

    A parameter without an option keeps its Python form (``rounding="floor"``, or the fix's
    ``words``).
    """
    option = flag(fix.param, options)
    if option is None:
        return fix.python()
    if fix.value is UNSET or fix.value is True:
        return option
    if fix.value is False:
        return f"without {option}"
    return f"{option} {fix.value}"


def cli_message(error: BaseException, options: Container[str] | None = None) -> str:
    """The error's message as the CLI prints it: every fix written as an option.

    ``options``: the option strings of the command that ran, so only its own are named.
    """
    if isinstance(error, TatamuError):
        return error.render(lambda fix: write_fix(fix, options))
    return str(error)
