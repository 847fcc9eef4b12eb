"""Ctrl-C during training: a request honoured between two steps, so what is saved is consistent.

Not in the book, whose loop simply died on Ctrl-C. Here the first Ctrl-C lets the current step
finish, then the training loop saves the run and stops; a second one stops at once (the last
checkpoint on disk stays as it was).
"""

from __future__ import annotations

import signal
import threading


class DeferredInterrupt:
    """Context manager: while inside, SIGINT sets :attr:`requested` instead of raising.

    A second SIGINT raises ``KeyboardInterrupt`` at once and sets :attr:`forced` (stopped
    mid-step: nothing consistent to save). Only the main thread can own signals; elsewhere this
    does nothing.
    """

    def __init__(self) -> None:
        self.requested = False
        self.forced = False
        self._previous = None

    def __enter__(self) -> DeferredInterrupt:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def _handler(self, signum, frame) -> None:
        if self.requested:
            self.forced = True
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
