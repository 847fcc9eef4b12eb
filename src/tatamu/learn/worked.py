"""How a worked sum is written for a learner: the pieces the backward walkthroughs share.

A backward walkthrough (``backward.py``, ``adjoint.py``, ``pool_backward.py``) writes many sums
of the form "this cell sits in k windows, so k terms add". The rules for writing them live here
once: how a sum is shortened, how a sentence is wrapped (an index such as ``x[1, 1]`` is never
split), which windows hold a cell. Each sentence a learner reads is one whole format string,
so that it can be translated as a whole.
"""

from __future__ import annotations

import re
import textwrap

import numpy as np

from ..display import format_number
from .explain import _fits, _grid, _sizes, _wrap, parse_size

MAX_ROWS = 16  # rows of col / dcol printed before "... and N more"
MAX_TERMS = 16  # terms of one sum printed before "... (N more terms)"
NBSP = "\u00a0"  # a space textwrap does not break at
_INDEX = re.compile(r"\[[^\]]*\]")
_OPERATOR = re.compile(r"(?<=[\w)\]]) ([-=+*/@×]) (?=[\w(])")


def geometry(input_size, kernel_size, stride, padding, rounding):
    """Sizes as a learner types them -> ((H, W), (FH, FW), S, P, (OH, OW)); stride None = kernel."""
    (h, w), (kh, kw) = parse_size(input_size, "input"), parse_size(kernel_size, "kernel")
    s = (kh, kw) if stride is None else parse_size(stride, "stride")
    p = parse_size(padding, "padding")
    return (h, w), (kh, kw), s, p, _sizes((h, w), (kh, kw), s, p, rounding)


def grid(a: np.ndarray) -> list[str]:
    """The rows of ``a`` as text, or one line saying it is too large for a terminal."""
    if _fits(a):
        return _grid(a)
    return [f"  ({a.shape[0]}x{a.shape[1]}: too large to print here; the walkthrough's arrays "
            f"hold it, and --png draws it)"]


def counting(shape) -> np.ndarray:
    """1, 2, 3, ... in ``shape``: every number different, so each one can be followed."""
    return np.arange(1, int(np.prod(shape)) + 1, dtype=np.float64).reshape(shape)


def say(text: str, indent: str = "") -> list[str]:
    """One whole sentence (or paragraph) wrapped to the terminal: kept whole for translation.

    An index (``x[1, 1]``) or a little formula (``a = r + P``) is never broken across lines.
    """
    keep = _INDEX.sub(lambda m: m.group(0).replace(" ", NBSP), text)
    keep = _OPERATOR.sub(NBSP + r"\1" + NBSP, keep)
    return [line.replace(NBSP, " ") for line in textwrap.wrap(
        keep, 96, initial_indent=indent, subsequent_indent=indent, break_long_words=False,
        break_on_hyphens=False)]


def windows_holding(row: int, col: int, kernel, stride, out_hw) -> list[tuple[int, int, int, int]]:
    """Every window holding cell (row, col) of the padded input, as (i, j, a, b): out[i, j] saw
    the cell through kernel element (a, b), a = row - i*S, b = col - j*S. Reading order."""
    found = []
    for i in range(out_hw[0]):
        a = row - i * stride[0]
        for j in range(out_hw[1]):
            b = col - j * stride[1]
            if 0 <= a < kernel[0] and 0 <= b < kernel[1]:
                found.append((i, j, a, b))
    return found


def sum_lines(name: str, symbols: list[str], numbers: list[str], total: float) -> list[str]:
    """``name = s1 + s2 + ...`` then ``= n1 + n2 + ... = total``; a long sum is shortened."""
    if not symbols:
        return [f"  {name} = 0"]
    if len(symbols) > MAX_TERMS:
        more = len(symbols) - MAX_TERMS
        symbols = [*symbols[:MAX_TERMS], f"... ({more} more terms)"]
        numbers = [*numbers[:MAX_TERMS], "..."]
    if len(numbers) == 1 and numbers[0] == format_number(total):  # one term, nothing to add
        return [f"  {name} = {symbols[0]} = {numbers[0]}"]
    lines = _wrap(f"  {name} = {' + '.join(symbols)}")
    return [*lines, *_wrap(f"  {' ' * len(name)} = {' + '.join(numbers)} = "
                           f"{format_number(total)}")]


def cell_sentence(name: str, holders: list[str], where: str | None = None) -> str:
    """How many windows hold a cell, and so how many terms its gradient has: one whole sentence
    per case (a translator needs each whole). ``where`` names the windows (default: holders)."""
    where = where or ", ".join(holders)
    if not holders:
        return f"{name} sits in no window (the rounding left it out), so its gradient is 0."
    if len(holders) == 1:
        return f"{name} sits in 1 window, {where}: one term."
    return f"{name} sits in {len(holders)} windows ({where}), so {len(holders)} terms add."


def and_list(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def more_line(shown: int, total: int, option: str) -> list[str]:
    """``... and N more, the same way (--option shows more)`` when not everything was shown."""
    if total <= shown:
        return []
    return [f"  ... and {total - shown} more, the same way ({option} shows more)"]
