"""The ``tatamu`` command: parse arguments, call the library, report.

Every error a user can cause (a ``TatamuError``, a bad argument, a missing file) is printed as
one line saying what was wrong and how to fix it, with exit status 2 and no traceback. Anything
else is a bug in tatamu: one line saying so and how to get the traceback for a report
(``TATAMU_DEBUG=1``), exit status 1. It names no address: tatamu has no issue tracker of its own
to point at, and an invented one would send the report nowhere.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import os
import sys

from ..i18n import _, language_setting, normalise, set_language
from .commands.arguments import UserError
from .parser import TatamuParser, language_option

EXIT_USER_ERROR = 2
EXIT_INTERNAL_ERROR = 1
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # what a shell reports for a command stopped by SIGPIPE

#: The subcommands, in the order ``tatamu --help`` lists them: one line each, naming a module of
#: tatamu.cli.commands with ``add_parser(subparsers)`` (which sets its ``run`` handler).
COMMANDS = [
    "train",
    "runs",  # the runs under some folders, side by side (tatamu.training.runs)
    "sweep",  # training runs x seeds side by side (tatamu.training.sweep)
    "evaluate",
    "predict",
    "summary",
    "size",
    "show",
    "explain",
    "check",  # a learner's own layer checked (tatamu.learn.checker)
    "grade",  # a whole class's layers checked (tatamu.learn.grading)
    "import_book",  # weights in and out (tatamu.interop)
    "import_weights",
    "export",
    "draw",  # a page to draw a digit on (tatamu.digits.draw)
]


#: OSError numbers that mean the machine refused (disk full, no permission), not a bug.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
_ENVIRONMENT_ERRNOS = _FULL | {errno.EROFS, errno.EACCES, errno.EPERM}


def one_line(message: str) -> str:
    """A multi-line message (a list of places looked in, of mirrors tried) as one line."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    text = lines[0] if lines else message
    for line in lines[1:]:
        text += (" " if text.endswith(":") else "; ") + line
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    before = language_setting()
    try:  # --lang first: the help texts are made in the language it names
        set_language(language_option(argv) or before)
    except UserError as exc:
        print(_("tatamu: error: {message}", message=exc), file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        return _run(argv)
    finally:
        set_language(before)  # main() called from Python leaves the language as it found it


def _run(argv: list[str]) -> int:
    wanted = os.environ.get("TATAMU_LANG")
    if wanted and normalise(wanted) is None:
        print(_("tatamu: warning: TATAMU_LANG={value} is not a language tatamu speaks (en, "
                "ja); speaking English", value=wanted), file=sys.stderr)
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UserError as exc:
        print(_("tatamu: error: {message}", message=exc), file=sys.stderr)
        return EXIT_USER_ERROR
    except SystemExit as exc:  # --help / --version: main returns the status, never exits
        return exc.code if isinstance(exc.code, int) else 0
    args.argv = argv  # the command as given (recorded in checkpoints)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USER_ERROR
    from ..errors import TatamuError
    from .flags import cli_message

    try:
        status = args.run(args) or 0
        sys.stdout.flush()  # a closed pipe shows up here, not at interpreter exit
        return status
    except (TatamuError, UserError) as exc:  # the library's fixes in this command's options
        message = cli_message(exc, options_of(parser, args))
        print(_("tatamu: error: {message}", message=one_line(message)), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(_("tatamu: interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader stopped reading (`tatamu evaluate RUN | head`): not a bug, nothing to say.
        # Point stdout at /dev/null so the interpreter's final flush does not fail again.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except MemoryError as exc:  # sizes asked for that this machine cannot hold
        print(_("tatamu: error: not enough memory ({error}); ask for less: smaller sizes "
                "(--input, --channels, --batch), a smaller --batch-size or --limit",
                error=exc or "MemoryError"), file=sys.stderr)
        return EXIT_USER_ERROR
    except Exception as exc:  # a bug in tatamu, not the user's fault...
        if isinstance(exc, OSError) and exc.errno in _ENVIRONMENT_ERRNOS:
            # ...unless the machine said no: a full disk, a read-only or forbidden folder.
            where = f"{exc.filename}: " if exc.filename else ""
            fix = (_("free some space or choose another folder (--out)") if exc.errno in _FULL
                   else _("choose a folder you can write to (--out) or change its permissions"))
            print(_("tatamu: error: {where}{reason}; {fix}", where=where,
                    reason=exc.strerror or exc, fix=fix), file=sys.stderr)
            return EXIT_USER_ERROR
        if os.environ.get("TATAMU_DEBUG"):
            raise
        print(
            _("tatamu: internal error: {kind}: {error}. This is a bug in tatamu: run the same "
              "command again with TATAMU_DEBUG=1 to see the traceback, and report it with the "
              "command that was run.", kind=type(exc).__name__, error=exc),
            file=sys.stderr,
        )
        return EXIT_INTERNAL_ERROR


def options_of(parser: argparse.ArgumentParser, args: argparse.Namespace) -> set[str]:
    """The option strings of the command that ran (``tatamu show dream``: its own and its
    parents'), given or not: the options a library error's fix may name."""
    options = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            chosen = action.choices.get(getattr(args, action.dest, None))
            if chosen is not None:
                options |= options_of(chosen, args)
        else:
            options.update(action.option_strings)
    return options


def build_parser() -> argparse.ArgumentParser:
    parser = TatamuParser(
        prog="tatamu",
        description=_("Convolutional neural networks from scratch on NumPy."),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f".commands.{name}", __package__).add_parser(sub)
    return parser


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
