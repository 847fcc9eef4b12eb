"""Make the tutorial notebooks from the tutorial Markdown: ``python docs/make_notebooks.py``.

The Markdown (``docs/tutorial.md``, ``docs/tutorial.ja.md``) is the source; the notebooks
(``docs/tutorial.ipynb``, ``docs/tutorial.ja.ipynb``) are made from it, with no outputs, and
committed. ``tests/test_tutorial_notebooks.py`` checks that the committed notebooks are exactly
what this script makes (so the two never drift: edit the Markdown, then run this) and runs them.

How a block becomes a cell:

- a ```` ```python ```` block: a code cell, as it is;
- a ```` ```sh ```` block: a code cell; a ``tatamu ...`` line becomes ``%tatamu ...`` (the
  command run in the kernel, its pictures shown below the cell: :mod:`tatamu.notebook`), any
  other command ``!...`` (the shell);
- prose, ```` ```text ```` (the output a block should print) and ```` ```bash ```` (set-up,
  not run): Markdown cells, as written.

Needs only the standard library (no nbformat): the JSON is written the way nbformat writes it
(one-space indent, keys sorted, source as a list of lines).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
FENCE = re.compile(r"^```(\w*)\n(.*?)^```[ \t]*$\n?", re.S | re.M)
#: The Markdown source of each notebook.
SOURCES = ("tutorial.md", "tutorial.ja.md")

NOTE = {
    "en": "*This notebook is made from [{md}]({md}) by `docs/make_notebooks.py`: edit the "
          "Markdown, not this file.* Run the cells from top to bottom. The first cell loads "
          "`%tatamu`: a line `%tatamu show filters run-tutorial` is the terminal command "
          "`tatamu show filters run-tutorial` run inside this notebook, and the pictures it "
          "writes are shown below the cell. In a notebook, `tatamu.train.fit` shows a live "
          "progress bar (with `ipywidgets` installed) and the `viz.plot_*` functions return "
          "figures that appear inline.",
    "ja": "*このノートブックは [{md}]({md}) から `docs/make_notebooks.py` で作られています。"
          "直すときは Markdown のほうを編集してください。* セルを上から順に実行します。"
          "最初のセルで `%tatamu` を読み込みます: `%tatamu show filters run-tutorial` の行は、"
          "ターミナルで打つ `tatamu show filters run-tutorial` をこのノートブックの中で実行し、"
          "書き出した画像をセルの下に表示します。ノートブックでは `tatamu.train.fit` が"
          "動く進捗バーを出し(`ipywidgets` が入っていれば)、`viz.plot_*` は図を返して"
          "その場に表示します。",
}


def notebook_path(markdown: Path) -> Path:
    """``tutorial.ja.md`` -> ``tutorial.ja.ipynb``, beside it."""
    return markdown.with_suffix(".ipynb")


def cells_from_markdown(text: str, source_name: str) -> list[dict]:
    """The notebook's cells for Markdown ``text`` (see the module docstring for the rules)."""
    language = "ja" if ".ja." in source_name else "en"
    cells = [_markdown(NOTE[language].format(md=source_name)),
             _code("%load_ext tatamu.notebook")]
    prose: list[str] = []
    position = 0
    for match in FENCE.finditer(text):
        lang, code = match.group(1), match.group(2)
        prose.append(text[position : match.start()])
        position = match.end()
        if lang not in ("python", "sh"):
            prose.append(match.group(0))
            continue
        cells.append(_markdown("".join(prose)))
        prose = []
        cells.append(_code(code if lang == "python" else _shell(code)))
    prose.append(text[position:])
    cells.append(_markdown("".join(prose)))
    cells = [c for c in cells if "".join(c["source"]).strip()]
    for number, cell in enumerate(cells):
        cell["id"] = f"cell-{number}"  # stable ids: the same Markdown makes the same file
    return cells


def _shell(code: str) -> str:
    lines = []
    for line in code.splitlines():
        if line.startswith("tatamu "):
            lines.append("%" + line)
        elif line.strip() and not line.lstrip().startswith("#"):
            lines.append("!" + line)
        else:
            lines.append(line)
    return "\n".join(lines)


def _lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def _markdown(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": _lines(text.strip("\n"))}


def _code(text: str) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": _lines(text.rstrip("\n"))}


def notebook_json(markdown: Path) -> str:
    """The notebook for ``markdown`` as the text of an .ipynb file (nbformat 4.5, no outputs)."""
    notebook = {
        "cells": cells_from_markdown(markdown.read_text(encoding="utf-8"), markdown.name),
        "metadata": {
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every tutorial notebook; ``--check``: only say which are out of date (status 1)."""
    argv = sys.argv[1:] if argv is None else argv
    stale = []
    for name in SOURCES:
        markdown = DOCS / name
        target, text = notebook_path(markdown), notebook_json(markdown)
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(target)
        if "--check" not in argv:
            target.write_text(text, encoding="utf-8")
    for target in stale:
        print(f"{'out of date' if '--check' in argv else 'wrote'}: {target}")
    return 1 if stale and "--check" in argv else 0


if __name__ == "__main__":
    sys.exit(main())
