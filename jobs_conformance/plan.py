"""The known-job plan: which requests the held jobs get, decided by plain functions.

Every held job's canonical GET is judged (body faults depend on the data).
Lookup, parsing and idempotency faults do not depend on which job is
asked, so only a spread sample of :data:`PROBED_JOBS` jobs also gets the
repeats, case variants and near misses compared with its canonical answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from jobs_conformance.exchange import Exchange, Intent
from jobs_conformance.probes import Probe, case_variants
from jobs_conformance.strategies.uuids import NEAR_MISS_KINDS, near_miss

__all__ = ["PROBED_JOBS", "KnownProbes", "comparison_probes", "sampled_jobs"]

PROBED_JOBS = 8
REPEATS = 2
CASE_VARIANTS = 2


def sampled_jobs(ids: Sequence[str], count: int = PROBED_JOBS) -> list[str]:
    """Up to ``count`` of ``ids``, evenly spread, preferring ids with hex letters (case variants need them)."""
    lettered = [i for i in ids if any(c.isalpha() for c in i)]
    pool = lettered if len(lettered) >= count else list(ids)
    if len(pool) <= count:
        return pool
    step = len(pool) / count
    return [pool[int(n * step)] for n in range(count)]


def comparison_probes(job_id: str, baseline: Exchange) -> list[Probe]:
    """What is compared with one held job's canonical answer: repeats, other cases, near misses."""
    return [
        *(Probe(job_id, Intent.REPEAT, baseline=baseline) for _ in range(REPEATS)),
        *(
            Probe(v, Intent.CASE_VARIANT, baseline=baseline)
            for v in case_variants(job_id)[:CASE_VARIANTS]
        ),
        # Lenient parsers (uuid.UUID(), Python's `$`, unanchored matches,
        # strip()) turn these back into a held id; random ids never reach them.
        *(Probe(near_miss(job_id, kind), Intent.MALFORMED) for kind in NEAR_MISS_KINDS),
    ]


class KnownProbes:
    """The exchanges about one known job: its canonical GET, and what is compared with it."""

    def __init__(self, baseline: Exchange | BaseException) -> None:
        self._baseline = baseline
        self._by_intent: dict[Intent, list[Exchange | BaseException]] = {}

    def add(self, intent: Intent, exchange: Exchange | BaseException) -> None:
        self._by_intent.setdefault(intent, []).append(exchange)

    @property
    def fetched(self) -> bool:
        """Whether the canonical GET got an answer (a failure to fetch is re-raised by the accessors)."""
        return not isinstance(self._baseline, BaseException)

    @property
    def baseline(self) -> Exchange:
        if isinstance(self._baseline, BaseException):
            raise self._baseline
        return self._baseline

    def of(self, intent: Intent) -> list[Exchange]:
        """The exchanges of one intent; re-raises what went wrong fetching them."""
        self.baseline  # noqa: B018 - a failed canonical GET fails every test of the job
        exchanges = self._by_intent.get(intent, [])
        for exchange in exchanges:
            if isinstance(exchange, BaseException):
                raise exchange
        return exchanges  # type: ignore[return-value]
