"""The training progress display: a tqdm bar on a terminal, plain lines elsewhere.

Kept apart from the training loop, which only reports events (``on_batch_end`` and so on), so
``fit(progress=False)`` prints nothing and a notebook or log file gets readable output.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO


class Callback:
    """Receives training events. Override what you need; every method is optional."""

    def on_train_begin(self, info: dict[str, Any]) -> None: ...
    def on_epoch_begin(self, epoch: int, num_batches: int) -> None: ...
    def on_batch_end(self, epoch: int, batch: int, logs: dict[str, float]) -> None: ...
    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None: ...
    def on_train_end(self, history) -> None: ...


class ProgressBar(Callback):
    """tqdm bar per epoch (loss, accuracy, images/s, ETA); one plain line per epoch otherwise."""

    def __init__(self, stream: TextIO | None = None, interactive: bool | None = None) -> None:
        self.stream = stream or sys.stderr
        isatty = getattr(self.stream, "isatty", lambda: False)()
        self.interactive = isatty if interactive is None else interactive
        self.bar = None
        self.epochs = 0
        self._start = 0.0
        self._seen = 0

    def on_train_begin(self, info):
        self.epochs = info["epochs"]
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
        if self.interactive:
            from tqdm import tqdm

            self.bar = tqdm(total=num_batches, desc=f"epoch {epoch}/{self.epochs}",
                            unit="batch", file=self.stream, leave=True, dynamic_ncols=True)

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


def format_epoch(logs: dict[str, Any]) -> str:
    """One line: train loss/accuracy, validation loss/accuracy if any, speed."""
    parts = [f"loss {logs['train_loss']:.4f}", f"acc {logs['train_accuracy']:.4f}"]
    if logs.get("val_loss") is not None:
        parts += [f"val_loss {logs['val_loss']:.4f}", f"val_acc {logs['val_accuracy']:.4f}"]
    parts.append(f"{logs['images_per_s']:,.0f} img/s, {logs['epoch_time']:.1f} s")
    return ", ".join(parts)
