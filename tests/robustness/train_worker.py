"""A training run for the kill-and-resume tests to interrupt: run as a subprocess, never imported.

    python train_worker.py fit RUN_DIR [--epochs N] [--resume]
    python train_worker.py cli train ...          (tatamu's own command line, main(argv))

``fit`` trains a tiny network (conv, BatchNorm, Dropout: every kind of state a resume must
restore) on synthetic 8x8 images with Adam and a StepLR schedule, checkpointing into RUN_DIR,
and exits 130 when interrupted, like the CLI. Two environment variables slow a run down so a
test can hit a chosen moment without changing a single computed number:

- ``TATAMU_TEST_STEP_SLEEP``: seconds to sleep after every training step;
- ``TATAMU_TEST_SLOW_WRITE``: seconds to sleep after each sixteenth of a checkpoint written to
  its temporary file (a slow disk), so a test can kill the process in the middle of a write.
"""

from __future__ import annotations

import io
import os
import sys
import time

import numpy as np

SHAPE = (1, 8, 8)
CLASSES = 3
SEED = 11
BATCH = 7
WRITE_PIECES = 16


def make_data(n: int, seed: int):
    """Learnable images: the label is the brightest of three horizontal bands."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, *SHAPE), dtype=np.float32)
    labels = rng.integers(0, CLASSES, size=n)
    bands = np.array_split(np.arange(SHAPE[-2]), CLASSES)
    for i, label in enumerate(labels):
        x[i, :, bands[label], :] += 0.5
    return x, labels


def build_model(seed: int = 0):
    from tatamu import Sequential
    from tatamu.layers import BatchNorm1D, Conv2D, Dropout, Linear, MaxPool2D, ReLU

    return Sequential(
        [Conv2D(1, 4, 3, rng=seed), ReLU(), MaxPool2D(2), Linear(36, 16, rng=seed + 1),
         BatchNorm1D(16), ReLU(), Dropout(0.3, rng=seed + 2), Linear(16, CLASSES, rng=seed + 3)],
        SHAPE,
    )


def _slow_down() -> None:
    """Apply the TATAMU_TEST_* slow-downs (sleeps only: every computed number is unchanged)."""
    step_sleep = float(os.environ.get("TATAMU_TEST_STEP_SLEEP") or 0)
    write_sleep = float(os.environ.get("TATAMU_TEST_SLOW_WRITE") or 0)
    if step_sleep:
        from tatamu.training import trainer as train  # the module whose loop calls it

        real_step = train.train_step

        def slow_step(*args, **kwargs):
            result = real_step(*args, **kwargs)
            time.sleep(step_sleep)
            return result

        train.train_step = slow_step
    if write_sleep:
        real_savez = np.savez

        def slow_savez(file, **arrays):
            buffer = io.BytesIO()
            real_savez(buffer, **arrays)
            data = buffer.getvalue()
            chunk = -(-len(data) // WRITE_PIECES)
            for start in range(0, len(data), chunk):
                file.write(data[start : start + chunk])
                file.flush()
                time.sleep(write_sleep)

        np.savez = slow_savez


def run_fit(folder: str, epochs: int, resume: bool) -> int:
    from tatamu.optim import Adam, StepLR
    from tatamu.training.loop import fit

    # A resumed run starts from other random weights: every number must come from last.npz.
    model = build_model(seed=99 if resume else 0)
    optimizer = Adam(lr=5e-3)
    schedule = StepLR(optimizer, step_size=1, gamma=0.5)
    try:
        history = fit(model, make_data(48, seed=0), make_data(20, seed=1), epochs=epochs,
                      batch_size=BATCH, optimizer=optimizer, seed=SEED, progress=False,
                      checkpoint_dir=folder, resume=resume, schedule=schedule)
    except KeyboardInterrupt:  # what the CLI does with a Ctrl-C that fit passes on
        print("interrupted", file=sys.stderr, flush=True)
        return 130
    print(f"stop_reason={history.stop_reason} epochs={history.epoch}", flush=True)
    if history.stop_reason == "interrupted":
        print(history.message, file=sys.stderr, flush=True)
        return 130
    return 0


def main(argv: list[str]) -> int:
    _slow_down()
    if argv[:1] == ["cli"]:
        from tatamu.cli.app import main as cli_main

        return cli_main(argv[1:])
    if argv[:1] != ["fit"] or len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    epochs = int(argv[argv.index("--epochs") + 1]) if "--epochs" in argv else 3
    return run_fit(argv[1], epochs, "--resume" in argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
