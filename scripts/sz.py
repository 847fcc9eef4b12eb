"""Code lines per module of src/tatamu, without docstrings, comments or blank lines.

In the spirit of tinygrad's sz.py: a pressure to keep modules small, not a gate (STYLE.md §3.1
aims at about 300 lines a module; golfing to meet it is a failure of review, not a success).

    python scripts/sz.py                 # every module, largest first, then each folder's total
    python scripts/sz.py --folders       # the folders' totals only
    python scripts/sz.py src/tatamu/layers benchmarks
"""

from __future__ import annotations

import argparse
import ast
import io
import tokenize
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
           tokenize.ENDMARKER, tokenize.ENCODING}


def docstring_lines(tree: ast.AST) -> set[int]:
    """The lines of every module, class and function docstring."""
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def code_lines(source: str) -> int:
    """Lines holding at least one token of code (a docstring's lines are not code)."""
    docstrings = docstring_lines(ast.parse(source))
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type in SKIPPED:
            continue
        lines.update(line for line in range(token.start[0], token.end[0] + 1)
                     if line not in docstrings)
    return len(lines)


def shown(path: Path) -> str:
    """The path relative to the repository when it is inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path, default=[ROOT / "src" / "tatamu"])
    parser.add_argument("--folders", dest="only_folders", action="store_true",
                        help="print the folders' totals only")
    args = parser.parse_args(argv)
    sizes = {}
    for folder in args.folders:
        for path in sorted(folder.resolve().rglob("*.py")):
            sizes[path] = code_lines(path.read_text(encoding="utf-8"))
    by_folder: dict[str, int] = defaultdict(int)
    for path, size in sizes.items():
        by_folder[shown(path.parent)] += size
    if not args.only_folders:
        print(f"{'code lines':>10}  module")
        for path, size in sorted(sizes.items(), key=lambda item: -item[1]):
            print(f"{size:>10}  {shown(path)}")
        print()
    print(f"{'code lines':>10}  folder")
    for folder, size in sorted(by_folder.items()):
        print(f"{size:>10}  {folder}/")
    print(f"{sum(sizes.values()):>10}  total, {len(sizes)} modules")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
