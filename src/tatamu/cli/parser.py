"""The ``tatamu`` argument parser in the user's language, and the ``--lang`` every command takes.

``--lang ja|en`` may stand anywhere (``tatamu --lang ja check ...`` or ``tatamu check ...
--lang ja``): :func:`language_option` reads it before the parser is built, so the help texts
are made in that language. argparse's own words (``usage:``, ``options``, "the following
arguments are required") have no catalog of their own in Python, so :func:`argparse_message`
translates the messages it formats from their templates, listed here.
"""

from __future__ import annotations

import argparse
import re

from ..i18n import LANGUAGES, N_, _, normalise, text_width, wrap_columns
from .commands.arguments import UserError

#: argparse's message templates (Python 3.11-3.13) whose translation the catalog holds.
ARGPARSE_MESSAGES = [
    N_("the following arguments are required: %s"),
    N_("unrecognized arguments: %s"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("expected one argument"),
    N_("expected at least one argument"),
    N_("expected at most one argument"),
    N_("not allowed with argument %s"),
    N_("ignored explicit argument %r"),
    N_("one of the arguments %s is required"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
]
_FIELD = re.compile(r"%(?:\((\w+)\))?[sr]")


def language_option(argv: list[str]) -> str | None:
    """The language ``--lang`` asks for anywhere in ``argv`` (before a ``--``), or None."""
    for k, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" or arg.startswith("--lang="):
            value = arg.partition("=")[2] if "=" in arg else (
                argv[k + 1] if k + 1 < len(argv) else "")
            return language_type(value)
    return None


def language_type(text: str) -> str:
    """``--lang``'s value: ``ja``, ``en`` (``ja_JP.UTF-8`` and ``ja-JP`` too)."""
    code = normalise(text)
    if code is None or text.lower() in ("c", "posix"):
        raise UserError(_("--lang takes {choices}; got {value!r}",
                          choices=" or ".join(LANGUAGES), value=text))
    return code


def argparse_message(message: str) -> str:
    """One of argparse's messages in the current language (as it is when none matches)."""
    for template in ARGPARSE_MESSAGES:
        translated = _(template)
        if translated == template:
            continue
        fields = list(_FIELD.finditer(template))
        pattern, end = "", 0
        for k, field in enumerate(fields):
            pattern += re.escape(template[end:field.start()]) + f"(?P<g{k}>.+?)"
            end = field.end()
        match = re.fullmatch(pattern + re.escape(template[end:]), message, re.S)
        if match is None:
            continue
        # %(name)r's value was quoted by argparse already: every field is filled as text
        values = {field.group(1) or str(k): match.group(f"g{k}") for k, field in
                  enumerate(fields)}
        if "message" in values:
            values["message"] = argparse_message(values["message"])
        positional = iter(v for k, v in values.items() if k.isdigit())
        return _FIELD.sub(lambda m, values=values, positional=positional:
                          values[m.group(1)] if m.group(1) else next(positional), translated)
    return message


class TatamuParser(argparse.ArgumentParser):
    """argparse in the user's language, reporting a bad argument like every other user error
    (one line, exit status 2), with ``--lang`` on every command."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = _("positional arguments")
        self._optionals.title = _("options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                          help=_("show this help message and exit"))
        self.add_argument("--lang", type=_lang_argument, default=argparse.SUPPRESS,
                          metavar="|".join(LANGUAGES),
                          help=_("the language tatamu speaks (default: $TATAMU_LANG, else the "
                                 "locale's, else en)"))

    def error(self, message: str):
        raise UserError(_("{message} (see '{prog} --help')", message=argparse_message(message),
                          prog=self.prog))

    def _get_formatter(self):
        formatter = super()._get_formatter()
        add_usage = formatter.add_usage

        def translated_usage(usage, actions, groups, prefix=None):
            add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)

        formatter.add_usage = translated_usage
        kind = type(formatter)
        split_lines, fill_text = formatter._split_lines, formatter._fill_text
        # argparse wraps at spaces, and Japanese has none between words: wrap it by columns
        if kind._split_lines is argparse.HelpFormatter._split_lines:
            formatter._split_lines = lambda text, width: (
                wrap_columns(" ".join(text.split()), width) if _wide(text)
                else split_lines(text, width))
        if kind._fill_text is argparse.HelpFormatter._fill_text:
            formatter._fill_text = lambda text, width, indent: (
                "\n".join(wrap_columns(" ".join(text.split()), width, indent)) if _wide(text)
                else fill_text(text, width, indent))
        return formatter


def _wide(text: str) -> bool:
    return text_width(text) != len(text)


def _lang_argument(text: str) -> str:
    try:
        return language_type(text)
    except UserError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
