"""Make docs/notebook.png: the tutorial notebook, executed, as a browser shows it.

Not part of the package or the tests: it is how the picture in docs/guide/notebooks.md is made,
so it can be made again. It runs ``docs/tutorial.ipynb`` (or ``--lang ja``) top to bottom in a
real Jupyter kernel (nbclient) in a scratch folder, keeps the cells worth showing (training with
its live bar, the filters drawn inline), renders them to HTML with nbconvert, the progress bar's
widget included (@jupyter-widgets/html-manager), and screenshots the page with headless
Chromium.

Needs, beyond the test extra: nbconvert and ipywidgets (``pip install nbconvert ipywidgets``;
ipywidgets is what gives the notebook bar), Chromium (``apt-get install chromium``), and the
widget renderer and RequireJS from npm, unpacked (``npm pack @jupyter-widgets/html-manager@1
requirejs@2`` then ``tar xzf`` each), given as ``--npm DIR`` (DIR/package/dist/embed-amd.js,
DIR/requirejs/require.js). The page loads nothing from the network: every script is local.

    python docs/notebook_screenshot.py --npm /tmp/npmw --out docs/notebook.png
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
#: The cells shown: the one that trains and the one that draws the filters inline.
FIRST, LAST = "tatamu.train.fit(", "viz.plot_filters("


def execute(notebook_path: Path, folder: Path):
    import nbclient
    import nbformat

    notebook = nbformat.read(notebook_path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=900, kernel_name="python3",
                                     store_widget_state=True,
                                     resources={"metadata": {"path": str(folder)}})
    client.execute()
    return notebook


def keep_cells(notebook):
    """The training cell (its output: the bar), then the text and cell that draw the filters."""
    sources = [c.source for c in notebook.cells]
    fit = next(i for i, s in enumerate(sources) if FIRST in s)
    filters = next(i for i, s in enumerate(sources) if LAST in s)
    text = notebook.cells[filters - 1]
    text.source = text.source.split("\n\n")[-1]  # the paragraph that introduces the cell
    notebook.cells = [notebook.cells[fit], text, notebook.cells[filters]]
    return notebook


def to_html(notebook, npm: Path) -> str:
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.require_js_url = (npm / "requirejs" / "require.js").as_uri()
    exporter.widget_renderer_url = (npm / "package" / "dist" / "embed-amd.js").as_uri()
    exporter.mathjax_url = ""
    html, _ = exporter.from_notebook_node(notebook)
    # Nothing may come from the network: drop any remaining remote script or style sheet.
    html = re.sub(r'<script[^>]+src="https?://[^"]*"[^>]*>\s*</script>', "", html)
    html = re.sub(r'<link[^>]+href="https?://[^"]*"[^>]*>', "", html)
    return html


def screenshot(html_path: Path, png_path: Path, width: int, height: int) -> None:
    subprocess.run([
        "chromium", "--headless=new", "--no-sandbox", "--disable-gpu",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--allow-file-access-from-files", "--hide-scrollbars",
        "--virtual-time-budget=8000", f"--screenshot={png_path}",
        f"--window-size={width},{height}", html_path.as_uri(),
    ], check=True, capture_output=True, timeout=120)


def shrink(png_path: Path, budget: int = 250_000, margin: int = 16) -> None:
    """Crop the empty page below the last cell; keep full colour if the file stays under
    ``budget`` bytes, else a 256-colour palette (colour bars then show steps)."""
    import numpy as np
    from PIL import Image

    with Image.open(png_path) as image:
        rgb = image.convert("RGB")
    used = np.flatnonzero((np.asarray(rgb) < 250).any(axis=(1, 2)))  # rows with any ink
    if len(used):
        rgb = rgb.crop((0, 0, rgb.width, min(rgb.height, int(used[-1]) + margin)))
    rgb.save(png_path, optimize=True)
    if png_path.stat().st_size > budget:
        rgb.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(png_path, optimize=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", choices=["en", "ja"], default="en")
    parser.add_argument("--npm", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=DOCS / "notebook.png")
    parser.add_argument("--width", type=int, default=960)
    parser.add_argument("--height", type=int, default=1780)
    args = parser.parse_args()
    source = DOCS / ("tutorial.ipynb" if args.lang == "en" else "tutorial.ja.ipynb")
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(DOCS.parent / "src"), *filter(None, [os.environ.get("PYTHONPATH")])])
        notebook = keep_cells(execute(source, folder))
        page = folder / "notebook.html"
        page.write_text(to_html(notebook, args.npm.resolve()), encoding="utf-8")
        screenshot(page, args.out.resolve(), args.width, args.height)
    shrink(args.out)
    print(f"{args.out}: {args.out.stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
