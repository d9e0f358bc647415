"""How property tests batch their examples so independent requests go out concurrently.

Each Hypothesis example draws a list of up to BATCH values, sent
``--workers`` at a time and judged in order. A failure shrinks like any list:
to the one value that fails, itself shrunk.
"""

from __future__ import annotations

from typing import TypeVar

from hypothesis import settings
from hypothesis import strategies as st

from jobs_conformance.profiles import contract_settings

T = TypeVar("T")

BATCH = 16
# Hypothesis draws lists of up to BATCH values with about this many on average.
_MEAN_BATCH = 6


def batches(values: st.SearchStrategy[T]) -> st.SearchStrategy[list[T]]:
    return st.lists(values, min_size=1, max_size=BATCH)


def batched_settings(*, share: float = 1.0, minimum: int = 3) -> settings:
    """The run's profile, with as many examples as keep the number of values about the same.

    Fewer, larger examples mean fewer round trips: against a remote target
    each example costs at least one network latency, however many values
    it sends at once.
    """
    examples = max(minimum, int(contract_settings().max_examples * share) // _MEAN_BATCH)
    return contract_settings(max_examples=examples)
