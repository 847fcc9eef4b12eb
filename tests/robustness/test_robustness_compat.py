"""The compatibility promise: what this version writes, later versions load (and resume).

Two committed fixtures, written once by tatamu 0.1.0 (checkpoint format 1) and never
regenerated:

- ``tests/fixtures/simple_convnet_1x8x8_v1.npz``: a model with Adam state, and the
  probabilities it gave (``..._expected.npz``); see tests/test_checkpoint.py, which checks them;
- ``tests/fixtures/robustness/run_v1/last.npz``: a run stopped by Ctrl-C inside epoch 2
  (Adam, StepLR, BatchNorm statistics, Dropout's random state, the epoch's partial sums), and
  the weights the same run reached uninterrupted (``run_v1_expected.npz``).

A newer format version must keep these tests passing unchanged, and add its own fixture.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from tatamu import checkpoint
from tatamu.optim import StepLR, optimizer_from_config
from tatamu.train import fit

FIXTURES = Path(__file__).parents[1] / "fixtures"
RUN = FIXTURES / "robustness" / "run_v1"
# The settings make_run_v1.py trained with (the schedule's are not stored in a checkpoint).
EPOCHS, STEP_SIZE, GAMMA = 3, 1, 0.5


def test_this_version_writes_format_1_and_reads_every_format_up_to_it():
    assert checkpoint.FORMAT_VERSION == 1
    for path in (FIXTURES / "simple_convnet_1x8x8_v1.npz", RUN / "last.npz"):
        meta = checkpoint.read(path).meta
        assert meta["format"] == "tatamu-checkpoint" and meta["format_version"] == 1
        assert meta["tatamu_version"] == "0.1.0"


def test_the_format_1_run_resumes_to_the_weights_of_the_uninterrupted_run(tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(RUN, folder)
    saved = checkpoint.read(folder / "last.npz")
    assert saved.meta["train_state"]["position"] == {"epoch": 2, "batch": 3}
    ts = saved.meta["train_state"]
    model = saved.model  # the architecture from the file alone
    for value in model.params().values():
        value[...] = 0  # every weight must come back from last.npz
    optimizer = optimizer_from_config(saved.meta["optimizer"])
    schedule = StepLR(optimizer, step_size=STEP_SIZE, gamma=GAMMA)
    with np.load(RUN.parent / "run_v1_expected.npz") as expected:
        data = expected["x"], expected["labels"]
        val = expected["val_x"], expected["val_labels"]
        want = {k: expected[k] for k in expected.files if "/" in k}
    history = fit(model, data, val, epochs=EPOCHS, batch_size=ts["batch_size"],
                  optimizer=optimizer, seed=ts["seed"], progress=False, checkpoint_dir=folder,
                  resume=True, schedule=schedule)
    assert history.stop_reason == "completed" and history.epoch == [1, 2, 3]
    got = {**{f"param/{k}": v for k, v in model.params().items()},
           **{f"buffer/{k}": v for k, v in model.buffers().items()}}
    assert got.keys() == want.keys()
    for key, value in want.items():
        # Bit-identical on the machine and version that wrote it; but three Adam epochs amplify
        # any change in summation order (another BLAS kernel, a faster conv), so a later
        # version is held to the same weights as a whole, not to the last bit of each.
        distance = np.linalg.norm(got[key] - value)
        assert distance <= 0.1 * np.linalg.norm(value) + 1e-6, (key, distance)


def test_a_format_1_file_without_the_newer_train_state_keys_still_resumes(tmp_path):
    """Files written before batch_size/num_train were recorded resume as they always did."""
    folder = tmp_path / "run"
    shutil.copytree(RUN, folder)
    last = folder / "last.npz"
    with np.load(last) as npz:
        arrays = {k: npz[k] for k in npz.files}
    meta = json.loads(arrays["meta"].tobytes())
    for key in ("batch_size", "num_train"):
        meta["train_state"].pop(key)
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(last, **arrays)
    saved = checkpoint.read(last)
    optimizer = optimizer_from_config(saved.meta["optimizer"])
    with np.load(RUN.parent / "run_v1_expected.npz") as expected:
        data = expected["x"], expected["labels"]
    history = fit(saved.model, data, epochs=2, batch_size=7, optimizer=optimizer,
                  seed=11, progress=False, checkpoint_dir=folder, resume=True)
    assert history.stop_reason == "completed" and history.epoch == [1, 2]


@pytest.mark.parametrize("name", ["simple_convnet_1x8x8_v1.npz", "simple_convnet_1x8x8_v1_"
                                  "expected.npz", "robustness/run_v1/last.npz",
                                  "robustness/run_v1_expected.npz"])
def test_the_fixtures_are_small_and_plain(name):
    path = FIXTURES / name
    assert path.stat().st_size < 50_000
    with np.load(path, allow_pickle=False) as npz:  # never pickled
        assert npz.files
