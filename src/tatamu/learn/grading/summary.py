"""The class at a glance: summary.md and summary.png (the scores, and the checks failed most).

The checks most of the class failed, with the diagnosis most of them got, are the mistakes to
teach again; the submissions that could not be checked are listed with their reason.
"""

from __future__ import annotations

import statistics
from collections import Counter
from pathlib import Path

from .gradebook import Graded
from .job import STATUSES
from .rubric import Rubric, format_points

#: How many checks the summary lists (and draws) among those failed most.
MOST_FAILED = 12
PICTURE = "summary.png"


def failures(graded: list[Graded]) -> list[tuple[str, int, int, str]]:
    """(check column, how many failed it, how many ran it, the diagnosis most of them got),
    failed most first."""
    ran, failed, diagnoses = Counter(), Counter(), {}
    for g in graded:
        for c in g.checks:
            if c.status in ("not run", "n/a"):
                continue
            ran[c.column] += 1
            if c.status == "fail":
                failed[c.column] += 1
                if c.diagnosis:
                    diagnoses.setdefault(c.column, Counter())[c.diagnosis] += 1
    order = sorted(failed, key=lambda col: (-failed[col], col))
    return [(col, failed[col], ran[col],
             diagnoses[col].most_common(1)[0][0] if col in diagnoses else "") for col in order]


def summary_markdown(graded: list[Graded], rubric: Rubric, settings: dict,
                     isolation: list[str]) -> str:
    """summary.md: who was graded how, the scores, the common mistakes, what could not run."""
    scores = [g.score for g in graded]
    top = max((g.max_score for g in graded), default=0.0)
    lines = ["# Grading summary", "",
             f"{len(graded)} submission(s) in {settings['submissions']}, checked as "
             f"{', '.join(settings['kinds'])} (profile: {settings.get('profile') or 'detected'}"
             f"), each in its own process with {settings['timeout']:g} s and "
             f"{settings['memory_mb']} MB, {settings['where']}.", ""]
    if scores:
        full = sum(g.score >= g.max_score > 0 for g in graded)
        lines += [f"Mean score {format_points(round(statistics.fmean(scores), 2))} of "
                  f"{format_points(top)}, median {format_points(statistics.median(scores))}; "
                  f"{full} with full marks.", ""]
    counts = Counter(g.status for g in graded)
    lines += ["| status | submissions | meaning |", "|---|---|---|"]
    lines += [f"| {s} | {n} | {STATUSES.get(s, '')} |" for s, n in counts.most_common()]
    lines += ["", f"![scores and the checks failed most]({PICTURE})", "",
              "## Checks the class failed most", ""]
    failed = failures(graded)
    if failed:
        lines += ["| check | failed | most common diagnosis |", "|---|---|---|"]
        for col, n, ran, diagnosis in failed[:MOST_FAILED]:
            lines.append(f"| {_cell(col)} | {n} of {ran} | {_cell(diagnosis) or '-'} |")
    else:
        lines.append("No check failed.")
    lines += ["", "## Submissions that could not be checked completely", ""]
    stopped = [g for g in graded if g.status != "ok"]
    if stopped:
        lines += ["| submission | status | reason |", "|---|---|---|"]
        lines += [f"| {_cell(g.name)} | {g.status} | {_cell(g.reason)} |" for g in stopped]
    else:
        lines.append("None: every submission was checked.")
    lines += ["", "## Points per check", "",
              f"From {rubric.source}; a NOTE (a departure the book's own code makes) "
              + ("earns the check's full points." if rubric.note == "full"
                 else "earns no points (note = \"none\")."), "",
              "| check | points |", "|---|---|"]
    every = dict.fromkeys(c.column for g in graded for c in g.checks)
    lines += [f"| {_cell(col)} | {format_points(rubric.worth(col))} |" for col in every]
    unused = rubric.unused()
    if unused:
        lines += ["", "Rubric patterns that matched no check (a typo?): "
                  + ", ".join(f"`{p}`" for p in unused)]
    lines += ["", "## Isolation", ""] + [f"- {line}" for line in isolation] + [""]
    return "\n".join(lines)


def summary_picture(graded: list[Graded], path: Path) -> Path:
    """The score histogram beside the checks failed most (share of the class that failed)."""
    from ...viz.plots import new_figure, save

    fig = new_figure(figsize=(11, 4.2))
    hist, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.5]})
    scores = [g.score for g in graded]
    top = max((g.max_score for g in graded), default=1.0) or 1.0
    bins = min(20, max(1, int(top))) if top >= 1 else 10
    hist.hist(scores, bins=bins, range=(0, top), color="#4477aa", edgecolor="white")
    hist.set_xlabel(f"score (of {format_points(top)})")
    hist.set_ylabel("submissions")
    hist.set_title(f"scores of {len(graded)} submission(s)")
    failed = failures(graded)[:MOST_FAILED]
    if failed:
        labels = [_short(col) for col, *_ in failed][::-1]
        shares = [100 * n / ran for _, n, ran, _ in failed][::-1]
        bars.barh(range(len(failed)), shares, color="#cc6677")
        bars.set_yticks(range(len(failed)), labels, fontsize=7)
        bars.set_xlim(0, 100)
        bars.set_xlabel("% of the submissions that ran it")
    else:
        bars.text(0.5, 0.5, "no check failed", ha="center", va="center")
        bars.set_axis_off()
    bars.set_title("checks failed most")
    fig.subplots_adjust(left=0.07, right=0.98, wspace=0.9, bottom=0.13)
    return save(fig, path)


def _short(text: str, most: int = 48) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())
