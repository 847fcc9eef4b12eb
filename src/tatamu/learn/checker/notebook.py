"""A learner's Jupyter notebook as a module: its code cells run in order, as "Run All" would.

Most learners write in Jupyter. IPython's own syntax is not Python, so magics and shell lines
(``%matplotlib inline``, ``!pip install ...``, ``x = !ls``, ``np.zeros?``) are skipped and
listed; a cell magic that runs its body as Python (``%%time``, ``%%capture``) has only its
first line skipped, any other (``%%bash``, ``%%writefile``) the whole cell. A cell that fails
(a missing package, a dataset download, a mistake unrelated to the layer) is reported by its
number and skipped, and what the other cells define is still checked. Cells are numbered from
1 over all the notebook's cells, Markdown ones included, as they stand in the file.
"""

from __future__ import annotations

import json
import linecache
import re
import signal
import sys
import types
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .compare import describe
from .loading import LearnerCodeError

#: Cell magics whose body is Python that IPython runs (once, for our purpose).
PYTHON_CELL_MAGICS = ("time", "capture", "timeit", "prun")
_LINE_MAGIC = re.compile(r"^(?P<indent>\s*)(?P<assign>[\w\.\[\]\s,]+=\s*)?(?P<magic>[%!].*)$")
_HELP = re.compile(r"^\s*(\?{1,2}[\w\.]+|[\w\.]+\?{1,2})\s*$")


class CellTimeout(BaseException):
    """A cell ran past --cell-timeout (a BaseException: a learner's ``except Exception``
    cannot swallow it)."""


@dataclass
class NotebookRun:
    """What running the notebook skipped and what failed."""

    path: Path
    skipped: list[dict] = field(default_factory=list)  # {cell, line, source, why}
    failed: list[dict] = field(default_factory=list)  # {cell, error}
    files: list[Path] = field(default_factory=list)  # each cell's made-up file name

    def to_dict(self) -> dict:
        return {"skipped_cells": self.skipped, "failed_cells": self.failed}


def read_cells(path: Path) -> list[tuple[str, str]]:
    """(cell type, source) of every cell; a one-line error for what is not a notebook."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LearnerCodeError(f"cannot read {path.name}: {exc.strerror or exc}",
                               status="not-found" if not path.exists() else "error") from None
    if not data.strip():
        raise LearnerCodeError(f"{path.name} is empty: a notebook is a JSON file of cells "
                               f"(save it from Jupyter again)")
    if b"\0" in data[:4096]:
        raise LearnerCodeError(f"{path.name} is a binary file, not a notebook (a .ipynb is "
                               f"JSON text)")
    try:
        notebook = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise LearnerCodeError(f"{path.name} is not UTF-8 text, so not a notebook") from None
    except json.JSONDecodeError as exc:
        raise LearnerCodeError(f"{path.name} is not a notebook: not JSON ({exc.msg} at line "
                               f"{exc.lineno}); was it saved whole?") from None
    cells = _cells_of(notebook)
    if cells is None:
        raise LearnerCodeError(f"{path.name} is JSON but not a Jupyter notebook (no 'cells' "
                               f"list)")
    out = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", cell.get("input", ""))
        source = "".join(source) if isinstance(source, list) else str(source or "")
        out.append((str(cell.get("cell_type", "code")), source))
    return out


def _cells_of(notebook) -> list | None:
    if not isinstance(notebook, dict):
        return None
    if isinstance(notebook.get("cells"), list):
        return notebook["cells"]  # nbformat 4
    sheets = notebook.get("worksheets")  # nbformat 3
    if isinstance(sheets, list) and sheets and isinstance(sheets[0], dict):
        return sheets[0].get("cells") if isinstance(sheets[0].get("cells"), list) else None
    return None


def python_of(cell: int, source: str, run: NotebookRun) -> str | None:
    """The cell's source as Python: IPython's lines blanked (listed in ``run.skipped``);
    None when the whole cell is not Python (``%%bash``). A cell that compiles as it is stays
    as it is (``"%d" % n`` on a line of its own is Python, not a magic)."""
    try:
        compile(source, "<cell>", "exec")
        return source
    except SyntaxError:
        pass
    except (ValueError, OverflowError):  # null bytes, absurd literals: reported when run
        return source
    lines = source.splitlines()
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()[2:].split()[0] if lines[first].strip()[2:] else ""
        run.skipped.append({"cell": cell, "line": first + 1, "source": lines[first].strip(),
                            "why": "cell magic" if magic in PYTHON_CELL_MAGICS
                            else "cell magic: the cell is not Python, skipped whole"})
        if magic not in PYTHON_CELL_MAGICS:
            return None
        lines[first] = ""
    for i, line in enumerate(lines):
        if i == first and not line:
            continue
        match = _LINE_MAGIC.match(line)
        if match and not match["magic"].startswith("!="):
            why = "shell command" if match["magic"].startswith("!") else "IPython magic"
            run.skipped.append({"cell": cell, "line": i + 1, "source": line.strip(),
                                "why": why})
            # keep the indentation, so an `if` holding only a magic stays valid Python
            lines[i] = f"{match['indent']}{match['assign'] or ''}None" if match["assign"] \
                else f"{match['indent']}pass"
        elif _HELP.match(line):
            run.skipped.append({"cell": cell, "line": i + 1, "source": line.strip(),
                                "why": "IPython help"})
            lines[i] = f"{line[:len(line) - len(line.lstrip())]}pass"
    return "\n".join(lines) + "\n"


def load_notebook(path: Path, cell_timeout: float | None = None
                  ) -> tuple[types.ModuleType, NotebookRun]:
    """Run the notebook's code cells in one namespace (``__name__ == "__main__"``, as in
    Jupyter) and return it as a module, with what was skipped and what failed."""
    cells = read_cells(path)
    run = NotebookRun(path)
    module = types.ModuleType("__main__")
    module.__dict__["display"] = _display  # IPython's builtin, a no-op here
    key = f"_tatamu_notebook_{abs(hash(str(path)))}"
    sys.modules[key] = module  # removed by learner_environment afterwards
    for number, (kind, source) in enumerate(cells, start=1):
        if kind != "code" or not source.strip():
            continue
        code = python_of(number, source, run)
        if code is None:
            continue
        name = f"{path} [cell {number}]"
        run.files.append(Path(name))
        linecache.cache[name] = (len(code), None, code.splitlines(True), name)
        error = _run_cell(code, name, module, cell_timeout)
        if error:
            run.failed.append({"cell": number, "error": error})
    return module, run


def _run_cell(code: str, name: str, module: types.ModuleType,
              cell_timeout: float | None) -> str | None:
    """Run one cell; None, or its failure in one line."""
    try:
        compiled = compile(code, name, "exec")
    except SyntaxError as exc:
        return f"SyntaxError: {exc.msg} (line {exc.lineno})"
    try:
        with _time_limit(cell_timeout):
            exec(compiled, module.__dict__)  # noqa: S102 - running the learner's cell is the point
    except MemoryError:
        raise
    except CellTimeout as exc:
        return f"stopped after {cell_timeout:g} s (--cell-timeout){_where(exc, name)}"
    except (Exception, SystemExit) as exc:  # anything the cell raised: listed, skipped
        return describe(exc, [Path(name)])
    return None


def _where(exc: BaseException, name: str) -> str:
    tb, line = exc.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == name:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f" at line {line}" if line else ""


@contextmanager
def _time_limit(seconds: float | None):
    if not seconds or not hasattr(signal, "setitimer"):
        yield
        return

    def stop(signum, frame):
        raise CellTimeout()

    previous = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _display(*objects, **kwargs) -> None:
    """IPython's display(): shows nothing here."""
