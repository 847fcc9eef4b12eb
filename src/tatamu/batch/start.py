"""What a limited child runs first: its limits, then the job's own code.

Run as a script (``python -I -B start.py SPEC_JSON --result-fd N``), never imported by the child,
so the limits are in place before NumPy is imported (which maps memory and may start threads).
The standard library alone is used here. SPEC_JSON holds::

    {"limits": {"cpu_seconds": 20, "memory_mb": 2048, "file_mb": 64, "network": false},
     "entry": "tatamu.learn.grading.child:main", "args": {...}}

``entry`` is then imported and called as ``entry(args, notes)`` where ``notes`` lists what could
not be limited here; it returns a JSON-able object, written to the result pipe.

These limits keep a mistake (an endless loop, memory growing without end, a file written without
end) from stopping a batch. They are not a security boundary: a program written to get out gets
out. Code from strangers belongs in a container or a virtual machine.
"""

import ctypes
import faulthandler
import importlib
import json
import os
import resource
import signal
import sys

CLONE_NEWNET = 0x40000000  # <sched.h>: a network namespace of its own (only a loopback, down)
CLONE_NEWUSER = 0x10000000  # a user namespace, which lets an unprivileged user make the above
MB = 1024 * 1024


def _set(limit: int, value: int, notes: list[str], what: str) -> None:
    try:
        soft, hard = resource.getrlimit(limit)
        value = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(limit, (value, value if hard == resource.RLIM_INFINITY else hard))
    except (ValueError, OSError) as exc:
        notes.append(f"{what} not limited ({exc})")


def apply_limits(limits: dict) -> list[str]:
    """Limit this process (and what it starts); return a note for each limit that failed."""
    notes: list[str] = []
    if limits.get("cpu_seconds"):
        # SIGXCPU at the soft limit; the hard one (a second later) kills what ignores it.
        cpu = int(limits["cpu_seconds"])
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        except (ValueError, OSError) as exc:
            notes.append(f"CPU time not limited ({exc})")
    if limits.get("memory_mb"):
        _set(resource.RLIMIT_AS, int(limits["memory_mb"]) * MB, notes, "memory")
    if limits.get("file_mb"):
        # A file written past this fails with EFBIG (SIGXFSZ ignored) instead of filling a disk.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        _set(resource.RLIMIT_FSIZE, int(limits["file_mb"]) * MB, notes, "file size")
    _set(resource.RLIMIT_CORE, 0, notes, "core dumps")
    if limits.get("network") is False:
        reason = isolate_network()
        if reason:
            notes.append(f"network not cut off ({reason})")
    return notes


def isolate_network() -> str | None:
    """Move this process into a network namespace of its own (no route anywhere); None when
    done, else why not. Root may do it directly; others need unprivileged user namespaces."""
    if not sys.platform.startswith("linux"):
        return f"network namespaces are Linux's; this is {sys.platform}"
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        unshare = libc.unshare
    except (OSError, AttributeError) as exc:
        return f"unshare is not available: {exc}"
    errors = []
    for flags in (CLONE_NEWNET, CLONE_NEWUSER | CLONE_NEWNET):
        if unshare(flags) == 0:
            return None
        errors.append(os.strerror(ctypes.get_errno()))
    return f"unshare refused: {errors[-1]}"


def main(argv: list[str]) -> int:
    spec = json.loads(argv[1])
    result_fd = int(argv[argv.index("--result-fd") + 1]) if "--result-fd" in argv else None
    notes = apply_limits(spec.get("limits", {}))
    # SIGUSR1 (sent when time is up): write where the code is to stderr, even inside C code
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=False)
    faulthandler.enable(file=sys.stderr, all_threads=False)  # a crash in C code says where too
    module, _, name = spec["entry"].partition(":")
    entry = getattr(importlib.import_module(module), name)
    result = entry(spec.get("args", {}), notes)
    if result_fd is not None:
        data = json.dumps(result).encode()
        with os.fdopen(result_fd, "wb") as channel:
            channel.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
