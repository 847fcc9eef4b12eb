"""The walk of ``tatamu train``'s arguments through the code: which modules a run enters.

Issue 21 (item 6) measures the training walk as the modules ``tatamu train`` and
``tatamu train --resume`` pass through, and how often a lower layer calls back up into a
higher one. This script runs both in-process on 200 shipped MNIST images under
``sys.setprofile`` and reports, over the walk's own modules (``tatamu.cli``,
``tatamu.training``, ``tatamu.checkpoint``):

- modules entered: distinct modules with at least one call;
- crossings: distinct call sites (caller function -> callee function) between two of them;
- checkpoint reads: calls of ``checkpoint.store.read`` (each parses a whole .npz);
- climbs: those crossings that go back up the layering
  cli -> plan -> run folder -> trainer -> what the trainer saves -> checkpoint -> guard.

Distinct call sites, not call counts: the batch loop would otherwise dominate. Usage:
``python scripts/training_walk.py`` (about 20 s); ``--edges`` lists the climbs.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

#: The layering a call should go down: (module prefix, rank). The first match wins.
LAYERS = (
    ("tatamu.cli", 0),
    ("tatamu.training.plan", 1),
    ("tatamu.training.run", 2),        # the folder: names, creation, plan/history files
    ("tatamu.training.loop", 3),       # the trainer
    ("tatamu.training", 4),            # what the trainer keeps: state, saves, logs, helpers
    ("tatamu.checkpoint.store", 5),
    ("tatamu.checkpoint.guard", 6),
)


#: Commands other than train only register their options when the parser is built: not the walk.
OTHER_COMMANDS = "tatamu.cli.commands."
WALK_COMMANDS = ("tatamu.cli.commands.train", "tatamu.cli.commands.arguments")


def rank(module: str) -> int | None:
    if module.startswith(OTHER_COMMANDS) and module not in WALK_COMMANDS:
        return None
    for prefix, value in LAYERS:
        if module == prefix or module.startswith(prefix + "."):
            return value
    return None


def trace(argv_list: list[list[str]]) -> tuple[set, set]:
    """Run each ``tatamu`` command line; (modules entered, crossings)."""
    from tatamu.cli.app import main

    modules, edges = set(), set()
    trace.reads = 0

    def profile(frame, event, arg):
        if event != "call":
            return
        callee = frame.f_globals.get("__name__", "")
        if rank(callee) is None or frame.f_code.co_name == "add_parser":
            return
        modules.add(callee)
        if callee == "tatamu.checkpoint.store" and frame.f_code.co_name == "read":
            trace.reads += 1
        caller_frame = frame.f_back
        while caller_frame is not None and rank(caller_frame.f_globals.get("__name__", "")) is None:
            caller_frame = caller_frame.f_back  # through numpy, the standard library, layers
        if caller_frame is None:
            return
        caller = caller_frame.f_globals["__name__"]
        if caller != callee:
            edges.add((caller, caller_frame.f_code.co_name, callee, frame.f_code.co_name))

    for argv in argv_list:
        sys.setprofile(profile)
        try:
            status = main(argv)
        finally:
            sys.setprofile(None)
        if status != 0:
            raise SystemExit(f"tatamu {' '.join(argv)} exited {status}")
    return modules, edges


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--edges", action="store_true", help="list every climb")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = str(Path(tmp) / "run")
        common = ["--limit", "200", "--test-limit", "100", "--batch-size", "50", "--quiet",
                  "--threads", "1"]
        for name, argv in (("train", [["train", *common, "--epochs", "1", "--out", folder]]),
                           ("train --resume", [["train", "--resume", folder, "--epochs", "2",
                                                "--quiet"]])):
            modules, edges = trace(argv)
            climbs = sorted(e for e in edges if rank(e[2]) < rank(e[0]))
            print(f"{name}: {len(modules)} modules entered, {len(edges)} crossings, "
                  f"{len(climbs)} climbs back up, {trace.reads} checkpoint reads")
            entries = {}
            for _, _, callee, _ in edges:
                entries[callee] = entries.get(callee, 0) + 1
            print("  entered (distinct call sites): " + ", ".join(
                f"{m.removeprefix('tatamu.')} {n}" for m, n in
                sorted(entries.items(), key=lambda item: (-item[1], item[0]))))
            if args.edges:
                for caller, where, callee, what in climbs:
                    print(f"  climb: {caller}.{where} -> {callee}.{what}")


if __name__ == "__main__":
    main()
