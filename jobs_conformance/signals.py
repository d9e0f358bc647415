"""Stops from outside: SIGTERM and SIGHUP end a run the way Ctrl-C does.

CI systems and containers stop a job with SIGTERM (GitLab, Kubernetes,
``docker stop``; GitHub Actions escalates to it), and a closed terminal
sends SIGHUP. Each becomes a KeyboardInterrupt in the main thread, so the
run unwinds as from Ctrl-C: the requests in flight are abandoned, the report
is written with the verdict ``incomplete`` and what was checked so far, and
the exit code is 2. A second stop signal ends the process at once, with the
same code. A signal that whoever started the run ignores (``nohup``, SIGINT
in a shell's background job) stays ignored.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

from jobs_conformance.errors import ExitCode

__all__ = ["STOP_SIGNALS", "StopSignals"]

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """The run's handlers for :data:`STOP_SIGNALS`, installed until :meth:`restore`."""

    def __init__(self) -> None:
        self.received: str | None = None  # the first stop signal's name
        self._finishing = False
        self._previous: dict[int, Callable[..., object] | int | None] = {}

    def install(self) -> None:
        # Python delivers signals to the main thread only; elsewhere (a
        # session started from a thread) the defaults stay.
        if threading.current_thread() is not threading.main_thread():
            return
        for number in STOP_SIGNALS:
            previous = signal.getsignal(number)
            if previous is signal.SIG_IGN:
                continue
            self._previous[number] = previous
            signal.signal(number, self._handle)

    @contextlib.contextmanager
    def installed(self) -> Iterator[StopSignals]:
        """Installed for the ``with`` block (a command's whole run), then restored."""
        self.install()
        try:
            yield self
        finally:
            self.restore()

    def restore(self) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)
        self._previous.clear()

    @contextlib.contextmanager
    def finishing(self) -> Iterator[None]:
        """While the record is written, a first stop signal waits for it instead of breaking it."""
        self._finishing = True
        try:
            yield
        finally:
            self._finishing = False

    def _handle(self, number: int, frame: FrameType | None) -> None:
        if self.received is not None:
            os._exit(int(ExitCode.NO_VERDICT))
        self.received = signal.Signals(number).name
        if not self._finishing:
            raise KeyboardInterrupt(f"stopped by {self.received}")
