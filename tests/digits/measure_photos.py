"""Accuracy on synthetic phone photographs of written digits, per lighting condition.

    PYTHONPATH=src python tests/digits/measure_photos.py CHECKPOINT [--count 200] [--blank 20]
        [--before OTHER_SRC]

The first COUNT MNIST test digits are written on paper and photographed under each lighting
condition of ``photos.py`` (JPEG files in a scratch folder), with BLANK photographed empty
sheets per condition, and read back by ``tatamu.digits.recognise.recognise`` exactly as
``tatamu predict`` does. Prints a Markdown table: right, refused ("no ink") and unsure
(answered, but flagged) per condition, and how many empty sheets were refused.

``--before OTHER_SRC``: the same files are also read by the tatamu found in OTHER_SRC (for
example ``git archive main src | tar -x -C /tmp/main`` then ``--before /tmp/main/src``), in
a separate process, and both are printed side by side. Same checkpoint, same files.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def write_photos(folder: Path, count: int, blank: int) -> dict[str, list[tuple[str, int]]]:
    """The photos of every condition as JPEG files: {condition: [(path, label or -1)]}."""
    sys.path.insert(0, str(HERE))  # photos.py and drawings.py sit next to this script
    from photos import CONDITIONS, photograph

    from tatamu.datasets import load_mnist

    _, (x, y) = load_mnist()
    files = {}
    for k, (name, light) in enumerate(CONDITIONS.items()):
        rng = np.random.default_rng(2700 + k)
        files[name] = []
        for i in range(count + blank):
            path = folder / f"{k}-{i}.jpg"
            digit = x[i, 0] if i < count else None
            path.write_bytes(photograph(digit, light, rng))
            files[name].append((str(path), int(y[i]) if i < count else -1))
    return files


def evaluate(checkpoint: str, files: dict[str, list[tuple[str, int]]]) -> dict[str, dict]:
    """Read every photo with the tatamu on the path: counts per condition."""
    from tatamu.checkpoint import store
    from tatamu.digits.recognise import recognise
    from tatamu.errors import DataError

    saved = store.read(checkpoint)
    results = {}
    for name, pictures in files.items():
        counts = {"digits": 0, "right": 0, "refused": 0, "unsure": 0, "blank": 0,
                  "blank_refused": 0}
        for path, label in pictures:
            try:
                rec = recognise(saved.model, saved.meta, path)
            except DataError:
                rec = None
            if label < 0:
                counts["blank"] += 1
                counts["blank_refused"] += rec is None
                continue
            counts["digits"] += 1
            if rec is None:
                counts["refused"] += 1
            else:
                counts["right"] += rec.prediction == label
                counts["unsure"] += bool(rec.unsure)
        results[name] = counts
    return results


def evaluate_elsewhere(src: str, checkpoint: str, files: dict, folder: Path) -> dict:
    """:func:`evaluate` run by the tatamu in ``src``, in a child process."""
    listing = folder / "files.json"
    listing.write_text(json.dumps(files))
    env = {**os.environ, "PYTHONPATH": src}
    out = subprocess.run([sys.executable, __file__, checkpoint, "--evaluate", str(listing)],
                         env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def cells(c: dict) -> str:
    digits = max(1, c["digits"])
    return (f"{100 * c['right'] / digits:.1f}% | {c['refused']} | {c['unsure']} | "
            f"{c['blank_refused']}/{c['blank']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--blank", type=int, default=20)
    parser.add_argument("--before", metavar="OTHER_SRC")
    parser.add_argument("--evaluate", help=argparse.SUPPRESS)  # the child's part
    args = parser.parse_args()
    if args.evaluate:
        print(json.dumps(evaluate(args.checkpoint, json.loads(Path(args.evaluate).read_text()))))
        return
    import tatamu
    from tatamu.datasets import load_mnist

    model = tatamu.load(args.checkpoint)
    _, (x, y) = load_mnist()
    mnist = float((model.predict(x[: args.count]).argmax(1) == y[: args.count]).mean())
    print(f"{args.checkpoint}: {100 * mnist:.1f}% on these {args.count} MNIST test digits as "
          f"given; {args.blank} empty sheets per condition\n")
    head = "right | refused | unsure | empty refused"
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        files = write_photos(folder, args.count, args.blank)
        after = evaluate(args.checkpoint, files)
        if args.before:
            before = evaluate_elsewhere(args.before, args.checkpoint, files, folder)
            print(f"| lighting | before: {head} | after: {head} |")
            print("|---|" + "---|" * 8)
            for name in files:
                print(f"| {name} | {cells(before[name])} | {cells(after[name])} |")
        else:
            print(f"| lighting | {head} |\n|---|" + "---|" * 4)
            for name in files:
                print(f"| {name} | {cells(after[name])} |")


if __name__ == "__main__":
    main()
