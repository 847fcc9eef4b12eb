"""The READMEs and the guides show what works: ``README.md``, ``README.ja.md``, ``docs/guide/``.

- Every ```` ```python ```` block runs, top to bottom in one namespace per page, in a fresh
  folder. The examples train on all of MNIST; here ``load_mnist`` hands them the first 1,000
  training and 300 test images instead, so they finish in seconds (the only change; the code is
  run as written). A line ``EXPRESSION  # LITERAL: comment`` must compute LITERAL.
- Every ``tatamu ...`` line of a ```` ```sh ```` block must be a valid command line (parsed,
  not run: the run folders are placeholders).
- An example session (``$ tatamu ...`` followed by its output) is run, and each output line
  shown must start the real line (up to a trailing ``...``).
- README.md is a front page: at most 300 lines (everything else is a guide page).
- Every relative link and image in the READMEs and in docs/ (and benchmarks/README.md) points at
  a file that exists, and an ``#anchor`` at a heading of the page it names (GitHub's rule for
  turning a heading into an anchor).
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
#: the pages whose commands must parse: the READMEs and every guide page
PAGES = READMES + sorted((ROOT / "docs" / "guide").glob("*.md"))
#: guide pages whose Python and example sessions are not run here, and why
NOT_RUN = {
    "checker.md": "its examples check the reader's own files (my_layers.py, work.ipynb) and show a "
                  "timing (stopped after 3.1 s); tests/test_check*.py test what it describes",
    "teaching.md": "its sessions print wall times (1 s ± 0 s) and train; the grade and sweep "
                   "tests run what it describes",
}
#: the pages whose Python blocks and sessions run (each page its own namespace)
RUN = [page for page in PAGES if page.name not in NOT_RUN]
#: the pages whose links must resolve
LINKED = READMES + [ROOT / "benchmarks" / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
README_MAX_LINES = 300


def page_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.fixture(scope="module")
def small_mnist():
    (x, y), (xt, yt) = tatamu.datasets.load_mnist()
    return (x[:1000], y[:1000]), (xt[:300], yt[:300])


def command_words(line: str) -> list[str]:
    """A shell line's words up to its first redirection, pipe or separator (``> out.json``)."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split, lexer.commenters = True, "#"
    words = []
    for word in lexer:
        if word and set(word) <= set("();<>|&"):
            break
        words.append(word)
    return words


@pytest.mark.parametrize("readme", RUN, ids=page_id)
def test_python_blocks_run(readme, small_mnist, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(tatamu.datasets, "load_mnist", lambda *a, **k: small_mnist)
    blocks = [b for b in code_blocks(readme.read_text(encoding="utf-8")) if b["lang"] == "python"]
    if readme in READMES:
        assert blocks, f"{readme.name} has no python example"
    namespace: dict = {"__name__": "__main__"}
    for number, block in enumerate(blocks, 1):
        run_python(block["code"], namespace, f"{readme.name} python block {number}")


@pytest.mark.parametrize("readme", PAGES, ids=page_id)
def test_shell_examples_are_valid_commands(readme):
    parser = cli.build_parser()
    lines = [line for b in code_blocks(readme.read_text(encoding="utf-8")) if b["lang"] == "sh"
             for line in b["code"].splitlines() if line.startswith("tatamu ")]
    for line in lines:
        try:
            parser.parse_args(command_words(line)[1:])
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


@pytest.mark.parametrize("readme", RUN, ids=page_id)
def test_example_sessions_print_what_they_show(readme, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tests").symlink_to(ROOT / "tests")  # sessions name the repository's fixtures
    for command, shown in sessions(readme.read_text(encoding="utf-8")):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            cli.main(command_words(command)[1:])
        lines = out.getvalue().splitlines()
        for want in shown:
            prefix = want.removesuffix("...").rstrip()
            assert any(line.startswith(prefix) for line in lines), (
                f"{readme.name}: `{command}` did not print a line starting\n  {prefix}\n"
                f"it printed:\n{out.getvalue()}")


# -- a front page, and links that lead somewhere -----------------------------------------------
def test_readme_is_a_front_page():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= README_MAX_LINES, (
        f"README.md has {lines} lines (at most {README_MAX_LINES}): move the detail into a "
        "page of docs/guide/ and link it")


FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def without_fences(text: str) -> str:
    """The text with every fenced block emptied; a fence closes only with the same character,
    at least as many times (a ```` block may show ``` blocks inside)."""
    kept, fence = [], None
    for line in text.splitlines():
        opening = FENCE.match(line)
        if fence is None and opening:
            fence = opening.group(1)
        elif fence is not None and opening and opening.group(1)[0] == fence[0] \
                and len(opening.group(1)) >= len(fence) and not line.strip(" `~"):
            fence = None
        elif fence is None:
            kept.append(line)
    return "\n".join(kept)


def prose(text: str) -> str:
    """The text without fenced blocks and inline code (their brackets are not links)."""
    return INLINE_CODE.sub("", without_fences(text))


def anchors(text: str) -> set[str]:
    """GitHub's anchors for the headings: lower case, punctuation dropped, spaces to hyphens,
    a repeated one numbered (-1, -2, ...)."""
    found: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(without_fences(text)):
        heading = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link: its text
        slug = re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
        count = found.get(slug, 0)
        found[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def broken_links(page: Path) -> list[str]:
    broken = []
    for target in LINK.findall(prose(page.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: ...: not a file
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(
                linked.read_text(encoding="utf-8")):
            broken.append(f"{target}: no heading makes #{anchor}")
    return broken


@pytest.mark.parametrize("page", LINKED, ids=page_id)
def test_every_relative_link_resolves(page):
    broken = broken_links(page)
    assert not broken, f"{page_id(page)}:\n  " + "\n  ".join(broken)


def test_the_link_checker_finds_what_is_broken(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "other.md").write_text("# Weights in and out\n\n## 重みの出し入れ(本)\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Top\n## Top\n[ok](sub/other.md#weights-in-and-out) [ja](sub/other.md#重みの出し入れ本) "
        "[self](#top-1) ![img](sub/other.md) [web](https://example.org/x)\n"
        "[gone](missing.md) [bad](sub/other.md#nowhere) `[code](missing.md)`\n"
        "```\n[fenced](missing.md)\n```\n"
        "````markdown\n# Not a heading\n```\n[inner](missing.md)\n```\n````\n"
        "[after](#not-a-heading)\n")
    assert broken_links(page) == ["missing.md: no such file",
                                  "sub/other.md#nowhere: no heading makes #nowhere",
                                  "#not-a-heading: no heading makes #not-a-heading"]


def test_a_shell_line_ends_at_its_first_redirection():
    assert command_words("tatamu check a.py --json > r.json   # JSON") == [
        "tatamu", "check", "a.py", "--json"]
    assert command_words("tatamu explain im2col | head -1") == ["tatamu", "explain", "im2col"]
    assert command_words("tatamu size 7 --kernel 3  # the formula") == [
        "tatamu", "size", "7", "--kernel", "3"]
