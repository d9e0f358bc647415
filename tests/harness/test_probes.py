"""`concurrently`: order kept, every call awaited, failures in place, bulk work bounded."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from jobs_conformance.probes import concurrently


class _Gauge:
    """Calls that note how many of them run at once."""

    def __init__(self) -> None:
        self.running = self.peak = 0
        self._lock = threading.Lock()

    def call(self, value: int) -> int:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.01)
        with self._lock:
            self.running -= 1
        return value


@pytest.mark.parametrize("limit", [1, 3])
def test_a_limit_bounds_the_calls_in_flight_and_keeps_their_order(limit):
    gauge = _Gauge()
    with ThreadPoolExecutor(8) as pool:
        results = concurrently(pool, [lambda v=v: gauge.call(v) for v in range(12)], limit=limit)
    assert results == list(range(12))
    assert gauge.peak == limit


def test_without_a_limit_the_pool_sets_the_pace():
    gauge = _Gauge()
    with ThreadPoolExecutor(4) as pool:
        concurrently(pool, [lambda v=v: gauge.call(v) for v in range(12)])
    assert gauge.peak == 4


def test_a_failure_is_raised_after_every_call_ended_or_kept_in_place():
    finished: list[int] = []

    def call(value: int) -> int:
        time.sleep(0.01)
        finished.append(value)
        if value == 2:
            raise ValueError("two")
        return value

    calls = [lambda v=v: call(v) for v in range(6)]
    with ThreadPoolExecutor(3) as pool:
        with pytest.raises(ValueError, match="two"):
            concurrently(pool, calls, limit=2)
        assert sorted(finished) == list(range(6))
        results = concurrently(pool, calls, return_exceptions=True, limit=2)
    assert [r if not isinstance(r, ValueError) else "error" for r in results] == [
        0,
        1,
        "error",
        3,
        4,
        5,
    ]
