"""The tutorials' code blocks run, and print what the tutorials say they print.

``docs/tutorial.ja.md`` and its English twin ``docs/tutorial.md`` are run top to bottom, as a
reader would, in a fresh folder:

- every ```` ```python ```` block runs in one shared namespace (the blocks build on each
  other);
- every line of a ```` ```sh ```` block that starts with ``tatamu`` runs as the ``tatamu``
  command (in-process); a ```` ```bash ```` block is set-up and is not run;
- a ```` ```text ```` block right after a code block is that block's output: its lines must
  appear in the real output, in order (an excerpt may leave lines out; a ``...`` line is
  skipped);
- a line ``EXPRESSION  # LITERAL: comment`` in a python block claims a value: EXPRESSION must
  equal LITERAL (used by the README's examples).

The blocks use small settings (3,000 training images, 1 epoch) so they finish in seconds; the
only help from the test is that MNIST is read from disk once per session.
"""

from __future__ import annotations

import ast
import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tatamu
from tatamu.cli import app as cli

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "docs" / "tutorial.ja.md", ROOT / "docs" / "tutorial.md"]
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\s*$", re.S | re.M)
CLAIM = re.compile(r"^(?P<expr>[^#=]+?)\s+#\s*(?P<literal>[\[\(\d\-].*?)(?::\s.*)?$")


def code_blocks(text: str) -> list[dict]:
    """Fenced blocks in order: language, code, and the text block that follows (if any)."""
    blocks = [{"lang": m.group(1), "code": m.group(2), "start": m.start(), "end": m.end()}
              for m in FENCE.finditer(text)]
    for block, after in zip(blocks, blocks[1:], strict=False):
        if after["lang"] == "text" and not text[block["end"] : after["start"]].strip():
            block["expected"] = after["code"]
    return [b for b in blocks if b["lang"] != "text"]


def assert_output(expected: str, actual: str, where: str) -> None:
    """Every expected line appears in ``actual``, in order ('...' lines are skipped)."""
    lines = [line.rstrip() for line in actual.splitlines()]
    position = 0
    for want in (line.rstrip() for line in expected.splitlines()):
        if want.strip() in ("", "..."):
            continue
        try:
            position = lines.index(want, position) + 1
        except ValueError:
            raise AssertionError(f"{where}: expected the line\n  {want!r}\nin the output "
                                 f"(after line {position}):\n{actual}") from None


def check_claims(code: str, namespace: dict, where: str) -> None:
    """``expr  # [literal]: ...`` lines: the expression must equal the literal."""
    for line in code.splitlines():
        match = CLAIM.match(line)
        if not match or line.startswith((" ", "\t")):
            continue
        try:
            literal = ast.literal_eval(match.group("literal").strip())
            expr = compile(match.group("expr").strip(), where, "eval")
        except (ValueError, SyntaxError):
            continue  # an ordinary comment
        value = eval(expr, namespace)  # noqa: S307 - the documentation's own expression
        np.testing.assert_allclose(np.asarray(value, dtype=float),
                                   np.asarray(literal, dtype=float), err_msg=f"{where}: {line}")


def run_python(code: str, namespace: dict, where: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, where, "exec"), namespace)  # noqa: S102 - running the docs
    check_claims(code, namespace, where)
    return out.getvalue()


def run_shell(code: str, expect_error: bool, where: str) -> str:
    out = io.StringIO()
    for line in code.splitlines():
        if not line.startswith("tatamu "):
            continue
        argv = shlex.split(line, comments=True)[1:]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            status = cli.main(argv)
        assert status == (2 if expect_error else 0), f"{where}: `{line}` exited {status}:\n" \
                                                     f"{out.getvalue()}"
    return out.getvalue()


def run_markdown(path: Path) -> dict:
    """Run every python and sh block of ``path`` in the current folder; return the namespace."""
    namespace: dict = {"__name__": "__main__"}
    for number, block in enumerate(code_blocks(path.read_text(encoding="utf-8")), 1):
        where = f"{path.name} block {number} ({block['lang']})"
        expected = block.get("expected")
        if block["lang"] == "python":
            output = run_python(block["code"], namespace, where)
        elif block["lang"] == "sh":
            output = run_shell(block["code"], "tatamu: error:" in (expected or ""), where)
        else:
            continue
        if expected is not None:
            assert_output(expected, output, where)
    return namespace


@pytest.fixture(scope="session")
def mnist_once():
    """MNIST as shipped, read from disk once for all the documents."""
    return tatamu.datasets.load_mnist()


@pytest.fixture
def read_mnist_once(monkeypatch, mnist_once):
    real = tatamu.datasets.load_dataset

    def load_mnist(*args, **kwargs):
        return mnist_once if not args and not kwargs else real("mnist", *args, **kwargs)

    def load_dataset(name, **kwargs):
        return mnist_once if name == "mnist" and not kwargs.get("root") else real(name, **kwargs)

    monkeypatch.setattr(tatamu.datasets, "load_mnist", load_mnist)
    monkeypatch.setattr(tatamu.datasets, "load_dataset", load_dataset)


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_tutorial_runs(doc, tmp_path, monkeypatch, read_mnist_once):
    monkeypatch.chdir(tmp_path)
    namespace = run_markdown(doc)
    # the run the tutorial trains is a real run folder, and the pictures it promised exist
    assert {"initial.npz", "last.npz", "best.npz"} <= {p.name for p in
                                                      (tmp_path / "run-tutorial").iterdir()}
    for name in ("filters.png", "feature-maps-0.png", "dream-conv1.png", "errors.png",
                 "confusion.png", "saliency-0.png", "augmented.png", "runs.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
    assert namespace["result"]["accuracy"] > 0.8  # what the text says after training


@pytest.fixture(scope="session")
def fresh_tatamu_names() -> set[str]:
    """What ``import tatamu`` alone provides (a fresh interpreter: no test imported anything)."""
    code = "import tatamu; print(' '.join(dir(tatamu)))"
    return set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              check=True).stdout.split())


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_blocks_use_only_what_they_import(doc, fresh_tatamu_names):
    """``tatamu.viz`` works in the test run only because the CLI imported it; a reader's
    fresh Python would fail. So every ``tatamu.NAME`` must exist after ``import tatamu``."""
    code = "\n".join(b["code"] for b in code_blocks(doc.read_text(encoding="utf-8"))
                     if b["lang"] == "python")
    used = set(re.findall(r"\btatamu\.(\w+)", code))
    assert used <= fresh_tatamu_names, used - fresh_tatamu_names


def test_the_twins_teach_the_same_steps():
    """The English tutorial runs the same commands and shows the same outputs as the Japanese."""
    ja, en = (code_blocks(p.read_text(encoding="utf-8")) for p in DOCS)
    assert [b["lang"] for b in ja] == [b["lang"] for b in en]
    for a, b in zip(ja, en, strict=True):
        if a["lang"] == "sh":
            assert a["code"] == b["code"]
        assert a.get("expected") == b.get("expected")


def test_code_blocks_parse():
    blocks = code_blocks("```python\nprint(1)\n```\n\n```text\n1\n```\nprose\n```sh\nx\n```\n")
    assert [b["lang"] for b in blocks] == ["python", "sh"]
    assert blocks[0]["expected"] == "1\n" and "expected" not in blocks[1]
    with pytest.raises(AssertionError):
        assert_output("2\n", "1\n", "here")
    assert_output("a\n...\nc\n", "a\nb\nc\n", "here")
