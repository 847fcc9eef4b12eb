"""The tutorial notebooks: made from the Markdown, committed without outputs, and they run.

``docs/tutorial.ipynb`` and ``docs/tutorial.ja.ipynb`` are generated from the tutorials'
Markdown by ``docs/make_notebooks.py``; the committed files must be exactly what it makes now
(edit the Markdown, run the script). Each notebook is then executed end to end in a real
Jupyter kernel (nbclient + ipykernel), in a fresh folder; any cell error fails the test.

The tutorials already train on a slice (3,000 images, one epoch); the only help from the test
is the one ``tests/test_tutorial.py`` gives: a first cell, added here and never committed,
makes the kernel read MNIST from disk once instead of once per ``%tatamu show``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

import tatamu

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
MARKDOWN = [DOCS / "tutorial.md", DOCS / "tutorial.ja.md"]

#: Prepended to each notebook before it runs: MNIST read once per kernel, as in
#: test_tutorial.py's read_mnist_once fixture (same data, nothing else changed).
READ_MNIST_ONCE = """\
import tatamu.datasets as _datasets
_real_load_dataset, _mnist = _datasets.load_dataset, _datasets.load_mnist()
_datasets.load_mnist = (lambda *a, **k: _mnist if not a and not k
                        else _real_load_dataset("mnist", *a, **k))
_datasets.load_dataset = (lambda name, **k: _mnist if name == "mnist" and not k.get("root")
                          else _real_load_dataset(name, **k))
"""


def make_notebooks():
    """docs/make_notebooks.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("make_notebooks", DOCS / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("markdown", MARKDOWN, ids=lambda p: p.name)
def test_the_committed_notebook_is_the_one_the_markdown_makes(markdown):
    maker = make_notebooks()
    committed = maker.notebook_path(markdown)
    assert committed.read_text(encoding="utf-8") == maker.notebook_json(markdown), (
        f"{committed.name} is out of date with {markdown.name}: run python docs/make_notebooks.py")
    notebook = nbformat.reads(committed.read_text(encoding="utf-8"), as_version=4)
    nbformat.validate(notebook)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert all(not c.outputs and c.execution_count is None for c in code)  # outputs cleared


def test_blocks_become_cells():
    maker = make_notebooks()
    text = ("# Title\n\nprose\n\n```python\nx = 1\n```\n\n```text\n1\n```\n\n"
            "```sh\ntatamu show filters run  # a comment\nls -l\n```\n\n```bash\npip x\n```\nend\n")
    cells = maker.cells_from_markdown(text, "t.md")
    kinds = [(c["cell_type"], "".join(c["source"])) for c in cells]
    assert kinds[1] == ("code", "%load_ext tatamu.notebook")
    assert kinds[2:] == [
        ("markdown", "# Title\n\nprose"),
        ("code", "x = 1"),
        ("markdown", "```text\n1\n```"),
        ("code", "%tatamu show filters run  # a comment\n!ls -l"),
        ("markdown", "```bash\npip x\n```\nend"),
    ]
    assert [c["id"] for c in cells] == [f"cell-{i}" for i in range(len(cells))]
    assert maker.main(["--check"]) == 0  # and the script agrees the committed ones are fresh


def run_notebook(path: Path, folder: Path):
    notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)
    notebook.cells.insert(0, nbformat.v4.new_code_cell(READ_MNIST_ONCE))
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()  # raises CellExecutionError on the first cell that fails
    return notebook


def outputs_of(notebook, fragment: str) -> list[dict]:
    cells = [c for c in notebook.cells if c.cell_type == "code" and fragment in c.source]
    assert cells, fragment
    return [o for c in cells for o in c.outputs]


@pytest.mark.parametrize("markdown", MARKDOWN, ids=lambda p: p.name)
def test_the_notebook_runs_end_to_end(markdown, tmp_path, monkeypatch):
    # The kernel imports the tatamu under test (this checkout), wherever it runs.
    package_root = str(Path(tatamu.__file__).resolve().parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [package_root, *filter(None, [os.environ.get("PYTHONPATH")])]))
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent),
                                                os.environ.get("PATH", "")]))
    notebook = run_notebook(make_notebooks().notebook_path(markdown), tmp_path)

    texts = [o.get("text", "") for c in notebook.cells for o in c.get("outputs", [])]
    if "tatamu: error:" not in markdown.read_text(encoding="utf-8"):
        assert not any("tatamu: error:" in t for t in texts), texts  # a %tatamu line failed
    # training printed its epoch (or drew its bar where ipywidgets are installed)
    fit = outputs_of(notebook, "tatamu.train.fit(")
    assert any("epoch 1/1" in o.get("text", "") or "application/vnd.jupyter.widget-view+json"
               in o.get("data", {}) for o in fit), fit
    assert any("accuracy on 1,000 test images" in o.get("text", "") for o in fit)
    # a figure returned by viz.plot_filters shows inline, and %tatamu show's picture too
    for fragment in ("viz.plot_filters(", "%tatamu show filters"):
        assert any("image/png" in o.get("data", {}) for o in outputs_of(notebook, fragment)), \
            fragment
    assert (tmp_path / "run-tutorial" / "best.npz").is_file()
    assert (tmp_path / "saliency-0.png").is_file()
