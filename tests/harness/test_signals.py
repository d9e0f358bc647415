"""signals: stop signals become the interrupt of Ctrl-C, once; what was ignored stays ignored."""

from __future__ import annotations

import os
import signal

import pytest

from jobs_conformance.signals import STOP_SIGNALS, StopSignals


@pytest.fixture
def stops():
    previous = {number: signal.getsignal(number) for number in STOP_SIGNALS}
    handlers = StopSignals()
    yield handlers
    handlers.restore()
    for number, handler in previous.items():
        signal.signal(number, handler)


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGHUP], ids=str)
def test_a_stop_signal_is_an_interrupt_naming_it(stops, number):
    stops.install()
    with pytest.raises(KeyboardInterrupt, match=signal.Signals(number).name):
        os.kill(os.getpid(), number)
        signal.sigtimedwait([], 0.1)  # a point where Python runs the handler
    assert stops.received == signal.Signals(number).name


def test_while_the_record_is_written_a_first_signal_does_not_break_it(stops):
    stops.install()
    with stops.finishing():
        os.kill(os.getpid(), signal.SIGTERM)
        signal.sigtimedwait([], 0.1)
    assert stops.received == "SIGTERM"


def test_a_signal_ignored_by_the_caller_stays_ignored_and_restore_puts_handlers_back(stops):
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    before = signal.getsignal(signal.SIGTERM)
    stops.install()
    assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    assert signal.getsignal(signal.SIGTERM) != before
    stops.restore()
    assert signal.getsignal(signal.SIGTERM) == before
