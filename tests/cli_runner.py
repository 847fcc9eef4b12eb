"""Run the ``tatamu`` command in-process, as the tests of every command need it."""

from __future__ import annotations

import contextlib
import io

from tatamu.cli import app as cli


def run_cli(*argv) -> tuple[int, str, str]:
    """``tatamu.cli.main(argv)`` with stdout and stderr captured: (status, out, err)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main([str(a) for a in argv])
    return status, out.getvalue(), err.getvalue()
