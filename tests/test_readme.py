"""The READMEs' examples work: ``README.md`` and ``README.ja.md``.

- Every ```` ```python ```` block runs, top to bottom in one namespace, in a fresh folder. The
  first example trains on all of MNIST; here ``load_mnist`` hands it the first 1,000 training
  and 300 test images instead, so it finishes in seconds (the only change; the code is run as
  written). A line ``EXPRESSION  # LITERAL: comment`` must compute LITERAL.
- Every ``tatamu ...`` line of a ```` ```sh ```` block must be a valid command line (parsed,
  not run: the README's run folders are placeholders).
- An example session (``$ tatamu ...`` followed by its output) is run, and each output line
  shown must start the real line (up to a trailing ``...``).
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from test_tutorial import code_blocks, run_python

import tatamu
from tatamu.cli import app as cli

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", ROOT / "README.ja.md"]


@pytest.fixture(scope="module")
def small_mnist():
    (x, y), (xt, yt) = tatamu.datasets.load_mnist()
    return (x[:1000], y[:1000]), (xt[:300], yt[:300])


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_python_blocks_run(readme, small_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tatamu.datasets, "load_mnist", lambda *a, **k: small_mnist)
    blocks = [b for b in code_blocks(readme.read_text(encoding="utf-8")) if b["lang"] == "python"]
    assert blocks, f"{readme.name} has no python example"
    namespace: dict = {"__name__": "__main__"}
    for number, block in enumerate(blocks, 1):
        run_python(block["code"], namespace, f"{readme.name} python block {number}")


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_shell_examples_are_valid_commands(readme):
    parser = cli.build_parser()
    lines = [line for b in code_blocks(readme.read_text(encoding="utf-8")) if b["lang"] == "sh"
             for line in b["code"].splitlines() if line.startswith("tatamu ")]
    for line in lines:
        try:
            parser.parse_args(shlex.split(line, comments=True)[1:])
        except (SystemExit, cli.UserError):
            pytest.fail(f"{readme.name}: not a valid command line: {line}")


def sessions(text: str) -> list[tuple[str, list[str]]]:
    """``$ tatamu ...`` lines in plain ``` blocks, each with the output lines shown after it."""
    found = []
    for block in code_blocks(text):
        if block["lang"]:
            continue
        for chunk in re.split(r"^\$ ", block["code"], flags=re.M)[1:]:
            command, *output = chunk.rstrip("\n").splitlines()
            found.append((command, output))
    return found


@pytest.mark.parametrize("readme", READMES, ids=lambda p: p.name)
def test_example_sessions_print_what_they_show(readme, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for command, shown in sessions(readme.read_text(encoding="utf-8")):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            cli.main(shlex.split(command)[1:])
        lines = out.getvalue().splitlines()
        for want in shown:
            prefix = want.removesuffix("...").rstrip()
            assert any(line.startswith(prefix) for line in lines), (
                f"{readme.name}: `{command}` did not print a line starting\n  {prefix}\n"
                f"it printed:\n{out.getvalue()}")
