"""``%tatamu``: the ``tatamu`` command inside a Jupyter notebook, its pictures shown inline.

Load once per notebook with ``%load_ext tatamu.notebook``; then ``%tatamu show filters
run-tutorial`` is ``tatamu show filters run-tutorial`` typed in a terminal, run in the kernel's
own Python (so it needs no PATH set-up and uses the tatamu the notebook imports), and every
PNG file the command reports is shown below the cell. ``!tatamu ...`` works as well where
the command is on the kernel's PATH, but prints file names only.
"""

from __future__ import annotations

import contextlib
import io
import shlex
import sys
from pathlib import Path


class _Tee(io.TextIOBase):
    """Writes to the notebook as it comes (a long ``train`` shows each epoch) and keeps a copy."""

    def __init__(self, stream) -> None:
        self.stream, self.copy = stream, io.StringIO()

    def write(self, text: str) -> int:
        self.copy.write(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def run_command(line: str) -> tuple[int, list[Path]]:
    """Run ``tatamu LINE`` in this Python; return its exit status and the PNGs it reported."""
    from . import app as cli

    tee = _Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        status = cli.main(shlex.split(line, comments=True))
    # The CLI prints each picture it writes on a line of its own (``tatamu show``, ``--png``),
    # or at the end of a line (``plot:  runs/.../curves.png`` after ``tatamu train``).
    pictures = []
    for text in tee.copy.getvalue().splitlines():
        for candidate in dict.fromkeys((text.strip(), text.strip().rsplit(" ", 1)[-1])):
            if candidate.lower().endswith(".png") and Path(candidate).is_file():
                pictures.append(Path(candidate))
                break
    return status, pictures


def tatamu_magic(line: str) -> None:
    """``%tatamu ARGS``: run ``tatamu ARGS`` and show the pictures it wrote."""
    from IPython.display import Image, display

    status, pictures = run_command(line)
    if status == 0:
        for picture in pictures:
            display(Image(filename=str(picture)))


def load_ipython_extension(ipython) -> None:
    """Called by ``%load_ext tatamu.notebook``: registers the ``%tatamu`` line magic."""
    ipython.register_magic_function(tatamu_magic, magic_kind="line", magic_name="tatamu")
