"""How tatamu's objects look in a Jupyter notebook: HTML tables instead of monospaced text.

A notebook shows an object by asking for ``_repr_html_`` (then ``_repr_png_``, then plain
``repr``). ``Sequential`` answers with its summary table (the same rows as ``summary()``),
a layer with its settings and parameters. Everything a user named (layer names, settings)
is HTML-escaped, so a name like ``"<b>"`` shows as typed and cannot break the page.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Sequence


def table_html(header: Sequence[str], rows: Sequence[Sequence[str]], *, caption: str = "",
               footer: str = "", numeric: Sequence[int] = ()) -> str:
    """An HTML table; cells escaped; the columns in ``numeric`` right-aligned (numbers).

    >>> table_html(["a", "n"], [["<x>", "1,000"]], numeric=[1])[:33]
    '<table class="tatamu"><thead><tr>'
    """
    def cells(row, tag):
        return "".join(
            f'<{tag} style="text-align: {"right" if i in numeric else "left"}">'
            f"{html.escape(str(cell))}</{tag}>" for i, cell in enumerate(row))

    parts = ['<table class="tatamu">']
    if caption:
        parts.append(f'<caption style="text-align: left">{html.escape(caption)}</caption>')
    parts.append(f"<thead><tr>{cells(header, 'th')}</tr></thead><tbody>")
    parts += [f"<tr>{cells(row, 'td')}</tr>" for row in rows]
    parts.append("</tbody>")
    if footer:
        parts.append(f'<tfoot><tr><td colspan="{len(header)}" style="text-align: left">'
                     f"{html.escape(footer)}</td></tr></tfoot>")
    parts.append("</table>")
    return "".join(parts)


def text_html(text: str) -> str:
    """Monospaced text kept exactly as printed (worked examples line their numbers up)."""
    return f'<pre style="line-height: 1.25">{html.escape(text)}</pre>'


def png_html(png: bytes, alt: str = "") -> str:
    """A PNG embedded in the page (a notebook saved to disk keeps it)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt)}">'


def format_number(v: float) -> str:
    """A number as a learner writes it: 15, not 15.0; 0.333, not 0.3333333.

    >>> format_number(15.0), format_number(1 / 3), format_number(-float("inf"))
    ('15', '0.333', '-inf')
    """
    if math.isinf(v):
        return "-inf" if v < 0 else "inf"
    return str(int(v)) if float(v).is_integer() else f"{v:.3g}"
