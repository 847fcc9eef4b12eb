"""tatamu in a Jupyter notebook: inline figures, the progress display, HTML views.

- every ``plot_*`` returns its matplotlib Figure without a path, saves and returns the path
  with one, never goes through pyplot (no window, the user's figure list untouched), and a
  loop drawing many pictures keeps its memory flat;
- ``fit``'s progress display is chosen by where it runs: tqdm's widget bar in a Jupyter
  kernel with ipywidgets, plain lines plus a one-time hint without them, tqdm's text bar on a
  terminal, plain lines in a pipe or file (a kernel is imitated by a stand-in IPython module);
- ``Sequential``, layers and ``tatamu.explain`` walkthroughs display as tables and worked text.

The tutorial notebooks themselves are executed in ``test_tutorial_notebooks.py``.
"""

from __future__ import annotations

import gc
import html
import io
import sys
import types
import weakref
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from tatamu import viz
from tatamu.datasets import Augment
from tatamu.errors import TatamuError
from tatamu.layers import Conv2D, Flatten, Linear, MaxPool2D, ReLU
from tatamu.learn import explain
from tatamu.learn.adjoint import explain_col2im
from tatamu.learn.backward import explain_conv_backward
from tatamu.learn.pool_backward import explain_pool_backward
from tatamu.model import Sequential
from tatamu.optim import Adam
from tatamu.training import progress
from tatamu.training.loop import fit
from tatamu.viz import plots


def small_net(seed: int = 0) -> Sequential:
    return Sequential([Conv2D(1, 4, 3, rng=seed), ReLU(), MaxPool2D(2), Flatten(),
                       Linear(4 * 5 * 5, 3, rng=seed)], (1, 12, 12))


@pytest.fixture(scope="module")
def drawn():
    """Everything the pictures need: a model, its start, samples, labels, probabilities."""
    rng = np.random.default_rng(0)
    x = rng.random((12, 1, 12, 12), dtype=np.float32)
    labels = np.arange(12) % 3
    model = small_net(0)
    return {"model": model, "initial": small_net(1), "x": x, "labels": labels,
            "probs": model.predict(x)}


HISTORY = {"epoch": [1, 2], "train_loss": [1.0, 0.5], "train_accuracy": [0.6, 0.8],
           "val_loss": [0.9, 0.7], "val_accuracy": [0.65, 0.75]}

#: Each picture function, called with everything but its path.
PICTURES = {
    "plot_filters": lambda d, **p: viz.plot_filters(d["model"], initial=d["initial"], **p),
    "plot_feature_maps": lambda d, **p: viz.plot_feature_maps(d["model"], d["x"][0], **p),
    "plot_errors": lambda d, **p: viz.plot_errors(d["x"], d["labels"], d["probs"], **p),
    "plot_confusion": lambda d, **p: viz.plot_confusion(d["probs"], d["labels"], **p),
    "plot_saliency": lambda d, **p: viz.plot_saliency(d["model"], d["x"][0], **p),
    "plot_dream": lambda d, **p: viz.plot_dream(d["model"], "conv1", [0, 1], steps=2, **p),
    "plot_walkthrough": lambda d, **p: viz.plot_walkthrough(explain.explain_conv(), **p),
    "plot_walkthrough_im2col": lambda d, **p: viz.plot_walkthrough(explain.explain_im2col(),
                                                                   **p),
    "plot_walkthrough_conv_backward": lambda d, **p: viz.plot_walkthrough(
        explain_conv_backward(), **p),
    "plot_walkthrough_col2im": lambda d, **p: viz.plot_walkthrough(explain_col2im(), **p),
    "plot_walkthrough_pool_backward": lambda d, **p: viz.plot_walkthrough(
        explain_pool_backward(stride=1), **p),
    "plot_curves": lambda d, **p: viz.plot_curves(HISTORY, **p),
    "plots.plot_history": lambda d, **p: plots.plot_history(HISTORY, **p),
    "plot_augmented": lambda d, **p: viz.plot_augmented(d["x"][:3], Augment(), copies=2, **p),
    "plot_runs": lambda d, **p: viz.plot_runs({"book": HISTORY, "cosine": HISTORY}, **p),
}


def test_every_plot_function_is_covered():
    public = {n for n in dir(viz) if n.startswith("plot_")}
    assert public <= set(PICTURES), public - set(PICTURES)


def pyplot_figures() -> list[int]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return pyplot.get_fignums() if pyplot is not None else []


@pytest.mark.parametrize("name", list(PICTURES))
def test_plot_returns_a_figure_without_a_path_and_the_path_with_one(name, drawn, tmp_path):
    before = pyplot_figures()
    fig = PICTURES[name](drawn)
    assert isinstance(fig, Figure)
    assert fig.axes and fig.get_size_inches().min() > 1  # a drawn picture, not an empty one
    path = PICTURES[name](drawn, path=tmp_path / "sub" / "picture.png")
    assert path == tmp_path / "sub" / "picture.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 2000
    width, height = (fig.get_size_inches() * viz.figure.DPI).round().astype(int)
    assert _png_size(path) == (width, height)  # the saved picture is the returned figure's
    assert pyplot_figures() == before  # nothing left open in pyplot


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[16:24]  # IHDR: width, height as big-endian 32-bit
    return int.from_bytes(head[:4], "big"), int.from_bytes(head[4:], "big")


def test_a_path_given_as_a_string_is_returned_as_a_path(drawn, tmp_path):
    out = viz.plot_confusion(drawn["probs"], drawn["labels"], str(tmp_path / "c.png"))
    assert out == tmp_path / "c.png" and out.is_file()


def test_a_loop_of_saved_pictures_keeps_no_figure_alive(drawn, tmp_path, monkeypatch):
    """Saving releases each figure: after 5 pictures none of their Figures is left in
    memory (none in pyplot's list, none anywhere), so a loop's memory stays flat."""
    made = []

    def recorded(**kwargs):
        fig = new_figure(**kwargs)
        made.append(weakref.ref(fig))
        return fig

    new_figure = viz.figure.new_figure
    monkeypatch.setattr(viz.mistakes, "new_figure", recorded)
    for i in range(5):
        viz.plot_confusion(drawn["probs"], drawn["labels"], tmp_path / f"c{i % 3}.png")
    gc.collect()
    assert len(made) == 5 and all(ref() is None for ref in made)
    assert pyplot_figures() == []


def test_returned_figures_are_freed_when_dropped(drawn):
    fig = viz.plot_confusion(drawn["probs"], drawn["labels"])
    ref = weakref.ref(fig)
    del fig
    gc.collect()
    assert ref() is None  # no registry (pyplot's) holds on to it


# -- the progress display: chosen by where fit runs -----------------------------------------
class ZMQInteractiveShell:
    """Stands in for ipykernel's shell: a Jupyter kernel, as in_notebook() sees it."""

    config: dict = {}


class TerminalInteractiveShell:
    config: dict = {}


class TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def kernel(monkeypatch):
    """Pretend to run in a Jupyter kernel; returns a setter for whether ipywidgets exist."""
    fake = types.ModuleType("IPython")
    fake.get_ipython = ZMQInteractiveShell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setattr(progress, "_hinted", False)

    def widgets(present: bool) -> None:
        monkeypatch.setattr(progress, "have_widgets", lambda: present)

    return widgets


def data(n=40):
    rng = np.random.default_rng(0)
    return rng.random((n, 1, 12, 12), dtype=np.float32), np.arange(n) % 3


def test_plain_lines_in_a_pipe_and_the_bar_on_a_terminal(monkeypatch):
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert progress.choose_display(io.StringIO()) == "plain"
    assert progress.choose_display(TTY()) == "terminal"
    monkeypatch.setattr(sys, "stderr", TTY())
    assert progress.choose_display() == "terminal"
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress.choose_display() == "plain"


def test_a_terminal_ipython_is_not_a_notebook(monkeypatch):
    fake = types.ModuleType("IPython")
    fake.get_ipython = TerminalInteractiveShell
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setattr(sys, "stderr", TTY())
    assert not progress.in_notebook()
    assert progress.choose_display() == "terminal"


def test_a_kernel_with_widgets_gets_the_notebook_bar(kernel, monkeypatch):
    kernel(True)
    assert progress.in_notebook() and progress.choose_display() == "notebook"
    bars = []

    class NotebookBar:  # records what tqdm.notebook.tqdm receives
        def __init__(self, **kwargs):
            self.kwargs, self.postfix, self.updates, self.closed = kwargs, [], 0, False
            bars.append(self)

        def set_postfix(self, **kw):
            self.postfix.append(kw)

        def set_postfix_str(self, text, refresh=True):
            self.final = text

        def update(self, n):
            self.updates += n

        def close(self):
            self.closed = True

    import tqdm.notebook

    monkeypatch.setattr(tqdm.notebook, "tqdm", NotebookBar)
    fit(small_net(), data(), epochs=2, batch_size=10, optimizer=Adam(), seed=0)
    assert len(bars) == 2 and all(b.closed and b.updates == 4 for b in bars)
    assert bars[0].kwargs["desc"] == "epoch 1/2" and bars[0].kwargs["total"] == 4
    assert set(bars[0].postfix[-1]) - {"refresh"} == {"loss", "acc", "img_s"}  # as on a tty
    assert "img/s" in bars[1].final


def test_a_kernel_without_widgets_prints_lines_and_one_hint(kernel, capsys):
    kernel(False)
    assert progress.choose_display() == "plain"
    for _ in range(2):
        fit(small_net(), data(), epochs=2, batch_size=10, optimizer=Adam(), seed=0)
    out, err = capsys.readouterr()
    assert out.count("pip install ipywidgets") == 1  # once per kernel, not per fit
    assert out.count("epoch 2/2: loss ") == 2 and "\r" not in out
    assert err == ""  # stdout: a notebook shows stderr as if it were a warning


def test_a_stream_given_in_a_kernel_decides_by_itself(kernel):
    kernel(True)
    assert progress.ProgressBar(stream=io.StringIO()).display == "plain"
    assert progress.ProgressBar(interactive=True).display == "terminal"
    with pytest.raises(TatamuError, match="display is"):
        progress.ProgressBar(display="widget")
    assert not progress.ProgressBar(display="plain")._hint  # asked for: no hint needed


def test_have_widgets_follows_ipywidgets(monkeypatch):
    import tqdm.notebook

    monkeypatch.setattr(tqdm.notebook, "IProgress", None)
    assert not progress.have_widgets()
    monkeypatch.setattr(tqdm.notebook, "IProgress", object)
    assert progress.have_widgets()


# -- HTML views ------------------------------------------------------------------------------
def test_sequential_shows_its_summary_as_a_table():
    model = small_net()
    page = model._repr_html_()
    assert page.startswith("<table") and page.endswith("</table>")
    assert page.count("<tr>") == 1 + 1 + len(model.layers) + 1  # header, input, layers, total
    for name, _kind, shape, count in model.summary_rows():
        assert f">{name}</td>" in page and f">{shape}</td>" in page and f">{count}</td>" in page
    assert ">Conv2D</td>" in page and ">(4, 10, 10)</td>" in page and ">40</td>" in page
    assert f"total parameters: {model.num_params():,}" in page
    assert "(3)" in model.summary() and "303" in model.summary()  # the text is unchanged


def test_names_are_escaped():
    model = Sequential({"<b>c&1": Conv2D(1, 2, 3, rng=0), "fc": Linear(2 * 4 * 4, 2, rng=0)},
                       (1, 6, 6))
    for page in (model._repr_html_(), model.layers["<b>c&1"]._repr_html_()):
        assert "<b>" not in page and "&lt;b&gt;c&amp;1" in page


def test_a_layer_shows_its_settings_and_parameters():
    page = Conv2D(3, 8, 5, stride=2, rng=0)._repr_html_()
    for cell in (">stride</td>", ">2</td>", ">(8, 3, 5, 5) float32</td>", ">600</td>",
                 ">(8,) float32</td>", "parameters: 608"):
        assert cell in page, cell
    assert "parameters: 0" in ReLU()._repr_html_()


def test_a_walkthrough_shows_its_worked_text_and_its_picture_when_asked():
    from IPython.lib.pretty import pretty

    walk = explain.explain_conv()
    assert pretty(walk) == str(walk)  # not the dataclass's arrays
    page = walk._repr_html_()
    assert page.startswith("<pre") and page.endswith("</pre>")
    assert html.unescape(page[page.index(">") + 1 : -len("</pre>")]) == str(walk)
    assert "2*2 + 3*0 + 0*1" in page and "⊛" in page
    fig = walk.figure()
    assert isinstance(fig, Figure) and len(fig.axes) >= 4


# -- %tatamu: the command line inside a notebook ---------------------------------------------
def test_the_magic_runs_the_command_and_finds_its_pictures(tmp_path, capsys):
    from tatamu.cli import notebook

    status, pictures = notebook.run_command(f"explain pool --png --out {tmp_path}")
    out = capsys.readouterr().out
    assert status == 0 and "Step 1. The output size" in out  # printed as it ran
    assert pictures == [tmp_path / "explain-pool.png"] and pictures[0].stat().st_size > 1000
    status, pictures = notebook.run_command("explain conv --stride 0")
    assert status == 2 and pictures == []
    assert "tatamu: error: --stride must be at least 1" in capsys.readouterr().err


def test_the_magic_shows_each_picture_below_the_cell(tmp_path, monkeypatch):
    from IPython import display as ipython_display

    from tatamu.cli import notebook

    shown = []
    monkeypatch.setattr(ipython_display, "display", shown.append)
    monkeypatch.chdir(tmp_path)
    notebook.tatamu_magic("explain im2col --png")
    assert len(shown) == 1 and shown[0].data[:8] == b"\x89PNG\r\n\x1a\n"

    class Shell:  # what %load_ext hands the extension
        def register_magic_function(self, function, magic_kind, magic_name):
            self.registered = (function, magic_kind, magic_name)

    shell = Shell()
    notebook.load_ipython_extension(shell)
    assert shell.registered == (notebook.tatamu_magic, "line", "tatamu")


def test_in_a_kernel_a_returned_figure_displays_as_png_and_a_users_format_is_kept(
        drawn, monkeypatch):
    """tatamu never imports pyplot, so it registers the PNG display matplotlib's inline
    backend would have; a display the user (or pyplot) registered first is left alone."""
    from IPython.core.formatters import PNGFormatter

    png = PNGFormatter()
    shell = types.SimpleNamespace(display_formatter=types.SimpleNamespace(
        formatters={"image/png": png}))
    import IPython

    monkeypatch.setattr(IPython, "get_ipython", lambda: shell)
    fig = viz.plot_confusion(drawn["probs"], drawn["labels"])
    data = png(fig)
    assert data[:8] == b"\x89PNG\r\n\x1a\n"

    png = PNGFormatter()
    png.for_type(Figure, lambda f: b"the user's own")
    shell.display_formatter.formatters["image/png"] = png
    assert png(viz.plot_curves(HISTORY)) == b"the user's own"
