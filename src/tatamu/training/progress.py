"""The training progress display: a live bar where one can be seen, plain lines elsewhere.

Kept apart from the training loop, which only reports events (``on_batch_end`` and so on), so
``fit(progress=False)`` prints nothing. Where the output goes decides the display
(:func:`choose_display`): tqdm's widget bar in a Jupyter notebook, tqdm's text bar on a
terminal, one plain line per epoch in a log file or pipe, where a bar would be a wall of
carriage returns. A notebook without ipywidgets gets the plain lines and a one-time hint.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ..errors import ConfigError


class Callback:
    """Receives training events. Override what you need; every method is optional."""

    def on_train_begin(self, info: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int, num_batches: int) -> None: ...
    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_train_end(self, history) -> None: ...


#: The hint a notebook without ipywidgets gets, once per Python process.
WIDGETS_HINT = ("tatamu: for a live progress bar in this notebook, install ipywidgets "
                "(pip install ipywidgets) and restart the kernel; until then, one line per epoch")
_hinted = False


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Notebook, VS Code, Colab), False elsewhere.

    IPython is looked up, never imported: a script that did not import it is not in one. A
    terminal IPython shell is not a notebook (its output is a terminal).
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    names = {cls.__name__ for cls in type(shell).__mro__}
    return "ZMQInteractiveShell" in names or "IPKernelApp" in getattr(shell, "config", {})


def have_widgets() -> bool:
    """True when tqdm can draw its notebook bar (ipywidgets importable)."""
    try:
        from tqdm.notebook import IProgress
    except ImportError:
        return False
    return IProgress is not None


def choose_display(stream: TextIO | None = None) -> str:
    """``"notebook"``, ``"terminal"`` or ``"plain"``: how progress is shown on ``stream``.

    ``stream=None`` means the default output: in a notebook with ipywidgets that is the
    notebook bar; on a terminal (sys.stderr is a tty) the text bar. A given stream gets the
    text bar when it is a terminal and plain lines otherwise (a file, a pipe, a StringIO).
    """
    if stream is None:
        if in_notebook():
            return "notebook" if have_widgets() else "plain"
        stream = sys.stderr
    return "terminal" if getattr(stream, "isatty", lambda: False)() else "plain"


class ProgressBar(Callback):
    """A live bar per epoch (loss, accuracy, images/s, ETA), or one plain line per epoch.

    ``display``: ``"notebook"``, ``"terminal"`` or ``"plain"``; default: chosen by
    :func:`choose_display` for ``stream``. ``interactive=True``/``False`` forces the text
    bar / plain lines (as before ``display`` existed).
    """

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None,
                 display: str | None = None) -> None:
        chosen = display is None and interactive is None
        if display is None:
            display = choose_display(stream) if interactive is None else (
                "terminal" if interactive else "plain")
        if display not in ("notebook", "terminal", "plain"):
            raise ConfigError(f"display is 'notebook', 'terminal' or 'plain'; got {display!r}")
        notebook = stream is None and in_notebook()
        # Only the automatic choice falls back for want of ipywidgets: say so, once.
        self._hint = chosen and notebook and display == "plain"
        if notebook and display != "terminal":
            stream = sys.stdout  # a notebook shows stderr as if it were a warning
        self.display = display
        self.stream = stream or sys.stderr
        self.interactive = display != "plain"
        self.bar = None
        self.epochs = 0
        self._start = 0.0
        self._seen = 0

    def on_train_begin(self, info):
        self.epochs = info["epochs"]
        if self._hint:
            _hint_once(self.stream)
        if not self.interactive:
            print(
                f"training {info['num_params']:,} parameters on {info['num_train']:,} samples, "
                f"{info['epochs']} epoch{'s' if info['epochs'] != 1 else ''}, "
                f"batch {info['batch_size']}",
                file=self.stream,
                flush=True,
            )

    def on_epoch_begin(self, epoch, num_batches):
        self._start, self._seen = time.perf_counter(), 0
        desc = f"epoch {epoch}/{self.epochs}"
        if self.display == "notebook":
            from tqdm.notebook import tqdm as notebook_tqdm

            self.bar = notebook_tqdm(total=num_batches, desc=desc, unit="batch", leave=True)
        elif self.display == "terminal":
            from tqdm import tqdm

            self.bar = tqdm(total=num_batches, desc=desc, unit="batch", file=self.stream,
                            leave=True, dynamic_ncols=True)

    def on_batch_end(self, epoch, batch, logs):
        self._seen += logs["batch_size"]
        if self.bar is not None:
            rate = self._seen / max(time.perf_counter() - self._start, 1e-9)
            self.bar.set_postfix(loss=f"{logs['loss']:.4f}", acc=f"{logs['accuracy']:.3f}",
                                 img_s=f"{rate:,.0f}", refresh=False)
            self.bar.update(1)

    def on_epoch_end(self, epoch, logs):
        text = format_epoch(logs)
        if self.bar is not None:
            self.bar.set_postfix_str(text, refresh=True)
            self.bar.close()
            self.bar = None
        else:
            print(f"epoch {epoch}/{self.epochs}: {text}", file=self.stream, flush=True)

    def on_train_end(self, history):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _hint_once(stream: TextIO) -> None:
    global _hinted
    if not _hinted:
        _hinted = True
        print(WIDGETS_HINT, file=stream, flush=True)


def format_epoch(logs: dict[str, Any]) -> str:
    """One line: train loss/accuracy, validation and test loss/accuracy if measured, speed."""
    parts = [f"loss {logs['train_loss']:.4f}", f"acc {logs['train_accuracy']:.4f}"]
    for kind in ("val", "test"):
        if logs.get(f"{kind}_loss") is not None:
            parts += [f"{kind}_loss {logs[f'{kind}_loss']:.4f}",
                      f"{kind}_acc {logs[f'{kind}_accuracy']:.4f}"]
    parts.append(f"{logs['images_per_s']:,.0f} img/s, {logs['epoch_time']:.1f} s")
    return ", ".join(parts)
