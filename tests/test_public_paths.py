"""Every public import path the documentation shows imports (issue 21).

The paths are read from the files themselves, not typed here: README.md, README.ja.md, every
Markdown page under docs/ (the tutorials and the guides), the tutorial notebooks, and
benchmarks/README.md. Found are ``import tatamu.x``, ``from tatamu.x import a, b`` (each name),
``%load_ext tatamu.x``, the ``tatamu.layers.book:Convolution`` form ``tatamu check`` takes, and
any dotted ``tatamu.a.b`` in code or prose. Each must resolve: the longest leading part that is
a module imports, and the rest are attributes of it. When the package is regrouped again, this
is what keeps ``tatamu.train.fit`` and ``%load_ext tatamu.notebook`` working, or says which
page to change.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOTTED = re.compile(r"(?<![\w./-])tatamu(?:\.[A-Za-z_]\w*)+(?![\w*])")
FROM_IMPORT = re.compile(
    r"^\s*from\s+(tatamu(?:\.\w+)*)\s+import\s+(?:\(([^)]*)\)|([\w ,]+))", re.M)
CHECK_TARGET = re.compile(r"(tatamu(?:\.\w+)+):(\w+)")


def documents() -> list[Path]:
    pages = [ROOT / "README.md", ROOT / "README.ja.md", ROOT / "benchmarks" / "README.md"]
    pages += sorted((ROOT / "docs").rglob("*.md")) + sorted((ROOT / "docs").rglob("*.ipynb"))
    return [p for p in pages if p.exists()]


PYTHON_BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def text_of(path: Path) -> tuple[str, str]:
    """The whole text, and its Python code (fenced blocks; a notebook's code cells)."""
    if path.suffix == ".ipynb":  # the cells' sources; outputs are what the code printed
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
        return "\n".join("".join(c["source"]) for c in cells), "\n".join(code)
    text = path.read_text(encoding="utf-8")
    return text, "\n".join(PYTHON_BLOCK.findall(text))


def paths_in(text: str, code: str = "") -> set[str]:
    """The tatamu paths ``text`` names; in ``code`` also ``alias.name`` after
    ``from tatamu import viz`` (``viz.plot_filters(...)`` is ``tatamu.viz.plot_filters``)."""
    found = set()
    aliases = {}
    for match in FROM_IMPORT.finditer(text):
        listed = match.group(2) if match.group(2) is not None else match.group(3)
        for name in (n.split() for n in listed.split(",") if n.strip()):
            found.add(f"{match.group(1)}.{name[0]}")
            aliases[name[-1]] = f"{match.group(1)}.{name[0]}"  # "x as y": y
    for alias, path in aliases.items():
        found |= {f"{path}.{attribute}" for attribute in
                  re.findall(rf"(?<![\w.]){alias}\.([A-Za-z_]\w*)\(", code)}
    found |= {f"{module}.{name}" for module, name in CHECK_TARGET.findall(text)}
    found |= {m.group(0).rstrip(".") for m in DOTTED.finditer(text)}
    return {p for p in found if not p.endswith((".py", ".md", ".npz", ".json", ".png"))}


def resolve(path: str):
    """The object ``path`` names: its longest importable prefix, then attributes."""
    parts = path.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue  # not a module: an attribute of a shorter prefix (or nothing: fails below)
        for attribute in parts[cut:]:
            obj = getattr(obj, attribute)
        return obj
    raise ModuleNotFoundError(path)


def shown_paths() -> dict[str, list[str]]:
    """Each path, with the documents that show it."""
    where: dict[str, list[str]] = {}
    for page in documents():
        for path in paths_in(*text_of(page)):
            where.setdefault(path, []).append(str(page.relative_to(ROOT)))
    return where


SHOWN = shown_paths()


def test_the_documents_show_the_paths_users_rely_on():
    # the extraction works: paths the issue names, from the README, tutorials and notebooks
    for path in ("tatamu.layers.Conv2D", "tatamu.train.fit", "tatamu.datasets.load_mnist",
                 "tatamu.viz.plot_filters", "tatamu.gradcheck", "tatamu.notebook",
                 "tatamu.layers.book.Convolution"):
        assert path in SHOWN, path
    assert len(SHOWN) > 30


@pytest.mark.parametrize("path", sorted(SHOWN))
def test_every_shown_path_imports(path):
    try:
        resolve(path)
    except (ImportError, AttributeError) as exc:
        pytest.fail(f"{path} (shown in {', '.join(SHOWN[path])}) does not import: {exc}")


def test_the_extraction_reads_imports_magics_and_check_targets():
    text = ("from tatamu.layers import (Conv2D,\n    ReLU)\n%load_ext tatamu.notebook\n"
            "tatamu check tatamu.layers.book:Pooling\nsee `src/tatamu/im2col.py` and "
            "tatamu.train.fit.\n")
    assert paths_in(text) == {"tatamu.layers", "tatamu.layers.Conv2D", "tatamu.layers.ReLU",
                              "tatamu.notebook", "tatamu.layers.book",
                              "tatamu.layers.book.Pooling", "tatamu.train.fit"}
    code = "from tatamu import viz as v, explain\nv.plot_filters(m)\nexplain.explain_conv()\n"
    assert paths_in(code, code) == {"tatamu.viz", "tatamu.viz.plot_filters", "tatamu.explain",
                                    "tatamu.explain.explain_conv"}
    assert paths_in("every `tatamu.viz.plot_*` returns a Figure") == {"tatamu.viz"}
    with pytest.raises(AttributeError):
        resolve("tatamu.layers.Affine")  # dropped: one name per thing
