"""Interleaved repetitions and their summary (median, min-max, quartiles)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def interleave(runs: dict[str, Callable[[], float]], reps: int) -> dict[str, list[float]]:
    """Call every run ``reps`` times, alternating between them; each returns its seconds.

    The order flips every repetition (tatamu, torch, torch, tatamu, ...), so a burst of load
    from another process, or a warming cache, favours neither side.
    """
    names = list(runs)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for rep in range(reps):
        for name in names if rep % 2 == 0 else names[::-1]:
            seconds[name].append(runs[name]())
    return seconds


def timed(fn: Callable[[], object]) -> float:
    """Wall-clock seconds of one call."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def mean_of(fn: Callable[[], float], inner: int) -> float:
    """Mean seconds over ``inner`` calls of a function that times itself (for short calls)."""
    return sum(fn() for _ in range(inner)) / inner


def summary(seconds: list[float], scale: float = 1.0) -> dict[str, float | list[float]]:
    """Median, min, max and quartiles of ``seconds * scale``, and the values themselves."""
    values = sorted(s * scale for s in seconds)
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else values * 3
    return {"median": statistics.median(values), "min": values[0], "max": values[-1],
            "q1": q1, "q3": q3, "n": len(values), "values": values}


def compare(tatamu: list[float], torch: list[float], scale: float = 1.0) -> dict:
    """Both summaries and the ratio of the medians, tatamu / torch (< 1: tatamu faster)."""
    a, b = summary(tatamu, scale), summary(torch, scale)
    return {"tatamu": a, "torch": b, "ratio": a["median"] / b["median"]}
