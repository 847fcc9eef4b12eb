"""Accuracy before/after ``prepare_digit`` on user-style drawings, per drawing style.

    PYTHONPATH=src python tests/digits/measure_drawings.py CHECKPOINT [--count 300]

"before" is what ``tatamu predict`` did until issue 13 (the whole canvas converted to grey and
shrunk to 28x28: ``tatamu.images.load_image_for``); "after" is ``tatamu.recognise`` (what
``tatamu predict`` and ``tatamu draw`` do now). The first COUNT MNIST test digits are drawn in
each style (``drawings.py``), saved as PNG files and read back, so both paths see the file a
user would have. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))  # run as a script, next to drawings.py
from drawings import STYLES, draw  # noqa: E402

from tatamu.checkpoint import store as checkpoint  # noqa: E402
from tatamu.datasets import load_mnist  # noqa: E402
from tatamu.digits.images import load_image_for  # noqa: E402
from tatamu.digits.recognise import recognise  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--count", type=int, default=300)
    args = parser.parse_args()
    saved = checkpoint.read(args.checkpoint)
    model, meta = saved.model, saved.meta
    _, (x, y) = load_mnist()
    x, y = x[: args.count], y[: args.count]
    mnist = float((model.predict(x).argmax(1) == y).mean())
    print(f"{args.checkpoint}: {100 * mnist:.1f}% on these {len(y)} MNIST test digits as given\n")
    print("| drawing style | before | after |\n|---|---|---|")
    rng = np.random.default_rng(13)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "drawing.png"
        for style in STYLES:
            before, after = [], []
            for digit in x[:, 0]:
                draw(digit, style, rng).save(path)
                before.append(load_image_for(path, model.input_shape)[0])
                after.append(recognise(model, meta, path).prediction)
            old = float((model.predict(np.stack(before)).argmax(1) == y).mean())
            new = float((np.array(after) == y).mean())
            print(f"| {style} | {100 * old:.1f}% | {100 * new:.1f}% |", flush=True)


if __name__ == "__main__":
    main()
