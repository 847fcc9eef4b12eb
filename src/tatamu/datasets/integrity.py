"""Remember which dataset files have passed their sha256 check in this process.

Loaders check the published checksum the first time they read a file, so a corrupt or tampered
copy fails loudly; re-checking the same unchanged file on every ``load_mnist()`` call would only
cost time. A file is identified by its resolved path, size and modification time, so replacing
or editing it triggers a fresh check.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

_lock = threading.Lock()
_verified: set[tuple[str, int, int, str]] = set()


def _key(path: str | os.PathLike[str], sha256: str) -> tuple[str, int, int, str]:
    p = Path(path).resolve()
    st = p.stat()
    return (str(p), st.st_size, st.st_mtime_ns, sha256.lower())


def is_verified(path: str | os.PathLike[str], sha256: str) -> bool:
    """True if this exact file (same path, size and mtime) already matched ``sha256``."""
    try:
        key = _key(path, sha256)
    except OSError:
        return False
    with _lock:
        return key in _verified


def remember_verified(path: str | os.PathLike[str], sha256: str) -> None:
    """Record that ``path`` matched ``sha256`` (call only after checking it)."""
    key = _key(path, sha256)
    with _lock:
        _verified.add(key)


def forget_all() -> None:
    """Forget every check, so the next load re-hashes (used by tests)."""
    with _lock:
        _verified.clear()


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the sha256 (hex) of a file's bytes as stored (no decompression)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
