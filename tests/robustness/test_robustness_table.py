"""docs/robustness.md's table is real: every row cites tests that exist in the default suite.

A cited test must be collected by the default run (so not ``slow``) and must not be an expected
failure; whether it passes is the suite's job (and ``robustness_table.py --run``'s). The
summary sentence at the top of the page, which docs/guide/robustness.md quotes, must match the rows.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import robustness_table as table


@pytest.fixture(scope="module")
def rows() -> list[table.Row]:
    return table.rows()


def test_every_row_is_complete(rows):
    assert len(rows) > 150
    for row in rows:
        assert row.kind in table.KINDS
        assert row.what and row.answer, row
        assert row.tests, f"no test cited for: {row.what}"


def test_every_cited_test_is_in_the_default_suite_and_not_an_expected_failure(rows):
    cited = {t for row in rows for t in row.tests}
    files = sorted({t.split("::")[0] for t in cited})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         "-m", "not slow and not xfail", *files],
        cwd=table.ROOT, capture_output=True, text=True, timeout=120, check=False)
    collected = {line.strip() for line in result.stdout.splitlines() if "::" in line}
    missing = sorted(cited - collected)
    assert not missing, f"cited but not in the default suite: {missing}\n{result.stderr}"


def test_the_summary_sentence_matches_the_rows(rows):
    counts = table.counts(rows)
    assert table.summary(counts) in table.DOC.read_text(encoding="utf-8")
    guide = table.DOC.parent / "guide" / "robustness.md"
    assert table.summary(counts) in guide.read_text(encoding="utf-8")
    assert counts["fuzz"] == 4


def test_the_fixed_rows_say_what_happened_before(rows):
    for row in rows:
        if "(fixed)" in row.what:
            assert "was" in row.answer or "removed" in row.answer or "folded" in row.answer, row
