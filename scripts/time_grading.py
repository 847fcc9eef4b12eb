"""How long ``tatamu grade`` takes for N submissions at 1 and at 2 jobs (issue 23's "Show").

    python scripts/time_grading.py [--count 24] [--repeat 2] [--jobs 1,2]

The class is N copies of tests/grading/class's submissions that finish normally (correct code in
each course's form, planted mistakes, a notebook): the misbehaving ones would time the limits,
not the grading. Each run grades into a fresh folder; jobs counts alternate, so a change in the
machine's load falls on both. The 1-minute load average is printed with each figure: on a
shared machine, read the figures with it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLASS = Path(__file__).resolve().parents[1] / "tests" / "grading" / "class"
NORMAL = ["anna.py", "ben.py", "chika", "dai.ipynb", "emi.py", "fumi.py", "pico.py", "quinn.py",
          "rin.py"]


def make_class(folder: Path, count: int) -> None:
    for i in range(count):
        source = CLASS / NORMAL[i % len(NORMAL)]
        target = folder / f"s{i:03d}{source.suffix}"
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            shutil.copy(source, target)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=24)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--jobs", default="1,2")
    args = parser.parse_args()
    jobs = [int(j) for j in args.jobs.split(",")]
    with tempfile.TemporaryDirectory(prefix="tatamu-time-grading-") as tmp:
        folder = Path(tmp) / "class"
        folder.mkdir()
        make_class(folder, args.count)
        print(f"{args.count} submissions, kinds convolution,pooling, {os.cpu_count()} cores")
        for r in range(args.repeat):
            for j in jobs:
                out = Path(tmp) / f"out-{r}-{j}"
                load = os.getloadavg()[0]
                start = time.perf_counter()
                subprocess.run([sys.executable, "-m", "tatamu", "grade", str(folder), "--kind",
                                "convolution,pooling", "--out", str(out), "--jobs", str(j),
                                "--timeout", "60", "--no-progress"], check=True,
                               stdout=subprocess.DEVNULL)
                seconds = time.perf_counter() - start
                print(f"--jobs {j}: {seconds:6.1f} s ({seconds / args.count:.2f} s a "
                      f"submission; load average {load:.1f} before, "
                      f"{os.getloadavg()[0]:.1f} after)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
