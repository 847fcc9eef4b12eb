"""A class's submissions: what they are, their files, which file holds each layer, their
fingerprint.

A submission is a ``.py`` file, a ``.ipynb`` notebook or a folder (one student's files, which
import each other) directly inside the submissions folder; its name is the file's or folder's
name without suffix. A folder's layer is found by what its files define (``class Convolution``,
``def conv_forward_naive``...) or named with ``file=``. Files are read here, once, and travel
with the job, so a Dask worker needs no access to the teacher's folder.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ...errors import ConfigError

SUFFIXES = (".py", ".ipynb")
#: Folders never copied: version control, caches, Jupyter's autosaves.
SKIPPED_FOLDERS = {".git", ".hg", ".svn", "__pycache__", ".ipynb_checkpoints", ".venv", "venv"}
#: The most one submission may hold; a bigger one is graded as ``too-large``.
MAX_BYTES = 64 * 1024 * 1024


@dataclass
class Submission:
    """One student's work, read: files as (path relative to the submission, bytes)."""

    name: str
    path: Path
    files: list[tuple[str, bytes]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # links, never followed
    too_large: bool = False

    @property
    def is_folder(self) -> bool:
        return self.path.is_dir()

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.files)


def find(folder: Path) -> tuple[list[Submission], list[str]]:
    """The submissions in ``folder`` (by name), and the entries that are not one."""
    if not folder.is_dir():
        raise ConfigError(f"{folder} is not a folder; give the folder that holds the class's "
                          "submissions (one .py, .ipynb or folder each)", param="submissions")
    entries = sorted(p for p in folder.iterdir() if not p.name.startswith("."))
    chosen = [p for p in entries if (p.is_dir() and p.name not in SKIPPED_FOLDERS
                                     and not p.is_symlink())
              or (p.is_file() and p.suffix in SUFFIXES)]
    ignored = [p.name for p in entries if p not in chosen]
    stems = [p.stem if p.is_file() else p.name for p in chosen]
    # Two entries with one name (alice.py and alice/): each keeps its whole name.
    names = [p.name if stems.count(s) > 1 else s for p, s in zip(chosen, stems, strict=True)]
    return [Submission(n, p) for n, p in zip(names, chosen, strict=True)], ignored


def read(submission: Submission) -> Submission:
    """Read the submission's files (links are listed in ``skipped``, never followed)."""
    path = submission.path
    if path.is_file():
        submission.files = [(path.name, path.read_bytes())]
        return submission
    total = 0
    for file in sorted(path.rglob("*")):
        relative = file.relative_to(path)
        if any(part in SKIPPED_FOLDERS for part in relative.parts[:-1]) or file.is_dir():
            continue
        if file.is_symlink() or not file.is_file():
            submission.skipped.append(relative.as_posix())
            continue
        total += file.stat().st_size
        if total > MAX_BYTES:
            submission.files, submission.too_large = [], True
            return submission
        submission.files.append((relative.as_posix(), file.read_bytes()))
    return submission


def code_files(submission: Submission) -> list[str]:
    """The submission's Python files and notebooks, shallowest first."""
    names = [n for n, _ in submission.files if Path(n).suffix in SUFFIXES]
    return sorted(names, key=lambda n: (n.count("/"), n))


def source_text(name: str, data: bytes) -> str:
    """A .py file's text, or a notebook's code cells joined ("" for a notebook that is not one:
    the check itself then says what is wrong with it)."""
    text = data.decode("utf-8", "replace")
    if not name.endswith(".ipynb"):
        return text
    try:
        cells = json.loads(text).get("cells", [])
        return "\n".join("".join(c.get("source", "")) if isinstance(c.get("source"), list)
                         else str(c.get("source", "")) for c in cells
                         if isinstance(c, dict) and c.get("cell_type") == "code")
    except (ValueError, AttributeError):
        return ""


DEFINITION = re.compile(r"^[ \t]*(class|def)[ \t]+([A-Za-z_]\w*)", re.MULTILINE)


def definitions(source: str, kind: str, kind_of: Callable[[str], str | None],
                usual: tuple[str, ...] = ()) -> list[tuple[str, bool]]:
    """The classes and forward functions ``source`` defines that are named like a layer of
    ``kind`` (``class Conv2d``, ``def conv_forward_naive``), as (name, is a class): a usual
    name (``usual``: ``Convolution``...) first, then other classes, then functions, each in
    the file's order."""
    classes, functions = [], []
    for what, name in DEFINITION.findall(source):
        if kind_of(name) == kind:
            if what == "class":
                classes.append(name)
            elif "forward" in name.lower():
                functions.append(name)
    classes.sort(key=lambda n: n not in usual)  # stable: the file's order otherwise
    found = [(n, True) for n in classes] + [(n, False) for n in functions]
    return list(dict.fromkeys(found))


def locate(submission: Submission, kind: str, kind_of: Callable[[str], str | None],
           file: str | None, usual: tuple[str, ...] = ()) -> tuple[dict | None, str]:
    """Where the layer of ``kind`` is: ``{"file": path in the submission, "name": the class or
    function (None: the checker looks)}``, or None and why not. ``kind_of(name)``: the kind a
    name says (None: no layer's); ``file``: the name every folder gives it (``--file``)."""
    available = code_files(submission)
    contents = dict(submission.files)
    if file is not None and submission.is_folder:
        matches = [n for n in available if n == file or n.endswith("/" + file)]
        if not matches:
            return None, f"no file {file} in the folder (files: {_listed(available)})"
        available = matches[:1]
    found = {n: definitions(source_text(n, contents[n]), kind, kind_of, usual)
             for n in available}
    with_class = [n for n in available if found[n] and found[n][0][1]]
    named = with_class or [n for n in available if found[n]]
    if named:
        return {"file": named[0], "name": found[named[0]][0][0]}, ""
    if len(available) == 1:  # its one file: the check says what is wrong with it
        return {"file": available[0], "name": None}, ""
    return None, (f"no file in the folder defines a {kind} layer (files: "
                  f"{_listed(available)}); name the file with --file")


def _listed(names: list[str], most: int = 6) -> str:
    if not names:
        return "none"
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def fingerprint(submission: Submission, options: dict) -> str:
    """What a rerun compares: the files' bytes and the options that change a grade."""
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode())
    for name, data in submission.files:
        digest.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    digest.update(b"too-large" if submission.too_large else b"")
    return digest.hexdigest()
