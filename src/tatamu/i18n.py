"""The language tatamu speaks to its user: English, or Japanese (日本語) for the book's readers.

One mechanism, the standard library's :mod:`gettext`: every learner-facing sentence is written
in English in the code, wrapped in :func:`_` (``_("{path} already exists", path=path)``), and
looked up in a message catalog shipped as package data (``tatamu/locale/ja/LC_MESSAGES/
tatamu.mo``, compiled from the ``.po`` beside it by ``scripts/i18n.py``). A sentence with no
translation stays English, so a missing entry is never an error.

Which language: :func:`using_language` (this thread only: one request of the drawing page),
else :func:`set_language` (the process: ``tatamu.set_language("ja")``, the CLI's ``--lang``),
else the environment: ``TATAMU_LANG``, else the locale (``LC_ALL``, ``LC_MESSAGES``, ``LANG``,
the first one set, as POSIX reads them); English when none names a language tatamu speaks.

What stays English whatever the language: numbers, code identifiers (``W``, ``col2im``,
``--stride``), JSON keys, and the arguments a user types.
"""

from __future__ import annotations

import contextlib
import functools
import gettext
import io
import os
import re
import unicodedata
from collections.abc import Iterator
from contextvars import ContextVar
from importlib import resources

#: The languages tatamu speaks; the first is the one its code is written in.
LANGUAGES = ("en", "ja")
DOMAIN = "tatamu"

_process_language: str | None = None  # set_language's choice
_thread_language: ContextVar[str | None] = ContextVar("tatamu_language", default=None)


def normalise(text: str | None) -> str | None:
    """A language tag as tatamu knows it, or None: ``"ja_JP.UTF-8"``, ``"ja-JP"``, ``"JA"``
    -> ``"ja"``; ``"C"`` and ``"POSIX"`` (the locale of no language) -> ``"en"``."""
    if not text:
        return None
    tag = text.strip().split(".")[0].split("@")[0].replace("-", "_").lower()
    if tag in ("c", "posix"):
        return "en"
    primary = tag.split("_")[0]
    return primary if primary in LANGUAGES else None


def from_environment(environ: os._Environ | dict | None = None) -> str:
    """The language the environment asks for: ``TATAMU_LANG``, else the locale, else English.

    Of the locale variables the first one set decides, as for every POSIX program (``LC_ALL``
    overrides ``LC_MESSAGES``, which overrides ``LANG``); one that names a language tatamu does
    not speak (``fr_FR.UTF-8``) means English.
    """
    env = os.environ if environ is None else environ
    explicit = env.get("TATAMU_LANG")
    if explicit:
        return normalise(explicit) or LANGUAGES[0]
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(name):
            return normalise(env[name]) or LANGUAGES[0]
    return LANGUAGES[0]


def checked(language: str) -> str:
    """``language`` normalised, or a ConfigError naming the languages there are."""
    code = normalise(language) if isinstance(language, str) else None
    if code is None:
        from .errors import ConfigError

        raise ConfigError(f"language takes {' or '.join(map(repr, LANGUAGES))}; got {language!r}",
                          param="language", value=language)
    return code


def set_language(language: str | None) -> None:
    """Speak ``language`` (``"ja"`` or ``"en"``) from now on, in this whole process.

    ``None`` goes back to what the environment asks for (``TATAMU_LANG``, the locale).

    >>> import tatamu
    >>> tatamu.set_language("ja")
    >>> from tatamu.learn.explain import explain_conv
    >>> str(explain_conv()).splitlines()[0]
    '畳み込み: 4x4 の入力 ⊛ 3x3 のフィルター、パディング 0、ストライド 1'
    >>> tatamu.set_language(None)
    """
    global _process_language
    _process_language = None if language is None else checked(language)


def language_setting() -> str | None:
    """What :func:`set_language` chose (None: the environment decides)."""
    return _process_language


def language() -> str:
    """The language being spoken now: ``"en"`` or ``"ja"``."""
    return _thread_language.get() or _process_language or from_environment()


@contextlib.contextmanager
def using_language(language: str | None) -> Iterator[None]:
    """Speak ``language`` inside the ``with`` block, in this thread only (None: no change).

    The drawing page's server answers each request in the language that request asks for.
    """
    token = _thread_language.set(None if language is None else checked(language))
    try:
        yield
    finally:
        _thread_language.reset(token)


def japanese_font():
    """tatamu's Japanese font: just the glyphs its Japanese messages use, as a TrueType file.

    A subset of BIZ UDPGothic (Morisawa's font made for reading in schools; SIL Open Font
    License 1.1, ``locale/fonts/OFL.txt``), made by ``scripts/i18n.py font``; a test checks
    that it holds every character of the Japanese catalog. The drawing page and the figures
    use it, so Japanese shows without a Japanese font installed. A Traversable (``.read_bytes()``).
    """
    return resources.files(__package__).joinpath("locale", "fonts", "tatamu-ja.ttf")


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalog of ``language`` (English: none, the messages are written in it)."""
    if language == LANGUAGES[0]:
        return gettext.NullTranslations()
    path = resources.files(__package__).joinpath("locale", language, "LC_MESSAGES",
                                                  f"{DOMAIN}.mo")
    try:
        return gettext.GNUTranslations(io.BytesIO(path.read_bytes()))
    except OSError:  # a catalog missing from a broken install: English rather than a crash
        return gettext.NullTranslations()


def _(message: str, /, **values: object) -> str:
    """``message`` in the current language, its ``{name}`` fields filled from ``values``.

    >>> _("{count} windows", count=4)
    '4 windows'

    Without ``values`` the text is returned as translated, braces and all.
    """
    if not message:  # gettext answers "" with the catalog's header
        return message
    text = translations(language()).gettext(message)
    return text.format(**values) if values else text


def ngettext(singular: str, plural: str, n: int, /, **values: object) -> str:
    """The singular or plural form for ``n`` (Japanese has one), ``{n}`` filled in too.

    >>> ngettext("{n} epoch", "{n} epochs", 3)
    '3 epochs'
    """
    text = translations(language()).ngettext(singular, plural, n)
    return text.format(n=n, **values)


def pgettext(context: str, message: str, /, **values: object) -> str:
    """:func:`_` for a word whose translation depends on where it stands (``context``)."""
    text = translations(language()).pgettext(context, message)
    return text.format(**values) if values else text


def text_width(text: str) -> int:
    """The columns ``text`` takes in a terminal: two for a wide character (漢字, かな), one else.

    >>> text_width("入力 (4x4)")
    10
    """
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad_columns(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (``right``: spaces first)."""
    fill = " " * max(0, width - text_width(text))
    return fill + text if right else text + fill


#: Japanese punctuation a line may not start with (、。）...) or end with (（「...).
_CLOSING, _OPENING = set("、。，．）」』】〕！？：；ー…"), set("（「『【〔")


def wrap_columns(text: str, width: int, indent: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` terminal columns, for text with Japanese in it.

    Breaks at spaces and between wide characters (Japanese puts no spaces between words),
    never before 、。） or after （「, and never inside a run of other characters (an index
    ``x[1, 1]`` joined by no-break spaces stays whole).
    """
    atoms = re.findall(r"[ \t\n]+|[^ \t\n]", text)  # a no-break space is not a break
    words: list[str] = []
    for atom in atoms:  # glue runs of narrow characters into words, and punctuation on
        glue = words and not _breaks(atom) and not _breaks(words[-1][-1]) and (
            (text_width(atom) == 1 and text_width(words[-1][-1]) == 1)
            or atom in _CLOSING or words[-1][-1] in _OPENING)
        if glue:
            words[-1] += atom
        else:
            words.append(atom)
    lines, line = [], indent
    for word in words:
        if _breaks(word):
            if line.strip():
                line += " "
            continue
        if line.strip() and text_width(line) + text_width(word) > width:
            lines.append(line.rstrip())
            line = indent
        line += word
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _breaks(text: str) -> bool:
    return text.strip(" \t\n") == ""


def N_(message: str, /) -> str:  # noqa: N802 (gettext's own name for it)
    """Marks ``message`` for the catalog without translating it now: for tables made at import
    time, translated with ``_(entry)`` where they are shown, in the language of that moment."""
    return message
